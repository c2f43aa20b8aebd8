"""The summarization task: references correct by construction, the metric, the selectors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collapse.errors import ConfigError
from collapse.selection import best_of_k
from collapse.tasks.summarize import (
    DAYS,
    OBJECTS,
    SUMMARY_LEN,
    VERBS,
    Example,
    Fact,
    Rouge,
    SummarizeTask,
    WordTokenizer,
    exact_match,
    selector_scores,
    slot_sources,
)

TASK = SummarizeTask()


def _sentences(document):
    body = document.split(" : ", 1)[1]
    return [s.strip() for s in body.split(" .") if s.strip()]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 4), st.integers(0, 3), st.sampled_from([0.0, 0.5, 1.0]), st.integers(0, 2**31 - 1))
def test_reference_is_the_title_entitys_fact(human, distractors, paraphrase, seed):
    task = SummarizeTask(human_sentences=human, distractor_facts=distractors, paraphrase=paraphrase)
    ex = task.example(np.random.default_rng(seed))
    name, verb, the, obj, in_, place, on, day = ex.summary.split()
    assert (the, in_, on) == ("the", "in", "on") and len(ex.summary.split()) == SUMMARY_LEN
    assert ex.document.startswith(f"about {name} : ")
    assert verb in {p for p, _ in VERBS} and obj in OBJECTS and day in DAYS and place in task.places
    # exactly one sentence mentions the title's entity, and it carries every slot of the reference
    about = [s for s in _sentences(ex.document) if name in s.split()]
    assert len(about) == 1
    words = set(about[0].split())
    participle = dict(VERBS)[verb]
    assert {obj, place, day} <= words and (verb in words or participle in words)
    # the distractor facts are about other entities, and the document has every sentence it should
    assert all(f.name != name for f in ex.distractors) and len(ex.distractors) == distractors
    assert len(_sentences(ex.document)) == 1 + distractors + human
    if paraphrase == 0.0:
        assert ex.summary + " ." in ex.document


def test_same_seed_same_examples_and_tokens_round_trip():
    a, b = TASK.examples(20, 7), TASK.examples(20, 7)
    assert a == b
    tok = WordTokenizer(TASK)
    ids = tok.encode_summaries([e.summary for e in a])
    assert [tok.decode(r) for r in ids] == [e.summary for e in a]
    docs = tok.encode_documents([e.document for e in a])
    assert docs.shape == (20, tok.src_len) and (docs != 3).all()  # every word is in the vocabulary


def test_rouge_on_hand_checked_pairs():
    ref = "kalo sold the bridge in mabeton on monday"
    got = Rouge()([ref, "kalo sold the market in mabeton on monday", "the in on", "zz yy"], [ref] * 4)
    np.testing.assert_allclose(got["rouge1"], [1.0, 7 / 8, 2 * (3 / 3 * 3 / 8) / (1 + 3 / 8), 0.0])
    # one substituted word breaks the two bigrams around it: 5 of 7 bigrams match
    np.testing.assert_allclose(got["rouge2"][:2], [1.0, 5 / 7])
    np.testing.assert_allclose(got["rougeL"][:2], [1.0, 7 / 8])
    assert exact_match([ref, ref.replace("monday", "friday")], [ref, ref]).tolist() == [True, False]


def test_each_selector_picks_what_it_should():
    rouge_l = np.array([[0.2, 0.9, 0.5]])
    self_logp = np.array([[-1.0, -3.0, -0.5]])
    ext = np.array([[-2.0, -1.0, -4.0]])
    pick = {rule: int(best_of_k(selector_scores(rule, rouge_l=rouge_l, self_logp=self_logp, external_logp=ext,
                                                 shape=(1, 3)))[0])
            for rule in ("oracle", "self", "external", "none")}
    assert pick == {"oracle": 1, "self": 2, "external": 1, "none": 0}
    picks = best_of_k(selector_scores("random", rng=np.random.default_rng(0), shape=(3000, 3)))
    counts = np.bincount(np.asarray(picks), minlength=3)
    assert (np.abs(counts - 1000) < 4 * np.sqrt(3000 * (1 / 3) * (2 / 3))).all()


def test_slot_sources_tell_the_key_fact_from_the_distractor():
    key = Fact("kalo", 0, "bridge", "mabeton", "monday")
    other = Fact("rupi", 1, "bridge", "sifuton", "friday")  # same object: that slot cannot tell them apart
    ex = Example("about kalo : ...", key.summary(), key, (other,))
    preds = [key.summary(), "kalo repaired the bridge in sifuton on friday", "kalo opened the bridge in sifuton on "
             "sunday", "kalo"]
    got = slot_sources(preds, [ex] * 4)
    # three informative slots (verb, place, day): all key / all distractor / 1 key + 1 distractor + 1 neither
    np.testing.assert_allclose(got["key"], [1, 0, 1 / 3, 0])
    np.testing.assert_allclose(got["distractor"], [0, 1, 1 / 3, 0])
    same = Example("about kalo : ...", key.summary(), key, (Fact("rupi", 0, "bridge", "mabeton", "monday"),))
    assert np.isnan(slot_sources([key.summary()], [same])["key"][0])


@pytest.mark.parametrize("bad", [dict(paraphrase=1.5), dict(distractor_facts=-1), dict(n_entities=2,
                                                                                        distractor_facts=2)])
def test_bad_task_settings_are_refused(bad):
    with pytest.raises(ConfigError):
        SummarizeTask(**bad)


def test_empty_document_and_too_long_summary_are_refused():
    tok = WordTokenizer(TASK)
    with pytest.raises(ConfigError, match="non-empty"):
        tok.encode_documents(["   "])
    with pytest.raises(ConfigError, match="at most 8 words"):
        tok.encode_summaries(["kalo sold the bridge in mabeton on monday again"])
    with pytest.raises(ConfigError, match="k"):
        selector_scores("random", shape=(4, 0))

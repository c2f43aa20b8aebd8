"""ToEdit token editing: the rule, the redraw law, the priors, streaming, accounting, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from collapse.errors import ConfigError
from collapse.lm.edit import (
    EditRule,
    EditStats,
    Prior,
    edit_corpus,
    edit_from_logprobs,
    edit_windows,
    fit_ngram,
    mask_overlap,
    ngram_prior,
)
from collapse.lm.tokenizer import BOS, VOCAB_SIZE, encode

V = 6


def _fixed_prior(probs):
    """A hand-built prior: the same next-token distribution table [B, L, V] whatever the tokens."""
    table = jnp.log(jnp.asarray(probs, jnp.float32))
    return Prior(_table_logprobs, table, "table")


def _table_logprobs(state, tokens):
    return state


def _row(top, p_top):
    """A distribution over V tokens with mass p_top on ``top`` and the rest spread evenly."""
    p = np.full(V, (1 - p_top) / (V - 1))
    p[top] = p_top
    return p


def test_hand_built_prior_gives_exactly_the_expected_eligible_set():
    tokens = np.array([[0, 1, 2, 3, 4, 5, 0, 1]])
    p_orig = [0.995, 0.995, 0.5, 0.99, 0.9899, 0.999, 0.05, 0.995]  # of each original token
    probs = np.stack([_row(t, p) for t, p in zip(tokens[0], p_orig, strict=True)])[None]
    prior = _fixed_prior(probs)
    out = edit_windows(prior, EditRule(threshold=0.99), jax.random.key(0), tokens)
    # position 0 is kept whatever its probability; p = 0.99 itself is eligible (p >= threshold)
    assert np.asarray(out.eligible)[0].tolist() == [False, True, False, True, False, True, False, True]
    low = edit_windows(prior, EditRule(threshold=0.1, direction="below"), jax.random.key(0), tokens)
    assert np.asarray(low.eligible)[0].tolist() == [False] * 6 + [True, False]
    np.testing.assert_allclose(np.exp(np.asarray(out.logp_orig))[0], p_orig, rtol=1e-6)


def test_beta_to_zero_keeps_the_argmax():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(V) * 0.3, size=(4, 12))
    tokens = rng.integers(0, V, (4, 12))
    rule = EditRule(threshold=1.0, direction="below", top_k=3, beta=1e-4)
    out = edit_windows(_fixed_prior(probs), rule, jax.random.key(1), tokens)
    elig = np.asarray(out.eligible)
    assert elig[:, 1:].all()  # p <= 1: every position but the first
    np.testing.assert_array_equal(np.asarray(out.tokens)[elig], probs.argmax(-1)[elig])


def test_threshold_one_edits_nothing_under_a_full_support_prior():
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(V) * 0.05, size=(3, 10))  # very peaked, but every p < 1
    probs = np.maximum(probs, 1e-6) / np.maximum(probs, 1e-6).sum(-1, keepdims=True)
    tokens = probs.argmax(-1)
    out = edit_windows(_fixed_prior(probs), EditRule(threshold=1.0), jax.random.key(0), tokens)
    assert not np.asarray(out.eligible).any() and not np.asarray(out.changed).any()


def test_threshold_one_under_a_one_hot_prior_marks_but_never_changes():
    tokens = np.array([[2, 3, 4, 5]])
    probs = np.eye(V)[tokens]  # p = 1 on the original token, 0 elsewhere
    probs[0, 2] = _row(4, 0.7)  # one position with full support
    out = edit_windows(_fixed_prior(probs), EditRule(threshold=1.0, beta=1.5), jax.random.key(0), tokens)
    assert np.asarray(out.eligible)[0].tolist() == [False, True, False, True]
    assert not np.asarray(out.changed).any()  # the other candidates have p^{1/β} = 0


@pytest.mark.parametrize("rule", [EditRule(threshold=0.5), EditRule(threshold=0.9, top_k=1),
                                  EditRule(threshold=0.3, direction="below", top_k=2, top_p=0.7)])
def test_changed_never_exceeds_eligible(rule):
    """256 random (prior, tokens, key) instances in one vmapped call: changed ⊆ eligible, the rest untouched."""
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(V) * 0.2, size=(256, 2, 16)).astype(np.float32)
    tokens = rng.integers(0, V, (256, 2, 16))
    keys = jax.random.split(jax.random.key(0), 256)
    out = jax.jit(jax.vmap(lambda k, t, p: edit_from_logprobs(k, t, jnp.log(p), rule)))(
        keys, jnp.asarray(tokens), jnp.asarray(probs))
    changed, elig = np.asarray(out.changed), np.asarray(out.eligible)
    assert elig.any()
    assert not (changed & ~elig).any()
    if rule.top_k == 1 and rule.direction == "above":  # p >= 0.9 makes the original the only candidate
        assert not changed.any()
    else:
        assert changed.any()
    np.testing.assert_array_equal(np.asarray(out.tokens)[~elig], tokens[~elig])


def test_redraw_law_is_p_to_the_one_over_beta_over_top_k_and_the_original():
    """One eligible position, 20,000 independent redraws: frequencies match p^{1/β} over top-2 ∪ {original}."""
    p = np.array([0.5, 0.25, 0.15, 0.06, 0.03, 0.01])
    beta, n = 1.5, 20000
    rule = EditRule(threshold=0.04, direction="below", top_k=2, beta=beta)
    logp = jnp.log(jnp.asarray(np.tile(p, (1, 2, 1)), jnp.float32))
    tokens = jnp.asarray([[0, 4]])  # position 1 holds token 4 (p = 0.03 <= 0.04): candidates {0, 1, 4}
    draws = jax.vmap(lambda k: edit_from_logprobs(k, tokens, logp, rule).tokens[0, 1])(
        jax.random.split(jax.random.key(7), n))
    freq = np.bincount(np.asarray(draws), minlength=V) / n
    w = np.zeros(V)
    w[[0, 1, 4]] = p[[0, 1, 4]] ** (1 / beta)
    w /= w.sum()
    se = np.sqrt(w * (1 - w) / n)
    assert np.all(np.abs(freq - w) <= 4 * se + 1e-12), (freq, w)


def test_top_p_draws_only_from_the_nucleus_and_the_original():
    p = np.array([0.6, 0.3, 0.05, 0.03, 0.015, 0.005])
    rule = EditRule(threshold=0.01, direction="below", top_k=V, top_p=0.8, beta=1.0)
    logp = jnp.log(jnp.asarray(np.tile(p, (1, 2, 1)), jnp.float32))
    tokens = jnp.asarray([[0, 5]])
    draws = np.asarray(jax.vmap(lambda k: edit_from_logprobs(k, tokens, logp, rule).tokens[0, 1])(
        jax.random.split(jax.random.key(3), 4000)))
    assert set(np.unique(draws)) == {0, 1, 5}  # nucleus of mass 0.8 = {0, 1}; 5 is the original


def test_deterministic_with_a_seed():
    rng = np.random.default_rng(2)
    probs = rng.dirichlet(np.ones(V), size=(4, 32))
    tokens = rng.integers(0, V, (4, 32))
    rule = EditRule(threshold=0.2, top_k=4)
    a, b, c = (np.asarray(edit_windows(_fixed_prior(probs), rule, jax.random.key(s), tokens).tokens)
               for s in (5, 5, 6))
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


@pytest.fixture(scope="module")
def text_prior():
    text = "the cat sat on the mat and the dog sat on the log. " * 30
    w = encode(text)[: 64 * 20].reshape(20, 64)
    return ngram_prior(w, order=3, alpha=0.01)


def test_streaming_preserves_lengths_first_tokens_and_prompts(text_prior):
    docs = ["the cat sat on the mat. " * k for k in (1, 3, 7)] + [("the dog sat on ", "the log and the mat. " * 4),
                                                                  "x", ""]
    stats = EditStats()
    out = list(edit_corpus(docs, text_prior, EditRule(threshold=0.5), jax.random.key(0), context=16, batch=3,
                           stats=stats))
    assert len(out) == len(docs)
    for doc, new in zip(docs, out, strict=True):
        orig = np.concatenate([encode(doc[0]), encode(doc[1])]) if isinstance(doc, tuple) else encode(doc)
        assert len(new) == len(orig)
        if len(orig):
            assert new[0] == orig[0]
        assert np.array_equal(new[::16], orig[::16])  # every window's first token is kept
        if isinstance(doc, tuple):
            assert np.array_equal(new[:len(encode(doc[0]))], encode(doc[0]))
    s = stats.summary()
    assert 0 < s["changed_fraction"] <= s["eligible_fraction"] < 1
    assert abs(sum(s["prob_histogram"]) - 1) < 1e-9
    again = list(edit_corpus(docs, text_prior, EditRule(threshold=0.5), jax.random.key(0), context=16, batch=5))
    assert all(np.array_equal(a, b) for a, b in zip(out, again, strict=True))  # per-window keys


def test_ngram_prior_equals_hand_counts():
    w = np.array([[1, 2, 1, 2, 1, 3]])
    state = fit_ngram(w, order=2, alpha=0.5)
    lp = np.asarray(edit_windows(Prior(_ngram_table, state), EditRule(), jax.random.key(0), w).logp_orig)
    # after token 1: 2 twice, 3 once (3 contexts); after BOS: 1 once; after 2: 1 twice
    expect = [(1 + 0.5) / (1 + 0.5 * VOCAB_SIZE), (2 + 0.5) / (3 + 0.5 * VOCAB_SIZE),
              (2 + 0.5) / (2 + 0.5 * VOCAB_SIZE), (2 + 0.5) / (3 + 0.5 * VOCAB_SIZE),
              (2 + 0.5) / (2 + 0.5 * VOCAB_SIZE), (1 + 0.5) / (3 + 0.5 * VOCAB_SIZE)]
    np.testing.assert_allclose(np.exp(lp[0]), expect, rtol=1e-5)
    unseen = np.asarray(jnp.exp(_ngram_table(state, jnp.asarray([[7, 7]]))))[0, 1]  # context 7 never seen
    unigram = (np.bincount(w[0], minlength=VOCAB_SIZE) + 0.5) / (6 + 0.5 * VOCAB_SIZE)
    np.testing.assert_allclose(unseen, unigram, rtol=1e-5)
    assert BOS == VOCAB_SIZE - 1


def _ngram_table(state, tokens):
    from collapse.lm.edit import ngram_logprobs

    return ngram_logprobs(2)(state, tokens)


def test_mask_overlap():
    a = np.array([1, 1, 0, 0, 1, 0, 0, 0], bool)
    b = np.array([1, 0, 0, 0, 1, 1, 0, 0], bool)
    m = mask_overlap(a, b)
    assert m == {"overlap": 2 / 3, "independent": 3 / 8, "jaccard": 2 / 4}


@pytest.mark.parametrize("kw, param", [({"threshold": 0.0}, "edit_threshold"), ({"threshold": 1.01}, "edit_threshold"),
                                       ({"top_k": 0}, "edit_top_k"), ({"beta": 0.0}, "edit_beta"),
                                       ({"beta": -1.0}, "edit_beta"), ({"top_p": 0.0}, "edit_top_p"),
                                       ({"direction": "up"}, "edit_direction")])
def test_bad_rules_are_config_errors(kw, param):
    with pytest.raises(ConfigError, match=param):
        EditRule(**kw)


def test_token_schedule_records_fractions_and_overlaps():
    """The edit policy's "tokens" schedule with a hand-made edit operator: masks, fractions, overlaps."""
    from collapse.policies import Edit, StepContext

    real = jnp.zeros((2, 5), jnp.float32)
    masks = [np.array([[0, 1, 1, 0, 0], [0, 0, 0, 1, 0]], bool), np.array([[0, 1, 0, 0, 1], [0, 0, 0, 0, 0]], bool)]
    pol = Edit(schedule="tokens")
    assert not pol.uses_synth
    pool = pol.init_pool(real, real, 3)
    for n, m in enumerate(masks, start=2):
        changed = m & np.array([[1, 1, 0, 1, 1], [1, 1, 1, 1, 1]], bool)  # position (0, 2) eligible, redrawn same
        ctx = StepContext(jax.random.key(n), None, lambda k, b, m=m, c=changed: (b + jnp.asarray(c), jnp.asarray(m),
                                                                                  jnp.asarray(c)))
        pool = pol.push(pool, None, n, ctx)
    got = {k: float(v) for k, v in pol.metrics(pool).items()}
    # scored positions: 2 windows × 4 (first tokens kept) = 8
    assert got == pytest.approx({"edit_fraction": 2 / 8, "edited_ever": 3 / 8, "eligible_fraction": 2 / 8,
                                 "eligible_overlap": 1 / 2, "changed_overlap": 1 / 2})
    np.testing.assert_array_equal(np.asarray(pool["block"]), np.array([[0, 2, 0, 0, 1], [0, 0, 0, 1, 0]]))


@pytest.mark.parametrize("flag, value, param", [("--edit-threshold", "1.5", "edit_threshold"),
                                                ("--edit-threshold", "0", "edit_threshold"),
                                                ("--edit-top-k", "0", "edit_top_k"), ("--edit-beta", "0", "edit_beta")])
def test_cli_rejects_bad_edit_settings_in_one_line(flag, value, param, capsys):
    from experiments.gen_loop import main

    assert main(["--model", "transformer", "--mode", "edit", flag, value]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and param in err and value in err


@pytest.mark.slow
def test_engine_token_editing_end_to_end():
    """--mode edit on the transformer family: a tiny loop runs, changed <= eligible every generation, the
    first token of every window survives, and generation 1 (no editing yet) records nothing."""
    from collapse.config import LoopConfig
    from collapse.engine import Loop
    from collapse.families.transformer import TransformerLM

    fam = TransformerLM(context=16, width=32, depth=1, heads=2, T=16, steps=30, warmup=3, holdout=8, diag_samples=4,
                        edit_threshold=0.3)
    state = Loop(fam, LoopConfig(mode="edit", edit_schedule="tokens", generations=3, replicates=2)).run()
    m = state.metrics
    assert np.all(m["eligible_fraction"][0] == 0) and np.all(m["edit_fraction"][0] == 0)
    assert np.all(m["edit_fraction"] <= m["eligible_fraction"]) and m["eligible_fraction"][1:].max() > 0
    pool = state.carry[1]
    real = Loop(fam, LoopConfig(mode="replace", generations=1, replicates=2)).program.init(
        jax.random.key(0), jnp.arange(2))[0].real
    np.testing.assert_array_equal(np.asarray(pool["block"])[:, :, 0], np.asarray(real)[:, :, 0])


@pytest.mark.slow
def test_toedit_text_driver_common_random_numbers():
    """Training sets that are identical give identical models: an edit variant that changes nothing has exactly
    the human set's held-out perplexity (so every Δ vs human is the data's doing, not the seed's)."""
    from experiments.lm.toedit_text import ToEditText, run

    cfg = ToEditText(context=16, width=32, depth=1, heads=2, T=16, prior_T=32, prior_steps=20, steps=10, warmup=2,
                     holdout=8, variants=("edit p>=0.999", "edit p<=0.1"))
    r = run(cfg, 0)
    ppl = dict(zip(r["labels"], r["heldout_ppl"], strict=True))
    assert r["edits"]["edit p>=0.999"]["changed_fraction"] == 0  # a 20-step prior is never that sure
    assert ppl["edit p>=0.999"] == ppl["human"]
    assert r["edits"]["edit p<=0.1"]["changed_fraction"] > 0 and ppl["edit p<=0.1"] != ppl["human"]

"""A document → summary task with exact references: the small analog of Feng et al. 2025 (docs/papers/feng2025.md).

A document is a title naming one entity, followed by shuffled sentences: one *key fact* about the title's
entity, ``distractor_facts`` facts of the same grammar about other entities, and ``human_sentences`` sentences
of real human-written English (the default corpus of :mod:`collapse.lm.corpus`, which ships with Python). The
reference summary states the key fact in one fixed form::

    <name> <verb> the <object> in <place> on <day>

so it is correct by construction and quality is graded (ROUGE counts how many slots a summary got right).
A fact sentence is written in one of several surface forms; the first is the summary's own form and the others
are paraphrases (place or day fronted, passive voice), chosen with probability ``paraphrase``. A summarizer
must therefore find the sentence about the title's entity among look-alikes (``distractor_facts``), skip the
human prose (``human_sentences``, document length), and undo the paraphrase.

Difficulty knobs: ``human_sentences`` (document length), ``distractor_facts``, ``paraphrase`` (0 = always the
summary's own form), and ``n_entities`` (how many names exist; fewer names = more reuse across documents).
The word lists below are ours: generic English words, and names/places built from syllables.
"""

from dataclasses import dataclass
from functools import cached_property
from typing import Literal, get_args

import numpy as np

from collapse.errors import require

VERBS = (  # (simple past, past participle)
    ("opened", "opened"), ("repaired", "repaired"), ("sold", "sold"), ("painted", "painted"),
    ("visited", "visited"), ("inspected", "inspected"), ("built", "built"), ("closed", "closed"),
    ("moved", "moved"), ("cleaned", "cleaned"), ("bought", "bought"), ("designed", "designed"),
)
OBJECTS = ("bridge", "library", "market", "school", "tower", "garden", "station", "museum", "harbor", "theater",
           "bakery", "clinic", "factory", "chapel", "stadium", "orchard")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_ONSETS = ("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z")
_VOWELS = ("a", "e", "i", "o", "u")
FORMS = ("active", "place-first", "day-first", "passive")


def _syllable_words(n: int, syllables: int, suffix: str, rng: np.random.Generator) -> tuple[str, ...]:
    words: set[str] = set()
    while len(words) < n:
        parts = [rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(syllables)]
        words.add("".join(parts) + suffix)
    return tuple(sorted(words))


@dataclass(frozen=True)
class Fact:
    name: str
    verb: int  # index into VERBS
    obj: str
    place: str
    day: str

    def summary(self) -> str:
        return f"{self.name} {VERBS[self.verb][0]} the {self.obj} in {self.place} on {self.day}"

    def sentence(self, form: str) -> str:
        past, participle = VERBS[self.verb]
        if form == "active":
            return f"{self.name} {past} the {self.obj} in {self.place} on {self.day} ."
        if form == "place-first":
            return f"in {self.place} , {self.name} {past} the {self.obj} on {self.day} ."
        if form == "day-first":
            return f"on {self.day} , {self.name} {past} the {self.obj} in {self.place} ."
        return f"the {self.obj} in {self.place} was {participle} by {self.name} on {self.day} ."


@dataclass(frozen=True)
class Example:
    document: str
    summary: str
    fact: Fact
    distractors: tuple[Fact, ...]


@dataclass(frozen=True)
class SummarizeTask:
    """Generator of (document, reference summary) pairs; see the module docstring for the knobs."""

    human_sentences: int = 3
    distractor_facts: int = 2
    paraphrase: float = 0.5
    n_entities: int = 40
    n_places: int = 20
    vocab_seed: int = 0

    def __post_init__(self):
        for name in ("human_sentences", "distractor_facts"):
            v = getattr(self, name)
            require(isinstance(v, int) and v >= 0, name, v, "an integer >= 0")
        require(0.0 <= self.paraphrase <= 1.0, "paraphrase", self.paraphrase, "a probability in [0, 1]")
        require(isinstance(self.n_entities, int) and self.n_entities > self.distractor_facts, "n_entities",
                self.n_entities, f"an integer > distractor_facts = {self.distractor_facts} (names must differ)")
        require(isinstance(self.n_places, int) and self.n_places >= 1, "n_places", self.n_places, "an integer >= 1")

    @cached_property
    def names(self) -> tuple[str, ...]:
        return _syllable_words(self.n_entities, 2, "", np.random.default_rng([self.vocab_seed, 1]))

    @cached_property
    def places(self) -> tuple[str, ...]:
        return _syllable_words(self.n_places, 2, "ton", np.random.default_rng([self.vocab_seed, 2]))

    @cached_property
    def human(self) -> tuple[str, ...]:
        return human_sentences() if self.human_sentences else ()

    def _fact(self, rng, name) -> Fact:
        return Fact(name, int(rng.integers(len(VERBS))), str(rng.choice(OBJECTS)), str(rng.choice(self.places)),
                    str(rng.choice(DAYS)))

    def _form(self, rng) -> str:
        return FORMS[0] if rng.random() >= self.paraphrase else str(rng.choice(FORMS[1:]))

    def example(self, rng: np.random.Generator) -> Example:
        names = rng.choice(len(self.names), size=1 + self.distractor_facts, replace=False)
        fact, *others = [self._fact(rng, self.names[i]) for i in names]
        sentences = [fact.sentence(self._form(rng))] + [f.sentence(self._form(rng)) for f in others]
        if self.human_sentences:
            picks = rng.choice(len(self.human), size=self.human_sentences, replace=False)
            sentences += [self.human[i] for i in picks]
        order = rng.permutation(len(sentences))
        document = f"about {fact.name} : " + " ".join(sentences[i] for i in order)
        return Example(document, fact.summary(), fact, tuple(others))

    def examples(self, count: int, seed: int) -> list[Example]:
        require(isinstance(count, int) and count >= 1, "count", count, "an integer >= 1")
        rng = np.random.default_rng(seed)
        return [self.example(rng) for _ in range(count)]


def human_sentences(min_words: int = 6, max_words: int = 20) -> tuple[str, ...]:
    """Plain prose sentences from the default human corpus, lower-cased, tokens separated by spaces.

    Kept: sentences of ``min_words``..``max_words`` words made of letters and light punctuation only (the
    reference documentation mixes prose with code, which this drops)."""
    import re

    from collapse.lm.corpus import default_corpus

    out = set()
    for doc in default_corpus().documents:
        for raw in re.split(r"(?<=[.!?])\s+", " ".join(doc.split())):
            if not re.fullmatch(r"[A-Z][A-Za-z ,;'-]+\.", raw):
                continue
            words = re.findall(r"[a-z']+|[,;.]", raw.lower())
            if min_words <= sum(w.isalpha() for w in words) <= max_words:
                out.add(" ".join(words))
    return tuple(sorted(out))


# --- tokens -------------------------------------------------------------------------------------------
SUMMARY_LEN = 8  # "<name> <verb> the <object> in <place> on <day>": the fixed form has 8 words


class WordTokenizer:
    """Word-level vocabulary of a task: the special tokens PAD, BOS, EOS, UNK (ids 0–3; PAD, BOS, EOS as in
    :mod:`collapse.tasks.numbers`), then every word the task can produce, sorted. Documents are padded with
    PAD to ``src_len``; a document longer than that raises."""

    SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")

    def __init__(self, task: SummarizeTask, src_len: int | None = None):
        words = {"about", ":", "the", "in", "on", "was", "by", ",", "."}
        words |= set(task.names) | set(task.places) | set(OBJECTS) | set(DAYS)
        words |= {v for pair in VERBS for v in pair}
        for s in task.human:
            words |= set(s.split())
        self.words = self.SPECIALS + tuple(sorted(words - set(self.SPECIALS)))
        self.index = {w: i for i, w in enumerate(self.words)}
        longest = 3 + (1 + task.distractor_facts) * 11 + task.human_sentences * max(
            (len(s.split()) for s in task.human), default=0)
        self.src_len = longest if src_len is None else src_len
        require(isinstance(self.src_len, int) and self.src_len >= 1, "src_len", self.src_len, "an integer >= 1")

    @property
    def vocab_size(self) -> int:
        return len(self.words)

    def encode(self, text: str, length: int) -> np.ndarray:
        ids = [self.index.get(w, 3) for w in text.split()]
        if not ids:
            from collapse.errors import ConfigError

            raise ConfigError("document", repr(text), "a non-empty text")
        require(len(ids) <= length, "text length", len(ids), f"at most {length} words (the model's context)")
        return np.array(ids + [0] * (length - len(ids)), np.int32)

    def encode_documents(self, docs) -> np.ndarray:
        return np.stack([self.encode(d, self.src_len) for d in docs])

    def encode_summaries(self, summaries) -> np.ndarray:
        return np.stack([self.encode(s, SUMMARY_LEN) for s in summaries])

    def decode(self, ids) -> str:
        """Tokens → text; PAD/BOS/EOS are dropped, so a malformed summary is just a worse summary."""
        return " ".join(self.words[i] for i in np.asarray(ids).tolist() if i > 2)


# --- metrics ------------------------------------------------------------------------------------------
ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


@dataclass(frozen=True)
class Rouge:
    """ROUGE-1/2/L F-measures by the ``rouge-score`` package (Google's reference implementation, no stemming:
    the task's words are fixed). Returns arrays [len(preds)] per type."""

    def __call__(self, preds, refs) -> dict[str, np.ndarray]:
        from rouge_score import rouge_scorer

        require(len(preds) == len(refs), "predictions", len(preds), f"as many as references ({len(refs)})")
        scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=False)
        # rouge-score's default tokenizer drops non-alphanumerics, which is what we want for "," and "."
        scores = [scorer.score(r, p) for p, r in zip(preds, refs, strict=True)]
        return {t: np.array([s[t].fmeasure for s in scores]) for t in ROUGE_TYPES}


def exact_match(preds, refs) -> np.ndarray:
    """[n] bool: the summary states the key fact exactly (word for word)."""
    return np.array([p.split() == r.split() for p, r in zip(preds, refs, strict=True)])


FACT_SLOTS = (1, 3, 5, 7)  # verb, object, place, day in the summary's fixed form (0 is the title's name)


def slot_sources(preds, examples) -> dict[str, np.ndarray]:
    """Where each fact slot of a summary came from: per summary, the share of its verb/object/place/day that
    equals the key fact's (``key``) and the share that equals a distractor fact's instead (``distractor``), over
    the slots where the two differ. A model that has not learned to bind the title's entity to its sentence
    guesses between the facts: key ≈ distractor. NaN for a summary whose facts agree on every slot."""
    key, other = [], []
    for p, ex in zip(preds, examples, strict=True):
        words, ref = p.split(), ex.summary.split()
        others = [d.summary().split() for d in ex.distractors]
        hits, wrong, n = 0, 0, 0
        for slot in FACT_SLOTS:
            alts = {o[slot] for o in others} - {ref[slot]}
            if not alts:
                continue
            n += 1
            got = words[slot] if slot < len(words) else None
            hits += got == ref[slot]
            wrong += got in alts
        key.append(hits / n if n else np.nan)
        other.append(wrong / n if n else np.nan)
    return {"key": np.array(key), "distractor": np.array(other)}


# --- selection ----------------------------------------------------------------------------------------
Selector = Literal["oracle", "self", "external", "random", "none"]
SELECTORS = get_args(Selector)


def selector_scores(rule: str, *, rouge_l=None, self_logp=None, external_logp=None, rng=None, shape=None):
    """Scores [N, k] whose argmax (``collapse.selection.best_of_k``) is the candidate a rule picks.

    oracle: ROUGE-L against the reference (Feng et al. 2025 §2.3's oracle best-of-k); self: the generator's own
    log-likelihood of the candidate; external: a separately trained scorer's log-likelihood; random: uniform;
    none: the first candidate. Only the inputs a rule needs are required."""
    require(rule in SELECTORS, "selector", rule, f"one of {SELECTORS}")
    given = {"oracle": rouge_l, "self": self_logp, "external": external_logp}
    if rule in given:
        require(given[rule] is not None, "selector", rule, "its scores (ROUGE-L / log-likelihoods) to be given")
        return np.asarray(given[rule], float)
    require(shape is not None and len(shape) == 2 and shape[1] >= 1, "k", None if shape is None else shape,
            "candidate shape [N, k] with k >= 1")
    if rule == "random":
        return (rng or np.random.default_rng(0)).random(shape)
    return np.tile(-np.arange(shape[1], dtype=float), (shape[0], 1))

"""Text corpora: the default human corpus, a user's own corpus, splits fixed by hash, training windows.

Default corpus ("pydoc"): the topic pages of the Python reference documentation that ship with CPython
(stdlib module ``pydoc_data.topics``, PSF license): 79 human-written English documents, ≈ 0.46 MB. It is on
every machine that has Python, so nothing is downloaded. (Its size differs slightly across Python versions,
so a result file records the corpus fingerprint.)

A user corpus is a folder of ``.txt`` files (one document per file, searched recursively) or a ``.jsonl`` file
with one JSON object per line holding the document in a text field (default ``"text"``).

Splits: a document goes to train / validation / test by the SHA-256 of its name (the topic key, the file's
relative path, or the JSONL line number), so the split never depends on load order or on the other documents.
"""

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from collapse.errors import ConfigError, require
from collapse.lm.tokenizer import encode

SPLITS = ("train", "validation", "test")
DEFAULT_CORPUS = "pydoc"


@dataclass(frozen=True)
class Corpus:
    """Named documents. names[i] identifies documents[i] (used for the hash split)."""

    name: str
    names: tuple[str, ...]
    documents: tuple[str, ...]

    def split(self, which: str, fractions=(0.8, 0.1, 0.1)) -> "Corpus":
        """The documents whose name hashes into split ``which`` (train / validation / test)."""
        require(which in SPLITS, "split", which, f"one of {SPLITS}")
        edges = np.cumsum(fractions) / np.sum(fractions)
        keep = [i for i, n in enumerate(self.names) if SPLITS[_bucket(n, edges)] == which]
        return Corpus(f"{self.name}:{which}", tuple(self.names[i] for i in keep),
                      tuple(self.documents[i] for i in keep))

    def tokens(self) -> np.ndarray:
        """All documents as one int32 byte stream, in name order."""
        return np.concatenate([encode(d) for d in self.documents]) if self.documents else np.zeros(0, np.int32)

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for n, d in zip(self.names, self.documents, strict=True):
            h.update(n.encode() + b"\0" + d.encode() + b"\0")
        return h.hexdigest()[:16]


def _bucket(name: str, edges) -> int:
    u = int(hashlib.sha256(name.encode("utf-8")).hexdigest()[:12], 16) / 16 ** 12
    return int(np.searchsorted(edges, u, side="right"))


def _nonempty(corpus: Corpus, source: str) -> Corpus:
    if not any(d.strip() for d in corpus.documents):
        raise ConfigError("corpus", source, "a corpus with at least one non-empty document")
    return corpus


def default_corpus() -> Corpus:
    """The Python reference documentation's topic pages (see module docstring)."""
    from pydoc_data.topics import topics

    names = tuple(sorted(topics))
    return Corpus(DEFAULT_CORPUS, names, tuple(topics[k] for k in names))


def _read_utf8(path: Path, source: str) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError("corpus", str(path), f"UTF-8 text (byte {err.start} is not valid UTF-8)") from None


def load_folder(path) -> Corpus:
    """Every ``*.txt`` under ``path`` (recursively), one document per file."""
    root = Path(path)
    files = sorted(p for p in root.rglob("*.txt") if p.is_file())
    require(bool(files), "corpus", str(path), "a folder containing at least one .txt file")
    names = tuple(str(p.relative_to(root)) for p in files)
    return _nonempty(Corpus(root.name, names, tuple(_read_utf8(p, str(path)) for p in files)), str(path))


def load_jsonl(path, field: str = "text") -> Corpus:
    """One document per line: the string in ``field`` of each JSON object (blank lines skipped)."""
    path = Path(path)
    docs, names = [], []
    for i, line in enumerate(_read_utf8(path, str(path)).splitlines()):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise ConfigError("corpus", f"{path}:{i + 1}", f"one JSON object per line ({err.msg})") from None
        if not isinstance(obj, dict) or not isinstance(obj.get(field), str):
            raise ConfigError("corpus", f"{path}:{i + 1}", f"a JSON object with a string field {field!r}")
        docs.append(obj[field])
        names.append(f"line{i + 1}")
    return _nonempty(Corpus(path.stem, tuple(names), tuple(docs)), str(path))


@functools.lru_cache(maxsize=8)
def load_corpus(source: str = DEFAULT_CORPUS) -> Corpus:
    """``"pydoc"`` (default), a folder of .txt files, or a .jsonl file. Raises ConfigError."""
    if source == DEFAULT_CORPUS:
        return default_corpus()
    path = Path(source)
    if path.is_dir():
        return load_folder(path)
    if path.is_file() and path.suffix == ".jsonl":
        return load_jsonl(path)
    raise ConfigError("corpus", source, f"'{DEFAULT_CORPUS}', a folder of .txt files, or a .jsonl file")


def windows(tokens: np.ndarray, length: int, count: int | None = None, *, source: str = "corpus") -> np.ndarray:
    """Non-overlapping windows int32 [n, length] of a token stream (``count`` evenly spaced ones if given)."""
    n = len(tokens) // length
    require(n >= 1, "context", length, f"at most the {source}'s length ({len(tokens)} tokens)")
    out = np.asarray(tokens[: n * length], np.int32).reshape(n, length)
    if count is not None:
        require(count <= n, "windows", count, f"at most {n} windows of {length} tokens in the {source}")
        out = out[np.linspace(0, n - 1, count).round().astype(int)]
    return out


def human_train_and_heldout(corpus: str, context: int, holdout: int) -> tuple[np.ndarray, np.ndarray]:
    """A corpus's train split as one token stream, and ``holdout`` evenly spaced validation windows of
    ``context`` tokens (the held-out human text every experiment scores on)."""
    c = load_corpus(corpus)
    held = windows(c.split("validation").tokens(), context, holdout, source="validation split")
    return c.split("train").tokens(), held


def random_windows(rng: np.random.Generator, stream: np.ndarray, count: int, length: int) -> np.ndarray:
    """``count`` windows int32 [count, length] starting at uniform random offsets of a token stream."""
    starts = rng.integers(0, len(stream) - length + 1, count)
    return np.asarray(stream[starts[:, None] + np.arange(length)], np.int32)

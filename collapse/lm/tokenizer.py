"""Byte-level tokenizer: UTF-8 bytes 0..255 plus one beginning-of-sequence token (BOS = 256).

Byte-level needs no training and no vocabulary file, never meets an unknown symbol, and makes n-gram
diagnostics of human and synthetic text directly comparable. Sampled byte strings need not be valid UTF-8;
``decode`` replaces broken sequences with U+FFFD.
"""

import numpy as np

BOS = 256
VOCAB_SIZE = 257


def encode(text: str) -> np.ndarray:
    """text → int32 [n] bytes (no BOS)."""
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.int32)


def decode(tokens) -> str:
    """int [n] → text; BOS tokens are dropped, invalid UTF-8 is replaced."""
    arr = np.asarray(tokens).reshape(-1)
    return bytes(int(t) for t in arr if 0 <= t < 256).decode("utf-8", errors="replace")

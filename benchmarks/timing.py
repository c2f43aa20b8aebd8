"""Timing shared by the benchmarks: the best of a few warm runs (the first call compiles, so it is not timed)."""

import math
import time


def best_of(fn, repeats: int = 3) -> float:
    """Seconds of the fastest of ``repeats`` calls of ``fn`` after one untimed warm-up call."""
    fn()
    best = math.inf
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best

"""This machine's ceilings, measured in the same run as a benchmark, and how close a timed path gets to them.

Two peaks: NumPy's float64 matrix product (dgemm through its BLAS, n = 1024: the compute ceiling a
single-process NumPy/JAX program can reach) and a large array copy (np.copyto of 128 MiB: read + write,
the memory-bandwidth ceiling). A benchmark counts the FLOPs and bytes its computation must perform and
prints the achieved rates beside these peaks, so a ratio against NumPy can also be read against the machine.
Every line carries the load average at the time of measurement, because the machine is shared.
"""

import os
from dataclasses import dataclass

import numpy as np

from benchmarks.timing import best_of


@dataclass(frozen=True)
class Peaks:
    gflops: float  # float64 dgemm, GFLOP/s
    gbytes: float  # memory copy, GB/s (bytes read + written)
    load: tuple  # os.getloadavg() when measured


def measure_peaks(repeats: int = 5, n: int = 1024, copy_mib: int = 128) -> Peaks:
    """Best-of-``repeats`` dgemm GFLOP/s and copy GB/s on this machine, now."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    gemm = best_of(lambda: a @ b, repeats)
    src = np.ones(copy_mib * 2**20 // 8)
    dst = np.empty_like(src)
    copy = best_of(lambda: np.copyto(dst, src), repeats)
    return Peaks(2 * n**3 / gemm / 1e9, 2 * src.nbytes / copy / 1e9, os.getloadavg())


def load_text() -> str:
    return "load avg {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def describe(peaks: Peaks) -> str:
    return (f"machine peaks (same run): dgemm {peaks.gflops:.1f} GFLOP/s, copy {peaks.gbytes:.1f} GB/s "
            f"(load avg {peaks.load[0]:.1f} when measured)")


def roofline(label: str, seconds: float, flops: float, nbytes: float, peaks: Peaks) -> str:
    """One line: time, FLOPs and bytes moved, achieved rates and their share of the measured peaks."""
    gf, gb = flops / seconds / 1e9, nbytes / seconds / 1e9
    return (f"  roofline {label}: {seconds:.4f} s; {flops / 1e9:.3f} GFLOP -> {gf:.2f} GFLOP/s "
            f"({100 * gf / peaks.gflops:.1f}% of dgemm); {nbytes / 1e9:.3f} GB -> {gb:.2f} GB/s "
            f"({100 * gb / peaks.gbytes:.1f}% of copy); {load_text()}")

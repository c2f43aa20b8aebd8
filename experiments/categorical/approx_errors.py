"""Measured error of the approximate closed forms (docs/categorical.md): prints a Markdown table.

    PYTHONPATH=. python -m experiments.categorical.approx_errors
"""

import numpy as np

from collapse.counts import zipf_probs
from theory import categorical as tc
from theory import zipf as tz


def missing_mass_table(V=1000, beta=1.1, T=300, G=30):
    p = zipf_probs(V, beta)
    exact = tc.missing_mass_exact(p, T, T, G)
    n = np.arange(1, G + 1)
    forms = {
        "Σ p_i(1 − p_i g_n)^T, binomial g_n": tc.missing_mass_branching(p, T, G, T),
        "Σ p_i exp(−T p_i g_n), Poisson g_n": tc.missing_mass_branching(p, T, G),
        "Σ p_i exp(−T p_i·2/(n + 1))": np.sum(p * np.exp(-T * np.outer(2 / (n + 1), p)), axis=1),
    }
    print(f"missing mass, replace, Zipf({beta}) V = {V}, T = M = {T}, generations 1..{G}, vs the exact "
          "Wright–Fisher chain:\n")
    print("| approximation | max abs error | max rel error | at n = G: approx / exact |")
    print("|---|---|---|---|")
    for name, approx in forms.items():
        rel = np.abs(approx - exact) / exact
        print(f"| {name} | {np.max(np.abs(approx - exact)):.4f} | {rel.max():.1%} | {approx[-1]:.4f} / "
              f"{exact[-1]:.4f} |")
    bound = np.array([np.sum(p * np.exp(-T * p / k)) for k in n])
    print(f"\nSuresh bound on missing mass Σ p_i exp(−T p_i/n) ≥ exact at every n: {np.all(bound >= exact)}; "
          f"at n = G it is {bound[-1]:.4f} vs exact {exact[-1]:.4f}\n")


def clean_law_table(beta=1.5, V=10**6):
    p = zipf_probs(V, beta)
    print(f"clean law A·T^(−c) vs the exact sum, Zipf({beta}), V = {V}:\n")
    print("| T | exact Σ p_i(1 − p_i)^T | A·T^(−c) | rel error |")
    print("|---|---|---|---|")
    for T in (100, 1000, 10_000, 100_000):
        e, a = tz.clean_error(p, T), tz.clean_asymptote(beta, T)
        print(f"| {T} | {e:.5f} | {a:.5f} | {(a - e) / e:+.1%} |")
    print()


if __name__ == "__main__":
    missing_mass_table()
    clean_law_table(1.5)
    clean_law_table(2.0)

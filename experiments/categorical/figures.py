"""Figures of the categorical / zipf presets: each takes [(label, Outcome)] (an Outcome needs .family, .cfg and
.metrics {metric: [G, R]}) and returns PNG bytes, with theory drawn on the simulation."""

import numpy as np
from matplotlib.ticker import MaxNLocator
from scipy.special import zeta

from experiments.plotting import axes_grid, plot_band, png_bytes
from theory import categorical as tc
from theory import zipf as tz
from theory.check import mean_se


def _finish(ax, xlabel, ylabel, title, log_y=False, log_x=False):
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    if log_y:
        ax.set_yscale("log")
    if log_x:
        ax.set_xscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, loc="best")


def _points(ax, x, samples, label, color=None, every=1):
    mean, se = mean_se(samples)
    line = ax.errorbar(x[::every], mean[::every], yerr=2 * se[::every], fmt="o", ms=2.5, capsize=2, color=color,
                       label=f"{label} (mean ± 2 SE)")
    return line[0].get_color()


def support_and_tail(outcomes) -> bytes:
    """Support (median band), missing tail mass and ‖p̂ − p‖² per generation, per data policy, with theory."""
    fig, (a_sup, a_miss, a_err) = axes_grid(3)
    for o in outcomes:
        label = o.label
        fam, cfg = o.family, o.cfg
        G, n = cfg.generations, np.arange(1, cfg.generations + 1)
        every = max(1, G // 25)
        color = plot_band(a_sup, o.metrics["support"], label)
        _points(a_miss, n, o.metrics["missing_mass"], label, color, every)
        _points(a_err, n, o.metrics["l2_err"], label, color, every)
        p = fam.truth_probs()
        if cfg.mode == "replace":
            a_miss.plot(n, tc.missing_mass_branching(p, fam.T, G, fam.synth_size), "-", color=color, lw=1,
                        label="≈ Σ p_i(1 − p_i g_n)^T (binomial branching)")
            a_miss.plot(n, np.sum(p * np.exp(-fam.T * np.outer(2 / (n + 1), p)), axis=1), ":", color="k", lw=1,
                        label="≈ Σ p_i exp(−T p_i·2/(n + 1))")
        else:
            a_miss.axhline(tc.real_missing_mass(p, fam.T), color=color, lw=1, ls="--",
                           label=f"{label}: Σ p_i(1 − p_i)^T (exact)")
        curve = next(c for c in tc.categorical_theory(fam, cfg) if c.metric == "l2_err")
        a_err.plot(n, curve.values, "-", color=color, lw=1, label=f"{label}: theory (exact)")
    for ax in (a_sup, a_miss, a_err):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    g = "generation n (1 = fitted to real data)"
    _finish(a_sup, g, "support size #{v: p̂_v > 0}", "Support never grows in replace; frozen in accumulate / mix")
    _finish(a_miss, g, "missing tail mass", "Tail mass the model no longer produces")
    _finish(a_err, g, "‖p̂_n − p‖²", "Seddik et al.: replace drifts to a point mass; accumulate / mix stay bounded",
            log_y=True)
    return png_bytes(fig)


def _by_T(outcomes, size):
    runs = sorted(outcomes, key=lambda o: size(o.family))
    return np.array([size(o.family) for o in runs]), runs


def tale_of_tails(outcomes) -> bytes:
    """Error vs T (= T0) at each generation: simulation, the exact sum, the clean law and the union template."""
    fig, (ax, a_floor) = axes_grid(2, width=6.5)
    T, runs = _by_T(outcomes, lambda f: f.T)
    fam = runs[0].family
    p, beta = fam.probs()[0], fam.beta
    G = runs[0].cfg.generations
    dense = np.geomspace(T.min(), T.max(), 60)
    for g in range(1, G + 1):
        mean_se_g = [mean_se(o.metrics["error"][g - 1:g]) for o in runs]
        mean = np.array([m[0][0] for m in mean_se_g])
        se = np.array([m[1][0] for m in mean_se_g])
        bar = ax.errorbar(T, mean, yerr=2 * se, fmt="o", ms=3, capsize=2, label=f"generation {g} (n = {g - 1})")
        color = bar[0].get_color()
        ax.plot(dense, [tz.generations_error(p, t, t, g - 1) for t in dense], "-", color=color, lw=1)
        if g in (3, G):
            ax.plot(dense, [tz.union_bound(p, t, t, g - 1) for t in dense], ":", color=color, lw=1,
                    label=f"union template E(T) + n·E(T0), n = {g - 1}")
    ax.plot(dense, tz.clean_asymptote(beta, dense), "--", color="k", lw=1, label="clean A·T^(−c)")
    _finish(ax, "T = T0 (samples per generation)", "test error E",
            f"Tale of tails (β = {beta:g}, c = {tz.exponent(beta):.2f}): exact sums (lines) on simulation",
            log_y=True, log_x=True)
    n = np.arange(1, 101)
    a_floor.plot(n, tz.floor_growth(beta, n), "-", label="exact floor / A·T0^(−c) (continuum)")
    a_floor.plot(n, tz.floor_log_law(beta, n), "--", label="(ln n + γ)^c / Γ(1 + c)")
    a_floor.plot(n, n, ":", label="n (the published template's growth)")
    _finish(a_floor, "synthetic generations n", "floor in units of A·T0^(−c)",
            "The synthetic floor grows like (ln n + γ)^c, not like n", log_y=True, log_x=True)
    return png_bytes(fig)


def grokking(outcomes) -> bytes:
    """Error at generation 2 vs T0 with a tail cut and a real fraction: plateau then exit."""
    fig, (ax,) = axes_grid(1, width=7.0)
    T0, runs = _by_T(outcomes, lambda f: f.synth_size)
    fam = runs[0].family
    p, beta, k, pi = fam.probs()[0], fam.beta, fam.tail_cut, fam.real_fraction
    stats = [mean_se(o.metrics["error"][1:2]) for o in runs]
    ax.errorbar(T0, [s[0][0] for s in stats], yerr=[2 * s[1][0] for s in stats], fmt="o", ms=3, capsize=2,
                label="simulation, generation 2 (mean ± 2 SE)")
    dense = np.geomspace(T0.min(), T0.max() * 3, 80)
    ax.plot(dense, tz.truth_labeled_error(p, dense, k, pi), "-", lw=1, label="exact Σ p_i(1 − s_i)^T0")
    ax.axhline(tz.cut_tail_mass(p, k), color="k", ls="--", lw=1, label=f"plateau Σ_(i>{k}) p_i")
    ax.axvline(k**beta * zeta(beta) / pi, color="grey", ls=":", lw=1, label="exit πT0 = k^β ζ(β)")
    ax.plot(dense, tz.truth_labeled_error(p, dense), "-.", lw=1, color="grey", label="clean data, same T0")
    _finish(ax, "T0 (samples of the mixed generation)", "test error E",
            f"Grokking: tail cut k = {k}, real fraction π = {pi:g}, β = {beta:g}", log_y=True, log_x=True)
    return png_bytes(fig)

"""Figures of the Gaussian presets (``Preset.figure`` hooks): each takes [(label, Outcome)] and returns PNG
bytes. Theory lines are drawn over the whole horizon, including generations where the CLI makes no claim
about a heavy-tailed mean (see theory/gaussian.py)."""

import math

import numpy as np

from experiments.plotting import axes_grid, generation_axes, plot_band, png_bytes
from theory import gaussian as tg
from theory.check import mean_se


def _mean_line(ax, samples, label, color, every=1):
    mean, se = mean_se(samples)
    n = np.arange(1, len(mean) + 1)
    ax.errorbar(n[::every], mean[::every], yerr=2 * se[::every], fmt="o", ms=2.5, capsize=2, color=color,
                label=f"{label} (mean ± 2 SE)")


def shumailov(outcomes) -> bytes:
    """Replace mode, unbiased refits, several M: log σ̂² median/band vs E log σ̂²; E σ̂ = σα_Mⁿ; W₂²."""
    fig, (a_log, a_sd, a_w2) = axes_grid(3)
    for o in outcomes:
        label = o.label
        fam, G = o.family, o.cfg.generations
        sizes = fam.sizes(G)
        n = np.arange(1, G + 1)
        s2 = fam.std**2
        every = max(1, G // 25)
        c = plot_band(a_log, o.metrics["log_var"], label)
        a_log.plot(n, math.log(s2) + tg.replace_logdet(sizes, 1, fam.estimator), "--", color="k", lw=0.8,
                   label=f"theory E log σ̂² ({label})")
        _mean_line(a_sd, o.metrics["sd"], label, c, every)
        a_sd.plot(n, fam.std * tg.replace_sd(sizes, fam.estimator), "-", color=c, lw=1, label="theory σ α_Mⁿ")
        _mean_line(a_w2, o.metrics["w2"], label, c, every)
        a_w2.plot(n, tg.replace_w2(sizes, fam.std, fam.estimator), "-", color=c, lw=1,
                  label="theory σ²(n/M + 2 − 2α_Mⁿ)")
    generation_axes(a_log, "log σ̂²", "Shumailov et al.: log σ̂² drifts down (σ̂ → 0 a.s.)")
    generation_axes(a_sd, "σ̂", "E σ̂ = σ α_Mⁿ (a mean of 2,000 replicates is unreliable once Var log σ̂ > 2)", log_y=True)
    generation_axes(a_w2, "W₂² to the truth", "E W₂² = σ²(n/M + 2 − 2α_Mⁿ)")
    return png_bytes(fig)


def kazdan(outcomes) -> bytes:
    """Replace / accumulate / accumulate-subsample side by side: σ̂² median/band with E σ̂² theory and the
    sin(π/√n)/(π/√n) limit; mean error with its accumulate bound."""
    fig, (a_var, a_mean) = axes_grid(2, width=7.0)
    limit_drawn = False
    for o in outcomes:
        label = o.label
        fam, cfg = o.family, o.cfg
        G, n = cfg.generations, np.arange(1, cfg.generations + 1)
        c = plot_band(a_var, o.metrics["var"], label)
        _mean_line(a_mean, o.metrics["mean_err"], label, c, max(1, G // 25))
        curves = {cv.metric: cv for cv in o.curves if cv.kind == "equality"}
        sizes = fam.sizes(G)
        if cfg.mode == "replace":
            a_var.plot(n, fam.std**2 * tg.replace_variance(sizes, fam.estimator), "--", color=c, lw=1,
                       label="theory E σ̂² = σ²((M−1)/M)ⁿ")
            a_mean.plot(n, tg.replace_mean_err(sizes, fam.std**2, fam.estimator), "-", color=c, lw=1,
                        label="theory (replace)")
        elif "var" in curves:
            a_var.plot(n, curves["var"].values, "--", color=c, lw=1, label=f"theory {curves['var'].name}")
            a_mean.plot(n, curves["mean_err"].values, "-", color=c, lw=1, label="theory (accumulate)")
            for b in (cv for cv in o.curves if cv.kind == "upper-bound"):
                a_mean.plot(n, b.values, ":", color=c, lw=1, label=b.name)
            if cfg.mode == "accumulate" and not limit_drawn and fam.T == fam.synth_size:
                a_var.axhline(fam.std**2 * tg.kazdan_limit(fam.T), color="k", lw=0.8, ls=":",
                              label=f"sin(π/√n)/(π/√n)·σ², n = {fam.T}")
                limit_drawn = True
    generation_axes(a_var, "σ̂²", "Kazdan et al.: fitted variance", log_y=True)
    generation_axes(a_mean, "‖μ̂ − μ‖²", "mean error (replace: heavy-tailed, sample means fall short of E)", log_y=True)
    return png_bytes(fig)


def fresh_sweep(outcomes) -> bytes:
    """Final-generation mean error against the real-data weight w, with the exact finite-G curve, the
    stationary (σ²/n)(w² + (1−w)²)/(w(2−w)) and the golden-ratio optimum."""
    fig, (ax,) = axes_grid(1, width=8.0)
    rows = []
    for o in outcomes:
        mean, se = mean_se(o.metrics["mean_err"][-1:])
        rows.append((o.cfg.real_weight, mean[0], se[0]))
    rows.sort()
    w, mean, se = (np.array(c) for c in zip(*rows, strict=True))
    fam, cfg = outcomes[0].family, outcomes[0].cfg
    tr = float(np.trace(fam.truth()[1]))
    grid = np.linspace(0.05, 1.0, 200)
    ax.errorbar(w, mean, yerr=2 * se, fmt="o", ms=4, capsize=3,
                label=f"simulation, generation {cfg.generations} (mean ± 2 SE)")
    ax.plot(grid, [tg.fresh_mean_err(fam.T, fam.synth_size, x, cfg.generations, tr)[-1] for x in grid], "-",
            label=f"theory at generation {cfg.generations} (recursion)")
    ax.plot(grid, tg.fresh_stationary_mse(grid, fam.T, tr), "--", label="stationary (σ²/n)(w²+(1−w)²)/(w(2−w))")
    w_star = tg.fresh_optimal_weight()
    ax.axvline(w_star, color="k", ls=":", lw=1, label=f"w* = (√5 − 1)/2 = {w_star:.3f}")
    ax.set_xlabel("weight w of the fresh real sample")
    ax.set_ylabel("‖μ̂ − μ‖²")
    ax.set_yscale("log")
    ax.set_title(f"Fresh data (Alemohammad et al. setting): n = {fam.T} per generation, σ known", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return png_bytes(fig)

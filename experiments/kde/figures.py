"""Figures of the KDE presets: each takes [Member] and returns PNG bytes (theory lines from theory/kde.py and
theory/gaussian.py)."""

import dataclasses

import jax
import numpy as np

from collapse.engine import Loop
from experiments.plotting import axes_grid, generation_axes, png_bytes
from theory import gaussian as tg
from theory.check import mean_se

SNAPSHOTS = (1, 5, 20)


def bandwidth_modes(members) -> bytes:
    """tr Cov(p̂_n) (mean ± 2 SE) per bandwidth rule, one panel per mode, with the exact theory lines."""
    panels = list(dict.fromkeys(m.panel for m in members))
    fig, axes = axes_grid(len(panels), width=6.5)
    for ax, panel in zip(axes, panels, strict=True):
        truth = None
        for m in (m for m in members if m.panel == panel):
            mean, se = mean_se(m.metrics["trace"])
            n = np.arange(1, len(mean) + 1)
            bar = ax.errorbar(n, mean, yerr=2 * se, fmt="o", ms=3, capsize=2, label=f"{m.label} (mean ± 2 SE)")
            for c in m.curves:
                if c.metric == "trace":
                    ax.plot(n, c.values, "-", color=bar[0].get_color(), lw=1, label=f"theory: {c.name}")
            truth = m.family.truth_trace()
        ax.axhline(truth, color="k", ls=":", lw=0.8, label="tr Σ of the truth")
        generation_axes(ax, "tr Cov(p̂_n)", f"KDE refitted on its own samples: {panel}", log_y=True)
    return png_bytes(fig)


def _kde_points(member, generations, rng, size=600):
    """Points of replicate 0's KDE at generation ``generations`` (the loop re-run with the member's seed: every
    draw is keyed by (seed, replicate, generation), so this is the same trajectory the member simulated)."""
    cfg = dataclasses.replace(member.cfg, generations=generations, replicates=1)
    params = Loop(member.family, cfg).run().carry[0]
    w = np.asarray(params.weights[0])
    centres, chol = np.asarray(params.centres[0]), np.asarray(params.chol[0])
    idx = rng.choice(len(w), size=size, p=w / w.sum())
    return centres[idx] + rng.standard_normal((size, centres.shape[1])) @ chol.T


def moons_snapshots(members) -> bytes:
    """Two moons: samples of generations 1, 5, 20 (rows: modes) and the sliced W₂² to the truth."""
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    rows = len(members)
    fig, axes = plt.subplots(rows, len(SNAPSHOTS) + 1, figsize=(4.0 * (len(SNAPSHOTS) + 1), 3.8 * rows), dpi=110,
                             squeeze=False)
    truth = np.asarray(members[0].family.sample_truth(jax.random.key(0), 600, members[0].family._gmm_means()))
    for r, m in enumerate(members):
        for c, g in enumerate(SNAPSHOTS):
            ax = axes[r, c]
            ax.scatter(truth[:, 0], truth[:, 1], s=2, color="0.8", label="truth")
            pts = _kde_points(m, g, rng)
            ax.scatter(pts[:, 0], pts[:, 1], s=3, color=f"C{r}", label=f"generation {g}")
            ax.set_xlim(-2.0, 3.0)
            ax.set_ylim(-1.5, 2.0)
            ax.set_aspect("equal")
            outside = np.mean((pts[:, 0] < -2) | (pts[:, 0] > 3) | (pts[:, 1] < -1.5) | (pts[:, 1] > 2))
            ax.set_title(f"{m.label}: generation {g}" + (f" ({outside:.0%} of points outside the frame)"
                                                       if outside > 0.01 else ""), fontsize=9)
            ax.legend(fontsize=6, loc="lower left")
        ax = axes[r, -1]
        metric, title = (("sw", "sliced W₂² to the truth (mean ± 2 SE)") if r == 0 else
                         ("trace", "tr Cov(p̂_n): simulation and exact theory"))
        for i, mm in enumerate(members):
            mean, se = mean_se(mm.metrics[metric])
            n = np.arange(1, len(mean) + 1)
            ax.errorbar(n, mean, yerr=2 * se, fmt="o", ms=2, capsize=2, color=f"C{i}", label=mm.label)
            for c in (c for c in mm.curves if c.metric == metric):
                ax.plot(n, c.values, "-", lw=1, color=f"C{i}", label=f"theory: {c.name}")
        generation_axes(ax, metric, title, log_y=True)
    return png_bytes(fig)


def fresh_k_sweep(members) -> bytes:
    """Stationary mean error against the real weight w for several k = T/M, with the exact finite-G recursion,
    the stationary curve and w*(k) = (√(k² + 4k) − k)/2 marked."""
    panels = list(dict.fromkeys(m.panel for m in members))
    fig, (ax,) = axes_grid(1, width=8.0)
    grid = np.linspace(0.05, 1.0, 200)
    for i, panel in enumerate(panels):
        group = [m for m in members if m.panel == panel]
        fam, cfg = group[0].family, group[0].cfg
        k = fam.T / fam.synth_size
        G = cfg.generations
        late = slice(G // 2, G)  # average the second half: stationary, per replicate
        rows = []
        for m in group:
            per = m.metrics["mean_err"][late].mean(0) * fam.T
            rows.append((m.cfg.real_weight, per.mean(), per.std(ddof=1) / np.sqrt(per.size)))
        rows.sort()
        w, mean, se = (np.array(c) for c in zip(*rows, strict=True))
        color = f"C{i}"
        ax.errorbar(w, mean, yerr=2 * se, fmt="o", ms=4, capsize=3, color=color,
                    label=f"k = T/M = {k:g} (T={fam.T}, M={fam.synth_size}): simulation, mean ± 2 SE")
        ax.plot(grid, [tg.fresh_mean_err(fam.T, fam.synth_size, x, G)[late].mean() * fam.T for x in grid], "-",
                color=color, lw=1, label="exact recursion (same generations)")
        ax.plot(grid, tg.fresh_stationary_mse_k(grid, k, 1), "--", color=color, lw=0.8,
                label="stationary (w² + k(1−w)²)/(w(2−w))")
        w_star = float(tg.fresh_optimal_weight_k(k))
        ax.axvline(w_star, color=color, ls=":", lw=1)
        ax.plot([w_star], [w_star], "*", ms=12, color=color, label=f"w*(k) = {w_star:.3f} = its minimum")
    ax.set_xlabel("weight w of the fresh real sample")
    ax.set_ylabel("T·‖μ̂ − μ‖²/σ² (generations averaged over the second half)")
    ax.set_yscale("log")
    ax.set_title("Fresh data at real/synthetic ratio k (He, Xu, Cheng 2026): optimum w*(k) = (√(k²+4k) − k)/2",
                 fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6)
    return png_bytes(fig)

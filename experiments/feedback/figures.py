"""Figures of the feedback study: mean ± 2 SE per generation with the theory lines (dashed)."""

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from theory.curation import mixed_fixed_point, tilt_fixed_point  # noqa: E402
from theory.curves import TheoryUnavailable  # noqa: E402
from theory.feedback import categorical_curation_theory, curation_theory, window_curves  # noqa: E402


def _band(ax, values, label, color):
    g = np.arange(1, values.shape[0] + 1)
    mean, se = values.mean(1), values.std(1, ddof=1) / np.sqrt(values.shape[1])
    ax.plot(g, mean, "o-", ms=3, color=color, label=label)
    ax.fill_between(g, mean - 2 * se, mean + 2 * se, color=color, alpha=0.2)


def _png(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=130, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


_STYLE = {"window exact-map mean field": "--", "linearized window theory": ":", "window bound (fresh design)": "-"}


def _window_lines(ax, fam, cfg, sel, color):
    """The theory curves of one run: dashed = exact-map mean field, dotted = linearized, thin solid = bound."""
    try:
        curves = window_curves(fam, cfg, sel)
    except TheoryUnavailable:
        return
    for curve in curves:
        ax.plot(np.arange(1, cfg.generations + 1), curve.values, _STYLE.get(curve.name, "--"), color=color,
                lw=0.8 if curve.kind == "upper-bound" else 1)


def window_figure(runs):
    """runs: [(label, family, cfg, selector, metrics)] of feedback-window-linear / feedback-window-bound."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, (label, fam, cfg, sel, m) in enumerate(runs):
        color = f"C{i}"
        _band(ax, m["E_test"], label, color)
        _window_lines(ax, fam, cfg, sel, color)
    ax.set_xlabel("generation n")
    ax.set_ylabel("test error ‖ŵ − w*‖²")
    ax.set_yscale("log")
    design = runs[0][1].design
    ax.set_title(f"Window verifier, {design} design (dashed: exact-map mean field; dotted: linearized; "
                 "thin: bound)", fontsize=9)
    ax.legend(fontsize=8)
    return _png(fig)


def window_bound_table(runs):
    """Markdown: simulated E_test ± SE against the upper bound and the mean field, at generation 2 and the last."""
    lines = ["| run | generation | simulated E_test ± SE | bound | bound / sim | mean field (z) |",
             "|---|---|---|---|---|---|"]
    for label, fam, cfg, sel, m in runs:
        e = m["E_test"]
        mean, se = e.mean(1), e.std(1, ddof=1) / np.sqrt(e.shape[1])
        try:
            curves = {c.name: c.values for c in window_curves(fam, cfg, sel)}
        except TheoryUnavailable:
            continue
        bound, field = curves.get("window bound (fresh design)"), curves.get("window exact-map mean field")
        for g in sorted({1, cfg.generations - 1}):
            b = "—" if bound is None else f"{bound[g]:.4f} | {bound[g] / mean[g]:.3f}"
            f = "—" if field is None else f"{field[g]:.4f} ({(mean[g] - field[g]) / se[g]:+.1f})"
            lines.append(f"| {label} | {g + 1} | {mean[g]:.4f} ± {se[g]:.4f} | {b} | {f} |")
    return "\n".join(lines) + "\n"


def curation_figure(runs):
    """runs: [(label, family, cfg, selector, metrics)] of feedback-curation-gaussian."""
    fig, (ax_r, ax_d) = plt.subplots(1, 2, figsize=(11, 4.2))
    for i, (label, fam, cfg, sel, m) in enumerate(runs):
        color = f"C{i}"
        _band(ax_r, m["reward_generated"], label, color)
        _band(ax_d, m["trace"], label, color)
        try:
            for curve in curation_theory(fam, cfg, sel) if sel.kind == "tilt" else []:
                ax = ax_d if curve.metric == "trace" else ax_r
                ax.plot(np.arange(1, cfg.generations + 1), curve.values, "--", color=color, lw=1)
        except TheoryUnavailable:
            pass
    ax_r.set_ylabel("mean reward of generated samples  −½γ‖x − a‖²")
    ax_d.set_ylabel("diversity: tr Σ̂")
    ax_d.set_yscale("log")
    for ax in (ax_r, ax_d):
        ax.set_xlabel("generation n")
    ax_r.legend(fontsize=7)
    fig.suptitle("Curation of a Gaussian by a quadratic reward (dashed: K → ∞ closed form)")
    return _png(fig)


def categorical_curation_figure(runs):
    """runs: [(label, family, cfg, selector, metrics)] of feedback-curation-categorical; dashed: the mean-field law
    of the expected reward (approximate at finite M, docs/feedback.md §2)."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    panels = (("reward_mean", "expected reward E_p̂ r"), ("entropy", "entropy H(p̂) (nats)"),
              ("support", "support #{v: p̂_v > 0}"))
    for i, (label, fam, cfg, sel, m) in enumerate(runs):
        color = f"C{i}"
        for ax, (metric, _) in zip(axes, panels, strict=True):
            _band(ax, m[metric], label, color)
        try:
            curves = categorical_curation_theory(fam, cfg, sel)
        except TheoryUnavailable:
            curves = []
        for curve in curves:
            if curve.metric == "reward_mean":
                axes[0].plot(np.arange(1, cfg.generations + 1), curve.values, "--", color=color, lw=1)
        if cfg.mode == "fresh" and sel.kind in ("curate", "tilt") and curves:  # the exact real-data fixed point
            r, p = sel.gamma * fam.reward_vector(), np.asarray(fam.truth_probs(), float)
            fixed = tilt_fixed_point(p, r, cfg.real_weight) if sel.kind == "tilt" else \
                mixed_fixed_point(p, r, sel.k, cfg.real_weight)[0]
            axes[0].axhline(fixed @ fam.reward_vector(), color=color, ls=":", lw=1)
    for ax, (_, ylabel) in zip(axes, panels, strict=True):
        ax.set_xlabel("generation n")
        ax.set_ylabel(ylabel)
    axes[0].legend(fontsize=7)
    fig.suptitle("Curation of a categorical model by a reward over symbols (dashed: mean-field law; dotted: the exact "
                 "fixed point with real data)")
    return _png(fig)

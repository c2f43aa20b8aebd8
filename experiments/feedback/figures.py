"""Figures of the feedback study: mean ± 2 SE per generation with the theory lines (dashed)."""

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from collapse.stats import mean_se  # noqa: E402
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


_BOUND, _FIELD = "window bound (fresh design)", "window exact-map mean field"


def _curves(run):
    """{name: values} of the theory curves of one run ({} where none applies)."""
    _, fam, cfg, sel, _ = run
    try:
        return {c.name: c.values for c in window_curves(fam, cfg, sel)}
    except TheoryUnavailable:
        return {}


def window_figure(runs):
    """runs: [(label, family, cfg, selector, metrics)] of feedback-window-linear / feedback-window-bound. With an
    upper bound among the curves, a second panel shows its tightness: bound ÷ simulated mean (± 2 SE) and the
    mean field ÷ simulated mean."""
    curves = [_curves(run) for run in runs]
    with_bound = any(_BOUND in c for c in curves)
    fig, axes = plt.subplots(1, 2 if with_bound else 1, figsize=(12 if with_bound else 7, 4.5), squeeze=False)
    ax = axes[0, 0]
    for i, ((label, _, cfg, _, m), theory) in enumerate(zip(runs, curves, strict=True)):
        color = f"C{i}"
        _band(ax, m["E_test"], label, color)
        g = np.arange(1, cfg.generations + 1)
        for name, values in theory.items():
            ax.plot(g, values, _STYLE.get(name, "--"), color=color, lw=0.8 if name == _BOUND else 1)
        if with_bound and _BOUND in theory:
            mean, se = mean_se(m["E_test"], axis=1)
            ratio = theory[_BOUND] / mean
            axes[0, 1].errorbar(g, ratio, yerr=2 * ratio * se / mean, fmt="o-", ms=3, color=color, label=label)
            axes[0, 1].plot(g, theory[_FIELD] / mean, "--", color=color, lw=1)
    ax.set_xlabel("generation n")
    ax.set_ylabel("test error ‖ŵ − w*‖²")
    ax.set_yscale("log")
    ax.set_title(f"window verifier, {runs[0][1].design} design\ndashed: exact-map mean field, dotted: linearized"
                 + (", thin: bound" if with_bound else ""), fontsize=9)
    ax.legend(fontsize=8)
    if with_bound:
        tight = axes[0, 1]
        tight.axhline(1.0, color="k", lw=0.6)
        tight.set_xlabel("generation n")
        tight.set_ylabel("theory ÷ simulated mean")
        tight.set_title("bound ÷ simulation (± 2 SE; ≥ 1 where it holds)\ndashed: mean field ÷ simulation",
                        fontsize=9)
        tight.legend(fontsize=8)
    return _png(fig)


def window_bound_table(runs):
    """Markdown: simulated E_test ± SE against the upper bound and the mean field, at generation 2 and the last,
    and the verdict of the bound over every generation (holds unless the simulation is ≥ 4 SE above it)."""
    lines = ["| run | generation | simulated E_test ± SE | bound (z) | bound / sim | mean field (z) |",
             "|---|---|---|---|---|---|"]
    verdicts = []
    for run in runs:
        label, _, cfg, _, m = run
        mean, se = mean_se(m["E_test"], axis=1)
        theory = _curves(run)
        bound, field = theory.get(_BOUND), theory.get(_FIELD)
        for g in sorted({1, cfg.generations - 1}):
            b = "— | —" if bound is None else \
                f"{bound[g]:.4f} ({(mean[g] - bound[g]) / se[g]:+.1f}) | {bound[g] / mean[g]:.3f}"
            f = "—" if field is None else f"{field[g]:.4f} ({(mean[g] - field[g]) / se[g]:+.1f})"
            lines.append(f"| {label} | {g + 1} | {mean[g]:.4f} ± {se[g]:.4f} | {b} | {f} |")
        if bound is not None:
            z = (mean - bound) / se
            verdicts.append(f"- {label}: the bound {'holds' if np.all(z < 4) else 'FAILS'} at every generation "
                            f"(largest z = {z.max():+.1f}); mean field within 4 SE: "
                            f"{'yes' if np.all(np.abs(mean - field) < 4 * se) else 'NO'}")
    return "\n".join(lines + [""] + verdicts) + "\n"


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

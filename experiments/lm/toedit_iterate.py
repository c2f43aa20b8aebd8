"""Iterated ToEdit on text vs the replace loop (presets toedit-iterate-cpu / -gpu): figure and table hooks.

Each edit member runs the engine's edit mode with the "tokens" schedule: generation 1 trains on human windows;
generation n edits generation n − 1's training windows with model n − 1 as the prior and trains a fresh model on
the result (edit → train → edit with the new model …). The replace member trains generation n on model n − 1's
samples. The question from the linear audit (docs/toedit.md): Eq. 6 stays bounded for *disjoint* masks and grows
without bound for *overlapping* i.i.d. masks — which does text editing produce? ``eligible_overlap`` at n is the
share of generation n's eligible tokens that were eligible at n − 1 (i.i.d. masks: the previous eligible fraction;
disjoint: 0); ``changed_overlap`` the share of changed tokens that had been changed before (i.i.d.: the previous
``edited_ever``; disjoint: 0). η_n = eligible_n / eligible_{n−1} is the decay ratio the theory assumes.
"""

import numpy as np

from experiments.plotting import png_bytes
from theory.check import mean_se


def _m(o, name):
    return o.metrics[name] if name in o.metrics else None


def table(outcomes) -> str:
    lines = ["| member | gen | held-out PPL ± SE | eligible | changed | η = elig_n/elig_(n−1) | eligible overlap "
             "(i.i.d. baseline) | changed overlap (i.i.d. baseline) | ever changed |",
             "|---|---|---|---|---|---|---|---|---|"]
    for o in outcomes:
        label = o.label
        ppl, se = mean_se(o.metrics["heldout_ppl"])
        elig = _m(o, "eligible_fraction")
        for g in range(len(ppl)):
            row = f"| {label} | {g + 1} | {ppl[g]:.3f} ± {se[g]:.3f} |"
            if elig is None or g == 0:
                row += " — | — | — | — | — | — |"
            else:
                e = elig.mean(axis=1)
                c = o.metrics["edit_fraction"].mean(axis=1)
                ever = o.metrics["edited_ever"].mean(axis=1)
                eta = f"{e[g] / e[g - 1]:.3f}" if g >= 2 and e[g - 1] > 0 else "—"
                eo = f"{o.metrics['eligible_overlap'].mean(axis=1)[g]:.3f} ({e[g - 1]:.3f})" if g >= 2 else "—"
                co = f"{o.metrics['changed_overlap'].mean(axis=1)[g]:.3f} ({ever[g - 1]:.4f})" if g >= 2 else "—"
                row += f" {e[g]:.2%} | {c[g]:.3%} | {eta} | {eo} | {co} | {ever[g]:.3%} |"
            lines.append(row)
    return "\n".join(lines) + "\n"


def figure(outcomes) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(17, 4.6))
    for i, o in enumerate(outcomes):
        label = o.label
        color = f"C{i}"
        ppl, se = mean_se(o.metrics["heldout_ppl"])
        g = np.arange(1, len(ppl) + 1)
        ax[0].errorbar(g, ppl, yerr=2 * se, marker="o", capsize=3, color=color, label=label)
        if _m(o, "eligible_fraction") is None:
            continue
        e, c = o.metrics["eligible_fraction"].mean(axis=1), o.metrics["edit_fraction"].mean(axis=1)
        ax[1].plot(g[1:], e[1:], "o-", color=color, label=f"{label}: eligible")
        ax[1].plot(g[1:], np.maximum(c[1:], 1e-6), "s--", color=color, label=f"{label}: changed")
        if len(g) > 2:
            ov = o.metrics["eligible_overlap"].mean(axis=1)
            ax[2].plot(g[2:], ov[2:], "o-", color=color, label=f"{label}: eligible overlap")
            ax[2].plot(g[2:], e[1:-1], "o:", color=color, alpha=0.6, label=f"{label}: eligible i.i.d. baseline")
            ax[2].plot(g[2:], o.metrics["changed_overlap"].mean(axis=1)[2:], "s--", color=color,
                       label=f"{label}: changed overlap")
            ax[2].plot(g[2:], o.metrics["edited_ever"].mean(axis=1)[1:-1], "s:", color=color, alpha=0.6,
                       label=f"{label}: its i.i.d. baseline")
    ax[0].set(xlabel="generation", ylabel="held-out human perplexity (per byte)", title="held-out PPL (± 2 SE)")
    ax[0].legend(fontsize=8)
    ax[1].set(xlabel="generation", ylabel="fraction of tokens", yscale="log",
              title="eligible and changed tokens per generation")
    ax[1].legend(fontsize=7)
    ax[2].set(xlabel="generation", ylabel="share of this generation's mask", ylim=(-0.02, 1.02),
              title="overlap with earlier masks (disjoint = 0)")
    ax[2].legend(fontsize=7)
    fig.tight_layout()
    return png_bytes(fig)

"""Figures of the verification presets (``Preset.figure`` hooks; Feng et al. 2025, docs/papers/feng2025.md). Each takes
[(label, Outcome)] of two-generation gmm-classify runs (generation 1 = generator, 2 = student) and returns PNG
bytes; theory lines come from theory/verification.py."""

import numpy as np

from experiments.plotting import axes_grid, png_bytes
from theory import verification as tv
from theory.check import mean_se


def _student(o, metric="accuracy"):
    mean, se = mean_se(o.metrics[metric][1])
    return float(mean), float(se)


def _limits(ax, mu_norm):
    bayes = tv.bayes_accuracy([mu_norm], [1.0])
    for y, text in ((bayes, "Bayes"), (0.5, "½"), (1 - bayes, "1 − Bayes")):
        ax.axhline(y, color="grey", lw=0.7, ls=":")
        ax.text(ax.get_xlim()[1], y, f" {text}", va="center", fontsize=7, color="grey")


def _rates(f):
    if f.verifier == "none":
        return 1.0, 1.0
    if f.verifier == "oracle":
        return 1.0, 0.0
    return f.keep_rates[0][0], f.keep_rates[1][0]


def _groups(outcomes, key):
    groups = {}
    for o in outcomes:
        label = o.label
        groups.setdefault(key(o.family), []).append((label, o))
    return groups


def accuracy_vs_n(outcomes) -> bytes:
    """Student accuracy against N per (p, ϕ, ψ), with the finite-N centroid theory and the N → ∞ limits."""
    fig, (ax,) = axes_grid(1, width=7.5)
    for (p, phi, psi), members in _groups(outcomes, lambda f: (f.p, *_rates(f))).items():
        f0 = members[0][1].family
        Ns = np.array([o.family.N for _, o in members])
        stats = np.array([_student(o) for _, o in members])
        r, q, p_star = tv.selection_rates(p, phi, psi)
        bar = ax.errorbar(Ns, stats[:, 0], yerr=2 * stats[:, 1], fmt="o", ms=4, capsize=3,
                          label=f"p={p:g}, ϕ={phi:g}, ψ={psi:g} (p⋆={p_star:.2f}, q={q:.2f})")
        grid = np.geomspace(Ns.min(), Ns.max() * 3, 60)
        ax.plot(grid, [tv.centroid_finite(f0.mu_norm, f0.d, n, r, q) for n in grid], "-", color=bar[0].get_color(),
                lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("N synthesized samples (before selection)")
    ax.set_ylabel("student accuracy (exact, mean ± 2 SE)")
    f0 = outcomes[0].family
    ax.set_title(f"Centroid student, Σ = I, d={f0.d}, ‖μ‖={f0.mu_norm:g}: lines = finite-N theory "
                 "(derived); dotted = N → ∞ limits", fontsize=9)
    _limits(ax, f0.mu_norm)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center right")
    return png_bytes(fig)


def accuracy_vs_p(outcomes) -> bytes:
    """Student accuracy against the generator's error p per verifier (ϕ, ψ), with the p⋆ lines."""
    fig, (ax,) = axes_grid(1, width=7.5)
    for (phi, psi), members in _groups(outcomes, _rates).items():
        f0 = members[0][1].family
        ps = np.array([o.family.p for _, o in members])
        stats = np.array([_student(o) for _, o in members])
        _, _, p_star = tv.selection_rates(0.0, phi, psi)
        bar = ax.errorbar(ps, stats[:, 0], yerr=2 * stats[:, 1], fmt="o", ms=4, capsize=3,
                          label=f"ϕ={phi:g}, ψ={psi:g}: p⋆ = {p_star:.2f}")
        c = bar[0].get_color()
        grid = np.linspace(0, 1, 101)
        theory = [tv.centroid_finite(f0.mu_norm, f0.d, f0.N, *tv.selection_rates(p, phi, psi)[:2]) for p in grid]
        ax.plot(grid, theory, "-", color=c, lw=1)
        ax.axvline(p_star, color=c, ls="--", lw=0.8)
    ax.plot([0, 1], [1, 0], color="k", lw=0.6, alpha=0.5, label="generator accuracy 1 − p")
    ax.set_xlabel("generator error p (label noise)")
    ax.set_ylabel("student accuracy (exact, mean ± 2 SE)")
    f0 = outcomes[0].family
    ax.set_title(f"Transition at p⋆ = ϕ/(ϕ+ψ): centroid student, N={f0.N}, d={f0.d}, ‖μ‖={f0.mu_norm:g}; "
                 "lines = finite-N theory, dashed = p⋆", fontsize=9)
    _limits(ax, f0.mu_norm)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    return png_bytes(fig)


def proxy(outcomes) -> bytes:
    """The proxy claim: student accuracy against the *measured* p⋆ of linear verifiers (one point per verifier
    angle), per generator; and the same against the measured q."""
    fig, (a_star, a_q) = axes_grid(2, width=7.0)
    for gen, members in _groups(outcomes, lambda f: (f.generator, f.p, f.generator_angle)).items():
        name = f"label noise p={gen[1]:g}" if gen[0] == "label-noise" else f"linear generator at {gen[2]:g}°"
        stats = np.array([_student(o) for _, o in members])
        p_star = np.array([_student(o, "p_star")[0] for _, o in members])
        q = np.array([_student(o, "q")[0] for _, o in members])
        p_gen = np.array([_student(o, "p")[0] for _, o in members])
        bar = a_star.errorbar(p_star - p_gen, stats[:, 0], yerr=2 * stats[:, 1], fmt="o", ms=4, capsize=3,
                              label=name)
        a_q.errorbar(q, stats[:, 0], yerr=2 * stats[:, 1], fmt="o", ms=4, capsize=3, color=bar[0].get_color(),
                     label=name)
        for (_, o), x, y in zip(members, p_star - p_gen, stats[:, 0], strict=True):
            a_star.annotate(f"{o.family.verifier_angle:g}°", (x, y), fontsize=6, xytext=(3, 3),
                            textcoords="offset points")
        f0 = members[0][1].family
        r = np.array([_student(o, "r")[0] for _, o in members])
        blind = [tv.centroid_finite(f0.mu_norm, f0.d, f0.N, rr, qq) for rr, qq in zip(r, q, strict=True)]
        a_q.plot(q, blind, "x", color=bar[0].get_color(), ms=6,
                 label=f"{name}: an x-blind verifier with the same (r, q) (theory)")
    a_star.axvline(0, color="k", lw=0.6, ls="--")
    a_star.set_xlabel("measured p⋆ − p (verifier linear at the annotated angle from Σ⁻¹μ)")
    a_star.set_ylabel("student accuracy (mean ± 2 SE)")
    a_star.set_title("Proxy claim: p⋆ > p predicts a good student", fontsize=9)
    a_q.set_xlabel("measured error after selection q")
    a_q.set_title("Accuracy against q", fontsize=9)
    f0 = outcomes[0].family
    for ax, where in ((a_star, "lower right"), (a_q, "lower left")):
        _limits(ax, f0.mu_norm)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, loc=where)
    return png_bytes(fig)


def _old_path(f, G):
    """The one-path recursion the CLI used before issue 15 (for comparison only), or None."""
    if f.generator == "label-noise":
        phi, psi = _rates(f)
        r, q, _ = tv.selection_rates(f.p, phi, psi)
        path = tv.iterated_centroid(f.mu_norm, f.d, f.N, phi, psi, G - 1, (1 - 2 * q) * f.mu_norm, 0.0, r * f.N)
        return np.r_[np.nan, np.nan, path[1:]]
    if f.generator == "linear" and f.generator_angle is None:
        phi, psi = _rates(f)
        path = tv.iterated_centroid(f.mu_norm, f.d, f.N, phi, psi, G, f.mu_norm, 0.0, f.n_real)
        return np.r_[np.nan, path[1:]]
    return None


def iterated(outcomes) -> bytes:
    """The iterated loop (verify-iterated): per generator panel and verifier, the simulated mean ± 2 SE against
    the θ-chain's mean, the simulated median against the chain's median, and the chain's 10–90 % band; the old
    one-path recursion dotted for comparison."""
    panels = _groups(outcomes, lambda f: (f.generator, f.p, f.n_real if f.generator == "linear" else None))
    fig, axes = axes_grid(len(panels), width=5.6)
    for ax, ((gen, p, n_real), members) in zip(axes, panels.items(), strict=True):
        for label, o in members:
            acc = o.metrics["accuracy"]
            G = acc.shape[0]
            n = np.arange(1, G + 1)
            mean, se = mean_se(acc)
            bar = ax.errorbar(n, mean, yerr=2 * se, fmt="o", ms=4, capsize=3, label=f"{label}: mean ± 2 SE")
            c = bar[0].get_color()
            ax.plot(n, np.median(acc, axis=1), "x", color=c, ms=6)
            theory = tv.gmm_classify_theory(o.family, o.cfg)[0].values
            ax.plot(n, theory, "-", color=c, lw=1.2)
            q = tv.iterated_quantiles(o.family, G, [0.1, 0.5, 0.9])
            ax.plot(n, q[:, 1], "--", color=c, lw=0.9)
            ax.fill_between(n, q[:, 0], q[:, 2], color=c, alpha=0.12, lw=0)
            old = _old_path(o.family, G)
            if old is not None:
                ax.plot(n, old, ":", color=c, lw=1.0)
        f0 = members[0][1].family
        name = f"label noise p={p:g}" if gen == "label-noise" else f"linear generator, {n_real} real samples"
        ax.set_title(f"{name} (d={f0.d}, N={f0.N}, ‖μ‖={f0.mu_norm:g})", fontsize=9)
        ax.set_xlabel("generation (1 = generator)")
        ax.set_ylabel("accuracy")
        _limits(ax, f0.mu_norm)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, loc="lower right")
    fig.suptitle("Iterated loop. o ± 2 SE: simulated MEAN; solid: θ-chain mean (theory). ×: simulated MEDIAN; "
                 "dashed: chain median; band: chain 10–90 %; dotted: old one-path recursion", fontsize=8)
    return png_bytes(fig)

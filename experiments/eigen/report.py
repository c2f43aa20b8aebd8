"""Report of the eigenvalue collapse-and-rescue driver: a Markdown table and the paper's picture — student greedy
accuracy against the synthetic pool size N, one line per selection rule, the generator's accuracy as a horizontal
line (Feng et al. 2025, §2.2 figures).

Error bars: with several seeds, mean ± 2 SE over seeds; with one seed, ± 2 binomial SE of the test set
(sqrt(a(1 − a)/test_size)), which covers test-set noise only, not training-seed variation — the table says which.
"""

import numpy as np

from collapse.stats import mean_se
from collapse.tasks.eigen import TAUS
from experiments.eigen.loop import tau_key
from experiments.plotting import axes_grid, png_bytes

RULE_LABELS = {
    "top": "top beam, no verification",
    "oracle-prune": "oracle prune (keep if correct)",
    "oracle-best": "oracle best-of-k",
    "noisy": "noisy verifier (set ϕ, ψ)",
    "learned": "weak learned verifier",
    "real": "exact labels (reference)",
}


def _mean_se(values, test_size):
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan")
    a = float(v[0])  # one seed: the binomial SE over its test set
    return mean_se(v, axis=0, single_se=np.sqrt(max(a * (1 - a), 0.0) / test_size))


def summarize(config, results):
    """Aggregate per-seed results: (generator {τ: (mean, se)}, {(rule, N): {field: (mean, se)}})."""
    ts = config.test_size
    gen = {tau_key(t): _mean_se([r["generator"][tau_key(t)] for r in results], ts) for t in TAUS}
    cells = {}
    for rule in config.rules:
        for N in config.pool_sizes:
            rows = [next(x for x in r["rows"] if x["rule"] == rule and x["N"] == N) for r in results]
            cell = {tau_key(t): _mean_se([x["accuracy"][tau_key(t)] for x in rows], ts) for t in TAUS}
            for f in ("kept", "p", "r", "q", "phi", "psi", "p_star"):
                cell[f] = float(np.mean([x[f] for x in rows]))
            cells[(rule, N)] = cell
    return gen, cells


def eigen_report(config, results):
    """(Markdown, PNG bytes) for the driver."""
    gen, cells = summarize(config, results)
    main = tau_key(config.tau)
    seeds = len(results)
    err_note = (f"mean ± SE over {seeds} seeds" if seeds >= 2 else
                f"± binomial SE of the {config.test_size}-matrix test set (one seed: training-seed spread not shown)")
    lines = [
        f"### Eigenvalues of {config.n}×{config.n} symmetric matrices ({config.tokenizer}): collapse and rescue",
        "",
        f"Transformer width {config.width}, encoder {config.enc_depth} / decoder {config.dec_depth} layers; generator "
        f"trained on {config.n_real} real pairs for {config.steps} steps; students "
        f"{config.student_steps or config.steps} steps each; k = {config.k} beams; selection tolerance "
        f"τ = {config.tau:g}; noisy verifier (ϕ, ψ) = "
        f"({config.phi:g}, {config.psi:g}). Accuracy = greedy top-1 on {config.test_size} fresh real matrices, "
        f"{err_note}.",
        "",
        "Generator greedy accuracy: " + ", ".join(f"τ = {t}: {m:.3f} ± {s:.3f}" for t, (m, s) in gen.items()),
    ]
    ver = [r["verifier"] for r in results if r.get("verifier")]
    if ver:
        lines.append("Learned verifier's own greedy accuracy: " + ", ".join(
            f"τ = {tau_key(t)}: {np.mean([v[tau_key(t)] for v in ver]):.3f}" for t in TAUS))
    pool = results[0].get("pool_stats", {})
    if pool:
        lines.append("Pool (seed 0): " + ", ".join(f"{k} = {v:.3f}" for k, v in pool.items()))
    others = [tau_key(t) for t in TAUS if tau_key(t) != main]
    lines += ["", "| rule | N | kept | p | r | q | ϕ | ψ | p⋆ | student acc τ=" + main + " | vs generator | "
              + " | ".join(f"acc τ={t}" for t in others) + " |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + "---:|" * len(others)]
    for (rule, N), c in cells.items():
        m, s = c[main]
        lines.append(f"| {rule} | {N} | {c['kept']:.0f} | {c['p']:.3f} | {c['r']:.3f} | {c['q']:.3f} | "
                     f"{c['phi']:.2f} | {c['psi']:.2f} | {c['p_star']:.2f} | {m:.3f} ± {s:.3f} | "
                     f"{m - gen[main][0]:+.3f} | " + " | ".join(f"{c[t][0]:.3f}" for t in others) + " |")
    lines += ["", "p: error rate of the chosen labels before pruning; r: kept fraction; q: error among kept; "
              "ϕ, ψ: measured keep rates of correct / wrong labels; p⋆ = ϕ/(ϕ+ψ). \"Correct\" for selection means "
              f"within τ = {config.tau:g} of the exact eigenvalues."]
    return "\n".join(lines) + "\n", figure(config, gen, cells)


def figure(config, gen, cells) -> bytes:
    taus = [tau_key(config.tau)] + [tau_key(t) for t in TAUS if tau_key(t) != tau_key(config.tau)][:1]
    fig, axes = axes_grid(len(taus) + 1, width=5.2, height=4.2)
    N = np.array(config.pool_sizes)
    for ax, tau in zip(axes, taus, strict=False):
        for rule in config.rules:
            m = np.array([cells[(rule, n)][tau][0] for n in N])
            s = np.array([cells[(rule, n)][tau][1] for n in N])
            ax.errorbar(N, m, yerr=2 * s, fmt="o-", ms=4, capsize=3, label=RULE_LABELS[rule])
        gm, gs = gen[tau]
        ax.axhline(gm, color="k", lw=1.5, label="generator (trained on real data)")
        ax.axhspan(gm - 2 * gs, gm + 2 * gs, color="k", alpha=0.08)
        _n_axis(ax, N)
        ax.set_ylabel(f"student greedy accuracy (τ = {tau})")
        ax.set_title(f"accuracy at τ = {tau}", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=6.5, loc="best")
    ax = axes[-1]
    for rule in config.rules:
        ax.plot(N, [cells[(rule, n)]["q"] for n in N], "o-", ms=4, label=RULE_LABELS[rule])
    _n_axis(ax, N)
    ax.set_ylabel(f"q = error among kept labels (τ = {config.tau:g})")
    ax.set_title("label error after selection", fontsize=9)
    ax.grid(alpha=0.3)
    fig.suptitle(f"{config.n}×{config.n} symmetric eigenvalues: student vs generator (Feng et al. 2025 §2.2 setup)",
                 fontsize=10)
    return png_bytes(fig)


def _n_axis(ax, N):
    ax.set_xscale("log")
    ax.set_xticks(N, [f"{n:,}" for n in N])
    ax.minorticks_off()
    ax.set_xlabel("synthesized pool size N")

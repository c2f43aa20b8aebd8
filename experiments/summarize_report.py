"""Report of the summarization-under-verification driver: a Markdown table and the figure (student ROUGE-L vs N
per selector, the generator as a line), means ± SE over seeds (or over test documents for a single seed)."""

import io

import numpy as np

from collapse.tasks.summarize_loop import SummarizeExperiment


def _mean_se(values, within_se):
    """Mean over seeds ± SE over seeds; with one seed, the SE over test documents that seed measured."""
    v = np.asarray(values, float)
    if len(v) > 1:
        return float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v)))
    return float(v[0]), float(within_se[0])


def summarize_report(exp: SummarizeExperiment, results: list[dict]) -> tuple[str, bytes]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seeds = len(results)
    se_kind = "SE over seeds" if seeds > 1 else "SE over test documents (1 seed)"
    gen = _mean_se([r["generator"]["rougeL"]["mean"] for r in results],
                   [r["generator"]["rougeL"]["se"] for r in results])
    lines = [f"Summarization under verification: n_real = {exp.n_real}, k = {exp.k}, temperature = "
             f"{exp.temperature}, correct = ROUGE-L ≥ {exp.threshold}; {seeds} seed(s), mean ± {se_kind}.", "",
             f"Generator (greedy) ROUGE-L: {gen[0]:.3f} ± {gen[1]:.3f}"]
    if results[0].get("external"):
        ext = _mean_se([r["external"]["rougeL"]["mean"] for r in results],
                       [r["external"]["rougeL"]["se"] for r in results])
        lines.append(f"External scorer (greedy) ROUGE-L: {ext[0]:.3f} ± {ext[1]:.3f}")
    pool = {k: np.mean([r["pool_stats"][k] for r in results]) for k in results[0]["pool_stats"]}
    lines += [f"Candidates: first sample correct {pool['first_correct']:.3f}, any of k correct "
              f"{pool['any_correct']:.3f}", "",
              "| selector | N | chosen correct | measured p⋆ | student ROUGE-L | student ROUGE-2 | exact match | "
              "student − generator (ROUGE-L) |", "|---|---|---|---|---|---|---|---|"]
    table = {}
    for sel in exp.selectors:
        for N in exp.N:
            rows = [next(x for x in r["rows"] if x["selector"] == sel and x["N"] == N) for r in results]
            stat = {m: _mean_se([x["student"][m]["mean"] for x in rows], [x["student"][m]["se"] for x in rows])
                    for m in ("rougeL", "rouge2", "exact")}
            table[sel, N] = stat["rougeL"]
            chosen = np.mean([x["chosen_correct"] for x in rows])
            pstar = np.mean([x["p_star"] for x in rows])
            diff = stat["rougeL"][0] - gen[0]
            lines.append(f"| {sel} | {N} | {chosen:.3f} | {pstar:.2f} | {stat['rougeL'][0]:.3f} ± "
                         f"{stat['rougeL'][1]:.3f} | {stat['rouge2'][0]:.3f} ± {stat['rouge2'][1]:.3f} | "
                         f"{stat['exact'][0]:.3f} ± {stat['exact'][1]:.3f} | {diff:+.3f} |")
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for sel in exp.selectors:
        m = np.array([table[sel, N][0] for N in exp.N])
        s = np.array([table[sel, N][1] for N in exp.N])
        ax.errorbar(exp.N, m, yerr=2 * s, marker="o", capsize=3, label=f"student, {sel}")
    ax.axhline(gen[0], color="k", ls="--", lw=1.2, label="generator")
    ax.axhspan(gen[0] - 2 * gen[1], gen[0] + 2 * gen[1], color="k", alpha=0.08)
    ax.set_xscale("log")
    ax.set_xlabel("N (synthesized training pairs of the student)")
    ax.set_ylabel("greedy ROUGE-L on real test documents")
    ax.set_title(f"Summarization: selection of k={exp.k} samples ({seeds} seed(s), ±2 SE)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    return "\n".join(lines) + "\n", buf.getvalue()

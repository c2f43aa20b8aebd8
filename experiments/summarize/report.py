"""Report of the summarization-under-verification driver: a Markdown table and the figure (student ROUGE-L vs N
per selector, the generator as a line), means ± SE over seeds (or over test documents for a single seed)."""

import io

import numpy as np

from collapse.stats import mean_se
from experiments.summarize.loop import SummarizeExperiment


def _mean_se(values, within_se):
    """Mean over seeds ± SE over seeds; with one seed, the SE over test documents that seed measured."""
    return mean_se(values, axis=0, single_se=within_se[0])


def _slots(results, pick) -> str:
    key, other = (np.mean([pick(r)[m]["mean"] for r in results]) for m in ("key_slots", "distractor_slots"))
    return f"fact slots from the key fact {key:.2f}, from a distractor {other:.2f}"


def paired_differences(results: list[dict], a: str, b: str, N: int) -> dict:
    """Student ROUGE-L of selector ``a`` minus that of ``b`` (``b`` may be "generator") at pool size N, paired
    within each seed (same real data, test set and training seed): mean, SE over seeds, a two-sided 95%
    Student-t interval (seeds − 1 degrees of freedom; None with one seed) and how many seeds had a > b."""
    from scipy import stats

    def score(r, sel):
        if sel == "generator":
            return r["generator"]["rougeL"]["mean"]
        return next(x for x in r["rows"] if x["selector"] == sel and x["N"] == N)["student"]["rougeL"]["mean"]

    d = np.array([score(r, a) - score(r, b) for r in results])
    out = {"a": a, "b": b, "N": N, "mean": float(d.mean()), "seeds": len(d), "a_higher": int((d > 0).sum())}
    if len(d) > 1:
        se = float(d.std(ddof=1) / np.sqrt(len(d)))
        half = float(stats.t.ppf(0.975, len(d) - 1)) * se
        out.update(se=se, ci=(out["mean"] - half, out["mean"] + half))
    else:
        out.update(se=None, ci=None)
    return out


def verdict(diff: dict) -> str:
    if diff["ci"] is None:
        return "one seed: no interval"
    lo, hi = diff["ci"]
    return "a > b" if lo > 0 else "a < b" if hi < 0 else "not distinguishable"


def comparisons(exp: SummarizeExperiment) -> list[tuple[str, str]]:
    """The paper's questions (docs/papers/feng2025.md) as (a, b) pairs, for the selectors this run has. ``none`` and
    ``random`` both keep one i.i.d. sample, so none − random is a null comparison: it shows the noise floor."""
    sel = set(exp.selectors)
    pairs = [(s, "generator") for s in exp.selectors]
    pairs += [(s, "random") for s in ("oracle", "self", "external") if s in sel and "random" in sel]
    pairs += [("self", "external")] if {"self", "external"} <= sel else []
    pairs += [("none", "random")] if {"none", "random"} <= sel else []
    return pairs


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
             f"Generator (greedy) ROUGE-L: {gen[0]:.3f} ± {gen[1]:.3f}; {_slots(results, lambda r: r['generator'])}"]
    if results[0].get("external"):
        ext = _mean_se([r["external"]["rougeL"]["mean"] for r in results],
                       [r["external"]["rougeL"]["se"] for r in results])
        lines.append(f"External scorer (greedy) ROUGE-L: {ext[0]:.3f} ± {ext[1]:.3f}; "
                     f"{_slots(results, lambda r: r['external'])}")
    pool = {k: np.mean([r["pool_stats"][k] for r in results]) for k in results[0]["pool_stats"]}
    lines += [f"Candidates: first sample correct {pool['first_correct']:.3f}, any of k correct "
              f"{pool['any_correct']:.3f}", "",
              "| selector | N | chosen correct | measured p⋆ | student ROUGE-L | student ROUGE-2 | exact match | "
              "fact slots: key / distractor | student − generator (ROUGE-L) |", "|---|---|---|---|---|---|---|---|---|"]
    table = {}
    for sel in exp.selectors:
        for N in exp.pool_sizes:
            rows = [next(x for x in r["rows"] if x["selector"] == sel and x["N"] == N) for r in results]
            stat = {m: _mean_se([x["student"][m]["mean"] for x in rows], [x["student"][m]["se"] for x in rows])
                    for m in ("rougeL", "rouge2", "exact")}
            table[sel, N] = stat["rougeL"]
            chosen = np.mean([x["chosen_correct"] for x in rows])
            pstar = np.mean([x["p_star"] for x in rows])
            diff = stat["rougeL"][0] - gen[0]
            key, other = (np.mean([x["student"][m]["mean"] for x in rows]) for m in ("key_slots", "distractor_slots"))
            lines.append(f"| {sel} | {N} | {chosen:.3f} | {pstar:.2f} | {stat['rougeL'][0]:.3f} ± "
                         f"{stat['rougeL'][1]:.3f} | {stat['rouge2'][0]:.3f} ± {stat['rouge2'][1]:.3f} | "
                         f"{stat['exact'][0]:.3f} ± {stat['exact'][1]:.3f} | {key:.2f} / {other:.2f} | {diff:+.3f} |")
    lines += ["", "Paired differences of student ROUGE-L (a − b within a seed; 95% t-interval over seeds; "
              "none − random is a null comparison: both keep one i.i.d. sample):", "",
              "| a − b | N | difference | 95% interval | seeds with a > b | verdict |", "|---|---|---|---|---|---|"]
    for a, b in comparisons(exp):
        for N in exp.pool_sizes:
            d = paired_differences(results, a, b, N)
            ci = "—" if d["ci"] is None else f"[{d['ci'][0]:+.3f}, {d['ci'][1]:+.3f}]"
            se = "" if d["se"] is None else f" ± {d['se']:.3f}"
            lines.append(f"| {a} − {b} | {N} | {d['mean']:+.3f}{se} | {ci} | {d['a_higher']}/{d['seeds']} | "
                         f"{verdict(d)} |")
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for sel in exp.selectors:
        m = np.array([table[sel, N][0] for N in exp.pool_sizes])
        s = np.array([table[sel, N][1] for N in exp.pool_sizes])
        ax.errorbar(exp.pool_sizes, m, yerr=2 * s, marker="o", capsize=3, label=f"student, {sel}")
    ax.axhline(gen[0], color="k", ls="--", lw=1.2, label="generator")
    ax.axhspan(gen[0] - 2 * gen[1], gen[0] + 2 * gen[1], color="k", alpha=0.08)
    ax.set_xscale("log")
    ax.set_xticks(exp.pool_sizes, [f"{n:,}" for n in exp.pool_sizes])
    ax.minorticks_off()
    ax.set_xlabel("N (synthesized training pairs of the student)")
    ax.set_ylabel("greedy ROUGE-L on real test documents")
    ax.set_title(f"Summarization: selection of k={exp.k} samples ({seeds} seed(s), ±2 SE)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    return "\n".join(lines) + "\n", buf.getvalue()

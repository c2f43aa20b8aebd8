"""The summarization report: paired per-seed differences and their t-intervals."""

import numpy as np
from scipy import stats

from experiments.summarize.loop import SummarizeExperiment
from experiments.summarize.report import comparisons, paired_differences, summarize_report, verdict


def _metric(v):
    return {"mean": v, "se": 0.01}


def _result(gen, students):
    metrics = lambda v: {m: _metric(v) for m in ("rouge1", "rouge2", "rougeL", "exact", "key_slots",  # noqa: E731
                                                  "distractor_slots")}
    rows = [{"selector": sel, "N": N, "chosen_correct": 0.5, "p_star": 0.6, "student": metrics(v)}
            for (sel, N), v in students.items()]
    return {"generator": metrics(gen), "external": metrics(gen), "rows": rows,
            "pool_stats": {"first_correct": 0.3, "any_correct": 0.5}}


EXP = SummarizeExperiment(pool_sizes=(10,), selectors=("self", "random"))
RESULTS = [_result(0.70, {("self", 10): 0.71, ("random", 10): 0.70}),
           _result(0.60, {("self", 10): 0.62, ("random", 10): 0.61}),
           _result(0.65, {("self", 10): 0.68, ("random", 10): 0.64})]


def test_differences_are_paired_within_seeds_with_a_t_interval():
    d = paired_differences(RESULTS, "self", "generator", 10)
    diffs = np.array([0.01, 0.02, 0.03])
    se = diffs.std(ddof=1) / np.sqrt(3)
    np.testing.assert_allclose([d["mean"], d["se"]], [0.02, se])
    np.testing.assert_allclose(d["ci"], 0.02 + np.array([-1, 1]) * stats.t.ppf(0.975, 2) * se)
    assert d["a_higher"] == 3
    # higher in every seed, yet three seeds cannot exclude zero at this spread
    assert verdict(d) == "not distinguishable"
    clear = paired_differences(RESULTS, "self", "random", 10)  # +0.01, +0.01, +0.04
    assert clear["a_higher"] == 3 and verdict(clear) == "not distinguishable"
    assert verdict({"ci": (0.001, 0.02)}) == "a > b" and verdict({"ci": (-0.02, -0.001)}) == "a < b"
    assert verdict(paired_differences(RESULTS[:1], "self", "random", 10)) == "one seed: no interval"


def test_comparisons_cover_the_papers_questions_for_the_selectors_run():
    assert comparisons(EXP) == [("self", "generator"), ("random", "generator"), ("self", "random")]
    full = comparisons(SummarizeExperiment())
    assert ("external", "random") in full and ("none", "random") in full and ("self", "generator") in full


def test_report_has_the_findings_table_and_a_figure():
    markdown, png = summarize_report(EXP, RESULTS)
    assert "| self − random | 10 | +0.020" in markdown and png.startswith(b"\x89PNG")


def test_one_tiny_run_is_consistent_and_reproducible():
    """End to end at toy size: the oracle keeps a correct candidate whenever one exists (its chosen-correct
    share is the pool's any-correct share), ``none`` keeps the first, and a seed gives the same numbers twice."""
    from experiments.summarize.loop import run

    exp = SummarizeExperiment(human_sentences=0, n_entities=4, width=16, heads=2, enc_depth=1, n_real=32,
                              pool_sizes=(16, 48), k=3, threshold=0.5, external_width=16, external_enc_depth=1,
                              steps=30, batch=8, test_size=8, decode_batch=16)
    result = run(exp, seed=3)
    rows = {(r["selector"], r["N"]): r for r in result.rows}
    assert len(rows) == len(exp.selectors) * len(exp.pool_sizes)
    assert rows["oracle", 48]["chosen_correct"] == result.pool_stats["any_correct"]
    assert rows["none", 48]["chosen_correct"] == result.pool_stats["first_correct"]
    assert all(0 <= r["student"]["rougeL"]["mean"] <= 1 for r in result.rows)
    again = run(exp, seed=3)
    assert again.rows == result.rows and again.generator == result.generator

"""The transformer LM family in the engine: every mode runs, metrics are finite, runs are reproducible."""

import numpy as np
import pytest

from collapse.config import LoopConfig
from collapse.engine import Loop
from collapse.families.transformer import TransformerLM

TINY = dict(context=16, width=16, depth=1, heads=2, T=8, steps=4, batch=4, warmup=1, holdout=8, diag_samples=4)


def _run(mode, seed=0, generations=2, **loop):
    cfg = LoopConfig(mode=mode, generations=generations, replicates=2, seed=seed, **loop)
    return Loop(TransformerLM(**TINY), cfg).run().metrics


def test_first_generation_in_the_engine_reports_finite_metrics():
    # one generation compiles one program (fit + score, which samples); the loop's step program is tested slow
    m = _run("replace", generations=1)
    assert m["heldout_ppl"].shape == (1, 2) and np.all(np.isfinite(m["heldout_ppl"]))
    assert np.all(m["heldout_ppl"] > 1) and np.all(m["train_size"] == 8)
    hist = np.stack([m[f"tokprob_bin{i}"] for i in range(10)])
    np.testing.assert_allclose(hist.sum(axis=0), 1.0, rtol=1e-5)
    assert not np.allclose(m["heldout_ppl"][:, 0], m["heldout_ppl"][:, 1])  # replicates differ


@pytest.mark.slow
@pytest.mark.parametrize("mode,loop", [("replace", {}), ("accumulate", {}), ("accumulate-subsample", {}),
                                       ("mix", {"mix_ratio": 0.5}), ("fresh", {"real_weight": 0.5})])
def test_every_mode_runs_and_is_reproducible(mode, loop):
    a, b = _run(mode, **loop), _run(mode, **loop)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert np.all(np.isfinite(a["heldout_ppl"]))
    expected = {"replace": 8, "accumulate": 16, "accumulate-subsample": 8, "mix": 12, "fresh": 16}[mode]
    assert np.all(a["train_size"][1] == expected)

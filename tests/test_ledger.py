"""The claims ledger: the Claim record, the registry and its module hook, verdicts, and a --quick run end to end."""

import pkgutil
import sys
import types

import numpy as np
import pytest

from collapse.config import LoopConfig
from collapse.errors import ConfigError
from collapse.families.linear import LinearRegression
from experiments import ledger as runner
from theory import ledger
from theory.check import check
from theory.curves import TheoryCurve


def _curves(family, cfg):
    G = cfg.generations
    return [TheoryCurve("flat one", np.ones(G), "test"), TheoryCurve("flat two", np.full(G, 2.0), "test"),
            TheoryCurve("cap", np.full(G, 3.0), "test", kind="upper-bound")]


def _claim(**kw):
    args = dict(name="test/claim", theory=_curves, source="test", status="derived", family=LinearRegression(),
                loop=LoopConfig(generations=4, replicates=10), metric="E_test", select="one")
    return ledger.Claim(**(args | kw))


@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setattr(ledger, "_REGISTRY", dict(ledger._REGISTRY))
    return ledger._REGISTRY


def test_claim_rejects_bad_configuration_at_construction():
    for kw in ({"status": "proved"}, {"generations": (0,)}, {"generations": (5,)}, {"theory": 3},
               {"name": "a|b"}, {"loop": {"mode": "replace"}}, {"generations": (True,)}):
        with pytest.raises(ConfigError):
            _claim(**kw)
    assert _claim(generations=(np.int64(2),)).generations == (2,)  # numpy integers are integers


def test_pick_selects_one_curve_and_masks_other_generations():
    claim = _claim(generations=(2, 3))
    curve = claim.pick(_curves(claim.family, claim.loop))
    assert curve.name == "flat one" and curve.metric == "E_test"
    np.testing.assert_array_equal(np.isnan(curve.values), [True, False, False, True])
    with pytest.raises(ConfigError):
        _claim(select="flat").pick(_curves(None, claim.loop))  # two equality curves match
    bound = _claim(status="bound", select=None).pick(_curves(None, claim.loop))
    assert bound.kind == "upper-bound" and bound.name == "cap"


def test_register_refuses_a_second_claim_with_the_same_name(registry):
    ledger.register(_claim())
    ledger.register(_claim())  # the same claim again is harmless
    with pytest.raises(ConfigError):
        ledger.register(_claim(status="stated"))


def test_claims_collects_ledger_claims_from_theory_modules(registry, monkeypatch):
    module = types.ModuleType("theory.fake_claims")
    module.ledger_claims = lambda: [_claim(name="fake/claim")]
    monkeypatch.setitem(sys.modules, "theory.fake_claims", module)
    monkeypatch.setattr(ledger, "_DISCOVERED", set(ledger._DISCOVERED))
    monkeypatch.setattr(pkgutil, "iter_modules", lambda path: [pkgutil.ModuleInfo(None, "fake_claims", False)])
    names = [c.name for c in ledger.claims()]
    assert "fake/claim" in names and "linear/replace" in names


def test_verdicts_say_how_far_a_bound_is_violated():
    samples = np.array([[1.0, 1.2, 0.8, 1.0], [3.0, 3.2, 2.8, 3.0]])  # means 1 and 3, SE 0.08
    bound = TheoryCurve("cap", np.array([2.0, 2.0]), "test", kind="upper-bound")
    verdict, worst, dev = runner.judge(_claim(status="bound"), check(samples, bound))
    assert verdict.startswith("VIOLATED at 1/2 generations, by up to 1 (+50.0%) at generation 2")
    assert worst.endswith("(2)") and dev == "+50.0%"
    equal = TheoryCurve("eq", np.array([1.0, 3.0]), "test")
    assert runner.judge(_claim(), check(samples, equal))[0] == "agrees"
    off = TheoryCurve("eq", np.array([1.0, 2.0]), "test")
    assert runner.judge(_claim(), check(samples, off))[0].startswith("DISAGREES (within 4 SE at 1/2")
    assert runner.judge(_claim(status="approximate"), check(samples, off))[0].startswith("approximate:")


def test_quick_ledger_writes_a_row_for_every_claim(tmp_path):
    out = tmp_path / "ledger.md"
    assert runner.main(["--quick", "--out", str(out)]) == 0
    rows = {r["claim"]: r for r in runner.parse_table(out.read_text(encoding="utf-8"))}
    every = ledger.claims()
    assert set(rows) == {c.name for c in every}
    for claim in every:
        row = rows[claim.name]
        assert row["status"] == claim.status
        if claim.quick:  # fixed seeds; the closed forms are exact in expectation, so a 4-SE check passes
            assert row["verdict"] == ("holds" if claim.status == "bound" else "agrees"), row
            assert f"replicates={runner.QUICK_REPLICATES}" in row["configuration"]
        else:
            assert row["verdict"] == runner.NOT_RUN

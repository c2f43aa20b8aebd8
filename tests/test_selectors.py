"""Selectors as engine plug-ins (collapse/selectors.py): what each selector picks on crafted blocks, the
selection statistics' identities, bad input, support checks, composition with every data policy, and
gmm-classify's selection through the same mechanism (bit for bit against the pre-refactor reference)."""


import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from collapse import ConfigError, LoopConfig
from collapse.engine import run_loop
from collapse.families.gaussian import Gaussian
from collapse.families.gmm_classify import GMMClassify
from collapse.families.linear import LinearRegression
from collapse.selectors import (
    Choose,
    Keep,
    SelectionView,
    SelectorConfig,
    check_support,
    make_selector,
    reward,
    select_block,
    selection_metrics,
)

M = 64


# -- crafted blocks --------------------------------------------------------------------------------
def test_filters_keep_exactly_what_they_must():
    error = jnp.array([0.0, 0.5, 1.0, 1.5, 2.0])
    deviation = jnp.array([2.0, 0.1, 0.3, 0.31, 0.0])
    accept = jnp.array([True, False, True, False, False])
    view = SelectionView(error=error, deviation=deviation, accept=accept, group=jnp.array([0, 0, 1, 1, 1]))
    u = jnp.array([0.05, 0.5, 0.95, 0.25, 0.7])
    keep = lambda cfg: np.asarray(make_selector(cfg).keep(u, view))  # noqa: E731
    assert keep(SelectorConfig("none")).all()
    np.testing.assert_array_equal(keep(SelectorConfig("oracle", tau=1.0)), error <= 1.0)
    np.testing.assert_array_equal(keep(SelectorConfig("window", h=0.3)), [False, True, True, False, True])
    np.testing.assert_array_equal(keep(SelectorConfig("model")), accept)
    np.testing.assert_array_equal(keep(SelectorConfig("random", phi=0.6)), u < 0.6)
    # (ϕ, ψ) = (1, 0) is the oracle; per class: a correct label of class 0 at ϕ₊, a wrong one of class 1 at ψ₋
    np.testing.assert_array_equal(keep(SelectorConfig("phi-psi", tau=1.0, phi=1.0, psi=0.0)), error <= 1.0)
    cls = SelectorConfig("phi-psi", tau=1.0, phi_class=(0.1, 1.0), psi_class=(1.0, 0.3))
    np.testing.assert_array_equal(keep(cls), [u[0] < 0.1, u[1] < 0.1, u[2] < 1.0, u[3] < 0.3, u[4] < 0.3])


def test_best_of_k_takes_the_candidate_closest_to_the_verifier():
    dev = jnp.array([[0.3, 2.0, 0.0], [0.1, 1.0, 0.5], [0.2, 0.5, 0.5]])  # [k=3, m=3]
    pick = Choose("best-of-k", 3).choose(None, SelectionView(deviation=dev))
    np.testing.assert_array_equal(pick, [1, 2, 0])  # the smallest deviation of each row (column)
    score = jnp.array([[1.0, 0.0, 3.0], [2.0, 0.0, 3.0]])
    np.testing.assert_array_equal(Choose("best-of-k", 2).choose(None, SelectionView(score=score)), [1, 0, 0])  # ties: 0


def test_luce_choice_frequencies_match_softmax_within_4_se():
    """K-choice curation picks candidate j with probability e^{r_j}/Σ e^{r_i} (Bradley–Terry / Luce)."""
    K, m, gamma = 3, 20000, 2.0
    dev = jnp.broadcast_to(jnp.array([0.2, 0.7, 1.3])[:, None], (K, m))
    u = jax.random.uniform(jax.random.key(0), (m,))
    pick = np.asarray(Choose("curate", K, gamma).choose(u, SelectionView(deviation=dev)))
    prob = np.asarray(jax.nn.softmax(reward(dev[:, 0], gamma)))
    freq = np.bincount(pick, minlength=K) / m
    assert np.all(np.abs(freq - prob) < 4 * np.sqrt(prob * (1 - prob) / m))


def test_select_block_gathers_the_chosen_rows_of_every_leaf():
    def generate(key):  # two leaves; row i of candidate c is tagged so the gather can be checked
        z = jax.random.normal(key, (5,))
        return {"x": z, "tag": jnp.stack([z, -z], 1)}

    def view_of(block):
        return SelectionView(error=jnp.abs(block["x"]), deviation=jnp.abs(block["x"] - 1.0))

    cfg = SelectorConfig("best-of-k", k=4)
    block, keep, view, before = select_block(cfg, jax.random.key(1), generate, view_of, 5)
    cands = jax.vmap(generate)(jax.random.split(jax.random.split(jax.random.key(1), 3)[0], 4))
    best = np.argmin(np.abs(np.asarray(cands["x"]) - 1.0), axis=0)
    np.testing.assert_array_equal(block["x"], np.asarray(cands["x"])[best, np.arange(5)])
    np.testing.assert_array_equal(block["tag"][:, 1], -block["x"])
    assert np.all(keep == 1) and np.allclose(view.deviation, np.abs(block["x"] - 1.0))
    assert np.isclose(before, np.mean(reward(np.abs(np.asarray(cands["x"]) - 1.0), 1.0)))


@given(st.integers(0, 2**31 - 1), st.floats(0.05, 3.0), st.floats(0.05, 3.0))
def test_selection_statistics_identities(seed, tau, h):
    """Measured r = (1−p)ϕ + pψ, q = pψ/r, q < ½ ⇔ p < p⋆, and the kept reward is the mean over kept rows."""
    rng = np.random.default_rng(seed)
    view = SelectionView(error=jnp.asarray(np.abs(rng.normal(size=M))), deviation=jnp.asarray(rng.exponential(size=M)))
    cfg = SelectorConfig("window", tau=tau, h=h)
    keep = make_selector(cfg).keep(jnp.zeros(M), view).astype(float)
    s = {k: float(v) for k, v in selection_metrics(cfg, view, keep).items()}
    assert np.isclose(s["sel_r"], (1 - s["sel_p"]) * s["sel_phi"] + s["sel_p"] * s["sel_psi"])
    kept = np.asarray(keep) > 0
    r = -0.5 * np.asarray(view.deviation) ** 2
    if kept.any():
        assert np.isclose(s["sel_q"], s["sel_p"] * s["sel_psi"] / s["sel_r"])
        assert np.isclose(s["reward_kept"], r[kept].mean())
        assert (s["sel_q"] < 0.5) == (s["sel_p"] < s["sel_p_star"] - 1e-12) or np.isclose(s["sel_q"], 0.5)
    else:  # nothing kept: defined values, no NaN
        assert s["sel_q"] == 0.5 and np.isclose(s["reward_kept"], r.mean())
    assert all(np.isfinite(v) for v in s.values())


# -- bad input, support ----------------------------------------------------------------------------
@pytest.mark.parametrize("kw, name", [
    ({"kind": "magic"}, "selector"), ({"kind": "window", "h": 0.0}, "h"), ({"kind": "window", "h": -1.0}, "h"),
    ({"kind": "curate", "k": 0}, "k"), ({"kind": "best-of-k", "k": True}, "k"), ({"kind": "oracle", "k": 3}, "k"),
    ({"kind": "curate", "gamma": 0.0}, "gamma"), ({"kind": "oracle", "tau": -1.0}, "tau"),
    ({"kind": "window", "h": float("nan")}, "h"), ({"kind": "phi-psi", "phi": 1.5}, "phi"),
    ({"kind": "phi-psi", "psi_class": (0.5,)}, "psi_class"), ({"kind": "window", "offset": float("inf")}, "offset"),
])
def test_bad_selector_input_names_the_parameter(kw, name):
    with pytest.raises(ConfigError) as err:
        SelectorConfig(**kw)
    assert err.value.param == name


@pytest.mark.parametrize("family, kind", [
    (LinearRegression(), "model"), (LinearRegression(), "tilt"), (Gaussian(), "model"),
    (LinearRegression(), "phi-psi-class"),
])
def test_a_selector_a_family_cannot_support_is_refused(family, kind):
    cfg = (SelectorConfig("phi-psi", phi_class=(1.0, 0.5)) if kind == "phi-psi-class" else SelectorConfig(kind))
    with pytest.raises(ConfigError) as err:
        check_support(cfg, family)
    assert err.value.param == "selector" and family.name in str(err.value)


def test_gmm_classify_takes_engine_selectors_as_its_verifier_and_refuses_the_rest():
    fam = GMMClassify(d=3)
    same = fam.with_selector(SelectorConfig("phi-psi", phi=1.0, psi=0.4))
    assert same.keep_rates == GMMClassify(d=3, verifier="phi-psi", phi=1.0, psi=0.4).keep_rates
    assert same.selector_config.kind == "phi-psi"
    assert fam.with_selector(SelectorConfig("model")).verifier == "linear"
    assert fam.with_selector(SelectorConfig("best-of-k", k=3)).k == 3
    for cfg, name in ((SelectorConfig("window"), "selector"), (SelectorConfig("curate", k=2), "selector"),
                      (SelectorConfig("oracle", tau=1.0), "tau"), (SelectorConfig("model", offset=1.0), "offset")):
        with pytest.raises(ConfigError) as err:
            fam.with_selector(cfg)
        assert err.value.param == name
    with pytest.raises(ConfigError) as err:
        GMMClassify(d=3, verifier="oracle").with_selector(SelectorConfig("oracle"))
    assert err.value.param == "verifier"


# -- the engine --------------------------------------------------------------------------------------
_LIN = LinearRegression(d=3, T=24, sigma=1.0)
_GAU = Gaussian(d=2, T=30)
_POLICIES = [("replace", {}), ("accumulate", {}), ("accumulate-subsample", {"budget": 30}), ("mix", {}),
             ("fresh", {"real_weight": 0.3}), ("edit", {"edit_fraction": 0.25})]


def _check_run(family, sel, mode, loop):
    m = run_loop(family, LoopConfig(mode=mode, generations=4, replicates=6, seed=1, **loop), selector=sel)
    assert all(np.all(np.isfinite(v)) for v in m.values())
    assert np.all(m["sel_r"][0] == 1) and np.all((m["sel_r"] >= 0) & (m["sel_r"] <= 1))
    assert np.allclose(m["sel_r"], (1 - m["sel_p"]) * m["sel_phi"] + m["sel_p"] * m["sel_psi"])
    return m


def test_window_verifier_in_replace_mode_trains_on_exactly_the_kept_rows():
    m = _check_run(_LIN, SelectorConfig("window", h=0.8, offset=0.5), "replace", {})
    assert np.allclose(m["train_size"][1:], m["sel_r"][1:] * _LIN.synth_size)
    assert np.all(m["reward_kept"][1:] >= -0.5 * 0.8**2) and np.all(m["fit_skipped"] == 0)


@pytest.mark.slow
def test_curation_in_mix_mode_raises_the_reward_of_the_data():
    m = _check_run(_GAU, SelectorConfig("curate", k=4, offset=1.0), "mix", {})
    assert m["reward_kept"][1:].mean() > m["reward_generated"][1:].mean()


def test_keeping_nothing_keeps_the_previous_model_and_is_recorded():
    m = run_loop(_GAU, LoopConfig(generations=3, replicates=4), selector=SelectorConfig("window", h=1e-9))
    assert np.all(m["fit_skipped"][1:] == 1) and np.all(m["sel_r"][1:] == 0)
    # the same parameters, scored again (XLA may round the score's sum differently inside the scan)
    assert np.allclose(m["mean_err"][1:], m["mean_err"][0], rtol=1e-12, atol=0) and np.all(m["sel_q"][1:] == 0.5)
    assert all(np.all(np.isfinite(v)) for v in m.values())


@pytest.mark.slow
@pytest.mark.parametrize("mode, loop", _POLICIES)
@pytest.mark.parametrize("family, sel", [
    (_LIN, SelectorConfig("window", h=0.8, offset=0.5)), (_LIN, SelectorConfig("oracle")),
    (_LIN, SelectorConfig("best-of-k", k=3, offset=0.5)),
    (_GAU, SelectorConfig("window", h=2.0, offset=0.5)), (_GAU, SelectorConfig("curate", k=3, offset=1.0)),
    (_GAU, SelectorConfig("tilt", gamma=0.5, offset=1.0)),
])
def test_every_selector_composes_with_every_policy(family, sel, mode, loop):
    _check_run(family, sel, mode, loop)


def test_keep_and_choose_have_the_protocol():
    for cfg in (SelectorConfig(k) for k in ("none", "oracle", "phi-psi", "window", "model")):
        assert isinstance(make_selector(cfg), Keep) and make_selector(cfg).candidates == 1
    assert make_selector(SelectorConfig("curate", k=5)).candidates == 5

"""theory/verification.py against simulation of collapse/families/gmm_classify.py (docs/papers/feng2025.md).

One compiled program per (student, N): the drawn rates (‖μ‖, p, ϕ, ψ) and the effective dimension enter as
arrays (unused coordinates get zero variance and zero mean), so hypothesis varies values at fixed shapes.
Every statistical check is |simulation − theory| < 4 SE with SE from the replicates.
"""

import functools
import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from collapse.families.base import Segment
from collapse.families.gmm_classify import ClassifyParams, GMMClassify
from collapse.testing import agrees
from theory import verification as tv

D = 20  # the compiled dimension; the effective dimension d_eff <= D
R = 400


@functools.cache
def simulator(student: str, N: int, verifier: str = "phi-psi", replicates: int = R, k: int = 1):
    """jit(vmap) of: label-noise generator → selection → student, per replicate. Returns metrics, ŵ, K, a.
    The keep rates are static fields of the family (its selector), so each (ϕ, ψ) compiles its own program."""

    @functools.cache
    def compiled(phi: float, psi: float):
        rates = {"phi": phi, "psi": psi} if verifier in ("phi-psi", "random") else {}
        fam = GMMClassify(d=D, N=N, verifier=verifier, student=student, chunk=4096, k=k, **rates)

        def one(key, d_eff, mu_norm, flip, mu_dir, scale):
            k_s, k_g = jax.random.split(key)
            world = fam.setup(k_s, N)
            on = (jnp.arange(D) < d_eff).astype(float)
            if mu_dir is None:  # isotropic: μ along e₁ (any direction is equivalent)
                mu = mu_norm * jnp.zeros(D).at[0].set(1.0)
                scale = on
            else:
                mu = mu_dir
            unit = mu / jnp.linalg.norm(mu)
            world = world._replace(mu=mu, scale=scale, bayes_dir=unit, w_verifier=unit)
            gen = ClassifyParams(jnp.zeros(D), jnp.zeros(()), jnp.ones(()), flip, jnp.zeros(4))
            block = fam.generate(k_g, world, gen, N)
            params = fam.fit(world, (Segment(block, jnp.ones(1), real=False, uniform=True),))
            out = dict(fam.score(None, world, params))
            c = params.counts
            K = c[2] + c[3]
            out.update(w=params.w, K=K, a=jnp.where(K > 0, (c[2] - c[3]) / jnp.maximum(K, 1), 0.0))
            return out

        return jax.jit(jax.vmap(one, in_axes=(0,) + (None,) * 5))

    def run(seed, d_eff=D, mu_norm=1.0, p=0.0, phi=1.0, psi=1.0, mu=None, scale=None):
        keys = jax.random.split(jax.random.key(seed), replicates)
        mu = None if mu is None else jnp.asarray(mu, float)
        scale = jnp.ones(D) if scale is None else jnp.asarray(scale, float)
        out = compiled(float(phi), float(psi))(keys, d_eff, mu_norm, jnp.full(2, p, float), mu, scale)
        return {k: np.asarray(v) for k, v in out.items()}

    return run


def within(samples, theory, z=4.0):
    # collapse.testing.agrees has a 1e-12 float64 rounding floor: where the exact formula and the simulation agree to
    # the last bits (d = 1 makes the accuracy a step), the SE is itself rounding noise (~1e-19).
    ok, info = agrees(samples, theory, z)
    return ok, (info["mean"], info["theory"], info["se"])


rates = dict(p=st.floats(0, 1), phi=st.floats(0, 1), psi=st.floats(0, 1))
# No shrinking: each example is a compiled simulation, and a failure's drawn values are printed anyway.
FAST = dict(phases=(Phase.explicit, Phase.reuse, Phase.generate))


@settings(**FAST, max_examples=8)
@given(d_eff=st.integers(1, D), mu_norm=st.floats(0.2, 2.0), N=st.sampled_from([300, 3000]), **rates)
def test_finite_n_centroid_formula_matches_simulation(d_eff, mu_norm, N, p, phi, psi):
    """Σ = I, centroid: (i) the exact conditional formula E[acc | K, a] averaged over the simulated (K, a)
    (Rao–Blackwell: paired differences); (ii) centroid_finite, which also sums over K and a exactly (at every
    N); (iii) r and q."""
    sim = simulator("centroid", N)(1, d_eff, mu_norm, p, phi, psi)
    r, q, _ = tv.selection_rates(p, phi, psi)
    given_ka = tv.centroid_accuracy_given(mu_norm, d_eff, sim["K"], sim["a"])
    ok, info = within(sim["accuracy"] - given_ka, 0.0)
    assert ok, info
    # When R replicates almost surely keep nothing (R·P(K ≥ 1) < 10⁻⁶) every one is the zero rule (SE = 0) while the
    # exact mean still carries the unseen K ≥ 1 events: their weight is at most P(K ≥ 1)·½.
    seen = -math.expm1(N * math.log1p(-r)) if r < 1 else 1.0
    unseen = 0.5 * seen if R * seen < 1e-6 else 0.0
    theory = tv.centroid_finite(mu_norm, d_eff, N, r, q)
    ok, info = within(sim["accuracy"], theory)
    assert ok or abs(sim["accuracy"].mean() - theory) <= unseen, info
    ok, info = within(sim["r"], r)
    assert ok, info
    if r * N >= 50:  # E[W/K] = q exactly when K > 0, and P(K = 0) is negligible here
        # SE under the theory too (Var(W/K | K) = q(1 − q)/K): when wrong kept labels are rare (q ≈ 10⁻⁵) a run may
        # see none, and its sample SE is then 0
        null_se = math.sqrt(q * (1 - q) / (r * N) / sim["q"].size)
        se = sim["q"].std(ddof=1) / math.sqrt(sim["q"].size)
        assert abs(sim["q"].mean() - q) <= 4 * math.hypot(se, null_se) + 1e-12, (sim["q"].mean(), q, se, null_se)
    assert np.all(np.isfinite(sim["accuracy"]))


# Few kept samples (issue 15): d = 5, ‖μ‖ = 2, (ϕ, ψ) = (0.5, 0.2), where the normal approximation of the two
# binomial counts misses by ≈ 4–5·10⁻³ (10–17 SE of 10⁵ replicates) and the exact sums must not.
SMALL_N = [(12, 0.2), (25, 0.4), (30, 0.4)]


def _small_n_check(N, p, replicates):
    sim = simulator("centroid", N, replicates=replicates)(11, 5, 2.0, p, 0.5, 0.2)
    r, q, _ = tv.selection_rates(p, 0.5, 0.2)
    exact = within(sim["accuracy"], tv.centroid_finite(2.0, 5, N, r, q))
    normal = within(sim["accuracy"], tv.centroid_finite_normal(2.0, 5, N, r, q))
    return exact, normal


def test_centroid_finite_is_exact_when_few_samples_are_kept():
    """N = 12 (rN = 5.3) with 20,000 replicates: the exact binomial sums agree within 4 SE; the normal
    approximation (centroid_finite before issue 15) does not."""
    (ok, info), (ok_normal, info_normal) = _small_n_check(*SMALL_N[0], replicates=20_000)
    assert ok, info
    assert not ok_normal, info_normal  # the test has the power to see the old error


@pytest.mark.slow
@pytest.mark.parametrize("N,p", SMALL_N)
def test_centroid_finite_small_n_large_run(N, p):
    """10⁵ replicates at N = 12, 25, 30: SE ≈ 4·10⁻⁴, so a 0.5 % bias (≈ 4.6·10⁻³) would be > 10 SE."""
    (ok, info), (ok_normal, info_normal) = _small_n_check(N, p, replicates=100_000)
    assert ok, info
    assert not ok_normal, info_normal


EDGES = [(1, 2.0, 3, 0.05, 1.0, 1.0), (20, 0.5, 5, 0.9, 1.0, 0.3), (20, 2.0, 2, 0.0, 1.0, 1.0),
         (3, 1.0, 8, 0.5, 0.9, 0.1), (20, 1.0, 40, 0.97, 0.2, 1.0)]


@pytest.mark.slow
@pytest.mark.parametrize("d_eff,mu_norm,N,p,phi,psi", EDGES)
def test_centroid_finite_at_the_edges(d_eff, mu_norm, N, p, phi, psi):
    """Issue 15's bar for an exact function: the smallest N (2–8, where K = 0 has real mass), d = 1, extreme p
    (0.05, 0.9, 0.97) and strict verifiers, 10⁵ replicates; the test also asserts 4 SE < 0.5 % of the value."""
    sim = simulator("centroid", N, replicates=100_000)(13, d_eff, mu_norm, p, phi, psi)
    r, q, _ = tv.selection_rates(p, phi, psi)
    ok, info = within(sim["accuracy"], tv.centroid_finite(mu_norm, d_eff, N, r, q))
    assert ok, info
    assert 4 * info[2] < 0.005 * info[1], info  # 4 SE below a 0.5 % bias: the run could see one


def test_exact_sums_with_interpolation_equal_the_direct_sums(monkeypatch):
    """The Chebyshev interpolation that centroid_finite uses for long supports changes nothing beyond 10⁻⁹
    (sharpest case tried: d = 2, ‖μ‖ = 2, where the integrand turns fastest in a)."""
    cases = [(2.0, 2, 1200, 0.7, 0.3), (0.5, 5, 300, 0.9, 0.4), (1.0, 20, 800, 0.5, 0.45)]
    fast = [tv.centroid_finite(*c) for c in cases]
    monkeypatch.setattr(tv, "_DIRECT", 10**9)
    direct = [tv.centroid_finite(*c) for c in cases]
    np.testing.assert_allclose(fast, direct, atol=1e-9)


def test_normal_approximation_error_is_as_stated():
    """centroid_finite_normal against the exact sums on a grid (d ∈ {2, 20}, ‖μ‖ ∈ {0.3, 2}, r ∈ {0.1, 0.5, 1},
    q ∈ {0, 0.3}): its worst error is ≤ 0.004 once N ≥ 100 and ≤ 0.003 once rN ≥ 30 (docs/verification.md §3
    gives the full grid), and it is far off at N = 5 — which is why it is only an approximation."""
    worst_n100 = worst_rn30 = worst_small = 0.0
    for d, mu, N, r, q in itertools.product([2, 20], [0.3, 2.0], [5, 30, 100, 300], [0.1, 0.5, 1.0], [0.0, 0.3]):
        err = abs(tv.centroid_finite_normal(mu, d, N, r, q) - tv.centroid_finite(mu, d, N, r, q))
        worst_n100 = max(worst_n100, err) if N >= 100 else worst_n100
        worst_rn30 = max(worst_rn30, err) if r * N >= 30 else worst_rn30
        worst_small = max(worst_small, err) if N == 5 else worst_small
    assert worst_n100 < 0.004 and worst_rn30 < 0.003, (worst_n100, worst_rn30)
    assert worst_small > 0.1


@settings(**FAST, max_examples=4)
@given(mu_norm=st.floats(0.3, 1.5), **rates)
def test_centroid_mean_direction_is_one_minus_2q_times_mu(mu_norm, p, phi, psi):
    """E ŵ = c μ with c = 1 − 2q exactly (given K > 0), so the limit direction is sign(c)·μ and the N → ∞
    accuracy is Φ(sign(c)‖μ‖²/sqrt(μᵀΣμ)) — here with a non-isotropic Σ, where that is not Bayes."""
    scale = np.sqrt(np.linspace(0.2, 3.0, D))
    mu = mu_norm * np.ones(D) / math.sqrt(D)
    sim = simulator("centroid", 3000)(2, mu=mu, p=p, phi=phi, psi=psi, scale=scale)
    r, q, _ = tv.selection_rates(p, phi, psi)
    c = (1 - 2 * q) * (1 - (1 - r) ** 3000)  # ŵ = 0 when nothing is kept (probability (1 − r)^N)
    for j in (0, D // 2, D - 1):
        ok, info = within(sim["w"][:, j], c * mu[j])
        assert ok, (j, info)
    limit = tv.centroid_limit_accuracy(mu, scale**2, c)
    assert limit < tv.bayes_accuracy(mu, scale**2) or c <= 0
    if abs(c) > 0.2:  # the simulated accuracy lies on the limit's side of ½
        assert np.sign(sim["accuracy"].mean() - 0.5) == np.sign(limit - 0.5)


@settings(**FAST, max_examples=3)
@given(**rates)
def test_least_squares_converges_to_its_limit_direction(p, phi, psi):
    """ŵ → c/(1 + μᵀΣ⁻¹μ) Σ⁻¹μ (Feng et al. 2025), checked coordinatewise at N = 10,000 (bias O(d/N) is far
    below the SE of R = 400 replicates' mean, ≈ 1/sqrt(R·N·r))."""
    scale = np.sqrt(np.linspace(0.5, 2.0, D))
    mu = np.linspace(1.0, -0.5, D) / 3
    r, q, _ = tv.selection_rates(p, phi, psi)
    if r < 0.2:
        return  # too few kept samples for the limit at this N; the r = 0 case is tested separately
    sim = simulator("ls", 10_000)(3, mu=mu, p=p, phi=phi, psi=psi, scale=scale)
    w_inf, acc_inf = tv.ls_limit(mu, scale**2, 1 - 2 * q)
    for j in (0, D // 3, D - 1):
        ok, info = within(sim["w"][:, j], w_inf[j])
        assert ok, (j, info)
    if abs(1 - 2 * q) > 0.3:
        assert np.sign(sim["accuracy"].mean() - 0.5) == np.sign(acc_inf - 0.5)


@settings(**FAST, max_examples=5)
@given(p=st.floats(0, 1), c=st.floats(0.05, 1.0), mu_norm=st.floats(0.3, 1.5))
def test_random_verifier_never_beats_no_verification(p, c, mu_norm):
    """A random verifier keeps a fraction c whatever the label: q = p, so it only shrinks the data. Its student
    never moves further from ½ than the unverified one beyond 4 SE of the difference: for p < ½ it is not better,
    for p > ½ (both below ½) it is not worse — fewer data make a collapsed student *less* wrong, so "never beats"
    holds only on the p < p⋆ = ½ side."""
    none = simulator("centroid", 3000)(4, 10, mu_norm, p, 1.0, 1.0)
    rand = simulator("centroid", 3000)(5, 10, mu_norm, p, c, c)
    diff = rand["accuracy"].mean() - none["accuracy"].mean()
    se = math.hypot(rand["accuracy"].std(ddof=1), none["accuracy"].std(ddof=1)) / math.sqrt(R)
    side = np.sign(0.5 - p)
    assert side * diff < 4 * se, (diff, se)
    ok, info = within(rand["q"], p)
    assert ok, info


@settings(**FAST, max_examples=5)
@given(phi=st.floats(0.2, 1.0), psi=st.floats(0.2, 1.0), side=st.sampled_from([-1, 1]))
def test_accuracy_flips_sign_at_p_star(phi, psi, side):
    """p = p⋆ ∓ 0.2: the student lands on the Bayes side (accuracy > ½) below p⋆ and on the wrong side above
    it, significantly (4 SE), and E ŵᵀμ has the sign of p⋆ − p."""
    _, _, p_star = tv.selection_rates(0.0, phi, psi)
    p = p_star - side * 0.2
    if not 0 <= p <= 1:
        return
    sim = simulator("centroid", 3000)(6, 10, 1.0, p, phi, psi)
    acc = sim["accuracy"]
    se = acc.std(ddof=1) / math.sqrt(R)
    assert side * (acc.mean() - 0.5) > 4 * se, (acc.mean(), se)
    proj = sim["w"][:, 0]
    assert side * proj.mean() > 4 * proj.std(ddof=1) / math.sqrt(R)


@settings(**FAST, max_examples=4)
@given(angle=st.floats(0, 180), p=st.floats(0.05, 0.95))
def test_linear_verifier_rates_match_its_accuracy(angle, p):
    """On a label-noise generator, 'keep iff sign(w_vᵀx) = y'' has ϕ = acc_v, ψ = 1 − acc_v and p⋆ = acc_v."""
    sim_angle = _linear_verifier_sim(angle)(p)
    acc_v = float(math.erfc(-math.cos(math.radians(angle)) / math.sqrt(2)) / 2)
    phi, psi, p_star = tv.linear_verifier_rates(0.5, (p, p), (acc_v, acc_v))
    for key, value in (("phi", phi), ("psi", psi)):
        ok, info = within(sim_angle[key], value)
        assert ok, (key, info)


@settings(**FAST, max_examples=4)
@given(p=st.floats(0, 1), mu_norm=st.floats(0.3, 1.5))
def test_best_of_k_error(p, mu_norm):
    """Best-of-3 with the Bayes rule as scorer: q = p³ + (1 − p³ − (1−p)³)(1 − Φ(‖μ‖)) (all kept, r = 1)."""
    sim = simulator("centroid", 3000, verifier="best-of-k", k=3)(9, 10, mu_norm, p)
    acc_v = float(math.erfc(-mu_norm / math.sqrt(2)) / 2)
    ok, info = within(sim["q"], tv.best_of_k_error(p, 3, acc_v))
    assert ok, info
    assert np.all(sim["r"] == 1)


@functools.cache
def _linear_verifier_sim_compiled():
    fam = GMMClassify(d=D, N=3000, verifier="linear")

    def one(key, angle, flip):
        k_s, k_g, k_v = jax.random.split(key, 3)
        world = fam.setup(k_s, fam.N)
        mu = jnp.zeros(D).at[0].set(1.0)
        t = jnp.deg2rad(angle)
        w_v = jnp.cos(t) * mu + jnp.sin(t) * jnp.zeros(D).at[1].set(1.0)
        world = world._replace(mu=mu, scale=jnp.ones(D), bayes_dir=mu, w_verifier=w_v)
        gen = ClassifyParams(jnp.zeros(D), jnp.zeros(()), jnp.ones(()), flip, jnp.zeros(4))
        block = fam.generate(k_g, world, gen, fam.N)
        params = fam.fit(world, (Segment(block, jnp.ones(1), real=False, uniform=True),))
        return fam.score(None, world, params)

    return jax.jit(jax.vmap(one, in_axes=(0, None, None)))


def _linear_verifier_sim(angle):
    def run(p):
        keys = jax.random.split(jax.random.key(8), R)
        out = _linear_verifier_sim_compiled()(keys, angle, jnp.full(2, p))
        return {k: np.asarray(v) for k, v in out.items()}
    return run


def test_paper_finite_n_formula_approaches_the_exact_one():
    """Feng et al.'s Φ((1−2q)‖μ‖²/sqrt((1−2q)²‖μ‖² + d/(rN))) drops the noise along μ and the count
    fluctuations; its gap to centroid_finite shrinks as N grows (deterministic)."""
    gaps = [abs(tv.centroid_finite_paper(1.0, 50, N, 0.8, 0.2) - tv.centroid_finite(1.0, 50, N, 0.8, 0.2))
            for N in (100, 1000, 10_000, 100_000)]
    assert all(b < a for a, b in zip(gaps, gaps[1:], strict=False)), gaps
    assert gaps[-1] < 1e-4


def test_class_specific_condition():
    """Class-specific rates: the student's side of ½ follows c = Σπ_y[(1−p_y)ϕ_y − p_yψ_y]/r, not the
    average rates (here ϕ̄ = ψ̄ would put p⋆ at ½ and p̄ = 0.5 exactly on it)."""
    r, q, c = tv.class_rates(0.5, (0.2, 0.8), (1.0, 0.2), (0.2, 1.0))
    # class +1: (0.8·1 − 0.2·0.2) = 0.76; class −1: (0.2·0.2 − 0.8·1) = −0.76 -> c = 0
    assert abs(c) < 1e-12
    r, q, c = tv.class_rates(0.5, (0.2, 0.6), (1.0, 1.0), (0.2, 0.5))
    assert c > 0 and q < 0.5


def _iterated_run(G, R, seed=0, **kw):
    from collapse import LoopConfig, run_loop

    fam = GMMClassify(mu_norm=1.0, **kw)
    cfg = LoopConfig(generations=G, replicates=R, seed=seed)
    return fam, cfg, run_loop(fam, cfg)


def test_iterated_mean_in_the_transient():
    """Issue 15: p = 0.6, no verifier, d = 50, N = 500 — the students cross ½ in generations 3–4 and the
    replicates spread widely. The CLI's curve (the mean of the θ-chain) agrees within 4 SE with the mean of
    500 replicates; the old one-path recursion, which the CLI used before, misses it there by > 4 SE."""
    from theory.check import check

    fam, cfg, m = _iterated_run(4, 500, d=50, N=500, p=0.6)
    curve = tv.gmm_classify_theory(fam, cfg)[0]
    result = check(m["accuracy"], curve)
    assert result.agree, result.summary()
    r, q, _ = tv.selection_rates(0.6, 1.0, 1.0)
    path = tv.iterated_centroid(1.0, 50, 500, 1.0, 1.0, 3, (1 - 2 * q), 0.0, r * 500)
    old = check(m["accuracy"], curve.__class__("path", np.r_[curve.values[:2], path[1:]], "old"))
    assert not old.agree and np.abs(old.z[2:]).max() > 4, old.summary()


ITERATED = [dict(d=50, N=500, p=0.6), dict(d=50, N=500, p=0.6, verifier="phi-psi", phi=0.9, psi=0.4),
            dict(d=50, N=500, p=0.3), dict(d=50, N=500, p=0.3, verifier="phi-psi", phi=0.9, psi=0.4),
            dict(d=20, N=200, p=0.45), dict(d=50, N=500, generator="linear", n_real=100, verifier="oracle"),
            dict(d=5, N=60, p=0.35)]


@functools.cache
def _iterated_slow(key):
    return _iterated_run(8, 4000, seed=3, **dict(key))


@pytest.mark.slow
@pytest.mark.parametrize("kw", ITERATED)
def test_iterated_distribution_matches_simulation(kw):
    """The θ-chain's mean (check, 4 SE with the SE the theory implies) against 4000 replicates of 8 generations,
    including the settings where the old path failed (p = 0.6, d = 20 · N = 200) and a small d·N (d = 5, N = 60)."""
    from theory.check import check

    fam, cfg, m = _iterated_slow(tuple(sorted(kw.items())))
    curve = tv.gmm_classify_theory(fam, cfg)[0]
    # SE under the theory (sd of the chain's law / √R): it counts rare modes the run may not have sampled
    null_se = np.where(np.isnan(tv.iterated_sd(fam, 8)), 1e-12, tv.iterated_sd(fam, 8) / math.sqrt(4000))
    result = check(m["accuracy"], curve.__class__(curve.name, curve.values, curve.source, se=null_se))
    assert result.agree, result.summary()


# Quantiles where the law is concentrated near Bayes are off by ~5 SE of the binomial count (measured: p = 0.6 with
# (0.9, 0.4) at generation 4, z = −5.2; d = 5, N = 60 at generations 6–7, z = −4.6): a known limit of the
# 360-cell grid / CLT approximation (docs/theory-status.md), kept visible as strict xfails.
_QUANTILE_MISSES = {1: "median 5.2 SE of the count low at generation 4", 6: "median 4.6 SE low at generations 6–7"}


@pytest.mark.slow
@pytest.mark.parametrize("kw", [pytest.param(k, marks=pytest.mark.xfail(strict=True, reason=_QUANTILE_MISSES[i]))
                                if i in _QUANTILE_MISSES else k for i, k in enumerate(ITERATED)
                                if "generator" not in k])
def test_iterated_quantiles_match_simulation(kw):
    """The θ-chain's 10 %, 50 %, 90 % quantiles (check_quantile, order-statistic intervals at the 4-SE level)
    where the chain claims them (central 80 % over ≥ 20 θ cells), same runs as the mean test."""
    from theory.check import check_quantile

    fam, cfg, m = _iterated_slow(tuple(sorted(kw.items())))
    q = tv.iterated_quantiles(fam, 8, [0.1, 0.5, 0.9])
    for j, prob in enumerate((0.1, 0.5, 0.9)):
        qc = check_quantile(m["accuracy"], q[:, j], prob)
        assert qc.agree, qc.summary()


def test_quantile_check_has_the_stated_power_and_level():
    """check_quantile on known laws: the true median of U(0, 1) agrees (R = 10⁴), a median off by 0.03
    (≈ 6 SE of the count) does not; a right 10 % quantile of an exponential agrees."""
    from theory.check import check_quantile

    rng = np.random.default_rng(0)
    u = rng.random((3, 10_000))
    assert check_quantile(u, np.full(3, 0.5), 0.5).agree
    assert not check_quantile(u, np.full(3, 0.53), 0.5).agree
    e = rng.exponential(size=(2, 10_000))
    assert check_quantile(e, np.full(2, -math.log(0.9)), 0.1).agree

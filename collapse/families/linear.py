"""Linear regression in the self-consuming loop (docs/papers/: Dohmatob et al. 2024,
Gerstgrasser et al. 2024, Zhu et al. 2025).

Truth: y = xᵀw* + ε, x ~ N(0, Σ) with diagonal Σ (isotropic, or power law λᵢ ∝ i^(−α) scaled to
tr Σ = d), ε ~ N(0, σ²) for real labels and N(0, σ₀²) for synthetic labels. The estimator is
min-norm OLS (ridge = 0) or ridge ŵ = (XᵀX + λT I)⁻¹Xᵀy. Metric: E_test = ‖ŵ − w*‖²_Σ (no
irreducible noise).

Fixed design (``design="fixed"``): each replicate draws its real design X [T, d] once; synthetic labels
are produced at the same X when M = T (the setting of the published formulas), or at a second design
drawn once when M ≠ T. Fresh design: every block draws new inputs.
"""

from dataclasses import dataclass
from typing import ClassVar, Literal, NamedTuple, get_args

import jax
import jax.numpy as jnp

from collapse.errors import ConfigError, require
from collapse.families import linear_stats as stats
from collapse.families.base import ExactInLawSampler, RealSynthSizes, Segment
from collapse.linalg import LeastSquaresFactor, least_squares_factor, weighted_least_squares
from collapse.selectors import SelectionView
from collapse.spectra import COVARIANCES, Covariance, covariance_spectrum  # noqa: F401 (re-exported)
from collapse.validate import check_fields

Design = Literal["fixed", "fresh"]
DESIGNS = get_args(Design)
Sampler = Literal["auto", "stats", "samples"]
SAMPLERS = get_args(Sampler)


class LinearData(NamedTuple):
    """A block of regression data. x: [m, d] (None under a fixed design, where it lives in the world); y: [m]."""

    x: jax.Array | None
    y: jax.Array


class LinearWorld(NamedTuple):
    w_star: jax.Array  # [d]
    scale: jax.Array  # [d], sqrt of the eigenvalues of Σ
    x_real: jax.Array  # [T, d]
    y_real: jax.Array  # [T], the labels generation 1 trains on
    x_synth: jax.Array | None  # [M, d] under a fixed design, else None
    operator: LeastSquaresFactor | None  # when real and synthetic share one fixed design: ŵ = operator.solve(ȳ)


@dataclass(frozen=True)
class LinearRegression(ExactInLawSampler, RealSynthSizes):
    """Model family: linear regression with OLS or ridge (see module docstring for the model).

    d: dimension; T: real samples per block; M: synthetic samples per generation (default T);
    sigma / sigma0: real / synthetic label-noise std (sigma0 defaults to sigma); ridge: λ ≥ 0;
    covariance, alpha: Σ's spectrum; design: "fixed" or "fresh"; w_norm: ‖w*‖ (w* uniform on that
    sphere). sampler: "stats" draws each block's sufficient statistics exactly in law (Wishart XᵀX by
    Bartlett, Xᵀε = σLz; collapse/families/linear_stats.py), "samples" draws the samples themselves,
    "auto" (default) is resolved by :meth:`for_loop` — the engine calls it — to "stats" wherever that
    path applies (T ≥ d, synthetic blocks of ≥ d samples, modes replace / accumulate / mix / fresh).
    Called directly, without a loop, "auto" behaves as "samples".
    """

    main_metric: ClassVar[str] = "E_test"  # the metric figures and verdicts use

    d: int = 10
    T: int = 40
    M: int | None = None
    sigma: float = 1.0
    sigma0: float | None = None
    ridge: float = 0.0
    covariance: Covariance = "isotropic"
    alpha: float = 1.0
    design: Design = "fixed"
    w_norm: float = 1.0
    sampler: Sampler = "auto"
    name: str = "linear"
    # a learned verifier (appended; docs/feedback.md §7): 0 = the verifier is w* + offset·e (given)
    verifier_n: int = 0
    verifier_ridge: float = 0.0

    def __post_init__(self):
        check_fields(self)
        require(isinstance(self.d, int) and self.d >= 1, "d", self.d, "an integer >= 1")
        require(isinstance(self.T, int) and self.T >= 1, "T", self.T, "an integer >= 1")
        require(self.M is None or (isinstance(self.M, int) and self.M >= 1), "M", self.M, "an integer >= 1")
        require(self.sigma >= 0, "sigma", self.sigma, ">= 0")
        require(self.sigma0 is None or self.sigma0 >= 0, "sigma0", self.sigma0, ">= 0")
        require(self.ridge >= 0, "ridge", self.ridge, ">= 0 (0 = min-norm OLS)")
        require(self.covariance in COVARIANCES, "covariance", self.covariance, f"one of {COVARIANCES}")
        require(self.alpha >= 0, "alpha", self.alpha, ">= 0")
        require(self.design in DESIGNS, "design", self.design, f"one of {DESIGNS}")
        require(self.w_norm >= 0, "w_norm", self.w_norm, ">= 0")
        require(self.sampler in SAMPLERS, "sampler", self.sampler, f"one of {SAMPLERS}")
        require(isinstance(self.verifier_n, int) and not isinstance(self.verifier_n, bool) and self.verifier_n >= 0,
                "verifier_n", self.verifier_n, "an integer >= 0 (0 = a given verifier w* + offset·e)")
        require(self.verifier_ridge >= 0 and (self.verifier_n >= self.d or self.verifier_ridge > 0
                                              or self.verifier_n == 0),
                "verifier_ridge", self.verifier_ridge, ">= 0, and > 0 when 0 < verifier_n < d (OLS needs d rows)")
        if self.sampler == "stats":
            reason = self._stats_unavailable(None)
            if reason:
                raise ConfigError("sampler", self.sampler, reason)

    # -- which sampler ---------------------------------------------------------------------
    def _stats_unavailable(self, cfg, selector=None):
        """Why the sufficient-statistics sampler cannot run this config (None if it can)."""
        if selector is not None and selector.active:
            return "'samples' with a selector (it keeps or drops individual labels)"
        if self.T < self.d:
            return f"'samples' when T < d (T={self.T}, d={self.d}): XᵀX is singular and min-norm OLS needs X itself"
        synth = self.synth_size
        if cfg is not None:
            from collapse.policies import make_policy

            if cfg.mode in ("edit", "accumulate-subsample"):
                return (f"'samples' in {cfg.mode} mode: it keeps or drops individual rows, "
                        "which a block's statistics cannot express")
            if cfg.mode not in ("replace", "accumulate", "mix", "fresh"):  # a registered policy may weight rows
                return f"'samples' in mode {cfg.mode}: only the built-in block-weighted modes are known to apply"
            synth = make_policy(cfg, self).synth_size(self)
        if synth < self.d:
            return f"'samples' when a synthetic block has fewer than d rows ({synth} < d={self.d}): XᵀX is singular"
        return None


    @property
    def noise_synth(self) -> float:
        return self.sigma if self.sigma0 is None else self.sigma0

    # -- data ------------------------------------------------------------------------------
    def preferred_block(self) -> int | None:
        """Replicates per cache block (``Loop(block="auto")``): with a fixed design every generation reads each
        replicate's resident state — on the exact-in-law path its d×d factor (two with ridge, again for a second
        design when M ≠ T), on the sample path its design X [T, d] and factor — so blocks of ≈ 4 MiB of that state
        keep it in cache across generations instead of streaming it from memory once per generation. Measured at
        d = 50, T = 200, 1,000 replicates, generations 2..20 (docs/linear_fast_path.md): fast path 0.026 s in
        blocks of 200 vs 0.048 s unblocked; sample path 0.17–0.19 s in blocks of 40–50 vs 0.32 s. None with a
        fresh design (no state to keep)."""
        if self.design != "fixed":
            return None
        designs = 1 if self.synth_size == self.T else 2
        if self._stats:
            per_replicate = (1 if self.ridge == 0 else 2) * designs * self.d * self.d
        else:
            rows = self.T + (0 if designs == 1 else self.synth_size)  # M = T: one design serves both
            per_replicate = rows * self.d + designs * self.d * self.d + self.T
        return max(1, (4 << 20) // (8 * per_replicate))

    def _inputs(self, key, size, scale):
        return jax.random.normal(key, (size, self.d)) * scale

    def _labels(self, key, x, w, noise):
        return x @ w + noise * jax.random.normal(key, (x.shape[0],))

    def setup(self, key, synth_size: int) -> LinearWorld:
        k_w, k_x, k_y, k_s = jax.random.split(key, 4)
        scale = jnp.sqrt(covariance_spectrum(self.d, self.covariance, self.alpha))
        u = jax.random.normal(k_w, (self.d,))
        w_star = self.w_norm * u / jnp.linalg.norm(u)
        if self._stats:
            return self._setup_stats(k_x, k_y, k_s, synth_size, scale, w_star)
        x_real = self._inputs(k_x, self.T, scale)
        y_real = self._labels(k_y, x_real, w_star, self.sigma)
        x_synth = operator = None
        if self.design == "fixed":
            shared = synth_size == self.T
            x_synth = x_real if shared else self._inputs(k_s, synth_size, scale)
            operator = least_squares_factor(x_real, self.ridge) if shared else None
        return LinearWorld(w_star, scale, x_real, y_real, x_synth, operator)

    def _setup_stats(self, k_x, k_y, k_s, synth_size, scale, w_star):
        if self.design == "fresh":
            first = stats.fresh_block(k_x, w_star, self.sigma, self.T, scale)
            return stats.StatsWorld(w_star, scale, first, None, None)
        real = stats.design_stats(stats.bartlett_factor(k_x, self.d, self.T, scale), self.T, self.ridge)
        synth = None
        if synth_size != self.T:
            chol = stats.bartlett_factor(k_s, self.d, synth_size, scale)
            synth = stats.design_stats(chol, synth_size, self.ridge)
        first = stats.fixed_block(k_y, real, w_star, self.sigma, self.T)
        return stats.StatsWorld(w_star, scale, first, real, synth)

    def _block(self, key, world, w, noise, size, fixed_x):
        if self._stats:
            if self.design == "fresh":
                return stats.fresh_block(key, w, noise, size, world.scale)
            return stats.fixed_block(key, world.real if fixed_x is None else fixed_x, w, noise, size)
        if self.design == "fixed":
            return LinearData(None, self._labels(key, fixed_x, w, noise))
        k_x, k_y = jax.random.split(key)
        x = self._inputs(k_x, size, world.scale)
        return LinearData(x, self._labels(k_y, x, w, noise))

    def initial_real(self, world: LinearWorld) -> LinearData:
        if self._stats:
            return world.first
        x = None if self.design == "fixed" else world.x_real
        return LinearData(x, world.y_real)

    def sample_real(self, key, world: LinearWorld) -> LinearData:
        return self._block(key, world, world.w_star, self.sigma, self.T,
                           world.real if self._stats else world.x_real)

    def generate(self, key, world: LinearWorld, params, size: int) -> LinearData:
        return self._block(key, world, params, self.noise_synth, size,
                           world.synth if self._stats else world.x_synth)

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, world: LinearWorld, segments: tuple[Segment, ...]):
        if self._stats:
            if self.design == "fresh":
                return stats.fit_fresh(segments, self.ridge)
            return stats.fit_fixed(world, segments, self.ridge)
        if self.design == "fresh":
            x = jnp.concatenate([s.data.x.reshape(-1, self.d) for s in segments])
            y = jnp.concatenate([s.data.y.reshape(-1) for s in segments])
            w = jnp.concatenate([s.weight.reshape(-1) for s in segments])
            return weighted_least_squares(x, y, w, self.ridge)
        if world.operator is not None and all(s.uniform for s in segments):
            # One shared design and row-constant weights: the weighted problem is an unweighted
            # one on the weighted mean label vector, so the factorization from setup is reused.
            total = sum(jnp.sum(s.weight[..., 0]) for s in segments)
            ysum = sum(_stack_sum(s.weight[..., :1] * s.data.y) for s in segments)
            return world.operator.solve(world.x_real, ysum / total)
        return self._fit_fixed_general(world, segments)

    def _fit_fixed_general(self, world, segments):
        # Under a fixed design, stacked blocks at the same inputs reduce exactly to one row each:
        # weight W_i = Σ_k w_ki and label Σ_k w_ki y_ki / W_i.
        groups = {}
        for s in segments:
            on_real_design = s.real or world.operator is not None
            x = world.x_real if on_real_design else world.x_synth
            wsum, ysum = _stack_sum(s.weight), _stack_sum(s.weight * s.data.y)
            if on_real_design in groups:
                _, w0, y0 = groups[on_real_design]
                wsum, ysum = w0 + wsum, y0 + ysum
            groups[on_real_design] = (x, wsum, ysum)
        x = jnp.concatenate([g[0] for g in groups.values()])
        w = jnp.concatenate([g[1] for g in groups.values()])
        ysum = jnp.concatenate([g[2] for g in groups.values()])
        y = ysum / jnp.where(w > 0, w, 1.0)
        return weighted_least_squares(x, y, w, self.ridge)

    # -- scoring ---------------------------------------------------------------------------
    def score(self, key, world: LinearWorld, params):
        del key
        err = (params - world.w_star) * world.scale
        return {"E_test": jnp.sum(err**2)}

    def design_matrix(self, world: LinearWorld):
        """The fixed design X [T, d] that edit masks may depend on (leverage / adversarial schedules); None
        under a fresh design."""
        return world.x_real if self.design == "fixed" else None

    # -- selection (collapse/selectors.py) ---------------------------------------------------------
    selection_fields = ("error", "deviation")

    @property
    def default_tau(self) -> float:
        """A synthetic label is *correct* (for ϕ, ψ and the oracle) iff within one noise std σ₀ of xᵀw*."""
        return self.noise_synth

    def verifier_setup(self, key, world: LinearWorld, offset: float):
        """The window verifier's model w_v = w* + offset·e, e uniform on the unit sphere (per replicate). With
        ``verifier_n`` = n > 0 the verifier is *learned*: w_v = (X_vᵀX_v + λnI)⁻¹X_vᵀy_v + offset·e, a ridge
        (λ = ``verifier_ridge``; 0 = OLS) fit on n held-out real samples (x ~ N(0, Σ), y = xᵀw* + σε), drawn per
        replicate and never trained on — its offset from the truth is its own estimation error."""
        e = jax.random.normal(key, (self.d,))  # the same direction as before learned verifiers existed
        k_x, k_y = jax.random.split(jax.random.fold_in(key, 1))
        w_v = world.w_star + offset * e / jnp.linalg.norm(e)
        if self.verifier_n == 0:
            return w_v
        n = self.verifier_n
        x = jax.random.normal(k_x, (n, self.d), world.scale.dtype) * world.scale
        y = x @ world.w_star + self.sigma * jax.random.normal(k_y, (n,), world.scale.dtype)
        gram = x.T @ x + self.verifier_ridge * n * jnp.eye(self.d, dtype=x.dtype)
        return w_v + jnp.linalg.solve(gram, x.T @ y) - world.w_star

    def selection_view(self, world: LinearWorld, w_v, block: LinearData, real: bool):
        """Per label: error = |y − xᵀw*| (correct iff ≤ τ), deviation = |y − xᵀw_v| (Yi et al. 2026's window)."""
        x = block.x if block.x is not None else (world.x_real if real else world.x_synth)
        return SelectionView(error=jnp.abs(block.y - x @ world.w_star), deviation=jnp.abs(block.y - x @ w_v))

    def confidence(self, world: LinearWorld, params, block: LinearData):
        """−|yᵢ − xᵢᵀŵ|: how well model ŵ fits each label of a block (higher = better fit). The analogue
        of a language model's probability of an existing token, used by confidence-selected editing."""
        x = world.x_real if block.x is None else block.x
        return -jnp.abs(block.y - x @ params)


def _stack_sum(a):
    """Sum over the stacking axes of a [..., m] array, leaving [m]."""
    return a.reshape(-1, a.shape[-1]).sum(0)

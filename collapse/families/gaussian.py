"""Gaussian refitting loops (docs/papers/: Shumailov et al. 2024, Kazdan et al. 2024, Bertrand et al. 2024,
Alemohammad et al. 2023).

Truth: x ~ N(μ, Σ) in d dimensions (μ = ``mu`` in every coordinate; Σ = ``std``²((1 − ρ)I + ρ11ᵀ), or the
user's ``cov``). Each generation fits μ̂ (weighted mean) and, with ``refit="mean-cov"``, Σ̂ by the MLE
(divisor N) or the unbiased estimator (divisor N − 1; with weights, V₁ − V₂/V₁ for reliability weights,
which is N − 1 when the weights are equal). With ``refit="mean"`` the covariance stays at the truth (the
mean-estimation setting of Bertrand et al. and Alemohammad et al.). The next generation's synthetic block
is drawn from N(μ̂, Σ̂).

Generation indexing (the engine's, one convention): generation 1 fits the T real samples; generation n ≥ 2
fits data formed from the synthetic blocks of models < n. In Shumailov et al. the truth is (μ₀, σ₀) and
(μ_{i+1}, σ_{i+1}) is estimated from samples of N(μ_i, σ_i²), so their σ_n is the fit of our generation n
(σ_1 is fitted to real data in both). With T = M, E σ̂_n = σ α_Mⁿ holds at our generation n.

Sample-size schedule: ``M_schedule = (M₂, M₃, …)`` makes generation n ≥ 2 train on M_n synthetic samples
(entry j forms generation j + 2; the last entry repeats). Every block has max(M_schedule) rows and a
per-sample ``valid`` mask that ``fit`` folds into the policy's weights, so the engine still compiles one
program. The engine's ``train_size`` counts the padded rows; the family's ``fit_size`` metric counts the
samples actually fitted (accumulate-subsample draws its budget from all rows, padding included, so with
a schedule it may fit fewer samples than the budget; mix mode draws round(λT) rows and keeps the first
M_n). Each sample carries the generation that first trains on it (``gen``), from which
``fit`` knows its own generation (the policies pass whole pools, so the newest block is always present).

Metrics (per generation): ``mean_err`` = ‖μ̂ − μ‖²; in 1-D ``var`` = σ̂², ``sd`` = σ̂, ``log_var`` = log σ̂²;
for d > 1 ``trace`` = tr Σ̂ and ``logdet_ratio`` = log det Σ̂ − log det Σ; ``w2`` = W₂²(N(μ̂, Σ̂), N(μ, Σ)) =
‖μ̂ − μ‖² + tr Σ̂ + tr Σ − 2 tr(Σ^½ Σ̂ Σ^½)^½ (symmetric square roots by eigh); ``fit_size``.

Floating point: samples are stored as x = μ̂ + Σ̂^½z, so once σ̂ falls below ≈ 1e-12·|μ̂| (log σ̂² ≲ −55)
the sample variance loses float64 precision; the presets stay well above that.
"""

import math
from dataclasses import dataclass
from typing import ClassVar, Literal, NamedTuple, get_args

import jax
import jax.numpy as jnp
import numpy as np
from scipy.stats import chi2 as scipy_chi2

from collapse.errors import ConfigError, require
from collapse.families import gaussian_stats as stats
from collapse.families.base import ExactInLawSampler
from collapse.families.points import GaussianData, flatten_segments
from collapse.selectors import SelectionView
from collapse.validate import check_fields

Estimator = Literal["unbiased", "mle"]
ESTIMATORS = get_args(Estimator)
Refit = Literal["mean-cov", "mean"]
REFITS = get_args(Refit)
Sampler = Literal["auto", "stats", "samples"]
SAMPLERS = get_args(Sampler)
STATS_MODES = ("replace", "accumulate", "mix", "fresh")  # the policies that weight every block uniformly


class GaussianParams(NamedTuple):
    mean: jax.Array  # [d]
    cov: jax.Array  # [d, d]
    generation: jax.Array  # int, the generation this model was fitted in
    count: jax.Array  # samples with positive weight in the fit


class GaussianWorld(NamedTuple):
    mu: jax.Array  # [d]
    cov: jax.Array  # [d, d]
    cov_sqrt: jax.Array  # [d, d], symmetric Σ^½
    logdet: jax.Array  # log det Σ
    x_real: jax.Array | stats.GaussianStats  # the real block generation 1 trains on: [T, d], or its statistics
    schedule: jax.Array  # [S] int, M_n for generation n = 2.. (last entry repeats)


def _int_tuple(value):
    if value is None:
        return None
    return tuple(value) if isinstance(value, list | tuple) else value


def _matrix(value):
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return tuple(tuple(r) if isinstance(r, list | tuple) else r for r in value)
    return value


def check_sizes(name, sizes, d, estimator, refit):
    """The sample sizes a fit may see: ≥ 2 for the unbiased divisor N − 1, ≥ d + 1 for a nonsingular Σ̂."""
    for m in sizes:
        require(isinstance(m, int | np.integer) and m >= 1, name, m, "an integer >= 1")
        if refit == "mean-cov":
            require(not (estimator == "unbiased" and m < 2), name, m,
                    "an integer >= 2 with estimator='unbiased' (its divisor is N − 1)")
            require(m >= d + 1, name, m, f"an integer >= d+1 = {d + 1} so that the fitted covariance is nonsingular")


def symmetric_sqrt(a):
    """Σ^½ of a symmetric PSD matrix via eigh (eigenvalues clipped at 0)."""
    lam, vec = jnp.linalg.eigh(a)
    return (vec * jnp.sqrt(jnp.clip(lam, 0.0))) @ vec.T


def block_mask(schedule, fixed: bool, generation, size, dtype):
    """Validity of the ``size`` rows of the block generation ``generation`` trains on."""
    if fixed:
        return jnp.ones(size, dtype)
    m = schedule[jnp.clip(generation - 2, 0, schedule.shape[0] - 1)]
    return (jnp.arange(size) < m).astype(dtype)


@dataclass(frozen=True)
class Gaussian(ExactInLawSampler):
    """Model family: refit a Gaussian each generation (see the module docstring).

    d: dimension; T: real samples; M: synthetic samples per generation (default T); M_schedule: M_n per
    generation n ≥ 2 instead of M; mu: true mean (every coordinate); std, rho: true Σ = std²((1−ρ)I + ρ11ᵀ);
    cov: an explicit true Σ (rows), overriding std and rho; estimator: "unbiased" | "mle" (covariance
    divisor); refit: "mean-cov" (fit μ and Σ) | "mean" (fit μ, keep Σ at the truth). sampler: "stats" draws
    each block's sample mean (normal) and scatter (Wishart by Bartlett, χ² in 1-D) exactly in law, so a
    generation costs the same whatever M (collapse/families/gaussian_stats.py); "samples" draws the samples;
    "auto" (default) is resolved by :meth:`for_loop` — the engine calls it — to "stats" wherever that applies
    (modes replace / accumulate / mix / fresh, no selector, no truncation). Called directly, without a loop,
    "auto" behaves as "samples".
    """

    main_metric: ClassVar[str] = "w2"  # the metric figures and verdicts use

    d: int = 1
    T: int = 100
    M: int | None = None
    M_schedule: tuple[int, ...] | None = None
    mu: float = 0.0
    std: float = 1.0
    rho: float = 0.0
    cov: tuple[tuple[float, ...], ...] | None = None
    estimator: Estimator = "unbiased"
    refit: Refit = "mean-cov"
    name: str = "gaussian"
    temperature: float = 1.0  # sampling bias (docs/gaussian.md): draw from N(μ̂, τΣ̂)
    truncation: float = 1.0  # keep the central fraction q of N(μ̂, Σ̂) (Mahalanobis ball of mass q)
    sampler: Sampler = "auto"

    def __post_init__(self):
        check_fields(self)
        object.__setattr__(self, "M_schedule", _int_tuple(self.M_schedule))
        object.__setattr__(self, "cov", _matrix(self.cov))
        require(isinstance(self.d, int) and self.d >= 1, "d", self.d, "an integer >= 1")
        require(self.estimator in ESTIMATORS, "estimator", self.estimator, f"one of {ESTIMATORS}")
        require(self.refit in REFITS, "refit", self.refit, f"one of {REFITS}")
        require(self.std > 0, "std", self.std, "> 0")
        check_sizes("T", [self.T], self.d, self.estimator, self.refit)
        if self.M_schedule is not None:
            require(isinstance(self.M_schedule, tuple) and len(self.M_schedule) >= 1, "M_schedule",
                    self.M_schedule, "a non-empty list of sample sizes, e.g. 10,20,50")
            require(self.M is None, "M", self.M, "unset when M_schedule is given")
            check_sizes("M_schedule", self.M_schedule, self.d, self.estimator, self.refit)
        elif self.M is not None:
            check_sizes("M", [self.M], self.d, self.estimator, self.refit)
        self.truth()  # validates cov / rho
        for knob, low in (("temperature", "> 0"), ("truncation", "in (0, 1]")):
            value = getattr(self, knob)
            ok = isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value) and value > 0
            require(ok and (knob == "temperature" or value <= 1), knob, value, f"a finite number {low}")
        require(self.sampler in SAMPLERS, "sampler", self.sampler, f"one of {SAMPLERS}")
        if self.sampler == "stats":
            reason = self._stats_unavailable(None)
            if reason:
                raise ConfigError("sampler", self.sampler, reason)

    # -- which sampler ---------------------------------------------------------------------
    def _stats_unavailable(self, cfg, selector=None):
        """Why the mean-and-scatter sampler cannot run this config (None if it can)."""
        if self.truncation < 1:
            return "'samples' with truncation < 1 (a truncated block's mean and scatter are not normal / Wishart)"
        if selector is not None and selector.active:
            return "'samples' with a selector (it keeps or drops individual samples)"
        if cfg is not None and cfg.mode not in STATS_MODES:
            return (f"'samples' in {cfg.mode} mode: only {', '.join(STATS_MODES)} weight every block uniformly "
                    "(subsampling and editing keep or replace individual samples)")
        return None


    # -- truth -----------------------------------------------------------------------------
    def truth(self):
        """(μ [d], Σ [d, d]) as NumPy float64 arrays; ConfigError unless Σ is symmetric positive definite."""
        d = self.d
        if self.cov is not None:
            try:
                cov = np.array(self.cov, dtype=float)
            except (TypeError, ValueError):
                raise ConfigError("cov", self.cov, f"a {d}×{d} matrix of numbers (rows separated by ';')") from None
            require(cov.shape == (d, d), "cov", self.cov, f"a {d}×{d} matrix (d={d})")
            require(np.allclose(cov, cov.T), "cov", self.cov, "a symmetric matrix")
            require(np.linalg.eigvalsh(cov).min() > 0, "cov", self.cov, "positive definite")
        else:
            cov = self.std**2 * ((1 - self.rho) * np.eye(d) + self.rho * np.ones((d, d)))
            lo = -1 / (d - 1) if d > 1 else -np.inf
            require(d == 1 or lo < self.rho < 1, "rho", self.rho,
                    f"in ({lo:g}, 1) so that the true covariance is positive definite (d={d})")
        return np.full(d, float(self.mu)), cov

    @property
    def real_size(self) -> int:
        return self.T

    @property
    def synth_size(self) -> int:
        if self.M_schedule is not None:
            return max(self.M_schedule)
        return self.T if self.M is None else self.M

    def sizes(self, generations: int) -> np.ndarray:
        """Samples generation n = 1..G trains on in replace mode: [T, M₂, …, M_G]."""
        if self.M_schedule is None:
            rest = [self.synth_size] * (generations - 1)
        else:
            s = self.M_schedule
            rest = [s[min(j, len(s) - 1)] for j in range(generations - 1)]
        return np.array([self.T, *rest], dtype=int)

    # -- data ------------------------------------------------------------------------------
    def setup(self, key, synth_size: int) -> GaussianWorld:
        mu, cov = self.truth()
        mu, cov = jnp.asarray(mu), jnp.asarray(cov)
        root = symmetric_sqrt(cov)
        if self._stats:
            x_real = self._real_stats(key, mu, root)
        else:
            x_real = mu + jax.random.normal(key, (self.T, self.d)) @ root
        schedule = jnp.asarray(self.M_schedule if self.M_schedule is not None else (self.synth_size,))
        return GaussianWorld(mu, cov, root, jnp.linalg.slogdet(cov)[1], x_real, schedule)

    def _real_block(self, x):
        return GaussianData(x, jnp.ones(x.shape[0], x.dtype), jnp.ones(x.shape[0], jnp.int32))

    def _real_stats(self, key, mu, root):
        return stats.draw_block(key, mu, root, self.T, self.T, 1, self.refit == "mean-cov")

    def initial_real(self, world: GaussianWorld) -> GaussianData:
        return world.x_real if self._stats else self._real_block(world.x_real)

    def sample_real(self, key, world: GaussianWorld) -> GaussianData:
        if self._stats:
            return self._real_stats(key, world.mu, world.cov_sqrt)
        return self._real_block(world.mu + jax.random.normal(key, (self.T, self.d)) @ world.cov_sqrt)

    def generate(self, key, world: GaussianWorld, params: GaussianParams, size: int) -> GaussianData:
        n = params.generation + 1
        if self._stats:  # N(μ̂, τΣ̂): mean and scatter of its M_n samples (truncation is excluded)
            cov = self.temperature * params.cov
            # any root R with RRᵀ = C gives x̄ and S their laws; Cholesky, because batched eigh is ~30× slower on CPU
            root = jnp.sqrt(cov) if self.d == 1 else jnp.linalg.cholesky(cov)
            count = size if self.M_schedule is None else jnp.sum(block_mask(world.schedule, False, n, size, cov.dtype))
            return stats.draw_block(key, params.mean, root, count, size, n, self.refit == "mean-cov")
        z = self._biased_normal(key, size)
        root = jnp.sqrt(params.cov) if self.d == 1 else symmetric_sqrt(params.cov)
        x = params.mean + z @ root
        valid = block_mask(world.schedule, self.M_schedule is None, n, size, x.dtype)
        return GaussianData(x, valid, jnp.full(size, n, jnp.int32))

    def _biased_normal(self, key, size):
        """√τ·z with z ~ N(0, I_d) conditioned on ‖z‖² ≤ F⁻¹_{χ²_d}(q): temperature τ and central-fraction
        truncation q (exact rejection sampling: rounds of ``size`` candidates until ``size`` are kept)."""
        if self.truncation >= 1:
            return math.sqrt(self.temperature) * jax.random.normal(key, (size, self.d))
        radius2 = float(scipy_chi2.ppf(self.truncation, self.d))

        def fill(state):
            k, buf, count = state
            k, sub = jax.random.split(k)
            cand = jax.random.normal(sub, (size, self.d))
            keep = jnp.sum(cand**2, axis=1) <= radius2
            slot = jnp.where(keep, count + jnp.cumsum(keep) - 1, size)  # slots >= size are dropped
            return k, buf.at[slot].set(cand, mode="drop"), count + jnp.sum(keep, dtype=count.dtype)

        start = (key, jnp.zeros((size, self.d)), jnp.zeros((), jnp.int32))
        _, z, _ = jax.lax.while_loop(lambda st: st[2] < size, fill, start)
        return math.sqrt(self.temperature) * z

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, world: GaussianWorld, segments) -> GaussianParams:
        if self._stats:
            v1, v2, mean, scatter, count, gen = stats.pooled(segments, self.d)
        else:
            x, w, gen = flatten_segments(segments, self.d)
            v1, v2, count = jnp.sum(w), jnp.sum(w**2), jnp.sum(w > 0)
            mean = w @ x / v1
            if self.refit == "mean-cov":
                xc = x - mean
                scatter = (xc * w[:, None]).T @ xc
        if self.refit == "mean":
            cov = world.cov
        else:
            divisor = v1 if self.estimator == "mle" else v1 - v2 / v1
            cov = scatter / divisor
        return GaussianParams(mean, cov, gen, count)

    # -- selection (collapse/selectors.py) ---------------------------------------------------------
    selection_fields = ("error", "deviation")

    @property
    def default_tau(self) -> float:
        """A sample is *correct* (for ϕ, ψ and the oracle) iff within std·√d of the true mean."""
        return self.std * self.d**0.5

    @property
    def min_fit_size(self) -> int:
        """Fewest kept samples a fit needs (a selection leaving fewer keeps the previous model)."""
        return self.d + 1 if self.refit == "mean-cov" else 1

    def verifier_setup(self, key, world: GaussianWorld, offset: float):
        """The verifier's / reward model's centre c = μ + offset (every coordinate)."""
        del key
        return world.mu + offset

    def selection_view(self, world: GaussianWorld, centre, block: GaussianData, real: bool):
        """Per sample: error = ‖x − μ‖ (oracle: keep iff ≤ τ), deviation = ‖x − c‖ (window; reward
        r = −½γ‖x − c‖²)."""
        del real
        return SelectionView(error=jnp.linalg.norm(block.x - world.mu, axis=-1),
                             deviation=jnp.linalg.norm(block.x - centre, axis=-1))

    def tilted(self, params: GaussianParams, centre, gamma) -> GaussianParams:
        """The model tilted by e^{r}, r = −½γ‖x − c‖² (K → ∞ curation, Ferbach et al. 2024, arXiv 2407.09499):
        N(m, S)·e^{r} ∝ N(m', S') with S'⁻¹ = S⁻¹ + γI, m' = S'(S⁻¹m + γc) (conjugacy; docs/feedback.md §1)."""
        prec = jnp.linalg.inv(params.cov) + gamma * jnp.eye(self.d)
        cov = jnp.linalg.inv(prec)
        cov = (cov + cov.T) / 2
        mean = cov @ (jnp.linalg.solve(params.cov, params.mean) + gamma * centre)
        return params._replace(mean=mean, cov=cov)

    def generate_tilted(self, key, world: GaussianWorld, centre, params: GaussianParams, size: int, gamma):
        """A block drawn exactly from the tilted model (``tilted``)."""
        return self.generate(key, world, self.tilted(params, centre, gamma), size)

    # -- scoring ---------------------------------------------------------------------------
    def score(self, key, world: GaussianWorld, params: GaussianParams):
        del key
        mean_err = jnp.sum((params.mean - world.mu) ** 2)
        out = {"mean_err": mean_err, "fit_size": params.count.astype(mean_err.dtype)}
        if self.d == 1:
            var = params.cov[0, 0]
            sd = jnp.sqrt(var)
            out.update(var=var, sd=sd, log_var=jnp.log(var), w2=mean_err + (sd - world.cov_sqrt[0, 0]) ** 2)
            return out
        # trace and log det without an eigendecomposition (one batched eigh costs ~30 Cholesky factorizations on
        # CPU); the Bures term needs the eigenvalues of Σ^½Σ̂Σ^½
        trace = jnp.trace(params.cov)
        logdet = 2 * jnp.sum(jnp.log(jnp.diagonal(jnp.linalg.cholesky(params.cov))))
        cross = jnp.linalg.eigvalsh(world.cov_sqrt @ params.cov @ world.cov_sqrt)
        bures = trace + jnp.trace(world.cov) - 2 * jnp.sum(jnp.sqrt(jnp.clip(cross, 0.0)))
        out.update(trace=trace, logdet_ratio=logdet - world.logdet,
                   w2=mean_err + jnp.clip(bures, 0.0))  # clip: rounding only, W₂² ≥ 0
        return out

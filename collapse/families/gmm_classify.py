"""Gaussian-mixture classification with synthesized labels and verifiers (Feng et al. 2025, "Beyond Model
Collapse: Scaling Up with Synthesized Data Requires Verification", arXiv 2406.07515; docs/papers/feng2025.md).

Truth: y = +1 with probability π₊ (``pi_pos``), else −1; x | y ~ N(yμ, Σ) with diagonal Σ (isotropic, or a
power law λᵢ ∝ i^(−α) with tr Σ = d) and μ = ‖μ‖·u, u uniform on the sphere (drawn per replicate).

Generation indexing (the engine's): generation 1 is the *generator*; generation n ≥ 2 is the *student* trained
on the synthesized and selected data of model n − 1, so a two-generation run is the paper's setting and longer
runs are the iterated loop (the student of round t labels round t + 1's data).
- generator="label-noise": model 1 labels a fresh x with its true y, flipped with probability p (p₊, p₋ per
  class with ``p_class``), independently of x.
- generator="linear": model 1 is y' = sign(w_gᵀx + b), w_g fitted by the student method to ``n_real`` real
  samples, or given at ``generator_angle`` degrees from the Bayes direction Σ⁻¹μ; ``p`` flips its labels too.
Students (models n ≥ 2) label with sign(ŵᵀx + b̂) and no flips.

Each generation draws N fresh inputs, labels them (k candidate labels per input for best-of-k), and selects with
a collapse.selectors selector, applied inside the chunked sampler (before the reduction to sufficient
statistics; ``selector_config`` maps the fields below to it, ``with_selector`` the other way):
none | oracle (keep iff y' = y) | phi-psi (keep a correct label w.p. ϕ, a wrong one w.p. ψ; per true class with
``phi_class``/``psi_class``) | random (keep w.p. ϕ whatever the label) | linear (keep iff sign(w_vᵀx) = y', w_v
at ``verifier_angle`` degrees from Σ⁻¹μ) | best-of-k (keep all; of k candidates take the one the linear
verifier scores highest, score y'·w_vᵀx).

Students: centroid (ŵ = mean of y'x over kept samples; with an intercept, half the difference of the two
label-class means), ls (least squares on ±1 labels, ridge λ·K·I for K kept samples; minimum norm when λ = 0),
logistic (L2-penalized by λ/2‖w‖², fitted by optax L-BFGS). Nothing kept gives the zero rule, whose accuracy
is reported as 1/2 (never NaN).

Scale: samples are drawn ``chunk`` at a time inside a ``lax.scan`` and reduced to sufficient statistics
(Σ y'x, Σ xxᵀ, Σ x, Σ y', K), so memory does not grow with N for centroid and ls; logistic keeps the raw
samples. A block therefore has one row (one generation's data) and a policy acts on whole generations
(accumulate-subsample draws generations, not samples).

Metrics per generation: ``accuracy`` (exact: π₊Φ((wᵀμ+b)/s) + π₋Φ((wᵀμ−b)/s), s = sqrt(wᵀΣw); 1 − p̄ for the
label-noise generator), ``cos_bayes`` (cosine between ŵ and Σ⁻¹μ) and the selection of the data it trained on
(collapse.selection): ``p``, ``r``, ``q``, ``phi``, ``psi``, ``p_star``, ``kept``.
"""

import dataclasses
from dataclasses import dataclass
from typing import ClassVar, Literal, NamedTuple, get_args

import jax
import jax.numpy as jnp
import optax
from jax.scipy.special import ndtr

from collapse.errors import require
from collapse.families.base import Segment
from collapse.selection import selection_stats
from collapse.selectors import SelectionView, SelectorConfig, make_selector
from collapse.spectra import COVARIANCES, Covariance, covariance_spectrum
from collapse.validate import check_fields

Generator = Literal["label-noise", "linear"]
GENERATORS = get_args(Generator)
Verifier = Literal["none", "oracle", "phi-psi", "random", "linear", "best-of-k"]
VERIFIERS = get_args(Verifier)
Student = Literal["centroid", "ls", "logistic"]
STUDENTS = get_args(Student)


class ClassifyData(NamedTuple):
    """One generation's data, reduced. Every leaf has a leading axis of length 1 (one row per block).

    sxy [1, d], sxx [1, d, d] (zeros [1, 0, 0] unless the student is ls), sx [1, d], sy [1], kept [1]: sums of
    y'x, xxᵀ, x, y' and the count over kept samples. counts [1, 4]: samples that are (correct, dropped),
    (wrong, dropped), (correct, kept), (wrong, kept). synthetic [1]: 1 for model-labelled data, 0 for real.
    x [1, m, d], y [1, m], keep [1, m]: the raw samples, for the logistic student only (else None).
    """

    sxy: jax.Array
    sxx: jax.Array
    sx: jax.Array
    sy: jax.Array
    kept: jax.Array
    counts: jax.Array
    synthetic: jax.Array
    x: jax.Array | None
    y: jax.Array | None
    keep: jax.Array | None


class ClassifyParams(NamedTuple):
    w: jax.Array  # [d]
    b: jax.Array  # intercept (0 without one)
    use_truth: jax.Array  # 1.0: the label-noise generator (labels from the true y); 0.0: a linear rule
    flip: jax.Array  # [2]: flip probability of its labels for y = +1, −1
    counts: jax.Array  # [4]: selection counts of the data this model was trained on (see ClassifyData)


class ClassifyWorld(NamedTuple):
    """Per-replicate constants."""

    mu: jax.Array  # [d]
    scale: jax.Array  # [d], sqrt of Σ's eigenvalues (Σ is diagonal)
    bayes_dir: jax.Array  # [d], unit Σ⁻¹μ
    w_verifier: jax.Array  # [d], unit vector at verifier_angle from Σ⁻¹μ
    w_given: jax.Array  # [d], unit vector at generator_angle from Σ⁻¹μ (used when generator_angle is set)
    real: ClassifyData  # the n_real real samples generation 1 trains on


def _at_angle(direction, v, degrees):
    """A unit vector at ``degrees`` from the unit vector ``direction``, turned toward the random vector v."""
    v = v - (v @ direction) * direction
    v = v / jnp.maximum(jnp.linalg.norm(v), 1e-300)
    t = jnp.deg2rad(degrees)
    return jnp.cos(t) * direction + jnp.sin(t) * v


def _pair(name, value):
    require(isinstance(value, tuple) and len(value) == 2, name, value, "two values (class +1, class −1)")
    for v in value:
        require(0 <= v <= 1, name, value, "two values in [0, 1]")
    return value


@dataclass(frozen=True)
class GMMClassify:
    """Model family: label synthesis, verification and a student on a two-class Gaussian mixture (see module
    docstring). d: dimension; mu_norm: ‖μ‖; N: synthesized samples per generation; n_real: real samples
    (train a linear generator; the real block of accumulate/mix/fresh)."""

    main_metric: ClassVar[str] = "accuracy"  # the metric figures and verdicts use

    d: int = 10
    mu_norm: float = 1.0
    covariance: Covariance = "isotropic"
    alpha: float = 1.0
    pi_pos: float = 0.5
    N: int = 1000
    n_real: int = 100
    generator: Generator = "label-noise"
    p: float = 0.0
    p_class: tuple[float, ...] | None = None
    generator_angle: float | None = None
    verifier: Verifier = "none"
    phi: float = 1.0
    psi: float = 1.0
    phi_class: tuple[float, ...] | None = None
    psi_class: tuple[float, ...] | None = None
    verifier_angle: float = 0.0
    k: int = 1
    student: Student = "centroid"
    ridge: float = 0.0
    intercept: bool = False
    logistic_steps: int = 50
    chunk: int = 8192
    name: str = "gmm-classify"

    def __post_init__(self):
        check_fields(self)
        require(isinstance(self.d, int) and self.d >= 1, "d", self.d, "an integer >= 1")
        require(self.mu_norm >= 0, "mu_norm", self.mu_norm, ">= 0")
        require(self.covariance in COVARIANCES, "covariance", self.covariance, f"one of {COVARIANCES}")
        require(self.alpha >= 0, "alpha", self.alpha, ">= 0")
        require(0 < self.pi_pos < 1, "pi_pos", self.pi_pos, "in (0, 1)")
        require(isinstance(self.N, int) and self.N >= 1, "N", self.N, "an integer >= 1")
        require(isinstance(self.n_real, int) and self.n_real >= 1, "n_real", self.n_real, "an integer >= 1")
        require(self.generator in GENERATORS, "generator", self.generator, f"one of {GENERATORS}")
        require(0 <= self.p <= 1, "p", self.p, "in [0, 1]")
        if self.p_class is not None:
            _pair("p_class", self.p_class)
        require(self.generator_angle is None or 0 <= self.generator_angle <= 180, "generator_angle",
                self.generator_angle, "in [0, 180] degrees")
        require(self.verifier in VERIFIERS, "verifier", self.verifier, f"one of {VERIFIERS}")
        require(0 <= self.phi <= 1, "phi", self.phi, "in [0, 1]")
        require(0 <= self.psi <= 1, "psi", self.psi, "in [0, 1]")
        for name in ("phi_class", "psi_class"):
            if getattr(self, name) is not None:
                _pair(name, getattr(self, name))
        require(0 <= self.verifier_angle <= 180, "verifier_angle", self.verifier_angle, "in [0, 180] degrees")
        require(isinstance(self.k, int) and self.k >= 1, "k", self.k, "an integer >= 1")
        require(self.verifier == "best-of-k" or self.k == 1, "k", self.k, "1 unless verifier is best-of-k")
        require(self.student in STUDENTS, "student", self.student, f"one of {STUDENTS}")
        require(self.ridge >= 0, "ridge", self.ridge, ">= 0")
        require(self.student != "logistic" or self.ridge > 0 or self.verifier != "oracle", "ridge", self.ridge,
                "> 0 for a logistic student with an oracle verifier (separable kept data has no finite fit)")
        require(isinstance(self.logistic_steps, int) and self.logistic_steps >= 1, "logistic_steps",
                self.logistic_steps, "an integer >= 1")
        require(isinstance(self.chunk, int) and self.chunk >= 1, "chunk", self.chunk, "an integer >= 1")

    # -- sizes and rates -------------------------------------------------------------------
    @property
    def real_size(self) -> int:
        return self.n_real

    @property
    def synth_size(self) -> int:
        return self.N

    @property
    def flips(self) -> tuple[float, float]:
        """Generator flip probabilities (p₊, p₋)."""
        return self.p_class if self.p_class is not None else (self.p, self.p)

    @property
    def keep_rates(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """((ϕ₊, ϕ₋), (ψ₊, ψ₋)) of the phi-psi / random verifiers (by true class)."""
        phi = self.phi_class if self.phi_class is not None else (self.phi, self.phi)
        if self.verifier == "random":
            return phi, phi
        psi = self.psi_class if self.psi_class is not None else (self.psi, self.psi)
        return phi, psi

    @property
    def selector_config(self) -> SelectorConfig:
        """The collapse.selectors selector this family's verifier fields describe (correct iff error = 0)."""
        v = self.verifier
        if v in ("phi-psi", "random"):
            phi, psi = self.keep_rates
            return SelectorConfig("phi-psi", phi_class=tuple(phi), psi_class=tuple(psi))
        kind = {"linear": "model", "best-of-k": "best-of-k"}.get(v, v)
        return SelectorConfig(kind, k=self.k)

    def with_selector(self, cfg: SelectorConfig) -> "GMMClassify":
        """This family with an engine selector (collapse.engine.Loop's ``selector``) as its verifier fields."""
        require(self.verifier == "none", "verifier", self.verifier, "'none' when a selector is given")
        kinds = ("none", "oracle", "phi-psi", "random", "model", "best-of-k")
        require(cfg.kind in kinds, "selector", cfg.kind, f"one the gmm-classify family supports: {', '.join(kinds)}")
        require(cfg.tau is None or cfg.tau < 1, "tau", cfg.tau,
                "< 1 for gmm-classify (a label is correct or wrong: error 0 or 1)")
        require(cfg.offset == 0, "offset", cfg.offset, "0 for gmm-classify (the model verifier's offset is "
                "verifier_angle)")
        phi = cfg.phi_class if cfg.phi_class is not None else (cfg.phi, cfg.phi)
        psi = cfg.psi_class if cfg.psi_class is not None else (cfg.psi, cfg.psi)
        verifier = {"model": "linear"}.get(cfg.kind, cfg.kind)
        return dataclasses.replace(self, verifier=verifier, phi=cfg.phi, psi=cfg.psi, phi_class=tuple(phi),
                                   psi_class=tuple(psi), k=cfg.k)

    # -- world -----------------------------------------------------------------------------
    def setup(self, key, synth_size: int) -> ClassifyWorld:
        k_dirs, k_real = jax.random.split(key)
        scale = jnp.sqrt(covariance_spectrum(self.d, self.covariance, self.alpha))
        u, v_verifier, v_generator = jax.random.normal(k_dirs, (3, self.d))
        mu = self.mu_norm * u / jnp.linalg.norm(u)
        bayes = u / scale**2
        bayes = bayes / jnp.linalg.norm(bayes)
        w_v = _at_angle(bayes, v_verifier, self.verifier_angle)
        w_g = _at_angle(bayes, v_generator, 0.0 if self.generator_angle is None else self.generator_angle)
        world = ClassifyWorld(mu, scale, bayes, w_v, w_g, None)
        truth = ClassifyParams(jnp.zeros(self.d), jnp.zeros(()), jnp.ones(()), jnp.zeros(2), jnp.zeros(4))
        real = self._draw(k_real, world, truth, self.n_real, select=False)
        return world._replace(real=real._replace(synthetic=jnp.zeros(1)))

    def initial_real(self, world: ClassifyWorld) -> ClassifyData:
        return world.real

    def sample_real(self, key, world: ClassifyWorld) -> ClassifyData:
        truth = ClassifyParams(jnp.zeros(self.d), jnp.zeros(()), jnp.ones(()), jnp.zeros(2), jnp.zeros(4))
        return self._draw(key, world, truth, self.n_real, select=False)._replace(synthetic=jnp.zeros(1))

    def generate(self, key, world: ClassifyWorld, params: ClassifyParams, size: int) -> ClassifyData:
        return self._draw(key, world, params, size, select=True)

    # -- drawing, labelling, selecting -----------------------------------------------------
    def _chunk(self, key, world, params, index, valid, select):
        """Label and select one chunk of fresh inputs (global sample numbers ``index``). Returns its sufficient
        statistics."""
        B = valid.shape[0]
        k = self.k if select else 1
        # Every sample draws from its own key, folded from its global number, so the chunk size changes memory
        # and speed, never the numbers. Per sample: one uniform row (class, tie coin, keep, k flips), d normals.
        keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(index)
        u = jax.vmap(lambda kk: jax.random.uniform(jax.random.fold_in(kk, 0), (3 + k,)))(keys)
        z = jax.vmap(lambda kk: jax.random.normal(jax.random.fold_in(kk, 1), (self.d,)))(keys)
        y = jnp.where(u[:, 0] < self.pi_pos, 1.0, -1.0)
        x = y[:, None] * world.mu + z * world.scale
        score = x @ params.w + params.b
        coin = jnp.where(u[:, 1] < 0.5, 1.0, -1.0)  # ties (the zero rule) are broken by a fair coin
        rule = jnp.where(score > 0, 1.0, jnp.where(score < 0, -1.0, coin))
        base = jnp.where(params.use_truth > 0, y, rule)
        flip_prob = jnp.where(y > 0, params.flip[0], params.flip[1])
        flips = u[:, 3:] < flip_prob[:, None]
        cand = base[:, None] * jnp.where(flips, -1.0, 1.0)  # [B, k]
        margin = x @ world.w_verifier
        selector = make_selector(self.selector_config)
        if select and selector.candidates > 1:  # best-of-k: the verifier's score y'·w_vᵀx per candidate
            pick = selector.choose(None, SelectionView(score=(cand * margin[:, None]).T))
            label = jnp.take_along_axis(cand, pick[:, None], axis=1)[:, 0]
        else:
            label = cand[:, 0]
        correct = label == y
        if select and selector.candidates == 1:
            view = SelectionView(error=jnp.where(correct, 0.0, 1.0), group=jnp.where(y > 0, 0, 1),
                                 accept=jnp.where(margin >= 0, 1.0, -1.0) == label)
            kept = selector.keep(u[:, 2], view)
        else:
            kept = jnp.ones(B, bool)
        kept = kept & valid
        kw = kept.astype(x.dtype)
        xk = x * kw[:, None]
        sxx = xk.T @ x if self.student == "ls" else jnp.zeros((0, 0), x.dtype)
        right = correct & valid
        counts = jnp.stack([jnp.sum(right & ~kept), jnp.sum(~correct & valid & ~kept),
                            jnp.sum(right & kept), jnp.sum(~correct & kept)]).astype(x.dtype)
        stats = (label @ xk, sxx, jnp.sum(xk, 0), label @ kw, jnp.sum(kw), counts)
        raw = (x, label, kw) if self.student == "logistic" else None
        return stats, raw

    def _draw(self, key, world, params, size, select):
        B = min(self.chunk, size)
        C = -(-size // B)

        def body(carry, c):
            index = c * B + jnp.arange(B)
            stats, raw = self._chunk(key, world, params, index, index < size, select)
            return jax.tree_util.tree_map(jnp.add, carry, stats), raw

        dt = world.mu.dtype
        d, dd = self.d, self.d if self.student == "ls" else 0
        zero = (jnp.zeros(d, dt), jnp.zeros((dd, dd), dt), jnp.zeros(d, dt), jnp.zeros((), dt),
                jnp.zeros((), dt), jnp.zeros(4, dt))
        sums, raw = jax.lax.scan(body, zero, jnp.arange(C))
        sxy, sxx, sx, sy, kept, counts = (a[None] for a in sums)
        x = y = keep = None
        if raw is not None:  # [C, B, ...] -> [1, C·B, ...]; padding rows have keep = 0
            x, y, keep = (a.reshape((1, C * B) + a.shape[2:]) for a in raw)
        return ClassifyData(sxy, sxx, sx, sy, kept, counts, jnp.ones(1, dt), x, y, keep)

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, world: ClassifyWorld, segments: tuple[Segment, ...]) -> ClassifyParams:
        def total(field, weighted=True):
            out = 0.0
            for s in segments:
                w = s.weight if weighted else (s.weight > 0).astype(s.weight.dtype)
                a = getattr(s.data, field)
                out = out + jnp.tensordot(w.reshape(-1), a.reshape((-1,) + a.shape[w.ndim:]), axes=1)
            return out

        counts = total("counts", weighted=False)
        if self.student == "logistic":
            w, b = self._fit_logistic(segments)
        else:
            sxx = total("sxx") if self.student == "ls" else None
            w, b = self._fit_moments(total("sxy"), sxx, total("sx"), total("sy"), total("kept"))
        student = ClassifyParams(w, b, jnp.zeros(()), jnp.zeros(2), counts)
        first = total("synthetic", weighted=False) == 0  # only real data: this is the generator
        if self.generator == "label-noise":
            gen = ClassifyParams(jnp.zeros(self.d), jnp.zeros(()), jnp.ones(()), jnp.asarray(self.flips), counts)
        elif self.generator_angle is not None:
            gen = ClassifyParams(world.w_given, jnp.zeros(()), jnp.zeros(()), jnp.asarray(self.flips), counts)
        else:
            gen = student._replace(flip=jnp.asarray(self.flips))
        return jax.tree_util.tree_map(lambda g, s: jnp.where(first, g, s), gen, student)

    def _fit_moments(self, sxy, sxx, sx, sy, n):
        has = n > 0
        if self.student == "centroid":
            if not self.intercept:
                return jnp.where(has, sxy / jnp.where(has, n, 1.0), 0.0), jnp.zeros(())
            # class means by proposed label: Σ_{y'=±1} x = (Σx ± Σy'x)/2, counts (n ± Σy')/2
            n_p, n_m = (n + sy) / 2, (n - sy) / 2
            m_p = jnp.where(n_p > 0, (sx + sxy) / 2 / jnp.where(n_p > 0, n_p, 1.0), 0.0)
            m_m = jnp.where(n_m > 0, (sx - sxy) / 2 / jnp.where(n_m > 0, n_m, 1.0), 0.0)
            w = (m_p - m_m) / 2
            return w, -w @ (m_p + m_m) / 2
        gram, rhs = sxx, sxy
        if self.intercept:
            gram = jnp.block([[sxx, sx[:, None]], [sx[None, :], n[None, None]]])
            rhs = jnp.concatenate([sxy, sy[None]])
        sol = _ridge_solve(gram, rhs, self.ridge * n)
        return (sol[:-1], sol[-1]) if self.intercept else (sol, jnp.zeros(()))

    def _fit_logistic(self, segments):
        xs, ys, ws = [], [], []
        for s in segments:
            xs.append(s.data.x.reshape(-1, self.d))
            ys.append(s.data.y.reshape(-1))
            ws.append((s.weight[..., None] * s.data.keep).reshape(-1))
        x, y, wt = jnp.concatenate(xs), jnp.concatenate(ys), jnp.concatenate(ws)
        wt = wt / jnp.maximum(jnp.sum(wt), 1e-300)
        lam = self.ridge

        def loss(theta):
            w, b = theta[:-1], theta[-1] if self.intercept else 0.0
            return jnp.sum(wt * jax.nn.softplus(-y * (x @ w + b))) + lam / 2 * jnp.sum(theta[:-1] ** 2)

        opt = optax.lbfgs()
        value_and_grad = optax.value_and_grad_from_state(loss)

        def step(_, carry):
            theta, state = carry
            value, grad = value_and_grad(theta, state=state)
            updates, state = opt.update(grad, state, theta, value=value, grad=grad, value_fn=loss)
            return optax.apply_updates(theta, updates), state

        theta0 = jnp.zeros(self.d + 1, x.dtype)
        theta, _ = jax.lax.fori_loop(0, self.logistic_steps, step, (theta0, opt.init(theta0)))
        theta = jnp.where(jnp.isfinite(theta), theta, 0.0)
        return theta[:-1], theta[-1] if self.intercept else jnp.zeros(())

    # -- scoring ---------------------------------------------------------------------------
    def accuracy(self, world: ClassifyWorld, params: ClassifyParams):
        """Exact accuracy of a model (no Monte Carlo): Σ_y π_y [a_y(1 − f_y) + (1 − a_y)f_y] with a_y the linear
        rule's accuracy on class y and f_y its flip probability; 1 − p̄ for the label-noise generator."""
        a_p, a_m = class_accuracies(params.w, params.b, world.mu, world.scale**2)
        f_p, f_m = params.flip[0], params.flip[1]
        rule = self.pi_pos * (a_p + f_p * (1 - 2 * a_p)) + (1 - self.pi_pos) * (a_m + f_m * (1 - 2 * a_m))
        truth = 1 - (self.pi_pos * f_p + (1 - self.pi_pos) * f_m)
        return jnp.where(params.use_truth > 0, truth, rule)

    def score(self, key, world: ClassifyWorld, params: ClassifyParams):
        del key
        c = params.counts  # (right dropped, wrong dropped, right kept, wrong kept) as four weighted samples
        sel = selection_stats(jnp.array([True, False, True, False]), jnp.array([False, False, True, True]), c)
        w = params.w
        cos = jnp.where(jnp.linalg.norm(w) > 0, w @ world.bayes_dir / jnp.maximum(jnp.linalg.norm(w), 1e-300), 0.0)
        return {"accuracy": self.accuracy(world, params), "cos_bayes": jnp.where(params.use_truth > 0, 1.0, cos),
                "p": sel.p, "r": sel.r, "q": sel.q, "phi": sel.phi, "psi": sel.psi, "p_star": sel.p_star,
                "kept": sel.kept_count}


def _phi_ratio(m, s):
    """Φ(m/s) with the s = 0 limits: 1 if m > 0, 0 if m < 0, ½ if m = 0 (a tie is a fair coin, as in _chunk)."""
    safe = jnp.where(s > 0, s, 1.0)
    return jnp.where(s > 0, ndtr(m / safe), jnp.where(m > 0, 1.0, jnp.where(m < 0, 0.0, 0.5)))


def class_accuracies(w, b, mu, cov_diag):
    """(P(correct | y = +1), P(correct | y = −1)) of sign(wᵀx + b) with x | y ~ N(yμ, diag(cov_diag)):
    Φ((wᵀμ + b)/s) and Φ((wᵀμ − b)/s), s = sqrt(wᵀΣw) (Feng et al. 2025, stated for b = 0)."""
    s = jnp.sqrt(jnp.sum(w**2 * cov_diag))
    m = w @ mu
    return _phi_ratio(m + b, s), _phi_ratio(m - b, s)


def linear_rule_accuracy(w, b, mu, cov_diag, pi_pos):
    """Exact accuracy of sign(wᵀx + b) on the mixture: π₊Φ((wᵀμ + b)/s) + π₋Φ((wᵀμ − b)/s)."""
    a_p, a_m = class_accuracies(w, b, mu, cov_diag)
    return pi_pos * a_p + (1 - pi_pos) * a_m


def _ridge_solve(gram, rhs, lam):
    """(G + λI)⁻¹ rhs, or the minimum-norm solution G⁺ rhs when λ = 0 (eigh; no NaN for a zero Gram)."""
    vals, vecs = jnp.linalg.eigh(gram)
    eps = jnp.finfo(vals.dtype).eps
    cutoff = vals.shape[-1] * eps * jnp.maximum(jnp.max(jnp.abs(vals)), 1e-300)
    inv = jnp.where(lam > 0, 1.0 / (vals + jnp.where(lam > 0, lam, 1.0)),
                    jnp.where(vals > cutoff, 1.0 / jnp.where(vals > cutoff, vals, 1.0), 0.0))
    return vecs @ (inv * (vecs.T @ rhs))

"""Selectors: the engine's third plug-in beside the family and the data policy.

Between ``generate`` and the policy's ``push`` a selector filters model n − 1's synthetic block. It sees the
block through a :class:`SelectionView` the family computes per sample (distance from the truth, distance
from a verifier model, class, the verifier model's verdict, a score), and

- a *chooser* (``candidates`` = k > 1: best-of-k, reward curation) receives k candidate blocks and picks one
  candidate per row, so the block keeps its size and layout (a fixed design stays fixed);
- a *filter* (oracle, (ϕ, ψ) verifier, window verifier, model verifier) returns per-sample keep weights.

The kept weights multiply the synthetic Segment weights (a mask on the block; see collapse/engine.py).
Accounting (kept fraction r, measured ϕ, ψ, q, p⋆) reuses :mod:`collapse.selection`.

Selectors (``SelectorConfig.kind``):
- none: keep everything.
- oracle: keep iff the sample is correct: error ≤ τ (classification: label right; regression: |y − x·w*| ≤ τ).
- phi-psi: keep a correct sample w.p. ϕ, a wrong one w.p. ψ (Feng et al. 2025, arXiv 2406.07515), per class
  with ``phi_class``/``psi_class``; random: keep w.p. ϕ whatever the sample.
- window: keep iff the distance from the verifier model is ≤ h (Yi et al. 2026, arXiv 2510.16657: keep
  (x, y) iff |y − f_v(x)| ≤ h, f_v offset from the truth by ``offset``).
- model: keep iff the family's verifier model accepts (gmm-classify: sign(w_vᵀx) = y').
- best-of-k: of k candidates per row keep the best-scoring one (score: the family's, else −distance from the
  verifier model).
- curate: K-choice Bradley–Terry / Luce curation (Ferbach et al. 2024, arXiv 2407.09499): of K candidates
  per row pick one with probability ∝ e^{r}, r = −½γ·(distance from the verifier model)².
- tilt: K → ∞ curation, sampled exactly from p ∝ p_model·e^{r} where the family has a closed form
  (``generate_tilted``).

Uniform draws are passed in (one per sample), so a family that selects inside its own sampler
(gmm-classify) reproduces its draws bit for bit. Everything is pure jnp on fixed shapes.
"""

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from collapse.errors import require
from collapse.families.base import TiltFamily
from collapse.selection import best_of_k, safe_ratio, selection_stats

SELECTORS = ("none", "oracle", "phi-psi", "random", "window", "model", "best-of-k", "curate", "tilt")


class SelectionView(NamedTuple):
    """What a family tells a selector about each sample of a block (fields [m], or [k, m] for candidates;
    None = the family cannot provide it).

    error: distance from the truth (≥ 0); the sample is *correct* iff error ≤ τ.
    deviation: distance from the verifier model's prediction (≥ 0).
    group: int class index (0 or 1) for class-specific (ϕ, ψ).
    accept: bool, the family's verifier model accepts the sample.
    score: higher = better, for best-of-k (default: −deviation).
    """

    error: Any = None
    deviation: Any = None
    group: Any = None
    accept: Any = None
    score: Any = None


class Kept(NamedTuple):
    """A block with a selector's per-sample keep weights (leading axes of ``keep`` = the block's), as the
    engine hands it to a policy: an ordinary pytree, so policies stack / slice / replace both together."""

    data: Any
    keep: Any


@dataclass(frozen=True)
class SelectorConfig:
    """Which selector filters the synthetic data, and its parameters (validated here, before any compile).

    kind: one of SELECTORS. tau: correctness threshold (oracle; ϕ, ψ accounting; None = the family's
    ``default_tau``, 0 if it has none). phi, psi: keep rates of a
    correct / wrong sample (phi-psi; random uses phi). phi_class, psi_class: per-class (class +1, class −1)
    rates. h: window half-width (> 0). k: candidates for best-of-k / curate (≥ 1). gamma: reward sharpness γ
    (r = −½γ·deviation², > 0). offset: the verifier model's offset from the truth (family-specific meaning:
    linear: ‖w_v − w*‖ along a random direction; gaussian: the verifier centre is μ + offset in every
    coordinate).
    """

    kind: str = "none"
    tau: float | None = None
    phi: float = 1.0
    psi: float = 1.0
    phi_class: tuple | None = None
    psi_class: tuple | None = None
    h: float = 1.0
    k: int = 1
    gamma: float = 1.0
    offset: float = 0.0

    def __post_init__(self):
        require(self.kind in SELECTORS, "selector", self.kind, f"one of {', '.join(SELECTORS)}")
        for name in ("tau", "phi", "psi", "h", "gamma", "offset"):
            v = getattr(self, name)
            if v is None and name == "tau":
                continue
            require(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v), name, v,
                    "a finite number")
        require(self.tau is None or self.tau >= 0, "tau", self.tau, ">= 0")
        require(0 <= self.phi <= 1, "phi", self.phi, "in [0, 1]")
        require(0 <= self.psi <= 1, "psi", self.psi, "in [0, 1]")
        for name in ("phi_class", "psi_class"):
            v = getattr(self, name)
            if v is not None:
                require(isinstance(v, tuple) and len(v) == 2 and all(0 <= r <= 1 for r in v), name, v,
                        "two values in [0, 1] (class +1, class −1)")
        require(self.h > 0, "h", self.h, "> 0 (the window half-width)")
        require(isinstance(self.k, int) and not isinstance(self.k, bool) and self.k >= 1, "k", self.k,
                "an integer >= 1")
        require(self.kind in ("best-of-k", "curate") or self.k == 1, "k", self.k,
                "1 unless the selector is best-of-k or curate")
        require(self.gamma > 0, "gamma", self.gamma, "> 0")

    @property
    def active(self) -> bool:
        return self.kind != "none"


# -- selectors -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Keep:
    """Filter: keep iff correct (oracle), or by (ϕ, ψ) coins, window, or the model verifier's verdict."""

    kind: str
    tau: float = 0.0
    phi: tuple = (1.0, 1.0)
    psi: tuple = (1.0, 1.0)
    h: float = 1.0
    candidates = 1

    @property
    def needs(self):
        return {"oracle": ("error",), "phi-psi": ("error", "group"), "random": (),
                "window": ("deviation",), "model": ("accept",), "none": ()}[self.kind]

    def keep(self, u, view: SelectionView):
        """bool [m]. u: [m] uniforms (used by phi-psi / random only)."""
        if self.kind == "none":
            return jnp.ones(u.shape, bool)
        if self.kind == "oracle":
            return view.error <= self.tau
        if self.kind == "window":
            return view.deviation <= self.h
        if self.kind == "model":
            return view.accept
        if self.kind == "random":
            return u < self.phi[0]
        # (ϕ, ψ) per class; group 0 = class +1, 1 = class −1 (a family without classes passes zeros)
        group = jnp.zeros(u.shape, int) if view.group is None else view.group
        phi, psi = jnp.asarray(self.phi)[group], jnp.asarray(self.psi)[group]
        return u < jnp.where(view.error <= self.tau, phi, psi)


@dataclass(frozen=True)
class Choose:
    """Chooser among ``candidates`` blocks per row: best-of-k (argmax score) or K-choice Luce curation."""

    kind: str
    candidates: int
    gamma: float = 1.0

    @property
    def needs(self):
        return ("deviation",)

    def score(self, view: SelectionView):
        return -view.deviation if view.score is None else view.score

    def keep(self, u, view: SelectionView):
        return jnp.ones(u.shape, bool)  # a chooser keeps the row it chose

    def choose(self, u, view: SelectionView):
        """int [m]: the chosen candidate of each row; view fields are [k, m], u is [m]."""
        if self.kind == "best-of-k":
            return best_of_k(jnp.moveaxis(self.score(view), 0, -1))
        # Luce choice by the inverse CDF of softmax(r) along the candidates (one uniform per row)
        cdf = jnp.cumsum(jax.nn.softmax(reward(view.deviation, self.gamma), axis=0), axis=0)
        return jnp.minimum(jnp.sum(cdf < u[None], axis=0), self.candidates - 1)


@dataclass(frozen=True)
class Tilt:
    """K → ∞ curation: the family samples p ∝ p_model·e^{r} exactly (``generate_tilted``)."""

    gamma: float
    candidates = 1
    needs = ("deviation",)
    kind = "tilt"

    def keep(self, u, view):
        return jnp.ones(u.shape, bool)


def resolve(cfg: SelectorConfig, family) -> SelectorConfig:
    """``cfg`` with tau = None replaced by the family's ``default_tau`` (0 if it has none)."""
    if cfg.tau is not None:
        return cfg
    return dataclasses.replace(cfg, tau=float(getattr(family, "default_tau", 0.0)))


def make_selector(cfg: SelectorConfig):
    if cfg.kind in ("best-of-k", "curate"):
        return Choose(cfg.kind, cfg.k, cfg.gamma)
    if cfg.kind == "tilt":
        return Tilt(cfg.gamma)
    phi = cfg.phi_class if cfg.phi_class is not None else (cfg.phi, cfg.phi)
    psi = cfg.psi_class if cfg.psi_class is not None else (cfg.psi, cfg.psi)
    return Keep(cfg.kind, 0.0 if cfg.tau is None else cfg.tau, phi, psi, cfg.h)


def reward(deviation, gamma):
    """The quadratic reward r = −½γ·deviation² (its peak is the verifier model)."""
    return -0.5 * gamma * deviation**2


def check_support(cfg: SelectorConfig, family) -> None:
    """ConfigError unless ``family`` provides every view field (and hook) the selector needs."""
    if not cfg.active:
        return
    fields = getattr(family, "selection_fields", None)
    name = getattr(family, "name", type(family).__name__)
    require(fields is not None, "selector", cfg.kind,
            f"'none' for the {name} family (it provides no selection view)")
    sel = make_selector(cfg)
    missing = [f for f in sel.needs if f not in fields]
    if cfg.kind == "phi-psi" and cfg.phi_class is None and cfg.psi_class is None:
        missing = [f for f in missing if f != "group"]
    require(not missing, "selector", cfg.kind,
            f"a selector the {name} family supports (it provides {', '.join(fields) or 'nothing'}; "
            f"'{cfg.kind}' needs {', '.join(missing)})")
    if cfg.kind == "tilt":
        require(isinstance(family, TiltFamily), "selector", cfg.kind,
                f"a selector the {name} family supports (it has no closed-form tilted sampler)")


# -- applying a selector to a generated block ---------------------------------------------------
def _rows(tree, idx):
    m = idx.shape[0]
    return jax.tree_util.tree_map(lambda a: a[idx, jnp.arange(m)], tree)


def select_block(cfg: SelectorConfig, key, generate, view_of, size: int):
    """Generate and select one synthetic block.

    generate: key -> block of ``size`` rows; view_of: block -> SelectionView. Returns (block, keep weights
    [size] float, view of the returned block, mean reward before selection or None).
    """
    sel = make_selector(cfg)
    k_gen, k_choose, k_keep = jax.random.split(key, 3)
    before = None
    if sel.candidates > 1:
        blocks = jax.vmap(generate)(jax.random.split(k_gen, sel.candidates))
        views = jax.vmap(view_of)(blocks)
        if views.deviation is not None:
            before = jnp.mean(reward(views.deviation, cfg.gamma))
        idx = sel.choose(jax.random.uniform(k_choose, (size,)), views)
        block, view = _rows(blocks, idx), _rows(views, idx)
        keep = jnp.ones(size, bool)
    else:
        block = generate(k_gen)
        view = view_of(block)
        if view.deviation is not None:
            before = jnp.mean(reward(view.deviation, cfg.gamma))
        keep = sel.keep(jax.random.uniform(k_keep, (size,)), view)
    return block, keep.astype(jnp.result_type(float)), view, before


def selection_metrics(cfg: SelectorConfig, view: SelectionView, keep, before=None) -> dict:
    """Per-generation statistics of one selection: kept fraction ``sel_r``; with an ``error`` field the
    measured p, q, ϕ, ψ, p⋆ (collapse.selection; correct iff error ≤ τ); with a ``deviation`` field the mean
    reward of the kept samples (``reward_kept``; the generated block's mean when nothing is kept) and of the
    generated block before selection (``reward_generated``). Never NaN: empty ratios take the documented
    values of SelectionStats."""
    kept = keep > 0
    out = {"sel_r": jnp.mean(keep)}
    if view.error is not None:
        s = selection_stats(view.error <= (0.0 if cfg.tau is None else cfg.tau), kept)
        out.update(sel_p=s.p, sel_q=s.q, sel_phi=s.phi, sel_psi=s.psi, sel_p_star=s.p_star)
    if view.deviation is not None:
        r = reward(view.deviation, cfg.gamma)
        generated = jnp.mean(r) if before is None else before
        out["reward_kept"] = safe_ratio(jnp.sum(keep * r), jnp.sum(keep), generated)
        out["reward_generated"] = generated
    return out

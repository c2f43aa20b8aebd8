"""The claims ledger: every closed form and bound, with its provenance and a small configuration that checks it.

A :class:`Claim` names a theory function, says where the result comes from (paper, equation or section, our
docs page) and what kind of result it is (stated / derived / approximate / bound), and carries the family
instance, the :class:`~collapse.config.LoopConfig`, the metric and the generations on which the simulation checks
it. ``experiments.ledger`` runs every claim through ``collapse.engine.Loop`` and ``theory.check.check`` (float64)
and writes ``docs/ledger.md``.

Adding claims from another module (no edit here): define ``ledger_claims()`` in any ``theory/<module>.py``,
returning a list of Claims; :func:`claims` imports every theory module and collects them. A notebook can also
call :func:`register` directly. Pure: builds no arrays, prints nothing.
"""

import dataclasses
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from collapse.config import LoopConfig
from collapse.errors import ConfigError, require
from theory.curves import TheoryCurve

STATUSES = ("stated", "derived", "approximate", "bound")


@dataclass(frozen=True)
class Claim:
    """One checkable result.

    name: unique id, "<topic>/<result>". theory: (family, LoopConfig) -> TheoryCurve or a list of them (the
    dispatchers of theory/*.py qualify). source: the paper (authors, year, arXiv id, equation / section) and our
    docs page. status: stated (in the paper) | derived (by us) | approximate | bound (checked as an upper bound).
    family, loop, metric: what the simulation runs and which of its metrics the curve predicts. generations:
    the 1-based generations checked (None: every one the theory makes a claim on). select: a substring of the
    curve's name, when the theory returns several curves for the metric. quick: part of the CI-sized subset.
    """

    name: str
    theory: Callable
    source: str
    status: str
    family: object
    loop: LoopConfig
    metric: str
    generations: tuple[int, ...] | None = None
    select: str | None = None
    quick: bool = False

    def __post_init__(self):
        require(isinstance(self.name, str) and self.name.strip() != "" and "|" not in self.name, "name", self.name,
                "a non-empty string without '|'")
        require(callable(self.theory), "theory", self.theory, "a callable (family, LoopConfig) -> TheoryCurve(s)")
        require(self.status in STATUSES, "status", self.status, f"one of {', '.join(STATUSES)}")
        require(isinstance(self.loop, LoopConfig), "loop", type(self.loop).__name__, "a LoopConfig")
        require(isinstance(self.metric, str) and self.metric != "", "metric", self.metric, "a metric name")
        if self.generations is not None:
            gens = tuple(self.generations)
            require(len(gens) > 0 and all(isinstance(g, int | np.integer) and not isinstance(g, bool)
                                          and 1 <= g <= self.loop.generations for g in gens),
                    "generations", self.generations, f"integers in 1..{self.loop.generations}")
            object.__setattr__(self, "generations", tuple(int(g) for g in gens))

    @property
    def kind(self) -> str:
        """The curve kind the claim is checked as: an upper bound for status "bound", else an equality."""
        return "upper-bound" if self.status == "bound" else "equality"

    def pick(self, curves) -> TheoryCurve:
        """The one curve of ``curves`` (what ``theory`` returned) this claim checks, restricted to its
        generations (NaN = no claim elsewhere). A curve without a metric predicts the family's main metric,
        which the claim names. Raises ConfigError unless exactly one curve matches."""
        curves = list(curves) if isinstance(curves, list | tuple) else [curves]
        found = [c for c in curves if c.metric in (None, self.metric) and c.kind == self.kind
                 and (self.select is None or self.select in c.name)]
        require(len(found) == 1, "select", self.select,
                f"a name fragment matching exactly one {self.kind} curve for metric {self.metric!r} among "
                f"{[c.name for c in curves]} (found {len(found)})")
        curve = dataclasses.replace(found[0], metric=self.metric)
        if self.generations is None:
            return curve
        keep = np.zeros(len(curve.values), bool)
        keep[np.asarray(self.generations) - 1] = True
        values = np.where(keep, np.asarray(curve.values, float), np.nan)
        se = None if curve.se is None else np.where(keep, np.asarray(curve.se, float), np.nan)
        return dataclasses.replace(curve, values=values, se=se)


_REGISTRY: dict[str, Claim] = {}
_DISCOVERED: set[str] = set()


def register(claim: Claim) -> Claim:
    """Add a claim to the ledger; a second claim with the same name is a ConfigError."""
    require(isinstance(claim, Claim), "claim", type(claim).__name__, "a theory.ledger.Claim")
    if claim.name in _REGISTRY and _REGISTRY[claim.name] != claim:
        raise ConfigError("name", claim.name, "a name not yet registered")
    _REGISTRY[claim.name] = claim
    return claim


def claims() -> list[Claim]:
    """Every registered claim: the built-in ones below, those of each ``theory/<module>.py`` that defines
    ``ledger_claims()``, and any registered by hand — in registration order."""
    import theory

    for info in pkgutil.iter_modules(theory.__path__):
        module = f"theory.{info.name}"
        if module in _DISCOVERED or module == __name__:
            continue
        _DISCOVERED.add(module)
        hook = getattr(importlib.import_module(module), "ledger_claims", None)
        for claim in (hook() if callable(hook) else []):
            register(claim)
    return list(_REGISTRY.values())


def _as_list(found):
    return list(found) if isinstance(found, list | tuple) else [found]


def with_bounds(theory: Callable, bounds: Callable) -> Callable:
    """(family, cfg) -> the curves of ``theory`` followed by those of ``bounds``: one callable for both."""
    def both(family, cfg):
        return _as_list(theory(family, cfg)) + _as_list(bounds(family, cfg))
    both.__name__ = f"{theory.__name__}+{bounds.__name__}"
    both.__module__ = theory.__module__
    return both


# -- the built-in claims: every closed form and bound of theory/{regression,ridge,gaussian,toedit,verification}.py
_DOH = "Dohmatob, Feng & Kempe 2024, arXiv 2402.07712 (docs/papers/dohmatob2024.md)"
_GER = "Gerstgrasser et al. 2024, arXiv 2404.01413 (docs/papers/gerstgrasser2024.md)"
_SHU = "Shumailov et al. 2024, Nature 631 / arXiv 2305.17493 (docs/papers/shumailov2024.md)"
_KAZ = "Kazdan et al. 2024, arXiv 2410.16713 (docs/papers/kazdan2024.md)"
_ZHU = "Zhu et al. 2025, arXiv 2412.14689 (docs/papers/zhu2025.md)"
_FENG = "Feng et al. 2025, arXiv 2406.07515 (docs/papers/feng2025.md)"


# Closed forms with no loop configuration that checks them here, and where they are checked instead.
NOT_IN_LEDGER = (
    ("theory.ridge.ridge_collapse_term", "Dohmatob et al.'s protocol (an OLS chain, then one ridge model) is not a "
     "loop mode; tests/test_theory_ridge.py checks it by Monte Carlo"),
    ("theory.ridge.ridge_trace_moments_de", "approximate (deterministic equivalent); its O(1/d) error is measured "
     "against ridge_trace_moments_mc in tests/test_theory_ridge.py"),
    ("theory.regression.strong_collapse_limit", "a non-iterative mixture with a second rule w₂; no family simulates "
     "it yet"),
    ("theory.gaussian.bertrand_stable", "a sufficient condition, not a curve; docs/papers/bertrand2024.md"),
    ("theory.gaussian.kazdan_limit, theory.regression.fresh_optimal_weight",
     "limits / optima of curves that are in the ledger; tests/test_theory_gaussian.py, test_theory_linear.py"),
    ("theory.toedit.iid_growth_rate", "an asymptotic slope; tests/test_theory_toedit.py checks it against the "
     "recursion and the simulated late slope"),
    ("theory.verification.centroid_limit_accuracy, ls_limit, linear_verifier_rates, best_of_k_error",
     "N → ∞ limits and rate identities; tests/test_theory_verification.py"),
)


def _builtin() -> list[Claim]:
    from collapse.families.gaussian import Gaussian
    from collapse.families.gmm_classify import GMMClassify
    from collapse.families.linear import LinearRegression as Lin
    from theory.gaussian import gaussian_bounds, gaussian_theory
    from theory.regression import linear_bounds, linear_theory
    from theory.verification import gmm_classify_theory

    lin = with_bounds(linear_theory, linear_bounds)  # edit mode: exact recursion + Theorem 1 + the bounds
    gauss = with_bounds(gaussian_theory, gaussian_bounds)
    L = LoopConfig
    base = Lin(d=10, T=40)
    replace, accumulate = L("replace", 10, 2000, seed=1), L("accumulate", 10, 2000, seed=2)
    disjoint = L("edit", 12, 2000, seed=3, edit_schedule="disjoint", edit_fraction=0.1)
    geometric = L("edit", 12, 2000, seed=4, edit_schedule="geometric", edit_fraction=0.2, edit_eta=0.8)
    shu = Gaussian(d=1, T=10)
    shu_loop = L("replace", 200, 4000, seed=11)
    shu_var = L("replace", 10, 4000, seed=12)
    gmm = GMMClassify(d=50, N=500, p=0.3, verifier="phi-psi", phi=0.9, psi=0.4)
    gmm_loop = L("replace", 6, 2000, seed=0)
    return [
        Claim("linear/replace", lin, f"{_DOH}, fresh-design OLS chain; Zhu et al. 2025 replace baseline", "stated",
              base, replace, "E_test"),
        Claim("linear/replace σ₀≠σ, M≠T, fresh design", lin, "derived, docs/linear.md", "derived",
              Lin(d=5, T=20, M=30, sigma0=0.5, design="fresh"), L("replace", 8, 2000, seed=5), "E_test"),
        Claim("linear/accumulate Σ1/i²", lin, f"{_GER}", "stated", base, accumulate, "E_test", quick=True),
        Claim("linear/accumulate π²/6 bound", lin, f"{_GER}", "bound", base, accumulate, "E_test", quick=True),
        Claim("linear/accumulate σ₀≠σ", lin, "derived, docs/linear.md", "derived", Lin(d=10, T=40, sigma0=2.0),
              L("accumulate", 10, 2000, seed=6), "E_test"),
        Claim("linear/fresh w=0.5", lin, "derived (Alemohammad et al. 2023 setting), docs/linear.md", "derived",
              base, L("fresh", 10, 2000, seed=7, real_weight=0.5), "E_test"),
        Claim("linear/mix λ=1", lin, "derived (Bertrand et al. 2024 setting), docs/linear.md", "derived", base,
              L("mix", 10, 2000, seed=8), "E_test"),
        Claim("linear/over-parameterised noiseless, fresh design", lin, f"{_DOH}, noiseless T < d", "stated",
              Lin(d=20, T=10, sigma=0.0, design="fresh"), L("replace", 8, 2000, seed=9), "E_test"),
        Claim("linear/over-parameterised noiseless, fixed design", lin, "derived (idempotent projection), "
              "docs/linear.md", "derived", Lin(d=20, T=10, sigma=0.0), L("replace", 8, 2000, seed=10), "E_test"),
        Claim("ridge/fixed-design chain", lin, "derived, docs/ridge.md §3 (exact per design, averaged over 400)",
              "derived", Lin(d=8, T=20, ridge=0.2, sigma0=0.8, covariance="power-law"),
              L("replace", 6, 2000, seed=11), "E_test"),
        Claim("toedit/exact recursion, disjoint masks", lin, "derived, docs/toedit.md §1", "derived", base,
              disjoint, "E_test", select="exact recursion"),
        Claim("toedit/Theorem 1 as printed, disjoint masks", lin, f"{_ZHU}, Theorem 1 (expectation derived from "
              "the printed statement)", "stated", base, disjoint, "E_test", select="Theorem 1"),
        Claim("toedit/Eq. 6 bound, disjoint masks", lin, f"{_ZHU}, Theorem 2 / Eq. 6", "bound", base, disjoint,
              "E_test", select="Eq. 6"),
        Claim("toedit/c·Φ_n bound (ours), disjoint masks", lin, "ours: large-T limit derived, finite-T bound "
              "conjectured, docs/toedit.md §2", "bound", base, disjoint, "E_test", select="Φ_n"),
        Claim("toedit/exact recursion, geometric masks", lin, "derived, docs/toedit.md §1", "derived", base,
              geometric, "E_test", select="exact recursion"),
        Claim("toedit/η-bound, geometric masks", lin, f"{_ZHU}, Theorem 2 (η-bound)", "bound", base, geometric,
              "E_test", select="η-bound"),
        Claim("toedit/exact recursion, i.i.d. masks", lin, "derived, docs/toedit.md §3", "derived",
              Lin(d=5, T=20), L("edit", 15, 2000, seed=13, edit_schedule="iid", edit_fraction=0.3), "E_test",
              select="exact recursion"),
        Claim("gaussian/replace E σ̂² (unbiased martingale)", gauss, f"{_SHU}", "stated", shu, shu_var, "var",
              quick=True),
        Claim("gaussian/replace E σ̂ = σα_Mⁿ", gauss, f"{_SHU}", "stated", shu, shu_var, "sd", quick=True),
        Claim("gaussian/replace E log σ̂², 200 generations", gauss, "derived (log-χ² sums), docs/gaussian.md",
              "derived", shu, shu_loop, "log_var"),
        Claim("gaussian/replace W₂² = σ²(n/M + 2 − 2α_Mⁿ)", gauss, f"derived in the setting of {_SHU}", "derived",
              shu, shu_var, "w2", quick=True),
        Claim("gaussian/replace E σ̂² (MLE) = σ²((M−1)/M)ⁿ", gauss, f"{_SHU}", "stated",
              Gaussian(d=1, T=10, estimator="mle"), L("replace", 10, 4000, seed=14), "var"),
        Claim("gaussian/replace log det Σ̂, d=2, M≠T", gauss, "derived (Bartlett), docs/gaussian.md", "derived",
              Gaussian(d=2, T=12, M=8, rho=0.5, estimator="mle"), L("replace", 10, 4000, seed=15),
              "logdet_ratio"),
        Claim("gaussian/accumulate Kazdan product", gauss, f"derived in the setting of {_KAZ}", "derived",
              Gaussian(d=1, T=10, estimator="mle"), L("accumulate", 20, 4000, seed=16), "var"),
        Claim("gaussian/accumulate mean-error bound (π²/6)", gauss, "derived bound (Gaussian analogue of "
              f"{_GER})", "bound", Gaussian(d=1, T=10, estimator="mle"), L("accumulate", 20, 4000, seed=16),
              "mean_err"),
        Claim("gaussian/mix λ=1.5 mean error", gauss, "derived (Bertrand et al. 2024 setting), docs/gaussian.md",
              "derived", Gaussian(d=1, T=10), L("mix", 10, 4000, seed=17, mix_ratio=1.5), "mean_err"),
        Claim("gaussian/fresh w=0.3 mean error", gauss, "derived (Alemohammad et al. 2023 setting), "
              "docs/gaussian.md", "derived", Gaussian(d=1, T=10, M=15, refit="mean"),
              L("fresh", 10, 4000, seed=18, real_weight=0.3), "mean_err"),
        Claim("verification/kept fraction r", gmm_classify_theory, f"{_FENG}", "stated", gmm, gmm_loop, "r"),
        Claim("verification/error after selection q", gmm_classify_theory, f"{_FENG}", "stated", gmm, gmm_loop,
              "q"),
        Claim("verification/finite-N centroid accuracy", gmm_classify_theory, "derived in the setting of "
              f"{_FENG}, docs/verification.md §3", "derived", gmm, gmm_loop, "accuracy", generations=(1, 2)),
        Claim("verification/iterated centroid recursion", gmm_classify_theory, "approximate (high-dimensional "
              "concentration), docs/verification.md §5", "approximate", gmm, gmm_loop, "accuracy",
              generations=(3, 4, 5, 6)),
    ]


for _claim in _builtin():
    register(_claim)

"""Model families the CLI knows, with their theory hooks. A new family registers one ModelSpec."""

import dataclasses
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field

from collapse.families.gaussian import ESTIMATORS, REFITS, Gaussian
from collapse.families.gmm import GaussianMixture
from collapse.families.linear import COVARIANCES, DESIGNS, LinearRegression
from theory.gaussian import gaussian_bounds, gaussian_theory
from theory.regression import linear_bounds, linear_theory


@dataclass(frozen=True)
class ModelSpec:
    """How the CLI builds, checks and plots one family.

    family_cls: a frozen dataclass; each field (but ``name``) becomes a flag ``--field-name``.
    theory(family, loop_cfg) -> TheoryCurve for ``main_metric`` (raises TheoryUnavailable, or
    ConfigError when the inputs are outside the formula's range). bounds(...) -> [TheoryCurve].
    """

    name: str
    family_cls: type
    main_metric: str
    metric_label: str
    field_help: dict[str, str]
    choices: dict[str, tuple] = field(default_factory=dict)
    theory: Callable | None = None
    bounds: Callable | None = None
    defaults: dict = field(default_factory=dict)  # CLI defaults that differ from the dataclass's

    def fields(self):
        return [f for f in dataclasses.fields(self.family_cls) if f.name != "name"]


def field_type(cls, name: str):
    """The scalar type of a dataclass field, with ``X | None`` reduced to X. A ``tuple[X, ...]`` field gets a
    parser of comma-separated values ("10,20,50") and ``tuple[tuple[X, ...], ...]`` one of rows separated
    by ';' ("1,0.5;0.5,1")."""
    hint = typing.get_type_hints(cls)[name]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if typing.get_origin(hint) is tuple and typing.get_args(hint):
        inner = typing.get_args(hint)[0]
        if typing.get_origin(inner) is tuple:
            return _tuple_parser(_tuple_parser(typing.get_args(inner)[0], ","), ";")
        return _tuple_parser(inner, ",")
    return hint


def _tuple_parser(item, sep: str):
    def parse(text: str) -> tuple:
        return tuple(item(part.strip()) for part in text.split(sep))
    parse.__name__ = f"'{sep}'-separated list"
    return parse


LINEAR = ModelSpec(
    name="linear",
    family_cls=LinearRegression,
    main_metric="E_test",
    metric_label="E_test = ‖ŵ − w*‖²_Σ",
    field_help={
        "d": "dimension of x",
        "T": "real samples per block (the real training set)",
        "M": "synthetic samples per generation (default: T; mix mode uses round(λ·T))",
        "sigma": "label-noise std of real data σ",
        "sigma0": "label-noise std of synthetic data σ₀ (default: σ)",
        "ridge": "ridge λ in ŵ = (XᵀX + λT I)⁻¹Xᵀy; 0 = min-norm OLS (pinv, safe for T < d)",
        "covariance": "spectrum of Σ: isotropic, or power-law λᵢ ∝ i^(−α) (tr Σ = d)",
        "alpha": "power-law exponent α of Σ's spectrum",
        "design": "fixed: inputs drawn once per replicate; fresh: new inputs for every block",
        "w_norm": "‖w*‖ (w* uniform on that sphere)",
    },
    choices={"covariance": COVARIANCES, "design": DESIGNS},
    theory=linear_theory,
    bounds=linear_bounds,
)

GAUSSIAN = ModelSpec(
    name="gaussian",
    family_cls=Gaussian,
    main_metric="w2",
    metric_label="W₂² to the true Gaussian",
    field_help={
        "d": "dimension",
        "T": "real samples (generation 1's training set)",
        "M": "synthetic samples per generation (default: T)",
        "M_schedule": "synthetic samples per generation n = 2, 3, … as a list, e.g. 10,20,50 (last repeats)",
        "mu": "true mean μ (every coordinate)",
        "std": "true standard deviation σ of each coordinate (of each component, for gmm)",
        "rho": "true correlation ρ between coordinates: Σ = σ²((1−ρ)I + ρ11ᵀ)",
        "cov": "explicit true covariance Σ, rows separated by ';' (e.g. 1,0.5;0.5,1); overrides std and rho",
        "estimator": "covariance divisor: unbiased (N − 1) or mle (N)",
        "refit": "mean-cov: refit μ and Σ each generation; mean: refit μ only (Σ known)",
    },
    choices={"estimator": ESTIMATORS, "refit": REFITS},
    theory=gaussian_theory,
    bounds=gaussian_bounds,
)

GMM = ModelSpec(
    name="gmm",
    family_cls=GaussianMixture,
    main_metric="l2",
    metric_label="L2 distance ∫(p̂ − p)² to the true mixture",
    field_help={
        "d": "dimension",
        "T": "real samples (generation 1's training set)",
        "M": "synthetic samples per generation (default: T)",
        "K": "mixture components (truth and fit)",
        "separation": "distance between neighbouring true component means",
        "std": "true standard deviation σ of each component",
        "em_iters": "EM iteration budget per fit",
        "em_tol": "EM stops when the mean log-likelihood changes by less than em_tol·(1 + |ℓ|)",
        "cov_floor": "added to the diagonal of every fitted covariance",
        "holdout": "held-out real samples per replicate (for heldout_ll)",
    },
)

MODELS = {spec.name: spec for spec in (LINEAR, GAUSSIAN, GMM)}

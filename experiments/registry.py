"""Model families the CLI knows, with their theory hooks. A new family registers one ModelSpec."""

import dataclasses
import typing
from collections.abc import Callable
from dataclasses import dataclass, field

from collapse.families.linear import COVARIANCES, DESIGNS, LinearRegression
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
    """The scalar type of a dataclass field, with ``X | None`` reduced to X."""
    hint = typing.get_type_hints(cls)[name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if args else hint


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

MODELS = {spec.name: spec for spec in (LINEAR,)}

"""Model families the CLI knows, with their theory hooks. A new family registers one ModelSpec."""

import dataclasses
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field

from collapse.families.gaussian import ESTIMATORS, REFITS, Gaussian
from collapse.families.gmm import GaussianMixture
from collapse.families.gmm_classify import GENERATORS, STUDENTS, VERIFIERS, GMMClassify
from collapse.families.linear import COVARIANCES, DESIGNS, LinearRegression
from collapse.families.transformer import TransformerLM
from theory.gaussian import gaussian_bounds, gaussian_theory
from theory.regression import linear_bounds, linear_theory
from theory.verification import gmm_classify_theory


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
    loop_defaults: dict = field(default_factory=dict)  # loop defaults for this family (e.g. fewer replicates)
    demo_preset: str | None = None  # the preset `--model NAME` runs when no other setting is given

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
    return _parse_bool if hint is bool else hint


def _parse_bool(text: str) -> bool:
    """'true'/'1'/'yes' or 'false'/'0'/'no' (argparse's type=bool would read 'false' as True)."""
    value = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(text.strip().lower())
    if value is None:
        raise ValueError(text)
    return value


_parse_bool.__name__ = "boolean (true/false)"


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

GMM_CLASSIFY = ModelSpec(
    name="gmm-classify",
    family_cls=GMMClassify,
    main_metric="accuracy",
    metric_label="accuracy (exact, Φ(wᵀμ/sqrt(wᵀΣw)))",
    field_help={
        "d": "dimension",
        "mu_norm": "‖μ‖: class means ±μ",
        "covariance": "spectrum of Σ: isotropic, or power-law λᵢ ∝ i^(−α) (tr Σ = d)",
        "alpha": "power-law exponent α of Σ's spectrum",
        "pi_pos": "class prior P(y = +1)",
        "N": "synthesized samples per generation",
        "n_real": "real samples (train a linear generator; the real block of accumulate / mix / fresh)",
        "generator": "label-noise: true label flipped w.p. p; linear: sign(w_gᵀx), w_g fitted to n_real real "
                     "samples or given at --generator-angle",
        "p": "generator label-noise probability p in [0, 1]",
        "p_class": "class-specific label noise p₊,p₋ (overrides p)",
        "generator_angle": "a given linear generator at this angle (degrees) from Σ⁻¹μ",
        "verifier": "selection: none, oracle, phi-psi (keep correct w.p. ϕ, wrong w.p. ψ), random (keep w.p. ϕ), "
                    "linear (keep iff sign(w_vᵀx) = y'), best-of-k (pick the candidate the linear verifier scores "
                    "highest)",
        "phi": "ϕ = P(keep | label correct) in [0, 1]",
        "psi": "ψ = P(keep | label wrong) in [0, 1]",
        "phi_class": "class-specific ϕ₊,ϕ₋ (overrides phi)",
        "psi_class": "class-specific ψ₊,ψ₋ (overrides psi)",
        "verifier_angle": "angle (degrees) of the linear / best-of-k verifier from Σ⁻¹μ",
        "k": "candidate labels per input (best-of-k)",
        "student": "centroid (mean of y'x), ls (least squares / ridge), logistic (optax L-BFGS)",
        "ridge": "ridge λ (ls: λ·K·I for K kept samples; logistic: λ/2‖w‖²)",
        "intercept": "fit an intercept (true/false)",
        "logistic_steps": "L-BFGS iterations of the logistic student",
        "chunk": "samples drawn per step of the chunked generation (memory ∝ chunk·d per replicate)",
    },
    choices={"covariance": COVARIANCES, "generator": GENERATORS, "verifier": VERIFIERS, "student": STUDENTS},
    theory=gmm_classify_theory,
)

TRANSFORMER = ModelSpec(
    name="transformer",
    family_cls=TransformerLM,
    main_metric="heldout_ppl",
    metric_label="held-out human perplexity (per byte)",
    field_help={
        "corpus": "human corpus: 'pydoc' (Python's reference docs, ships with Python), a folder of .txt files, "
                  "or a .jsonl file with a 'text' field",
        "T": "human windows per block (generation 1's training set)",
        "M": "synthetic windows per generation (default: T)",
        "holdout": "held-out human windows (validation split) for heldout_ppl",
        "context": "window length L in bytes (the model's context)",
        "width": "transformer width",
        "depth": "transformer blocks",
        "heads": "attention heads (must divide width)",
        "steps": "optimizer steps per generation (the same in every mode: matched compute)",
        "batch": "windows per optimizer step",
        "lr": "peak AdamW learning rate (linear warmup, cosine decay to lr/10)",
        "warmup": "warmup steps",
        "temperature": "sampling temperature (0 = greedy)",
        "top_k": "sample from the k most likely bytes (0 = off)",
        "top_p": "nucleus sampling mass (1 = off)",
        "diag_samples": "windows sampled per generation for the n-gram diagnostics",
        "edit_threshold": "edit mode (--edit-schedule tokens): ToEdit probability threshold in (0, 1]",
        "edit_direction": "edit mode: above edits tokens with prior p >= threshold (ToEdit); below, p <= threshold",
        "edit_top_k": "edit mode: candidates per edited token (the prior's top k, the original token included)",
        "edit_top_p": "edit mode: keep only the candidates inside the prior's nucleus of this mass (1 = off)",
        "edit_beta": "edit mode: redraw weights ∝ p^(1/β), β > 0 (β → 0: the prior's argmax)",
        "prior": "edit mode: model (model n − 1 edits its own training block: iterated ToEdit) or bigram (a byte "
                 "bigram fitted to the block)",
        "dtype": "activation dtype: float32, or bfloat16 on accelerators (parameters stay float32)",
    },
    choices={"edit_direction": ("above", "below"), "prior": ("model", "bigram"), "dtype": ("float32", "bfloat16")},
    loop_defaults={"generations": 5, "replicates": 2, "edit_schedule": "tokens"},  # --mode edit = token editing
    demo_preset="lm-demo",
)

MODELS = {spec.name: spec for spec in (LINEAR, GAUSSIAN, GMM, GMM_CLASSIFY, TRANSFORMER)}

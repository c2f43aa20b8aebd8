"""Theory vs simulation, per generation, with a z-score and a verdict."""

from dataclasses import dataclass

import numpy as np

from collapse import stats
from collapse.errors import ConfigError
from theory.curves import TheoryCurve


def mean_se(samples: np.ndarray):
    """Mean and standard error over the last (replicate) axis, leaving out non-finite replicates (the runner
    reports how many). samples: [..., R]; a check needs R ≥ 2."""
    R = np.shape(samples)[-1]
    if R < 2:
        raise ConfigError("replicates", R, ">= 2 to estimate a standard error")
    return stats.mean_se(samples, axis=-1, skip_nonfinite=True)


@dataclass(frozen=True)
class CheckResult:
    """Per-generation comparison. Arrays are [G]; ``agree`` is the overall verdict."""

    curve: TheoryCurve
    mean: np.ndarray
    se: np.ndarray
    z: np.ndarray
    ok: np.ndarray
    z_tol: float

    @property
    def agree(self) -> bool:
        return bool(np.all(self.ok))

    @property
    def claimed(self) -> np.ndarray:
        """[G] bool: generations where the theory makes a claim (a finite value)."""
        return np.isfinite(np.asarray(self.curve.values, float))

    def summary(self) -> str:
        rel = "within" if self.curve.kind == "equality" else "not above"
        verdict = "AGREES" if self.agree else "DISAGREES"
        claimed = self.claimed
        if not claimed.any():
            return f"{self.curve.name}: no generation checked (theory makes no claim) [{self.curve.source}]"
        worst = int(np.nanargmax(np.where(claimed, np.abs(self.z), np.nan)))
        unchecked = "" if claimed.all() else f", {int((~claimed).sum())} not checked"
        return (f"{self.curve.name}: simulation {verdict} with theory ({rel} {self.z_tol:g} SE at "
                f"{int(self.ok[claimed].sum())}/{int(claimed.sum())} generations{unchecked}; worst z = "
                f"{self.z[worst]:+.2f} at generation {worst + 1}) [{self.curve.source}]")


def check(samples: np.ndarray, curve: TheoryCurve, z_tol: float = 4.0) -> CheckResult:
    """Compare simulated per-replicate values ``samples`` [G, R] with a theory curve.

    z = (mean − theory)/sqrt(SE² + SE_theory²). An equality holds at a generation if |z| < z_tol; an
    upper bound holds unless z ≥ z_tol (the simulation is significantly above it). A NaN theory value
    means "no claim at this generation" (e.g. a mean that R replicates cannot estimate reliably): its z is
    NaN and it counts as agreeing. Non-finite replicates are left out of the mean; a generation where none is
    finite cannot agree with a claim.
    """
    mean, se = mean_se(samples)
    theory = np.asarray(curve.values, float)
    if theory.shape != mean.shape:
        raise ValueError(f"theory has shape {theory.shape} but the simulation has {mean.shape} generations")
    th_se = np.zeros_like(theory) if curve.se is None else np.asarray(curve.se, float)
    scale = np.sqrt(se**2 + th_se**2)
    diff = mean - theory
    with np.errstate(invalid="ignore"):  # NaN theory (no claim) and 0·inf are handled just below
        z = np.divide(diff, scale, out=np.where(diff == 0, 0.0, np.sign(diff) * np.inf), where=scale > 0)
        ok = np.abs(z) < z_tol if curve.kind == "equality" else z < z_tol
    claimed = np.isfinite(theory)
    ok, z = np.where(claimed, ok, True), np.where(claimed, z, np.nan)
    return CheckResult(curve, mean, se, z, ok, z_tol)


@dataclass(frozen=True)
class QuantileCheck:
    """Per-generation comparison of a theory quantile with the simulated replicates. Arrays are [G].

    count: replicates ≤ the theory value; z = (count − Rp)/sqrt(Rp(1 − p)) (for reading only);
    lower/upper: the order-statistic confidence interval of the p-quantile at the level of ±z_tol SE;
    ok: the theory value lies in it (equivalently, count is not in either binomial tail of mass
    ≤ Φ(−z_tol)). NaN theory = no claim (counts as agreeing)."""

    values: np.ndarray
    prob: float
    sample: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    z: np.ndarray
    ok: np.ndarray

    @property
    def agree(self) -> bool:
        return bool(np.all(self.ok))

    def summary(self, name: str = "quantile") -> str:
        claimed = np.isfinite(self.values)
        if not claimed.any():
            return f"{name}: no generation checked"
        worst = int(np.nanargmax(np.where(claimed, np.abs(self.z), np.nan)))
        return (f"{name} (p = {self.prob:g}): simulation {'AGREES' if self.agree else 'DISAGREES'} "
                f"(order-statistic interval, {int(self.ok[claimed].sum())}/{int(claimed.sum())} generations; "
                f"worst z = {self.z[worst]:+.2f} at generation {worst + 1})")


def check_quantile(samples: np.ndarray, values, prob: float, z_tol: float = 4.0) -> QuantileCheck:
    """Compare the theory's ``prob``-quantile ``values`` [G] with simulated replicates ``samples`` [G, R].

    Distribution-free: if v is the true p-quantile of a continuous law, the number of replicates ≤ v is
    Bin(R, p). The theory agrees at a generation unless that count falls in a binomial tail of mass
    ≤ Φ(−z_tol) (either side) — the same false-alarm rate as |z| ≥ z_tol for a mean, without assuming the
    replicates are normal or that the quantile's SE is known. Needs R ≥ 2."""
    from scipy.stats import binom, norm

    samples = np.asarray(samples, float)
    R = samples.shape[-1]
    if R < 2:
        raise ConfigError("replicates", R, ">= 2 for a quantile check")
    if not 0 < prob < 1:
        raise ConfigError("prob", prob, "in (0, 1)")
    values = np.asarray(values, float)
    if values.shape != samples.shape[:-1]:
        raise ValueError(f"theory has shape {values.shape} but the simulation has {samples.shape[:-1]} generations")
    alpha = norm.sf(z_tol)
    count = np.sum(samples <= values[:, None], axis=-1)
    ok = (binom.cdf(count, R, prob) > alpha) & (binom.sf(count - 1, R, prob) > alpha)
    lo_rank = int(binom.ppf(alpha, R, prob))  # order statistics bracketing the quantile at that level
    hi_rank = min(int(binom.isf(alpha, R, prob)) + 1, R)
    ordered = np.sort(samples, axis=-1)
    lower, upper = ordered[:, max(lo_rank - 1, 0)], ordered[:, hi_rank - 1]
    z = (count - R * prob) / np.sqrt(R * prob * (1 - prob))
    claimed = np.isfinite(values)
    return QuantileCheck(values, prob, np.quantile(samples, prob, axis=-1), lower, upper,
                         np.where(claimed, z, np.nan), np.where(claimed, ok, True))

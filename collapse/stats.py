"""The one mean ± standard-error helper of the toolkit (simulation checks and every report use it)."""

import numpy as np


def mean_se(values, axis: int = -1, single_se=None, skip_nonfinite: bool = False):
    """Mean and standard error of the mean of ``values`` along ``axis`` (SE = sample SD with ddof 1 / √n).

    With a single value along ``axis`` there is no spread to estimate: the SE is then ``single_se`` when the
    caller has another estimate of it (e.g. the within-run SE over a test set), else NaN — never 0.
    skip_nonfinite: leave NaN and ±inf values out (n is then the count of finite values at each position; the
    caller reports how many were left out — see :func:`nonfinite_count`). Scalars come back as floats, arrays as
    arrays.
    """
    a = np.asarray(values, float)
    if skip_nonfinite and not np.isfinite(a).all():
        finite = np.isfinite(a)
        n = finite.sum(axis=axis)
        masked = np.where(finite, a, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = masked.sum(axis=axis) / n
            dev = np.where(finite, a - np.expand_dims(mean, axis), 0.0)
            se = np.sqrt((dev**2).sum(axis=axis) / (n - 1) / n)
        se = np.where(n > 1, se, np.nan)
        mean = np.where(n > 0, mean, np.nan)
        return (float(mean), float(se)) if np.ndim(mean) == 0 else (mean, se)
    mean = a.mean(axis=axis)
    if a.shape[axis] > 1:
        se = a.std(axis=axis, ddof=1) / np.sqrt(a.shape[axis])
    else:
        se = np.broadcast_to(np.asarray(np.nan if single_se is None else single_se, float), np.shape(mean)).copy()
    if np.ndim(mean) == 0:
        return float(mean), float(se)
    return mean, se


def nonfinite_count(values, axis: int = -1):
    """How many entries along ``axis`` are NaN or ±inf."""
    return (~np.isfinite(np.asarray(values, float))).sum(axis=axis)

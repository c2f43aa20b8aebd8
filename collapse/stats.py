"""The one mean ± standard-error helper of the toolkit (simulation checks and every report use it)."""

import numpy as np


def mean_se(values, axis: int = -1, single_se=None):
    """Mean and standard error of the mean of ``values`` along ``axis`` (SE = sample SD with ddof 1 / √n).

    With a single value along ``axis`` there is no spread to estimate: the SE is then ``single_se`` when the
    caller has another estimate of it (e.g. the within-run SE over a test set), else NaN — never 0.
    Scalars come back as floats, arrays as arrays.
    """
    a = np.asarray(values, float)
    mean = a.mean(axis=axis)
    if a.shape[axis] > 1:
        se = a.std(axis=axis, ddof=1) / np.sqrt(a.shape[axis])
    else:
        se = np.broadcast_to(np.asarray(np.nan if single_se is None else single_se, float), np.shape(mean)).copy()
    if np.ndim(mean) == 0:
        return float(mean), float(se)
    return mean, se

"""What a theory function hands to the checker: a per-generation curve with its provenance."""

from dataclasses import dataclass

import numpy as np

KINDS = ("equality", "upper-bound")


class TheoryUnavailable(Exception):
    """No closed form covers this configuration; the message says which assumption fails."""


@dataclass(frozen=True)
class TheoryCurve:
    """Theory value per generation n = 1..G.

    values: [G]. se: [G] Monte-Carlo standard error when the theory is itself an average over random
    designs (0 for closed forms). kind: "equality" (simulation mean should match) or "upper-bound"
    (simulation mean should not exceed). source: citation and status (stated / derived / bound).
    metric: the simulated metric it predicts (None: the family's main metric).
    """

    name: str
    values: np.ndarray
    source: str
    kind: str = "equality"
    se: np.ndarray | None = None
    metric: str | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}; got kind={self.kind!r}")

"""Loop configuration: which policy builds each generation's training set, and how long to run."""

from dataclasses import dataclass
from typing import Literal, get_args

from collapse.errors import require
from collapse.validate import check_fields

Mode = Literal["replace", "accumulate", "accumulate-subsample", "mix", "fresh", "edit"]
MODES = get_args(Mode)
EditSchedule = Literal["disjoint", "geometric", "iid", "confidence", "explicit", "tokens", "leverage", "adversarial"]
EDIT_SCHEDULES = get_args(EditSchedule)


@dataclass(frozen=True)
class LoopConfig:
    """One self-consuming run.

    Generation indexing (one convention for the whole toolkit): generations are n = 1, …, G.
    Generation 1 trains on real data only; generation n > 1 trains on a set that ``mode`` forms from
    real data and the synthetic data of generations < n.

    mode: replace | accumulate | accumulate-subsample | mix | fresh (docs/papers/README.md, loop vocabulary).
    mix_ratio: λ in mix mode — each generation adds round(λ·T) synthetic samples to the fixed real set.
    real_weight: w in fresh mode — the weight of the new real sample (synthetic gets 1 − w).
    budget: the sample budget of accumulate-subsample, drawn without replacement from the pool
        (default: the real sample size).
    edit_schedule, edit_fraction, edit_eta, edit_masks: edit mode (Zhu et al. 2025, Eq. 3), where
        generation n ≥ 2 trains on the previous training labels with the entries of mask M_{n−1}
        replaced by labels from model n−1. Schedules: "disjoint" (round(f·T) never-edited labels per
        generation, each label edited at most once), "geometric" (disjoint, round(f·T·η^(n−2)) labels),
        "iid" (each label independently with probability f, overlapping), "confidence" (the round(f·T)
        labels the current model fits best), "explicit" (``edit_masks``: G − 1 rows of T zeros/ones,
        row j forming generation j + 2), "tokens" (token-level ToEdit: the family's ``edit`` operator
        rewrites the current block with model n − 1 as the prior; which tokens change is decided by the
        family's edit rule, not by f — see collapse/lm/edit.py), "leverage" (disjoint, round(f·T) labels per
        generation, the never-edited rows of highest leverage hᵢ = xᵢᵀ(XᵀX)⁻¹xᵢ first), "adversarial" (disjoint,
        round(f·T) per generation, the rows most aligned with the weakest direction of XᵀX first). Both depend
        on the design only (not on the noise) and need a family that exposes it (``design_matrix``); they
        show that the c·Φ bound for disjoint masks needs masks independent of the design (docs/toedit.md).
    """

    mode: str = "replace"
    generations: int = 10
    replicates: int = 2000
    seed: int = 0
    mix_ratio: float = 1.0
    real_weight: float = 0.5
    budget: int | None = None
    edit_schedule: EditSchedule = "disjoint"
    edit_fraction: float = 0.1
    edit_eta: float = 1.0
    edit_masks: tuple | None = None

    def __post_init__(self):
        check_fields(self)
        from collapse.policies import policy_names  # registered modes too (policies import this module)

        require(self.mode in policy_names(), "mode", self.mode, f"one of {', '.join(policy_names())}")
        require(isinstance(self.generations, int) and self.generations >= 1, "generations",
                self.generations, "an integer >= 1")
        require(isinstance(self.replicates, int) and self.replicates >= 1, "replicates",
                self.replicates, "an integer >= 1")
        require(0 <= self.seed < 2**63, "seed", self.seed, "an integer in [0, 2**63)")
        require(self.mix_ratio > 0, "mix_ratio", self.mix_ratio, "> 0")
        require(0 < self.real_weight <= 1, "real_weight", self.real_weight, "in (0, 1]")
        require(self.budget is None or (isinstance(self.budget, int) and self.budget >= 1), "budget",
                self.budget, "an integer >= 1")
        require(self.edit_schedule in EDIT_SCHEDULES, "edit_schedule", self.edit_schedule,
                f"one of {', '.join(EDIT_SCHEDULES)}")
        require(0 <= self.edit_fraction <= 1, "edit_fraction", self.edit_fraction, "in [0, 1]")
        require(0 < self.edit_eta <= 1, "edit_eta", self.edit_eta, "in (0, 1]")
        if self.edit_masks is not None:
            rows = self.edit_masks
            require(isinstance(rows, tuple) and all(isinstance(r, tuple) for r in rows), "edit_masks",
                    type(rows).__name__, "a tuple of rows (G − 1 rows of T zeros/ones)")
            require(len(rows) == self.generations - 1, "edit_masks", f"{len(rows)} rows",
                    f"generations − 1 = {self.generations - 1} rows")
            bad = sorted({v for r in rows for v in r} - {0, 1})
            require(not bad, "edit_masks", f"values {bad[:3]}", "zeros and ones only")
        require((self.edit_schedule == "explicit") == (self.edit_masks is not None), "edit_masks",
                "given" if self.edit_masks is not None else None,
                "given exactly when edit_schedule is 'explicit'")

"""Loop configuration: which policy builds each generation's training set, and how long to run."""

from dataclasses import dataclass

from collapse.errors import require

MODES = ("replace", "accumulate", "accumulate-subsample", "mix", "fresh")


@dataclass(frozen=True)
class LoopConfig:
    """One self-consuming run.

    Generation indexing (one convention for the whole toolkit): generations are n = 1, …, G.
    Generation 1 trains on real data only; generation n > 1 trains on a set that ``mode`` forms from
    real data and the synthetic data of generations < n.

    mode: replace | accumulate | accumulate-subsample | mix | fresh (papers.md §4).
    mix_ratio: λ in mix mode — each generation adds round(λ·T) synthetic samples to the fixed real set.
    real_weight: w in fresh mode — the weight of the new real sample (synthetic gets 1 − w).
    budget: the sample budget of accumulate-subsample, drawn without replacement from the pool
        (default: the real sample size).
    """

    mode: str = "replace"
    generations: int = 10
    replicates: int = 1000
    seed: int = 0
    mix_ratio: float = 1.0
    real_weight: float = 0.5
    budget: int | None = None

    def __post_init__(self):
        require(self.mode in MODES, "mode", self.mode, f"one of {', '.join(MODES)}")
        require(isinstance(self.generations, int) and self.generations >= 1, "generations",
                self.generations, "an integer >= 1")
        require(isinstance(self.replicates, int) and self.replicates >= 1, "replicates",
                self.replicates, "an integer >= 1")
        require(isinstance(self.seed, int) and self.seed >= 0, "seed", self.seed, "an integer >= 0")
        require(self.mix_ratio > 0, "mix_ratio", self.mix_ratio, "> 0")
        require(0 < self.real_weight <= 1, "real_weight", self.real_weight, "in (0, 1]")
        require(self.budget is None or (isinstance(self.budget, int) and self.budget >= 1), "budget",
                self.budget, "an integer >= 1")

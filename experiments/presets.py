"""Named presets: a set of runs that together reproduce one published figure.

``python -m experiments.gen_loop --preset NAME`` runs each member into its own folder under --out, draws
them on one figure (saved to --out and to figures/NAME.png) and prints a verdict per member. --replicates,
--generations and --seed given on the command line override every member's value (for a quick look).
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PresetRun:
    label: str
    model: str
    family: dict
    loop: dict
    panel: str = ""  # members with the same panel share a subplot


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    runs: tuple[PresetRun, ...]
    log_y: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)
    report: str | None = None  # "module:function" taking [(label, Outcome)], returning a Markdown table


_LIN = {"d": 10, "T": 40, "sigma": 1.0}
_LOOP = {"generations": 20, "replicates": 2000, "seed": 0}

PRESETS = {p.name: p for p in (
    Preset(
        "linear-modes",
        "Linear regression, every data policy side by side (d=10, T=40, σ=1, 20 generations): replace grows "
        "as σ²d n/(T−d−1) (Dohmatob et al. 2024); accumulate stays under the π²/6 bound (Gerstgrasser et al. "
        "2024); accumulate-subsample, mix and fresh for comparison.",
        (
            PresetRun("replace", "linear", _LIN, {**_LOOP, "mode": "replace"}),
            PresetRun("accumulate", "linear", _LIN, {**_LOOP, "mode": "accumulate"}),
            PresetRun("accumulate-subsample", "linear", _LIN, {**_LOOP, "mode": "accumulate-subsample"}),
            PresetRun("mix λ=1", "linear", _LIN, {**_LOOP, "mode": "mix", "mix_ratio": 1.0}),
            PresetRun("fresh w=0.618", "linear", _LIN, {**_LOOP, "mode": "fresh", "real_weight": 0.618}),
        ),
        log_y=True,
    ),
    Preset(
        "linear-overparam",
        "Noiseless over-parameterized OLS (d=50): a fresh design each generation forgets w* as "
        "‖w*‖²(1 − (T/d)ⁿ) (Dohmatob et al. 2024); a fixed design freezes after one projection.",
        tuple(
            PresetRun(f"T={T}, {design} design", "linear", {"d": 50, "T": T, "sigma": 0.0, "design": design},
                      {**_LOOP, "generations": 15, "mode": "replace"})
            for T in (10, 25, 40) for design in ("fresh", "fixed")
        ),
    ),
)}

"""Run the feedback presets directly and write figures/<preset>.png (until the catalog wires selectors).

PYTHONPATH=. python -m experiments.feedback.make_figures
"""

import sys
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

from experiments.feedback import figures  # noqa: E402
from experiments.feedback.study import PRESETS, run_preset  # noqa: E402


def main(names=None):
    out = Path("figures")
    out.mkdir(exist_ok=True)
    for preset in PRESETS:
        if names and preset.name not in names:
            continue
        runs = run_preset(preset)
        draw = getattr(figures, preset.figure.split(":")[1])
        (out / f"{preset.name}.png").write_bytes(draw(runs))
        for label, _, cfg, _sel, m in runs:
            key = "E_test" if "E_test" in m else "reward_generated"
            last = m[key][-1]
            extra = f" trace={m['trace'][-1].mean():.4g}" if "trace" in m else ""
            print(f"{preset.name} | {label}: {key}[G={cfg.generations}] = {last.mean():.5g} ± "
                  f"{last.std(ddof=1) / len(last) ** 0.5:.2g}; {key}[2] = {m[key][1].mean():.5g}; "
                  f"sel_r[G] = {m['sel_r'][-1].mean() if 'sel_r' in m else 1.0:.3f}{extra}")


if __name__ == "__main__":
    main(sys.argv[1:])

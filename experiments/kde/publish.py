"""Run the KDE presets and write their figures to figures/ (until the catalog lists the kde study, after which
``python -m experiments.gen_loop --preset NAME --publish`` does the same).

    PYTHONPATH=. python -m experiments.kde.publish [preset ...]
"""

import sys
from pathlib import Path

import jax

from experiments import catalog, run_engine
from experiments.gen_loop import engine_runs
from experiments.kde.study import PRESETS, STUDIES


def main(names) -> int:
    jax.config.update("jax_enable_x64", True)
    studies = {s.name: s for s in STUDIES}
    for preset in PRESETS:
        if names and preset.name not in names:
            continue
        study = studies.get(preset.study) or catalog.study(preset.study)
        runs = [(m.label, m.panel, {**preset.settings, **m.settings}) for m in preset.members]
        opts = run_engine.Options(out=Path("runs") / f"preset-{preset.name}", publish=True, quiet=True)
        run_engine.run(study, engine_runs(study, runs), preset, opts)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Re-run every claim of theory/ledger.py and write the ledger table (docs/ledger.md).

    python -m experiments.ledger [--quick] [--out docs/ledger.md] [--only TEXT] [--z-tol 4]

Each distinct (family, LoopConfig) is simulated once through ``collapse.engine.Loop`` in float64; each claim's
curve is checked with ``theory.check.check``. ``--quick`` runs only the claims marked ``quick`` (at most
QUICK_REPLICATES replicates) and lists the others as not run, so the table still has one row per claim.
"""

import argparse
import dataclasses
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)  # theory checks run in float64; set before any array exists

import numpy as np  # noqa: E402

from collapse.engine import Loop  # noqa: E402
from theory.check import check  # noqa: E402
from theory.ledger import NOT_IN_LEDGER, claims  # noqa: E402

QUICK_REPLICATES = 1000
COLUMNS = ("claim", "status", "verdict", "worst z (gen)", "max rel. dev.", "theory curve", "source", "configuration")
NOT_RUN = "not run (--quick)"


def describe(obj) -> str:
    """A dataclass as Name(field=value, …), listing only fields that differ from their defaults."""
    parts = []
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        default = f.default if f.default is not dataclasses.MISSING else None
        if value != default or f.name in ("mode", "generations", "replicates", "seed"):
            parts.append(f"{f.name}={value!r}" if isinstance(value, str) else f"{f.name}={value}")
    return f"{type(obj).__name__}({', '.join(parts)})"


def full(obj) -> str:
    """A dataclass with every field (the defaults of a family, for the ledger's header)."""
    fields = (f for f in dataclasses.fields(obj) if f.name != "name")
    return f"{type(obj).__name__}({', '.join(f'{f.name}={getattr(obj, f.name)!r}' for f in fields)})"


def _pct(x: float, sign: str = "") -> str:
    """A relative deviation in percent, with at least two significant digits when it is small."""
    return f"{x:{sign}.1%}" if abs(x) >= 0.01 else f"{x * 100:{sign}.2g}%"


def judge(claim, result) -> tuple[str, str, str]:
    """(verdict, worst z with its generation, largest relative deviation) of one claim's check."""
    claimed = result.claimed
    if not claimed.any():
        return "no generation claimed", "—", "—"
    theory = np.asarray(result.curve.values, float)
    gens = np.flatnonzero(claimed)
    z = result.z[gens]
    rel = result.mean[gens] / np.where(theory[gens] != 0, theory[gens], np.nan) - 1
    ok = result.ok[gens]
    if claim.kind == "upper-bound":
        i = int(np.argmax(z))
        worst = f"{z[i]:+.2f} ({gens[i] + 1})"
        excess = _pct(np.nanmax(rel), "+")
        if ok.all():
            return "holds", worst, excess
        bad = gens[~ok]
        j = bad[int(np.argmax(result.mean[bad] - theory[bad]))]
        return (f"VIOLATED at {len(bad)}/{len(gens)} generations, by up to {result.mean[j] - theory[j]:.4g} "
                f"({_pct(result.mean[j] / theory[j] - 1, '+')}) at generation {j + 1}", worst, excess)
    i = int(np.argmax(np.abs(z)))
    worst = f"{z[i]:+.2f} ({gens[i] + 1})"
    dev = _pct(np.nanmax(np.abs(rel)))
    within = f"within {result.z_tol:g} SE at {int(ok.sum())}/{len(gens)} generations"
    if claim.status == "approximate":
        return f"approximate: {within}", worst, dev
    return ("agrees" if ok.all() else f"DISAGREES ({within})"), worst, dev


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def run(selected, quick: bool, z_tol: float, log=print):
    """[(claim, loop run, verdict, worst, dev, curve name)], simulating each (family, loop) once."""
    sims, curves, rows = {}, {}, []
    for claim in selected:
        loop = claim.loop
        if quick:
            loop = dataclasses.replace(loop, replicates=min(loop.replicates, QUICK_REPLICATES))
        key = (claim.family, loop)
        try:
            if key not in sims:
                start = time.perf_counter()
                sims[key] = Loop(claim.family, loop).run().metrics
                log(f"  simulated {describe(claim.family)} / {loop.mode}, G={loop.generations}, "
                    f"R={loop.replicates} in {time.perf_counter() - start:.1f} s")
            tkey = (claim.theory, claim.family, loop)
            if tkey not in curves:
                curves[tkey] = claim.theory(claim.family, loop)
            curve = claim.pick(curves[tkey])
            if sims[key][claim.metric].dtype != np.float64:  # a float32 metric cannot back a theory verdict
                raise RuntimeError(f"metric {claim.metric} is {sims[key][claim.metric].dtype}, not float64")
            result = check(sims[key][claim.metric], curve, z_tol)
            rows.append((claim, loop, *judge(claim, result), curve.name))
        except Exception as err:  # one broken claim must not hide the others' verdicts
            rows.append((claim, loop, f"ERROR: {type(err).__name__}: {err}", "—", "—", "—"))
        log(f"{claim.name}: {rows[-1][2]}")
    return rows


def render(rows, skipped, quick: bool, seconds: float, z_tol: float) -> str:
    command = "python -m experiments.ledger" + (" --quick" if quick else "")
    lines = [
        "# Claims ledger",
        "",
        f"Generated by `{command}` (float64, {jax.device_count()} {jax.default_backend()} device(s), "
        f"{seconds / 60:.1f} min). Do not edit by hand: each row comes from a claim registered in "
        "`theory/ledger.py` (or a theory module's `ledger_claims()`), simulated through `collapse.engine.Loop` "
        "and checked with `theory.check.check`.",
        "",
        f"Verdicts: **agrees** — every claimed generation within {z_tol:g} SE (z combines the simulation's SE "
        "and the theory's own Monte-Carlo SE, if any); **DISAGREES** — some generation off by more; **holds** / "
        f"**VIOLATED** — a bound, violated where the simulation exceeds it by {z_tol:g} SE or more (the amount is "
        "the largest excess); **approximate** — an approximation, reported with its worst z and relative error, "
        "not judged. Worst z: the largest |z| (for a bound the largest z) and its generation. Max rel. dev.: the "
        "largest |simulation/theory − 1| (for a bound, the largest simulation/bound − 1: negative means margin). "
        "Statuses and sources: docs/papers/README.md.",
        "",
        "Configurations list only the fields that differ from their defaults: "
        + "; ".join(sorted({full(type(c.family)()) for c, *_ in rows} | {full(type(c.family)()) for c in skipped}))
        + ".",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for claim, loop, verdict, worst, dev, curve in rows:
        config = f"{describe(claim.family)}; {describe(loop)}; metric {claim.metric}"
        if claim.generations is not None:
            config += f"; generations {','.join(map(str, claim.generations))}"
        cells = (claim.name, claim.status, verdict, worst, dev, curve, claim.source, config)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    for claim in skipped:
        config = f"{describe(claim.family)}; {describe(claim.loop)}; metric {claim.metric}"
        lines.append("| " + " | ".join(_cell(c) for c in (claim.name, claim.status, NOT_RUN, "—", "—", "—",
                                                          claim.source, config)) + " |")
    lines += ["", "## Closed forms without a ledger row", "",
              "These are checked by the test suite, not by a loop configuration:", ""]
    lines += [f"- `{name}` — {why}" for name, why in NOT_IN_LEDGER]
    return "\n".join(lines) + "\n"


def parse_table(text: str) -> list[dict]:
    """The ledger table's rows as dicts keyed by COLUMNS (for tests and tools)."""
    rows = []
    for line in text.splitlines():
        if not line.startswith("| ") or line.startswith("| claim |"):
            continue
        cells = [c.strip().replace("\\|", "|") for c in line.strip()[2:-2].split(" | ")]
        if len(cells) != len(COLUMNS):
            raise ValueError(f"a ledger row has {len(cells)} cells, expected {len(COLUMNS)}: {line[:80]}")
        rows.append(dict(zip(COLUMNS, cells, strict=True)))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.ledger", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the claims marked quick (CI-sized)")
    parser.add_argument("--out", default="docs/ledger.md", help="where to write the table (default: %(default)s)")
    parser.add_argument("--only", default=None, help="only claims whose name contains this text")
    parser.add_argument("--z-tol", type=float, default=4.0, help="agreement tolerance in SE (default: %(default)s)")
    args = parser.parse_args(argv)
    every = [c for c in claims() if args.only is None or args.only in c.name]
    selected = [c for c in every if c.quick or not args.quick]
    skipped = [c for c in every if c not in selected]
    start = time.perf_counter()
    rows = run(selected, args.quick, args.z_tol, log=lambda m: print(m, file=sys.stderr, flush=True))
    text = render(rows, skipped, args.quick, time.perf_counter() - start, args.z_tol)
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write(text)
    print(f"wrote {args.out}: {len(rows)} claims checked, {len(skipped)} not run", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

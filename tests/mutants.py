"""Checks the differential tests' teeth: breaks the gateware on purpose, one mutation at a time, and reports which
of the core's cocotb tests catch each (not collected by pytest; run by hand, ~1-2 minutes a mutation)::

    .venv/bin/python tests/mutants.py [--ticks 100000] [--compact-ticks 20000] [--seed 1] [NAME ...]

Each mutation replaces one exact piece of text in one gateware file (the replacement must match once, so a
refactoring that moves the code makes the script fail loudly rather than test nothing). The mutated package is a
copy of the package (api/, with hw/, host/ and sim/ below it) in a temporary folder put first on PYTHONPATH, so
it shadows the installed one; only the gateware file named is changed. The core is built for the
mutant (a new Verilog text, so a new Verilator build) and runs every directed scenario and ``--ticks`` random ticks.

For each mutant it prints the scenarios that failed and where the random stream first disagreed: the segment
(10,000 ticks each, the same streams in a run of 20,000 as in one of 100,000) and the tick in it. The default tier's
size for the default core (tests/test_core_sim.py) was chosen from this table (docs/verification.md).
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# name -> (core, file, text, replacement, what it breaks). "default": CoreParams(); "icebreaker": the compact leg.
MUTANTS = {
    "threshold-buy-non-strict": (
        "default", "hw/hedge_leg.py", "below = target_q - qt ", "below = target_q - qt + 1 ",
        "BUY re-hedges at |dev| >= Qt instead of > Qt"),
    "threshold-sell-non-strict": (
        "default", "hw/hedge_leg.py", "above = target_q + qt ", "above = target_q + qt - 1 ",
        "SELL re-hedges at |dev| >= Qt instead of > Qt"),
    "limit-buy-boundary": (
        "default", "hw/hedge_leg.py", "limit_minus_min1 = reg(limit - min_minus_one,",
        "limit_minus_min1 = reg(limit - min_qty,", "BUY blocked one short of limit - min_qty"),
    "limit-sell-boundary": (
        "default", "hw/hedge_leg.py", "min_minus_limit1 = reg(min_minus_one - limit,",
        "min_minus_limit1 = reg(min_qty - limit,", "SELL blocked one short of min_qty - limit"),
    "limit-clip": (
        "default", "hw/hedge_leg.py", "upper = reg(Mux(t_le_limit, target, limit),",
        "upper = reg(Mux(t_le_limit, target, limit - 1),", "BUY clipped at limit - 1"),
    "gamma-rounding-tie": (
        "default", "hw/hedge_leg.py", "Mux(gamma_neg_2, (1 << 15) - 1, 1 << 15)", "Mux(gamma_neg_2, 1 << 15, 1 << 15)",
        "gamma term's ties rounded up for negative products"),
    "target-rounding-tie": (
        "default", "hw/hedge_leg.py", "Mux(y_neg, (1 << 15) - 1, 1 << 15)", "Mux(y_neg, 1 << 15, 1 << 15)",
        "target's ties rounded up for negative products"),
    "band-edge": (
        "default", "hw/hedge_leg.py", "~Cat(C(1, 1), r[\"band_hi\"])", "~Cat(C(0, 1), r[\"band_hi\"])",
        "mid = band_hi outside the band when bb + ba is odd"),
    "reciprocal-floor": (
        "default", "hw/threshold_divider.py", "Const(_DIVISOR - 1, THRESHOLD_RECIP_SHIFT)",
        "Const(0, THRESHOLD_RECIP_SHIFT)", "threshold reciprocal floored instead of ceiled"),
    "book-delete-shift": (
        "default", "hw/book_side.py", "sources[i][Source.UP].eq(any_match & (better[i] | match[i]))",
        "sources[i][Source.UP].eq(any_match & better[i])", "a deleted level is not shifted out"),
    "compact-target-rounding-sign": (
        "icebreaker", "hw/compact_hedge_leg.py", "init.eq((1 << 15) - (~position_neg ^ ratio_eff[-1]))",
        "init.eq(1 << 15)", "compact leg: target's rounding term without its sign correction"),
    "compact-cap-room-inverted": (
        "icebreaker", "hw/compact_hedge_leg.py",
        "\"cap_room\": flags[\"cap_room\"], \"keep_room\": ~flags[\"cap_room\"]",
        "\"cap_room\": ~flags[\"cap_room\"], \"keep_room\": flags[\"cap_room\"]",
        "compact leg: the position-limit cap's sense inverted"),
}

CORES = {
    "default": "CoreParams()",
    "icebreaker": "CoreParams(symbols=1, levels=10, legs=1, price_width=16, qty_width=16, compact_book=True, "
                  "compact_leg=True)",
}

_RUN = """
import json, sys
from pathlib import Path
from hedgegate.hw.params import CoreParams
from hedgegate.sim.runner import run_testbench
log = Path(sys.argv[1])
tests, failed = run_testbench({core}, "hedgegate.sim.test_core", log_file=log,
                              env={{"HEDGEGATE_TICKS": sys.argv[2], "HEDGEGATE_SEED": sys.argv[3]}})
print(json.dumps([tests, failed]))
"""


def mutate(folder: Path, file: str, text: str, replacement: str):
    shutil.copytree(ROOT / "api", folder / "hedgegate")            # the package itself (its __init__.py) ...
    for part in ("hw", "host", "sim"):                              # ... and its subpackages, as installed
        shutil.copytree(ROOT / part, folder / "hedgegate" / part)
    path = folder / "hedgegate" / file
    source = path.read_text()
    if source.count(text) != 1:
        raise SystemExit(f"mutants: {file}: {text!r} occurs {source.count(text)} times (expected once)")
    path.write_text(source.replace(text, replacement))


def failures(log: str) -> tuple[list[str], str]:
    """(failed scenario tests, where the random stream first disagreed) from a cocotb log."""
    failed = sorted(set(re.findall(r"(test_\w+) failed", log)) - {"test_random"})
    random_result = "passed"
    if "test_random failed" in log:
        segments = re.findall(r"random segment (\d+):", log)
        mismatch = re.search(r"Mismatch: ([^\n]*)", log[log.rfind("random segment"):])
        random_result = (f"segment {segments[-1] if segments else '?'}: "
                         f"{mismatch.group(1)[:70] if mismatch else 'failed (no mismatch message)'}")
    return [name.removeprefix("test_") for name in failed], random_result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"mutants to run (default: all): {', '.join(MUTANTS)}")
    parser.add_argument("--ticks", type=int, default=100_000)
    parser.add_argument("--compact-ticks", type=int, default=20_000,
                        help="random ticks for the compact leg's mutants (172 cycles a tick; default 20000)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    unknown = [name for name in args.names if name not in MUTANTS]
    if unknown:
        parser.error(f"unknown mutant {unknown[0]!r}")
    rows = []
    for name in args.names or list(MUTANTS):
        core, file, text, replacement, what = MUTANTS[name]
        with tempfile.TemporaryDirectory(prefix="hedgegate-mutant-") as folder:
            folder = Path(folder)
            mutate(folder, file, text, replacement)
            env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")])}
            log = folder / "cocotb.log"
            run = subprocess.run([sys.executable, "-c", _RUN.format(core=CORES[core]), str(log),
                                  str(args.ticks if core == "default" else args.compact_ticks),
                                  str(args.seed)], env=env, capture_output=True, text=True, cwd=folder)
            if run.returncode != 0:
                raise SystemExit(f"mutants: {name}: the run failed: {(run.stderr or run.stdout).strip()[-500:]}")
            tests, failed = json.loads(run.stdout.strip().splitlines()[-1])
            scenarios, random_result = failures(log.read_text(errors="replace"))
        rows.append((name, core, failed, tests, scenarios, random_result, what))
        print(f"{name:30} {core:10} failed {failed}/{tests}  scenarios: {', '.join(scenarios) or '-'}  "
              f"random: {random_result}", flush=True)
    survivors = [row[0] for row in rows if row[2] == 0]
    print(f"{len(rows) - len(survivors)} of {len(rows)} mutants caught" +
          (f"; survived: {', '.join(survivors)}" if survivors else ""))
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())

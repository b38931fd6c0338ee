"""Benchmark: the spread of a board build's fmax over nextpnr seeds.

    python bench/pnr_seeds.py icebreaker|ulx3s-85f|ulx3s-25f [--seeds 5] [--first-seed 1] [--clock-mhz F]
                              [--results bench/results/pnr-seeds.txt]

One placement seed is one sample of what place and route can do with a design; a design that meets timing on
seed 1 only by luck, or misses by a hair, shows it here. The build is `hedgegate build`'s own (host/build.py),
synthesised once (Yosys is deterministic) and placed and routed once per seed, in build/pnr-seeds-<board>/ (relative
paths: the YoWASP tools cannot see /tmp). Prints every seed's fmax and the min / median / max with the machine and
date, and appends the same lines to the results file; each seed's build report is kept as
build/pnr-seeds-<board>/report-seed<N>.json (copy one into bench/results/ to cite it).
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
from pathlib import Path

from hedgegate.host.build import build
from hedgegate.hw.board import BOARD_NAMES


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("board", choices=BOARD_NAMES)
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds (default 5)")
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--clock-mhz", type=float, help="core clock target (default: the board's)")
    parser.add_argument("--results", default="bench/results/pnr-seeds.txt", help="file the lines are appended to")
    args = parser.parse_args()

    folder = Path("build") / f"pnr-seeds-{args.board}"
    lines, reports = [], []

    def say(line):
        print(line, flush=True)
        lines.append(line)

    for seed in range(args.first_seed, args.first_seed + args.seeds):
        report = build(args.board, clock_mhz=args.clock_mhz, seed=seed, build_dir=folder, reuse_synthesis=True)
        reports.append(report)
        (folder / f"report-seed{seed}.json").write_text(json.dumps(report, indent=2) + "\n")   # to keep one
        lc = {k: f"{v['used']}/{v['available']}" for k, v in report["utilization"].items()
              if k in ("ICESTORM_LC", "ICESTORM_DSP", "TRELLIS_COMB", "TRELLIS_FF", "MULT18X18D")}
        steps = ", ".join(f"{k} {v:.0f} s" for k, v in report["steps_seconds"].items())
        say(f"  seed {seed}: fmax {report['fmax_mhz']:.2f} MHz ({'met' if report['timing_met'] else 'NOT met'}); "
            f"{lc}; {steps}")

    first = reports[0]
    fmax = [r["fmax_mhz"] for r in reports]
    core = first["core"]
    header = (f"{datetime.date.today()} {platform.node()} {platform.machine()} ({os.cpu_count()} cores), "
              f"{first['board']} {first['device']}, core S={core['symbols']} N={core['levels']} L={core['legs']} "
              f"price {core['price_width']} qty {core['qty_width']} mul_latency {core['mul_latency']}, "
              f"target {first['target_mhz']:g} MHz, seeds {args.first_seed}..{args.first_seed + args.seeds - 1}: "
              f"fmax min {min(fmax):.2f} / median {statistics.median(fmax):.2f} / max {max(fmax):.2f} MHz, "
              f"met on {sum(r['timing_met'] for r in reports)} of {len(reports)}; "
              + ", ".join(f"{k} {v}" for k, v in first["tools"].items()))
    print(header)
    Path(args.results).parent.mkdir(parents=True, exist_ok=True)
    with open(args.results, "a") as f:
        f.write("\n".join([header] + lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())

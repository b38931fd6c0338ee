"""Benchmark: how fast the loaders read market data (hedgegate.host.marketdata.load_ticks), in rows per second.

    python bench/load_market_data.py [ROWS] [--out FILE]

* CSV and Parquet: a generated file of ROWS ticks (default 1,000,000; 4 symbols, random sides, prices, sizes),
  written by the project's own writers and loaded back (checked equal);
* DBN MBO: the CME E-mini session of ../shared/data (68,792 records; skipped when absent), and the same ticks
  converted to CSV and Parquet.

Each figure is the best of three loads on one core (pyarrow's threads off), validation included, file in the page
cache. Prints one line per figure with machine, date and commit; ``--out`` appends them to a file
(bench/results/load-market-data-DATE.txt). The goals (issue 19): >= 5 M rows/s Parquet, >= 1 M rows/s CSV.
"""

import argparse
import datetime
import os
import platform
import random
import subprocess
import tempfile
import time
from pathlib import Path

from hedgegate.host.marketdata import load_ticks, write_ticks
from hedgegate.host.ticks import Side, Tick
from hedgegate.hw.params import CoreParams

ROOT = Path(__file__).resolve().parents[1]
ES_MBO = ROOT / ".." / "shared" / "data" / "esh4-glbx-mdp3-20231225.mbo.dbn.zst"


def best_of_three(path, params):
    best, table = float("inf"), None
    for _ in range(3):
        started = time.perf_counter()
        table = load_ticks(path, params)
        best = min(best, time.perf_counter() - started)
    return best, table


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("rows", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--out", metavar="FILE", help="append the result lines to FILE")
    args = parser.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip() or "unknown"
    where = (f"{datetime.date.today()} {platform.node()} {platform.machine()} {os.cpu_count()} cores "
             f"python {platform.python_version()} commit {commit}")
    lines = []

    def report(what, rows, seconds):
        lines.append(f"{where}: {what}: {rows:,} rows in {seconds:.3f} s = {rows / seconds:,.0f} rows/s")
        print(lines[-1], flush=True)

    params = CoreParams()
    rng = random.Random(6)
    ticks = [Tick(1_700_000_000_000_000_000 + i * 250, rng.randrange(4), Side(rng.randrange(4)),
                  rng.randrange(5_000, 200_000, 5), rng.randrange(1, 10**4)) for i in range(args.rows)]
    with tempfile.TemporaryDirectory() as folder:
        def round_trips(name, ticks, params):
            """Write ``ticks`` as CSV and as Parquet, load each back (checked equal) and report the loads."""
            for fmt in ("csv", "parquet"):
                path = Path(folder) / f"{name}.{fmt}"
                write_ticks(path, ticks)
                seconds, again = best_of_three(path, params)
                assert again == ticks
                report(f"{fmt}, {name} ({path.stat().st_size:,} bytes)", len(ticks), seconds)
        round_trips("generated", ticks, params)
        if ES_MBO.exists():
            es_params = CoreParams(symbols=1)
            seconds, table = best_of_three(ES_MBO, es_params)
            report(f"dbn mbo, {ES_MBO.name} ({table.report.records:,} records -> {len(table):,} ticks, rows = "
                   "records)", table.report.records, seconds)
            round_trips("the ES session converted", table, es_params)
        else:
            print(f"skipped DBN: {ES_MBO} is absent")
    if args.out:
        with open(args.out, "a") as out:
            out.write("".join(line + "\n" for line in lines))


if __name__ == "__main__":
    main()

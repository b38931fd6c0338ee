"""Benchmark: the backtester's speed (issue 21's targets), in ticks per second on one core.

    python bench/backtest_throughput.py [TICKS] [--repeat N] [--out FILE.json]

Over TICKS (default 1,000,000) ticks of hedgegate's synthetic 3-symbol stream (host/marketdata/synthetic.py) with
the two-leg config bench/configs/backtest-two-leg.toml (bands, gamma, slicing, limits, thresholds, slippage), order
latency from the bundled ULX3S-85F report, 1 bps fees:

* ``fast``: the compiled loop alone (Backtest.run's own timing, ``ticks_per_second``: orders, fills, marking and the
  per-tick curves included; loading and compilation excluded), every run, and the median;
* ``process_tick``: the per-tick API path (one compiled step per call), on 20,000 ticks;
* ``model``: the law alone as plain Python (``replay --backend model``), on 100,000 ticks;
* ``cli``: the whole ``hedgegate backtest FILE.csv --json`` command on the same ticks written as CSV, wall time from
  the shell (interpreter start, imports, CSV load, the run, metrics), kernel cache warm: the median of the runs.

Results (machine, date, commit, every figure) go to stdout and, with ``--out``, to a JSON file
(bench/results/backtest-throughput-DATE.json). Targets: >= 5 M ticks/s (goal 10 M), the command <= 2 s.
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hedgegate import Backtest, BacktestConfig
from hedgegate.host.config import load_config
from hedgegate.host.marketdata import write_ticks
from hedgegate.host.marketdata.synthetic import synthetic_ticks
from hedgegate.host.replay import run_model

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "bench" / "configs" / "backtest-two-leg.toml"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("ticks", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", metavar="FILE.json")
    args = parser.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip() or "unknown"
    config = load_config(CONFIG)
    ticks = synthetic_ticks(args.ticks, gap_ns=50_000_000)
    costs = BacktestConfig(transaction_cost_bps=1.0)
    result = {"machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cores, python "
                         f"{platform.python_version()}", "date": str(datetime.date.today()), "commit": commit,
              "ticks": args.ticks, "config": str(CONFIG.relative_to(ROOT)), "data": "synthetic_ticks(seed 2026)"}

    runs = []
    for _ in range(args.repeat):
        metrics = Backtest(config, costs).run(ticks).metrics
        runs.append(metrics["ticks_per_second"])
    result["fast"] = {"ticks_per_second": runs, "median": statistics.median(runs), "hedges": metrics["hedges"],
                      "fills": metrics["fills"], "volume": metrics["volume"]}
    print(f"fast path: {statistics.median(runs):,.0f} ticks/s median of {runs} ({metrics['hedges']} orders, "
          f"{metrics['fills']} fills)", flush=True)

    few = ticks[:20_000]
    backtest = Backtest(config, costs)
    started = time.perf_counter()
    for tick in few:
        backtest.process_tick(tick)
    seconds = time.perf_counter() - started
    result["process_tick"] = {"ticks": len(few), "ticks_per_second": round(len(few) / seconds)}
    print(f"process_tick: {len(few) / seconds:,.0f} ticks/s", flush=True)

    some = ticks[:100_000]
    started = time.perf_counter()
    run_model(config, some, trace=False)
    seconds = time.perf_counter() - started
    result["model"] = {"ticks": len(some), "ticks_per_second": round(len(some) / seconds)}
    print(f"model (Python): {len(some) / seconds:,.0f} ticks/s", flush=True)

    with tempfile.TemporaryDirectory() as folder:
        csv = Path(folder) / "ticks.csv"
        write_ticks(csv, ticks, "csv")
        csv_bytes = csv.stat().st_size
        command = [str(Path(sys.executable).parent / "hedgegate"), "backtest", str(csv), "--config", str(CONFIG),
                   "--fee-bps", "1", "--json"]
        subprocess.run(command, capture_output=True, check=True)          # the kernel cache, warm
        walls = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            out = subprocess.run(command, capture_output=True, text=True, check=True)
            walls.append(round(time.perf_counter() - started, 3))
        inner = json.loads(out.stdout)
    result["cli"] = {"command": "hedgegate backtest TICKS.csv --config ... --fee-bps 1 --json", "wall_seconds": walls,
                     "median": statistics.median(walls), "csv_bytes": csv_bytes,
                     "command_wall_seconds_reported": inner["wall_seconds"]}
    print(f"hedgegate backtest on a {args.ticks:,}-tick CSV: {statistics.median(walls):.2f} s median of {walls}",
          flush=True)
    print(json.dumps(result))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

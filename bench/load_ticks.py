"""Benchmark: how fast the host validates a tick file (hedgegate.host.ticks.load_ticks).

    python bench/load_ticks.py [ROWS]

Writes a synthetic file of ROWS rows (default 1,000,000), loads it three times and prints the best time with the
machine and date; append the line to bench/results/load_ticks.txt when you quote it.
"""

import datetime
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

from hedgegate.host.ticks import Side, Tick, load_ticks, write_ticks
from hedgegate.hw.params import CoreParams


def main():
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    rng = random.Random(6)
    ticks = [Tick(i * 250, rng.randrange(4), Side(rng.randrange(4)), rng.randrange(30_000, 60_000_000),
                  rng.randrange(1, 10**6)) for i in range(rows)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ticks.csv"
        write_ticks(path, ticks)
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            loaded = load_ticks(path, CoreParams())
            best = min(best, time.perf_counter() - start)
        assert loaded == ticks
    print(f"{datetime.date.today()} {platform.node()} {platform.processor() or platform.machine()} "
          f"python {platform.python_version()}: load_ticks {rows} rows: best of 3 {best:.2f} s "
          f"({best / rows * 1e9:.0f} ns/row)")


if __name__ == "__main__":
    main()

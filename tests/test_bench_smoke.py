"""The benchmarks in bench/ still run (at a smoke size: their figures come from full runs, not from here)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_load_market_data_bench_runs(tmp_path):
    out = tmp_path / "results.txt"
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "load_market_data.py"), "2000", "--out", str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = out.read_text().splitlines()
    assert [line.split(": ")[1].split(",")[0] for line in lines][:2] == ["csv", "parquet"]
    assert all(line.endswith("rows/s") for line in lines)

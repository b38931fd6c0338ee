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


def test_backtest_throughput_bench_runs(tmp_path):
    out = tmp_path / "results.json"
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "backtest_throughput.py"), "30000", "--repeat", "1",
                             "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    import json
    figures = json.loads(out.read_text())
    assert figures["ticks"] == 30000 and figures["fast"]["median"] > 0 and figures["fast"]["hedges"] > 0
    assert figures["cli"]["wall_seconds"] and figures["model"]["ticks_per_second"] > 0


def test_readme_shows_the_newest_bench_results():
    """README's bench block is the newest bench/results/bench-*.json rendered (bench/update_readme.py)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("update_readme", ROOT / "bench" / "update_readme.py")
    update = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(update)
    from hedgegate.host.bench import newest_results
    newest = newest_results(ROOT / "bench" / "results")
    assert newest is not None, "no bench results: run hedgegate bench --out bench/results"
    readme = (ROOT / "README.md").read_text()
    assert update.readme_with(newest, readme) == readme, \
        f"README's bench block differs from {newest.name}: run python bench/update_readme.py"

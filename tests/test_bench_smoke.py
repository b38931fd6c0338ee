"""The benchmarks in bench/ still run (at a smoke size: their figures come from full runs, not from here)."""

import subprocess
import sys
from pathlib import Path

import pytest

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


DATA = ROOT / ".." / "shared" / "data"


def test_mvhr_study_runs(tmp_path):
    """The WTI/Brent study reproduces its quoted results exactly (same data, deterministic), and plots."""
    import json
    if not (DATA / "wti-daily.csv").exists():
        pytest.skip("wti-daily.csv not here: ../shared/data is absent")
    out, png = tmp_path / "mvhr.json", tmp_path / "mvhr.png"
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "mvhr_study.py"), "--out", str(out), "--plot",
                             str(png)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    figures = json.loads(out.read_text())
    quoted = json.loads(max((ROOT / "bench" / "results").glob("mvhr-wti-brent-*.json")).read_text())
    for run in (figures, quoted):
        for key in ("date", "machine", "commit"):
            run.pop(key)
    assert figures == quoted
    assert png.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_vboard_throughput_bench_runs():
    """The virtual board's three measurements on the example session once (it builds the example config's virtual
    board: slow tier); its recommendations through the socket equal the model's."""
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "vboard_throughput.py"), "--repeat", "1",
                             "--ratios", "3"], capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 4 and all(line.endswith("ticks/s") or "lost 0, dropped 0" in line for line in lines)
    assert "identical to replay --backend model" in lines[-1]


# The YoWASP tools see no /tmp (docs TOOLCHAIN trap 7): the P&R benchmarks run in a folder under the project.
SMOKE = ROOT / "build" / "bench-smoke"


@pytest.mark.pnr
def test_fmax_bench_runs():
    """bench/fmax.py on a small order book (S=1, N=2), placed only (no routing), on the smaller ECP5."""
    SMOKE.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "fmax.py"), "book", "--symbols", "1", "--levels", "2",
                             "--no-route", "--device", "25k", "--tag", "smoke"], cwd=SMOKE, capture_output=True,
                            text=True, timeout=1800)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "book S=1 N=2 mul_latency=1 LFE5U-25K seed 1 placed" in result.stdout and " MHz (estimate)" in result.stdout


@pytest.mark.pnr
def test_pnr_seeds_bench_runs(tmp_path):
    """bench/pnr_seeds.py over one seed of the iCEBreaker build; its line goes to the results file given."""
    SMOKE.mkdir(parents=True, exist_ok=True)
    results = tmp_path / "pnr-seeds.txt"
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "pnr_seeds.py"), "icebreaker", "--seeds", "1",
                             "--results", str(results)], cwd=SMOKE, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "seed 1" in results.read_text() and "MHz" in results.read_text()

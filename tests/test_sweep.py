"""Sweeps (host/backtest/sweep.py): the grid's parsing, each point's config, the sweep on dask (its own LocalCluster
and a given scheduler) against backtests run here, failing points (a bad value, a task that cannot be unpickled, a
point that kills its worker processes), the Parquet table and the heat map.

The expected configs are written as TOML text (the file with its lines edited) and parsed by parse_config, not
made by point_config; the expected metrics are Backtest runs in this process. One LocalCluster (2 worker processes,
one thread each) serves the tests of the ``scheduler=`` path; the tests of run_sweep's own cluster start theirs.
"""

import math
import os
import re
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from hedgegate.host.backtest import Backtest, BacktestConfig, Latency
from hedgegate.host.backtest.sweep import (METRIC_COLUMNS, heatmap, heatmap_values, parse_grid, point_config,
                                           run_point, run_sweep, write_table)
from hedgegate.host.config import parse_config
from hedgegate.host.errors import InputError
from hedgegate.host.marketdata.synthetic import synthetic_ticks

CONFIG_PATH = Path(__file__).resolve().parents[1] / "bench" / "configs" / "backtest-two-leg.toml"
CONFIG = CONFIG_PATH.read_text()


@pytest.fixture(scope="module")
def ticks():
    return synthetic_ticks(20_000)


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}) as cluster:
        yield cluster


def edited(text: str, key: str, value, leg: int | None = None) -> str:
    """The config text with ``key = value`` in every [[leg]] (or leg ``leg`` only), as a person would edit it."""
    parts = re.split(r"(?m)^(?=\[\[leg\]\])", text)     # [preamble + [engine], leg 0, leg 1]
    for i in range(1, len(parts)):
        if leg is None or i - 1 == leg:
            part, count = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", parts[i])
            parts[i] = part if count else part.rstrip("\n") + f"\n{key} = {value}\n\n"
    return "".join(parts)


def flat_metrics(metrics: dict) -> dict:
    """A Backtest's metrics as a sweep row holds them: latency flattened, lists left out, the timing left out."""
    out = {key: value for key, value in metrics.items()
           if key not in ("latency_ns", "ticks_per_second", "final_hedge_positions")}
    out["latency_p50_ns"], out["latency_p99_ns"] = metrics["latency_ns"]["p50"], metrics["latency_ns"]["p99"]
    return out


def direct(ticks, text: str, **backtest) -> dict:
    return flat_metrics(Backtest(parse_config(text, "direct.toml"), BacktestConfig(**backtest)).run(ticks).metrics)


def assert_row_matches(row: dict, expected: dict):
    assert row["error"] is None
    assert isinstance(row["ticks_per_second"], int)               # a timing: present, not compared
    for key, value in expected.items():
        assert row[key] == value, key


# parse_grid ----------------------------------------------------------------------------------------------------------

def test_parse_grid_values_and_order():
    grid = parse_grid(["threshold_bps=50,100,200", "leg1.hedge_ratio=0.8, 1.0", "unfilled=cancel,rest",
                       "latency_ns=160", "fee_per_lot=-0.5,1e1", "enabled=true,false"])
    assert list(grid) == ["threshold_bps", "leg1.hedge_ratio", "unfilled", "latency_ns", "fee_per_lot", "enabled"]
    assert grid["threshold_bps"] == [50, 100, 200] and all(type(v) is int for v in grid["threshold_bps"])
    assert grid["leg1.hedge_ratio"] == [Decimal("0.8"), Decimal("1.0")]
    assert all(type(v) is Decimal for v in grid["leg1.hedge_ratio"])
    assert grid["unfilled"] == ["cancel", "rest"]
    assert grid["latency_ns"] == [160]
    assert grid["fee_per_lot"] == [Decimal("-0.5"), Decimal(10)]
    assert grid["enabled"] == [True, False]
    assert parse_grid([]) == {}


@pytest.mark.parametrize("specs, bad", [
    (["threshold_bps"], "threshold_bps"),                            # no "="
    (["threshold_bps="], "threshold_bps="),                          # no value
    (["threshold_bps=50,,100"], "threshold_bps=50,,100"),            # an empty value
    (["threshold_bps=50,"], "threshold_bps=50,"),
    (["=50"], "=50"),                                                # no key
    (["colour=red"], "colour=red"),                                  # unknown key
    (["symbol=1"], "symbol=1"),                                      # a leg key a sweep cannot set
    (["leg0.band=1"], "leg0.band=1"),
    (["leg0.colour=1"], "leg0.colour=1"),
    (["leg16.gamma=0.1"], "leg16.gamma=0.1"),                        # beyond the 16 legs a core can have
    (["legx.gamma=0.1"], "legx.gamma=0.1"),
    (["threshold_bps=50,100", "threshold_bps=200"], "threshold_bps=200"),   # a key twice
    (["threshold_bps=50,100,50"], "threshold_bps=50,100,50"),        # a value twice
])
def test_parse_grid_errors_name_the_spec(specs, bad):
    with pytest.raises(ValueError) as info:
        parse_grid(specs)
    message = str(info.value)
    assert repr(bad) in message and "\n" not in message


# point_config --------------------------------------------------------------------------------------------------------

def test_point_config_edits_legs_like_the_file():
    point = {"threshold_bps": 75, "leg1.hedge_ratio": Decimal("0.5"), "gamma": Decimal("0.1"), "latency_ns": 400,
             "fee_per_lot": Decimal("0.25"), "unfilled": "rest", "initial_position": -5000}
    engine, overrides = point_config(CONFIG, "cfg.toml", point)
    text = edited(edited(edited(CONFIG, "threshold_bps", 75), "hedge_ratio", 0.5, leg=1), "gamma", 0.1)
    assert engine == parse_config(text, "expected.toml")
    assert [leg.threshold_bps for leg in engine.legs] == [75, 75]
    assert [leg.hedge_ratio for leg in engine.legs] == [1 << 16, 1 << 15]            # Q16.16: 1.0 and 0.5
    assert overrides == {"latency": Latency.constant(400), "fee_per_lot": 0.25, "unfilled": "rest",
                         "initial_position": -5000}
    assert type(overrides["fee_per_lot"]) is float


def test_point_config_leg_key_wins_over_every_leg_key_in_any_order():
    for point in ({"threshold_bps": 20, "leg0.threshold_bps": 10}, {"leg0.threshold_bps": 10, "threshold_bps": 20}):
        engine, overrides = point_config(CONFIG, "cfg.toml", point)
        assert [leg.threshold_bps for leg in engine.legs] == [10, 20]
        assert overrides == {}


@pytest.mark.parametrize("point, named", [
    ({"threshold_bps": 70000}, ["threshold_bps=70000", "leg[0].threshold_bps", "65535"]),
    ({"leg1.threshold_bps": 70000}, ["leg1.threshold_bps=70000", "leg[1].threshold_bps"]),
    ({"threshold_bps": Decimal("50.5")}, ["threshold_bps=50.5", "leg[0].threshold_bps", "integer"]),
    ({"leg5.gamma": Decimal("0.1")}, ["leg5.gamma=0.1", "leg5.gamma", "2 legs"]),
    ({"enabled": "yes"}, ["enabled=yes", "leg[0].enabled", "boolean"]),
    ({"latency_ns": Decimal("1.5")}, ["latency_ns=1.5", "latency_ns"]),
    ({"latency_ns": -1}, ["latency_ns=-1", "latency_ns"]),
    ({"fee_per_lot": -1}, ["fee_per_lot=-1", "fee_per_lot"]),
    ({"slippage_bps": "high"}, ["slippage_bps=high", "slippage_bps"]),
    ({"unfilled": "sometimes"}, ["unfilled=sometimes", "unfilled"]),
    ({"initial_position": Decimal("1.5")}, ["initial_position=1.5", "initial_position"]),
    ({"colour": 1}, ["colour=1", "unknown key"]),
])
def test_point_config_errors_name_the_point_and_field(point, named):
    with pytest.raises(InputError) as info:
        point_config(CONFIG, "cfg.toml", point)
    message = str(info.value)
    assert message.startswith("cfg.toml [") and "\n" not in message
    for text in named:
        assert text in message


def test_run_point_rows(ticks):
    ok = run_point(ticks, CONFIG, "cfg.toml", BacktestConfig(), {"leg1.hedge_ratio": Decimal("0.8"),
                                                                  "latency_ns": 160})
    expected = direct(ticks, edited(CONFIG, "hedge_ratio", 0.8, leg=1), latency=Latency.constant(160))
    assert_row_matches(ok, expected)
    assert ok["leg1.hedge_ratio"] == 0.8 and type(ok["leg1.hedge_ratio"]) is float   # as given, a float
    assert list(ok)[:2] == ["leg1.hedge_ratio", "latency_ns"] and list(ok)[-1] == "error"

    bad = run_point(ticks, CONFIG, "cfg.toml", BacktestConfig(), {"leg1.hedge_ratio": Decimal("0.8"),
                                                                   "latency_ns": Decimal("2.5")})
    assert bad["error"] == "cfg.toml [leg1.hedge_ratio=0.8, latency_ns=2.5]: latency_ns: expected an integer, " \
                           "got Decimal('2.5')"
    # Failed and successful rows have the same columns in the same order (METRIC_COLUMNS follows the engine).
    assert list(bad) == list(ok)
    assert all(bad[key] is None for key in METRIC_COLUMNS)

    # An exception of the backtest itself (not of the config) is a row too: no tick of symbol 5 in a 3-symbol core.
    crashing = run_point(synthetic_ticks(10, symbols=6), CONFIG, "cfg.toml", BacktestConfig(), {"threshold_bps": 1})
    assert "symbol" in crashing["error"] and crashing["total_pnl"] is None


# run_sweep -----------------------------------------------------------------------------------------------------------

def test_run_sweep_on_its_own_local_cluster(ticks):
    grid = parse_grid(["threshold_bps=50,200", "latency_ns=160,5000"])
    calls = []
    rows = run_sweep(ticks, CONFIG, "cfg.toml", grid, workers=2, progress=lambda done, total: calls.append((done,
                                                                                                           total)))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert [(row["threshold_bps"], row["latency_ns"]) for row in rows] == [(50, 160), (50, 5000), (200, 160),
                                                                            (200, 5000)]
    for row in rows:
        text = edited(CONFIG, "threshold_bps", row["threshold_bps"])
        expected = direct(ticks, text, latency=Latency.constant(row["latency_ns"]))
        assert_row_matches(row, expected)
        # ... and what point_config makes gives the same backtest.
        engine = point_config(CONFIG, "cfg.toml", {"threshold_bps": row["threshold_bps"]})[0]
        metrics = Backtest(engine, BacktestConfig(latency=Latency.constant(row["latency_ns"]))).run(ticks).metrics
        assert (row["total_pnl"], row["hedges"], row["volume"]) == (metrics["total_pnl"], metrics["hedges"],
                                                                     metrics["volume"])
    assert rows[0]["ticks"] == 20_000
    assert rows[0]["hedges"] != rows[2]["hedges"]                 # the threshold matters: not one row four times
    assert (rows[0]["latency_p50_ns"], rows[1]["latency_p50_ns"]) == (160.0, 5000.0)


def test_run_sweep_of_nothing_starts_nothing(ticks):
    assert run_sweep(ticks, CONFIG, "cfg.toml", {"threshold_bps": []}, scheduler="tcp://192.0.2.1:1") == []


def test_run_sweep_invalid_point_fails_alone(ticks, cluster):
    grid = parse_grid(["threshold_bps=100,70000"])
    rows = run_sweep(ticks, CONFIG, "cfg.toml", grid, scheduler=cluster.scheduler_address)
    assert [row["threshold_bps"] for row in rows] == [100, 70000]
    assert_row_matches(rows[0], direct(ticks, edited(CONFIG, "threshold_bps", 100), latency=Latency.hardware()))
    assert rows[1]["error"] == "cfg.toml [threshold_bps=70000]: leg[0].threshold_bps: must be <= 65535, got 70000"
    assert all(rows[1][key] is None for key in METRIC_COLUMNS)


def test_run_sweep_on_a_scheduler(ticks, cluster):
    # The `--scheduler tcp://HOST:PORT` path: a cluster run_sweep did not start (and must not close).
    assert cluster.scheduler_address.startswith("tcp://")
    base = BacktestConfig(latency=Latency.constant(400), transaction_cost_bps=1.0)
    grid = parse_grid(["leg1.hedge_ratio=0.8,1.0", "unfilled=cancel,rest", "slippage_bps=0,2.5"])
    rows = run_sweep(ticks, CONFIG, "cfg.toml", grid, base, scheduler=cluster.scheduler_address)
    assert len(rows) == 8
    assert [(row["leg1.hedge_ratio"], row["unfilled"], row["slippage_bps"]) for row in rows] == [
        (ratio, unfilled, slippage) for ratio in (0.8, 1.0) for unfilled in ("cancel", "rest")
        for slippage in (0, 2.5)]
    for row in rows:
        text = edited(CONFIG, "hedge_ratio", row["leg1.hedge_ratio"], leg=1)
        expected = direct(ticks, text, latency=Latency.constant(400), transaction_cost_bps=1.0,
                          unfilled=row["unfilled"], slippage_bps=float(row["slippage_bps"]))
        assert_row_matches(row, expected)
    assert rows[0]["slippage_cost"] == 0.0 and rows[1]["slippage_cost"] > 0.0
    assert len(cluster.scheduler.workers) == 2                    # left running for whoever started it


def _explode(message):
    raise RuntimeError(message)


class Unpicklable:
    """A grid value that pickles but cannot be unpickled: its task fails before run_point is called."""

    def __reduce__(self):
        return _explode, ("no unpickling here",)


def test_run_sweep_task_failing_outside_run_point(ticks, cluster):
    odd = Unpicklable()
    calls = []
    rows = run_sweep(ticks, CONFIG, "cfg.toml", {"threshold_bps": [100, 200], "gamma": [Decimal("0.1"), odd]},
                     scheduler=cluster.scheduler_address, progress=lambda done, total: calls.append(done))
    assert calls == [1, 2, 3, 4]
    assert [row["error"] is None for row in rows] == [True, False, True, False]
    for row in rows[1::2]:
        assert row["gamma"] is odd and row["error"] and "\n" not in row["error"]
        assert all(row[key] is None for key in METRIC_COLUMNS)
    assert_row_matches(rows[2], direct(ticks, edited(edited(CONFIG, "threshold_bps", 200), "gamma", 0.1),
                                       latency=Latency.hardware()))


class Crash:
    """A grid value whose unpickling kills the worker process the first ``kills`` times (counted in a file), then
    gives ``value``. In this process (where the LocalClusters' schedulers run and unpickle the graph) it stays
    itself."""

    def __init__(self, value, counter: Path, kills: int):
        self.value, self.counter, self.kills, self.home = value, counter, kills, os.getpid()

    def __reduce__(self):
        return _arrive, (self.value, self.counter, self.kills, self.home)


def _arrive(value, counter, kills, home):
    if os.getpid() == home:
        return Crash(value, counter, kills)
    with open(counter, "ab+") as f:
        f.seek(0)
        if len(f.read()) < kills:
            f.write(b"x")
            f.flush()
            os._exit(1)              # what a segfault or the OOM killer does to a worker
    return value


def test_run_sweep_point_killing_its_workers_fails_alone(ticks, tmp_path):
    # run_sweep's own cluster does not retry a point whose process died: KilledWorker, and the others finish.
    crash = Crash(100, tmp_path / "kills", kills=1_000)
    rows = run_sweep(ticks, CONFIG, "cfg.toml", {"threshold_bps": [50, crash, 200]}, workers=2)
    assert rows[1]["threshold_bps"] is crash
    assert rows[1]["error"].startswith("KilledWorker: ") and "\n" not in rows[1]["error"]
    assert (tmp_path / "kills").read_bytes() == b"x"             # one worker lost, not one per retry
    for row in (rows[0], rows[2]):
        assert_row_matches(row, direct(ticks, edited(CONFIG, "threshold_bps", row["threshold_bps"]),
                                       latency=Latency.hardware()))


def test_run_sweep_reruns_points_cancelled_with_the_lost_ticks(ticks, cluster, tmp_path):
    # On a scheduler that retries (dask's default: 3 more workers), a point that kills both workers takes every copy
    # of the scattered ticks with it, and dask cancels the points still to run. run_sweep scatters the ticks again
    # and reruns those; the point, which now unpickles, succeeds too.
    crash = Crash(100, tmp_path / "kills", kills=2)
    rows = run_sweep(ticks, CONFIG, "cfg.toml", {"threshold_bps": [crash, 50, 200, 75]},
                     scheduler=cluster.scheduler_address)
    assert (tmp_path / "kills").read_bytes() == b"xx"
    for row, threshold in zip(rows, (100, 50, 200, 75)):
        assert_row_matches(row, direct(ticks, edited(CONFIG, "threshold_bps", threshold), latency=Latency.hardware()))


# Outputs -------------------------------------------------------------------------------------------------------------

def _rows():
    """Rows as run_point makes them, made up: a 3 x 2 x 2 grid, one point failed and one with no Sharpe ratio."""
    rows = []
    for a in (50, 100, 200):
        for b in (0.5, 1.0):
            for c in ("cancel", "rest"):
                row = {"threshold_bps": a, "hedge_ratio": b, "unfilled": c}
                row.update(dict.fromkeys(METRIC_COLUMNS, 1))
                row.update(total_pnl=a * b + (c == "rest"), sharpe_ratio=None if a == 100 else a / 10, error=None)
                rows.append(row)
    rows[0].update(dict.fromkeys(METRIC_COLUMNS), error="cfg.toml [threshold_bps=50, ...]: bad")
    return rows


GRID = {"threshold_bps": [50, 100, 200], "hedge_ratio": [Decimal("0.5"), Decimal("1.0")],
        "unfilled": ["cancel", "rest"]}


def test_write_table_round_trip(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    rows = _rows()
    path = write_table(rows, tmp_path / "sweep.parquet")
    table = pq.read_table(path)
    assert table.column_names == ["threshold_bps", "hedge_ratio", "unfilled", *METRIC_COLUMNS, "error"]
    assert table.to_pylist() == rows
    assert str(table.schema.field("sharpe_ratio").type) == "double"
    # A column of mixed kinds (an int and a word) is kept as text rather than failing the write.
    mixed = [{"threshold_bps": 50, "error": None}, {"threshold_bps": "abc", "error": "bad"}]
    assert pq.read_table(write_table(mixed, tmp_path / "mixed.parquet")).to_pylist() == [
        {"threshold_bps": "50", "error": None}, {"threshold_bps": "abc", "error": "bad"}]


def test_heatmap_values():
    data = heatmap_values(_rows(), GRID, "total_pnl")
    assert data.shape == (2, 3)                                   # y: hedge_ratio, x: threshold_bps
    # max over unfilled; (50, 0.5) has only its "rest" point left (the "cancel" one failed).
    assert data.tolist() == [[26.0, 51.0, 101.0], [51.0, 101.0, 201.0]]
    sharpe = heatmap_values(_rows(), GRID, "sharpe_ratio")
    assert np.isnan(sharpe[:, 1]).all() and sharpe[0, 0] == 5.0   # threshold 100: no Sharpe ratio -> no value
    one = heatmap_values(_rows()[:2], {"unfilled": ["cancel", "rest"]}, "total_pnl")
    assert np.isnan(one[0]) and one[1] == 26.0                     # the failed point is NaN


def test_heatmap_png(tmp_path):
    pytest.importorskip("matplotlib")
    rows = _rows()
    for name, grid in (("three", GRID), ("two", dict(list(GRID.items())[:2])), ("one", {"unfilled": GRID["unfilled"]}),
                       ("none", {})):
        path = heatmap(rows, grid, "total_pnl", tmp_path / f"{name}.png")
        assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        assert os.path.getsize(path) > 5000
    failed = [dict(row, error="x") for row in rows]                # nothing to draw but grey cells: still a map
    assert heatmap(failed, GRID, "sharpe_ratio", tmp_path / "failed.png").read_bytes().startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="total_pl"):
        heatmap(rows, GRID, "total_pl", tmp_path / "typo.png")
    assert not (tmp_path / "typo.png").exists()
    assert math.isnan(heatmap_values(failed, GRID, "total_pnl").max())

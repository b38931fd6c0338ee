"""The examples run, at a small size, and say what the API says."""

import runpy
from pathlib import Path

import pytest

from hedgegate import Backtest, BacktestConfig, HedgeEngine
from hedgegate.host.config import load_config
from hedgegate.host.marketdata.synthetic import synthetic_ticks

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _example(name):
    return runpy.run_path(str(EXAMPLES / name))


def test_simple_hedge(capsys):
    example = _example("simple_hedge.py")
    orders = example["main"]("model", fill_share=0.5)
    # Target 11,250 long (10,000 short x 1.125) in orders of at most 5,000; half of each fills, so the engine keeps
    # asking: 5,000 (2,500 filled), 5,000 (hedge 5,000 after two fills), then 11,250 - 5,000 = 6,250 capped at 5,000.
    assert [(side, qty) for side, qty, _, _ in orders][:2] == [("BUY", 5_000), ("BUY", 5_000)]
    assert all(price == 30.12 for _, _, price, _ in orders[:2])
    with HedgeEngine(example["CONFIG"]) as engine:
        assert engine.config.hedge_ratio == 1.125
    assert "hedge after the fill: +2,500" in capsys.readouterr().out


def test_backtest_example_on_generated_data():
    results = _example("backtest.py")["main"](ticks=20_000, synthetic=True)
    config = load_config(EXAMPLES.parent / "bench" / "configs" / "backtest-two-leg.toml")
    want = Backtest(config, BacktestConfig(transaction_cost_bps=1.0)).run(synthetic_ticks(20_000, gap_ns=50_000_000))
    assert results.metrics["total_pnl"] == want.metrics["total_pnl"] and results.metrics["hedges"] > 0


def test_backtest_example_on_real_data(tmp_path):
    example = _example("backtest.py")
    if not example["REAL"].exists():
        pytest.skip(f"{example['REAL']} is not here (the shared data folder)")
    results = example["main"](report=str(tmp_path / "report"))
    assert results.metrics["ticks"] > 50_000 and results.metrics["hedges"] >= 1
    assert (tmp_path / "report" / "index.html").exists()


def test_live_demo_on_the_model():
    recs = _example("live_demo.py")["main"](ticks=400, backend="model")
    assert len(recs) > 5 and all(rec.latency_cycles is None for rec in recs)


@pytest.mark.slow
def test_live_demo_on_the_virtual_board():
    example = _example("live_demo.py")
    board = example["main"](ticks=400, backend="sim")
    model = example["main"](ticks=400, backend="model")
    assert [(r.side, r.quantity, r.price, r.hedge_position) for r in board] == \
        [(r.side, r.quantity, r.price, r.hedge_position) for r in model]
    assert {r.latency_cycles for r in board} == {17}

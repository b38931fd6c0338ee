"""The backtester: its compiled loop against a plain reference written here from docs/backtest.md (the Python model
for the law, exact fractions for the money), hand-worked fills, metrics against empyrical, the API and the CLI."""

import json
import math
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from hedgegate import Backtest, BacktestConfig, HedgeConfig, MarketTick
from hedgegate.host.backtest import Latency
from hedgegate.host.backtest import metrics as m
from hedgegate.host.commands import Write
from hedgegate.host.config import load_config, parse_config
from hedgegate.host.errors import InputError
from hedgegate.host.marketdata import load_ticks
from hedgegate.host.marketdata.synthetic import synthetic_ticks
from hedgegate.host.replay import loaded_model, run_model
from hedgegate.host.ticks import Tick
from hedgegate.hw.layouts import RecSide, TickSide
from hedgegate.hw.regmap import LegReg

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
TWO_LEG = ROOT / "bench" / "configs" / "backtest-two-leg.toml"


# A reference backtest: the same rules, written plainly ---------------------------------------------------------------

def reference(config, ticks, *, latency, fee_bps=0, fee_lot=0, slip_bps=0, rest=False, exposure=None):
    """(pnl, unhedged, hedges, volume, cancelled, fees, fill latencies) by the rules of docs/backtest.md."""
    model = loaded_model(config)
    legs = config.params.legs
    exposure = exposure or [leg.symbol for leg in config.legs]
    filled = [leg.hedge_position for leg in config.legs]
    marks, money = {}, {"unhedged": Fraction(0), "hedged": Fraction(0), "fees": Fraction(0)}
    orders, stats = [], {"hedges": 0, "volume": 0, "cancelled": 0, "latency": []}
    last_ts = None

    def settle(now, final):
        kept = []
        for order in orders:
            if not (final or order["arrives"] < now):
                kept.append(order)
                continue
            buy = order["side"] == RecSide.BUY
            bids, asks = model.book(order["symbol"])
            taken = 0
            for price, size in (asks if buy else bids):
                if (price > order["limit"]) if buy else (price < order["limit"]):
                    break
                take = min(order["left"] - taken, size)
                taken += take
                marks.setdefault(order["symbol"], Fraction(price))
                notional = Fraction(take * price)
                mark = marks[order["symbol"]] * take
                money["hedged"] += (mark - notional) if buy else (notional - mark)
                cost = abs(notional) * Fraction(slip_bps) / 10000
                fee = abs(notional) * Fraction(fee_bps) / 10000 + take * Fraction(fee_lot) * 1000
                money["hedged"] -= cost + fee
                money["fees"] += fee
                if taken == order["left"]:
                    break
            if taken:
                filled[order["leg"]] += taken if buy else -taken
                stats["volume"] += taken
                stats["latency"].append(max(order["arrives"], last_ts) - order["sent"])
                order["left"] -= taken
            if order["left"] and (final or not rest):
                model.write(Write(order["leg"], LegReg.ADJUST_POSITION, -order["left"] if buy else order["left"]))
                stats["cancelled"] += order["left"]
                order["left"] = 0
            if order["left"]:
                kept.append(order)
        orders[:] = kept

    curve = []
    for tick in ticks:
        if orders:
            settle(tick.ts_ns, False)
        recs = model.tick(tick.symbol, tick.side, tick.price, tick.qty)
        last_ts = tick.ts_ns
        bids, asks = model.book(tick.symbol)
        if tick.side in (TickSide.BID, TickSide.ASK) and bids and asks and bids[0][0] < asks[0][0]:
            mid = Fraction(bids[0][0] + asks[0][0], 2)
            if tick.symbol in marks:
                change = mid - marks[tick.symbol]
                for leg in range(legs):
                    regs = model.registers[leg]
                    if exposure[leg] == tick.symbol:
                        money["unhedged"] += regs[LegReg.POSITION] * change
                    if regs[LegReg.SYMBOL] == tick.symbol:
                        money["hedged"] += filled[leg] * change
            marks[tick.symbol] = mid
        for rec in recs:
            orders.append({"leg": rec.leg, "side": rec.side, "symbol": tick.symbol, "left": rec.qty,
                           "limit": rec.price, "sent": tick.ts_ns, "arrives": tick.ts_ns + latency})
            stats["hedges"] += 1
        curve.append(money["unhedged"] + money["hedged"])
    settle(last_ts, True)
    return {"pnl": (money["unhedged"] + money["hedged"]) / 1000, "unhedged": money["unhedged"] / 1000,
            "fees": money["fees"] / 1000, "filled": filled, **stats}


@pytest.mark.parametrize("latency,rest,fee_bps,fee_lot,slip_bps", [
    (0, False, 0, 0, 0), (153, False, 1.5, 0.01, 0), (5_000_000, True, 0, 0, 2), (60_000_000, False, 0, 0.5, 0.5)])
def test_backtest_equals_the_reference_on_the_example_session(latency, rest, fee_bps, fee_lot, slip_bps):
    config = load_config(EXAMPLES / "ttf-hedge.toml")
    ticks = load_ticks(EXAMPLES / "ttf-eua-ticks.csv", config.params)
    want = reference(config, ticks, latency=latency, fee_bps=fee_bps, fee_lot=fee_lot, slip_bps=slip_bps, rest=rest)
    results = Backtest(config, BacktestConfig(latency=Latency.constant(latency), unfilled="rest" if rest else "cancel",
                                              transaction_cost_bps=fee_bps, fee_per_lot=fee_lot,
                                              slippage_bps=slip_bps)).run(ticks)
    got = results.metrics
    assert (got["hedges"], got["volume"], got["cancelled_qty"]) == (want["hedges"], want["volume"], want["cancelled"])
    assert want["hedges"] > 50 and want["volume"] > 0
    assert got["final_hedge_positions"] == want["filled"]
    assert got["total_pnl"] == pytest.approx(float(want["pnl"]), rel=1e-9, abs=1e-6)
    assert got["unhedged_pnl"] == pytest.approx(float(want["unhedged"]), rel=1e-9, abs=1e-6)
    assert got["fees"] == pytest.approx(float(want["fees"]), rel=1e-9, abs=1e-9)
    assert sorted(results.fill_latency_ns.tolist()) == sorted(want["latency"])


def test_backtest_equals_the_reference_on_two_legs_and_three_symbols():
    config = load_config(TWO_LEG)
    ticks = synthetic_ticks(30_000, gap_ns=2_000_000)
    want = reference(config, ticks, latency=1_000_000, fee_bps=1, exposure=[1, 2])
    got = Backtest(config, BacktestConfig(latency=Latency.constant(1_000_000), transaction_cost_bps=1,
                                          exposure_symbols=(1, 2))).run(ticks).metrics
    assert (got["hedges"], got["volume"], got["cancelled_qty"]) == (want["hedges"], want["volume"], want["cancelled"])
    assert want["hedges"] > 20
    assert got["total_pnl"] == pytest.approx(float(want["pnl"]), rel=1e-9)


def test_recommendations_are_the_models_when_every_order_fills():
    """Fills that always complete leave H as the model's: the backtest sends exactly the replay's recommendations."""
    config = parse_config("[engine]\nsymbols = 1\n[[leg]]\nsymbol = 0\nposition = -10000\nthreshold_bps = 20\n"
                          "max_order_qty = 700\nslippage = 0.05\n")
    rng = np.random.default_rng(3)
    ticks, mid = [], 30_000
    for i in range(4000):
        mid += int(rng.integers(-1, 2)) * 5
        side = TickSide.BID if i % 2 == 0 else TickSide.ASK
        ticks.append(Tick(i * 1000, 0, side, mid - 5 if side == TickSide.BID else mid + 5, 1_000_000))
    recs, _ = run_model(config, ticks, trace=False)
    got = Backtest(config, BacktestConfig(latency=Latency.constant(0))).run(ticks).metrics
    assert got["hedges"] == len(recs) and got["cancelled_qty"] == 0
    assert got["volume"] == sum(rec.qty for rec in recs)
    assert got["final_hedge_positions"] == [recs[-1].hedge_position]


def test_a_fill_by_hand():
    """One BUY of 11,250 at limit 45.61 (ask 45.60 + slippage 0.01), sent on the bid that completes the book and
    arriving 100 ns later, against asks 45.60 x 5,000, 45.61 x 4,000 and 45.62 x 9,999: fills 9,000 (the third level
    is above the limit) when the next tick (a trade: no law) comes; 2,250 are cancelled and taken off H."""
    bt = Backtest(HedgeConfig(hedge_ratio=1.125, position=-10_000, slippage=0.01, symbol=0, symbols=1),
                  BacktestConfig(latency=Latency.constant(100), transaction_cost_bps=10, fee_per_lot=0.001))
    for tick in [MarketTick.ask(0, 45.62, 9_999), MarketTick.ask(1, 45.61, 4_000), MarketTick.ask(2, 45.60, 5_000),
                 MarketTick.bid(3, 45.50, 100), MarketTick.trade(1000, 45.55, 1)]:
        bt.process_tick(tick)
    got = bt.results().metrics
    notional = 5_000 * 45.60 + 4_000 * 45.61
    fees = notional * 10 / 10_000 + 9_000 * 0.001
    mid = (45.50 + 45.60) / 2
    assert (got["hedges"], got["volume"], got["cancelled_qty"]) == (1, 9_000, 2_250)
    assert got["final_hedge_positions"] == [9_000]
    assert bt.model.registers[0][LegReg.HEDGE_POSITION] == 9_000          # H corrected by the unfilled 2,250
    assert got["fees"] == pytest.approx(fees)
    assert got["total_pnl"] == pytest.approx(9_000 * mid - notional - fees)
    assert got["latency_ns"] == {"p50": 100.0, "p99": 100.0}


def test_process_tick_equals_run():
    config = load_config(TWO_LEG)
    ticks = synthetic_ticks(5_000)
    one = Backtest(config, BacktestConfig(latency=Latency.constant(2_000_000)))
    for tick in ticks:
        one.process_tick(tick)
    a = one.results()
    b = Backtest(config, BacktestConfig(latency=Latency.constant(2_000_000))).run(ticks)
    for key in ("total_pnl", "hedges", "volume", "cancelled_qty", "max_drawdown", "effectiveness", "sharpe_ratio"):
        assert a.metrics[key] == b.metrics[key], key
    assert np.array_equal(a.equity, b.equity) and np.array_equal(a.hedge_positions, b.hedge_positions)


def test_buffers_grow_without_losing_orders_or_fills():
    """Thousands of orders resting at once (a latency longer than the data) outgrow the first buffers."""
    config = load_config(TWO_LEG)
    ticks = synthetic_ticks(20_000, gap_ns=1_000)
    want = reference(config, ticks, latency=10**12, rest=True)
    got = Backtest(config, BacktestConfig(latency=Latency.constant(10**12), unfilled="rest")).run(ticks).metrics
    assert (got["hedges"], got["volume"], got["cancelled_qty"]) == (want["hedges"], want["volume"], want["cancelled"])


def test_initial_position_overrides_the_first_leg():
    config = load_config(EXAMPLES / "ttf-hedge.toml")
    bt = Backtest(config, BacktestConfig(initial_position=-20_000))
    assert bt.model.registers[0][LegReg.POSITION] == -20_000
    assert bt.model.registers[1][LegReg.POSITION] == config.legs[1].position


# Metrics -----------------------------------------------------------------------------------------------------------

def test_sharpe_and_drawdown_match_empyrical():
    import empyrical
    import pandas as pd

    rng = np.random.default_rng(11)
    closes = np.cumsum(rng.normal(5, 300, 500))
    returns = m.bar_returns(closes, 100_000.0)
    series = pd.Series(returns)
    assert m.sharpe_ratio(returns, 252 * 24) == pytest.approx(empyrical.sharpe_ratio(series, annualization=252 * 24),
                                                              rel=1e-12)
    assert m.max_drawdown_fraction(returns) == pytest.approx(-empyrical.max_drawdown(series), rel=1e-12)


def test_bars_drawdown_and_effectiveness_by_hand():
    hour = 3_600_000_000_000
    ts = np.array([0, 10, hour - 1, hour, 3 * hour + 5], dtype=np.int64)
    assert m.bar_closes(ts, hour).tolist() == [2, 3, 4]              # the empty hours 2 and 3 have no close
    assert m.max_drawdown(np.array([5.0, 3.0, 8.0, 1.0, 2.0])) == 7.0
    assert m.max_drawdown(np.array([-4.0, -1.0])) == 4.0             # from the 0 before the first tick
    assert m.effectiveness(np.array([1.0, 1.0, 1.0]), np.array([10.0, -10.0, 10.0])) == pytest.approx(
        1 - np.var([1.0, 0, 0]) / np.var([10.0, -20.0, 20.0]))
    assert m.bar_returns(np.array([10.0, 5.0]), 100.0).tolist() == pytest.approx([0.1, 105 / 110 - 1])


def test_a_hedged_exposure_is_effective():
    """P = -10,000 hedged 1:1 on its own symbol, fills always complete: the bar changes of hedged P&L are only
    costs, so effectiveness is close to 1; with the leg disabled it is 0 (nothing is hedged)."""
    ticks = synthetic_ticks(100_000, symbols=1, gap_ns=5_000_000_000)
    doc = "[engine]\nsymbols = 1\n[[leg]]\nsymbol = 0\nposition = -10000\nenabled = {}\n"
    on = Backtest(parse_config(doc.format("true")), BacktestConfig(unfilled="rest")).run(ticks).metrics
    off = Backtest(parse_config(doc.format("false")), BacktestConfig()).run(ticks).metrics
    assert on["effectiveness"] > 0.99 and on["bars"] > 100
    assert off["effectiveness"] == 0.0 and off["hedges"] == 0


# Latency -----------------------------------------------------------------------------------------------------------

def test_latency_models():
    hw = Latency.hardware()
    assert hw.samples_ns == (math.ceil(20 * 1000 / 130.9),) and "130.90 MHz" in hw.description
    assert Latency.parse("hw", link_ns=500).samples_ns == (hw.samples_ns[0] + 500,)
    assert Latency.parse("2us").samples_ns == (2000,) and Latency.parse("1.5ms").samples_ns == (1_500_000,)
    recorded = Latency.recorded([100, 200, 300], seed=1)
    assert set(recorded.draws(1000).tolist()) == {100, 200, 300}
    for bad in ("fast", "-5ns", "hw:/nonexistent.json", "file:/nonexistent.txt"):
        with pytest.raises(ValueError):
            Latency.parse(bad)


def test_recorded_latencies_reach_the_fills(tmp_path):
    (tmp_path / "lat.txt").write_text("1ms\n3ms\n")
    config = load_config(EXAMPLES / "ttf-hedge.toml")
    ticks = load_ticks(EXAMPLES / "ttf-eua-ticks.csv", config.params)
    results = Backtest(config, BacktestConfig(latency=Latency.parse(f"file:{tmp_path / 'lat.txt'}"))).run(ticks)
    # Each fill happens at its arrival or at the first tick after it: never sooner than its draw.
    assert results.fill_latency_ns.min() >= 1_000_000
    assert set(np.minimum(results.fill_latency_ns, 3_000_000)) >= {3_000_000}


# Bad input ---------------------------------------------------------------------------------------------------------

def test_bad_input_is_one_line():
    config = load_config(EXAMPLES / "ttf-hedge.toml")
    bt = Backtest(config)
    with pytest.raises(InputError, match="^row 2: ts_ns 4 is before the previous tick's 5"):
        bt.run([Tick(5, 0, TickSide.BID, 30_000, 1), Tick(4, 0, TickSide.ASK, 30_010, 1)])
    with pytest.raises(ValueError, match="unfilled"):
        BacktestConfig(unfilled="keep")
    with pytest.raises(ValueError, match="transaction_cost_bps"):
        BacktestConfig(transaction_cost_bps=float("nan"))


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "hedgegate.host.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd)


def test_cli_json_has_the_pinned_keys(tmp_path):
    run = _cli("backtest", EXAMPLES / "ttf-eua-ticks.csv", "--config", EXAMPLES / "ttf-hedge.toml", "--fee-bps", "1",
               "--json", "--report", tmp_path / "report")
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    for key in ("ticks", "ticks_per_second", "wall_seconds", "total_pnl", "sharpe_ratio", "max_drawdown",
                "effectiveness", "hedges", "volume", "transaction_cost"):
        assert key in out, key
    assert set(out["latency_ns"]) >= {"p50", "p99"} and out["ticks"] == 5000
    config = load_config(EXAMPLES / "ttf-hedge.toml")
    want = Backtest(config, BacktestConfig(transaction_cost_bps=1)).run(
        load_ticks(EXAMPLES / "ttf-eua-ticks.csv", config.params)).metrics
    assert out["total_pnl"] == want["total_pnl"] and out["hedges"] == want["hedges"]
    assert (tmp_path / "report" / "index.html").exists()
    assert json.loads((tmp_path / "report" / "metrics.json").read_text())["hedges"] == out["hedges"]


@pytest.mark.parametrize("content,message", [
    ("ts_ns,symbol,side,price,qty\n", "no ticks"),
    ("ts_ns,symbol,side,price,qty\n5,0,bid,30,1\n4,0,ask,31,1\n", "line 3: ts_ns 4 is before"),
    ("ts_ns,symbol,side,price\n5,0,bid,30\n", "header"),
    ("ts_ns,symbol,side,price,qty\n5,0,bid,thirty,1\n", "ticks.csv:2: price"),
])
def test_cli_bad_data_is_one_line(tmp_path, content, message):
    data = tmp_path / "ticks.csv"
    data.write_text(content)
    run = _cli("backtest", data, "--config", EXAMPLES / "ttf-hedge.toml")
    assert run.returncode == 2, run.stderr
    assert run.stderr.count("\n") == 1 and message in run.stderr and "Traceback" not in run.stderr


def test_cli_bad_options_are_one_line():
    for option in (["--latency", "soon"], ["--bar", "often"], ["--exposure-symbols", "a"], ["--fee-bps", "-1"]):
        run = _cli("backtest", EXAMPLES / "ttf-eua-ticks.csv", "--config", EXAMPLES / "ttf-hedge.toml", *option)
        assert run.returncode == 2 and run.stderr.count("\n") <= 2 and "Traceback" not in run.stderr, option


def test_cli_strategy_runs_and_matches_the_api():
    run = _cli("backtest", EXAMPLES / "ttf-eua-ticks.csv", "--config", EXAMPLES / "ttf-hedge.toml", "--strategy",
               "mvhr", "--window", "5", "--exposure-symbol", "1", "--hedge-symbol", "0", "--every", "200ms", "--json")
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["strategy"]["evaluations"] > 5
    from hedgegate import MVHRStrategy, StrategyRunner
    config = load_config(EXAMPLES / "ttf-hedge.toml")
    runner = StrategyRunner(config, [MVHRStrategy(5, exposure_symbol=1, hedge_symbol=0)], every_ns=200_000_000)
    want = Backtest(config).run(load_ticks(EXAMPLES / "ttf-eua-ticks.csv", config.params), runner=runner).metrics
    assert out["total_pnl"] == want["total_pnl"] and out["hedges"] == want["hedges"]


def test_cli_sweep_writes_its_table_and_heat_map(tmp_path):
    import pyarrow.parquet as pq
    run = _cli("sweep", EXAMPLES / "ttf-eua-ticks.csv", "--config", EXAMPLES / "ttf-hedge.toml", "--grid",
               "threshold_bps=100,70000", "--grid", "latency_ns=160,2000", "--workers", "2", "--out", tmp_path / "s")
    assert run.returncode == 0, run.stderr
    rows = pq.read_table(tmp_path / "s" / "sweep.parquet").to_pylist()
    assert [(r["threshold_bps"], r["latency_ns"]) for r in rows] == [(100, 160), (100, 2000), (70000, 160),
                                                                     (70000, 2000)]
    assert [r["error"] is None for r in rows] == [True, True, False, False]
    assert "threshold_bps" in rows[2]["error"] and "failed: threshold_bps=70000" in run.stdout
    # The point (100, 2000): both legs at 100 bps (the second has it already), 2 us of latency.
    config = parse_config((EXAMPLES / "ttf-hedge.toml").read_text().replace("threshold_bps = 200",
                                                                            "threshold_bps = 100"))
    want = Backtest(config, BacktestConfig(latency=Latency.constant(2000))).run(
        load_ticks(EXAMPLES / "ttf-eua-ticks.csv", config.params)).metrics
    assert rows[1]["total_pnl"] == want["total_pnl"]
    assert (tmp_path / "s" / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    bad = _cli("sweep", EXAMPLES / "ttf-eua-ticks.csv", "--config", EXAMPLES / "ttf-hedge.toml", "--grid",
               "threshold_bps=100", "--metric", "luck")
    assert bad.returncode == 2 and "--metric" in bad.stderr and bad.stderr.count("\n") == 1

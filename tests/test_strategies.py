"""Hedging strategies (hedgegate.host.strategies): each estimate against an independent computation (numpy's least
squares, a hand-written Black-76 with finite differences, the issue's worked values), the registers they push
through the model's hedge law, the price-series policy, and the one-line errors."""

import json
import math
import random
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from hedgegate.host.cli import main
from hedgegate.host.commands import Write, config_writes
from hedgegate.host.config import EngineConfig, LegConfig
from hedgegate.host.model import HedgeModel
from hedgegate.host.strategies import (DeltaGammaHedge, DeltaHedge, MeanReversionHedge, MeanReversionParams,
                                       OptionPosition, SparkSpreadHedge, SparkSpreadParams, StrategyError, align,
                                       black76, fit_ou, load_prices, mvhr)
from hedgegate.host.strategies.registers import gamma_register, price_register, ratio_register
from hedgegate.host.ticks import Side, Tick
from hedgegate.hw.params import CoreParams
from hedgegate.hw.regmap import LegReg

P = CoreParams()
DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def test_top_level_names():
    import hedgegate
    for name in ("DeltaHedge", "MVHRStrategy", "MeanReversionHedge", "MeanReversionParams", "DeltaGammaHedge",
                 "SparkSpreadHedge", "SparkSpreadParams", "HedgingStrategy", "StrategyRunner"):
        assert getattr(hedgegate, name).__name__ == name


def test_delta_hedge_worked_example():
    strategy = DeltaHedge(1.125, position=-10_000)
    assert strategy.hedge(-10_000) == 11_250
    (push,) = strategy.compute()
    assert push.registers == {LegReg.POSITION: -10_000, LegReg.HEDGE_RATIO: 73728, LegReg.ALT_HEDGE_RATIO: 73728}
    assert push.rounding() == []


def test_mvhr_equals_least_squares():
    rng = np.random.default_rng(1)
    f = np.cumsum(rng.normal(0, 1, 600)) + 50
    s = 0.8 * f + np.cumsum(rng.normal(0, 0.5, 600))
    for window in (30, 250, 599):
        est = mvhr(s, f, window)
        ds, df = np.diff(s)[-window:], np.diff(f)[-window:]
        design = np.column_stack([df, np.ones_like(df)])
        (slope, _), residual, *_ = np.linalg.lstsq(design, ds, rcond=None)
        r2 = 1 - residual[0] / np.sum((ds - ds.mean()) ** 2)
        assert abs(est.hedge_ratio - slope) < 1e-9 and abs(est.effectiveness - r2) < 1e-9
        assert est.observations == window


def test_mvhr_on_wti_brent():
    if not (DATA / "wti-daily.csv").exists():
        pytest.skip("wti-daily.csv not here: ../shared/data is absent")
    wti, brent, dropped = align(load_prices(DATA / "wti-daily.csv"), load_prices(DATA / "brent-daily.csv"))
    assert dropped["unmatched"] > 100 and wti.dates == brent.dates
    assert wti.prices[wti.dates.index(__import__("datetime").date(2020, 4, 20))] == -36.98    # kept, no logs
    est = mvhr(wti.prices, brent.prices, 250)
    ds, df = np.diff(wti.prices)[-250:], np.diff(brent.prices)[-250:]
    slope = np.linalg.lstsq(np.column_stack([df, np.ones_like(df)]), ds, rcond=None)[0][0]
    assert abs(est.hedge_ratio - slope) < 1e-9 and 0 < est.effectiveness < 1


def test_ou_fit_exact_discretisation():
    """The fit against np.polyfit and the issue's formulas; on a simulated OU path it finds kappa, mu, sigma."""
    rng = np.random.default_rng(2)
    kappa, mu, sigma, dt, n = 0.2, 30.0, 1.5, 1.0, 20_000
    b = math.exp(-kappa * dt)
    sd = sigma * math.sqrt((1 - b * b) / (2 * kappa))
    x = [mu]
    for _ in range(n):
        x.append(mu + (x[-1] - mu) * b + rng.normal(0, sd))
    fit = fit_ou(x)
    slope, intercept = np.polyfit(x[:-1], x[1:], 1)
    residuals = np.array(x[1:]) - intercept - slope * np.array(x[:-1])
    s = math.sqrt(residuals @ residuals / (n - 2))
    assert abs(fit.b - slope) < 1e-9 and abs(fit.a - intercept) < 1e-7 and abs(fit.residual_sd - s) < 1e-9
    assert fit.kappa == pytest.approx(-math.log(slope)) and fit.mu == pytest.approx(intercept / (1 - slope))
    assert fit.sigma == pytest.approx(s * math.sqrt(2 * fit.kappa / (1 - slope ** 2)))
    assert fit.half_life == pytest.approx(math.log(2) / fit.kappa)
    assert fit.kappa == pytest.approx(kappa, rel=0.1) and fit.mu == pytest.approx(mu, abs=0.2)
    assert fit.sigma == pytest.approx(sigma, rel=0.05)
    given = fit_ou(x, kappa=0.5)                          # a given kappa replaces the fitted one
    assert given.kappa == 0.5 and given.half_life == pytest.approx(math.log(2) / 0.5)
    assert given.stationary_sd == pytest.approx(fit.stationary_sd)


def test_mean_reversion_band_registers():
    rng = np.random.default_rng(3)
    x = [27.5]
    for _ in range(3000):
        x.append(27.5 + (x[-1] - 27.5) * 0.9 + rng.normal(0, 0.3))
    strategy = MeanReversionHedge(MeanReversionParams(None, 2.0, 0.7), ratio=1.1, tick=Decimal("0.005"))
    fit = strategy.fit(x)
    push = strategy.push(fit, P)
    half = 2.0 * fit.sigma / math.sqrt(2 * fit.kappa)
    regs = push.registers
    assert regs[LegReg.HEDGE_RATIO] == round(1.1 * 65536) and regs[LegReg.ALT_HEDGE_RATIO] == round(0.77 * 65536)
    for reg, value in ((LegReg.BAND_LO, fit.mu - half), (LegReg.BAND_HI, fit.mu + half)):
        assert regs[reg] % 5 == 0 and abs(regs[reg] / 1000 - value) <= 0.0025       # on the 0.005 grid
    assert push.estimates["band"] == [fit.mu - half, fit.mu + half]


@pytest.mark.parametrize("prices, message", [
    ([30.0] * 50, "constant over the window"),
    ([10 * 1.05 ** i + (-1) ** i * 0.01 for i in range(50)], r"b = 1\.0\d* >= 1: no mean reversion"),  # explosive
    ([1.0, 2.0, 3.0], "at least 4"),
])
def test_ou_fit_errors(prices, message):
    with pytest.raises(StrategyError, match=message):
        fit_ou(prices)


def test_black76_worked_example_and_finite_differences():
    price, delta, gamma = black76("call", 30, 32, 0.25, 0.03, 0.6)
    assert (round(price, 6), round(delta, 6), round(gamma, 7)) == (2.760049, 0.470494, 0.0439025)
    put, put_delta, put_gamma = black76("put", 30, 32, 0.25, 0.03, 0.6)
    assert put - price == pytest.approx(math.exp(-0.03 * 0.25) * (32 - 30), abs=1e-12)     # put-call parity
    assert put_gamma == gamma and put_delta == pytest.approx(delta - math.exp(-0.0075), abs=1e-12)
    h = 1e-4
    for kind in ("call", "put"):
        up, down = black76(kind, 30 + h, 32, 0.25, 0.03, 0.6), black76(kind, 30 - h, 32, 0.25, 0.03, 0.6)
        mid = black76(kind, 30, 32, 0.25, 0.03, 0.6)
        assert (up[0] - down[0]) / (2 * h) == pytest.approx(mid[1], abs=1e-7)
        assert (up[1] - down[1]) / (2 * h) == pytest.approx(mid[2], abs=1e-7)


def test_black76_against_an_independent_formula():
    """Random inputs against Black-76 written with the standard library's normal distribution (NormalDist)."""
    from statistics import NormalDist
    normal = NormalDist()
    rng = random.Random(8)
    for _ in range(500):
        f, k, t = rng.uniform(1, 200), rng.uniform(1, 200), rng.uniform(0.01, 3)
        r, vol = rng.uniform(-0.02, 0.1), rng.uniform(0.05, 1.5)
        d1 = (math.log(f / k) + 0.5 * vol * vol * t) / (vol * math.sqrt(t))
        d2 = d1 - vol * math.sqrt(t)
        df = math.exp(-r * t)
        expected = {"call": (df * (f * normal.cdf(d1) - k * normal.cdf(d2)), df * normal.cdf(d1)),
                    "put": (df * (k * normal.cdf(-d2) - f * normal.cdf(-d1)), df * (normal.cdf(d1) - 1))}
        gamma = df * normal.pdf(d1) / (f * vol * math.sqrt(t))
        for kind, (price, delta) in expected.items():
            got = black76(kind, f, k, t, r, vol)
            assert got[0] == pytest.approx(price, rel=1e-9, abs=1e-9) and got[1] == pytest.approx(delta, abs=1e-12)
            assert got[2] == pytest.approx(gamma, rel=1e-9)


def _target_at(model, symbol, mid_milli):
    """The leg's target as the model's hedge law computes it, read from the recommendation at a mid (H = 0, no
    threshold, no slicing, no limit: the order is the whole target)."""
    model.write(Write(0, LegReg.HEDGE_POSITION, 0))
    model.tick(symbol, Side.BID, mid_milli - 5, 1)
    recs = model.tick(symbol, Side.ASK, mid_milli + 5, 1)
    model.tick(symbol, Side.CLEAR, 0, 0)
    if not recs:
        return 0
    return recs[-1].hedge_position


def test_delta_gamma_through_the_model():
    """After the push, the model's target at mid = anchor is -delta, at anchor + 1.0 it is -(delta + gamma), each
    within the documented rounding (the target's rounding to a whole unit, and the ratio's and gamma's)."""
    options = [OptionPosition("call", 32, 0.25, 0.6, 1000), OptionPosition("put", 28, 0.5, 0.5, -400),
               OptionPosition("call", 30, 0.1, 0.7, 250)]
    strategy = DeltaGammaHedge(options, rate=0.03)
    push = strategy.push(30.0, P)
    delta, gamma = push.estimates["delta"], push.estimates["gamma"]
    leg = LegConfig(symbol=0, min_qty=1, threshold_bps=0)
    config = EngineConfig(CoreParams(symbols=1, legs=1), (leg,))
    model = HedgeModel(config.params)
    for write in config_writes(config) + push.writes():
        model.write(write)
    rounding = 0.5 + 2 ** -16 + 2 ** -32 * 1000
    assert abs(_target_at(model, 0, 30_000) + delta) <= rounding
    assert abs(_target_at(model, 0, 31_000) + (delta + gamma)) <= rounding
    assert abs(_target_at(model, 0, 29_000) + (delta - gamma)) <= rounding


def test_spark_spread_lots_and_rounding():
    strategy = SparkSpreadHedge(SparkSpreadParams(heat_rate=2.0, carbon_intensity=0.4), power_position=-101_234)
    gas, carbon = strategy.hedges()
    assert (gas["hedge"], gas["lots"], gas["unit"]) == (202_468.0, 202_468, "MWh")
    assert (carbon["hedge"], carbon["lots"], carbon["unit"]) == (pytest.approx(40_493.6), 40, "t")
    assert carbon["unhedged"] == pytest.approx(493.6)
    pushes = strategy.compute()
    assert [(p.leg, p.name, p.registers[LegReg.POSITION]) for p in pushes] == [(0, "gas", -202_468),
                                                                              (1, "carbon", -40)]
    assert pushes[1].rounding() and "position" in pushes[1].rounding()[0] and not pushes[0].rounding()


def test_registers_refuse_what_does_not_fit():
    for make, value, message in ((ratio_register, 40_000, "Q16.16"), (ratio_register, -32768.1, "Q16.16"),
                                 (gamma_register, 500, "gamma register"), (gamma_register, math.nan, "not a finite"),
                                 (ratio_register, math.inf, "not a finite")):
        with pytest.raises(StrategyError, match=message):
            make("x", value)
    assert ratio_register("x", -32768).register == -2 ** 31 and gamma_register("x", 499.99).register < 2 ** 31
    with pytest.raises(StrategyError, match="16-bit prices"):
        price_register("band_hi", 40.0, CoreParams(price_width=16))
    assert price_register("p", 27.5024, P, Decimal("0.005")).register == 27_500
    assert price_register("p", 27.5025, P, Decimal("0.005")).register == 27_505      # half away from zero


def test_price_series_policy(tmp_path):
    a = tmp_path / "a.csv"
    a.write_bytes(b"Date,Price\r\n2024-01-03,2\r\n2024-01-02,-1.5\r\n2024-01-04,\r\n2024-01-05,NA\r\n2024-01-08,4\r\n")
    b = tmp_path / "b.csv"
    b.write_text("Date,Price\n2024-01-02,10\n2024-01-03,11\n2024-01-08,12\n2024-01-09,13\n")
    sa, sb = load_prices(a), load_prices(b)
    assert [str(d) for d in sa.dates] == ["2024-01-02", "2024-01-03", "2024-01-08"] and sa.dropped == {"missing": 2}
    assert list(sa.prices) == [-1.5, 2, 4]
    ja, jb, dropped = align(sa, sb)
    assert list(ja.prices) == [-1.5, 2, 4] and list(jb.prices) == [10, 11, 12]
    assert dropped == {"missing": 2, "unmatched": 1}
    b.write_text("Date,Price\n2024-01-02,10\n2024-01-02,11\n")
    with pytest.raises(Exception, match="b.csv:3: Date: 2024-01-02 comes twice"):
        load_prices(b)


def run(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_json_keys(tmp_path, capsys):
    status, out, _ = run(capsys, "strategy", "delta", "--ratio", "1.125", "--position", "-10000", "--json")
    doc = json.loads(out)
    assert status == 0 and doc["hedge_ratio"] == 1.125 and doc["hedge"] == 11250
    assert doc["registers"]["hedge_ratio"] == 73728

    rng = random.Random(5)
    s, f = tmp_path / "s.csv", tmp_path / "f.csv"
    days = [f"2024-{m:02d}-{d:02d}" for m in range(1, 13) for d in range(1, 29)]
    fp = np.cumsum([rng.gauss(0, 1) for _ in days]) + 60
    s.write_text("Date,Price\n" + "".join(f"{d},{0.9 * p + rng.gauss(0, 0.3):.3f}\n" for d, p in zip(days, fp)))
    f.write_text("Date,Price\n" + "".join(f"{d},{p:.3f}\n" for d, p in zip(days[5:], fp[5:])))
    status, out, _ = run(capsys, "strategy", "mvhr", "--exposure", s, "--hedge", f, "--window", "100", "--json")
    doc = json.loads(out)
    assert status == 0 and doc["observations"] == 100 and doc["dropped"] == 5
    assert set(doc) >= {"hedge_ratio", "effectiveness", "observations", "dropped", "registers"}

    status, out, _ = run(capsys, "strategy", "mean-reversion", "--prices", s, "--ratio", "1", "--threshold-z", "2",
                         "--hedge-strength", "0.7", "--kappa", "0.1", "--json")
    doc = json.loads(out)
    assert status == 0 and doc["kappa"] == 0.1 and len(doc["band"]) == 2 and doc["alt_hedge_ratio"] == 0.7
    assert set(doc) >= {"mu", "sigma", "half_life", "registers"}

    options = tmp_path / "o.csv"
    options.write_text("kind,strike,t,vol,quantity\ncall,32,0.25,0.6,1\n")
    status, out, _ = run(capsys, "strategy", "delta-gamma", "--options", options, "--underlying", "30", "--rate",
                         "0.03", "--json")
    doc = json.loads(out)
    assert status == 0 and round(doc["delta"], 6) == 0.470494 and round(doc["gamma"], 7) == 0.0439025
    assert doc["anchor"] == 30 and doc["registers"]["anchor"] == 30_000

    status, out, _ = run(capsys, "strategy", "spark-spread", "--power-position", "-100000", "--heat-rate", "2",
                         "--carbon-intensity", "0.4", "--json")
    doc = json.loads(out)
    assert status == 0 and [(leg["name"], leg["hedge"], leg["lots"]) for leg in doc["legs"]] == [
        ("gas", 200000, 200000), ("carbon", 40000, 40)]


@pytest.mark.parametrize("argv, message", [
    (["mvhr", "--exposure", "{s}", "--hedge", "{s}", "--window", "1000"], "window: 1000 price changes, but"),
    (["mean-reversion", "--prices", "{flat}", "--threshold-z", "2", "--hedge-strength", "0.5"], "constant"),
    (["delta-gamma", "--options", "{empty}", "--underlying", "30", "--rate", "0.03"], "no options in the book"),
    (["delta-gamma", "--options", "{badvol}", "--underlying", "30", "--rate", "0.03"], "vol: must be > 0, got 0"),
    (["delta-gamma", "--options", "{badt}", "--underlying", "30", "--rate", "0.03"], "t: must be > 0, got -0.1"),
    (["delta-gamma", "--options", "{ok}", "--underlying", "-5", "--rate", "0.03"], "positive price"),
    (["delta", "--ratio", "40000", "--position", "1"], "hedge_ratio: 40000 does not fit"),
])
def test_cli_errors_one_line(tmp_path, capsys, argv, message):
    files = {"s": "Date,Price\n2024-01-02,1\n2024-01-03,2\n2024-01-04,1.5\n",
             "flat": "Date,Price\n" + "".join(f"2024-01-{d:02d},7\n" for d in range(1, 20)),
             "empty": "kind,strike,t,vol,quantity\n", "badvol": "kind,strike,t,vol,quantity\ncall,30,1,0,1\n",
             "badt": "kind,strike,t,vol,quantity\nput,30,-0.1,0.5,1\n",
             "ok": "kind,strike,t,vol,quantity\ncall,30,1,1,1\n"}
    paths = {}
    for name, text in files.items():
        paths[name] = tmp_path / f"{name}.csv"
        paths[name].write_text(text)
    status, out, err = run(capsys, "strategy", *[a.format(**paths) for a in argv])
    assert status == 2 and out == "" and err.count("\n") == 1 and message in err, err


def test_runner_pushes_between_the_same_ticks():
    """Strategy updates mid-stream: the runner's command stream gives the model exactly what a hand-placed write
    sequence gives, and a push changes the recommendations from the tick after it."""
    from hedgegate.host.strategies import StrategyRunner
    rng = random.Random(6)
    ticks = []
    for i in range(400):                      # the touch's sizes change, its prices stay: never crossed
        ticks.append(Tick(i, 0, Side.BID, 29_995, rng.randrange(1, 50)))
        ticks.append(Tick(i, 0, Side.ASK, 30_005, rng.randrange(1, 50)))
    leg = LegConfig(symbol=0, position=-1000, min_qty=1, threshold_bps=0)
    config = EngineConfig(CoreParams(symbols=1, legs=1), (leg,))
    ratios = iter([0.5, 1.0, 1.5, 2.0] * 100)

    class Stepping:                          # a user's own strategy (the HedgingStrategy protocol)
        def compute(self, market, params):
            return DeltaHedge(next(ratios)).compute()
    runner = StrategyRunner(config, [Stepping()], every_ticks=100)
    commands = runner.plan(ticks)
    assert [p.tick for p in runner.log] == [99, 199, 299, 399, 499, 599, 699, 799]
    writes = [c for c in commands if isinstance(c, Write)]
    assert len(writes) == 16 and commands.index(writes[0]) == 100
    model = HedgeModel(config.params)
    for write in config_writes(config):
        model.write(write)
    recs = [rec for command in commands for rec in model.apply(command)]
    # the config's ratio 1 from the first tick with both sides, then each push from the tick after it
    assert [rec.hedge_position for rec in recs] == [1000, 500, 1000, 1500, 2000, 500, 1000, 1500]
    assert [rec.tick for rec in recs] == [1, 100, 200, 300, 400, 500, 600, 700]


def test_custom_strategy_example():
    """examples/custom_strategy.py: a user's strategy through the runner and the model, its pushes as it says."""
    import runpy
    example = runpy.run_path(str(Path(__file__).resolve().parents[1] / "examples" / "custom_strategy.py"))
    runner, summary = example["main"]()
    pushed = [entry for entry in runner.log if entry.pushes]
    assert len(pushed) > 10 and summary["recommendations"] > 0
    assert runner.log[0].error.startswith("symbol 0: ")                         # the window was still filling
    for entry in pushed:
        push = entry.pushes[0]
        ratio = min(1.0, 0.01 / push.estimates["realised_vol"])
        assert push.registers[LegReg.HEDGE_RATIO] == round(ratio * 65536)


def test_push_on_demand_through_a_board():
    """push_now: evaluated and sent at once, between the ticks already sent and the next ones."""
    from hedgegate.host.board import open_board
    from hedgegate.host.strategies import StrategyRunner
    config = EngineConfig(CoreParams(symbols=1, legs=1), (LegConfig(symbol=0, position=-1000),))
    runner = StrategyRunner(config, [DeltaHedge(0.25)], every_ticks=10**9)
    with open_board("model", config.params) as board:
        board.send(config_writes(config))
        board.send([Tick(0, 0, Side.BID, 29_995, 1), Tick(1, 0, Side.ASK, 30_005, 1)])
        pushes = runner.push_now(board)
        board.send([Tick(2, 0, Side.BID, 29_995, 2)])
        recs = board.sync().recommendations
    assert pushes[0].registers[LegReg.HEDGE_RATIO] == 16384
    assert [(rec.tick, rec.hedge_position) for rec in recs] == [(1, 1000), (2, 250)]


def test_runner_exchange_time_cadence():
    """every_ns / bar_ns: an evaluation, and a bar closed on the last mid before it, ahead of the first tick at or
    past each multiple of the period."""
    from hedgegate.host.strategies import StrategyRunner
    ticks = [Tick(ts, 0, side, price, 1) for ts, side, price in
             [(5, Side.BID, 100), (7, Side.ASK, 110), (12, Side.BID, 102), (25, Side.ASK, 112), (26, Side.BID, 104),
              (31, Side.ASK, 114), (59, Side.BID, 90)]]
    config = EngineConfig(CoreParams(symbols=1, legs=1), (LegConfig(symbol=0),))
    seen = []

    class Recorder:
        def compute(self, market, params):
            seen.append(list(market.series(0)))
            return []
    runner = StrategyRunner(config, [Recorder()], every_ns=10, bar_ns=10)
    runner.plan(ticks)
    assert [entry.tick for entry in runner.log] == [1, 2, 4, 5]             # before the ticks at ts 12, 25, 31, 59
    assert seen == [[0.105], [0.105, 0.106], [0.105, 0.106, 0.107], [0.105, 0.106, 0.107, 0.107]]

"""The engine's Python API (hedgegate.HedgeEngine and friends, the replaced Rust engine's names) on every backend
available without a simulator: the model and the serial backend (to the board emulator, tests/board_emulator.py)."""

import doctest

import pytest

import hedgegate.engine
from board_emulator import BoardEmulator
from hedgegate import HedgeConfig, HedgeEngine, MarketTick, get_timestamp_ns
from hedgegate.host.errors import InputError
from hedgegate.hw.layouts import RecSide

ISSUE_EXAMPLE = HedgeConfig(hedge_ratio=1.125, rehedge_threshold_bps=500, position=-10_000, symbol=0)


@pytest.fixture(params=["model", "serial"])
def backend(request):
    if request.param == "model":
        yield "model"
        return
    emulator = BoardEmulator(ISSUE_EXAMPLE.engine_config().params)
    yield emulator.url
    emulator.close()


def test_docstring_example():
    assert doctest.testmod(hedgegate.engine).failed == 0


def test_the_issue_example_on_every_backend(backend):
    """10,000 MWh short, ratio 1.125, threshold 5 %, no slippage or slicing: the bid alone gives nothing (the law
    needs both sides), the ask then gives exactly one recommendation, BUY 11,250 at the ask, 45.60."""
    with HedgeEngine(ISSUE_EXAMPLE, backend) as engine:
        engine.on_tick(MarketTick.bid(get_timestamp_ns(), 45.50, 100, 0))
        assert engine.get_hedge_recommendation(timeout=0.5) is None
        engine.on_tick(MarketTick.ask(get_timestamp_ns(), 45.60, 100, 0))
        rec = engine.get_hedge_recommendation(timeout=2.0)
        assert (rec.side, rec.quantity, rec.price, rec.price_milli, rec.leg, rec.hedge_position) == \
            (RecSide.BUY, 11_250, 45.6, 45_600, 0, 11_250)
        assert engine.get_hedge_recommendation(timeout=0.3) is None
        # A fill reported short of the order, then a new exposure: in order with the ticks, no race.
        engine.report_fill(0, -250)                 # only 11,000 filled: H = 11,000, 2.2 % off, under 5 %
        engine.on_tick(MarketTick.ask(get_timestamp_ns(), 45.61, 100, 0))     # a level behind the best ask
        assert engine.get_hedge_recommendation(timeout=0.3) is None
        engine.set_position(0, -20_000)             # target 22,500: BUY 11,500
        engine.on_tick(MarketTick.bid(get_timestamp_ns(), 45.52, 100, 0))
        rec = engine.get_hedge_recommendation(timeout=2.0)
        assert (rec.side, rec.quantity, rec.price, rec.hedge_position) == (RecSide.BUY, 11_500, 45.6, 22_500)
        assert engine.status()["hedge_positions"] == [22_500]


def test_floats_enter_exactly_and_bad_values_are_named():
    config = HedgeConfig(hedge_ratio=0.1, slippage=0.005, band=(29.9, 30.1), position=-1)
    leg = config.engine_config().legs[0]
    assert (leg.hedge_ratio, leg.slippage, leg.band_lo, leg.band_hi) == (6554, 5, 29_900, 30_100)
    with pytest.raises(InputError, match=r"^HedgeConfig: leg\[0\]\.threshold_bps: "):
        HedgeConfig(rehedge_threshold_bps=70_000).engine_config()
    with pytest.raises(InputError, match=r"^HedgeConfig: leg\[0\]\.symbol: "):
        HedgeConfig(symbol=9, symbols=4).engine_config()
    with HedgeEngine(HedgeConfig()) as engine:
        with pytest.raises(ValueError, match="tick symbol 7"):
            engine.on_tick(MarketTick.bid(0, 45.0, 1, 7))

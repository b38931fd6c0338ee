"""The compiled kernel (the backtester's fast path, ``replay --backend fast``) against the model, and the kernel's
split product against Python's exact integers.

The model runs the kernel as Python on unbounded ints; the fast path runs it compiled on int64. What can differ is
only the arithmetic, so the streams here push every register over its full range (the 83-bit exposure product,
65-bit gamma products, saturating targets) as well as through realistic values, and compare every recommendation
and every book trace.
"""

import random
from pathlib import Path

import numpy as np
import pytest
from numba import njit

from hedgegate.host import kernel
from hedgegate.host.commands import Write, halt_write
from hedgegate.host.config import load_config
from hedgegate.host.marketdata import load_ticks
from hedgegate.host.model import HedgeModel
from hedgegate.host.numbers import rha_shift, saturate
from hedgegate.host.replay import fast_commands, run_fast, run_model
from hedgegate.hw.params import INT32_MAX, INT32_MIN, POSITION_MAX, UINT32_MAX, CoreParams
from hedgegate.hw.regmap import LegReg
from hedgegate.sim.scenarios import SCENARIOS
from hedgegate.sim.stimulus import random_commands, stim_tick

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

_mul_rha_sat = njit(lambda a, b, k, limit: kernel.mul_rha_sat(a, b, k, limit))


def _exact(a, b, k, limit):
    return saturate(rha_shift(a * b, k), limit)


def _operands(rng):
    """(a, b, limit) as the law uses them: gamma x (mid - anchor), and r_eff x -P saturating to a position."""
    extremes32 = [INT32_MIN, INT32_MAX, -INT32_MAX, 0, 1, -1, 1 << 15, -(1 << 15), (1 << 16) - 1]
    if rng.random() < 0.5:
        a = rng.choice(extremes32 + [rng.randint(INT32_MIN, INT32_MAX)] * 3)
        b = rng.choice([2 * INT32_MIN, 2 * INT32_MAX, 0, 1, -1, rng.randint(2 * INT32_MIN, 2 * INT32_MAX)])
        return a, b, (1 << 62) - 1
    reff = (1 << 48) + (1 << 31)
    a = rng.choice([reff, -reff, 0, 1, -1, rng.randint(-reff, reff), rng.randint(-(1 << 20), 1 << 20)])
    b = rng.choice(extremes32 + [-INT32_MIN, rng.randint(-INT32_MAX - 1, INT32_MAX + 1)])
    return a, b, POSITION_MAX


def test_split_product_is_exact_over_the_full_ranges():
    rng = random.Random(7)
    for _ in range(40_000):
        a, b, limit = _operands(rng)
        want = _exact(a, b, 16, limit)
        assert kernel.mul_rha_sat(a, b, 16, limit) == want, (a, b, limit)
        assert _mul_rha_sat(a, b, 16, limit) == want, (a, b, limit)


def test_split_product_ties_and_saturation_by_hand():
    # 3 * 1 / 2 = 1.5 -> 2; -1.5 -> -2; 2^31 * 2^31 / 2^16 saturates; a product of 83 bits saturates negative.
    assert kernel.mul_rha_sat(3, 1, 1, 100) == 2 and _mul_rha_sat(-3, 1, 1, 100) == -2
    assert _mul_rha_sat(1 << 31, 1 << 31, 16, POSITION_MAX) == POSITION_MAX
    assert _mul_rha_sat((1 << 48) + (1 << 31), -(1 << 31), 16, POSITION_MAX) == -POSITION_MAX


def _full_range_writes(rng, params, leg):
    """Every register anywhere in its range (the stimulus generator's are mostly realistic)."""
    values = {
        LegReg.SYMBOL: rng.randrange(params.symbols),
        LegReg.POSITION: rng.randint(INT32_MIN, INT32_MAX),
        LegReg.HEDGE_POSITION: rng.randint(-POSITION_MAX, POSITION_MAX),
        LegReg.HEDGE_RATIO: rng.randint(INT32_MIN, INT32_MAX),
        LegReg.ALT_HEDGE_RATIO: rng.randint(INT32_MIN, INT32_MAX),
        LegReg.BAND_LO: rng.randint(params.price_min, 0),
        LegReg.BAND_HI: rng.randint(0, params.price_max),
        LegReg.GAMMA: rng.choice([INT32_MIN, INT32_MAX, rng.randint(INT32_MIN, INT32_MAX)]),
        LegReg.ANCHOR: rng.choice([params.price_min, params.price_max, rng.randint(params.price_min, params.price_max)]),
        LegReg.THRESHOLD_BPS: rng.choice([0, 0, rng.randint(0, 65_535)]),
        LegReg.MIN_QTY: rng.choice([1, 1, 1, rng.randint(1, UINT32_MAX)]),
        LegReg.MAX_ORDER_QTY: rng.choice([UINT32_MAX, rng.randint(1, UINT32_MAX)]),
        LegReg.POSITION_LIMIT: rng.choice([INT32_MAX, INT32_MAX, rng.randint(0, INT32_MAX)]),
        LegReg.SLIPPAGE: rng.choice([0, rng.randint(0, params.price_max)]),
    }
    return [Write(leg, reg, value) for reg, value in values.items()] + [Write(leg, LegReg.ENABLED, 1)]


def _full_range_commands(rng, params, ticks):
    for leg in range(params.legs):
        yield from _full_range_writes(rng, params, leg)
    yield halt_write(False)
    # Each symbol's quotes sit around a centre anywhere in the price range (bids below it, asks above, so the law
    # runs); the centre jumps now and then, and a few quotes land on the range's ends.
    centres = [rng.randint(params.price_min // 2, params.price_max // 2) for _ in range(params.symbols)]
    for _ in range(ticks):
        if rng.randrange(200) == 0:
            yield from _full_range_writes(rng, params, rng.randrange(params.legs))
        if rng.randrange(10) == 0:        # fills and new exposures move H and P, so the law keeps deciding
            reg = rng.choice([LegReg.ADJUST_POSITION, LegReg.POSITION, LegReg.HEDGE_POSITION])
            yield Write(rng.randrange(params.legs), reg, rng.randint(INT32_MIN, INT32_MAX))
        symbol = rng.randrange(params.symbols)
        if rng.randrange(300) == 0:
            centres[symbol] = rng.randint(params.price_min // 2, params.price_max // 2)
        side = rng.choice([0, 0, 1, 1, 2, 3] if rng.random() < 0.02 else [0, 1])
        offset = rng.choice([rng.randint(1, 1000), rng.randint(1, 1 << 24)]) * (-1 if side == 0 else 1)
        price = max(params.price_min, min(params.price_max, centres[symbol] + offset))
        if rng.random() < 0.01:
            price = rng.choice([params.price_min, params.price_max])
        qty = 0 if rng.random() < 0.2 else rng.choice([1, rng.randint(1, params.qty_max)])
        yield stim_tick(symbol, side, price, qty)


def _model_recs(params, commands):
    model = HedgeModel(params)
    return [rec for command in commands for rec in model.apply(command)]


@pytest.mark.parametrize("seed", range(4))
def test_fast_path_equals_model_on_full_range_registers(seed):
    rng = random.Random(seed)
    params = CoreParams(symbols=3, levels=rng.choice([1, 4, 10]), legs=rng.choice([1, 2, 4]))
    commands = list(_full_range_commands(rng, params, 10_000))
    want = _model_recs(params, commands)
    assert len(want) > 50                     # the stream reaches the law, not only its guards
    assert fast_commands(params, commands, chunk=997) == want


@pytest.mark.parametrize("seed", range(3))
def test_fast_path_equals_model_on_the_differential_streams(seed):
    rng = random.Random(100 + seed)
    params = CoreParams(symbols=rng.choice([1, 4]), levels=rng.choice([2, 10]), legs=rng.choice([1, 3]),
                        price_width=rng.choice([16, 32]), qty_width=rng.choice([16, 32]))
    commands = list(random_commands(rng, params, 8000, write_every=200))
    assert fast_commands(params, commands) == _model_recs(params, commands)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_fast_path_equals_model_on_every_scenario(name):
    params = CoreParams(symbols=4, levels=10, legs=2)
    commands = SCENARIOS[name](params)
    assert fast_commands(params, commands, chunk=3) == _model_recs(params, commands)


def test_fast_replay_recs_and_trace_equal_the_model_on_the_example():
    config = load_config(EXAMPLES / "ttf-hedge.toml")
    ticks = load_ticks(EXAMPLES / "ttf-eua-ticks.csv", config.params)
    recs, traces = run_fast(config, ticks, chunk=777)
    assert (recs, traces) == run_model(config, ticks)
    assert len(recs) > 50


def test_fast_model_state_is_the_model_state():
    """The arrays the compiled loop leaves behind are the model's: books, H and counters read back through it."""
    config = load_config(EXAMPLES / "ttf-hedge.toml")
    ticks = load_ticks(EXAMPLES / "ttf-eua-ticks.csv", config.params)
    python = HedgeModel(config.params)
    compiled = HedgeModel(config.params, arrays=True)
    from hedgegate.host.commands import config_writes
    from hedgegate.host.replay import fast_ticks
    for write in config_writes(config):
        python.write(write)
        compiled.write(write)
    for tick in ticks:
        python.tick(tick.symbol, tick.side, tick.price, tick.qty)
    fast_ticks(compiled, ticks, trace=False)
    assert [compiled.book(s) for s in range(4)] == [python.book(s) for s in range(4)]
    assert [list(r) for r in compiled.registers] == [list(r) for r in python.registers]
    assert (compiled.ticks_in, compiled.recs_out, compiled.limit_blocked) == \
        (python.ticks_in, python.recs_out, python.limit_blocked)
    assert isinstance(compiled.regs, np.ndarray)


def test_cli_replay_fast_writes_the_models_files(tmp_path):
    """``hedgegate replay --backend fast``: RECS and TRACE byte for byte those of ``--backend model``."""
    import subprocess
    import sys
    files = {}
    for backend in ("model", "fast"):
        recs, trace = tmp_path / f"{backend}.recs", tmp_path / f"{backend}.trace"
        run = subprocess.run([sys.executable, "-m", "hedgegate.host.cli", "replay", str(EXAMPLES / "ttf-eua-ticks.csv"),
                              "--config", str(EXAMPLES / "ttf-hedge.toml"), "--backend", backend, "--out", str(recs),
                              "--trace", str(trace)], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        files[backend] = (recs.read_bytes(), trace.read_bytes())
    assert files["fast"] == files["model"] and files["model"][0].count(b"\n") > 50

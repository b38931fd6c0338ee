"""Random command streams for the differential tests: leg registers, ticks and interleaved register writes.

The generators aim at coverage rather than realism: prices sit on a coarse grid around a base so that levels collide
(updates, deletes of present and absent prices, insertions at every depth, evictions), books cross now and then,
register values range from typical to extreme (saturating targets, prices pushed out of range by slippage, zero
limits, large thresholds), and writes (fill adjustments, halts, re-parameterisation) land between ticks.
"""

import random

from ..host.commands import Write, halt_write
from ..host.ticks import Tick
from ..hw.layouts import TickSide
from ..hw.params import INT32_MAX, INT32_MIN, POSITION_MAX, CoreParams
from ..hw.regmap import LegReg

__all__ = ["stim_tick", "random_leg_writes", "random_commands"]


def stim_tick(symbol, side, price, qty) -> Tick:
    """A tick for a command stream (the core does not see timestamps)."""
    return Tick(0, symbol, TickSide(side), price, qty)


def _pick(rng: random.Random, *choices):
    """Picks one of (weight, generator) pairs and calls the generator."""
    weights = [weight for weight, _ in choices]
    return rng.choices([make for _, make in choices], weights)[0]()


def _leg_registers(rng: random.Random, params: CoreParams, base: int) -> dict:
    price_max = params.price_max
    spread = max(50, min(price_max // 4, 2000))
    return {
        LegReg.SYMBOL: rng.randrange(params.symbols),
        LegReg.POSITION: _pick(rng, (8, lambda: rng.randint(-50_000, 50_000)),
                               (1, lambda: rng.choice([INT32_MIN, INT32_MAX, -INT32_MAX])),
                               (1, lambda: rng.randint(INT32_MIN, INT32_MAX))),
        LegReg.HEDGE_POSITION: _pick(rng, (8, lambda: rng.randint(-1000, 1000)),
                                     (1, lambda: rng.choice([POSITION_MAX, -POSITION_MAX]))),
        LegReg.HEDGE_RATIO: _pick(rng, (8, lambda: rng.randint(-2 << 16, 2 << 16)),
                                  (1, lambda: rng.randint(INT32_MIN, INT32_MAX))),
        LegReg.ALT_HEDGE_RATIO: _pick(rng, (8, lambda: rng.randint(-2 << 16, 2 << 16)),
                                      (1, lambda: rng.randint(INT32_MIN, INT32_MAX))),
        LegReg.BAND_LO: base - rng.randint(0, spread),
        LegReg.BAND_HI: base + rng.randint(-spread // 2, spread),
        LegReg.GAMMA: _pick(rng, (3, lambda: 0), (6, lambda: rng.randint(-3_000_000, 3_000_000)),
                            (1, lambda: rng.randint(INT32_MIN, INT32_MAX))),
        LegReg.ANCHOR: base + rng.randint(-spread, spread),
        LegReg.THRESHOLD_BPS: _pick(rng, (5, lambda: 0), (4, lambda: rng.randint(1, 500)),
                                    (1, lambda: rng.choice([10_000, 65_535, rng.randint(0, 65_535)]))),
        LegReg.MIN_QTY: _pick(rng, (6, lambda: 1), (3, lambda: rng.randint(1, 100)),
                              (1, lambda: rng.randint(1, 1 << 32) - 1 or 1)),
        LegReg.MAX_ORDER_QTY: _pick(rng, (3, lambda: INT32_MAX), (6, lambda: rng.randint(1, 2000)),
                                    (1, lambda: rng.randint(1, (1 << 32) - 1))),
        LegReg.POSITION_LIMIT: _pick(rng, (5, lambda: INT32_MAX), (4, lambda: rng.randint(10_000, 200_000)),
                                     (1, lambda: 0)),
        LegReg.SLIPPAGE: _pick(rng, (6, lambda: rng.randint(0, 50)),
                               (1, lambda: rng.randint(0, price_max)),
                               (1, lambda: price_max - rng.randint(0, 2 * spread))),
    }


def random_leg_writes(rng: random.Random, params: CoreParams, leg: int, base: int) -> list[Write]:
    registers = _leg_registers(rng, params, base)
    writes = [Write(leg, addr, value) for addr, value in registers.items()]
    writes.append(Write(leg, LegReg.ENABLED, int(rng.random() < 0.95)))
    return writes


def random_commands(rng: random.Random, params: CoreParams, ticks: int, *, write_every: int = 500):
    """Yields a full stream: configuration writes, then ``ticks`` ticks with occasional writes between them."""
    base = rng.randint(params.price_min // 2, params.price_max // 2) if rng.random() < 0.2 else \
        min(45_000, params.price_max // 2)
    grid = rng.choice([1, 5, 10])
    width = rng.choice([8, 20, 40])
    for leg in range(params.legs):
        yield from random_leg_writes(rng, params, leg, base)
    yield halt_write(False)

    # Each symbol's prices follow a centre that walks around the base, so mids (and with gamma and bands, targets)
    # move; levels left behind by the walk make books cross now and then until deletes or clears remove them.
    centres = [base] * params.symbols
    reach = 30 * grid
    for _ in range(ticks):
        if write_every and rng.randrange(write_every) == 0 and params.legs:
            leg = rng.randrange(params.legs)
            kind = rng.randrange(6)
            if kind == 0:
                yield Write(leg, LegReg.ADJUST_POSITION, rng.randint(-5000, 5000))
            elif kind == 1:
                yield halt_write(rng.random() < 0.3)
            elif kind <= 3:
                yield Write(leg, LegReg.POSITION, rng.randint(-50_000, 50_000))
            else:
                writes = random_leg_writes(rng, params, leg, base)
                yield from rng.sample(writes, k=rng.randint(1, 4))
        symbol = rng.randrange(params.symbols)
        centre = centres[symbol] = max(base - reach, min(base + reach, centres[symbol] + rng.choice((-1, 0, 0, 1)) * grid))
        roll = rng.random()
        if roll < 0.005:
            side, qty = TickSide.CLEAR, 0
        elif roll < 0.05:
            side, qty = TickSide.TRADE, rng.randint(0, 100)
        else:
            side = TickSide.BID if rng.random() < 0.5 else TickSide.ASK
            qty = 0 if rng.random() < 0.3 else rng.randint(1, min(params.qty_max, 5000))
        if qty == 0:
            offset = rng.randint(-width - 30, width + 30)        # deletes also reach levels the walk left behind
        else:
            offset = rng.randint(1, width) * (-1 if side == TickSide.BID else 1)
        price = max(params.price_min, min(params.price_max, centre + offset * grid))
        yield stim_tick(symbol, side, price, qty)

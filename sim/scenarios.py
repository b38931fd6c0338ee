"""Directed command streams: one per behaviour the core must get right.

Each scenario is a function of the core's parameters returning a list of commands (writes and ticks). The cocotb
tests run every scenario on the gateware and compare each cycle's outputs with the model; ``tests/test_model.py``
checks the model's answers for them against results worked out by hand.
Scenarios that need more legs, levels or symbols than a build has use what there is (e.g. ``min(4, params.legs)``).
Their prices are written around 45,000 (milli-units); for a price width too narrow for that, every tick price and
every price register written (band, anchor) is moved by one constant into range (:func:`fit_prices`), which changes
no decision of the book or the hedge law.
"""

import dataclasses
import functools

from ..host.commands import Write, halt_write
from ..hw.layouts import TickSide
from ..hw.params import INT32_MAX, INT32_MIN, CoreParams
from ..hw.regmap import LegReg
from .stimulus import stim_tick

__all__ = ["SCENARIOS", "leg_setup", "bid", "ask", "trade", "clear"]


def bid(price, qty, symbol=0):
    return stim_tick(symbol, TickSide.BID, price, qty)


def ask(price, qty, symbol=0):
    return stim_tick(symbol, TickSide.ASK, price, qty)


def trade(price, qty, symbol=0):
    return stim_tick(symbol, TickSide.TRADE, price, qty)


def clear(symbol=0):
    return stim_tick(symbol, TickSide.CLEAR, 0, 0)


def leg_setup(leg, **registers):
    """Writes for one leg: the named registers (LegReg names in lower case), then ENABLED (default 1)."""
    enabled = registers.pop("enabled", 1)
    writes = [Write(leg, LegReg[name.upper()], value) for name, value in registers.items()]
    return writes + [Write(leg, LegReg.ENABLED, enabled)]


def _one_leg(p, **registers):
    return leg_setup(0, **registers) if p.legs else []


def full_book(p: CoreParams):
    """Fill both sides beyond N levels in scrambled order: inserts at every depth, evictions, rejections."""
    n = p.levels
    prices = [(i * 7) % (n + 3) for i in range(n + 3)]
    cmds = [bid(40_000 + 10 * k, 100 + k) for k in prices] + [ask(50_000 - 10 * k, 200 + k) for k in prices]
    cmds += [bid(40_000 - 1, 5), ask(50_000 + 1, 5)]            # worse than a full side's worst: ignored
    cmds += [bid(40_000 + 10 * (n + 5), 9), ask(50_000 - 10 * (n + 5), 9)]   # new best: worst falls off
    return cmds


def delete_levels(p: CoreParams):
    """Deletes of the best, a middle, the last and an absent level; size updates in place."""
    cmds = [bid(45_000 - 5 * k, 10 + k) for k in range(min(p.levels, 5))]
    cmds += [ask(45_100 + 5 * k, 10 + k) for k in range(min(p.levels, 5))]
    cmds += [bid(45_000, 0), ask(45_100, 0), bid(44_990, 0), bid(12_345, 0), ask(45_100, 0)]
    cmds += [bid(44_995, 77), ask(45_105, 0), ask(45_105, 0), bid(44_995, 0)]
    return cmds


def clear_and_trade(p: CoreParams):
    """Trades change nothing; clear empties both sides of one symbol only; no recommendation on either."""
    other = min(1, p.symbols - 1)
    cmds = _one_leg(p, position=-1000)
    cmds += [bid(45_000, 10), ask(45_010, 10), bid(46_000, 3, other), ask(46_010, 3, other)]
    cmds += [trade(45_005, 50), clear(), trade(45_005, 1), bid(45_000, 10), ask(45_010, 10), clear(other)]
    return cmds


def crossed_books(p: CoreParams):
    """Crossed and locked books are kept as received and never hedged."""
    cmds = _one_leg(p, position=-500)
    cmds += [bid(45_000, 10), ask(44_990, 10), ask(45_000, 10), ask(44_990, 0), bid(45_000, 0), bid(44_995, 4)]
    return cmds


def negative_prices(p: CoreParams):
    """Negative prices (power markets): sorting, floor of an odd negative mid, negative order prices."""
    cmds = _one_leg(p, position=-300, slippage=5, band_lo=-100, band_hi=-3, hedge_ratio=1 << 16,
                    alt_hedge_ratio=2 << 16)
    cmds += [bid(-10, 4), bid(-20, 4), bid(-5, 4), ask(-1, 5), ask(3, 5), ask(-2, 5)]
    cmds += [bid(-4, 1), bid(-3, 0), ask(-2, 0), ask(-1, 0)]
    return cmds


def saturation(p: CoreParams):
    """Targets beyond int32 saturate to +-(2^31-1); H follows without wrapping."""
    cmds = _one_leg(p, position=INT32_MIN, hedge_ratio=INT32_MAX)
    cmds += [bid(45_000, 1), ask(45_010, 1)]
    if p.legs:
        cmds += leg_setup(0, position=INT32_MAX, hedge_ratio=INT32_MAX, hedge_position=0)
    cmds += [bid(45_001, 1)]
    if p.legs:
        cmds += leg_setup(0, position=1, hedge_ratio=INT32_MIN, gamma=INT32_MIN, anchor=INT32_MAX // 2 + 1)
    cmds += [bid(45_002, 1), ask(45_009, 2)]
    return cmds


def band_switching(p: CoreParams):
    """The ratio switches to h_alt when mid leaves [lo, hi]; both bounds are inclusive."""
    cmds = _one_leg(p, position=-10_000, band_lo=45_000, band_hi=45_010, hedge_ratio=1 << 16,
                    alt_hedge_ratio=1 << 15)
    for bb, ba in [(44_999, 45_001), (44_998, 45_001), (45_009, 45_011), (45_010, 45_012), (45_009, 45_015)]:
        cmds += [clear(), bid(bb, 1), ask(ba, 1)]
    return cmds


def gamma(p: CoreParams):
    """Gamma moves the ratio with mid - anchor; the Q16.16 rounding ties go away from zero."""
    cmds = _one_leg(p, position=-1000, hedge_ratio=1 << 16, gamma=1 << 16, anchor=45_000)
    cmds += [bid(45_000, 1), ask(45_002, 1), ask(45_004, 1), bid(44_000, 1), bid(44_999, 0), bid(45_003, 3)]
    cmds += [clear(), bid(44_990, 1), ask(44_992, 1), bid(44_991, 1)]
    if p.legs:
        cmds += leg_setup(0, gamma=-(1 << 15) - 1)
    cmds += [ask(44_993, 1), bid(44_992, 1)]
    return cmds


def rounding_ties(p: CoreParams):
    """Exact ties of both roundings (gamma term and target) go away from zero, for both signs."""
    anchor = 45_000
    cmds = _one_leg(p, position=-(1 << 20), hedge_ratio=1 << 16, gamma=1 << 15, anchor=anchor)
    cmds += [bid(anchor, 1), ask(anchor + 2, 1)]                  # g * (mid - A) = +2^15: r_eff = 1 + 1/65536
    for gamma_value, position, ratio in [(-(1 << 15), -(1 << 20), 1 << 16), (0, -1, 1 << 15), (0, 1, 1 << 15),
                                         (0, -3, 1 << 15), (0, 3, -(1 << 15))]:
        if p.legs:
            cmds += leg_setup(0, gamma=gamma_value, position=position, hedge_ratio=ratio, hedge_position=0)
        cmds += [bid(anchor, 2)]
    return cmds


def limits_and_slicing(p: CoreParams):
    """max_order_qty slices a large hedge over several ticks; position_limit clips and then blocks it."""
    cmds = _one_leg(p, position=-10_000, max_order_qty=3000, position_limit=7000, min_qty=500)
    cmds += [bid(45_000, 1), ask(45_010, 1)] + [bid(45_000, k) for k in range(2, 7)]
    if p.legs:
        cmds += leg_setup(0, position=10_000)    # now SELL down through the negative limit
    cmds += [bid(45_000, k) for k in range(7, 14)]
    # Exactly min_qty of room left to the limit, in each direction: the order still goes out.
    for position, hedge_position in [(10_000, -6500), (-10_000, 6500), (10_000, -6501), (-10_000, 6501)]:
        if p.legs:
            cmds += leg_setup(0, position=position, hedge_position=hedge_position)
        cmds += [bid(45_000, 1)]
    return cmds


def threshold(p: CoreParams):
    """|dev| * 10000 > bps * |target|: equality does not hedge, one more unit does; min_qty also gates."""
    cmds = _one_leg(p, position=-10_000, threshold_bps=500, hedge_position=9500)
    cmds += [bid(45_000, 1), ask(45_010, 1)]                      # dev 500 = 5% of 10000: no hedge
    if p.legs:
        cmds += leg_setup(0, hedge_position=9499)
    cmds += [bid(45_000, 2)]                                       # dev 501: hedge
    if p.legs:
        cmds += leg_setup(0, threshold_bps=0, min_qty=10, hedge_position=9991)
    cmds += [bid(45_000, 3)]                                       # dev 9 < min_qty
    if p.legs:
        cmds += [Write(0, LegReg.ADJUST_POSITION, -1)]
    cmds += [bid(45_000, 4)]                                       # dev 10: hedge
    return cmds


def price_block(p: CoreParams):
    """An order price pushed outside the price range by slippage is blocked and counted."""
    cmds = _one_leg(p, position=-10, slippage=p.price_max)
    cmds += [bid(-5, 1), ask(5, 1)]
    if p.legs:
        cmds += leg_setup(0, position=10, hedge_position=0)
    cmds += [bid(-4, 1)]
    return cmds


def halt(p: CoreParams):
    """The kill switch stops every recommendation from the next tick on, until cleared."""
    cmds = _one_leg(p, position=-10_000, max_order_qty=1000)
    cmds += [bid(45_000, 1), ask(45_010, 1), halt_write(True), bid(45_000, 2), ask(45_010, 2)]
    cmds += [halt_write(False), bid(45_000, 3)]
    return cmds


def several_legs(p: CoreParams):
    """Several legs (on one symbol and on another) fire on one tick: slots and sequence numbers in leg order."""
    cmds = []
    other = min(1, p.symbols - 1)
    for leg in range(p.legs):
        cmds += leg_setup(leg, symbol=other if leg == 2 else 0, position=-1000 * (leg + 1),
                          hedge_ratio=(leg + 1) << 15, max_order_qty=700)
    cmds += [bid(45_000, 1), ask(45_010, 1), bid(46_000, 1, other), ask(46_010, 1, other)]
    cmds += [bid(45_000, k) for k in range(2, 6)]
    return cmds


def back_to_back(p: CoreParams):
    """Ticks on one symbol and side every cycle, each changing the book and H: no stall, no hazard."""
    cmds = _one_leg(p, position=-100_000, max_order_qty=7, threshold_bps=1)
    cmds += [ask(45_100, 1)]
    cmds += [bid(45_000 + (k % 13), k % 5) for k in range(60)]
    cmds += [ask(45_100 - k, 0 if k % 3 == 0 else k) for k in range(40)]
    return cmds


_PRICE_REGISTERS = (LegReg.BAND_LO, LegReg.BAND_HI, LegReg.ANCHOR)


def fit_prices(p: CoreParams, commands: list) -> list:
    """``commands`` with every tick price (but a clear's, which nothing reads) and price register moved by one
    constant so that the tick prices fit ``p.price_width`` bits (unchanged if they fit already). Order, mid - anchor,
    the band tests and everything that depends on them are unchanged; order prices move by the same constant."""
    def moves(c):
        return not isinstance(c, Write) and c.side != TickSide.CLEAR
    prices = [c.price for c in commands if moves(c)]
    if all(p.price_min <= price <= p.price_max for price in prices):
        return commands
    shift = -((min(prices) + max(prices)) // 2)
    if not all(p.price_min <= price + shift <= p.price_max for price in prices):
        raise ValueError(f"the scenario's prices span more than {p.price_width} bits hold")
    return [dataclasses.replace(c, price=c.price + shift) if moves(c)
            else dataclasses.replace(c, data=c.data + shift) if isinstance(c, Write) and c.addr in _PRICE_REGISTERS
            else c for c in commands]


def _fitted(scenario):
    @functools.wraps(scenario)
    def fitted(p: CoreParams):
        return fit_prices(p, scenario(p))
    return fitted


SCENARIOS = {f.__name__: _fitted(f) for f in (
    full_book, delete_levels, clear_and_trade, crossed_books, negative_prices, saturation, band_switching, gamma, rounding_ties,
    limits_and_slicing, threshold, price_block, halt, several_legs, back_to_back)}

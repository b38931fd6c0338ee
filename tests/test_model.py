"""The model against results worked out by hand from the specification (docs/numbers.md)."""

import pytest

from hedgegate.host.commands import Write, halt_write
from hedgegate.host.model import HedgeModel
from hedgegate.hw.layouts import RecSide, TickSide
from hedgegate.hw.params import INT32_MAX, INT32_MIN, POSITION_MAX, CoreParams
from hedgegate.hw.regmap import LegReg

BID, ASK, TRADE, CLEAR = TickSide.BID, TickSide.ASK, TickSide.TRADE, TickSide.CLEAR


def engine(levels=10, legs=1, **registers):
    model = HedgeModel(CoreParams(symbols=2, levels=levels, legs=legs))
    for leg in range(legs):
        setup(model, leg, enabled=1, **registers)
    return model


def setup(model, leg=0, **registers):
    for name, value in registers.items():
        model.write(Write(leg, LegReg[name.upper()], value))


def quote(model, bid, ask, symbol=0):
    return model.tick(symbol, BID, bid, 1) + model.tick(symbol, ASK, ask, 1)


def test_book_insert_evict_update_delete():
    model = engine(levels=3, legs=0)
    for price in (10, 30, 20, 40):
        model.tick(0, BID, price, price // 10)
    assert model.book(0) == ([(40, 4), (30, 3), (20, 2)], [])       # 10 fell off when 40 arrived
    model.tick(0, BID, 5, 1)                                          # full and worse than the worst: ignored
    model.tick(0, BID, 30, 9)                                         # present: size replaced in place
    assert model.book(0)[0] == [(40, 4), (30, 9), (20, 2)]
    model.tick(0, BID, 40, 0)                                         # delete the best: the rest move up
    model.tick(0, BID, 33, 0)                                         # delete an absent price: nothing
    assert model.book(0)[0] == [(30, 9), (20, 2)]
    for price in (7, 3, 5, 1):
        model.tick(0, ASK, price, 1)
    assert model.book(0)[1] == [(1, 1), (3, 1), (5, 1)]               # asks ascending, 7 evicted by 1
    model.tick(0, TRADE, 2, 100)
    assert model.book(0) == ([(30, 9), (20, 2)], [(1, 1), (3, 1), (5, 1)])   # crossed book kept as received
    model.tick(1, BID, 50, 1)
    model.tick(0, CLEAR, 0, 0)
    assert model.book(0) == ([], []) and model.book(1) == ([(50, 1)], [])
    assert model.ticks_in == 15


def test_basic_hedge_at_ask_plus_slippage():
    model = engine(position=-10_000, slippage=5)
    recs = quote(model, 45_000, 45_010)
    assert len(recs) == 1
    rec = recs[0]
    assert (rec.seq, rec.tick, rec.leg, rec.side, rec.qty, rec.price, rec.hedge_position) == \
        (0, 1, 0, RecSide.BUY, 10_000, 45_015, 10_000)
    assert model.tick(0, BID, 45_001, 1) == []                          # hedged: nothing more to do


def test_ratio_rounds_target():
    # h = 1.125 -> 73728; T = 10000 * 73728 / 65536 = 11250 exactly.
    model = engine(position=-10_000, hedge_ratio=73_728)
    assert quote(model, 45_000, 45_010)[0].qty == 11_250
    # h = 1/3 -> 21845 (21845.33 rounded); T = rha(7 * 21845 / 65536) = rha(2.3333) = 2, SELL for P = +7.
    model = engine(position=7, hedge_ratio=21_845)
    rec = quote(model, 45_000, 45_010)[0]
    assert (rec.side, rec.qty, rec.price, rec.hedge_position) == (RecSide.SELL, 2, 45_000, -2)


def test_target_rounding_ties_go_away_from_zero():
    # -P * r = 1 * 32768 = 0.5 * 2^16 -> T = 1; for P = +1, -0.5 -> T = -1.
    assert quote(engine(position=-1, hedge_ratio=1 << 15), 100, 110)[0].hedge_position == 1
    assert quote(engine(position=1, hedge_ratio=1 << 15), 100, 110)[0].hedge_position == -1
    # 3 * 0.5 = 1.5 -> 2 and -1.5 -> -2.
    assert quote(engine(position=-3, hedge_ratio=1 << 15), 100, 110)[0].hedge_position == 2
    assert quote(engine(position=-3, hedge_ratio=-(1 << 15)), 100, 110)[0].hedge_position == -2


def test_gamma_term_ties_go_away_from_zero():
    # mid - A = 1, g = +-2^15: g * (mid - A) / 2^16 = +-0.5 -> +-1 in Q16.16.
    # r_eff = 65536 +- 1, T = 2^20 * r_eff / 2^16 = 16 * r_eff.
    for gamma, target in ((1 << 15, 16 * 65_537), (-(1 << 15), 16 * 65_535)):
        model = engine(position=-(1 << 20), gamma=gamma, anchor=45_000)
        assert quote(model, 45_000, 45_002)[0].hedge_position == target


def test_mid_is_floor_and_band_is_inclusive():
    # bb = -3, ba = 0: (bb + ba) >> 1 = -2 (floor of -1.5). Band [-2, -2] contains it: ratio 1.0; else 0.5.
    model = engine(position=-100, band_lo=-2, band_hi=-2, alt_hedge_ratio=1 << 15)
    assert quote(model, -3, 0)[0].qty == 100
    model = engine(position=-100, band_lo=-1, band_hi=10, alt_hedge_ratio=1 << 15)
    assert quote(model, -3, 0)[0].qty == 50


def test_threshold_is_strict_and_min_qty_gates():
    # |dev| * 10000 > bps * |T|: 500 * 10000 = 500 * 10000 is not greater -> no hedge; 501 is.
    model = engine(position=-10_000, threshold_bps=500, hedge_position=9_500)
    assert quote(model, 45_000, 45_010) == []
    setup(model, hedge_position=9_499)
    assert model.tick(0, BID, 45_000, 2)[0].qty == 501
    model = engine(position=-10_000, min_qty=10, hedge_position=9_991)
    assert quote(model, 45_000, 45_010) == []                            # |dev| = 9 < 10
    model.write(Write(0, LegReg.ADJUST_POSITION, -1))
    assert model.tick(0, BID, 45_000, 2)[0].qty == 10


def test_slicing_then_limit_clipping_then_blocking():
    model = engine(position=-10_000, max_order_qty=3_000, position_limit=7_000, min_qty=500)
    quantities = [rec.qty for k in range(6) for rec in model.tick(0, BID if k else ASK, 45_000 - k, 1)]
    # The first tick (an ask alone) cannot hedge; then slices of 3000, 3000, 1000 (clipped to the limit), then
    # 0 < min_qty: blocked on the two remaining ticks.
    assert quantities == [3_000, 3_000, 1_000]
    assert model.registers[0][LegReg.HEDGE_POSITION] == 7_000
    assert model.limit_blocked == 2
    # A SELL reduces risk: never blocked by the limit in the other direction.
    setup(model, position=10_000)
    assert [rec.side for rec in model.tick(0, BID, 44_990, 1)] == [RecSide.SELL]


def test_crossed_or_one_sided_books_do_not_hedge():
    model = engine(position=-10)
    assert model.tick(0, BID, 100, 1) == []                               # no ask
    assert model.tick(0, ASK, 100, 1) == []                               # locked: bb == ba
    assert model.tick(0, ASK, 90, 1) == []                                # crossed
    assert model.tick(0, ASK, 90, 0) == []                                # locked again
    assert model.tick(0, BID, 100, 0) == []                               # no bid
    assert model.tick(0, BID, 95, 1)[0].price == 100                      # 95 < 100: hedge at the ask


def test_halt_stops_until_cleared():
    model = engine(position=-10_000, max_order_qty=1_000)
    assert len(quote(model, 45_000, 45_010)) == 1
    model.write(halt_write(True))
    assert model.tick(0, BID, 45_000, 2) == [] and model.tick(0, ASK, 45_010, 2) == []
    model.write(halt_write(False))
    assert model.tick(0, BID, 45_000, 3)[0].hedge_position == 2_000


def test_saturation():
    model = engine(position=INT32_MIN, hedge_ratio=INT32_MAX)           # T = 2^31 * (2^15 - 2^-16): saturates
    assert quote(model, 45_000, 45_010)[0].hedge_position == POSITION_MAX
    model.write(Write(0, LegReg.ADJUST_POSITION, 12_345))                # H saturates, never wraps
    assert model.registers[0][LegReg.HEDGE_POSITION] == POSITION_MAX
    model.write(Write(0, LegReg.HEDGE_POSITION, INT32_MIN))
    assert model.registers[0][LegReg.HEDGE_POSITION] == -POSITION_MAX


def test_price_out_of_range_blocks_and_counts():
    params = CoreParams(symbols=1, levels=4, legs=1)
    model = HedgeModel(params)
    setup(model, enabled=1, position=-10, slippage=params.price_max)
    assert quote(model, -5, 5) == []
    assert model.price_blocked == 1 and model.limit_blocked == 0


def test_legs_fire_in_leg_order_with_consecutive_seq():
    model = engine(legs=3, position=-1_000)
    setup(model, 1, position=-2_000)
    setup(model, 2, symbol=1)
    recs = quote(model, 45_000, 45_010)
    assert [(rec.seq, rec.leg, rec.qty) for rec in recs] == [(0, 0, 1_000), (1, 1, 2_000)]
    assert model.tick(0, TRADE, 45_005, 10) == [] and model.tick(0, CLEAR, 0, 0) == []


def test_write_keeps_register_width():
    model = engine(position=-10)
    model.write(Write(0, LegReg.THRESHOLD_BPS, 0x1_2345))                # 16-bit register keeps the low bits
    assert model.registers[0][LegReg.THRESHOLD_BPS] == 0x2345
    model.write(Write(0, LegReg.POSITION, -5))
    assert model.registers[0][LegReg.POSITION] == -5
    with pytest.raises(ValueError, match="symbol 2"):
        model.tick(2, BID, 1, 1)

"""BookSide (parallel: eight stages) and CompactBookSide (one level per cycle) against the model.

Ticks arrive on most cycles, on few symbols and few prices, so that consecutive ticks on the same symbol (the case
the update stage corrects its registered comparisons for) hit matches, inserts, deletes and clears in every order.
"""

import random

import pytest
from amaranth.sim import Simulator

from hedgegate.host.model import BookSideModel
from hedgegate.hw.book_side import BookSide
from hedgegate.hw.compact_book_side import CompactBookSide
from hedgegate.hw.layouts import SideCodec
from hedgegate.hw.params import CoreParams


@pytest.mark.parametrize("compact", [False, True], ids=["parallel", "compact"])
@pytest.mark.parametrize("descending", [True, False], ids=["bids", "asks"])
@pytest.mark.parametrize("symbols,depth", [(1, 1), (1, 3), (2, 4), (3, 10)])
def test_book_side_matches_model(compact, descending, symbols, depth):
    params = CoreParams(symbols=symbols, levels=depth, price_width=16, qty_width=8, compact_book=compact)
    codec = SideCodec(params)
    dut = (CompactBookSide if compact else BookSide)(params, descending=descending)
    delay = params.trace_latency - 1          # handshake -> new_levels
    rng = random.Random(depth * 7 + symbols * 2 + descending)
    cycles = 4000 if not compact else 1000 * depth

    async def bench(ctx):
        books = BookSideModel(symbols, depth, descending)
        expected = {}                         # cycle -> (description, side after the tick)
        checked = 0
        for cycle in range(cycles):
            busy = compact and ctx.get(dut.busy)
            valid = not busy and rng.random() < 0.85
            symbol = rng.randrange(symbols)
            kind = rng.choices(["update", "other", "clear"], [0.9, 0.07, 0.03])[0]
            price = rng.randint(-8, 8) if rng.random() < 0.95 else rng.choice([params.price_min, params.price_max])
            qty = 0 if rng.random() < 0.35 else rng.randint(1, params.qty_max)
            ctx.set(dut.tick_valid, valid)
            ctx.set(dut.symbol, symbol)
            ctx.set(dut.update, kind == "update")
            ctx.set(dut.clear, kind == "clear")
            ctx.set(dut.price, price)
            ctx.set(dut.qty, qty)
            if valid:
                if kind == "clear":
                    books.clear(symbol)
                elif kind == "update":
                    books.update(symbol, price, qty)
                expected[cycle + delay] = (f"cycle {cycle}: symbol {symbol} {kind} price {price} qty {qty}",
                                           books.levels(symbol))
            want = expected.pop(cycle, None)
            assert ctx.get(dut.new_valid) == (want is not None), f"cycle {cycle}: new_valid"
            if want is not None:
                got = codec.unpack(ctx.get(dut.new_levels.as_value()))
                assert got == want[1], f"{want[0]}: gateware {got}, model {want[1]}"
                checked += 1
            await ctx.tick()
        # The compact side accepts a tick every `depth` cycles (busy in between), the parallel one every cycle.
        assert checked > 0.8 * cycles / (depth if compact else 1)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


def test_side_codec_matches_layout_pack():
    """The testbenches' fast side codec agrees with the generic lib.data packing, both ways."""
    from hedgegate.hw.layouts import pack, side_layout
    rng = random.Random(3)
    for params in (CoreParams(levels=10), CoreParams(levels=3, price_width=24, qty_width=16)):
        codec, layout = SideCodec(params), side_layout(params)
        for _ in range(200):
            levels = [(rng.randint(params.price_min, params.price_max), rng.randint(1, params.qty_max))
                      for _ in range(rng.randint(0, params.levels))]
            raw = pack(layout, [{"valid": 1, "price": price, "qty": qty} for price, qty in levels]
                       + [{}] * (params.levels - len(levels)))
            assert codec.pack(levels) == raw
            assert codec.unpack(raw) == levels


@pytest.mark.parametrize("depth", [1, 2, 3, 5])
def test_corrections_follow_the_level_counts(depth):
    """after_update and match_after, for every pair of thermometers a book can give (a levels at least as good as p,
    b strictly better, b <= a <= b + 1) and every update, against the counts worked out by hand: a better price
    inserted adds one to both (saturating at N), an equal one to a; a deleted one takes one off (not below 0); a
    clear empties both; the match bit after it is a' > b'."""
    from amaranth.hdl import Module, Signal
    from hedgegate.hw.book_side import (_order_layout, _selects_layout, after_update, correction_selects,
                                        match_after)

    m = Module()
    ge, gt = Signal(depth), Signal(depth)
    kind, order = Signal(2), Signal(_order_layout())          # kind: 0 nothing, 1 inserted, 2 deleted, 3 cleared
    selects = _selects_layout()(correction_selects(kind == 1, kind == 2, kind == 3, order))
    ge_after, gt_after = Signal(depth), Signal(depth)
    keep, set_ = Signal(), Signal()
    new_ge, new_gt = after_update(ge, gt, selects)
    keep_value, set_value = match_after(ge, gt, selects)
    m.d.comb += [ge_after.eq(new_ge), gt_after.eq(new_gt), keep.eq(keep_value), set_.eq(set_value)]

    def thermometer(count):
        return (1 << count) - 1

    async def bench(ctx):
        checked = 0
        for b in range(depth + 1):
            for a in range(b, min(b + 1, depth) + 1):
                for kind_value in range(4):
                    for q_ge, q_gt in ((0, 0), (1, 0), (1, 1)):     # q worse than, equal to, better than p
                        ctx.set(ge, thermometer(a))
                        ctx.set(gt, thermometer(b))
                        ctx.set(kind, kind_value)
                        ctx.set(order, {"ge": q_ge, "gt": q_gt})
                        want_a, want_b = a, b
                        if kind_value == 1:
                            want_a, want_b = min(a + q_ge, depth), min(b + q_gt, depth)
                        elif kind_value == 2:
                            want_a, want_b = max(a - q_ge, 0), max(b - q_gt, 0)
                        elif kind_value == 3:
                            want_a = want_b = 0
                        case = f"N={depth} a={a} b={b} kind={kind_value} q_ge={q_ge} q_gt={q_gt}"
                        assert ctx.get(ge_after) == thermometer(want_a), case
                        assert ctx.get(gt_after) == thermometer(want_b), case
                        match_before = a > b
                        assert ((match_before and ctx.get(keep)) or ctx.get(set_)) == (want_a > want_b), case
                        checked += 1
        assert checked == 12 * (2 * depth + 1)

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()

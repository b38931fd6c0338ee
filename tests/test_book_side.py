"""BookSide (one side of a book, combinational) in Amaranth's simulator against the model's side update."""

import random

import pytest
from amaranth.sim import Simulator

from hedgegate.host.model import _update_side
from hedgegate.hw.book_side import BookSide
from hedgegate.hw.layouts import pack, side_layout, unpack
from hedgegate.hw.params import CoreParams


def _levels_value(levels, depth):
    return [{"valid": 1, "price": price, "qty": qty} for price, qty in levels] + [{}] * (depth - len(levels))


@pytest.mark.parametrize("descending", [True, False], ids=["bids", "asks"])
@pytest.mark.parametrize("depth", [1, 3, 10])
def test_book_side_matches_model(descending, depth):
    params = CoreParams(levels=depth, price_width=16, qty_width=8)
    layout = side_layout(params)
    dut = BookSide(params, descending=descending)
    rng = random.Random(depth * 2 + descending)
    ops = 3000

    async def bench(ctx):
        levels = []
        for step in range(ops):
            clear = rng.random() < 0.01
            price = rng.randint(-12, 12) if rng.random() < 0.95 else rng.choice([params.price_min, params.price_max])
            qty = 0 if rng.random() < 0.3 else rng.randint(1, params.qty_max)
            ctx.set(dut.levels.as_value(), pack(layout, _levels_value(levels, depth)))
            ctx.set(dut.update, int(not clear))
            ctx.set(dut.clear, int(clear))
            ctx.set(dut.price, price)
            ctx.set(dut.qty, qty)
            if clear:
                levels = []
            else:
                _update_side(levels, price, qty, descending, depth)
            got = ctx.get(dut.new_levels.as_value())
            assert got == pack(layout, _levels_value(levels, depth)), \
                f"step {step}: price {price} qty {qty}: gateware {unpack(layout, got)}, model {levels}"

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()


def test_side_codec_matches_layout_pack():
    """The testbenches' fast side codec agrees with the generic lib.data packing, both ways."""
    from hedgegate.hw.layouts import SideCodec
    rng = random.Random(3)
    for params in (CoreParams(levels=10), CoreParams(levels=3, price_width=24, qty_width=16)):
        codec, layout = SideCodec(params), side_layout(params)
        for _ in range(200):
            levels = [(rng.randint(params.price_min, params.price_max), rng.randint(1, params.qty_max))
                      for _ in range(rng.randint(0, params.levels))]
            raw = pack(layout, _levels_value(levels, params.levels))
            assert codec.pack(levels) == raw
            assert codec.unpack(raw) == levels

"""Multiplier in Amaranth's simulator: the exact product, `latency` cycles later, one operand pair per cycle."""

import random

import pytest
from amaranth.hdl import Shape, signed, unsigned
from amaranth.sim import Simulator

from hedgegate.hw.multiplier import Multiplier


def _extremes(shape: Shape):
    low, high = (-(1 << (shape.width - 1)), (1 << (shape.width - 1)) - 1) if shape.signed else (0, (1 << shape.width) - 1)
    return low, high


@pytest.mark.parametrize("a_shape,b_shape", [
    (signed(32), signed(33)), (signed(33), signed(50)), (unsigned(31), unsigned(48)), (unsigned(8), signed(5)),
    (signed(17), unsigned(18)),
], ids=str)
@pytest.mark.parametrize("latency", [1, 2, 3, 4, 6])
def test_product(a_shape, b_shape, latency):
    dut = Multiplier(a_shape, b_shape, latency=latency)
    rng = random.Random(latency)
    a_range, b_range = _extremes(a_shape), _extremes(b_shape)
    pairs = [(a, b) for a in a_range for b in b_range]
    pairs += [(rng.randint(*a_range), rng.randint(*b_range)) for _ in range(300)]

    async def bench(ctx):
        for cycle in range(len(pairs) + latency):
            if cycle < len(pairs):
                ctx.set(dut.a, pairs[cycle][0])
                ctx.set(dut.b, pairs[cycle][1])
            await ctx.tick()
            if 0 <= cycle + 1 - latency < len(pairs):
                a, b = pairs[cycle + 1 - latency]
                assert ctx.get(dut.p) == a * b, (a, b)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()

"""The threshold reciprocal: the divider computes ceil(bps * 2^45 / 10000), and multiplying by it is exact."""

import random

import pytest
from amaranth.sim import Simulator

from hedgegate.hw.params import POSITION_MAX, THRESHOLD_BPS_MAX, THRESHOLD_RECIP_SHIFT
from hedgegate.hw.threshold_divider import ThresholdDivider, threshold_recip


def test_recip_is_the_ceiling():
    for bps in (0, 1, 3, 9_999, 10_000, 10_001, THRESHOLD_BPS_MAX):
        recip = threshold_recip(bps)
        assert recip * 10_000 >= bps << THRESHOLD_RECIP_SHIFT > (recip - 1) * 10_000


def test_multiply_by_recip_is_exact_division():
    """floor(a * c / 2^45) == floor(a * bps / 10000) for every bps, on the values of a nearest to trouble."""
    rng = random.Random(7)
    for bps in range(THRESHOLD_BPS_MAX + 1):
        recip = threshold_recip(bps)
        # The largest a, and the a just below each of a few exact multiples (a * bps / 10000 just under an integer).
        candidates = [POSITION_MAX, POSITION_MAX - 1, rng.randint(0, POSITION_MAX)]
        if bps:
            k = rng.randint(1, POSITION_MAX * bps // 10_000)
            candidates.append(min(POSITION_MAX, -(-k * 10_000 // bps) - 1))
        for a in candidates:
            assert (a * recip) >> THRESHOLD_RECIP_SHIFT == a * bps // 10_000, (a, bps)


@pytest.mark.parametrize("bps", [0, 1, 500, 9_999, 10_000, 12_345, THRESHOLD_BPS_MAX])
def test_divider_gateware(bps):
    dut = ThresholdDivider()

    async def bench(ctx):
        ctx.set(dut.bps, bps)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        cycles = 0
        while ctx.get(dut.busy):
            await ctx.tick()
            cycles += 1
        assert cycles == 61
        assert ctx.get(dut.recip) == threshold_recip(bps)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()

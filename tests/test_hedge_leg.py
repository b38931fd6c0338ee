"""HedgeLeg's ``busy``, cycle by cycle (the hedge law itself is checked against the model in tests/test_core_sim.py).

``busy`` is a flip-flop loaded with what the leg's work will be in the next cycle (hw/hedge_leg.py); the core
applies no write and accepts no command while it is high, so it must be high in exactly the cycles the work takes:
after a THRESHOLD_BPS write, the divider's start cycle and its 61 steps (hw/threshold_divider.py); after a write of H
(HEDGE_POSITION or ADJUST_POSITION), the cycle after the write and those until the loop has loaded the saturated
value (``load_cycle`` + 2: the value is ready three cycles after the write is registered, later with deep
multipliers); after any other register, none.
"""

import random

import pytest
from amaranth.sim import Simulator

from hedgegate.hw.hedge_leg import HedgeLeg
from hedgegate.hw.params import CoreParams
from hedgegate.hw.regmap import LegReg

DIVIDER_STEPS = 61


@pytest.mark.parametrize("mul_latency", [1, 2, 5])
def test_busy_covers_the_work_of_each_write(mul_latency):
    params = CoreParams(mul_latency=mul_latency)
    dut = HedgeLeg(params)
    load_cycle = max(3, 1 if mul_latency == 1 else mul_latency - 1)
    work = {LegReg.THRESHOLD_BPS: 1 + DIVIDER_STEPS,
            LegReg.HEDGE_POSITION: load_cycle + 2, LegReg.ADJUST_POSITION: load_cycle + 2}
    rng = random.Random(mul_latency)

    async def bench(ctx):
        busy_until = -1                       # the last cycle busy must be high
        last_write, writes = -2, 0
        for cycle in range(3000):
            # Like the core: a write only while the leg is not busy, never in consecutive cycles.
            write = cycle > busy_until and cycle > last_write + 1 and rng.random() < 0.2
            addr = rng.choice(list(LegReg))
            ctx.set(dut.write, write)
            ctx.set(dut.write_addr, addr)
            ctx.set(dut.write_data, rng.getrandbits(16))
            assert ctx.get(dut.busy) == (cycle <= busy_until), f"cycle {cycle}: busy (work until {busy_until})"
            if write:
                last_write, writes = cycle, writes + 1
                if addr in work:
                    busy_until = cycle + work[addr]
            await ctx.tick()
        assert writes > 100

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()

"""cocotb tests of the hedging core against the model: directed scenarios and a long random stream.

Run through ``tests/test_core_sim.py`` (pytest), which builds the core with Verilator and starts these.
Environment: ``HEDGEGATE_TICKS`` (random ticks, default 100000), ``HEDGEGATE_SEED`` (default 1).
"""

import os
import random

import cocotb

from ..host.model import HedgeModel
from .runner import params_from_env
from .scenarios import SCENARIOS
from .stimulus import random_commands
from .testbench import CoreTestbench


async def _check(dut, commands):
    params = params_from_env()
    bench = CoreTestbench(dut, params, model=HedgeModel(params))
    await bench.start()
    await bench.run(commands)
    bench.check_counters()
    return bench


def _scenario_test(name):
    async def test(dut):
        bench = await _check(dut, SCENARIOS[name](params_from_env()))
        dut._log.info(f"{name}: {bench.checked_traces} snapshots, {bench.checked_recs} recommendations checked")
    test.__name__ = test.__qualname__ = f"test_{name}"
    return cocotb.test()(test)


for _name in SCENARIOS:
    globals()[f"test_{_name}"] = _scenario_test(_name)


@cocotb.test()
async def test_random(dut):
    ticks = int(os.environ.get("HEDGEGATE_TICKS", "100000"))
    seed = int(os.environ.get("HEDGEGATE_SEED", "1"))
    params = params_from_env()
    # Several shorter streams, each with its own configuration, cover more register combinations than one.
    segments = max(1, min(10, ticks // 10_000))
    total_recs = total_ticks = 0
    for segment in range(segments):
        rng = random.Random(seed * 1000 + segment)
        count = ticks // segments + (1 if segment < ticks % segments else 0)
        # Segment k of a run is the same stream whatever the run's length, as long as it has as many ticks (10,000
        # each for 20,000 to 100,000 ticks): the default tier's run is the first segments of the slow tier's.
        dut._log.info(f"random segment {segment}: {count} ticks, stream seed {seed * 1000 + segment}")
        bench = await _check(dut, random_commands(rng, params, count))
        total_recs += bench.checked_recs
        total_ticks += bench.model.ticks_in
    dut._log.info(f"random: {total_ticks} ticks, {total_recs} recommendations, 0 mismatches")
    assert total_ticks == ticks

"""The gateware core in Verilator (cocotb), compared on every cycle with the model.

Each parameter set builds the core once (cached by Verilog hash, see hedgegate.sim.runner) and runs every directed
scenario of hedgegate.sim.scenarios plus a random stream (``--ticks`` random ticks for the default core). The default
tier (tests/conftest.py) runs the default core, the compact book and the iCEBreaker's core; the slow tier the default
core's 100,000- and 1,000,000-tick streams and every other parameter set. The
testbench (hedgegate.sim.testbench) checks every output of every cycle, initiation interval 1 and the documented
latency.
"""

import re
from pathlib import Path

import pytest

from hedgegate.hw.params import CoreParams
from hedgegate.sim.runner import run_testbench
from hedgegate.sim.scenarios import SCENARIOS


def _run(tmp_path: Path, params: CoreParams, ticks: int, seed: int, *, scenarios: bool = True):
    log = tmp_path / "cocotb.log"
    tests, failed = run_testbench(params, "hedgegate.sim.test_core", log_file=log,
                                  testcase=None if scenarios else "test_random",
                                  env={"HEDGEGATE_TICKS": str(ticks), "HEDGEGATE_SEED": str(seed)})
    text = log.read_text(errors="replace")
    problems = [line.strip() for line in text.splitlines() if "Mismatch" in line or " FAIL " in line]
    assert failed == 0, "\n".join(problems[:20]) or text[-3000:]
    assert tests == (len(SCENARIOS) if scenarios else 0) + 1
    summary = re.search(r"random: (\d+) ticks, (\d+) recommendations, 0 mismatches", text)
    assert summary and int(summary.group(1)) == ticks
    assert int(summary.group(2)) > ticks // 500, "the random stream should exercise the hedge law"


def test_default_core(tmp_path, ticks, seed):
    """S=4, N=10, L=2, 32-bit prices: the configuration of the issue and the boards. Default tier: every scenario and
    ``--ticks`` random ticks (20,000: the first two segments of the slow tier's 100,000-tick stream)."""
    _run(tmp_path, CoreParams(), ticks, seed)


@pytest.mark.slow
@pytest.mark.parametrize("long_ticks,seed_offset", [(100_000, 0), (1_000_000, 1)], ids=["100k", "1M"])
def test_default_core_long(tmp_path, long_ticks, seed_offset, seed):
    """The long random streams on the default core (the scenarios, identical on the same build, run in the default
    tier). The million-tick run takes the next seed, so that it is not the 100,000-tick stream again."""
    _run(tmp_path, CoreParams(), long_ticks, seed + seed_offset, scenarios=False)


def _cores(default, slow):
    return ([pytest.param(params, id=name) for name, params in default.items()]
            + [pytest.param(params, id=name, marks=pytest.mark.slow) for name, params in slow.items()])


@pytest.mark.parametrize("params", _cores(
    # Default tier: one run of each compact variant -- the compact book, and the iCEBreaker's core (compact leg on
    # the compact book, 16-bit prices).
    {"compact-S2-N4": CoreParams(symbols=2, levels=4, legs=2, compact_book=True),
     "compact-leg-S1-N10-16bit": CoreParams(symbols=1, levels=10, legs=1, price_width=16, qty_width=16,
                                            compact_book=True, compact_leg=True)},
    # Slow tier: every other parameter set. The compact leg with 32-bit widths on the compact book and on the
    # parallel book (one tick at a time either way: tick_interval = latency).
    {"S2-N4-L4": CoreParams(symbols=2, levels=4, legs=4),
     "S3-N1-L3": CoreParams(symbols=3, levels=1, legs=3),
     "narrow-24bit": CoreParams(symbols=1, levels=10, legs=1, price_width=24, qty_width=16),
     "mul-latency-3": CoreParams(mul_latency=3),
     "compact-S1-N10-24bit": CoreParams(symbols=1, levels=10, legs=1, price_width=24, qty_width=16,
                                        compact_book=True),
     "compact-leg-S2-N4-L2": CoreParams(symbols=2, levels=4, legs=2, compact_book=True, compact_leg=True),
     "compact-leg-parallel-book-S3-N2-L2": CoreParams(symbols=3, levels=2, legs=2, compact_leg=True)}))
def test_other_cores(tmp_path, params, seed):
    _run(tmp_path, params, 20_000, seed)

"""The gateware core in Verilator (cocotb), compared on every cycle with the model.

Each parameter set builds the core once (cached by Verilog hash, see hedgegate.sim.runner) and runs every directed
scenario of hedgegate.sim.scenarios plus a random stream (``--ticks`` random ticks for the default core). The
testbench (hedgegate.sim.testbench) checks every output of every cycle, initiation interval 1 and the documented
latency.
"""

import re
from pathlib import Path

import pytest

from hedgegate.hw.params import CoreParams
from hedgegate.sim.runner import run_testbench
from hedgegate.sim.scenarios import SCENARIOS


def _run(tmp_path: Path, params: CoreParams, ticks: int, seed: int):
    log = tmp_path / "cocotb.log"
    tests, failed = run_testbench(params, "hedgegate.sim.test_core", log_file=log,
                                  env={"HEDGEGATE_TICKS": str(ticks), "HEDGEGATE_SEED": str(seed)})
    text = log.read_text(errors="replace")
    problems = [line.strip() for line in text.splitlines() if "Mismatch" in line or " FAIL " in line]
    assert failed == 0, "\n".join(problems[:20]) or text[-3000:]
    assert tests == len(SCENARIOS) + 1
    summary = re.search(r"random: (\d+) ticks, (\d+) recommendations, 0 mismatches", text)
    assert summary and int(summary.group(1)) == ticks
    assert int(summary.group(2)) > ticks // 500, "the random stream should exercise the hedge law"


def test_default_core(tmp_path, ticks, seed):
    """S=4, N=10, L=2, 32-bit prices: the configuration of the issue and the boards."""
    _run(tmp_path, CoreParams(), ticks, seed)


@pytest.mark.parametrize("params", [
    CoreParams(symbols=2, levels=4, legs=4),
    CoreParams(symbols=3, levels=1, legs=3),
    CoreParams(symbols=1, levels=10, legs=1, price_width=24, qty_width=16),
    CoreParams(mul_latency=3),
    CoreParams(symbols=2, levels=4, legs=2, compact_book=True),
    CoreParams(symbols=1, levels=10, legs=1, price_width=24, qty_width=16, compact_book=True),
    # The compact leg (hw/compact_hedge_leg.py): the iCEBreaker's core, 32-bit widths with two legs on the compact
    # book, and on the parallel book (one tick at a time either way: tick_interval = latency).
    CoreParams(symbols=1, levels=10, legs=1, price_width=16, qty_width=16, compact_book=True, compact_leg=True),
    CoreParams(symbols=2, levels=4, legs=2, compact_book=True, compact_leg=True),
    CoreParams(symbols=3, levels=2, legs=2, compact_leg=True),
], ids=["S2-N4-L4", "S3-N1-L3", "narrow-24bit", "mul-latency-3", "compact-S2-N4", "compact-S1-N10-24bit",
        "compact-leg-S1-N10-16bit", "compact-leg-S2-N4-L2", "compact-leg-parallel-book-S3-N2-L2"])
def test_other_cores(tmp_path, params, seed):
    _run(tmp_path, params, 20_000, seed)

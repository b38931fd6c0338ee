"""The engine behind its UART link (hw/serial_engine.py) in Verilator, driven bit by bit through its pins."""

import pytest

from hedgegate.hw.params import CoreParams
from hedgegate.sim.runner import run_testbench


@pytest.mark.parametrize("params,divisor,core_domain", [
    # Default tier: the default core behind the link, two clock domains.
    pytest.param(CoreParams(), 4, "core", id="default-div4"),
    # Slow tier: three legs and another divisor; and the small-part variants behind the link (the iCEBreaker's, with
    # 32-bit widths for the tests' prices): a tick every `latency` cycles, which the frame decoder waits for. Two
    # symbols: with one, every random tick reaches the leg and its REC frames (37 bytes) outrun the TICK frames
    # (17 bytes) coming in, so the rec queue overflows. One clock domain, as on the iCEBreaker (no crossings).
    pytest.param(CoreParams(symbols=2, levels=4, legs=3), 5, "core", id="S2-N4-L3-div5", marks=pytest.mark.slow),
    pytest.param(CoreParams(symbols=2, levels=4, legs=1, compact_book=True, compact_leg=True), 4, "sync",
                 id="compact-S2-N4-L1-div4-one-clock", marks=pytest.mark.slow),
])
def test_serial_engine(tmp_path, params, divisor, core_domain):
    log = tmp_path / "cocotb.log"
    tests, failed = run_testbench(params, "hedgegate.sim.test_serial_engine", log_file=log, top="serial",
                                  options={"divisor": divisor, "heartbeat_cycles": 1000, "core_domain": core_domain})
    text = log.read_text(errors="replace")
    assert failed == 0, "\n".join(line for line in text.splitlines() if "Error" in line or "FAIL" in line)[-4000:]
    assert tests == 4

"""The engine behind its UART link (hw/serial_engine.py) in Verilator, driven bit by bit through its pins."""

import pytest

from hedgegate.hw.params import CoreParams
from hedgegate.sim.runner import run_testbench


@pytest.mark.parametrize("params,divisor", [(CoreParams(), 4), (CoreParams(symbols=2, levels=4, legs=3), 5)],
                         ids=["default-div4", "S2-N4-L3-div5"])
def test_serial_engine(tmp_path, params, divisor):
    log = tmp_path / "cocotb.log"
    tests, failed = run_testbench(params, "hedgegate.sim.test_serial_engine", log_file=log, top="serial",
                                  options={"divisor": divisor, "heartbeat_cycles": 1000})
    text = log.read_text(errors="replace")
    assert failed == 0, "\n".join(line for line in text.splitlines() if "Error" in line or "FAIL" in line)[-4000:]
    assert tests == 3

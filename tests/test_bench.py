"""``hedgegate bench`` at its smoke size: the pinned keys, and the hardware figures against what the core's
parameters, its build report and the frame format say (the cycles are read from the simulation, so a stage that
changed length, or a tick that took longer than another, would show here). Slow tier: it builds the ULX3S core
(mul_latency 2) and its engine behind the UART in Verilator, which the default tier has no other use for."""

import json
import subprocess
import sys

import pytest

from hedgegate.host.demo import load_report
from hedgegate.hw.params import CoreParams


@pytest.mark.slow
def test_bench_quick_json(tmp_path):
    run = subprocess.run([sys.executable, "-m", "hedgegate.host.cli", "bench", "--quick", "--json", "--out",
                          str(tmp_path)], capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    software, hardware = result["software"], result["hardware"]
    assert software["ticks"] == 2000
    assert 0 < software["p50_ns"] <= software["p95_ns"] <= software["p99_ns"] <= software["p999_ns"]
    report = load_report(hardware["report"])
    core = CoreParams(**report["core"])
    assert hardware["report"].startswith("report-ulx3s-85f") and hardware["fmax_mhz"] == report["fmax_mhz"]
    assert hardware["latency_cycles"] == core.latency == 20 and hardware["jitter_cycles"] == 0
    # The core's stages from the probes through the board's engine: the book, the law up to the H loop, the loop.
    assert hardware["stages_cycles"] == {"book": [core.trace_latency], "hedge law": [core.leg_latency - 1],
                                         "order build": [1]}
    _check_serial_stages(hardware["serial"], report)
    assert hardware["latency_ns"] == pytest.approx(20 * 1000 / report["fmax_mhz"])
    assert hardware["initiation_interval_cycles"] == 1 and hardware["recommendations"] > 0
    assert result["link"]["ticks_per_second"] == pytest.approx(3_000_000 / 170)
    assert result["claims"]["p50_ns"] == 412
    board = result["virtual_board"]
    assert board["same_as_model"] and board["lost"] == 0 and board["ticks"] == 2000
    assert board["round_trip"]["samples"] == 20 and board["round_trip"]["p50_ns"] > 0
    files = result["files"]
    assert json.loads(open(files["json"]).read())["hardware"] == hardware
    table = open(files["md"]).read()
    assert "| hedgegate, FPGA core" in table and "| hedgegate, FPGA board pin to pin" in table
    assert open(files["png"], "rb").read(4) == b"\x89PNG"


def _check_serial_stages(serial, report):
    """The pin-to-pin figures against the report's clocks and the frames' lengths (docs/protocol.md)."""
    from hedgegate.host import protocol
    from hedgegate.host.bench import SERIAL_STAGES

    assert serial["probes"] == 5 and serial["divisor"] == report["uart"]["divisor"] == 16
    assert serial["serial_clock_mhz"] == pytest.approx(report["uart"]["clock_mhz"], abs=1e-3)
    assert serial["core_clock_mhz"] == report["pll"]["achieved_hz"] / 1e6 == 125
    periods = {"serial": serial["serial_period_ps"] / 1000, "core": serial["core_period_ps"] / 1000}
    assert periods["serial"] == pytest.approx(1000 / serial["serial_clock_mhz"], rel=1e-4)
    stages = serial["stages"]
    assert [row["stage"] for row in stages] == [stage for stage, *_ in SERIAL_STAGES]
    for row in stages:
        assert min(row["ns"]) >= 0
        if "cycles" in row:               # within one clock: whole cycles of it
            assert row["ns"] == pytest.approx([c * periods[row["clock"]] for c in row["cycles"]], abs=0.01)
    core = [row["cycles"] for row in stages if row["clock"] == "core"]
    assert [sum(cycles) for cycles in zip(*core)] == [20]
    pin = serial["pin_to_pin_ns"]
    assert sum(min(row["ns"]) for row in stages) <= pin["min"] <= pin["max"] <= sum(max(row["ns"]) for row in stages)
    assert 20 * 8 < pin["min"] < 2000              # the core's 160 ns and some; not the wire's microseconds
    bit_ns = 16 * periods["serial"]
    # The TICK frame up to its last data bit (its last stop bit is the UART receive stage's).
    tick_bits = 10 * (protocol.OVERHEAD + protocol.PAYLOAD_LENGTHS[protocol.FrameType.TICK]) - 1
    rec_bits = 10 * (protocol.OVERHEAD + protocol.PAYLOAD_LENGTHS[protocol.FrameType.REC])
    assert serial["wire_in_ns"]["max"] == pytest.approx(tick_bits * bit_ns, abs=0.1)
    assert serial["wire_out_ns"]["min"] == pytest.approx(rec_bits * bit_ns, abs=0.1)  # back to back: no gap
    assert serial["wire_to_wire_ns"]["max"] == pytest.approx(serial["wire_in_ns"]["max"] + pin["max"]
                                                             + serial["wire_out_ns"]["max"], abs=0.1)


@pytest.mark.parametrize("shape", [dict(symbols=1, levels=2, legs=1), dict(symbols=4, levels=10, legs=2),
                                   dict(symbols=1, levels=10, legs=1, price_width=16, qty_width=16)])
def test_round_trip_probe_gives_one_recommendation_per_tick(shape):
    """The probe of the board round trip (--port, the virtual board) on the model behind the Board interface: each
    tick it sends causes exactly one recommendation, whatever the board's shape (the iCEBreaker's 16-bit prices) and
    whatever it holds from before."""
    from hedgegate.host.bench import round_trip
    from hedgegate.host.board import open_board

    with open_board("model", CoreParams(**shape)) as board:
        times = round_trip(board, 40)
        assert len(times) == 40 and min(times) > 0
        assert board.poll() == []                           # nothing more than one per tick
        assert board.status()["recs_out"] == 40 + 1         # and the first, on the book's completion
        # Again on the same board, with levels inside the probe's spread left in its book (as a session leaves
        # them): the probe clears the book, else the mid would not move and no recommendation would come.
        from hedgegate.host.ticks import Tick
        from hedgegate.hw.layouts import TickSide
        board.send([Tick(0, 0, TickSide.BID, 30_000, 5), Tick(0, 0, TickSide.ASK, 30_005, 5)])
        before = board.status()["recs_out"]
        assert len(round_trip(board, 40)) == 40 and board.poll() == []
        assert board.status()["recs_out"] == before + 40 + 1

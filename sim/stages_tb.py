"""cocotb entry point of ``hedgegate bench``'s serial-side stages (see :func:`.backend.run_stages`): the engine behind
its UART (``hw/serial_engine.py``, as a board runs it), its clocks at the board's frequencies, one probe tick at a
time; for each, the simulation time of every hand-over on its way from the ``rx`` pin to the ``tx`` pin.

An event's time is the rising clock edge at which it happens, read from the signals on the falling edge before it:
a hand-over (valid and ready, or valid where there is no ready) at the edge that completes it, a pin's change at the
edge that makes it. The ``rx`` pin is driven here, so its times are known. Each probe waits until its REC frame is
out and starts a few serial cycles later than the one before (0-4), so that the two clocks' edges meet the probes
at every phase they can have (their periods are the board's: 20.8 ns and 8 ns repeat every 104 ns).
"""

import os
import pickle

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, FallingEdge

from .test_serial_engine import SerialTestbench

# The events, in the order a probe meets them (sim/backend.py turns them into stages).
SERIAL_EVENTS = ("byte_received", "decoded", "queued", "encoded", "tx_start")
CORE_EVENTS = ("tick_taken", "book", "loop", "rec_out")


def _high(*signals) -> bool:
    return all(int(signal.value) for signal in signals)


async def _watch_serial(dut, half_ps: int, events: dict, cycles: int):
    """The serial side's hand-overs, from the last byte's start bit until the REC frame's start bit on ``tx``."""
    for _ in range(cycles):
        if "tx_start" in events:
            return
        await FallingEdge(dut.clk)
        now = get_sim_time("ps")
        seen = {"byte_received": _high(dut.uart_rx.stream__valid),
                "decoded": _high(dut.decoder.cmd__valid, dut.decoder.cmd__ready),
                "queued": _high(dut.rec_queue.rec__valid, dut.rec_queue.rec__ready),
                "encoded": _high(dut.encoder.bytes__valid, dut.encoder.bytes__ready)}
        for name, happened in seen.items():
            if happened and name not in events:
                events[name] = now + half_ps
        if not int(dut.tx.value):
            events["tx_start"] = now - half_ps
    raise AssertionError(f"no REC frame began on tx within {cycles} serial cycles of a probe tick: {sorted(events)}")


async def _watch_core(dut, half_ps: int, events: dict, cycles: int):
    """The core's hand-overs: the tick taken, its book snapshot, leg 0's H loop stage, the recommendation out."""
    core = dut.core
    for _ in range(cycles):
        if "rec_out" in events:
            return
        await FallingEdge(dut.core_clk)
        now = get_sim_time("ps")
        seen = {"tick_taken": _high(core.cmd__valid, core.cmd__ready), "book": _high(core.book.snapshot_valid),
                "loop": _high(core.leg0.eligible_l), "rec_out": _high(core.recs__valid)}
        for name, happened in seen.items():
            if happened and name not in events:
                events[name] = now + half_ps
    raise AssertionError(f"no recommendation left the core within {cycles} core cycles of a probe tick")


@cocotb.test()
async def stages(dut):
    with open(os.environ["HEDGEGATE_STAGES_IN"], "rb") as request:
        job = pickle.load(request)
    bench = SerialTestbench(dut, job["serial_period_ps"], job["core_period_ps"])
    await bench.start()
    for command in job["setup"]:
        await bench.send(bench.frame(command))
    await bench.settle()
    setup_frames = len(bench.frames)
    bit_ps = bench.divisor * bench.serial_period_ps
    probes = []
    for index, tick in enumerate(job["probes"]):
        await ClockCycles(dut.clk, 1 + index % 5)           # right after an edge, the phase moved on
        frame = bench.frame(tick)
        events = {"frame_start": get_sim_time("ps")}
        await bench.send(frame[:-1], exact=True)
        # The last byte: its data bits end (and its stop bit starts) nine bit times after its start bit does.
        events["data_end"] = get_sim_time("ps") + 9 * bit_ps
        # Bounds against a hang: a probe that makes no recommendation fails instead (the REC is ~300 ns away).
        limit = 40 * bench.divisor
        watchers = [cocotb.start_soon(_watch_serial(dut, bench.serial_period_ps // 2, events, limit)),
                    cocotb.start_soon(_watch_core(dut, bench.core_period_ps // 2, events, 3 * limit))]
        await bench.send(frame[-1:], exact=True)
        for watcher in watchers:
            await watcher
        while len(bench.frames) < setup_frames + index + 1:
            await ClockCycles(dut.clk, bench.divisor)
        events["frame_end"] = bench.frame_ends[setup_frames + index]
        probes.append(events)
    recs = bench.recs()
    with open(os.environ["HEDGEGATE_STAGES_OUT"], "wb") as out:
        pickle.dump({"probes": probes, "recs": recs}, out)

"""cocotb entry point of ``hedgegate bench``'s serial-side stages (see :func:`.backend.run_stages`): the engine behind
its UART (``hw/serial_engine.py``, as a board runs it), its clocks at the board's frequencies, one probe tick at a
time; for each, the simulation time of every hand-over on its way from the ``rx`` pin to the ``tx`` pin.

An event's time is the rising clock edge at which it happens, read from the signals on the falling edge before it:
a hand-over (valid and ready, or valid where there is no ready) at the edge that completes it, a pin's change at the
edge that makes it. The ``rx`` pin is driven here, so its times are known. Each probe waits until its REC frame is
out and starts 1-5 serial cycles after it (in turn), so that the two clocks' edges meet the probes
at every phase they can have (their periods are the board's: 20.8 ns and 8 ns repeat every 104 ns).
"""

import os
import pickle

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, FallingEdge

from .test_serial_engine import SerialTestbench

# The hand-overs a probe meets on its way, in order: each the instance (its path from the top) and its signals that
# are all high in the cycle it happens. The build makes these reachable (besides the top's), and no other inner signal.
SERIAL_PROBES = {"byte_received": ("uart_rx", ("stream__valid",)),            # the UART has no ready: always taken
                 "decoded": ("decoder", ("cmd__valid", "cmd__ready")),
                 "queued": ("rec_queue", ("rec__valid", "rec__ready")),
                 "encoded": ("encoder", ("bytes__valid", "bytes__ready"))}
CORE_PROBES = {"tick_taken": ("core", ("cmd__valid", "cmd__ready")),
               "book": ("core.book", ("snapshot_valid",)),
               "loop": ("core.leg0", ("eligible_l",)),                       # leg 0's H loop stage
               "rec_out": ("core", ("recs__valid",))}                         # the queue takes every vector
PROBED = tuple((path, signal) for path, signals in (*SERIAL_PROBES.values(), *CORE_PROBES.values())
               for signal in signals)


def _handles(dut, probes: dict) -> dict:
    def find(path, signal):
        handle = dut
        for name in path.split(".") + [signal]:
            handle = getattr(handle, name)
        return handle
    return {event: [find(path, signal) for signal in signals] for event, (path, signals) in probes.items()}


async def _watch(clock, probes: dict, half_ps: int, events: dict, last: str, cycles: int):
    """Records, at every falling edge of ``clock``, the first cycle each of ``probes`` happens in, until ``last``
    has (or ``cycles`` have passed: an error)."""
    for _ in range(cycles):
        if last in events:
            return
        await FallingEdge(clock)
        now = get_sim_time("ps")
        for name, signals in probes.items():
            if name not in events and all(int(signal.value) for signal in signals):
                events[name] = now + half_ps
    raise AssertionError(f"a probe tick's {last} did not happen within {cycles} cycles: only {sorted(events)}")


async def _watch_tx(dut, half_ps: int, events: dict):
    """The REC frame's start bit: the first cycle ``tx`` is low (it fell at the edge that began the cycle)."""
    while True:
        await FallingEdge(dut.clk)
        if not int(dut.tx.value):
            events["tx_start"] = get_sim_time("ps") - half_ps
            return


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
    serial, core = _handles(dut, SERIAL_PROBES), _handles(dut, CORE_PROBES)
    probes = []
    for index, tick in enumerate(job["probes"]):
        await ClockCycles(dut.clk, 1 + index % 5)           # right after an edge, the phase moved on
        frame = bench.frame(tick)
        events = {"frame_start": get_sim_time("ps")}
        await bench.send(frame[:-1], exact=True)
        # The last byte: its data bits end (and its stop bit starts) nine bit times after its start bit does.
        events["data_end"] = get_sim_time("ps") + 9 * bit_ps
        # Bounds against a hang: a probe that makes no recommendation fails instead (the REC is ~700 ns away).
        limit = 40 * bench.divisor
        watchers = [cocotb.start_soon(_watch(dut.clk, serial, bench.serial_period_ps // 2, events, "encoded", limit)),
                    cocotb.start_soon(_watch(dut.core_clk, core, bench.core_period_ps // 2, events, "rec_out",
                                             3 * limit)),
                    cocotb.start_soon(_watch_tx(dut, bench.serial_period_ps // 2, events))]
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

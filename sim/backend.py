"""The ``sim`` backend: the same command stream through the real gateware, simulated by Verilator under cocotb.

The core is elaborated with the config's S, N and L (one leg per ``[[leg]]`` table), built (or taken from the build
cache, see :mod:`.runner`) and driven by ``hedgegate.sim.replay_tb``, which collects every recommendation and book
snapshot the gateware produces. The command stream and the results cross the process boundary as pickle files in a
temporary folder.
"""

import dataclasses
import pickle
import tempfile
from pathlib import Path

from ..host.commands import config_writes
from ..hw.params import COUNTER_WIDTH
from .runner import SimError, run_testbench

__all__ = ["run_sim", "run_sim_timed", "unwrap"]


def unwrap(values, width=COUNTER_WIDTH):
    """Turns a non-decreasing sequence of ``width``-bit counter values into plain integers."""
    mask, total, last = (1 << width) - 1, 0, 0
    for value in values:
        total += (value - last) & mask
        last = value
        yield total


def run_sim(config, ticks, *, trace: bool = True):
    """Returns (recommendations with their cycle stamps, trace tuples or None), as read from the gateware."""
    recs, traces, _ = run_sim_timed(config, ticks, trace=trace)
    return recs, traces


def run_sim_timed(config, ticks, *, trace: bool = True):
    """:func:`run_sim` and the cycles the gateware took: ``{"tick_cycles": [the handshake cycle of each tick],
    "trace_cycles": [the cycle each tick's book snapshot appeared]}``, unwrapped (``hedgegate bench``'s stages)."""
    commands = config_writes(config) + list(ticks)
    with tempfile.TemporaryDirectory(prefix="hedgegate-sim-") as folder:
        request, result = Path(folder) / "commands.pickle", Path(folder) / "result.pickle"
        with open(request, "wb") as out:
            pickle.dump({"commands": commands, "trace": trace}, out)
        tests, failed = run_testbench(
            config.params, "hedgegate.sim.replay_tb", quiet=True, log_file=Path(folder) / "sim.log",
            env={"HEDGEGATE_REPLAY_IN": str(request), "HEDGEGATE_REPLAY_OUT": str(result)})
        if tests != 1 or failed or not result.exists():
            log = (Path(folder) / "sim.log").read_text(errors="replace").strip().splitlines()
            raise SimError("simulation did not complete: " + (log[-1] if log else "no log"))
        with open(result, "rb") as data:
            recs, traces, cycles = pickle.load(data)
    recs = [dataclasses.replace(rec, seq=seq, tick=tick)
            for rec, seq, tick in zip(recs, unwrap(r.seq for r in recs), unwrap(r.tick for r in recs))]
    return recs, traces, {name: list(unwrap(values)) for name, values in cycles.items()}

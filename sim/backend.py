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

__all__ = ["run_sim", "run_sim_timed", "run_stages", "unwrap"]


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
    """:func:`run_sim` and the cycles the gateware took: ``{"tick_cycles": [the handshake cycle of each tick]}``,
    unwrapped (``hedgegate bench``'s initiation interval)."""
    job = {"commands": config_writes(config) + list(ticks), "trace": trace}
    recs, traces, cycles = _run_job(config.params, "replay_tb", "REPLAY", job)
    recs = [dataclasses.replace(rec, seq=seq, tick=tick)
            for rec, seq, tick in zip(recs, unwrap(r.seq for r in recs), unwrap(r.tick for r in recs))]
    return recs, traces, {name: list(unwrap(values)) for name, values in cycles.items()}


def run_stages(params, setup, probes, *, divisor: int, serial_period_ps: int, core_period_ps: int):
    """The engine behind its UART (as a board runs it: ``divisor`` serial cycles a bit, the two clocks at the given
    periods) takes the ``setup`` commands, then each of the ``probes`` ticks alone; returns (for each probe, the
    simulation time in ps of every event :mod:`.stages_tb` names, with ``frame_start``, ``data_end`` and
    ``frame_end``: the TICK frame's first bit on ``rx``, the end of its last data bit, the end of the REC frame on
    ``tx``; the REC frames' recommendations, setup's included)."""
    from .stages_tb import PROBED

    job = {"setup": list(setup), "probes": list(probes), "serial_period_ps": serial_period_ps,
           "core_period_ps": core_period_ps}
    options = {"divisor": divisor, "heartbeat_cycles": 1 << 16, "core_domain": "core"}
    result = _run_job(params, "stages_tb", "STAGES", job, top="serial", options=options, reach=PROBED)
    return result["probes"], result["recs"]


def _run_job(params, testbench: str, name: str, job, **build):
    """Runs the cocotb ``testbench`` (a module of this package) on ``job``, handed over as pickle files named in
    ``HEDGEGATE_<name>_IN`` and ``_OUT``; returns what it wrote."""
    with tempfile.TemporaryDirectory(prefix="hedgegate-sim-") as folder:
        request, result = Path(folder) / "job.pickle", Path(folder) / "result.pickle"
        with open(request, "wb") as out:
            pickle.dump(job, out)
        tests, failed = run_testbench(
            params, f"hedgegate.sim.{testbench}", quiet=True, log_file=Path(folder) / "sim.log",
            env={f"HEDGEGATE_{name}_IN": str(request), f"HEDGEGATE_{name}_OUT": str(result)}, **build)
        if tests != 1 or failed or not result.exists():
            log = (Path(folder) / "sim.log").read_text(errors="replace").strip().splitlines()
            errors = [line for line in log if "Error" in line or "assert" in line.lower()]
            raise SimError("simulation did not complete: " + ((errors or log)[-1] if log else "no log"))
        with open(result, "rb") as data:
            return pickle.load(data)

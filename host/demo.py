"""``hedgegate demo``: the engine end to end for someone with no board.

It starts a virtual board (the ULX3S-85F's gateware in Verilator, :mod:`hedgegate.sim.vboard`), streams the bundled
example session (``examples/ttf-eua-ticks.csv``: TTF gas and EUA carbon order books, with the two-leg hedge of
``examples/ttf-hedge.toml``) through it as ``hedgegate stream`` does, shows the legs and the recommendations live,
then runs the same ticks through the bit-exact model in process and ends with the two side by side: the
recommendations (identical, or the command fails) and the latency of each, tick in to recommendation out. The
core's latency is what the gateware measured on every recommendation (its cycle stamps), converted to time at the
fmax of the ULX3S-85F build report bundled with hedgegate (``bench/results/``, :data:`DEMO_REPORT`); the model's is
``HedgeModel.tick`` timed per tick on this machine in this run.

The rendering is separate (``host/cli.py`` draws with ``rich``); :func:`run_demo` reports through callbacks.
"""

import dataclasses
import json
import time
from pathlib import Path

from ..hw.board import board as board_spec
from ..hw.identity import design_hash
from .board import Board
from .replay import loaded_model
from .stream import percentiles, stream_ticks

__all__ = ["DEMO_BOARD", "DEMO_REPORT", "demo_files", "report_path", "load_report", "time_model", "run_demo"]

_PACKAGE = Path(__file__).resolve().parent.parent
DEMO_BOARD = "ulx3s-85f"
# The build whose fmax converts the core's cycles into time: the default board at its default seed (docs/boards.md).
DEMO_REPORT = "report-ulx3s-85f-131mhz-7efc485.json"


def demo_files() -> tuple[Path, Path]:
    """The bundled example session: (ticks CSV, config TOML)."""
    folder = _PACKAGE / "examples"
    return folder / "ttf-eua-ticks.csv", folder / "ttf-hedge.toml"


def report_path(name: str = DEMO_REPORT) -> Path:
    """Where a build report bundled from bench/results/ is installed."""
    return _PACKAGE / "results" / name


def load_report(name: str = DEMO_REPORT) -> dict:
    """A build report bundled from bench/results/ (``hedgegate build --report``'s JSON)."""
    return json.loads(report_path(name).read_text())


def time_model(config, ticks) -> tuple[list, list[int]]:
    """The ticks through the bit-exact model in process: (recommendations, nanoseconds per tick), each tick timed
    around ``HedgeModel.tick`` (book update and every leg's law) with ``time.perf_counter_ns``."""
    model = loaded_model(config)
    recs, times = [], []
    clock = time.perf_counter_ns
    for tick in ticks:
        started = clock()
        out = model.tick(tick.symbol, tick.side, tick.price, tick.qty)
        times.append(clock() - started)
        recs += out
    return recs, times


def run_demo(open_board, config, ticks, *, rate: float | None, report: dict, on_recs=None, on_sent=None) -> dict:
    """Streams ``ticks`` through the board ``open_board(params)`` returns (the report's core, given the config's
    shape) and through the model; returns the stream's summary with ``model_ns`` (percentiles of the model's time per
    tick), ``core_cycles`` and ``core_ns`` (of the core's latency, in cycles and at the report's fmax), ``same`` (the board's recommendations equal the
    model's, latency aside) and ``params`` (the core that ran)."""
    core = board_spec(DEMO_BOARD).core
    shape_matches = all(getattr(core, name) == getattr(config.params, name)
                        for name in ("symbols", "levels", "legs", "price_width", "qty_width"))
    params = dataclasses.replace(config.params, mul_latency=core.mul_latency) if shape_matches else config.params
    board: Board
    with open_board(params) as board:
        board.check_shape(config.params, "the demo's config")
        summary = stream_ticks(board, config, ticks, rate=rate, on_recs=on_recs, on_sent=on_sent)
    model_recs, model_times = time_model(config, ticks)
    summary["same"] = [rec.to_json(latency=False) for rec in summary["recs"]] == \
        [rec.to_json(latency=False) for rec in model_recs]
    cycles = [rec.latency_cycles for rec in summary["recs"] if rec.latency_cycles is not None]
    summary["core_cycles"] = percentiles(cycles)
    summary["core_ns"] = {name: value * 1000 / report["fmax_mhz"] for name, value in summary["core_cycles"].items()}
    summary["model_ns"] = percentiles(model_times)
    summary["model_ticks"] = len(model_times)
    summary["params"] = params
    summary["report_matches"] = params == core
    # The report's design hash against this installation's for its core: a report built from older gateware code.
    summary["report_current"] = report.get("design_hash") == f"{design_hash(core):#010x}"
    return summary

"""Replay a tick file through a backend and write the recommendations (RECS) and book traces (TRACE).

Every backend consumes the same command stream -- the writes that load the config, then one tick per data row -- and
return the same records, so their files can be compared byte for byte (the ``sim`` backend adds
``latency_cycles``). ``model`` runs the law (:mod:`.kernel`) as Python, ``fast`` the same law compiled, ``sim`` the
gateware. File formats (docs/cli.md)::

    RECS   {"seq": 0, "tick": 1, "leg": 0, "side": "BUY", "qty": 10000, "price": 45.01, "hedge_position": 10000}
    TRACE  {"tick": 0, "symbol": 0, "bids": [[45.0, 10]], "asks": []}
"""

import json

import numpy as np

from . import kernel
from .commands import Write, config_writes
from .marketdata.table import TickTable
from .model import HedgeModel, recommendation
from .numbers import milli_to_json

__all__ = ["BACKENDS", "replay", "loaded_model", "run_model", "run_fast", "fast_commands", "fast_ticks", "write_recs",
           "write_trace"]


def _run_sim(config, ticks, *, trace: bool = True):
    from ..sim.backend import run_sim          # imports cocotb's runner: only when asked for
    return run_sim(config, ticks, trace=trace)


def loaded_model(config, *, arrays: bool = False) -> HedgeModel:
    """A model fresh from reset with ``config`` loaded (the writes a board gets first); ``arrays``: state in numpy
    arrays, for the compiled loops."""
    model = HedgeModel(config.params, arrays=arrays)
    for write in config_writes(config):
        model.write(write)
    return model


def run_model(config, ticks, *, trace: bool = True):
    """The model backend: returns (recommendations, trace tuples (symbol, bids, asks) or None)."""
    model = loaded_model(config)
    recs, traces = [], [] if trace else None
    for tick in ticks:
        recs += model.tick(tick.symbol, tick.side, tick.price, tick.qty)
        if trace:
            traces.append((tick.symbol, *model.book(tick.symbol)))
    return recs, traces


def run_fast(config, ticks, *, trace: bool = True, chunk: int = 1 << 16):
    """The ``fast`` backend: the model's kernel compiled (:func:`kernel.replay_loop`), same results as ``model``."""
    return fast_ticks(loaded_model(config, arrays=True), ticks, trace=trace, chunk=chunk)


def fast_commands(params, commands, *, chunk: int = 1 << 16) -> list:
    """A command stream (ticks and register writes, as the differential tests make them) through the compiled
    kernel: the ticks between two writes run as one compiled call, the writes apply in between (``model.write``)."""
    model = HedgeModel(params, arrays=True)
    recs, run = [], []
    for command in commands:
        if isinstance(command, Write):
            if run:
                recs += fast_ticks(model, run, trace=False, chunk=chunk)[0]
                run = []
            model.write(command)
        else:
            run.append(command)
    if run:
        recs += fast_ticks(model, run, trace=False, chunk=chunk)[0]
    return recs


def fast_ticks(model: HedgeModel, ticks, *, trace: bool = True, chunk: int = 1 << 16):
    """Ticks through ``model`` (made with ``arrays=True``) by the compiled loop; returns (recommendations, traces
    or None) as :func:`run_model` does."""
    params = model.params
    table = ticks if isinstance(ticks, TickTable) else TickTable.from_ticks(ticks)
    columns = [np.ascontiguousarray(c, dtype=np.int64) for c in (table.symbol, table.side, table.price, table.qty)]
    table.check_symbols(params.symbols)
    depth = params.levels
    bids, asks = model.bids, model.asks
    recs, traces = [], [] if trace else None
    buffer = np.zeros(kernel.REC_FIELDS * max(params.legs, 1) * chunk, dtype=np.int64)
    start = 0
    while start < len(table):
        stop = min(start + chunk, len(table))
        rows = np.zeros((stop - start if trace else 0, 2 + 4 * depth), dtype=np.int64)
        reached, count = kernel.replay_loop(*columns, start, stop, bids.prices, bids.sizes, bids.counts, asks.prices,
                                            asks.sizes, asks.counts, depth, model.regs, model.halted, model.counters,
                                            params.price_min, params.price_max, buffer, rows)
        recs += [recommendation(buffer, i) for i in range(count)]
        if trace:
            for row, values in enumerate(rows[:reached - start].tolist()):
                nb, na = values[0], values[1]
                bid_p, bid_s, ask_p, ask_s = (values[2 + k * depth:2 + (k + 1) * depth] for k in range(4))
                traces.append((int(columns[0][start + row]), list(zip(bid_p[:nb], bid_s[:nb])),
                               list(zip(ask_p[:na], ask_s[:na]))))
        start = reached
    return recs, traces


# backend name -> function(config, ticks, trace=...) -> (recommendations, traces); the CLI's --backend choices.
# (Replay runs the core alone, with its book trace; the boards' backends are hedgegate.host.board.BACKENDS.)
BACKENDS = {
    "model": run_model,
    "fast": run_fast,          # the same kernel compiled by numba (the backtester's fast path)
    "sim": _run_sim,           # the core in Verilator under cocotb, checked against the model on every cycle
}


def replay(config, ticks, backend: str, *, trace: bool = True):
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    return BACKENDS[backend](config, ticks, trace=trace)


def _levels(levels):
    return [[milli_to_json(price), qty] for price, qty in levels]


def write_recs(path, recs):
    with open(path, "w") as out:
        for rec in recs:
            out.write(rec.json_line() + "\n")


def write_trace(path, traces):
    with open(path, "w") as out:
        for index, (symbol, bids, asks) in enumerate(traces):
            out.write(json.dumps({"tick": index, "symbol": symbol, "bids": _levels(bids), "asks": _levels(asks)})
                      + "\n")

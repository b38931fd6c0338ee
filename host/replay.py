"""Replay a tick file through a backend and write the recommendations (RECS) and book traces (TRACE).

Both backends consume the same command stream -- the writes that load the config, then one tick per data row -- and
return the same records, so their files can be compared byte for byte (the ``sim`` backend adds
``latency_cycles``). File formats (docs/cli.md)::

    RECS   {"seq": 0, "tick": 1, "leg": 0, "side": "BUY", "qty": 10000, "price": 45.01, "hedge_position": 10000}
    TRACE  {"tick": 0, "symbol": 0, "bids": [[45.0, 10]], "asks": []}
"""

import json

from .commands import config_writes
from .model import HedgeModel
from .numbers import milli_to_json

__all__ = ["BACKENDS", "replay", "loaded_model", "run_model", "write_recs", "write_trace"]


def _run_sim(config, ticks, *, trace: bool = True):
    from ..sim.backend import run_sim          # imports cocotb's runner: only when asked for
    return run_sim(config, ticks, trace=trace)


def loaded_model(config) -> HedgeModel:
    """A model fresh from reset with ``config`` loaded (the writes a board gets first)."""
    model = HedgeModel(config.params)
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


# backend name -> function(config, ticks, trace=...) -> (recommendations, traces); the CLI's --backend choices.
# (Replay runs the core alone, with its book trace; the boards' backends are hedgegate.host.board.BACKENDS.)
BACKENDS = {
    "model": run_model,
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

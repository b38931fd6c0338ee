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

__all__ = ["BACKENDS", "replay", "run_model", "write_recs", "write_trace"]

BACKENDS = ("model", "sim")


def run_model(config, ticks, *, trace: bool = True):
    """The model backend: returns (recommendations, trace tuples (symbol, bids, asks) or None)."""
    model = HedgeModel(config.params)
    for write in config_writes(config):
        model.write(write)
    recs, traces = [], [] if trace else None
    for tick in ticks:
        recs += model.tick(tick.symbol, tick.side, tick.price, tick.qty)
        if trace:
            traces.append((tick.symbol, *model.book(tick.symbol)))
    return recs, traces


def replay(config, ticks, backend: str, *, trace: bool = True):
    if backend == "model":
        return run_model(config, ticks, trace=trace)
    if backend == "sim":
        from ..sim.backend import run_sim
        return run_sim(config, ticks, trace=trace)
    raise ValueError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")


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

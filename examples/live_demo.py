"""A live view of the virtual board through the Python API: the bundled TTF/EUA session streamed into the gateware
(Verilator, behind a TCP socket), the recommendations drawn as they come back with the latency the core measured.

``hedgegate demo`` is the full version (progress, legs, the model side by side); this is the same in a page of the
API, to copy from. The first run compiles the virtual board (about a minute).

    python examples/live_demo.py [--ticks N] [--backend sim|model|PORT]
"""

import argparse
from collections import deque

from rich.live import Live
from rich.table import Table

from hedgegate import HedgeConfig, HedgeEngine, MarketTick
from hedgegate.host.demo import demo_files
from hedgegate.host.marketdata import load_ticks
from hedgegate.host.numbers import milli_to_json

# The bundled session's two legs (examples/ttf-hedge.toml) through the API: gas on symbol 0, carbon on symbol 1.
GAS = dict(position=-10_000, hedge_ratio=1.0, alt_hedge_ratio=0.9, band=(29.9, 30.1), rehedge_threshold_bps=200,
           min_qty=100, max_order_qty=2500, max_position=20_000, slippage=0.005, symbol=0)
CARBON = {"symbol": 1, "position": -4000, "hedge_ratio": 1.0, "gamma": 0.5, "anchor": 70.0, "threshold_bps": 100,
          "min_qty": 10, "max_order_qty": 1000, "slippage": 0.01}


def table(recs) -> Table:
    view = Table(title="latest hedge recommendations")
    for column in ("tick", "leg", "side", "qty", "price", "hedge position", "core latency"):
        view.add_column(column, justify="right")
    for rec in recs:
        cycles = "-" if rec.latency_cycles is None else f"{rec.latency_cycles} cycles"
        view.add_row(str(rec.tick), str(rec.leg), rec.side.name, f"{rec.quantity:,}", f"{rec.price:.3f}",
                     f"{rec.hedge_position:+,}", cycles)
    return view


def main(ticks: int = 2000, backend: str = "sim") -> list:
    path, _ = demo_files()
    config = HedgeConfig(**GAS, extra_legs=[CARBON])
    data = load_ticks(path, config.engine_config().params)[:ticks]
    received, last = [], deque(maxlen=10)
    with HedgeEngine(config, backend=backend) as engine, Live(table(last), refresh_per_second=8) as live:
        for tick in data:
            engine.on_tick(MarketTick(tick.ts_ns, tick.side, milli_to_json(tick.price), tick.qty, tick.symbol))
            while (rec := engine.get_hedge_recommendation()) is not None:
                received.append(rec)
                last.appendleft(rec)
                live.update(table(last))
        while (rec := engine.get_hedge_recommendation(timeout=2.0)) is not None:     # the last ones in flight
            received.append(rec)
            last.appendleft(rec)
        live.update(table(last))
    print(f"{len(data):,} ticks, {len(received):,} recommendations from the {backend} backend")
    return received


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=2000, help="ticks of the bundled session to stream (2,000)")
    parser.add_argument("--backend", default="sim", help="sim (the virtual board, default), model, or a serial port")
    args = parser.parse_args()
    main(args.ticks, args.backend)

"""The engine's Python API in a page: a short gas position hedged with TTF futures, tick by tick.

The names are those of the Rust engine hedgegate replaces (HedgeConfig, HedgeEngine, MarketTick); the engine runs on
the bit-exact model here, and unchanged on the virtual board (``--backend sim``: the gateware in Verilator) or a
real board (``--backend /dev/ttyUSB1``).

    python examples/simple_hedge.py [--backend model|sim|PORT]
"""

import argparse

from hedgegate import HedgeConfig, HedgeEngine, MarketTick, get_timestamp_ns

# Short 10,000 MWh of gas, hedged 1.125 : 1 with the front-month future (symbol 0); re-hedge when the hedge is 5 %
# off its target, in orders of at most 5,000 MWh.
CONFIG = HedgeConfig(position=-10_000, hedge_ratio=1.125, rehedge_threshold_bps=500, max_order_qty=5_000,
                     symbol=0)

# (bid, ask) quotes in EUR/MWh; each quote is two ticks, one per side of the book.
QUOTES = [(30.10, 30.12), (30.11, 30.13), (30.40, 30.42), (29.80, 29.82), (29.81, 29.83)]


def main(backend: str = "model", fill_share: float = 0.5) -> list:
    """Runs the quotes; every order fills ``fill_share`` of its size, and the rest is reported back to the engine
    (``report_fill`` with the unfilled quantity, negative for a buy), as a host does with a real venue's fills."""
    orders = []
    with HedgeEngine(CONFIG, backend=backend) as engine:
        for bid, ask in QUOTES:
            now = get_timestamp_ns()
            engine.on_tick(MarketTick.bid(now, bid, 500))
            engine.on_tick(MarketTick.ask(now, ask, 500))
            while (rec := engine.get_hedge_recommendation(timeout=1.0 if backend != "model" else 0.0)) is not None:
                filled = int(rec.quantity * fill_share)
                # The engine counted the whole order into its hedge position H; take the unfilled part back out.
                correction = (filled - rec.quantity) if rec.side.name == "BUY" else (rec.quantity - filled)
                engine.report_fill(rec.leg, correction)
                orders.append((rec.side.name, rec.quantity, rec.price, filled))
                print(f"{rec.side.name:4} {rec.quantity:6,} MWh at {rec.price:6.3f}  filled {filled:6,}  "
                      f"hedge after the fill: {rec.hedge_position + correction:+,}")
    return orders


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="model", help="model (default), sim, or a serial port")
    main(parser.parse_args().backend)

"""Synthetic order-book streams for benchmarks, examples and tests (not market data): numpy, millions of ticks a
second, reproducible from a seed.

Each symbol's fair price walks randomly on its tick grid; quotes are bids below and asks above it, one to ``spread``
ticks away, with a size or 0 (a level pulled); a few are trades. A tick that moves the fair price up pulls the ask
at the new fair price (down: the bid), so every ask stays above it and every bid below: the books stay uncrossed and
follow the fair price.
"""

import numpy as np

from ..ticks import Side
from .table import LoadReport, TickTable

__all__ = ["synthetic_ticks"]


def synthetic_ticks(count: int, symbols: int = 3, *, seed: int = 2026, start_ns: int = 1_700_000_000_000_000_000,
                    gap_ns: int = 5_000_000, prices=(30_000, 70_000, 45_000), tick_sizes=(5, 10, 5),
                    spread: int = 10, pull: float = 0.2, move: float = 0.1) -> TickTable:
    """``count`` ticks over ``symbols`` symbols (prices in milli-units; symbol i starts at ``prices[i % len]`` on a
    grid of ``tick_sizes[i % len]``); ticks ``gap_ns`` apart on average (exponential gaps, some on the same ns)."""
    rng = np.random.default_rng(seed)
    symbol = rng.integers(0, symbols, count)
    grid = np.array([tick_sizes[s % len(tick_sizes)] for s in range(symbols)], dtype=np.int64)
    start = np.array([prices[s % len(prices)] for s in range(symbols)], dtype=np.int64)
    steps = rng.choice(np.array([-1, 0, 1]), count, p=[move / 2, 1 - move, move / 2])
    fair = np.empty(count, dtype=np.int64)
    for s in range(symbols):            # each symbol's own walk, advanced on its own ticks
        mine = symbol == s
        fair[mine] = start[s] + np.cumsum(steps[mine]) * grid[s]
    roll = rng.random(count)
    side = np.where(roll < 0.03, int(Side.TRADE), np.where(roll < 0.515, int(Side.BID), int(Side.ASK)))
    away = rng.integers(1, spread + 1, count) * grid[symbol]
    price = np.where(side == int(Side.BID), fair - away, fair + away)
    qty = np.where(rng.random(count) < pull, 0, rng.integers(1, 500, count))
    qty[side == int(Side.TRADE)] = rng.integers(1, 50, int(np.sum(side == int(Side.TRADE))))
    moved = steps != 0
    side[moved] = np.where(steps[moved] > 0, int(Side.ASK), int(Side.BID))
    price[moved] = fair[moved]
    qty[moved] = 0
    ts = start_ns + np.cumsum(rng.exponential(gap_ns, count).astype(np.int64))
    return TickTable(ts.astype(np.uint64), symbol, side, price, qty, report=LoadReport("<synthetic>", "synthetic",
                                                                                         count))

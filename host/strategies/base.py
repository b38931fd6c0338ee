"""The strategy protocol and what strategies see of the market.

A strategy is the cold path of a hedge: from market history and positions it computes leg register values
(:class:`~.registers.LegPush`), which a :class:`~.runner.StrategyRunner` pushes into whichever board runs the hot
path, on a cadence (every N ticks, every T seconds of exchange time) or on demand.
"""

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from .registers import LegPush

__all__ = ["HedgingStrategy", "Market"]


@dataclass
class Market:
    """Per symbol, its price observations (bars, oldest first) and its latest mid, in currency units.

    Attributes
    ----------
    history : dict[int, list[float]]
        Symbol -> closing mids of its bars (or daily closes).
    mid : dict[int, float]
        Symbol -> the latest mid (both sides present, not crossed).
    """
    history: dict = field(default_factory=dict)
    mid: dict = field(default_factory=dict)

    def series(self, symbol: int) -> np.ndarray:
        return np.asarray(self.history.get(symbol, ()), dtype=np.float64)


@runtime_checkable
class HedgingStrategy(Protocol):
    """What every strategy provides (the five built-in ones, and users' own: examples/custom_strategy.py).

    ``compute(market, params)`` returns one :class:`LegPush` per leg it drives: the registers to write (in the hedge
    instrument's units, on its tick grid, rounded by the functions of :mod:`.registers`) and the unrounded estimates
    behind them. It raises :class:`~.registers.StrategyError` (one line naming the input) when the market leaves
    nothing usable; a runner then leaves the registers as they were.
    """

    def compute(self, market: Market, params) -> list[LegPush]:
        ...

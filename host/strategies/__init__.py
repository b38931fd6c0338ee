"""Hedging strategies: host-side estimators whose output is leg register values (docs/strategies.md).

Each strategy computes, from market history and positions, what to write into the hedge-leg registers; the gateware
applies the hedge law on every tick with them. :class:`StrategyRunner` pushes them through any
:class:`~hedgegate.host.board.Board` on a cadence.
"""

from .base import HedgingStrategy, Market
from .delta import DeltaHedge
from .delta_gamma import DeltaGammaHedge, OptionPosition, black76, load_options
from .mean_reversion import MeanReversionHedge, MeanReversionParams, OUFit, fit_ou
from .mvhr import MVHREstimate, MVHRStrategy, mvhr
from .prices import PriceSeries, align, load_prices
from .registers import LegPush, Rounded, StrategyError
from .runner import StrategyRunner
from .spark_spread import EUA, TTF, Instrument, SparkSpreadHedge, SparkSpreadParams

__all__ = ["HedgingStrategy", "Market", "DeltaHedge", "DeltaGammaHedge", "OptionPosition", "black76", "load_options",
           "MeanReversionHedge", "MeanReversionParams", "OUFit", "fit_ou", "MVHREstimate", "MVHRStrategy", "mvhr",
           "PriceSeries", "align", "load_prices", "LegPush", "Rounded", "StrategyError", "StrategyRunner",
           "SparkSpreadHedge", "SparkSpreadParams", "Instrument", "TTF", "EUA"]

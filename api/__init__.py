"""hedgegate: an FPGA hedging engine for energy derivatives.

The public Python API (later issues extend it)::

    from hedgegate import HedgeEngine, HedgeConfig, MarketTick, get_timestamp_ns
    from hedgegate import DeltaHedge, MVHRStrategy, MeanReversionHedge, DeltaGammaHedge, SparkSpreadHedge
    from hedgegate import Backtest, BacktestConfig, Latency

The rest lives in subpackages, one per folder of the repository: ``hedgegate.hw`` (``hw/``, the Amaranth gateware),
``hedgegate.host`` (``host/``: model, loaders, board driver, CLI), ``hedgegate.sim`` (``sim/``: cocotb testbenches
and the Verilator runner); this package itself is ``api/``.
"""

from .host.backtest import Backtest, BacktestConfig, BacktestResults, Latency
from .engine import HedgeConfig, HedgeEngine, HedgeRecommendation, MarketTick, get_timestamp_ns
from .host.strategies import (DeltaGammaHedge, DeltaHedge, HedgingStrategy, Market, MeanReversionHedge,
                              MeanReversionParams, MVHRStrategy, OptionPosition, SparkSpreadHedge, SparkSpreadParams,
                              StrategyError, StrategyRunner)

__all__ = ["HedgeConfig", "HedgeEngine", "HedgeRecommendation", "MarketTick", "get_timestamp_ns",
           "DeltaHedge", "MVHRStrategy", "MeanReversionHedge", "MeanReversionParams", "DeltaGammaHedge",
           "OptionPosition", "SparkSpreadHedge", "SparkSpreadParams", "HedgingStrategy", "Market", "StrategyRunner",
           "StrategyError", "Backtest", "BacktestConfig", "BacktestResults", "Latency"]
__version__ = "0.1.0"

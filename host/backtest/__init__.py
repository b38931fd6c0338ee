"""The backtester: the engine's law compiled, with order latency, fills, costs, metrics, reports and sweeps.

    from hedgegate import Backtest, BacktestConfig, HedgeConfig
"""

from .config import BacktestConfig, Latency
from .engine import Backtest, BacktestResults

__all__ = ["Backtest", "BacktestConfig", "BacktestResults", "Latency"]

"""hedgegate: an FPGA hedging engine for energy derivatives.

The public Python API (later issues extend it)::

    from hedgegate import HedgeEngine, HedgeConfig, MarketTick, get_timestamp_ns

The rest lives in subpackages, one per folder of the repository: ``hedgegate.hw`` (``hw/``, the Amaranth gateware),
``hedgegate.host`` (``host/``: model, loaders, board driver, CLI), ``hedgegate.sim`` (``sim/``: cocotb testbenches
and the Verilator runner); this package itself is ``api/``.
"""

from .engine import HedgeConfig, HedgeEngine, HedgeRecommendation, MarketTick, get_timestamp_ns

__all__ = ["HedgeConfig", "HedgeEngine", "HedgeRecommendation", "MarketTick", "get_timestamp_ns"]
__version__ = "0.1.0"

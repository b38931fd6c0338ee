"""The engine's Python API, with the names of the Rust engine hedgegate replaces (its README:
``HedgeConfig``, ``HedgeEngine``, ``MarketTick``, ``get_timestamp_ns``), over any :class:`~hedgegate.host.board.Board`.

    >>> from hedgegate import HedgeConfig, HedgeEngine, MarketTick, get_timestamp_ns
    >>> engine = HedgeEngine(HedgeConfig(hedge_ratio=1.125, rehedge_threshold_bps=500, position=-10_000, symbol=0))
    >>> engine.on_tick(MarketTick.bid(get_timestamp_ns(), 45.50, 100, 0))
    >>> engine.get_hedge_recommendation() is None      # the law needs both sides of the book
    True
    >>> engine.on_tick(MarketTick.ask(get_timestamp_ns(), 45.60, 100, 0))
    >>> rec = engine.get_hedge_recommendation()
    >>> rec.side.name, rec.quantity, rec.price
    ('BUY', 11250, 45.6)

Floats enter only here: every price, ratio and gamma is converted by the exact decimal rules of docs/numbers.md
(the shortest decimal that round-trips the float, then one rounding half away from zero to the register's grid),
so ``45.6`` is 45,600 milli-units exactly. Recommendations come back with prices in currency units (``price``,
exact decimals as floats) and in milli-units (``price_milli``).
"""

import collections
import time
from dataclasses import dataclass, field

from .host.board import open_board
from .host.commands import Write, config_writes
from .host.config import config_from_document
from .host.numbers import exact_decimal, milli_to_json
from .host.ticks import api_tick
from .hw.layouts import RecSide, TickSide
from .hw.regmap import LegReg

__all__ = ["HedgeConfig", "HedgeEngine", "MarketTick", "HedgeRecommendation", "get_timestamp_ns"]


def get_timestamp_ns() -> int:
    """Nanoseconds since the epoch (``time.time_ns``), for tick timestamps."""
    return time.time_ns()


@dataclass
class HedgeConfig:
    """One hedge leg and the core around it. Every field is optional; the defaults are the config file's
    (docs/cli.md): ratio 1.0, no threshold, no band, no gamma, no slippage, no slicing, no limit.

    The Rust engine's names are accepted beside ours: ``rehedge_threshold_bps`` is ``threshold_bps``,
    ``max_position`` is ``position_limit``.

    Attributes
    ----------
    position : int
        P, the exposure to hedge (e.g. -10,000 MWh short).
    hedge_ratio, alt_hedge_ratio : float
        h, and the ratio outside the band (default: h).
    rehedge_threshold_bps : int
        Re-hedge when |T - H| * 10,000 > bps * |T| (and >= min_qty).
    symbol : int
        The book the leg watches.
    symbols, levels : int
        The core's books: S symbols of N levels per side.
    """
    position: int = 0
    hedge_ratio: float = 1.0
    rehedge_threshold_bps: int = 0
    symbol: int = 0
    alt_hedge_ratio: float | None = None
    band: tuple | None = None
    gamma: float = 0.0
    anchor: float = 0.0
    min_qty: int = 1
    max_order_qty: int = 2_147_483_647
    max_position: int = 2_147_483_647
    slippage: float = 0.0
    hedge_position: int = 0
    symbols: int = 4
    levels: int = 10
    extra_legs: list = field(default_factory=list)     # more legs: dicts with the config file's [[leg]] keys

    def engine_config(self):
        """The validated :class:`~hedgegate.host.config.EngineConfig` (InputError naming the field if a value does
        not fit its register)."""
        leg = {"symbol": self.symbol, "position": self.position, "hedge_position": self.hedge_position,
               "hedge_ratio": self.hedge_ratio, "threshold_bps": self.rehedge_threshold_bps, "gamma": self.gamma,
               "anchor": self.anchor, "min_qty": self.min_qty, "max_order_qty": self.max_order_qty,
               "position_limit": self.max_position, "slippage": self.slippage}
        if self.alt_hedge_ratio is not None:
            leg["alt_hedge_ratio"] = self.alt_hedge_ratio
        if self.band is not None:
            leg["band"] = list(self.band)
        legs = [leg] + [dict(extra) for extra in self.extra_legs]
        doc = {"engine": {"symbols": self.symbols, "levels": self.levels},
               "leg": [{key: ([exact_decimal(v) for v in value] if isinstance(value, list) else exact_decimal(value))
                        for key, value in one.items()} for one in legs]}
        return config_from_document(doc, "HedgeConfig")


@dataclass(frozen=True)
class MarketTick:
    """A book update: ``side`` bid/ask/trade/clear, ``price`` in currency units (float or int), ``qty``."""
    ts_ns: int
    side: TickSide
    price: float
    qty: int
    symbol: int = 0

    @classmethod
    def bid(cls, ts_ns, price, qty, symbol=0):
        return cls(ts_ns, TickSide.BID, price, qty, symbol)

    @classmethod
    def ask(cls, ts_ns, price, qty, symbol=0):
        return cls(ts_ns, TickSide.ASK, price, qty, symbol)

    @classmethod
    def trade(cls, ts_ns, price, qty, symbol=0):
        return cls(ts_ns, TickSide.TRADE, price, qty, symbol)


@dataclass(frozen=True)
class HedgeRecommendation:
    """What :meth:`HedgeEngine.get_hedge_recommendation` returns: the Rust engine's fields (``side``,
    ``quantity``, ``price`` in currency units) and ours (``leg``, ``hedge_position``, ``price_milli``, ``seq``,
    ``tick``, ``latency_cycles`` where the gateware measured it)."""
    side: RecSide
    quantity: int
    price: float
    leg: int
    hedge_position: int
    price_milli: int
    seq: int
    tick: int
    latency_cycles: int | None


class HedgeEngine:
    """The engine on a backend: ``"model"`` (the bit-exact model in process, the default) or a board's port (a
    serial device or pyserial URL, e.g. ``socket://127.0.0.1:4000`` for the virtual board). The config is loaded
    into the board's registers when the engine is made, after checking that the board's core has the config's
    shape (symbols, levels, legs, widths; BoardError otherwise).

    Ticks and register writes (``set_position``, ``report_fill``) reach the core in the order they are made, so a
    fill reported after a tick applies after that tick and before the next: no race with recommendations in
    flight."""

    def __init__(self, config: HedgeConfig | None = None, backend: str = "model", **options):
        self.config = config if config is not None else HedgeConfig()
        self._engine_config = self.config.engine_config()
        self.params = self._engine_config.params
        self.board = open_board(backend, self.params, **options)
        try:
            self.board.check_shape(self.params, "the HedgeConfig")
        except BaseException:
            self.board.close()
            raise
        self.board.send(config_writes(self._engine_config))
        self.board.mark()
        self._pending = collections.deque()

    def on_tick(self, tick: MarketTick) -> None:
        """Sends one tick (its price converted exactly; a value outside the core's ranges is a ValueError naming
        it)."""
        self.board.send([api_tick(tick.ts_ns, tick.symbol, tick.side, tick.price, tick.qty, self.params)])

    def get_hedge_recommendation(self, timeout: float = 0.0):
        """The next pending recommendation, or None (waits up to ``timeout`` seconds on a board)."""
        if not self._pending:
            self._pending += self.board.poll(timeout)
        if not self._pending:
            return None
        rec = self._pending.popleft()
        return HedgeRecommendation(rec.side, rec.qty, milli_to_json(rec.price), rec.leg, rec.hedge_position,
                                   rec.price, rec.seq, rec.tick, rec.latency_cycles)

    def set_position(self, leg: int, position: int) -> None:
        """Sets leg ``leg``'s exposure P (applied between the ticks sent before and after)."""
        self.board.write(Write(leg, LegReg.POSITION, position))

    def report_fill(self, leg: int, signed_qty: int) -> None:
        """A fill (or a correction) of leg ``leg``'s hedge: H += ``signed_qty``, saturating, in order with the
        ticks (ADJUST_POSITION)."""
        self.board.write(Write(leg, LegReg.ADJUST_POSITION, signed_qty))

    def status(self) -> dict:
        return self.board.status()

    def close(self) -> None:
        self.board.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

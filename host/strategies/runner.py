"""StrategyRunner: strategies re-evaluated on a cadence and pushed into a board between ticks.

The host follows the market from the ticks it sends (each symbol's book, as the core keeps it: the model's book
rules, so the mid the strategies see is the gateware's), closes a bar of every symbol's mid every ``bar_ticks``
ticks or every ``bar_ns`` of exchange time (``ts_ns``), and evaluates the strategies every ``every_ticks`` ticks or
every ``every_ns`` of exchange time. Their register writes go into the command stream right after the tick that
triggered them, as one batch, so every backend applies them between the same two ticks and the model, the virtual
board and a board give identical recommendations. A strategy that cannot estimate yet (a window not yet filled) is
skipped at that point and the error recorded; the registers keep their values.
"""

from dataclasses import dataclass

from ...hw.layouts import TickSide
from ..model import BookSideModel
from .base import Market
from .registers import StrategyError

__all__ = ["StrategyRunner", "Push"]


@dataclass(frozen=True)
class Push:
    """One evaluation: after tick ``tick`` (0-based; -1: before the first, or on demand), the strategies'
    :class:`~.registers.LegPush` list, or the ``error`` that kept one from pushing."""
    tick: int
    pushes: list
    error: str | None = None


def _boundary(boundary, ts_ns: int, period: int) -> tuple[bool, int]:
    """(whether ``ts_ns`` reached ``boundary``, the boundary to wait for next): the first multiple of ``period`` after
    ``ts_ns`` once reached, or on the first tick (``boundary`` None)."""
    if boundary is not None and ts_ns < boundary:
        return False, boundary
    return boundary is not None, (ts_ns // period + 1) * period


class StrategyRunner:
    """Strategies over a tick stream, on a cadence.

    Parameters
    ----------
    config : EngineConfig
        The engine (its params: S, N; its legs are loaded before the stream by ``stream_ticks``).
    strategies : list[HedgingStrategy]
    every_ticks, every_ns : int, optional
        Evaluate after every ``every_ticks``-th tick, or when ``ts_ns`` reaches the next multiple of ``every_ns``.
    bar_ticks, bar_ns : int, optional
        Close a bar (append each symbol's mid to :attr:`market`'s history) every ``bar_ticks`` ticks or ``bar_ns`` of
        exchange time (default: one bar per evaluation).
    market : Market, optional
        History to start from (daily closes loaded by the caller, say).

    Attributes
    ----------
    market : Market
    log : list[Push]
        Every evaluation, in order.
    """

    def __init__(self, config, strategies, *, every_ticks=None, every_ns=None, bar_ticks=None, bar_ns=None,
                 market: Market | None = None):
        if (every_ticks is None) == (every_ns is None):
            raise ValueError("give one cadence: every_ticks or every_ns")
        for name, value in (("every_ticks", every_ticks), ("every_ns", every_ns), ("bar_ticks", bar_ticks),
                            ("bar_ns", bar_ns)):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        self.params = config.params
        self.strategies = list(strategies)
        self.every_ticks, self.every_ns = every_ticks, every_ns
        self.bar_ticks, self.bar_ns = bar_ticks, bar_ns
        self.market = market or Market()
        self.log: list[Push] = []
        self._bids = BookSideModel(self.params.symbols, self.params.levels, descending=True)
        self._asks = BookSideModel(self.params.symbols, self.params.levels, descending=False)

    def _observe(self, tick):
        symbol = tick.symbol
        if tick.side == TickSide.CLEAR:
            self._bids.clear(symbol)
            self._asks.clear(symbol)
        elif tick.side in (TickSide.BID, TickSide.ASK):
            (self._bids if tick.side == TickSide.BID else self._asks).update(symbol, tick.price, tick.qty)
            best_bid, best_ask = self._bids.best(symbol), self._asks.best(symbol)
            if best_bid is not None and best_ask is not None and best_bid < best_ask:
                self.market.mid[symbol] = (best_bid + best_ask) / 2000     # currency units

    def _close_bar(self):
        for symbol, mid in self.market.mid.items():
            self.market.history.setdefault(symbol, []).append(mid)

    def evaluate(self, tick_index: int) -> list:
        """Compute every strategy on the market now; returns the writes (empty if one could not estimate)."""
        pushes = []
        try:
            for strategy in self.strategies:
                pushes += strategy.compute(self.market, self.params)
        except StrategyError as exc:
            self.log.append(Push(tick_index, [], str(exc)))
            return []
        self.log.append(Push(tick_index, pushes))
        return [write for push in pushes for write in push.writes()]

    def plan(self, ticks) -> list:
        """The command stream: the ticks, with the strategies' writes between them. Tick cadences act after the
        N-th tick; exchange-time cadences before the first tick at or past each boundary, on the market as it was
        (a bar's close is the last mid within it)."""
        commands = []
        next_eval = next_bar = None
        for index, tick in enumerate(ticks):
            if self.bar_ns is not None:
                crossed, next_bar = _boundary(next_bar, tick.ts_ns, self.bar_ns)
                if crossed:
                    self._close_bar()
            if self.every_ns is not None:
                crossed, next_eval = _boundary(next_eval, tick.ts_ns, self.every_ns)
                if crossed:
                    if self.bar_ns is None and self.bar_ticks is None:
                        self._close_bar()
                    commands += self.evaluate(index - 1)
            commands.append(tick)
            self._observe(tick)
            count = index + 1
            if self.bar_ticks is not None and count % self.bar_ticks == 0:
                self._close_bar()
            if self.every_ticks is not None and count % self.every_ticks == 0:
                if self.bar_ns is None and self.bar_ticks is None:
                    self._close_bar()
                commands += self.evaluate(index)
        return commands

    def push_now(self, board) -> list:
        """On demand: evaluate now and send the writes to ``board`` (between the ticks already sent and the next)."""
        writes = self.evaluate(-1)
        if writes:
            board.send(writes)
        return self.log[-1].pushes

"""Top-N order books for S symbols, one tick per clock cycle.

Two side units, bids and asks, each hold their side of all S books in flip-flops: :class:`BookSide` updates it in
eight stages (receive, fetch, compare, two correct stages, anticipate, decide, write; see :mod:`.book_side` for why
and how ticks in consecutive cycles stay exact) and takes a tick on every cycle; with ``CoreParams.compact_book``,
:class:`CompactBookSide` walks the levels one per cycle and takes a tick every N cycles (``busy`` is high in
between). The side a tick names is updated, both are emptied by ``clear``, ``trade`` changes nothing.

Timing: the tick is presented on ``tick``/``tick_valid`` in the cycle it is accepted (the parallel book also takes
``tick_ready``, ANDed with ``tick_valid`` a cycle later, see :class:`BookSide`); ``CoreParams.trace_latency``
cycles later ``snapshot`` holds the symbol's book after the tick and ``snapshot_valid`` is high. The simulation trace
port exposes all of it; the hedge legs read the best levels from ``best``, in the same cycle: with the parallel book a
copy per leg (one register read by both legs' adders, placed next to one of them, was a 3.4 ns route on the
ULX3S-85F, seed 3, docs/boards.md), with the compact book the snapshot's own (no room for copies on the iCE40).

The tick's symbol must be below S (the host and the frame decoder check it); the gateware does not re-check.
"""

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .book_side import BookSide
from .compact_book_side import CompactBookSide
from .duplicate import duplicate_signal
from .layouts import TickSide, snapshot_layout, tick_layout
from .params import CoreParams

__all__ = ["OrderBook"]


class OrderBook(wiring.Component):
    """The top-N books of every symbol, bids and asks (see the module docstring).

    Parameters
    ----------
    params : CoreParams
        S, N, the widths, ``legs`` (one copy of the best levels per leg) and ``compact_book``.

    Attributes
    ----------
    tick_valid, tick_ready, tick : Signal
        The tick to apply, in the cycle it is accepted.
    busy : Signal
        High while the compact book walks its levels (no tick is taken); always low for the parallel book.
    snapshot_valid, snapshot : Signal
        ``trace_latency`` cycles after the tick: its symbol's book after it.
    best : array of L ``best_layout``
        The best bid and ask with their presence, in the snapshot's cycle, a copy per leg.
    """

    def __init__(self, params: CoreParams):
        self._params = params
        super().__init__({
            "tick_valid":     In(1),
            "tick_ready":     In(1, init=1),
            "tick":           In(tick_layout(params)),
            "busy":           Out(1),
            "snapshot_valid": Out(1),
            "snapshot":       Out(snapshot_layout(params)),
            "best":           Out(data.ArrayLayout(best_layout(params), params.legs)),
        })

    def elaborate(self, platform):
        m = Module()
        p = self._params
        tick = self.tick

        unit_class = CompactBookSide if p.compact_book else BookSide
        m.submodules.bid_side = bid_side = unit_class(p, descending=True)
        m.submodules.ask_side = ask_side = unit_class(p, descending=False)
        for name, side_code, unit in (("bids", TickSide.BID, bid_side), ("asks", TickSide.ASK, ask_side)):
            m.d.comb += [
                unit.tick_valid.eq(self.tick_valid),
                *([] if p.compact_book else [unit.tick_ready.eq(self.tick_ready)]),
                unit.symbol.eq(tick.symbol),
                unit.price.eq(tick.price),
                unit.qty.eq(tick.qty),
                unit.update.eq(tick.side == side_code),
                unit.clear.eq(tick.side == TickSide.CLEAR),
            ]
            # Registered on every cycle (no enable: it would fan out to every bit); valid with snapshot_valid.
            m.d.sync += getattr(self.snapshot, name).eq(unit.new_levels)
        if p.compact_book:
            m.d.comb += self.busy.eq(bid_side.busy)

        # The tick's symbol and side, from its handshake to the cycle its new levels are ready: held for the compact
        # book (the next tick comes no earlier than that cycle), delayed along the parallel book's stages.
        symbol, side = tick.symbol, tick.side
        for stage in range(1 if p.compact_book else p.trace_latency - 1):
            held_symbol = Signal.like(tick.symbol, name=f"symbol_{stage + 1}")
            held_side = Signal.like(tick.side, name=f"side_{stage + 1}")
            with m.If(self.tick_valid if p.compact_book else 1):
                m.d.sync += [held_symbol.eq(symbol), held_side.eq(side)]
            symbol, side = held_symbol, held_side
        def quotes(best, bid, ask):
            return [best.has_bid.eq(bid.valid), best.bid.eq(bid.price),
                    best.has_ask.eq(ask.valid), best.ask.eq(ask.price)]
        for index in range(p.legs):
            if p.compact_book:
                m.d.comb += quotes(self.best[index], self.snapshot.bids[0], self.snapshot.asks[0])
            else:
                # Prices and valid bits only: a copy of the sizes too, kept by its attribute, would keep the whole
                # size half of the book's storage, which nothing on a board reads otherwise (2,000 flip-flops).
                copy = duplicate_signal(best_layout(p), name=f"best{index}")
                m.d.sync += quotes(copy, bid_side.new_levels[0], ask_side.new_levels[0])
                m.d.comb += self.best[index].eq(copy)
        m.d.sync += self.snapshot_valid.eq(bid_side.new_valid)
        with m.If(bid_side.new_valid):
            m.d.sync += [self.snapshot.symbol.eq(symbol), self.snapshot.side.eq(side)]
        return m


def best_layout(params: CoreParams) -> data.StructLayout:
    """The best level of each side, as a hedge leg reads them (no sizes: the hedge law does not use them)."""
    price = signed(params.price_width)
    return data.StructLayout({"has_bid": 1, "bid": price, "has_ask": 1, "ask": price})

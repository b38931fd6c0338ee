"""Top-N order books for S symbols, one tick per clock cycle.

Two :class:`BookSide` units, bids and asks, each hold their side of all S books in flip-flops and update it in two
stages (compare, then update; see :mod:`.book_side` for why and how ticks in consecutive cycles stay exact). The side
a tick names is updated, both are emptied by ``clear``, ``trade`` changes nothing.

Timing: the tick is presented on ``tick``/``tick_valid`` in the cycle it is accepted (compare stage); the next cycle
updates the books; one cycle after that ``snapshot`` holds the symbol's book after the tick and ``snapshot_valid`` is
high. The hedge legs read the best levels from it and the simulation trace port exposes all of it.

The tick's symbol must be below S (the host and the frame decoder check it); the gateware does not re-check.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .book_side import BookSide
from .layouts import TickSide, snapshot_layout, tick_layout
from .params import CoreParams

__all__ = ["OrderBook"]


class OrderBook(wiring.Component):
    def __init__(self, params: CoreParams):
        self._params = params
        super().__init__({
            "tick_valid":     In(1),
            "tick":           In(tick_layout(params)),
            "snapshot_valid": Out(1),
            "snapshot":       Out(snapshot_layout(params)),
        })

    def elaborate(self, platform):
        m = Module()
        p = self._params
        tick = self.tick

        m.submodules.bid_side = bid_side = BookSide(p, descending=True)
        m.submodules.ask_side = ask_side = BookSide(p, descending=False)
        for name, side_code, unit in (("bids", TickSide.BID, bid_side), ("asks", TickSide.ASK, ask_side)):
            m.d.comb += [
                unit.tick_valid.eq(self.tick_valid),
                unit.symbol.eq(tick.symbol),
                unit.price.eq(tick.price),
                unit.qty.eq(tick.qty),
                unit.update.eq(tick.side == side_code),
                unit.clear.eq(tick.side == TickSide.CLEAR),
            ]
            m.d.sync += getattr(self.snapshot, name).eq(unit.new_levels)

        # The tick's symbol and side, one cycle behind the compare stage, then registered with the snapshot.
        symbol, side = Signal.like(tick.symbol), Signal.like(tick.side)
        m.d.sync += [
            symbol.eq(tick.symbol),
            side.eq(tick.side),
            self.snapshot_valid.eq(bid_side.new_valid),
            self.snapshot.symbol.eq(symbol),
            self.snapshot.side.eq(side),
        ]
        return m

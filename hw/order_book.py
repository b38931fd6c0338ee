"""Top-N order books for S symbols, one tick per clock cycle.

Each symbol's bids and asks live in flip-flops. A tick reads its symbol's two sides, passes them through one
:class:`BookSide` per side (the side the tick names is updated, both are emptied by ``clear``, ``trade`` changes
nothing) and writes them back in the same cycle. The read-modify-write is the only loop-carried path of the book, and
it closes within one cycle, so ticks on the same symbol and side can follow each other back to back without
forwarding or stalls (initiation interval 1).

The updated sides are also registered as a snapshot of the symbol's book after the tick: one cycle after the tick is
presented, ``snapshot`` holds it and ``snapshot_valid`` is high. The hedge legs read the best levels from it and the
simulation trace port exposes all of it.

The tick's symbol must be below S (the host and the frame decoder check it); the gateware does not re-check.
"""

from amaranth.hdl import Array, Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .book_side import BookSide
from .layouts import TickSide, side_layout, snapshot_layout, tick_layout
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
        layout = side_layout(p)
        tick = self.tick

        m.submodules.bid_side = bid_side = BookSide(p, descending=True)
        m.submodules.ask_side = ask_side = BookSide(p, descending=False)

        for name, side_code, unit in (("bids", TickSide.BID, bid_side), ("asks", TickSide.ASK, ask_side)):
            storage = [Signal(layout.size, name=f"{name}_{s}") for s in range(p.symbols)]
            current = Array(storage)[tick.symbol] if p.symbols > 1 else storage[0]
            m.d.comb += [
                unit.levels.eq(data.View(layout, current)),
                unit.price.eq(tick.price),
                unit.qty.eq(tick.qty),
                unit.update.eq(tick.side == side_code),
                unit.clear.eq(tick.side == TickSide.CLEAR),
            ]
            with m.If(self.tick_valid):
                for s, stored in enumerate(storage):
                    with m.If(tick.symbol == s):
                        m.d.sync += stored.eq(unit.new_levels)
                m.d.sync += getattr(self.snapshot, name).eq(unit.new_levels)

        m.d.sync += [
            self.snapshot_valid.eq(self.tick_valid),
            self.snapshot.symbol.eq(tick.symbol),
            self.snapshot.side.eq(tick.side),
        ]
        return m

"""One side of an order book: the combinational insert / update / delete of a price level.

The N levels are kept sorted best first (bids descending, asks ascending) with empty levels, all-zero, at the end.
An update is decided with N parallel comparisons of the tick's price against every level, so it takes one pass of
logic whatever the level it touches:

* ``better[i]``: the tick's price is strictly better than level i, or level i is empty. Because the levels are sorted,
  ``better`` is a thermometer code (false ... false true ... true), and the first true position is where a new price
  belongs.
* ``at_or_better[i]``: better or equal (or empty); for a delete, the levels from the matched one down all satisfy it.
* ``match[i]``: level i holds exactly this price.

With qty > 0 a matched level takes the new size; otherwise the price is inserted at the first ``better`` position,
the levels below move down one and the worst falls off (if no position is ``better``, the side is full and the price
is not better than its worst level, so nothing changes). With qty = 0 a matched level is removed and the levels below
move up one. ``clear`` empties the side.
"""

from amaranth.hdl import Cat, Module, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .layouts import side_layout
from .params import CoreParams

__all__ = ["BookSide"]


class BookSide(wiring.Component):
    """Combinational update of one book side.

    Ports: ``levels`` (current side) -> ``new_levels``; ``update`` applies (``price``, ``qty``); ``clear`` empties.
    ``descending`` is True for bids (higher is better) and False for asks (lower is better).
    """

    def __init__(self, params: CoreParams, *, descending: bool):
        self._params = params
        self._descending = descending
        super().__init__({
            "levels":     In(side_layout(params)),
            "update":     In(1),
            "clear":      In(1),
            "price":      In(signed(params.price_width)),
            "qty":        In(unsigned(params.qty_width)),
            "new_levels": Out(side_layout(params)),
        })

    def elaborate(self, platform):
        m = Module()
        n = self._params.levels
        levels, new = self.levels, self.new_levels

        better, at_or_better, match = [], [], []
        for i in range(n):
            level = levels[i]
            if self._descending:
                strictly, or_equal = self.price > level.price, self.price >= level.price
            else:
                strictly, or_equal = self.price < level.price, self.price <= level.price
            better.append(~level.valid | strictly)
            at_or_better.append(~level.valid | or_equal)
            match.append(level.valid & (self.price == level.price))
        any_match = Cat(*match).any()

        for i in range(n):
            m.d.comb += new[i].eq(levels[i])
            with m.If(self.clear):
                m.d.comb += new[i].eq(0)
            with m.Elif(self.update & (self.qty != 0)):
                with m.If(any_match):
                    with m.If(match[i]):
                        m.d.comb += new[i].qty.eq(self.qty)
                with m.Elif(better[i] & (~better[i - 1] if i > 0 else 1)):
                    m.d.comb += [new[i].valid.eq(1), new[i].price.eq(self.price), new[i].qty.eq(self.qty)]
                if i > 0:
                    with m.Elif(better[i - 1]):
                        m.d.comb += new[i].eq(levels[i - 1])
            with m.Elif(self.update):
                with m.If(any_match & at_or_better[i]):
                    m.d.comb += new[i].eq(levels[i + 1] if i + 1 < n else 0)
        return m

"""One side (bids or asks) of S order books: storage and a two-stage update that takes one tick per cycle.

The N levels of each symbol are kept sorted best first (bids descending, asks ascending) with empty levels, all-zero,
at the end. A tick (price, qty) on this side is decided by N parallel comparisons of its price with the levels:

* ``better[i]``: the tick's price is strictly better than level i, or level i is empty. Because the levels are sorted,
  ``better`` is a thermometer code (false ... false true ... true); its first true position is where a new price goes.
* ``match[i]``: level i holds exactly this price (at most one level does).

With qty > 0 a matched level takes the new size; otherwise the price is inserted at the first ``better`` position, the
levels below move down one and the worst falls off (if no position is ``better`` the side is full and the price is not
better than its worst level: nothing changes). With qty = 0 a matched level is removed and the levels below move up
one (``better | match`` marks the matched level and everything below it). ``clear`` empties the side.

Why two stages. Done in one cycle, the loop from the stored levels through a symbol multiplexer, a price-wide
comparator (a carry chain) and the priority logic back to the storage limits the clock to ~44 MHz on an ECP5 (routed,
bench/results/fmax.txt). Here the comparisons leave the loop:

* **compare** (the cycle the tick is accepted): the tick's price is compared with the levels of its symbol *as stored
  now*, and with the price of the tick in the update stage. The results are registered.
* **update** (next cycle): if the tick in the update stage one cycle earlier (the previous tick) was on the same
  symbol, the stored levels have changed since the comparison, but only in a way the previous tick's update recorded
  per level as its *source* (``KEEP``, ``UP`` = from the level below, ``DOWN`` = from the level above, ``NEW`` = the
  previous tick's price, ``EMPTY``). Every comparison against the current level i is therefore one of the registered
  ones -- against stored level i, i + 1 or i - 1, against the previous tick's price, or "empty" -- picked by that
  source. A qty-only change keeps the price, so it is ``KEEP``. From the corrected ``better`` and ``match`` vectors
  the update chooses each level's new source, and the new levels are a 5-way multiplexer of stored neighbours.

So the loop-carried path is: registered comparison bits and sources -> a small multiplexer -> the thermometer and
match logic -> the level multiplexers' selects -> storage, with no carry chain and no symbol multiplexer in front of
the comparison. Ticks on the same symbol and side may follow each other in consecutive cycles (initiation interval 1)
without stalls. The symbol's side after the update is ``new_levels``, valid in the update cycle.

The tick's symbol must be below S (the host and the frame decoder check it); the gateware does not re-check.
"""

import enum

from amaranth.hdl import Array, Cat, Module, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .layouts import side_layout
from .params import CoreParams

__all__ = ["BookSide"]


class Source(enum.IntEnum):
    """Where a level's new content came from, one-hot (index = bit); ``KEEP`` when no bit is set."""
    UP = 0         # from level i + 1 (a delete above it)
    DOWN = 1       # from level i - 1 (an insert above it)
    NEW = 2        # the tick's price (inserted here)
    EMPTY = 3      # emptied (clear, or moved up from beyond the last level)


class BookSide(wiring.Component):
    """Bids (``descending=True``) or asks of S symbols.

    Inputs are presented in the compare cycle: ``tick_valid`` (a tick is accepted now), its ``symbol``, ``price``,
    ``qty``, ``update`` (the tick is on this side) and ``clear`` (empty this side of the symbol). One cycle later the
    updated side of that symbol is on ``new_levels`` with ``new_valid`` high, and it is stored at the end of that cycle.
    """

    def __init__(self, params: CoreParams, *, descending: bool):
        self._params = params
        self._descending = descending
        super().__init__({
            "tick_valid": In(1),
            "symbol":     In(params.symbol_width),
            "update":     In(1),
            "clear":      In(1),
            "price":      In(signed(params.price_width)),
            "qty":        In(unsigned(params.qty_width)),
            "new_valid":  Out(1),
            "new_levels": Out(side_layout(params)),
        })

    def _better(self, price, other):
        return price > other if self._descending else price < other

    def elaborate(self, platform):
        m = Module()
        p = self._params
        n = p.levels
        layout = side_layout(p)

        storage = [Signal(layout.size, name=f"symbol{s}") for s in range(p.symbols)]

        def read(symbol):
            return data.View(layout, Array(storage)[symbol] if p.symbols > 1 else storage[0])

        # Compare stage ---------------------------------------------------------------------------------------------
        # Registered for the update stage: the tick, and its comparisons with the levels as stored now and with
        # the price of the tick in the update stage.
        u_valid = Signal()
        u_symbol = Signal(p.symbol_width)
        u_update = Signal()
        u_clear = Signal()
        u_insert = Signal()                       # update with qty != 0
        u_price = Signal(signed(p.price_width))
        u_qty = Signal(unsigned(p.qty_width))
        u_better = Signal(n)                      # against stored levels 0..n-1
        u_match = Signal(n)
        u_better_prev = Signal()                  # against the previous tick's price
        u_match_prev = Signal()
        u_write = Signal(p.symbols)               # one-hot symbol to store into

        compared = read(self.symbol)
        m.d.sync += [
            u_valid.eq(self.tick_valid),
            u_symbol.eq(self.symbol),
            u_update.eq(self.update),
            u_clear.eq(self.clear),
            u_insert.eq(self.update & (self.qty != 0)),
            u_price.eq(self.price),
            u_qty.eq(self.qty),
            u_better_prev.eq(self._better(self.price, u_price)),
            u_match_prev.eq(self.price == u_price),
            u_write.eq(Cat(self.tick_valid & (self.symbol == s) for s in range(p.symbols))),
        ]
        for i in range(n):
            m.d.sync += [
                u_better[i].eq(~compared[i].valid | self._better(self.price, compared[i].price)),
                u_match[i].eq(compared[i].valid & (self.price == compared[i].price)),
            ]

        # Sources recorded by the update stage for the next tick: only if that tick is on the same symbol (the
        # sources describe how this symbol's stored levels changed since its comparison).
        prev_source = Signal(data.ArrayLayout(4, n))
        same_symbol = u_valid & (u_symbol == self.symbol)

        # Update stage ----------------------------------------------------------------------------------------------
        levels = read(u_symbol)

        # Comparisons against the levels as they are now (after the previous tick's update).
        better, match = [], []
        for i in range(n):
            src = prev_source[i]
            below_better = u_better[i + 1] if i + 1 < n else 1
            below_match = u_match[i + 1] if i + 1 < n else 0
            above_better = u_better[i - 1] if i > 0 else 0
            above_match = u_match[i - 1] if i > 0 else 0
            better.append((src[Source.UP] & below_better) | (src[Source.DOWN] & above_better)
                          | (src[Source.NEW] & u_better_prev) | src[Source.EMPTY]
                          | (~src.any() & u_better[i]))
            match.append((src[Source.UP] & below_match) | (src[Source.DOWN] & above_match)
                         | (src[Source.NEW] & u_match_prev) | (~src.any() & u_match[i]))
        any_match = Cat(*match).any()

        source = Signal(data.ArrayLayout(4, n))
        qty_only = Signal(n)
        for i in range(n):
            with m.If(u_clear):
                m.d.comb += source[i][Source.EMPTY].eq(1)
            with m.Elif(u_insert):
                with m.If(any_match):
                    m.d.comb += qty_only[i].eq(match[i])
                with m.Elif(better[i] & (~better[i - 1] if i > 0 else 1)):
                    m.d.comb += source[i][Source.NEW].eq(1)
                if i > 0:
                    with m.Elif(better[i - 1]):
                        m.d.comb += source[i][Source.DOWN].eq(1)
            with m.Elif(u_update):
                with m.If(any_match & (better[i] | match[i])):
                    m.d.comb += source[i][Source.UP if i + 1 < n else Source.EMPTY].eq(1)

        new = self.new_levels
        for i in range(n):
            with m.If(source[i][Source.UP]):
                m.d.comb += new[i].eq(levels[i + 1] if i + 1 < n else 0)
            with m.Elif(source[i][Source.DOWN]):
                m.d.comb += new[i].eq(levels[i - 1] if i > 0 else 0)
            with m.Elif(source[i][Source.NEW]):
                m.d.comb += [new[i].valid.eq(1), new[i].price.eq(u_price), new[i].qty.eq(u_qty)]
            with m.Elif(source[i][Source.EMPTY]):
                m.d.comb += new[i].eq(0)
            with m.Else():
                m.d.comb += new[i].eq(levels[i])
                with m.If(qty_only[i]):
                    m.d.comb += new[i].qty.eq(u_qty)

        m.d.comb += self.new_valid.eq(u_valid)
        for s in range(p.symbols):
            with m.If(u_write[s]):
                m.d.sync += storage[s].eq(new)
        with m.If(same_symbol & self.tick_valid):
            m.d.sync += prev_source.eq(source)
        with m.Else():
            m.d.sync += prev_source.eq(0)
        return m

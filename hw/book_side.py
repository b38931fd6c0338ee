"""One side (bids or asks) of S order books: storage and a four-stage update that takes one tick per cycle.

The N levels of each symbol are kept sorted best first (bids descending, asks ascending) with empty levels, all-zero,
at the end. A tick (price, qty) on this side is decided by N parallel comparisons of its price with the levels:

* ``better[i]``: the tick's price is strictly better than level i, or level i is empty. Because the levels are sorted,
  ``better`` is a thermometer code (false ... false true ... true); its first true position is where a new price goes.
* ``match[i]``: level i holds exactly this price (at most one level does).

With qty > 0 a matched level takes the new size; otherwise the price is inserted at the first ``better`` position, the
levels below move down one and the worst falls off (if no position is ``better`` the side is full and the price is not
better than its worst level: nothing changes). With qty = 0 a matched level is removed and the levels below move up
one (``better | match`` marks the matched level and everything below it). ``clear`` empties the side.

Why four stages. Done in one cycle, the loop from the stored levels through a symbol multiplexer, a price-wide
comparator (a carry chain), the priority logic and 65-bit level multiplexers back to the storage limits the clock to
~44 MHz on an ECP5 (routed, bench/results/fmax.txt); with the multiplexer, the comparator and a correction in one
stage (the three-stage book of commit 84c4272) the compare stage limited it to ~54 MHz, most of it routing between the
symbol multiplexer and the carry chains. Here every stage is at most one carry chain or one multiplexer and a few LUT
levels, and the only loop left is the decision itself:

* **fetch** (the cycle the tick is accepted, tick t): the prices and valid bits of the tick's symbol's levels, as
  stored now, are registered next to the comparators (the symbol multiplexer alone).
* **compare** (next cycle): the price is compared with the fetched levels and with the prices of the three ticks
  ahead of it. The fetched levels lag: tick t-1 is being decided, tick t-2's new levels are being written and tick
  t-3's were written while the levels were fetched. But every update is recorded per level as a *source* --
  ``KEEP``, ``QTY`` (new size, same price), ``UP`` (from the level below, a delete above), ``DOWN`` (from the level
  above, an insert above), ``NEW`` (the tick's price), ``EMPTY`` -- so a comparison with level i *after* an update is
  one of the comparisons with levels i - 1, i, i + 1 before it, with that tick's price, or "empty", picked by the
  source. The compare stage applies tick t-3's and then tick t-2's sources (each only if on the same symbol) and
  registers the result.
* **decide** (the cycle after): applies tick t-1's sources the same way (if on the same symbol), which gives the
  comparisons with the levels as tick t must see them, and decides tick t's sources. This stage is the loop: from
  registered comparison bits and sources to registered sources, through a 5-way one-hot selection, the thermometer
  edge and an N-input OR -- no carry chain, no symbol multiplexer, no 65-bit data.
* **write** (the cycle after that): the new levels are a one-hot multiplexer of the stored neighbours, the tick, or
  empty, selected by the registered sources, and are written back. They are also ``new_levels`` (``new_valid`` high).

Ticks on the same symbol and side may come in consecutive cycles (initiation interval 1) without stalls. The tick's
symbol must be below S (the host and the frame decoder check it); the gateware does not re-check.
"""

import enum

from amaranth.hdl import Array, Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .layouts import level_layout, side_layout
from .params import CoreParams

__all__ = ["BookSide"]


class Source(enum.IntEnum):
    """Where a level's new content comes from, one-hot (index = bit); ``KEEP`` when no bit is set."""
    UP = 0         # from level i + 1 (a delete above it)
    DOWN = 1       # from level i - 1 (an insert above it)
    NEW = 2        # the tick (inserted here)
    EMPTY = 3      # emptied (clear, or moved up from beyond the last level)
    QTY = 4        # same level, the tick's size (a comparison sees it as KEEP)


SOURCE_BITS = len(Source)


def moved(sources):
    """Per level: whether an update changed which price the level holds (its source is not KEEP or QTY)."""
    return [src[Source.UP] | src[Source.DOWN] | src[Source.NEW] | src[Source.EMPTY] for src in sources]


def after_update(sources, better, match, better_tick, match_tick, keep=None):
    """Comparisons with the levels after an update, from the comparisons before it.

    ``sources[i]`` is level i's source in that update (all zero: unchanged); ``better``/``match`` are N-bit
    comparisons with the levels before it, ``better_tick``/``match_tick`` the comparison with that update's tick.
    ``keep`` (optional, per level) is ``~moved(sources)`` when it is available from a register.
    """
    n = len(better)
    if keep is None:
        keep = [~bit for bit in moved(sources)]
    new_better, new_match = [], []
    for i in range(n):
        src = sources[i]
        keep_i = keep[i]
        new_better.append((src[Source.UP] & (better[i + 1] if i + 1 < n else 1))
                          | (src[Source.DOWN] & (better[i - 1] if i > 0 else 0))
                          | (src[Source.NEW] & better_tick) | src[Source.EMPTY] | (keep_i & better[i]))
        new_match.append((src[Source.UP] & (match[i + 1] if i + 1 < n else 0))
                         | (src[Source.DOWN] & (match[i - 1] if i > 0 else 0))
                         | (src[Source.NEW] & match_tick) | (keep_i & match[i]))
    return Cat(*new_better), Cat(*new_match)


class BookSide(wiring.Component):
    """Bids (``descending=True``) or asks of S symbols.

    Inputs are presented in the fetch cycle: ``tick_valid`` (a tick is accepted now), its ``symbol``, ``price``,
    ``qty``, ``update`` (the tick is on this side) and ``clear`` (empty this side of the symbol). Three cycles later
    (``CoreParams.trace_latency - 1``) the updated side of that symbol is on ``new_levels`` with ``new_valid`` high,
    and it is stored at the end of that cycle.
    """

    def __init__(self, params: CoreParams, *, descending: bool):
        self._params = params
        self._descending = descending
        super().__init__(self._ports(params))

    @staticmethod
    def _ports(params: CoreParams) -> dict:
        return {
            "tick_valid": In(1),
            "symbol":     In(params.symbol_width),
            "update":     In(1),
            "clear":      In(1),
            "price":      In(signed(params.price_width)),
            "qty":        In(unsigned(params.qty_width)),
            "new_valid":  Out(1),
            "new_levels": Out(side_layout(params)),
        }

    def _better(self, price, other):
        return price > other if self._descending else price < other

    def elaborate(self, platform):
        m = Module()
        p = self._params
        n = p.levels
        layout = side_layout(p)
        sources_layout = data.ArrayLayout(SOURCE_BITS, n)

        storage = [Signal(layout.size, name=f"symbol{s}") for s in range(p.symbols)]

        def read(symbol, name):
            """The levels of `symbol` as stored now (the symbol multiplexer)."""
            levels = Signal(layout, name=name)
            m.d.comb += levels.eq(Array(storage)[symbol] if p.symbols > 1 else storage[0])
            return levels

        # Registers, named after the stage that reads them: compare (c_), decide (d_), write (w_), and the tick that
        # left the write stage a cycle ago (x_). In the fetch cycle of tick t they hold ticks t-1, t-2 and t-3 (or
        # whatever took those slots: a cycle without a tick has its valid bit low).
        c_valid, d_valid, w_valid = Signal(), Signal(), Signal()
        c_symbol, d_symbol, w_symbol = (Signal(p.symbol_width, name=f"{x}_symbol") for x in "cdw")
        c_price, d_price, w_price, x_price = (Signal(signed(p.price_width), name=f"{x}_price") for x in "cdwx")
        c_qty, d_qty, w_qty = (Signal(unsigned(p.qty_width), name=f"{x}_qty") for x in "cdw")
        c_update, c_clear, c_insert = Signal(), Signal(), Signal()
        d_update, d_clear, d_insert = Signal(), Signal(), Signal()
        c_levels = Signal(layout, name="c_levels")     # fetched: valid and price only (qty is never compared)
        c_same_prev = Signal()                          # tick t and tick t-1 (in decide next cycle) on one symbol
        c_same_w = Signal()                             # ... tick t-2, in the write stage in the compare cycle
        c_same_x = Signal()                             # ... tick t-3, written in the fetch cycle
        d_better, d_match = Signal(n), Signal(n)          # against the levels after tick t-2
        d_better_prev, d_match_prev = Signal(), Signal()  # against tick t-1's price
        d_prev_sources = Signal(sources_layout)           # tick t-1's sources if on the same symbol, else 0
        d_prev_keep = Signal(n, init=(1 << n) - 1)        # ... and which levels it left in place
        d_prev_removed = Signal(n)                        # ... and which of the levels it compared with it removed
        d_prev_added = Signal()                           # ... and whether it added its price
        w_sources, x_sources = Signal(sources_layout), Signal(sources_layout)
        w_here = [Signal(name=f"w_here{s}") for s in range(p.symbols)]   # the write stage holds symbol s

        # Fetch stage -----------------------------------------------------------------------------------------------
        stored = read(self.symbol, "fetch_levels")
        m.d.sync += [
            *(c_levels[i].valid.eq(stored[i].valid) for i in range(n)),
            *(c_levels[i].price.eq(stored[i].price) for i in range(n)),
            c_valid.eq(self.tick_valid),
            c_symbol.eq(self.symbol),
            c_price.eq(self.price),
            c_qty.eq(self.qty),
            c_update.eq(self.update),
            c_clear.eq(self.clear),
            c_insert.eq(self.update & (self.qty != 0)),
            # Which of the ticks ahead are on this symbol, from the registers that hold them now.
            c_same_prev.eq(self.tick_valid & c_valid & (c_symbol == self.symbol)),
            c_same_w.eq(self.tick_valid & d_valid & (d_symbol == self.symbol)),
            c_same_x.eq(self.tick_valid & w_valid & (w_symbol == self.symbol)),
        ]

        # Compare stage ---------------------------------------------------------------------------------------------
        raw_better, raw_match = Signal(n, name="c_better_raw"), Signal(n, name="c_match_raw")
        m.d.comb += [
            raw_better.eq(Cat(~c_levels[i].valid | self._better(c_price, c_levels[i].price) for i in range(n))),
            raw_match.eq(Cat(c_levels[i].valid & (c_price == c_levels[i].price) for i in range(n))),
        ]

        def gated(sources, same):
            return [sources[i] & same.replicate(SOURCE_BITS) for i in range(n)]
        better, match = after_update(gated(x_sources, c_same_x), raw_better, raw_match,
                                     self._better(c_price, x_price), c_price == x_price)
        better, match = after_update(gated(w_sources, c_same_w), better, match,
                                     self._better(c_price, w_price), c_price == w_price)
        m.d.sync += [
            d_valid.eq(c_valid),
            d_symbol.eq(c_symbol),
            d_price.eq(c_price),
            d_qty.eq(c_qty),
            d_update.eq(c_update),
            d_clear.eq(c_clear),
            d_insert.eq(c_insert),
            d_better.eq(better),
            d_match.eq(match),
            d_better_prev.eq(self._better(c_price, d_price)),
            d_match_prev.eq(c_price == d_price),
        ]

        # Decide stage ----------------------------------------------------------------------------------------------
        better, match = Signal(n, name="d_better_now"), Signal(n, name="d_match_now")
        m.d.comb += Cat(better, match).eq(Cat(*after_update([d_prev_sources[i] for i in range(n)], d_better, d_match,
                                                            d_better_prev, d_match_prev, keep=d_prev_keep)))
        # Whether any level now holds the price, straight from the registered comparisons (not through the corrected
        # ones): the levels compared with, minus those the previous tick removed, plus the price it added.
        any_match = (d_match & ~d_prev_removed).any() | (d_match_prev & d_prev_added)
        sources = Signal(sources_layout)
        for i in range(n):
            first_better = better[i] & (~better[i - 1] if i > 0 else 1)
            with m.If(d_clear):
                m.d.comb += sources[i][Source.EMPTY].eq(1)
            with m.Elif(d_insert):
                m.d.comb += [
                    sources[i][Source.QTY].eq(any_match & match[i]),
                    sources[i][Source.NEW].eq(~any_match & first_better),
                    sources[i][Source.DOWN].eq((~any_match & better[i - 1]) if i > 0 else 0),
                ]
            with m.Elif(d_update):
                m.d.comb += sources[i][Source.UP if i + 1 < n else Source.EMPTY].eq(
                    any_match & (better[i] | match[i]))
        # What this tick does to the levels, for the next tick's decision if it is on the same symbol.
        inserted = d_insert & ~any_match & better[n - 1]        # better is a thermometer: any position is better
        removed = Cat(d_clear | (d_update & ~d_insert & match[k]) | (inserted if k == n - 1 else 0)
                      for k in range(n))
        with m.If(c_same_prev):
            m.d.sync += [
                d_prev_sources.eq(sources),
                d_prev_keep.eq(~Cat(*moved([sources[i] for i in range(n)]))),
                d_prev_removed.eq(removed),
                d_prev_added.eq(inserted),
            ]
        with m.Else():
            m.d.sync += [d_prev_sources.eq(0), d_prev_keep.eq(-1), d_prev_removed.eq(0), d_prev_added.eq(0)]
        m.d.sync += [
            w_valid.eq(d_valid),
            *(w_here[s].eq(d_valid & (d_symbol == s)) for s in range(p.symbols)),
            w_symbol.eq(d_symbol),
            w_price.eq(d_price),
            w_qty.eq(d_qty),
            w_sources.eq(sources),
        ]

        # Write stage -----------------------------------------------------------------------------------------------
        levels = read(w_symbol, "write_levels")
        new = self.new_levels
        level = level_layout(p)
        tick_level = Signal(level)
        m.d.comb += [tick_level.valid.eq(1), tick_level.price.eq(w_price), tick_level.qty.eq(w_qty)]
        for i in range(n):
            src = w_sources[i]
            keep = ~src.any()
            qty_level = Signal(level, name=f"qty_level{i}")
            m.d.comb += [qty_level.eq(levels[i]), qty_level.qty.eq(w_qty)]
            choices = [(src[Source.NEW], tick_level), (src[Source.QTY], qty_level), (keep, levels[i])]
            if i + 1 < n:
                choices.append((src[Source.UP], levels[i + 1]))
            if i > 0:
                choices.append((src[Source.DOWN], levels[i - 1]))
            # One-hot AND-OR (EMPTY selects nothing): no priority chain on the way to the storage.
            value = 0
            for select, choice in choices:
                value = value | (choice.as_value() & select.replicate(level.size))
            m.d.comb += new[i].eq(value)

        m.d.comb += self.new_valid.eq(w_valid)
        for s in range(p.symbols):
            with m.If(w_here[s]):
                m.d.sync += storage[s].eq(new)
        # The update written in this cycle, for the compare stage of the tick fetched in this cycle.
        m.d.sync += [x_sources.eq(w_sources), x_price.eq(w_price)]
        return m

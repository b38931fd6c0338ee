"""One side (bids or asks) of S order books: storage and a four-stage update that takes one tick per cycle.

The N levels of each symbol are kept sorted best first (bids descending, asks ascending) with empty levels, all-zero,
at the end. A tick (price p, qty) on this side is decided from two N-bit comparisons of p with the levels, both
thermometer codes (true ... true false ... false) because the levels are sorted:

* ``ge[i]``: level i holds a price at least as good as p (better or equal);
* ``gt[i]``: level i holds a price strictly better than p.

From them: ``better = ~ge`` (p is strictly better than level i, or level i is empty; its first true position is
where a new price goes) and ``match = ge & ~gt`` (level i holds exactly p; at most one level does).

With qty > 0 a matched level takes the new size; otherwise the price is inserted at the first ``better`` position, the
levels below move down one and the worst falls off (if no position is ``better`` the side is full and the price is not
better than its worst level: nothing changes). With qty = 0 a matched level is removed and the levels below move up
one (``better | match`` marks the matched level and everything below it). ``clear`` empties the side.

Why four stages. Done in one cycle, the loop from the stored levels through a symbol multiplexer, a price-wide
comparator (a carry chain), the priority logic and 65-bit level multiplexers back to the storage limits the clock to
~44 MHz on an ECP5 (routed, bench/results/fmax.txt). Here every stage is at most one carry chain or one multiplexer
and a few LUT levels, and the only loop left is the decision itself:

* **fetch** (the cycle the tick is accepted, tick t): the prices and valid bits of the tick's symbol's levels, as
  stored now, are registered next to the comparators (the symbol multiplexer alone); p is compared with the prices
  of ticks t-2 and t-3 (in the decide and write stages now).
* **compare** (next cycle): p is compared with the fetched levels (``ge`` and ``gt``: two carry chains per level),
  and with tick t-1's price. The fetched levels lag: tick t-1 is being decided, tick t-2's new levels are being
  written and tick t-3's were written while the levels were fetched. The stage corrects its comparisons for tick
  t-3's and then tick t-2's update (each only if on the same symbol) and registers them.
* **decide** (the cycle after): corrects them for tick t-1's update (if on the same symbol), which gives the
  comparisons with the levels as tick t must see them, and decides how each level changes (its *source*: ``KEEP``,
  ``QTY`` (new size, same price), ``UP`` (from the level below), ``DOWN`` (from the level above), ``NEW`` (the tick),
  ``EMPTY``). This stage is the loop, and it holds no carry chain, no symbol multiplexer and no level data.
* **write** (the cycle after that): the new levels are a one-hot multiplexer of the stored neighbours, the tick, or
  empty, selected by the registered sources, and are written back. They are also ``new_levels`` (``new_valid`` high).

The corrections. An update by an earlier tick u (price q) changes p's thermometers in one of four ways only, whatever
level it touched, because ``ge``/``gt`` just count the levels at least as good as / strictly better than p:

* u inserted q: if q is at least as good as p, ``ge`` gains a level at the top (shifts down one, a one enters at
  level 0, and level N-1 falls off: the book was full and its worst level is evicted); likewise ``gt`` if q is
  strictly better than p. A worse q leaves both alone (it went below p's position, and if it evicted a level that
  level was worse still);
* u deleted a level holding q: if q is at least as good as p, ``ge`` loses a level (shifts up one, a zero enters at
  level N-1); likewise ``gt`` if q is strictly better;
* u cleared the side: both become all zero;
* anything else (a new size, a tick on another side or symbol, a trade, no tick): no change.

So each correction is a 4-way multiplexer per bit with select lines shared by the whole vector, computed from three
registered bits of u (inserted, deleted, cleared) and p's comparison with q, which is registered a cycle ahead. The
one-cycle loop is: tick t-1's registered (inserted, deleted) -> select -> shift -> decision -> tick t's (inserted,
deleted) and sources.

Storage: flip-flops, one register of N levels per symbol, reset to empty. (Small memories with asynchronous reads --
LUT RAM on an ECP5 -- took a fifth fewer LUTs and two thirds fewer flip-flops at the same fmax, but a memory has no
reset, so a reset would not empty the books; not kept, bench/results/fmax.txt.)

Ticks on the same symbol and side may come in consecutive cycles (initiation interval 1) without stalls. The tick's
symbol must be below S (the host and the frame decoder check it); the gateware does not re-check.
"""

import enum

from amaranth.hdl import Array, Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .duplicate import duplicate_signal
from .layouts import level_layout, side_layout
from .params import CoreParams

__all__ = ["BookSide"]


class Source(enum.IntEnum):
    """Where a level's new content comes from, one-hot (index = bit); ``KEEP`` when no bit is set."""
    UP = 0         # from level i + 1 (a delete above it)
    DOWN = 1       # from level i - 1 (an insert above it)
    NEW = 2        # the tick (inserted here)
    EMPTY = 3      # emptied (clear, or moved up from beyond the last level)
    QTY = 4        # same level, the tick's size


SOURCE_BITS = len(Source)


def _summary_layout():
    """What an update did, as far as the comparisons of later ticks are concerned (at most one bit is set)."""
    return data.StructLayout({"inserted": 1, "deleted": 1, "cleared": 1})


def _order_layout():
    """An earlier tick's price q compared with p: q at least as good as p (``ge``), strictly better (``gt``)."""
    return data.StructLayout({"ge": 1, "gt": 1})


def after_update(ge, gt, update, order, same):
    """``ge``, ``gt`` (N-bit thermometers) after an earlier tick's update, from those before it.

    ``update`` is that tick's summary (``_summary_layout``), ``order`` its price compared with p (``_order_layout``),
    ``same`` whether it was on p's symbol (otherwise nothing changes).
    """
    n = len(ge)
    inserted, deleted, cleared = (same & update.inserted), (same & update.deleted), (same & update.cleared)

    def shifted(vector, counts):
        down, up = inserted & counts, deleted & counts         # gains / loses a level at least as good as p
        hold = ~(down | up | cleared)
        return Cat(*((down & (vector[i - 1] if i > 0 else 1)) | (up & (vector[i + 1] if i + 1 < n else 0))
                     | (hold & vector[i]) for i in range(n)))
    return shifted(ge, order.ge), shifted(gt, order.gt)


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

    def _order(self, q, p):
        """q compared with p (``_order_layout``), as a value to register."""
        return Cat(~self._better(p, q), self._better(q, p))

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

        new = self.new_levels
        w_valid, w_symbol = duplicate_signal(name="w_valid"), duplicate_signal(p.symbol_width, name="w_symbol")
        w_here = [Signal(name=f"w_here{s}") for s in range(p.symbols)]   # the write stage holds symbol s

        # Registers, named after the stage that reads them: compare (c_), decide (d_), write (w_), and the stage
        # after the write (x_: what was written in the cycle before). In the fetch cycle of tick t, c_, d_ and w_
        # hold ticks t-1, t-2 and t-3 (or whatever took those slots: a cycle without a tick has its valid bit low).
        # The registers that hold the tick are the same in the bid and the ask side: each side keeps its own copy
        # (duplicate_signal), next to its own logic.
        reg = duplicate_signal
        c_valid, d_valid = reg(name="c_valid"), reg(name="d_valid")
        c_symbol, d_symbol = (reg(p.symbol_width, name=f"{x}_symbol") for x in "cd")
        c_price, d_price, w_price = (reg(signed(p.price_width), name=f"{x}_price") for x in "cdw")
        c_qty, d_qty, w_qty = (reg(unsigned(p.qty_width), name=f"{x}_qty") for x in "cdw")
        c_update, c_clear, c_insert = Signal(), reg(name="c_clear"), Signal()
        d_update, d_clear, d_insert = Signal(), reg(name="d_clear"), Signal()
        c_prices = [Signal(signed(p.price_width), name=f"c_price{i}") for i in range(n)]   # fetched levels
        c_valids = Signal(n)
        c_same_prev = reg(name="c_same_prev")       # tick t and tick t-1 (decided in t's compare cycle) on one symbol
        c_same_w, c_order_w = reg(name="c_same_w"), Signal(_order_layout())   # tick t-2, written in t's compare cycle
        c_same_x, c_order_x = reg(name="c_same_x"), Signal(_order_layout())   # tick t-3, written in t's fetch cycle
        d_ge, d_gt = Signal(n), Signal(n)           # against the levels after tick t-2
        d_order_prev = Signal(_order_layout())      # tick t-1's price compared with p
        d_prev = Signal(_summary_layout())          # tick t-1's update if on the same symbol, else nothing
        w_update, x_update = Signal(_summary_layout()), Signal(_summary_layout())
        w_sources = Signal(sources_layout)

        # Fetch stage -----------------------------------------------------------------------------------------------
        stored = read(self.symbol, "fetch_levels")
        m.d.sync += [
            *(c_prices[i].eq(stored[i].price) for i in range(n)),
            c_valids.eq(Cat(stored[i].valid for i in range(n))),
            c_valid.eq(self.tick_valid),
            c_symbol.eq(self.symbol),
            c_price.eq(self.price),
            c_qty.eq(self.qty),
            c_update.eq(self.update),
            c_clear.eq(self.clear),
            c_insert.eq(self.update & (self.qty != 0)),
            # Which of the ticks ahead are on this symbol, and how their prices compare with this one.
            c_same_prev.eq(self.tick_valid & c_valid & (c_symbol == self.symbol)),
            c_same_w.eq(self.tick_valid & d_valid & (d_symbol == self.symbol)),
            c_order_w.eq(self._order(d_price, self.price)),
            c_same_x.eq(self.tick_valid & w_valid & (w_symbol == self.symbol)),
            c_order_x.eq(self._order(w_price, self.price)),
        ]

        # Compare stage ---------------------------------------------------------------------------------------------
        raw_ge = Cat(c_valids[i] & ~self._better(c_price, c_prices[i]) for i in range(n))
        raw_gt = Cat(c_valids[i] & self._better(c_prices[i], c_price) for i in range(n))
        ge, gt = after_update(raw_ge, raw_gt, x_update, c_order_x, c_same_x)
        ge, gt = after_update(ge, gt, w_update, c_order_w, c_same_w)
        m.d.sync += [
            d_valid.eq(c_valid),
            d_symbol.eq(c_symbol),
            d_price.eq(c_price),
            d_qty.eq(c_qty),
            d_update.eq(c_update),
            d_clear.eq(c_clear),
            d_insert.eq(c_insert),
            d_ge.eq(ge),
            d_gt.eq(gt),
            d_order_prev.eq(self._order(d_price, c_price)),
        ]

        # Decide stage ----------------------------------------------------------------------------------------------
        ge, gt = Signal(n, name="d_ge_now"), Signal(n, name="d_gt_now")
        m.d.comb += Cat(ge, gt).eq(Cat(*after_update(d_ge, d_gt, d_prev, d_order_prev, 1)))
        better, match = ~ge, ge & ~gt
        any_match = match.any()
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
        # What this tick did, for the comparisons of the ticks after it.
        update = Signal(_summary_layout())
        m.d.comb += [
            update.inserted.eq(d_valid & d_insert & ~any_match & better[n - 1]),   # better: a thermometer
            update.deleted.eq(d_valid & d_update & ~d_insert & any_match),
            update.cleared.eq(d_valid & d_clear),
        ]
        m.d.sync += d_prev.eq(Mux(c_same_prev, update.as_value(), 0))
        m.d.sync += [
            w_valid.eq(d_valid),
            *(w_here[s].eq(d_valid & (d_symbol == s)) for s in range(p.symbols)),
            w_symbol.eq(d_symbol),
            w_price.eq(d_price),
            w_qty.eq(d_qty),
            w_sources.eq(sources),
            w_update.eq(update),
        ]

        # Write stage -----------------------------------------------------------------------------------------------
        levels = read(w_symbol, "write_levels")
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
        m.d.sync += x_update.eq(w_update)
        return m

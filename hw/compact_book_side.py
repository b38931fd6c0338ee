"""One side of S order books for small parts: one comparator, one level per cycle.

The parallel :class:`~.book_side.BookSide` compares the tick with all N levels at once and can move every level in
one cycle: 2N comparators and N wide multiplexers per side, ~4,500 LUTs for a 10-level 32-bit book, which does not
fit an iCE40 UP5K next to the rest of the engine. Over a UART a tick arrives only every ~2,000 cycles, so this
variant trades the initiation interval for area: it walks the levels best first, one per cycle, with one comparator.

Each symbol's side is a ring of N level registers that rotates by one position per step: ``ring[0]`` leaves at the
head and the value the step decides enters at the tail. After N steps every level has passed the head once, in
order, and the ring holds the updated side again, best first. The step decides from the head (the current level k),
the level behind it (k + 1) and a small mode register::

    SEARCH  match, qty > 0      -> push (price, new qty), then COPY
            match, qty = 0      -> push level k + 1 (the matched level is dropped), then UP
            better (or empty)   -> push the tick, hold level k, then HOLD        (insert; qty > 0 only)
            otherwise           -> push level k
    HOLD    push the held level, hold level k   (every level moves down one; the last held one falls off)
    UP      push level k + 1                    (every level moves up one; an empty level enters at the end)
    COPY    push level k

``clear`` pushes empty levels; a tick on the other side, or a trade, rotates the ring unchanged. The walk always
takes N steps, so the timing is fixed: a tick accepted in cycle c steps in cycles c+1 .. c+N, its updated side is on
``new_levels`` (``new_valid``) in cycle c+N, and ``busy`` is high in cycles c+1 .. c+N-1, so the next tick can be
accepted in cycle c+N (initiation interval N; ``CoreParams.tick_interval``).

Area: the ring registers, one comparator pair (better, equal), a tail multiplexer and the head/next multiplexers of
the symbol. The semantics are those of the parallel book and of the model, bit for bit.
"""

from amaranth.hdl import Array, Module, Signal, signed, unsigned
from amaranth.lib import data, enum
from amaranth.lib.wiring import Out

from .book_side import BookSide
from .layouts import level_layout
from .params import CoreParams

__all__ = ["CompactBookSide"]


class _Mode(enum.Enum, shape=2):
    SEARCH = 0
    HOLD = 1
    UP = 2
    COPY = 3


class CompactBookSide(BookSide):
    """Bids (``descending=True``) or asks of S symbols: the ports of :class:`~.book_side.BookSide` plus ``busy``."""

    @staticmethod
    def _ports(params: CoreParams) -> dict:
        return {**BookSide._ports(params), "busy": Out(1)}

    def elaborate(self, platform):
        m = Module()
        p = self._params
        n = p.levels
        level = level_layout(p)

        rings = [[Signal(level, name=f"symbol{s}_level{i}") for i in range(n)] for s in range(p.symbols)]

        # The tick being walked, latched when it is accepted.
        active = Signal()
        step = Signal(range(n))
        symbol = Signal(p.symbol_width)
        update, clear, insert = Signal(), Signal(), Signal()
        price = Signal(signed(p.price_width))
        qty = Signal(unsigned(p.qty_width))
        mode = Signal(_Mode)
        held = Signal(level)

        with m.If(active):
            m.d.sync += step.eq(step + 1)
            with m.If(step == n - 1):
                m.d.sync += active.eq(0)
        last = step == n - 1
        m.d.comb += [self.busy.eq(active & ~last), self.new_valid.eq(active & last)]

        def select(index):
            """Level ``index`` of the ring of the symbol being walked."""
            if p.symbols == 1:
                return rings[0][index]
            return data.View(level, Array(ring[index].as_value() for ring in rings)[symbol])

        head = select(0)
        behind_or_empty = Signal(level)       # level k + 1, or empty in the last step
        if n > 1:
            with m.If(~last):
                m.d.comb += behind_or_empty.eq(select(1))

        better = ~head.valid | self._better(price, head.price)
        match = head.valid & (price == head.price)

        push = Signal(level)
        m.d.comb += push.eq(head)
        with m.If(clear):
            m.d.comb += push.eq(0)
        with m.Elif(update):
            with m.Switch(mode):
                with m.Case(_Mode.SEARCH):
                    with m.If(match):
                        with m.If(insert):
                            m.d.comb += push.qty.eq(qty)
                            m.d.sync += mode.eq(_Mode.COPY)
                        with m.Else():
                            m.d.comb += push.eq(behind_or_empty)
                            m.d.sync += mode.eq(_Mode.UP)
                    with m.Elif(better & insert):
                        m.d.comb += [push.valid.eq(1), push.price.eq(price), push.qty.eq(qty)]
                        m.d.sync += [held.eq(head), mode.eq(_Mode.HOLD)]
                with m.Case(_Mode.HOLD):
                    m.d.comb += push.eq(held)
                    m.d.sync += held.eq(head)
                with m.Case(_Mode.UP):
                    m.d.comb += push.eq(behind_or_empty)

        with m.If(active):
            for s, ring in enumerate(rings):
                with m.If(symbol == s):
                    m.d.sync += [ring[i].eq(ring[i + 1]) for i in range(n - 1)]
                    m.d.sync += ring[n - 1].eq(push)

        # In the last step the ring is one push away from the updated side.
        for i, value in enumerate([select(i) for i in range(1, n)] + [push]):
            m.d.comb += self.new_levels[i].eq(value)

        # A new tick may be accepted in the last step of the previous one: latched last, so that it wins.
        with m.If(self.tick_valid):
            m.d.sync += [
                active.eq(1),
                step.eq(0),
                symbol.eq(self.symbol),
                update.eq(self.update),
                clear.eq(self.clear),
                insert.eq(self.update & (self.qty != 0)),
                price.eq(self.price),
                qty.eq(self.qty),
                mode.eq(_Mode.SEARCH),
            ]
        return m

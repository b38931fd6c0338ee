"""One side (bids or asks) of S order books: storage and an eight-stage update that takes one tick per cycle.

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

Why eight stages. Done in one cycle, the loop from the stored levels through a symbol multiplexer, a price-wide
comparator (a carry chain), the priority logic and 65-bit level multiplexers back to the storage limits the clock to
~44 MHz on an ECP5 (routed, bench/results/fmax.txt). Here every stage is one carry chain, or a few LUT levels (on an
ECP5 each costs ~1-2 ns with its routing in a design this size), and the only loop left is a 4-way multiplexer and
a few gates:

* **receive** (the cycle the tick is accepted): the tick is registered, its symbol and p once per level, so that
  the fetch's ~1300 multiplexer inputs are not all driven by one register outside the book (that route, 7.8 ns,
  was the book's critical path, bench/results/fmax.txt, and the whole board's, docs/boards.md). The tick's valid
  and ready bits are registered apart (the handshake's ready logic is deep: on the board it ran from the hedge legs'
  busy bits through the core's and the engine's handshakes).
* **fetch** (tick t): the prices and valid bits of the tick's symbol's levels, as stored now, are registered next to
  the comparators (the symbol multiplexer alone), and so is p, once per comparator.
* **compare**: p is compared with the fetched levels (``ge`` and ``gt``: two carry chains per level, in offset binary
  so that the carry out is the result) and with the prices of the six ticks ahead of it, and it is noted which of
  those are on the same symbol. The updates of t-6 and t-5 are known by now, so for them the stage registers the
  corrections themselves (below), one gate after the carry chains.
* **correct, twice**: the fetched levels lag: tick t-6 was writing its update while they were fetched and t-5 ..
  t-1 were still to be decided. The first correct stage corrects the comparisons for t-6 and t-5's updates, the
  second for t-4 and t-3's (decided by then; their summaries are registered), in that order. Beside them the first
  works out whether a level holds p (the *match bit*, ``(ge & ~gt).any()``) from the fetched levels, and both carry
  it through their corrections (below). Two stages of two corrections, not one of four: each correction is a LUT
  level or two, and the first stage also starts at the compare stage's flip-flops, at the ends of twenty carry
  chains spread over the book (three corrections in one stage, fed by those long routes, were the ULX3S-85F's
  critical path at 100.82 and 116.11 MHz, docs/boards.md).
* **anticipate**: corrects the comparisons and the match bit for t-2's update, then works them out for each of the
  four things t-1 may do to the symbol (nothing, insert, delete, clear), and registers all four.
* **decide**: t-1's update, decided in the cycle before, picks one of the four (a 4-way multiplexer: the loop), and
  the stage works out how each level changes (its *source*: ``KEEP``, ``QTY`` (new size, same price), ``UP`` (from
  the level below), ``DOWN`` (from the level above), ``NEW`` (the tick)) and what the tick did (its summary, for the
  ticks after it). It also fetches the levels the write will update: as stored, or as t-1 is writing them in this
  cycle, or empty for a clear (which then keeps them).
* **write**: each bit of the new levels is a 4-way multiplexer of the fetched level, its neighbours (empty beyond
  the ends) and the tick, its two selects encoded from the sources in the decide stage and copied per 16 bits, and
  the levels are written back. They are also ``new_levels`` (``new_valid`` high).

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
registered bits of u (inserted, deleted, cleared), whether u was on p's symbol, and p's comparison with q, all
registered a stage ahead.

The match bit. Worked out after the last correction, the 10-input OR over ``ge & ~gt`` came after the t-2 correction
and the t-1 cases: seven LUT levels, the anticipate stage's and the ULX3S-85F's critical path (119.94 MHz,
docs/boards.md). It is worked out once, from the fetched levels, and each correction changes it as
``match & keep | set``, where ``keep`` and ``set`` depend only on the update and the end bits of the thermometers
(:func:`match_after`); those of the second correction of each correct stage (t-5, t-3) are registered apart and
applied in the next stage.

Storage: flip-flops, one register per symbol and level, reset to empty. (Small memories with asynchronous reads --
LUT RAM on an ECP5 -- took a fifth fewer LUTs and two thirds fewer flip-flops at the same fmax, but a memory has no
reset, so a reset would not empty the books; not kept, bench/results/fmax.txt.) Registers that would fan out to a
whole side (p, the write stage's symbol and enables) have a copy per level.

Ticks on the same symbol and side may come in consecutive cycles (initiation interval 1) without stalls. The tick's
symbol must be below S (the host and the frame decoder check it); the gateware does not re-check.
"""

import enum

from amaranth.hdl import Array, C, Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .duplicate import duplicate_signal
from .layouts import level_layout, side_layout
from .params import CoreParams

__all__ = ["BookSide"]


class Source(enum.IntEnum):
    """Where a level's new content comes from, one-hot (index = bit); ``KEEP`` when no bit is set."""
    UP = 0         # from level i + 1 (a delete above it; the last level takes the empty level beyond it)
    DOWN = 1       # from level i - 1 (an insert above it)
    NEW = 2        # the tick (inserted here)
    QTY = 3        # same level, the tick's size


SOURCE_BITS = len(Source)


class Take(enum.IntEnum):
    """What the write stage's 4-way multiplexer of a level field takes (the decision, encoded for it)."""
    KEEP = 0       # the level itself
    UP = 1         # level i + 1
    DOWN = 2       # level i - 1
    TICK = 3       # the tick's field


def _summary_layout():
    """What an update did, as far as the comparisons of later ticks are concerned (at most one bit is set)."""
    return data.StructLayout({"inserted": 1, "deleted": 1, "cleared": 1})


def _order_layout():
    """An earlier tick's price q compared with p: q at least as good as p (``ge``), strictly better (``gt``)."""
    return data.StructLayout({"ge": 1, "gt": 1})


def _selects_layout():
    """What an earlier tick's update does to p's thermometers: ``ge`` / ``gt`` gains a level at the top
    (``down_*``: the vector shifts down) or loses one (``up_*``), or both are cleared."""
    return data.StructLayout({"down_ge": 1, "down_gt": 1, "up_ge": 1, "up_gt": 1, "cleared": 1})


def correction_selects(inserted, deleted, cleared, order):
    """The correction (``_selects_layout``) for an earlier tick's update, as a value to register or view.

    ``inserted``, ``deleted``, ``cleared``: what that tick did to p's symbol (all low if it was on another symbol);
    ``order``: its price compared with p (``_order_layout``).
    """
    return Cat(inserted & order.ge, inserted & order.gt, deleted & order.ge, deleted & order.gt, cleared)


def after_update(ge, gt, selects):
    """``ge``, ``gt`` (N-bit thermometers) after an earlier tick's update (``_selects_layout``), from those before."""
    n = len(ge)

    def shifted(vector, down, up):
        hold = ~(down | up | selects.cleared)
        return Cat(*((down & (vector[i - 1] if i > 0 else 1)) | (up & (vector[i + 1] if i + 1 < n else 0))
                     | (hold & vector[i]) for i in range(n)))
    return shifted(ge, selects.down_ge, selects.up_ge), shifted(gt, selects.down_gt, selects.up_gt)


def match_after(ge, gt, selects):
    """How the match bit (some level holds exactly p) changes with an update: ``(keep, set)``, the bit after it
    being ``match & keep | set``, from the thermometers before it (their end bits only) and the update.

    With a = the ones in ``ge`` and b = those in ``gt`` (b <= a <= b + 1: one level per price), the match bit is
    a > b, and :func:`after_update` changes the counts so: a better q inserted adds one to both, saturating at N, so
    a match is lost if a was N (``ge[N-1]``); an equal q inserted adds one to a (saturating): a match unless b is N
    (``gt[N-1]``); a better q deleted takes one off both if b > 0 (``gt[0]``), else leaves a - 1 <= 0: no match; an
    equal q deleted leaves a - 1 <= b: no match; a clear: none. tests/test_book_side.py checks this for every
    such pair of thermometers and update.
    """
    n = len(ge)
    insert_equal, delete_equal = selects.down_ge & ~selects.down_gt, selects.up_ge & ~selects.up_gt
    keep = ~(selects.cleared | insert_equal | delete_equal | (selects.down_gt & ge[n - 1])
             | (selects.up_gt & ~gt[0]))
    return keep, insert_equal & ~gt[n - 1]


class BookSide(wiring.Component):
    """Bids (``descending=True``) or asks of S symbols.

    Inputs are presented in the receive cycle: ``tick_valid`` and ``tick_ready`` (a tick is accepted now if both are
    high; they are registered apart and ANDed in the fetch stage, so that the logic behind a stream's ``ready`` ends
    at a flip-flop instead of routing into the book; ``tick_ready`` is 1 if not driven), its ``symbol``, ``price``,
    ``qty``, ``update`` (the tick is on this side) and ``clear`` (empty this side of the symbol). Six cycles later
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
            "tick_ready": In(1, init=1),
            "symbol":     In(params.symbol_width),
            "update":     In(1),
            "clear":      In(1),
            "price":      In(signed(params.price_width)),
            "qty":        In(unsigned(params.qty_width)),
            "new_valid":  Out(1),
            "new_levels": Out(side_layout(params)),
        }

    def _better(self, price, other):
        # As unsigned numbers with the sign bit flipped (offset binary), which orders them as signed numbers do: the
        # comparison is then the carry out of the chain alone (a signed one needs a few LUTs after it).
        def offset(value):
            return value.as_unsigned() ^ (1 << (len(value) - 1))
        price, other = offset(price), offset(other)
        return price > other if self._descending else price < other

    def _order(self, q, p):
        """q compared with p (``_order_layout``), as a value to register."""
        return Cat(~self._better(p, q), self._better(q, p))

    def elaborate(self, platform):
        m = Module()
        p = self._params
        n = p.levels
        level = level_layout(p)
        reg = duplicate_signal

        # Storage: one register per symbol and level. The multiplexers that read a symbol's levels are per level,
        # each with its own copy of the symbol number, so that no register fans out to a whole side.
        storage = [[Signal(level, name=f"symbol{s}_level{i}") for i in range(n)] for s in range(p.symbols)]

        def read(i, symbol):
            return Array(storage[s][i] for s in range(p.symbols))[symbol] if p.symbols > 1 else storage[0][i]

        # Registers, named after the stage that reads them: fetch (r_), compare (c_), the first and second correct
        # stage (k_, b_), anticipate (a_), decide (d_), write (w_), and the stage after the write (x_: what was
        # written a cycle before). In the fetch cycle of tick t, c_, k_, b_, a_, d_ and w_ hold ticks t-1 .. t-6 (or
        # whatever took those slots: a cycle without a tick has its valid bit low). The bid and the ask side each
        # keep their own copy (duplicate_signal), next to their own logic, and registers that fan out widely have
        # one copy per level.
        c_valid, k_valid, b_valid, a_valid, d_valid, w_valid = (reg(name=f"{x}_valid") for x in "ckbadw")
        c_symbol, k_symbol, b_symbol, a_symbol, d_symbol, w_symbol = (
            reg(p.symbol_width, name=f"{x}_symbol") for x in "ckbadw")
        c_price, k_price, b_price, a_price, d_price, w_price = (
            reg(signed(p.price_width), name=f"{x}_price") for x in "ckbadw")
        r_valid, r_ready = reg(name="r_valid"), reg(name="r_ready")
        r_update, r_clear = reg(name="r_update"), reg(name="r_clear")
        # Whether the size is non-zero, reduced as the tick arrives: the 32-input OR and c_insert's loads far apart
        # were one path (the ULX3S-25F's at seed 3 once k_selects was split).
        r_nonzero = reg(name="r_nonzero")
        r_symbol, r_price, r_qty = (reg(p.symbol_width, name="r_symbol"), reg(signed(p.price_width), name="r_price"),
                                    reg(unsigned(p.qty_width), name="r_qty"))
        r_symbol_at = [reg(p.symbol_width, name=f"r_symbol{i}") for i in range(n)]
        r_price_at = [reg(signed(p.price_width), name=f"r_price{i}") for i in range(n)]
        # p and the fetched level prices once per comparator (fanout 1: each next to its carry chain).
        c_level_price = [[reg(signed(p.price_width), name=f"c_price_{x}{i}") for x in ("ge", "gt")] for i in range(n)]
        c_prices = [[reg(signed(p.price_width), name=f"c_level{i}_price_{x}") for x in ("ge", "gt")]
                    for i in range(n)]
        c_valids = Signal(n)
        c_qty, k_qty, b_qty, a_qty, d_qty, w_qty = (reg(unsigned(p.qty_width), name=f"{x}_qty") for x in "ckbadw")
        c_update, k_update, b_update, a_update, d_update = (reg(name=f"{x}_update") for x in "ckbad")
        c_clear, k_clear, b_clear, a_clear, d_clear = (reg(name=f"{x}_clear") for x in "ckbad")
        c_insert, k_insert, b_insert, a_insert, d_insert = (reg(name=f"{x}_insert") for x in "ckbad")
        k_ge, k_gt = Signal(n, name="k_ge"), Signal(n, name="k_gt")     # against the fetched levels
        b_ge, b_gt = Signal(n, name="b_ge"), Signal(n, name="b_gt")     # against the levels after t-5
        a_ge, a_gt = Signal(n, name="a_ge"), Signal(n, name="a_gt")     # against the levels after t-3
        # Tick t against the ticks ahead of it (t-1 .. t-4): on the same symbol (and valid), and q compared with p.
        # Made in the compare stage, where the four are in the two correct stages, the anticipate and the decide
        # stage. For t-5 and t-6, whose updates are known by then (in w_update, x_update), the compare stage
        # registers the corrections themselves (``_selects_layout``; their price and symbol comparisons made a
        # stage earlier, c_order and c_same), so that the first correct stage starts from them; for t-4 the first
        # correct stage registers them for the second (its update is in w_update by then).
        k_same = [reg(name=f"k_same{j}") for j in range(1, 5)]
        k_order = [Signal(_order_layout(), name=f"k_order{j}") for j in range(1, 5)]
        k_selects = {j: Signal(_selects_layout(), name=f"k_selects{j}") for j in (5, 6)}
        # For t-5 and t-6 the fetch stage already compares their prices and symbols with p (they are then in the
        # decide and the write stage), so that the compare stage only ANDs these bits with their updates: the
        # carry chain and the long route to k_selects are no longer one path (the ULX3S-25F's critical path).
        c_order = {j: Signal(_order_layout(), name=f"c_order{j}") for j in (5, 6)}
        c_same = {j: reg(name=f"c_same{j}") for j in (5, 6)}
        b_same = [reg(name=f"b_same{j}") for j in range(1, 4)]
        b_order = [Signal(_order_layout(), name=f"b_order{j}") for j in range(1, 4)]
        b_selects4 = Signal(_selects_layout(), name="b_selects4")
        a_same = [reg(name=f"a_same{j}") for j in range(1, 3)]
        a_order = [Signal(_order_layout(), name=f"a_order{j}") for j in range(1, 3)]
        # Whether a level holds p (the match bit, ``match_after``): after t-6's update and how t-5's changes it;
        # after t-4's, and how t-3's changes it. Each stage applies the first and registers the change the second
        # makes (it depends on the levels after the first, late in the stage).
        b_match, b_keep5, b_set5 = Signal(name="b_match"), Signal(name="b_keep5"), Signal(name="b_set5")
        a_match, a_keep3, a_set3 = Signal(name="a_match"), Signal(name="a_keep3"), Signal(name="a_set3")
        # The tick's own fields, as each stage up to the decide stage holds them, handed on unchanged (``pass_on``).
        tick_fields = {
            "c": (c_valid, c_symbol, c_price, c_qty, c_update, c_clear, c_insert),
            "k": (k_valid, k_symbol, k_price, k_qty, k_update, k_clear, k_insert),
            "b": (b_valid, b_symbol, b_price, b_qty, b_update, b_clear, b_insert),
            "a": (a_valid, a_symbol, a_price, a_qty, a_update, a_clear, a_insert),
            "d": (d_valid, d_symbol, d_price, d_qty, d_update, d_clear, d_insert),
        }

        def pass_on(stage, to):
            return [dst.eq(src) for dst, src in zip(tick_fields[to], tick_fields[stage], strict=True)]
        # The comparisons after tick t-2's update and after each thing tick t-1 may do (``_CASES``), with their
        # match tests; tick t-1's update picks one (``d_prev``, a ``_CASES`` index: nothing if on another symbol).
        d_ge_if = [Signal(n, name=f"d_ge_if_{name}") for name, _ in _CASES]
        d_gt_if = [Signal(n, name=f"d_gt_if_{name}") for name, _ in _CASES]
        d_any_match_if = [Signal(name=f"d_any_match_if_{name}") for name, _ in _CASES]
        d_prev = Signal(2)
        w_update, x_update = (Signal(_summary_layout(), name=f"{x}_update") for x in "wx")
        # The decision for each level as the write stage's multiplexers take it (``Take``), for the valid bit and
        # the price, and for the size (a new size takes the tick's, the price stays); one copy per slice of at most
        # 16 bits of the level, [(first bit, end bit, select)], so that each drives few multiplexers.
        price_end = 1 + p.price_width
        w_take = [[(lo, min(lo + 16, end), reg(2, name=f"w_take{i}_{lo}"))
                   for start, end in ((0, price_end), (price_end, level.size)) for lo in range(start, end, 16)]
                  for i in range(n)]
        w_levels = Signal(side_layout(p))      # the levels the write stage updates, as stored after tick t-1
        d_symbol_at = [reg(p.symbol_width, name=f"d_symbol_at{i}") for i in range(n)]
        d_same_prev_at = [reg(name=f"d_same_prev_at{i}") for i in range(n)]
        d_clear_at = [reg(name=f"d_clear_at{i}") for i in range(n)]
        w_here = [[reg(name=f"w_here{s}_at{i}") for i in range(n)] for s in range(p.symbols)]
        new = self.new_levels

        # Receive stage: the tick's fields registered, the symbol and p once per level ---------------------------------
        m.d.sync += [
            r_valid.eq(self.tick_valid), r_ready.eq(self.tick_ready), r_symbol.eq(self.symbol),
            r_price.eq(self.price), r_qty.eq(self.qty), r_update.eq(self.update), r_clear.eq(self.clear),
            r_nonzero.eq(self.qty != 0),
            *(r_symbol_at[i].eq(self.symbol) for i in range(n)),
            *(r_price_at[i].eq(self.price) for i in range(n)),
        ]

        # Fetch stage -----------------------------------------------------------------------------------------------
        fetch_known = {5: (d_valid, d_symbol, d_price), 6: (w_valid, w_symbol, w_price)}   # t-5, t-6 now
        m.d.sync += [
            *(c_order[j].eq(self._order(price, r_price)) for j, (_, _, price) in fetch_known.items()),
            *(c_same[j].eq(r_valid & r_ready & valid & (symbol == r_symbol))
              for j, (valid, symbol, _) in fetch_known.items()),
            *(fetched.eq(read(i, r_symbol_at[i]).price) for i in range(n) for fetched in c_prices[i]),
            c_valids.eq(Cat(read(i, r_symbol_at[i]).valid for i in range(n))),
            c_valid.eq(r_valid & r_ready),
            c_symbol.eq(r_symbol),
            c_price.eq(r_price),
            *(copy.eq(r_price_at[i]) for i in range(n) for copy in c_level_price[i]),
            c_qty.eq(r_qty),
            c_update.eq(r_update),
            c_clear.eq(r_clear),
            c_insert.eq(r_update & r_nonzero),
        ]

        # Compare stage: the carry chains alone ---------------------------------------------------------------------
        def same(valid, symbol):
            return c_valid & valid & (symbol == c_symbol)
        ahead = [(k_valid, k_symbol, k_price), (b_valid, b_symbol, b_price), (a_valid, a_symbol, a_price),
                 (d_valid, d_symbol, d_price)]
        known = {5: w_update, 6: x_update}             # the updates of t-5 and t-6, now in the write stages
        m.d.sync += [
            k_ge.eq(Cat(c_valids[i] & ~self._better(c_level_price[i][0], c_prices[i][0]) for i in range(n))),
            k_gt.eq(Cat(c_valids[i] & self._better(c_prices[i][1], c_level_price[i][1]) for i in range(n))),
            *(k_order[j].eq(self._order(price, c_price)) for j, (_, _, price) in enumerate(ahead)),
            *(k_same[j].eq(same(valid, symbol)) for j, (valid, symbol, _) in enumerate(ahead)),
            *(k_selects[j].eq(_selects_of(summary, c_order[j], c_same[j])) for j, summary in known.items()),
            *pass_on("c", "k"),
        ]

        # Correct stages: the fetched levels had none of the updates of ticks t-6 .. t-1. The first stage corrects
        # for t-6 and t-5, the second for t-4 and t-3, in that order; each carries the match bit through the first of
        # its two and registers how the second changes it (``keep``, ``set``), applied by the stage after it --------
        def correct(stage, ge, gt, match, first, second):
            keep, set_ = match_after(ge, gt, first)
            match = (match & keep) | set_
            ge, gt = _named(m, after_update(ge, gt, first), f"{stage}_ge_after_first", f"{stage}_gt_after_first")
            keep, set_ = match_after(ge, gt, second)
            ge, gt = _named(m, after_update(ge, gt, second), f"{stage}_ge_after_second", f"{stage}_gt_after_second")
            return ge, gt, match, keep, set_
        ge, gt, match, keep, set_ = correct("k", k_ge, k_gt, (k_ge & ~k_gt).any(), k_selects[6], k_selects[5])
        m.d.sync += [
            b_ge.eq(ge), b_gt.eq(gt), b_match.eq(match), b_keep5.eq(keep), b_set5.eq(set_),
            b_selects4.eq(_selects_of(w_update, k_order[3], k_same[3])),
            *(b_same[j].eq(k_same[j]) for j in range(3)), *(b_order[j].eq(k_order[j]) for j in range(3)),
            *pass_on("k", "b"),
        ]
        selects3 = _selects_layout()(*_named(m, [_selects_of(w_update, b_order[2], b_same[2])], "b_selects3"))
        ge, gt, match, keep, set_ = correct("b", b_ge, b_gt, (b_match & b_keep5) | b_set5, b_selects4, selects3)
        m.d.sync += [
            a_ge.eq(ge), a_gt.eq(gt), a_match.eq(match), a_keep3.eq(keep), a_set3.eq(set_),
            *(a_same[j].eq(b_same[j]) for j in range(2)), *(a_order[j].eq(b_order[j]) for j in range(2)),
            *pass_on("b", "a"),
        ]

        # Anticipate stage: for the update of tick t-2 (now in w_update), then for each thing tick t-1 (being decided
        # now) may do, with the match bit -------------------------------------------------------------------------
        selects2 = _selects_layout()(*_named(m, [_selects_of(w_update, a_order[1], a_same[1])], "a_selects2"))
        keep2, set2 = match_after(a_ge, a_gt, selects2)
        match = (((a_match & a_keep3) | a_set3) & keep2) | set2
        ge, gt = _named(m, after_update(a_ge, a_gt, selects2), "a_ge_after2", "a_gt_after2")
        for case, (_, (inserted, deleted, cleared)) in enumerate(_CASES):
            selects = _selects_layout()(correction_selects(C(inserted), C(deleted), C(cleared), a_order[0]))
            keep, set_ = match_after(ge, gt, selects)
            ge_if, gt_if = after_update(ge, gt, selects)
            m.d.sync += [d_ge_if[case].eq(ge_if), d_gt_if[case].eq(gt_if),
                         d_any_match_if[case].eq((match & keep) | set_)]
        m.d.sync += [
            *(d_symbol_at[i].eq(a_symbol) for i in range(n)),
            *(d_same_prev_at[i].eq(a_same[0]) for i in range(n)),
            *(d_clear_at[i].eq(a_clear) for i in range(n)),
            *pass_on("a", "d"),
        ]

        # Decide stage ----------------------------------------------------------------------------------------------
        # Tick t-1's update (decided in the cycle before) picks one of the four cases worked out for it: the loop
        # from one tick's decision to the next is that 4-way multiplexer and the few gates after it.
        def pick(values):
            return Array(values)[d_prev]
        inserted_if = [d_valid & d_insert & ~d_any_match_if[case] & ~d_ge_if[case][n - 1]  # ~ge: p is better
                       for case in range(len(_CASES))]
        deleted_if = [d_valid & d_update & ~d_insert & d_any_match_if[case] for case in range(len(_CASES))]
        ge, gt, any_match = _named(m, [pick(d_ge_if), pick(d_gt_if), pick(d_any_match_if)],
                                   "d_ge", "d_gt", "d_any_match")
        better, match = ~ge, ge & ~gt
        sources = Signal(data.ArrayLayout(SOURCE_BITS, n))
        for i in range(n):
            first_better = better[i] & (~better[i - 1] if i > 0 else 1)
            with m.If(d_clear):
                pass                                   # KEEP: the levels are fetched as empty (below)
            with m.Elif(d_insert):
                m.d.comb += [
                    sources[i][Source.QTY].eq(any_match & match[i]),
                    sources[i][Source.NEW].eq(~any_match & first_better),
                    sources[i][Source.DOWN].eq((~any_match & better[i - 1]) if i > 0 else 0),
                ]
            with m.Elif(d_update):
                m.d.comb += sources[i][Source.UP].eq(any_match & (better[i] | match[i]))
        # What this tick did, for the comparisons of the ticks after it.
        update = Signal(_summary_layout())
        m.d.comb += [
            update.inserted.eq(pick(inserted_if)),
            update.deleted.eq(pick(deleted_if)),
            update.cleared.eq(d_valid & d_clear),
        ]
        m.d.sync += d_prev.eq(Mux(a_same[0], _case_of(update), _CASE_NOTHING))
        # The levels the write stage will update: as stored, or as tick t-1 writes them in this cycle; empty for a
        # clear (so that the write multiplexers need no zero).
        m.d.sync += [
            *(w_levels[i].eq(Mux(d_clear_at[i], 0, Mux(d_same_prev_at[i], new[i], read(i, d_symbol_at[i]))))
              for i in range(n)),
            *(w_here[s][i].eq(d_valid & (d_symbol_at[i] == s)) for s in range(p.symbols) for i in range(n)),
            w_valid.eq(d_valid), w_symbol.eq(d_symbol), w_price.eq(d_price), w_qty.eq(d_qty),
            *(select.eq(_take(sources[i], Source.NEW) if lo < price_end else _take(sources[i], Source.NEW, Source.QTY))
              for i in range(n) for lo, _, select in w_take[i]),
            w_update.eq(update),
        ]

        # Write stage -----------------------------------------------------------------------------------------------
        # Each bit is a 4-way multiplexer with two registered selects: one slice of an ECP5 (two LUT4 and their
        # PFUMX), no priority chain on the way to the storage.
        tick_level = Signal(level)
        m.d.comb += [tick_level.valid.eq(1), tick_level.price.eq(w_price), tick_level.qty.eq(w_qty)]
        empty = C(0, level.size)               # the level beyond the last, and above the first
        for i in range(n):
            keep, below = w_levels[i].as_value(), w_levels[i + 1].as_value() if i + 1 < n else empty
            above, tick = w_levels[i - 1].as_value() if i > 0 else empty, tick_level.as_value()
            m.d.comb += new[i].eq(Cat(
                Mux(select[1], Mux(select[0], tick[lo:hi], above[lo:hi]), Mux(select[0], below[lo:hi], keep[lo:hi]))
                for lo, hi, select in w_take[i]))
            for s in range(p.symbols):
                with m.If(w_here[s][i]):
                    m.d.sync += storage[s][i].eq(new[i])
        m.d.comb += self.new_valid.eq(w_valid)
        m.d.sync += [
            x_update.eq(w_update),
        ]
        return m


# What an earlier tick may have done to a symbol, as (inserted, deleted, cleared), in the order of their index.
_CASES = [("nothing", (0, 0, 0)), ("inserted", (1, 0, 0)), ("deleted", (0, 1, 0)), ("cleared", (0, 0, 1))]
_CASE_NOTHING = 0


def _case_of(update):
    """The ``_CASES`` index of a summary (``_summary_layout``; at most one bit set)."""
    return Cat(update.inserted | update.cleared, update.deleted | update.cleared)


def _selects_of(update, order, same):
    """:func:`correction_selects` for a summary (``_summary_layout``) of a tick on the same symbol or not."""
    return correction_selects(same & update.inserted, same & update.deleted, same & update.cleared, order)


def _named(m, values, *names):
    """Each value through a signal of that name: shared by its users (an expression used twice is built twice)."""
    signals = []
    for value, name in zip(values, names, strict=True):
        signal = Signal(len(Cat(value)), name=name)
        m.d.comb += signal.eq(value)
        signals.append(signal)
    return signals


def _take(source, *tick_sources):
    """The 2-bit select (:class:`Take`) of a level whose one-hot ``source`` is given; ``tick_sources`` take the tick."""
    tick = Cat(*(source[k] for k in tick_sources)).any()
    return Mux(tick, Take.TICK, Mux(source[Source.DOWN], Take.DOWN, Mux(source[Source.UP], Take.UP, Take.KEEP)))

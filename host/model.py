"""The bit-exact model of the hedging core.

It consumes the same command stream as the core -- ticks and register writes, in order -- and produces the same
recommendations, book snapshots and counters. The order-book rules and the hedge law of docs/numbers.md are stated
once, in :mod:`hedgegate.host.kernel`, as directly as the numbers allow and with none of the gateware's restructuring
(see ``hedgegate.hw.hedge_leg`` for that), so that the differential tests compare two independent derivations of
the same specification. The model runs that kernel as plain Python on Python integers; the backtester's fast path
runs the same kernel compiled.

The model is the reference for every simulation and the ``model`` backend of ``hedgegate replay``.
"""

import numpy as np

from ..hw.layouts import RecSide, unpack
from ..hw.params import POSITION_MAX, CoreParams
from ..hw.regmap import GlobalReg, LegReg, leg_register_shapes, leg_reset_values
from . import kernel
from .commands import Write
from .numbers import saturate
from .recommendation import Recommendation

__all__ = ["HedgeModel", "BookSideModel"]


Level = tuple[int, int]   # (price, qty)


class BookSideModel:
    """One side of every symbol's book, as the core keeps it (:func:`kernel.book_update` on Python lists).

    Parameters
    ----------
    symbols, depth : int
        S books of N levels.
    descending : bool
        True for bids (best = highest price), False for asks.
    """

    def __init__(self, symbols: int, depth: int, descending: bool, new=list):
        self.depth, self.descending = depth, descending
        self.prices = new([0] * (symbols * depth))
        self.sizes = new([0] * (symbols * depth))
        self.counts = new([0] * symbols)

    def update(self, symbol: int, price: int, qty: int):
        """Set the size at ``price`` (0 removes the level), by the book's rule."""
        kernel.book_update(self.prices, self.sizes, self.counts, symbol, self.depth, price, qty, self.descending)

    def clear(self, symbol: int):
        kernel.book_clear(self.counts, symbol)

    def levels(self, symbol: int) -> list[Level]:
        """The symbol's levels (price, qty), best first."""
        base, count = symbol * self.depth, int(self.counts[symbol])
        return [(int(p), int(q)) for p, q in zip(self.prices[base:base + count], self.sizes[base:base + count])]

    def best(self, symbol: int) -> int | None:
        """The best price, or None for an empty side."""
        return int(self.prices[symbol * self.depth]) if self.counts[symbol] else None


class HedgeModel:
    """The core as a Python object: the same command stream in, the same recommendations, books and counters out.

    Parameters
    ----------
    params : CoreParams
        The core's shape (S, N, L, widths; the latency parameters do not change what it computes).
    arrays : bool
        Keep the state in numpy int64 arrays instead of lists of Python ints, so that the compiled loops of
        :mod:`~hedgegate.host.kernel` can run on it (the fast path); the results are the same either way.

    Attributes
    ----------
    bids, asks : BookSideModel
        Every symbol's levels (``book(symbol)`` gives them as lists).
    registers : list[list[int]]
        Per leg, its register values indexed by :class:`LegReg` (``HEDGE_POSITION`` is H).
    halted : bool
    ticks_in, recs_out, limit_blocked, price_blocked : int
        The core's counters (unbounded here; the core's wrap modulo 2^32).
    """

    def __init__(self, params: CoreParams, *, arrays: bool = False):
        self.params = params
        new = (lambda values: np.array(values, dtype=np.int64)) if arrays else list
        self.bids = BookSideModel(params.symbols, params.levels, descending=True, new=new)
        self.asks = BookSideModel(params.symbols, params.levels, descending=False, new=new)
        self._shapes = leg_register_shapes(params)
        reset = leg_reset_values(params)
        # One flat list, kernel.LEG_REGISTERS values per leg, as the kernel takes them (registers[leg] is a view).
        self.regs = new([reset[LegReg(i)] for _ in range(params.legs) for i in range(kernel.LEG_REGISTERS)])
        self.counters = new([0, 0, 0, 0])
        self._recs = new([0] * (kernel.REC_FIELDS * params.legs))
        self.halted = False

    @property
    def registers(self) -> list["_LegRegisters"]:
        return [_LegRegisters(self.regs, leg * kernel.LEG_REGISTERS) for leg in range(self.params.legs)]

    ticks_in = property(lambda self: int(self.counters[kernel.TICKS_IN]))
    recs_out = property(lambda self: int(self.counters[kernel.RECS_OUT]))
    limit_blocked = property(lambda self: int(self.counters[kernel.LIMIT_COUNT]))
    price_blocked = property(lambda self: int(self.counters[kernel.PRICE_COUNT]))

    # Commands ------------------------------------------------------------------------------------------------------

    def apply(self, command):
        """Applies a :class:`Write` or a tick (any object with symbol, side, price, qty); returns recommendations."""
        if isinstance(command, Write):
            self.write(command)
            return []
        return self.tick(command.symbol, command.side, command.price, command.qty)

    def write(self, write: Write):
        """Applies a register write exactly as the core does (out-of-range leg or address: no effect)."""
        data = write.data & 0xFFFF_FFFF
        if write.addr == GlobalReg.HALT:
            self.halted = bool(data & 1)
            return
        if not 0 <= write.leg < self.params.legs or write.addr not in self._shapes:
            return
        at = write.leg * kernel.LEG_REGISTERS
        value = unpack(self._shapes[LegReg(write.addr)], data)
        if write.addr == LegReg.ADJUST_POSITION:
            kernel.adjust_position(self.regs, at, value)
        elif write.addr == LegReg.HEDGE_POSITION:
            self.regs[at + LegReg.HEDGE_POSITION] = saturate(value, POSITION_MAX)
        else:
            self.regs[at + write.addr] = value

    def tick(self, symbol: int, side: int, price: int, qty: int) -> list[Recommendation]:
        """Applies one tick; returns the recommendations it causes, in leg order."""
        if not 0 <= symbol < self.params.symbols:
            raise ValueError(f"symbol {symbol} is not below {self.params.symbols}")
        bids, asks = self.bids, self.asks
        count = kernel.apply_tick(bids.prices, bids.sizes, bids.counts, asks.prices, asks.sizes, asks.counts,
                                  self.params.levels, self.regs, self.halted, self.counters, self.params.price_min,
                                  self.params.price_max, symbol, int(side), price, qty, self._recs, 0)
        return [recommendation(self._recs, i) for i in range(count)]

    def book(self, symbol: int) -> tuple[list[Level], list[Level]]:
        """The symbol's (bids, asks), best first."""
        return self.bids.levels(symbol), self.asks.levels(symbol)


def recommendation(recs, index: int) -> Recommendation:
    """Record ``index`` of a kernel's flat recommendation buffer."""
    seq, tick, leg, side, qty, price, hedge = recs[index * kernel.REC_FIELDS:(index + 1) * kernel.REC_FIELDS]
    return Recommendation(seq=int(seq), tick=int(tick), leg=int(leg), side=RecSide(int(side)), qty=int(qty),
                          price=int(price), hedge_position=int(hedge))


class _LegRegisters:
    """One leg's registers, read and written by :class:`LegReg` (``model.registers[0][LegReg.HEDGE_POSITION]``)."""

    __slots__ = ("_regs", "_at")

    def __init__(self, regs, at):
        self._regs, self._at = regs, at

    def __getitem__(self, reg):
        return int(self._regs[self._at + reg])

    def __setitem__(self, reg, value):
        self._regs[self._at + reg] = value

    def __iter__(self):
        return (int(value) for value in self._regs[self._at:self._at + kernel.LEG_REGISTERS])

"""Data layouts of the hedging core's ports, and their packing to and from plain integers.

The same layout objects describe the gateware's structured signals (``lib.data``) and, through :func:`pack` and
:func:`unpack`, the flat bit vectors that the Verilog top level exposes (Amaranth emits struct ports as flat vectors).
The cocotb testbenches, the simulation backend and later the host driver use these functions, so the bit positions
are defined in exactly one place.
"""

import enum

from amaranth.hdl import Shape, signed, unsigned
from amaranth.lib import data

from .params import COUNTER_WIDTH, CoreParams
from .regmap import REG_ADDR_WIDTH, REG_DATA_WIDTH

__all__ = ["CommandKind", "TickSide", "RecSide", "level_layout", "side_layout", "tick_layout", "write_layout",
           "command_layout", "snapshot_layout", "rec_layout", "recs_layout", "pack", "unpack"]


class CommandKind(enum.IntEnum):
    TICK = 0
    WRITE = 1


class TickSide(enum.IntEnum):
    BID = 0
    ASK = 1
    TRADE = 2
    CLEAR = 3


class RecSide(enum.IntEnum):
    BUY = 0
    SELL = 1


def level_layout(p: CoreParams):
    """One price level. Empty levels are all-zero (``valid`` = 0), so book contents compare bit for bit."""
    return data.StructLayout({"valid": 1, "price": signed(p.price_width), "qty": unsigned(p.qty_width)})


def side_layout(p: CoreParams):
    """One side of a book, best level first."""
    return data.ArrayLayout(level_layout(p), p.levels)


def tick_layout(p: CoreParams):
    return data.StructLayout({
        "symbol": unsigned(p.symbol_width),
        "side":   unsigned(2),                # TickSide
        "price":  signed(p.price_width),
        "qty":    unsigned(p.qty_width),
    })


def write_layout(p: CoreParams):
    return data.StructLayout({
        "leg":  unsigned(4),                  # ignored by global registers
        "addr": unsigned(REG_ADDR_WIDTH),     # LegReg or GlobalReg
        "data": unsigned(REG_DATA_WIDTH),     # two's complement for signed registers
    })


def command_layout(p: CoreParams):
    """What enters the core: a tick or a register write, in one ordered stream."""
    return data.StructLayout({
        "kind": unsigned(1),                  # CommandKind
        "body": data.UnionLayout({"tick": tick_layout(p), "write": write_layout(p)}),
    })


def snapshot_layout(p: CoreParams):
    """A symbol's book right after a tick (the trace port), with the tick's symbol and side."""
    return data.StructLayout({
        "symbol": unsigned(p.symbol_width),
        "side":   unsigned(2),
        "bids":   side_layout(p),
        "asks":   side_layout(p),
    })


def rec_layout(p: CoreParams):
    """One leg's slot of a recommendation vector."""
    return data.StructLayout({
        "fire":           unsigned(1),        # this leg recommends an order on this tick
        "side":           unsigned(1),        # RecSide
        "qty":            unsigned(32),
        "price":          signed(p.price_width),
        "hedge_position": signed(32),         # H after the order
        "seq":            unsigned(COUNTER_WIDTH),
    })


def recs_layout(p: CoreParams):
    """Everything the core says about one tick's recommendations: one slot per leg, in leg order."""
    return data.StructLayout({
        "tick":      unsigned(COUNTER_WIDTH), # index of the tick (counts ticks, not writes)
        "cycle_in":  unsigned(COUNTER_WIDTH), # cycle of the tick's handshake
        "cycle_out": unsigned(COUNTER_WIDTH), # cycle the recommendation is on the output
        "legs":      data.ArrayLayout(rec_layout(p), p.legs),
    })


def pack(layout, value) -> int:
    """Packs a nested dict/list (as returned by :func:`unpack`) into the integer of ``layout``'s bits.

    Missing fields are zero. A value that does not fit its field raises ``ValueError`` (never wraps).
    """
    if isinstance(layout, data.Layout):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        raw = 0
        for key, item in items:
            field = layout[key]
            raw |= pack(field.shape, item) << field.offset
        return raw
    shape = Shape.cast(layout)
    item = int(value)
    low, high = (-(1 << (shape.width - 1)), (1 << (shape.width - 1)) - 1) if shape.signed else \
                (0, (1 << shape.width) - 1)
    if not low <= item <= high:
        raise ValueError(f"{item} does not fit {shape}")
    return item & ((1 << shape.width) - 1)


def unpack(layout, raw: int):
    """Unpacks the integer ``raw`` into nested dicts (struct/union) and lists (array) of ints."""
    if isinstance(layout, data.ArrayLayout):
        return [unpack(layout.elem_shape, raw >> field.offset) for _, field in layout]
    if isinstance(layout, data.Layout):
        return {name: unpack(field.shape, raw >> field.offset) for name, field in layout}
    shape = Shape.cast(layout)
    item = raw & ((1 << shape.width) - 1)
    if shape.signed and item >> (shape.width - 1):
        item -= 1 << shape.width
    return item


class SideCodec:
    """Fast conversion between a book side as a list of (price, qty), best first, and its ``side_layout`` bits.

    :func:`pack` and :func:`unpack` walk the layout on every call; the testbenches convert two sides per simulated
    cycle, so this does the same with offsets computed once.
    """

    def __init__(self, params: CoreParams):
        level = level_layout(params)
        self._depth = params.levels
        self._size = level.size
        self._price_at, self._qty_at = level["price"].offset, level["qty"].offset
        self._valid = 1 << level["valid"].offset
        self._price_width, self._qty_width = params.price_width, params.qty_width

    def pack(self, levels) -> int:
        raw = 0
        price_mask = (1 << self._price_width) - 1
        for index, (price, qty) in enumerate(levels):
            raw |= (self._valid | ((price & price_mask) << self._price_at) | (qty << self._qty_at)) \
                << (index * self._size)
        return raw

    def unpack(self, raw: int) -> list[tuple[int, int]]:
        levels = []
        level_mask, price_sign = (1 << self._size) - 1, 1 << (self._price_width - 1)
        for _ in range(self._depth):
            level = raw & level_mask
            if not level & self._valid:
                break
            price = (level >> self._price_at) & ((1 << self._price_width) - 1)
            levels.append((price - 2 * (price & price_sign), (level >> self._qty_at) & ((1 << self._qty_width) - 1)))
            raw >>= self._size
        return levels

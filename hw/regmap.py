"""Register map of the hedging core.

A register write is a command in the same stream as the ticks, so it takes effect exactly between the tick before
it and the tick after it (the core drains its pipeline before applying a write; see docs/architecture.md). Writes
that arrive together with no tick between them are therefore atomic with respect to ticks.

Each leg has its own copy of the leg registers; global registers ignore the leg field.

The board's status registers (with the design's identity) (read over the serial link with READ frames, docs/protocol.md) are here too, so that
the gateware (``status_registers.py``, ``core_status.py``) and the host (``hedgegate.host.protocol``) take the
whole register map from one place.
"""

import enum


class LegReg(enum.IntEnum):
    ENABLED = 0          # 1 bit: the leg evaluates ticks
    SYMBOL = 1           # which book the leg watches (< S)
    POSITION = 2         # P, int32: the exposure to hedge
    HEDGE_POSITION = 3   # H, int32 (|H| <= 2^31-1): sets the hedge position
    HEDGE_RATIO = 4      # h, Q16.16
    ALT_HEDGE_RATIO = 5  # h_alt, Q16.16, used when mid is outside the band
    BAND_LO = 6          # price
    BAND_HI = 7          # price
    GAMMA = 8            # g, Q0.32 per milli-unit of price
    ANCHOR = 9           # A, price
    THRESHOLD_BPS = 10   # uint16
    MIN_QTY = 11         # uint32, >= 1
    MAX_ORDER_QTY = 12   # uint32, >= 1
    POSITION_LIMIT = 13  # 0 .. 2^31-1
    SLIPPAGE = 14        # price units, >= 0
    ADJUST_POSITION = 15 # write-only: H = sat(H + value) (signed fill correction)


class GlobalReg(enum.IntEnum):
    WATCHDOG = 30        # board only (hw/serial_engine.py): cycles without a good frame before the engine halts; 0 = off
    HALT = 31            # 1 bit: kill switch, no recommendation while set


class StatusReg(enum.IntEnum):
    """Status register addresses for READ (u32 counters wrap modulo 2^32); see docs/protocol.md."""
    MAGIC = 0
    TICKS_IN = 1
    RECS_OUT = 2
    LIMIT_BLOCKED = 3
    PRICE_BLOCKED = 4
    FRAME_ERRORS = 5
    CRC_ERRORS = 6
    UART_ERRORS = 7
    REC_OVERFLOW = 8
    SEQ_GAPS = 9
    HALTED = 10
    WATCHDOG_TRIPS = 11


class IdentityReg(enum.IntEnum):
    """Status addresses of the design's identity (constants; hw/identity.py): what the host checks before it
    streams, and ``hedgegate status`` prints. VARIANT: bit 0 compact_book, bit 1 compact_leg."""
    SYMBOLS = 32
    LEVELS = 33
    LEGS = 34
    PRICE_WIDTH = 35
    QTY_WIDTH = 36
    MUL_LATENCY = 37
    VARIANT = 38
    LATENCY = 39         # the core's latency in its cycles, tick handshake to recommendation (CoreParams.latency)
    DESIGN_HASH = 40     # 32 bits of SHA-256 over the core's parameters and the gateware's source (hw/*.py)


MAGIC = 0x48474701          # "HGG", protocol version 1; READ of address 0 and the answer to PING
HEDGE_POSITION_BASE = 16    # status address 16 + leg: the leg's hedge position H (i32)

REG_ADDR_WIDTH = 5
REG_DATA_WIDTH = 32


def leg_register_shapes(params):
    """Shape each leg register stores (a write keeps the low bits of the 32-bit data, sign-extended if signed)."""
    from amaranth.hdl import signed, unsigned
    price = signed(params.price_width)
    return {
        LegReg.ENABLED:         unsigned(1),
        LegReg.SYMBOL:          unsigned(params.symbol_width),
        LegReg.POSITION:        signed(32),
        LegReg.HEDGE_POSITION:  signed(32),
        LegReg.HEDGE_RATIO:     signed(32),
        LegReg.ALT_HEDGE_RATIO: signed(32),
        LegReg.BAND_LO:         price,
        LegReg.BAND_HI:         price,
        LegReg.GAMMA:           signed(32),
        LegReg.ANCHOR:          price,
        LegReg.THRESHOLD_BPS:   unsigned(16),
        LegReg.MIN_QTY:         unsigned(32),
        LegReg.MAX_ORDER_QTY:   unsigned(32),
        LegReg.POSITION_LIMIT:  unsigned(31),
        LegReg.SLIPPAGE:        unsigned(params.price_width - 1),
        LegReg.ADJUST_POSITION: signed(32),
    }


def leg_reset_values(params):
    """Register values after reset: the config defaults, but disabled until the host enables the leg."""
    return {
        LegReg.ENABLED:         0,
        LegReg.SYMBOL:          0,
        LegReg.POSITION:        0,
        LegReg.HEDGE_POSITION:  0,
        LegReg.HEDGE_RATIO:     1 << 16,
        LegReg.ALT_HEDGE_RATIO: 1 << 16,
        LegReg.BAND_LO:         params.price_min,
        LegReg.BAND_HI:         params.price_max,
        LegReg.GAMMA:           0,
        LegReg.ANCHOR:          0,
        LegReg.THRESHOLD_BPS:   0,
        LegReg.MIN_QTY:         1,
        LegReg.MAX_ORDER_QTY:   (1 << 31) - 1,
        LegReg.POSITION_LIMIT:  (1 << 31) - 1,
        LegReg.SLIPPAGE:        0,
        LegReg.ADJUST_POSITION: 0,
    }

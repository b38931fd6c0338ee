"""Elaboration parameters of the hedging core, shared by the gateware, the model and the host.

Every width the core uses is derived here, so that the gateware, the bit-exact model and the host's range checks
cannot disagree about what fits.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class CoreParams:
    """Shape of one hedging core.

    symbols      -- S, number of order books (one per symbol).
    levels       -- N, price levels kept per side of each book.
    legs         -- L, number of hedge legs (each watches one symbol); 0 is allowed.
    price_width  -- signed width of prices (milli-units); 32 by default, narrower for small parts.
    qty_width    -- unsigned width of book sizes and order quantities.
    mul_latency  -- pipeline registers per wide multiply (1 or more); trades fmax for latency.
    compact_book -- walk the book one level per cycle with one comparator per side (hw/compact_book_side.py)
                    instead of updating all levels at once: far smaller, but a tick every ``levels`` cycles only.
    compact_leg  -- compute each leg's hedge law in a fixed sequence of cycles on one 16 x 16 multiplier
                    (hw/compact_hedge_leg.py) instead of the pipelined HedgeLeg: far smaller, but the core then
                    takes a tick only when the previous one is out (``tick_interval`` = ``latency``).
    """
    symbols: int = 4
    levels: int = 10
    legs: int = 2
    price_width: int = 32
    qty_width: int = 32
    mul_latency: int = 1
    compact_book: bool = False
    compact_leg: bool = False

    def __post_init__(self):
        if self.symbols < 1:
            raise ValueError(f"symbols must be >= 1, not {self.symbols}")
        if self.levels < 1:
            raise ValueError(f"levels must be >= 1, not {self.levels}")
        if not 0 <= self.legs <= 16:
            raise ValueError(f"legs must be between 0 and 16, not {self.legs}")
        if not 8 <= self.price_width <= 32:
            raise ValueError(f"price_width must be between 8 and 32, not {self.price_width}")
        if not 8 <= self.qty_width <= 32:
            raise ValueError(f"qty_width must be between 8 and 32, not {self.qty_width}")
        if self.mul_latency < 1:
            raise ValueError(f"mul_latency must be >= 1, not {self.mul_latency}")

    # Field widths ------------------------------------------------------------------------------------------------

    @property
    def symbol_width(self) -> int:
        return max(1, (self.symbols - 1).bit_length())

    @property
    def leg_width(self) -> int:
        return max(1, (self.legs - 1).bit_length())

    # Value ranges (inclusive) ------------------------------------------------------------------------------------

    @property
    def price_min(self) -> int:
        return -(1 << (self.price_width - 1))

    @property
    def price_max(self) -> int:
        return (1 << (self.price_width - 1)) - 1

    @property
    def qty_max(self) -> int:
        return (1 << self.qty_width) - 1

    # Pipeline timing ---------------------------------------------------------------------------------------------

    @property
    def tick_interval(self) -> int:
        """Cycles from one tick's handshake to the earliest next one (1: a tick on every cycle).

        The compact leg holds one tick at a time (its sequencer and its intermediate registers), so with it the next
        tick is accepted only in the cycle the previous one's recommendations are out.
        """
        if self.compact_leg:
            return self.latency
        return self.levels if self.compact_book else 1

    @property
    def trace_latency(self) -> int:
        """Cycles from a tick's handshake to its book snapshot (trace port; the legs' stage s0).

        Parallel book: receive (handshake cycle), fetch, compare, two correct stages, anticipate, decide, write,
        snapshot. Compact book: N steps, then the snapshot.
        """
        return self.levels + 1 if self.compact_book else 8

    @property
    def latency(self) -> int:
        """Cycles from a tick's handshake to its recommendations on the output (fixed for every tick).

        book (``trace_latency``: 8, or N + 1 for the compact book) + eligibility/prices/mid - A/band (1)
        + gamma product, r_eff (1 + M) + exposure product (1 + M) + T's range tests (1) + threshold product, Qt (M)
        + bounds with Qt (1) + position loop (1),
        with M = mul_latency; see docs/architecture.md for the stage-by-stage table.
        With the compact leg the leg's part is ``leg_latency`` instead (a fixed count of sequencer steps).
        """
        return self.trace_latency + self.leg_latency

    @property
    def leg_latency(self) -> int:
        """Cycles from the book snapshot (the legs' stage s0) to the recommendations: 6 + 3 x mul_latency for the
        pipelined leg; for the compact leg the length of its schedule (``compact_hedge_leg.leg_latency``)."""
        if self.compact_leg:
            from .compact_hedge_leg import leg_latency     # the schedule is built from the widths; cached there
            return leg_latency(self)
        return 6 + 3 * self.mul_latency


# Fixed-point and integer formats shared by every backend.
POSITION_MAX = (1 << 31) - 1          # target, H and positions saturate to +-POSITION_MAX
INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1
UINT32_MAX = (1 << 32) - 1
RATIO_FRAC_BITS = 16                  # hedge ratios: signed Q16.16 in 32 bits
GAMMA_FRAC_BITS = 32                  # gamma: signed Q0.32 ratio per milli-unit of price
THRESHOLD_BPS_MAX = (1 << 16) - 1     # threshold_bps register is 16 bits wide
THRESHOLD_RECIP_SHIFT = 45            # see hw/threshold_divider.py: exact floor(|T|*bps/10000)
COUNTER_WIDTH = 32                    # tick index, cycle stamps, sequence numbers (modulo 2^32, host unwraps)

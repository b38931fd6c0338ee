"""Turns a threshold in basis points into the reciprocal the hedge law multiplies by.

The hedge law needs ``floor(|T| * bps / 10000)`` for |T| < 2^31 on every tick. Instead of dividing per tick, a write
of ``threshold_bps`` computes once

    c = ceil(bps * 2^45 / 10000)                    (48 bits for bps < 2^16)

and the pipeline then takes ``floor(|T| * c / 2^45)``, which equals ``floor(|T| * bps / 10000)`` exactly: with
``c * 10000 = bps * 2^45 + e`` and ``0 <= e < 10000 < 2^14``, the product exceeds ``|T| * bps / 10000`` by
``|T| * e / (10000 * 2^45) < 1/10000``, less than the distance from any non-integer ``|T| * bps / 10000`` (a multiple of
1/10000) to the next integer.

The division is a restoring long division, one quotient bit per cycle, of ``bps * 2^45 + 9999`` by 10000: 61 cycles,
during which ``busy`` is high (the core accepts no command while any divider is busy).
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .params import THRESHOLD_RECIP_SHIFT

__all__ = ["ThresholdDivider", "threshold_recip"]

_DIVISOR = 10000
_BPS_WIDTH = 16
_RECIP_WIDTH = _BPS_WIDTH + THRESHOLD_RECIP_SHIFT - 13   # bps * 2^45 / 10000 < 2^16 * 2^45 / 2^13
_NUMERATOR_WIDTH = _BPS_WIDTH + THRESHOLD_RECIP_SHIFT


def threshold_recip(bps: int) -> int:
    """The value the divider computes, for the host and the tests: ``ceil(bps * 2^45 / 10000)``."""
    return -(-(bps << THRESHOLD_RECIP_SHIFT) // _DIVISOR)


class ThresholdDivider(wiring.Component):
    """Computes ``threshold_recip(bps)`` by long division after ``start`` (61 cycles; see the module docstring).

    Attributes
    ----------
    start : Signal
        Starts a division of ``bps``.
    bps : Signal(16)
        The threshold in basis points, read with ``start``.
    busy, finishing : Signal
        High during the division; ``finishing`` in its last cycle.
    recip : Signal
        The reciprocal, valid once ``busy`` is low.
    """

    recip_width = _RECIP_WIDTH

    start: In(1)
    bps:   In(_BPS_WIDTH)
    busy:  Out(1)
    finishing: Out(1)      # the last cycle of busy
    recip: Out(_RECIP_WIDTH)

    def elaborate(self, platform):
        m = Module()
        numerator = Signal(_NUMERATOR_WIDTH)      # shifted out MSB first
        remainder = Signal(range(_DIVISOR))
        count = Signal(range(_NUMERATOR_WIDTH + 1))
        quotient = Signal(_RECIP_WIDTH)
        last = Signal()

        partial = Cat(numerator[-1], remainder)   # remainder * 2 + next numerator bit
        fits = partial >= _DIVISOR
        with m.If(self.start):
            m.d.sync += [
                numerator.eq(Cat(Const(_DIVISOR - 1, THRESHOLD_RECIP_SHIFT), self.bps)),
                remainder.eq(0),
                quotient.eq(0),
                count.eq(_NUMERATOR_WIDTH),
                last.eq(0),
                self.busy.eq(1),
            ]
        # The steps are enabled by `busy` (high exactly while count != 0) and the last one by `last` (count == 1),
        # both flip-flops: decodes of `count` routed to the ~100 enables were a critical path (ULX3S-85F, seed 2).
        with m.Elif(self.busy):
            m.d.sync += [
                numerator.eq(numerator << 1),
                remainder.eq(Mux(fits, partial - _DIVISOR, partial)),
                quotient.eq(Cat(fits, quotient)),
                count.eq(count - 1),
                last.eq(count == 2),
            ]
            with m.If(last):
                m.d.sync += [self.busy.eq(0), self.recip.eq(Cat(fits, quotient))]
        m.d.comb += self.finishing.eq(last)
        return m

"""A pipelined multiplier with a fixed latency, split into DSP-sized partial products.

The product is exact and full width (``a.width + b.width`` bits, signed if either operand is). ``latency`` is the
number of clock cycles from the operands to ``p`` and sets how the work is spread:

* 1: the whole product in one cycle (smallest, slowest);
* 2: operands registered, then the product (Yosys absorbs both registers into the DSP blocks for narrow operands);
* 3 or more: operands registered; every partial product of 17-bit digits registered (each fits one 18x18 DSP
  block: ``MULT18X18D`` on ECP5, ``SB_MAC16`` on iCE40 after Yosys splits it further); then an adder tree summing
  the shifted partial products, its levels spread evenly over the remaining ``latency - 2`` stages.

Lower digits are unsigned 17-bit slices and the top digit of a signed operand is signed, so every partial product
is a product of at most 18-bit signed values and the sum is the two's complement product. Raising ``latency``
raises fmax and the core's fixed latency together (``CoreParams.mul_latency``).
"""

from amaranth.hdl import Module, Shape, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["Multiplier"]

_DIGIT = 17


def _digits(value, shape: Shape):
    """(digit, shift) pairs whose weighted sum is ``value``: unsigned 17-bit digits, the top one signed if needed."""
    digits = []
    for low in range(0, shape.width, _DIGIT):
        digit = value[low:low + _DIGIT]
        if shape.signed and low + _DIGIT >= shape.width:
            digit = digit.as_signed()
        digits.append((digit, low))
    return digits


def _pair_up(terms):
    """One level of the adder tree: sums neighbouring (value, shift) terms, keeping the smaller shift."""
    paired = []
    for (x, sx), (y, sy) in zip(terms[0::2], terms[1::2]):
        low = min(sx, sy)
        paired.append(((x << (sx - low)) + (y << (sy - low)), low))
    if len(terms) % 2:
        paired.append(terms[-1])
    return paired


class Multiplier(wiring.Component):
    def __init__(self, a_shape, b_shape, *, latency: int = 1):
        a_shape, b_shape = Shape.cast(a_shape), Shape.cast(b_shape)
        if latency < 1:
            raise ValueError(f"latency must be >= 1, not {latency}")
        self._latency = latency
        self._a_shape, self._b_shape = a_shape, b_shape
        product = Shape(a_shape.width + b_shape.width, a_shape.signed or b_shape.signed)
        super().__init__({"a": In(a_shape), "b": In(b_shape), "p": Out(product)})

    @property
    def latency(self) -> int:
        return self._latency

    def elaborate(self, platform):
        m = Module()
        stages = self._latency

        def register(value, name):
            out = Signal(value.shape(), name=name)
            m.d.sync += out.eq(value)
            return out

        a, b = self.a, self.b
        if stages >= 2:
            a, b = register(a, "a_q"), register(b, "b_q")
            stages -= 1
        if stages == 1:
            m.d.sync += self.p.eq(a * b)
            return m

        # Partial products, registered (one stage), then the adder tree over the remaining stages.
        terms = [(register(da * db, f"pp_{sa}_{sb}"), sa + sb)
                 for da, sa in _digits(a, self._a_shape) for db, sb in _digits(b, self._b_shape)]
        stages -= 1
        levels_per_stage = -(-max(1, (len(terms) - 1).bit_length()) // stages)
        for stage in range(stages):
            for _ in range(levels_per_stage):
                terms = _pair_up(terms)
            if stage == stages - 1:
                (value, shift), = terms
                m.d.sync += self.p.eq(value << shift)
            else:
                terms = [(register(value, f"sum{stage}_{i}"), shift) for i, (value, shift) in enumerate(terms)]
        return m

"""A pipelined multiplier with a fixed latency.

The operands are taken from the caller's registers and the full-width product (``a.width + b.width`` bits, signed if
either operand is) is registered ``latency`` times. With ``latency`` >= 2 the operands are registered first, the shape
Yosys maps onto DSP blocks with input and output registers (``MULT18X18D`` on ECP5, ``SB_MAC16`` on iCE40); wider
products are split into several DSP tiles by Yosys. Raising ``latency`` raises fmax and the core's fixed latency
together (see ``CoreParams.mul_latency``).
"""

from amaranth.hdl import Module, Shape, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["Multiplier"]


class Multiplier(wiring.Component):
    def __init__(self, a_shape, b_shape, *, latency: int = 1):
        a_shape, b_shape = Shape.cast(a_shape), Shape.cast(b_shape)
        if latency < 1:
            raise ValueError(f"latency must be >= 1, not {latency}")
        self._latency = latency
        product = Shape(a_shape.width + b_shape.width, a_shape.signed or b_shape.signed)
        super().__init__({"a": In(a_shape), "b": In(b_shape), "p": Out(product)})

    @property
    def latency(self) -> int:
        return self._latency

    def elaborate(self, platform):
        m = Module()
        a, b = self.a, self.b
        stages = self._latency
        if stages >= 2:
            a, b = Signal.like(self.a, name="a_q"), Signal.like(self.b, name="b_q")
            m.d.sync += [a.eq(self.a), b.eq(self.b)]
            stages -= 1
        product = a * b
        for i in range(stages):
            stage = Signal(self.p.shape(), name=f"p_q{i}") if i < stages - 1 else self.p
            m.d.sync += stage.eq(product)
            product = stage
        return m

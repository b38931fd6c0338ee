"""A pipelined exact multiplier with an addend, built from 18x18 partial products.

``p = a * b + addend``, exact and full width (signed if any input is). ``latency`` (>= 1) is the number of register
stages between ``a``, ``b`` and ``p``; ``p`` itself is combinational -- the output of the final carry chain -- so the
consumer registers it, typically as the operand register of the next multiplier or of its own next stage. ``addend``
is read one cycle after its ``a`` and ``b`` (in the first stage after the operand register), so that it may depend on
something computed in the same cycle as the operands. Optionally, ``override`` replaces the result by
``override_value``; both are read ``override_delay`` cycles after ``a`` and ``b`` (in the stage of the 3:2 level), so
that a decision that is slow to make need not hold up the operands.

Stages:

1. ``a`` and ``b`` are registered (the operand register). On ECP5 (``platform.family == "ecp5"``) these are the input
   registers of the ``MULT18X18D`` blocks; elsewhere flip-flops in front of whatever the tools make of ``*``.
2. Partial products of 17-bit digits (lower digits unsigned, a signed operand's top digit signed: each a product of
   at most 18-bit signed values, one 18x18 DSP block) and, in the same cycle, one level of column compression: every
   bit column of the partial products and the addend is counted into at most three bits of weight 1, 2 and 4, which
   makes three rows (two if no column is more than 3 bits high). A signed term enters as its bits with the top one
   inverted, minus a constant (all constants summed into one), so no bit is repeated across columns. Columns of at
   most 4 variable bits keep each count one LUT deep (the shapes the hedge leg uses). On ECP5 the DSP's combinational
   output feeds this level directly (the input registers hold the operands), so there is no carry chain in this
   stage.
3. A 3:2 carry-save level to two rows and one carry chain, which is ``p``.

``latency`` 1 puts everything after the operand register into one cycle (small and slow); 2 registers the three
rows; 3 also registers the two rows in front of the carry chain; more than 3 adds plain registers in front of the
carry chain (no faster than 3). On ECP5, latency 3 and more instead use the DSP blocks' output registers for the
second register stage (the partial products, registered inside the block, then compressed in stage 3 and added in
stage 4), so that the route from a DSP block to the fabric, which nextpnr may make long in a full design, starts at a
register rather than after the multiply; the addend and the override then wait a cycle in flip-flops so that the
interface (when each input is read) is the same on every path. Raising ``latency`` raises fmax and the core's fixed
latency together (``CoreParams.mul_latency``; docs/architecture.md has the measured figures).
"""

from amaranth.hdl import C, ClockSignal, Const, Instance, Module, Mux, Shape, Signal, signed, unsigned
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


def _full_add(x, y, z):
    return x ^ y ^ z, (x & y) | (x & z) | (y & z)


def _reduce_column(bits):
    """Full (and, for a last pair, half) adders over bits of one weight: (the remaining bit or None, the carries,
    which have twice the weight)."""
    bits, carries = list(bits), []
    while len(bits) > 1:
        if len(bits) == 2:
            x, y = bits.pop(), bits.pop()
            bits.append(x ^ y)
            carries.append(x & y)
        else:
            s, c = _full_add(bits.pop(), bits.pop(), bits.pop())
            bits.append(s)
            carries.append(c)
    return (bits or [None])[0], carries


def _count(bits):
    """The number of set bits among ``bits`` (at most 7) as (weight 1, weight 2, weight 4) bits, built from full
    adders so that it stays logic (each output is one LUT of its column's bits) rather than becoming an adder."""
    ones, twos = _reduce_column(bits)
    twos, fours = _reduce_column(twos)
    if len(fours) > 1:
        raise ValueError("a column of more than 7 bits")
    return ones, twos, (fours or [None])[0]


class Multiplier(wiring.Component):
    """``p = a * b + addend``, exact, in ``latency`` register stages (see the module docstring).

    Parameters
    ----------
    a_shape, b_shape : ShapeLike
        The operands.
    latency : int
        Register stages from ``a`` and ``b`` to ``p`` (>= 1).
    addend_shape : ShapeLike or None
        With an addend (read a cycle after the operands).
    override_shape : ShapeLike or None
        With ``override``/``override_value`` (replacing the result).

    Attributes
    ----------
    a, b : Signal
        Operands.
    addend : Signal
        Added to the product (with ``addend_shape``).
    p : Signal
        The product, full width, combinational from the last stage.
    """

    def __init__(self, a_shape, b_shape, *, latency: int = 1, addend_shape=None, override_shape=None):
        a_shape, b_shape = Shape.cast(a_shape), Shape.cast(b_shape)
        if latency < 1:
            raise ValueError(f"latency must be >= 1, not {latency}")
        self._latency = latency
        self._a_shape, self._b_shape = a_shape, b_shape
        self._addend_shape = Shape.cast(addend_shape) if addend_shape is not None else None
        is_signed = a_shape.signed or b_shape.signed
        width = a_shape.width + b_shape.width
        members = {"a": In(a_shape), "b": In(b_shape)}
        if self._addend_shape is not None:
            is_signed = is_signed or self._addend_shape.signed
            width = max(width, self._addend_shape.width + (is_signed and not self._addend_shape.signed)) + 1
            members["addend"] = In(self._addend_shape)
        if override_shape is not None:
            members["override"] = In(1)
            members["override_value"] = In(override_shape)
        self._override = override_shape is not None
        members["p"] = Out(Shape(width, is_signed))
        super().__init__(members)

    @property
    def latency(self) -> int:
        return self._latency

    @property
    def override_delay(self) -> int:
        """Cycles after its ``a`` and ``b`` at which ``override`` and ``override_value`` are read."""
        return 1 if self._latency == 1 else 2

    def elaborate(self, platform):
        m = Module()
        ecp5 = getattr(platform, "family", None) == "ecp5"
        width = len(self.p)

        def register(value, name, shape=None):
            out = Signal(shape if shape is not None else value.shape(), name=name)
            m.d.sync += out.eq(value)
            return out

        # Stages 1 and 2: operand register, partial products. -----------------------------------------------------
        a, b = self.a, self.b
        if not ecp5:
            a, b = register(a, "a_q"), register(b, "b_q")
        # From latency 3 on, ECP5 registers the products in the DSP blocks' output registers: the long route from a
        # block to the fabric then starts at a register instead of after the multiply. The addend and the override,
        # read in the cycle after that register's input, wait one cycle for it.
        dsp_output = ecp5 and self._latency >= 3
        stages = self._latency - 1 - dsp_output
        addend = self.addend if self._addend_shape is not None else None
        override = (self.override, self.override_value) if self._override else None
        if dsp_output:
            if addend is not None:
                addend = register(addend, "addend_q")
            if override is not None:
                override = (register(override[0], "override_q"), register(override[1], "override_value_q"))
        terms = []
        for da, sa in _digits(a, self._a_shape):
            for db, sb in _digits(b, self._b_shape):
                name = f"pp_{sa}_{sb}"
                product_shape = Shape(len(da) + len(db), da.shape().signed or db.shape().signed)
                if ecp5:
                    product = self._ecp5_product(m, name, da, db, product_shape, output_register=dsp_output)
                else:
                    product = Signal(product_shape, name=name)
                    m.d.comb += product.eq(da * db)
                terms.append((product, sa + sb))
        if addend is not None:
            terms.append((addend, 0))

        # Stage 2: one level of column compression into three rows (mod 2^width, which is exact: p fits). ----------
        # A signed term is its bits with the top one inverted, minus 2^(its top position): no sign extension, so
        # no bit of a DSP block's output drives more than one column; the constants are summed into one.
        columns = [[] for _ in range(width)]
        constant = 0
        for value, shift in terms:
            top = len(value) - 1
            for index in range(len(value)):
                if shift + index < width:
                    bit = value[index]
                    columns[shift + index].append(~bit if value.shape().signed and index == top else bit)
            if value.shape().signed:
                constant -= 1 << (shift + top)
        constant %= 1 << width
        for column in range(width):
            if constant >> column & 1:
                columns[column].append(C(1, 1))
        rows = [[C(0, 1)] * width for _ in range(3)]
        for column, bits in enumerate(columns):
            for weight, bit in enumerate(_count(bits)):
                if bit is not None and column + weight < width:
                    rows[weight][column + weight] = bit
        if all(isinstance(bit, Const) for bit in rows[2]):
            rows = rows[:2]                     # no column was more than 3 high: two rows, no 3:2 level below
        rows = [self._cat(m, row, f"row{i}") for i, row in enumerate(rows)]
        if stages:
            rows = [register(row, f"row{i}_q") for i, row in enumerate(rows)]
            stages -= 1

        # Stage 3: 3:2 carry-save level, then the carry chain. ------------------------------------------------------
        if override is not None:
            select, value = override[0], Signal(width, name="override_row")
            m.d.comb += value.eq(override[1])                  # sign- or zero-extended to the product's width
            rows = [Mux(select, value, rows[0])] + [row & ~select.replicate(width) for row in rows[1:]]
        if len(rows) == 3:
            sum_row, carry_row = _full_add(*rows)
            sum_row, carry_row = sum_row[:width], (carry_row << 1)[:width]
        else:
            sum_row, carry_row = rows
        for stage in range(stages):
            sum_row = register(sum_row, f"sum_q{stage}", unsigned(width))
            carry_row = register(carry_row, f"carry_q{stage}", unsigned(width))
        m.d.comb += self.p.eq((sum_row + carry_row)[:width])
        return m

    @staticmethod
    def _cat(m, bits, name):
        row = Signal(len(bits), name=name)
        for index, bit in enumerate(bits):
            m.d.comb += row[index].eq(bit)
        return row

    @staticmethod
    def _ecp5_product(m, name, da, db, product_shape, *, output_register):
        """One MULT18X18D with its input registers on (REG_INPUTA/B_CLK = CLK0): the operands are registered
        inside the block; the product leaves it combinationally, or from its output register (REG_OUTPUT_CLK =
        CLK0, one cycle later) if ``output_register``."""
        a18, b18 = Signal(signed(18), name=f"{name}_a"), Signal(signed(18), name=f"{name}_b")
        m.d.comb += [a18.eq(da), b18.eq(db)]      # sign- or zero-extended by the digit's own signedness
        product = Signal(36, name=f"{name}_p")
        ports = {f"i_A{i}": a18[i] for i in range(18)}
        ports.update({f"i_B{i}": b18[i] for i in range(18)})
        ports.update({f"i_C{i}": C(0, 1) for i in range(18)})
        ports.update({f"o_P{i}": product[i] for i in range(36)})
        m.submodules[name] = Instance(
            "MULT18X18D",
            p_REG_INPUTA_CLK="CLK0", p_REG_INPUTA_CE="CE0", p_REG_INPUTA_RST="RST0",
            p_REG_INPUTB_CLK="CLK0", p_REG_INPUTB_CE="CE0", p_REG_INPUTB_RST="RST0",
            p_REG_INPUTC_CLK="NONE", p_REG_PIPELINE_CLK="NONE",
            p_REG_OUTPUT_CLK="CLK0" if output_register else "NONE", p_REG_OUTPUT_CE="CE0", p_REG_OUTPUT_RST="RST0",
            p_CLK0_DIV="ENABLED", p_CLK1_DIV="ENABLED", p_CLK2_DIV="ENABLED", p_CLK3_DIV="ENABLED",
            p_HIGHSPEED_CLK="NONE", p_GSR="DISABLED", p_CAS_MATCH_REG="FALSE", p_SOURCEB_MODE="B_SHIFT",
            p_MULT_BYPASS="DISABLED", p_RESETMODE="SYNC",
            i_SIGNEDA=C(int(da.shape().signed), 1), i_SIGNEDB=C(int(db.shape().signed), 1),
            i_SOURCEA=C(0, 1), i_SOURCEB=C(0, 1),
            i_CLK0=ClockSignal(), i_CLK1=C(0, 1), i_CLK2=C(0, 1), i_CLK3=C(0, 1),
            i_CE0=C(1, 1), i_CE1=C(0, 1), i_CE2=C(0, 1), i_CE3=C(0, 1),
            i_RST0=C(0, 1), i_RST1=C(0, 1), i_RST2=C(0, 1), i_RST3=C(0, 1),
            **ports)
        out = product[:product_shape.width]
        return out.as_signed() if product_shape.signed else out

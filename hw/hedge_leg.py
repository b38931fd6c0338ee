"""One hedge leg: the hedge law of docs/numbers.md as a pipeline with one loop-carried register.

The law (see the model, ``hedgegate.host.model``, for the plain statement) needs, per tick on the leg's symbol::

    mid    = (bb + ba) >> 1
    r      = h if lo <= mid <= hi else h_alt
    r_eff  = r + rha(g * (mid - A) / 2^16)
    T      = sat(rha(-P * r_eff / 2^16))
    dev    = T - H;  need = |dev| >= min_qty and |dev| * 10000 > bps * |T|
    q      = min(|dev|, max_qty, limit -+ H);  send if q >= min_qty and the price fits;  H += +-q

Three multiplies lie in series on the way to T, so the only state that must be updated tick by tick -- the hedge
position H -- is separated from them. Everything that does not depend on H is computed ahead, and the decision is
rewritten as comparisons of H against precomputed bounds (with Qt = floor(|T| * bps / 10000), U = min(T, limit),
D = max(T, -limit), lmm = limit - min_qty, mml = min_qty - limit)::

    BUY  needed     <=> H <= T - min_qty  and  H < T - Qt         <=> H < nb = min(T - min_qty + 1, T - Qt)
    BUY  fires      <=> needed and max_qty >= min_qty and H <= lmm (and the leg may, the price fits)
                    <=> H < fb = min(T - min_qty + 1, lmm + 1, T - Qt)
    BUY  new H       =  min(T, H + max_qty, limit) = (H <= U - max_qty) ? H + max_qty : U
    SELL needed     <=> H >= T + min_qty  and  H > T + Qt         <=> H > ns = max(T + min_qty - 1, T + Qt)
    SELL fires      <=> needed and max_qty >= min_qty and H >= mml (...)  <=> H > fs = max(T + min_qty - 1,
                                                                                        mml - 1, T + Qt)
    SELL new H       =  max(T, H - max_qty, -limit) = (H >= D + max_qty) ? H - max_qty : D

so the loop stage is a row of parallel comparisons -- each one subtraction of two registers (H and the bound in offset
binary), whose borrow is the answer -- and a multiplexer, and H can change on every cycle (back-to-back ticks on one
leg need no stall). ``|dev| * 10000 > bps * |T|`` became ``|dev| > Qt`` because |dev| is an integer; Qt comes from a
multiply by the reciprocal of :mod:`.threshold_divider`. Which term of fb (fs) is the least (greatest) is decided
ahead by comparing Qt with values computed from T alone; the counters of blocked orders use nb, ns and H <= lmm,
H >= mml.

Timing (ECP5, see bench/fmax.py and docs/architecture.md): each stage is at most about one carry chain and two LUT
levels, and no carry chain feeds a multiplier's operands in the same cycle -- routing into the MULT18X18D blocks
takes 1.5 - 3.5 ns, so their operands come from registers (or through one LUT). The multipliers (``Multiplier``)
keep their operands in the DSP blocks' input registers and take M = ``mul_latency`` register stages, the last of
which ends in their carry chain.

Stages (s0 = the cycle the book snapshot is valid, M = ``mul_latency``)::

    s0              eligibility, order prices and their range, 2 (mid - A) = bb + ba - 2A and the band tests
                    (bb + ba - 2 lo >= 0, bb + ba - 2 hi - 2 < 0), each a carry-save level and one carry chain
    s1 .. s1+M      g * (mid - A) + r * 2^16 + 2^15 - [neg] (gamma product: s1 brings the registered operands into
                    the DSP blocks): r_eff = that >> 16, registered
    s2+M .. s2+2M   -P * r_eff + 2^15 - [neg] (exposure product), >> 16, registered: T before saturation
    s3+2M           range tests of T; T * (sign(T) * c) into the threshold product (c = the reciprocal)
    s4+2M .. s3+3M  |T| * c >> 45 = Qt, replaced by Qt(2^31 - 1) if T saturates; alongside: T saturated
                    (registered in s4+2M; with M = 1 in s3+2M), T -+ (min_qty - 1), the bounds without Qt and the
                    values Qt is compared with, U, D
    s4+3M           T -+ Qt, comparisons of Qt, the loop's bounds in offset binary, U - max_qty + 1, D + max_qty - 1
    s5+3M           H loop
    s6+3M           outputs registered

Registers are written only while no tick is in flight (the core drains first), so every stage may read them
directly; derived values (-P, -limit, ...) are registered one or two cycles after a write, before any tick can use
them. A write of H (HEDGE_POSITION, ADJUST_POSITION) is saturated over a few cycles and loaded through the loop's
SELL path while ``busy`` is high.
"""

from amaranth.hdl import C, Cat, Const, Module, Mux, Shape, Signal, Value, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .duplicate import duplicate_signal
from .layouts import TickSide
from .multiplier import Multiplier
from .params import POSITION_MAX, RATIO_FRAC_BITS, THRESHOLD_RECIP_SHIFT, CoreParams
from .regmap import REG_ADDR_WIDTH, REG_DATA_WIDTH, LegReg, leg_register_shapes, leg_reset_values
from .threshold_divider import ThresholdDivider

__all__ = ["HedgeLeg", "leg_registers", "hedge_position_write"]

_CMP_WIDTH = 38          # the loop's comparisons: H and its bounds (T -+ Qt is 37 bits signed) in offset binary


def _lt(a, b):
    """``a < b`` for any mix of signed and unsigned values: the borrow of one subtraction in offset binary, which is
    the carry out of one carry chain (Yosys maps a mixed-width ``<`` to a chain with logic around it)."""
    a, b = Value.cast(a), Value.cast(b)
    width = max(len(a) + (not a.shape().signed), len(b) + (not b.shape().signed))
    x, y = (Cat(v, v[-1].replicate(width - len(v))) if v.shape().signed else Cat(v, C(0, width - len(v)))
            for v in (a, b))
    x, y = Cat(x[:-1], ~x[-1]), Cat(y[:-1], ~y[-1])          # offset binary: unsigned order = signed order
    return (Cat(x, C(0, 1)) - Cat(y, C(0, 1)))[width]       # x - y borrows <=> x < y


def _gt(a, b):
    return _lt(b, a)


def _offset_binary(value, width):
    """``value`` sign- or zero-extended to ``width`` bits with the top bit flipped: its order as an unsigned number
    is the value's order, so a comparison is one subtraction's borrow, with no logic around the carry chain."""
    value = Value.cast(value)
    if value.shape().signed:
        value = Cat(value, value[-1].replicate(width - len(value)))
    else:
        value = Cat(value, C(0, width - len(value)))
    return Cat(value[:-1], ~value[-1])


def _offset_binary_int(value: int, width: int, invert: bool = False) -> int:
    """The integer that ``_offset_binary`` (inverted if asked) makes of ``value``: for reset values."""
    code = (value + (1 << (width - 1))) % (1 << width)
    return code ^ ((1 << width) - 1) if invert else code


def _borrow(x, y):
    """x < y for two offset-binary values of one width: the borrow of x - y."""
    return (Cat(x, C(0, 1)) - Cat(y, C(0, 1)))[len(x)]


def _le(a, b):
    return ~_lt(b, a)


def _ge(a, b):
    return ~_lt(a, b)



def leg_registers(m, leg, addresses=None) -> tuple[dict, Signal]:
    """A leg's register file (docs/numbers.md formats, reset values of regmap): ``(registers, H)``, where
    ``registers`` maps each :class:`LegReg` but HEDGE_POSITION and ADJUST_POSITION (or only those in ``addresses``)
    to its register, written from ``leg.write``/``write_addr``/``write_data`` (the low bits of the data); H is
    returned unwritten, for the leg to load (its writes saturate, see :func:`hedge_position_write`)."""
    params = leg._params
    resets = leg_reset_values(params)
    regs = {}
    for addr, shape in leg_register_shapes(params).items():
        if addr != LegReg.ADJUST_POSITION and (addresses is None or addr in addresses
                                               or addr == LegReg.HEDGE_POSITION):
            regs[addr] = Signal(shape, name=addr.name.lower(), init=resets[addr])
    hedge_position = regs.pop(LegReg.HEDGE_POSITION)     # H: written by the leg and (saturated) by the host
    for addr, register in regs.items():
        with m.If(leg.write & (leg.write_addr == int(addr))):
            m.d.sync += register.eq(leg.write_data[:len(register)])
    return regs, hedge_position


def hedge_position_write(m, leg, hedge_position, *, staged: bool = True) -> tuple[Signal, Signal]:
    """A write of H (HEDGE_POSITION: the value, ADJUST_POSITION: H + the value), saturated to +-(2^31 - 1).
    Returns ``(written, value)``.

    The write is registered (``written`` is high the cycle after it). ``staged`` (HedgeLeg): then the sum, then its
    range tests, then the saturated value, in registered steps, as there is time and a fast clock: ``value`` holds
    the saturated H three cycles after ``written``. Otherwise (the compact leg, small and at a slow clock) all of it
    in one cycle: ``value`` holds the saturated H the cycle after ``written``."""
    def reg(value, name, shape=None, registered=staged):
        out = Signal(shape if shape is not None else Shape.cast(value.shape()), name=name)
        if registered:
            m.d.sync += out.eq(value)
        else:
            m.d.comb += out.eq(value)
        return out
    h_write = reg(leg.write & (leg.write_addr == int(LegReg.HEDGE_POSITION)), "h_write", registered=True)
    h_adjust = reg(leg.write & (leg.write_addr == int(LegReg.ADJUST_POSITION)), "h_adjust", registered=True)
    h_data = reg(leg.write_data.as_signed(), "h_data", registered=True)
    load_sum = reg(Mux(h_adjust, hedge_position, 0) + h_data, "load_sum", signed(33))
    load_low = reg(load_sum[:32].as_signed(), "load_low")
    load_negative = reg(load_sum[32], "load_negative")
    load_saturate = reg((load_sum[32] != load_sum[31])                      # outside the int32 range
                        | (load_sum[31] & ~load_sum[:31].any()), "load_saturate")   # or -2^31
    load_value = reg(Mux(load_saturate, Mux(load_negative, -POSITION_MAX, POSITION_MAX), load_low),
                     "load_value", signed(32), registered=True)
    return h_write | h_adjust, load_value


class HedgeLeg(wiring.Component):
    """One leg's hedge law, pipelined: a tick's book snapshot in, its recommendation ``leg_latency`` cycles later
    (see the module docstring). :class:`~.compact_hedge_leg.CompactHedgeLeg` has the same ports.

    Parameters
    ----------
    params : CoreParams
        Widths and ``mul_latency``.

    Attributes
    ----------
    book_valid, book_symbol, book_side, best_bid, best_ask, has_bid, has_ask : Signal
        The book after a tick (stage s0): the leg evaluates it if the symbol is its own and the side a bid or ask.
    halt : Signal
        No recommendation while high.
    write, write_addr, write_data : Signal
        A register write (:class:`~.regmap.LegReg`), applied only while no tick is in flight.
    busy : Signal
        A write is still at work (the threshold's reciprocal, a write of H): the core sends nothing meanwhile.
    fire, side, qty, price : Signal
        The recommendation, for one cycle.
    hedge_position : Signal(signed(32))
        H: after the tick in the output cycle, and what status reads see.
    limit_blocked, price_blocked : Signal
        An order needed but blocked by the position limit or the price range, for one cycle.
    """

    def __init__(self, params: CoreParams):
        self._params = params
        super().__init__(self._ports(params))

    @staticmethod
    def _ports(params: CoreParams) -> dict:
        """The ports of a leg (shared with :class:`~.compact_hedge_leg.CompactHedgeLeg`)."""
        price = signed(params.price_width)
        return {
            # Book snapshot after a tick (stage s0).
            "book_valid":     In(1),
            "book_symbol":    In(params.symbol_width),
            "book_side":      In(2),
            "best_bid":       In(price),
            "best_ask":       In(price),
            "has_bid":        In(1),
            "has_ask":        In(1),
            "halt":           In(1),
            # Register writes (only while the pipeline is empty).
            "write":          In(1),
            "write_addr":     In(REG_ADDR_WIDTH),
            "write_data":     In(REG_DATA_WIDTH),
            "busy":           Out(1),
            # Result, CoreParams.leg_latency cycles after s0 (6 + 3M here: the stage table above; the core adds the
            # book's trace_latency). fire, limit_blocked and price_blocked are high for that one cycle.
            "fire":           Out(1),
            "side":           Out(1),
            "qty":            Out(32),
            "price":          Out(price),
            "hedge_position": Out(signed(32)),
            "limit_blocked":  Out(1),
            "price_blocked":  Out(1),
        }

    def elaborate(self, platform):
        m = Module()
        p = self._params
        mul = p.mul_latency
        # Stages (s0 = the cycle the book snapshot is valid); each multiplier takes its operands from registers.
        s_gamma = 1                                # gamma product's operands
        s_exposure = s_gamma + mul + 1             # exposure product's operands (r_eff registered)
        s_target = s_exposure + mul + 1            # T's range tests; threshold product's operands
        s_bounds = s_target + mul + 1              # the bounds that need Qt
        s_loop = s_bounds + 1                      # the H loop; outputs registered at its end
        assert s_loop + 1 == p.latency - p.trace_latency
        pw = p.price_width

        def reg(value, name, shape=None, init=0, duplicate=False):
            """Registers `value` once: the boundary between two stages (``duplicate``: a copy synthesis keeps)."""
            make = duplicate_signal if duplicate else Signal
            out = make(shape if shape is not None else Shape.cast(value.shape()), name=name, init=init)
            m.d.sync += out.eq(value)
            return out

        def delay(value, cycles, name):
            for i in range(cycles):
                value = reg(value, f"{name}_d{i}")
            return value

        def add3(x, y, z, width, name):
            """x + y + z (exact in `width` signed bits) as one carry-save level and one carry chain."""
            x, y, z = (reg_free(v, f"{name}_{i}", signed(width)) for i, v in enumerate((x, y, z)))
            sum_row, carry_row = x ^ y ^ z, ((x & y) | (x & z) | (y & z)) << 1
            return (sum_row.as_unsigned() + carry_row.as_unsigned())[:width].as_signed()

        def reg_free(value, name, shape):
            out = Signal(shape, name=name)
            m.d.comb += out.eq(value)
            return out

        # Registers ------------------------------------------------------------------------------------------------
        regs, hedge_position = leg_registers(m, self)
        m.submodules.divider = divider = ThresholdDivider()

        # A write of H (HEDGE_POSITION, or ADJUST_POSITION: H + value) takes six cycles, as it has time: the
        # saturated value is ready four cycles after the write (hedge_position_write), goes into the loop stage's input,
        # and the loop loads it; `busy` covers the last five (the core applies nothing and accepts no tick
        # meanwhile).
        h_written, load_value = hedge_position_write(m, self, hedge_position)
        # `load` is high in the cycle the bounds stage puts load_value into the loop stage's input, `load_l` when
        # the loop loads it; load_pulse(d) is high d cycles before `load`, for what must be set up earlier.
        # load_steps[k] is high k + 1 cycles after the write; load_value is valid from k = 3 on.
        load_cycle = max(3, 1 if mul == 1 else mul - 1)        # that, and s_bounds - t_ready (see force_sell)
        load_steps = [h_written]
        for step in range(load_cycle + 1):
            load_steps.append(reg(load_steps[-1], f"load_step{step}"))

        def load_pulse(cycles_before):
            return load_steps[load_cycle - cycles_before]
        load, load_l = load_steps[load_cycle], load_steps[load_cycle + 1]
        # The divider starts a cycle after the write, from flip-flops: its start enables ~100 flip-flops, and the
        # write decode in front of them was the ULX3S-85F's critical path (M = 3). `busy` covers that cycle.
        divider_start = reg(self.write & (self.write_addr == int(LegReg.THRESHOLD_BPS)), "divider_start")
        # `busy` (the divider or a write of H at work: divider_start, the divider's busy, load_steps) is a
        # flip-flop, loaded with what it will be in the next cycle: the core ORs the legs' `busy` into its write
        # decision, and from the legs' logic, placed apart, that OR was the ULX3S-85F's critical path (three routes
        # of 1.8 - 3.6 ns). tests/test_hedge_leg.py checks it cycle by cycle.
        starts_busy = self.write & ((self.write_addr == int(LegReg.THRESHOLD_BPS))
                                    | (self.write_addr == int(LegReg.HEDGE_POSITION))
                                    | (self.write_addr == int(LegReg.ADJUST_POSITION)))
        m.d.sync += self.busy.eq(starts_busy | divider_start | (divider.busy & ~divider.finishing)
                                 | Cat(*load_steps[:-1]).any())
        m.d.comb += [
            divider.start.eq(divider_start),
            divider.bps.eq(reg(self.write_data[:16], "divider_bps")),
            self.hedge_position.eq(hedge_position),     # H after the tick: the loop's register, in the output cycle
        ]
        r = {addr.name.lower(): register for addr, register in regs.items()}
        min_qty, max_qty, limit = r["min_qty"], r["max_order_qty"], r["position_limit"]

        # Derived registers (registered one cycle after a write, long before a tick can reach them).
        neg_position = reg(-r["position"], "neg_position")
        neg_limit = reg(-limit, "neg_limit")
        limit_minus_min = reg(limit - min_qty, "limit_minus_min")
        min_minus_limit = reg(min_qty - limit, "min_minus_limit")
        min_minus_one = reg(min_qty - 1, "min_minus_one")
        limit_minus_min1 = reg(limit - min_minus_one, "limit_minus_min1")     # two cycles after a write
        min_minus_limit1 = reg(min_minus_one - limit, "min_minus_limit1")
        max_minus_one = reg(max_qty - 1, "max_minus_one")
        sizes_ok = reg(max_qty >= min_qty, "sizes_ok")
        neg2_anchor = reg(-(r["anchor"] << 1), "neg2_anchor")
        neg2_band_lo = reg(-(r["band_lo"] << 1), "neg2_band_lo")
        neg2_band_hi = reg(~Cat(C(1, 1), r["band_hi"]).as_signed(), "neg2_band_hi")   # -2 * band_hi - 2

        # s0: eligibility, order prices, mid - A and the band, each a carry-save level and one carry chain ---------
        bb, ba = self.best_bid, self.best_ask
        eligible = (self.book_valid & (self.book_side <= int(TickSide.ASK)) & (self.book_symbol == r["symbol"])
                    & r["enabled"] & ~self.halt & self.has_bid & self.has_ask & ~_le(ba, bb))
        buy_price, sell_price = ba + r["slippage"], bb - r["slippage"]      # price_width + 1 bits
        eligible_1 = reg(eligible, "eligible_1")
        buy_price_1 = reg(buy_price[:pw].as_signed(), "buy_price_1")
        sell_price_1 = reg(sell_price[:pw].as_signed(), "sell_price_1")
        buy_ok_1 = reg(buy_price[pw] == buy_price[pw - 1], "buy_ok_1")      # fits price_width bits
        sell_ok_1 = reg(sell_price[pw] == sell_price[pw - 1], "sell_ok_1")
        # mid - A = floor((bb + ba - 2A) / 2); lo <= mid <=> bb + ba - 2lo >= 0; mid <= hi <=> bb + ba - 2hi - 2 < 0.
        offset_twice = add3(bb, ba, neg2_anchor, pw + 2, "offset_twice")
        offset = offset_twice[1:].as_signed()                                 # price_width + 1 bits
        above_lo = ~add3(bb, ba, neg2_band_lo, pw + 2, "above_lo")[-1]
        below_hi = add3(bb, ba, neg2_band_hi, pw + 2, "below_hi")[-1]
        in_band_1 = reg(above_lo & below_hi, "in_band_1")
        gamma_neg_1 = reg(r["gamma"][-1] ^ offset[-1], "gamma_neg_1")        # sign of g * (mid - A)

        # s1 .. s1+M: r_eff = r + rha(g * (mid - A) / 2^16) = (g * (mid - A) + r * 2^16 + 2^15 - [neg]) >> 16,
        # registered (s1 only brings the registered operand to the DSP blocks) -----------------------------------
        m.submodules.gamma_mul = gamma_mul = Multiplier(signed(32), offset.shape(), latency=mul,
                                                        addend_shape=signed(32 + RATIO_FRAC_BITS))
        in_band_2, gamma_neg_2 = reg(in_band_1, "in_band_2"), reg(gamma_neg_1, "gamma_neg_2")
        ratio = Mux(in_band_2, r["hedge_ratio"], r["alt_hedge_ratio"])
        m.d.comb += [
            gamma_mul.a.eq(r["gamma"]),
            gamma_mul.b.eq(reg(offset, "offset")),            # from a register: see s1 in the stage list
            gamma_mul.addend.eq(Cat(Mux(gamma_neg_2, (1 << 15) - 1, 1 << 15)[:RATIO_FRAC_BITS], ratio)),
        ]
        r_eff = reg(gamma_mul.p[RATIO_FRAC_BITS:].as_signed(), "r_eff")

        # s2+M .. s2+2M: y = -P * r_eff, plus the rounding term of T (the sign of y is known from the operands) ----
        m.submodules.exposure_mul = exposure_mul = Multiplier(neg_position.shape(), r_eff.shape(), latency=mul,
                                                              addend_shape=unsigned(RATIO_FRAC_BITS))
        y_neg = reg(neg_position[-1] ^ r_eff[-1], "y_neg")
        m.d.comb += [
            exposure_mul.a.eq(neg_position),
            exposure_mul.b.eq(r_eff),
            exposure_mul.addend.eq(Mux(y_neg, (1 << 15) - 1, 1 << 15)),
        ]
        rounded = reg(exposure_mul.p[RATIO_FRAC_BITS:].as_signed(), "rounded")   # rha(y / 2^16), unsaturated

        # s3+2M: whether rounded fits T's range, by bit tests only. The threshold product starts at once, on the
        # unsaturated value, as T * (sign(T) * c) = |T| * c (so no carry chain stands in front of the DSP blocks);
        # when T saturates, the product is overridden by the Qt of |T| = 2^31 - 1 (qt_max, derived from c).
        upper_bits, lower_bits = rounded[31:], rounded[:31]
        negative = rounded[-1]
        fits = ~upper_bits.any() | (upper_bits.all() & lower_bits.any())    # in [-(2^31-1), 2^31-1]
        recip = divider.recip
        qt_max = reg((Cat(C(0, 31), recip) - recip)[THRESHOLD_RECIP_SHIFT:THRESHOLD_RECIP_SHIFT + 35], "qt_max")
        neg_recip = reg(-recip, "neg_recip")
        m.submodules.threshold_mul = threshold_mul = Multiplier(
            signed(32), neg_recip.shape(), latency=mul, override_shape=unsigned(THRESHOLD_RECIP_SHIFT + len(qt_max)))
        fits_r = reg(fits, "fits")
        negative_r = reg(negative, "target_neg")
        m.d.comb += [
            threshold_mul.a.eq(rounded[:32].as_signed()),                  # T, if it fits
            threshold_mul.b.eq(Mux(negative, neg_recip, recip)),           # c * sign(T): the product is |T| * c
            threshold_mul.override.eq(~delay(fits_r, threshold_mul.override_delay - 1, "fits_o")),
            threshold_mul.override_value.eq(Cat(C(0, THRESHOLD_RECIP_SHIFT), qt_max)),
        ]
        qt = reg(threshold_mul.p[THRESHOLD_RECIP_SHIFT:THRESHOLD_RECIP_SHIFT + 35], "qt")     # |T| * c >= 0

        def saturated(fits, rounded, negative):
            return Mux(fits, rounded[:32].as_signed(), Mux(negative, -POSITION_MAX, POSITION_MAX))

        # T itself, registered in s4+2M (one stage later than the bit tests; with M = 1, in the same stage, as there
        # would be no stage left for what follows, and M = 1 is slow anyway).
        if mul == 1:
            target, t_ready = reg(saturated(fits, rounded, negative), "target", signed(32)), s_target + 1
        else:
            target = reg(saturated(fits_r, reg(rounded[:32], "rounded_low"), negative_r), "target", signed(32))
            t_ready = s_target + 2

        # Alongside the threshold product: what does not need Qt. The loop compares H strictly (H < x, H > x: the
        # carry out of one chain, no inversion), so the bounds below are kept one past the inclusive ones: with
        # lmm = limit - min_qty and mml = min_qty - limit, BUY needs H < A1 = min(T - min_qty, lmm) + 1 and SELL
        # H > B1 = max(T + min_qty, mml) - 1, besides the threshold; and the comparands that tell whether the
        # threshold is the tightest bound (see s_bounds). A leg that may not fire (not eligible, price out of range,
        # max_qty < min_qty) gets a bound no H passes and a comparand no Qt reaches.
        may_buy = delay(eligible_1 & buy_ok_1, t_ready - 1, "may_buy") & sizes_ok
        may_sell = delay(eligible_1 & sell_ok_1, t_ready - 1, "may_sell") & sizes_ok
        force_sell = load_pulse(s_bounds - t_ready)              # loading H: see below
        t_le_limit, t_ge_neg_limit = _le(target, limit), _ge(target, neg_limit)
        target_minus_min1 = reg(target - min_minus_one, "target_minus_min1")      # T - min_qty + 1
        target_plus_min1 = reg(target + min_minus_one, "target_plus_min1")        # T + min_qty - 1
        bound_buy = reg(Mux(may_buy, Mux(t_le_limit, target - min_minus_one, limit_minus_min1), -POSITION_MAX),
                        "bound_buy", signed(34))
        bound_sell = reg(Mux(force_sell, -(1 << 31),
                             Mux(may_sell, Mux(t_ge_neg_limit, target + min_minus_one, min_minus_limit1),
                                 POSITION_MAX)), "bound_sell", signed(34))
        # T - Qt <= A1 <=> Qt >= min_qty - 1 and Qt >= T - lmm - 1 <=> Qt >= (T <= limit ? min_qty - 1 : T - lmm - 1)
        # T + Qt >= B1 <=> Qt >= min_qty - 1 and Qt >= mml - T - 1 <=> Qt >= (T >= -limit ? min_qty - 1 : mml - T - 1)
        unreachable = 1 << 35                                    # Qt < 2^35
        key_buy = reg(Mux(may_buy, Mux(t_le_limit, min_minus_one, target - limit_minus_min1), unreachable),
                      "key_buy", signed(37))
        key_sell = reg(Mux(may_sell & ~force_sell, Mux(t_ge_neg_limit, min_minus_one, min_minus_limit1 - target),
                           unreachable), "key_sell", signed(37))
        upper = reg(Mux(t_le_limit, target, limit), "upper", signed(32))
        lower = reg(Mux(t_ge_neg_limit, target, neg_limit), "lower", signed(32))

        # s_bounds: the bounds that need Qt. BUY is needed iff H <= T - min_qty and H < T - Qt, i.e. H < nb with
        # nb = min(T - min_qty + 1, T - Qt), and fires iff also H <= lmm (and the leg, sizes and price allow): H < fb,
        # fb = min(A1, T - Qt) (comparands above). SELL mirrors it with T + Qt.
        def late(value, name):                                   # from s(t_ready + 1) to s_bounds
            return delay(value, s_bounds - t_ready - 1, name)
        target_q = delay(target, s_bounds - t_ready, "target_q")
        stage_delay = s_bounds - 1                                         # s1 -> s_bounds
        eligible_b = delay(eligible_1, stage_delay, "eligible")
        buy_ok_b = delay(buy_ok_1, stage_delay, "buy_ok")
        sell_ok_b = delay(sell_ok_1, stage_delay, "sell_ok")
        below = target_q - qt                                               # BUY needs H < T - Qt
        above = target_q + qt                                               # SELL needs H > T + Qt
        threshold_tighter = _ge(qt, min_minus_one)
        buy_threshold_tightest = _ge(qt, late(key_buy, "key_buy"))
        sell_threshold_tightest = _ge(qt, late(key_sell, "key_sell"))
        # The loop's comparands are registered in offset binary of one width (and some inverted, for the inverted copy
        # of H below), so that every comparison in the loop is one subtraction of two registers.
        width = _CMP_WIDTH

        def bound(value, name, init=0, invert=False, duplicate=False):
            value = _offset_binary(value, width)
            return reg(~value if invert else value, name, unsigned(width), init=_offset_binary_int(init, width, invert),
                       duplicate=duplicate)
        need_buy_bound = bound(Mux(threshold_tighter, below, late(target_minus_min1, "tmm1")), "need_buy_bound",
                               invert=True)
        need_sell_bound = bound(Mux(threshold_tighter, above, late(target_plus_min1, "tpm1")), "need_sell_bound",
                                invert=True)
        fire_buy_value = Mux(buy_threshold_tightest, below, late(bound_buy, "bound_buy"))
        fire_buy_bound = bound(fire_buy_value, "fire_buy_bound", init=-POSITION_MAX)
        fire_buy_bound_o = bound(fire_buy_value, "fire_buy_bound_o", init=-POSITION_MAX, duplicate=True)
        # A write of H is loaded through the SELL path of the loop: in the cycle `load` is high here (the pipeline is
        # empty), the SELL bound is below every H (force_sell, in the stage before), lower_step above every H and
        # lower is the value (below).
        fire_sell_value = Mux(sell_threshold_tightest, above, late(bound_sell, "bound_sell"))
        fire_sell_bound = bound(fire_sell_value, "fire_sell_bound", init=POSITION_MAX)
        fire_sell_bound_o = bound(fire_sell_value, "fire_sell_bound_o", init=POSITION_MAX, duplicate=True)
        eligible_l = reg(eligible_b, "eligible_l")
        limit_check_l = reg(eligible_b & sizes_ok, "limit_check_l")        # in limits needs sizes_ok
        buy_no_price_l = reg(eligible_b & sizes_ok & ~buy_ok_b, "buy_no_price_l")
        sell_no_price_l = reg(eligible_b & sizes_ok & ~sell_ok_b, "sell_no_price_l")
        buy_price_l = delay(buy_price_1, stage_delay + 1, "buy_price")
        sell_price_l = delay(sell_price_1, stage_delay + 1, "sell_price")
        upper, lower = late(upper, "upper"), late(lower, "lower")
        upper_step = bound(upper - max_minus_one, "upper_step")           # BUY adds max_qty iff H < upper_step
        upper = reg(upper, "upper_l")
        lower_step = bound(Mux(load, POSITION_MAX, lower + max_minus_one), "lower_step")
        lower = reg(Mux(load, load_value, lower), "lower_l")
        limit_bound_buy = bound(limit_minus_min1, "limit_bound_buy", invert=True)      # constant between writes
        limit_bound_sell = bound(min_minus_limit1, "limit_bound_sell", invert=True)

        # s5+3M: the H loop: every decision is one comparison of H ------------------------------------------------
        # H is kept four times: its value (for the adders), and in offset binary, plain (for the comparisons that
        # decide the loop), again plain (the same comparisons, for the outputs) and inverted (for those that only
        # count blocked orders), so that each copy drives a few carry chains rather than one copy twelve, and the
        # loop's decision does not also fan out to the ~70 output flip-flops (that route was the ULX3S build's
        # critical path). The plain copies are kept apart from H's own flip-flops, whose low 31 bits they equal
        # (hw/duplicate.py), and so are the output's copies of the fire bounds.
        h = hedge_position
        h_ob = duplicate_signal(width, name="h_ob", init=_offset_binary_int(0, width))
        h_ob_o = duplicate_signal(width, name="h_ob_o", init=_offset_binary_int(0, width))
        h_nob = Signal(width, name="h_nob", init=_offset_binary_int(0, width, invert=True))
        fire_buy = _borrow(h_ob, fire_buy_bound)                 # H < fb
        fire_sell = _borrow(fire_sell_bound, h_ob)               # H > fs
        buy_full = _borrow(h_ob, upper_step)
        sell_full = _borrow(lower_step, h_ob)
        fire_buy_o = _borrow(h_ob_o, fire_buy_bound_o)           # the same decisions, for the outputs
        fire_sell_o = _borrow(fire_sell_bound_o, h_ob_o)
        buy_full_o = _borrow(h_ob_o, upper_step)
        sell_full_o = _borrow(lower_step, h_ob_o)
        need_buy = _borrow(need_buy_bound, h_nob)               # ~H > ~nb <=> H < nb
        need_sell = _borrow(h_nob, need_sell_bound)              # ~H < ~ns <=> H > ns
        buy_in_limit = _borrow(limit_bound_buy, h_nob)
        sell_in_limit = _borrow(h_nob, limit_bound_sell)
        buy_h = Mux(buy_full, h + max_qty, upper)
        sell_h = Mux(sell_full, h - max_qty, lower)
        new_h = Signal(signed(32), name="new_h")
        m.d.comb += new_h.eq(Mux(fire_buy, buy_h, sell_h))
        # H changes on a fire; five cycles after a write of H (load_l) the SELL path is forced and carries the value.
        with m.If(fire_buy | fire_sell):
            m.d.sync += [
                hedge_position.eq(new_h),
                h_ob.eq(_offset_binary(new_h, width)),
                h_ob_o.eq(_offset_binary(new_h, width)),
                h_nob.eq(~_offset_binary(new_h, width)),
            ]

        # The outputs: both sides' quantity and price are registered and the side picks one after the register, so
        # the side decision (a carry chain) drives three flip-flops rather than the 64 of qty and price, whose
        # registers sit by the recommendation queue (that route was the ULX3S-85F build's critical path at M = 3).
        buy_o = reg(fire_buy_o, "buy_o", duplicate=True)
        qty_buy_o = reg(Mux(buy_full_o, max_qty, upper - h), "qty_buy_o", unsigned(32))
        qty_sell_o = reg(Mux(sell_full_o, max_qty, h - lower), "qty_sell_o", unsigned(32))
        m.d.comb += [
            self.qty.eq(Mux(buy_o, qty_buy_o, qty_sell_o)),
            self.price.eq(Mux(buy_o, reg(buy_price_l, "buy_price_o"), reg(sell_price_l, "sell_price_o"))),
        ]
        m.d.sync += [
            self.fire.eq((fire_buy_o | fire_sell_o) & ~load_l),
            self.side.eq(~fire_buy_o),
            self.limit_blocked.eq((need_buy & eligible_l & ~(limit_check_l & buy_in_limit))
                                  | (need_sell & eligible_l & ~(limit_check_l & sell_in_limit))),
            self.price_blocked.eq((need_buy & buy_in_limit & buy_no_price_l)
                                  | (need_sell & sell_in_limit & sell_no_price_l)),
        ]
        return m

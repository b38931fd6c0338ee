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
D = max(T, -limit))::

    BUY  needed     <=> H <= T - min_qty  and  H < T - Qt
    BUY  in limits  <=> max_qty >= min_qty  and  H <= limit - min_qty
    BUY  new H       =  min(T, H + max_qty, limit) = (H <= U - max_qty) ? H + max_qty : U
    SELL needed     <=> H >= T + min_qty  and  H > T + Qt
    SELL in limits  <=> max_qty >= min_qty  and  H >= min_qty - limit
    SELL new H       =  max(T, H - max_qty, -limit) = (H >= D + max_qty) ? H - max_qty : D

so the loop stage is one row of parallel comparators and a multiplexer, and H can change on every cycle
(back-to-back ticks on one leg need no stall). ``|dev| * 10000 > bps * |T|`` became ``|dev| > Qt`` because |dev| is an
integer; Qt comes from a multiply by the reciprocal of :mod:`.threshold_divider`.

Stages (s0 = the cycle the book snapshot is valid, M = multiplier latency)::

    s0          eligibility, mid, order prices
    s1          mid - A, band
    s2 .. +M    g * (mid - A)
    s2+M        r_eff
    s3+M .. +M  -P * r_eff
    s3+2M       T and |T| (round, saturate)
    s4+2M .. +M |T| * c  (alongside: T -+ min_qty, U, D)
    s4+3M       T -+ Qt, U - max_qty, D + max_qty
    s5+3M       H loop
    s6+3M       outputs registered

Registers are written only while no tick is in flight (the core drains first), so every stage may read them
directly; derived values (-P, -limit, ...) are registered one cycle after a write, before any tick can use them.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Shape, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .layouts import TickSide
from .multiplier import Multiplier
from .params import POSITION_MAX, RATIO_FRAC_BITS, THRESHOLD_RECIP_SHIFT, CoreParams
from .regmap import REG_ADDR_WIDTH, REG_DATA_WIDTH, LegReg, leg_register_shapes, leg_reset_values
from .threshold_divider import ThresholdDivider

__all__ = ["HedgeLeg"]


def _clamp(value, low, high):
    return Mux(value > high, high, Mux(value < low, low, value))


class HedgeLeg(wiring.Component):
    def __init__(self, params: CoreParams):
        self._params = params
        price = signed(params.price_width)
        super().__init__({
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
            "position_now":   Out(signed(32)),
            # Result, 6 + 3M cycles after s0 (the stage table above; the core adds 2 for input and book).
            "fire":           Out(1),
            "side":           Out(1),
            "qty":            Out(32),
            "price":          Out(price),
            "hedge_position": Out(signed(32)),
            "limit_blocked":  Out(1),
            "price_blocked":  Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        p = self._params
        mul = p.mul_latency

        def reg(value, name, shape=None):
            """Registers `value` once: the boundary between two stages."""
            out = Signal(shape if shape is not None else Shape.cast(value.shape()), name=name)
            m.d.sync += out.eq(value)
            return out

        def delay(value, cycles, name):
            for i in range(cycles):
                value = reg(value, f"{name}_d{i}")
            return value

        # Registers ------------------------------------------------------------------------------------------------
        resets = leg_reset_values(p)
        regs = {}
        for addr, shape in leg_register_shapes(p).items():
            if addr == LegReg.ADJUST_POSITION:
                continue
            regs[addr] = Signal(shape, name=addr.name.lower(), init=resets[addr])
        position = regs.pop(LegReg.HEDGE_POSITION)     # H: written by the loop and by the host
        for addr, register in regs.items():
            if addr != LegReg.THRESHOLD_BPS:
                with m.If(self.write & (self.write_addr == int(addr))):
                    m.d.sync += register.eq(self.write_data[:len(register)])
        with m.If(self.write & (self.write_addr == int(LegReg.THRESHOLD_BPS))):
            m.d.sync += regs[LegReg.THRESHOLD_BPS].eq(self.write_data[:16])
        m.submodules.divider = divider = ThresholdDivider()
        m.d.comb += [
            divider.start.eq(self.write & (self.write_addr == int(LegReg.THRESHOLD_BPS))),
            divider.bps.eq(self.write_data[:16]),
            self.busy.eq(divider.busy),
            self.position_now.eq(position),
        ]
        r = {addr.name.lower(): register for addr, register in regs.items()}
        min_qty, max_qty, limit = r["min_qty"], r["max_order_qty"], r["position_limit"]

        neg_position = reg(-r["position"], "neg_position")
        neg_limit = reg(-limit, "neg_limit")
        limit_minus_min = reg(limit - min_qty, "limit_minus_min")
        min_minus_limit = reg(min_qty - limit, "min_minus_limit")
        sizes_ok = reg(max_qty >= min_qty, "sizes_ok")

        # s0: eligibility, mid, prices -----------------------------------------------------------------------------
        bb, ba = self.best_bid, self.best_ask
        eligible = (self.book_valid & (self.book_side <= int(TickSide.ASK)) & (self.book_symbol == r["symbol"])
                    & r["enabled"] & ~self.halt & self.has_bid & self.has_ask & (bb < ba))
        buy_price, sell_price = ba + r["slippage"], bb - r["slippage"]
        eligible_1 = reg(eligible, "eligible_1")
        mid_1 = reg(((bb + ba) >> 1)[:p.price_width].as_signed(), "mid_1")
        buy_price_1 = reg(buy_price[:p.price_width].as_signed(), "buy_price_1")
        sell_price_1 = reg(sell_price[:p.price_width].as_signed(), "sell_price_1")
        buy_ok_1 = reg(buy_price <= p.price_max, "buy_ok_1")
        sell_ok_1 = reg(sell_price >= p.price_min, "sell_ok_1")

        # s1: offset from the anchor, band ---------------------------------------------------------------------------
        offset_2 = reg(mid_1 - r["anchor"], "offset_2")
        in_band_2 = reg((r["band_lo"] <= mid_1) & (mid_1 <= r["band_hi"]), "in_band_2")

        # s2: gamma product -----------------------------------------------------------------------------------------
        m.submodules.gamma_mul = gamma_mul = Multiplier(signed(32), offset_2.shape(), latency=mul)
        m.d.comb += [gamma_mul.a.eq(r["gamma"]), gamma_mul.b.eq(offset_2)]
        gm = gamma_mul.p
        in_band = delay(in_band_2, mul, "in_band")

        # s2+M: r_eff = r + rha(gm / 2^16), as one addition: (gm + r * 2^16 + 2^15 - [gm < 0]) >> 16 ----------------
        ratio = Mux(in_band, r["hedge_ratio"], r["alt_hedge_ratio"])
        half = Mux(gm[-1], (1 << 15) - 1, 1 << 15)
        r_eff = reg((gm + Cat(half[:RATIO_FRAC_BITS], ratio).as_signed()).shift_right(RATIO_FRAC_BITS), "r_eff")

        # s3+M: exposure product ----------------------------------------------------------------------------------------
        m.submodules.exposure_mul = exposure_mul = Multiplier(signed(33), r_eff.shape(), latency=mul)
        m.d.comb += [exposure_mul.a.eq(neg_position), exposure_mul.b.eq(r_eff)]
        y = exposure_mul.p

        # s3+2M: T = sat(rha(y / 2^16)) and |T| = sat((|y| + 2^15) >> 16), in parallel ------------------------------
        y_neg = y[-1]
        rounded = (y + Mux(y_neg, (1 << 15) - 1, 1 << 15)).shift_right(RATIO_FRAC_BITS)
        magnitude = (Mux(y_neg, ~y, y).as_unsigned() + ((1 << 15) + y_neg)).shift_right(RATIO_FRAC_BITS)
        target = reg(_clamp(rounded, -POSITION_MAX, POSITION_MAX), "target", signed(32))
        target_abs = reg(Mux(magnitude > POSITION_MAX, POSITION_MAX, magnitude), "target_abs", unsigned(31))

        # s4+2M: |T| * c; alongside, the bounds that do not need it ---------------------------------------------------
        m.submodules.threshold_mul = threshold_mul = Multiplier(unsigned(31), unsigned(divider.recip_width),
                                                                latency=mul)
        m.d.comb += [threshold_mul.a.eq(target_abs), threshold_mul.b.eq(divider.recip)]
        target_minus_min = delay(reg(target - min_qty, "target_minus_min"), mul - 1, "target_minus_min")
        target_plus_min = delay(reg(target + min_qty, "target_plus_min"), mul - 1, "target_plus_min")
        upper = delay(reg(Mux(target < limit, target, limit), "upper", signed(32)), mul - 1, "upper")
        lower = delay(reg(Mux(target > neg_limit, target, neg_limit), "lower", signed(32)), mul - 1, "lower")
        target_q = delay(target, mul, "target_q")

        # s4+3M: the bounds that need Qt or U, D ----------------------------------------------------------------------
        qt = threshold_mul.p.shift_right(THRESHOLD_RECIP_SHIFT)
        below = reg(target_q - qt, "below")                 # BUY needs H < below
        above = reg(target_q + qt, "above")                 # SELL needs H > above
        upper_step = reg(upper - max_qty, "upper_step")
        lower_step = reg(lower + max_qty, "lower_step")
        target_minus_min, target_plus_min = reg(target_minus_min, "tmm"), reg(target_plus_min, "tpm")
        upper, lower = reg(upper, "upper_l"), reg(lower, "lower_l")

        stage_delay = 4 + 3 * mul                           # s1 -> s5+3M
        eligible_l = delay(eligible_1, stage_delay, "eligible")
        buy_price_l = delay(buy_price_1, stage_delay, "buy_price")
        sell_price_l = delay(sell_price_1, stage_delay, "sell_price")
        buy_ok_l = delay(buy_ok_1, stage_delay, "buy_ok")
        sell_ok_l = delay(sell_ok_1, stage_delay, "sell_ok")

        # s5+3M: the H loop ------------------------------------------------------------------------------------------
        h = position
        need_buy = (h <= target_minus_min) & (h < below)
        need_sell = (h >= target_plus_min) & (h > above)
        buy_in_limit = sizes_ok & (h <= limit_minus_min)
        sell_in_limit = sizes_ok & (h >= min_minus_limit)
        fire_buy = eligible_l & need_buy & buy_in_limit & buy_ok_l
        fire_sell = eligible_l & need_sell & sell_in_limit & sell_ok_l
        buy_full = h <= upper_step
        sell_full = h >= lower_step
        buy_h = Mux(buy_full, h + max_qty, upper)
        sell_h = Mux(sell_full, h - max_qty, lower)
        new_h = Mux(fire_buy, buy_h, Mux(fire_sell, sell_h, h))

        with m.If(self.write & (self.write_addr == int(LegReg.HEDGE_POSITION))):
            m.d.sync += position.eq(_clamp(self.write_data.as_signed(), -POSITION_MAX, POSITION_MAX))
        with m.Elif(self.write & (self.write_addr == int(LegReg.ADJUST_POSITION))):
            m.d.sync += position.eq(_clamp(h + self.write_data.as_signed(), -POSITION_MAX, POSITION_MAX))
        with m.Else():
            m.d.sync += position.eq(new_h)

        m.d.sync += [
            self.fire.eq(fire_buy | fire_sell),
            self.side.eq(~fire_buy),
            self.qty.eq(Mux(fire_buy, Mux(buy_full, max_qty, upper - h), Mux(sell_full, max_qty, h - lower))),
            self.price.eq(Mux(fire_buy, buy_price_l, sell_price_l)),
            self.hedge_position.eq(new_h),
            self.limit_blocked.eq(eligible_l & ((need_buy & ~buy_in_limit) | (need_sell & ~sell_in_limit))),
            self.price_blocked.eq(eligible_l & ((need_buy & buy_in_limit & ~buy_ok_l)
                                                | (need_sell & sell_in_limit & ~sell_ok_l))),
        ]
        return m

"""One hedge leg for small parts: the hedge law computed in a fixed sequence of cycles on one 16 x 16 multiplier.

:class:`~.hedge_leg.HedgeLeg` evaluates the law for a tick on every cycle with three wide multipliers (14 SB_MAC16
on an iCE40, which has 8) and ~2,100 LUTs. Over a UART a tick arrives only every ~2,000 cycles, so this variant
trades the initiation interval for area: the law of docs/numbers.md is computed as written in the model
(``hedgegate.host.model``), step by step, by one multiply-accumulate unit driven by a fixed program.

**The unit.** Every value is handled in 16-bit *digits*, least significant first, signed values sign-extended (a
digit beyond a value's own digits is all sign bits, or zero for an unsigned value: such terms are left out). Each
step multiplies one digit of an A-side value by one digit of a B-side value (unsigned 16 x 16: one SB_MAC16 on an
iCE40, the product registered) and adds or subtracts the 32-bit product to an accumulator of ~37 bits. A
*phase* computes one signed sum of products ``sum(+-x * y) + init`` modulo 2^(16 C) by *product scanning*: its terms
are taken column by column (the digits of weight 2^(16 k) for k = 0 .. C-1); when a column is done, the low 16 bits
of the accumulator are shifted into the result register (the next digit of the sum) and the accumulator is shifted
right by 16. C is chosen per phase from the exact bound of the sum, so the C digits are the exact two's complement
value and the top bit its sign. Additions, subtractions and comparisons are phases too (``x * 1``), and so are
selections (``x * [flag] + y * [not flag]``, the flags as B-side digits), so the one adder serves everything.
What a phase's result is used for is its *action*: a flag (its sign), or a register loaded from a slice of it.

**The program** (``_phases``), with P, g, h, h_alt, A, lo, hi, ... the registers of docs/numbers.md:

=================  ==========================================  ==================================================
phase              sum                                          action
=================  ==========================================  ==================================================
spread             bb - ba                                      bb < ba (the book is not crossed)
above_lo           bb + ba - 2 lo                               lo <= mid  (mid = (bb + ba) >> 1)
below_hi           bb + ba - 2 hi - 2                           mid <= hi
offset             bb + ba - 2 A                                d = mid - A = that >> 1
ratio_eff          g d + (h [in band] + h_alt [not]) 2^16       r_eff = that >> 16 (rounding as HedgeLeg: the
                   + 2^15 - [g d < 0]                           rha of docs/numbers.md)
target             -(P r_eff) + 2^15 - [-P r_eff < 0]           T = sat(that >> 16)
buy                T - H                                        buy = dev >= 0 (dev = 0 never hedges)
abs_dev            +-(T - H)                                    x = |dev|
room               limit -+ H                                   y = limit - H (BUY), limit + H (SELL)
price              ba [buy] + bb [sell] +- slippage             price; whether it fits price_width bits
need_min           x - min_qty                                  |dev| >= min_qty
need_threshold     bps |T| - 10000 x                            |dev| * 10000 > bps * |T|
cap_max            x - max_order_qty                            max_order_qty <= |dev|
take_max           x [not] + max_order_qty [cap]                x = min(|dev|, max_order_qty)
cap_room           y - x                                        y < x
take_room          x [not] + y [cap]                            x = q = min(|dev|, max_order_qty, room)
qty_ok             x - min_qty                                  q >= min_qty (else limit-blocked)
finish             H +- x                                       fire, side, counters; H = H +- q if it fires
=================  ==========================================  ==================================================

Each phase takes one step per term, plus one to shift out its last digit; a phase that reads what an earlier one
stores starts 4 steps after that one ends (the pipeline: operand registers, product register, accumulator,
action). The schedule is built at elaboration (``_Schedule``) and stored in a ROM (block RAM); its length, and so
the leg's latency, depends only on price_width: **leg_latency = 161 cycles for 16-bit prices (114 product steps,
18 shift-out steps, 25 waits), 167 for 24-bit, 187 for 32-bit**, from the book snapshot to the recommendation
(``CoreParams.leg_latency``; the testbench checks it on every tick). With the compact book of N levels the core's
latency is N + 1 + leg_latency: 172 cycles for the iCEBreaker's N = 10, 16-bit core.

**Timing.** The book snapshot's cycle (s0) latches eligibility and the best prices and restarts the program; step
k is read from the ROM in cycle s0 + 2 + k, its operands registered (a register of the program's block RAM, below,
is read in that cycle and arrives in the next), multiplied in the next cycle, accumulated in the one after, and its
action applied one cycle later; the outputs are registered after the last action. The ROM word of a step holds each field skewed
to the cycle it is used in, so no control bits are delayed. The leg holds one tick at a time: the core accepts the
next tick only when this one's recommendations are out (``CoreParams.tick_interval`` = ``latency``).

**Registers and writes** are those of HedgeLeg (the register map, the low-bits-of-the-data writes, reset values,
and ``hedge_position_write``'s saturation of H writes), but the eleven registers only the program reads live in a block
RAM (two SB_RAM40_4K), written normalised (sign- or zero-extended from the register's width); ENABLED, SYMBOL
(read at s0) and THRESHOLD_BPS (a B-side operand) are flip-flops (``leg_registers``). A block RAM keeps its
contents through a reset, so a register not written since the last reset reads as its reset value (a bit per
register says which; the ROM carries the reset value's digit with each step that reads one). The threshold test
needs no reciprocal here: ``bps * |T|`` and ``10000 * |dev|`` are both products with a 16-bit number, so it is
compared exactly as the model states it, and a THRESHOLD_BPS write takes effect at once (no divider, no busy time).
A write of H keeps ``busy`` high for two cycles while it is saturated and loaded.

**Limits.** A tick every ``latency`` cycles at most (172 at N = 10: 5.7 us at 30 MHz, against 56.7 us for one
TICK frame of 17 bytes at 3 Mbaud). One multiplier per leg: L legs run side by side, each with its own (and its
own ROM and register RAM: 6 block RAMs and 1 SB_MAC16 per leg on the iCE40).
"""

from dataclasses import dataclass, field
from functools import cache

from amaranth.hdl import C, Cat, Module, Mux, Shape, Signal, signed, unsigned
from amaranth.lib import data, enum, wiring
from amaranth.lib.memory import Memory

from .hedge_leg import HedgeLeg, leg_registers, hedge_position_write
from .layouts import TickSide
from .params import POSITION_MAX, THRESHOLD_BPS_MAX, CoreParams
from .regmap import LegReg, leg_reset_values, leg_register_shapes

__all__ = ["CompactHedgeLeg", "leg_latency"]

DIGIT = 16
_PIPELINE = 4          # steps from a phase's last step to the first step that may read what its action stores


def _digits(width: int, is_signed: bool) -> int:
    """Digits a value has of its own; further digits are its sign extension (all sign bits, or zero)."""
    return -(-(width - is_signed) // DIGIT)


def _columns(bound: int) -> int:
    """Digits that hold every signed value in [-bound, bound] exactly."""
    columns = 1
    while bound >= 1 << (DIGIT * columns - 1):
        columns += 1
    return columns


class _Flip(enum.Enum, shape=2):
    """A term's sign is flipped (subtracted instead of added, or the reverse) when this flag holds."""
    NONE = 0
    TARGET_NEG = 1     # T < 0: for |T|
    BUY = 2
    SELL = 3


class _Base(enum.Enum, shape=2):
    """What the accumulator adds the product to."""
    KEEP = 0           # itself: another term of the same column
    SHIFT = 1          # itself >> 16: the first term of the next column
    INIT = 2           # the phase's initial value: its first term


class _Init(enum.Enum, shape=2):
    ZERO = 0
    MINUS_TWO = 1      # below_hi: bb + ba - 2 hi - 2
    ROUND_R = 2        # 2^15 - [g d < 0]
    ROUND_Y = 3        # 2^15 - [-P r_eff < 0]


# Actions: flags (name, set when the result is negative?) and stores. The value 0 is "none".
_FLAGS = {
    "spread_ok": True, "above_lo": False, "below_hi": True, "buy": False, "need_min": False,
    "need_threshold": True, "cap_max": False, "cap_room": True, "qty_ok": False,
}
_STORES = ("offset", "ratio_eff", "target", "x", "y", "price", "finish")
_ACTIONS = ("none",) + tuple(_FLAGS) + _STORES


def _a_sources(p: CoreParams) -> dict:
    """A-side values: name -> (width, signed)."""
    pw = p.price_width
    return {
        "bb": (pw, True), "ba": (pw, True), "band_lo": (pw, True), "band_hi": (pw, True), "anchor": (pw, True),
        "slippage": (pw - 1, False), "gamma": (32, True), "hedge_ratio": (32, True), "alt_hedge_ratio": (32, True),
        "position": (32, True), "target": (32, True), "hedge": (32, True), "x": (33, True), "y": (33, True),
        "min_qty": (32, False), "max_order_qty": (32, False), "position_limit": (31, False),
    }


# Leg registers that only the program reads: kept in a block RAM (one 32-bit word per register, as two 16-bit banks:
# the digits), written normalised (sign- or zero-extended from the register's width to 32 bits). The others --
# ENABLED and SYMBOL (read at s0), THRESHOLD_BPS (a B-side operand) -- stay in flip-flops, and H is the leg's own.
_RAM_REGISTERS = {"band_lo": LegReg.BAND_LO, "band_hi": LegReg.BAND_HI, "anchor": LegReg.ANCHOR,
                  "slippage": LegReg.SLIPPAGE, "gamma": LegReg.GAMMA, "hedge_ratio": LegReg.HEDGE_RATIO,
                  "alt_hedge_ratio": LegReg.ALT_HEDGE_RATIO, "position": LegReg.POSITION, "min_qty": LegReg.MIN_QTY,
                  "max_order_qty": LegReg.MAX_ORDER_QTY, "position_limit": LegReg.POSITION_LIMIT}


def _ratio_eff_bound(p: CoreParams) -> int:
    """max |r_eff| = |r| + |rha(g * (mid - A) / 2^16)| with |g| <= 2^31, |mid - A| <= 2^pw - 1."""
    return (1 << 31) + (((1 << 31) * ((1 << p.price_width) - 1) + (1 << 15)) >> 16)


def _ratio_eff_width(p: CoreParams) -> int:
    return _ratio_eff_bound(p).bit_length() + 1


# B-side flags: each is a one-bit digit (the selection terms multiply by it).
_B_FLAGS = ("in_band", "out_band", "buy", "sell", "cap_max", "keep_max", "cap_room", "keep_room")


def _b_sources(p: CoreParams) -> dict:
    sources = {"one": (16, False), "two": (16, False), "ten_k": (16, False), "threshold_bps": (16, False),
               "offset": (p.price_width + 1, True), "ratio_eff": (_ratio_eff_width(p), True)}
    sources.update({flag: (1, False) for flag in _B_FLAGS})
    return sources


@dataclass
class _Term:
    column: int
    a: str
    a_digit: int
    b: str
    b_digit: int
    sub: bool
    flip: _Flip


@dataclass
class _Phase:
    name: str
    bound: int                                 # |sum| <= bound: sets the number of columns
    terms: list = field(default_factory=list)
    init: _Init = _Init.ZERO
    action: str = "none"
    reads: tuple = ()                          # values stored or flags set by earlier phases that the steps use

    @property
    def columns(self) -> int:
        return _columns(self.bound)


def _phases(p: CoreParams) -> list[_Phase]:
    """The hedge law as phases, in program order (see the module docstring)."""
    a_src, b_src = _a_sources(p), _b_sources(p)
    pw = p.price_width

    def product(phase, a, b, *, sub=False, flip=_Flip.NONE, shift=0):
        """Terms of a * b (at column offset ``shift``) below the phase's column count; zero digits left out."""
        (aw, a_signed), (bw, b_signed) = a_src[a], b_src[b]
        na, nb = _digits(aw, a_signed), _digits(bw, b_signed)
        for i in range(phase.columns):
            for j in range(phase.columns - i - shift):
                if (i >= na and not a_signed) or (j >= nb and not b_signed):
                    continue
                phase.terms.append(_Term(i + j + shift, a, i, b, j, sub, flip))

    def phase(name, bound, parts, **kwargs):
        ph = _Phase(name, bound, **kwargs)
        for part in parts:
            a, b, *rest = part
            product(ph, a, b, **(rest[0] if rest else {}))
        return ph

    price_sum = (1 << (pw + 1)) + 2                      # |bb + ba - 2 x - 2| (x a price)
    wide = 1 << 33                                       # sums of two 33-bit values
    ratio_eff_bound = _ratio_eff_bound(p)
    neg, buy_flip, sell_flip = {"sub": True}, {"flip": _Flip.BUY}, {"flip": _Flip.SELL}
    return [
        phase("spread", 1 << pw, [("bb", "one"), ("ba", "one", neg)], action="spread_ok"),
        phase("above_lo", price_sum, [("bb", "one"), ("ba", "one"), ("band_lo", "two", neg)], action="above_lo"),
        phase("below_hi", price_sum, [("bb", "one"), ("ba", "one"), ("band_hi", "two", neg)],
              init=_Init.MINUS_TWO, action="below_hi"),
        phase("offset", price_sum, [("bb", "one"), ("ba", "one"), ("anchor", "two", neg)], action="offset"),
        phase("ratio_eff", (1 << 31) * ((1 << pw) - 1) + (1 << 47) + (1 << 15),
              [("gamma", "offset"), ("hedge_ratio", "in_band", {"shift": 1}),
               ("alt_hedge_ratio", "out_band", {"shift": 1})],
              init=_Init.ROUND_R, action="ratio_eff", reads=("offset", "above_lo", "below_hi")),
        phase("target", (1 << 31) * ratio_eff_bound + (1 << 15), [("position", "ratio_eff", neg)],
              init=_Init.ROUND_Y, action="target", reads=("ratio_eff",)),
        phase("buy", wide, [("target", "one"), ("hedge", "one", neg)], action="buy", reads=("target",)),
        phase("abs_dev", wide, [("target", "one", sell_flip), ("hedge", "one", {"sub": True, **sell_flip})],
              action="x", reads=("target", "buy")),
        phase("room", wide, [("position_limit", "one"), ("hedge", "one", buy_flip)], action="y", reads=("buy",)),
        phase("price", 1 << pw, [("ba", "buy"), ("bb", "sell"), ("slippage", "one", sell_flip)], action="price",
              reads=("buy",)),
        phase("need_min", wide, [("x", "one"), ("min_qty", "one", neg)], action="need_min", reads=("x",)),
        phase("need_threshold", THRESHOLD_BPS_MAX * POSITION_MAX, [("target", "threshold_bps", {"flip": _Flip.TARGET_NEG}),
                                          ("x", "ten_k", neg)], action="need_threshold", reads=("target", "x")),
        phase("cap_max", wide, [("x", "one"), ("max_order_qty", "one", neg)], action="cap_max", reads=("x",)),
        phase("take_max", wide, [("x", "keep_max"), ("max_order_qty", "cap_max")], action="x",
              reads=("x", "cap_max")),
        phase("cap_room", wide, [("y", "one"), ("x", "one", neg)], action="cap_room", reads=("x", "y")),
        phase("take_room", wide, [("x", "keep_room"), ("y", "cap_room")], action="x", reads=("x", "y", "cap_room")),
        phase("qty_ok", wide, [("x", "one"), ("min_qty", "one", neg)], action="qty_ok", reads=("x",)),
        phase("finish", wide, [("hedge", "one"), ("x", "one", sell_flip)], action="finish", reads=("x",)),
    ]


# What each read name waits for: the action that produces it (B-side flags derive from A-side ones).
_PRODUCER = {"in_band": ("above_lo", "below_hi"), "out_band": ("above_lo", "below_hi"), "sell": ("buy",),
             "keep_max": ("cap_max",), "keep_room": ("cap_room",)}


class _Schedule:
    """The program: one control word per step, phases in order, a phase starting as soon as what it reads is
    stored. Step k is read from the ROM in cycle s0 + 2 + k; ``length`` steps, the last one a no-op."""

    def __init__(self, p: CoreParams):
        self.params = p
        self.a_sources, self.b_sources = _a_sources(p), _b_sources(p)
        # Flip-flop A-side values (the RAM registers are addressed by their LegReg instead).
        self.a_digits = [(name, i) for name, (w, s) in self.a_sources.items() if name not in _RAM_REGISTERS
                         for i in range(_digits(w, s))]
        self.a_signed = [name for name, (_, s) in self.a_sources.items() if s and name not in _RAM_REGISTERS]
        self.resets = leg_reset_values(p)
        self.b_inputs = ["zero"] + [(name, i) for name, (w, s) in self.b_sources.items()
                                    for i in range(_digits(w, s))] + \
                        [(name, "ext") for name, (_, s) in self.b_sources.items() if s]
        self.phases = _phases(p)
        self.columns = {}                       # action -> columns of its phase's result
        self.steps = []                         # dicts of control fields
        ready = {}                              # name -> first step that may read it
        done = set()
        for phase in self.phases:
            producers = [name for read in phase.reads for name in _PRODUCER.get(read, (read,))]
            assert all(name in done for name in producers), f"{phase.name} reads what no earlier phase stores"
            waits = [ready[name] for name in producers]
            while len(self.steps) < max(waits, default=0):
                self.steps.append({})          # no-op
            self._emit(phase)
            self.steps.append({"emit": 1, "action": _ACTIONS.index(phase.action)})   # last digit out; action
            assert self.columns.setdefault(phase.action, phase.columns) == phase.columns
            ready[phase.action] = len(self.steps) - 1 + _PIPELINE
            done.add(phase.action)
        self.finish_step = len(self.steps) - 1
        self.steps.append({})                   # the idle word the sequencer stops on
        self.result_columns = max(self.columns.values())
        self.max_terms = max(sum(1 for t in ph.terms if t.column == c) for ph in self.phases
                             for c in range(ph.columns))

    def _emit(self, phase):
        for column in range(phase.columns):
            terms = [t for t in phase.terms if t.column == column] or [None]     # None: a column with no term
            for index, term in enumerate(terms):
                step = {"base": _Base.INIT if column == 0 and index == 0 else
                        _Base.SHIFT if index == 0 else _Base.KEEP,
                        "emit": int(column > 0 and index == 0), "init": phase.init}
                if term is not None:
                    a_width, a_signed = self.a_sources[term.a]
                    real = _digits(a_width, a_signed)
                    if term.a in _RAM_REGISTERS:
                        # An extension digit is the top digit's bit 15 (the words are normalised), replicated.
                        # Until the register is written after a reset, the digit comes from the ROM (a_reset).
                        addr = _RAM_REGISTERS[term.a]
                        index = min(term.a_digit, real - 1)
                        word = self.resets[addr] & 0xFFFF_FFFF
                        step.update(a_reg=int(addr), a_ram=1, a_hi=index, a_ram_ext=int(term.a_digit >= real),
                                    a_reset=(word >> (DIGIT * index)) & 0xFFFF)
                    elif term.a_digit < real:
                        step["a_sel"] = self.a_digits.index((term.a, term.a_digit))
                    else:
                        step["a_ext"] = 1
                        step["a_sign"] = self.a_signed.index(term.a)
                    b_width, b_signed = self.b_sources[term.b]
                    key = (term.b, term.b_digit) if term.b_digit < _digits(b_width, b_signed) else (term.b, "ext")
                    step.update(b_sel=self.b_inputs.index(key), sub=int(term.sub), flip=term.flip)
                self.steps.append(step)

    @property
    def length(self) -> int:
        return len(self.steps)

    @property
    def leg_latency(self) -> int:
        """s0 to the registered outputs: the finish step is read in s0 + 2 + k, its action applied 3 cycles later,
        the outputs registered at the end of that cycle."""
        return self.finish_step + 6

    # A step's fields are used in three cycles: its operands when the step is read, how its product is accumulated
    # two cycles later, its action three cycles later. The ROM word of step k holds step k's operand fields, step
    # k - 2's accumulate fields and step k - 3's action, so no control bits need delaying.
    # (The RAM register's address is read with the operand fields; what to make of the RAM's word, which comes a
    # cycle later, one cycle after them.)
    _OPERAND_FIELDS = ("a_sel", "a_ext", "a_sign", "b_sel", "a_reg")
    _RAM_FIELDS = ("a_ram", "a_hi", "a_ram_ext", "a_reset")
    _ACCUMULATE_FIELDS = ("sub", "flip", "base", "emit", "init")
    _SKEW = {**{name: 0 for name in _OPERAND_FIELDS}, **{name: 1 for name in _RAM_FIELDS},
             **{name: 2 for name in _ACCUMULATE_FIELDS}, "action": 3}

    def control_layout(self):
        def bits(count):
            return max(1, (count - 1).bit_length())
        return data.StructLayout({
            "a_sel": bits(len(self.a_digits)), "a_ext": 1, "a_sign": bits(len(self.a_signed)),
            "b_sel": bits(len(self.b_inputs)), "a_reg": 4, "a_ram": 1, "a_hi": 1, "a_ram_ext": 1, "a_reset": DIGIT,
            "sub": 1, "flip": _Flip, "base": _Base, "emit": 1, "init": _Init, "action": bits(len(_ACTIONS)),
        })

    @property
    def rom_depth(self) -> int:
        return self.length + max(self._SKEW.values())

    def words(self) -> list[int]:
        """The ROM: word k holds each field of the step it belongs to (``_SKEW``); all-zero words are no-ops."""
        layout = self.control_layout()
        words = [0] * self.rom_depth
        for index, step in enumerate(self.steps):
            for name, value in step.items():
                value = int(value.value if isinstance(value, enum.Enum) else value)
                words[index + self._SKEW[name]] |= value << layout[name].offset
        return words


@cache
def _schedule(params: CoreParams) -> _Schedule:
    return _Schedule(params)


def leg_latency(params: CoreParams) -> int:
    """Cycles from the book snapshot to the compact leg's outputs (``CoreParams.leg_latency``)."""
    return _schedule(params).leg_latency


class CompactHedgeLeg(wiring.Component):
    """A hedge leg with the ports of :class:`~.hedge_leg.HedgeLeg`, results ``CoreParams.leg_latency`` cycles after
    the snapshot; it must not get a snapshot while it computes (the core's ``tick_interval``)."""

    def __init__(self, params: CoreParams):
        self._params = params
        super().__init__(HedgeLeg._ports(params))

    def elaborate(self, platform):
        m = Module()
        p = self._params
        pw = p.price_width
        schedule = _schedule(p)

        def reg(value, name, shape=None):
            out = Signal(shape if shape is not None else value.shape(), name=name)
            m.d.sync += out.eq(value)
            return out

        # Registers and writes of H, as HedgeLeg's; most registers in a block RAM (below) -------------------------
        ram_addresses = set(_RAM_REGISTERS.values())
        regs, hedge_position = leg_registers(m, self, addresses=set(LegReg) - ram_addresses)
        h_written, load_value = hedge_position_write(m, self, hedge_position, staged=False)
        load = reg(h_written, "load")                      # load_value is ready the cycle after h_written
        with m.If(load):
            m.d.sync += hedge_position.eq(load_value)
        m.d.comb += [
            self.busy.eq(h_written | load),
            self.hedge_position.eq(hedge_position),
        ]

        # s0: eligibility (all but the crossed book: the spread phase) and the best prices, which the phases read
        # later (the snapshot ports are valid in s0 only).
        eligible = Signal()
        bb, ba = Signal(signed(pw), name="bb"), Signal(signed(pw), name="ba")
        with m.If(self.book_valid):
            m.d.sync += [
                eligible.eq((self.book_side <= int(TickSide.ASK)) & (self.book_symbol == regs[LegReg.SYMBOL])
                            & regs[LegReg.ENABLED] & ~self.halt & self.has_bid & self.has_ask),
                bb.eq(self.best_bid),
                ba.eq(self.best_ask),
            ]

        # Values the program stores and flags its actions set ------------------------------------------------------
        offset = Signal(signed(pw + 1), name="offset")
        ratio_eff = Signal(signed(_ratio_eff_width(p)), name="ratio_eff")
        target = Signal(signed(32), name="target")
        x, y = Signal(signed(33), name="x"), Signal(signed(33), name="y")
        price = Signal(signed(pw), name="price_r")
        flags = {name: Signal(name=name) for name in _FLAGS}
        price_ok = Signal()

        # Sequencer: the program in a ROM, restarted by every snapshot --------------------------------------------
        last = schedule.rom_depth - 1
        step = Signal(range(schedule.rom_depth), init=last)
        with m.If(self.book_valid):
            m.d.sync += step.eq(0)
        with m.Elif(step != last):
            m.d.sync += step.eq(step + 1)
        layout = schedule.control_layout()
        m.submodules.program = program = Memory(shape=unsigned(layout.size), depth=schedule.rom_depth,
                                                init=schedule.words())
        rom = program.read_port()
        m.d.comb += rom.addr.eq(step)
        control = data.View(layout, rom.data)

        # The RAM registers: written normalised (the register's width, sign- or zero-extended to 32 bits, so that a
        # word's digits are the value's); read one per cycle by the program. A block RAM keeps its contents through
        # a reset, so `written` (cleared by reset) tells which words hold a value written since: the others read as
        # their reset values, which the ROM holds with each step that reads them.
        shapes, resets = leg_register_shapes(p), leg_reset_values(p)
        m.submodules.registers = registers = Memory(
            shape=unsigned(2 * DIGIT), depth=16,
            init=[resets[addr] & 0xFFFF_FFFF if addr in ram_addresses else 0 for addr in range(16)])
        ram_write = registers.write_port()
        normalised = Signal(2 * DIGIT)
        written = Signal(16)
        with m.Switch(self.write_addr):
            for addr in ram_addresses:
                with m.Case(int(addr)):
                    shape = shapes[addr]
                    value = self.write_data[:shape.width]
                    m.d.comb += [normalised.eq(value.as_signed() if shape.signed else value),
                                 ram_write.en.eq(self.write)]
                    with m.If(self.write):
                        m.d.sync += written.bit_select(int(addr), 1).eq(1)
        m.d.comb += [ram_write.addr.eq(self.write_addr[:4]), ram_write.data.eq(normalised)]
        # Shadows of two signs the rounding terms need (ROUND_R, ROUND_Y), with the registers' reset value (0).
        gamma_neg, position_neg = Signal(), Signal()
        with m.If(self.write & (self.write_addr == int(LegReg.GAMMA))):
            m.d.sync += gamma_neg.eq(self.write_data[31])
        with m.If(self.write & (self.write_addr == int(LegReg.POSITION))):
            m.d.sync += position_neg.eq(self.write_data[31])

        # Operands (step k's control word, cycle s0 + 2 + k) -------------------------------------------------------
        a_values = {"bb": bb, "ba": ba, "target": target, "hedge": hedge_position, "x": x, "y": y}
        flag_digits = {"in_band": flags["above_lo"] & flags["below_hi"],
                       "out_band": ~(flags["above_lo"] & flags["below_hi"]),
                       "buy": flags["buy"], "sell": ~flags["buy"], "cap_max": flags["cap_max"],
                       "keep_max": ~flags["cap_max"], "cap_room": flags["cap_room"], "keep_room": ~flags["cap_room"]}
        b_values = {"one": C(1, 16), "two": C(2, 16), "ten_k": C(10000, 16),
                    "threshold_bps": regs[LegReg.THRESHOLD_BPS], "offset": offset, "ratio_eff": ratio_eff,
                    **flag_digits}

        def digit(value, index):
            """Digit ``index`` of ``value``, sign- or zero-extended as its shape says."""
            wide = Signal(Shape(DIGIT * (index + 1), value.shape().signed))
            m.d.comb += wide.eq(value)
            return wide[DIGIT * index:]

        a_digit = Signal(DIGIT)
        with m.Switch(control.a_sel):
            for index, (name, i) in enumerate(schedule.a_digits):
                with m.Case(index):
                    m.d.comb += a_digit.eq(digit(a_values[name], i))
        a_sign = Signal()
        with m.Switch(control.a_sign):
            for index, name in enumerate(schedule.a_signed):
                with m.Case(index):
                    m.d.comb += a_sign.eq(a_values[name][-1])
        b_digit = Signal(DIGIT)
        with m.Switch(control.b_sel):
            for index, entry in enumerate(schedule.b_inputs):
                if entry == "zero":
                    continue
                name, i = entry
                with m.Case(index):
                    value = b_values[name]
                    m.d.comb += b_digit.eq(value[-1].replicate(DIGIT) if i == "ext" else digit(value, i))

        # Multiply (one SB_MAC16 on an iCE40, the product registered) ------------------------------------------------
        ram_read = registers.read_port()
        m.d.comb += ram_read.addr.eq(control.a_reg)
        a_reg_1 = reg(control.a_reg, "a_reg_1")
        a_q = reg(Mux(control.a_ext, a_sign.replicate(DIGIT), a_digit), "a_q", unsigned(DIGIT))
        b_q = reg(b_digit, "b_q", unsigned(DIGIT))
        # One cycle later (the RAM's word and the ROM's RAM fields are there now): the A operand.
        ram_digit = Mux(written.bit_select(a_reg_1, 1),
                        Mux(control.a_hi, ram_read.data[DIGIT:], ram_read.data[:DIGIT]), control.a_reset)
        a_operand = Mux(control.a_ram, Mux(control.a_ram_ext, ram_digit[-1].replicate(DIGIT), ram_digit), a_q)
        product = reg(a_operand * b_q, "product", unsigned(2 * DIGIT))

        # Accumulate (cycle s0 + 4 + k) ---------------------------------------------------------------------------
        acc_width = 2 * DIGIT + schedule.max_terms.bit_length() + 2
        acc = Signal(signed(acc_width))
        result = Signal(DIGIT * schedule.result_columns)
        flip = Signal()
        with m.Switch(control.flip):
            with m.Case(_Flip.TARGET_NEG):
                m.d.comb += flip.eq(target[-1])
            with m.Case(_Flip.BUY):
                m.d.comb += flip.eq(flags["buy"])
            with m.Case(_Flip.SELL):
                m.d.comb += flip.eq(~flags["buy"])
        subtract = control.sub ^ flip
        init = Signal(signed(acc_width))
        with m.Switch(control.init):
            with m.Case(_Init.MINUS_TWO):
                m.d.comb += init.eq(-2)
            with m.Case(_Init.ROUND_R):
                m.d.comb += init.eq((1 << 15) - (gamma_neg ^ offset[-1]))
            with m.Case(_Init.ROUND_Y):
                m.d.comb += init.eq((1 << 15) - (~position_neg ^ ratio_eff[-1]))
        base = Signal(signed(acc_width))
        with m.Switch(control.base):
            with m.Case(_Base.KEEP):
                m.d.comb += base.eq(acc)
            with m.Case(_Base.SHIFT):
                m.d.comb += base.eq(acc >> DIGIT)
            with m.Case(_Base.INIT):
                m.d.comb += base.eq(init)
        # base +- product as one carry chain: the product's bits inverted and a carry in of 1 when subtracting.
        term = Cat(product, C(0, acc_width - 2 * DIGIT)) ^ subtract.replicate(acc_width)
        m.d.sync += acc.eq(base + term + subtract)
        with m.If(control.emit):
            m.d.sync += result.eq(Cat(result[DIGIT:], acc[:DIGIT]))

        # Actions (cycle s0 + 5 + k): the phase's value is the top `columns` digits of `result` ------------------
        def value(action):
            return result[DIGIT * (schedule.result_columns - schedule.columns[action]):]
        negative = result[-1]
        m.d.sync += [self.fire.eq(0), self.limit_blocked.eq(0), self.price_blocked.eq(0)]
        with m.Switch(control.action):
            for name, when_negative in _FLAGS.items():
                with m.Case(_ACTIONS.index(name)):
                    m.d.sync += flags[name].eq(negative if when_negative else ~negative)
            with m.Case(_ACTIONS.index("offset")):
                m.d.sync += offset.eq(value("offset")[1:pw + 2])            # (bb + ba - 2A) >> 1
            with m.Case(_ACTIONS.index("ratio_eff")):
                m.d.sync += ratio_eff.eq(value("ratio_eff")[DIGIT:DIGIT + len(ratio_eff)])
            with m.Case(_ACTIONS.index("target")):
                rounded = value("target")[DIGIT:]                            # rha(y / 2^16), not saturated
                upper, lower = rounded[31:], rounded[:31]
                fits = ~upper.any() | (upper.all() & lower.any())             # in [-(2^31-1), 2^31-1]
                m.d.sync += target.eq(Mux(fits, rounded[:32], Mux(negative, -POSITION_MAX, POSITION_MAX)))
            with m.Case(_ACTIONS.index("x")):
                m.d.sync += x.eq(value("x")[:33])
            with m.Case(_ACTIONS.index("y")):
                m.d.sync += y.eq(value("y")[:33])
            with m.Case(_ACTIONS.index("price")):
                high = value("price")[pw - 1:]
                m.d.sync += [price.eq(value("price")[:pw]), price_ok.eq(high.all() | ~high.any())]
            with m.Case(_ACTIONS.index("finish")):
                needed = eligible & flags["spread_ok"] & flags["need_min"] & flags["need_threshold"]
                fire = needed & flags["qty_ok"] & price_ok
                m.d.sync += [
                    self.fire.eq(fire),
                    self.limit_blocked.eq(needed & ~flags["qty_ok"]),
                    self.price_blocked.eq(needed & flags["qty_ok"] & ~price_ok),
                ]
                with m.If(fire):
                    m.d.sync += hedge_position.eq(value("finish")[:32])
        m.d.comb += [
            self.side.eq(~flags["buy"]),
            self.qty.eq(x[:32]),
            self.price.eq(price),
        ]
        return m

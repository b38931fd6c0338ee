"""Clock generators: the board's crystal clock through the FPGA's PLL into the design's ``sync`` domain.

The core's clock is set by a timing target (constraints/boards.toml, or ``hedgegate build --clock-mhz``), not by the
crystal, so each family's PLL is configured here from the requested frequency:

* ECP5 (ULX3S, 25 MHz crystal): ``EHXPLLL`` with CLKOP fed back (``FEEDBK_PATH = "CLKOP"``). The divider search is
  the one of Project Trellis' ``ecppll``: f_pfd = f_in / CLKI_DIV in [3.125, 400] MHz,
  f_vco = f_pfd * CLKFB_DIV * CLKOP_DIV in [400, 800] MHz, f_out = f_vco / CLKOP_DIV in [10, 400] MHz; the closest
  f_out wins, ties go to the VCO nearest 600 MHz. CLKOP_CPHASE, the filter attributes and the FREQUENCY_PIN_*
  attributes (which tell nextpnr the output's frequency) are written as ``ecppll`` writes them.
  A second output (CLKOS, ``secondary_hz``) divides the same VCO by CLKOS_DIV in 1..128: among the settings that
  make the primary frequency, those whose VCO also gives the secondary within :data:`TOLERANCE` are kept (then the
  VCO nearest 600 MHz). Unlike ``ecppll``, which truncates VCO / f, CLKOS_DIV is the nearest divisor; CLKOS_CPHASE
  is CLKOP's, as ``ecppll`` writes it for a secondary output at 0 degrees.
* iCE40 (iCEBreaker, 12 MHz oscillator on pin 35): ``SB_PLL40_PAD``. Pin 35 (IOT_46b_G0) is the UP5K's PLL input
  pad: the PLL takes its reference straight from the pad, and the 12 MHz clock is then not available to the fabric,
  which nothing here needs (the reset logic runs on the PLL's output). SIMPLE feedback; the search is the one of
  IceStorm's ``icepll``: f_pfd = f_in / (DIVR + 1) in [10, 133] MHz, f_vco = f_pfd * (DIVF + 1) in [533, 1066] MHz,
  f_out = f_vco / 2^DIVQ (DIVQ 1..6) in [16, 275] MHz; FILTER_RANGE from f_pfd as ``icepll`` sets it. The output
  drives the global network directly (PLLOUTGLOBAL).

Both searches use exact fractions (the tools use float and double; on the grids they search, both give the same
choice). A frequency that cannot be made to within :data:`TOLERANCE` raises :class:`PLLError`; otherwise the
*achieved* frequency is what the design is constrained to and built for (:attr:`achieved_hz`).

Reset: until the PLL reports lock its output is not a clock to trust, so the design is held in reset (``rst``) while
``LOCK`` is low (asynchronously asserted, released through a :class:`~amaranth.lib.cdc.ResetSynchronizer`) and for
:data:`RESET_DELAY_S` after lock. The delay also covers the iCE40's block RAMs, which read as zeros for ~3 us after
configuration (Amaranth's own iCE40 clocking waits 15 us for the same reason). A lost lock resets the design again.
On the ECP5 the reset is distributed on a global network (a ``DCCA``), like a clock.
"""

from dataclasses import dataclass
from fractions import Fraction

from amaranth.hdl import ClockDomain, ClockSignal, Const, Instance, Module, ResetSignal, Signal
from amaranth.lib import io, wiring
from amaranth.lib.cdc import ResetSynchronizer
from amaranth.lib.wiring import Out

__all__ = ["PLLError", "ECP5PLLSettings", "ICE40PLLSettings", "ecp5_pll_settings", "ice40_pll_settings",
           "ECP5PLL", "ICE40PLL", "TOLERANCE", "RESET_DELAY_S"]

TOLERANCE = Fraction(1, 100)     # |achieved - requested| / requested allowed
RESET_DELAY_S = Fraction(15, 1_000_000)

_MHZ = 1_000_000


class PLLError(ValueError):
    """The requested output frequency cannot be made from the input clock (message says why, on one line)."""


def _mhz(hz) -> str:
    return f"{float(hz) / _MHZ:g} MHz"


def _check(requested_hz, achieved_hz, family: str, low_hz, high_hz):
    if achieved_hz is None:
        raise PLLError(f"{family} PLL cannot make {_mhz(requested_hz)} (its output range is "
                       f"{_mhz(low_hz)} to {_mhz(high_hz)})")
    if abs(achieved_hz - requested_hz) > TOLERANCE * requested_hz:
        raise PLLError(f"{family} PLL cannot make {_mhz(requested_hz)}: the nearest it can make is "
                       f"{float(achieved_hz) / _MHZ:.3f} MHz, more than {float(TOLERANCE):.0%} away")


@dataclass(frozen=True)
class ECP5PLLSettings:
    clki_div: int
    clkfb_div: int
    clkop_div: int
    input_hz: Fraction
    vco_hz: Fraction
    achieved_hz: Fraction
    clkos_div: int = 0              # 0: no secondary output

    @property
    def secondary_hz(self) -> Fraction | None:
        return self.vco_hz / self.clkos_div if self.clkos_div else None

    @property
    def clkop_cphase(self) -> int:
        # ecppll shifts CLKOP by half a period (in VCO cycles: clkop_div / 2, truncated), as Lattice's tools do.
        return self.clkop_div // 2


def ecp5_pll_settings(input_hz, output_hz, secondary_hz=None) -> ECP5PLLSettings:
    """EHXPLLL dividers for ``output_hz`` (CLKOP) and, if given, ``secondary_hz`` (CLKOS) from ``input_hz`` (the
    search of ``ecppll``; see the module docstring)."""
    f_in, f_out = Fraction(input_hz), Fraction(output_hz)
    f_2 = None if secondary_hz is None else Fraction(secondary_hz)
    best, best_key = None, None
    for clki_div in range(1, 129):
        f_pfd = f_in / clki_div
        if not 3_125_000 <= f_pfd <= 400 * _MHZ:
            continue
        for clkfb_div in range(1, 81):
            achieved = f_pfd * clkfb_div          # f_vco / clkop_div
            for clkop_div in range(1, 129):
                f_vco = achieved * clkop_div
                if f_vco < 400 * _MHZ:
                    continue
                if f_vco > 800 * _MHZ:
                    break
                clkos_div, missed = 0, False
                if f_2 is not None:
                    clkos_div = min(128, max(1, round(f_vco / f_2)))
                    missed = abs(f_vco / clkos_div - f_2) > TOLERANCE * f_2
                key = (abs(achieved - f_out), missed, abs(f_vco - 600 * _MHZ))
                if best_key is None or key < best_key:
                    best_key = key
                    best = ECP5PLLSettings(clki_div, clkfb_div, clkop_div, f_in, f_vco, achieved, clkos_div)
    if best is not None and not 10 * _MHZ <= best.achieved_hz <= 400 * _MHZ:
        best = None
    _check(f_out, best and best.achieved_hz, "ECP5", 10 * _MHZ, 400 * _MHZ)
    if f_2 is not None and best_key[1]:
        raise PLLError(f"ECP5 PLL cannot make {_mhz(f_2)} alongside {float(best.achieved_hz) / _MHZ:.3f} MHz: no "
                       f"VCO for the latter divides to within {float(TOLERANCE):.0%} of the former")
    return best


@dataclass(frozen=True)
class ICE40PLLSettings:
    divr: int
    divf: int
    divq: int
    input_hz: Fraction
    vco_hz: Fraction
    achieved_hz: Fraction

    @property
    def filter_range(self) -> int:
        f_pfd = self.input_hz / (self.divr + 1) / _MHZ
        return 1 if f_pfd < 17 else 2 if f_pfd < 26 else 3 if f_pfd < 44 else 4 if f_pfd < 66 else \
            5 if f_pfd < 101 else 6


def ice40_pll_settings(input_hz, output_hz) -> ICE40PLLSettings:
    """SB_PLL40 dividers (SIMPLE feedback) for ``output_hz`` from ``input_hz`` (the search of ``icepll``)."""
    f_in, f_out = Fraction(input_hz), Fraction(output_hz)
    if not 10 * _MHZ <= f_in <= 133 * _MHZ:
        raise PLLError(f"iCE40 PLL input {_mhz(f_in)} is outside 10 MHz to 133 MHz")
    best = None
    if 16 * _MHZ <= f_out <= 275 * _MHZ:
        for divr in range(16):
            f_pfd = f_in / (divr + 1)
            if not 10 * _MHZ <= f_pfd <= 133 * _MHZ:
                continue
            for divf in range(128):
                f_vco = f_pfd * (divf + 1)
                if not 533 * _MHZ <= f_vco <= 1066 * _MHZ:
                    continue
                for divq in range(1, 7):
                    achieved = f_vco / (1 << divq)
                    if best is None or abs(achieved - f_out) < abs(best.achieved_hz - f_out):
                        best = ICE40PLLSettings(divr, divf, divq, f_in, f_vco, achieved)
    _check(f_out, best and best.achieved_hz, "iCE40", 16 * _MHZ, 275 * _MHZ)
    return best


class _ClockGenerator(wiring.Component):
    """Common part: the PLL's output clocks and a reset for each, held until lock plus :data:`RESET_DELAY_S`.

    The user defines the clock domains from ``clk``/``rst`` and ``clk2``/``rst2`` (Amaranth 0.6 will want a domain
    defined where it is used or above, not in a sibling):

        m.domains.sync = ClockDomain()
        m.d.comb += [ClockSignal().eq(gen.clk), ResetSignal().eq(gen.rst)]

    :param pad: the board's clock input, as ``platform.request(name, dir="-")`` returns it.
    :param input_hz: its frequency.
    :param output_hz: the requested output frequency; :attr:`achieved_hz` is what the PLL makes, and what the
        output is constrained to (the platform's clock constraint on ``clk``).
    :param secondary_hz: a second output frequency from the same PLL (ECP5 only), or ``None``: ``clk2`` is then
        ``clk`` itself. :attr:`secondary_hz` is what the PLL makes.
    :attr clk: the PLL's (primary) output.
    :attr rst: the reset for logic clocked by ``clk``: high until ``locked`` and 15 us more, released in step with
        ``clk``.
    :attr clk2: the secondary output (or ``clk``).
    :attr rst2: the same reset, released in step with ``clk2``.
    :attr locked: the PLL's lock output (for status; ``rst`` already follows it).
    """
    clk: Out(1)
    rst: Out(1, init=1)
    clk2: Out(1)
    rst2: Out(1, init=1)
    locked: Out(1)

    def __init__(self, pad, input_hz, output_hz, secondary_hz=None):
        self.settings = self._settings(input_hz, output_hz, secondary_hz)
        self._pad = pad
        super().__init__()

    @property
    def achieved_hz(self) -> Fraction:
        return self.settings.achieved_hz

    @property
    def secondary_hz(self) -> Fraction:
        """The frequency of ``clk2``."""
        return getattr(self.settings, "secondary_hz", None) or self.achieved_hz

    def elaborate(self, platform):
        m = Module()
        clk = self.clk
        separate = bool(getattr(self.settings, "clkos_div", 0))      # a second output of the PLL
        clk2 = Signal() if separate else clk
        self._pll(m, clk, clk2)
        m.d.comb += self.clk2.eq(clk2)
        if platform is not None:
            platform.add_clock_constraint(clk, float(self.achieved_hz))
            if separate:
                platform.add_clock_constraint(clk2, float(self.secondary_hz))

        delay = int(RESET_DELAY_S * self.achieved_hz) + 1
        m.domains.pll_lock = ClockDomain("pll_lock", local=True)
        m.d.comb += ClockSignal("pll_lock").eq(clk)
        m.submodules.lock_sync = ResetSynchronizer(~self.locked, domain="pll_lock")
        timer = Signal(range(delay + 1))
        # The reset comes straight from a flip-flop (no inverter after it): it fans out to nearly every flip-flop of
        # the design, and on the ULX3S-85F a LUT between them cost a second long route (docs/boards.md).
        held = Signal(init=1)
        with m.If(timer == delay):
            m.d.pll_lock += held.eq(0)
        with m.Else():
            m.d.pll_lock += timer.eq(timer + 1)
        self._distribute_reset(m, held, self.rst, "rst_buf", platform)
        if separate:
            # The same reset, released in step with clk2 (asserted at once, released two clk2 edges later).
            m.domains.pll_secondary = ClockDomain("pll_secondary", local=True)
            m.d.comb += ClockSignal("pll_secondary").eq(clk2)
            m.submodules.secondary_sync = ResetSynchronizer(held, domain="pll_secondary")
            self._distribute_reset(m, ResetSignal("pll_secondary"), self.rst2, "rst2_buf", platform)
        else:
            m.d.comb += self.rst2.eq(self.rst)
        return m

    def _distribute_reset(self, m, held, rst, name, platform):
        m.d.comb += rst.eq(held)


class ECP5PLL(_ClockGenerator):
    """ECP5 clock generator: ``EHXPLLL`` (see the module docstring)."""

    @staticmethod
    def _settings(input_hz, output_hz, secondary_hz):
        return ecp5_pll_settings(input_hz, output_hz, secondary_hz)

    def _pll(self, m, clk, clk2):
        s = self.settings
        m.submodules.clk_buf = clk_buf = io.Buffer("i", self._pad)
        m.submodules.pll = Instance(
            "EHXPLLL",
            a_FREQUENCY_PIN_CLKI=f"{float(s.input_hz / _MHZ):g}",
            a_FREQUENCY_PIN_CLKOP=f"{float(s.achieved_hz / _MHZ):g}",
            a_ICP_CURRENT="12", a_LPF_RESISTOR="8", a_MFG_ENABLE_FILTEROPAMP="1", a_MFG_GMCREF_SEL="2",
            p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED",
            p_DPHASE_SOURCE="DISABLED", p_OUTDIVIDER_MUXA="DIVA", p_CLKOP_ENABLE="ENABLED",
            p_CLKI_DIV=s.clki_div, p_CLKFB_DIV=s.clkfb_div, p_CLKOP_DIV=s.clkop_div,
            p_CLKOP_CPHASE=s.clkop_cphase, p_CLKOP_FPHASE=0, p_FEEDBK_PATH="CLKOP",
            i_CLKI=clk_buf.i, i_CLKFB=clk, o_CLKOP=clk, o_LOCK=self.locked,
            i_RST=0, i_STDBY=0, i_PHASESEL0=0, i_PHASESEL1=0, i_PHASEDIR=1, i_PHASESTEP=1, i_PHASELOADREG=1,
            i_PLLWAKESYNC=0, i_ENCLKOP=0,
            **({} if not s.clkos_div else dict(
                a_FREQUENCY_PIN_CLKOS=f"{float(s.secondary_hz / _MHZ):g}", p_OUTDIVIDER_MUXB="DIVB",
                p_CLKOS_ENABLE="ENABLED", p_CLKOS_DIV=s.clkos_div, p_CLKOS_CPHASE=s.clkop_cphase, p_CLKOS_FPHASE=0,
                o_CLKOS=clk2, i_ENCLKOS=0)),
        )

    def _distribute_reset(self, m, held, rst, name, platform):
        # On a global network (a DCCA, as nextpnr inserts for clocks; it only does so for clocks by itself): the
        # routed reset reached the set/reset inputs far from it through 4-5 ns of general routing (docs/boards.md).
        if platform is None:
            super()._distribute_reset(m, held, rst, name, platform)
        else:
            m.submodules[name] = Instance("DCCA", i_CLKI=held, i_CE=1, o_CLKO=rst)


class ICE40PLL(_ClockGenerator):
    """iCE40 clock generator: ``SB_PLL40_PAD`` on the clock pad (see the module docstring)."""

    @staticmethod
    def _settings(input_hz, output_hz, secondary_hz):
        settings = ice40_pll_settings(input_hz, output_hz)
        if secondary_hz is not None and secondary_hz != settings.achieved_hz:
            raise PLLError("the iCE40 clock generator has one output; a second frequency cannot be made")
        return settings

    def _pll(self, m, clk, clk2):
        s = self.settings
        m.submodules.pll = Instance(
            "SB_PLL40_PAD",
            p_FEEDBACK_PATH="SIMPLE", p_PLLOUT_SELECT="GENCLK",
            p_DIVR=Const(s.divr, 4), p_DIVF=Const(s.divf, 7), p_DIVQ=Const(s.divq, 3),
            p_FILTER_RANGE=Const(s.filter_range, 3),
            i_PACKAGEPIN=self._pad.io, i_RESETB=1, i_BYPASS=0,
            o_PLLOUTGLOBAL=clk, o_LOCK=self.locked,
        )

"""The board top level: the serial engine behind the board's clock, FTDI UART and an LED.

    clock pad -> PLL (hw/pll.py) -> core domain (the core's clock, the timing target)
                                 -> sync domain (the serial side: UART, frames, status), both in reset until lock
    FTDI uart.rx -> SerialEngine (hw/serial_engine.py) -> FTDI uart.tx;  SerialEngine.heartbeat -> led 0

Two clocks on the ECP5: the core runs at the board's target, the serial side at the PLL's second output near
:data:`SERIAL_CLOCK_HZ` (48 MHz, 16 cycles per bit at 3 Mbaud), a whole number of cycles per UART bit. So the core's
clock is not tied to the baud rate, and the serial side's paths (which need no more than a byte per ~10 bit times)
are not timed against the core's clock. The iCE40's PLL has one output: on the iCEBreaker the whole engine runs on it
in one domain, without the crossings (for which its logic cells have no room).

Pins come from amaranth-boards (the ``uart`` resource is wired to the board's FTDI chip on both boards; ``led`` 0
is a user LED). The heartbeat toggles every half second, a 1 Hz blink that shows the PLL runs and reset was
released.

The supported boards are :data:`BOARD_NAMES`: each names its amaranth-boards platform class and its FPGA family here,
while its clock target and core shape come from ``constraints/boards.toml`` (package ``hedgegate.constraints``), the
one place they are set.
"""

import tomllib
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from importlib import resources

from amaranth.hdl import ClockDomain, ClockSignal, Elaboratable, Module, ResetSignal
from amaranth.lib import io
from amaranth_boards.icebreaker import ICEBreakerPlatform
from amaranth_boards.ulx3s import ULX3S_25F_Platform, ULX3S_85F_Platform

from .params import CoreParams
from .pll import ECP5PLL, ICE40PLL, PLLError, ecp5_pll_settings, ice40_pll_settings
from .serial_engine import SerialEngine

__all__ = ["BoardSpec", "BoardError", "BoardTop", "BOARD_NAMES", "board", "uart_divisor", "fastest_clock_mhz",
           "clock_plan", "ClockPlan", "BAUD_TOLERANCE", "SERIAL_CLOCK_HZ"]

BAUD_TOLERANCE = Fraction(1, 100)   # largest |actual - requested| / requested bit rate accepted
MIN_DIVISOR = 4                      # hw/uart.py samples mid-bit; fewer than 4 cycles per bit is not supported
SERIAL_CLOCK_HZ = 48_000_000         # preferred clock of the serial side where it has its own (ECP5)
MAX_SERIAL_CLOCK_HZ = 100_000_000    # the serial side is not asked to run faster than this

# name -> (family, amaranth-boards platform class). Families: "ice40", "ecp5".
_PLATFORMS = {
    "icebreaker": ("ice40", ICEBreakerPlatform),
    "ulx3s-85f": ("ecp5", ULX3S_85F_Platform),
    "ulx3s-25f": ("ecp5", ULX3S_25F_Platform),
}
_PLL = {"ice40": ICE40PLL, "ecp5": ECP5PLL}
_PLL_SETTINGS = {"ice40": ice40_pll_settings, "ecp5": ecp5_pll_settings}


class BoardError(ValueError):
    """A board build that cannot be made as asked (unknown board, bad clock or baud rate); one-line message."""


@dataclass(frozen=True)
class BoardSpec:
    """A board a core can be built for: what ``hedgegate build`` needs to know of it (not a connection to one: that
    is ``hedgegate.host.board.Board``).

    Attributes
    ----------
    name : str
        As on the command line (:data:`BOARD_NAMES`).
    family : str
        ``"ice40"`` or ``"ecp5"``.
    platform : type
        The amaranth-boards platform class.
    clock_mhz : float
        The core clock's default target (constraints/boards.toml).
    core : CoreParams
        The core shape built by default (constraints/boards.toml).
    """
    name: str
    family: str
    platform: type          # amaranth-boards platform class
    clock_mhz: float        # default core clock target (constraints/boards.toml)
    core: CoreParams        # default core shape (constraints/boards.toml)

    @property
    def device(self) -> str:
        return self.platform.device

    @property
    def input_hz(self) -> float:
        """Frequency of the board's clock pin (from amaranth-boards)."""
        return self.platform().default_clk_frequency


def _load_targets() -> dict:
    text = resources.files("hedgegate.constraints").joinpath("boards.toml").read_text()
    return tomllib.loads(text)


@cache
def _boards() -> dict[str, BoardSpec]:
    targets = _load_targets()
    result = {}
    for name, (family, platform) in _PLATFORMS.items():
        entry = targets.get(name)
        if entry is None:
            raise BoardError(f"constraints/boards.toml has no [{name}] table")
        try:
            result[name] = BoardSpec(name, family, platform, float(entry["clock_mhz"]), CoreParams(**entry["core"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise BoardError(f"constraints/boards.toml: [{name}]: {exc}") from None
    return result


BOARD_NAMES = tuple(_PLATFORMS)


def board(name) -> BoardSpec:
    """The :class:`BoardSpec` called ``name`` (a :class:`BoardSpec` is passed through); unknown names raise
    BoardError."""
    if isinstance(name, BoardSpec):
        return name
    if name not in _PLATFORMS:
        raise BoardError(f"unknown board {name!r} (known: {', '.join(sorted(_PLATFORMS))})")
    return _boards()[name]


def uart_divisor(clock_hz, baud: int) -> int:
    """Clock cycles per UART bit for ``baud`` at ``clock_hz``: round(clock / baud), within :data:`BAUD_TOLERANCE`.

    The receiver on the other end (the FTDI chip) tolerates a few percent, but 1 % keeps our share of the error
    budget small (docs/protocol.md: the two ends may differ by up to ~4.5 % in total).
    """
    if baud <= 0:
        raise BoardError(f"baud rate must be positive, not {baud}")
    divisor = round(Fraction(clock_hz) / baud)
    if divisor < MIN_DIVISOR:
        raise BoardError(f"{baud} baud needs at least {MIN_DIVISOR} clock cycles per bit, and a "
                         f"{float(clock_hz) / 1e6:g} MHz clock gives {float(Fraction(clock_hz) / baud):.2f}")
    actual = Fraction(clock_hz) / divisor
    error = abs(actual - baud) / baud
    if error > BAUD_TOLERANCE:
        raise BoardError(f"{baud} baud cannot be made from a {float(clock_hz) / 1e6:g} MHz clock to within "
                         f"{float(BAUD_TOLERANCE):.0%}: the nearest divisor, {divisor}, gives {float(actual):.0f} "
                         f"baud ({float(error):.1%} off)")
    return divisor


@dataclass(frozen=True)
class ClockPlan:
    """The clocks of a board build: the core's (:attr:`core_hz`), the serial side's (:attr:`serial_hz`, the same on
    a one-output PLL), UART cycles per bit on the serial side (:attr:`divisor`) and the PLL's settings."""
    core_hz: Fraction
    serial_hz: Fraction
    divisor: int
    pll_settings: object

    @property
    def two_clocks(self) -> bool:
        """The serial side has a clock of its own (a second PLL output), so the engine has two domains."""
        return self.serial_hz != self.core_hz


def clock_plan(board_, core_hz, baud: int = 3_000_000) -> ClockPlan:
    """The clocks for a core clock of (about) ``core_hz`` and a UART at ``baud`` on ``board_``.

    The core clock is the PLL's nearest (within 1 %, :class:`~hedgegate.hw.pll.PLLError` otherwise). On the ECP5 the
    serial clock is the PLL's second output at ``d * baud`` for the whole number of cycles per bit ``d`` that puts
    it nearest :data:`SERIAL_CLOCK_HZ` and that the PLL can make from the core clock's VCO (to within 1 %); on the
    iCE40 it is the core clock, and the baud rate must then be made from it. :class:`BoardError` if none works.
    """
    spec = board(board_)
    make = _PLL_SETTINGS[spec.family]
    primary = make(spec.input_hz, core_hz)                      # errors about the core clock come first
    if spec.family == "ice40":
        return ClockPlan(primary.achieved_hz, primary.achieved_hz, uart_divisor(primary.achieved_hz, baud), primary)
    if baud <= 0:
        raise BoardError(f"baud rate must be positive, not {baud}")
    cycles = range(MIN_DIVISOR, MAX_SERIAL_CLOCK_HZ // baud + 1)
    for d in sorted(cycles, key=lambda d: (abs(d * baud - SERIAL_CLOCK_HZ), d)):
        try:
            settings = make(spec.input_hz, core_hz, d * baud)
        except PLLError:
            continue
        return ClockPlan(settings.achieved_hz, settings.secondary_hz, uart_divisor(settings.secondary_hz, baud),
                         settings)
    raise BoardError(f"{baud} baud cannot be made from a second output of the {spec.family} PLL at "
                     f"{float(primary.achieved_hz) / 1e6:g} MHz (no clock of {MIN_DIVISOR} or more cycles per bit "
                     f"up to {MAX_SERIAL_CLOCK_HZ / 1e6:g} MHz)")


def fastest_clock_mhz(board_, max_mhz: float, baud: int = 3_000_000) -> float | None:
    """The fastest core clock (MHz) not above ``max_mhz`` that the board's PLL makes and at which ``baud`` works.

    Candidates are the frequencies the PLL can make exactly, fastest first: on the ECP5, f_in / CLKI_DIV * CLKFB_DIV
    (the serial side has its own clock); on the iCE40, where the UART runs on the core clock, ``divisor * baud``
    for falling divisors. Each is checked as :class:`BoardTop` would check it. ``None`` if there is none
    (``max_mhz`` below the slowest). Used to tell a user what to rebuild with when timing is not met.
    """
    spec = board(board_)
    limit = Fraction(max_mhz) * 1_000_000
    if spec.family == "ecp5":
        f_in = Fraction(spec.input_hz)
        candidates = sorted({f_in / clki * clkfb for clki in range(1, 129) if f_in / clki >= 3_125_000
                             for clkfb in range(1, 81) if f_in / clki * clkfb <= limit}, reverse=True)
    else:
        candidates = [divisor * baud for divisor in range(int(limit * (1 + BAUD_TOLERANCE) / baud),
                                                           MIN_DIVISOR - 1, -1)]
    for candidate in candidates:
        try:
            plan = clock_plan(spec, candidate, baud)
        except ValueError:
            continue
        if plan.core_hz <= limit:
            return float(plan.core_hz) / 1_000_000
    return None


class BoardTop(Elaboratable):
    """Top level for ``board`` (a name from :data:`BOARD_NAMES` or a :class:`BoardSpec`).

    :param params: core shape; default the board's (constraints/boards.toml).
    :param clock_mhz: core clock to ask of the PLL; default the board's target. :attr:`clock_hz` is what the PLL
        makes (within 1 %) and what the core's timing constraint uses.
    :param baud: UART bit rate. :attr:`serial_hz` is the serial side's clock (:func:`clock_plan`), :attr:`divisor`
        its cycles per bit (within 1 % of ``baud``); the heartbeat counts that clock too.

    Everything that can be wrong with the arguments is checked here, before elaboration, as :class:`BoardError`
    (or :class:`~hedgegate.hw.pll.PLLError`, also a ValueError), so that a build fails at once with one line.
    """

    def __init__(self, board_, params: CoreParams | None = None, clock_mhz: float | None = None, *,
                 baud: int = 3_000_000):
        try:
            self.board = board(board_)
            self.params = self.board.core if params is None else params
            self.requested_mhz = self.board.clock_mhz if clock_mhz is None else clock_mhz
            if not self.requested_mhz > 0:
                raise BoardError(f"clock must be positive, not {self.requested_mhz} MHz")
            self.baud = baud
            self.clocks = clock_plan(self.board, Fraction(self.requested_mhz) * 1_000_000, baud)
            self.pll_settings = self.clocks.pll_settings
            self.clock_hz = self.clocks.core_hz
            self.serial_hz = self.clocks.serial_hz
            self.divisor = self.clocks.divisor
        except ValueError:
            self._MustUse__silence = True     # never elaborated: no "created but never used" warning
            raise

    def elaborate(self, platform):
        if platform is None:
            raise BoardError("BoardTop needs an amaranth-boards platform (it requests pins)")
        m = Module()
        pad = platform.request(platform.default_clk, dir="-")
        pll = _PLL[self.board.family]
        two_clocks = self.clocks.two_clocks
        m.submodules.clocks = clocks = pll(pad, self.board.input_hz, self.clock_hz,
                                           self.serial_hz if two_clocks else None)
        m.domains.sync = ClockDomain()
        m.d.comb += [ClockSignal("sync").eq(clocks.clk2), ResetSignal("sync").eq(clocks.rst2)]
        if two_clocks:
            m.domains.core = ClockDomain()
            m.d.comb += [ClockSignal("core").eq(clocks.clk), ResetSignal("core").eq(clocks.rst)]
        m.submodules.engine = engine = SerialEngine(self.params, divisor=self.divisor,
                                                    heartbeat_cycles=max(1, int(self.serial_hz) // 2),
                                                    core_domain="core" if two_clocks else "sync")
        uart = platform.request("uart", 0, dir="-")
        m.submodules.uart_rx = rx = io.Buffer("i", uart.rx)
        m.submodules.uart_tx = tx = io.Buffer("o", uart.tx)
        m.submodules.led = led = io.Buffer("o", platform.request("led", 0, dir="-"))
        m.d.comb += [
            engine.rx.eq(rx.i),
            tx.o.eq(engine.tx),
            led.o.eq(engine.heartbeat),
        ]
        return m

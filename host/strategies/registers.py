"""Strategy estimates (floats, in human units) -> leg register values (ints), with what was rounded said.

A strategy's estimates are floats (a regression slope, a Black-76 delta). Each goes into a register by the rules of
docs/numbers.md, through the same functions the config loader uses, from the float's shortest decimal (``repr``),
with one rounding half away from zero; prices are first put on the hedge instrument's tick grid. A value that does
not fit its register (a ratio beyond Q16.16, ``|gamma| >= 500`` per currency unit, a price beyond the core's width)
or is not a finite number is a :class:`StrategyError` naming it -- never a wrapped or saturated value.
"""

import math
from dataclasses import dataclass
from decimal import Decimal

from ...hw.params import GAMMA_FRAC_BITS, INT32_MAX, INT32_MIN, RATIO_FRAC_BITS
from ...hw.regmap import LegReg
from ..numbers import fixed_to_str, format_milli, gamma_to_q32, ratio_to_q16, round_half_away, to_milli

__all__ = ["StrategyError", "Rounded", "LegPush", "ratio_register", "gamma_register", "price_register",
           "position_register"]


class StrategyError(ValueError):
    """An input or estimate that leaves nothing usable to push: one line naming it."""


@dataclass(frozen=True)
class Rounded:
    """One register value and what it stands for.

    Attributes
    ----------
    name : str
        The register's name (``hedge_ratio``, ``band_lo``, ...).
    value : float
        The estimate, unrounded, in human units.
    register : int
        The raw register value (Q16.16 for ratios, Q0.32 per milli-unit for gamma, milli-units for prices).
    held : str
        The exact value the register holds, in human units (decimal text).
    """
    name: str
    value: float
    register: int
    held: str

    @property
    def error(self) -> float:
        """held - value, in human units."""
        return float(Decimal(self.held) - Decimal(repr(float(self.value))))


def _decimal(name: str, value) -> Decimal:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise StrategyError(f"{name}: {value} is not a finite number")
        return value
    value = float(value)
    if not math.isfinite(value):
        raise StrategyError(f"{name}: {value} is not a finite number")
    return Decimal(repr(value))


def _fit(name, value, register, lo, hi, what):
    if not lo <= register <= hi:
        raise StrategyError(f"{name}: {value:g} does not fit the {what}")
    return register


def ratio_register(name: str, value) -> Rounded:
    """A hedge ratio -> signed Q16.16 (|ratio| < 32768)."""
    register = _fit(name, float(value), ratio_to_q16(_decimal(name, value)), INT32_MIN, INT32_MAX,
                    "Q16.16 ratio register (-32768 <= ratio < 32768)")
    return Rounded(name, float(value), register, fixed_to_str(register, 1 << RATIO_FRAC_BITS))


def gamma_register(name: str, value) -> Rounded:
    """Gamma per currency unit of price -> Q0.32 per milli-unit (|gamma| < 500)."""
    register = _fit(name, float(value), gamma_to_q32(_decimal(name, value)), INT32_MIN, INT32_MAX,
                    "gamma register (Q0.32 per milli-unit: |gamma| < 500 per currency unit)")
    return Rounded(name, float(value), register, fixed_to_str(register * 1000, 1 << GAMMA_FRAC_BITS))


def price_register(name: str, value, params, tick: Decimal | None = None) -> Rounded:
    """A price -> milli-units, first rounded (half away from zero) to a multiple of ``tick`` (a decimal with at most
    three places: the instrument's tick size; None: the milli-unit grid)."""
    tick = Decimal("0.001") if tick is None else tick
    x = _decimal(name, value)
    on_grid = round_half_away(x / tick) * tick
    register = _fit(name, float(value), to_milli(on_grid), params.price_min, params.price_max,
                    f"core's {params.price_width}-bit prices ({format_milli(params.price_min)} .. "
                    f"{format_milli(params.price_max)})")
    return Rounded(name, float(value), register, format_milli(register))


def position_register(name: str, value) -> Rounded:
    """A position (units of the hedge instrument's quantity) -> int32, rounded to a whole unit."""
    register = _fit(name, float(value), round_half_away(_decimal(name, value)), INT32_MIN, INT32_MAX,
                    "int32 position register")
    return Rounded(name, float(value), register, str(register))


# register name -> LegReg, for the names strategies use
REGISTERS = {reg.name.lower(): reg for reg in LegReg}


@dataclass
class LegPush:
    """What a strategy pushes into one leg: register values with their rounding, and its estimates.

    Attributes
    ----------
    leg : int
        The leg's index in the engine config.
    name : str
        What the leg hedges (``hedge``, ``gas``, ``carbon``).
    values : list[Rounded]
        The registers set, in push order.
    estimates : dict[str, float]
        The unrounded estimates behind them (``hedge_ratio``, ``effectiveness``, ``kappa``, ...).
    """
    leg: int
    name: str
    values: list
    estimates: dict

    @property
    def registers(self) -> dict[LegReg, int]:
        return {REGISTERS[v.name]: v.register for v in self.values}

    def writes(self):
        """The register writes, in one batch (atomic with respect to ticks: the core applies writes between them)."""
        from ..commands import Write
        return [Write(self.leg, REGISTERS[v.name], v.register) for v in self.values]

    def rounding(self) -> list[str]:
        """One line per register whose value differs from the estimate: what was rounded, by how much."""
        return [f"{self.name}: {v.name} {v.value!r} -> {v.held} (error {v.error:+.3g})" for v in self.values
                if v.error != 0]

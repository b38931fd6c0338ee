"""Engine configuration: a TOML file -> :class:`EngineConfig` (core parameters + one :class:`LegConfig` per leg).

File format (every key optional unless marked required; defaults shown)::

    [engine]
    symbols = 4                  # S, 1 .. 256
    levels = 10                  # N, 1 .. 64
    price_width = 32             # signed bits of a price in milli-units, 8 .. 32 (the iCEBreaker's core: 16)
    qty_width = 32               # unsigned bits of a size, 8 .. 32 (the iCEBreaker's core: 16)

    [[leg]]                      # zero to 16 legs, in leg-index order
    symbol = 0                   # REQUIRED, 0 .. S-1
    enabled = true               # boolean
    position = 0                 # P, int32
    hedge_position = 0           # initial H, -(2^31-1) .. 2^31-1
    hedge_ratio = 1.0            # Q16.16, must fit int32
    alt_hedge_ratio = ...        # Q16.16, default: hedge_ratio
    band = [lo, hi]              # two prices, lo <= hi; default: the whole price range
    gamma = 0.0                  # per currency unit of price -> Q0.32 per milli-unit, must fit int32
    anchor = 0.0                 # price
    threshold_bps = 0            # 0 .. 65535
    min_qty = 1                  # 1 .. qty_max (2^qty_width - 1)
    max_order_qty = 2147483647   # 1 .. 2^32-1
    position_limit = 2147483647  # 0 .. 2^31-1
    slippage = 0.0               # price, 0 .. price_max

Types: integer keys must be TOML integers (not floats, not booleans); prices, ratios and gamma may be integers or
floats; ``enabled`` is a boolean; ``band`` an array of two numbers. Floats are read as exact decimals
(``parse_float=Decimal``) and converted by :mod:`.numbers` with one rounding half away from zero: prices
``to_milli`` (range ``[price_min, price_max]`` of the core's price width), ratios ``ratio_to_q16``, gamma
``gamma_to_q32``. Ranges are checked on the converted (rounded) value, e.g. 2147483.6474 -> 2147483647 fits.

Anything else -- invalid TOML, unknown sections or keys, wrong types, out-of-range values, an unreadable file --
raises :class:`.errors.InputError` naming the file, the line (TOML syntax errors only) and the field
(``engine.levels``, ``leg[0].band``, ``leg[2].band[1]``).
"""

import re
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable, NamedTuple

from ..hw.params import (CoreParams, INT32_MAX, INT32_MIN, POSITION_MAX, RATIO_FRAC_BITS, GAMMA_FRAC_BITS,
                         THRESHOLD_BPS_MAX, UINT32_MAX)
from ..hw.regmap import LegReg
from .errors import InputError, excerpt, read_input
from .numbers import (check_range, fixed_to_str, format_milli, gamma_to_q32, ratio_to_q16, to_milli)

MAX_SYMBOLS = 256
MAX_LEVELS = 64
MAX_LEGS = 16


@dataclass(frozen=True)
class LegConfig:
    """One leg's register values, all ints in register units (prices in milli-units, ratios Q16.16, gamma Q0.32).

    Defaults are those of the file format, with the band spanning the 32-bit price range.
    """
    symbol: int
    enabled: bool = True
    position: int = 0
    hedge_position: int = 0
    hedge_ratio: int = 1 << RATIO_FRAC_BITS
    alt_hedge_ratio: int = 1 << RATIO_FRAC_BITS
    band_lo: int = INT32_MIN
    band_hi: int = INT32_MAX
    gamma: int = 0
    anchor: int = 0
    threshold_bps: int = 0
    min_qty: int = 1
    max_order_qty: int = INT32_MAX
    position_limit: int = INT32_MAX
    slippage: int = 0

    def registers(self) -> dict[LegReg, int]:
        """Every writable leg register except ADJUST_POSITION -> its (signed) value; ENABLED as 0/1."""
        return {reg: int(getattr(self, reg.name.lower())) for reg in LegReg if reg is not LegReg.ADJUST_POSITION}


@dataclass(frozen=True)
class EngineConfig:
    """A validated engine: the core's shape and one register set per leg, as :func:`load_config` returns it.

    Attributes
    ----------
    params : CoreParams
        The core's build parameters (symbols, levels, legs, widths, ``mul_latency``).
    legs : tuple of LegConfig
        One per leg of the core, in leg order; their count must equal ``params.legs``.
    """
    params: CoreParams
    legs: tuple[LegConfig, ...]

    def __post_init__(self):
        if len(self.legs) != self.params.legs:
            raise ValueError(f"{len(self.legs)} leg configs for a core with {self.params.legs} legs")


def load_config(path, *, price_width: int = 32, qty_width: int = 32) -> EngineConfig:
    """Read and validate the TOML config at ``path`` (see the module docstring); InputError on any problem."""
    return parse_config(read_input(path), path, price_width=price_width, qty_width=qty_width)


def parse_config(text: str, path="<config>", *, price_width: int = 32, qty_width: int = 32) -> EngineConfig:
    """Validate TOML ``text``; ``path`` only names the source in errors."""
    try:
        doc = tomllib.loads(text, parse_float=Decimal)
    except ValueError as e:   # TOMLDecodeError, or int() refusing a 4300+ digit integer
        message = str(e)
        at = re.search(r" \(at line (\d+), column (\d+)\)$", message)
        if at:
            message = f"{message[:at.start()]} (column {at[2]})"
        raise InputError(path, int(at[1]) if at else None, None, f"invalid TOML: {message}") from None
    return config_from_document(doc, path, price_width=price_width, qty_width=qty_width)


def config_from_document(doc: dict, path="<config>", *, price_width: int = 32, qty_width: int = 32) -> EngineConfig:
    """Validate a config given as the dictionary a TOML file parses to (numbers as int or ``Decimal``); ``path``
    names the source in errors. The Python API (``hedgegate.HedgeConfig``) builds its configs through this."""
    for key in doc:
        if key not in ("engine", "leg"):
            raise InputError(path, None, key, "unknown section or key; expected [engine] and [[leg]] only")
    engine = _Table(path, "engine", doc.get("engine", {}), ("symbols", "levels", "price_width", "qty_width"))
    symbols = engine.integer("symbols", 1, MAX_SYMBOLS, 4)
    levels = engine.integer("levels", 1, MAX_LEVELS, 10)
    price_width = engine.integer("price_width", 8, 32, price_width)
    qty_width = engine.integer("qty_width", 8, 32, qty_width)
    legs = doc.get("leg", [])
    if not isinstance(legs, list) or not all(isinstance(leg, dict) for leg in legs):
        raise InputError(path, None, "leg", f"expected an array of tables ([[leg]]), got {_kind(legs)}")
    if len(legs) > MAX_LEGS:
        raise InputError(path, None, "leg", f"at most {MAX_LEGS} legs are supported, got {len(legs)}")
    params = CoreParams(symbols=symbols, levels=levels, legs=len(legs), price_width=price_width,
                        qty_width=qty_width)
    return EngineConfig(params, tuple(_leg(_Table(path, f"leg[{i}]", leg, _LEG_KEYS), params)
                                      for i, leg in enumerate(legs)))


# Validation ----------------------------------------------------------------------------------------------------------

_LEG_KEYS = ("symbol", "enabled", "position", "hedge_position", "hedge_ratio", "alt_hedge_ratio", "band", "gamma",
             "anchor", "threshold_bps", "min_qty", "max_order_qty", "position_limit", "slippage")
_REQUIRED = object()
_HUGE = Decimal(10) ** 30   # larger magnitudes are clamped before conversion (all are out of range anyway)


class _Format(NamedTuple):
    """A numeric register format: user value -> register value, its range, and how to show register values."""
    convert: Callable
    lo: int
    hi: int
    show: Callable = str


_RATIO = _Format(ratio_to_q16, INT32_MIN, INT32_MAX, lambda q: fixed_to_str(q, 1 << RATIO_FRAC_BITS))
_GAMMA = _Format(gamma_to_q32, INT32_MIN, INT32_MAX, lambda q: fixed_to_str(q * 1000, 1 << GAMMA_FRAC_BITS))


def _price(params: CoreParams, lo: int | None = None) -> _Format:
    return _Format(to_milli, params.price_min if lo is None else lo, params.price_max, format_milli)


def _leg(t: "_Table", params: CoreParams) -> LegConfig:
    ratio = t.number("hedge_ratio", _RATIO, 1 << RATIO_FRAC_BITS)
    return LegConfig(   # arguments are evaluated in file-format order, so the first bad key is reported
        symbol=t.integer("symbol", 0, params.symbols - 1),
        enabled=t.boolean("enabled", True),
        position=t.integer("position", INT32_MIN, INT32_MAX, 0),
        hedge_position=t.integer("hedge_position", -POSITION_MAX, POSITION_MAX, 0),
        hedge_ratio=ratio,
        alt_hedge_ratio=t.number("alt_hedge_ratio", _RATIO, ratio),
        **t.band(_price(params)),
        gamma=t.number("gamma", _GAMMA, 0),
        anchor=t.number("anchor", _price(params), 0),
        threshold_bps=t.integer("threshold_bps", 0, THRESHOLD_BPS_MAX, 0),
        min_qty=t.integer("min_qty", 1, params.qty_max, 1),
        max_order_qty=t.integer("max_order_qty", 1, UINT32_MAX, INT32_MAX),
        position_limit=t.integer("position_limit", 0, INT32_MAX, INT32_MAX),
        slippage=t.number("slippage", _price(params, lo=0), 0),
    )


def _kind(v) -> str:
    """Describe a TOML value for messages: 'integer 3', 'float 1.5', 'string "x"', 'array', ..."""
    if isinstance(v, bool):
        return f"boolean {str(v).lower()}"
    if isinstance(v, int):
        return f"integer {excerpt(str(v))}"
    if isinstance(v, Decimal):
        return f"float {excerpt(str(v))}"
    if isinstance(v, str):
        return f"string {excerpt(v)!r}"
    return "array" if isinstance(v, list) else "table" if isinstance(v, dict) else f"date/time {v}"


class _Table:
    """Typed, range-checked access to one TOML table; every error names the file and ``{name}.{key}``."""

    def __init__(self, path, name: str, data, keys: tuple[str, ...]):
        self.path, self.name, self.data = path, name, data
        if not isinstance(data, dict):
            raise InputError(path, None, name, f"expected a table ([{name}]), got {_kind(data)}")
        for key in data:
            if key not in keys:
                raise self.error(key, f"unknown key; expected one of {', '.join(keys)}")

    def error(self, key: str, message: str) -> InputError:
        return InputError(self.path, None, f"{self.name}.{key}", message)

    def _get(self, key, default):
        if key in self.data:
            return self.data[key]
        if default is _REQUIRED:
            raise self.error(key, "missing required key")
        return _REQUIRED

    def boolean(self, key: str, default: bool) -> bool:
        v = self._get(key, default)
        if v is _REQUIRED:
            return default
        if type(v) is not bool:
            raise self.error(key, f"expected a boolean (true or false), got {_kind(v)}")
        return v

    def integer(self, key: str, lo: int, hi: int, default=_REQUIRED) -> int:
        v = self._get(key, default)
        if v is _REQUIRED:
            return default
        if type(v) is not int:
            raise self.error(key, f"expected an integer, got {_kind(v)}")
        return self._check(key, v, _Format(int, lo, hi))

    def number(self, key: str, fmt: _Format, default: int) -> int:
        v = self._get(key, default)
        return default if v is _REQUIRED else self._check(key, v, fmt)

    def band(self, fmt: _Format) -> dict[str, int]:
        v = self._get("band", None)
        if v is _REQUIRED:
            return {"band_lo": fmt.lo, "band_hi": fmt.hi}
        if not isinstance(v, list) or len(v) != 2:
            got = f"array of {len(v)}" if isinstance(v, list) else _kind(v)
            raise self.error("band", f"expected an array of two prices [lo, hi], got {got}")
        lo, hi = (self._check(f"band[{i}]", x, fmt) for i, x in enumerate(v))
        if lo > hi:
            raise self.error("band", f"lo must be <= hi, got [{v[0]}, {v[1]}]")
        return {"band_lo": lo, "band_hi": hi}

    def _check(self, key: str, v, fmt: _Format) -> int:
        """Convert a TOML integer or float with ``fmt`` and check the result's range."""
        if isinstance(v, bool) or not isinstance(v, (int, Decimal)):
            raise self.error(key, f"expected a number, got {_kind(v)}")
        got = str(v)
        if isinstance(v, Decimal):
            if not v.is_finite():
                raise self.error(key, f"expected a finite number, got {v}")
            v = max(-_HUGE, min(v, _HUGE))
        try:
            return check_range(fmt.convert(v), fmt.lo, fmt.hi, show=fmt.show, got=got)
        except ValueError as e:
            raise self.error(key, str(e)) from None

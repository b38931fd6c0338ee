"""The engine's tick, and the rules of its CSV format: the exact header ``ts_ns,symbol,side,price,qty`` and one tick
per line. Files of every format are read by :func:`hedgegate.host.marketdata.load_ticks`; its CSV reader converts the
common rows column-wise and hands every other row to :func:`parse_row` here, the one place rows are judged.

Rules (every row is validated the same way, whatever its side):

* ``ts_ns``  -- ASCII digits, ``< 2**64``.
* ``symbol`` -- ASCII digits, ``< params.symbols``.
* ``side``   -- ``bid``, ``ask``, ``trade`` or ``clear`` (lower case) -> :class:`Side`.
* ``price``  -- strict decimal ``[+-]?digits(.digits)?`` in currency units, converted with ``to_milli`` (one
  rounding, half away from zero) and then checked against ``[params.price_min, params.price_max]``.
* ``qty``    -- ASCII digits, ``<= params.qty_max``.

Lines end in ``\\n`` or ``\\r\\n``; a final line ending is optional. No spaces, quoting or comments; a blank (or
whitespace-only) line, a row without exactly five fields, an empty file or a wrong header is an error. Errors are
:class:`.errors.InputError` with the file, the 1-based line and the field (``header``, ``row``, or a column name).

Most rows take a regex fast path (prices with at most three decimals, no ``+``) computed with ints only; every
other row, and any row the fast path would reject, goes through the general per-field parser, which is the one
place errors are produced. Both give identical values (tested).
"""

import io
import re
from dataclasses import dataclass

from ..hw.layouts import TickSide as Side   # the side column's codes are the core's tick sides
from ..hw.params import CoreParams
from .errors import InputError, excerpt
from .numbers import check_price, check_range, exact_decimal, parse_decimal, to_milli

HEADER = "ts_ns,symbol,side,price,qty"
TS_MAX = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class Tick:
    """One validated row; ``price`` in milli-units."""
    ts_ns: int
    symbol: int
    side: Side
    price: int
    qty: int


def api_tick(ts_ns: int, symbol: int, side, price, qty: int, params: CoreParams, *, milli: bool = False) -> Tick:
    """A tick given through the Python API (``HedgeEngine.on_tick``, ``Backtest.process_tick``), checked against the
    core: ``price`` in currency units (a float by its shortest decimal, as config floats are; an int or Decimal
    exactly) or, with ``milli``, already in milli-units. A value that does not fit is a ValueError naming it."""
    milli_price = price if milli else to_milli(exact_decimal(price))
    if not 0 <= symbol < params.symbols:
        raise ValueError(f"tick symbol {symbol} is not below {params.symbols}")
    if not params.price_min <= milli_price <= params.price_max:
        raise ValueError(f"tick price {price} is outside the core's price range")
    if not 0 <= qty <= params.qty_max:
        raise ValueError(f"tick qty {qty} is outside 0 .. {params.qty_max}")
    return Tick(ts_ns, symbol, Side(side), milli_price, qty)


def parse_ticks(source, params: CoreParams, path="<ticks>") -> list[Tick]:
    """Validate ticks from a whole text (``str``) or an iterable of lines (with or without their line endings)."""
    lines = io.StringIO(source, newline="\n") if isinstance(source, str) else source
    symbols, price_min, price_max, qty_max = params.symbols, params.price_min, params.price_max, params.qty_max
    fast, sides = _FAST_ROW.fullmatch, _SIDES
    ticks = []
    lineno = 0
    for lineno, line in enumerate(lines, 1):
        if line.endswith("\n"):
            line = line[:-1]
        if line.endswith("\r"):
            line = line[:-1]
        if lineno == 1:
            if line != HEADER:
                raise InputError(path, 1, "header", f"expected {HEADER!r}, got {excerpt(line, 80)!r}")
            continue
        m = fast(line)
        if m:
            ts, symbol, side, sign, units, frac, qty = m.groups()
            ts, symbol, qty = int(ts), int(symbol), int(qty)
            price = int(units) * 1000 + (int(frac.ljust(3, "0")) if frac else 0)
            price = -price if sign else price
            if ts <= TS_MAX and symbol < symbols and price_min <= price <= price_max and qty <= qty_max:
                ticks.append(Tick(ts, symbol, sides[side], price, qty))
                continue
        ticks.append(parse_row(line, params, path, lineno))
    if lineno == 0:
        raise InputError(path, 1, "header", f"empty file, expected the header {HEADER!r}")
    return ticks


# Row parsing ---------------------------------------------------------------------------------------------------------

_SIDES = {side.name.lower(): side for side in Side}
_FAST_ROW = re.compile(r"([0-9]{1,20}),([0-9]{1,20}),(bid|ask|trade|clear),(-?)([0-9]{1,20})(?:\.([0-9]{1,3}))?,"
                       r"([0-9]{1,20})")


def _uint(text: str, hi: int) -> int:
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"{excerpt(text)!r} is not a non-negative integer")
    value = int(text) if len(text) <= 1000 else hi + 1   # int() refuses over 4300 digits; such values are too big
    return check_range(value, 0, hi, got=text)


def _side(text: str) -> Side:
    if text not in _SIDES:
        raise ValueError(f"{excerpt(text)!r} is not one of {', '.join(_SIDES)}")
    return _SIDES[text]


# Column name -> parse(text, params), raising ValueError with a message.
_COLUMNS = {
    "ts_ns": lambda t, p: _uint(t, TS_MAX),
    "symbol": lambda t, p: _uint(t, p.symbols - 1),
    "side": lambda t, p: _side(t),
    "price": lambda t, p: check_price(to_milli(parse_decimal(t)), p, got=t),
    "qty": lambda t, p: _uint(t, p.qty_max),
}


def parse_row(line: str, params: CoreParams, path, lineno: int) -> Tick:
    if not line.strip():
        raise InputError(path, lineno, "row", "blank line")
    fields = line.split(",")
    if len(fields) != len(_COLUMNS):
        raise InputError(path, lineno, "row", f"expected {len(_COLUMNS)} fields ({HEADER}), got {len(fields)}")
    values = []
    for (name, parse), text in zip(_COLUMNS.items(), fields):
        try:
            values.append(parse(text, params))
        except ValueError as e:
            raise InputError(path, lineno, name, str(e)) from None
    return Tick(*values)

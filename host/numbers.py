"""Exact number handling for the host: decimal text -> fixed-point register values, never through binary float.

Rules
-----
* Input numbers are decimal text (tick files) or :class:`decimal.Decimal` (config files, parsed with
  ``tomllib.load(..., parse_float=Decimal)``), so ``45.035`` means exactly 45035/1000.
* Every conversion to a register format is one exact product followed by ONE rounding to an integer,
  half away from zero (``0.5 -> 1``, ``-0.5 -> -1``, ``2.5 -> 3``):

  ==================  ==========================  ======================================
  format              function                    value
  ==================  ==========================  ======================================
  price, milli-units  :func:`to_milli`            ``rha(x * 1000)``
  ratio, Q16.16       :func:`ratio_to_q16`        ``rha(x * 2**16)``
  gamma, Q0.32/milli  :func:`gamma_to_q32`        ``rha(x / 1000 * 2**32)`` (x per currency unit)
  ==================  ==========================  ======================================

  The products are computed in a local decimal context whose precision is derived from the operand, with
  ``Inexact`` trapped, so they are exact for any input length (no double rounding).
* Whether a result fits its register is checked by the caller (config/ticks) with :func:`check_range`,
  :func:`check_signed` or :func:`check_unsigned`.
* Integer helpers used by the model: :func:`rha_shift` (``rha(x / 2**k)``) and :func:`saturate`.
"""

import re
from decimal import (Context, Decimal, Inexact, InvalidOperation, MAX_EMAX, MIN_EMIN, ROUND_HALF_UP, Rounded,
                     DivisionByZero, Overflow)

from .errors import excerpt

_DECIMAL_RE = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def exact_decimal(value):
    """A Python number as the config loader and the API take it: ints and Decimals as they are, floats as their
    shortest decimal (``0.1`` is 0.1, not the binary fraction nearest it); anything else as it is, for the caller's
    validation to reject with its own message."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return value
    return Decimal(repr(value)) if isinstance(value, float) else value


def parse_decimal(text: str) -> Decimal:
    """Parse strict decimal text: ``[+-]?digits(.digits)?`` (ASCII digits only).

    Accepted: ``45``, ``45.5``, ``-0.0005``, ``+1.25``, ``007``. Rejected with ValueError: ``.5``, ``5.``, exponents
    (``1e3``), spaces, ``_`` separators, ``nan``/``inf``, empty text.
    """
    if not _DECIMAL_RE.fullmatch(text):
        raise ValueError(f"{excerpt(text)!r} is not a decimal number")
    return Decimal(text)


def round_half_away(x: Decimal | int) -> int:
    """Round to the nearest integer, ties away from zero (decimal's ROUND_HALF_UP). ``x`` must be finite."""
    if type(x) is int:
        return x
    if not isinstance(x, Decimal):
        raise TypeError(f"expected Decimal or int, not {type(x).__name__}")
    if not x.is_finite():
        raise ValueError(f"cannot round {x}")
    return int(x.to_integral_value(rounding=ROUND_HALF_UP))


def _scale(x: Decimal | int, mul: int, div: int = 1) -> Decimal:
    """Exact ``x * mul / div`` (``div`` must divide a power of ten, i.e. have only the prime factors 2 and 5)."""
    if isinstance(x, float):
        raise TypeError("binary floats are not accepted; use Decimal or int")
    x = Decimal(x)
    if not x.is_finite():
        raise ValueError(f"cannot scale {x}")
    # x*mul has at most digits(x)+digits(mul) digits; dividing by 2^a*5^b adds at most max(a, b) <= 3*digits(div).
    prec = len(x.as_tuple().digits) + len(str(mul)) + 3 * len(str(div)) + 2
    ctx = Context(prec=prec, rounding=ROUND_HALF_UP, Emax=MAX_EMAX, Emin=MIN_EMIN,
                  traps=[Inexact, Rounded, InvalidOperation, DivisionByZero, Overflow])
    return ctx.divide(ctx.multiply(x, mul), div)


def to_milli(x: Decimal | int) -> int:
    """Price in currency units -> milli-units: ``rha(x * 1000)``; 45.0005 -> 45001, -0.0005 -> -1."""
    return round_half_away(_scale(x, 1000))


def ratio_to_q16(x: Decimal | int) -> int:
    """Ratio -> signed Q16.16: ``rha(x * 65536)``; 1.125 -> 73728."""
    return round_half_away(_scale(x, 1 << 16))


def gamma_to_q32(x: Decimal | int) -> int:
    """Gamma per currency unit of price -> Q0.32 per milli-unit: ``rha(x * 2**32 / 1000)``.

    1 -> 4294967 (4294967.296), 0.001 -> 4295 (4294.967296).
    """
    return round_half_away(_scale(x, 1 << 32, 1000))


def fixed_to_str(value: int, den: int) -> str:
    """Exact decimal text of ``value / den`` (``den`` = 2^a * 5^b): (2**31 - 1, 65536) -> '32767.9999847412109375'."""
    text = format(_scale(value, 1, den), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_milli(milli: int) -> str:
    """Milli-units -> shortest exact decimal text: 45035 -> '45.035', 45500 -> '45.5', 45000 -> '45', -1 -> '-0.001'.

    The text is accepted by :func:`parse_decimal` and converts back to the same value with :func:`to_milli`.
    """
    units, frac = divmod(abs(milli), 1000)
    sign = "-" if milli < 0 else ""
    return f"{sign}{units}.{frac:03d}".rstrip("0") if frac else f"{sign}{units}"


JSON_MILLI_LIMIT = 1000 << 43   # |milli| below this converts exactly (8.796e15; 2^53 would NOT be enough)


def milli_to_json(milli: int) -> float:
    """Milli-units -> float ``milli / 1000`` whose ``repr`` is the exact decimal value (45035 -> 45.035).

    Exact for ``|milli| < 1000 * 2**43`` (ValueError beyond; prices and positions are far smaller). Why: ``milli``
    is then an exact double and ``x = milli / 1000`` is the double nearest to the true quotient q. As
    ``|q| < 2**43``, the spacing of doubles there is at most ``2**-10 < 0.001``, so every other multiple of 0.001 is
    more than half a spacing away from x and does not round to x. ``repr`` prints the shortest decimal that rounds
    back to x; q (at most three decimals) rounds to x, and any string at least as short lies on the 0.001 grid or a
    coarser one, so ``repr`` yields exactly q. The bound is tight in practice: with ``|milli| < 2**53`` alone,
    ``(2**53 - 1) / 1000`` prints as ``9007199254740.99`` (spacing 2**-9 there), not ``...740.991``.
    """
    if not -JSON_MILLI_LIMIT < milli < JSON_MILLI_LIMIT:
        raise ValueError(f"{milli} milli-units cannot be represented exactly as a JSON number")
    return milli / 1000


def rha_shift(x: int, k: int) -> int:
    """``x / 2**k`` rounded half away from zero, for Python ints and ``k >= 1``.

    ``(3, 1) -> 2``, ``(-3, 1) -> -2``, ``(-1, 1) -> -1``, ``(5, 2) -> 1``.
    """
    if k < 1:
        raise ValueError(f"shift must be >= 1, not {k}")
    half = 1 << (k - 1)
    return (x + half) >> k if x >= 0 else -((-x + half) >> k)


def saturate(x: int, limit: int) -> int:
    """Clamp ``x`` to ``[-limit, limit]``."""
    return -limit if x < -limit else limit if x > limit else x


def check_signed(value: int, bits: int) -> bool:
    """True if ``value`` fits a two's complement integer of ``bits`` bits."""
    return -(1 << (bits - 1)) <= value < (1 << (bits - 1))


def check_unsigned(value: int, bits: int) -> bool:
    """True if ``value`` fits an unsigned integer of ``bits`` bits."""
    return 0 <= value < (1 << bits)


def check_range(value: int, lo: int, hi: int, *, show=str, got: str | None = None) -> int:
    """Return ``value`` if ``lo <= value <= hi``; else ValueError ``"must be >= {lo}, got {got}"`` (or ``<= {hi}``).

    ``show`` formats register values in the user's units (e.g. :func:`format_milli`); ``got`` is the text the user
    wrote (default ``show(value)``), shortened when absurdly long. Shared by the config and tick loaders.
    """
    if lo <= value <= hi:
        return value
    bound = f">= {show(lo)}" if value < lo else f"<= {show(hi)}"
    raise ValueError(f"must be {bound}, got {excerpt(show(value) if got is None else got)}")


def check_price(milli: int, params, *, got: str | None = None) -> int:
    """Check a price in milli-units against ``[params.price_min, params.price_max]`` (see :func:`check_range`)."""
    return check_range(milli, params.price_min, params.price_max, show=format_milli, got=got)

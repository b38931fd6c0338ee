"""Parquet tick files: the CSV's columns, read and written with pyarrow.

Columns (others are ignored): ``ts_ns`` (integer, >= 0), ``symbol`` (integer), ``side`` (string or dictionary of
strings: bid, ask, trade, clear), ``qty`` (integer), and the price as one of

* ``price_milli``: integer milli-units (what :func:`write_parquet` writes), or
* ``price``: decimal in currency units (rounded to milli-units half away from zero, as the CSV's prices are), or
  float64 in currency units, taken as the shortest decimal that gives the float back (``repr``), then rounded the
  same way: 27.505 is 27.505, whatever binary fraction stores it.

No nulls. Errors name the file, the row (counted from 1) and the column.
"""

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import InputError
from ..numbers import format_milli, to_milli
from ..ticks import Side
from .csv import side_names
from .table import LoadReport, TickTable

__all__ = ["read_parquet", "write_parquet"]

_SIDE_NAMES = [side.name.lower() for side in Side]
_INTEGER_COLUMNS = ("ts_ns", "symbol", "qty")


def read_parquet(path, params) -> TickTable:
    """Read and validate the Parquet tick file at ``path``; :class:`InputError` on any problem."""
    try:
        schema = pq.read_schema(path)
    except OSError as e:
        raise InputError(path, None, None, f"cannot read file: {e.strerror or e}") from None
    except (pa.ArrowException, ValueError) as e:
        raise InputError(path, None, None, f"not a Parquet file: {_first_line(e)}") from None
    names = set(schema.names)
    prices = [name for name in ("price_milli", "price") if name in names]
    missing = [name for name in ("ts_ns", "symbol", "side", "qty") if name not in names]
    if missing or len(prices) != 1:
        what = (f"missing column {', '.join(missing)}" if missing else
                "no price column (price or price_milli)" if not prices else "both price and price_milli columns")
        raise InputError(path, None, None, f"{what}; expected ts_ns, symbol, side, price or price_milli, qty "
                                           f"(has {', '.join(schema.names)})")
    try:
        columns = pq.read_table(path, columns=["ts_ns", "symbol", "side", prices[0], "qty"], use_threads=False)
    except (pa.ArrowException, OSError, ValueError) as e:
        raise InputError(path, None, None, f"cannot read: {_first_line(e)}") from None
    columns = {name: columns[name].combine_chunks() for name in columns.column_names}
    for name, column in columns.items():
        if column.null_count:
            row = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0]) + 1
            raise InputError(path, None, f"row {row}: {name}", "null value")

    ts_ns = _integers(columns["ts_ns"], "ts_ns", path, 0, (1 << 64) - 1).astype(np.uint64)
    symbol = _integers(columns["symbol"], "symbol", path, 0, params.symbols - 1)
    qty = _integers(columns["qty"], "qty", path, 0, params.qty_max)
    side = _sides(columns["side"], path)
    if prices[0] == "price_milli":
        price = _integers(columns["price_milli"], "price_milli", path, params.price_min, params.price_max,
                          show=format_milli)
    else:
        price = _prices(columns["price"], path)
        _check_range(price, "price", path, params.price_min, params.price_max, show=format_milli)
    table = TickTable(ts_ns, symbol, side, price, qty)
    table.report = LoadReport(str(path), "parquet", len(table))
    return table


def write_parquet(out, table: TickTable) -> None:
    """Write ``table`` with an integer ``price_milli`` column (exact) to a path or binary file."""
    pq.write_table(pa.table({"ts_ns": table.ts_ns, "symbol": table.symbol, "side": side_names(table.side),
                             "price_milli": table.price, "qty": table.qty}), out)


def _first_line(exc) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _fail_at(path, mask, column, message):
    row = int(np.flatnonzero(mask)[0])
    raise InputError(path, None, f"row {row + 1}: {column}", message(row))


def _check_range(values, column, path, lo, hi, show=str):
    bad = (values < lo) | (values > hi)
    if bad.any():
        _fail_at(path, bad, column, lambda row: f"must be {'>=' if values[row] < lo else '<='} "
                                                f"{show(lo if values[row] < lo else hi)}, got {show(int(values[row]))}")


def _integers(column: pa.Array, name, path, lo, hi, show=str) -> np.ndarray:
    if not pa.types.is_integer(column.type):
        raise InputError(path, None, name, f"expected an integer column, got {column.type}")
    if pa.types.is_uint64(column.type):
        values = column.to_numpy()
        if hi < (1 << 63):
            _check_range(values, name, path, 0, hi, show)
            return values.astype(np.int64)
        return values
    values = column.cast(pa.int64()).to_numpy()
    _check_range(values, name, path, lo, hi, show)
    return values


def _sides(column: pa.Array, path) -> np.ndarray:
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        raise InputError(path, None, "side", f"expected a string column (bid, ask, trade, clear), got {column.type}")
    codes = pc.index_in(column, value_set=pa.array(_SIDE_NAMES, column.type))
    if codes.null_count:
        row = int(np.flatnonzero(codes.is_null().to_numpy(zero_copy_only=False))[0])
        raise InputError(path, None, f"row {row + 1}: side",
                         f"{column[row].as_py()!r} is not one of {', '.join(_SIDE_NAMES)}")
    return codes.to_numpy().astype(np.uint8)


def _prices(column: pa.Array, path) -> np.ndarray:
    """Prices in currency units (decimal or float64 column) -> milli-units, rounded half away from zero."""
    if pa.types.is_decimal(column.type):
        return _decimal_prices(column, path)
    if not pa.types.is_float64(column.type):
        raise InputError(path, None, "price", f"expected a decimal or float64 column (or an integer price_milli), "
                                              f"got {column.type}")
    x = column.to_numpy()
    bad = ~np.isfinite(x) | (np.abs(x) >= 1e15)
    if bad.any():
        _fail_at(path, bad, "price", lambda row: f"{float(x[row])!r} is not a price")
    milli = np.round(x * 1000.0)
    exact = milli / 1000.0 == x    # then milli/1000 is the float's shortest decimal (unique with 3 decimals here)
    milli = milli.astype(np.int64)
    for row in np.flatnonzero(~exact).tolist():
        milli[row] = to_milli(Decimal(repr(float(x[row]))))
    return milli


def _decimal_prices(column: pa.Array, path) -> np.ndarray:
    scale = column.type.scale
    try:
        if not pa.types.is_decimal128(column.type):
            column = column.cast(pa.decimal128(38, scale))
    except pa.ArrowInvalid:
        raise InputError(path, None, "price", f"decimal values beyond 38 digits ({column.type})") from None
    words = np.frombuffer(column.buffers()[1], dtype=np.int64)[2 * column.offset:2 * (column.offset + len(column))]
    low, high = words[0::2], words[1::2]
    bad = high != (low >> 63)                      # beyond int64 unscaled: far outside any price range
    if bad.any():
        _fail_at(path, bad, "price", lambda row: f"must be a price that fits, got {column[row].as_py()}")
    if scale <= 3:
        factor = 10 ** (3 - scale)
        limit = (1 << 62) // factor
        bad = np.abs(low) > limit
        if bad.any():
            _fail_at(path, bad, "price", lambda row: f"must be a price that fits, got {column[row].as_py()}")
        return low * factor
    divisor = 10 ** (scale - 3)
    if divisor > 1 << 62:                             # scale beyond 21: per value, exactly
        return np.array([to_milli(value) for value in column.to_pylist()], dtype=np.int64)
    magnitude = np.abs(low)
    quotient, remainder = np.divmod(magnitude, divisor)
    quotient += (2 * remainder >= divisor)
    return np.where(low < 0, -quotient, quotient)



"""The CSV tick format (hedgegate.host.ticks has its rules), read column-wise with pyarrow and written the same way.

Reading: pyarrow splits the file into five byte-string columns (no quoting, no blank lines skipped, so data row i is
line i + 2), and vectorised regular expressions pick the rows in the common form (ASCII digits; a price with at most
three decimals and no ``+``; values in range). Those are converted as whole columns; every other row goes through
:func:`hedgegate.host.ticks.parse_row`, the one place where rows are judged and errors made, so both paths accept and
reject exactly the same rows with the same values (tests/test_ticks.py). A file pyarrow cannot split into
five columns, one with non-ASCII bytes or lone carriage returns is read by the per-row parser alone.
"""

import io

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from ..errors import decode_text, read_bytes
from ..ticks import HEADER, Side, parse_row, parse_ticks
from .table import LoadReport, TickTable

__all__ = ["read_csv", "write_csv"]

_NAMES = tuple(HEADER.split(","))
_SIDE_NAMES = [side.name.lower() for side in Side]


def _binary(names) -> pa.Array:
    """A binary array of ``names``, built from its buffers: ``pa.array`` (and ``to_numpy`` of booleans) import
    pandas when it is installed, a quarter of a second of a million-row load."""
    data = [name.encode() for name in names]
    offsets = np.cumsum([0] + [len(item) for item in data]).astype(np.int32)
    return pa.Array.from_buffers(pa.binary(), len(data), [None, pa.py_buffer(offsets.tobytes()),
                                                          pa.py_buffer(b"".join(data))])


def _booleans(mask: pa.Array) -> np.ndarray:
    """A boolean array without nulls as numpy, from its bitmap (see :func:`_binary` for why not ``to_numpy``)."""
    bits = np.unpackbits(np.frombuffer(mask.buffers()[1], dtype=np.uint8), bitorder="little")
    return bits[mask.offset:mask.offset + len(mask)].astype(bool)


def _numbers(array: pa.Array, dtype) -> np.ndarray:
    """A fixed-width array without nulls as numpy, viewing its data buffer (see :func:`_binary`)."""
    return np.frombuffer(array.buffers()[1], dtype=dtype)[array.offset:array.offset + len(array)]


_SIDE_VALUES = _binary(_SIDE_NAMES)
# At most 18 digits (19 for ts_ns) so that the casts below cannot overflow; longer numbers take the per-row path.
_PATTERNS = {
    "ts_ns": r"^[0-9]{1,19}$",
    "symbol": r"^[0-9]{1,18}$",
    "price": r"^-?[0-9]{1,15}(\.[0-9]{1,3})?$",
    "qty": r"^[0-9]{1,18}$",
}


def read_csv(path, params) -> TickTable:
    """Read and validate the CSV tick file at ``path``; :class:`InputError` on any problem."""
    data = read_bytes(path)
    table = _read_columns(data, params, path)
    if table is None:
        text = decode_text(data, path)
        ticks = parse_ticks(text, params, path)
        table = TickTable.from_ticks(ticks, source_row=np.arange(2, len(ticks) + 2))
    table.report = LoadReport(str(path), "csv", len(table))
    return table


def _read_columns(data: bytes, params, path) -> TickTable | None:
    """The column-wise read, or None where only the per-row parser can judge the file."""
    header_end = data.find(b"\n")
    header = data if header_end < 0 else data[:header_end]
    if header.removesuffix(b"\r") != HEADER.encode() or not data.isascii() or data.count(b"\r") != data.count(b"\r\n"):
        return None
    body = b"" if header_end < 0 else data[header_end + 1:]
    if not body:
        return TickTable([], [], [], [], [], [])
    try:
        columns = pa_csv.read_csv(
            io.BytesIO(body),
            read_options=pa_csv.ReadOptions(column_names=_NAMES, use_threads=False, block_size=1 << 24),
            parse_options=pa_csv.ParseOptions(quote_char=False, escape_char=False, ignore_empty_lines=False,
                                              newlines_in_values=False),
            convert_options=pa_csv.ConvertOptions(column_types={name: pa.binary() for name in _NAMES},
                                                  strings_can_be_null=False, null_values=[]))
    except pa.ArrowInvalid:
        return None
    columns = {name: columns[name].combine_chunks() for name in _NAMES}
    mask = pc.is_in(columns["side"], value_set=_SIDE_VALUES)
    for name, pattern in _PATTERNS.items():
        mask = pc.and_(mask, pc.match_substring_regex(columns[name], pattern))
    good = _booleans(mask)          # numpy, to index with; pyarrow filters take the arrow mask (no conversion)
    n = len(good)

    def integers(name):
        values = np.zeros(n, dtype=np.uint64 if name == "ts_ns" else np.int64)
        text = pc.filter(columns[name], mask).cast(pa.string())
        values[good] = _numbers(pc.cast(text, pa.uint64() if name == "ts_ns" else pa.int64()), values.dtype)
        return values
    ts_ns, symbol, qty = integers("ts_ns"), integers("symbol"), integers("qty")
    side = np.zeros(n, dtype=np.uint8)
    side[good] = _numbers(pc.index_in(pc.filter(columns["side"], mask), value_set=_SIDE_VALUES), np.int32)
    price = np.zeros(n, dtype=np.int64)
    price[good] = _unscaled(pc.cast(pc.filter(columns["price"], mask).cast(pa.string()), pa.decimal128(18, 3)))
    good &= (symbol < params.symbols) & (qty <= params.qty_max) & (price >= params.price_min) \
        & (price <= params.price_max)
    bad_rows = np.flatnonzero(~good).tolist()
    if bad_rows:
        lines = body.split(b"\n")
        if lines[-1] == b"":
            lines.pop()
        if len(lines) != n:                       # rows are not one per line: let the per-row parser read it all
            return None
    for i in bad_rows:                            # the per-row parser judges these (or raises the error)
        tick = parse_row(lines[i].removesuffix(b"\r").decode("ascii"), params, path, i + 2)
        ts_ns[i], symbol[i], side[i], price[i], qty[i] = tick.ts_ns, tick.symbol, tick.side, tick.price, tick.qty
    return TickTable(ts_ns, symbol, side, price, qty, np.arange(2, n + 2))


def _unscaled(decimals: pa.Array) -> np.ndarray:
    """The unscaled integers of a decimal128 array whose values fit in int64 (the low halves of its 16 bytes)."""
    words = np.frombuffer(decimals.buffers()[1], dtype=np.int64)
    return words[2 * decimals.offset:2 * (decimals.offset + len(decimals)):2].copy()


def decimal_milli(price: np.ndarray) -> pa.Array:
    """Milli-unit prices as a decimal128(19, 3) array (exact; what the CSV writer prints)."""
    words = np.empty((len(price), 2), dtype=np.int64)
    words[:, 0] = price
    words[:, 1] = price >> 63
    return pa.Array.from_buffers(pa.decimal128(19, 3), len(price), [None, pa.py_buffer(words.tobytes())])


def side_names(side: np.ndarray) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(side.astype(np.int8)), pa.array(_SIDE_NAMES))


def write_csv(out, table: TickTable) -> None:
    """Write ``table`` as a CSV tick file (``\\n`` line endings, prices with three decimals) to a binary file."""
    out.write((HEADER + "\n").encode())
    if len(table):
        columns = pa.table({"ts_ns": table.ts_ns, "symbol": table.symbol, "side": side_names(table.side),
                            "price": decimal_milli(table.price), "qty": table.qty})
        pa_csv.write_csv(columns, out, pa_csv.WriteOptions(include_header=False, quoting_style="none"))

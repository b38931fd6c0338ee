"""Market data in and out: one entry point that reads any supported format as the engine's ticks.

========  =============================================  ==============================================
format    files                                          read by
========  =============================================  ==============================================
csv       ``ts_ns,symbol,side,price,qty`` (host/ticks)   :mod:`.csv` (pyarrow columns + the row rules)
parquet   the same columns, ``price`` or ``price_milli``  :mod:`.parquet` (pyarrow)
dbn       Databento MBO or MBP-10, plain or ``.zst``      :mod:`.dbn` (databento-dbn)
========  =============================================  ==============================================

:func:`load_ticks` picks the format from the file's first bytes (Parquet's and DBN's magic numbers; anything else
is taken as CSV), ``format=`` overrides it. Every loader returns a :class:`TickTable` (numpy columns) with a
:class:`LoadReport`; :func:`write_ticks` writes CSV or Parquet atomically (a temporary file renamed into place).
"""

import os
import tempfile

import numpy as np

from ..errors import InputError
from .dbn import is_dbn, read_dbn, read_definitions
from .table import LoadReport, TickTable

__all__ = ["FORMATS", "OUTPUT_FORMATS", "LoadReport", "TickTable", "detect_format", "load_ticks", "parse_symbol_map",
           "read_definitions", "write_ticks", "check_time_order"]

FORMATS = ("csv", "parquet", "dbn")
OUTPUT_FORMATS = ("csv", "parquet")
PARQUET_MAGIC = b"PAR1"


def detect_format(path) -> str:
    """``csv``, ``parquet`` or ``dbn`` from the file's first bytes (its name for a file too short to tell)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as e:
        raise InputError(path, None, None, f"cannot read file: {e.strerror or e}") from None
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    if is_dbn(head):
        return "dbn"
    return format_from_name(path) or "csv"


def format_from_name(path) -> str | None:
    name = os.fspath(path).lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".dbn", ".dbn.zst")):
        return "dbn"
    if name.endswith(".csv"):
        return "csv"
    return None


def load_ticks(path, params, *, format: str | None = None, depth: int | None = None, symbols: dict | None = None,
               definitions=(), strict_symbols: bool = False) -> TickTable:
    """Read the ticks of ``path`` for a core of ``params``; :class:`InputError` (one line) on any problem.

    Parameters
    ----------
    format : str, optional
        ``csv``, ``parquet`` or ``dbn``; default: :func:`detect_format`.
    depth, symbols, definitions, strict_symbols :
        For DBN files (:func:`.dbn.read_dbn`); ``definitions`` are paths of DBN definition files. Given for another
        format, ``symbols`` and ``definitions`` are an error (those formats carry symbol indices already).
    """
    format = detect_format(path) if format is None else format
    if format not in FORMATS:
        raise InputError(path, None, "format", f"{format!r} is not one of {', '.join(FORMATS)}")
    if format == "dbn":
        return read_dbn(path, params, depth=depth, symbols=symbols, strict_symbols=strict_symbols,
                        definitions=[read_definitions(d) for d in definitions])
    if symbols or definitions:
        raise InputError(path, None, "symbols", f"a {format} file has symbol indices already; symbol maps and "
                                                "definitions are for DBN files")
    if format == "parquet":
        from .parquet import read_parquet
        return read_parquet(path, params)
    from .csv import read_csv
    return read_csv(path, params)


def parse_symbol_map(text: str) -> dict[str, int]:
    """``ID=INDEX,...`` (an instrument id or a raw symbol = an engine symbol index) -> dict; ValueError if malformed."""
    mapping = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, index = item.rpartition("=")
        if not sep or not key.strip() or not index.strip().isdigit():
            raise ValueError(f"{item!r} is not ID=INDEX (an instrument id or raw symbol, then a symbol index)")
        if key.strip() in mapping:
            raise ValueError(f"{key.strip()!r} is mapped twice")
        mapping[key.strip()] = int(index)
    if not mapping:
        raise ValueError("empty symbol map; expected ID=INDEX,...")
    return mapping


def write_ticks(path, table: TickTable, format: str | None = None) -> str:
    """Write ``table`` as CSV or Parquet (default: from the name, else CSV) atomically; returns the format."""
    format = format or format_from_name(path) or "csv"
    if format not in OUTPUT_FORMATS:
        raise InputError(path, None, "format", f"cannot write {format!r}; output formats: {', '.join(OUTPUT_FORMATS)}")
    if not isinstance(table, TickTable):
        table = TickTable.from_ticks(table)
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".hedgegate-", suffix=".part", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            if format == "parquet":
                from .parquet import write_parquet
                write_parquet(out, table)
            else:
                from .csv import write_csv
                write_csv(out, table)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)          # mkstemp's 0600 would make OUT private, unlike other outputs
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return format


def check_time_order(table: TickTable, path) -> None:
    """InputError naming the first tick whose ``ts_ns`` is below the one before (for commands that use time)."""
    if len(table) > 1:
        back = np.flatnonzero(table.ts_ns[1:] < table.ts_ns[:-1])
        if len(back):
            i = int(back[0]) + 1
            unit = "line" if table.report is not None and table.report.format == "csv" else \
                "record" if table.report is not None and table.report.format.startswith("dbn") else "row"
            raise InputError(path, None, f"{unit} {int(table.source_row[i])}",
                             f"ts_ns {int(table.ts_ns[i])} is before the previous tick's {int(table.ts_ns[i - 1])}:"
                             " timestamps must not go backwards")

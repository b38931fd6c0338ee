"""Databento DBN files (plain or zstd-compressed), decoded by the ``databento-dbn`` package, as engine ticks.

* **MBO** (market by order): orders aggregated per price into a full-depth book per instrument by Databento's
  book-building rules: A adds an order (with ``F_TOB``, a top-of-book publisher's A replaces the whole side);
  C reduces an order by its size, removing it at zero; M moves or resizes an order (an M for an order not on the
  book is an add); R clears the instrument's book (one ``clear`` tick); T (trade) gives a ``trade`` tick and no
  book change; F (fill) and N change nothing (the exchange sends the cancel or modify that follows a fill). The
  level updates that keep the engine's top N exact come from :class:`.book.LevelBook`.
* **MBP-10**: each record's levels (the first ``depth`` of its ten per side) become level updates against the
  instrument's previous snapshot, only what changed (:func:`.book.diff_levels`); T records also a ``trade`` tick.

Each tick's ``ts_ns`` is its record's ``ts_recv``. Prices (int64 in units of 1e-9) must lie on the milli-unit grid
and in the core's range, and a level's size (the sum of its orders') must fit the core's qty width: otherwise an
error names the record (counted from 1, metadata excluded). Instruments map to the engine's symbol indices through
``symbols`` (instrument ids or raw symbols, the latter resolved through the file's own symbology or definition
files); with no map, a file with a single instrument maps it to symbol 0.
"""


import databento_dbn as dbn
import numpy as np

from ..errors import InputError, read_bytes
from ..numbers import format_milli
from ..ticks import Side
from .book import ASK, BID, LevelBook, diff_levels
from .table import LoadReport, TickTable

__all__ = ["read_dbn", "read_definitions", "is_dbn"]

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
DBN_MAGIC = b"DBN"
_NANO_PER_MILLI = 1_000_000
_ACTION = dbn.Action
_SIDES = {dbn.Side.BID: BID, dbn.Side.ASK: ASK}
_TICK_SIDE = (int(Side.BID), int(Side.ASK))


def is_dbn(head: bytes) -> bool:
    """Whether a file starting with ``head`` is DBN (plain, or zstd, the compression DBN files use)."""
    return head.startswith(DBN_MAGIC) or head.startswith(ZSTD_MAGIC)


def _decode(path):
    """The file's metadata and records; InputError for an unreadable, corrupt or truncated file."""
    data = read_bytes(path)
    compression = dbn.Compression.ZSTD if data.startswith(ZSTD_MAGIC) else dbn.Compression.NONE
    decoder = dbn.DBNDecoder(compression=compression)
    try:
        decoder.write(data)
        records = decoder.decode()
    except Exception as e:   # DBNError, and RuntimeError from the zstd layer (bad checksum, bad frame)
        message = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise InputError(path, None, None, f"corrupt DBN file: {message}") from None
    if not records or not isinstance(records[0], dbn.Metadata):
        raise InputError(path, None, None, "not a DBN file, or one cut short: no complete metadata header")
    left = len(decoder.buffer())
    if left:
        raise InputError(path, None, f"record {len(records)}",      # records[0] is the metadata
                         f"truncated file: only {left} bytes of this record")
    return records[0], records[1:]


def read_definitions(path) -> dict[str, set[int]]:
    """Raw symbol -> instrument ids, from a DBN file of instrument definitions."""
    _, records = _decode(path)
    symbols = {}
    for record in records:
        if isinstance(record, dbn.InstrumentDefMsg):
            symbols.setdefault(record.raw_symbol, set()).add(record.instrument_id)
    if not symbols:
        raise InputError(path, None, None, "no instrument definitions in this file")
    return symbols


def _file_symbology(metadata) -> dict[str, set[int]]:
    """Raw symbol -> instrument ids from the file's own symbology (Databento's historical files carry it)."""
    symbols = {}
    if str(metadata.stype_out) != "instrument_id":
        return symbols
    for raw, intervals in (metadata.mappings or {}).items():
        for interval in intervals:
            if str(interval.get("symbol", "")).isdigit():
                symbols.setdefault(raw, set()).add(int(interval["symbol"]))
    return symbols


def _symbol_map(path, metadata, records, params, symbols, definitions) -> tuple[dict[int, int], dict[int, str]]:
    """(instrument id -> symbol index, instrument id -> raw symbol for messages)."""
    by_raw = _file_symbology(metadata)
    for extra in definitions or ():
        for raw, ids in extra.items():
            by_raw.setdefault(raw, set()).update(ids)
    names = {i: raw for raw, ids in by_raw.items() for i in ids}
    if symbols is None:
        present = sorted({record.instrument_id for record in records})
        if len(present) > 1:
            listed = ", ".join(f"{i} ({names[i]})" if i in names else str(i) for i in present[:8])
            more = ", ..." if len(present) > 8 else ""
            raise InputError(path, None, None, f"{len(present)} instruments ({listed}{more}); map them to the "
                                               "engine's symbols with --symbols ID=INDEX,...")
        return {i: 0 for i in present}, names
    mapping = {}
    for key, index in symbols.items():
        if not 0 <= index < params.symbols:
            raise InputError(path, None, "symbols", f"{key}={index}: the index must be below the engine's "
                                                    f"{params.symbols} symbols")
        if str(key).isdigit():
            mapping[int(key)] = index
        elif key in by_raw:
            mapping.update({i: index for i in by_raw[key]})
        else:
            known = ", ".join(sorted(by_raw)[:8]) or "none"
            raise InputError(path, None, "symbols", f"{key!r} is neither an instrument id nor a raw symbol of this "
                                                    f"file or its definitions (known: {known})")
    return mapping, names


class _Ticks:
    """The columns being built, and where the current record's ticks go."""

    def __init__(self, params, path):
        self.columns = ([], [], [], [], [], [])     # ts_ns, symbol, side, price, qty, record
        self.params, self.path = params, path
        self.ts = self.symbol = self.row = 0

    def at(self, ts, symbol, row):
        self.ts, self.symbol, self.row = ts, symbol, row

    def add(self, side, price, qty):
        if qty > self.params.qty_max:
            raise InputError(self.path, None, f"record {self.row}",
                             f"the level at {format_milli(price)} would hold {qty}, more than the core's qty "
                             f"limit {self.params.qty_max}")
        ts_ns, symbol, sides, prices, qtys, rows = self.columns
        ts_ns.append(self.ts)
        symbol.append(self.symbol)
        sides.append(side)
        prices.append(price)
        qtys.append(qty)
        rows.append(self.row)

    def level(self, side, price, qty):                # a LevelBook's emit
        self.add(_TICK_SIDE[side], price, qty)

    def table(self, report) -> TickTable:
        ts_ns, symbol, side, price, qty, rows = self.columns
        return TickTable(np.array(ts_ns, dtype=np.uint64), symbol, side, price, qty, rows, report)


def _milli(price: int, params, path, row, what="price") -> int:
    if price == dbn.UNDEF_PRICE:
        raise InputError(path, None, f"record {row}", f"undefined {what}")
    milli, rest = divmod(price, _NANO_PER_MILLI)
    if rest:
        raise InputError(path, None, f"record {row}", f"{what} {price / 1e9:.9f} is not on the milli-unit grid "
                                                      "(0.001); the engine's prices are milli-units")
    if not params.price_min <= milli <= params.price_max:
        lo, hi = format_milli(params.price_min), format_milli(params.price_max)
        raise InputError(path, None, f"record {row}", f"{what} {format_milli(milli)} does not fit the core's "
                                                      f"{params.price_width}-bit prices ({lo} .. {hi})")
    return milli


def read_dbn(path, params, *, depth: int | None = None, symbols: dict | None = None, definitions=None,
             strict_symbols: bool = False) -> TickTable:
    """Read an MBO or MBP-10 DBN file as ticks for a core of ``params``.

    Parameters
    ----------
    depth : int, optional
        Levels per side the engine keeps (default ``params.levels``); the top ``depth`` is kept exact.
    symbols : dict, optional
        Instrument id (int or digit string) or raw symbol -> symbol index.
    definitions : iterable of dict, optional
        Raw symbol -> instrument ids, from :func:`read_definitions`, to resolve raw symbols in ``symbols``.
    strict_symbols : bool
        An instrument without a mapping is an error (default: its records are skipped and counted).
    """
    depth = params.levels if depth is None else depth
    metadata, records = _decode(path)
    kinds = {type(record) for record in records}
    kind = dbn.MBOMsg if dbn.MBOMsg in kinds else dbn.MBP10Msg if dbn.MBP10Msg in kinds else None
    schema = str(metadata.schema) if metadata.schema is not None else "mixed"
    if kind is None and records:
        raise InputError(path, None, None, f"schema {schema}: not market data the engine reads (MBO or MBP-10 "
                                           "records)")
    if len(kinds) > 1:
        row = next(i for i, record in enumerate(records, 1) if type(record) is not kind)
        raise InputError(path, None, f"record {row}", f"a {type(records[row - 1]).__name__} record among "
                                                      f"{kind.__name__} records: only one schema per file is read")
    if kind is dbn.MBP10Msg and depth > 10:
        raise InputError(path, None, None, f"MBP-10 has 10 levels per side; depth {depth} needs MBO data")
    mapping, names = _symbol_map(path, metadata, records, params, symbols, definitions)
    report = LoadReport(str(path), f"dbn {'mbo' if kind is dbn.MBOMsg else 'mbp-10'}", len(records))
    ticks = _Ticks(params, path)
    (_mbo if kind is dbn.MBOMsg else _mbp10)(records, mapping, names, depth, params, path, strict_symbols,
                                             ticks, report.skipped)
    return ticks.table(report)


def _mapped(records, mapping, names, path, strict, skipped):
    """(record number, record, symbol index) for the records of mapped instruments; the others are skipped and
    counted (or, ``strict``, an error)."""
    for row, record in enumerate(records, 1):
        symbol = mapping.get(record.instrument_id)
        if symbol is not None:
            yield row, record, symbol
            continue
        instrument = record.instrument_id
        name = f"{instrument} ({names[instrument]})" if instrument in names else str(instrument)
        if strict:
            raise InputError(path, None, f"record {row}", f"instrument {name} has no symbol mapping (--symbols)")
        skipped[f"unmapped instrument {name}"] += 1


def _mbo(records, mapping, names, depth, params, path, strict, ticks, skipped):
    books, orders, publishers = {}, {}, {}
    add, ADD, CANCEL, MODIFY, CLEAR, TRADE = ticks.add, _ACTION.ADD, _ACTION.CANCEL, _ACTION.MODIFY, \
        _ACTION.CLEAR, _ACTION.TRADE
    milli, sides, tob = _milli, _SIDES, dbn.F_TOB
    for row, record, symbol in _mapped(records, mapping, names, path, strict, skipped):
        instrument = record.instrument_id
        book = books.get(instrument)
        if book is None:
            book = books[instrument] = LevelBook(depth, ticks.level)
            orders[instrument] = {}
            publishers[instrument] = record.publisher_id
        elif publishers[instrument] != record.publisher_id:
            raise InputError(path, None, f"record {row}", f"instrument {instrument} comes from two publishers "
                                                          f"({publishers[instrument]}, {record.publisher_id}); "
                                                          "one book per instrument is built")
        ticks.at(record.ts_recv, symbol, row)
        action = record.action
        if action is CLEAR:
            book.clear()
            orders[instrument].clear()
            add(int(Side.CLEAR), 0, 0)
            continue
        if action is TRADE:
            if record.price == dbn.UNDEF_PRICE or record.size == 0:
                skipped["trade without a price or size"] += 1
            else:
                add(int(Side.TRADE), milli(record.price, params, path, row), record.size)
            continue
        if action is not ADD and action is not CANCEL and action is not MODIFY:
            skipped["fill (F)" if action is _ACTION.FILL else f"action {action.value}: no book change"] += 1
            continue
        side = sides.get(record.side)
        if side is None:
            skipped[f"action {action.value} without a side"] += 1
            continue
        book_orders = orders[instrument]
        if action is ADD and record.flags & tob:       # a top-of-book publisher: this level is the whole side
            book.replace_side(side, [] if record.price == dbn.UNDEF_PRICE else
                              [(milli(record.price, params, path, row), record.size)])
            continue
        order_id = record.order_id
        order = book_orders.get(order_id)
        if action is CANCEL:
            if order is None:
                skipped["cancel of an order not on the book"] += 1
                continue
            size = min(record.size, order[2])
            book.change(order[0], order[1], -size)
            order[2] -= size
            if not order[2]:
                del book_orders[order_id]
            continue
        price = milli(record.price, params, path, row)
        if order is not None:                          # M, or an A for an order already on the book: replace it
            book.change(order[0], order[1], -order[2])
            del book_orders[order_id]
        if record.size:
            book_orders[order_id] = [side, price, record.size]
            book.change(side, price, record.size)


def _mbp10(records, mapping, names, depth, params, path, strict, ticks, skipped):
    previous = {}
    TRADE, undefined, milli = _ACTION.TRADE, dbn.UNDEF_PRICE, _milli
    for row, record, symbol in _mapped(records, mapping, names, path, strict, skipped):
        instrument = record.instrument_id
        ticks.at(record.ts_recv, symbol, row)
        bids, asks = [], []
        for level in record.levels[:depth]:
            if level.bid_px != undefined and level.bid_sz:
                bids.append((milli(level.bid_px, params, path, row, "bid price"), level.bid_sz))
            if level.ask_px != undefined and level.ask_sz:
                asks.append((milli(level.ask_px, params, path, row, "ask price"), level.ask_sz))
        before = previous.get(instrument, ([], []))
        for side, now in ((BID, bids), (ASK, asks)):
            for price, qty in diff_levels(before[side], now):
                ticks.level(side, price, qty)
        previous[instrument] = (bids, asks)
        if record.action is TRADE and record.price != undefined and record.size:
            ticks.add(int(Side.TRADE), milli(record.price, params, path, row), record.size)



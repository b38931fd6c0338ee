"""Ticks as columns: what every loader returns and every writer takes.

A backtest reads millions of ticks, so the loaders build numpy columns, not one Python object per row. The per-tick
consumers (the model, the boards) iterate a :class:`TickTable` and get :class:`~hedgegate.host.ticks.Tick` objects,
built only as they go.
"""

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..ticks import Side, Tick

__all__ = ["TickTable", "LoadReport"]

# column -> numpy dtype. ts_ns is unsigned (the CSV allows up to 2**64 - 1); prices are signed milli-units.
COLUMNS = {"ts_ns": np.uint64, "symbol": np.int64, "side": np.uint8, "price": np.int64, "qty": np.int64}
_SIDES = list(Side)


@dataclass
class LoadReport:
    """What a loader read and what it left out.

    Attributes
    ----------
    path : str
        The file read.
    format : str
        ``csv``, ``parquet`` or ``dbn`` (with the DBN schema: ``dbn mbo``, ``dbn mbp-10``).
    records : int
        Data rows or DBN records read.
    skipped : Counter[str]
        Records that gave no tick on purpose, by reason (``unmapped instrument 17077``, ``fill (F): no book change``,
        ...); records that simply changed nothing visible in the top N are not counted here.
    """
    path: str
    format: str
    records: int = 0
    skipped: Counter = field(default_factory=Counter)

    def summary(self, ticks: int) -> str:
        """One line: records read, ticks made, skipped by reason."""
        skipped = ", ".join(f"{reason}: {count:,}" for reason, count in sorted(self.skipped.items()))
        return (f"{self.path} ({self.format}): {self.records:,} records read, {ticks:,} ticks"
                + (f"; skipped: {skipped}" if skipped else ""))


class TickTable:
    """Ticks in columns of equal length.

    Parameters
    ----------
    ts_ns, symbol, side, price, qty :
        Array-likes, converted to the dtypes of :data:`COLUMNS` (uint64, int64, uint8 :class:`Side` codes, int64
        milli-units, int64).
    source_row : array-like, optional
        Per tick, where it came from: the CSV line, the Parquet row (from 1) or the DBN record (from 1), so that a
        later error (time going backwards) can name it. Defaults to the tick's own 1-based index.
    report : LoadReport, optional
        What the loader read and skipped.

    Iterating gives :class:`Tick` objects; ``table[i]`` one Tick, ``table[a:b]`` a TickTable.
    """

    __slots__ = ("ts_ns", "symbol", "side", "price", "qty", "source_row", "report")

    def __init__(self, ts_ns, symbol, side, price, qty, source_row=None, report: LoadReport | None = None):
        self.ts_ns = np.asarray(ts_ns, dtype=np.uint64)
        self.symbol = np.asarray(symbol, dtype=np.int64)
        self.side = np.asarray(side, dtype=np.uint8)
        self.price = np.asarray(price, dtype=np.int64)
        self.qty = np.asarray(qty, dtype=np.int64)
        n = len(self.ts_ns)
        if any(len(column) != n for column in (self.symbol, self.side, self.price, self.qty)):
            raise ValueError("tick columns differ in length")
        self.source_row = (np.arange(1, n + 1, dtype=np.int64) if source_row is None
                           else np.asarray(source_row, dtype=np.int64))
        self.report = report

    @classmethod
    def from_ticks(cls, ticks, source_row=None, report: LoadReport | None = None) -> "TickTable":
        """A table of :class:`Tick`-like objects (``ts_ns``, ``symbol``, ``side``, ``price``, ``qty``)."""
        ticks = list(ticks)
        return cls([t.ts_ns for t in ticks], [t.symbol for t in ticks], [int(t.side) for t in ticks],
                   [t.price for t in ticks], [t.qty for t in ticks], source_row, report)

    def __len__(self) -> int:
        return len(self.ts_ns)

    def __iter__(self):
        sides = _SIDES
        for ts, symbol, side, price, qty in zip(self.ts_ns.tolist(), self.symbol.tolist(), self.side.tolist(),
                                                self.price.tolist(), self.qty.tolist()):
            yield Tick(ts, symbol, sides[side], price, qty)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return TickTable(self.ts_ns[index], self.symbol[index], self.side[index], self.price[index],
                             self.qty[index], self.source_row[index], self.report)
        return Tick(int(self.ts_ns[index]), int(self.symbol[index]), _SIDES[self.side[index]],
                    int(self.price[index]), int(self.qty[index]))

    def check_symbols(self, symbols: int) -> None:
        """ValueError naming the first tick whose symbol is not below ``symbols`` (a core with that many books)."""
        bad = np.flatnonzero((self.symbol < 0) | (self.symbol >= symbols))
        if len(bad):
            raise ValueError(f"tick {int(bad[0]) + 1}: symbol {int(self.symbol[bad[0]])} is not below {symbols}")

    def to_list(self) -> list[Tick]:
        return list(self)

    def __eq__(self, other) -> bool:
        """Same ticks (``source_row`` and ``report`` aside); a list of Ticks compares by its elements."""
        if not isinstance(other, TickTable):
            return NotImplemented if not isinstance(other, list) else self.to_list() == other
        return len(self) == len(other) and all(
            np.array_equal(getattr(self, name), getattr(other, name)) for name in COLUMNS)

    __hash__ = None

    def __repr__(self) -> str:
        return f"TickTable({len(self)} ticks)"

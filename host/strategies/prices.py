"""Daily price series (``Date,Price`` CSV, as the EIA series of ../shared/data) and how two are aligned.

Policy (issue 20; docs/strategies.md):

* A row whose price is empty or not a number (``.``, ``NA``) is dropped and counted as ``missing``; a date that is
  not ``YYYY-MM-DD`` or comes twice, and a file without the ``Date,Price`` header, are errors naming the line.
  Rows are sorted by date. Prices may be zero or negative (WTI settled at -36.98 USD on 2020-04-20): nothing here
  takes logs, so nothing drops them.
* Two series are aligned by an inner join on the date; the rows of either that have no partner are counted as
  ``unmatched``. Price changes are taken between consecutive rows of the join (so a change may span a holiday of
  one market), never across a dropped row's gap silently: the counts say what was left out.
"""

import datetime
import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError, read_input

__all__ = ["PriceSeries", "load_prices", "align"]


@dataclass
class PriceSeries:
    """Dated prices, oldest first.

    Attributes
    ----------
    dates : list[datetime.date]
    prices : numpy.ndarray
        float64, same length.
    dropped : dict[str, int]
        Rows left out, by reason (``missing``: no numeric price; ``unmatched``: no partner in an alignment).
    name : str
    """
    dates: list
    prices: np.ndarray
    dropped: dict = field(default_factory=dict)
    name: str = ""

    def __len__(self) -> int:
        return len(self.dates)


def load_prices(path) -> PriceSeries:
    text = read_input(path)
    lines = text.splitlines()
    if not lines or lines[0].strip().lstrip("\ufeff") != "Date,Price":
        raise InputError(path, 1, "header", f"expected 'Date,Price', got {lines[0][:40]!r}" if lines else
                         "empty file, expected the header 'Date,Price'")
    rows, missing, seen = [], 0, {}
    for lineno, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        parts = line.strip().split(",")
        if len(parts) != 2:
            raise InputError(path, lineno, "row", f"expected 2 fields (Date,Price), got {len(parts)}")
        try:
            date = datetime.date.fromisoformat(parts[0])
        except ValueError:
            raise InputError(path, lineno, "Date", f"{parts[0][:40]!r} is not a date (YYYY-MM-DD)") from None
        if date in seen:
            raise InputError(path, lineno, "Date", f"{date} comes twice (first on line {seen[date]})")
        seen[date] = lineno
        try:
            price = float(parts[1])
        except ValueError:
            price = math.nan
        if not math.isfinite(price):
            missing += 1
            continue
        rows.append((date, price))
    rows.sort()
    return PriceSeries([d for d, _ in rows], np.array([p for _, p in rows], dtype=np.float64),
                       {"missing": missing} if missing else {}, str(path))


def align(a: PriceSeries, b: PriceSeries) -> tuple[PriceSeries, PriceSeries, dict]:
    """The two series on their common dates, and what was dropped: ``{"missing": n, "unmatched": m}`` (both
    series' rows)."""
    common = sorted(set(a.dates) & set(b.dates))
    index_a = {d: i for i, d in enumerate(a.dates)}
    index_b = {d: i for i, d in enumerate(b.dates)}
    pa = a.prices[[index_a[d] for d in common]] if common else np.empty(0)
    pb = b.prices[[index_b[d] for d in common]] if common else np.empty(0)
    dropped = {"missing": a.dropped.get("missing", 0) + b.dropped.get("missing", 0),
               "unmatched": len(a) + len(b) - 2 * len(common)}
    return (PriceSeries(common, pa, dropped, a.name), PriceSeries(list(common), pb, dropped, b.name), dropped)

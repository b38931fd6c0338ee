"""A backtest's report: ``metrics.json`` and one HTML page, ``index.html``.

The page holds a table of every metric, the notes on how they were made (bars, annualisation, latency, fills) and
five figures drawn with matplotlib: the equity curve against the unhedged P&L, each leg's exposure P against its
filled hedge position H, the drawdown, each leg's hedge ratio -H / P, and the histogram of fill latencies.

The page is self-contained: the figures are PNGs embedded as ``data:`` URIs, the style is inline and there is no
script, so the one file can be mailed, attached to a ticket or archived with a run and still show everything,
offline and years later, with nothing to fetch. ``metrics.json`` holds the same figures for programs.

A backtest has a value per tick (millions of them), more than a figure has pixels: every line is cut to a few
thousand points first, keeping each stretch's minimum and maximum so that spikes stay visible (:func:`_downsample`).

matplotlib is imported when a report is written, not when this module is: importing it stays cheap, and an install
without matplotlib still runs backtests (the report then says how to install it). The figures are drawn on their
own Agg canvas, never through pyplot: the global backend and figure registry of the caller (a notebook, a GUI) are
left alone.

    >>> write_report(results, "runs/wti-brent")     # -> Path("runs/wti-brent/index.html")
"""

import base64
import html
import io
import json
import math
from pathlib import Path

import numpy as np

__all__ = ["write_report"]

_POINTS = 4000          # points per line at most (about four per pixel of a 1000-pixel-wide figure)
_WIDTH = 10.0           # figure width in inches (1000 pixels at _DPI)
_DPI = 100

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1040px;
       padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; }
.subtitle { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3em 1em 0.3em 0; text-align: left; vertical-align: top; }
td.value { font-variant-numeric: tabular-nums; }
figure { margin: 2em 0; }
figcaption { color: #555; font-size: 0.9em; }
img { max-width: 100%; height: auto; }
"""


def write_report(results, directory) -> Path:
    """Write ``metrics.json`` and ``index.html`` of ``results`` (a :class:`~hedgegate.BacktestResults`) into
    ``directory``, created with its parents if need be; return the path of ``index.html``.

    Raises RuntimeError when matplotlib is not installed (before anything is written).
    """
    _require_matplotlib()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "metrics.json").write_text(json.dumps(results.metrics, indent=2) + "\n", encoding="utf-8")

    time = np.asarray(results.time_ns, dtype=np.int64).astype("datetime64[ns]")
    equity = np.asarray(results.equity, dtype=np.float64)
    unhedged = np.asarray(results.unhedged, dtype=np.float64)
    hedge = _per_leg(results.hedge_positions, len(time))
    exposure = _per_leg(results.positions, len(time))
    names = _leg_names(results.leg_names, exposure.shape[1])
    figures = [
        ("Equity curve", "P&L of exposure + hedge after costs, and of the exposure alone (currency).",
         _equity_figure(time, equity, unhedged)),
        ("Exposure and hedge position", "Per leg: the exposure P and the filled hedge position H (lots).",
         _positions_figure(time, exposure, hedge, names)),
        ("Drawdown", "Running peak of the hedged P&L (starting at 0, as for max_drawdown) minus the P&L (currency).",
         _drawdown_figure(time, equity)),
        ("Hedge ratio", "Per leg: -H / P, the share of the exposure hedged (no value where P = 0).",
         _ratio_figure(time, exposure, hedge, names)),
        ("Fill latency", "From the recommendation's tick to the fill (ns), with the median and the 99th percentile.",
         _latency_figure(np.asarray(results.fill_latency_ns))),
    ]
    path = directory / "index.html"
    path.write_text(_page(results, time, names, figures), encoding="utf-8")
    return path


def _require_matplotlib() -> None:
    """Import the parts of matplotlib the figures use; a RuntimeError saying how to install it if it is missing."""
    try:
        import matplotlib.backends.backend_agg  # noqa: F401
        import matplotlib.dates  # noqa: F401
        import matplotlib.figure  # noqa: F401
    except ImportError as error:
        raise RuntimeError("the HTML report needs matplotlib: pip install matplotlib") from error


def _per_leg(values, ticks: int) -> np.ndarray:
    """``values`` as a (ticks, legs) array (a 1-D array is one leg)."""
    values = np.asarray(values)
    return values.reshape(ticks, -1) if values.ndim != 2 else values


def _leg_names(names, legs: int) -> list[str]:
    """The legend's names: ``names``, completed with ``leg i`` if there are fewer names than legs."""
    names = [str(name) for name in (names or [])]
    return names[:legs] + [f"leg {i}" for i in range(len(names), legs)]


def _downsample(x, *ys, points: int = _POINTS):
    """``(x, *ys)`` cut to about ``points`` rows for plotting, by index: unchanged if no longer than ``points``.

    ``x`` is split into consecutive buckets, and each bucket keeps, for every column of every ``y`` (1-D, or 2-D
    with one column per line), the rows of its minimum and maximum (so a one-tick spike is still drawn) and of its
    first NaN (so a gap in a line stays a gap); the first and last rows are kept too. The number of buckets is set so
    that all columns together keep at most about ``points`` rows. The rows are kept in order, so a sorted ``x`` stays
    sorted; every array comes back with its own dtype and its other dimensions.
    """
    x = np.asarray(x)
    n = len(x)
    ys = [np.asarray(y) for y in ys]
    if n <= points:
        return (x, *ys)
    columns = [(y, j) for y in ys for j in (range(y.shape[1]) if y.ndim == 2 else [None])]
    with_nan = [y.dtype.kind == "f" and bool(np.isnan(_column(y, j)).any()) for y, j in columns]
    picks = 2 * len(columns) + sum(with_nan)                   # rows kept per bucket
    buckets = max(1, (points - 2) // max(1, picks))
    size = -(-n // buckets)                                    # rows per bucket, the last one possibly shorter
    buckets = -(-n // size)                                    # so that the last bucket is not empty
    pad = buckets * size - n
    starts = np.arange(buckets) * size
    keep = [np.array([0, n - 1])]
    for (y, j), nan_column in zip(columns, with_nan):
        values = _column(y, j).astype(np.float64)
        nan = np.isnan(values)
        # NaN must never be a bucket's minimum or maximum (argmin would pick it): it is +inf for the minimum and
        # -inf for the maximum, as the padding of the last bucket is. A bucket of NaN only keeps its first row.
        low = np.concatenate((np.where(nan, np.inf, values), np.full(pad, np.inf))).reshape(buckets, size)
        keep.append(starts + low.argmin(axis=1))
        del low
        high = np.concatenate((np.where(nan, -np.inf, values), np.full(pad, -np.inf))).reshape(buckets, size)
        keep.append(starts + high.argmax(axis=1))
        del high
        if nan_column:
            nan = np.concatenate((nan, np.zeros(pad, dtype=bool))).reshape(buckets, size)
            has = nan.any(axis=1)
            keep.append((starts + nan.argmax(axis=1))[has])
    index = np.unique(np.concatenate(keep))
    return (x[index], *(y[index] for y in ys))


def _column(y: np.ndarray, j) -> np.ndarray:
    """Column ``j`` of a 2-D ``y``, or ``y`` itself (``j`` None)."""
    return y if j is None else y[:, j]


def _figure(rows: int = 1, height: float = 3.6):
    """A matplotlib Figure on its own Agg canvas (not pyplot's) with ``rows`` axes sharing x; (figure, axes list)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(_WIDTH, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    return figure, list(axes)


def _time_axis(ax) -> None:
    """Dates on the x axis, written concisely (the date once, then the times)."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def _style(ax, ylabel: str, *, legend: bool = True, time: bool = True) -> None:
    """What every axes of the report has: its y label, a legend, a light grid, and dates on x (``time``)."""
    ax.set_ylabel(ylabel)
    if legend:
        ax.legend(loc="best")
    ax.grid(alpha=0.3)
    if time:
        _time_axis(ax)


def _empty(ax, text: str) -> None:
    """An axes with nothing to draw: ``text`` in its middle, no ticks."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=14, color="#777")
    ax.set_xticks([])
    ax.set_yticks([])


def _png(figure) -> str:
    """The figure as a base64 PNG (for a ``data:`` URI)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _equity_figure(time, equity, unhedged) -> str:
    """Figure 1: the hedged and the unhedged P&L against time."""
    figure, (ax,) = _figure()
    if len(time) == 0:
        _empty(ax, "no ticks")
        return _png(figure)
    t, hedged, bare = _downsample(time, equity, unhedged)
    ax.plot(t, bare, color="#999", linewidth=1, label="unhedged (exposure alone)")
    ax.plot(t, hedged, color="#1f77b4", linewidth=1.2, label="hedged (exposure + hedge, after costs)")
    ax.axhline(0, color="black", linewidth=0.5)
    _style(ax, "P&L (currency)")
    return _png(figure)


def _positions_figure(time, exposure, hedge, names) -> str:
    """Figure 2: one axes per leg, its exposure P and filled hedge position H against time."""
    legs = exposure.shape[1]
    figure, axes = _figure(max(1, legs), 1.2 + 2.4 * max(1, legs))
    if len(time) == 0 or legs == 0:
        _empty(axes[0], "no ticks" if len(time) == 0 else "no legs")
        return _png(figure)
    for leg, ax in enumerate(axes):
        t, p, h = _downsample(time, exposure[:, leg], hedge[:, leg])
        # Positions change in steps at ticks: drawn as steps, not as slopes between ticks.
        ax.plot(t, p, drawstyle="steps-post", color="#d62728", linewidth=1.2, label="exposure P")
        ax.plot(t, h, drawstyle="steps-post", color="#1f77b4", linewidth=1.2, label="hedge position H")
        ax.axhline(0, color="black", linewidth=0.5)
        ax.set_title(names[leg], loc="left", fontsize=10)
        _style(ax, "lots", time=ax is axes[-1])
    return _png(figure)


def _drawdown_figure(time, equity) -> str:
    """Figure 3: the drawdown, running peak of the P&L minus the P&L, against time."""
    figure, (ax,) = _figure()
    if len(time) == 0:
        _empty(ax, "no ticks")
        return _png(figure)
    # The peak starts at 0, the P&L before the first tick, as in metrics.max_drawdown: the figure's highest point is
    # the table's max_drawdown.
    drawdown = np.maximum.accumulate(np.maximum(equity, 0.0)) - equity
    t, d = _downsample(time, drawdown)
    ax.fill_between(t, d, 0, color="#d62728", alpha=0.3, linewidth=0)
    ax.plot(t, d, color="#d62728", linewidth=1)
    ax.set_ylim(bottom=0)
    ax.set_title(f"max {_format_value(float(np.max(drawdown)))}", loc="left", fontsize=10)
    _style(ax, "drawdown (currency)", legend=False)
    return _png(figure)


def _ratio_figure(time, exposure, hedge, names) -> str:
    """Figure 4: per leg, the hedge ratio -H / P against time (NaN, a gap, where P == 0)."""
    legs = exposure.shape[1]
    figure, (ax,) = _figure()
    if len(time) == 0 or legs == 0:
        _empty(ax, "no ticks" if len(time) == 0 else "no legs")
        return _png(figure)
    ratio = np.full(exposure.shape, np.nan)
    np.divide(-hedge.astype(np.float64), exposure, out=ratio, where=exposure != 0)
    t, r = _downsample(time, ratio)
    for leg in range(legs):
        # A leg without exposure has no ratio at all: its legend says so rather than showing a silent empty line.
        flat = not np.any(exposure[:, leg] != 0)
        ax.plot(t, r[:, leg], drawstyle="steps-post", linewidth=1.2,
                label=names[leg] + (" (P = 0 throughout)" if flat else ""))
    ax.axhline(1, color="black", linewidth=0.5, linestyle="--")
    ax.axhline(0, color="black", linewidth=0.5)
    _style(ax, "-H / P")
    return _png(figure)


def _latency_figure(latency) -> str:
    """Figure 5: the histogram of the fill latencies (ns), or "no fills"."""
    figure, (ax,) = _figure()
    if len(latency) == 0:
        _empty(ax, "no fills")
        return _png(figure)
    latency = latency.astype(np.float64)
    # Bins: about sqrt(fills), within [1, 100] (numpy's "auto" can ask for millions of bins when a few outliers sit
    # far from a narrow bulk).
    ax.hist(latency, bins=int(min(100, max(1, math.sqrt(len(latency))))), color="#1f77b4", alpha=0.8)
    for q, style in ((50, "-"), (99, "--")):
        value = float(np.percentile(latency, q))
        ax.axvline(value, color="black", linewidth=1, linestyle=style, label=f"p{q} {_format_value(value)} ns")
    ax.set_xlabel("fill latency (ns)")
    _style(ax, "fills", time=False)
    return _png(figure)


def _format_value(value) -> str:
    """A metric for the table: floats to a few significant digits, thousands separated, a nested dict as
    ``p50 1,200; p99 3,400``, a list comma-separated, None as ``n/a``."""
    if value is None:
        return "n/a"
    if isinstance(value, dict):
        return "; ".join(f"{key} {_format_value(item)}" for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_format_value(item) for item in value)
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if not math.isfinite(value):
            return str(value)
        size = abs(value)
        if size == 0:
            return "0"
        if size >= 1e15 or size < 1e-3:
            return f"{value:.4g}"
        # Currency-sized values with cents; ratios (effectiveness, Sharpe below 1) with four significant digits.
        return f"{value:,.2f}" if size >= 1 else f"{value:.4g}"
    return str(value)


def _page(results, time, names, figures) -> str:
    """The HTML page: title, span of the run, metrics table, notes and the figures (escaped; no script)."""
    escape = html.escape
    if len(time):
        span = f"{len(time):,} ticks from {time[0]} to {time[-1]} (UTC)"
    else:
        span = "no ticks"
    legs = ", ".join(names) if names else "no legs"
    rows = "\n".join(f"<tr><th>{escape(str(key))}</th><td class=\"value\">{escape(_format_value(value))}</td></tr>"
                     for key, value in results.metrics.items())
    notes = "\n".join(f"<p>{escape(str(note))}</p>" for note in results.notes) or "<p>No notes.</p>"
    images = "\n".join(
        f"<figure>\n<h2>{escape(title)}</h2>\n"
        f"<img src=\"data:image/png;base64,{png}\" alt=\"{escape(title)}\">\n"
        f"<figcaption>{escape(caption)}</figcaption>\n</figure>"
        for title, caption, png in figures)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hedgegate backtest report</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>hedgegate backtest report</h1>
<p class="subtitle">{escape(span)}; legs: {escape(legs)}.</p>
<h2>Metrics</h2>
<table>
<tr><th>metric</th><th>value</th></tr>
{rows}
</table>
<h2>Notes</h2>
{notes}
{images}
</body>
</html>
"""

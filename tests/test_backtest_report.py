"""The backtest's HTML report (host/backtest/report.py): one self-contained page with the metrics, the notes and five
embedded PNG figures, metrics.json, and the downsampling that keeps a million-tick line's spikes."""

import base64
import html
import json
import re
import subprocess
import sys
import warnings
from types import SimpleNamespace

import numpy as np
import pytest

from hedgegate.host.backtest import report
from hedgegate.host.backtest.report import _downsample, write_report

PNG = b"\x89PNG\r\n\x1a\n"
START_NS = 1_735_689_600_000_000_000          # 2025-01-01 00:00:00 UTC


def synthetic_results(ticks=10_000, fills=300, flat_leg=False, seed=7):
    """A results object with BacktestResults' fields: random-walk P&L, two legs whose hedge follows the exposure in
    steps, ``fills`` random latencies; ``flat_leg``: leg 1 has P == 0 (and H == 0) throughout."""
    rng = np.random.default_rng(seed)
    time_ns = START_NS + np.cumsum(rng.integers(1_000_000, 50_000_000, size=ticks)).astype(np.int64)
    unhedged = np.cumsum(rng.normal(0, 40.0, size=ticks))
    equity = np.cumsum(rng.normal(0, 5.0, size=ticks)) - np.linspace(0, 30.0, ticks)
    exposure = np.empty((ticks, 2), dtype=np.int64)
    exposure[:, 0] = -10_000
    exposure[:, 1] = np.repeat([4_000, 6_000, -2_000, 0, 5_000], -(-ticks // 5))[:ticks]
    hedge = -(exposure // 100 * 100)
    hedge[: ticks // 10] //= 2                              # under-hedged at first: the ratio is not 1 throughout
    if flat_leg:
        exposure[:, 1] = 0
        hedge[:, 1] = 0
    return SimpleNamespace(
        metrics={
            "ticks": ticks,
            "total_pnl": float(equity[-1]) if ticks else 0.0,
            "unhedged_pnl": float(unhedged[-1]) if ticks else 0.0,
            "sharpe_ratio": 1.23456,
            "max_drawdown": 1234.5678,
            "effectiveness": 0.98765,
            "sharpe_undefined": None,
            "fills": fills,
            "latency_ns": {"p50": 1500.0, "p99": 4250.25},
            "final_hedge_positions": [10_000, -4_000],
            "fill_model": "walk the book <up to the limit> & cancel",
        },
        notes=["Bars: 1 h of exchange time; Sharpe ratio annualised with 252 days x 24 h, no risk-free rate.",
               "Costs: 0.5 bps of notional + 0 per lot."],
        time_ns=time_ns,
        equity=equity,
        unhedged=unhedged,
        hedge_positions=hedge,
        positions=exposure,
        fill_latency_ns=rng.integers(1_000, 50_000, size=fills).astype(np.int64),
        leg_names=["leg 0 (symbol 0)", "leg 1 (symbol 1)"],
    )


def embedded_pngs(page: str) -> list[bytes]:
    """The decoded PNGs of the page's data: URIs (strict base64)."""
    return [base64.b64decode(data, validate=True)
            for data in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]*)"', page)]


def test_report_page_and_metrics(tmp_path):
    results = synthetic_results()
    directory = tmp_path / "runs" / "first"                 # parents are created
    path = write_report(results, directory)

    assert path == directory / "index.html"
    page = path.read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 5
    pngs = embedded_pngs(page)
    assert len(pngs) == 5
    assert all(png.startswith(PNG) and len(png) > 1000 for png in pngs)
    assert len(set(pngs)) == 5                              # five different figures, not one drawn five times
    # Self-contained: every src is a data: URI, no script, no link to anything.
    assert re.findall(r'\bsrc\s*=\s*"(?!data:)', page) == []
    assert "src=\"http" not in page and "<script" not in page.lower() and "href=" not in page.lower()
    for key in results.metrics:
        assert f"<th>{key}</th>" in page
    # Values: floats to a few digits, a nested dict on one line, None as n/a, text escaped.
    assert "1,234.57" in page and "0.9877" in page and "1.23<" in page
    assert "p50 1,500.00; p99 4,250.25" in page
    assert "10,000, -4,000" in page
    assert "<td class=\"value\">n/a</td>" in page
    assert html.escape(results.metrics["fill_model"]) in page and "<up to the limit>" not in page
    for note in results.notes:
        assert f"<p>{html.escape(note)}</p>" in page
    assert json.loads((directory / "metrics.json").read_text(encoding="utf-8")) == results.metrics
    assert (directory / "metrics.json").read_text(encoding="utf-8").endswith("}\n")


def test_report_without_fills_and_with_a_flat_leg(tmp_path, monkeypatch):
    results = synthetic_results(fills=0, flat_leg=True)
    assert results.fill_latency_ns.size == 0 and not results.positions[:, 1].any()
    empty = []
    real_empty = report._empty
    monkeypatch.setattr(report, "_empty", lambda ax, text: (empty.append(text), real_empty(ax, text)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)       # no division by the flat leg's P == 0
        path = write_report(results, tmp_path)
    pngs = embedded_pngs(path.read_text(encoding="utf-8"))
    assert len(pngs) == 5 and all(png.startswith(PNG) for png in pngs)
    assert empty == ["no fills"]
    assert json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8")) == results.metrics


def test_report_of_no_ticks(tmp_path):
    results = synthetic_results(ticks=0, fills=0)
    pngs = embedded_pngs(write_report(results, tmp_path).read_text(encoding="utf-8"))
    assert len(pngs) == 5 and all(png.startswith(PNG) for png in pngs)


def test_report_long_series_is_downsampled(tmp_path, monkeypatch):
    """A million ticks: every line handed to matplotlib is cut to about 4000 points."""
    results = synthetic_results(ticks=1_000_000, fills=5_000)
    lengths = []
    real = report._downsample

    def spy(x, *ys, **kwargs):
        out = real(x, *ys, **kwargs)
        lengths.append(len(out[0]))
        return out

    monkeypatch.setattr(report, "_downsample", spy)
    pngs = embedded_pngs(write_report(results, tmp_path).read_text(encoding="utf-8"))
    assert len(pngs) == 5
    assert len(lengths) == 5                                # equity, 2 legs' positions, drawdown, ratio
    assert all(n <= 4002 for n in lengths), lengths
    assert max(lengths) > 1000                              # cut, not thinned to a few points


@pytest.mark.parametrize("seed", range(4))
def test_downsample_keeps_a_spike_and_the_minimum(seed):
    rng = np.random.default_rng(seed)
    n = 1_000_000
    x = np.arange(n, dtype=np.int64) * 1000 + START_NS
    y = np.cumsum(rng.normal(size=n))
    spike = [0, n - 1, int(rng.integers(n)), int(rng.integers(n))][seed]
    y[spike] = y.max() + 100.0                               # one tick, higher than anything else
    low = int(np.argmin(y))

    xs, ys = _downsample(x, y, points=4000)
    assert len(xs) == len(ys) <= 4002
    assert len(xs) > 1000                                    # cut, but not to nothing
    assert np.all(np.diff(xs) > 0)                           # sorted, no repeats
    np.testing.assert_array_equal(ys, y[(xs - START_NS) // 1000])     # rows stay together
    assert ys.max() == y[spike] and spike * 1000 + START_NS in xs
    assert ys.min() == y[low]
    assert xs[0] == x[0] and xs[-1] == x[-1]


def test_downsample_short_series_unchanged():
    rng = np.random.default_rng(1)
    for n in (0, 1, 100, 4000):
        x = np.arange(n)
        y = rng.normal(size=n)
        columns = rng.integers(-5, 5, size=(n, 3))
        xs, ys, cs = _downsample(x, y, columns, points=4000)
        np.testing.assert_array_equal(xs, x)
        np.testing.assert_array_equal(ys, y)
        np.testing.assert_array_equal(cs, columns)
        assert cs.shape == (n, 3)


def test_downsample_columns_and_gaps():
    """2-D ys: each column keeps its own extremes, rows stay aligned, dtypes and widths are kept; NaN gaps stay."""
    rng = np.random.default_rng(3)
    n = 300_000
    x = np.arange(n)
    columns = rng.integers(-1000, 1000, size=(n, 3)).astype(np.int64)
    peaks = [17, 150_001, n - 2]
    dips = [299_000, 5, 77_777]
    for j in range(3):
        columns[peaks[j], j] = 10**12 + j
        columns[dips[j], j] = -(10**12) - j
    ratio = rng.normal(size=n)
    ratio[100_000:100_050] = np.nan                          # a stretch where P == 0: a gap in the line
    ratio[200_000:] = np.nan                                 # and a flat tail

    xs, cs, rs = _downsample(x, columns, ratio, points=4000)
    assert cs.dtype == np.int64 and cs.shape == (len(xs), 3) and rs.shape == (len(xs),)
    assert len(xs) <= 4002
    np.testing.assert_array_equal(cs, columns[xs])
    assert np.array_equal(rs, ratio[xs], equal_nan=True)
    for j in range(3):
        assert cs[:, j].max() == 10**12 + j and cs[:, j].min() == -(10**12) - j
    assert np.nanmax(rs) == np.nanmax(ratio) and np.nanmin(rs) == np.nanmin(ratio)
    # The ratio alone (no other column's extremes can land in the gap by chance): the gap is still a gap.
    xs, rs = _downsample(x, ratio, points=4000)
    assert np.array_equal(rs, ratio[xs], equal_nan=True)
    assert np.isnan(rs[(xs >= 100_000) & (xs < 100_050)]).any()
    assert np.isnan(rs[xs >= 200_000]).all() and (xs >= 200_000).any()
    assert np.nanmax(rs) == np.nanmax(ratio) and np.nanmin(rs) == np.nanmin(ratio)


def test_missing_matplotlib(tmp_path, monkeypatch):
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.dates", "matplotlib.backends",
                 "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)         # import fails as if not installed
    with pytest.raises(RuntimeError, match=r"pip install matplotlib"):
        write_report(synthetic_results(ticks=10, fills=1), tmp_path / "out")
    assert not (tmp_path / "out").exists()                   # nothing written before the check


def test_import_does_not_load_matplotlib():
    code = "import sys, hedgegate.host.backtest.report; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

"""A backtest's metrics from its per-tick curves: bars of exchange time, returns, Sharpe ratio, drawdown, hedge
effectiveness, percentiles.

Definitions (docs/backtest.md):

* Bars: fixed spans of exchange time (``bar_ns``, one hour by default) counted from the first tick; a bar's close is
  the curve's value after its last tick. Bars without a tick have no close and are left out (a night or a weekend
  is not a flat hour of trading).
* Returns: of the equity ``capital + P&L`` from close to close, the first from the equity before the first tick.
* Sharpe ratio: ``mean(r) / std(r, ddof=1) * sqrt(periods_per_year)``, no risk-free rate (empyrical's
  ``sharpe_ratio(r, annualization=periods_per_year)``).
* Max drawdown: in currency, the largest fall of the P&L from its running peak (starting at 0), on every tick;
  ``max_drawdown_pct`` the same on the bar closes of the equity as a fraction of its peak (empyrical's
  ``max_drawdown`` with the sign turned).
* Hedge effectiveness: ``1 - Var(hedged P&L changes) / Var(unhedged P&L changes)`` over the bars.
"""

import numpy as np

__all__ = ["bar_closes", "bar_returns", "sharpe_ratio", "max_drawdown", "max_drawdown_fraction", "effectiveness",
           "percentile"]


def bar_closes(ts_ns: np.ndarray, bar_ns: int) -> np.ndarray:
    """Indexes of the last tick of every bar that has one (``ts_ns`` non-decreasing)."""
    if len(ts_ns) == 0:
        return np.zeros(0, dtype=np.int64)
    bars = (ts_ns - ts_ns[0]) // bar_ns
    return np.append(np.flatnonzero(bars[1:] != bars[:-1]), len(ts_ns) - 1)


def bar_returns(closes: np.ndarray, capital: float) -> np.ndarray:
    """Simple returns of ``capital + closes`` (P&L at the bar closes), the first from ``capital``."""
    equity = capital + np.concatenate(([0.0], closes))
    return equity[1:] / equity[:-1] - 1.0


def sharpe_ratio(returns: np.ndarray, periods_per_year: float) -> float | None:
    """Annualised Sharpe ratio; None when undefined (fewer than two returns, or no variation)."""
    if len(returns) < 2:
        return None
    std = np.std(returns, ddof=1)
    if not std > 0:
        return None
    return float(np.mean(returns) / std * np.sqrt(periods_per_year))


def max_drawdown(pnl: np.ndarray) -> float:
    """Largest fall of ``pnl`` from its running peak, the peak starting at 0 (the P&L before the first tick)."""
    if len(pnl) == 0:
        return 0.0
    peaks = np.maximum.accumulate(np.maximum(pnl, 0.0))
    return float(np.max(peaks - pnl))


def max_drawdown_fraction(returns: np.ndarray) -> float:
    """Largest fall of the compounded equity from its running peak, as a fraction of the peak (>= 0)."""
    if len(returns) == 0:
        return 0.0
    equity = np.concatenate(([1.0], np.cumprod(1.0 + returns)))
    peaks = np.maximum.accumulate(equity)
    return float(np.max(1.0 - equity / peaks))


def effectiveness(hedged_closes: np.ndarray, unhedged_closes: np.ndarray) -> float | None:
    """``1 - Var(changes of the hedged P&L) / Var(changes of the unhedged P&L)`` at the bar closes (the first
    change from 0); None when the unhedged P&L does not vary."""
    hedged = np.diff(np.concatenate(([0.0], hedged_closes)))
    unhedged = np.diff(np.concatenate(([0.0], unhedged_closes)))
    if len(unhedged) < 2 or not np.var(unhedged) > 0:
        return None
    return float(1.0 - np.var(hedged) / np.var(unhedged))


def percentile(values: np.ndarray, q: float) -> float | None:
    """The ``q``-th percentile (linear interpolation, numpy's default), None for no values."""
    return float(np.percentile(values, q)) if len(values) else None

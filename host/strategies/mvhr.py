"""MVHRStrategy: the minimum-variance hedge ratio over a rolling window of price changes.

h* = Cov(dS, dF) / Var(dF) over the last ``window`` changes of the exposure S and the hedge instrument F (the
ordinary least-squares slope of dS on dF with an intercept), and the window's hedge effectiveness: R^2, the share of
Var(dS) that the hedge at h* removes (1 - Var(dS - h* dF) / Var(dS)).
"""

from dataclasses import dataclass

import numpy as np

from .registers import LegPush, StrategyError, ratio_register

__all__ = ["MVHRStrategy", "MVHREstimate", "mvhr"]


@dataclass(frozen=True)
class MVHREstimate:
    """What :func:`mvhr` estimates over its window.

    Attributes
    ----------
    hedge_ratio : float
        h* = Cov(dS, dF) / Var(dF).
    effectiveness : float
        R^2 of dS on dF, in [0, 1]: the share of Var(dS) the hedge at h* removes (0 when S does not move).
    observations : int
        Price changes in the window.
    """
    hedge_ratio: float
    effectiveness: float
    observations: int


def mvhr(exposure, hedge, window: int | None = None) -> MVHREstimate:
    """The MVHR of two aligned price series (same dates, oldest first) over their last ``window`` changes."""
    s, f = np.asarray(exposure, dtype=np.float64), np.asarray(hedge, dtype=np.float64)
    if len(s) != len(f):
        raise StrategyError(f"the series differ in length ({len(s)}, {len(f)}): align them first")
    ds, df = np.diff(s), np.diff(f)
    if window is not None:
        if window < 2:
            raise StrategyError(f"window: {window} price changes; at least 2 are needed")
        if window > len(df):
            raise StrategyError(f"window: {window} price changes, but the data has only {len(df)}")
        ds, df = ds[-window:], df[-window:]
    elif len(df) < 2:
        raise StrategyError(f"{len(df)} price changes: at least 2 are needed")
    ds_c, df_c = ds - ds.mean(), df - df.mean()
    var_f, var_s = float(df_c @ df_c), float(ds_c @ ds_c)
    if var_f == 0:
        raise StrategyError("hedge prices: constant over the window (Var(dF) = 0), no ratio to estimate")
    cov = float(ds_c @ df_c)
    h = cov / var_f
    effectiveness = cov * cov / (var_f * var_s) if var_s else 0.0
    return MVHREstimate(h, effectiveness, len(df))


@dataclass
class MVHRStrategy:
    """Minimum-variance hedge ratio from the market's history of two symbols.

    Parameters
    ----------
    window : int
        Price changes in the rolling window.
    exposure_symbol, hedge_symbol : int
        Where the exposure S and the hedge instrument F trade (their bars in :class:`~.base.Market`).
    leg : int
        The leg it drives (the hedge instrument's leg).
    """
    window: int
    exposure_symbol: int = 1
    hedge_symbol: int = 0
    leg: int = 0

    def estimate(self, exposure, hedge) -> MVHREstimate:
        return mvhr(exposure, hedge, self.window)

    def push(self, est: MVHREstimate) -> LegPush:
        """The leg's registers for an estimate."""
        values = [ratio_register("hedge_ratio", est.hedge_ratio), ratio_register("alt_hedge_ratio", est.hedge_ratio)]
        return LegPush(self.leg, "hedge", values, {"hedge_ratio": est.hedge_ratio, "effectiveness": est.effectiveness,
                                                   "observations": est.observations})

    def compute(self, market, params=None) -> list[LegPush]:
        s, f = market.series(self.exposure_symbol), market.series(self.hedge_symbol)
        n = min(len(s), len(f))
        return [self.push(self.estimate(s[len(s) - n:], f[len(f) - n:]))]

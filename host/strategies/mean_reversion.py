"""MeanReversionHedge: an Ornstein-Uhlenbeck fit of the hedge instrument's price, mapped onto the band registers.

The fit is the exact discretisation of dX = kappa (mu - X) dt + sigma dW: the ordinary least squares regression
x[t+1] = a + b x[t] + e over the window, then

    kappa = -ln(b) / dt,  mu = a / (1 - b),  sigma = s sqrt(2 kappa / (1 - b^2)),  half-life = ln 2 / kappa

with s the residuals' standard deviation on n - 2 degrees of freedom (n pairs) and dt one observation unless given.
A kappa the user gives replaces the fitted one in sigma and the half-life (so the stationary deviation
sigma / sqrt(2 kappa) = s / sqrt(1 - b^2) stays the data's). A fitted b >= 1 (no mean reversion) or b <= 0 is
reported as an error, never turned into a NaN or a negative kappa.

When F is more than ``threshold_z`` stationary deviations from mu, only ``hedge_strength`` of the ratio is hedged:
band = mu -+ threshold_z sigma / sqrt(2 kappa), alt_hedge_ratio = hedge_strength x ratio, so the gateware switches
ratio on the very tick whose mid leaves the band.
"""

import math
from dataclasses import dataclass

import numpy as np

from .registers import LegPush, StrategyError, price_register, ratio_register

__all__ = ["MeanReversionHedge", "MeanReversionParams", "OUFit", "fit_ou"]


@dataclass(frozen=True)
class MeanReversionParams:
    """``kappa``: mean-reversion speed per unit of dt (None: fitted); ``threshold_z``: the band's half-width in
    stationary standard deviations; ``hedge_strength``: the share of the ratio hedged outside the band."""
    kappa: float | None = None
    threshold_z: float = 2.0
    hedge_strength: float = 0.7


@dataclass(frozen=True)
class OUFit:
    """An Ornstein-Uhlenbeck fit, from the AR(1) regression x[t+1] = a + b x[t] + e sampled every ``dt``.

    Attributes
    ----------
    a, b : float
        The AR(1) intercept and slope (0 < b < 1).
    kappa : float
        Mean-reversion speed per unit of time (-ln b / dt, or the value given to :func:`fit_ou`).
    mu : float
        The long-run mean.
    sigma : float
        The diffusion's volatility, per square root of the unit ``dt`` is given in.
    half_life : float
        ln 2 / kappa, in the unit ``dt`` is given in.
    residual_sd : float
        The regression's residual standard deviation.
    observations : int
        Pairs (x[t], x[t+1]) in the fit.
    """
    a: float
    b: float
    kappa: float
    mu: float
    sigma: float
    half_life: float
    residual_sd: float
    observations: int

    @property
    def stationary_sd(self) -> float:
        return self.sigma / math.sqrt(2 * self.kappa)


def fit_ou(prices, *, dt: float = 1.0, kappa: float | None = None, window: int | None = None) -> OUFit:
    """Fit an OU process to ``prices`` (oldest first; the last ``window`` of them if given)."""
    x = np.asarray(prices, dtype=np.float64)
    if window is not None:
        if window > len(x):
            raise StrategyError(f"window: {window} prices, but the data has only {len(x)}")
        x = x[-window:]
    if len(x) < 4:
        raise StrategyError(f"{len(x)} prices: the AR(1) fit needs at least 4 (3 pairs, 1 degree of freedom)")
    if not (dt > 0 and math.isfinite(dt)):
        raise StrategyError(f"dt: must be > 0, got {dt}")
    if kappa is not None and not (kappa > 0 and math.isfinite(kappa)):
        raise StrategyError(f"kappa: must be > 0, got {kappa}")
    x0, x1 = x[:-1], x[1:]
    c0 = x0 - x0.mean()
    var0 = float(c0 @ c0)
    if var0 == 0:
        raise StrategyError("prices: constant over the window, no AR(1) to fit")
    b = float(c0 @ (x1 - x1.mean())) / var0
    a = float(x1.mean() - b * x0.mean())
    n = len(x0)
    residuals = x1 - a - b * x0
    s = math.sqrt(float(residuals @ residuals) / (n - 2))
    if b >= 1:
        raise StrategyError(f"prices: fitted AR(1) coefficient b = {b:.6g} >= 1: no mean reversion in the window")
    if b <= 0:
        raise StrategyError(f"prices: fitted AR(1) coefficient b = {b:.6g} <= 0: not an OU process sampled at dt")
    k = -math.log(b) / dt if kappa is None else float(kappa)
    sigma = s * math.sqrt(2 * k / (1 - b * b))
    return OUFit(a, b, k, a / (1 - b), sigma, math.log(2) / k, s, n)


@dataclass
class MeanReversionHedge:
    """Hedge ``ratio`` inside the OU band around mu, ``hedge_strength x ratio`` outside it.

    Parameters
    ----------
    params : MeanReversionParams
    ratio : float
        The base hedge ratio.
    window : int, optional
        Prices fitted (default: the whole history).
    dt : float
        Time between observations, in the unit kappa is per (default 1: one observation).
    symbol : int
        The hedge instrument's symbol (its bars in :class:`~.base.Market`).
    leg : int
    tick : decimal.Decimal
        The instrument's tick size: the band's prices are put on its grid.
    """
    params: MeanReversionParams
    ratio: float = 1.0
    window: int | None = None
    dt: float = 1.0
    symbol: int = 0
    leg: int = 0
    tick: object = None

    def fit(self, prices) -> OUFit:
        return fit_ou(prices, dt=self.dt, kappa=self.params.kappa, window=self.window)

    def push(self, fit: OUFit, params) -> LegPush:
        z = self.params.threshold_z
        if not (z > 0 and math.isfinite(z)):
            raise StrategyError(f"threshold_z: must be > 0, got {z}")
        half = z * fit.stationary_sd
        alt = self.params.hedge_strength * self.ratio
        values = [ratio_register("hedge_ratio", self.ratio), ratio_register("alt_hedge_ratio", alt),
                  price_register("band_lo", fit.mu - half, params, self.tick),
                  price_register("band_hi", fit.mu + half, params, self.tick)]
        return LegPush(self.leg, "hedge", values, {
            "kappa": fit.kappa, "mu": fit.mu, "sigma": fit.sigma, "half_life": fit.half_life, "b": fit.b,
            "band": [fit.mu - half, fit.mu + half], "hedge_ratio": float(self.ratio), "alt_hedge_ratio": alt,
            "observations": fit.observations})

    def compute(self, market, params) -> list[LegPush]:
        return [self.push(self.fit(market.series(self.symbol)), params)]

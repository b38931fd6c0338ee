"""DeltaGammaHedge: an options book on a futures underlying, hedged in delta with gamma left to the gateware.

Black-76 per option (F the underlying future, K strike, t years, r the rate, vol): d1 = (ln(F/K) + vol^2 t / 2) /
(vol sqrt t), d2 = d1 - vol sqrt t; call = e^(-rt) (F N(d1) - K N(d2)), put = e^(-rt) (K N(-d2) - F N(-d1));
delta = e^(-rt) N(d1) for a call, -e^(-rt) N(-d1) for a put; gamma = e^(-rt) phi(d1) / (F vol sqrt t). The book's
delta and gamma are the quantity-weighted sums.

Pushed as P = 1, ratio = delta, gamma = gamma, anchor = F: the leg's target is then -(delta + gamma (mid - F)), the
book's delta hedged now and re-hedged by the gateware, tick by tick, as the mid moves away from F between host
updates.
"""

import csv
import math
from dataclasses import dataclass

from ..errors import InputError, read_input
from .registers import LegPush, StrategyError, gamma_register, position_register, price_register, ratio_register

__all__ = ["DeltaGammaHedge", "OptionPosition", "black76", "load_options"]


@dataclass(frozen=True)
class OptionPosition:
    """``kind`` call or put, ``strike``, ``t`` years to expiry, ``vol`` (0.6 = 60 %), signed ``quantity``."""
    kind: str
    strike: float
    t: float
    vol: float
    quantity: float


def _n(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2))


def black76(kind: str, future: float, strike: float, t: float, rate: float, vol: float) -> tuple[float, float, float]:
    """(price, delta, gamma) of one European option on a future."""
    sd = vol * math.sqrt(t)
    d1 = (math.log(future / strike) + sd * sd / 2) / sd
    d2 = d1 - sd
    discount = math.exp(-rate * t)
    gamma = discount * math.exp(-d1 * d1 / 2) / math.sqrt(2 * math.pi) / (future * sd)
    if kind == "call":
        return discount * (future * _n(d1) - strike * _n(d2)), discount * _n(d1), gamma
    return discount * (strike * _n(-d2) - future * _n(-d1)), -discount * _n(-d1), gamma


def load_options(path) -> list[OptionPosition]:
    """An options book: CSV with the header ``kind,strike,t,vol,quantity``."""
    lines = read_input(path).splitlines()
    header = "kind,strike,t,vol,quantity"
    if not lines or lines[0].strip() != header:
        raise InputError(path, 1, "header", f"expected {header!r}")
    options = []
    for lineno, row in enumerate(csv.reader(lines[1:]), 2):
        if not row or not "".join(row).strip():
            continue
        if len(row) != 5:
            raise InputError(path, lineno, "row", f"expected 5 fields ({header}), got {len(row)}")
        kind = row[0].strip()
        if kind not in ("call", "put"):
            raise InputError(path, lineno, "kind", f"{kind!r} is not call or put")
        values = []
        for name, text in zip(("strike", "t", "vol", "quantity"), row[1:]):
            try:
                value = float(text)
            except ValueError:
                raise InputError(path, lineno, name, f"{text.strip()!r} is not a number") from None
            if not math.isfinite(value):
                raise InputError(path, lineno, name, f"{text.strip()!r} is not a finite number")
            values.append(value)
        option = OptionPosition(kind, *values)
        for name in ("strike", "t", "vol"):
            if getattr(option, name) <= 0:
                raise InputError(path, lineno, name, f"must be > 0, got {getattr(option, name):g}")
        options.append(option)
    if not options:
        raise InputError(path, None, None, "no options in the book")
    return options


@dataclass
class DeltaGammaHedge:
    """Delta-gamma hedge of an options book.

    Parameters
    ----------
    options : list[OptionPosition]
    rate : float
        The continuously compounded rate (0.03 = 3 %).
    symbol : int
        The underlying future's symbol: its mid is F when computed from a :class:`~.base.Market`.
    leg : int
    tick : decimal.Decimal, optional
        The future's tick size (the anchor is put on its grid).
    """
    options: list
    rate: float = 0.0
    symbol: int = 0
    leg: int = 0
    tick: object = None

    def greeks(self, future: float) -> tuple[float, float]:
        """The book's (delta, gamma) at the underlying price ``future``."""
        if not self.options:
            raise StrategyError("options: the book is empty")
        if not (future > 0 and math.isfinite(future)):
            raise StrategyError(f"underlying: Black-76 needs a positive price, got {future}")
        if not math.isfinite(self.rate):
            raise StrategyError(f"rate: {self.rate} is not a finite number")
        delta = gamma = 0.0
        for i, option in enumerate(self.options):
            for name in ("strike", "t", "vol"):
                value = getattr(option, name)
                if not (value > 0 and math.isfinite(value)):
                    raise StrategyError(f"options[{i}].{name}: must be > 0, got {value}")
            _, d, g = black76(option.kind, future, option.strike, option.t, self.rate, option.vol)
            delta += option.quantity * d
            gamma += option.quantity * g
        return delta, gamma

    def push(self, future: float, params) -> LegPush:
        delta, gamma = self.greeks(future)
        anchor = price_register("anchor", future, params, self.tick)
        values = [position_register("position", 1), ratio_register("hedge_ratio", delta),
                  ratio_register("alt_hedge_ratio", delta), gamma_register("gamma", gamma), anchor]
        return LegPush(self.leg, "hedge", values, {"delta": delta, "gamma": gamma, "anchor": float(future)})

    def compute(self, market, params) -> list[LegPush]:
        if self.symbol not in market.mid:
            raise StrategyError(f"symbol {self.symbol}: no mid price yet (the book needs both sides)")
        return [self.push(market.mid[self.symbol], params)]

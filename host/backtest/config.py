"""What a backtest assumes beyond the engine's config: order latency, costs, the unfilled-order policy, the bars of
the metrics. Defaults and choices are in docs/backtest.md."""

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["BacktestConfig", "Latency", "parse_duration_ns"]

HOUR_NS = 3_600_000_000_000
_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000, "min": 60_000_000_000,
          "h": HOUR_NS, "d": 24 * HOUR_NS}
_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(ns|us|µs|ms|s|min|h|d)?")


def parse_duration_ns(text: str) -> int:
    """``"160"``, ``"160ns"``, ``"2us"``, ``"1.5ms"``, ``"1s"``, ``"15min"``, ``"1h"``, ``"1d"`` -> nanoseconds
    (int; ValueError otherwise)."""
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a duration (e.g. 160ns, 2us, 1.5ms, 15min, 1h)")
    value = float(match[1]) * _UNITS[match[2] or "ns"]
    return int(round(value))


def _bundled_report() -> Path:
    from ..demo import report_path
    return report_path()


@dataclass(frozen=True)
class Latency:
    """When an order reaches the market, after the recommendation's tick: a constant, the hardware's (a build
    report's core latency in cycles x 1000 / its fmax, plus a link time), or draws from recorded latencies.

    Build one with :meth:`constant`, :meth:`hardware`, :meth:`recorded` or :meth:`parse` (the CLI's text).

    Attributes
    ----------
    samples_ns : tuple[int, ...]
        One value: every order waits that long. More: each order draws one (uniformly, with ``seed``).
    description : str
        What the latency is, for reports (``"hardware: 20 cycles at 130.90 MHz (ulx3s-85f report) + 0 ns link"``).
    seed : int
    """
    samples_ns: tuple
    description: str
    seed: int = 0

    @classmethod
    def constant(cls, ns: int) -> "Latency":
        if ns < 0:
            raise ValueError(f"latency must be >= 0 ns, got {ns}")
        return cls((int(ns),), f"constant {int(ns)} ns")

    @classmethod
    def hardware(cls, report=None, link_ns: int = 0) -> "Latency":
        """The core's latency from a build report (default: the bundled ULX3S-85F one) plus ``link_ns`` of link and
        wire (0 by default: the core alone, tick in to order out)."""
        path = Path(report) if report is not None else _bundled_report()
        try:
            data = json.loads(path.read_text())
            cycles, fmax = int(data["latency_cycles"]), float(data["fmax_mhz"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: not a build report with latency_cycles and fmax_mhz ({exc})") from None
        if link_ns < 0:
            raise ValueError(f"link time must be >= 0 ns, got {link_ns}")
        core_ns = cycles * 1000 / fmax
        return cls((int(math.ceil(core_ns)) + int(link_ns),),
                   f"hardware: {cycles} cycles at {fmax:.2f} MHz = {core_ns:.1f} ns ({data.get('board', path.name)} "
                   f"report, rounded up) + {int(link_ns)} ns link")

    @classmethod
    def recorded(cls, samples_ns, seed: int = 0, name: str = "recorded") -> "Latency":
        values = tuple(int(v) for v in samples_ns)
        if not values:
            raise ValueError("no latency samples")
        if min(values) < 0:
            raise ValueError(f"latency samples must be >= 0 ns, got {min(values)}")
        return cls(values, f"{name}: {len(values):,} samples, median {int(np.median(values))} ns", seed)

    @classmethod
    def parse(cls, text: str, link_ns: int = 0, seed: int = 0) -> "Latency":
        """The CLI's ``--latency``: ``hw`` / ``hw:REPORT.json`` (+ ``link_ns``), ``file:PATH`` (one latency per line,
        in ns), or a duration (``160ns``, ``2us``)."""
        if text == "hw" or text.startswith("hw:"):
            return cls.hardware(text[3:] or None, link_ns)
        if text.startswith("file:"):
            path = text[5:]
            try:
                lines = Path(path).read_text().split()
            except OSError as exc:
                raise ValueError(f"cannot read {path}: {exc.strerror}") from None
            samples = []
            for number, line in enumerate(lines, 1):
                try:
                    samples.append(parse_duration_ns(line))
                except ValueError as exc:
                    raise ValueError(f"{path}: value {number}: {exc}") from None
            return cls.recorded(samples, seed, name=f"recorded ({Path(path).name})")
        return cls.constant(parse_duration_ns(text) + link_ns)

    def draws(self, count: int) -> np.ndarray:
        """The latencies of the first ``count`` orders (the kernel cycles through them if there are more)."""
        values = np.array(self.samples_ns, dtype=np.int64)
        if len(values) == 1:
            return values
        return np.random.default_rng(self.seed).choice(values, size=max(count, 1))


@dataclass(frozen=True)
class BacktestConfig:
    """The market around the engine (the replaced engine's names where it has them).

    Attributes
    ----------
    initial_position : int, optional
        The exposure P of the first leg, overriding the engine config's (e.g. -10,000 MWh short).
    transaction_cost_bps : float
        Fee in basis points of each fill's notional.
    fee_per_lot : float
        Fee in currency per lot filled.
    slippage_bps : float
        Slippage model: each fill's price moved against the order by this many basis points (on top of walking
        the book's levels, which the fills do anyway).
    latency : Latency, optional
        Order latency; default :meth:`Latency.hardware` (the bundled ULX3S-85F report, no link time).
    unfilled : str
        ``"cancel"`` (default): what an order cannot fill on arrival is cancelled; ``"rest"``: it rests at its limit
        price and fills on later books that reach it (cancelled at the end of the data).
    exposure_symbols : tuple[int, ...], optional
        Per leg, the symbol whose mid marks the exposure P (default: the leg's own symbol).
    bar_ns : int
        The bar of the metrics (Sharpe ratio, effectiveness): one hour of exchange time by default.
    trading_days, hours_per_day : float
        Annualisation: ``trading_days * hours_per_day`` hours of bars a year (252 x 24: energy futures trade
        around the clock on ICE/EEX).
    capital : float, optional
        The equity the returns are relative to (default: the exposure's notional at the first mark, sum of |P| x mid).
    """
    initial_position: int | None = None
    transaction_cost_bps: float = 0.0
    fee_per_lot: float = 0.0
    slippage_bps: float = 0.0
    latency: Latency | None = None
    unfilled: str = "cancel"
    exposure_symbols: tuple | None = None
    bar_ns: int = HOUR_NS
    trading_days: float = 252
    hours_per_day: float = 24
    capital: float | None = None

    def __post_init__(self):
        if self.unfilled not in ("cancel", "rest"):
            raise ValueError(f"unfilled must be 'cancel' or 'rest', got {self.unfilled!r}")
        for name in ("transaction_cost_bps", "fee_per_lot", "slippage_bps"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.bar_ns <= 0:
            raise ValueError(f"bar_ns must be > 0, got {self.bar_ns}")
        if self.capital is not None and not self.capital > 0:
            raise ValueError(f"capital must be > 0, got {self.capital}")

    @property
    def periods_per_year(self) -> float:
        return self.trading_days * self.hours_per_day * HOUR_NS / self.bar_ns

    def order_latency(self) -> Latency:
        return self.latency if self.latency is not None else Latency.hardware()

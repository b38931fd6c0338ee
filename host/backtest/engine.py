"""Backtest: ticks through the engine's law with orders, fills, costs and marking, on the compiled kernel.

The law is the model's (:mod:`hedgegate.host.kernel`, compiled): what a backtest recommends is what the board would
have recommended, tick for tick. Around it, the kernel sends each recommendation to the market after an order
latency, fills it against the book as it stands then (walking the levels up to the order's limit price), charges
fees and slippage, and feeds what did not fill back into the engine as an H adjustment, as the host does on a board.
Every tick it marks the exposure and the filled hedge to their symbols' mids. Choices: docs/backtest.md.

    >>> bt = Backtest(HedgeConfig(hedge_ratio=1.0, symbol=0), BacktestConfig(initial_position=-10_000))
    >>> results = bt.run(ticks)            # a TickTable, Ticks or MarketTicks; or bt.process_tick(tick) one by one
    >>> results.metrics["total_pnl"], results.metrics["effectiveness"]
"""

import time
from dataclasses import dataclass, field, replace

import numpy as np

from .. import kernel
from ..commands import Write
from ..marketdata import check_time_order
from ..marketdata.table import TickTable
from ..replay import loaded_model
from ..ticks import Tick, api_tick
from . import metrics as m
from .config import BacktestConfig

__all__ = ["Backtest", "BacktestResults"]

_CHUNK = 1 << 18          # ticks per compiled call: the progress bar's step


@dataclass
class BacktestResults:
    """What a backtest measured.

    Attributes
    ----------
    metrics : dict
        The figures (``hedgegate backtest --json``'s keys; docs/backtest.md).
    notes : list[str]
        How the figures were made (bars, annualisation, latency, fills), for reports.
    time_ns, equity, unhedged : np.ndarray
        Per tick: its timestamp, the P&L of exposure + hedge after costs, and of the exposure alone (currency).
    hedge_positions, positions : np.ndarray
        Per tick and leg: the filled hedge position and the exposure P.
    fill_latency_ns : np.ndarray
        Per fill: from the recommendation's tick to the fill.
    leg_names : list[str]
    """
    metrics: dict
    notes: list
    time_ns: np.ndarray
    equity: np.ndarray
    unhedged: np.ndarray
    hedge_positions: np.ndarray
    positions: np.ndarray
    fill_latency_ns: np.ndarray
    leg_names: list = field(default_factory=list)


def _engine_config(config):
    """An EngineConfig from a HedgeConfig (the Python API's) or an EngineConfig."""
    return config.engine_config() if hasattr(config, "engine_config") else config


class Backtest:
    """A backtest of one engine config.

    Parameters
    ----------
    config : HedgeConfig or EngineConfig
        The engine: its legs' registers are loaded as on a board.
    backtest : BacktestConfig
        Latency, costs, unfilled-order policy, bars.

    Attributes
    ----------
    model : HedgeModel
        The engine's state (numpy arrays, shared with the compiled kernel): books, registers, counters.
    """

    def __init__(self, config, backtest: BacktestConfig | None = None):
        engine = _engine_config(config)
        self.backtest = backtest if backtest is not None else BacktestConfig()
        if self.backtest.initial_position is not None:
            if not engine.legs:
                raise ValueError("initial_position needs a leg in the config")
            engine = replace(engine, legs=(replace(engine.legs[0], position=int(self.backtest.initial_position)),
                                           *engine.legs[1:]))
        self.engine = engine
        self.params = params = engine.params
        self.model = loaded_model(engine, arrays=True)
        legs = params.legs
        exposure = self.backtest.exposure_symbols
        if exposure is None:
            exposure = [leg.symbol for leg in engine.legs]
        if len(exposure) != legs or not all(0 <= s < params.symbols for s in exposure):
            raise ValueError(f"exposure_symbols must give one symbol below {params.symbols} per leg ({legs})")
        self._exposure = np.array(exposure, dtype=np.int64)
        self._latency = self.backtest.order_latency()
        self._latencies = self._latency.draws(1 << 16)
        self._costs = np.array([self.backtest.transaction_cost_bps, self.backtest.fee_per_lot,
                                self.backtest.slippage_bps], dtype=np.float64)
        self._rest = self.backtest.unfilled == "rest"
        self._orders = np.zeros((1024, kernel.ORDER_FIELDS), dtype=np.int64)
        self._ints = np.zeros(kernel.STATE_INTS, dtype=np.int64)
        self._money = np.zeros(kernel.STATE_MONEY, dtype=np.float64)
        self._marks = np.zeros((2, params.symbols), dtype=np.float64)
        self._marked = np.zeros(params.symbols, dtype=np.int64)
        self._filled = np.array([leg.hedge_position for leg in engine.legs], dtype=np.int64)
        self._fills = np.zeros(1024, dtype=np.int64)
        self._recs = np.zeros(kernel.REC_FIELDS * max(legs, 1), dtype=np.int64)
        # Per-tick series, grown as ticks come.
        self._n = 0
        self._time = np.zeros(0, dtype=np.int64)
        self._equity = np.zeros(0, dtype=np.float64)
        self._unhedged = np.zeros(0, dtype=np.float64)
        self._hedge = np.zeros((0, legs), dtype=np.int64)
        self._position = np.zeros((0, legs), dtype=np.int64)
        self._kernel_seconds = 0.0
        self._finished = False

    # Input ---------------------------------------------------------------------------------------------------------

    def write(self, write: Write) -> None:
        """A register write between ticks (a strategy's push), applied as the core applies it."""
        self._check_open()
        self.model.write(write)

    def process_tick(self, tick) -> None:
        """One tick: a :class:`~hedgegate.MarketTick` (price in currency units) or a
        :class:`~hedgegate.host.ticks.Tick` (milli-units). The same compiled step as :meth:`run`."""
        # A MarketTick's price is in currency units, a Tick's in milli-units.
        tick = api_tick(tick.ts_ns, tick.symbol, tick.side, tick.price, tick.qty, self.params,
                        milli=isinstance(tick, Tick))
        if self._n and tick.ts_ns < self._time[self._n - 1]:
            raise ValueError(f"tick ts_ns {tick.ts_ns} is before the previous tick's {self._time[self._n - 1]}: "
                             "timestamps must not go backwards")
        self._run_columns([np.array([value], dtype=np.int64) for value in
                           (tick.ts_ns, tick.symbol, int(tick.side), tick.price, tick.qty)], 0, 1)

    def run(self, ticks, *, runner=None, progress=None) -> BacktestResults:
        """Every tick of ``ticks`` (a TickTable, or Tick / MarketTick objects), then :meth:`results`.

        ``runner``: a :class:`~hedgegate.StrategyRunner` whose writes are applied between the ticks it chose (as
        ``stream`` sends them). ``progress(done, total)`` is called after each chunk of ticks."""
        self._check_open()
        if not isinstance(ticks, TickTable):
            ticks = list(ticks)
            if ticks and not isinstance(ticks[0], Tick):          # MarketTicks: prices to convert one by one
                for tick in ticks:
                    self.process_tick(tick)
                return self.results()
            ticks = TickTable.from_ticks(ticks)
        if len(ticks) and int(ticks.ts_ns.max()) >= 1 << 63:
            raise ValueError("ts_ns beyond 2^63 - 1 ns (year 2262) cannot be backtested")
        check_time_order(ticks, None)        # InputError naming the tick's line, row or record
        if self._n and len(ticks) and int(ticks.ts_ns[0]) < self._time[self._n - 1]:
            raise ValueError("the ticks start before the last tick already processed")
        ticks.check_symbols(self.params.symbols)
        columns = [np.ascontiguousarray(column, dtype=np.int64)
                   for column in (ticks.ts_ns, ticks.symbol, ticks.side, ticks.price, ticks.qty)]
        writes = self._planned_writes(ticks, runner) if runner is not None else []
        self._run_columns(columns, 0, 0)                  # compiles (or loads the cache) outside the timing
        self._kernel_seconds = 0.0
        start = 0
        for at, batch in writes + [(len(ticks), [])]:
            while start < at:
                stop = min(at, start + _CHUNK)
                self._run_columns(columns, start, stop)
                start = stop
                if progress is not None:
                    progress(start, len(ticks))
            for write in batch:
                self.model.write(write)
        return self.results()

    def _planned_writes(self, ticks, runner) -> list:
        """[(tick index the writes come before, [writes])] from a StrategyRunner's plan."""
        plan, count, batches = runner.plan(ticks), 0, []
        for command in plan:
            if isinstance(command, Write):
                if batches and batches[-1][0] == count:
                    batches[-1][1].append(command)
                else:
                    batches.append((count, [command]))
            else:
                count += 1
        return batches

    # The compiled loop -----------------------------------------------------------------------------------------------

    def _grow(self, need: int) -> None:
        if self._n + need <= len(self._time):
            return
        size = max(self._n + need, 2 * len(self._time), 1024)
        legs = self.params.legs

        def grown(array, shape):
            new = np.zeros(shape, dtype=array.dtype)
            new[:self._n] = array[:self._n]
            return new

        self._time = grown(self._time, size)
        self._equity = grown(self._equity, size)
        self._unhedged = grown(self._unhedged, size)
        self._hedge = grown(self._hedge, (size, legs))
        self._position = grown(self._position, (size, legs))

    def _run_columns(self, columns, start: int, stop: int) -> None:
        ts, symbols, sides, prices, qtys = columns
        params, model = self.params, self.model
        self._grow(stop - start)
        while True:
            n = self._n
            began = time.perf_counter()
            reached = kernel.backtest_loop(
                ts, symbols, sides, prices, qtys, start, stop, model.bids.prices, model.bids.sizes, model.bids.counts,
                model.asks.prices, model.asks.sizes, model.asks.counts, params.levels, model.regs, model.halted,
                model.counters, params.price_min, params.price_max, self._recs, self._orders, self._ints, self._money,
                self._costs, self._rest, self._latencies, self._marks, self._marked, self._filled, self._exposure,
                self._fills, self._equity[n:], self._unhedged[n:], self._hedge[n:], self._position[n:])
            self._kernel_seconds += time.perf_counter() - began
            self._time[n:n + reached - start] = ts[start:reached]
            self._n += reached - start
            if reached == stop:
                return
            start = reached                               # a buffer is full: grow it and go on
            if self._ints[kernel.N_ORDERS] + params.legs > len(self._orders):
                self._orders = np.concatenate([self._orders, np.zeros_like(self._orders)])
            self._fills = np.concatenate([self._fills, np.zeros_like(self._fills)])

    def _check_open(self):
        if self._finished:
            raise RuntimeError("this backtest has ended (results() was called); make a new Backtest")

    # Results -------------------------------------------------------------------------------------------------------

    def _finish(self):
        """The end of the data: orders still out fill against the last book, the rest is cancelled."""
        if self._finished:
            return
        self._finished = True
        pending = int(self._ints[kernel.N_ORDERS])
        if pending == 0:
            return
        if self._ints[kernel.FILL_N] + pending > len(self._fills):
            self._fills = np.concatenate([self._fills, np.zeros(pending, dtype=np.int64)])
        model = self.model
        kernel.settle_all(self._orders, self._ints, self._money, self._costs, int(self._time[self._n - 1]),
                          model.bids.prices, model.bids.sizes, model.bids.counts, model.asks.prices, model.asks.sizes,
                          model.asks.counts, self.params.levels, model.regs, self._marks, self._marked, self._filled,
                          self._fills)
        self._equity[self._n - 1] = self._money[kernel.UNHEDGED] + self._money[kernel.HEDGED]
        self._hedge[self._n - 1] = self._filled

    def results(self) -> BacktestResults:
        """Ends the backtest (orders still out fill against the last book) and returns what it measured."""
        self._finish()
        n, bt = self._n, self.backtest
        time_ns = self._time[:n]
        equity, unhedged = self._equity[:n] / 1000.0, self._unhedged[:n] / 1000.0
        closes = m.bar_closes(time_ns, bt.bar_ns)
        capital = bt.capital if bt.capital is not None else self._notional()
        returns = m.bar_returns(equity[closes], capital) if capital else np.zeros(0)
        fills = self._fills[:int(self._ints[kernel.FILL_N])]
        seconds = self._kernel_seconds
        money = self._money / 1000.0
        metrics = {
            "ticks": n,
            "ticks_per_second": round(n / seconds) if seconds > 0 else None,
            "total_pnl": float(equity[-1]) if n else 0.0,
            "unhedged_pnl": float(unhedged[-1]) if n else 0.0,
            "sharpe_ratio": m.sharpe_ratio(returns, bt.periods_per_year),
            "max_drawdown": m.max_drawdown(equity),
            "max_drawdown_pct": m.max_drawdown_fraction(returns) * 100,
            "effectiveness": m.effectiveness(equity[closes], unhedged[closes]),
            "hedges": int(self._ints[kernel.HEDGES]),
            "volume": int(self._ints[kernel.VOLUME]),
            "cancelled_qty": int(self._ints[kernel.CANCELLED]),
            "transaction_cost": float(money[kernel.FEES] + money[kernel.SLIPPAGE_COST]),
            "fees": float(money[kernel.FEES]),
            "slippage_cost": float(money[kernel.SLIPPAGE_COST]),
            "fills": len(fills),
            "latency_ns": {"p50": m.percentile(fills, 50), "p99": m.percentile(fills, 99)},
            "limit_blocked": self.model.limit_blocked,
            "price_blocked": self.model.price_blocked,
            "bars": len(closes),
            "capital": capital,
            "final_hedge_positions": [int(h) for h in self._filled],
        }
        notes = [
            f"Order latency: {self._latency.description}. Orders fill against the book when they arrive (after every "
            "tick at or before the arrival time), walking the levels up to the recommendation's price; the rest is "
            + ("cancelled and H corrected." if not self._rest else "left resting at that price until filled."),
            f"Costs: {bt.transaction_cost_bps:g} bps of notional + {bt.fee_per_lot:g} per lot; slippage "
            f"{bt.slippage_bps:g} bps against each fill.",
            f"Bars: {bt.bar_ns / 3.6e12:g} h of exchange time ({len(closes)} with ticks); Sharpe ratio annualised with "
            f"{bt.trading_days:g} days x {bt.hours_per_day:g} h ({bt.periods_per_year:g} bars a year), no risk-free "
            f"rate, on returns of capital + P&L (capital {capital:,.2f}).",
            "Max drawdown in currency on the per-tick P&L; effectiveness = 1 - Var(hedged) / Var(unhedged) bar "
            "changes; ticks_per_second counts the compiled loop alone (no loading, no compilation).",
        ]
        return BacktestResults(metrics, notes, time_ns.copy(), equity, unhedged, self._hedge[:n].copy(),
                               self._position[:n].copy(), fills.copy(),
                               [f"leg {i} (symbol {leg.symbol})" for i, leg in enumerate(self.engine.legs)])

    def _notional(self) -> float:
        """The exposure's notional at the first marks: sum over legs of |P| x the reference mid (currency)."""
        refs = self._marks[1] / 1000.0
        total = sum(abs(int(leg.position)) * refs[s] for leg, s in zip(self.engine.legs, self._exposure))
        return float(total)

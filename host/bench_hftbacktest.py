"""hedgegate's backtester beside hftbacktest (PyPI ``hftbacktest`` 2.x, a Rust core driven from numba), in one run on
the same events: ``hedgegate bench``'s comparison when the optional extra is installed
(``pip install 'hedgegate[hftbacktest]'``; :func:`available` says why not otherwise).

What is compared: event-processing throughput of the simplest hedge loop on one symbol's ticks. On hftbacktest, an
``@njit`` loop (:func:`_hedge_loop`) steps with ``wait_next_feed`` through every event of the symbol
(:func:`to_hftbacktest_events`: bid/ask level updates as depth events, trades as trade events, a clear as a
depth-clear event), reads the best bid and ask, and keeps a hedge position at ``-P x ratio`` (P = -10,000, ratio
1.0) with marketable IOC limit orders of at most 500 whenever it is more than 50 bps of the target away -- the
hedge law of one hedgegate leg in its simplest form. On hedgegate, :class:`~hedgegate.host.backtest.Backtest` runs
that leg (``threshold_bps = 50``, ``max_order_qty = 500``) on exactly the same ticks. Both are medians of
``repeat`` runs, compilation excluded (numba warm-up on a small slice; hedgegate's kernel compiles or loads its
cache before its timer starts).

What is not compared: fills, P&L or latency modelling. hftbacktest keeps two full-depth books (its exchange
processor's and the local one), models order and response latency and queue position, and fills an IOC order whole
at the best price (``no_partial_fill_exchange``); hedgegate keeps the core's N-level books (levels beyond the N-th
best are dropped, so its best prices can differ from a full-depth book once a side has been emptied below what it
dropped), applies the law after every bid/ask tick, walks the book's levels to fill, and marks exposure and hedge to
the mid on every tick (P&L series), all inside its timed loop. The figures are rates of two different amounts of
work per event on the same events, not a statement about fill realism.
"""

import statistics
import time

import numpy as np

__all__ = ["available", "to_hftbacktest_events", "hftbacktest_throughput"]

_INSTALL = "pip install 'hedgegate[hftbacktest]'"
_BID, _ASK, _TRADE, _CLEAR = 0, 1, 2, 3          # hedgegate.host.ticks.Side codes
_POSITION, _RATIO, _THRESHOLD_BPS, _MAX_ORDER = -10_000, 1.0, 50, 500
_WARMUP = 1_000                                   # events of the numba warm-up
_TIMEOUT_NS = 10 ** 18          # wait_next_feed's timeout: longer than any data (~31 years; ts + it < 2^63 to 2229)
_NO_BID, _NO_ASK = -(1 << 63), (1 << 63) - 1      # hftbacktest's best tick of an empty side (INVALID_MIN / _MAX)


def available() -> str | None:
    """None if hftbacktest imports, else a one-line reason."""
    try:
        import hftbacktest  # noqa: F401
    except ImportError:
        return f"hftbacktest is not installed: {_INSTALL}"
    except Exception as exc:        # installed but broken (its numba bindings compile at import)
        return f"hftbacktest is installed but does not import ({type(exc).__name__}: {exc}); {_INSTALL}"
    return None


def to_hftbacktest_events(table, symbol: int, tick_size: float, lot_size: float) -> np.ndarray:
    """The ticks of ``symbol`` in ``table`` (a :class:`~hedgegate.host.marketdata.table.TickTable`) as hftbacktest
    events (its ``event_dtype``), one per tick, in the same order.

    Every event carries ``EXCH_EVENT | LOCAL_EVENT`` (both of hftbacktest's processors see it) and
    ``exch_ts = local_ts = ts_ns`` (no feed latency). A bid is ``DEPTH_EVENT | BUY_EVENT``, an ask ``DEPTH_EVENT |
    SELL_EVENT``, with ``px`` = price in currency and ``qty``: a qty of 0 removes the level, as in hedgegate's book. A
    trade is ``TRADE_EVENT`` without a side flag (hedgegate's ticks do not say who initiated it, so hftbacktest's
    exchange matches no resting order against it; hedgegate's book ignores trades too). A clear is
    ``DEPTH_CLEAR_EVENT`` without a side flag: both sides emptied, as hedgegate's clear does.

    Raises ValueError if ``tick_size`` is not a whole number of milli-units, a price is off its grid or a size would
    round to 0 lots (hftbacktest keys levels by ``round(px / tick_size)`` and removes one whose size rounds to 0
    lots, so either would give a different book), a side code is unknown, or a timestamp is beyond 2^63 - 1.
    """
    import hftbacktest as hbt

    tick_milli = round(tick_size * 1000)
    if tick_milli <= 0 or abs(tick_size * 1000 - tick_milli) > 1e-9:
        raise ValueError(f"tick_size {tick_size} is not a whole number of milli-units")
    if not lot_size > 0:
        raise ValueError(f"lot_size must be > 0, got {lot_size}")
    mine = np.flatnonzero(table.symbol == symbol)
    ts, side = table.ts_ns[mine], table.side[mine]
    price, qty = table.price[mine], table.qty[mine]
    if len(mine) and int(ts.max()) >= 1 << 63:
        raise ValueError("ts_ns beyond 2^63 - 1 ns cannot be an hftbacktest timestamp")
    unknown = np.flatnonzero(side > _CLEAR)
    if len(unknown):
        raise ValueError(f"tick {int(mine[unknown[0]]) + 1}: unknown side code {int(side[unknown[0]])}")
    priced = side != _CLEAR
    off = np.flatnonzero(priced & (price % tick_milli != 0))
    if len(off):
        raise ValueError(f"tick {int(mine[off[0]]) + 1}: price {int(price[off[0]])} (milli) is not on the "
                         f"{tick_size} grid")
    lost = np.flatnonzero((side <= _ASK) & (qty != 0) & (np.round(qty / lot_size) == 0))
    if len(lost):
        raise ValueError(f"tick {int(mine[lost[0]]) + 1}: qty {int(qty[lost[0]])} rounds to 0 lots of {lot_size}")

    flags = np.array([hbt.DEPTH_EVENT | hbt.BUY_EVENT, hbt.DEPTH_EVENT | hbt.SELL_EVENT, hbt.TRADE_EVENT,
                      hbt.DEPTH_CLEAR_EVENT], dtype=np.uint64)
    events = np.zeros(len(mine), dtype=hbt.event_dtype)
    events["ev"] = flags[side] | np.uint64(hbt.EXCH_EVENT | hbt.LOCAL_EVENT)
    events["exch_ts"] = ts.astype(np.int64)
    events["local_ts"] = events["exch_ts"]
    events["px"] = np.where(priced, price / 1000.0, 0.0)
    events["qty"] = np.where(priced, qty, 0).astype(np.float64)
    return events


def _backtest(events, tick_size: float, lot_size: float, latency_ns: int):
    """An hftbacktest of one asset on ``events`` (which must outlive it: hftbacktest reads the array in place)."""
    import hftbacktest as hbt

    asset = hbt.BacktestAsset().data(events).linear_asset(1.0)
    # constant_order_latency since 2.3; 2.2 has only constant_latency (the same: entry, response).
    latency = getattr(asset, "constant_order_latency", None) or asset.constant_latency
    asset = (latency(latency_ns, 0)
             .risk_adverse_queue_model()
             .no_partial_fill_exchange()
             .trading_value_fee_model(0.0, 0.0)
             .tick_size(tick_size)
             .lot_size(lot_size))
    return hbt.HashMapMarketDepthBacktest([asset])


_compiled = None


def _hedge_loop_function():
    """The ``@njit`` hedge loop, compiled on first use (numba and hftbacktest imported only then).

    ``loop(backtest, target, threshold_bps, max_order, tick_size) -> (feeds, orders, position)``: one
    ``wait_next_feed`` per step until it reports the end of the data. Each returns once hftbacktest has applied the
    next event and every other event stamped with the same nanosecond; the call that applies the last events
    reports the end of the data instead of a feed, so ``feeds`` is the number of distinct timestamps minus one
    (the law does not run after the last). That, and the local timestamp of the last event the local processor
    applied (``feed_latency``, read after the loop) being the data's last, say that every event was processed.

    After each feed (trades included: the loop does not look at the event's kind, hedgegate's law runs after bid
    and ask ticks only), with both sides present and uncrossed: the hedge position H is the filled position plus
    the leaves of every order still working (what hedgegate's H is once unfilled orders are cancelled back); if
    ``|target - H|`` is at least a lot and above ``threshold_bps`` of ``|target|``, one IOC limit order of
    ``min(|target - H|, max_order)`` at the best ask (buy) or bid (sell) goes out.
    """
    global _compiled
    if _compiled is not None:
        return _compiled
    from hftbacktest.order import BUY, IOC, LIMIT, NEW, NONE, PARTIALLY_FILLED
    from numba import njit

    @njit
    def loop(backtest, target, threshold_bps, max_order, tick_size):
        feeds = 0
        orders = 0
        working = 0.0
        outstanding = False
        while True:
            code = backtest.wait_next_feed(False, _TIMEOUT_NS)
            if code == 1:                        # end of the data
                break
            if code != 2 and code != 0:          # 2: a feed (2.3+); 0: a feed in 2.2, a timeout since (not with
                return -1, orders, backtest.position(0)     # this timeout, and the caller's check would see it)
            feeds += 1
            depth = backtest.depth(0)
            bid, ask = depth.best_bid_tick, depth.best_ask_tick
            if bid == _NO_BID or ask == _NO_ASK or bid >= ask:
                continue
            if outstanding:                      # only while orders are out: the scan is not free
                working = 0.0
                outstanding = False
                values = backtest.orders(0).values()
                while values.has_next():
                    order = values.get()
                    status = order.status
                    if status == NONE or status == NEW or status == PARTIALLY_FILLED:
                        working += order.leaves_qty if order.side == BUY else -order.leaves_qty
                        outstanding = True
                backtest.clear_inactive_orders(0)
            dev = target - (backtest.position(0) + working)
            size = abs(dev)
            if size >= 1.0 and size * 10000.0 > threshold_bps * abs(target):
                qty = min(size, max_order)
                orders += 1
                if dev > 0:
                    backtest.submit_buy_order(0, orders, ask * tick_size, qty, IOC, LIMIT, False)
                    working += qty
                else:
                    backtest.submit_sell_order(0, orders, bid * tick_size, qty, IOC, LIMIT, False)
                    working -= qty
                outstanding = True
        return feeds, orders, backtest.position(0)

    _compiled = loop
    return loop


def _run_hftbacktest(events, tick_size: float, lot_size: float, latency_ns: int) -> tuple:
    """One run: (seconds in the loop, feeds, orders, final position); building the backtest is not timed.
    RuntimeError unless hftbacktest applied every event (see :func:`_hedge_loop_function`)."""
    loop = _hedge_loop_function()
    backtest = _backtest(events, tick_size, lot_size, latency_ns)
    try:
        began = time.perf_counter()
        feeds, orders, position = loop(backtest, -_POSITION * _RATIO, float(_THRESHOLD_BPS), float(_MAX_ORDER),
                                       tick_size)
        seconds = time.perf_counter() - began
        last = backtest.feed_latency(0)
        last_ts = last[1] if last is not None else None
    finally:
        backtest.close()
    if feeds < 0:
        raise RuntimeError("hftbacktest's wait_next_feed returned an error")
    distinct = int(np.count_nonzero(np.diff(events["local_ts"]))) + 1
    if feeds != distinct - 1 or last_ts != int(events["local_ts"][-1]):
        raise RuntimeError(f"hftbacktest stopped early: {feeds + 1:,} of {distinct:,} timestamps, last at {last_ts}")
    return seconds, feeds, orders, position


def _symbol_ticks(table, symbol: int):
    from .marketdata.table import TickTable

    mine = table.symbol == symbol
    return TickTable(table.ts_ns[mine], table.symbol[mine], table.side[mine], table.price[mine], table.qty[mine],
                     table.source_row[mine])


def hftbacktest_throughput(table, symbol: int = 0, repeat: int = 3, *, tick_size: float = 0.005,
                           lot_size: float = 1.0) -> dict:
    """hftbacktest's and hedgegate's backtest throughput on the ticks of ``symbol`` in ``table``, in this run.

    Returns ``{"events", "events_per_second", "version", "what", "hedgegate_ticks_per_second", ...}``: hftbacktest's
    events per second (``events`` / time in the njit loop, median of ``repeat``, after a warm-up run on the first
    1,000 events that compiles the loop) and hedgegate's ``results().metrics["ticks_per_second"]`` (median of
    ``repeat``) on the same ticks, the runs of the two interleaved so that a change in the machine's load affects
    both. ``tick_size``/``lot_size``: the symbol's grid in currency and its lot (the synthetic data's defaults for
    symbol 0). Raises RuntimeError if hftbacktest is not installed (check :func:`available` first), ValueError as
    :func:`to_hftbacktest_events`, and RuntimeError if hftbacktest did not step through every event.
    """
    reason = available()
    if reason is not None:
        raise RuntimeError(reason)
    import hftbacktest

    from .backtest import Backtest, BacktestConfig
    from .config import parse_config

    if repeat < 1:
        raise ValueError(f"repeat must be >= 1, got {repeat}")
    events = to_hftbacktest_events(table, symbol, tick_size, lot_size)
    if not len(events):
        raise ValueError(f"no ticks of symbol {symbol}")
    ticks = _symbol_ticks(table, symbol)
    symbols = int(table.symbol.max()) + 1
    config = parse_config(f"[engine]\nsymbols = {symbols}\n[[leg]]\nsymbol = {symbol}\nposition = {_POSITION}\n"
                          f"threshold_bps = {_THRESHOLD_BPS}\nmax_order_qty = {_MAX_ORDER}\n")
    backtest_config = BacktestConfig()
    latency_ns = int(backtest_config.order_latency().samples_ns[0])

    warm = events[:_WARMUP].copy()
    _run_hftbacktest(warm, tick_size, lot_size, latency_ns)           # numba compiles the loop here
    ours, theirs = [], []
    for _ in range(repeat):
        seconds, feeds, orders, position = _run_hftbacktest(events, tick_size, lot_size, latency_ns)
        theirs.append(len(events) / seconds)
        results = Backtest(config, backtest_config).run(ticks)
        ours.append(results.metrics["ticks_per_second"])
    return {
        "events": len(events),
        "events_per_second": statistics.median(theirs),
        "version": hftbacktest.__version__,
        "what": "hftbacktest (HashMapMarketDepthBacktest, njit loop, wait_next_feed through every event): best "
                "bid/ask, hedge to -P x 1.0 by IOC orders (50 bps, max 500); building the backtest and numba "
                "compilation excluded",
        "hedgegate_ticks_per_second": statistics.median(ours),
        "hedgegate_what": "hedgegate Backtest, one leg on the same ticks (law, orders, fills, marking; compiled loop "
                          "only)",
        "feeds": feeds,
        "orders": orders,
        "final_position": float(position),
        "hedgegate_hedges": results.metrics["hedges"],
        "hedgegate_final_hedge_position": results.metrics["final_hedge_positions"][0],
        "repeat": repeat,
    }

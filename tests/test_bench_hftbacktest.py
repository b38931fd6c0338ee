"""hedgegate beside hftbacktest (host/bench_hftbacktest.py): the optional extra's absence, the event conversion
checked against hedgegate's own book event by event, and the throughput comparison's figures."""

import builtins
import sys

import numpy as np
import pytest

from hedgegate.host import bench_hftbacktest as bench
from hedgegate.host.config import parse_config
from hedgegate.host.marketdata.synthetic import synthetic_ticks
from hedgegate.host.marketdata.table import TickTable
from hedgegate.host.replay import loaded_model

_NO_BID, _NO_ASK = -(1 << 63), (1 << 63) - 1       # hftbacktest's best tick of an empty side


def test_available_without_hftbacktest(monkeypatch):
    monkeypatch.setitem(sys.modules, "hftbacktest", None)          # `import hftbacktest` raises ImportError
    reason = bench.available()
    assert reason == "hftbacktest is not installed: pip install 'hedgegate[hftbacktest]'"
    with pytest.raises(RuntimeError, match="not installed"):
        bench.hftbacktest_throughput(synthetic_ticks(100, symbols=1))


def test_available_with_a_broken_hftbacktest(monkeypatch):
    real_import = builtins.__import__

    def broken(name, *args, **kwargs):
        if name == "hftbacktest" or name.startswith("hftbacktest."):
            raise OSError("libhftbacktest.so: cannot open shared object file")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "hftbacktest", raising=False)
    monkeypatch.setattr(builtins, "__import__", broken)
    reason = bench.available()
    assert reason.startswith("hftbacktest is installed but does not import (OSError: ")
    assert "\n" not in reason


def _stream():
    """Two symbols' ticks with two clears of symbol 1 in the middle (synthetic ticks have none)."""
    table = synthetic_ticks(3_000, symbols=2)
    ones = np.flatnonzero(table.symbol == 1)
    side = table.side.copy()
    side[ones[[400, 1000]]] = 3
    return TickTable(table.ts_ns, table.symbol, side, table.price, table.qty)


def test_events_give_hedgegates_book():
    """Symbol 1's events replayed through hftbacktest, one feed at a time: its best bid and ask after every event
    are those of hedgegate's model fed the whole stream (levels = 64, more than the stream ever holds, so the
    model's N-level book never drops a level and equals a full-depth one)."""
    hbt = pytest.importorskip("hftbacktest")
    table = _stream()
    events = bench.to_hftbacktest_events(table, symbol=1, tick_size=0.01, lot_size=1.0)

    ones = np.flatnonzero(table.symbol == 1)
    assert len(events) == len(ones)
    assert np.all(np.diff(events["local_ts"]) > 0), "one event per feed: the comparison needs distinct timestamps"
    assert np.array_equal(events["exch_ts"], table.ts_ns[ones].astype(np.int64))
    assert np.array_equal(events["local_ts"], events["exch_ts"])
    both = hbt.EXCH_EVENT | hbt.LOCAL_EVENT
    expected_flags = {0: hbt.DEPTH_EVENT | hbt.BUY_EVENT | both, 1: hbt.DEPTH_EVENT | hbt.SELL_EVENT | both,
                      2: hbt.TRADE_EVENT | both, 3: hbt.DEPTH_CLEAR_EVENT | both}
    assert [int(e) for e in events["ev"]] == [expected_flags[int(s)] for s in table.side[ones]]
    priced = table.side[ones] != 3
    assert np.array_equal(np.round(events["px"][priced] * 1000).astype(np.int64), table.price[ones][priced])
    assert np.array_equal(events["qty"][priced], table.qty[ones][priced])

    asset = hbt.BacktestAsset().data(events).linear_asset(1.0)
    latency = getattr(asset, "constant_order_latency", None) or asset.constant_latency     # 2.3+ / 2.2
    asset = (latency(0, 0).risk_adverse_queue_model().no_partial_fill_exchange()
             .trading_value_fee_model(0.0, 0.0).tick_size(0.01).lot_size(1.0))
    backtest = hbt.HashMapMarketDepthBacktest([asset])
    model = loaded_model(parse_config("[engine]\nsymbols = 2\nlevels = 64\n"))
    steps = deepest = cleared = 0
    feed = 2 if tuple(int(part) for part in hbt.__version__.split(".")[:2]) >= (2, 3) else 0
    try:
        for tick in table:
            model.tick(tick.symbol, tick.side, tick.price, tick.qty)
            if tick.symbol != 1:
                continue
            code = backtest.wait_next_feed(False, 10 ** 18)
            # The last event comes with the end of the data (1); the others with a feed: 2 since 2.3, 0 in 2.2.
            assert code == (1 if steps == len(events) - 1 else feed)
            depth = backtest.depth(0)
            bid, ask = depth.best_bid_tick, depth.best_ask_tick
            theirs = (None if bid == _NO_BID else bid * 10, None if ask == _NO_ASK else ask * 10)
            bids, asks = model.book(1)
            ours = (bids[0][0] if bids else None, asks[0][0] if asks else None)
            assert theirs == ours, f"event {steps} ({tick}): hftbacktest {theirs}, hedgegate {ours}"
            if int(tick.side) in (0, 1):
                qty = depth.bid_qty_at_tick(tick.price // 10) if tick.side == 0 else \
                    depth.ask_qty_at_tick(tick.price // 10)
                assert qty == tick.qty
            cleared += int(tick.side) == 3 and ours == (None, None)
            deepest = max(deepest, len(bids), len(asks))
            steps += 1
    finally:
        backtest.close()
    assert steps == len(events)
    assert cleared == 2
    assert deepest < 64, "the model's book filled up: it may have dropped levels hftbacktest keeps"


def test_events_reject_prices_off_the_grid():
    pytest.importorskip("hftbacktest")
    table = synthetic_ticks(50, symbols=1)
    with pytest.raises(ValueError, match="not on the 0.01 grid"):
        bench.to_hftbacktest_events(table, 0, 0.01, 1.0)       # symbol 0 is on a 0.005 grid
    with pytest.raises(ValueError, match="whole number of milli-units"):
        bench.to_hftbacktest_events(table, 0, 0.0005, 1.0)
    with pytest.raises(ValueError, match="rounds to 0 lots"):
        bench.to_hftbacktest_events(table, 0, 0.005, 1000.0)
    assert len(bench.to_hftbacktest_events(table, 7, 0.005, 1.0)) == 0


def test_throughput_on_the_same_ticks():
    hftbacktest = pytest.importorskip("hftbacktest")
    table = synthetic_ticks(20_000, symbols=1)
    result = bench.hftbacktest_throughput(table, symbol=0, repeat=1)
    assert result["events"] == 20_000
    assert result["events_per_second"] > 0
    assert result["hedgegate_ticks_per_second"] > 0
    assert result["version"] == hftbacktest.__version__
    assert result["feeds"] == 20_000 - 1             # every event: the last one comes with the end of the data
    # Both loops hedge the same exposure to the same target (their fills differ: whole at the best vs. walked).
    assert result["orders"] > 0 and result["hedgegate_hedges"] > 0
    assert result["final_position"] == 10_000
    assert result["hedgegate_final_hedge_position"] == 10_000
    assert "\n" not in result["what"]

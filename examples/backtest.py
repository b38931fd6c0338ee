"""A backtest on real order-book data when it is there, on a generated stream otherwise.

Real data: the CME E-mini S&P 500 (ES) session of ``../shared/data/esh4-glbx-mdp3-20231225.mbo.dbn.zst`` (Databento
MBO, rebuilt into the engine's top-10 book), a short exposure of 20 contracts hedged 1:1 with the future itself at
the board's latency (not an energy market: the only public full-depth session at hand; the method is the same).
Otherwise: hedgegate's synthetic three-symbol stream with the two-leg benchmark config.

    python examples/backtest.py [--ticks N] [--report DIR] [--synthetic]
"""

import argparse
from pathlib import Path

from hedgegate import Backtest, BacktestConfig, HedgeConfig
from hedgegate.host.config import load_config
from hedgegate.host.marketdata import load_ticks
from hedgegate.host.marketdata.synthetic import synthetic_ticks

HERE = Path(__file__).resolve().parent
REAL = HERE.parent.parent / "shared" / "data" / "esh4-glbx-mdp3-20231225.mbo.dbn.zst"
TWO_LEG = HERE.parent / "bench" / "configs" / "backtest-two-leg.toml"

# Short 20 ES; re-hedge at 5 % off target, one contract at least, at most 5 per order, limit 0.25 through the touch.
ES_HEDGE = HedgeConfig(position=-20, hedge_ratio=1.0, rehedge_threshold_bps=500, max_order_qty=5, slippage=0.25,
                       symbol=0, symbols=1)


def main(ticks: int = 1_000_000, report: str | None = None, synthetic: bool = False):
    if REAL.exists() and not synthetic:
        config = ES_HEDGE.engine_config()
        data = load_ticks(REAL, config.params)
        what = f"ES MBO session ({REAL.name})"
        backtest = BacktestConfig(fee_per_lot=1.0, bar_ns=15 * 60 * 10**9)       # 15-minute bars
    else:
        config = load_config(TWO_LEG)
        data = synthetic_ticks(ticks, gap_ns=50_000_000)
        what = f"synthetic stream, {ticks:,} ticks"
        backtest = BacktestConfig(transaction_cost_bps=1.0)
    results = Backtest(config, backtest).run(data)
    m = results.metrics
    print(f"{what}: {m['ticks']:,} ticks at {m['ticks_per_second']:,} ticks/s")
    print(f"  P&L {m['total_pnl']:,.2f} (unhedged {m['unhedged_pnl']:,.2f}), Sharpe {m['sharpe_ratio']}, "
          f"max drawdown {m['max_drawdown']:,.2f}, effectiveness {m['effectiveness']}")
    print(f"  {m['hedges']:,} orders, {m['volume']:,} filled, costs {m['transaction_cost']:,.2f}, "
          f"fill latency p50 {m['latency_ns']['p50']} ns")
    if report is not None:
        from hedgegate.host.backtest.report import write_report
        print(f"  report: {write_report(results, report)}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=1_000_000, help="size of the generated stream (1,000,000)")
    parser.add_argument("--report", metavar="DIR", help="write the HTML report there")
    parser.add_argument("--synthetic", action="store_true", help="use the generated stream even if real data is there")
    args = parser.parse_args()
    main(args.ticks, args.report, args.synthetic)

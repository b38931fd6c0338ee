"""``hedgegate backtest`` and ``hedgegate sweep``: the backtester from the command line (docs/cli.md, docs/backtest.md).

    hedgegate backtest DATA --config CONFIG.toml [--latency hw|hw:REPORT.json|file:LAT.txt|160ns] [--link-ns N]
                       [--fee-bps X] [--fee-per-lot X] [--slippage-bps X] [--unfilled cancel|rest]
                       [--initial-position P] [--exposure-symbols S,...] [--bar 1h] [--capital C]
                       [--strategy delta|mvhr|mean-reversion ...] [--report DIR] [--json]
    hedgegate sweep DATA --config CONFIG.toml --grid KEY=V1,V2,... [--grid ...] [--scheduler tcp://HOST:PORT]
                    [--workers N] [--out DIR] [--metric NAME] [the backtest options] [--json]

``backtest --json`` prints one object: every metric of docs/backtest.md (``ticks``, ``ticks_per_second`` of the
compiled loop alone, ``wall_seconds`` of the whole command after start-up, ``total_pnl``, ``sharpe_ratio``,
``max_drawdown``, ``effectiveness``, ``hedges``, ``volume``, ``transaction_cost``, ``latency_ns`` {p50, p99}, ...).
"""

import json
import math
import sys
import time

__all__ = ["add_backtest_parsers"]


def _option(name: str, parse, *args, **kwargs):
    """``parse(*args, **kwargs)``, its ValueError prefixed with the option's name."""
    try:
        return parse(*args, **kwargs)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def _symbol_list(text: str) -> tuple:
    try:
        return tuple(int(s) for s in text.split(","))
    except ValueError:
        raise ValueError(f"expected symbol indexes like 0,2, got {text!r}") from None


def _backtest_config(args):
    """BacktestConfig from the options (ValueError naming the option on a bad value)."""
    from .backtest import BacktestConfig, Latency
    from .backtest.config import parse_duration_ns

    latency = _option("--latency", Latency.parse, args.latency, link_ns=args.link_ns, seed=args.seed)
    bar_ns = _option("--bar", parse_duration_ns, args.bar)
    exposure = None if args.exposure_symbols is None else \
        _option("--exposure-symbols", _symbol_list, args.exposure_symbols)
    return BacktestConfig(initial_position=args.initial_position, transaction_cost_bps=args.fee_bps,
                          fee_per_lot=args.fee_per_lot, slippage_bps=args.slippage_bps, latency=latency,
                          unfilled=args.unfilled, exposure_symbols=exposure, bar_ns=bar_ns, capital=args.capital)


def _runner(args, config):
    """The --strategy's StrategyRunner, or None."""
    if args.strategy is None:
        return None
    from .backtest.config import parse_duration_ns
    from .strategies import (DeltaHedge, MeanReversionHedge, MeanReversionParams, MVHRStrategy, StrategyRunner)

    if args.strategy == "delta":
        strategy = DeltaHedge(args.ratio, leg=args.leg)
    elif args.strategy == "mvhr":
        if args.window is None:
            raise ValueError("--strategy mvhr needs --window N (price changes in the window)")
        strategy = MVHRStrategy(args.window, exposure_symbol=args.exposure_symbol, hedge_symbol=args.hedge_symbol,
                                leg=args.leg)
    else:
        strategy = MeanReversionHedge(MeanReversionParams(None, args.threshold_z, args.hedge_strength),
                                      ratio=args.ratio, window=args.window, symbol=args.hedge_symbol, leg=args.leg)
    every = _option("--every", parse_duration_ns, args.every)
    return StrategyRunner(config, [strategy], every_ns=every)


def _progress_bar(total: int, quiet: bool):
    """A rich progress bar on stderr for long runs (a terminal, over a million ticks); None otherwise."""
    if quiet or total < 1_000_000 or not sys.stderr.isatty():
        return None, None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    progress = Progress("backtest", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                        console=Console(stderr=True), transient=True)
    task = progress.add_task("ticks", total=total)
    return progress, lambda done, _total: progress.update(task, completed=done)


def _load(args):
    from .cli import _load_ticks
    from .config import load_config
    from .marketdata import check_time_order

    config = load_config(args.config)
    table = _load_ticks(args, args.data, config.params, quiet=args.json)
    if len(table) == 0:
        raise ValueError(f"{args.data}: no ticks to backtest")
    check_time_order(table, args.data)
    return config, table


def _backtest(args) -> int:
    started = time.perf_counter()
    from .backtest import Backtest
    from .cli import _fail

    try:
        config, table = _load(args)
        backtest = Backtest(config, _backtest_config(args))
        runner = _runner(args, config)
    except ValueError as exc:
        return _fail(str(exc), 2)
    progress, on_progress = _progress_bar(len(table), args.json)
    if progress is not None:
        progress.start()
    try:
        results = backtest.run(table, runner=runner, progress=on_progress)
    finally:
        if progress is not None:
            progress.stop()
    if args.report is not None:
        from .backtest.report import write_report
        try:
            page = write_report(results, args.report)
        except OSError as exc:
            return _fail(f"cannot write the report to {args.report}: {exc.strerror or exc}", 1)
    metrics = {"data": str(args.data), **results.metrics, "wall_seconds": round(time.perf_counter() - started, 3),
               "latency": backtest.backtest.order_latency().description}
    if runner is not None:
        errors = [push.error for push in runner.log if push.error]
        metrics["strategy"] = {"name": args.strategy, "evaluations": len(runner.log), "skipped": len(errors),
                               "first_error": errors[0] if errors else None}
    if args.json:
        print(json.dumps(metrics))
        return 0
    _print_summary(metrics)
    if args.report is not None:
        print(f"report: {page}")
    return 0


def _number(value, unit="", digits=2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:,.{digits}f}{unit}" if isinstance(value, float) else f"{value:,}{unit}"


def _print_summary(m: dict) -> None:
    lat = m["latency_ns"]
    effectiveness = None if m["effectiveness"] is None else m["effectiveness"] * 100
    rows = [
        ("ticks", f"{m['ticks']:,} in {m['wall_seconds']:.2f} s (compiled loop: {_number(m['ticks_per_second'])} "
                  "ticks/s)"),
        ("total P&L", f"{_number(m['total_pnl'])} (unhedged {_number(m['unhedged_pnl'])})"),
        ("Sharpe ratio", f"{_number(m['sharpe_ratio'])} ({m['bars']} bars)"),
        ("max drawdown", f"{_number(m['max_drawdown'])} ({_number(m['max_drawdown_pct'], ' %', 3)})"),
        ("effectiveness", _number(effectiveness, " %", 1)),
        ("hedges", f"{m['hedges']:,} orders, {m['volume']:,} filled, {m['cancelled_qty']:,} cancelled"),
        ("transaction cost", f"{_number(m['transaction_cost'])} (fees {_number(m['fees'])}, slippage "
                             f"{_number(m['slippage_cost'])})"),
        ("fill latency", f"p50 {_number(lat['p50'], ' ns', 0)}, p99 {_number(lat['p99'], ' ns', 0)} "
                         f"({m['latency']})"),
    ]
    print(f"backtest {m['data']}:")
    for name, text in rows:
        print(f"  {name + ':':<18}{text}")


def _sweep(args) -> int:
    from pathlib import Path

    from .backtest.sweep import METRIC_COLUMNS, heatmap, parse_grid, run_sweep, write_table
    from .cli import _fail

    if args.metric not in METRIC_COLUMNS:
        return _fail(f"--metric: unknown metric {args.metric!r}; expected one of {', '.join(METRIC_COLUMNS)}", 2)
    try:
        grid = parse_grid(args.grid)
        config, table = _load(args)
        base = _backtest_config(args)
    except ValueError as exc:
        return _fail(str(exc), 2)
    text = Path(args.config).read_text()
    total = math.prod(len(values) for values in grid.values())
    if not args.json:
        where = args.scheduler or f"{args.workers or 'one per core'} local processes"
        print(f"sweep: {total} points over {len(table):,} ticks on {where}", file=sys.stderr)
    done = (lambda n, total: print(f"  {n}/{total} points", file=sys.stderr)) if not args.json else None
    try:
        rows = run_sweep(table, text, args.config, grid, base, scheduler=args.scheduler, workers=args.workers,
                         progress=done)
    except OSError as exc:             # the scheduler cannot be reached (dask's ConnectionError after its timeout)
        return _fail(f"sweep: {args.scheduler or 'the local cluster'}: {str(exc).splitlines()[0]}", 1)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        write_table(rows, out / "sweep.parquet")
        heatmap(rows, grid, args.metric, out / "sweep.png")
    except OSError as exc:
        return _fail(f"cannot write to {out}: {exc.strerror or exc}", 1)
    failed = [row for row in rows if row["error"]]
    if args.json:
        print(json.dumps({"points": len(rows), "failed": len(failed), "table": str(out / "sweep.parquet"),
                          "heatmap": str(out / "sweep.png"), "rows": rows}, default=str))
    else:
        best = max((row for row in rows if row.get(args.metric) is not None), key=lambda row: row[args.metric],
                   default=None)
        print(f"sweep: {len(rows)} points, {len(failed)} failed -> {out / 'sweep.parquet'}, {out / 'sweep.png'}")
        for row in failed:
            print(f"  failed: {', '.join(f'{k}={row[k]}' for k in grid)}: {row['error']}")
        if best is not None:
            print(f"  best {args.metric}: {best[args.metric]:,.4g} at "
                  + ", ".join(f"{k}={best[k]}" for k in grid))
    return 0


def add_backtest_parsers(commands, tick_options) -> None:
    def common(command):
        command.add_argument("data", metavar="DATA", help="ticks: CSV, Parquet or DBN (MBO, MBP-10)")
        tick_options(command)
        command.add_argument("--config", required=True, metavar="CONFIG.toml", help="engine and leg configuration")
        command.add_argument("--latency", default="hw", metavar="SPEC",
                             help="order latency: hw (the bundled ULX3S-85F report's core latency, the default), "
                                  "hw:REPORT.json, file:LATENCIES.txt (recorded, one per line, drawn at random), "
                                  "or a duration (160ns, 2us)")
        command.add_argument("--link-ns", type=int, default=0, metavar="N",
                             help="link and wire time added to the latency (default 0: the core alone)")
        command.add_argument("--seed", type=int, default=0, help="seed of the recorded latencies' draws")
        command.add_argument("--fee-bps", type=float, default=0.0, metavar="X", help="fee, bps of notional")
        command.add_argument("--fee-per-lot", type=float, default=0.0, metavar="X", help="fee per lot (currency)")
        command.add_argument("--slippage-bps", type=float, default=0.0, metavar="X",
                             help="slippage against each fill, bps of its price")
        command.add_argument("--unfilled", choices=("cancel", "rest"), default="cancel",
                             help="what an order cannot fill on arrival: cancel (default) or rest at its price")
        command.add_argument("--initial-position", type=int, metavar="P", help="the first leg's exposure P")
        command.add_argument("--exposure-symbols", metavar="S,...",
                             help="per leg, the symbol marking its exposure (default: the leg's own)")
        command.add_argument("--bar", default="1h", metavar="DURATION", help="bar of Sharpe and effectiveness (1h)")
        command.add_argument("--capital", type=float, metavar="C",
                             help="equity the returns are relative to (default: the exposure's notional)")
        command.add_argument("--json", action="store_true", help="one JSON object on stdout")

    backtest = commands.add_parser("backtest", help="backtest a config on market data (compiled, with fills)",
                                   description="Run DATA through the engine's law (compiled, bit-exact with the "
                                               "board) with order latency, fills against the book, costs and "
                                               "marking; print the metrics (docs/backtest.md).")
    common(backtest)
    backtest.add_argument("--strategy", choices=("delta", "mvhr", "mean-reversion"),
                          help="re-estimate a leg's registers during the run, on bars of the data's mids")
    backtest.add_argument("--every", default="1h", metavar="DURATION",
                          help="strategy: evaluate every DURATION of exchange time (default 1h)")
    backtest.add_argument("--leg", type=int, default=0, help="strategy: the leg it drives (default 0)")
    backtest.add_argument("--ratio", type=float, default=1.0, help="delta, mean-reversion: the hedge ratio")
    backtest.add_argument("--window", type=int, help="mvhr: price changes in the window; mean-reversion: prices")
    backtest.add_argument("--exposure-symbol", type=int, default=1, help="mvhr: the exposure's symbol (1)")
    backtest.add_argument("--hedge-symbol", type=int, default=0, help="mvhr, mean-reversion: the hedge's symbol (0)")
    backtest.add_argument("--threshold-z", type=float, default=2.0, help="mean-reversion: band in SDs (2)")
    backtest.add_argument("--hedge-strength", type=float, default=0.5, help="mean-reversion: ratio share outside")
    backtest.add_argument("--report", metavar="DIR", help="write an HTML report (plots) and metrics.json to DIR")
    backtest.set_defaults(run=_backtest)

    sweep = commands.add_parser("sweep", help="backtest a grid of parameters, locally or on a Dask cluster",
                                description="Backtest every combination of the --grid values (config leg keys, "
                                            "or latency_ns, transaction_cost_bps, ...) on local processes or a "
                                            "Dask cluster; write sweep.parquet and a heat map sweep.png.")
    common(sweep)
    sweep.add_argument("--grid", action="append", required=True, metavar="KEY=V1,V2,...",
                       help="a parameter and its values (repeatable): threshold_bps=50,100 or leg1.hedge_ratio=0.8,1")
    sweep.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="a Dask scheduler (default: local processes)")
    sweep.add_argument("--workers", type=int, metavar="N", help="local worker processes (default: one per core)")
    sweep.add_argument("--out", default="sweep", metavar="DIR", help="where sweep.parquet and sweep.png go")
    sweep.add_argument("--metric", default="total_pnl", help="the heat map's metric (default total_pnl)")
    sweep.set_defaults(run=_sweep)

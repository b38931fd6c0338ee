"""The ``hedgegate`` command.

    hedgegate convert IN OUT [--format csv|parquet|dbn] [--to csv|parquet] [--depth N] [--symbols ID=INDEX,...]
                      [--definitions DEFS.dbn] [--strict-symbols] [--config CONFIG.toml]
    hedgegate strategy delta|mvhr|mean-reversion|delta-gamma|spark-spread [options] [--json]
    hedgegate backtest DATA --config CONFIG.toml [--latency SPEC] [--fee-bps X] [--strategy NAME ...] [--report DIR]
                       [--json]
    hedgegate sweep DATA --config CONFIG.toml --grid KEY=V1,V2,... [--scheduler tcp://HOST:PORT] [--out DIR]
    hedgegate replay TICKS --config CONFIG.toml --backend model|fast|sim --out RECS.jsonl [--trace TRACE.jsonl]
    hedgegate stream TICKS --config CONFIG.toml --port URL [--rate N] [--out RECS.jsonl] [--json]
    hedgegate status --port URL [--config CONFIG.toml] [--json]
    hedgegate demo [--ticks TICKS] [--config CONFIG.toml] [--rate N] [--port URL] [--json]
    hedgegate board-sim [--listen 127.0.0.1:PORT] [--config CONFIG.toml | --symbols S --levels N --legs L]
    hedgegate bench [--quick] [--json] [--out DIR] [--port URL]
    hedgegate build --board icebreaker|ulx3s-85f|ulx3s-25f [--clock-mhz F] [--seed N] [--build-dir DIR]
                    [--report REPORT.json] [--program]

TICKS, IN, DATA: CSV, Parquet or Databento DBN (MBO, MBP-10), detected from the file; replay, stream, demo,
backtest and sweep take the same --format, --symbols, --definitions and --strict-symbols options as convert.

Errors in the input files are reported as one line, ``hedgegate: error: FILE:LINE: FIELD: what is wrong``, with exit
status 2; a failing simulator or an unwritable output gives one line and exit status 1. No traceback is shown for
either (set HEDGEGATE_DEBUG=1 to see one).
"""

import argparse
import dataclasses
import json
import os
import sys
import time

from . import __version__
from .errors import InputError

__all__ = ["main"]


def _load_ticks(args, path, params, depth=None, quiet=False):
    """The tick input of a command (any format, with its --format/--symbols/... options); what was skipped is said
    on stderr in one line (unless ``quiet``)."""
    from .marketdata import load_ticks, parse_symbol_map

    symbols = None
    if args.symbols is not None:
        try:
            symbols = parse_symbol_map(args.symbols)
        except ValueError as exc:
            raise InputError(None, None, "--symbols", str(exc)) from None
    table = load_ticks(path, params, format=args.format, depth=depth, symbols=symbols,
                       definitions=args.definitions, strict_symbols=args.strict_symbols)
    if table.report.skipped and not quiet:
        print(f"hedgegate: {table.report.summary(len(table))}", file=sys.stderr)
    return table


def _convert(args) -> int:
    from ..hw.params import CoreParams
    from .config import load_config
    from .marketdata import write_ticks

    if args.depth < 1:
        return _fail(f"--depth must be >= 1, got {args.depth}", 2)
    if args.config is not None:
        params = load_config(args.config).params
        if args.depth != params.levels:
            print(f"hedgegate: warning: --depth {args.depth} but the config's engine keeps {params.levels} levels: "
                  "its book is exact only when the two are equal", file=sys.stderr)
    else:
        params = CoreParams(symbols=1 << 16, levels=args.depth)    # the default core's widths; any symbol index
    table = _load_ticks(args, args.input, params, depth=args.depth, quiet=True)
    try:
        written = write_ticks(args.output, table, args.to)
    except OSError as exc:
        return _fail(f"cannot write {args.output}: {exc.strerror or exc}", 1)
    print(f"convert: {table.report.summary(len(table))} -> {args.output} ({written})", file=sys.stderr)
    return 0


def _replay(args) -> int:
    from ..sim.runner import SimError
    from .config import load_config
    from .replay import replay, write_recs, write_trace

    config = load_config(args.config)
    ticks = _load_ticks(args, args.ticks, config.params)
    started = time.perf_counter()
    try:
        recs, traces = replay(config, ticks, args.backend, trace=args.trace is not None)
    except SimError as exc:
        return _fail(f"sim backend: {exc}", 1)
    try:
        write_recs(args.out, recs)
        if args.trace is not None:
            write_trace(args.trace, traces)
    except OSError as exc:
        return _fail(f"cannot write {exc.filename}: {exc.strerror}", 1)
    seconds = time.perf_counter() - started
    extra = ""
    latencies = sorted({rec.latency_cycles for rec in recs if rec.latency_cycles is not None})
    if latencies:
        extra = f", latency {latencies} cycles"
    print(f"replay ({args.backend}): {len(ticks)} ticks, {len(recs)} recommendations{extra}, "
          f"{seconds:.2f} s -> {args.out}", file=sys.stderr)
    return 0


def _build(args) -> int:
    from ..hw.board import BoardError, board, fastest_clock_mhz
    from ..hw.pll import PLLError
    from .build import TIMING_FAILED_STATUS, BuildError, build, find_programmer, format_table, program

    try:
        spec = board(args.board)
        programmer = find_programmer(spec.family) if args.program else None
        report = build(spec, clock_mhz=args.clock_mhz, seed=args.seed, build_dir=args.build_dir,
                       progress=lambda line: print(line, file=sys.stderr))
    except (BoardError, PLLError) as exc:
        return _fail(str(exc), 2)
    except BuildError as exc:
        return _fail(str(exc), 1)
    print(format_table(report))
    if args.report is not None:
        try:
            with open(args.report, "w") as f:
                json.dump(report, f, indent=2)
                f.write("\n")
        except OSError as exc:
            return _fail(f"cannot write {exc.filename}: {exc.strerror}", 1)
    uart = report["uart"]
    if report["fmax_mhz"] >= report["target_mhz"] and not report["timing_met"]:
        print(f"hedgegate: warning: timing NOT met on the serial side's clock: fmax {uart['fmax_mhz']:.2f} MHz < "
              f"{uart['clock_mhz']:.3f} MHz; {report['bitstream']} is written but must not be run"
              + ("; board not programmed" if args.program else ""), file=sys.stderr)
        return TIMING_FAILED_STATUS
    if not report["timing_met"]:
        slower = fastest_clock_mhz(spec, report["fmax_mhz"])
        advice = f"rebuild with --clock-mhz {slower:.6g} or lower" if slower else "no slower clock works at 3 Mbaud"
        print(f"hedgegate: warning: timing NOT met: fmax {report['fmax_mhz']:.2f} MHz < target "
              f"{report['target_mhz']:.3f} MHz; {report['bitstream']} is written but must not be run at "
              f"{report['target_mhz']:g} MHz ({advice}; fmax moves a little with the target)"
              + ("; board not programmed" if args.program else ""), file=sys.stderr)
        return TIMING_FAILED_STATUS
    if programmer is not None:
        try:
            program(programmer, report["bitstream"])
        except BuildError as exc:
            return _fail(str(exc), 1)
    return 0


def _stream(args) -> int:
    from .board import BoardError, open_board
    from .config import load_config
    from .stream import format_summary, lost_anything, print_recs, stream_ticks

    config = load_config(args.config)
    ticks = _load_ticks(args, args.ticks, config.params)
    if args.rate is not None and args.rate <= 0:
        return _fail(f"--rate must be > 0 ticks per second, got {args.rate:g}", 2)
    live = None if args.json else print_recs
    try:
        with open_board(args.port, config.params, baudrate=args.baud, timeout=args.timeout) as board:
            identity = board.check_shape(config.params, args.config)
            if not identity["design_matches"]:
                print(f"hedgegate: warning: {board.name}: design hash {identity['design_hash']}: the board's gateware "
                      "was built from other code than this hedgegate's; its recommendations may differ from the "
                      "model's", file=sys.stderr)
            summary = stream_ticks(board, config, ticks, rate=args.rate, on_recs=live)
    except BoardError as exc:
        return _fail(str(exc), 1)
    recs = summary.pop("recs")
    if args.out is not None:
        from .replay import write_recs
        try:
            write_recs(args.out, recs)
        except OSError as exc:
            return _fail(f"cannot write {exc.filename}: {exc.strerror}", 1)
    if args.json:
        print(json.dumps(summary))
    else:
        print(format_summary(summary), file=sys.stderr)
    if lost_anything(summary):
        print(f"hedgegate: error: {summary['ticks_lost']} ticks and {summary['lost_recommendations']} "
              f"recommendations lost on the link, {summary['rec_overflow']} dropped by the board", file=sys.stderr)
        return 1
    return 0


def _status(args) -> int:
    from .board import BoardError, open_board
    from .config import load_config

    config = load_config(args.config) if args.config else None
    try:
        with open_board(args.port, config.params if config else None, baudrate=args.baud,
                        timeout=args.timeout) as board:
            identity = (board.check_shape(config.params, args.config) if config else board.identity())
            status = {**identity, **board.status()}
    except BoardError as exc:
        return _fail(str(exc), 1)
    if args.json:
        print(json.dumps(status))
    else:
        width = max(map(len, status))
        for name, value in status.items():
            print(f"{name:<{width}}  {f'{value:#010x}' if name == 'magic' else value}")
    return 0


def _demo(args) -> int:
    from ..sim.runner import SimError
    from .board import BoardError, open_board
    from .config import load_config
    from .demo import DEMO_REPORT, demo_files, load_report, run_demo
    from .demo_view import DemoView
    from .stream import lost_anything

    default_ticks, default_config = demo_files()
    config = load_config(args.config or default_config)
    ticks = _load_ticks(args, args.ticks or default_ticks, config.params)
    if args.rate < 0:
        return _fail(f"--rate must be >= 0 ticks per second (0: as fast as the link), got {args.rate:g}", 2)
    report = load_report()
    view = None if args.json else DemoView(config, len(ticks), report, DEMO_REPORT)
    if view is not None and args.port == "sim":
        view.say("Starting a virtual board: the ULX3S-85F's gateware in Verilator (built the first time, about a "
                 "minute; then cached) ...")
    try:
        with (view.live() if view else _nothing()):
            summary = run_demo(lambda params: open_board(args.port, params), config, ticks,
                               rate=args.rate or None, report=report,
                               on_recs=view.add_recs if view else None, on_sent=view.sent if view else None)
    except (BoardError, SimError) as exc:
        return _fail(str(exc), 1)
    if args.json:
        recs = summary.pop("recs")
        summary["params"] = dataclasses.asdict(summary["params"])
        summary["recommendations"] = len(recs)
        print(json.dumps(summary))
    else:
        view.finish(summary)
    if lost_anything(summary) or not summary["same"]:
        return _fail("the board's recommendations differ from the model's" if not summary["same"] else
                     f"{summary['ticks_lost']} ticks and {summary['lost_recommendations']} recommendations lost", 1)
    return 0


def _nothing():
    import contextlib
    return contextlib.nullcontext()


def _board_sim(args) -> int:
    from ..hw.params import CoreParams
    from ..sim.runner import SimError
    from ..sim.vboard import start_vboard
    from .config import load_config

    host, _, port = args.listen.rpartition(":")
    if host not in ("127.0.0.1", "localhost") or not port.isdigit() or int(port) > 65535:
        return _fail(f"--listen: expected 127.0.0.1:PORT (the virtual board listens on the loopback only), "
                     f"got {args.listen!r}", 2)
    if args.config:
        params = load_config(args.config).params
    else:
        try:
            params = CoreParams(symbols=args.symbols, levels=args.levels, legs=args.legs)
        except ValueError as exc:
            return _fail(f"core parameters: {exc}", 2)
    print(f"hedgegate board-sim: building the virtual board (S={params.symbols}, N={params.levels}, "
          f"L={params.legs}; cached after the first time) ...", file=sys.stderr, flush=True)
    try:
        process, bound = start_vboard(params, int(port), reset_on_connect=args.reset_on_connect)
    except SimError as exc:
        return _fail(f"virtual board: {exc}", 1)
    print(f"hedgegate board-sim: listening on socket://127.0.0.1:{bound}", flush=True)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        process.wait()
        return 0


def _bench(args) -> int:
    from ..sim.runner import SimError
    from .bench import run_bench, table, write_results

    say = (lambda text: None) if args.json else (lambda text: print(f"bench: {text}", file=sys.stderr, flush=True))
    try:
        result = run_bench(quick=args.quick, progress=say, port=args.port)
    except SimError as exc:
        return _fail(f"bench: the simulation: {exc}", 1)
    except RuntimeError as exc:                 # a board that does not answer the probe (--port)
        return _fail(f"bench: {exc}", 1)
    if args.out is not None:
        try:
            paths = write_results(result, args.out)
        except OSError as exc:
            return _fail(f"cannot write to {args.out}: {exc.strerror or exc}", 1)
        result["files"] = {kind: str(path) for kind, path in paths.items()}
    if args.json:
        print(json.dumps(result))
        return 0
    for what, figure, includes in table(result):
        print(f"{what}:\n    {figure}\n    ({includes})")
    if args.out is not None:
        print(f"results: {', '.join(result['files'].values())}")
    return 0


def _fail(message: str, status: int) -> int:
    print(f"hedgegate: error: {message}", file=sys.stderr)
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hedgegate", description="FPGA hedging engine for energy derivatives.")
    parser.add_argument("--version", action="version", version=f"hedgegate {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from .marketdata import FORMATS, OUTPUT_FORMATS

    def tick_options(command):
        command.add_argument("--format", choices=FORMATS, help="the input's format (default: from its first bytes)")
        command.add_argument("--symbols", metavar="ID=INDEX,...",
                             help="DBN: instrument ids or raw symbols -> engine symbol indices (default: the "
                                  "instrument of a single-instrument file -> 0)")
        command.add_argument("--definitions", action="append", default=[], metavar="DEFS.dbn",
                             help="DBN instrument definitions, to name instruments by raw symbol in --symbols "
                                  "(repeatable)")
        command.add_argument("--strict-symbols", action="store_true",
                             help="DBN: an instrument without a mapping is an error (default: skipped, counted)")

    convert = commands.add_parser("convert", help="convert market data (CSV, Parquet, DBN) to CSV or Parquet ticks",
                                  description="Read IN (CSV, Parquet, or Databento DBN MBO / MBP-10) as the "
                                              "engine's ticks and write them to OUT as CSV or Parquet (from its "
                                              "name, or --to), with a one-line summary: records read, ticks "
                                              "written, skipped by reason. OUT is written whole or not at all.")
    convert.add_argument("input", metavar="IN", help="market data file")
    convert.add_argument("output", metavar="OUT", help="tick file to write (.csv or .parquet)")
    tick_options(convert)
    convert.add_argument("--to", choices=OUTPUT_FORMATS, help="OUT's format (default: from its name, else csv)")
    convert.add_argument("--depth", type=int, default=10, metavar="N",
                         help="levels per side kept exact (the engine's N; default 10)")
    convert.add_argument("--config", metavar="CONFIG.toml",
                         help="check prices, sizes and symbols against this engine's widths (default: 32-bit)")
    convert.set_defaults(run=_convert)

    from .strategy_cli import add_strategy_parser
    add_strategy_parser(commands)
    from .backtest_cli import add_backtest_parsers
    add_backtest_parsers(commands, tick_options)

    replay = commands.add_parser("replay", help="replay a tick file through the model or the simulated gateware",
                                 description="Replay TICKS (CSV: ts_ns,symbol,side,price,qty) through a backend "
                                             "and write its hedge recommendations as JSON lines.")
    replay.add_argument("ticks", metavar="TICKS", help="tick file: CSV, Parquet or DBN (MBO, MBP-10)")
    tick_options(replay)
    replay.add_argument("--config", required=True, metavar="CONFIG.toml", help="engine and leg configuration")
    from .replay import BACKENDS as REPLAY_BACKENDS
    replay.add_argument("--backend", required=True, choices=tuple(REPLAY_BACKENDS),
                        help="model: the bit-exact Python model; fast: the same law compiled (numba); "
                             "sim: the gateware in Verilator")
    replay.add_argument("--out", required=True, metavar="RECS.jsonl", help="recommendations, one JSON object a line")
    replay.add_argument("--trace", metavar="TRACE.jsonl", help="also write the book after every tick")
    replay.set_defaults(run=_replay)

    def port_options(command):
        command.add_argument("--port", required=True, metavar="URL",
                             help="model (the bit-exact model in process), sim (a virtual board of its own), a "
                                  "serial device (/dev/ttyUSB1) or a pyserial URL: socket://HOST:PORT (the virtual "
                                  "board of hedgegate board-sim), loop://")
        command.add_argument("--baud", type=int, default=3_000_000, help="UART rate of a serial device (default "
                             "3000000, the boards'); URLs ignore it")
        command.add_argument("--timeout", type=float, default=2.0, metavar="S",
                             help="seconds to wait for the board to answer a status read (default 2)")

    stream = commands.add_parser("stream", help="stream a tick file through a board, live",
                                 description="Load CONFIG into the board's registers, stream TICKS to it, print "
                                             "recommendations as they arrive and a summary. Exit status 1 if "
                                             "ticks or recommendations were lost on the link.")
    stream.add_argument("ticks", metavar="TICKS", help="tick file: CSV, Parquet or DBN (MBO, MBP-10)")
    tick_options(stream)
    stream.add_argument("--config", required=True, metavar="CONFIG.toml", help="engine and leg configuration")
    port_options(stream)
    stream.add_argument("--rate", type=float, metavar="N", help="ticks per second (default: as fast as the link)")
    stream.add_argument("--out", metavar="RECS.jsonl", help="also write the recommendations (replay's format)")
    stream.add_argument("--json", action="store_true", help="no live output; the summary as one JSON object")
    stream.set_defaults(run=_stream)

    status = commands.add_parser("status", help="read a board's status registers",
                                 description="Print the board's identity (its core's parameters and design "
                                             "hash), every status register (docs/protocol.md names) and each "
                                             "leg's hedge position.")
    port_options(status)
    status.add_argument("--config", metavar="CONFIG.toml",
                        help="check the board's core against this config's (and, for --port model|sim, run it)")
    status.add_argument("--json", action="store_true", help="one JSON object")
    status.set_defaults(run=_status)

    demo = commands.add_parser("demo", help="stream a bundled TTF/EUA session through a virtual board, live",
                               description="Start a virtual board (the ULX3S-85F's gateware in Verilator), stream "
                                           "the bundled TTF gas / EUA carbon example session through it with a "
                                           "two-leg hedge, show the legs and recommendations live, and compare "
                                           "the core's latency with the software model's, measured in this run.")
    demo.add_argument("--ticks", metavar="TICKS", help="another tick file, any format (default: the bundled session)")
    tick_options(demo)
    demo.add_argument("--config", metavar="CONFIG.toml", help="another config (default: the bundled two-leg hedge)")
    demo.add_argument("--rate", type=float, default=1000.0, metavar="N",
                      help="ticks per second, to watch it (default 1000; 0: as fast as the link)")
    demo.add_argument("--port", default="sim", metavar="URL",
                      help="where the core runs (default sim: a virtual board of its own; see stream --port)")
    demo.add_argument("--json", action="store_true", help="no live view; the summary as one JSON object")
    demo.set_defaults(run=_demo)

    board_sim = commands.add_parser("board-sim", help="run a virtual board (the gateware in Verilator) on TCP",
                                    description="Build (once; cached) and run the board's gateware in Verilator "
                                                "behind a TCP socket on the loopback: stream, status and the "
                                                "Python API reach it with --port socket://127.0.0.1:PORT. It "
                                                "serves one client at a time and keeps its state between them.")
    board_sim.add_argument("--listen", default="127.0.0.1:0", metavar="127.0.0.1:PORT",
                           help="where to listen (port 0: a free one, printed; default)")
    board_sim.add_argument("--config", metavar="CONFIG.toml", help="take the core's shape from a config")
    board_sim.add_argument("--symbols", type=int, default=4, help="S (default 4)")
    board_sim.add_argument("--levels", type=int, default=10, help="N (default 10)")
    board_sim.add_argument("--legs", type=int, default=2, help="L (default 2)")
    board_sim.add_argument("--reset-on-connect", action="store_true",
                           help="reset the board when a client connects (default: keep its state, as a board)")
    board_sim.set_defaults(run=_board_sim)

    bench = commands.add_parser("bench", help="measure hardware and software latency and throughput, side by side",
                                description="Measure the FPGA core's latency per stage and its jitter (the default "
                                            "board's core in Verilator, at its build report's fmax), the model's "
                                            "latency through the Python API and the compiled fast path's, beside "
                                            "the replaced engine's quoted claims (docs/benchmarks.md).")
    bench.add_argument("--quick", action="store_true", help="smoke sizes (under two minutes once the core is built)")
    bench.add_argument("--json", action="store_true", help="one JSON object on stdout")
    bench.add_argument("--out", metavar="DIR", help="also write bench-DATE.json, .md (the table) and .png to DIR")
    bench.add_argument("--port", metavar="URL", help="also a board's round trip over its link (a serial device or a "
                                                     "pyserial URL such as socket://HOST:PORT of board-sim)")
    bench.set_defaults(run=_bench)

    build = commands.add_parser("build", help="build a board's bitstream (Yosys + nextpnr from PyPI)",
                                description="Build the engine for a board with amaranth-boards and the YoWASP "
                                            "tools; print a summary and optionally write a JSON report and "
                                            "program the board. Exit status 3: built, but timing not met.")
    build.add_argument("--board", required=True, metavar="BOARD",
                       help="icebreaker, ulx3s-85f or ulx3s-25f (constraints/boards.toml)")
    build.add_argument("--clock-mhz", type=float, metavar="F", help="core clock target (default: the board's)")
    build.add_argument("--seed", type=int,
                       help="nextpnr placement seed (default: the board's, pinned in constraints/boards.toml)")
    build.add_argument("--build-dir", metavar="DIR",
                       help="folder for the build files (default build/BOARD)")
    build.add_argument("--report", metavar="REPORT.json", help="write the build report as JSON")
    build.add_argument("--program", action="store_true",
                       help="program the board after a build that meets timing (openFPGALoader or iceprog)")
    build.set_defaults(run=_build)
    return parser


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except InputError as exc:
        return _fail(str(exc), 2)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except BrokenPipeError:                 # stdout's reader went away (| head): stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:
        if os.environ.get("HEDGEGATE_DEBUG"):
            raise
        return _fail(f"internal error: {type(exc).__name__}: {exc} (set HEDGEGATE_DEBUG=1 for a traceback)", 1)


if __name__ == "__main__":
    sys.exit(main())

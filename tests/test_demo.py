"""``hedgegate demo``: the bundled session through a board, live view, and the latency side by side. The model
backend and the board emulator (tests/board_emulator.py) in the default tier; the virtual board of the ULX3S-85F's
core, as users run it, in the slow tier."""

import json

import pytest

from board_emulator import BoardEmulator
from hedgegate.host.cli import main
from hedgegate.host.config import load_config
from hedgegate.host.demo import DEMO_REPORT, demo_files, load_report, time_model
from hedgegate.host.replay import run_model
from hedgegate.host.marketdata import load_ticks
from hedgegate.hw.board import board as board_spec


def bundled():
    ticks_path, config_path = demo_files()
    config = load_config(config_path)
    return config, load_ticks(ticks_path, config.params).to_list()


def test_bundled_files_and_report():
    """The demo's data and report are installed with the package; the report is the ULX3S-85F's, met, and its core
    has the config's shape (the demo runs that core)."""
    config, ticks = bundled()
    report = load_report()
    assert len(ticks) == 5000 and report["board"] == "ulx3s-85f" and report["timing_met"]
    core = board_spec("ulx3s-85f").core
    assert report["core"]["mul_latency"] == core.mul_latency and report["latency_cycles"] == core.latency
    assert (config.params.symbols, config.params.levels, config.params.legs) == (core.symbols, core.levels,
                                                                                 core.legs)


def test_time_model_is_the_model():
    config, ticks = bundled()
    recs, times = time_model(config, ticks[:1000])
    assert recs == run_model(config, ticks[:1000], trace=False)[0]
    assert len(times) == 1000 and all(t > 0 for t in times)


def test_demo_json_on_the_model(capsys):
    assert main(["demo", "--port", "model", "--rate", "0", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    config, ticks = bundled()
    assert summary["same"] and summary["recommendations"] == len(run_model(config, ticks, trace=False)[0])
    assert summary["core_ns"] == {} and set(summary["model_ns"]) == {"p50", "p99", "max"}
    assert isinstance(summary["report_current"], bool)
    assert summary["params"]["mul_latency"] == board_spec("ulx3s-85f").core.mul_latency


def test_demo_live_view_through_a_serial_board(capsys):
    """The rendered view, through the serial backend (the emulator stamps every recommendation with 0 cycles)."""
    config, _ = bundled()
    emulator = BoardEmulator(board_spec("ulx3s-85f").core)
    try:
        assert main(["demo", "--port", emulator.url, "--rate", "0"]) == 0
    finally:
        emulator.close()
    err = " ".join(capsys.readouterr().err.split())          # rich wraps lines at the terminal's width
    assert "identical to the bit-exact model's" in err and "latency, tick in to recommendation out" in err
    assert "FPGA core, ULX3S-85F" in err and "software model, Python" in err and DEMO_REPORT in err


def test_demo_refuses_another_shape(tmp_path, capsys):
    emulator = BoardEmulator(board_spec("ulx3s-25f").core)           # one leg, the config has two
    try:
        assert main(["demo", "--port", emulator.url, "--rate", "0", "--json"]) == 1
    finally:
        emulator.close()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the board's core is symbols=4 levels=10 legs=1" in err


@pytest.mark.slow
def test_demo_on_the_virtual_board(capsys):
    """As a newcomer runs it: the ULX3S-85F's gateware in Verilator; every recommendation the model's, each with the
    report's latency (20 cycles: no jitter)."""
    assert main(["demo", "--rate", "0", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    report = load_report()
    assert summary["same"] and summary["lost_recommendations"] == 0 and summary["recommendations"] > 100
    assert summary["core_cycles"] == {"p50": 20, "p99": 20, "max": 20} == \
        {k: report["latency_cycles"] for k in ("p50", "p99", "max")}
    assert summary["core_ns"]["max"] == pytest.approx(20 * 1000 / report["fmax_mhz"])

"""`hedgegate replay` end to end: formats, model == sim, and one-line errors for bad input."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hedgegate.host.cli import main
from hedgegate.host.config import load_config

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TICKS = EXAMPLES / "ttf-eua-ticks.csv"
CONFIG = EXAMPLES / "ttf-hedge.toml"


def replay(*args):
    return main(["replay", *map(str, args)])


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def test_model_replay_formats(tmp_path):
    out, trace = tmp_path / "recs.jsonl", tmp_path / "trace.jsonl"
    assert replay(TICKS, "--config", CONFIG, "--backend", "model", "--out", out, "--trace", trace) == 0
    recs = read_jsonl(out)
    assert recs, "the example should hedge"
    assert list(recs[0]) == ["seq", "tick", "leg", "side", "qty", "price", "hedge_position"]
    assert [rec["seq"] for rec in recs] == list(range(len(recs)))
    assert {rec["side"] for rec in recs} <= {"BUY", "SELL"}
    lines = TICKS.read_text().splitlines()[1:]
    traces = read_jsonl(trace)
    assert [t["tick"] for t in traces] == list(range(len(lines)))
    for rec in recs[:20]:
        # A BUY goes out at the best ask of the book after its tick plus slippage (0.005 / 0.01 in the config).
        book = traces[rec["tick"]]
        slippage = {0: 0.005, 1: 0.01}[rec["leg"]]
        best = book["asks"][0][0] + slippage if rec["side"] == "BUY" else book["bids"][0][0] - slippage
        assert rec["price"] == pytest.approx(best, abs=1e-9)
        assert int(lines[rec["tick"]].split(",")[1]) == rec["leg"]    # leg i watches symbol i in the example


def test_price_json_is_exact_decimal(tmp_path):
    ticks = tmp_path / "t.csv"
    ticks.write_text("ts_ns,symbol,side,price,qty\n1,0,bid,45.0005,3\n2,0,ask,45.035,4\n")
    config = tmp_path / "c.toml"
    config.write_text("[engine]\nsymbols = 1\nlevels = 2\n[[leg]]\nsymbol = 0\nposition = -7\n")
    out, trace = tmp_path / "r.jsonl", tmp_path / "tr.jsonl"
    assert replay(ticks, "--config", config, "--backend", "model", "--out", out, "--trace", trace) == 0
    assert out.read_text() == ('{"seq": 0, "tick": 1, "leg": 0, "side": "BUY", "qty": 7, "price": 45.035, '
                               '"hedge_position": 7}\n')
    assert trace.read_text().splitlines()[1] == '{"tick": 1, "symbol": 0, "bids": [[45.001, 3]], "asks": [[45.035, 4]]}'


def test_sim_equals_model(tmp_path):
    """The gateware and the model write identical RECS (apart from latency) and TRACE for the example."""
    files = {}
    for backend in ("model", "sim"):
        out, trace = tmp_path / f"{backend}.jsonl", tmp_path / f"{backend}-trace.jsonl"
        assert replay(TICKS, "--config", CONFIG, "--backend", backend, "--out", out, "--trace", trace) == 0
        files[backend] = (read_jsonl(out), trace.read_bytes())
    sim_recs, model_recs = files["sim"][0], files["model"][0]
    assert {rec.pop("latency_cycles") for rec in sim_recs} == {load_config(CONFIG).params.latency}
    assert sim_recs == model_recs
    assert files["sim"][1] == files["model"][1]


@pytest.mark.slow      # two more parameter sets to build (S=2, N=3 with four legs and with none)
def test_sim_with_four_legs_and_zero_legs(tmp_path):
    ticks = tmp_path / "t.csv"
    rows = ["ts_ns,symbol,side,price,qty"]
    for k in range(40):
        rows += [f"{k},{k % 2},bid,{30 + k % 5}.{k:03d},{k + 1}", f"{k},{k % 2},ask,{36 + k % 3}.5,{k + 2}"]
    ticks.write_text("\n".join(rows) + "\n")
    legs = "".join(f"[[leg]]\nsymbol = {i % 2}\nposition = {-1000 * (i + 1)}\nmax_order_qty = 300\n"
                   for i in range(4))
    for name, text in (("four", legs), ("zero", "")):
        config = tmp_path / f"{name}.toml"
        config.write_text("[engine]\nsymbols = 2\nlevels = 3\n" + text)
        outputs = []
        for backend in ("model", "sim"):
            out, trace = tmp_path / f"{name}-{backend}.jsonl", tmp_path / f"{name}-{backend}-trace.jsonl"
            assert replay(ticks, "--config", config, "--backend", backend, "--out", out, "--trace", trace) == 0
            recs = [{k: v for k, v in rec.items() if k != "latency_cycles"} for rec in read_jsonl(out)]
            outputs.append((recs, trace.read_bytes()))
        assert outputs[0] == outputs[1]
        assert bool(outputs[0][0]) == (name == "four")
        if name == "four":
            assert {rec["leg"] for rec in outputs[0][0]} == {0, 1, 2, 3}


BAD_TICKS = [
    ("ts_ns,symbol,side,price,qty\n1,0,bid,45.x,1\n", "t.csv:2: price"),
    ("ts_ns,symbol,side,price,qty\n1,0,buy,45,1\n", "t.csv:2: side"),
    ("ts_ns,symbol,side,price,qty\n1,9,bid,45,1\n", "t.csv:2: symbol"),
    ("ts_ns,symbol,side,price,qty\n1,0,bid,2147483.648,1\n", "t.csv:2: price"),
    ("ts_ns,symbol,side,price,qty\n1,0,bid,45,-1\n", "t.csv:2: qty"),
    ("ts_ns,symbol,side,price,qty\n1,0,bid,45,1\n\n2,0,ask,46,1\n", "t.csv:3"),
    ("ts_ns,symbol,side,price,qty\n1,0,bid,45\n", "t.csv:2"),
    ("ts,symbol,side,price,qty\n", "t.csv:1"),
]

BAD_CONFIGS = [
    ("[engine]\nsymbols = 2\nlevels = 2\ncolour = 1\n", "engine.colour"),
    ("[engine]\nsymbols = 2\nlevels = 0\n", "engine.levels"),
    ("[[leg]]\nsymbol = 0\nmin_qty = 1.5\n", "leg[0].min_qty"),
    ("[[leg]]\nsymbol = 0\nhedge_ratio = \"1\"\n", "leg[0].hedge_ratio"),
    ("[[leg]]\nsymbol = 0\nband = [50.0, 40.0]\n", "leg[0].band"),
    ("[[leg]]\nposition = 5\n", "leg[0].symbol"),
    ("[engine]\nsymbols = 2\nlevels = \n", "c.toml:3"),
]


@pytest.mark.parametrize("text,where", BAD_TICKS)
def test_bad_ticks_one_line_error(tmp_path, capsys, text, where):
    ticks, config = tmp_path / "t.csv", tmp_path / "c.toml"
    ticks.write_text(text)
    config.write_text("[engine]\nsymbols = 2\nlevels = 2\n")
    assert replay(ticks, "--config", config, "--backend", "model", "--out", tmp_path / "r.jsonl") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("hedgegate: error: ") and where in err, err


@pytest.mark.parametrize("text,where", BAD_CONFIGS)
def test_bad_config_one_line_error(tmp_path, capsys, text, where):
    ticks, config = tmp_path / "t.csv", tmp_path / "c.toml"
    ticks.write_text("ts_ns,symbol,side,price,qty\n")
    config.write_text(text)
    assert replay(ticks, "--config", config, "--backend", "model", "--out", tmp_path / "r.jsonl") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("hedgegate: error: ") and where in err, err


def test_missing_file_and_unwritable_output(tmp_path, capsys):
    assert replay(tmp_path / "nope.csv", "--config", CONFIG, "--backend", "model", "--out", tmp_path / "r") == 2
    assert "nope.csv" in capsys.readouterr().err
    assert replay(TICKS, "--config", CONFIG, "--backend", "model", "--out", tmp_path / "no" / "dir" / "r") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write" in err


def test_console_script_runs(tmp_path):
    """The installed entry point works as a program (exit status, no traceback)."""
    result = subprocess.run([sys.executable, "-m", "hedgegate.host.cli", "replay", str(TICKS), "--config",
                             str(tmp_path / "missing.toml"), "--backend", "model", "--out", str(tmp_path / "r")],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr and "missing.toml" in result.stderr


# hedgegate build: argument errors and the timing verdict (the builds themselves: test_board_synth.py and the
# pnr-marked test_board_pnr.py).

@pytest.mark.parametrize("args,words", [
    (["--board", "de0"], "unknown board 'de0' (known: icebreaker, ulx3s-25f, ulx3s-85f)"),
    (["--board", "icebreaker", "--clock-mhz", "5"], "iCE40 PLL cannot make 5 MHz"),
    (["--board", "ulx3s-85f", "--clock-mhz", "13"], "nearest it can make is 12.500 MHz"),
    # The iCEBreaker's UART runs on the core's clock (one PLL output); the ULX3S's has its own (test_pll.py).
    (["--board", "icebreaker", "--clock-mhz", "40"], "3000000 baud cannot be made from a 39.75 MHz clock"),
])
def test_build_bad_input_one_line_error(capsys, args, words):
    assert main(["build", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("hedgegate: error: ") and words in err, err


def test_build_without_programmer(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))          # no programmer anywhere
    for var in ("OPENFPGALOADER", "ICEPROG"):
        monkeypatch.delenv(var, raising=False)
    assert main(["build", "--board", "icebreaker", "--program"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "none of openFPGALoader, iceprog found on PATH" in err, err


def _fake_report(timing_met, serial_fmax=150.0):
    from hedgegate.hw.params import CoreParams
    return {"board": "ulx3s-85f", "device": "LFE5U-85F-BG381", "target_mhz": 125.0, "requested_mhz": 125.0,
            "fmax_mhz": 126.0 if timing_met else 41.2, "timing_met": timing_met,
            "uart": {"baud": 3_000_000, "divisor": 16, "clock_mhz": 48.077, "fmax_mhz": serial_fmax},
            "utilization": {"TRELLIS_COMB": {"used": 10, "available": 20}}, "latency_cycles": 11,
            "latency_ns": 87.3 if timing_met else 267.0, "latency_ns_at_target": 88.0,
            "bitstream": "build/ulx3s-85f/top.bit", "seconds": 1.0, "steps_seconds": {"synthesis": 1.0},
            "seed": 1, "core": vars(CoreParams()).copy(), "design_hash": "0x01234567"}


@pytest.mark.parametrize("timing_met", [True, False])
def test_build_timing_verdict(tmp_path, monkeypatch, capsys, timing_met):
    """Timing not met: report written, one-line warning, exit 3 and no programming; met: exit 0 and programmed."""
    import hedgegate.host.build as build_module
    programmed = []
    monkeypatch.setattr(build_module, "build", lambda *args, **kwargs: _fake_report(timing_met))
    monkeypatch.setattr(build_module, "find_programmer", lambda family: ["openFPGALoader", "-b", "ulx3s", "-m"])
    monkeypatch.setattr(build_module, "program", lambda argv, bitstream: programmed.append([*argv, bitstream]))
    report = tmp_path / "report.json"
    status = main(["build", "--board", "ulx3s-85f", "--report", str(report), "--program"])
    out, err = capsys.readouterr()
    assert json.loads(report.read_text())["timing_met"] is timing_met
    assert "fmax 126.00 MHz" in out if timing_met else "fmax 41.20 MHz" in out
    if timing_met:
        assert status == 0 and err == ""
        assert programmed == [["openFPGALoader", "-b", "ulx3s", "-m", "build/ulx3s-85f/top.bit"]]
    else:
        assert status == 3 and programmed == []
        assert err.count("\n") == 1 and err.startswith("hedgegate: warning: timing NOT met: fmax 41.20 MHz < target")
        assert "board not programmed" in err
        # The advice names the fastest clock the PLL makes below the fmax (25 MHz / 8 x 13) with a second output
        # for the UART beside it.
        assert "rebuild with --clock-mhz 40.625 or lower" in err


def test_build_serial_clock_timing(monkeypatch, capsys):
    """The core's clock meets timing but the serial side's does not: exit 3, one line naming the serial clock."""
    import hedgegate.host.build as build_module
    report = _fake_report(True, serial_fmax=45.5)
    report["timing_met"] = False
    monkeypatch.setattr(build_module, "build", lambda *args, **kwargs: report)
    status = main(["build", "--board", "ulx3s-85f"])
    out, err = capsys.readouterr()
    assert status == 3 and err.count("\n") == 1
    assert err.startswith("hedgegate: warning: timing NOT met on the serial side's clock: fmax 45.50 MHz < 48.077")
    assert "16 cycles per bit on its own clock, 48.077 MHz, fmax 45.50 MHz" in out

"""The Board interface (hedgegate.host.board): the model backend and the serial backend, against the model and
against each other, over a TCP socket to a board emulator (tests/board_emulator.py: the model behind the board's
side of the protocol) and through a proxy that corrupts the byte stream; every error one line and bounded in time.
The serial backend against the real gateware (the virtual board, a C++ harness on TCP) is still to come (issue 18)."""

import json
import random
import socket
import time
from pathlib import Path

import pytest

from board_emulator import BoardEmulator, check_corrupted_run, corrupted_run
from hedgegate.host.board import BoardError, ModelBoard, SerialBoard, open_board
from hedgegate.host.commands import Write
from hedgegate.host.model import HedgeModel
from hedgegate.hw.params import CoreParams
from hedgegate.hw.regmap import MAGIC, LegReg
from hedgegate.sim.stimulus import random_commands

PARAMS = CoreParams(symbols=2, levels=4, legs=2)


def expected(commands):
    model = HedgeModel(PARAMS)
    return [rec for command in commands for rec in model.apply(command)], model


@pytest.fixture
def emulator():
    board = BoardEmulator(PARAMS)
    yield board
    board.close()


def run(board, commands, chunk=97):
    """Sends the stream in chunks, polling between them as a host streaming live does; returns what arrived."""
    recs = []
    for start in range(0, len(commands), chunk):
        board.send(commands[start:start + chunk])
        recs += board.poll()
    return recs + board.sync(timeout=20).recommendations


@pytest.mark.parametrize("seed", [1, 2])
def test_backends_agree_with_the_model(emulator, seed):
    """The same random stream -- configuration, ticks, register writes mid-stream (fills, halts, new positions and
    parameters) -- through the model backend and the serial backend: the model's recommendations, field for field
    (the serial one's seq and tick unwrapped from the REC frames), and the same status counters."""
    commands = list(random_commands(random.Random(seed), PARAMS, 3000, write_every=50))
    want, model = expected(commands)
    assert len(want) > 50 and any(isinstance(c, Write) for c in commands[200:])
    for board in (ModelBoard(PARAMS), SerialBoard(emulator.url, PARAMS)):
        with board:
            assert run(board, commands) == want, board.name
            status = board.status()
            assert status["magic"] == MAGIC
            assert status["ticks_in"] == model.ticks_in and status["recs_out"] == model.recs_out
            assert status["limit_blocked"] == model.limit_blocked
            assert status["hedge_positions"] == [regs[LegReg.HEDGE_POSITION] for regs in model.registers]


def test_serial_link_counters_stay_zero_on_a_clean_link(emulator):
    with SerialBoard(emulator.url, PARAMS) as board:
        run(board, list(random_commands(random.Random(5), PARAMS, 500)))
        assert board.link_counters == {"crc_errors": 0, "frame_errors": 0, "seq_gaps": 0, "lost_recommendations": 0}
        status = board.status()
        assert (status["crc_errors"], status["frame_errors"], status["seq_gaps"]) == (0, 0, 0)


def test_corrupted_link_is_counted_not_hung(emulator):
    """Bit flips, dropped and inserted bytes both ways (0.1 % each per byte): nothing hangs, every error is counted
    on both sides, and every tick and recommendation is accounted for (see check_corrupted_run)."""
    commands = list(random_commands(random.Random(1), PARAMS, 6000, write_every=50))
    result, host_side, seconds = corrupted_run(emulator.url, PARAMS, commands, rate=0.001, seed=3)
    assert emulator.decoder.crc_errors + emulator.decoder.frame_errors > 0          # the board side counted
    check_corrupted_run(commands, result, host_side)
    assert seconds < 60


def test_errors_are_one_line_and_bounded(tmp_path):
    started = time.monotonic()
    with pytest.raises(BoardError, match=r"^/dev/ttyNOSUCH: cannot open: .*") as missing:
        open_board("/dev/ttyNOSUCH", PARAMS)
    assert "\n" not in str(missing.value)

    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(BoardError, match=rf"^socket://127.0.0.1:{port}: cannot open: "):
        open_board(f"socket://127.0.0.1:{port}", PARAMS)

    silent = socket.create_server(("127.0.0.1", 0))           # accepts, never answers
    with pytest.raises(BoardError, match=r"no answer to a status read \(address 0\) within 0.3 s$"):
        open_board(f"socket://127.0.0.1:{silent.getsockname()[1]}", PARAMS, timeout=0.3)
    silent.close()

    with pytest.raises(BoardError, match="no answer to a status read"):    # loop:// only hears itself
        open_board("loop://", PARAMS, timeout=0.3)
    assert time.monotonic() - started < 10


def test_board_disconnected_mid_stream(emulator):
    board = SerialBoard(emulator.url, PARAMS, timeout=0.5)
    emulator.close()
    time.sleep(0.05)
    with pytest.raises(BoardError, match=r"^socket://127.0.0.1:\d+: (link closed|cannot send|no answer)"):
        for _ in range(100):
            board.send(list(random_commands(random.Random(1), PARAMS, 50)))
            board.sync(timeout=1)
            time.sleep(0.01)
    board.close()


# hedgegate stream / status -----------------------------------------------------------------------------------------

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_stream_equals_replay(tmp_path, capsys):
    """``stream`` through the model backend and through the serial backend (a board fresh from reset) writes the
    RECS file ``replay --backend model`` writes, byte for byte; --json prints the pinned summary keys."""
    from hedgegate.host.cli import main
    from hedgegate.host.config import load_config
    ticks, config = EXAMPLES / "ttf-eua-ticks.csv", EXAMPLES / "ttf-hedge.toml"
    assert main(["replay", str(ticks), "--config", str(config), "--backend", "model",
                 "--out", str(tmp_path / "replay.jsonl")]) == 0
    emulator = BoardEmulator(load_config(config).params)
    try:
        for port in ("model", emulator.url):
            out = tmp_path / "stream.jsonl"
            capsys.readouterr()
            assert main(["stream", str(ticks), "--config", str(config), "--port", port, "--out", str(out),
                         "--json"]) == 0, port
            summary = json.loads(capsys.readouterr().out)
            # The emulator stamps every REC with cycles 0 (it has no clock): latency 0, which replay does not write.
            lines = [line.replace(', "latency_cycles": 0}', "}") for line in out.read_text().splitlines(True)]
            assert "".join(lines) == (tmp_path / "replay.jsonl").read_text(), port
            assert {"ticks", "recommendations", "ticks_per_second", "crc_errors", "frame_errors", "seq_gaps",
                    "lost_recommendations"} <= set(summary)
            assert summary["ticks"] == 5000 and summary["recommendations"] == len(out.read_text().splitlines())
            assert summary["lost_recommendations"] == summary["crc_errors"] == summary["seq_gaps"] == 0
    finally:
        emulator.close()


def test_stream_and_status_errors(tmp_path, capsys):
    from hedgegate.host.cli import main
    ticks, config = EXAMPLES / "ttf-eua-ticks.csv", EXAMPLES / "ttf-hedge.toml"
    for argv in (["stream", str(ticks), "--config", str(config), "--port", "/dev/ttyNOSUCH"],
                 ["status", "--port", "/dev/ttyNOSUCH"],
                 ["status", "--port", "loop://", "--timeout", "0.2"]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith("hedgegate: error: ") and err.count("\n") == 1, err
    assert main(["stream", str(ticks), "--config", str(config), "--port", "model", "--rate", "0"]) == 2
    assert "--rate" in capsys.readouterr().err

"""The design's identity (hw/identity.py): the registers that tell the host which core a board runs, the design
hash, and what the host does with them (``status`` prints them, ``stream`` refuses a board of another shape)."""

import json
from pathlib import Path

import pytest

from board_emulator import BoardEmulator
from hedgegate.host.board import BoardError, ModelBoard, SerialBoard
from hedgegate.host.cli import main
from hedgegate.hw.board import board as board_spec
from hedgegate.hw.identity import code_text, design_hash, design_identity, params_from_identity
from hedgegate.hw.params import CoreParams
from hedgegate.hw.regmap import IdentityReg

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
BOARD_CORES = [board_spec(name).core for name in ("icebreaker", "ulx3s-85f", "ulx3s-25f")]


def test_code_text_drops_comments_and_docstrings_only():
    source = ('"""Module doc."""\n\nimport os  # why\n\n\nclass A:\n    """Class doc,\n    two lines."""\n'
              '    x = "# not a comment"\n\n    def f(self):\n        # a comment line\n        return 1\n')
    assert code_text(source) == ('import os\nclass A:\n    x = "# not a comment"\n    def f(self):\n'
                                 '        return 1')
    assert code_text(source.replace("return 1", "return 2")) != code_text(source)


@pytest.mark.parametrize("params", [CoreParams(), *BOARD_CORES, CoreParams(symbols=256, levels=64, legs=16)])
def test_identity_round_trip(params):
    values = design_identity(params)
    assert set(values) == set(IdentityReg) and all(0 <= value < 1 << 32 for value in values.values())
    assert params_from_identity(values) == params
    assert values[IdentityReg.LATENCY] == params.latency
    assert values[IdentityReg.DESIGN_HASH] == design_hash(params)


def test_design_hash_tells_the_parameters_apart():
    cores = {CoreParams(), CoreParams(mul_latency=2), CoreParams(compact_book=True), CoreParams(legs=1),
             CoreParams(price_width=31), *BOARD_CORES}
    assert len({design_hash(params) for params in cores}) == len(cores) == 7


def test_model_board_identity():
    params = board_spec("icebreaker").core
    identity = ModelBoard(params).identity()
    assert identity == {"symbols": 1, "levels": 10, "legs": 1, "price_width": 16, "qty_width": 16,
                        "mul_latency": 1, "compact_book": True, "compact_leg": True,
                        "latency_cycles": params.latency, "design_hash": f"{design_hash(params):#010x}",
                        "design_matches": True}


def test_serial_board_takes_its_params_from_the_board():
    emulator = BoardEmulator(CoreParams(symbols=3, levels=5, legs=1, qty_width=20))
    try:
        with SerialBoard(emulator.url, None) as board:
            assert board.params == CoreParams(symbols=3, levels=5, legs=1, qty_width=20)
            with pytest.raises(BoardError, match=r"^socket://127.0.0.1:\d+: the board's core is symbols=3 "
                                                 r"levels=5 legs=1 price_width=32 qty_width=20, my.toml asks for "
                                                 r"symbols=4 levels=10 legs=2 price_width=32 qty_width=32$"):
                board.check_shape(CoreParams(), "my.toml")
    finally:
        emulator.close()


def test_stream_refuses_another_shape_and_status_prints_identity(capsys):
    """``stream`` with a config whose core is not the board's: one line naming both, exit 1, nothing streamed.
    ``status`` needs no config: the identity comes from the board."""
    ticks, config = EXAMPLES / "ttf-eua-ticks.csv", EXAMPLES / "ttf-hedge.toml"
    emulator = BoardEmulator(CoreParams(symbols=2, levels=4, legs=2))
    try:
        assert main(["stream", str(ticks), "--config", str(config), "--port", emulator.url]) == 1
        captured = capsys.readouterr()
        assert captured.err.count("\n") == 1 and "the board's core is symbols=2 levels=4 legs=2" in captured.err
        assert f"{config} asks for symbols=" in captured.err
        assert captured.out == "" and emulator.board.ticks_sent == 0

        assert main(["status", "--port", emulator.url, "--json"]) == 0
        status = json.loads(capsys.readouterr().out)
        assert {k: status[k] for k in ("symbols", "levels", "legs", "design_matches")} == \
            {"symbols": 2, "levels": 4, "legs": 2, "design_matches": True}
        assert len(status["hedge_positions"]) == 2 and status["ticks_in"] == 0
    finally:
        emulator.close()

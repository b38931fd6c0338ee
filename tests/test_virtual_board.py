"""The virtual board (sim/vboard.py: the board's gateware in Verilator behind a C++ harness on TCP) through the
serial backend: the same random streams as tests/test_board.py give the model's recommendations, and the engine
API's example holds on it. ``hedgegate board-sim`` is started as users start it, on a free port."""

import dataclasses
import random
import subprocess
import sys

import pytest

from board_emulator import check_corrupted_run, corrupted_run
from hedgegate import HedgeConfig, HedgeEngine, MarketTick
from hedgegate.host.board import SerialBoard
from hedgegate.host.commands import Write
from hedgegate.host.model import HedgeModel
from hedgegate.hw.layouts import RecSide
from hedgegate.hw.params import CoreParams
from hedgegate.hw.identity import design_identity
from hedgegate.hw.regmap import IdentityReg, LegReg
from hedgegate.sim.stimulus import random_commands

PARAMS = CoreParams(symbols=2, levels=4, legs=2)


@pytest.fixture(scope="module")
def board_sim():
    """``hedgegate board-sim`` on a free port, for the module's tests; stopped at the end."""
    process = subprocess.Popen([sys.executable, "-m", "hedgegate.host.cli", "board-sim", "--symbols", "2",
                                "--levels", "4", "--legs", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    line = process.stdout.readline()
    assert line.startswith("hedgegate board-sim: listening on socket://127.0.0.1:"), \
        line + process.stderr.read()
    yield line.split()[-1]
    process.terminate()
    process.wait(timeout=10)


def chunks(commands, ticks_per_chunk):
    """The stream cut after every ``ticks_per_chunk`` ticks."""
    chunk, ticks = [], 0
    for command in commands:
        chunk.append(command)
        if not isinstance(command, Write):
            ticks += 1
            if ticks == ticks_per_chunk:
                yield chunk
                chunk, ticks = [], 0
    if chunk:
        yield chunk


def test_random_streams_equal_the_model(board_sim):
    """Configuration, ticks and register writes mid-stream, through the real gateware.

    Paced (8 ticks, then until the board has answered them: its 16-vector transmit queue cannot overflow): exactly
    the model's recommendations, field for field, each with the documented latency. At full speed (a byte per
    cycle each way; a REC frame is 37 bytes, a TICK frame 17, so bursts of recommendations can outrun the link, as
    on a UART): every recommendation that arrives is the model's of the same seq, and every one missing is counted
    by the board's rec_overflow -- none lost silently. Both times the board's counters and hedge positions are the
    model's; the second client finds the state the first one left (a board keeps it)."""
    model = HedgeModel(PARAMS)
    for seed, paced in ((1, True), (2, False)):
        commands = list(random_commands(random.Random(seed), PARAMS, 3000, write_every=50))
        recs_before, ticks_before = model.recs_out, model.ticks_in
        want = [dataclasses.replace(rec, seq=rec.seq - recs_before, tick=rec.tick - ticks_before)
                for command in commands for rec in model.apply(command)]
        assert len(want) > 50
        with SerialBoard(board_sim, PARAMS, timeout=5) as board:
            got, overflow = [], 0
            for chunk in chunks(commands, 8 if paced else 500):
                board.send(chunk)
                if paced:
                    result = board.sync(timeout=30)
                    got += result.recommendations
                    overflow = result.rec_overflow           # counted from the board's opening
                else:
                    got += board.poll()
            if not paced:
                result = board.sync(timeout=60)
                got += result.recommendations
                overflow = result.rec_overflow
            if paced:
                assert got == want and overflow == 0
            else:
                by_seq = {rec.seq: rec for rec in want}
                assert [by_seq[rec.seq] for rec in got] == got
                assert len(want) - len(got) == overflow and result.lost == 0
            assert {rec.latency_cycles for rec in got} == {PARAMS.latency}
            assert board.link_counters["crc_errors"] == board.link_counters["frame_errors"] == 0
            status = board.status()
            assert status["ticks_in"] == model.ticks_in and status["recs_out"] == model.recs_out
            assert status["limit_blocked"] == model.limit_blocked
            assert status["hedge_positions"] == [regs[LegReg.HEDGE_POSITION] for regs in model.registers]
            assert (status["crc_errors"], status["frame_errors"], status["uart_errors"]) == (0, 0, 0)


def test_identity_from_the_gateware(board_sim):
    """The gateware's identity registers (hw/status_registers.py) answer what hw/identity.py computes for its
    parameters, design hash included; a host opened without parameters takes the board's."""
    with SerialBoard(board_sim, None) as board:
        assert board.params == PARAMS
        assert {IdentityReg(addr): board.read_status(addr) for addr in IdentityReg} == design_identity(PARAMS)
        assert board.identity()["design_matches"]


def test_engine_api_on_a_virtual_board_of_its_own():
    """``HedgeEngine(config, "sim")``: the issue's example on the gateware (a virtual board started for the engine
    and stopped with it)."""
    config = HedgeConfig(hedge_ratio=1.125, rehedge_threshold_bps=500, position=-10_000, symbol=0, symbols=2,
                         levels=4, extra_legs=[{"symbol": 1}])
    assert config.engine_config().params == PARAMS          # the fixture's build, from the cache
    with HedgeEngine(config, "sim") as engine:
        engine.on_tick(MarketTick.bid(0, 45.50, 100, 0))
        assert engine.get_hedge_recommendation(timeout=0.5) is None
        engine.on_tick(MarketTick.ask(1, 45.60, 100, 0))
        rec = engine.get_hedge_recommendation(timeout=5)
        assert (rec.side, rec.quantity, rec.price, rec.leg) == (RecSide.BUY, 11_250, 45.6, 0)
        assert rec.latency_cycles == PARAMS.latency


@pytest.mark.slow
def test_corrupted_link_to_the_gateware(board_sim):
    """The corrupting proxy between the host and the real gateware (0.1 % flips, drops and inserts per byte each
    way): no hang, CRC and frame errors counted by the board's decoder and the host's, every tick and
    recommendation accounted for, and the link resynchronises (a clean connection afterwards reads the board)."""
    commands = list(random_commands(random.Random(4), PARAMS, 6000, write_every=50))
    result, host_side, seconds = corrupted_run(board_sim, PARAMS, commands, rate=0.001, seed=5)
    check_corrupted_run(commands, result, host_side)
    with SerialBoard(board_sim, PARAMS, timeout=5) as board:
        status = board.status()
    assert status["crc_errors"] + status["frame_errors"] > 0 and seconds < 60


def test_strategy_pushes_mid_stream_equal_the_model(board_sim):
    """Two strategies re-estimated every 150 ticks from the stream itself (MVHR on leg 0, mean reversion on leg 1),
    their writes pushed between ticks: the virtual board's recommendations are the model board's, one for one."""
    from hedgegate.host.board import open_board
    from hedgegate.host.config import EngineConfig, LegConfig
    from hedgegate.host.stream import stream_ticks
    from hedgegate.host.strategies import MeanReversionHedge, MeanReversionParams, MVHRStrategy, StrategyRunner
    from hedgegate.host.ticks import Side, Tick

    rng = random.Random(11)
    ticks = [Tick(0, s, Side.CLEAR, 0, 0) for s in range(2)]        # the board keeps books from earlier tests
    mids, quotes = [30_000, 70_000], [None, None]
    for i in range(3000):
        symbol = rng.randrange(2)
        if symbol == 0:
            mids[0] += rng.choice([-10, -5, 0, 5, 10])                 # a random walk (the hedge instrument)
        else:
            mids[1] += round(0.2 * (70_000 - mids[1])) + rng.choice([-30, -10, 0, 10, 30])   # mean-reverting
        bid, ask = mids[symbol] - 5, mids[symbol] + 5
        if quotes[symbol] is not None:
            for side, old in zip((Side.BID, Side.ASK), quotes[symbol]):
                ticks.append(Tick(i, symbol, side, old, 0))
        ticks += [Tick(i, symbol, Side.BID, bid, rng.randrange(1, 100)), Tick(i, symbol, Side.ASK, ask, 50)]
        quotes[symbol] = (bid, ask)
    legs = (LegConfig(symbol=0, position=-5000, min_qty=20, threshold_bps=50),
            LegConfig(symbol=1, position=-3000, min_qty=20, threshold_bps=50))
    config = EngineConfig(PARAMS, legs)

    def run(port):
        runner = StrategyRunner(config, [MVHRStrategy(20, exposure_symbol=1, hedge_symbol=0, leg=0),
                                         MeanReversionHedge(MeanReversionParams(None, 1.0, 0.5), symbol=1, leg=1,
                                                            window=30)],
                                every_ticks=150, bar_ticks=25)
        commands = runner.plan(ticks)
        with (open_board("model", PARAMS) if port == "model" else SerialBoard(port, PARAMS)) as board:
            summary = stream_ticks(board, config, commands)
        return runner, summary

    model_runner, model = run("model")
    board_runner, board = run(board_sim)
    pushed = [p for p in model_runner.log if p.pushes]
    assert len(pushed) >= 10 and len({p.pushes[0].registers[LegReg.HEDGE_RATIO] for p in pushed}) >= 5
    assert model["recommendations"] >= 20 and board["rec_overflow"] == 0 and board["lost_recommendations"] == 0
    assert [r.to_json(latency=False) for r in board["recs"]] == [r.to_json(latency=False) for r in model["recs"]]
    assert board["hedge_positions"] == model["hedge_positions"]

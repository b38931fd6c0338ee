"""cocotb tests of the engine behind its serial link (``hw/serial_engine.py``), through its UART pins.

Frames go in bit by bit on ``rx`` and come out bit by bit on ``tx`` (a small UART divisor keeps the simulation
short). The host side is ``host/protocol.py``; the expectation is the model, fed exactly the commands that survive
the host-side decoder's rules (so corrupted frames must be counted and must not disturb the frames after them).

The engine has two clock domains (``sync`` for the serial side, ``core`` for the core) unless built with
``core_domain="sync"`` (one clock, no crossings, as on the iCEBreaker); with two, they run here from clocks whose
periods are not a ratio of small integers (10 ns and 3.7 ns, about the ULX3S's 48 MHz and 125 MHz), so their edges
drift past each other and every crossing is exercised at every phase.

Run through ``tests/test_serial_sim.py``.
"""

import random

import cocotb
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, FallingEdge, Timer

from ..host import protocol
from ..host.commands import Write, halt_write
from ..host.model import HedgeModel
from ..hw.layouts import TickSide
from ..hw.regmap import GlobalReg, LegReg
from .runner import options_from_env, params_from_env
from .scenarios import leg_setup
from .stimulus import random_commands, stim_tick


SERIAL_PERIOD_PS = 10_000
CORE_PERIOD_PS = 3_700


class SerialTestbench:
    """Drives ``rx`` with whole byte strings and decodes everything that appears on ``tx``."""

    def __init__(self, dut, serial_period_ps: int = SERIAL_PERIOD_PS, core_period_ps: int = CORE_PERIOD_PS):
        self.dut = dut
        self.params = params_from_env()
        self.divisor = options_from_env()["divisor"]
        self.model = HedgeModel(self.params)
        self.host_seq = 0
        self.decoder = protocol.FrameDecoder()                     # board -> host
        self.frames = []
        self.frame_ends = []          # the simulation time (ps) each frame's last stop bit ended on tx
        self.serial_period_ps, self.core_period_ps = serial_period_ps, core_period_ps

    async def start(self):
        resets = [self.dut.rst]
        cocotb.start_soon(Clock(self.dut.clk, self.serial_period_ps, unit="ps").start())
        if options_from_env().get("core_domain", "core") != "sync":
            cocotb.start_soon(Clock(self.dut.core_clk, self.core_period_ps, unit="ps").start())
            resets.append(self.dut.core_rst)
        self.dut.rx.value = 1
        for reset in resets:
            reset.value = 1
        await ClockCycles(self.dut.clk, 3)
        for reset in resets:
            reset.value = 0
        cocotb.start_soon(self._receive())

    async def _receive(self):
        dut, bit = self.dut, self.divisor * self.serial_period_ps
        while True:
            await FallingEdge(dut.tx)                                  # start bit (tx changes on a clock edge)
            await Timer(bit // 2, unit="ps")                           # the middle of each bit: no edge of tx there
            value = 0
            for index in range(8):
                await Timer(bit, unit="ps")
                value |= int(dut.tx.value) << index
            await Timer(bit, unit="ps")
            assert int(dut.tx.value) == 1, "stop bit"
            frames = self.decoder.feed(bytes([value]))
            self.frames += frames
            self.frame_ends += [get_sim_time("ps") + bit - bit // 2] * len(frames)    # the stop bit's end

    async def send(self, data: bytes, *, exact: bool = False):
        """Drives ``data`` on ``rx``, 8N1, a bit every ``divisor`` serial cycles: timed by one timer per bit (a
        trigger per clock cycle made the serial tests several times slower), or, with ``exact``, counted in clock
        edges, so that each bit starts right after an edge (the stage probes, sim/stages_tb.py, time from it)."""
        dut, cycles = self.dut, self.divisor
        for byte in data:
            for level in [0] + [(byte >> i) & 1 for i in range(8)] + [1]:
                dut.rx.value = level
                if exact:
                    await ClockCycles(dut.clk, cycles)
                else:
                    await Timer(cycles * self.serial_period_ps, unit="ps")

    def frame(self, command) -> bytes:
        """The frame for a tick or a Write (with the next host SEQ)."""
        seq, self.host_seq = self.host_seq, (self.host_seq + 1) & 0xFF
        if isinstance(command, Write):
            return protocol.encode_write(seq, command)
        return protocol.encode_tick(seq, command.symbol, command.side, command.price, command.qty)

    async def read(self, addr: int) -> int:
        """A READ round trip; returns the value."""
        before = len(self.frames)
        seq, self.host_seq = self.host_seq, (self.host_seq + 1) & 0xFF
        await self.send(protocol.encode_read(seq, addr))
        for _ in range(200 * self.divisor):
            answers = [f for f in self.frames[before:] if f.type == protocol.FrameType.READ_RESP]
            if answers:
                response = protocol.decode_read_resp(answers[0].payload)
                assert response.addr == addr
                return response.value
            await ClockCycles(self.dut.clk, 10)
        raise AssertionError(f"no answer to READ {addr}")

    async def settle(self):
        """Waits until the link has been quiet for a while (every frame out)."""
        await Timer(60 * 10 * self.divisor * self.serial_period_ps, unit="ps")

    def recs(self):
        return [protocol.decode_rec(f.payload) for f in self.frames if f.type == protocol.FrameType.REC]

    def check_recs(self, expected):
        got = self.recs()
        assert len(got) == len(expected), f"{len(got)} REC frames, model {len(expected)}"
        for frame, rec in zip(got, expected):
            assert (frame.seq, frame.tick, frame.leg, frame.side, frame.qty, frame.price, frame.hedge_position) == \
                (rec.seq, rec.tick, rec.leg, rec.side, rec.qty, rec.price, rec.hedge_position), (frame, rec)
            assert frame.cycle_out - frame.cycle_in == self.params.latency
        assert self.decoder.crc_errors == self.decoder.frame_errors == self.decoder.seq_gaps == 0


def _signed32(value):
    return value - (1 << 32) if value >> 31 else value


@cocotb.test()
async def test_hedging_over_uart(dut):
    """Config and random ticks as frames: REC frames equal the model's recommendations; counters read back."""
    bench = SerialTestbench(dut)
    await bench.start()
    assert await bench.read(protocol.StatusReg.MAGIC) == protocol.MAGIC
    expected = []
    for command in random_commands(random.Random(10), bench.params, 400, write_every=100):
        expected += bench.model.apply(command)
        await bench.send(bench.frame(command))
    await bench.settle()
    bench.check_recs(expected)
    assert expected, "the stream should produce recommendations"
    for reg, value in [(protocol.StatusReg.TICKS_IN, bench.model.ticks_in),
                       (protocol.StatusReg.RECS_OUT, bench.model.recs_out),
                       (protocol.StatusReg.LIMIT_BLOCKED, bench.model.limit_blocked),
                       (protocol.StatusReg.PRICE_BLOCKED, bench.model.price_blocked),
                       (protocol.StatusReg.HALTED, int(bench.model.halted)),
                       (protocol.StatusReg.FRAME_ERRORS, 0), (protocol.StatusReg.CRC_ERRORS, 0),
                       (protocol.StatusReg.REC_OVERFLOW, 0), (protocol.StatusReg.SEQ_GAPS, 0)]:
        assert await bench.read(reg) == value, reg.name
    for leg, regs in enumerate(bench.model.registers):
        assert _signed32(await bench.read(protocol.HEDGE_POSITION_BASE + leg)) == regs[LegReg.HEDGE_POSITION]


@cocotb.test()
async def test_corrupted_frames(dut):
    """Bit flips, truncation, garbage and bad CRCs are counted and do not disturb the frames after them."""
    bench = SerialTestbench(dut)
    await bench.start()
    rng = random.Random(11)
    stream = bytearray()
    for command in leg_setup(0, position=-5000, max_order_qty=700, symbol=0):
        stream += bench.frame(command)
    prices = [45_000 - k for k in range(8)] + [45_010 + k for k in range(8)]
    for k in range(120):
        side = TickSide.BID if k % 2 else TickSide.ASK
        frame = bytearray(bench.frame(stim_tick(0, side, rng.choice(prices), rng.randint(0, 5))))
        roll = rng.random()
        if roll < 0.15:
            frame[rng.randrange(len(frame))] ^= 1 << rng.randrange(8)          # bit flip
        elif roll < 0.25:
            frame = frame[:rng.randrange(2, len(frame))]                       # truncated
        elif roll < 0.35:
            stream += bytes(rng.randrange(256) for _ in range(rng.randint(1, 12)))   # garbage before it
        elif roll < 0.4:
            stream += b"\xA5\x5A"                                              # false sync
        stream += frame
    stream += bench.frame(stim_tick(0, TickSide.TRADE, 45_005, 1))     # a good last frame: the READs follow it
    # What survives, by the protocol's rules, is what the model sees.
    host_side = protocol.FrameDecoder(protocol.HOST_TO_BOARD_LENGTHS, bench.params)
    expected = []
    for frame in host_side.feed(bytes(stream) + bytes(17)):
        if frame.type == protocol.FrameType.WRITE:
            bench.model.write(protocol.decode_write(frame.payload))
        else:
            tick = protocol.decode_tick(frame.payload)
            expected += bench.model.tick(tick.symbol, tick.side, tick.price, tick.qty)
    await bench.send(bytes(stream) + bytes(17))        # 17 zero bytes flush any cut-short candidate
    await bench.settle()
    bench.check_recs(expected)
    assert host_side.crc_errors and host_side.frame_errors
    assert await bench.read(protocol.StatusReg.CRC_ERRORS) == host_side.crc_errors
    assert await bench.read(protocol.StatusReg.FRAME_ERRORS) == host_side.frame_errors
    assert await bench.read(protocol.StatusReg.SEQ_GAPS) == host_side.seq_gaps
    assert await bench.read(protocol.StatusReg.TICKS_IN) == bench.model.ticks_in


@cocotb.test()
async def test_registers_and_watchdog(dut):
    """Register writes read back; the watchdog halts the engine after the configured silence, once."""
    bench = SerialTestbench(dut)
    await bench.start()
    for command in leg_setup(0, position=-1000, hedge_position=-123_456, symbol=0):
        await bench.send(bench.frame(command))
    assert _signed32(await bench.read(protocol.HEDGE_POSITION_BASE)) == -123_456
    await bench.send(bench.frame(halt_write(True)))
    assert await bench.read(protocol.StatusReg.HALTED) == 1
    await bench.send(bench.frame(halt_write(False)))
    assert await bench.read(protocol.StatusReg.HALTED) == 0

    silence = 3000
    await bench.send(bench.frame(Write(0, GlobalReg.WATCHDOG, silence)))
    await ClockCycles(dut.clk, silence // 2)
    assert await bench.read(protocol.StatusReg.HALTED) == 0             # a READ is a good frame: resets it
    await ClockCycles(dut.clk, 2 * silence)
    assert await bench.read(protocol.StatusReg.HALTED) == 1
    assert await bench.read(protocol.StatusReg.WATCHDOG_TRIPS) == 1
    await ClockCycles(dut.clk, 2 * silence)
    assert await bench.read(protocol.StatusReg.WATCHDOG_TRIPS) == 2    # silent again after the read: trips again
    # Halted: ticks hedge nothing; after the host clears the halt they do.
    await bench.send(bench.frame(Write(0, GlobalReg.WATCHDOG, 0)))
    for tick in (stim_tick(0, TickSide.BID, 45_000, 1),
                 stim_tick(0, TickSide.ASK, 45_010, 1)):
        await bench.send(bench.frame(tick))
    await bench.settle()
    assert bench.recs() == []
    await bench.send(bench.frame(halt_write(False)))
    await bench.send(bench.frame(stim_tick(0, TickSide.BID, 45_001, 1)))
    await bench.settle()
    assert [(r.side, r.qty) for r in bench.recs()] == [(0, 1000 + 123_456)]


@cocotb.test()
async def test_rec_overflow_counted(dut):
    """More recommendations than the UART can send: the queue drops whole vectors, counts every dropped REC
    (REC_OVERFLOW, counted in the core's clock domain), and the RECs that do arrive are the model's, with the
    sequence numbers of the dropped ones missing."""
    bench = SerialTestbench(dut)
    await bench.start()
    p = bench.params
    expected = []
    commands = [command for leg in range(p.legs)
                for command in leg_setup(leg, position=0, max_order_qty=700, symbol=0)]
    commands.append(stim_tick(0, TickSide.BID, 45_000, 5))
    # Each round: every leg's position moves (a WRITE each), then a tick: every leg fires. In: 13 L + 17 bytes,
    # out: 37 L bytes; the queue (16 or 17 vectors) overflows within ~90 rounds for L = 1, sooner for more legs.
    for k in range(200):
        commands += [Write(leg, LegReg.POSITION, (-1) ** k * 1000 * (k + 1)) for leg in range(p.legs)]
        commands.append(stim_tick(0, TickSide.ASK, 45_010 + k % 3, 5))
    for command in commands:
        expected += bench.model.apply(command)
        await bench.send(bench.frame(command))
    while True:                                 # the queue still holds up to 17 vectors: until they are all out
        before = len(bench.frames)
        await bench.settle()
        if len(bench.frames) == before:
            break
    got = bench.recs()
    dropped = await bench.read(protocol.StatusReg.REC_OVERFLOW)
    assert len(expected) == 200 * p.legs
    assert dropped > 0 and len(got) + dropped == len(expected), (len(got), dropped, len(expected))
    by_seq = {rec.seq: rec for rec in expected}
    assert [frame.seq for frame in got] == sorted(frame.seq for frame in got)
    for frame in got:
        rec = by_seq[frame.seq]
        assert (frame.tick, frame.leg, frame.side, frame.qty, frame.price, frame.hedge_position) == \
            (rec.tick, rec.leg, rec.side, rec.qty, rec.price, rec.hedge_position), (frame, rec)

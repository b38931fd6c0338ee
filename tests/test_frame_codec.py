"""hw/frame_decoder.py and hw/frame_encoder.py in Amaranth's simulator, checked against host/protocol.py.

The gateware decoder is fed byte streams built with the host encoders, clean and randomly corrupted; the host's
``FrameDecoder`` (same resynchronisation rule) decodes the same stream, and every output of the gateware -- the
commands (compared as ``hw.layouts.pack`` of the expected commands), the reads, and the error pulses -- must equal
the host's. The encoder's bytes must decode, on the host, to exactly the payloads it was given.
"""

import random

import pytest
from amaranth.hdl import Module
from amaranth.sim import Simulator

from hedgegate.host import protocol
from hedgegate.host.commands import Write
from hedgegate.host.protocol import FrameType
from hedgegate.host.recommendation import Recommendation
from hedgegate.hw.frame_decoder import FrameDecoder
from hedgegate.hw.frame_encoder import FrameEncoder, read_resp_payload_layout, rec_payload_layout
from hedgegate.hw.layouts import CommandKind, command_layout, pack
from hedgegate.hw.params import CoreParams
from hedgegate.hw.uart import UARTRx, UARTTx

NARROW = CoreParams(symbols=3, levels=2, legs=1, price_width=16, qty_width=20)


def run(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


# Expected outputs from the host's decoder -------------------------------------------------------------------------


def expected_outputs(params, stream: bytes):
    decoder = protocol.FrameDecoder(protocol.HOST_TO_BOARD_LENGTHS, params=params)
    frames = decoder.feed(stream)
    layout = command_layout(params)
    cmds, reads = [], []
    for frame in frames:
        if frame.type == FrameType.TICK:
            tick = protocol.decode_tick(frame.payload)
            cmds.append(pack(layout, {"kind": CommandKind.TICK, "body": {"tick": {
                "symbol": tick.symbol, "side": tick.side, "price": tick.price, "qty": tick.qty}}}))
        elif frame.type == FrameType.WRITE:
            write = protocol.decode_write(frame.payload)
            cmds.append(pack(layout, {"kind": CommandKind.WRITE, "body": {"write": {
                "leg": write.leg, "addr": write.addr, "data": write.data}}}))
        elif frame.type == FrameType.READ:
            reads.append(protocol.decode_read(frame.payload))
        else:
            reads.append(0)
    return {"cmds": cmds, "reads": reads, "frame_error": decoder.frame_errors, "crc_error": decoder.crc_errors,
            "seq_gap": decoder.seq_gaps, "overflow": 0}


# The gateware decoder --------------------------------------------------------------------------------------------


def run_decoder(params, stream: bytes, *, interval=lambda: 1, cmd_ready=lambda cycle: 1,
                read_ready=lambda cycle: 1, tail=64):
    """Feed ``stream`` to a FrameDecoder, one byte every ``interval()`` cycles; returns what came out."""
    dut = FrameDecoder(params)
    out = {"cmds": [], "reads": [], "frame_error": 0, "crc_error": 0, "seq_gap": 0, "overflow": 0}
    pulses = [(name, getattr(dut, name)) for name in ("frame_error", "crc_error", "seq_gap", "overflow")]
    cmd_payload = dut.cmd.payload.as_value()

    async def bench(ctx):
        cycle, index, next_at, idle = 0, 0, 0, 0
        while idle < tail:
            if index < len(stream) and cycle >= next_at:
                ctx.set(dut.bytes.valid, 1)
                ctx.set(dut.bytes.payload, stream[index])
                index += 1
                next_at = cycle + interval()
            else:
                ctx.set(dut.bytes.valid, 0)
            ctx.set(dut.cmd.ready, cmd_ready(cycle))
            ctx.set(dut.read.ready, read_ready(cycle))
            assert ctx.get(dut.bytes.ready) == 1
            if ctx.get(dut.cmd.valid) and ctx.get(dut.cmd.ready):
                out["cmds"].append(ctx.get(cmd_payload))
            if ctx.get(dut.read.valid) and ctx.get(dut.read.ready):
                out["reads"].append(ctx.get(dut.read.payload))
            for name, signal in pulses:
                out[name] += ctx.get(signal)
            busy = index < len(stream) or ctx.get(dut.cmd.valid) or ctx.get(dut.read.valid)
            idle = 0 if busy else idle + 1
            await ctx.tick()
            cycle += 1

    run(dut, bench)
    return out


def random_command_frames(rng, params, count):
    """Valid frames, some with fields that do not fit the core, with consecutive SEQ from a random start."""
    seq = rng.randrange(256)
    frames = []
    for _ in range(count):
        kind = rng.random()
        if kind < 0.5:
            fits = rng.random() < 0.9
            price_max = (1 << (params.price_width - 1)) - 1
            symbol = rng.randrange(params.symbols) if fits else rng.choice([params.symbols, 255])
            frames.append(protocol.encode_tick(seq, symbol, rng.randrange(4), rng.randint(-price_max - 1, price_max),
                                               rng.randrange(1 << params.qty_width)))
            if not fits and rng.random() < 0.5:       # out of range in another field instead
                bad = rng.choice([(0, 4, 0, 0), (0, 0, price_max + 1, 0), (0, 0, -price_max - 2, 0),
                                  (0, 0, 0, 1 << params.qty_width)])
                if bad[2] in range(-(1 << 31), 1 << 31) and bad[3] < 1 << 32:
                    frames[-1] = protocol.encode_tick(seq, *bad)
        elif kind < 0.75:
            leg = rng.randrange(16) if rng.random() < 0.95 else 16
            addr = rng.randrange(32) if rng.random() < 0.95 else 200
            frames.append(protocol.encode_write(seq, Write(leg, addr, rng.randrange(1 << 32))))
        elif kind < 0.9:
            frames.append(protocol.encode_read(seq, rng.randrange(256)))
        else:
            frames.append(protocol.encode_ping(seq))
        seq = (seq + (1 if rng.random() < 0.95 else rng.randrange(256))) & 0xFF   # sometimes a gap
    return frames


def corrupt(rng, frames):
    """Join ``frames`` with random damage: garbage, fake headers, bit flips, truncations, bad TYPE/LEN frames."""
    pieces = []
    for frame in frames:
        damage = rng.random()
        if damage < 0.08:
            pieces.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 20))))
        elif damage < 0.14:
            pieces.append(b"\xA5\x5A" + bytes([rng.choice([0, 1, 6, 10, 30]), rng.choice([1, 2, 3, 4, 0x81, 9])]))
        elif damage < 0.18:
            pieces.append(protocol.encode_frame(rng.choice([0, 5, 0x81, 0xFF]), rng.randrange(256),
                                                bytes(rng.randrange(256) for _ in range(rng.randrange(11)))))
        elif damage < 0.22:
            pieces.append(protocol.encode_frame(FrameType.TICK, 0, bytes(rng.choice([0, 6, 9]))))   # wrong LEN
        if rng.random() < 0.1:
            frame = bytearray(frame)
            frame[rng.randrange(len(frame))] ^= 1 << rng.randrange(8)
            frame = bytes(frame)
        elif rng.random() < 0.06:
            frame = frame[:rng.randrange(1, len(frame))]
        pieces.append(frame)
    return b"".join(pieces)


def test_clean_stream_back_to_back():
    rng = random.Random(10)
    stream = b"".join(random_command_frames(rng, CoreParams(), 120))
    expected = expected_outputs(CoreParams(), stream)
    assert len(expected["cmds"]) > 60 and expected["reads"]
    out = run_decoder(CoreParams(), stream)
    assert out == expected


@pytest.mark.parametrize("params, seed", [(CoreParams(), 11), (NARROW, 12)])
def test_corrupted_stream_matches_host(params, seed):
    rng = random.Random(seed)
    stream = corrupt(rng, random_command_frames(rng, params, 200)) + bytes(17)   # zeros flush a partial frame
    expected = expected_outputs(params, stream)
    assert expected["frame_error"] > 10 and expected["crc_error"] > 10 and expected["seq_gap"] > 3
    assert len(expected["cmds"]) > 100
    out = run_decoder(params, stream, interval=lambda: rng.randint(3, 8))
    assert out == expected


def test_back_pressure_holds_commands():
    """The consumers stall for bursts of cycles (the core while it applies register writes): nothing is lost."""
    rng = random.Random(13)
    stream = corrupt(rng, random_command_frames(rng, CoreParams(), 100)) + bytes(17)
    expected = expected_outputs(CoreParams(), stream)
    # Bytes every 3-5 cycles and stalls of up to 40 cycles, one in each window of 200 cycles: later frames complete
    # while a command or read is held, yet the decoder's 32-byte replay buffer never fills
    # (test_replay_buffer_overflow_recovers is the case where it does).
    cycles = 5 * len(stream)
    cmd_stalls, read_stalls = set(), set()
    for window in range(0, cycles, 200):
        begin = window + rng.randrange(150)
        rng.choice([cmd_stalls, read_stalls]).update(range(begin, begin + rng.randint(10, 40)))
    out = run_decoder(CoreParams(), stream, interval=lambda: rng.randint(3, 5),
                      cmd_ready=lambda cycle: int(cycle not in cmd_stalls),
                      read_ready=lambda cycle: int(cycle not in read_stalls))
    assert out == expected


@pytest.mark.parametrize("output", ["cmd", "read"])
def test_held_output_keeps_later_frames(output):
    """Back-to-back frames while one output is held: the first waits in its register, the parser waits on the
    second frame's last byte, the third waits in the replay buffer; all come out, in order, once released."""
    rng = random.Random(16)
    if output == "cmd":
        frames = [protocol.encode_write(s, Write(s, s + 1, rng.randrange(1 << 32))) for s in range(3)]
    else:
        frames = [protocol.encode_read(s, 40 + s) for s in range(3)]
    stream = b"".join(frames)
    release = len(stream) + 10
    held = lambda cycle: int(cycle >= release)
    kwargs = {"cmd_ready": held} if output == "cmd" else {"read_ready": held}
    out = run_decoder(CoreParams(), stream, **kwargs)
    assert out == expected_outputs(CoreParams(), stream)
    assert len(out[output + "s"]) == 3


def test_replay_buffer_overflow_recovers():
    """A consumer that stops for far too long makes the decoder drop bytes (counted), but it never wedges."""
    rng = random.Random(14)
    first = random_command_frames(rng, CoreParams(), 12)
    later = [protocol.encode_ping(s) for s in range(5)]
    stream = b"".join(first) + bytes(17) + b"".join(later)
    out = run_decoder(CoreParams(), stream, interval=lambda: 4, cmd_ready=lambda cycle: int(cycle > 600))
    assert out["overflow"] > 0
    assert out["reads"][-5:] == [0] * 5          # the pings after the jam are decoded


def test_replay_buffer_keeps_the_candidate():
    """The 32 bytes kept are counted from the held candidate's SYNC0 (it may have to be rescanned)."""
    writes = [protocol.encode_write(s, Write(0, 1, s)) for s in range(2)]      # 13 bytes each
    stream = b"".join(writes) + bytes(25)
    out = run_decoder(CoreParams(), stream, cmd_ready=lambda cycle: int(cycle >= 100))
    assert out["overflow"] == 13 + 25 - FrameDecoder.REPLAY_DEPTH
    assert len(out["cmds"]) == 2


def test_uart_to_decoder():
    """UARTTx -> UARTRx -> FrameDecoder at divisor 4, the fastest the receiver allows."""
    params = CoreParams()
    rng = random.Random(15)
    stream = b"\x00\xA5" + b"".join(random_command_frames(rng, params, 8))
    expected = expected_outputs(params, stream)
    m = Module()
    m.submodules.tx = tx = UARTTx(4)
    m.submodules.rx = rx = UARTRx(4)
    m.submodules.dec = dec = FrameDecoder(params)
    m.d.comb += [
        rx.rx.eq(tx.tx),
        dec.bytes.valid.eq(rx.stream.valid),
        dec.bytes.payload.eq(rx.stream.payload),
        rx.stream.ready.eq(dec.bytes.ready),
    ]
    cmds, reads = [], []

    async def bench(ctx):
        ctx.set(dec.cmd.ready, 1)
        ctx.set(dec.read.ready, 1)
        index = 0
        for _ in range(40 * len(stream) + 100):
            ctx.set(tx.stream.valid, index < len(stream))
            ctx.set(tx.stream.payload, stream[min(index, len(stream) - 1)])
            if index < len(stream) and ctx.get(tx.stream.ready):
                index += 1
            if ctx.get(dec.cmd.valid):
                cmds.append(ctx.get(dec.cmd.payload.as_value()))
            if ctx.get(dec.read.valid):
                reads.append(ctx.get(dec.read.payload))
            assert not (ctx.get(rx.error) or ctx.get(rx.overrun) or ctx.get(dec.crc_error))
            await ctx.tick()

    run(m, bench)
    assert cmds == expected["cmds"] and reads == expected["reads"]


# The gateware encoder --------------------------------------------------------------------------------------------


def random_rec(rng) -> Recommendation:
    u32 = lambda: rng.randrange(1 << 32)
    i32 = lambda: rng.randrange(-(1 << 31), 1 << 31)
    return Recommendation(leg=rng.randrange(16), side=rng.randrange(2), seq=u32(), tick=u32(), qty=u32(), price=i32(),
                          hedge_position=i32(), cycle_in=u32(), cycle_out=u32())


def run_encoder(recs, resps, *, rec_valid, resp_valid, bytes_ready):
    dut = FrameEncoder()
    sent = []
    order = []

    async def bench(ctx):
        rec_i = resp_i = idle = 0
        while idle < 8:
            ctx.set(dut.rec.valid, 0)
            ctx.set(dut.read_resp.valid, 0)
            if rec_i < len(recs) and rec_valid():
                ctx.set(dut.rec.valid, 1)
                ctx.set(dut.rec.payload.as_value(), pack(rec_payload_layout, vars(recs[rec_i])))
            if resp_i < len(resps) and resp_valid():
                ctx.set(dut.read_resp.valid, 1)
                addr, value = resps[resp_i]
                ctx.set(dut.read_resp.payload.as_value(), pack(read_resp_payload_layout, {"addr": addr,
                                                                                        "value": value}))
            ctx.set(dut.bytes.ready, bytes_ready())
            if ctx.get(dut.rec.valid) and ctx.get(dut.rec.ready):
                rec_i += 1
                order.append("rec")
            if ctx.get(dut.read_resp.valid) and ctx.get(dut.read_resp.ready):
                resp_i += 1
                order.append("resp")
            valid = ctx.get(dut.bytes.valid)
            if valid and ctx.get(dut.bytes.ready):
                sent.append(ctx.get(dut.bytes.payload))
            busy = rec_i < len(recs) or resp_i < len(resps) or valid
            idle = 0 if busy else idle + 1
            await ctx.tick()

    run(dut, bench)
    return bytes(sent), order


def test_encoder_round_trip():
    rng = random.Random(20)
    recs = [random_rec(rng) for _ in range(200)]
    resps = [(rng.randrange(256), rng.randrange(1 << 32)) for _ in range(100)]
    stream, _ = run_encoder(recs, resps, rec_valid=lambda: rng.random() < 0.5,
                            resp_valid=lambda: rng.random() < 0.3, bytes_ready=lambda: rng.random() < 0.8)
    decoder = protocol.FrameDecoder()
    frames = decoder.feed(stream)
    assert (decoder.frame_errors, decoder.crc_errors, decoder.seq_gaps, decoder.pending) == (0, 0, 0, 0)
    assert [f.seq for f in frames] == [i & 0xFF for i in range(300)]            # wraps modulo 256
    assert [protocol.decode_rec(f.payload) for f in frames if f.type == FrameType.REC] == recs
    assert [tuple(vars(protocol.decode_read_resp(f.payload)).values()) for f in frames
            if f.type == FrameType.READ_RESP] == resps
    # Each frame's bytes are exactly what the host would encode.
    rebuilt = b"".join(protocol.encode_rec(f.seq, protocol.decode_rec(f.payload)) if f.type == FrameType.REC else
                       protocol.encode_read_resp(f.seq, *vars(protocol.decode_read_resp(f.payload)).values())
                       for f in frames)
    assert rebuilt == stream


def test_encoder_round_robin():
    rng = random.Random(21)
    recs = [random_rec(rng) for _ in range(6)]
    resps = [(0, protocol.MAGIC)] * 3
    stream, order = run_encoder(recs, resps, rec_valid=lambda: True, resp_valid=lambda: True,
                                bytes_ready=lambda: True)
    assert order == ["rec", "resp", "rec", "resp", "rec", "resp", "rec", "rec", "rec"]
    assert len(stream) == 6 * 37 + 3 * 12

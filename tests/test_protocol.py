"""host/protocol.py: frame bytes worked by hand, the CRC, payload codecs, and the decoder's resynchronisation rule."""

import binascii
import random

import pytest
from amaranth.lib.crc import catalog

from hedgegate.host.commands import Write
from hedgegate.host.protocol import (
    BOARD_TO_HOST_LENGTHS, HOST_TO_BOARD_LENGTHS, MAGIC, PAYLOAD_FORMATS, PAYLOAD_LENGTHS, Frame, FrameDecoder,
    FrameType, ReadResp, TickFrame, command_fits, crc16, decode_read, decode_read_resp, decode_rec,
    decode_tick, decode_write, encode_frame, encode_ping, encode_read, encode_read_resp, encode_rec, encode_tick,
    encode_write,
)
from hedgegate.host.recommendation import Recommendation
from hedgegate.hw.params import CoreParams


def bitwise_crc(data: bytes) -> int:
    """CRC-16/CCITT-FALSE the slow way, straight from its definition (poly 0x1021, init 0xFFFF, MSB first)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def test_crc_check_value():
    assert crc16(b"123456789") == 0x29B1
    assert bitwise_crc(b"123456789") == 0x29B1
    assert catalog.CRC16_CCITT_FALSE(8).compute(b"123456789") == 0x29B1    # what the gateware uses


def test_payload_formats_have_the_shared_lengths():
    """The host's struct formats against the payload lengths the gateware uses too (hw/frame_format.py)."""
    assert {frame_type: layout.size for frame_type, layout in PAYLOAD_FORMATS.items()} == PAYLOAD_LENGTHS
    from hedgegate.hw.frame_decoder import tick_payload_layout, write_payload_layout
    from hedgegate.hw.frame_encoder import read_resp_payload_layout, rec_payload_layout
    for frame_type, layout in ((FrameType.TICK, tick_payload_layout), (FrameType.WRITE, write_payload_layout),
                               (FrameType.REC, rec_payload_layout), (FrameType.READ_RESP, read_resp_payload_layout)):
        assert layout.size == 8 * PAYLOAD_LENGTHS[frame_type], frame_type.name


def test_tick_frame_by_hand():
    # seq 7, symbol 1, side ask (1), price 45.123 (45123 milli = 0x0000B043), qty 250 (0xFA)
    body = bytes([0x0A, 0x01, 0x07,                 # LEN 10, TYPE TICK, SEQ 7
                  0x01, 0x01,                       # symbol, side
                  0x43, 0xB0, 0x00, 0x00,           # price, little-endian
                  0xFA, 0x00, 0x00, 0x00])          # qty, little-endian
    assert bitwise_crc(body) == binascii.crc_hqx(body, 0xFFFF) == 0x3C09
    expected = bytes([0xA5, 0x5A]) + body + bytes([0x3C, 0x09])     # CRC big-endian
    assert encode_tick(7, 1, 1, 45123, 250) == expected
    assert expected.hex(" ") == "a5 5a 0a 01 07 01 01 43 b0 00 00 fa 00 00 00 3c 09"
    # The CRC over the covered bytes including the CRC itself is 0 (what the gateware's check relies on).
    assert crc16(expected[2:]) == 0


def test_other_frames_by_hand():
    assert encode_ping(0x100) == bytes([0xA5, 0x5A, 0x00, 0x04, 0x00]) + crc16(b"\x00\x04\x00").to_bytes(2, "big")
    assert encode_read(3, 9)[2:-2] == bytes([1, 0x03, 3, 9])
    assert encode_write(4, Write(1, 4, -2))[2:-2] == bytes([6, 0x02, 4, 1, 4, 0xFE, 0xFF, 0xFF, 0xFF])
    assert encode_tick(0, 0, 2, -1, 0)[5:-2] == bytes([0, 2, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0])
    assert encode_read_resp(5, 0, MAGIC)[2:-2] == bytes([5, 0x82, 5, 0, 0x01, 0x47, 0x47, 0x48])
    assert encode_read_resp(5, 16, -3)[-6:-2] == bytes([0xFD, 0xFF, 0xFF, 0xFF])
    rec = Recommendation(leg=1, side=1, seq=0x01020304, tick=5, qty=6, price=-7, hedge_position=-8, cycle_in=9,
                         cycle_out=0xFFFF_FFFF)
    assert encode_rec(1, rec)[2:-2] == bytes([30, 0x81, 1, 1, 1, 4, 3, 2, 1, 5, 0, 0, 0, 6, 0, 0, 0,
                                              0xF9, 0xFF, 0xFF, 0xFF, 0xF8, 0xFF, 0xFF, 0xFF, 9, 0, 0, 0,
                                              0xFF, 0xFF, 0xFF, 0xFF])


def test_lengths_and_payload_codecs():
    assert PAYLOAD_LENGTHS == {0x01: 10, 0x02: 6, 0x03: 1, 0x04: 0, 0x81: 30, 0x82: 5}
    rng = random.Random(1)
    for _ in range(200):
        rec = Recommendation(leg=rng.randrange(256), side=rng.randrange(2), seq=rng.randrange(1 << 32),
                             tick=rng.randrange(1 << 32), qty=rng.randrange(1 << 32),
                             price=rng.randrange(-(1 << 31), 1 << 31),
                             hedge_position=rng.randrange(-(1 << 31), 1 << 31),
                             cycle_in=rng.randrange(1 << 32), cycle_out=rng.randrange(1 << 32))
        decoded = decode_rec(encode_rec(0, rec)[5:-2])
        assert decoded == rec and (decoded.cycle_in, decoded.cycle_out) == (rec.cycle_in, rec.cycle_out)
        tick = TickFrame(rng.randrange(256), rng.randrange(4), rng.randrange(-(1 << 31), 1 << 31),
                         rng.randrange(1 << 32))
        assert decode_tick(encode_tick(0, tick.symbol, tick.side, tick.price, tick.qty)[5:-2]) == tick
        write = Write(rng.randrange(16), rng.randrange(32), rng.randrange(-(1 << 31), 1 << 32))
        assert decode_write(encode_write(0, write)[5:-2]) == write
        addr, value = rng.randrange(256), rng.randrange(1 << 32)
        assert decode_read_resp(encode_read_resp(0, addr, value)[5:-2]) == ReadResp(addr, value)
        assert decode_read(encode_read(0, addr)[5:-2]) == addr
    with pytest.raises(ValueError):
        decode_rec(b"\x00" * 29)


@pytest.mark.parametrize("call", [
    lambda: encode_tick(0, 256, 0, 0, 0),
    lambda: encode_tick(0, 0, 0, 1 << 31, 0),
    lambda: encode_tick(0, 0, 0, 0, -1),
    lambda: encode_read(0, 256),
    lambda: encode_read_resp(0, 0, 1 << 32),
    lambda: encode_read_resp(0, 0, -(1 << 31) - 1),
    lambda: encode_frame(0x100, 0),
    lambda: encode_frame(1, 0, bytes(256)),
])
def test_encoders_reject_out_of_range(call):
    with pytest.raises(ValueError):
        call()


# Decoder ----------------------------------------------------------------------------------------------------------


def host_frames(rng, count, seq=0):
    """Valid host -> board frames (bytes) with consecutive SEQ, and the Frames they decode to."""
    frames, expected = [], []
    for index in range(count):
        kind = rng.choice(["tick", "tick", "write", "read", "ping"])
        s = (seq + index) & 0xFF
        if kind == "tick":
            raw = encode_tick(s, rng.randrange(4), rng.randrange(4), rng.randrange(-10**6, 10**6),
                              rng.randrange(1000))
        elif kind == "write":
            raw = encode_write(s, Write(rng.randrange(2), rng.randrange(16), rng.randrange(1 << 32)))
        elif kind == "read":
            raw = encode_read(s, rng.randrange(20))
        else:
            raw = encode_ping(s)
        frames.append(raw)
        expected.append(Frame(raw[3], raw[4], raw[5:-2]))
    return frames, expected


def decode(stream: bytes, chunks=None, **kwargs):
    decoder = FrameDecoder(HOST_TO_BOARD_LENGTHS, **kwargs)
    frames = []
    if chunks is None:
        frames += decoder.feed(stream)
    else:
        for i in range(0, len(stream), chunks):
            frames += decoder.feed(stream[i:i + chunks])
    return frames, decoder


def counts(decoder):
    return decoder.frame_errors, decoder.crc_errors, decoder.seq_gaps


def test_clean_stream_any_chunking():
    rng = random.Random(2)
    raw, expected = host_frames(rng, 300, seq=200)     # SEQ wraps through 255 -> 0
    stream = b"".join(raw)
    for chunks in (None, 1, 2, 7, 64):
        frames, decoder = decode(stream, chunks)
        assert frames == expected
        assert counts(decoder) == (0, 0, 0)
        assert decoder.pending == 0


def test_board_to_host_default():
    rec = Recommendation(leg=0, side=1, seq=2, tick=3, qty=4, price=-5, hedge_position=6, cycle_in=7, cycle_out=8)
    decoder = FrameDecoder()
    stream = encode_rec(0, rec) + encode_read_resp(1, 0, MAGIC) + encode_tick(2, 0, 0, 0, 0) + encode_ping(3)
    frames = decoder.feed(stream)
    assert [decode_rec(frames[0].payload), decode_read_resp(frames[1].payload)] == [rec, ReadResp(0, MAGIC)]
    assert len(frames) == 2 and frames[0].type == FrameType.REC and frames[1].seq == 1
    assert decoder.frame_errors == 2                   # host -> board types are unknown to the host
    assert set(BOARD_TO_HOST_LENGTHS) == {0x81, 0x82}


def test_garbage_before_and_between_frames():
    rng = random.Random(3)
    raw, expected = host_frames(rng, 50)
    garbage = lambda: bytes(rng.choice([b for b in range(256) if b != 0xA5]) for _ in range(rng.randrange(20)))
    stream = garbage() + b"".join(frame + garbage() for frame in raw)
    frames, decoder = decode(stream, 5)
    assert frames == expected
    assert counts(decoder) == (0, 0, 0)


def test_lone_sync_bytes_are_not_errors():
    ping = encode_ping(0)
    stream = b"\xA5" + b"\xA5\xA5" + ping + b"\x5A\xA5\x00" + encode_ping(1) + b"\xA5"
    frames, decoder = decode(stream, 1)
    assert [f.seq for f in frames] == [0, 1]
    assert counts(decoder) == (0, 0, 0)
    assert decoder.pending == 1                        # the trailing SYNC0 may start a frame


def test_bit_flips():
    rng = random.Random(4)
    raw, expected = host_frames(rng, 3)
    tick = encode_tick(9, 1, 0, 100, 5)
    for position in range(2, len(tick)):
        for bit in range(8):
            broken = bytearray(tick)
            broken[position] ^= 1 << bit
            stream = raw[0] + bytes(broken) + raw[1] + raw[2]
            frames, decoder = decode(stream, 3)
            # A flipped frame is lost; the others are intact; the flip is counted once, as the right kind.
            assert frames == expected, (position, bit)
            frame_errors, crc_errors, _ = counts(decoder)
            if position in (2, 3):      # LEN or TYPE: no longer a consistent header
                assert (frame_errors, crc_errors) == (1, 0), (position, bit)
            else:
                assert (frame_errors, crc_errors) == (0, 1), (position, bit)
    # A flipped SYNC byte turns the frame into garbage: lost, nothing counted.
    broken = bytearray(tick)
    broken[1] ^= 0x10
    frames, decoder = decode(raw[0] + bytes(broken) + raw[1], 1)
    assert frames == expected[:2] and counts(decoder) == (0, 0, 0)


def test_truncation_loses_only_the_truncated_frame():
    rng = random.Random(5)
    raw, expected = host_frames(rng, 4)
    tick = encode_tick(77, 2, 1, -5, 9)
    for cut in range(1, len(tick)):
        stream = raw[0] + tick[:cut] + b"".join(raw[1:])
        frames, decoder = decode(stream, 1)
        assert frames == expected, cut
        frame_errors, crc_errors, seq_gaps = counts(decoder)
        assert frame_errors + crc_errors == (1 if cut >= 2 else 0), cut
        assert seq_gaps == 0


def test_false_sync_inside_garbage():
    """Garbage ending in a plausible TICK header swallows the real frame that follows; the rescan recovers it."""
    real = encode_write(0, Write(1, 2, 3))
    for garbage in (b"\x00\xA5\x5A\x0A\x01", b"\xA5\x5A\x0A\x01\x33\x44", b"\xA5\x5A\x00\x04\x00"):
        frames, decoder = decode(garbage + real + encode_ping(1), 1)
        assert [f.seq for f in frames] == [0, 1], garbage
        assert counts(decoder) == (0, 1, 0), garbage
    # A false sync whose header is wrong is dropped at once.
    frames, decoder = decode(b"\xA5\x5A\x07\x01\x00" + real, 1)
    assert len(frames) == 1 and counts(decoder) == (1, 0, 0)


def test_false_frame_inside_frame_payload_is_ignored():
    """A complete valid frame hidden in a good frame's payload is not decoded (the outer frame is accepted)."""
    inner = encode_ping(5)
    outer = encode_frame(FrameType.TICK, 0, inner + b"\x00\x00\x00")
    frames, decoder = decode(outer, 1)
    assert frames == [Frame(1, 0, inner + b"\x00\x00\x00")] and counts(decoder) == (0, 0, 0)
    # The same outer frame with a bad CRC: the inner frame is found on the rescan.
    frames, decoder = decode(outer[:-1] + bytes([outer[-1] ^ 1]), 1)
    assert frames == [Frame(4, 5, b"")] and counts(decoder) == (0, 1, 0)


def test_wrong_len_and_unknown_type():
    after = encode_ping(1)
    for bad in (encode_frame(FrameType.TICK, 0, bytes(9)), encode_frame(FrameType.PING, 0, b"\x00"),
                encode_frame(0x05, 0), encode_frame(0x81, 0, bytes(30)), encode_frame(0x00, 0, bytes(10))):
        frames, decoder = decode(bad + after, 1)
        assert frames == [Frame(4, 1, b"")], bad.hex()
        assert counts(decoder) == (1, 0, 0), bad.hex()


def test_seq_gaps():
    stream = b"".join(encode_ping(s) for s in (10, 11, 13, 14, 14, 0, 1))
    frames, decoder = decode(stream)
    assert len(frames) == 7 and counts(decoder) == (0, 0, 3)


def test_fields_checked_against_the_core():
    params = CoreParams(symbols=3, price_width=16, qty_width=20)
    good = [encode_tick(0, 2, 3, -(1 << 15), (1 << 20) - 1), encode_tick(1, 0, 0, (1 << 15) - 1, 0),
            encode_write(2, Write(15, 31, 0xFFFF_FFFF))]
    bad = [encode_tick(3, 3, 0, 0, 0), encode_tick(4, 0, 4, 0, 0), encode_tick(5, 0, 0, 1 << 15, 0),
           encode_tick(6, 0, 0, -(1 << 15) - 1, 0), encode_tick(7, 0, 0, 0, 1 << 20),
           encode_write(8, Write(16, 0, 0)), encode_write(9, Write(0, 32, 0))]
    frames, decoder = decode(b"".join(good + bad) + encode_ping(10), params=params)
    assert [f.seq for f in frames] == [0, 1, 2, 10]
    assert counts(decoder) == (len(bad), 0, 0)        # rejected frames still count for the SEQ check
    assert all(command_fits(f.type, f.payload, params) for f in frames)


def test_random_corruption_never_loses_clean_frames():
    """Frames separated by arbitrary garbage (including fake headers) are all recovered, whatever the chunking."""
    rng = random.Random(6)
    raw, expected = host_frames(rng, 200)
    pieces = []
    for frame in raw:
        kind = rng.random()
        if kind < 0.2:
            pieces.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 12))))
        elif kind < 0.35:
            pieces.append(b"\xA5\x5A" + bytes([rng.choice([0, 1, 6, 10]), rng.randrange(1, 5)]))   # fake header
        elif kind < 0.45:
            other = encode_tick(rng.randrange(256), 0, 0, 0, 0)
            pieces.append(other[:rng.randrange(1, len(other))])                                    # truncated
        pieces.append(frame)
    stream = b"".join(pieces)
    reference, _ = decode(stream)
    assert reference == expected
    for chunks in (1, 3, 16):
        frames, _ = decode(stream, chunks)
        assert frames == expected

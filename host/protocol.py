"""The serial link's frame format, host side: encoders for both directions and a streaming decoder.

The format is specified in ``docs/protocol.md`` (the single source of truth); its constants, shared with the
gateware, are in ``hw/frame_format.py`` (frames) and ``hw/regmap.py`` (status registers), re-exported here; in short,
every frame is::

    A5 5A  LEN  TYPE  SEQ  PAYLOAD (LEN bytes)  CRC (2 bytes, big-endian)

with CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, xorout 0) over LEN, TYPE, SEQ and PAYLOAD, and
little-endian payload integers (two's complement where signed). The gateware (``hw/frame_decoder.py``,
``hw/frame_encoder.py``) implements the same format; :class:`FrameDecoder` here applies exactly the board's
resynchronisation and error-counting rule, so the two can be compared count for count.

Only the standard library is used (the CRC is ``binascii.crc_hqx(data, 0xFFFF)``).
"""

import binascii
import struct
from dataclasses import dataclass

from ..hw.frame_format import (BOARD_TO_HOST_LENGTHS, HEADER_SIZE, HOST_TO_BOARD_LENGTHS, OVERHEAD,
                                PAYLOAD_LENGTHS, SYNC0, SYNC1, FrameType)
from ..hw.regmap import HEDGE_POSITION_BASE, MAGIC, StatusReg
from .commands import Write
from .recommendation import Recommendation

__all__ = [
    "SYNC0", "SYNC1", "HEADER_SIZE", "OVERHEAD", "FrameType", "PAYLOAD_LENGTHS", "HOST_TO_BOARD_LENGTHS",
    "BOARD_TO_HOST_LENGTHS", "PAYLOAD_FORMATS", "StatusReg", "MAGIC", "HEDGE_POSITION_BASE", "crc16",
    "Frame", "TickFrame", "ReadResp",
    "encode_frame", "encode_tick", "encode_write", "encode_read", "encode_ping", "encode_rec", "encode_read_resp",
    "decode_tick", "decode_write", "decode_read", "decode_rec", "decode_read_resp", "command_fits", "FrameDecoder",
]

_TICK = struct.Struct("<BBiI")          # symbol, side, price, qty
_WRITE = struct.Struct("<BBI")          # leg, addr, data
_READ = struct.Struct("<B")             # addr
_REC = struct.Struct("<BBIIIiiII")      # leg, side, seq, tick, qty, price, hedge_position, cycle_in, cycle_out
_READ_RESP = struct.Struct("<BI")       # addr, value
# Their sizes are the lengths both sides share (hw/frame_format.py); tests/test_protocol.py checks that.
PAYLOAD_FORMATS = {FrameType.TICK: _TICK, FrameType.WRITE: _WRITE, FrameType.READ: _READ,
                   FrameType.PING: struct.Struct("<"), FrameType.REC: _REC, FrameType.READ_RESP: _READ_RESP}


def crc16(data) -> int:
    """CRC-16/CCITT-FALSE (a.k.a. CRC-16/IBM-3740) of ``data``; ``crc16(b"123456789") == 0x29B1``."""
    return binascii.crc_hqx(data, 0xFFFF)


# Payloads -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """A decoded frame whose header and CRC were good: ``type`` (an int, a :class:`FrameType` value), ``seq``
    (0..255) and the raw ``payload``."""
    type: int
    seq: int
    payload: bytes


@dataclass(frozen=True)
class TickFrame:
    """Payload of a TICK frame: ``side`` is a ``hw.layouts.TickSide`` code, ``price`` in milli-units."""
    symbol: int
    side: int
    price: int
    qty: int


@dataclass(frozen=True)
class ReadResp:
    """Payload of a READ_RESP frame; ``value`` is the register's u32 (H registers: two's complement)."""
    addr: int
    value: int


def _pack(layout: struct.Struct, *values) -> bytes:
    try:
        return layout.pack(*(int(value) for value in values))
    except struct.error as e:
        raise ValueError(f"payload field out of range: {e}") from None


def encode_frame(type: int, seq: int, payload: bytes = b"") -> bytes:
    """The complete frame of ``type`` with sequence number ``seq`` (taken modulo 256) and ``payload``.

    Any type and length are encoded (tests use this to build invalid frames); the typed encoders below build the
    valid ones.
    """
    payload = bytes(payload)
    if not 0 <= type <= 0xFF:
        raise ValueError(f"frame type {type} does not fit a byte")
    if len(payload) > 0xFF:
        raise ValueError(f"payload of {len(payload)} bytes is too long (at most 255)")
    body = bytes((len(payload), type, seq & 0xFF)) + payload
    return bytes((SYNC0, SYNC1)) + body + crc16(body).to_bytes(2, "big")


def encode_tick(seq: int, symbol: int, side: int, price: int, qty: int) -> bytes:
    return encode_frame(FrameType.TICK, seq, _pack(_TICK, symbol, side, price, qty))


def encode_write(seq: int, write: Write) -> bytes:
    return encode_frame(FrameType.WRITE, seq, _pack(_WRITE, write.leg, write.addr, write.data))


def encode_read(seq: int, addr: int) -> bytes:
    return encode_frame(FrameType.READ, seq, _pack(_READ, addr))


def encode_ping(seq: int) -> bytes:
    return encode_frame(FrameType.PING, seq)


def encode_rec(seq: int, rec: Recommendation) -> bytes:
    """A REC frame of ``rec``: its counters (seq, tick, cycle stamps) modulo 2^32, as the board sends them; a
    recommendation without cycle stamps (the model's) is sent with both 0."""
    counters = [value & 0xFFFF_FFFF for value in (rec.seq, rec.tick, rec.cycle_in or 0, rec.cycle_out or 0)]
    return encode_frame(FrameType.REC, seq, _pack(_REC, rec.leg, rec.side, counters[0], counters[1], rec.qty,
                                                  rec.price, rec.hedge_position, counters[2], counters[3]))


def encode_read_resp(seq: int, addr: int, value: int) -> bytes:
    """``value`` may be given signed (-2^31 .. 2^31-1, sent as two's complement) or unsigned (0 .. 2^32-1)."""
    if not -(1 << 31) <= value <= 0xFFFF_FFFF:
        raise ValueError(f"value {value} does not fit 32 bits")
    return encode_frame(FrameType.READ_RESP, seq, _pack(_READ_RESP, addr, value & 0xFFFF_FFFF))


def _check_length(payload: bytes, frame_type: FrameType):
    if len(payload) != PAYLOAD_LENGTHS[frame_type]:
        raise ValueError(f"{frame_type.name} payload must be {PAYLOAD_LENGTHS[frame_type]} bytes, "
                         f"not {len(payload)}")


def decode_tick(payload: bytes) -> TickFrame:
    _check_length(payload, FrameType.TICK)
    return TickFrame(*_TICK.unpack(payload))


def decode_write(payload: bytes) -> Write:
    _check_length(payload, FrameType.WRITE)
    return Write(*_WRITE.unpack(payload))


def decode_read(payload: bytes) -> int:
    """The status address of a READ payload."""
    _check_length(payload, FrameType.READ)
    return payload[0]


def decode_rec(payload: bytes) -> Recommendation:
    """The recommendation of a REC payload, its counters as sent (modulo 2^32)."""
    _check_length(payload, FrameType.REC)
    leg, side, seq, tick, qty, price, hedge_position, cycle_in, cycle_out = _REC.unpack(payload)
    if side > 1:
        raise ValueError(f"REC side {side} is neither BUY (0) nor SELL (1)")
    return Recommendation(seq=seq, tick=tick, leg=leg, side=side, qty=qty, price=price, hedge_position=hedge_position,
                          cycle_in=cycle_in, cycle_out=cycle_out)


def decode_read_resp(payload: bytes) -> ReadResp:
    _check_length(payload, FrameType.READ_RESP)
    return ReadResp(*_READ_RESP.unpack(payload))


def command_fits(frame_type: int, payload: bytes, params) -> bool:
    """Whether a TICK or WRITE frame's fields fit the core described by ``params`` (a ``CoreParams``; only
    ``symbols``, ``price_width`` and ``qty_width`` are used). The board drops, and counts in ``frame_errors``, a
    good frame that does not fit (docs/protocol.md). Other frame types always fit.
    """
    if frame_type == FrameType.TICK:
        tick = decode_tick(payload)
        price_limit = 1 << (params.price_width - 1)
        return (tick.symbol < params.symbols and tick.side <= 3 and -price_limit <= tick.price < price_limit
                and tick.qty < 1 << params.qty_width)
    if frame_type == FrameType.WRITE:
        write = decode_write(payload)
        return write.leg <= 15 and write.addr <= 31
    return True


# Decoding -------------------------------------------------------------------------------------------------------


class FrameDecoder:
    """Streaming frame decoder: :meth:`feed` it bytes as they arrive, it returns the good frames completed so far.

    ``lengths`` maps each TYPE this side receives to its payload length: :data:`BOARD_TO_HOST_LENGTHS` (the default,
    for a host reading the board) or :data:`HOST_TO_BOARD_LENGTHS` (what the board receives). With ``params``
    given, TICK and WRITE frames are also checked with :func:`command_fits`, as the board does.

    The rule (docs/protocol.md, "Decoding, errors and resynchronisation"), identical to the gateware's:
    from the scan position, hunt for ``A5 5A``; once the header has arrived, a TYPE not in ``lengths`` or a LEN
    not matching it drops the candidate (``frame_errors``); once the whole frame has arrived, a CRC mismatch drops
    it (``crc_errors``); after a drop scanning resumes at the byte after the candidate's SYNC0. A good frame is
    returned (unless ``params`` rejects it: ``frame_errors``), its SEQ is checked against the previous good frame's
    (``seq_gaps``; the first good frame is never a gap), and scanning continues after it.

    Counters: ``frame_errors``, ``crc_errors``, ``seq_gaps`` (plain ints, not wrapped). ``pending`` is the number of
    bytes kept for an undecided candidate or a possible SYNC0 at the end of the data.
    """

    def __init__(self, lengths=BOARD_TO_HOST_LENGTHS, params=None):
        self._lengths = {int(t): n for t, n in lengths.items()}
        self._params = params
        self._buf = bytearray()
        self._last_seq = None
        self.frame_errors = 0
        self.crc_errors = 0
        self.seq_gaps = 0

    @property
    def pending(self) -> int:
        return len(self._buf)

    def feed(self, data) -> list[Frame]:
        buf = self._buf
        buf += data
        end_of_data = len(buf)
        frames = []
        pos = 0
        while True:
            start = buf.find(b"\xA5\x5A", pos)
            if start < 0:
                # Keep a trailing SYNC0: it may be the start of a frame whose SYNC1 has not arrived yet.
                pos = end_of_data - 1 if end_of_data and buf[-1] == SYNC0 else end_of_data
                break
            if start + HEADER_SIZE > end_of_data:
                pos = start
                break
            length, frame_type, seq = buf[start + 2], buf[start + 3], buf[start + 4]
            if self._lengths.get(frame_type) != length:
                self.frame_errors += 1
                pos = start + 1
                continue
            end = start + OVERHEAD + length
            if end > end_of_data:
                pos = start
                break
            if crc16(buf[start + 2:end - 2]) != int.from_bytes(buf[end - 2:end], "big"):
                self.crc_errors += 1
                pos = start + 1
                continue
            pos = end
            if self._last_seq is not None and seq != (self._last_seq + 1) & 0xFF:
                self.seq_gaps += 1
            self._last_seq = seq
            payload = bytes(buf[start + HEADER_SIZE:end - 2])
            if self._params is not None and not command_fits(frame_type, payload, self._params):
                self.frame_errors += 1
                continue
            frames.append(Frame(frame_type, seq, payload))
        del buf[:pos]
        return frames

"""The serial link's frame format, as both sides use it: sync bytes, frame types and payload lengths
(docs/protocol.md is the specification). The gateware's decoder and encoder (``frame_decoder.py``,
``frame_encoder.py``) and the host's codec (``hedgegate.host.protocol``) take every constant from here, so the two
sides cannot disagree on one; the payloads' field layouts are each side's own (Amaranth layouts here, ``struct``
formats on the host), checked against each other by tests/test_frame_codec.py and tests/test_protocol.py.

Every frame is::

    A5 5A  LEN  TYPE  SEQ  PAYLOAD (LEN bytes)  CRC (2 bytes, big-endian)
"""

import enum

__all__ = ["SYNC0", "SYNC1", "HEADER_SIZE", "OVERHEAD", "FrameType", "PAYLOAD_LENGTHS", "HOST_TO_BOARD_LENGTHS",
           "BOARD_TO_HOST_LENGTHS"]

SYNC0 = 0xA5
SYNC1 = 0x5A
HEADER_SIZE = 5            # SYNC0 SYNC1 LEN TYPE SEQ
OVERHEAD = HEADER_SIZE + 2  # ... and the CRC: a frame is OVERHEAD + LEN bytes


class FrameType(enum.IntEnum):
    # host -> board
    TICK = 0x01
    WRITE = 0x02
    READ = 0x03
    PING = 0x04
    # board -> host
    REC = 0x81
    READ_RESP = 0x82


PAYLOAD_LENGTHS = {
    FrameType.TICK: 10,        # symbol u8, side u8, price i32, qty u32
    FrameType.WRITE: 6,        # leg u8, addr u8, data u32
    FrameType.READ: 1,         # addr u8
    FrameType.PING: 0,
    FrameType.REC: 30,         # leg, side, seq, tick, qty, price, hedge_position, cycle_in, cycle_out
    FrameType.READ_RESP: 5,    # addr u8, value u32
}
HOST_TO_BOARD_LENGTHS = {t: n for t, n in PAYLOAD_LENGTHS.items() if t < 0x80}
BOARD_TO_HOST_LENGTHS = {t: n for t, n in PAYLOAD_LENGTHS.items() if t >= 0x80}

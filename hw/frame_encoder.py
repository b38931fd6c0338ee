"""Encoder of the frames the board sends to the host (docs/protocol.md): REC and READ_RESP payloads in, bytes out."""

from amaranth.hdl import Cat, Const, Module, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.crc import catalog
from amaranth.lib.wiring import In, Out

from .frame_format import HEADER_SIZE, SYNC0, SYNC1, FrameType   # the wire format, defined once

__all__ = ["FrameEncoder", "rec_payload_layout", "read_resp_payload_layout"]

# The payloads exactly as on the wire: little-endian, byte k of the payload is bits 8k .. 8k+7 of the layout.
rec_payload_layout = data.StructLayout({
    "leg":            8,
    "side":           8,              # RecSide
    "seq":            32,
    "tick":           32,
    "qty":            32,
    "price":          signed(32),
    "hedge_position": signed(32),
    "cycle_in":       32,
    "cycle_out":      32,
})
read_resp_payload_layout = data.StructLayout({
    "addr":  8,
    "value": 32,
})

_HEADER = HEADER_SIZE     # SYNC0 SYNC1 LEN TYPE SEQ


class FrameEncoder(wiring.Component):
    """Board-to-host frame encoder.

    :attr rec: recommendations to send as REC frames (:data:`rec_payload_layout`, 30 bytes).
    :attr read_resp: status register answers to send as READ_RESP frames (:data:`read_resp_payload_layout`,
        5 bytes).
    :attr bytes: the frames' bytes, for :class:`~.uart.UARTTx`.

    Frames are sent one at a time, whole: a payload is taken from its input when a frame starts (the input's
    ``ready`` is high for that one cycle) and held in a shift register with the frame's header. SEQ is the
    encoder's own frame counter (from 0 after reset, +1 per frame of either type, modulo 256). The CRC
    (CRC-16/CCITT-FALSE, :mod:`amaranth.lib.crc`) is computed over LEN, TYPE, SEQ and the payload as they are
    sent and appended high byte first.

    Arbitration: when both inputs are valid as a frame starts, the kind not sent last goes first (round robin), so
    a burst of recommendations never holds back the answer to a READ or PING (the host's watchdog keep-alive) by
    more than one REC frame. Between frames one cycle is spent choosing, and each byte waits a cycle in an output
    register; with a UART behind it, a byte takes ``10 * divisor`` cycles, so the link runs without gaps.
    """

    def __init__(self):
        super().__init__({
            "rec":       In(stream.Signature(rec_payload_layout)),
            "read_resp": In(stream.Signature(read_resp_payload_layout)),
            "bytes":     Out(stream.Signature(8)),
        })

    def elaborate(self, platform):
        m = Module()

        rec_len = rec_payload_layout.size // 8
        resp_len = read_resp_payload_layout.size // 8

        shreg = Signal((_HEADER + rec_len) * 8)   # bytes still to send before the CRC, the next one lowest
        index = Signal(range(_HEADER + rec_len))   # index in the frame of the byte on `bytes`
        last = Signal(range(_HEADER + rec_len))    # index of the frame's last byte before the CRC
        seq = Signal(8)
        last_was_rec = Signal()

        # The output byte is a register, refilled only once it is empty: the shift register then moves on a
        # condition of two flip-flops (the state and this register's ``valid``) instead of on the transmitter's
        # ``ready``, which matters at ~300 flip-flops of fanout. Refilling takes a cycle after each byte; the UART
        # takes 10 x divisor cycles per byte, so the link still runs without gaps.
        with m.If(self.bytes.valid & self.bytes.ready):
            m.d.sync += self.bytes.valid.eq(0)
        byte = Signal(8)                        # the next byte of the frame, in BODY, CRC_HIGH and CRC_LOW
        sent = Signal()                         # it moves into the output register
        with m.If(sent):
            m.d.sync += [self.bytes.valid.eq(1), self.bytes.payload.eq(byte)]

        m.submodules.crc = crc = catalog.CRC16_CCITT_FALSE(8).create()
        m.d.comb += crc.data.eq(byte)

        def header(length, frame_type):
            return Cat(Const(SYNC0, 8), Const(SYNC1, 8), Const(length, 8), Const(frame_type, 8), seq)

        with m.FSM():
            with m.State("IDLE"):
                pick_rec = Signal()
                pick_resp = Signal()
                m.d.comb += [
                    pick_rec.eq(self.rec.valid & (~self.read_resp.valid | ~last_was_rec)),
                    pick_resp.eq(self.read_resp.valid & ~pick_rec),
                    self.rec.ready.eq(pick_rec),
                    self.read_resp.ready.eq(pick_resp),
                ]
                m.d.sync += index.eq(0)
                with m.If(pick_rec):
                    m.d.sync += [
                        shreg.eq(Cat(header(rec_len, int(FrameType.REC)), self.rec.payload)),
                        last.eq(_HEADER + rec_len - 1),
                        last_was_rec.eq(1),
                    ]
                    m.next = "BODY"
                with m.Elif(pick_resp):
                    m.d.sync += [
                        shreg.eq(Cat(header(resp_len, int(FrameType.READ_RESP)), self.read_resp.payload)),
                        last.eq(_HEADER + resp_len - 1),
                        last_was_rec.eq(0),
                    ]
                    m.next = "BODY"
            with m.State("BODY"):
                m.d.comb += [
                    sent.eq(~self.bytes.valid),
                    byte.eq(shreg[:8]),
                    crc.start.eq(index == 2),
                    crc.valid.eq(sent & (index >= 2)),
                ]
                with m.If(sent):
                    m.d.sync += [shreg.eq(shreg >> 8), index.eq(index + 1)]
                    with m.If(index == last):
                        m.next = "CRC_HIGH"
            with m.State("CRC_HIGH"):
                m.d.comb += [sent.eq(~self.bytes.valid), byte.eq(crc.crc[8:])]
                with m.If(sent):
                    m.next = "CRC_LOW"
            with m.State("CRC_LOW"):
                m.d.comb += [sent.eq(~self.bytes.valid), byte.eq(crc.crc[:8])]
                with m.If(sent):
                    m.d.sync += seq.eq(seq + 1)
                    m.next = "IDLE"

        return m

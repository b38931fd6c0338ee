"""Decoder of the frames the host sends to the board (docs/protocol.md): bytes in, core commands and reads out."""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.crc import catalog
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .frame_format import HOST_TO_BOARD_LENGTHS, SYNC0, SYNC1, FrameType   # the wire format, defined once
from .layouts import CommandKind, command_layout
from .params import CoreParams

__all__ = ["FrameDecoder", "tick_payload_layout", "write_payload_layout"]

_LENGTHS = {int(t): n for t, n in HOST_TO_BOARD_LENGTHS.items()}
MAX_PAYLOAD = max(_LENGTHS.values())

# Payloads as they are on the wire: little-endian, so byte k of the payload is bits 8k .. 8k+7 of these layouts.
tick_payload_layout = data.StructLayout({"symbol": 8, "side": 8, "price": signed(32), "qty": 32})
write_payload_layout = data.StructLayout({"leg": 8, "addr": 8, "data": 32})


class FrameDecoder(wiring.Component):
    """Host-to-board frame decoder.

    :param params: the core's :class:`~.params.CoreParams` (the command layout, and the field checks).
    :param paced: ``bytes.ready`` follows the parser (the virtual board, whose bytes come one per cycle) instead of
        being held high (a UART, which cannot wait); see the replay buffer below.

    :attr bytes: received bytes (from :class:`~.uart.UARTRx`). ``ready`` is held high (unless ``paced``): every byte
        is taken in the cycle it is offered.
    :attr cmd: TICK and WRITE frames as core commands, packed exactly as :func:`~.layouts.command_layout` with
        kind TICK or WRITE (bits of the union not used by the kind are 0); in the order the frames were received.
    :attr read: READ frames: the status address; a PING gives address 0.
    :attr frame_error: pulse per frame dropped for an unknown TYPE, a LEN not matching its TYPE, or fields that do
        not fit the core (TICK: symbol >= ``params.symbols``, side > 3, price outside ``price_width``, qty outside
        ``qty_width``; WRITE: leg > 15 or addr > 31).
    :attr crc_error: pulse per frame dropped for a CRC mismatch.
    :attr seq_gap: pulse per good frame whose SEQ is not the previous good frame's SEQ + 1 (not for the first one).
    :attr overflow: pulse per byte dropped because the replay buffer was full (see below; never in normal use).

    Algorithm: incoming bytes are written into a 32-byte ring buffer (the *replay buffer*), and a parser reads them
    back, one per cycle, through the frame's fields: hunt for ``A5 5A``, header (LEN, TYPE, SEQ), payload, CRC.
    Each byte is fetched from the buffer into a register a cycle before the parser decides on it (the buffer is a
    block RAM on the iCE40, and its read and the checks are timed apart). The payload bytes (at most 10) are kept in
    registers; LEN, TYPE, SEQ and the payload go through a
    :class:`~amaranth.lib.crc.Processor` (CRC-16/CCITT-FALSE), and its result is compared with the received CRC
    on the frame's last byte. Only then is the command or read released, from registers, so nothing of a frame
    reaches the core before its CRC has been checked.

    Resynchronisation (the rule of docs/protocol.md, which ``host/protocol.FrameDecoder`` implements too): a
    candidate dropped at its header (``frame_error``) or at its CRC (``crc_error``) is rescanned from the byte
    after its SYNC0, by moving the read pointer back into the replay buffer; the buffer keeps every byte from the
    current candidate's SYNC0 on. A real frame that begins inside a false or truncated candidate is so found
    intact. A candidate is at most 17 bytes (a wrong LEN is caught after the header), so each byte is read at most
    17 times; the parser's one byte per cycle keeps far ahead of a UART delivering one byte per ``10 * divisor``
    (>= 40) cycles.

    Back-pressure: ``cmd`` and ``read`` each have one output register (one frame of buffering). When a frame
    completes while either register is still full, the parser waits on the frame's last byte, and the bytes that
    keep arriving wait in the replay buffer: nothing is dropped. The core holds ``cmd.ready`` low only while it
    applies a register write (tens of cycles), shorter than one byte time at useful baud rates, so in practice
    the parser never waits for more than a byte or two. Only if it had to wait for ~15 byte times would the
    replay buffer fill; further bytes are then dropped (``overflow``) and the stream after them is decoded as a
    corrupted one. The decoder never wedges: every candidate is decided within 17 bytes.
    """

    REPLAY_DEPTH = 32

    def __init__(self, params: CoreParams = CoreParams(), *, paced: bool = False):
        self._params = params
        self._paced = paced
        super().__init__({
            "bytes":       In(stream.Signature(8)),
            "cmd":         Out(stream.Signature(command_layout(params))),
            "read":        Out(stream.Signature(8)),
            "frame_error": Out(1),
            "crc_error":   Out(1),
            "seq_gap":     Out(1),
            "overflow":    Out(1),
        })

    @property
    def params(self) -> CoreParams:
        return self._params

    def elaborate(self, platform):
        m = Module()
        p = self._params
        depth = self.REPLAY_DEPTH
        ptr_width = (depth - 1).bit_length() + 1     # one more bit than the address: full and empty differ

        def release(kind, name, fields):
            """Statements that put a checked TICK or WRITE payload on ``cmd`` (unused union bits zero)."""
            body = getattr(self.cmd.payload.body, name)
            return [self.cmd.payload.eq(0), self.cmd.payload.kind.eq(int(kind)), self.cmd.valid.eq(1)] + \
                [getattr(body, field).eq(getattr(fields, field)) for field, _ in body.shape()]

        # Replay buffer -------------------------------------------------------------------------------------------
        m.submodules.replay = replay = Memory(shape=8, depth=depth, init=[])
        wr_port = replay.write_port()
        rd_port = replay.read_port(domain="comb")

        wr = Signal(ptr_width)      # next byte to write
        rd = Signal(ptr_width)      # next byte to fetch
        fetched = Signal()          # the byte at `byte_at` is in the parser's register (see Parser)
        byte_at = Signal(ptr_width)
        start = Signal(ptr_width)   # SYNC0 of the current candidate
        in_frame = Signal()         # a candidate is open: keep the bytes from `start` on
        base = Signal(ptr_width)
        level = Signal(ptr_width)
        full = Signal()
        m.d.comb += [
            base.eq(Mux(in_frame, start, Mux(fetched, byte_at, rd))),    # the oldest byte still needed
            level.eq(wr - base),
            full.eq(level == depth),
        ]

        # A UART cannot wait, so the board's decoder takes every byte (ready high); `paced` (the virtual board, fed
        # a byte per cycle) takes one only while fewer than three are waiting for the parser (the one in its
        # register, the one being fetched, one more: with fewer it could not take a byte every cycle), so the
        # replay buffer holds at most the current candidate and three bytes, and never overflows, however the
        # bytes come (rescans after errors included).
        if self._paced:
            backlog = Signal(ptr_width)
            m.d.comb += [backlog.eq(wr - Mux(fetched, byte_at, rd)), self.bytes.ready.eq((backlog < 3) & ~full)]
        else:
            m.d.comb += self.bytes.ready.eq(1)
        m.d.comb += [
            wr_port.addr.eq(wr[:ptr_width - 1]),
            wr_port.data.eq(self.bytes.payload),
        ]
        with m.If(self.bytes.valid & self.bytes.ready if self._paced else self.bytes.valid):
            with m.If(full):
                m.d.comb += self.overflow.eq(1)
            with m.Else():
                m.d.comb += wr_port.en.eq(1)
                m.d.sync += wr.eq(wr + 1)

        # Parser ------------------------------------------------------------------------------------------------
        # The byte being parsed is fetched from the replay buffer into a register one cycle ahead (`byte`, from
        # position `byte_at`), so that the buffer's read multiplexer and the parser's checks (the CRC comparison,
        # the field checks, the release of the command) are timed separately: in one cycle they were the iCE40
        # build's critical path (docs/boards.md). A byte is fetched whenever the register is empty or being
        # parsed in this cycle, so the parser still takes one byte per cycle; a drop empties it.
        byte = Signal(8)
        available = Signal()
        stall = Signal()
        take = Signal()
        m.d.comb += [
            rd_port.addr.eq(rd[:ptr_width - 1]),
            available.eq(rd != wr),
            take.eq(fetched & ~stall),
        ]
        with m.If((~fetched | take) & available):
            m.d.sync += [byte.eq(rd_port.data), byte_at.eq(rd), rd.eq(rd + 1), fetched.eq(1)]
        with m.Elif(take):
            m.d.sync += fetched.eq(0)

        length = Signal(8)
        frame_type = Signal(8)
        seq = Signal(8)
        count = Signal(range(MAX_PAYLOAD))
        payload = Signal(data.UnionLayout({"tick": tick_payload_layout, "write": write_payload_layout,
                                           "read_addr": 8}))
        crc_high = Signal(8)
        last_seq = Signal(8)
        seq_seen = Signal()

        m.submodules.crc = crc = catalog.CRC16_CCITT_FALSE(8).create()
        m.d.comb += crc.data.eq(byte)

        header_ok = Signal()
        m.d.comb += header_ok.eq(Cat(*((frame_type == t) & (length == n) for t, n in _LENGTHS.items())).any())

        # Checks that a good TICK or WRITE fits the core's command layout.
        tick, write = payload.tick, payload.write
        price_ok = Const(1)
        if p.price_width < 32:
            high = tick.price[p.price_width - 1:]
            price_ok = high.all() | ~high.any()
        qty_ok = Const(1) if p.qty_width == 32 else ~tick.qty[p.qty_width:].any()
        tick_ok = Signal()
        write_ok = Signal()
        m.d.comb += [
            tick_ok.eq((tick.symbol < p.symbols) & (tick.side < 4) & price_ok & qty_ok),
            write_ok.eq((write.leg < 16) & (write.addr < 32)),
        ]

        with m.If(self.cmd.ready):
            m.d.sync += self.cmd.valid.eq(0)
        with m.If(self.read.ready):
            m.d.sync += self.read.valid.eq(0)

        def drop():
            """Give up the candidate and rescan from the byte after its SYNC0 (the byte fetched after this one is
            discarded)."""
            m.d.sync += [rd.eq(start + 1), in_frame.eq(0), fetched.eq(0)]
            m.next = "HUNT"

        with m.FSM():
            with m.State("HUNT"):
                with m.If(take & (byte == SYNC0)):
                    m.d.sync += [start.eq(byte_at), in_frame.eq(1)]
                    m.next = "SYNC1"
            with m.State("SYNC1"):
                with m.If(take):
                    with m.If(byte == SYNC1):
                        m.next = "LEN"
                    with m.Elif(byte == SYNC0):
                        m.d.sync += start.eq(byte_at)    # same as rescanning from here
                    with m.Else():
                        m.d.sync += in_frame.eq(0)
                        m.next = "HUNT"
            with m.State("LEN"):
                with m.If(take):
                    m.d.comb += [crc.start.eq(1), crc.valid.eq(1)]
                    m.d.sync += length.eq(byte)
                    m.next = "TYPE"
            with m.State("TYPE"):
                with m.If(take):
                    m.d.comb += crc.valid.eq(1)
                    m.d.sync += frame_type.eq(byte)
                    m.next = "SEQ"
            with m.State("SEQ"):
                with m.If(take):
                    m.d.comb += crc.valid.eq(1)
                    m.d.sync += [seq.eq(byte), count.eq(0)]
                    with m.If(~header_ok):
                        m.d.comb += self.frame_error.eq(1)
                        drop()
                    with m.Elif(length == 0):
                        m.next = "CRC_HIGH"
                    with m.Else():
                        m.next = "PAYLOAD"
            with m.State("PAYLOAD"):
                with m.If(take):
                    m.d.comb += crc.valid.eq(1)
                    m.d.sync += [payload.as_value().word_select(count, 8).eq(byte), count.eq(count + 1)]
                    with m.If(count == length - 1):
                        m.next = "CRC_HIGH"
            with m.State("CRC_HIGH"):
                with m.If(take):
                    m.d.sync += crc_high.eq(byte)
                    m.next = "CRC_LOW"
            with m.State("CRC_LOW"):
                # Wait here, with the frame's last byte unread, while an output register is still full.
                m.d.comb += stall.eq(self.cmd.valid | self.read.valid)
                with m.If(take):
                    with m.If(Cat(byte, crc_high) != crc.crc):
                        m.d.comb += self.crc_error.eq(1)
                        drop()
                    with m.Else():
                        m.d.sync += [last_seq.eq(seq), seq_seen.eq(1), in_frame.eq(0)]
                        m.d.comb += self.seq_gap.eq(seq_seen & (seq != (last_seq + 1)[:8]))
                        m.next = "HUNT"
                        with m.Switch(frame_type):
                            with m.Case(int(FrameType.TICK)):
                                with m.If(tick_ok):
                                    m.d.sync += release(CommandKind.TICK, "tick", tick)
                                with m.Else():
                                    m.d.comb += self.frame_error.eq(1)
                            with m.Case(int(FrameType.WRITE)):
                                with m.If(write_ok):
                                    m.d.sync += release(CommandKind.WRITE, "write", write)
                                with m.Else():
                                    m.d.comb += self.frame_error.eq(1)
                            with m.Case(int(FrameType.READ)):
                                m.d.sync += [self.read.payload.eq(payload.read_addr), self.read.valid.eq(1)]
                            with m.Case(int(FrameType.PING)):
                                m.d.sync += [self.read.payload.eq(0), self.read.valid.eq(1)]

        return m

"""The hedging engine behind its serial link: what a board runs, independent of the board.

    rx -> UARTRx -> FrameDecoder --cmd--> [watchdog halt injection] -> HedgeCore --recs--> RecQueue --+
                               \\--read--> StatusRegisters --read_resp----------------------------------+-> FrameEncoder -> UARTTx -> tx

Everything runs in one clock domain; ``divisor`` is the number of clock cycles per UART bit (e.g. 50 at 150 MHz
for 3 Mbaud). The frame format is docs/protocol.md.

Watchdog: the global register ``WATCHDOG`` (address 30, written like any register in a WRITE frame and snooped
from the command stream as it enters the core) holds a number of cycles, 0 (the default) for off. When that many
cycles pass without a good frame (any TICK, WRITE, READ or PING that passed its checks), the engine puts a write
of ``HALT = 1`` into the core's command stream -- between two commands, so in order like any write -- and counts a
watchdog trip. The host clears the halt with a WRITE of ``HALT = 0``.

``heartbeat`` toggles every ``heartbeat_cycles`` cycles, for an LED.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .core import HedgeCore
from .frame_decoder import FrameDecoder
from .frame_encoder import FrameEncoder
from .layouts import CommandKind
from .params import CoreParams
from .rec_queue import RecQueue
from .regmap import GlobalReg
from .status_registers import StatusRegisters
from .uart import UARTRx, UARTTx

__all__ = ["SerialEngine"]


class SerialEngine(wiring.Component):
    rx: In(1, init=1)
    tx: Out(1, init=1)
    heartbeat: Out(1)

    def __init__(self, params: CoreParams = CoreParams(), *, divisor: int, heartbeat_cycles: int = 1 << 24,
                 rec_queue_depth: int = 16):
        self.params = params
        self._divisor = divisor
        self._heartbeat_cycles = heartbeat_cycles
        self._rec_queue_depth = rec_queue_depth
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        p = self.params
        m.submodules.uart_rx = uart_rx = UARTRx(self._divisor)
        m.submodules.uart_tx = uart_tx = UARTTx(self._divisor)
        m.submodules.decoder = decoder = FrameDecoder(p)
        m.submodules.core = core = HedgeCore(p)
        m.submodules.rec_queue = rec_queue = RecQueue(p, depth=self._rec_queue_depth)
        m.submodules.encoder = encoder = FrameEncoder()
        m.submodules.status = status = StatusRegisters(p)

        m.d.comb += [uart_rx.rx.eq(self.rx), self.tx.eq(uart_tx.tx)]
        wiring.connect(m, uart_rx.stream, decoder.bytes)
        wiring.connect(m, decoder.read, status.read)
        wiring.connect(m, core.recs, rec_queue.recs)
        wiring.connect(m, rec_queue.rec, encoder.rec)
        wiring.connect(m, status.read_resp, encoder.read_resp)
        wiring.connect(m, encoder.bytes, uart_tx.stream)

        # Watchdog and the command stream into the core.
        timeout = Signal(32)
        idle = Signal(32)
        pending = Signal()        # a trip waits to be put into the command stream
        injecting = Signal()      # the halt write is on core.cmd
        trip = Signal()
        good_frame = (decoder.cmd.valid & decoder.cmd.ready) | (decoder.read.valid & decoder.read.ready)
        with m.If(good_frame | (timeout == 0)):
            m.d.sync += idle.eq(0)
        with m.Elif(idle != timeout):
            m.d.sync += idle.eq(idle + 1)
            m.d.comb += trip.eq(idle + 1 == timeout)
        with m.If(trip):
            m.d.sync += pending.eq(1)
        with m.If(pending & ~injecting & ~decoder.cmd.valid):
            m.d.sync += injecting.eq(1)

        with m.If(injecting):
            m.d.comb += [
                core.cmd.valid.eq(1),
                core.cmd.payload.kind.eq(CommandKind.WRITE),
                core.cmd.payload.body.write.addr.eq(GlobalReg.HALT),
                core.cmd.payload.body.write.data.eq(1),
            ]
            with m.If(core.cmd.ready):
                m.d.sync += [injecting.eq(0), pending.eq(0)]
        with m.Else():
            wiring.connect(m, decoder.cmd, core.cmd)
        write = core.cmd.payload.body.write
        with m.If(core.cmd.valid & core.cmd.ready & (core.cmd.payload.kind == CommandKind.WRITE)
                  & (write.addr == GlobalReg.WATCHDOG)):
            m.d.sync += timeout.eq(write.data)

        m.d.comb += [
            status.ticks_in.eq(core.ticks_in),
            status.recs_out.eq(core.recs_out),
            status.limit_blocked.eq(core.limit_blocked),
            status.price_blocked.eq(core.price_blocked),
            status.halted.eq(core.halted),
            status.positions.eq(core.positions),
        ]
        # Event pulses reach their counters one cycle late, through a register: the decoders' decision logic and
        # the counters' 32-bit adders are then timed separately (together they were the iCE40 build's critical
        # path, docs/boards.md). A host reads the counters over the link, far more than one cycle later.
        m.d.sync += [
            status.frame_error.eq(decoder.frame_error),
            status.crc_error.eq(decoder.crc_error),
            status.uart_error.eq(uart_rx.error),
            status.seq_gap.eq(decoder.seq_gap),
            status.watchdog_trip.eq(trip),
            status.rec_dropped.eq(rec_queue.dropped),
        ]

        heartbeat_count = Signal(range(self._heartbeat_cycles))
        with m.If(heartbeat_count == self._heartbeat_cycles - 1):
            m.d.sync += [heartbeat_count.eq(0), self.heartbeat.eq(~self.heartbeat)]
        with m.Else():
            m.d.sync += heartbeat_count.eq(heartbeat_count + 1)
        return m

r"""The hedging engine behind its serial link: what a board runs, independent of the board.

    sync (serial side)                                              |  core
    rx -> UARTRx -> FrameDecoder --cmd--> [watchdog halt] --StreamCrossing--> HedgeCore --recs--+
                              \--read--> StatusRegisters <--CoreStatus (lookup)-->  values     |
    tx <- UARTTx <- FrameEncoder <--read_resp--/                                                |
                              \<--rec-- RecQueue (FIFO <--StreamCrossing) <--------------------+

Two clock domains: ``core_domain`` (default ``"core"``) runs the hedge core (:class:`~hedgegate.hw.core.HedgeCore`,
its ``sync`` renamed), the serial side runs in ``sync`` (``divisor`` is its number of clock cycles per UART bit,
e.g. 16 at 48 MHz for 3 Mbaud). They meet in three places, each a handshake over ``lib.cdc`` pulse synchronizers:
commands (ticks and register writes, in order) cross one at a time in a :class:`~.stream_crossing.StreamCrossing`,
recommendation vectors in RecQueue's (its FIFO is on the serial side), and status reads by a pulse-synchronised
lookup (:class:`~hedgegate.hw.core_status.CoreStatus`). So the serial side's logic, which has ~10 bit times per
byte, is not timed against the core's clock, the core's clock need not be a multiple of the baud rate
(hw/board.py), and no crossing's bookkeeping is in the core's timing. Commands need no queue: the frame decoder's
output register and its 32-byte replay buffer hold what arrives while the core applies a write (tens of cycles) or
a command is crossing (~100 ns), far less than the 170 bit times of a TICK frame. With ``core_domain="sync"``
everything runs on one clock and the crossings are left out (commands go straight into the core, RecQueue's FIFO
takes the core's vectors directly): the iCEBreaker, whose PLL has one output, has no room for them (the two-domain
engine did not fit its 5280 logic cells). The frame format is docs/protocol.md.

Watchdog (serial side): the global register ``WATCHDOG`` (address 30, written like any register in a WRITE frame
and snooped from the command stream on its way to the core) holds a number of ``sync`` cycles, 0 (the
default) for off. When that many cycles pass without a good frame (any TICK, WRITE, READ or PING that passed its
checks), the engine puts a write of ``HALT = 1`` into the command stream -- between two commands, so in order like
any write -- and counts a watchdog trip. The host clears the halt with a WRITE of ``HALT = 0``.

``heartbeat`` toggles every ``heartbeat_cycles`` ``sync`` cycles, for an LED.
"""

from amaranth.hdl import DomainRenamer, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .core import HedgeCore
from .core_status import CoreStatus
from .frame_decoder import FrameDecoder
from .frame_encoder import FrameEncoder
from .identity import design_identity
from .layouts import CommandKind, command_layout
from .params import CoreParams
from .rec_queue import RecQueue
from .regmap import GlobalReg
from .status_registers import StatusRegisters
from .stream_crossing import StreamCrossing
from .uart import UARTRx, UARTTx

__all__ = ["SerialEngine"]


class SerialEngine(wiring.Component):
    """The engine a board runs, or the virtual board's (``uart=False``).

    Parameters
    ----------
    params : CoreParams
        The core.
    divisor : int
        ``sync`` cycles per UART bit (with ``uart``).
    heartbeat_cycles : int
        ``sync`` cycles between toggles of ``heartbeat``.
    rec_queue_depth : int
        Recommendation vectors the transmit queue holds.
    core_domain : str
        The core's clock domain; ``"sync"`` for one clock (no crossings).
    uart : bool
        With the UART (the boards). Without it (the virtual board, ``hedgegate board-sim``) the bytes go in and out
        at the frame decoder and encoder, a byte per cycle: ``rx_byte.ready`` is the decoder's, paced to its parser
        (its 32-byte replay buffer is sized for a UART's rate, not a byte per cycle); everything above the UART is
        the board's gateware.

    Attributes
    ----------
    rx, tx : Signal
        The UART's pins (with ``uart``).
    rx_byte, tx_byte : stream of 8 bits
        Host-to-board and board-to-host bytes (without ``uart``).
    heartbeat : Signal
        Toggles every ``heartbeat_cycles``, for an LED.
    """

    def __init__(self, params: CoreParams = CoreParams(), *, divisor: int = 16, heartbeat_cycles: int = 1 << 24,
                 rec_queue_depth: int = 16, core_domain: str = "core", uart: bool = True):
        self.params = params
        self._core_domain = core_domain
        self._divisor = divisor
        self._heartbeat_cycles = heartbeat_cycles
        self._rec_queue_depth = rec_queue_depth
        self._uart = uart
        if uart:
            ports = {"rx": In(1, init=1), "tx": Out(1, init=1)}
        else:
            ports = {"rx_byte": In(stream.Signature(8)), "tx_byte": Out(stream.Signature(8))}
        super().__init__({**ports, "heartbeat": Out(1)})

    def elaborate(self, platform):
        m = Module()
        p = self.params
        if self._uart:
            m.submodules.uart_rx = uart_rx = UARTRx(self._divisor)
            m.submodules.uart_tx = uart_tx = UARTTx(self._divisor)
        m.submodules.decoder = decoder = FrameDecoder(p, paced=not self._uart)
        domain = self._core_domain
        separate = domain != "sync"
        m.submodules.core = core = DomainRenamer({"sync": domain})(HedgeCore(p)) if separate else HedgeCore(p)
        m.submodules.rec_queue = rec_queue = RecQueue(p, depth=self._rec_queue_depth, w_domain=domain)
        m.submodules.encoder = encoder = FrameEncoder()
        m.submodules.status = status = StatusRegisters(design_identity(p))
        m.submodules.core_status = core_status = CoreStatus(p, core_domain=domain, read_domain="sync")

        if self._uart:
            m.d.comb += [uart_rx.rx.eq(self.rx), self.tx.eq(uart_tx.tx)]
            wiring.connect(m, uart_rx.stream, decoder.bytes)
            uart_error = uart_rx.error
        else:
            wiring.connect(m, wiring.flipped(self.rx_byte), decoder.bytes)
            uart_error = 0
        wiring.connect(m, decoder.read, status.read)
        wiring.connect(m, core.recs, rec_queue.recs)
        wiring.connect(m, rec_queue.rec, encoder.rec)
        wiring.connect(m, status.read_resp, encoder.read_resp)
        if self._uart:
            wiring.connect(m, encoder.bytes, uart_tx.stream)
        else:
            wiring.connect(m, encoder.bytes, wiring.flipped(self.tx_byte))

        # Watchdog, and the command stream into the core (through the crossing into its domain).
        commands = stream.Signature(command_layout(p)).create()
        if separate:
            m.submodules.cmd_crossing = cmd_crossing = StreamCrossing(command_layout(p), i_domain="sync",
                                                                      o_domain=domain)
            wiring.connect(m, commands, cmd_crossing.i)
            wiring.connect(m, cmd_crossing.o, core.cmd)
        else:
            wiring.connect(m, commands, core.cmd)
        timeout = Signal(32)
        idle = Signal(32)
        pending = Signal()        # a trip waits to be put into the command stream
        injecting = Signal()      # the halt write is on the command stream
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
                commands.valid.eq(1),
                commands.payload.kind.eq(CommandKind.WRITE),
                commands.payload.body.write.addr.eq(GlobalReg.HALT),
                commands.payload.body.write.data.eq(1),
            ]
            with m.If(commands.ready):
                m.d.sync += [injecting.eq(0), pending.eq(0)]
        with m.Else():
            wiring.connect(m, decoder.cmd, wiring.flipped(commands))
        write = commands.payload.body.write
        with m.If(commands.valid & commands.ready & (commands.payload.kind == CommandKind.WRITE)
                  & (write.addr == GlobalReg.WATCHDOG)):
            m.d.sync += timeout.eq(write.data)

        # The core's values, looked up in its domain for a status read.
        m.d.comb += [
            core_status.ticks_in.eq(core.ticks_in),
            core_status.recs_out.eq(core.recs_out),
            core_status.limit_blocked.eq(core.limit_blocked),
            core_status.price_blocked.eq(core.price_blocked),
            core_status.halted.eq(core.halted),
            core_status.hedge_positions.eq(core.hedge_positions),
            core_status.addr.eq(status.core_addr),
            core_status.request.eq(status.core_request),
            status.core_done.eq(core_status.done),
            status.core_value.eq(core_status.value),
        ]
        # Event pulses reach their counters one cycle late, through a register: the decoders' decision logic and
        # the counters' 32-bit adders are then timed separately (together they were the iCE40 build's critical
        # path, docs/boards.md). A host reads the counters over the link, far more than one cycle later. The
        # queue's drops are counted in the core's domain, where they happen (CoreStatus).
        m.d.sync += [
            status.frame_error.eq(decoder.frame_error),
            status.crc_error.eq(decoder.crc_error),
            status.uart_error.eq(uart_error),
            status.seq_gap.eq(decoder.seq_gap),
            status.watchdog_trip.eq(trip),
        ]
        m.d[domain] += core_status.rec_dropped.eq(rec_queue.dropped)

        heartbeat_count = Signal(range(self._heartbeat_cycles))
        with m.If(heartbeat_count == self._heartbeat_cycles - 1):
            m.d.sync += [heartbeat_count.eq(0), self.heartbeat.eq(~self.heartbeat)]
        with m.Else():
            m.d.sync += heartbeat_count.eq(heartbeat_count + 1)
        return m

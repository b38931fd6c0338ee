"""UART receiver and transmitter: 8 data bits, no parity, 1 stop bit (8N1), least significant bit first.

The bit time is a fixed whole number of clock cycles, the elaboration parameter ``divisor`` (at least 4). The line
format is described in ``docs/protocol.md`` ("Physical layer").
"""

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

__all__ = ["UARTRx", "UARTTx"]


def _check_divisor(component, divisor):
    if not isinstance(divisor, int) or divisor < 4:
        component._MustUse__silence = True     # not built, so no "created but never used" warning
        raise ValueError(f"divisor must be an integer >= 4, not {divisor!r}")


class UARTRx(wiring.Component):
    """Asynchronous serial receiver, 8N1.

    :param divisor: bit time in clock cycles (>= 4).

    :attr rx: the line, idle high; asynchronous to the clock (it goes through a 2-flop
        :class:`~amaranth.lib.cdc.FFSynchronizer` first).
    :attr stream: received bytes. A byte waits in a holding register (``valid`` high, payload stable) until the
        consumer takes it; the consumer therefore has a whole character time (``10 * divisor`` cycles) to do so.
    :attr overrun: one-cycle pulse when a byte completes while the previous one still waits: the new byte is
        dropped (the waiting one is kept).
    :attr error: one-cycle pulse when a byte's stop bit is sampled low (framing error, or a break): the byte is
        discarded.

    Algorithm: while idle, the synchronised line is watched for a low level (the start bit). ``divisor // 2``
    cycles later, in the middle of the start bit, it is sampled again: if it is high again, it was a glitch and
    the receiver goes back to idle without a report. Otherwise the 8 data bits and the stop bit are sampled every
    ``divisor`` cycles from there, i.e. in the middle of each bit. A good stop bit returns the receiver to idle at
    once (half a bit before the stop bit ends), so back-to-back characters are received, and the byte is offered
    on ``stream``. A bad stop bit pulses ``error``; the receiver then waits for the line to be high before it looks
    for the next start bit, so a break (line held low) is reported once and not read as a string of zero bytes.

    Limits: the start edge is found to within one clock cycle, so the sampling point of the stop bit is
    ``9.5`` bit times after the edge, give or take one cycle; the sender's bit time may differ from ours by about
    ``(divisor / 2 - 1) / (9.5 * divisor)``: 2.6 % at divisor 4, 4.6 % at 16, 5.3 % at most. There is no
    oversampling or majority vote: a glitch at the sampling instant corrupts the bit.
    """

    def __init__(self, divisor: int):
        _check_divisor(self, divisor)
        self._divisor = divisor
        super().__init__({
            "rx":      In(1, init=1),
            "stream":  Out(stream.Signature(8)),
            "overrun": Out(1),
            "error":   Out(1),
        })

    @property
    def divisor(self) -> int:
        return self._divisor

    def elaborate(self, platform):
        m = Module()
        divisor = self._divisor

        rx = Signal(init=1)
        m.submodules.sync = FFSynchronizer(self.rx, rx, init=1)

        timer = Signal(range(divisor))
        strobe = Signal()           # the middle of a bit
        shreg = Signal(8)           # data bits, shifted in from the top (LSB first on the line)
        bitno = Signal(range(8))

        m.d.comb += strobe.eq(timer == 0)
        with m.If(~strobe):
            m.d.sync += timer.eq(timer - 1)
        with m.Else():
            m.d.sync += timer.eq(divisor - 1)

        with m.If(self.stream.ready):
            m.d.sync += self.stream.valid.eq(0)

        with m.FSM():
            with m.State("IDLE"):
                with m.If(~rx):
                    m.d.sync += timer.eq(divisor // 2 - 1)
                    m.next = "START"
            with m.State("START"):
                with m.If(strobe):
                    with m.If(rx):
                        m.next = "IDLE"         # a glitch, not a start bit
                    with m.Else():
                        m.d.sync += bitno.eq(0)
                        m.next = "DATA"
            with m.State("DATA"):
                with m.If(strobe):
                    m.d.sync += [shreg.eq(Cat(shreg[1:], rx)), bitno.eq(bitno + 1)]
                    with m.If(bitno == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                with m.If(strobe):
                    with m.If(~rx):
                        m.d.comb += self.error.eq(1)
                        m.next = "BREAK"
                    with m.Else():
                        with m.If(self.stream.valid & ~self.stream.ready):
                            m.d.comb += self.overrun.eq(1)
                        with m.Else():
                            m.d.sync += [self.stream.payload.eq(shreg), self.stream.valid.eq(1)]
                        m.next = "IDLE"
            with m.State("BREAK"):
                with m.If(rx):
                    m.next = "IDLE"

        return m


class UARTTx(wiring.Component):
    """Asynchronous serial transmitter, 8N1.

    :param divisor: bit time in clock cycles (>= 4).

    :attr stream: bytes to send. ``ready`` is high only while the transmitter is idle (and in the last cycle of
        a stop bit, so that back-to-back bytes follow each other without a gap).
    :attr tx: the line, idle high, driven from a register (glitch-free).

    Algorithm: a byte taken from ``stream`` is sent as a start bit (low), its 8 bits least significant first and a
    stop bit (high), each held for exactly ``divisor`` cycles, from a shift register; a byte therefore takes
    ``10 * divisor`` cycles, and a continuous stream runs at exactly that rate.
    """

    def __init__(self, divisor: int):
        _check_divisor(self, divisor)
        self._divisor = divisor
        super().__init__({
            "stream": In(stream.Signature(8)),
            "tx":     Out(1, init=1),
        })

    @property
    def divisor(self) -> int:
        return self._divisor

    def elaborate(self, platform):
        m = Module()
        divisor = self._divisor

        timer = Signal(range(divisor))
        shreg = Signal(9)           # bits still to send after the one on the line: data, then the stop bit
        bits_left = Signal(range(10))
        busy = Signal()
        # ``ready`` is a flip-flop (it is what the frame encoder's shift register waits on): set in the cycle before
        # the last of the stop bit (divisor >= 4, so that cycle exists), cleared when a byte is taken, so that it is
        # high exactly while idle or in that last cycle.
        ready = Signal(init=1)
        m.d.comb += self.stream.ready.eq(ready)
        with m.If(self.stream.valid & ready):
            m.d.sync += ready.eq(0)
        with m.Elif(busy & (timer == 1) & (bits_left == 0)):
            m.d.sync += ready.eq(1)

        with m.If(busy):
            with m.If(timer != 0):
                m.d.sync += timer.eq(timer - 1)
            with m.Elif(bits_left != 0):
                m.d.sync += [
                    self.tx.eq(shreg[0]),
                    shreg.eq(shreg >> 1),
                    bits_left.eq(bits_left - 1),
                    timer.eq(divisor - 1),
                ]
            with m.Else():
                m.d.sync += busy.eq(0)

        with m.If(self.stream.valid & self.stream.ready):
            m.d.sync += [
                self.tx.eq(0),      # start bit
                shreg.eq(Cat(self.stream.payload, Const(1, 1))),
                bits_left.eq(9),
                timer.eq(divisor - 1),
                busy.eq(1),
            ]

        return m

"""A stream carried from one clock domain into another, one payload at a time.

    i_domain:  i --> held (register), busy --req--PulseSynchronizer-->  o_domain: o.valid (register)
               busy cleared  <--ack--PulseSynchronizer--  o's handshake

The payload waits in one register on the input side (``held``) from the input's handshake until the output side
acknowledges it; the output offers that register's value as its payload, with a ``valid`` that is a flip-flop of
the output domain, set by the request's synchronised pulse. So on each side the logic between the domains is a
flip-flop, a toggle and a synchronizer (:class:`~amaranth.lib.cdc.PulseSynchronizer`, two stages), and nothing of
the payload goes through the other domain's logic except into the registers that take it: ``held`` is not written
between the request and the acknowledgement, and the output side sees the request at least two of its clock edges
after ``held`` was written, so the payload it samples is stable (the only signals that cross without a synchronizer
are the payload's bits, held still by the handshake; the same rule as :class:`~.core_status.CoreStatus`).

Against ``lib.fifo.AsyncFIFO``: no Gray-coded pointers, no comparisons of them, no memory addressed from both sides,
so neither domain's timing includes a crossing's bookkeeping (``AsyncFIFO``'s read side, pointer compare -> ready ->
increment -> memory address, was the ULX3S-85F's critical path in the core's domain; docs/boards.md). The price is
throughput: one payload per round trip, at most six cycles of each clock (request and acknowledgement), 96 - 104 ns
between the ULX3S's 48 MHz and 125 MHz clocks in simulation (tests/test_stream_crossing.py). A board's commands and
recommendations cross at the UART's rate (a TICK frame every ~57 us at 3 Mbaud), so one in flight is enough, and a
queue, where one is wanted, goes on the slow side (hw/serial_engine.py, hw/rec_queue.py).

Stream rules: ``i.ready`` is a flip-flop (``~busy``) and ``o.valid`` is one; neither depends on the other side's
``valid`` or ``ready`` in the same cycle. Both domains are expected to leave reset together (a board resets both
from its PLL's lock); a reset of one side alone, mid-handshake, may lose or repeat the payload in flight.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import PulseSynchronizer
from amaranth.lib.wiring import In, Out

__all__ = ["StreamCrossing"]


class StreamCrossing(wiring.Component):
    """See the module docstring. ``i`` belongs to ``i_domain``, ``o`` to ``o_domain``."""

    def __init__(self, shape, *, i_domain: str, o_domain: str):
        self._shape = shape
        self._i_domain = i_domain
        self._o_domain = o_domain
        super().__init__({"i": In(stream.Signature(shape)), "o": Out(stream.Signature(shape))})

    def elaborate(self, platform):
        m = Module()
        i_side, o_side = m.d[self._i_domain], m.d[self._o_domain]
        m.submodules.request = request = PulseSynchronizer(self._i_domain, self._o_domain)
        m.submodules.acknowledge = acknowledge = PulseSynchronizer(self._o_domain, self._i_domain)

        held = Signal(self._shape)
        busy = Signal()
        m.d.comb += [self.i.ready.eq(~busy), self.o.payload.eq(held)]
        with m.If(self.i.valid & ~busy):
            i_side += [held.eq(self.i.payload), busy.eq(1)]
            m.d.comb += request.i.eq(1)
        with m.If(acknowledge.o):
            i_side += busy.eq(0)

        # The request arrives only while `o.valid` is low (one payload in flight), so the two never coincide.
        with m.If(request.o):
            o_side += self.o.valid.eq(1)
        with m.If(self.o.valid & self.o.ready):
            o_side += self.o.valid.eq(0)
            m.d.comb += acknowledge.i.eq(1)
        return m

"""Queue between the core's recommendation vector and the frame encoder.

The core produces, on any cycle, one slot per leg (it cannot be back-pressured); the UART sends one REC frame per
37 bytes. Vectors with at least one fired slot are queued whole in a ``lib.fifo.SyncFIFOBuffered`` on the serial
side's ``sync`` domain (everything here but ``recs`` and ``dropped``, which belong to the core's, ``w_domain``). Across
domains a vector reaches the FIFO through a :class:`~.stream_crossing.StreamCrossing` (one vector in flight, ~100 ns
per vector on the ULX3S, against one tick per TICK frame, ~57 us); in one domain it is written directly. The read
side sends the fired slots of the oldest vector one by one, in leg order, as REC payloads. A vector that arrives
while the queue is full (across domains: while the crossing still holds one, which waits for room in the FIFO) is
dropped and its fired slots are counted (``dropped``, a count per cycle): the sequence numbers the core assigned
make the loss visible to the host as a gap, and the status block accumulates the count.

The REC payload leaves through an output register (``valid`` and the payload are flip-flops), refilled in the cycle
after it was taken, never in the same one (one REC per two cycles at most, against one per 370 x divisor cycles that
the UART sends): the choice of the next slot (the head vector's pending legs) stays on this side of it, the frame
encoder's decision to start a frame, which loads a 37-byte shift register, starts at a register, and the encoder's
``ready`` does not reach the FIFO's read side (each was the ULX3S-25F board's longest path in turn).

On the ECP5 the FIFO's memory (356 bits x 15 for the default core) goes into block RAM
(:data:`YOSYS_REC_QUEUE_BLOCK_RAM`, a Yosys command the board build runs after reading the design; 10 DP16KD) rather
than the 89 slices of LUT RAM Yosys picks for so shallow a memory, which the 25F's LUT budget can spare less.
(When the FIFO was an ``AsyncFIFO`` written from the core's domain, the LUT RAM's write enable, with the full test
and pointer increment around it, was also the ULX3S-85F's critical path.) ``lib.fifo`` has no way to pass the
memory an attribute.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from .frame_encoder import rec_payload_layout
from .layouts import recs_layout
from .params import CoreParams
from .stream_crossing import StreamCrossing

__all__ = ["RecQueue", "YOSYS_REC_QUEUE_BLOCK_RAM"]

# The FIFO's storage (SyncFIFOBuffered -> memory "storage"), in any top level.
YOSYS_REC_QUEUE_BLOCK_RAM = 'setattr -set ram_style "block" *.rec_queue.fifo/m:storage'


class RecQueue(wiring.Component):
    """The recommendation queue (see the module docstring).

    Parameters
    ----------
    params : CoreParams
        The core (its ``recs_layout``).
    depth : int
        Recommendation vectors the FIFO holds.
    w_domain : str
        The core's clock domain (``"sync"``: one clock, no crossing).

    Attributes
    ----------
    recs : stream of ``recs_layout(params)``, always ready
        The core's vectors (core domain).
    rec : stream of ``rec_payload_layout``
        REC payloads, one per fired slot, to the frame encoder.
    dropped : Signal
        Fired slots dropped this cycle because the queue was full (core domain).
    """

    def __init__(self, params: CoreParams, depth: int = 16, *, w_domain: str = "sync"):
        self._params = params
        self._depth = depth
        self._w_domain = w_domain
        super().__init__({
            "recs":    In(stream.Signature(recs_layout(params), always_ready=True)),
            "rec":     Out(stream.Signature(rec_payload_layout)),
            "dropped": Out(range(params.legs + 1)),
        })

    def elaborate(self, platform):
        m = Module()
        p = self._params
        layout = recs_layout(p)
        m.submodules.fifo = fifo = SyncFIFOBuffered(width=layout.size, depth=self._depth)
        if self._w_domain == "sync":
            # One domain (the iCEBreaker, at 30 MHz, with no logic cells to spare): straight into the FIFO.
            recs = self.recs
            m.d.comb += [fifo.w_data.eq(recs.payload), fifo.w_en.eq(recs.valid)]
            accepted = fifo.w_rdy
        else:
            # Across domains the vector is registered before the crossing, whose input side (busy -> the held
            # payload's write enable) then starts at flip-flops rather than behind the legs' fire decisions (the
            # ULX3S-85F's critical path when this was an AsyncFIFO's write side). A vector that finds the crossing
            # busy (the FIFO full, the previous vector not yet taken) is dropped here, in the core's domain.
            recs = stream.Signature(layout).create()
            m.d[self._w_domain] += [recs.valid.eq(self.recs.valid), recs.payload.eq(self.recs.payload)]
            m.submodules.crossing = crossing = StreamCrossing(layout, i_domain=self._w_domain, o_domain="sync")
            wiring.connect(m, recs, crossing.i)
            m.d.comb += [fifo.w_data.eq(crossing.o.payload), fifo.w_en.eq(crossing.o.valid),
                         crossing.o.ready.eq(fifo.w_rdy)]
            accepted = recs.ready
        with m.If(recs.valid & ~accepted):
            m.d.comb += self.dropped.eq(sum(slot.fire for slot in recs.payload.legs) if p.legs else 0)

        # Read side: walk the fired slots of the head vector, then pop it.
        head = Signal(layout)
        m.d.comb += head.eq(fifo.r_data)
        sent = Signal(max(1, p.legs))               # slots of the head vector already sent
        pending = [head.legs[leg].fire & ~sent[leg] for leg in range(p.legs)]
        current = Signal(range(max(1, p.legs)))
        for leg in reversed(range(p.legs)):         # the lowest pending leg
            with m.If(pending[leg]):
                m.d.comb += current.eq(leg)
        slot = head.legs[current] if p.legs else None
        any_pending = sum(pending) != 0 if p.legs else 0
        # The next REC, offered to the output register.
        next_rec = stream.Signature(rec_payload_layout).create()
        m.d.comb += next_rec.valid.eq(fifo.r_rdy & any_pending)
        if p.legs:
            m.d.comb += [
                next_rec.payload.leg.eq(current),
                next_rec.payload.side.eq(slot.side),
                next_rec.payload.seq.eq(slot.seq),
                next_rec.payload.tick.eq(head.tick),
                next_rec.payload.qty.eq(slot.qty),
                next_rec.payload.price.eq(slot.price),
                next_rec.payload.hedge_position.eq(slot.hedge_position),
                next_rec.payload.cycle_in.eq(head.cycle_in),
                next_rec.payload.cycle_out.eq(head.cycle_out),
            ]
        m.d.comb += next_rec.ready.eq(~self.rec.valid)
        with m.If(self.rec.valid & self.rec.ready):
            m.d.sync += self.rec.valid.eq(0)
        with m.If(next_rec.ready):
            m.d.sync += [self.rec.valid.eq(next_rec.valid), self.rec.payload.eq(next_rec.payload)]

        last = Signal()
        m.d.comb += last.eq(sum(pending) == 1 if p.legs else 1)
        with m.If(next_rec.valid & next_rec.ready):
            with m.If(last):
                m.d.comb += fifo.r_en.eq(1)
                m.d.sync += sent.eq(0)
            with m.Else():
                m.d.sync += sent.eq(sent | (1 << current))
        return m

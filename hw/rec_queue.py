"""Queue between the core's recommendation vector and the frame encoder.

The core produces, on any cycle, one slot per leg (it cannot be back-pressured); the UART sends one REC frame per
37 bytes. Vectors with at least one fired slot are queued whole in a ``lib.fifo.SyncFIFOBuffered``; the read side
sends the fired slots of the oldest vector one by one, in leg order, as REC payloads. A vector that arrives while
the queue is full is dropped and its fired slots are counted (``dropped``, a count per cycle): the sequence numbers
the core assigned make the loss visible to the host as a gap, and the status block accumulates the count.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from .frame_encoder import rec_payload_layout
from .layouts import recs_layout
from .params import CoreParams

__all__ = ["RecQueue"]


class RecQueue(wiring.Component):
    def __init__(self, params: CoreParams, depth: int = 16):
        self._params = params
        self._depth = depth
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

        fired = sum(slot.fire for slot in self.recs.payload.legs) if p.legs else 0
        m.d.comb += [fifo.w_data.eq(self.recs.payload), fifo.w_en.eq(self.recs.valid)]
        with m.If(self.recs.valid & ~fifo.w_rdy):
            m.d.comb += self.dropped.eq(fired)

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
        m.d.comb += self.rec.valid.eq(fifo.r_rdy & any_pending)
        if p.legs:
            m.d.comb += [
                self.rec.payload.leg.eq(current),
                self.rec.payload.side.eq(slot.side),
                self.rec.payload.seq.eq(slot.seq),
                self.rec.payload.tick.eq(head.tick),
                self.rec.payload.qty.eq(slot.qty),
                self.rec.payload.price.eq(slot.price),
                self.rec.payload.hedge_position.eq(slot.hedge_position),
                self.rec.payload.cycle_in.eq(head.cycle_in),
                self.rec.payload.cycle_out.eq(head.cycle_out),
            ]
        last = Signal()
        m.d.comb += last.eq(sum(pending) == 1 if p.legs else 1)
        with m.If(self.rec.valid & self.rec.ready):
            with m.If(last):
                m.d.comb += fifo.r_en.eq(1)
                m.d.sync += sent.eq(0)
            with m.Else():
                m.d.sync += sent.eq(sent | (1 << current))
        return m

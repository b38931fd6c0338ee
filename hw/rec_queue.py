"""Queue between the core's recommendation vector and the frame encoder.

The core produces, on any cycle, one slot per leg (it cannot be back-pressured); the UART sends one REC frame per
37 bytes. Vectors with at least one fired slot are queued whole in a ``lib.fifo.AsyncFIFOBuffered``, which also
carries them from the core's clock domain (``w_domain``; ``recs`` and ``dropped`` belong to it) into the serial
side's ``sync`` domain (everything else here), or a ``SyncFIFOBuffered`` when both are ``sync``; the read side
sends the fired slots of the oldest vector one by one, in leg order, as REC payloads. A vector that arrives while
the queue is full is dropped and its fired slots are counted (``dropped``, a count per cycle): the sequence numbers
the core assigned make the loss visible to the host as a gap, and the status block accumulates the count.

The REC payload leaves through an output register (``valid`` and the payload are flip-flops), refilled in the cycle
after it was taken, never in the same one (one REC per two cycles at most, against one per 370 x divisor cycles that
the UART sends): the choice of the next slot (the head vector's pending legs) stays on this side of it, the frame
encoder's decision to start a frame, which loads a 37-byte shift register, starts at a register, and the encoder's
``ready`` does not reach the FIFO's read side (each was the ULX3S-25F board's longest path in turn).

Across domains the vector is registered before the FIFO's write. On the ECP5 the FIFO's memory (356 bits x 16 for
the default core) goes into block RAM (:data:`YOSYS_REC_QUEUE_BLOCK_RAM`, a Yosys command the board build runs after
reading the design; 10 DP16KD): Yosys picks LUT RAM for so shallow a memory, 89 slices whose write enable is the
FIFO's ``w_rdy & w_en``, and the full test and pointer increment around that enable, placed among them, were the
ULX3S-85F's critical path (8.3 - 9.5 ns, mostly route). ``lib.fifo`` has no way to pass the memory an attribute.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import AsyncFIFOBuffered, SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from .frame_encoder import rec_payload_layout
from .layouts import recs_layout
from .params import CoreParams

__all__ = ["RecQueue", "YOSYS_REC_QUEUE_BLOCK_RAM"]

# The FIFO's storage (AsyncFIFOBuffered -> AsyncFIFO "unbuffered" -> memory "storage"), in any top level.
YOSYS_REC_QUEUE_BLOCK_RAM = 'setattr -set ram_style "block" *.rec_queue.fifo.unbuffered/m:storage'


class RecQueue(wiring.Component):
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
        if self._w_domain == "sync":
            fifo = SyncFIFOBuffered(width=layout.size, depth=self._depth)
        else:
            fifo = AsyncFIFOBuffered(width=layout.size, depth=self._depth + 1, w_domain=self._w_domain,
                                     r_domain="sync")
        m.submodules.fifo = fifo

        # Across clock domains the vector is registered before the write, so that the FIFO's write side (full test
        # -> pointer increment) starts at flip-flops rather than behind the legs' fire decisions (the ULX3S-85F's
        # critical path). In one domain (the iCEBreaker, at 30 MHz, with no logic cells to spare) it is not.
        if self._w_domain == "sync":
            recs_valid, recs = self.recs.valid, self.recs.payload
        else:
            recs_valid, recs = Signal(name="recs_valid"), Signal(layout, name="recs_payload")
            m.d[self._w_domain] += [recs_valid.eq(self.recs.valid), recs.eq(self.recs.payload)]
        fired = sum(slot.fire for slot in recs.legs) if p.legs else 0
        m.d.comb += [fifo.w_data.eq(recs), fifo.w_en.eq(recs_valid)]
        with m.If(recs_valid & ~fifo.w_rdy):
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

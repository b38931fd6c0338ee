"""The hedging core: order books, hedge legs and their register file behind one ordered command stream.

Commands (ticks and register writes) enter through ``cmd``. The book fetches the levels of a tick's symbol as it
is accepted, then compares, corrects, anticipates, decides and writes its update (``OrderBook``), and from the
book snapshot every leg evaluates the hedge law in a fixed-length pipeline; ``latency`` cycles after its handshake
the tick's recommendations are on ``recs``, one slot per leg in leg order, whether or not any leg fired. Ticks are
accepted on every cycle (``ready`` stays high while only ticks arrive); with the compact book or the compact leg, one
every ``CoreParams.tick_interval`` cycles.

A register write waits in the input stage until no tick is in flight, is applied a cycle later, and blocks the stream
for that time and one cycle more (``ready`` is a flip-flop); a write of ``threshold_bps`` also waits for the leg's
reciprocal to be computed (61 cycles). Writes therefore take effect exactly between the ticks around them, in stream
order, and never change a register under a tick in flight. Ticks never wait inside the core, so the latency from
handshake to output is the same for every tick.

``recs`` and ``trace`` cannot be back-pressured (their consumers must always accept); ``trace`` carries the book of
the tick's symbol after every tick and exists for simulation and debugging (synthesis removes it when unused).

Sequence numbers are assigned here, before any queue that might drop, so the host sees any loss as a gap. Tick
indices, cycle stamps, sequence numbers and counters are 32-bit and wrap modulo 2^32 (the host unwraps them).
"""

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .compact_hedge_leg import CompactHedgeLeg
from .hedge_leg import HedgeLeg
from .layouts import CommandKind, command_layout, recs_layout, snapshot_layout
from .order_book import OrderBook
from .params import COUNTER_WIDTH, CoreParams
from .regmap import GlobalReg

__all__ = ["HedgeCore"]


class HedgeCore(wiring.Component):
    """The hedging core (see the module docstring): S order books and L hedge legs behind one command stream.

    Parameters
    ----------
    params : CoreParams
        Symbols, levels, legs, widths, ``mul_latency`` and the compact variants.

    Attributes
    ----------
    cmd : stream of ``command_layout(params)``
        Ticks and register writes, in order.
    recs : stream of ``recs_layout(params)``, always ready
        ``latency`` cycles after each tick: one slot per leg (``fire`` set where the leg recommends an order).
    trace : stream of ``snapshot_layout(params)``, always ready
        The tick's book after the tick, for simulation.
    cycle : Signal(32)
        Free-running cycle counter (the recommendations' cycle stamps).
    halted : Signal
        The kill switch (``GlobalReg.HALT``): no recommendation while set.
    ticks_in, recs_out, limit_blocked, price_blocked : Signal(32)
        Counters (modulo 2^32) for the status registers.
    hedge_positions : array of L signed 32-bit values
        Each leg's hedge position H, for status reads.
    """

    def __init__(self, params: CoreParams = CoreParams()):
        self._params = params
        super().__init__({
            "cmd":           In(stream.Signature(command_layout(params))),
            "recs":          Out(stream.Signature(recs_layout(params), always_ready=True)),
            "trace":         Out(stream.Signature(snapshot_layout(params), always_ready=True)),
            "cycle":         Out(COUNTER_WIDTH),
            "halted":        Out(1),
            "ticks_in":      Out(COUNTER_WIDTH),
            "recs_out":      Out(COUNTER_WIDTH),
            "limit_blocked": Out(COUNTER_WIDTH),
            "price_blocked": Out(COUNTER_WIDTH),
            "hedge_positions": Out(data.ArrayLayout(signed(32), params.legs)),   # each leg's H, for status reads
        })

    @property
    def params(self) -> CoreParams:
        return self._params

    @property
    def latency(self) -> int:
        return self._params.latency

    def elaborate(self, platform):
        m = Module()
        p = self._params

        m.d.sync += self.cycle.eq(self.cycle + 1)

        # Input stage -----------------------------------------------------------------------------------------------
        in_valid = Signal()
        in_cmd = Signal(command_layout(p))
        in_tick_index = Signal(COUNTER_WIDTH)
        in_cycle = Signal(COUNTER_WIDTH)
        in_is_tick = in_valid & (in_cmd.kind == int(CommandKind.TICK))
        in_is_write = in_valid & (in_cmd.kind == int(CommandKind.WRITE))
        offered_tick = self.cmd.valid & (self.cmd.payload.kind == int(CommandKind.TICK))
        offered_write = self.cmd.valid & (self.cmd.payload.kind == int(CommandKind.WRITE))
        tick_accepted = Signal()      # a tick's handshake on `cmd` in this cycle

        m.submodules.book = book = OrderBook(p)
        legs = [(CompactHedgeLeg if p.compact_leg else HedgeLeg)(p) for _ in range(p.legs)]
        for index, leg in enumerate(legs):
            m.submodules[f"leg{index}"] = leg
        busy = Signal()
        m.d.comb += busy.eq(sum(leg.busy for leg in legs) != 0 if legs else 0)

        # Ticks in flight between the book stage and the output: a write waits until there are none.
        tick_hold = Signal()          # a tick was accepted less than tick_interval cycles ago (compact leg only)
        if p.compact_leg:
            # One tick at a time (tick_interval = latency): `ready` stays low for latency - 1 cycles after a tick's
            # handshake, so a tick is in flight exactly while the count runs, and the output stamps below can be
            # taken from the input stage, which nothing overwrites meanwhile.
            hold = Signal(range(p.tick_interval))
            with m.If(tick_accepted):
                m.d.sync += hold.eq(p.tick_interval - 1)
            with m.Elif(hold != 0):
                m.d.sync += hold.eq(hold - 1)
            m.d.comb += tick_hold.eq(hold != 0)
            no_tick_in_flight = ~tick_hold
        else:
            in_flight = Signal(p.latency - 1)
            m.d.sync += in_flight.eq((in_flight << 1) | in_is_tick)
            no_tick_in_flight = in_flight == 0
        # A write is decided in one cycle and applied in the next, from a flip-flop: the decision (the drain test
        # over every tick in flight and the legs' `busy`) and the write enables of every register are then timed
        # apart (together they were the ULX3S build's critical path). `ready` stays low meanwhile (the write is
        # still in the input stage), so nothing enters between the decision and the write.
        apply_write = Signal()
        m.d.sync += apply_write.eq(in_is_write & no_tick_in_flight & ~busy & ~apply_write)

        # `ready` for writes and the legs' `busy` is a flip-flop: it is set from the cycle before, conservatively
        # (low while a write is offered, waits or is applied, and while any leg is busy; so high again one cycle after
        # the last of these), so that the legs' `busy` and the write logic do not reach the command's source and the
        # input registers' enables in the same cycle (the ULX3S builds' critical path). The compact book's and the
        # compact leg's own pacing stays combinational: the core's tick interval depends on it to the cycle.
        write_ready = Signal(init=1)
        m.d.sync += write_ready.eq(~((offered_write & self.cmd.ready) | in_is_write | busy))
        m.d.comb += [
            self.cmd.ready.eq(write_ready & ~book.busy & ~tick_hold),
            tick_accepted.eq(offered_tick & self.cmd.ready),
        ]
        with m.If(self.cmd.valid & self.cmd.ready):
            m.d.sync += [
                in_valid.eq(1),
                in_cmd.eq(self.cmd.payload),
                in_tick_index.eq(self.ticks_in),
                in_cycle.eq(self.cycle),
            ]
            with m.If(tick_accepted):
                m.d.sync += self.ticks_in.eq(self.ticks_in + 1)
        with m.Elif(in_is_tick | apply_write):
            m.d.sync += in_valid.eq(0)

        # Register writes -------------------------------------------------------------------------------------------
        write = in_cmd.body.write
        with m.If(apply_write & (write.addr == int(GlobalReg.HALT))):
            m.d.sync += self.halted.eq(write.data[0])
        for index, leg in enumerate(legs):
            m.d.comb += [
                self.hedge_positions[index].eq(leg.hedge_position),
                leg.write.eq(apply_write & (write.leg == index)),
                leg.write_addr.eq(write.addr),
                leg.write_data.eq(write.data),
            ]

        # Book and legs ---------------------------------------------------------------------------------------------
        # The book registers a tick in the cycle it is accepted (alongside the input register), so its snapshot is
        # ready trace_latency cycles after the handshake. The parallel book gets the offered tick and `ready` apart
        # (it ANDs them a cycle later), so that the handshake's logic ends at two flip-flops instead of routing
        # into the book (it was the ULX3S build's critical path before `ready` itself became a flip-flop).
        m.d.comb += [
            *([book.tick_valid.eq(tick_accepted)] if p.compact_book else [
                book.tick_valid.eq(offered_tick),
                book.tick_ready.eq(self.cmd.ready)]),
            book.tick.eq(self.cmd.payload.body.tick),
        ]
        snapshot = book.snapshot
        for index, leg in enumerate(legs):
            best = book.best[index]
            m.d.comb += [
                leg.book_valid.eq(book.snapshot_valid),
                leg.book_symbol.eq(snapshot.symbol),
                leg.book_side.eq(snapshot.side),
                leg.best_bid.eq(best.bid),
                leg.best_ask.eq(best.ask),
                leg.has_bid.eq(best.has_bid),
                leg.has_ask.eq(best.has_ask),
                leg.halt.eq(self.halted),
            ]
        m.d.comb += [self.trace.valid.eq(book.snapshot_valid), self.trace.payload.eq(snapshot)]

        # Output ----------------------------------------------------------------------------------------------------
        tick_index, cycle_in = in_tick_index, in_cycle
        for stage in range(0 if p.compact_leg else p.latency - 1):
            tick_index_next = Signal(COUNTER_WIDTH, name=f"tick_index_{stage + 2}")
            cycle_in_next = Signal(COUNTER_WIDTH, name=f"cycle_in_{stage + 2}")
            m.d.sync += [tick_index_next.eq(tick_index), cycle_in_next.eq(cycle_in)]
            tick_index, cycle_in = tick_index_next, cycle_in_next

        fired = 0
        for index, leg in enumerate(legs):
            slot = self.recs.payload.legs[index]
            m.d.comb += [
                slot.fire.eq(leg.fire),
                slot.side.eq(leg.side),
                slot.qty.eq(leg.qty),
                slot.price.eq(leg.price),
                slot.hedge_position.eq(leg.hedge_position),
                slot.seq.eq(self.recs_out + fired),
            ]
            fired = fired + leg.fire
        m.d.comb += [
            self.recs.valid.eq(fired != 0 if legs else 0),
            self.recs.payload.tick.eq(tick_index),
            self.recs.payload.cycle_in.eq(cycle_in),
            self.recs.payload.cycle_out.eq(self.cycle),
        ]
        m.d.sync += [
            self.recs_out.eq(self.recs_out + fired),
            self.limit_blocked.eq(self.limit_blocked + sum(leg.limit_blocked for leg in legs)),
            self.price_blocked.eq(self.price_blocked + sum(leg.price_blocked for leg in legs)),
        ]
        return m

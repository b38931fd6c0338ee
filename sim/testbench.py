"""cocotb testbench for the hedging core (``sim/dut.py``'s Verilog top level).

:class:`CoreTestbench` wraps the DUT: it drives the command stream (one command per cycle whenever ``ready`` allows)
and, on every cycle, reads every output. With a model attached it predicts, for each command it hands over, what the
trace port must show ``trace_latency`` cycles later and what the recommendation port must show ``latency`` cycles
later, and compares on every cycle -- including that nothing is valid when nothing is expected. It also checks that
``ready`` drops only while a register write is being applied or, exactly ``tick_interval`` - 1 cycles after a tick
(1 for the parallel book: a tick on every cycle), and that every recommendation's measured latency is the documented
one.

Inputs change on the falling clock edge and outputs are sampled there too, so each cycle costs one trigger.
"""

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge

from amaranth.hdl import Shape

from ..host.commands import Write
from ..host.model import HedgeModel
from ..host.recommendation import Recommendation
from ..hw.layouts import (CommandKind, RecSide, SideCodec, command_layout, recs_layout, snapshot_layout,
                          unpack)
from ..hw.params import COUNTER_WIDTH, CoreParams
from ..hw.regmap import LegReg

__all__ = ["CoreTestbench", "CommandEncoder", "Mismatch"]

_MASK = (1 << COUNTER_WIDTH) - 1
_MAX_WRITE_CYCLES = 1000   # a write needs a drain (~latency) plus at most 61 divider cycles; more means a hang


class Mismatch(AssertionError):
    pass


class CommandEncoder:
    """Packs a Write or a tick (symbol, side, price, qty) into the ``cmd`` payload, with offsets computed once."""

    def __init__(self, params: CoreParams):
        layout = command_layout(params)
        body = layout["body"].offset
        tick, write = layout["body"].shape["tick"].shape, layout["body"].shape["write"].shape
        self._tick = [(body + tick[name].offset, (1 << Shape.cast(tick[name].shape).width) - 1)
                      for name in ("symbol", "side", "price", "qty")]
        self._write = [(body + write[name].offset, (1 << Shape.cast(write[name].shape).width) - 1)
                       for name in ("leg", "addr", "data")]
        self._kind_at = layout["kind"].offset

    def __call__(self, command) -> int:
        if isinstance(command, Write):
            fields = zip(self._write, (command.leg, command.addr, command.data))
            raw = int(CommandKind.WRITE) << self._kind_at
        else:
            fields = zip(self._tick, (command.symbol, command.side, command.price, command.qty))
            raw = int(CommandKind.TICK) << self._kind_at
        for (offset, mask), value in fields:
            raw |= (value & mask) << offset
        return raw


class CoreTestbench:
    def __init__(self, dut, params: CoreParams, *, model: HedgeModel | None = None, collect: bool = False,
                 collect_traces: bool = True):
        self.dut = dut
        self.params = params
        self.model = model
        self.collect = collect
        self.collect_traces = collect and collect_traces
        self._recs_layout = recs_layout(params)
        snapshot = snapshot_layout(params)
        self._encode = CommandEncoder(params)
        self._sides = SideCodec(params)
        self._symbol_at, self._side_at = snapshot["symbol"].offset, snapshot["side"].offset
        self._bids_at, self._asks_at = snapshot["bids"].offset, snapshot["asks"].offset
        self._side_mask = (1 << snapshot["bids"].shape.size) - 1
        self._expected_traces = {}    # cycle -> packed snapshot
        self._expected_recs = {}      # cycle -> (tick index, cycle in, [model recommendations], [H per leg])
        self._after_write = False
        self.checked_recs = 0
        self.checked_traces = 0
        self.recs = []                # collected: Recommendations with their cycle stamps
        self.traces = []              # collected: (symbol, bids, asks) per tick
        self.tick_cycles = []         # collected: each tick's handshake cycle (`hedgegate bench`'s interval)

    async def start(self):
        cocotb.start_soon(Clock(self.dut.clk, 10, unit="ns").start())
        self.dut.cmd__valid.value = 0
        self.dut.cmd__payload.value = 0
        self.dut.rst.value = 1
        for _ in range(2):
            await FallingEdge(self.dut.clk)
        self.dut.rst.value = 0
        await FallingEdge(self.dut.clk)

    async def run(self, commands, *, drain: bool = True):
        """Feeds ``commands`` back to back, checking or collecting every output on every cycle."""
        dut = self.dut
        commands = iter(commands)
        current = next(commands, None)
        stalled = 0
        interval = self.params.tick_interval
        since_tick = interval                 # cycles since the last tick's handshake
        while current is not None:
            ready = int(dut.cmd__ready.value)
            cycle = self._sample()
            dut.cmd__valid.value = 1
            dut.cmd__payload.value = self._encode(current)
            if ready and since_tick < interval:
                raise Mismatch(f"cycle {cycle}: ready is high {since_tick} cycles after a tick "
                               f"(tick interval {interval})")
            since_tick += 1
            if ready:
                self._handshake(current, cycle)
                if not isinstance(current, Write):
                    since_tick = 1
                current = next(commands, None)
                stalled = 0
            elif since_tick <= interval and not self._after_write:
                pass                          # the book is still walking the previous tick (compact book)
            elif not self._after_write:
                raise Mismatch(f"cycle {cycle}: ready is low with no register write in progress")
            else:
                stalled += 1
                if stalled > _MAX_WRITE_CYCLES:
                    raise Mismatch(f"cycle {cycle}: ready low for {stalled} cycles after a register write")
            await FallingEdge(dut.clk)
        dut.cmd__valid.value = 0
        if drain:
            for _ in range(self.params.latency + 1):
                self._sample()
                await FallingEdge(dut.clk)
            if self._expected_recs or self._expected_traces:
                raise Mismatch(f"outputs still expected at cycles {sorted(self._expected_recs)}")

    # Per-cycle work ------------------------------------------------------------------------------------------------

    def _handshake(self, command, cycle):
        self._after_write = isinstance(command, Write)
        if self.collect and not self._after_write:
            self.tick_cycles.append(cycle)
        if self.model is None:
            return
        recs = self.model.apply(command)
        if isinstance(command, Write):
            return
        symbol = command.symbol
        bids, asks = self.model.book(symbol)
        self._expected_traces[(cycle + self.params.trace_latency) & _MASK] = (
            (symbol << self._symbol_at) | (int(command.side) << self._side_at)
            | (self._sides.pack(bids) << self._bids_at) | (self._sides.pack(asks) << self._asks_at))
        self._expected_recs[(cycle + self.params.latency) & _MASK] = (
            (self.model.ticks_in - 1) & _MASK, cycle, recs, self._model_positions())

    def _model_positions(self):
        return [regs[LegReg.HEDGE_POSITION] for regs in self.model.registers]

    def _sample(self) -> int:
        dut = self.dut
        cycle = int(dut.cycle.value.to_unsigned())
        recs_valid = int(dut.recs_valid.value)
        trace_valid = int(dut.trace_valid.value)
        if trace_valid:
            raw = dut.trace_payload.value.to_unsigned()
            if self.collect_traces:
                self.traces.append(self._decode_snapshot(raw))
            if self.model is not None:
                expected = self._expected_traces.pop(cycle, None)
                if expected != raw:
                    raise Mismatch(self._describe_trace(cycle, expected, raw))
                self.checked_traces += 1
        elif self.model is not None and cycle in self._expected_traces:
            raise Mismatch(f"cycle {cycle}: trace expected, trace_valid is low")

        expected = self._expected_recs.pop(cycle, None) if self.model is not None else None
        if recs_valid:
            payload = unpack(self._recs_layout, dut.recs_payload.value.to_unsigned())
            latency = (payload["cycle_out"] - payload["cycle_in"]) & _MASK
            if latency != self.params.latency:
                raise Mismatch(f"cycle {cycle}: latency {latency}, documented {self.params.latency}")
            fired = [(leg, slot) for leg, slot in enumerate(payload["legs"]) if slot["fire"]]
            if self.collect:
                for leg, slot in fired:
                    self.recs.append(Recommendation(
                        seq=slot["seq"], tick=payload["tick"], leg=leg, side=slot["side"], qty=slot["qty"],
                        price=slot["price"], hedge_position=slot["hedge_position"],
                        cycle_in=payload["cycle_in"], cycle_out=payload["cycle_out"]))
            if self.model is not None:
                self._check_recs(cycle, expected, payload, fired)
        elif expected is not None and expected[2]:
            raise Mismatch(f"cycle {cycle}: recommendations {expected[2]} expected, recs_valid is low")
        return cycle

    def _check_recs(self, cycle, expected, payload, fired):
        if expected is None or not expected[2]:
            raise Mismatch(f"cycle {cycle}: unexpected recommendations {payload}")
        tick, cycle_in, recs, positions = expected
        if payload["tick"] != tick or payload["cycle_in"] != cycle_in:
            raise Mismatch(f"cycle {cycle}: tick {payload['tick']} in at {payload['cycle_in']}, "
                           f"expected tick {tick} in at {cycle_in}")
        got = [(leg, slot["seq"], RecSide(slot["side"]), slot["qty"], slot["price"], slot["hedge_position"])
               for leg, slot in fired]
        want = [(rec.leg, rec.seq & _MASK, rec.side, rec.qty, rec.price, rec.hedge_position) for rec in recs]
        if got != want:
            raise Mismatch(f"cycle {cycle} (tick {tick}): recommendations\n  gateware {got}\n  model    {want}")
        held = [slot["hedge_position"] for slot in payload["legs"]]
        if held != positions:
            raise Mismatch(f"cycle {cycle} (tick {tick}): hedge positions {held}, model {positions}")
        self.checked_recs += len(recs)

    def _decode_snapshot(self, raw):
        """(symbol, bids, asks) of a trace word."""
        symbol = (raw >> self._symbol_at) & ((1 << self.params.symbol_width) - 1)
        return (symbol, self._sides.unpack((raw >> self._bids_at) & self._side_mask),
                self._sides.unpack((raw >> self._asks_at) & self._side_mask))

    def _describe_trace(self, cycle, expected, raw):
        text = f"cycle {cycle}: book snapshot differs\n  gateware (symbol, bids, asks) {self._decode_snapshot(raw)}"
        if expected is None:
            return text + "\n  model: no snapshot expected"
        return text + f"\n  model    (symbol, bids, asks) {self._decode_snapshot(expected)}"

    def check_counters(self):
        """Compares the core's status counters with the model's."""
        dut, model = self.dut, self.model
        for name in ("ticks_in", "recs_out", "limit_blocked", "price_blocked"):
            got = int(getattr(dut, name).value.to_unsigned())
            want = getattr(model, name) & _MASK
            if got != want:
                raise Mismatch(f"counter {name}: gateware {got}, model {want}")
        if int(dut.halted.value) != int(model.halted):
            raise Mismatch(f"halted: gateware {int(dut.halted.value)}, model {int(model.halted)}")

"""cocotb testbench for the hedging core (``sim/dut.py``'s Verilog top level).

:class:`CoreTestbench` wraps the DUT: it drives the command stream (one command per cycle whenever ``ready`` allows)
and, on every cycle, reads every output. With a model attached it predicts, for each command it hands over, what the
trace port must show ``trace_latency`` cycles later and what the recommendation port must show ``latency`` cycles
later, and compares on every cycle -- including that nothing is valid when nothing is expected. It also checks that
``ready`` only drops while a register write is being applied (initiation interval 1 for ticks) and that every
recommendation's measured latency is the documented one.

Inputs change on the falling clock edge and outputs are sampled there too, so each cycle costs one trigger.
"""

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge

from ..host.commands import Write
from ..host.model import HedgeModel
from ..hw.layouts import (CommandKind, RecSide, command_layout, pack, recs_layout, snapshot_layout, unpack)
from ..hw.params import COUNTER_WIDTH, CoreParams
from ..hw.regmap import LegReg

__all__ = ["CoreTestbench", "Mismatch", "encode_command"]

_MASK = (1 << COUNTER_WIDTH) - 1


class Mismatch(AssertionError):
    pass


def encode_command(params: CoreParams, command) -> int:
    """Packs a Write or a tick (symbol, side, price, qty) into the ``cmd`` payload."""
    layout = command_layout(params)
    if isinstance(command, Write):
        body = {"write": {"leg": command.leg, "addr": command.addr, "data": command.data}}
        return pack(layout, {"kind": CommandKind.WRITE, "body": body})
    body = {"tick": {"symbol": command.symbol, "side": command.side, "price": command.price, "qty": command.qty}}
    return pack(layout, {"kind": CommandKind.TICK, "body": body})


def _levels(levels, depth):
    return [{"valid": 1, "price": price, "qty": qty} for price, qty in levels] + [{}] * (depth - len(levels))


def decode_levels(levels):
    return [(level["price"], level["qty"]) for level in levels if level["valid"]]


class CoreTestbench:
    def __init__(self, dut, params: CoreParams, *, model: HedgeModel | None = None, collect: bool = False,
                 collect_traces: bool = True):
        self.dut = dut
        self.params = params
        self.model = model
        self.collect = collect
        self.collect_traces = collect and collect_traces
        self._recs_layout = recs_layout(params)
        self._snapshot_layout = snapshot_layout(params)
        self._expected_traces = {}    # cycle -> packed snapshot
        self._expected_recs = {}      # cycle -> (tick index, cycle in, [model recommendations], [H per leg])
        self._after_write = False
        self.cycles = 0
        self.checked_recs = 0
        self.checked_traces = 0
        self.recs = []                # collected: dicts with the recommendation fields and latency_cycles
        self.traces = []              # collected: (symbol, bids, asks) per tick

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
        while current is not None:
            ready = int(dut.cmd__ready.value)
            cycle = self._sample()
            dut.cmd__valid.value = 1
            dut.cmd__payload.value = encode_command(self.params, current)
            if ready:
                self._handshake(current, cycle)
                current = next(commands, None)
            elif not self._after_write:
                raise Mismatch(f"cycle {cycle}: ready is low with no register write in progress")
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
        if self.model is None:
            return
        recs = self.model.apply(command)
        if isinstance(command, Write):
            return
        symbol = command.symbol
        bids, asks = self.model.book(symbol)
        depth = self.params.levels
        self._expected_traces[(cycle + self.params.trace_latency) & _MASK] = pack(self._snapshot_layout, {
            "symbol": symbol, "side": command.side, "bids": _levels(bids, depth), "asks": _levels(asks, depth)})
        self._expected_recs[(cycle + self.params.latency) & _MASK] = (
            (self.model.ticks_in - 1) & _MASK, cycle, recs, self._model_positions())

    def _model_positions(self):
        return [regs[LegReg.HEDGE_POSITION] for regs in self.model.registers]

    def _sample(self) -> int:
        dut = self.dut
        cycle = int(dut.cycle.value.to_unsigned())
        self.cycles += 1
        recs_valid = int(dut.recs_valid.value)
        trace_valid = int(dut.trace_valid.value)
        if trace_valid:
            raw = dut.trace_payload.value.to_unsigned()
            if self.collect_traces:
                snapshot = unpack(self._snapshot_layout, raw)
                self.traces.append((snapshot["symbol"], decode_levels(snapshot["bids"]),
                                    decode_levels(snapshot["asks"])))
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
                    self.recs.append({
                        "seq": slot["seq"], "tick": payload["tick"], "leg": leg,
                        "side": RecSide(slot["side"]).name, "qty": slot["qty"], "price": slot["price"],
                        "hedge_position": slot["hedge_position"], "latency_cycles": latency})
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

    def _describe_trace(self, cycle, expected, raw):
        got = unpack(self._snapshot_layout, raw)
        text = (f"cycle {cycle}: book snapshot differs\n  gateware symbol {got['symbol']} bids "
                f"{decode_levels(got['bids'])} asks {decode_levels(got['asks'])}")
        if expected is None:
            return text + "\n  model: no snapshot expected"
        want = unpack(self._snapshot_layout, expected)
        return text + (f"\n  model    symbol {want['symbol']} bids {decode_levels(want['bids'])} "
                       f"asks {decode_levels(want['asks'])}")

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

"""The Verilog top level the simulators run: the hedging core with plain ports.

Amaranth 0.5 cannot emit a top level whose ports are ``always_ready`` streams (their ready is a constant), so the
core's ``recs`` and ``trace`` are re-exported here as plain valid/payload ports. Struct ports become flat vectors
(``recs_payload[...]``); :func:`hedgegate.hw.layouts.unpack` reads them with the same layouts.
"""

from amaranth.back import verilog
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.hdl import Module

from ..hw.core import HedgeCore
from ..hw.layouts import command_layout, recs_layout, snapshot_layout
from ..hw.params import COUNTER_WIDTH, CoreParams

__all__ = ["CoreSimTop", "TOPLEVEL", "emit_verilog"]

TOPLEVEL = "hedgegate_core"


class CoreSimTop(wiring.Component):
    def __init__(self, params: CoreParams):
        self._params = params
        super().__init__({
            "cmd":           In(stream.Signature(command_layout(params))),
            "recs_valid":    Out(1),
            "recs_payload":  Out(recs_layout(params)),
            "trace_valid":   Out(1),
            "trace_payload": Out(snapshot_layout(params)),
            "cycle":         Out(COUNTER_WIDTH),
            "halted":        Out(1),
            "ticks_in":      Out(COUNTER_WIDTH),
            "recs_out":      Out(COUNTER_WIDTH),
            "limit_blocked": Out(COUNTER_WIDTH),
            "price_blocked": Out(COUNTER_WIDTH),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = HedgeCore(self._params)
        wiring.connect(m, wiring.flipped(self.cmd), core.cmd)
        m.d.comb += [
            self.recs_valid.eq(core.recs.valid),
            self.recs_payload.eq(core.recs.payload),
            self.trace_valid.eq(core.trace.valid),
            self.trace_payload.eq(core.trace.payload),
        ]
        for name in ("cycle", "halted", "ticks_in", "recs_out", "limit_blocked", "price_blocked"):
            m.d.comb += getattr(self, name).eq(getattr(core, name))
        return m


def emit_verilog(params: CoreParams) -> str:
    return verilog.convert(CoreSimTop(params), name=TOPLEVEL, emit_src=False)

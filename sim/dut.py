"""The Verilog top level the simulators run: the hedging core with plain ports.

Amaranth 0.5 cannot emit a top level whose ports are ``always_ready`` streams (their ready is a constant), so the
core's ``recs`` and ``trace`` are re-exported here as plain valid/payload ports. Struct ports become flat vectors
(``recs_payload[...]``); :func:`hedgegate.hw.layouts.unpack` reads them with the same layouts.
"""

from amaranth.back import verilog
from amaranth.lib import wiring
from amaranth.lib.wiring import Out
from amaranth.hdl import Module, Shape

from ..hw.core import HedgeCore
from ..hw.params import CoreParams

__all__ = ["CoreSimTop", "TOPLEVEL", "emit_verilog"]

TOPLEVEL = "hedgegate_core"


class CoreSimTop(wiring.Component):
    """The core's ports, with each ``always_ready`` stream ``x`` flattened to ``x_valid`` and ``x_payload``."""

    def __init__(self, params: CoreParams):
        self._core = HedgeCore(params)
        members = {}
        for name, member in self._core.signature.members.items():
            if member.is_signature and getattr(member.signature, "always_ready", False):
                members[f"{name}_valid"] = Out(1)
                members[f"{name}_payload"] = Out(member.signature.members["payload"].shape)
            elif member.is_signature or Shape.cast(member.shape).width:   # Verilog has no zero-width ports
                members[name] = member
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = self._core
        for name, member in core.signature.members.items():
            port = getattr(core, name)
            if not member.is_signature:
                if name in self.signature.members:
                    m.d.comb += getattr(self, name).eq(port)
            elif getattr(member.signature, "always_ready", False):
                m.d.comb += [getattr(self, f"{name}_valid").eq(port.valid),
                             getattr(self, f"{name}_payload").eq(port.payload)]
            else:
                wiring.connect(m, wiring.flipped(getattr(self, name)), port)
        return m


def emit_verilog(params: CoreParams, top: str = "core", **options) -> str:
    """Verilog of a simulation top level named ``TOPLEVEL``: ``core`` (:class:`CoreSimTop`) or ``serial``
    (:class:`~hedgegate.hw.serial_engine.SerialEngine`, the core behind its UART link; options: ``divisor``,
    ``heartbeat_cycles``, ``rec_queue_depth``)."""
    if top == "core":
        design = CoreSimTop(params, **options)
    elif top == "serial":
        from ..hw.serial_engine import SerialEngine
        design = SerialEngine(params, **options)
    else:
        raise ValueError(f"unknown simulation top {top!r}")
    return verilog.convert(design, name=TOPLEVEL, emit_src=False)

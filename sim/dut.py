"""The Verilog top level the simulators run: the hedging core with plain ports.

Amaranth 0.5 cannot emit a top level whose ports are ``always_ready`` streams (their ready is a constant), so the
core's ``recs`` and ``trace`` are re-exported here as plain valid/payload ports. Struct ports become flat vectors
(``recs_payload[...]``); :func:`hedgegate.hw.layouts.unpack` reads them with the same layouts.
"""

from amaranth.back import verilog
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.hdl import ClockDomain, Module, Shape

from ..hw.core import HedgeCore
from ..hw.params import CoreParams

__all__ = ["CoreSimTop", "VirtualBoardTop", "TOPLEVEL", "emit_verilog"]

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


class VirtualBoardTop(wiring.Component):
    """The virtual board's top level (sim/vboard/main.cpp drives it): the board's engine without its UART
    (:class:`~hedgegate.hw.serial_engine.SerialEngine` with ``uart=False``), its byte streams as plain ports whose
    names are valid C++ members (Verilator escapes the double underscores of Amaranth's flattened streams).

    ``reset`` resets both domains through a flip-flop each rather than as the domains' reset inputs: Amaranth's
    Verilog computes every register's next value in combinational logic that reads the reset, and Verilator
    re-evaluates logic that depends on a top-level input at every call of ``eval`` (twice a cycle), whether that
    input changed or not; a registered reset leaves that work to the clock edges that need it."""

    clk: In(1)
    core_clk: In(1)
    reset: In(1)
    rx_data: In(8)
    rx_valid: In(1)
    rx_ready: Out(1)
    tx_data: Out(8)
    tx_valid: Out(1)
    tx_ready: In(1)
    heartbeat: Out(1)

    def __init__(self, params: CoreParams, **options):
        from ..hw.serial_engine import SerialEngine
        self._engine = SerialEngine(params, uart=False, **options)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = sync = ClockDomain("sync")
        m.domains.core = core = ClockDomain("core")
        m.domains.sync_reset = sync_reset = ClockDomain("sync_reset", reset_less=True)
        m.domains.core_reset = core_reset = ClockDomain("core_reset", reset_less=True)
        m.d.comb += [sync.clk.eq(self.clk), core.clk.eq(self.core_clk), sync_reset.clk.eq(self.clk),
                     core_reset.clk.eq(self.core_clk)]
        m.d.sync_reset += sync.rst.eq(self.reset)
        m.d.core_reset += core.rst.eq(self.reset)
        m.submodules.engine = engine = self._engine
        m.d.comb += [
            engine.rx_byte.payload.eq(self.rx_data),
            engine.rx_byte.valid.eq(self.rx_valid),
            self.rx_ready.eq(engine.rx_byte.ready),
            self.tx_data.eq(engine.tx_byte.payload),
            self.tx_valid.eq(engine.tx_byte.valid),
            engine.tx_byte.ready.eq(self.tx_ready),
            self.heartbeat.eq(engine.heartbeat),
        ]
        return m


def emit_verilog(params: CoreParams, top: str = "core", *, name: str = TOPLEVEL, **options) -> str:
    """Verilog of a simulation top level named ``name``: ``core`` (:class:`CoreSimTop`), ``serial``
    (:class:`~hedgegate.hw.serial_engine.SerialEngine`, the core behind its UART link; options: ``divisor``,
    ``heartbeat_cycles``, ``rec_queue_depth``, ``core_domain``) or ``vboard`` (:class:`VirtualBoardTop`)."""
    if top == "core":
        design = CoreSimTop(params, **options)
    elif top == "serial":
        from ..hw.serial_engine import SerialEngine
        design = SerialEngine(params, **options)
    elif top == "vboard":
        design = VirtualBoardTop(params, **options)
    else:
        raise ValueError(f"unknown simulation top {top!r}")
    return verilog.convert(design, name=name, emit_src=False)

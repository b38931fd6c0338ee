"""Status registers of the board, read over the serial link (READ and PING frames, docs/protocol.md).

Counters of events that the other blocks signal as pulses (frame, CRC and UART errors, sequence gaps, dropped
recommendations, watchdog trips) are kept here; the core's own counters, its halt flag and the legs' hedge
positions are read where they live. A read request (the address) is answered with one READ_RESP payload, with
the values of the cycle after the request was taken; the next request is taken once the answer has left.
Unassigned addresses read as 0. All counters are 32 bits and wrap modulo 2^32.
"""

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..host.protocol import HEDGE_POSITION_BASE, MAGIC, StatusReg
from .frame_encoder import read_resp_payload_layout
from .params import COUNTER_WIDTH, CoreParams

__all__ = ["StatusRegisters"]

# The address map is the protocol's (host/protocol.py, docs/protocol.md); each name is an input port or a counter.
STATUS_ADDRESSES = {int(reg): reg.name.lower() for reg in StatusReg if reg != StatusReg.MAGIC}
_COUNTED = {"frame_errors": "frame_error", "crc_errors": "crc_error", "uart_errors": "uart_error",
            "seq_gaps": "seq_gap", "watchdog_trips": "watchdog_trip"}


class StatusRegisters(wiring.Component):
    def __init__(self, params: CoreParams):
        self._params = params
        super().__init__({
            "read":          In(stream.Signature(8)),
            "read_resp":     Out(stream.Signature(read_resp_payload_layout)),
            # Values kept elsewhere.
            "ticks_in":      In(COUNTER_WIDTH),
            "recs_out":      In(COUNTER_WIDTH),
            "limit_blocked": In(COUNTER_WIDTH),
            "price_blocked": In(COUNTER_WIDTH),
            "halted":        In(1),
            "positions":     In(data.ArrayLayout(signed(32), params.legs)),
            # Events counted here.
            "frame_error":   In(1),
            "crc_error":     In(1),
            "uart_error":    In(1),
            "seq_gap":       In(1),
            "watchdog_trip": In(1),
            "rec_dropped":   In(range(params.legs + 1)),
        })

    def elaborate(self, platform):
        m = Module()
        values = {name: getattr(self, name) for name in ("ticks_in", "recs_out", "limit_blocked", "price_blocked",
                                                          "halted")}
        for name, pulse in _COUNTED.items():
            values[name] = counter = Signal(COUNTER_WIDTH, name=name)
            m.d.sync += counter.eq(counter + getattr(self, pulse))
        values["rec_overflow"] = overflow = Signal(COUNTER_WIDTH)
        m.d.sync += overflow.eq(overflow + self.rec_dropped)

        # A request's address is registered first and looked up in the next cycle, so that the ~20-way multiplexer
        # starts at a flip-flop rather than after the frame decoder's handshake (the ULX3S-25F's critical path).
        addr = Signal(8)
        looking_up = Signal()
        with m.If(self.read_resp.valid & self.read_resp.ready):
            m.d.sync += self.read_resp.valid.eq(0)
        m.d.comb += self.read.ready.eq(~looking_up & ~self.read_resp.valid)
        with m.If(self.read.valid & self.read.ready):
            m.d.sync += [looking_up.eq(1), addr.eq(self.read.payload)]
        with m.If(looking_up):
            m.d.sync += [looking_up.eq(0), self.read_resp.valid.eq(1), self.read_resp.payload.addr.eq(addr),
                         self.read_resp.payload.value.eq(0)]
            with m.Switch(addr):
                with m.Case(0):
                    m.d.sync += self.read_resp.payload.value.eq(MAGIC)
                for address, name in STATUS_ADDRESSES.items():
                    with m.Case(address):
                        m.d.sync += self.read_resp.payload.value.eq(values[name])
                for leg in range(self._params.legs):
                    with m.Case(HEDGE_POSITION_BASE + leg):
                        m.d.sync += self.read_resp.payload.value.eq(self.positions[leg])
        return m

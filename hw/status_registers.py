"""Status registers of the board, read over the serial link (READ and PING frames, docs/protocol.md).

Counters of the serial side's events, which the other blocks signal as pulses (frame, CRC and UART errors, sequence
gaps, watchdog trips), are kept here. The core's values (its counters, halt flag, the legs' hedge positions and the
dropped-recommendation count) live in the core's clock domain and are looked up there by
:class:`~hedgegate.hw.core_status.CoreStatus`: every read sends its address over (``core_addr``, held, and a
``core_request`` pulse) and waits for ``core_done``; the answer is then ``core_value`` for a core address, the local
counter, the magic number or an identity constant (hw/identity.py) otherwise. A read request (the address) is answered with one READ_RESP payload; the next
request is taken once the answer has left. Unassigned addresses read as 0. All counters are 32 bits and wrap modulo
2^32.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .regmap import MAGIC, IdentityReg, StatusReg
from .core_status import CORE_VALUES
from .frame_encoder import read_resp_payload_layout
from .params import COUNTER_WIDTH

__all__ = ["StatusRegisters"]

# The address map is hw/regmap.py's StatusReg (docs/protocol.md): the magic number, the counters below
# (here) and CORE_VALUES and the hedge positions (CoreStatus, in the core's domain).
_COUNTED = {"frame_errors": "frame_error", "crc_errors": "crc_error", "uart_errors": "uart_error",
            "seq_gaps": "seq_gap", "watchdog_trips": "watchdog_trip"}


class StatusRegisters(wiring.Component):
    """The serial side's status registers (see the module docstring).

    Parameters
    ----------
    identity : dict[IdentityReg, int]
        The design's identity constants (:func:`~.identity.design_identity`), answered at their addresses.

    Attributes
    ----------
    read : stream of 8 bits
        Read requests (the address), from the frame decoder.
    read_resp : stream of ``read_resp_payload_layout``
        Answers, to the frame encoder.
    core_addr, core_request, core_done, core_value : Signal
        The lookup of the core's values (:class:`~.core_status.CoreStatus`).
    frame_error, crc_error, uart_error, seq_gap, watchdog_trip : Signal
        Event pulses, counted here.
    """

    def __init__(self, identity: dict):
        if set(identity) != set(IdentityReg):
            raise ValueError("identity: a value for every IdentityReg address is needed")
        self._identity = identity
        super().__init__({
            "read":          In(stream.Signature(8)),
            "read_resp":     Out(stream.Signature(read_resp_payload_layout)),
            # The core's values, through CoreStatus.
            "core_addr":     Out(8),
            "core_request":  Out(1),
            "core_done":     In(1),
            "core_value":    In(32),
            # Events counted here.
            "frame_error":   In(1),
            "crc_error":     In(1),
            "uart_error":    In(1),
            "seq_gap":       In(1),
            "watchdog_trip": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        counters = {}
        for name, pulse in _COUNTED.items():
            counters[name] = counter = Signal(COUNTER_WIDTH, name=name)
            m.d.sync += counter.eq(counter + getattr(self, pulse))

        # A request's address is registered (core_addr, held until the answer) and sent to the core's domain the
        # cycle after; the answer is put together when the core's lookup is back, so the ~7-way multiplexer here
        # starts at flip-flops, not after the frame decoder's handshake (once the ULX3S-25F's critical path).
        waiting = Signal()
        with m.If(self.read_resp.valid & self.read_resp.ready):
            m.d.sync += self.read_resp.valid.eq(0)
        m.d.comb += self.read.ready.eq(~waiting & ~self.read_resp.valid)
        m.d.sync += self.core_request.eq(self.read.valid & self.read.ready)
        with m.If(self.read.valid & self.read.ready):
            m.d.sync += [waiting.eq(1), self.core_addr.eq(self.read.payload)]
        with m.If(waiting & self.core_done):
            m.d.sync += [waiting.eq(0), self.read_resp.valid.eq(1), self.read_resp.payload.addr.eq(self.core_addr),
                         self.read_resp.payload.value.eq(self.core_value)]     # 0 unless a core address
            with m.Switch(self.core_addr):
                with m.Case(int(StatusReg.MAGIC)):
                    m.d.sync += self.read_resp.payload.value.eq(MAGIC)
                for name in _COUNTED:
                    with m.Case(int(StatusReg[name.upper()])):
                        m.d.sync += self.read_resp.payload.value.eq(counters[name])
                for address, value in self._identity.items():
                    with m.Case(int(address)):
                        m.d.sync += self.read_resp.payload.value.eq(value)
        return m


assert not set(_COUNTED) & set(CORE_VALUES.values())
assert {reg.name.lower() for reg in StatusReg} == {"magic", *_COUNTED, *CORE_VALUES.values()}, \
    "every status address is answered here or by CoreStatus"

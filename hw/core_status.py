"""The core's status values, looked up in the core's clock domain for a read from the serial side's.

The core's counters (ticks in, recommendations out, limit- and price-blocked), its halt flag, the legs' hedge
positions and the count of recommendations the queue dropped (``rec_overflow``, counted here from ``rec_dropped``)
live in the ``core`` domain; the status registers that answer READ frames live in the serial side's ``sync``
domain. Rather than carrying every value across (~200 bits, changing every cycle), a read carries one address over
and one 32-bit value back:

    sync:  addr (held) + request pulse --PulseSynchronizer--> core: value <= lookup(addr); ack
    core:  ack --PulseSynchronizer--> sync: done (value is stable from here until the next request)

``addr`` must not change from ``request`` until ``done``, and a new request must wait for ``done`` (the status
registers take one READ at a time). When ``done`` arrives in the ``sync`` domain the value register was written at
least two ``sync`` edges earlier (the acknowledgement's synchronizer) and is not written again before the next
request, so it is read as a stable value: the only signals that cross without a synchronizer are ``addr`` into the
lookup and ``value`` out of it, each held still by the handshake while the other side samples it. All values of one
read come from one core cycle. Addresses the core does not hold read as 0 (:class:`StatusRegisters` answers those).

The two domains may be one clock (the iCEBreaker) or two unrelated ones (the ULX3S); the pulse synchronizers work
either way because requests are at least one handshake apart.
"""

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.cdc import PulseSynchronizer
from amaranth.lib.wiring import In, Out

from .regmap import HEDGE_POSITION_BASE, StatusReg
from .params import COUNTER_WIDTH, CoreParams

__all__ = ["CoreStatus", "CORE_VALUES"]

# Status addresses whose values the core's domain holds (the names of CoreStatus's inputs and counter).
CORE_VALUES = {StatusReg.TICKS_IN: "ticks_in", StatusReg.RECS_OUT: "recs_out",
               StatusReg.LIMIT_BLOCKED: "limit_blocked", StatusReg.PRICE_BLOCKED: "price_blocked",
               StatusReg.HALTED: "halted", StatusReg.REC_OVERFLOW: "rec_overflow"}


class CoreStatus(wiring.Component):
    """See the module docstring. ``core_domain`` and ``read_domain`` name the two clock domains."""

    def __init__(self, params: CoreParams, *, core_domain: str = "core", read_domain: str = "sync"):
        self._params = params
        self._core = core_domain
        self._read = read_domain
        super().__init__({
            # Core domain.
            "ticks_in":      In(COUNTER_WIDTH),
            "recs_out":      In(COUNTER_WIDTH),
            "limit_blocked": In(COUNTER_WIDTH),
            "price_blocked": In(COUNTER_WIDTH),
            "halted":        In(1),
            "hedge_positions": In(data.ArrayLayout(signed(32), params.legs)),
            "rec_dropped":   In(range(params.legs + 1)),
            # Read domain (value: a core-domain register, stable from done to the next request).
            "addr":          In(8),
            "request":       In(1),
            "done":          Out(1),
            "value":         Out(32),
        })

    def elaborate(self, platform):
        m = Module()
        core = m.d[self._core]
        m.submodules.request_sync = request_sync = PulseSynchronizer(self._read, self._core)
        m.submodules.done_sync = done_sync = PulseSynchronizer(self._core, self._read)

        values = {name: getattr(self, name) for name in CORE_VALUES.values() if name != "rec_overflow"}
        values["rec_overflow"] = overflow = Signal(COUNTER_WIDTH)
        core += overflow.eq(overflow + self.rec_dropped)

        m.d.comb += [request_sync.i.eq(self.request), self.done.eq(done_sync.o)]
        ack = Signal()
        core += ack.eq(request_sync.o)
        m.d.comb += done_sync.i.eq(ack)
        with m.If(request_sync.o):
            core += self.value.eq(0)
            with m.Switch(self.addr):
                for address, name in CORE_VALUES.items():
                    with m.Case(int(address)):
                        core += self.value.eq(values[name])
                for leg in range(self._params.legs):
                    with m.Case(HEDGE_POSITION_BASE + leg):
                        core += self.value.eq(self.hedge_positions[leg])
        return m

"""Commands to the hedging core besides ticks: register writes, and the writes that load an engine config.

Ticks (``hedgegate.host.ticks.Tick``) and :class:`Write` commands form one ordered stream; every backend (the model,
the simulated gateware, later the board) consumes the same stream.
"""

from dataclasses import dataclass

from ..hw.regmap import GlobalReg, LegReg

__all__ = ["Write", "config_writes", "halt_write"]


@dataclass(frozen=True)
class Write:
    """A register write: ``data`` is the 32-bit word as sent (two's complement for signed registers)."""
    leg: int
    addr: int
    data: int

    def __post_init__(self):
        object.__setattr__(self, "data", self.data & 0xFFFF_FFFF)


def halt_write(halted: bool) -> Write:
    return Write(0, GlobalReg.HALT, int(halted))


def config_writes(config) -> list[Write]:
    """The writes that load ``config`` (an ``EngineConfig``) into a core fresh from reset.

    Each leg is enabled last, so a leg never evaluates a half-written set of registers even if ticks were to be
    interleaved; the global halt is cleared at the end.
    """
    writes = []
    for index, leg in enumerate(config.legs):
        registers = leg.registers()
        for addr, value in registers.items():
            if addr != LegReg.ENABLED:
                writes.append(Write(index, addr, value))
        writes.append(Write(index, LegReg.ENABLED, registers[LegReg.ENABLED]))
    writes.append(halt_write(False))
    return writes

"""The ``model`` backend: the bit-exact model in process, behind the :class:`~.base.Board` interface.

No bytes are involved: ticks and writes go straight into :class:`~hedgegate.host.model.HedgeModel`, whose
recommendations are ready as soon as :meth:`send` returns, so :meth:`poll` never waits. Its status registers are the
model's counters; the link's (frame, CRC and UART errors, sequence gaps, queue overflow, watchdog trips) read 0, as
there is no link.
"""

import dataclasses

from ...hw.identity import design_identity
from ...hw.regmap import HEDGE_POSITION_BASE, MAGIC, LegReg, StatusReg
from ..commands import Write
from ..model import HedgeModel
from .base import Board

__all__ = ["ModelBoard"]

_MODEL_COUNTERS = {StatusReg.TICKS_IN: "ticks_in", StatusReg.RECS_OUT: "recs_out",
                   StatusReg.LIMIT_BLOCKED: "limit_blocked", StatusReg.PRICE_BLOCKED: "price_blocked"}


class ModelBoard(Board):
    """The model as a board.

    Parameters
    ----------
    params : CoreParams

    Attributes
    ----------
    model : HedgeModel
        The model itself (its books and registers), for tests and the backtester.
    """

    name = "model"

    def __init__(self, params):
        super().__init__(params)
        self.model = HedgeModel(params)
        self._identity = {int(reg): value for reg, value in design_identity(params).items()}
        self._pending = []
        self.mark()

    def send(self, commands) -> None:
        for command in commands:
            if isinstance(command, Write):
                self.model.write(command)
            else:
                self._pending += self.model.tick(command.symbol, command.side, command.price, command.qty)
                self.ticks_sent += 1

    def read_status(self, addr: int, timeout: float | None = None) -> int:
        if addr == StatusReg.MAGIC:
            return MAGIC
        if addr in _MODEL_COUNTERS:
            return getattr(self.model, _MODEL_COUNTERS[addr]) & 0xFFFF_FFFF
        if addr in self._identity:
            return self._identity[addr]
        if addr == StatusReg.HALTED:
            return int(self.model.halted)
        if HEDGE_POSITION_BASE <= addr < HEDGE_POSITION_BASE + self.params.legs:
            return self.model.registers[addr - HEDGE_POSITION_BASE][LegReg.HEDGE_POSITION] & 0xFFFF_FFFF
        return 0

    def mark(self) -> None:
        super().mark()
        self._counted_from = (self.model.recs_out, self.model.ticks_in)

    def _receive(self, timeout: float):
        recs, self._pending = self._pending, []
        seq0, tick0 = self._counted_from
        return [dataclasses.replace(rec, seq=rec.seq - seq0, tick=rec.tick - tick0) for rec in recs]

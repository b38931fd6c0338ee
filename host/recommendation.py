"""A hedge recommendation: one type for every backend, and its one JSON form.

The model produces them, the simulated gateware's recommendation port and the board's REC frames are decoded into
them, and every file and stream of them (RECS, ``hedgegate stream``) is written by :meth:`Recommendation.json_line`.
The gateware's recommendations carry the core's cycle stamps (tick handshake in, recommendation out); the model's
do not.
"""

import json
from dataclasses import dataclass, field

from ..hw.layouts import RecSide
from ..hw.params import COUNTER_WIDTH
from .numbers import milli_to_json

__all__ = ["Recommendation"]

_COUNTER_MASK = (1 << COUNTER_WIDTH) - 1


@dataclass(frozen=True)
class Recommendation:
    """One order a leg recommends.

    Attributes
    ----------
    seq : int
        The core's recommendation counter: 0 for the first recommendation after reset, one more for each (in leg
        order within a tick). A REC frame carries it modulo 2^32; the host unwraps it.
    tick : int
        Index of the tick that caused it (ticks counted from reset; modulo 2^32 on the wire, unwrapped likewise).
    leg : int
    side : RecSide
    qty : int
        Order size, >= the leg's min_qty.
    price : int
        Limit price in milli-units (the touch plus or minus the leg's slippage).
    hedge_position : int
        The leg's hedge position H after this order.
    cycle_in, cycle_out : int or None
        The core's cycle counter (modulo 2^32) when the tick was taken and when the recommendation came out: from
        the gateware only; None from the model. Not compared by ``==``: a measurement, not the recommendation.
    """
    seq: int
    tick: int
    leg: int
    side: RecSide
    qty: int
    price: int
    hedge_position: int
    # Measurements, not part of the recommendation: two backends agree when their recommendations are equal.
    cycle_in: int | None = field(default=None, compare=False)
    cycle_out: int | None = field(default=None, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "side", RecSide(self.side))

    @property
    def latency_cycles(self) -> int | None:
        """Core cycles from the tick's handshake to this recommendation (gateware only)."""
        if self.cycle_in is None or self.cycle_out is None:
            return None
        return (self.cycle_out - self.cycle_in) & _COUNTER_MASK

    def to_json(self, *, latency: bool = True) -> dict:
        """The RECS fields, in file order: prices as exact decimals (docs/numbers.md); ``latency_cycles`` last when
        the recommendation was measured (and ``latency``)."""
        fields = {"seq": self.seq, "tick": self.tick, "leg": self.leg, "side": self.side.name, "qty": self.qty,
                  "price": milli_to_json(self.price), "hedge_position": self.hedge_position}
        if latency and self.latency_cycles is not None:
            fields["latency_cycles"] = self.latency_cycles
        return fields

    def json_line(self, *, latency: bool = True) -> str:
        """One line of a RECS file (without the newline)."""
        return json.dumps(self.to_json(latency=latency))

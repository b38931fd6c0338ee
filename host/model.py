"""The bit-exact model of the hedging core.

It states the order-book rules and the hedge law of docs/numbers.md as directly as Python's unbounded integers allow,
with none of the gateware's restructuring (see ``hedgegate.hw.hedge_leg`` for that), so that the differential tests
compare two independent derivations of the same specification. It consumes the same command stream as the core --
ticks and register writes, in order -- and produces the same recommendations, book snapshots and counters.

The model is the reference for every simulation and the ``model`` backend of ``hedgegate replay``.
"""

from ..hw.layouts import RecSide, TickSide, unpack
from ..hw.params import POSITION_MAX, RATIO_FRAC_BITS, CoreParams
from ..hw.regmap import GlobalReg, LegReg, leg_register_shapes, leg_reset_values
from .commands import Write
from .numbers import rha_shift, saturate
from .recommendation import Recommendation

__all__ = ["HedgeModel", "update_side"]


Level = tuple[int, int]   # (price, qty)


def update_side(levels: list[Level], price: int, qty: int, descending: bool, depth: int):
    """One side's level update, the book's rule: set the size at ``price`` (0 removes the level); a new price better
    than the ``depth``-th pushes the last level out, one worse than all ``depth`` levels is ignored."""
    for i, (level_price, _) in enumerate(levels):
        if level_price == price:
            if qty:
                levels[i] = (price, qty)
            else:
                del levels[i]
            return
    if qty == 0:
        return
    position = next((i for i, (level_price, _) in enumerate(levels)
                     if (price > level_price if descending else price < level_price)), len(levels))
    if position < depth:
        levels.insert(position, (price, qty))
        del levels[depth:]


class HedgeModel:
    """The core as a Python object: the same command stream in, the same recommendations, books and counters out.

    Parameters
    ----------
    params : CoreParams
        The core's shape (S, N, L, widths; the latency parameters do not change what it computes).

    Attributes
    ----------
    bids, asks : list[list[tuple[int, int]]]
        Per symbol, its levels (price, qty), best first.
    registers : list[dict[LegReg, int]]
        Per leg, its register values (``HEDGE_POSITION`` is H).
    halted : bool
    ticks_in, recs_out, limit_blocked, price_blocked : int
        The core's counters (unbounded here; the core's wrap modulo 2^32).
    """

    def __init__(self, params: CoreParams):
        self.params = params
        self.bids: list[list[Level]] = [[] for _ in range(params.symbols)]
        self.asks: list[list[Level]] = [[] for _ in range(params.symbols)]
        self._shapes = leg_register_shapes(params)
        self.registers = [dict(leg_reset_values(params)) for _ in range(params.legs)]
        self.halted = False
        self.ticks_in = 0
        self.recs_out = 0
        self.limit_blocked = 0
        self.price_blocked = 0

    # Commands ------------------------------------------------------------------------------------------------------

    def apply(self, command):
        """Applies a :class:`Write` or a tick (any object with symbol, side, price, qty); returns recommendations."""
        if isinstance(command, Write):
            self.write(command)
            return []
        return self.tick(command.symbol, command.side, command.price, command.qty)

    def write(self, write: Write):
        """Applies a register write exactly as the core does (out-of-range leg or address: no effect)."""
        data = write.data & 0xFFFF_FFFF
        if write.addr == GlobalReg.HALT:
            self.halted = bool(data & 1)
            return
        if not 0 <= write.leg < self.params.legs or write.addr not in self._shapes:
            return
        regs = self.registers[write.leg]
        value = unpack(self._shapes[LegReg(write.addr)], data)
        if write.addr == LegReg.ADJUST_POSITION:
            regs[LegReg.HEDGE_POSITION] = saturate(regs[LegReg.HEDGE_POSITION] + value, POSITION_MAX)
        elif write.addr == LegReg.HEDGE_POSITION:
            regs[LegReg.HEDGE_POSITION] = saturate(value, POSITION_MAX)
        else:
            regs[LegReg(write.addr)] = value

    def tick(self, symbol: int, side: int, price: int, qty: int) -> list[Recommendation]:
        """Applies one tick; returns the recommendations it causes, in leg order."""
        if not 0 <= symbol < self.params.symbols:
            raise ValueError(f"symbol {symbol} is not below {self.params.symbols}")
        index = self.ticks_in
        self.ticks_in += 1
        if side == TickSide.CLEAR:
            self.bids[symbol].clear()
            self.asks[symbol].clear()
        elif side in (TickSide.BID, TickSide.ASK):
            levels = self.bids[symbol] if side == TickSide.BID else self.asks[symbol]
            update_side(levels, price, qty, side == TickSide.BID, self.params.levels)
        if side not in (TickSide.BID, TickSide.ASK):
            return []
        recs = []
        for leg in range(self.params.legs):
            rec = self._evaluate(leg, symbol, index)
            if rec is not None:
                recs.append(rec)
        return recs

    def book(self, symbol: int) -> tuple[list[Level], list[Level]]:
        """The symbol's (bids, asks), best first."""
        return list(self.bids[symbol]), list(self.asks[symbol])

    # Hedge law -----------------------------------------------------------------------------------------------------

    def _evaluate(self, leg: int, symbol: int, tick: int):
        regs = self.registers[leg]
        if not regs[LegReg.ENABLED] or self.halted or regs[LegReg.SYMBOL] != symbol:
            return None
        bids, asks = self.bids[symbol], self.asks[symbol]
        if not bids or not asks:
            return None
        best_bid, best_ask = bids[0][0], asks[0][0]
        if not best_bid < best_ask:
            return None

        mid = (best_bid + best_ask) >> 1
        in_band = regs[LegReg.BAND_LO] <= mid <= regs[LegReg.BAND_HI]
        ratio = regs[LegReg.HEDGE_RATIO] if in_band else regs[LegReg.ALT_HEDGE_RATIO]
        ratio_eff = ratio + rha_shift(regs[LegReg.GAMMA] * (mid - regs[LegReg.ANCHOR]), RATIO_FRAC_BITS)
        target = saturate(rha_shift(-regs[LegReg.POSITION] * ratio_eff, RATIO_FRAC_BITS), POSITION_MAX)

        position = regs[LegReg.HEDGE_POSITION]
        dev = target - position
        min_qty = regs[LegReg.MIN_QTY]
        if not (abs(dev) >= min_qty and abs(dev) * 10000 > regs[LegReg.THRESHOLD_BPS] * abs(target)):
            return None
        buy = dev > 0
        limit = regs[LegReg.POSITION_LIMIT]
        qty = min(abs(dev), regs[LegReg.MAX_ORDER_QTY], limit - position if buy else limit + position)
        if qty < min_qty:
            self.limit_blocked += 1
            return None
        slippage = regs[LegReg.SLIPPAGE]
        price = best_ask + slippage if buy else best_bid - slippage
        if not self.params.price_min <= price <= self.params.price_max:
            self.price_blocked += 1
            return None

        regs[LegReg.HEDGE_POSITION] = position + qty if buy else position - qty
        rec = Recommendation(seq=self.recs_out, tick=tick, leg=leg, side=RecSide.BUY if buy else RecSide.SELL,
                             qty=qty, price=price, hedge_position=regs[LegReg.HEDGE_POSITION])
        self.recs_out += 1
        return rec

"""The core's per-tick law, written once: plain Python for the model, compiled by numba for the fast path.

Every function here is written in the subset of Python that numba compiles (``register_jitable``: the function is an
ordinary Python function when Python calls it, and is compiled into whichever ``njit`` function calls it). The model
(:class:`~hedgegate.host.model.HedgeModel`) calls them with Python lists of Python ints; the compiled loops at the
end of this file call them with numpy int64 arrays. So there is one statement of the book rules and the hedge law of
docs/numbers.md, and the two paths cannot drift.

Exactness with 64-bit integers
------------------------------
With Python ints every expression is exact. Compiled, every value is an int64, and two products of the law do not
fit in 64 bits at the extremes of the register ranges: ``gamma * (mid - anchor)`` (32 x 33 bits) and
``-P * r_eff`` (32 x 49 bits, the 83-bit exposure product of docs/numbers.md). Both go through
:func:`mul_rha_sat`, which computes ``saturate(rha(a * b / 2^k), limit)`` exactly without ever forming the product
(see its docstring for the bound); every other intermediate is below 2^47. The model runs the same code, so the
split is tested against Python's exact integers on every model test, and ``tests/test_fast_path.py`` compares the
compiled kernel with the model on random registers over their full ranges.

Why one file: numba's on-disk cache (``cache=True``) is invalidated only when the file of the compiled function
changes, not when a function it calls changes in another file. The law and the loops that compile it therefore live
together, so editing the law always recompiles them.
"""

import warnings

from numba import njit
from numba.core.errors import NumbaIRAssumptionWarning
from numba.extending import register_jitable

from ..hw.params import POSITION_MAX, RATIO_FRAC_BITS
from ..hw.regmap import LegReg

# inline="always" (numba's IR inlining: the per-tick functions are merged into the loops, about twice as fast as
# calls) trips numba's "internal pedantic check" of its SSA form (NumbaIRAssumptionWarning, a warning, not an
# error); what the compiled loops compute is checked against the model by tests/test_fast_path.py.
warnings.filterwarnings("ignore", category=NumbaIRAssumptionWarning)

__all__ = ["mul_rha_sat", "book_update", "book_clear", "hedge_law", "adjust_position", "apply_tick", "replay_loop",
           "backtest_loop", "settle_all", "REC_FIELDS", "NONE", "BUY", "SELL", "LIMIT_BLOCKED", "PRICE_BLOCKED"]

# Leg register indexes (a leg's registers are a row indexed by LegReg), as plain ints for numba.
ENABLED, SYMBOL, POSITION, HEDGE_POSITION = int(LegReg.ENABLED), int(LegReg.SYMBOL), int(LegReg.POSITION), \
    int(LegReg.HEDGE_POSITION)
HEDGE_RATIO, ALT_HEDGE_RATIO, BAND_LO, BAND_HI = int(LegReg.HEDGE_RATIO), int(LegReg.ALT_HEDGE_RATIO), \
    int(LegReg.BAND_LO), int(LegReg.BAND_HI)
GAMMA, ANCHOR, THRESHOLD_BPS, MIN_QTY = int(LegReg.GAMMA), int(LegReg.ANCHOR), int(LegReg.THRESHOLD_BPS), \
    int(LegReg.MIN_QTY)
MAX_ORDER_QTY, POSITION_LIMIT, SLIPPAGE = int(LegReg.MAX_ORDER_QTY), int(LegReg.POSITION_LIMIT), int(LegReg.SLIPPAGE)
LEG_REGISTERS = int(LegReg.SLIPPAGE) + 1          # the stored registers (ADJUST_POSITION is a write-only action)

# Outcome of the hedge law for one leg and one tick.
NONE, BUY, SELL, LIMIT_BLOCKED, PRICE_BLOCKED = 0, 1, 2, 3, 4

# Counters (index into the counters array).
TICKS_IN, RECS_OUT, LIMIT_COUNT, PRICE_COUNT = 0, 1, 2, 3

# A recommendation in a flat buffer: REC_FIELDS values per record.
REC_SEQ, REC_TICK, REC_LEG, REC_SIDE, REC_QTY, REC_PRICE, REC_HEDGE = range(7)
REC_FIELDS = 7

_POSITION_MAX = POSITION_MAX
_WIDE = (1 << 62) - 1        # "no saturation" for mul_rha_sat: above every value the law can produce
_RATIO_FRAC_BITS = RATIO_FRAC_BITS


@register_jitable(inline="always")
def mul_rha_sat(a, b, k, limit):
    """``saturate(rha(a * b / 2^k), limit)`` exactly, for ``|a| < 2^62``, ``|b| < 2^(62 - k)``, ``limit < 2^62``.

    rha is rounding half away from zero, so the result is ``sign(a*b) * min((|a||b| + 2^(k-1)) >> k, limit)``.
    Split ``|a| = hi * 2^k + lo`` (``lo < 2^k``): ``(|a||b| + 2^(k-1)) >> k = hi*|b| + ((lo*|b| + 2^(k-1)) >> k)``,
    both terms non-negative. ``lo*|b| < 2^62`` by the bound on b; ``hi*|b|`` is formed only once it is known not
    to exceed ``limit`` (else the result saturates), and the sum then stays below ``limit + |b| < 2^63``.
    """
    negative = (a < 0) != (b < 0)
    ma = -a if a < 0 else a
    mb = -b if b < 0 else b
    hi = ma >> k
    lo = ma - (hi << k)
    if hi != 0 and mb > limit // hi:
        magnitude = limit
    else:
        magnitude = hi * mb + ((lo * mb + (1 << (k - 1))) >> k)
        if magnitude > limit:
            magnitude = limit
    return -magnitude if negative else magnitude


@register_jitable(inline="always")
def book_update(prices, sizes, counts, symbol, depth, price, qty, descending):
    """One side's level update (docs/numbers.md, "Order book"): set the size at ``price`` (0 removes the level); a
    new price better than the ``depth``-th pushes the last level out, one worse than all ``depth`` levels is ignored.

    ``prices``/``sizes`` hold ``depth`` slots per symbol (best first), ``counts`` the levels in use per symbol."""
    base = symbol * depth
    n = counts[symbol]
    for i in range(n):
        if prices[base + i] == price:
            if qty != 0:
                sizes[base + i] = qty
            else:
                for j in range(i, n - 1):
                    prices[base + j] = prices[base + j + 1]
                    sizes[base + j] = sizes[base + j + 1]
                counts[symbol] = n - 1
            return
    if qty == 0:
        return
    position = n
    for i in range(n):
        if (price > prices[base + i]) if descending else (price < prices[base + i]):
            position = i
            break
    if position >= depth:
        return
    last = n if n < depth else depth - 1
    for j in range(last, position, -1):
        prices[base + j] = prices[base + j - 1]
        sizes[base + j] = sizes[base + j - 1]
    prices[base + position] = price
    sizes[base + position] = qty
    counts[symbol] = n + 1 if n < depth else depth


@register_jitable(inline="always")
def book_clear(counts, symbol):
    counts[symbol] = 0


@register_jitable(inline="always")
def hedge_law(regs, at, halted, symbol, best_bid, best_ask, both_sides, price_min, price_max):
    """One leg's decision after a bid/ask tick on ``symbol`` (docs/numbers.md, "Hedge law"), with the leg's
    registers at ``regs[at:at + LEG_REGISTERS]`` (an offset, not a slice: a list's slice would be a copy). Returns
    ``(outcome, qty, price)``; on BUY/SELL it has moved H (``regs[at + HEDGE_POSITION]``)."""
    if regs[at + ENABLED] == 0 or halted or regs[at + SYMBOL] != symbol:
        return NONE, 0, 0
    if not both_sides or not best_bid < best_ask:
        return NONE, 0, 0
    mid = (best_bid + best_ask) >> 1
    in_band = regs[at + BAND_LO] <= mid <= regs[at + BAND_HI]
    ratio = regs[at + HEDGE_RATIO] if in_band else regs[at + ALT_HEDGE_RATIO]
    ratio_eff = ratio + mul_rha_sat(regs[at + GAMMA], mid - regs[at + ANCHOR], _RATIO_FRAC_BITS, _WIDE)
    target = mul_rha_sat(ratio_eff, -regs[at + POSITION], _RATIO_FRAC_BITS, _POSITION_MAX)

    position = regs[at + HEDGE_POSITION]
    dev = target - position
    size = -dev if dev < 0 else dev
    min_qty = regs[at + MIN_QTY]
    if not (size >= min_qty and size * 10000 > regs[at + THRESHOLD_BPS] * (-target if target < 0 else target)):
        return NONE, 0, 0
    buy = dev > 0
    room = regs[at + POSITION_LIMIT] - position if buy else regs[at + POSITION_LIMIT] + position
    qty = min(size, regs[at + MAX_ORDER_QTY], room)
    if qty < min_qty:
        return LIMIT_BLOCKED, 0, 0
    price = best_ask + regs[at + SLIPPAGE] if buy else best_bid - regs[at + SLIPPAGE]
    if not price_min <= price <= price_max:
        return PRICE_BLOCKED, 0, 0
    regs[at + HEDGE_POSITION] = position + qty if buy else position - qty
    return (BUY if buy else SELL), qty, price


@register_jitable(inline="always")
def adjust_position(regs, at, value):
    """A fill adjustment (the ADJUST_POSITION write): H = saturate(H + value) to +-(2^31 - 1), the leg's registers at
    ``regs[at:]``."""
    h = regs[at + HEDGE_POSITION] + value
    regs[at + HEDGE_POSITION] = -_POSITION_MAX if h < -_POSITION_MAX else _POSITION_MAX if h > _POSITION_MAX else h


@register_jitable(inline="always")
def apply_tick(bid_prices, bid_sizes, bid_counts, ask_prices, ask_sizes, ask_counts, depth, regs, halted,
               counters, price_min, price_max, symbol, side, price, qty, recs, rec_n):
    """One tick into the books and every leg (side: 0 bid, 1 ask, 2 trade, 3 clear). The recommendations go into
    the flat buffer ``recs`` from record ``rec_n`` on (room for one per leg is the caller's); returns the new
    ``rec_n``. ``regs`` is one row of LEG_REGISTERS per leg, in leg order."""
    tick = counters[TICKS_IN]
    counters[TICKS_IN] = tick + 1
    if side == 3:
        book_clear(bid_counts, symbol)
        book_clear(ask_counts, symbol)
        return rec_n
    if side == 0:
        book_update(bid_prices, bid_sizes, bid_counts, symbol, depth, price, qty, True)
    elif side == 1:
        book_update(ask_prices, ask_sizes, ask_counts, symbol, depth, price, qty, False)
    else:
        return rec_n
    base = symbol * depth
    both_sides = bid_counts[symbol] > 0 and ask_counts[symbol] > 0
    best_bid = bid_prices[base] if both_sides else 0
    best_ask = ask_prices[base] if both_sides else 0
    legs = len(regs) // LEG_REGISTERS
    for leg in range(legs):
        at = leg * LEG_REGISTERS
        outcome, rec_qty, rec_price = hedge_law(regs, at, halted, symbol, best_bid, best_ask, both_sides, price_min,
                                                price_max)
        if outcome == LIMIT_BLOCKED:
            counters[LIMIT_COUNT] += 1
        elif outcome == PRICE_BLOCKED:
            counters[PRICE_COUNT] += 1
        elif outcome != NONE:
            out = rec_n * REC_FIELDS
            recs[out + REC_SEQ] = counters[RECS_OUT]
            recs[out + REC_TICK] = tick
            recs[out + REC_LEG] = leg
            recs[out + REC_SIDE] = 0 if outcome == BUY else 1
            recs[out + REC_QTY] = rec_qty
            recs[out + REC_PRICE] = rec_price
            recs[out + REC_HEDGE] = regs[at + HEDGE_POSITION]
            counters[RECS_OUT] += 1
            rec_n += 1
    return rec_n


# Compiled loops ------------------------------------------------------------------------------------------------------
# The tick columns are numpy arrays (symbol, side, price, qty int64; ts int64 ns). Each loop runs ticks [start, stop)
# and returns early, at the first tick its output buffers might not hold, with the index it reached: the caller grows
# the buffers and calls again, so no buffer is ever overrun and nothing is dropped.

@njit(cache=True)
def replay_loop(symbols, sides, prices, qtys, start, stop, bid_prices, bid_sizes, bid_counts, ask_prices, ask_sizes,
                ask_counts, depth, regs, halted, counters, price_min, price_max, recs, trace):
    """The core alone (``hedgegate replay --backend fast``): returns ``(index reached, recommendations written)``.
    ``trace`` (one row per tick from ``start``, or no rows) receives the tick's symbol's book after the tick: the
    two counts, then bid prices, bid sizes, ask prices, ask sizes (``depth`` each)."""
    legs = len(regs) // LEG_REGISTERS
    capacity = len(recs) // REC_FIELDS
    tracing = trace.shape[0] > 0
    rec_n = 0
    for i in range(start, stop):
        if rec_n + legs > capacity:
            return i, rec_n
        symbol = symbols[i]
        rec_n = apply_tick(bid_prices, bid_sizes, bid_counts, ask_prices, ask_sizes, ask_counts, depth, regs, halted,
                           counters, price_min, price_max, symbol, sides[i], prices[i], qtys[i], recs, rec_n)
        if tracing:
            row = i - start
            base = symbol * depth
            trace[row, 0] = bid_counts[symbol]
            trace[row, 1] = ask_counts[symbol]
            for k in range(depth):
                trace[row, 2 + k] = bid_prices[base + k]
                trace[row, 2 + depth + k] = bid_sizes[base + k]
                trace[row, 2 + 2 * depth + k] = ask_prices[base + k]
                trace[row, 2 + 3 * depth + k] = ask_sizes[base + k]
    return stop, rec_n


# Backtest state: indexes into its int64 array ``ints`` and float64 array ``money`` (milli-units of currency).
N_ORDERS, LATENCY_INDEX, FILL_N, LAST_TS, HEDGES, CANCELLED, VOLUME = range(7)
STATE_INTS = 7
UNHEDGED, HEDGED, FEES, SLIPPAGE_COST = range(4)
STATE_MONEY = 4
# An order in flight or resting: a row of ``orders``.
O_LEG, O_SIDE, O_SYMBOL, O_REMAINING, O_LIMIT, O_SENT, O_ARRIVES = range(7)
ORDER_FIELDS = 7
# Cost parameters (float64 array ``costs``).
FEE_BPS, FEE_PER_LOT, SLIPPAGE_BPS = range(3)


@register_jitable(inline="always")
def _first_mark(marks, marked, symbol, price):
    """A symbol's first mark, also its reference (``marks[1]``): P&L counts from there. True if it was the first."""
    if marked[symbol] != 0:
        return False
    marks[0, symbol] = price
    marks[1, symbol] = price
    marked[symbol] = 1
    return True


@register_jitable(inline="always")
def _mark(marks, marked, symbol, price, regs, exposure_symbols, filled, money):
    """Moves ``symbol``'s mark (``marks[0]``; milli-units, float) to ``price`` and books the change on every exposure
    and hedge held in it; the first mark of a symbol is its reference and books nothing."""
    if _first_mark(marks, marked, symbol, price):
        return
    change = price - marks[0, symbol]
    if change == 0.0:
        return
    marks[0, symbol] = price
    for leg in range(len(filled)):
        if exposure_symbols[leg] == symbol:
            money[UNHEDGED] += regs[leg * LEG_REGISTERS + POSITION] * change
        if regs[leg * LEG_REGISTERS + SYMBOL] == symbol:
            money[HEDGED] += filled[leg] * change


@register_jitable(inline="always")
def _settle(orders, ints, money, costs, rest, final, now, ask_prices, ask_sizes, ask_counts, bid_prices, bid_sizes,
            bid_counts, depth, regs, marks, marked, filled, fill_latency):
    """Fills the orders that have reached the market by ``now`` (arrival before it, or all when ``final``) against
    the book as it stands, walking the levels up to each order's limit price. What is left is cancelled -- H is
    corrected by the unfilled quantity, as the host does on a board -- unless ``rest`` keeps it for later ticks
    (cancelled at the end of the data)."""
    kept = 0
    for k in range(ints[N_ORDERS]):
        leg = orders[k, O_LEG]
        symbol = orders[k, O_SYMBOL]
        remaining = orders[k, O_REMAINING]
        if final or orders[k, O_ARRIVES] < now:
            buy = orders[k, O_SIDE] == 0
            base = symbol * depth
            count = ask_counts[symbol] if buy else bid_counts[symbol]
            taken = 0
            for level in range(count):
                price = ask_prices[base + level] if buy else bid_prices[base + level]
                if (price > orders[k, O_LIMIT]) if buy else (price < orders[k, O_LIMIT]):
                    break
                size = ask_sizes[base + level] if buy else bid_sizes[base + level]
                take = min(remaining - taken, size)
                taken += take
                _first_mark(marks, marked, symbol, float(price))   # a fill before any two-sided book marks it
                notional = float(take) * price
                mark = marks[0, symbol] * take
                money[HEDGED] += (mark - notional) if buy else (notional - mark)
                slip = abs(notional) * costs[SLIPPAGE_BPS] / 10000.0
                fee = abs(notional) * costs[FEE_BPS] / 10000.0 + take * costs[FEE_PER_LOT] * 1000.0
                money[HEDGED] -= slip + fee
                money[SLIPPAGE_COST] += slip
                money[FEES] += fee
                if taken == remaining:
                    break
            if taken > 0:
                filled[leg] += taken if buy else -taken
                ints[VOLUME] += taken
                arrived = orders[k, O_ARRIVES]
                at = arrived if arrived > ints[LAST_TS] else ints[LAST_TS]
                fill_latency[ints[FILL_N]] = at - orders[k, O_SENT]
                ints[FILL_N] += 1
                remaining -= taken
            if remaining > 0 and (final or not rest):
                adjust_position(regs, leg * LEG_REGISTERS, -remaining if buy else remaining)
                ints[CANCELLED] += remaining
                remaining = 0
        if remaining > 0:
            for field in range(ORDER_FIELDS):
                orders[kept, field] = orders[k, field]
            orders[kept, O_REMAINING] = remaining
            kept += 1
    ints[N_ORDERS] = kept


@njit(cache=True)
def backtest_loop(ts, symbols, sides, prices, qtys, start, stop, bid_prices, bid_sizes, bid_counts, ask_prices,
                  ask_sizes, ask_counts, depth, regs, halted, counters, price_min, price_max, recs, orders, ints,
                  money, costs, rest, latencies, marks, marked, filled, exposure_symbols, fill_latency, equity,
                  unhedged, hedge_positions, positions):
    """Ticks [start, stop) through the law with orders, fills and marking; returns the index reached.

    Per tick (``row = i - start``) it records the equity and the unhedged P&L (milli-units of currency) and, per leg,
    the filled hedge position and the exposure P."""
    legs = len(filled)
    order_room = orders.shape[0]
    fill_room = len(fill_latency)
    n_latencies = len(latencies)
    for i in range(start, stop):
        if ints[N_ORDERS] + legs > order_room or ints[FILL_N] + ints[N_ORDERS] + legs > fill_room:
            return i
        now = ts[i]
        if ints[N_ORDERS] > 0:
            _settle(orders, ints, money, costs, rest, False, now, ask_prices, ask_sizes, ask_counts, bid_prices,
                    bid_sizes, bid_counts, depth, regs, marks, marked, filled, fill_latency)
        symbol = symbols[i]
        side = sides[i]
        rec_n = apply_tick(bid_prices, bid_sizes, bid_counts, ask_prices, ask_sizes, ask_counts, depth, regs, halted,
                           counters, price_min, price_max, symbol, side, prices[i], qtys[i], recs, 0)
        ints[LAST_TS] = now
        base = symbol * depth
        if side < 2 and bid_counts[symbol] > 0 and ask_counts[symbol] > 0 and bid_prices[base] < ask_prices[base]:
            _mark(marks, marked, symbol, (bid_prices[base] + ask_prices[base]) * 0.5, regs, exposure_symbols, filled,
                  money)
        for r in range(rec_n):
            at = r * REC_FIELDS
            n = ints[N_ORDERS]
            orders[n, O_LEG] = recs[at + REC_LEG]
            orders[n, O_SIDE] = recs[at + REC_SIDE]
            orders[n, O_SYMBOL] = symbol
            orders[n, O_REMAINING] = recs[at + REC_QTY]
            orders[n, O_LIMIT] = recs[at + REC_PRICE]
            orders[n, O_SENT] = now
            orders[n, O_ARRIVES] = now + latencies[ints[LATENCY_INDEX] % n_latencies]
            ints[LATENCY_INDEX] += 1
            ints[N_ORDERS] = n + 1
            ints[HEDGES] += 1
        row = i - start
        equity[row] = money[UNHEDGED] + money[HEDGED]
        unhedged[row] = money[UNHEDGED]
        for leg in range(legs):
            hedge_positions[row, leg] = filled[leg]
            positions[row, leg] = regs[leg * LEG_REGISTERS + POSITION]
    return stop


@njit(cache=True)
def settle_all(orders, ints, money, costs, now, bid_prices, bid_sizes, bid_counts, ask_prices, ask_sizes, ask_counts,
               depth, regs, marks, marked, filled, fill_latency):
    """The end of the data: the orders still out fill against the last book, the rest is cancelled (the caller
    leaves room for one fill per order)."""
    _settle(orders, ints, money, costs, False, True, now, ask_prices, ask_sizes, ask_counts, bid_prices, bid_sizes,
            bid_counts, depth, regs, marks, marked, filled, fill_latency)

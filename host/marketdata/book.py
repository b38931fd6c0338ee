"""Full-depth price levels of one instrument, and the level updates that keep the engine's top-N book equal to them.

The engine's book (docs/architecture.md) keeps the N best levels of a side: a level update sets a price's size (0
removes it), a new price better than the N-th pushes the N-th out, one worse than all N is ignored. Market-by-order
data changes levels anywhere in the book, so :class:`LevelBook` keeps every level of each side and emits a level
update only when a change is visible in the top ``depth``:

* a visible level changed size, appeared, or went away: that level (size 0 when it went away);
* a visible level went away while the side has ``depth`` levels or more: also the level that now becomes the
  ``depth``-th ("refill"), which the engine never had; without it the engine's book would thin out;
* a level pushed out of the top ``depth`` by a better one needs nothing: the engine drops it itself.

So after each change, an engine with ``levels == depth`` holds exactly the top ``depth`` of the full book
(tests/test_marketdata_dbn.py checks this at every event of a real CME session against an independent book).
"""

from bisect import bisect_left, insort

__all__ = ["LevelBook", "diff_levels"]

BID, ASK = 0, 1


class LevelBook:
    """Both sides of one instrument's book, aggregated per price, at full depth.

    Parameters
    ----------
    depth : int
        How many levels per side the engine keeps (N).
    emit : callable(side, price, qty)
        Called with each level update the engine needs (``side`` 0 bid, 1 ask; ``qty`` 0 removes the level).

    Attributes
    ----------
    sizes : tuple[dict[int, int], dict[int, int]]
        Per side, price -> total size of the level (sizes > 0 only).
    """

    def __init__(self, depth: int, emit):
        self.depth = depth
        self.emit = emit
        self.sizes = ({}, {})
        self._prices = ([], [])            # per side, the level prices in ascending order

    def _rank(self, side: int, index: int) -> int:
        """0 for the best level: bids are best at the end of the ascending list, asks at its start."""
        return len(self._prices[side]) - 1 - index if side == BID else index

    def level_at(self, side: int, rank: int) -> tuple[int, int]:
        prices = self._prices[side]
        price = prices[len(prices) - 1 - rank] if side == BID else prices[rank]
        return price, self.sizes[side][price]

    def top(self, side: int) -> list[tuple[int, int]]:
        """The ``depth`` best levels of a side, best first."""
        return [self.level_at(side, rank) for rank in range(min(self.depth, len(self._prices[side])))]

    def change(self, side: int, price: int, delta: int) -> int:
        """Add ``delta`` (may be negative) to the size at ``price``; returns the level's new size."""
        sizes, prices = self.sizes[side], self._prices[side]
        old = sizes.get(price, 0)
        new = old + delta
        if new == old or (old == 0 and new < 0):     # nothing to remove (the callers never ask for it)
            return old
        if old and new > 0:
            sizes[price] = new
            if self._rank(side, bisect_left(prices, price)) < self.depth:
                self.emit(side, price, new)
        elif new > 0:
            insort(prices, price)
            sizes[price] = new
            if self._rank(side, bisect_left(prices, price)) < self.depth:
                self.emit(side, price, new)
        else:
            index = bisect_left(prices, price)
            visible = self._rank(side, index) < self.depth
            del prices[index]
            del sizes[price]
            if visible:
                self.emit(side, price, 0)
                if len(prices) >= self.depth:
                    self.emit(side, *self.level_at(side, self.depth - 1))
        return max(new, 0)

    def replace_side(self, side: int, levels) -> None:
        """Make a side hold exactly ``levels`` ((price, size) pairs), emitting what changes in the top."""
        before = self.top(side)
        self.sizes[side].clear()
        self._prices[side].clear()
        for price, size in levels:
            if size > 0:
                self.sizes[side][price] = size
                insort(self._prices[side], price)
        for price, qty in diff_levels(before, self.top(side)):
            self.emit(side, price, qty)

    def clear(self) -> None:
        for side in (BID, ASK):
            self.sizes[side].clear()
            self._prices[side].clear()


def diff_levels(before, after):
    """The level updates that turn a side holding ``before`` into one holding ``after`` (both lists of (price,
    size), at most N each): first the prices that went away (size 0), then the levels that are new or resized.

    Removals first, so the side never holds more than N levels on the way and nothing is pushed out.
    """
    kept = {price for price, _ in after}
    updates = [(price, 0) for price, _ in before if price not in kept]
    old = dict(before)
    updates += [(price, size) for price, size in after if old.get(price) != size]
    return updates

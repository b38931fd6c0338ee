"""Registers that synthesis must keep as separate copies.

Yosys merges flip-flops that register the same value (``opt_merge``), which is right for area but wrong where copies
exist to be placed apart: the bid and ask sides of the book each register the tick (price, symbol, ...) next to their
own comparators, and merged, one flip-flop would drive both sides' logic across the chip (a 7 ns route on an ECP5,
bench/results/fmax.txt). A signal made with :func:`duplicate_signal` carries the attribute :data:`DUPLICATE_ATTR`;
the command :data:`YOSYS_KEEP_DUPLICATES`, run right after the design is read (``script_after_read`` of the
board build, the first command of bench/fmax.py), puts Yosys's ``keep`` on the flip-flops that drive such signals,
which ``opt_merge`` leaves alone. Other flows (simulation) ignore the attribute.
"""

from amaranth.hdl import Signal

__all__ = ["DUPLICATE_ATTR", "YOSYS_KEEP_DUPLICATES", "duplicate_signal"]

DUPLICATE_ATTR = "hedgegate_duplicate"

# The wires with the attribute, extended by the $dff cells that drive them (one step back through their Q port),
# minus the wires themselves: the cells get keep = 1.
YOSYS_KEEP_DUPLICATES = f"setattr -set keep 1 a:{DUPLICATE_ATTR} %ci1:+$dff[Q] a:{DUPLICATE_ATTR} %d"


def duplicate_signal(*args, **kwargs) -> Signal:
    """``Signal(*args, **kwargs)`` whose register synthesis keeps even where an identical one exists."""
    attrs = dict(kwargs.pop("attrs", None) or {})
    attrs[DUPLICATE_ATTR] = 1
    return Signal(*args, attrs=attrs, **kwargs)

"""The interface every backend implements: a hedging core the host sends ticks and register writes to, reads status
from and receives recommendations from.

Host code (``hedgegate stream``, the engine API, strategies, the backtester) is written against :class:`Board` and
cannot tell which backend is behind it: the bit-exact model in process, the gateware simulated in Verilator behind
a TCP socket (the virtual board), or a real board on a serial port. Glasgow's ``AbstractAssembly``, whose applets run
unchanged on hardware and in simulation, is the model for this split; unlike Glasgow's, this interface is
synchronous (the model answers at once, the other two are byte streams read by a thread), and it has no shortcut
around the wire: every backend but the model speaks the frames of docs/protocol.md.
"""

import time
from abc import ABC, abstractmethod
from collections.abc import Iterable

from ...hw.identity import design_hash, params_from_identity
from ...hw.params import COUNTER_WIDTH, CoreParams
from ...hw.regmap import HEDGE_POSITION_BASE, MAGIC, IdentityReg, StatusReg
from ..recommendation import Recommendation

__all__ = ["Board", "BoardError", "NoAnswer", "STATUS_NAMES", "IDENTITY_NAMES", "SyncResult", "shape_text"]

_MASK = (1 << COUNTER_WIDTH) - 1

# Status register names as in docs/protocol.md ("Status registers"), by address.
STATUS_NAMES = {reg: reg.name.lower() for reg in StatusReg}
# The identity registers' names (docs/protocol.md, "Identity"), by address.
IDENTITY_NAMES = {reg: "latency_cycles" if reg is IdentityReg.LATENCY else reg.name.lower() for reg in IdentityReg}
# What must match between a board and the config the host streams with: the fields that decide what the core
# accepts and computes. mul_latency and the compact variants change timing and size only, not a recommendation.
SHAPE_FIELDS = ("symbols", "levels", "legs", "price_width", "qty_width")


def shape_text(params: CoreParams) -> str:
    """``symbols=4 levels=10 legs=2 price_width=32 qty_width=32``: a core's shape in messages."""
    return " ".join(f"{name}={getattr(params, name)}" for name in SHAPE_FIELDS)


class BoardError(Exception):
    """A board that cannot be used as asked: nothing answering, a wrong identity, a link that went away. Its text is
    one line naming the board (the CLI prints it as is and exits non-zero)."""


class NoAnswer(BoardError):
    """A status read that got no answer in time (the board busy behind a backlog, or the READ or its answer lost
    on a corrupted link); the link itself is still up."""


class SyncResult:
    """What :meth:`Board.sync` found: the recommendations that arrived, and what was lost on the way.

    Attributes
    ----------
    recommendations : list[Recommendation]
    ticks_in : int
        Ticks the core has taken since the board was opened (the status counter's increase).
    ticks_lost : int
        Ticks sent that the core did not take (dropped by the board's decoder: a corrupted link).
    recs_out : int
        Recommendations the core produced since the board was opened.
    rec_overflow : int
        Of those, how many the board dropped because its transmit queue was full.
    lost : int
        Recommendations produced and not dropped by the board that never arrived (lost on the link).
    """

    def __init__(self, recommendations, ticks_in, ticks_lost, recs_out, rec_overflow, lost):
        self.recommendations = recommendations
        self.ticks_in = ticks_in
        self.ticks_lost = ticks_lost
        self.recs_out = recs_out
        self.rec_overflow = rec_overflow
        self.lost = lost


class Board(ABC):
    """A hedging core behind some transport.

    Parameters
    ----------
    params : CoreParams
        The core's shape: what ticks and writes the host may send (symbols, widths, legs).

    Attributes
    ----------
    params : CoreParams
    name : str
        The backend and where it is, for messages (``model``, ``socket://127.0.0.1:4000``, ``/dev/ttyUSB1``).
    ticks_sent : int
        Ticks handed to :meth:`send` since the board was opened.
    recs_received : int
        Recommendations returned by :meth:`poll` since the board was opened.
    """

    name = "board"

    def __init__(self, params: CoreParams):
        self.params = params
        self.ticks_sent = 0
        self.recs_received = 0
        self._held = []                 # received, not yet returned by poll()
        self._baseline = None           # (ticks_in, recs_out, rec_overflow) when opened

    # What each backend implements ------------------------------------------------------------------------------

    @abstractmethod
    def send(self, commands: Iterable) -> None:
        """Hands ticks (objects with ``symbol``, ``side``, ``price``, ``qty``) and register writes
        (:class:`~hedgegate.host.commands.Write`) to the core, in order: the core applies each write exactly between
        the tick before it and the tick after it. Returns once they are sent (not once they are processed)."""

    @abstractmethod
    def read_status(self, addr: int, timeout: float | None = None) -> int:
        """The status register at ``addr`` (docs/protocol.md) as the board answers it: a u32. ``timeout``: seconds
        to wait for the answer (default: the board's); the answer comes after every byte sent before the READ."""

    @abstractmethod
    def _receive(self, timeout: float) -> list[Recommendation]:
        """The recommendations that have arrived (waiting up to ``timeout`` s for the first): see :meth:`poll`."""

    def close(self) -> None:
        """Releases the transport (the board keeps its state, as a real board does)."""

    # Built on the above ----------------------------------------------------------------------------------------

    def poll(self, timeout: float = 0.0) -> list[Recommendation]:
        """The recommendations that have arrived since the last call, in the order the core made them; waits up to
        ``timeout`` seconds for the first if none is there."""
        if not self._held:
            self._collect(timeout)
        recs, self._held = self._held, []
        return recs

    def _collect(self, timeout: float) -> bool:
        """Takes what has arrived into the recommendations held for the next :meth:`poll` (so that none is lost
        when :meth:`sync` stops with an error); whether any arrived."""
        recs = self._receive(timeout)
        self.recs_received += len(recs)
        self._held += recs
        return bool(recs)

    @property
    def link_counters(self) -> dict:
        """What the host counted of the link: ``crc_errors``, ``frame_errors``, ``seq_gaps`` of the frames it
        received and ``lost_recommendations`` (REC seq gaps). All 0 without a link (the model)."""
        return {"crc_errors": 0, "frame_errors": 0, "seq_gaps": 0, "lost_recommendations": 0}

    def write(self, *writes) -> None:
        """Register writes, in order with the ticks sent before and after them."""
        self.send(writes)

    def check_magic(self) -> None:
        """Reads the magic number: raises BoardError if what answers is not a hedgegate board of this protocol."""
        magic = self.read_status(StatusReg.MAGIC)
        if magic != MAGIC:
            raise BoardError(f"{self.name}: magic number {magic:#010x}, expected {MAGIC:#010x} (not a hedgegate "
                             "board, or another protocol version)")

    def identity(self) -> dict:
        """The design the board runs, from its identity registers: ``symbols``, ``levels``, ``legs``,
        ``price_width``, ``qty_width``, ``mul_latency``, ``compact_book``, ``compact_leg``, ``latency_cycles``,
        ``design_hash`` (``0x...``), and ``design_matches``: whether this installation's gateware, built for those
        parameters, has the same hash (False: the board was built from other code)."""
        values, params = self._read_identity()
        result = {name: values[reg] for reg, name in IDENTITY_NAMES.items() if reg < IdentityReg.VARIANT}
        return {**result, "compact_book": params.compact_book, "compact_leg": params.compact_leg,
                "latency_cycles": values[IdentityReg.LATENCY],
                "design_hash": f"{values[IdentityReg.DESIGN_HASH]:#010x}",
                "design_matches": values[IdentityReg.DESIGN_HASH] == design_hash(params)}

    def read_params(self) -> CoreParams:
        """The core's parameters, as its identity registers give them."""
        return self._read_identity()[1]

    def _read_identity(self):
        values = {reg: self.read_status(reg) for reg in IdentityReg}
        try:
            return values, params_from_identity(values)
        except ValueError as exc:
            raise BoardError(f"{self.name}: its identity registers describe no valid core ({exc}); a board built "
                             "by an older hedgegate?") from None

    def check_shape(self, params: CoreParams, source: str) -> dict:
        """Raises BoardError (one line naming both) unless the board's core has the shape of ``params`` (what
        ``source``, e.g. a config file, asks for); returns the board's :meth:`identity`."""
        identity = self.identity()
        if any(identity[name] != getattr(params, name) for name in SHAPE_FIELDS):
            board = " ".join(f"{name}={identity[name]}" for name in SHAPE_FIELDS)
            raise BoardError(f"{self.name}: the board's core is {board}, {source} asks for {shape_text(params)}")
        return identity

    def status(self) -> dict:
        """Every status register by its docs/protocol.md name, and ``hedge_positions`` (one signed H per leg)."""
        values = {name: self.read_status(reg) for reg, name in STATUS_NAMES.items()}
        values["hedge_positions"] = [_signed32(self.read_status(HEDGE_POSITION_BASE + leg))
                                     for leg in range(self.params.legs)]
        return values

    def counters(self, deadline: float | None = None) -> tuple[int, int, int]:
        """(ticks_in, recs_out, rec_overflow) as the board counts them (u32). With a ``deadline`` (a
        ``time.monotonic()`` value), a read that gets no answer within the board's timeout is sent again until then:
        behind a backlog of ticks the answer is late, on a corrupted link it may never come."""
        values = []
        for reg in (StatusReg.TICKS_IN, StatusReg.RECS_OUT, StatusReg.REC_OVERFLOW):
            while True:
                try:
                    values.append(self.read_status(reg))
                    break
                except NoAnswer:
                    if deadline is None or time.monotonic() > deadline:
                        raise
        return tuple(values)

    def mark(self) -> None:
        """Starts counting afresh: for :meth:`sync`, the board's counters now and no tick sent or recommendation
        received yet; the ``seq`` and ``tick`` of the recommendations that follow count from here (0 for the first
        recommendation and the first tick after the mark). The backends call it when they open the board."""
        self._baseline = self.counters()
        self.ticks_sent = self.recs_received = 0

    def sync(self, timeout: float = 10.0, settle: float = 0.2) -> SyncResult:
        """Waits until the core has taken every tick sent since :meth:`mark` (or taken no more for ``settle``
        seconds: the rest were lost on the way in) and every recommendation it made has arrived or is accounted for
        (dropped by the board's queue, or lost on the way out: still missing ``settle`` seconds after the last one
        arrived); returns the recommendations that arrived meanwhile and the counts since :meth:`mark`. Raises
        BoardError if the core is still taking ticks after ``timeout`` seconds."""
        if self._baseline is None:
            self.mark()
        deadline = time.monotonic() + timeout
        last, quiet_until = None, None
        while True:
            counters = self.counters(deadline)
            ticks_in, recs_out, overflow = ((value - base) & _MASK for value, base in zip(counters, self._baseline))
            now = time.monotonic()
            if ticks_in != last:
                last, quiet_until = ticks_in, now + settle
            if ticks_in == self.ticks_sent & _MASK or now > quiet_until:
                break
            if now > deadline:
                raise BoardError(f"{self.name}: the core took {ticks_in} of the {self.ticks_sent} ticks sent "
                                 f"within {timeout:g} s")
            self._collect(0.01)
        quiet_until = time.monotonic() + settle
        while self.recs_received + overflow < recs_out and time.monotonic() < quiet_until:
            if self._collect(0.01):
                quiet_until = time.monotonic() + settle
        self._collect(0.0)
        recs = self.poll()
        return SyncResult(recs, ticks_in, self.ticks_sent - ticks_in, recs_out, overflow,
                          max(0, recs_out - overflow - self.recs_received))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _signed32(value: int) -> int:
    return value - (1 << 32) if value & (1 << 31) else value

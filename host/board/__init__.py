"""One interface to the hedging core, whatever runs it: :class:`Board`, and :func:`open_board` to get one.

Backends (a registry, :data:`BACKENDS`, which the CLI's ``--port`` reads):

* ``model`` -- the bit-exact model in process (:class:`ModelBoard`);
* ``sim`` -- a virtual board of its own: the board's gateware in Verilator behind a TCP socket, started for the
  host and stopped when it closes (:class:`VirtualBoard`, reached through the serial backend);
* any other port is a pyserial URL or device path (:class:`SerialBoard`): ``/dev/ttyUSB1`` (a real board),
  ``socket://HOST:PORT`` (the virtual board of ``hedgegate board-sim``, reached exactly as a real board on a
  network serial server would be), ``loop://`` (a loopback, for tests).
"""

from .base import IDENTITY_NAMES, STATUS_NAMES, Board, BoardError, NoAnswer, SyncResult, shape_text
from ...hw.params import CoreParams
from .model import ModelBoard
from .serial import DEFAULT_BAUD, SerialBoard
from .virtual import VirtualBoard

__all__ = ["Board", "BoardError", "NoAnswer", "SyncResult", "ModelBoard", "SerialBoard", "VirtualBoard", "BACKENDS",
           "STATUS_NAMES", "IDENTITY_NAMES", "DEFAULT_BAUD", "open_board", "shape_text"]


# backend name -> factory(params, **options) -> Board. A port that names no backend is a serial port.
BACKENDS = {
    "model": lambda params, **options: ModelBoard(params),
    "sim": lambda params, **options: VirtualBoard(params, **options),
}


def open_board(port: str, params=None, **options) -> Board:
    """The board at ``port``: a backend's name (:data:`BACKENDS`) or a pyserial URL / device path. ``params``: the
    core to run (model, sim; default ``CoreParams()``) or expect (serial; None: the board's own, from its identity
    registers). ``options`` go to the serial backend (``baudrate``, ``timeout``, ``check``). Raises BoardError (one
    line) if it cannot be opened."""
    if port in BACKENDS:
        return BACKENDS[port](CoreParams() if params is None else params, **options)
    return SerialBoard(port, params, **options)

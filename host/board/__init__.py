"""One interface to the hedging core, whatever runs it: :class:`Board`, and :func:`open_board` to get one.

Backends (a registry, :data:`BACKENDS`, which the CLI's ``--port`` reads):

* ``model`` -- the bit-exact model in process (:class:`ModelBoard`);
* ``sim`` -- a virtual board of its own: the board's gateware in Verilator behind a TCP socket, started for the
  host and stopped when it closes (:class:`VirtualBoard`, reached through the serial backend);
* any other port is a pyserial URL or device path (:class:`SerialBoard`): ``/dev/ttyUSB1`` (a real board),
  ``socket://HOST:PORT`` (the virtual board of ``hedgegate board-sim``, reached exactly as a real board on a
  network serial server would be), ``loop://`` (a loopback, for tests).
"""

from .base import STATUS_NAMES, Board, BoardError, NoAnswer, SyncResult
from .model import ModelBoard
from .serial import DEFAULT_BAUD, SerialBoard
from .virtual import VirtualBoard

__all__ = ["Board", "BoardError", "NoAnswer", "SyncResult", "ModelBoard", "SerialBoard", "VirtualBoard", "BACKENDS",
           "STATUS_NAMES", "DEFAULT_BAUD", "open_board"]


# backend name -> factory(params, **options) -> Board. A port that names no backend is a serial port.
BACKENDS = {
    "model": lambda params, **options: ModelBoard(params),
    "sim": lambda params, **options: VirtualBoard(params, **options),
}


def open_board(port: str, params, **options) -> Board:
    """The board at ``port``: a backend's name (:data:`BACKENDS`) or a pyserial URL / device path. ``options`` go to
    the serial backend (``baudrate``, ``timeout``, ``check``). Raises BoardError (one line) if it cannot be opened."""
    if port in BACKENDS:
        return BACKENDS[port](params, **options)
    return SerialBoard(port, params, **options)

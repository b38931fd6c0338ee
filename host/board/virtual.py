"""The ``sim`` backend: a virtual board (the board's gateware in Verilator behind a TCP socket, see
:mod:`hedgegate.sim.vboard`) started for this host and reached through the serial backend on
``socket://127.0.0.1:PORT`` -- the same code path as a real board behind a network serial server. Closing the board
stops the simulation. (``hedgegate board-sim`` starts one that outlives its clients.)"""

from .base import BoardError
from .serial import SerialBoard

__all__ = ["VirtualBoard"]


class VirtualBoard(SerialBoard):
    """A virtual board of its own: built (or taken from the cache) and started for ``params``, fresh from reset."""

    def __init__(self, params, *, timeout: float = 5.0, **options):
        from ...sim.runner import SimError
        from ...sim.vboard import start_vboard
        try:
            self._process, port = start_vboard(params)
        except SimError as exc:
            raise BoardError(f"virtual board: {exc}") from None
        try:
            super().__init__(f"socket://127.0.0.1:{port}", params, timeout=timeout, **options)
        except BaseException:
            self._process.kill()
            raise

    def close(self) -> None:
        super().close()
        if getattr(self, "_process", None) is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except Exception:
                self._process.kill()

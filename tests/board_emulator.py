"""A stand-in for a board in tests of the host's serial path: the model behind the board's side of
docs/protocol.md, on a TCP socket (so ``SerialBoard("socket://...")`` reaches it as it reaches the virtual board).

It decodes the host's frames with the board's rules (:class:`~hedgegate.host.protocol.FrameDecoder` with the
host-to-board lengths and the core's field checks, which count frame and CRC errors and SEQ gaps as the gateware
does), applies ticks and writes to the model in order, answers READ and PING with the status registers and sends a
REC frame per recommendation. It has no UART, no transmit queue and no watchdog (those counters read 0); the real
gateware behind the same socket is the virtual board (``hedgegate board-sim``).
"""

import socket
import threading

from hedgegate.host import protocol
from hedgegate.host.board import ModelBoard
from hedgegate.hw.frame_format import HOST_TO_BOARD_LENGTHS, FrameType
from hedgegate.hw.regmap import MAGIC, StatusReg


class BoardEmulator:
    """Serves one connection at a time on 127.0.0.1 (``port`` 0: the system picks; see :attr:`url`); keeps its
    state across connections, like a board."""

    def __init__(self, params, port: int = 0):
        self.params = params
        self.board = ModelBoard(params)
        self.decoder = protocol.FrameDecoder(HOST_TO_BOARD_LENGTHS, params)
        self._seq = 0
        self._listener = socket.create_server(("127.0.0.1", port))
        self.url = f"socket://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._closed = False
        self._conn = None
        self._thread.start()

    def _serve(self):
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._conn = conn
            with conn:
                while True:
                    try:
                        data = conn.recv(1 << 16)
                    except OSError:
                        break
                    if not data:
                        break
                    out = b"".join(self._answer(frame) for frame in self.decoder.feed(data))
                    if out:
                        try:
                            conn.sendall(out)
                        except OSError:
                            break

    def _answer(self, frame) -> bytes:
        if frame.type == FrameType.TICK:
            self.board.send([protocol.decode_tick(frame.payload)])
            return b"".join(protocol.encode_rec(self._next(), rec) for rec in self.board.poll())
        if frame.type == FrameType.WRITE:
            self.board.send([protocol.decode_write(frame.payload)])
            return b""
        addr = 0 if frame.type == FrameType.PING else protocol.decode_read(frame.payload)
        return protocol.encode_read_resp(self._next(), addr, self.read_status(addr))

    def read_status(self, addr):
        link = {StatusReg.FRAME_ERRORS: self.decoder.frame_errors, StatusReg.CRC_ERRORS: self.decoder.crc_errors,
                StatusReg.SEQ_GAPS: self.decoder.seq_gaps}
        if addr == StatusReg.MAGIC:
            return MAGIC
        return link[addr] & 0xFFFF_FFFF if addr in link else self.board.read_status(addr)

    def _next(self):
        seq, self._seq = self._seq, (self._seq + 1) & 0xFF
        return seq

    def close(self):
        """Stops serving: the listening socket and the open connection (the host sees the board go away)."""
        self._closed = True
        self._listener.close()
        if self._conn is not None:
            try:
                self._conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

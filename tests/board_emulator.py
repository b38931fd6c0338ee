"""Test doubles for the host's serial path: :class:`BoardEmulator`, a stand-in for a board, and
:class:`CorruptingProxy`, a link that corrupts bytes.

The emulator is the model behind the board's side of
docs/protocol.md, on a TCP socket (so ``SerialBoard("socket://...")`` reaches it as it reaches the virtual board).

It decodes the host's frames with the board's rules (:class:`~hedgegate.host.protocol.FrameDecoder` with the
host-to-board lengths and the core's field checks, which count frame and CRC errors and SEQ gaps as the gateware
does), applies ticks and writes to the model in order, answers READ and PING with the status registers and sends a
REC frame per recommendation. It has no UART, no transmit queue and no watchdog (those counters read 0); the real
gateware behind the same socket is the virtual board (``hedgegate board-sim``).
"""

import random
import socket
import threading
import time

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


class CorruptingProxy:
    """Forwards bytes between a host and a board on 127.0.0.1, flipping bits, dropping and inserting bytes in both
    directions with probability ``rate`` per byte each."""

    def __init__(self, target_url, rate, seed):
        host, port = target_url.removeprefix("socket://").split(":")
        self.target = (host, int(port))
        self.rate = rate
        self.rng = random.Random(seed)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"socket://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _mangle(self, data):
        out = bytearray()
        for byte in data:
            roll = self.rng.random()
            if roll < self.rate:
                out.append(byte ^ (1 << self.rng.randrange(8)))
            elif roll < 2 * self.rate:
                continue
            elif roll < 3 * self.rate:
                out += bytes([byte, self.rng.randrange(256)])
            else:
                out.append(byte)
        return bytes(out)

    def _pump(self, source, sink):
        try:
            while data := source.recv(4096):
                sink.sendall(self._mangle(data))
        except OSError:
            pass
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _serve(self):
        host, _ = self.listener.accept()
        board = socket.create_connection(self.target)
        threading.Thread(target=self._pump, args=(host, board), daemon=True).start()
        threading.Thread(target=self._pump, args=(board, host), daemon=True).start()


def corrupted_run(target_url, params, commands, *, rate, seed):
    """Streams ``commands`` to the board at ``target_url`` through a :class:`CorruptingProxy` and syncs; returns
    (the sync's result, the host's link counters, seconds taken). Opening (its magic read) and the sync's status
    reads may themselves be corrupted: both are retried, within a minute."""
    from hedgegate.host.board import BoardError, SerialBoard
    started = time.monotonic()
    board = None
    while board is None:
        proxy = CorruptingProxy(target_url, rate, seed=seed)
        try:
            board = SerialBoard(proxy.url, params, timeout=0.5)
        except BoardError:
            assert time.monotonic() - started < 60, "could not open the board through the proxy"
            seed += 1000
    with board:
        board.send(commands)
        result = None
        while result is None:
            try:
                result = board.sync(timeout=20)
            except BoardError:            # a status read corrupted on the way: ask again
                assert time.monotonic() - started < 60, "no sync through the proxy within a minute"
        return result, board.link_counters, time.monotonic() - started


def check_corrupted_run(commands, result, host_side):
    """What must hold after a corrupted run: errors counted on the host's side; every tick taken or counted lost
    on the way in (ticks_in from the board); every recommendation the core made received, dropped by the board
    (rec_overflow) or counted lost on the way out, REC seq gaps among the lost."""
    from hedgegate.host.commands import Write
    assert host_side["crc_errors"] + host_side["frame_errors"] > 0
    assert result.ticks_in + result.ticks_lost == sum(not isinstance(c, Write) for c in commands)
    assert len(result.recommendations) + result.lost + result.rec_overflow == result.recs_out
    assert host_side["lost_recommendations"] <= result.lost
    assert result.recs_out > 100 and len(result.recommendations) > 0.5 * result.recs_out, vars(result) | {"recommendations": len(result.recommendations)}

"""The ``serial`` backend: a board (or the virtual board) reached through pyserial, speaking docs/protocol.md.

The port is any pyserial URL: a device path (``/dev/ttyUSB1``: a real board's FTDI UART), ``socket://HOST:PORT``
(the virtual board of ``hedgegate board-sim``, or a real board behind a network serial server) or ``loop://``
(a loopback, for tests of the host's framing). A reader thread takes every byte as it arrives, so the operating
system's receive buffer never overflows while the host is busy sending, and sorts the decoded frames: REC frames
into the queue :meth:`poll` empties, READ_RESP frames to the :meth:`read_status` waiting for them.

Counters the host keeps (``link_counters``): the frames the host's decoder dropped (``crc_errors``, ``frame_errors``),
board-to-host frames missing by their SEQ (``seq_gaps``) and recommendations missing by the core's recommendation
counter (``lost_recommendations``: REC ``seq`` not one more than the previous), so nothing is lost silently.
"""

import dataclasses
import os
import queue
import sys
import threading
import time

from ...hw.frame_format import FrameType
from ...hw.params import COUNTER_WIDTH
from .. import protocol
from ..commands import Write
from .base import Board, BoardError, NoAnswer

__all__ = ["SerialBoard", "DEFAULT_BAUD"]

DEFAULT_BAUD = 3_000_000          # the boards' UART rate (docs/boards.md)
_MASK = (1 << COUNTER_WIDTH) - 1
_FLUSH = bytes(17)                # completes any frame candidate a previous host left half-sent (docs/protocol.md)


class SerialBoard(Board):
    """A board behind a pyserial port.

    Parameters
    ----------
    url : str
        Device path or pyserial URL (``socket://...``, ``loop://``).
    params : CoreParams or None
        The core the host expects (what it may send); None: the board's own, read from its identity registers
        (needs ``check``). ``stream`` compares the config's with the board's (:meth:`~.base.Board.check_shape`).
    baudrate : int
        For device paths; URLs ignore it.
    timeout : float
        Seconds to wait for the answer to a status read before giving up (BoardError).
    check : bool
        Read the magic number on opening (BoardError if it is not a hedgegate board).

    Attributes
    ----------
    link_counters : dict
        ``crc_errors``, ``frame_errors``, ``seq_gaps`` of the frames the host received, and
        ``lost_recommendations``.
    """

    def __init__(self, url: str, params, *, baudrate: int = DEFAULT_BAUD, timeout: float = 1.0, check: bool = True):
        super().__init__(params)
        import serial
        self.name = url
        self.timeout = timeout
        self._serial_error = serial.SerialException
        try:
            self._port = serial.serial_for_url(url, baudrate=baudrate, timeout=0.02, write_timeout=timeout + 5.0,
                                               **({"exclusive": True} if "://" not in url else {}))
        except (serial.SerialException, ValueError, OSError) as exc:
            raise BoardError(f"{url}: cannot open: {_one_line(exc)}") from None
        self.low_latency = self._set_low_latency()
        self._decoder = protocol.FrameDecoder()
        self._seq = 0
        self._recs = queue.SimpleQueue()
        self._responses = {}                   # addr -> values not yet taken
        self._answered = threading.Condition()
        self._link_error = None
        self._last_rec_seq = self._last_rec_tick = None
        self._unwrapped = [0, 0]               # seq, tick
        self.lost_recommendations = 0
        self._closing = False
        self._reader = threading.Thread(target=self._read_loop, name=f"hedgegate-reader {url}", daemon=True)
        self._reader.start()
        try:
            self._write(_FLUSH)
            if check:
                self.check_magic()
                if params is None:
                    self.params = self.read_params()
            elif params is None:
                raise ValueError("SerialBoard: params are needed with check=False")
            self.mark()
        except BaseException:
            self.close()
            raise

    # Board -------------------------------------------------------------------------------------------------------

    def send(self, commands) -> None:
        frames = []
        for command in commands:
            if isinstance(command, Write):
                frames.append(protocol.encode_write(self._next_seq(), command))
            else:
                frames.append(protocol.encode_tick(self._next_seq(), command.symbol, command.side, command.price,
                                                   command.qty))
                self.ticks_sent += 1
            if len(frames) >= 256:
                self._write(b"".join(frames))
                frames.clear()
        if frames:
            self._write(b"".join(frames))

    def read_status(self, addr: int, timeout: float | None = None) -> int:
        timeout = self.timeout if timeout is None else timeout
        with self._answered:
            self._responses.pop(addr, None)                    # a late answer to an earlier read
        self._write(protocol.encode_read(self._next_seq(), addr))
        deadline = time.monotonic() + timeout
        with self._answered:
            while not self._responses.get(addr):
                left = deadline - time.monotonic()
                if self._link_error is not None:
                    raise BoardError(f"{self.name}: {self._link_error}")
                if left <= 0:
                    raise NoAnswer(f"{self.name}: no answer to a status read (address {addr}) within "
                                   f"{timeout:g} s")
                self._answered.wait(left)
            return self._responses[addr].pop(0)

    def mark(self) -> None:
        super().mark()
        self._last_rec_seq = None

    def _receive(self, timeout: float):
        recs = []
        try:
            recs.append(self._recs.get(timeout=timeout) if timeout > 0 else self._recs.get_nowait())
            while True:
                recs.append(self._recs.get_nowait())
        except queue.Empty:
            pass
        if not recs and self._link_error is not None:
            raise BoardError(f"{self.name}: {self._link_error}")
        return recs

    def close(self) -> None:
        self._closing = True
        if getattr(self, "_reader", None) is not None and self._reader.is_alive():
            self._reader.join(timeout=1.0)
        try:
            self._port.close()
        except Exception:
            pass

    @property
    def link_counters(self) -> dict:
        return {"crc_errors": self._decoder.crc_errors, "frame_errors": self._decoder.frame_errors,
                "seq_gaps": self._decoder.seq_gaps, "lost_recommendations": self.lost_recommendations}

    # The link ----------------------------------------------------------------------------------------------------

    def _next_seq(self) -> int:
        seq, self._seq = self._seq, (self._seq + 1) & 0xFF
        return seq

    def _write(self, data: bytes):
        if self._link_error is not None:
            raise BoardError(f"{self.name}: {self._link_error}")
        try:
            self._port.write(data)
        except (self._serial_error, OSError) as exc:
            raise BoardError(f"{self.name}: cannot send: {_one_line(exc)}") from None

    def _read_available(self) -> bytes:
        """What has arrived: waits up to the port's timeout for a first byte, then takes the rest without waiting."""
        data = self._port.read(1)
        if data:
            waiting = self._port.in_waiting
            if waiting > 1:                                       # a serial device: a real byte count
                data += self._port.read(waiting)
            elif waiting:                                         # a socket: ready, of unknown size
                self._port.timeout = 0
                try:
                    data += self._port.read(1 << 16)
                finally:
                    self._port.timeout = 0.02
        return data

    def _read_loop(self):
        while not self._closing:
            try:
                data = self._read_available()
            except Exception as exc:                              # the port went away
                if not self._closing:
                    self._fail(f"link closed: {_one_line(exc)}")
                return
            if data:
                self._take(self._decoder.feed(data))

    def _take(self, frames):
        for frame in frames:
            if frame.type == FrameType.REC:
                try:
                    rec = protocol.decode_rec(frame.payload)
                except ValueError:                                # a good CRC around a bad field: count, go on
                    self._decoder.frame_errors += 1
                    continue
                self._recs.put(self._unwrap(rec))
            elif frame.type == FrameType.READ_RESP:
                response = protocol.decode_read_resp(frame.payload)
                with self._answered:
                    self._responses.setdefault(response.addr, []).append(response.value)
                    self._answered.notify_all()

    def _unwrap(self, rec):
        """The REC's seq and tick (u32 on the wire) as running counts from :meth:`mark`; a seq that is not one more
        than the previous one counts the recommendations missing in between as lost."""
        if self._last_rec_seq is None:                           # the first since mark(): count from there
            ticks_in, recs_out, _ = self._baseline
            self._unwrapped = [(rec.seq - recs_out) & _MASK, (rec.tick - ticks_in) & _MASK]
        else:
            step = (rec.seq - self._last_rec_seq) & _MASK
            self.lost_recommendations += step - 1 if step else 0
            self._unwrapped[0] += step
            self._unwrapped[1] += (rec.tick - self._last_rec_tick) & _MASK
        self._last_rec_seq, self._last_rec_tick = rec.seq, rec.tick
        return dataclasses.replace(rec, seq=self._unwrapped[0], tick=self._unwrapped[1])

    def _fail(self, message):
        with self._answered:
            self._link_error = message
            self._answered.notify_all()

    def _set_low_latency(self) -> bool | None:
        """On a USB serial adapter, asks the driver for its low-latency mode (FTDI's latency timer 16 ms -> 1 ms,
        no root needed); None for URLs, False (and a warning) when the driver refuses."""
        if "://" in self.name:
            return None
        try:
            self._port.set_low_latency_mode(True)
            return True
        except (ValueError, NotImplementedError, AttributeError, OSError) as exc:
            device = os.path.basename(os.path.realpath(self.name))
            print(f"hedgegate: warning: {self.name}: low-latency mode not set ({_one_line(exc)}); each round trip "
                  f"may take up to the adapter's latency timer (FTDI: 16 ms; as root: echo 1 > "
                  f"/sys/bus/usb-serial/devices/{device}/latency_timer)", file=sys.stderr)
            return False


def _one_line(exc) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__

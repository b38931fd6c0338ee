"""Test tiers (docs/verification.md, "Test tiers").

The default tier is what ``pytest`` runs (the README's test command): every unit test, the default core's
differential run at ``DEFAULT_TICKS`` random ticks with every directed scenario, one serial-engine run and one run of
each compact variant. The slow tier is the tests marked ``slow`` or ``pnr``: the 100,000- and 1,000,000-tick
differential runs, every other parameter set, the Yosys board syntheses and the place-and-route builds. It is skipped
unless ``--slow`` or HEDGEGATE_SLOW=1 (``.ci/run`` sets it, so CI runs both tiers); ``pytest --slow -m pnr`` runs only
the board builds.
"""

import os

import pytest

# Random ticks of the default tier's differential run of the default core: the first two 10,000-tick segments of the
# slow tier's 100,000-tick run, which catch every mutation tests/mutants.py makes (docs/verification.md).
DEFAULT_TICKS = 20_000


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true",
                     help="also run the slow tier (tests marked slow or pnr: long differential runs, every extra "
                          "parameter set, board syntheses and place and route); HEDGEGATE_SLOW=1 does the same")
    parser.addoption("--ticks", type=int, default=DEFAULT_TICKS,
                     help=f"random ticks of the default core's default-tier differential run (default {DEFAULT_TICKS})")
    parser.addoption("--seed", type=int, default=1, help="seed of the random differential tests")


def slow_tier(config) -> bool:
    return config.getoption("--slow") or os.environ.get("HEDGEGATE_SLOW") == "1"


def pytest_collection_modifyitems(config, items):
    """Tests of the slow tier (marked ``slow`` or ``pnr``) are skipped unless --slow or HEDGEGATE_SLOW=1."""
    if slow_tier(config):
        return
    skip = pytest.mark.skip(reason="slow tier; run with --slow or HEDGEGATE_SLOW=1")
    for item in items:
        if "slow" in item.keywords or "pnr" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def ticks(request):
    return request.config.getoption("--ticks")


@pytest.fixture
def seed(request):
    return request.config.getoption("--seed")

import os

import pytest


def pytest_addoption(parser):
    parser.addoption("--ticks", type=int, default=100_000,
                     help="random ticks for the differential test of the default core (default 100000)")
    parser.addoption("--seed", type=int, default=1, help="seed of the random differential tests")
    parser.addoption("--pnr", action="store_true",
                     help="also run the tests marked pnr: full board builds with place and route (minutes each; "
                          "HEDGEGATE_PNR=1 does the same)")


def pytest_collection_modifyitems(config, items):
    """Tests marked ``pnr`` are skipped unless --pnr or HEDGEGATE_PNR=1: each is a whole board build."""
    if config.getoption("--pnr") or os.environ.get("HEDGEGATE_PNR") == "1":
        return
    skip = pytest.mark.skip(reason="full place and route; run with --pnr or HEDGEGATE_PNR=1")
    for item in items:
        if "pnr" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def ticks(request):
    return request.config.getoption("--ticks")


@pytest.fixture
def seed(request):
    return request.config.getoption("--seed")

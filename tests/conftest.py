import pytest


def pytest_addoption(parser):
    parser.addoption("--ticks", type=int, default=100_000,
                     help="random ticks for the differential test of the default core (default 100000)")
    parser.addoption("--seed", type=int, default=1, help="seed of the random differential tests")


@pytest.fixture
def ticks(request):
    return request.config.getoption("--ticks")


@pytest.fixture
def seed(request):
    return request.config.getoption("--seed")

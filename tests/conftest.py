"""Shared pytest options: ``--runslow`` runs the tests marked ``@pytest.mark.slow`` (long physics runs)."""
import pytest


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False,
                     help="also run the tests marked slow (long physics runs, minutes)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow physics run: use --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)

"""Shared test options and fixtures.

``backend``: the physics and API tests that are not about the NumPy backend itself take this fixture and run
on "cpu" and on "emulate" (the GPU backend's kernels and host code, run on the CPU through the host
emulation, in float64 by default), so both backends are held to the same physics.

``--runslow``: also run the tests marked ``slow`` (long physics runs; each has a quick form in CI).
"""
import shutil

import pytest

HAVE_CXX = shutil.which("g++") is not None or shutil.which("c++") is not None


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run the slow (long physics) tests")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: long physics run, use --runslow (a quick form runs in CI)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(params=["cpu", "emulate"])
def each_backend(request, monkeypatch):
    """Runs the test once per backend by making backend="auto" mean that backend (MICROMAG_BACKEND, the
    variable `micromag run --backend` sets): a module marked ``pytestmark =
    pytest.mark.usefixtures("each_backend")`` runs every test on both without touching the tests."""
    if request.param == "emulate" and not HAVE_CXX:
        pytest.skip("the host emulation of the GPU backend needs g++")
    monkeypatch.setenv("MICROMAG_BACKEND", request.param)
    return request.param


@pytest.fixture(params=["cpu", "emulate"])
def backend(request):
    if request.param == "emulate" and not HAVE_CXX:
        pytest.skip("the host emulation of the GPU backend needs g++")
    return request.param

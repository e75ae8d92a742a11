import pytest
pytest.importorskip("micromagnetictests")
from micromagnetictests.calculatortests import *  # noqa

@pytest.fixture
def calculator():
    import micromag.ubermag as mc
    return mc

@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

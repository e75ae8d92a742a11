"""Ubermag's own calculator test suite (micromagnetictests) run against micromag.apps.ubermag.

Every test of ``micromagnetictests.calculatortests`` runs here with the ``calculator`` fixture returning
``micromag.apps.ubermag``; the few that cannot pass are skipped below, each with its reason (also listed in the
README's Ubermag section). The suite writes its drive folders into the working directory, so each test
runs in its own temporary folder.
"""
import pytest

pytest.importorskip("micromagnetictests")

from micromagnetictests.calculatortests import *  # noqa: E402,F401,F403
from micromagnetictests.calculatortests import TestDMI as _TestDMI  # noqa: E402
from micromagnetictests.calculatortests import TestMinDriver as _TestMinDriver  # noqa: E402
from micromagnetictests.calculatortests import TestTimeDriver as _TestTimeDriver  # noqa: E402

MUMAX3_CLASS_REFUSAL = ("expects MuMax3's behaviour from any calculator that has a RelaxDriver: a ValueError for "
                        "the classes MuMax3 lacks (Cnv_x/y, D2d); micromag implements every class, and "
                        "TestDMI.test_crystalclass (which drives them all) passes")
SCRIPT_FILES = ("checks for the input script of OOMMF (<name>.mif) or MuMax3 (<name>.mx3); micromag runs in "
                "Python and writes info.json, m0.omf, the table and the OVF snapshots, but no such script")


def _skipped(reason):
    @pytest.mark.skip(reason=reason)
    def test(self):
        pass  # pragma: no cover

    return test


@pytest.fixture
def calculator():
    import micromag.apps.ubermag as mc

    return mc


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


class TestDMI(_TestDMI):
    test_crystalclass_init = _skipped(MUMAX3_CLASS_REFUSAL)


class TestMinDriver(_TestMinDriver):
    test_output_files = _skipped(SCRIPT_FILES)


class TestTimeDriver(_TestTimeDriver):
    test_output_files = _skipped(SCRIPT_FILES)



@pytest.mark.skip(reason="micromag.apps.ubermag runs drives in the Python process and has no job scheduling "
                  "(schedule() refuses with RuntimeError, which this test would count as a pass)")
def test_schedule():
    pass  # pragma: no cover

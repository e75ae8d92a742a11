"""The package's copies of the reference data are the files the tests and `micromag validate` use.

They were copied verbatim from the project's shared reference folder; SOURCES.md records each file's
SHA-256 at the time of copying. A changed copy (an edit made to get a test to pass) fails here.
"""
import hashlib
import re
from pathlib import Path

import pytest

from micromag.apps.validate.cases import data_path

SOURCES = Path(data_path("SOURCES.md")).read_text()
RECORDED = dict((name, digest) for digest, name in re.findall(r"^([0-9a-f]{64})\s+(\S+)$", SOURCES, re.M))


def test_sources_lists_every_data_file():
    files = {p.name for p in Path(data_path("")).iterdir() if p.name != "SOURCES.md"}
    assert files == set(RECORDED), "every reference copy needs its SHA-256 in SOURCES.md"


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_reference_copy_unchanged(name):
    digest = hashlib.sha256(Path(data_path(name)).read_bytes()).hexdigest()
    assert digest == RECORDED[name], f"{name} differs from the verbatim copy recorded in SOURCES.md"

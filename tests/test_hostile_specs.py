"""Spec and command-line options that used to be accepted and then silently ignored or misread (issue 22)."""
from __future__ import annotations

import importlib

import pytest

sw = importlib.import_module("micromag.sweep")  # the module (mm.sweep is the function)

BUILD = "micromag.sweep:demo_cell"


def _spec(tmp_path, body):
    p = tmp_path / "spec.toml"
    p.write_text(f'[sweep]\nbuild = "{BUILD}"\nduration = 1e-11\n' + body)
    return p


def test_range_with_num_and_step_is_refused(tmp_path):
    p = _spec(tmp_path, "[params]\nBz = { start = 0.0, stop = 1.0, num = 3, step = 0.5 }\n")
    with pytest.raises(sw.SpecError, match="both num and step"):
        sw.load_spec(p)


def test_parameter_in_points_and_params_is_refused(tmp_path):
    p = _spec(tmp_path, "[params]\nBz = [0.1, 0.2]\n\n[[points]]\nBz = 0.5\n")
    with pytest.raises(sw.SpecError, match="both in points"):
        sw.load_spec(p)


def test_points_with_other_params_combine_as_a_product(tmp_path):
    spec = sw.load_spec(_spec(tmp_path, "[params]\nBx = [0.0, 0.1]\n\n[[points]]\nBz = 0.5\n\n[[points]]\nBz = 0.6\n"))
    assert spec.points() == [{"Bz": 0.5, "Bx": 0.0}, {"Bz": 0.5, "Bx": 0.1}, {"Bz": 0.6, "Bx": 0.0},
                             {"Bz": 0.6, "Bx": 0.1}]


def test_zip_with_points_is_refused(tmp_path):
    p = _spec(tmp_path, 'mode = "zip"\n[params]\nBx = [0.0, 0.1]\n\n[[points]]\nBz = 0.5\n')
    with pytest.raises(sw.SpecError, match="zip"):
        sw.load_spec(p)


@pytest.mark.parametrize("bad", ["-1", "0", "1.5", "many"])
def test_cell_workers_must_be_positive(bad, capsys):
    from micromag.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["cell", "examples/cells/stt_pmtj_40nm.toml", "--workers", bad])
    assert "--workers" in capsys.readouterr().err


def test_bow_tie_polygon_is_filled_by_its_rule():
    """A self-intersecting outline whose shoelace sum is 0 used to be refused as "all points on one line"."""
    import micromag as mm

    bow = mm.Polygon([(-4e-9, -4e-9), (4e-9, 4e-9), (4e-9, -4e-9), (-4e-9, 4e-9)], thickness=2e-9)
    grid = mm.Grid(n=(20, 20, 1), cell=(0.5e-9, 0.5e-9, 2e-9))  # centred on the origin, 10 nm wide
    filled_nm2 = float(bow.fill_fraction(grid).sum()) * 0.25
    assert filled_nm2 == pytest.approx(2 * 0.5 * 8 * 4, rel=0.05)  # two triangles of base 8 nm, height 4 nm
    with pytest.raises(ValueError, match="one line"):
        mm.Polygon([(0, 0), (1e-9, 1e-9), (2e-9, 2e-9), (3e-9, 3e-9)], thickness=1e-9)

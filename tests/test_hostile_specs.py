"""Spec and command-line options that used to be accepted and then silently ignored or misread (issue 22)."""
from __future__ import annotations

import importlib

import pytest

sw = importlib.import_module("micromag.apps.sweep")  # the module (mm.sweep is the function)

BUILD = "micromag.apps.sweep:demo_cell"


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
    from micromag.apps.cli import build_parser

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


# ---------------------------------------------------------------------------------------------- setters
def _sim(**kw):
    import micromag as mm

    sim = mm.Simulation(mm.Grid(n=(8, 8, 1), cell=(4e-9, 4e-9, 3e-9)), material=mm.Permalloy(), backend="cpu", **kw)
    sim.m = (1, 0.1, 0.05)
    return sim


@pytest.mark.parametrize("name,value,match", [
    ("material", None, "material"), ("grid", None, "grid"), ("terms", {}, "sim.add"), ("backend", "gpu", "backend"),
    ("batch", 4, "batch"), ("dt_min", -1.0, "dt_min"), ("dt_min", 1e-9, "dt_min"), ("dt_max", float("nan"), "dt_max"),
    ("tol", 2.0, "tol"), ("temperature", 1e12, "temperature"), ("temperature", -5.0, "temperature"),
])
def test_setters_check_like_the_constructor(name, value, match):
    sim = _sim()
    with pytest.raises((ValueError, TypeError, AttributeError), match=match):
        setattr(sim, name, value)


def test_dt_bounds_set_later_take_effect():
    sim = _sim()
    sim.dt_max = 2e-14
    sim.run(2e-13, progress=False)
    assert sim.stepper.nsteps >= 10  # the new bound is used, not the one the stepper was built with


def test_temperature_function_below_zero_is_refused_when_evaluated():
    sim = _sim()
    sim.temperature = lambda t: -300.0
    with pytest.raises(ValueError, match="temperature = -300"):
        sim.run(1e-13, progress=False)


def test_run_at_an_unresolvable_time_is_refused():
    sim = _sim()
    sim.t = 1e10
    with pytest.raises(ValueError, match="resolved"):
        sim.run(1e-12, progress=False)


@pytest.mark.parametrize("answer", ["yes", 1, None, [True, False, True]])
def test_stop_callback_must_answer_with_bools(answer):
    sim = _sim()
    with pytest.raises(TypeError, match="stop"):
        sim.run(2e-12, every=1e-12, stop=lambda s: answer, progress=False)


@pytest.mark.parametrize("seed", [-1, 1.7, "a", 2**64])
def test_batch_member_seed_is_checked(seed):
    import micromag as mm

    with pytest.raises(ValueError, match="seed"):
        mm.Batch(lambda B: _sim(batch=B), [{"seed": seed}])


def test_batch_of_a_billion_members_is_refused_before_building():
    import time

    import micromag as mm

    t0 = time.perf_counter()
    with pytest.raises(ValueError, match="members"):
        mm.Batch(lambda B: _sim(batch=B), 10**9)
    assert time.perf_counter() - t0 < 5


def test_energy_barrier_checks_via_and_images_before_work():
    import time

    import micromag as mm

    sim = _sim()
    with pytest.raises(ValueError, match="via"):
        mm.energy_barrier(sim, (1, 0, 0), (-1, 0, 0), images=4, via=(float("nan"), 0, 0), max_iter=5)
    with pytest.raises(ValueError, match="via"):
        mm.energy_barrier(sim, (1, 0, 0), (-1, 0, 0), images=4, via=(0, 0, 0), max_iter=5)
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match="images"):
        mm.energy_barrier(sim, (1, 0, 0), (-1, 0, 0), images=10**9)
    assert time.perf_counter() - t0 < 5


def test_hostile_benchmark_issue22_cases_all_named(tmp_path):
    """The issue-22 examples in benchmarks/hostile_inputs.py ([22]): every one refused with a named error or
    finished correctly; none silent, none endless (10 s each)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = dict(__import__("os").environ, PYTHONPATH=str(root), MICROMAG_CACHE=str(tmp_path))
    r = subprocess.run([sys.executable, str(root / "benchmarks" / "hostile_inputs.py"), "--only", "[22]"],
                       capture_output=True, text=True, timeout=600, cwd=root, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    last = r.stdout.strip().splitlines()[-1]
    assert "unnamed errors 0, hangs 0, silent 0" in last, r.stdout[-3000:]

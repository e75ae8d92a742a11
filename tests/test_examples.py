"""The examples run (quick forms) and write what they promise."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_example(name, tmp_path, *args):
    env = dict(os.environ, MICROMAG_OUT=str(tmp_path), MPLBACKEND="Agg")
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    r = subprocess.run([sys.executable, os.path.join(ROOT, "examples", name), *args], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


def test_sp4_example_small(tmp_path):
    out = run_example("sp4.py", tmp_path, "--cells", "40", "10", "--out", "sp4")
    assert "relaxed s-state" in out
    assert (tmp_path / "sp4" / "table.txt").stat().st_size > 1000
    from micromag.engine.io.vtk import read_pvd

    frames = read_pvd(tmp_path / "sp4" / "m.pvd")  # a snapshot every 20 ps of the 1 ns run
    assert [t for t, _ in frames] == [float(f"{k * 20e-12:.12g}") for k in range(51)]  # clean times


def test_meshed_example_writes_series_and_pngs(tmp_path):
    out = run_example("meshed_sot_element.py", tmp_path, "--quick")
    d = tmp_path / "out" / "meshed_sot"
    for f in ("m.pvd", "table.txt", "m_t.png", "m_final.png", "m_000000.vti"):
        assert (d / f).exists(), f
    assert "magnetic cells" in out


@pytest.mark.parametrize("cmd", [["info"], ["convert", "missing.ovf", "x.npy"], ["plot", "missing.txt"]])
def test_cli_exit_codes(tmp_path, cmd):
    r = subprocess.run([sys.executable, "-m", "micromag.apps.cli", *cmd], cwd=tmp_path, capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=ROOT), timeout=120)
    if cmd == ["info"]:
        assert r.returncode == 0 and "micromag" in r.stdout
    else:
        assert r.returncode == 2 and "missing" in r.stderr


def test_cli_convert_round_trip(tmp_path):
    import numpy as np

    import micromag as mm

    grid = mm.Grid(n=(4, 3, 2), cell=(2e-9, 2e-9, 1e-9))
    m = np.random.default_rng(1).normal(size=(3, 2, 3, 4))
    mm.write_ovf(tmp_path / "a.ovf", m, grid=grid, fmt="binary8")
    env = dict(os.environ, PYTHONPATH=ROOT)
    for src, dst in (("a.ovf", "b.vti"), ("b.vti", "c.npy"), ("c.npy", "d.ovf")):
        extra = ["--cell", "2e-9", "2e-9", "1e-9"] if src.endswith(".npy") else []
        r = subprocess.run([sys.executable, "-m", "micromag.apps.cli", "convert", src, dst, *extra, "--ovf-format", "binary8"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
    back = mm.read_ovf(tmp_path / "d.ovf").array
    np.testing.assert_allclose(back, m, rtol=1e-6)  # the .vti frame is float32 by default
    r = subprocess.run([sys.executable, "-m", "micromag.apps.cli", "convert", "a.ovf", "d.ovf"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "exists" in r.stderr

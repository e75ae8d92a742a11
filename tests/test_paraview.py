"""ParaView itself (pvpython 5.11 where installed) on micromag's snapshots: what its defaults and filters see,
and the shipped view.py rendering PNG frames. Skipped with the reason where ParaView is not installed."""
import json
import os
import subprocess

import numpy as np
import pytest

import micromag as mm
from micromag.apps import paraview
from micromag.engine.io.vtk import SnapshotSeries

PVPYTHON = paraview.find_pvpython()
needs_pv = pytest.mark.skipif(PVPYTHON is None, reason="ParaView's pvpython is not installed (apt-get install "
                              "paraview python3-paraview xvfb, or set MICROMAG_PVPYTHON)")


def _series(folder, times=(0.0, 0.1 * 5e-10)):
    grid = mm.Grid(n=(32, 16, 2), cell=(4e-9, 4e-9, 3e-9))
    sim = mm.Simulation(grid, material=mm.Permalloy(alpha=0.5), geometry=mm.Ellipse((120e-9, 60e-9)),
                        demag=False, backend="cpu")
    sim.m = lambda x, y, z: (np.cos(x / 20e-9), np.sin(x / 20e-9), 0.3 + 0 * x)
    s = SnapshotSeries(folder)
    for t in times:
        sim.t = t
        s.write_sim(sim)
    return sim


PROBE = r"""
import json, sys
from paraview.simple import *
r = PVDReader(FileName=sys.argv[1])
r.UpdatePipeline()
info = r.GetDataInformation()
out = {"times": list(r.TimestepValues), "bounds": list(info.GetBounds())}
v = CreateView("RenderView")
Show(r, v); v.Update()  # as the GUI's Apply does before a filter is added (the filter's defaults come from it)
g = Glyph(Input=r, GlyphType="Arrow")
out["glyph_orientation"] = list(g.OrientationArray)
arrow = Arrow(); arrow.UpdatePipeline()
per = arrow.GetDataInformation().GetNumberOfPoints()
g.GlyphMode = "All Points"
g.ScaleArray = ["POINTS", "No scale array"]
g.UpdatePipeline()
out["arrows"] = g.GetDataInformation().GetNumberOfPoints() / per
t = Threshold(Input=r, Scalars=["CELLS", "m_z"], LowerThreshold=-2, UpperThreshold=2)
t.UpdatePipeline()
out["threshold_cells"] = t.GetDataInformation().GetNumberOfCells()
d = Show(t, v)
out["threshold_colour"] = list(d.ColorArrayName)
out["arrays"] = [r.CellData.GetArray(i).GetName() for i in range(len(r.CellData))]
out["field"] = [r.FieldData.GetArray(i).GetName() for i in range(len(r.FieldData))]
print("PROBE" + json.dumps(out))
sys.stdout.flush()
import os; os._exit(0)
"""


@needs_pv
def test_paraview_reads_what_its_defaults_show(tmp_path):
    sim = _series(tmp_path / "run")
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    cmd = paraview.command(tmp_path / "run" / "m.pvd")
    cmd[cmd.index(paraview.SCRIPT)] = str(probe)
    for _ in range(2):  # (once more if `xvfb-run -a` lost its display number to another Xvfb starting)
        r = subprocess.run(cmd[:cmd.index(str(probe)) + 2], capture_output=True, text=True, timeout=180)
        line = next((ln for ln in r.stdout.splitlines() if ln.startswith("PROBE")), None)
        if line:
            break
    assert line, r.stdout[-2000:] + r.stderr[-2000:]
    got = json.loads(line[5:])
    assert got["times"] == [0.0, 5e-11]  # not 4.9999999999999995e-11
    assert np.allclose(got["bounds"], [-64, 64, -32, 32, -3, 3])  # nm, a scale a renderer handles
    nmag = int(sim.system.magnetic.sum())
    assert 0 < nmag < sim.grid.ncells
    assert got["glyph_orientation"] == ["CELLS", "m"]  # Glyph's default: the arrows are m
    assert got["arrows"] == nmag  # none in the vacuum cells
    assert got["threshold_cells"] == nmag
    assert got["threshold_colour"] == ["CELLS", "m_z"]  # coloured by m_z by default, not |m|
    assert {"m", "m_x", "m_y", "m_z", "Ms", "region", "magnetic"} <= set(got["arrays"])
    assert {"TimeValue", "LengthUnit", "unit_m", "unit_Ms"} <= set(got["field"])


@needs_pv
def test_view_script_renders_frames(tmp_path):
    _series(tmp_path / "run")
    r = paraview.render(tmp_path / "run", ["--size", "480", "320", "--arrows", "60"], timeout=240)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    frames = sorted((tmp_path / "run" / "frames").iterdir())
    assert [f.name for f in frames] == ["frame_0000.png", "frame_0001.png"]
    import matplotlib.image

    img = matplotlib.image.imread(frames[-1])
    assert img.shape[:2] == (320, 480)
    rgb = img[..., :3]
    # m_z = 0.3/|m| ~ 0.29 on the Cool-to-Warm map: pinkish pixels (red above green and blue) fill the magnet
    warm = (rgb[..., 0] > rgb[..., 2] + 0.05) & (rgb[..., 0] > rgb[..., 1] + 0.05)
    assert warm.mean() > 0.05
    dark = rgb.max(axis=-1) < 0.25  # arrows and text
    assert 0.001 < dark.mean() < 0.3


def test_view_without_pvpython_says_how_to_get_it(tmp_path, monkeypatch, capsys):
    from micromag.apps.cli import main

    _series(tmp_path / "run", times=(0.0,))
    monkeypatch.setenv("MICROMAG_PVPYTHON", str(tmp_path / "no-such-pvpython"))
    assert main(["view", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "pvpython" in err and "MICROMAG_PVPYTHON" in err
    assert main(["view", str(tmp_path / "missing")]) == 2

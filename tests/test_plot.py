"""PNG plots: m(t) from a table, and the colour-wheel snapshot (pixel colours at known cells)."""
import os

import numpy as np
import pytest

import micromag as mm

pytest.importorskip("matplotlib")
import matplotlib.image as mpimg  # noqa: E402

import micromag.apps.plot as mplot  # noqa: E402
from micromag.engine.io.vtk import open_series, write_snapshots  # noqa: E402

GRID = mm.Grid(n=(32, 16, 1), cell=(4e-9, 4e-9, 3e-9))
RED, YGREEN, WHITE, BLACK = (1, 0, 0), (0.5, 1, 0), (1, 1, 1), (0, 0, 0)


def quadrant_sim():
    """An ellipse; m = +x (x < -32 nm), +y (-32..0 nm), -z (0..32 nm), +z (x > 32 nm)."""
    sim = mm.Simulation(GRID, material=mm.Permalloy(alpha=0.5), geometry=mm.Ellipse((124e-9, 62e-9)),
                        demag=False, backend="cpu")

    def m(x, y, z):
        x = x + 0 * y
        return (np.where(x < -32e-9, 1.0, 0.0), np.where((x >= -32e-9) & (x < 0), 1.0, 0.0),
                np.where(x >= 32e-9, 1.0, np.where(x >= 0, -1.0, 0.0)))

    sim.m = m
    return sim


def pixel(img, ax, i, j, grid=GRID):
    """RGB of the PNG pixel at the centre of cell (i, j)."""
    x, y, _ = grid.coords()
    X, Y = ax.transData.transform((x.ravel()[i] * 1e9, y.ravel()[j] * 1e9))
    return img[int(round(img.shape[0] - Y)), int(round(X)), :3]


def check_cells(png, ax, magnetic):
    img = mpimg.imread(png)
    j = 8  # a row through the middle of the ellipse
    for i, colour in [(4, RED), (12, YGREEN), (20, BLACK), (27, WHITE)]:
        assert magnetic[0, j, i]
        assert np.allclose(pixel(img, ax, i, j), colour, atol=0.02), (i, pixel(img, ax, i, j), colour)
    assert not magnetic[0, 0, 0] and np.allclose(pixel(img, ax, 0, 0), WHITE, atol=0.02)


def test_snapshot_of_simulation_pixel_colours(tmp_path):
    sim = quadrant_sim()
    png = tmp_path / "snap.png"
    ax = mplot.snapshot(sim, out=png)
    assert png.stat().st_size > 5000
    check_cells(png, ax, sim.system.magnetic)
    # with arrows and a given axes
    ax2 = mplot.snapshot(sim, out=tmp_path / "arrows.png", arrows=2, wheel=False)
    assert os.path.getsize(tmp_path / "arrows.png") > 5000 and ax2.figure is not ax.figure


def test_snapshot_of_vti_file(tmp_path):
    sim = quadrant_sim()
    sim.t = 1.5e-10
    s = open_series(sim, tmp_path / "run")
    (frame,) = write_snapshots(s, sim)
    png = tmp_path / "vti.png"
    ax = mplot.snapshot(frame, out=png)
    assert png.stat().st_size > 5000
    assert "0.15 ns" in ax.get_title()
    check_cells(png, ax, sim.system.magnetic)


def test_snapshot_of_array_and_bad_input(tmp_path):
    m = np.zeros((3, 2, 4, 6))
    m[0] = 1.0
    ax = mplot.snapshot(m, out=tmp_path / "a.png", layer=-1)
    assert os.path.getsize(tmp_path / "a.png") > 2000
    img = mpimg.imread(tmp_path / "a.png")
    g = mm.Grid(n=(6, 4, 2), cell=(1e-9, 1e-9, 1e-9))
    assert np.allclose(pixel(img, ax, 2, 2, g), RED, atol=0.02)
    with pytest.raises(ValueError, match="layer"):
        mplot.snapshot(m, layer=5)
    with pytest.raises(ValueError, match="shape"):
        mplot.snapshot(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="vti"):
        mplot.snapshot(str(tmp_path / "x.txt"))


def test_colorize_wheel():
    c = mplot.colorize(np.array([[1, 0, -1, 0, 0, 0], [0, 1, 0, -1, 0, 0], [0, 0, 0, 0, 1, -1]], float))
    assert np.allclose(c, [RED, YGREEN, (0, 1, 1), (0.5, 0, 1), WHITE, BLACK])


def test_table_plot(tmp_path):
    sim = quadrant_sim()
    sim.run(5e-12, out=tmp_path / "run", every=1e-12, progress=False)
    png = tmp_path / "mt.png"
    ax = mplot.table(tmp_path / "run", out=png)
    assert png.stat().st_size > 10000
    assert [ln.get_label() for ln in ax.get_lines()] == ["mx", "my", "mz"]
    assert np.allclose(ax.get_lines()[0].get_xdata()[-1], 5e-3)  # t in ns
    ax = mplot.table(tmp_path / "run" / "table.txt", columns="E_total", out=tmp_path / "e.png")
    assert ax.get_ylabel() == "J" and os.path.getsize(tmp_path / "e.png") > 5000
    with pytest.raises(ValueError, match="available"):
        mplot.table(tmp_path / "run", columns=["nope"])


def test_snapshot_of_ovf_file(tmp_path):
    ovf = pytest.importorskip("micromag.engine.io.ovf")
    sim = quadrant_sim()
    path = tmp_path / "m.ovf"
    ovf.write_ovf(path, sim.m[0], grid=GRID)
    png = tmp_path / "ovf.png"
    ax = mplot.snapshot(str(path), out=png)
    check_cells(png, ax, sim.system.magnetic)

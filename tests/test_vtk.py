"""ParaView output: .vti frames and .pvd series, checked with VTK's own XML reader."""
import os
from pathlib import Path
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import micromag as mm
from micromag.engine.io.vtk import (SnapshotSeries, open_series, read_pvd, read_vti, snapshot_fields, write_snapshots,
                             write_vti)

vtk = pytest.importorskip("vtk")
from vtk.util.numpy_support import vtk_to_numpy  # noqa: E402


def vtk_read(path):
    r = vtk.vtkXMLImageDataReader()
    assert r.CanReadFile(str(path))
    r.SetFileName(str(path))
    r.Update()
    return r.GetOutput()


def cell_array(img, name):
    a = img.GetCellData().GetArray(name)
    assert a is not None, name
    return vtk_to_numpy(a)


GRIDS = [
    mm.Grid(n=(5, 4, 3), cell=(1e-9, 2e-9, 3e-9)),
    mm.Grid(n=(200, 120, 1), cell=(2.5e-9, 2.5e-9, 1e-9)),  # thin film; m spans several zlib blocks
]


@pytest.mark.parametrize("grid", GRIDS, ids=["5x4x3", "film"])
@pytest.mark.parametrize("compress", [True, False, 9])
def test_vti_read_back_with_vtk(tmp_path, grid, compress):
    rng = np.random.default_rng(1)
    nz, ny, nx = grid.shape
    vec = rng.normal(size=(3, nz, ny, nx))
    sca = rng.normal(size=(nz, ny, nx)).astype(np.float32)
    reg = rng.integers(0, 7, size=(nz, ny, nx)).astype(np.int32)
    mask = sca > 0
    path = tmp_path / "f.vti"
    write_vti(path, grid, {"m": vec, "Ms": sca, "region": reg, "magnetic": mask}, time=2.5e-10, compress=compress)
    img = vtk_read(path)
    assert img.GetDimensions() == (nx + 1, ny + 1, nz + 1)
    assert img.GetNumberOfCells() == nx * ny * nz
    # coordinates in nm (a renderer handles them; metres made ParaView draw a black surface), the unit recorded
    assert np.allclose(img.GetSpacing(), np.array(grid.cell) / 1e-9, rtol=1e-15)
    assert np.allclose(img.GetOrigin(), [-0.5 * n * d / 1e-9 for n, d in zip(grid.n, grid.cell)], rtol=1e-15)
    assert img.GetFieldData().GetAbstractArray("LengthUnit").GetValue(0) == "nm"
    assert vtk_to_numpy(img.GetFieldData().GetArray("LengthScale"))[0] == 1e-9
    # cell order x fastest, components interleaved in the order x, y, z; exact (float64 kept)
    m = cell_array(img, "m")
    assert m.shape == (nx * ny * nz, 3)
    assert np.array_equal(m, vec.reshape(3, -1).T)
    # the cell whose centre is at (i, j, k) holds vec[:, k, j, i]
    i, j, k = nx - 1, ny // 2, nz - 1
    cid = img.ComputeCellId([i, j, k])
    bounds = [0.0] * 6
    img.GetCellBounds(cid, bounds)
    centre = [0.5 * (bounds[2 * a] + bounds[2 * a + 1]) for a in range(3)]
    x, y, z = grid.coords()
    assert np.allclose(np.array(centre) * 1e-9, [x.ravel()[i], y.ravel()[j], z.ravel()[k]], rtol=0, atol=1e-18)
    assert np.array_equal(m[cid], vec[:, k, j, i])
    assert cell_array(img, "Ms").dtype == np.float32 and np.array_equal(cell_array(img, "Ms"), sca.ravel())
    assert np.array_equal(cell_array(img, "region"), reg.ravel())
    assert np.array_equal(cell_array(img, "magnetic"), mask.ravel().astype(np.uint8))
    assert img.GetCellData().GetVectors().GetName() == "m"
    assert img.GetCellData().GetScalars().GetName() == "m_z"  # coloured by m_z, not |m|
    for c, ax in enumerate("xyz"):
        assert np.array_equal(cell_array(img, f"m_{ax}"), vec[c].ravel())
    assert vtk_to_numpy(img.GetFieldData().GetArray("TimeValue"))[0] == 2.5e-10
    # our own reader agrees
    d = read_vti(path)
    assert d["n"] == grid.n and d["time"] == 2.5e-10
    assert d["spacing"] == tuple(grid.cell)  # back in metres, exactly
    assert d["units"]["Ms"] == "A/m" and d["units"]["m"] == "1" and d["hidden"] is None
    assert np.array_equal(d["cell_data"]["m"], vec) and np.array_equal(d["cell_data"]["region"], reg)
    # atomic write: nothing but the file itself
    assert os.listdir(tmp_path) == ["f.vti"]
    if compress:
        assert "vtkZLibDataCompressor" in path.read_bytes()[:400].decode("ascii", "replace")


def test_vti_float32_origin_and_bad_input(tmp_path):
    g = GRIDS[0]
    v = np.random.default_rng(2).normal(size=(3,) + g.shape)
    write_vti(tmp_path / "a.vti", g, {"m": v}, origin=(1e-9, 0, -2e-9), dtype=np.float32)
    img = vtk_read(tmp_path / "a.vti")
    assert np.allclose(img.GetOrigin(), (1, 0, -2))  # nm
    assert read_vti(tmp_path / "a.vti")["origin"] == (1e-9, 0, -2e-9)
    write_vti(tmp_path / "a_m.vti", g, {"m": v}, origin=(1e-9, 0, -2e-9), length_unit="m")
    assert np.allclose(vtk_read(tmp_path / "a_m.vti").GetOrigin(), (1e-9, 0, -2e-9))
    assert read_vti(tmp_path / "a_m.vti")["origin"] == (1e-9, 0, -2e-9)
    os.unlink(tmp_path / "a_m.vti")
    with pytest.raises(ValueError, match="length_unit"):
        write_vti(tmp_path / "b.vti", g, {"m": v}, length_unit="furlong")
    with pytest.raises(ValueError, match="active_scalars"):
        write_vti(tmp_path / "b.vti", g, {"m": v}, active_scalars="Ms")
    with pytest.raises(ValueError, match="hidden"):
        write_vti(tmp_path / "b.vti", g, {"m": v}, hidden=np.zeros((2, 2, 2), bool))
    m = cell_array(img, "m")
    assert m.dtype == np.float32 and np.allclose(m, v.reshape(3, -1).T, rtol=1e-6)
    with pytest.raises(ValueError, match="shape"):
        write_vti(tmp_path / "b.vti", g, {"m": np.zeros((3, 1, 2, 3))})
    with pytest.raises(ValueError, match="empty"):
        write_vti(tmp_path / "b.vti", g, {})
    assert sorted(os.listdir(tmp_path)) == ["a.vti"]


def test_failed_write_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    g = GRIDS[0]
    path = tmp_path / "a.vti"
    write_vti(path, g, {"s": np.ones(g.shape)})
    before = path.read_bytes()
    import micromag.engine.io.vtk as mv

    def full_disk(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(mv.os, "fsync", full_disk)
    with pytest.raises(OSError, match="space"):
        write_vti(path, g, {"s": np.zeros(g.shape)})
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["a.vti"]


def small_sim(batch=1):
    grid = mm.Grid(n=(8, 6, 2), cell=(4e-9, 4e-9, 3e-9))
    sim = mm.Simulation(grid, material=mm.Permalloy(alpha=0.5), geometry=mm.Ellipse((30e-9, 22e-9)),
                        batch=batch, demag=False, backend="cpu")
    sim.m = lambda x, y, z: (1 + 0 * x, 0.3 * np.sin(x / 10e-9), 0.2 + 0 * x)
    return sim


def test_series_pvd_times_and_frames(tmp_path):
    sim = small_sim()
    s = SnapshotSeries(tmp_path / "out")
    times = [0.0, 1e-12, 2.5e-12]
    for t in times:
        sim.t = t
        s.write_sim(sim, extra=("B_eff", "energy"))
    s.close()
    folder = tmp_path / "out"
    assert sorted(os.listdir(folder)) == ["m.pvd", "m_000000.vti", "m_000001.vti", "m_000002.vti"]
    root = ET.parse(folder / "m.pvd").getroot()
    assert root.get("type") == "Collection"
    ds = root.find("Collection").findall("DataSet")
    assert [float(d.get("timestep")) for d in ds] == times
    for k, d in enumerate(ds):
        img = vtk_read(folder / d.get("file"))
        assert vtk_to_numpy(img.GetFieldData().GetArray("TimeValue"))[0] == times[k]
        names = {img.GetCellData().GetArrayName(i) for i in range(img.GetCellData().GetNumberOfArrays())}
        assert {"m", "Ms", "region", "B_eff", "E_exchange", "E_total"} <= names
        m = cell_array(img, "m")
        assert np.allclose(m, sim.m[0].reshape(3, -1).T, atol=1e-6)
        Ms = cell_array(img, "Ms")
        assert np.allclose(Ms, sim.system.Ms_eff.ravel(), rtol=1e-6)
        assert np.allclose(cell_array(img, "B_eff"), sim.effective_field()[0].reshape(3, -1).T, rtol=1e-5, atol=1e-9)
        E = cell_array(img, "E_total")
        assert np.isclose(E.astype(float).sum() * sim.grid.cell_volume, sim.energy(), rtol=1e-5)


def test_killed_run_keeps_valid_series(tmp_path):
    g = GRIDS[0]
    s = SnapshotSeries(tmp_path, name="run")
    k = 3
    for i in range(k):
        s.write(g, {"m": np.full((3,) + g.shape, float(i))}, t=i * 1e-12)
    # no close(): the process "dies" here
    entries = read_pvd(tmp_path / "run.pvd")
    assert len(entries) == k and [t for t, _ in entries] == [i * 1e-12 for i in range(k)]
    for i, (_, f) in enumerate(entries):
        assert cell_array(vtk_read(tmp_path / f), "m")[0, 0] == i
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".") or f.endswith(".part")]


def test_existing_series_refused_unless_resume(tmp_path):
    g = GRIDS[0]
    s = SnapshotSeries(tmp_path)
    s.write(g, {"a": np.zeros(g.shape)}, 0.0)
    with pytest.raises(FileExistsError):
        SnapshotSeries(tmp_path)
    SnapshotSeries(tmp_path, name="other")  # another name in the same folder is fine
    s2 = SnapshotSeries(tmp_path, resume=True)
    s2.write(g, {"a": np.ones(g.shape)}, 1e-12)
    entries = read_pvd(tmp_path / "m.pvd")
    assert [f for _, f in entries] == ["m_000000.vti", "m_000001.vti"]
    # orphan frames without a collection also count as an existing series
    os.remove(tmp_path / "m.pvd")
    with pytest.raises(FileExistsError):
        SnapshotSeries(tmp_path)
    s3 = SnapshotSeries(tmp_path, resume=True)
    assert s3.write(g, {"a": np.ones(g.shape)}, 2e-12).endswith("m_000002.vti")


def test_batch_series_per_member(tmp_path):
    sim = small_sim(batch=3)
    sim.m = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], float)
    series = open_series(sim, tmp_path, members=[0, 2])
    write_snapshots(series, sim)
    assert sorted(os.listdir(tmp_path)) == ["m_0000.pvd", "m_0000_000000.vti", "m_0002.pvd", "m_0002_000000.vti"]
    m2 = cell_array(vtk_read(tmp_path / "m_0002_000000.vti"), "m")
    mag = sim.system.magnetic.ravel()
    assert np.allclose(m2[mag], [0, 0, 1]) and np.all(m2[~mag] == 0)
    assert len(open_series(sim, tmp_path / "all")) == 3
    single = open_series(small_sim(), tmp_path / "one")
    assert [s.base for s in single] == ["m"]
    with pytest.raises(ValueError, match="unknown"):
        snapshot_fields(sim, 0, extra=("nonsense",))
    with pytest.raises(ValueError, match="out of range"):
        snapshot_fields(sim, 5)


def test_vti_block_boundary(tmp_path):
    """An array of exactly one/two zlib blocks (the 'last block is full' header case)."""
    from micromag.engine.io.vtk import BLOCK_SIZE

    for nblocks in (1, 2):
        g = mm.Grid(n=(32, 32, BLOCK_SIZE * nblocks // (8 * 32 * 32)), cell=(1e-9, 1e-9, 1e-9))
        a = np.random.default_rng(3).normal(size=g.shape)
        write_vti(tmp_path / "b.vti", g, {"a": a})
        assert np.array_equal(cell_array(vtk_read(tmp_path / "b.vti"), "a"), a.ravel())
        assert np.array_equal(read_vti(tmp_path / "b.vti")["cell_data"]["a"], a)


def test_snapshot_is_what_paraview_defaults_show(tmp_path):
    """A run's frame, as VTK's reader (ParaView's) sees it: m and m_x, m_y, m_z (m_z active), magnetic and
    region (-1 outside the magnet), vacuum blanked (HIDDENCELL), a unit on every array, clean times."""
    sim = small_sim()
    s = SnapshotSeries(tmp_path)
    sim.t = 0.1 * 5e-10  # 4.9999999999999995e-11 in floating point (the ParaView time label)
    assert sim.t != 5e-11
    s.write_sim(sim, extra=("B_eff", "energy"))
    assert read_pvd(tmp_path / "m.pvd")[0][0] == 5e-11
    assert 'timestep="5e-11"' in (tmp_path / "m.pvd").read_text()
    img = vtk_read(tmp_path / "m_000000.vti")
    assert vtk_to_numpy(img.GetFieldData().GetArray("TimeValue"))[0] == 5e-11
    cd = img.GetCellData()
    mag = sim.system.magnetic.ravel()
    assert 0 < mag.sum() < mag.size
    assert cd.GetScalars().GetName() == "m_z" and cd.GetVectors().GetName() == "m"
    assert np.array_equal(cell_array(img, "magnetic"), mag.astype(np.uint8))
    assert np.array_equal(cell_array(img, "region")[mag], np.zeros(mag.sum())) and np.all(
        cell_array(img, "region")[~mag] == -1)
    ghost = cell_array(img, "vtkGhostType")
    # vtkDataSetAttributes.HIDDENCELL | DUPLICATECELL (ParaView 5.11's Glyph skips only the latter)
    assert np.array_equal(ghost, np.where(mag, 0, 33))
    assert vtk.vtkDataSetAttributes.HIDDENCELL | vtk.vtkDataSetAttributes.DUPLICATECELL == 33
    for c in range(img.GetNumberOfCells()):
        assert bool(img.IsCellVisible(c)) == bool(mag[c])
    assert np.allclose(cell_array(img, "m_z"), sim.m[0][2].ravel(), atol=1e-6)
    fd = img.GetFieldData()
    units = {fd.GetArrayName(i)[5:]: fd.GetAbstractArray(i).GetValue(0) for i in range(fd.GetNumberOfArrays())
             if fd.GetArrayName(i).startswith("unit_")}
    names = {cd.GetArrayName(i) for i in range(cd.GetNumberOfArrays())}
    assert names == set(units)  # every array carries its unit
    assert units["Ms"] == "A/m" and units["B_eff"] == "T" and units["E_total"] == "J/m^3" and units["m_z"] == "1"
    # VTK's own threshold on m_z skips the blanked cells (they hold m = 0, inside any range around 0)
    th = vtk.vtkThreshold()
    th.SetInputData(img)
    th.SetInputArrayToProcess(0, 0, 0, vtk.vtkDataObject.FIELD_ASSOCIATION_CELLS, "m_z")
    th.SetLowerThreshold(-2)
    th.SetUpperThreshold(2)
    th.Update()
    assert th.GetOutput().GetNumberOfCells() == mag.sum()
    # and so does the surface
    geo = vtk.vtkGeometryFilter()
    geo.SetInputData(img)
    geo.Update()
    surf = geo.GetOutput()
    assert surf.GetNumberOfCells() > 0
    assert np.all(vtk_to_numpy(surf.GetCellData().GetArray("magnetic")) == 1)
    # micromag's readers: metres, the mask, the units
    d = read_vti(tmp_path / "m_000000.vti")
    assert d["spacing"] == tuple(sim.grid.cell)
    assert np.array_equal(d["hidden"], ~sim.system.magnetic) and "vtkGhostType" not in d["cell_data"]
    assert d["units"]["Ms"] == "A/m"


def test_old_files_in_metres_still_read(tmp_path):
    """A .vti written before the nm coordinates (no LengthScale: metres) reads as before, and `micromag
    convert`/`plot` take both."""
    old = (Path(__file__).parent / "data" / "vtk_old_metres.vti")
    d = read_vti(old)
    assert d["spacing"] == (4e-9, 4e-9, 3e-9) and d["units"] == {} and d["hidden"] is None
    from micromag.apps.cli import main

    assert main(["convert", str(old), str(tmp_path / "a.ovf")]) == 0
    from micromag.engine.io.ovf import read_ovf

    f = read_ovf(tmp_path / "a.ovf")
    assert np.allclose(f.cell, (4e-9, 4e-9, 3e-9))
    assert np.allclose(f.array, d["cell_data"]["m"])
    assert main(["convert", str(tmp_path / "a.ovf"), str(tmp_path / "b.vti")]) == 0
    e = read_vti(tmp_path / "b.vti")
    assert e["spacing"] == (4e-9, 4e-9, 3e-9) and np.allclose(e["cell_data"]["m"], d["cell_data"]["m"])
    assert main(["plot", str(tmp_path / "b.vti"), "-o", str(tmp_path / "b.png")]) == 0
    assert (tmp_path / "b.png").stat().st_size > 1000


def test_active_scalar_follows_the_easy_axis(tmp_path):
    """An in-plane layer with its uniaxial easy axis along x is coloured by m_x; no anisotropy: m_z."""
    grid = mm.Grid(n=(6, 4, 1), cell=(4e-9, 4e-9, 2e-9))
    inplane = mm.Material(Ms=8e5, A=1.3e-11, alpha=0.5, Ku1=5e4, anis_u=(1, 0, 0))
    sim = mm.Simulation(grid, material=inplane, demag=False, backend="cpu")
    SnapshotSeries(tmp_path / "x").write_sim(sim)
    assert vtk_read(tmp_path / "x" / "m_000000.vti").GetCellData().GetScalars().GetName() == "m_x"
    write_snapshots(open_series(small_sim(), tmp_path / "z"), small_sim())
    assert vtk_read(tmp_path / "z" / "m_000000.vti").GetCellData().GetScalars().GetName() == "m_z"

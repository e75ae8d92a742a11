"""Tests of micromag.engine.mesh: meshed free layers read with meshio and voxelized onto the grid."""
import math
import os
import sys
import time

import numpy as np
import pytest

meshio = pytest.importorskip("meshio")

from micromag.engine.geometry import Box, Ellipse, Shape, rotation_matrix  # noqa: E402
from micromag.engine.geometry.shape import Affine  # noqa: E402
from micromag.engine.grid import Grid  # noqa: E402
from micromag.engine.mesh import MeshError, MeshShape, boundary_surface, from_mesh, regions_from_mesh  # noqa: E402

nm = 1e-9
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GEO = os.path.join(ROOT, "geometries")
DATA = os.path.join(ROOT, "tests", "data", "mesh")
MTJ = os.path.join(GEO, "mtj_ellipse.msh")
MTJ_STL = os.path.join(GEO, "mtj_ellipse.stl")
SOT = os.path.join(GEO, "sot_tilted.msh")
SP4 = os.path.join(GEO, "sp4_film.msh")
SP4_STL = os.path.join(GEO, "sp4_film.stl")


def volume_nm3(shape, grid, samples=None):
    return float(shape.fill_fraction(grid, samples).sum()) * grid.cell_volume / nm**3


def film(L_nm, d_nm, dz_nm, nz=1):
    n = int(round(L_nm / d_nm))
    return Grid((n, n, nz), (d_nm * nm, d_nm * nm, dz_nm * nm))


def hex_to_tets(nx, ny, nz, size):
    """Box ``size`` (m) centred on the origin split into nx·ny·nz hexahedra, 6 tetrahedra each."""
    ax = [np.linspace(-L / 2, L / 2, n + 1) for L, n in zip(size, (nx, ny, nz))]
    Z, Y, X = np.meshgrid(ax[2], ax[1], ax[0], indexing="ij")
    pts = np.column_stack([X.ravel(), Y.ravel(), Z.ravel()])
    k, j, i = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij")
    b = ((k * (ny + 1) + j) * (nx + 1) + i).ravel()
    sy, sz = nx + 1, (nx + 1) * (ny + 1)
    corners = np.stack([b, b + 1, b + 1 + sy, b + sy, b + sz, b + sz + 1, b + sz + 1 + sy, b + sz + sy], axis=1)
    split = [[0, 1, 2, 6], [0, 2, 3, 6], [0, 3, 7, 6], [0, 7, 4, 6], [0, 4, 5, 6], [0, 5, 1, 6]]
    return pts, corners[:, split].reshape(-1, 4)


# ---------------------------------------------------------------------------------------- files
def test_geometry_files_small_and_readable():
    for name in ("mtj_ellipse.msh", "mtj_ellipse.stl", "sot_tilted.msh", "sp4_film.msh", "sp4_film.stl"):
        path = os.path.join(GEO, name)
        assert os.path.getsize(path) < 1_000_000, name
        s = from_mesh(path, scale="nm")
        assert isinstance(s, Shape) and s.mesh_volume > 0
    assert from_mesh(MTJ, scale="nm").kind == "volume"
    assert from_mesh(MTJ_STL, scale="nm").kind == "surface"
    b = from_mesh(SP4, scale="nm").bounds() / nm
    np.testing.assert_allclose(b, [[-250, 250], [-62.5, 62.5], [-1.5, 1.5]], atol=1e-9)
    assert from_mesh(SP4, scale="nm").mesh_volume == pytest.approx(500 * 125 * 3 * nm**3, rel=1e-12)


# ---------------------------------------------------------------------------------------- volumes
def test_ellipse_volume_converges_to_area_times_thickness():
    shape = from_mesh(MTJ, scale="nm")
    exact = math.pi * 50 * 25 * 1.5
    # the mesh outline is the inscribed 128-gon: 0.04 % less area than the ellipse
    assert shape.mesh_volume / nm**3 == pytest.approx(exact * math.sin(2 * math.pi / 128) / (2 * math.pi / 128), rel=1e-6)
    errs = []
    for d, tol in ((8, 0.02), (4, 0.005), (2, 0.001), (1, 0.0005)):
        err = abs(volume_nm3(shape, film(128, d, 1.5)) / exact - 1)
        print(f"mtj ellipse, cell {d} nm: relative volume error {err:.2e}")
        assert err < tol
        errs.append(err)
    assert errs[-1] < errs[0] / 10


def test_tilted_ellipse_volume_converges():
    # free layer of the SOT mesh (ellipse 120 x 40 nm turned by 45 deg, 2 nm thick, z 0..2 nm in the file)
    shape = from_mesh(SOT, scale="nm", physical="free_layer", translate=(0, 0, -1 * nm))
    exact = math.pi * 60 * 20 * 2
    errs = []
    for d, tol in ((8, 0.01), (4, 0.003), (2, 0.003), (1, 0.0005)):
        err = abs(volume_nm3(shape, film(128, d, 2.0)) / exact - 1)
        print(f"tilted ellipse, cell {d} nm: relative volume error {err:.2e}")
        assert err < tol
        errs.append(err)
    assert errs[-1] < errs[0] / 10
    # same body from the MTJ-style ellipse: rotate= on reading agrees with the analytic rotated Ellipse
    g = film(128, 2, 1.5)
    meshed = from_mesh(MTJ, scale="nm", rotate=45).fill_fraction(g)
    analytic = Ellipse((100 * nm, 50 * nm), 1.5 * nm).rotate(45).fill_fraction(g)
    assert np.abs(meshed - analytic).sum() * g.cell_volume / (math.pi * 50 * 25 * 1.5 * nm**3) < 0.002


# ---------------------------------------------------------------------------------------- regions
def test_regions_from_physical_groups():
    g = Grid((104, 56, 3), (2 * nm, 2 * nm, 2 * nm))
    fill, region, names = regions_from_mesh(SOT, g, scale="nm", translate=(0, 0, 1 * nm))
    assert names == {1: "free_layer", 2: "heavy_metal"}
    assert region.dtype == np.int32 and fill.shape == region.shape == g.shape
    v_free = float((fill * (region == 1)).sum()) * g.cell_volume / nm**3
    v_hm = float((fill * (region == 2)).sum()) * g.cell_volume / nm**3
    assert v_free == pytest.approx(math.pi * 60 * 20 * 2, rel=3e-3)
    assert v_hm == pytest.approx(200 * 100 * 4, rel=1e-9)
    # stripe in the two lower cell layers, free layer in the top one
    assert set(np.unique(region[:2])) == {0, 2} and set(np.unique(region[2])) == {0, 1}
    assert np.all(region[fill == 0] == 0)
    # custom ids, group selection, and the same cells as from_mesh(physical=...)
    fill2, region2, names2 = regions_from_mesh(SOT, g, scale="nm", translate=(0, 0, 1 * nm),
                                               region_ids={"free_layer": 5, "heavy_metal": 7})
    assert names2 == {5: "free_layer", 7: "heavy_metal"}
    np.testing.assert_array_equal(region2 == 5, region == 1)
    fl = from_mesh(SOT, scale="nm", physical="free_layer", translate=(0, 0, 1 * nm)).fill_fraction(g)
    np.testing.assert_array_equal(fl, fill * (region == 1))
    f3, r3, n3 = regions_from_mesh(SOT, g, scale="nm", translate=(0, 0, 1 * nm), physical=["heavy_metal"])
    assert n3 == {2: "heavy_metal"} and set(np.unique(r3)) == {0, 2}
    with pytest.raises(MeshError, match="no volume physical group 'pinned'.*free_layer=1"):
        from_mesh(SOT, scale="nm", physical="pinned")


def test_regions_feed_system():
    import micromag as mm

    g = Grid((104, 56, 3), (2 * nm, 2 * nm, 2 * nm))
    fill, region, names = regions_from_mesh(SOT, g, scale="nm", translate=(0, 0, 1 * nm))
    sys_ = mm.System(g, geometry=fill * (region == 1), regions=region, materials={0: mm.CoFeB(), 1: mm.CoFeB(), 2: mm.CoFeB()})
    assert sys_.fill.sum() > 0


# ---------------------------------------------------------------------------------------- STL vs msh
@pytest.mark.parametrize("msh,stl", [(MTJ, MTJ_STL), (SP4, SP4_STL)])
def test_stl_and_msh_give_the_same_cells(msh, stl):
    grids = [film(160, 2, 1.5), film(520, 5, 3.0), Grid((60, 40, 4), (3 * nm, 3.3 * nm, 1 * nm))]
    for kw in ({}, {"rotate": 30, "translate": (3.1 * nm, -2.2 * nm, 0)}):
        a = from_mesh(msh, scale="nm", **kw)
        b = from_mesh(stl, scale="nm", **kw)
        assert a.kind == "volume" and b.kind == "surface"
        assert b.mesh_volume == pytest.approx(a.mesh_volume, rel=1e-12)
        for g in grids:
            fa, fb = a.fill_fraction(g), b.fill_fraction(g)
            # identical vertex coordinates: equal except for sample points exactly on the surface
            assert np.abs(fa - fb).max() <= 1 / 16 + 1e-12
            assert np.mean(fa != fb) < 1e-3
            np.testing.assert_array_equal(fa >= 0.5, fb >= 0.5)


def test_surface_parity_exact_on_shared_edges_and_vertices():
    # cube 10 nm from an STL whose face diagonals lie on x == y etc.: a square lattice of samples sits
    # exactly on those projected edges and vertices, and must still count each crossing once
    cube = from_mesh(os.path.join(DATA, "cube_10nm.stl"), scale="nm", center="centroid")
    g = Grid((12, 12, 12), (1 * nm,) * 3)
    ref = Box((10 * nm,) * 3).fill_fraction(g, 1)
    np.testing.assert_array_equal(cube.fill_fraction(g, 1), ref)
    np.testing.assert_array_equal(cube.fill_fraction(g, 3), Box((10 * nm,) * 3).fill_fraction(g, 3))


def test_lattice_and_scattered_paths_agree():
    g = Grid((40, 24, 3), (3 * nm, 3 * nm, 1 * nm))
    R = rotation_matrix(30)
    for path in (MTJ, MTJ_STL):
        s = from_mesh(path, scale="nm")
        fast = s.rotate(30).fill_fraction(g)            # vertices rotated: lattice path
        wrapped = Affine(s, R, np.zeros(3)).fill_fraction(g)  # query points rotated: bucket path
        np.testing.assert_array_equal(fast, wrapped)
        # the overridden fill_fraction samples exactly like Shape.fill_fraction
        np.testing.assert_array_equal(s.fill_fraction(g, (2, 3, 2)), Shape.fill_fraction(s, g, (2, 3, 2)))
        rng = np.random.default_rng(1)
        P = rng.uniform(-60 * nm, 60 * nm, (20000, 3)) * [1, 1, 0.02]
        np.testing.assert_array_equal(s.inside(P[:, 0], P[:, 1], P[:, 2]),
                                      from_mesh(MTJ, scale="nm").inside(P[:, 0], P[:, 1], P[:, 2]))


# ---------------------------------------------------------------------------------------- placement
def test_scale_center_rotate_translate():
    a = from_mesh(MTJ, scale="nm")
    b = from_mesh(MTJ, scale=1e-9)
    np.testing.assert_array_equal(a.bounds(), b.bounds())
    c = from_mesh(MTJ, scale="pm")
    np.testing.assert_allclose(c.bounds(), a.bounds() / 1000, rtol=1e-12)
    # rotate 90 about z swaps x and y extents; about x moves the thickness into y
    np.testing.assert_allclose(from_mesh(MTJ, scale="nm", rotate=90).bounds() / nm,
                               [[-25, 25], [-50, 50], [-0.75, 0.75]], atol=1e-9)
    np.testing.assert_allclose(from_mesh(MTJ, scale="nm", rotate=(90, "x")).bounds() / nm,
                               [[-50, 50], [-0.75, 0.75], [-25, 25]], atol=1e-9)
    # translate in metres, applied last
    t = from_mesh(MTJ, scale="nm", rotate=90, translate=(10 * nm, -5 * nm, 1 * nm))
    np.testing.assert_allclose(t.bounds() / nm, [[-15, 35], [-55, 45], [0.25, 1.75]], atol=1e-9)
    # center='centroid' uses the whole file (both groups) so the groups keep their relative place
    s = from_mesh(SOT, scale="nm", center="centroid")
    np.testing.assert_allclose(s.bounds().mean(axis=1), 0, atol=1e-18)
    fl = from_mesh(SOT, scale="nm", center="centroid", physical="free_layer")
    np.testing.assert_allclose(fl.bounds()[2] / nm, [1, 3], atol=1e-9)
    # rotate= on reading == the Shape.rotate method == the analytic cells
    g = film(160, 2, 1.5)
    np.testing.assert_array_equal(from_mesh(MTJ, scale="nm", rotate=30).fill_fraction(g),
                                  a.rotate(30).fill_fraction(g))
    moved = a.translate((20 * nm, 10 * nm, 0)).fill_fraction(g)
    assert volume_nm3(a, g) == pytest.approx(float(moved.sum()) * g.cell_volume / nm**3, rel=2e-3)
    # CSG works: ellipse minus a hole
    hole = Box((10 * nm, 10 * nm, 2 * nm))
    assert volume_nm3(a - hole, g) == pytest.approx(volume_nm3(a, g) - 100 * 1.5, rel=1e-9)
    with pytest.raises(ValueError, match="scale"):
        from_mesh(MTJ, scale="furlong")
    with pytest.raises(MeshError, match="across after scale"):
        from_mesh(MTJ)  # forgot the unit: 100 m wide
    with pytest.raises(ValueError, match="center"):
        from_mesh(MTJ, scale="nm", center="middle")


def test_flat_outline_extruded(tmp_path):
    sys.path.insert(0, GEO)
    try:
        from make_geometries import ellipse_outline_triangles
    finally:
        sys.path.remove(GEO)
    p2, tri = ellipse_outline_triangles(100.0, 50.0, n_boundary=128, n_rings=8)
    path = str(tmp_path / "outline.vtu")
    meshio.write(path, meshio.Mesh(np.column_stack([p2, np.zeros(len(p2))]), [("triangle", tri)]))
    flat = from_mesh(path, scale="nm", thickness=1.5 * nm)
    vol = from_mesh(MTJ, scale="nm")
    assert flat.mesh_volume == pytest.approx(vol.mesh_volume, rel=1e-9)
    for g in (film(128, 2, 1.5), film(128, 1, 0.5, nz=4)):
        np.testing.assert_array_equal(flat.fill_fraction(g) >= 0.5, vol.fill_fraction(g) >= 0.5)
    with pytest.raises(MeshError, match="flat.*thickness="):
        from_mesh(path, scale="nm")
    with pytest.raises(MeshError, match="thickness= extrudes a flat"):
        from_mesh(MTJ_STL, scale="nm", thickness=1e-9)


def test_real_gmsh_file_with_physical_groups(tmp_path):
    """A Gmsh-made MSH 4.1 file (boundary triangles and lines in it too) of the tilted SOT element."""
    gmsh = pytest.importorskip("gmsh")
    gmsh.initialize()
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        occ = gmsh.model.occ
        disk = occ.addDisk(0, 0, 0, 60, 20)
        occ.rotate([(2, disk)], 0, 0, 0, 0, 0, 1, math.pi / 4)
        fl = [t for dim, t in occ.extrude([(2, disk)], 0, 0, 2) if dim == 3][0]
        hm = occ.addBox(-100, -30, -4, 200, 60, 4)
        occ.synchronize()
        gmsh.model.addPhysicalGroup(3, [fl], 1, name="free_layer")
        gmsh.model.addPhysicalGroup(3, [hm], 2, name="heavy_metal")
        gmsh.option.setNumber("Mesh.CharacteristicLengthMax", 4)
        gmsh.model.mesh.generate(3)
        path = str(tmp_path / "sot_gmsh.msh")
        gmsh.write(path)
    finally:
        gmsh.finalize()
    g = Grid((104, 48, 6), (2 * nm, 2 * nm, 1 * nm))
    fill, region, names = regions_from_mesh(path, g, scale="nm", translate=(0, 0, 1 * nm))
    assert names == {1: "free_layer", 2: "heavy_metal"}
    assert float((fill * (region == 1)).sum()) * g.cell_volume / nm**3 == pytest.approx(math.pi * 60 * 20 * 2, rel=0.01)
    assert float((fill * (region == 2)).sum()) * g.cell_volume / nm**3 == pytest.approx(48000, rel=1e-9)


# ---------------------------------------------------------------------------------------- bad input
def test_open_shell_is_an_error_naming_the_file():
    path = os.path.join(DATA, "open_box.stl")
    with pytest.raises(MeshError, match=r"open_box\.stl.*not a closed shell: 4 edges"):
        from_mesh(path, scale="nm")


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="no_such_layer.msh"):
        from_mesh("no_such_layer.msh", scale="nm")
    with pytest.raises(FileNotFoundError, match="no_such_layer.msh"):
        regions_from_mesh("no_such_layer.msh", film(64, 2, 1.5), scale="nm")


def test_corrupt_files(tmp_path):
    with pytest.raises(MeshError, match=r"truncated\.msh"):
        from_mesh(os.path.join(DATA, "truncated.msh"), scale="nm")
    garbage = tmp_path / "garbage.stl"
    garbage.write_bytes(bytes(range(256)) * 3)
    with pytest.raises(MeshError, match=r"garbage\.stl"):
        from_mesh(str(garbage), scale="nm")
    empty = tmp_path / "empty.msh"
    empty.write_text("")
    with pytest.raises(MeshError, match=r"empty\.msh.*empty"):
        from_mesh(str(empty), scale="nm")
    unknown = tmp_path / "layer.xyz123"
    unknown.write_text("1 2 3\n")
    with pytest.raises(MeshError, match=r"layer\.xyz123"):
        from_mesh(str(unknown), scale="nm")
    lines = tmp_path / "lines.vtu"
    meshio.write(str(lines), meshio.Mesh(np.eye(3), [("line", np.array([[0, 1], [1, 2]]))]))
    with pytest.raises(MeshError, match=r"lines\.vtu.*no tetrahedra and no triangles \(found: line\)"):
        from_mesh(str(lines), scale="nm")


def test_boundary_surface_is_closed_and_outward():
    pts, tets = hex_to_tets(3, 2, 2, (3.0, 2.0, 2.0))
    sp, st = boundary_surface(pts, tets)
    assert len(st) == 2 * (3 * 2 + 3 * 2 + 2 * 2) * 2
    a, b, c = sp[st[:, 0]], sp[st[:, 1]], sp[st[:, 2]]
    assert np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6 == pytest.approx(12.0)  # outward: +volume


# ---------------------------------------------------------------------------------------- speed
def test_timing_million_tetrahedra():
    """1e6 tetrahedra on a 128 x 128 x 8 grid with 2 x 2 x 2 samples: seconds, not minutes."""
    size = (240 * nm, 232 * nm, 14.4 * nm)
    pts, tets = hex_to_tets(128, 128, 11, size)
    assert len(tets) > 1_000_000
    g = Grid((128, 128, 8), (2 * nm, 2 * nm, 2 * nm))
    t0 = time.perf_counter()
    shape = MeshShape(pts, tets=tets)
    t1 = time.perf_counter()
    fill = shape.fill_fraction(g, (2, 2, 2))
    t2 = time.perf_counter()
    print(f"\n{len(tets)} tetrahedra: build {t1 - t0:.2f} s, fill_fraction 128x128x8 (2x2x2) {t2 - t1:.2f} s")
    # samples at 0.5 nm offsets: the box edges fall between samples, so the count is exact
    assert float(fill.sum()) * g.cell_volume == pytest.approx(np.prod(size), rel=1e-9)
    assert t2 - t0 < 20.0

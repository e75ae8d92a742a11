"""Tests of micromag.engine.geometry: primitives, CSG, transforms and sub-cell fill fractions."""
import math
import time

import numpy as np
import pytest

from micromag.engine import geometry as geo
from micromag.engine.geometry import (Box, Cylinder, Ellipse, Ellipsoid, Empty, HalfSpace, Layer, Polygon, Universe,
                               difference, intersection, rotation_matrix, union)
from micromag.engine.grid import Grid

nm = 1e-9


def film(L_nm, d_nm, nz=1, dz_nm=1.0):
    """Square thin-film grid of side L_nm with cells d_nm."""
    n = int(round(L_nm / d_nm))
    return Grid((n, n, nz), (d_nm * nm, d_nm * nm, dz_nm * nm))


def cube(L_nm, d_nm):
    n = int(round(L_nm / d_nm))
    return Grid((n, n, n), (d_nm * nm,) * 3)


def area(shape, grid, samples=None):
    return float(shape.fill_fraction(grid, samples).sum()) * grid.cell[0] * grid.cell[1]


def rel_errors(shape, exact, grids, measure):
    return [abs(measure(shape, g) - exact) / exact for g in grids]


FILM_CELLS = (10.0, 5.0, 2.5, 1.25)  # nm, on a 160 nm wide film


# --------------------------------------------------------------------------------------- areas and volumes
@pytest.mark.parametrize("angle", [0.0, 30.0, 45.0])
def test_ellipse_area_converges(angle):
    e = Ellipse((100 * nm, 60 * nm)).rotate(angle)
    exact = math.pi * 50 * 30 * nm**2
    errs = rel_errors(e, exact, [film(160, d) for d in FILM_CELLS], area)
    # measured: 0° 1.3e-2 -> 3.6e-4, 30° 1.1e-2 -> 2.7e-4, 45° 1.3e-2 -> 3.1e-4
    assert errs[0] < 3e-2
    assert errs[-1] < 1e-3
    assert errs[-1] < errs[0] / 10
    assert max(errs[2:]) < errs[0]


def test_polygon_triangle_and_L_areas_converge():
    tri = Polygon([(-37 * nm, -23 * nm), (41 * nm, -11 * nm), (3 * nm, 33 * nm)])
    exact_tri = 0.5 * abs((41 + 37) * (33 + 23) - (3 + 37) * (-11 + 23)) * nm**2
    assert tri.area == pytest.approx(exact_tri, rel=1e-12)
    # L shape (concave) with edge lengths that are not multiples of the cell, rotated by 20°
    Lv = np.array([(0, 0), (61.3, 0), (61.3, 21.7), (19.1, 21.7), (19.1, 52.9), (0, 52.9)]) * nm
    L = Polygon(Lv).translate((-23.3 * nm, -17.7 * nm)).rotate(20)
    exact_L = (61.3 * 21.7 + 19.1 * (52.9 - 21.7)) * nm**2
    for shape, exact in ((tri, exact_tri), (L, exact_L)):
        errs = rel_errors(shape, exact, [film(160, d) for d in FILM_CELLS], area)
        assert errs[-1] < 1e-3, errs
        assert errs[-1] < errs[0] / 4, errs


def test_polygon_orientation_and_concavity():
    sq = [(0, 0), (10, 0), (10, 10), (0, 10)]
    a = Polygon(np.array(sq) * nm)
    b = Polygon(np.array(sq[::-1]) * nm)
    c = Polygon(np.array(sq + [sq[0]]) * nm)  # explicitly closed
    g = film(32, 0.5)
    fa = a.fill_fraction(g)
    np.testing.assert_array_equal(fa, b.fill_fraction(g))
    np.testing.assert_array_equal(fa, c.fill_fraction(g))
    assert a.signed_area > 0 > b.signed_area
    L = Polygon(np.array([(0, 0), (6, 0), (6, 2), (2, 2), (2, 5), (0, 5)]) * nm)
    assert L.inside(1 * nm, 4 * nm, 0) and L.inside(5 * nm, 1 * nm, 0)
    assert not L.inside(4 * nm, 4 * nm, 0)  # in the notch
    assert not L.inside(7 * nm, 1 * nm, 0)


def test_polygon_fill_rules_on_pentagram():
    star = [(math.cos(math.radians(90 + 144 * k)), math.sin(math.radians(90 + 144 * k))) for k in range(5)]
    star = np.array(star) * 10 * nm
    eo = Polygon(star, rule="evenodd")
    nzr = Polygon(star, rule="nonzero")
    assert not eo.inside(0, 0, 0)  # centre pentagon crossed twice
    assert nzr.inside(0, 0, 0)  # winding number 2
    tip = star[0] * 0.9
    assert eo.inside(tip[0], tip[1], 0) and nzr.inside(tip[0], tip[1], 0)


def test_cylinder_volume_along_axes():
    exact = math.pi * 15**2 * 20 * nm**3
    grids = [cube(48, d) for d in (4.0, 2.0, 1.0)]
    centres = [(1.3 * nm, -0.7 * nm, 0.4 * nm), (-0.6 * nm, 1.1 * nm, -1.7 * nm), (0.2 * nm, 0.9 * nm, 1.4 * nm)]
    for axis in ("z", "x", "y", (1.0, 2.0, 3.0)):
        # mean error over a few centres, so that one lucky alignment with the lattice does not decide
        errs = np.mean([rel_errors(Cylinder(30 * nm, 20 * nm, axis=axis, center=c), exact, grids,
                                   lambda s, g: s.volume(g)) for c in centres], axis=0)
        # measured (4, 2, 1 nm cells): z 2.8e-3 -> 4e-4; x, y ~3e-3 -> 3e-4; (1,2,3) 2.4e-3 -> 1.4e-3
        assert errs[-1] < 2e-3, (axis, errs)
        assert errs[-1] < errs[0] / 1.5, (axis, errs)


def test_cylinder_thin_film_area_and_infinite_height():
    c = Cylinder(50 * nm)  # height None = unbounded along z
    g = film(64, 1.0)
    assert area(c, g) == pytest.approx(math.pi * 25**2 * nm**2, rel=1e-3)
    assert c.inside(0, 0, 1.0) and not c.inside(26 * nm, 0, 0)


def test_ellipsoid_volume_converges():
    e = Ellipsoid((40 * nm, 30 * nm, 20 * nm), center=(0.9 * nm, -1.7 * nm, 0.3 * nm))
    exact = math.pi / 6 * 40 * 30 * 20 * nm**3
    errs = rel_errors(e, exact, [cube(48, d) for d in (4.0, 2.0, 1.0)], lambda s, g: s.volume(g))
    assert errs[-1] < 1e-3, errs
    # finer sub-sampling on a fixed grid converges too
    g = cube(48, 4.0)
    errs_s = [abs(e.volume(g, samples=s) - exact) / exact for s in (1, 4, 16)]
    assert errs_s[-1] < 1e-3 and errs_s[-1] < errs_s[0], errs_s


def test_box_exact_when_aligned_with_cells():
    g = film(100, 2.0, nz=4, dz_nm=1.0)
    b = Box((40 * nm, 20 * nm, 2 * nm), center=(10 * nm, -6 * nm, 1 * nm))
    f = b.fill_fraction(g)
    assert set(np.unique(f)) == {0.0, 1.0}
    assert f.sum() == 20 * 10 * 2
    assert b.volume(g) == pytest.approx(40 * 20 * 2 * nm**3, rel=1e-12)


# --------------------------------------------------------------------------------------- fill fractions
def test_rotated_ellipse_has_smooth_edges():
    g = film(128, 2.0)
    f = Ellipse((100 * nm, 40 * nm)).rotate(45).fill_fraction(g)[0]
    assert f.min() >= 0.0 and f.max() <= 1.0
    partial = (f > 0) & (f < 1)
    assert partial.sum() > 50
    # the outline runs through fractional cells: a full cell sits next to an empty one only where the
    # boundary happens to pass between two rows of sub-samples (measured: 12 such pairs for 102 partial cells)
    full, empty = f == 1.0, f == 0.0
    jumps = sum(int((full & np.roll(empty, s, axis=ax)).sum()) for ax in (0, 1) for s in (1, -1))
    assert jumps < 0.2 * partial.sum()
    # near the ends of the minor axis the edge runs at 45° to the cells: no jump at all there
    x, y = g.axis_coords(0)[None, :], g.axis_coords(1)[:, None]
    near_minor = np.abs(x + y) < 20 * nm
    for ax in (0, 1):
        for s in (1, -1):
            assert not np.any(full & np.roll(empty, s, axis=ax) & near_minor)
    # the 45° ellipse is symmetric under x -> y (transpose) and under x,y -> -x,-y
    np.testing.assert_allclose(f, f.T, atol=1e-12)
    np.testing.assert_allclose(f, f[::-1, ::-1], atol=1e-12)


def test_fill_fraction_range_shape_and_cells():
    g = Grid((30, 20, 3), (2 * nm, 2 * nm, 1 * nm))
    s = (Ellipsoid((50 * nm, 30 * nm, 3 * nm)) | Box((10 * nm, 45 * nm, 1 * nm))).rotate(17, axis=(1, 1, 4))
    f = s.fill_fraction(g)
    assert f.shape == g.shape == (3, 20, 30)
    assert f.dtype == np.float64 and f.min() >= 0 and f.max() <= 1
    np.testing.assert_array_equal(s.cells(g), f >= 0.5)


def test_default_and_explicit_sampling():
    g = film(40, 2.0)  # nz == 1: default (4, 4, 1)
    e = Ellipse((30 * nm, 20 * nm)).rotate(10)
    np.testing.assert_array_equal(e.fill_fraction(g), e.fill_fraction(g, samples=(4, 4, 1)))
    f1 = e.fill_fraction(g, samples=1)
    assert set(np.unique(f1)) <= {0.0, 1.0}  # one sample = cell-centre test
    np.testing.assert_array_equal(f1[0], e.inside(*np.meshgrid(g.axis_coords(0), g.axis_coords(1)), 0.0))
    g3 = cube(16, 2.0)  # default (4, 4, 4)
    s = Ellipsoid((20 * nm, 14 * nm, 9 * nm))
    np.testing.assert_array_equal(s.fill_fraction(g3), s.fill_fraction(g3, samples=4))
    fs = s.fill_fraction(g3, samples=(2, 3, 5))
    assert np.all(np.isclose(fs * 30, np.round(fs * 30)))


def test_bounding_box_crop_and_chunking_do_not_change_result(monkeypatch):
    g = Grid((40, 30, 5), (2 * nm, 2 * nm, 1.5 * nm))
    s = (Ellipse((50 * nm, 24 * nm), thickness=4 * nm, center=(7 * nm, 3 * nm, 0.5 * nm)).rotate(33)
         - Cylinder(8 * nm, center=(10 * nm, 5 * nm, 0)))
    ref = s.fill_fraction(g)
    uncropped = Universe() - ~s  # same set, infinite bounding box: no cropping
    assert np.all(np.isinf(uncropped.bounds()))
    np.testing.assert_array_equal(uncropped.fill_fraction(g), ref)
    monkeypatch.setattr(geo.shape, "_CHUNK_CELLS", 500)  # several z-slices per chunk
    np.testing.assert_array_equal(s.fill_fraction(g), ref)
    monkeypatch.setattr(geo.shape, "_CHUNK_CELLS", 7)  # row chunks inside one slice
    np.testing.assert_array_equal(s.fill_fraction(g), ref)


def test_shapes_outside_or_larger_than_grid():
    g = film(20, 2.0)
    assert Box((1e-6, 1e-6, 1e-6)).fill_fraction(g).min() == 1.0
    assert Ellipse((5 * nm, 5 * nm), center=(200 * nm, 0)).fill_fraction(g).max() == 0.0
    assert Empty().fill_fraction(g).max() == 0.0
    assert Universe().fill_fraction(g).min() == 1.0
    half = Ellipse((40 * nm, 40 * nm), center=(10 * nm, 0)).fill_fraction(g)  # cut by the grid edge
    assert 0 < half.mean() < 1


# --------------------------------------------------------------------------------------- rotation
def test_rotation_matrix_right_hand_rule():
    ex, ey, ez = np.eye(3)
    np.testing.assert_array_equal(rotation_matrix(90, "z") @ ex, ey)
    np.testing.assert_array_equal(rotation_matrix(90, "x") @ ey, ez)
    np.testing.assert_array_equal(rotation_matrix(90, "y") @ ez, ex)
    np.testing.assert_allclose(rotation_matrix(120, (1, 1, 1)) @ ex, ey, atol=1e-15)
    R = rotation_matrix(37.0, (0.3, -1.2, 0.5))
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-15)
    assert np.linalg.det(R) == pytest.approx(1.0)


def test_rotation_sense_of_points():
    ball = Ellipsoid((2 * nm, 2 * nm, 2 * nm), center=(10 * nm, 0, 0))  # a small ball at +x
    r = ball.rotate(90)  # about z
    assert r.inside(0, 10 * nm, 0) and not r.inside(0, -10 * nm, 0) and not r.inside(10 * nm, 0, 0)
    assert r.center == pytest.approx((0, 10 * nm, 0), abs=1e-20)
    assert ball.rotate(-90).inside(0, -10 * nm, 0)
    assert ball.rotate(90, "y").inside(0, 0, -10 * nm)  # x -> -z about y
    ball_y = ball.rotate(90)
    assert ball_y.rotate(90, "x").inside(0, 0, 10 * nm)  # y -> z about x


def test_box_long_in_x_rotated_90_is_long_in_y():
    g = film(128, 2.0)
    b = Box((100 * nm, 20 * nm, 1 * nm))
    m0, m1 = b.cells(g)[0], b.rotate(90).cells(g)[0]
    ext = lambda m, ax: np.flatnonzero(m.any(axis=ax)).size  # noqa: E731
    assert ext(m0, 0) == 50 and ext(m0, 1) == 10  # x extent 50 cells, y extent 10
    assert ext(m1, 0) == 10 and ext(m1, 1) == 50
    np.testing.assert_array_equal(m1, m0.T)


def test_rotation_about_arbitrary_axis_matches_composition():
    rng = np.random.default_rng(1)
    p = rng.uniform(-30 * nm, 30 * nm, size=(3, 20000))
    s = Box((30 * nm, 12 * nm, 6 * nm), center=(5 * nm, 2 * nm, -3 * nm)) | Ellipsoid((8 * nm, 20 * nm, 10 * nm),
                                                                                       center=(-9 * nm, 0, 4 * nm))
    a = s.rotate(90, "x").rotate(90, "z")  # x -> y -> z -> x, as 120° about (1,1,1)
    b = s.rotate(120, (1, 1, 1))
    np.testing.assert_array_equal(a.inside(*p), b.inside(*p))
    u = (0.4, -1.0, 2.2)
    np.testing.assert_array_equal(s.rotate(25, u).rotate(40, u).inside(*p), s.rotate(65, u).inside(*p))
    np.testing.assert_array_equal(s.rotate(33, u).rotate(-33, u).inside(*p), s.inside(*p))
    np.testing.assert_array_equal(s.rotate(33, (0, 0, 2)).inside(*p), s.rotate(33, "z").inside(*p))
    # rotating the shape by R is sampling the original at R^T p
    R = rotation_matrix(50, u)
    np.testing.assert_array_equal(s.rotate(50, u).inside(*p), s.inside(*(R.T @ p)))
    assert s.rotate(360, u).inside(*p).tolist() == s.inside(*p).tolist()


def test_rotation_about_a_point():
    c = (20 * nm, -5 * nm, 0)
    b = Box((30 * nm, 4 * nm, 2 * nm), center=c)
    r = b.rotate(90, about=c)
    assert r.inside(20 * nm, 8 * nm, 0) and not r.inside(30 * nm, -5 * nm, 0)
    np.testing.assert_allclose(r.bounds(), [[18 * nm, 22 * nm], [-20 * nm, 10 * nm], [-nm, nm]], atol=1e-20)
    r2 = b.rotate(90, about="center")
    np.testing.assert_allclose(r2.bounds(), r.bounds(), atol=1e-20)


# --------------------------------------------------------------------------------------- translate / scale
def test_translate_by_whole_cells_shifts_fill():
    g = film(64, 2.0)
    e = Ellipse((31.7 * nm, 17.3 * nm)).rotate(20)
    f0 = e.fill_fraction(g)[0]
    f1 = e.translate((6 * nm, -4 * nm)).fill_fraction(g)[0]
    np.testing.assert_allclose(f1, np.roll(f0, (-2, 3), axis=(0, 1)), atol=1e-12)
    t = e.translate((3 * nm, 4 * nm, 5 * nm))
    assert t.center == pytest.approx((3 * nm, 4 * nm, 5 * nm), abs=1e-20)
    assert t.inside(3 * nm, 4 * nm, -1e-6) and t.inside(3 * nm, 4 * nm, 1e-6)  # unbounded along z
    assert not t.inside(23 * nm, 4 * nm, 0)


def test_scale():
    g = film(128, 1.0)
    e = Ellipse((30 * nm, 20 * nm))
    assert area(e.scale(2), g) == pytest.approx(4 * area(e, g), rel=1e-3)
    disc = Cylinder(20 * nm).scale((2.5, 1.0, 1.0))
    np.testing.assert_array_equal(disc.fill_fraction(g), Ellipse((50 * nm, 20 * nm)).fill_fraction(g))


# --------------------------------------------------------------------------------------- CSG
def test_csg_volume_identities():
    g = film(96, 1.5, nz=3)
    a = Ellipse((60 * nm, 30 * nm), thickness=2 * nm).rotate(30)
    b = Box((25 * nm, 50 * nm, 3 * nm), center=(18 * nm, 5 * nm, 0))
    fa, fb = a.fill_fraction(g), b.fill_fraction(g)
    fu, fi, fd = (a | b).fill_fraction(g), (a & b).fill_fraction(g), (a - b).fill_fraction(g)
    assert fi.sum() > 0 and fd.sum() > 0
    np.testing.assert_allclose(fu, fa + fb - fi, atol=1e-12)  # holds sample by sample
    np.testing.assert_allclose(fd, fa - fi, atol=1e-12)
    np.testing.assert_array_equal(union(a, b).fill_fraction(g), fu)
    np.testing.assert_array_equal(intersection(a, b).fill_fraction(g), fi)
    np.testing.assert_array_equal(difference(a, b).fill_fraction(g), fd)
    c = Cylinder(10 * nm, center=(-20 * nm, 0, 0))
    np.testing.assert_array_equal(difference(a, b, c).fill_fraction(g), (a - b - c).fill_fraction(g))


def test_csg_against_analytic_areas():
    g = film(128, 0.5)
    sq = Box((40 * nm, 40 * nm, nm), center=(20 * nm, 20 * nm, 0))  # [0, 40]²
    disc = Cylinder(40 * nm)  # radius 20 at the square's corner
    quarter = math.pi * 20**2 / 4 * nm**2
    assert area(sq | disc, g) == pytest.approx(1600 * nm**2 + 3 * quarter, rel=5e-4)
    assert area(sq & disc, g) == pytest.approx(quarter, rel=5e-4)
    assert area(sq - disc, g) == pytest.approx(1600 * nm**2 - quarter, rel=5e-4)
    ring = Cylinder(60 * nm) - Cylinder(30 * nm)
    assert area(ring, g) == pytest.approx(math.pi * (30**2 - 15**2) * nm**2, rel=5e-4)


def test_complement():
    g = film(64, 2.0, nz=2)
    a = Ellipse((40 * nm, 22 * nm)).rotate(45) | Box((10 * nm, 60 * nm, nm))
    np.testing.assert_allclose((~a).fill_fraction(g), 1.0 - a.fill_fraction(g), atol=1e-12)
    assert ~~a is a
    np.testing.assert_array_equal((Universe() - a).fill_fraction(g), (~a).fill_fraction(g))
    p = np.linspace(-40 * nm, 40 * nm, 101)
    np.testing.assert_array_equal(geo.complement(a).inside(p, 0.3 * p, 0), ~a.inside(p, 0.3 * p, 0))


def test_layers_and_half_spaces():
    g = Grid((8, 8, 10), (2 * nm, 2 * nm, 1 * nm))  # z from -5 nm to 5 nm
    lay = Layer(-2 * nm, 1 * nm)
    f = lay.fill_fraction(g)
    assert f.sum() / 64 == pytest.approx(3.0)
    stack = [(Layer(-5 * nm, 0), 1), (Layer(0, 5 * nm), 2)]
    assert sum(s.fill_fraction(g).sum() for s, _ in stack) == g.ncells
    hs = HalfSpace("x", point=(2 * nm, 0, 0))  # x <= 2 nm
    assert hs.inside(1.9 * nm, 100 * nm, 0) and not hs.inside(2.1 * nm, 0, 0)
    assert hs.fill_fraction(g).sum() == pytest.approx(g.ncells * 10 / 16)
    diag = HalfSpace((1, 1, 0))  # x + y <= 0: half of the grid (plus the samples right on the plane)
    assert diag.fill_fraction(g).sum() == pytest.approx(g.ncells / 2, rel=0.05)
    assert diag.inside(-1 * nm, 0.9 * nm, 0) and not diag.inside(-1 * nm, 1.1 * nm, 0)


def test_inside_broadcasting_and_contains():
    e = Ellipse((20 * nm, 10 * nm), thickness=4 * nm)
    x = np.linspace(-15, 15, 7)[None, :] * nm
    y = np.linspace(-8, 8, 5)[:, None] * nm
    m = e.inside(x, y, 0.0)
    assert m.shape == (5, 7) and m.dtype == bool
    assert Universe().inside(x, y, 0).shape == (5, 7)
    assert (0, 0, 0) in e and (0, 0, 3 * nm) not in e and (9 * nm, 0) in e
    assert e.inside(10 * nm, 0, 2 * nm)  # closed: the boundary counts as inside


def test_system_accepts_shapes():
    from micromag import Permalloy, System

    g = film(64, 2.0)
    free = Ellipse((50 * nm, 30 * nm)).rotate(45)
    sysm = System(g, Permalloy(), geometry=free, regions=[(free & HalfSpace("x"), 1)],
                  materials={0: Permalloy(), 1: Permalloy(alpha=0.1)})
    np.testing.assert_array_equal(sysm.fill, free.fill_fraction(g))
    assert 0 < (sysm.region == 1).sum() < (sysm.fill > 0).sum()


# --------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("make, word", [
    (lambda: Box((0, 1e-9, 1e-9)), "size[0]"),
    (lambda: Box((1e-9, -1e-9, 1e-9)), "size[1]"),
    (lambda: Box((1e-9, 1e-9, float("nan"))), "size[2]"),
    (lambda: Box((1e-9, 1e-9)), "size"),
    (lambda: Box((1e-9,) * 3, center=(0, float("nan"), 0)), "center[1]"),
    (lambda: Ellipse((100, 50)), "metres"),
    (lambda: Ellipse((10e-9, 0)), "diameters[1]"),
    (lambda: Ellipse((10e-9, 5e-9), thickness=0), "thickness"),
    (lambda: Ellipsoid((1e-9, 1e-9, -1e-9)), "diameters[2]"),
    (lambda: Cylinder(float("nan")), "diameter"),
    (lambda: Cylinder(1e-9, height=-1e-9), "height"),
    (lambda: Cylinder(1e-9, axis=(0, 0, 0)), "axis"),
    (lambda: Cylinder(1e-9, axis="w"), "axis"),
    (lambda: Polygon([(0, 0), (1e-9, 0)]), "at least 3"),
    (lambda: Polygon([(0, 0), (1e-9, 0), (2e-9, 0)]), "area"),
    (lambda: Polygon([(0, 0), (1e-9, 0), (0, float("nan"))]), "finite"),
    (lambda: Polygon([(0, 0), (1e-9, 0), (0, 1e-9)], rule="odd"), "rule"),
    (lambda: Layer(2e-9, 1e-9), "z0 < z1"),
    (lambda: HalfSpace((0, 0, 0)), "normal"),
    (lambda: Box((1e-9,) * 3).rotate(30, axis=(0, 0, 0)), "axis"),
    (lambda: Box((1e-9,) * 3).rotate(float("nan")), "angle_deg"),
    (lambda: Box((1e-9,) * 3).translate((0, float("inf"), 0)), "offset[1]"),
    (lambda: Box((1e-9,) * 3).scale(0), "factor"),
    (lambda: Box((1e-9,) * 3).fill_fraction(film(8, 1), samples=0), "samples"),
    (lambda: Box((1e-9,) * 3).fill_fraction(film(8, 1), samples=(4, 4)), "samples"),
    (lambda: Universe().center, "centre"),
])
def test_bad_input_errors(make, word):
    with pytest.raises(ValueError) as err:
        make()
    assert word in str(err.value)


def test_csg_with_non_shapes_is_a_type_error():
    with pytest.raises(TypeError):
        Box((1e-9,) * 3) | 3
    with pytest.raises(TypeError):
        union(Box((1e-9,) * 3), "disc")
    assert isinstance(union(), Empty) and isinstance(intersection(), Universe)


# --------------------------------------------------------------------------------------- speed
def test_large_grid_is_fast():
    g = Grid((512, 512, 1), (1 * nm, 1 * nm, 1 * nm))
    e = Ellipse((400 * nm, 200 * nm)).rotate(45)
    t0 = time.perf_counter()
    f = e.fill_fraction(g)
    dt = time.perf_counter() - t0
    assert dt < 2.0, f"512x512 fill took {dt:.2f} s"  # measured ~0.03 s
    assert abs(f.sum() * 1e-18 - math.pi * 200 * 100 * 1e-18) / (math.pi * 200 * 100 * 1e-18) < 1e-4

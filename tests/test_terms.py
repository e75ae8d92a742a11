"""Unit and physics tests of the local field terms: exchange, anisotropy, Zeeman, interfacial DMI.

Every check compares with a computation written here independently of the term's implementation:
closed-form values, hand-evaluated stencils, loop-based references, finite-difference gradients of the
energy, or exact discrete / continuum solutions.
"""
import math

import numpy as np
import pytest

from micromag import Grid, Material, System
from micromag.engine.terms.anisotropy import CubicAnisotropy, UniaxialAnisotropy
from micromag.engine.terms.dmi import InterfacialDMI
from micromag.engine.terms.exchange import Exchange
from micromag.engine.terms.zeeman import Zeeman

RNG = np.random.default_rng(12345)


# ------------------------------------------------------------------------------------------ helpers
def random_m(system, nb=1, rng=RNG):
    m = rng.normal(size=(nb, 3) + system.grid.shape)
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    m *= system.magnetic
    return m


def fd_field(term, m, system, h=1e-5):
    """B = −(1/(Ms_i V)) ∂E/∂m_i by central differences of the term's total energy (one batch member)."""
    Ms = system.param("Ms")
    V = system.grid.cell_volume
    B = np.zeros_like(m)
    for idx in zip(*np.nonzero(system.magnetic)):
        for c in range(3):
            mp = m.copy()
            mm = m.copy()
            mp[(0, c) + idx] += h
            mm[(0, c) + idx] -= h
            dE = term.energy(mp)[0] - term.energy(mm)[0]
            B[(0, c) + idx] = -dE / (2 * h) / (Ms[idx] * V)
    return B


def rel_err(a, b):
    return np.abs(a - b).max() / max(np.abs(b).max(), 1e-300)


def rotation(axis, angle):
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    K = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + math.sin(angle) * K + (1 - math.cos(angle)) * K @ K


def single_cell(mat, cell=(2e-9, 3e-9, 4e-9)):
    return System(Grid((1, 1, 1), cell), mat)


def relax(m, terms, c, tol, max_steps=200000):
    """Precession-free damped iteration m ← normalize(m + c (B − (m·B) m)) until max|torque| < tol."""
    t = np.zeros(m.shape[0])
    B = np.zeros_like(m)
    for step in range(max_steps):
        B.fill(0.0)
        for term in terms:
            term.add_field(m, t, B)
        tq = B - m * np.sum(m * B, axis=1, keepdims=True)
        if step % 50 == 0 and np.abs(tq).max() < tol:
            return m, step
        m += c * tq
        m /= np.linalg.norm(m, axis=1, keepdims=True)
    raise AssertionError(f"relaxation did not converge: max torque {np.abs(tq).max():.3g} T")


# ------------------------------------------------------------------------------------------ exchange
def test_exchange_sinusoid_exact_discrete_laplacian():
    A, Ms, dx, n = 1.3e-11, 8e5, 2e-9, 64
    for axis in range(3):  # the same profile along x, y and z
        nn = [1, 1, 1]
        nn[axis] = n
        cell = [5e-9, 5e-9, 5e-9]
        cell[axis] = dx
        s = System(Grid(tuple(nn), tuple(cell)), Material(Ms=Ms, A=A))
        k = 2 * math.pi * 3.3 / (n * dx)
        x = (np.arange(n) + 0.5) * dx
        prof = np.stack([np.cos(k * x), np.sin(k * x), np.zeros(n)])  # (3, n)
        m = np.zeros((1, 3) + s.grid.shape)
        shp = [1, 1, 1]
        shp[2 - axis] = n
        m[0] = prof.reshape((3,) + tuple(shp))
        term = Exchange(s)
        B = term.field(m).reshape(3, n)
        kd2 = (2 - 2 * math.cos(k * dx)) / dx**2
        expect = -(2 * A / Ms) * kd2 * prof
        assert rel_err(B[:, 1:-1], expect[:, 1:-1]) < 1e-9
        # edge cells count only their one neighbour: B_0 = (2A/Ms)(m_1 − m_0)/dx²
        assert rel_err(B[:, 0], (2 * A / Ms) * (prof[:, 1] - prof[:, 0]) / dx**2) < 1e-12
        assert rel_err(B[:, -1], (2 * A / Ms) * (prof[:, -2] - prof[:, -1]) / dx**2) < 1e-12
        # energy: discrete A Σ_faces |Δm|²/dx² V = (n−1) A kd² V exactly; continuum A k² L·area close
        V = s.grid.cell_volume
        E = term.energy(m)[0]
        assert E == pytest.approx((n - 1) * A * kd2 * V, rel=1e-12)
        assert E == pytest.approx(A * k**2 * (n - 1) * V, rel=(k * dx) ** 2 / 12 * 1.1)
        # energy density −½ Ms m·B summed equals the same
        assert term.energy_density(m, np.zeros(1)).sum() * V == pytest.approx(E, rel=1e-14)


def test_exchange_uniform_gives_zero_field_3d():
    g = Grid((5, 4, 3), (1e-9, 2e-9, 3e-9))
    geo = np.ones(g.shape, bool)
    geo[1, 2, 3] = False
    s = System(g, Material(Ms=8e5, A=1.3e-11), geometry=geo)
    m = np.zeros((1, 3) + g.shape)
    m[0] = np.array([0.3, -0.4, np.sqrt(1 - 0.25)]).reshape(3, 1, 1, 1)
    m *= s.magnetic
    assert np.abs(Exchange(s).field(m)).max() < 1e-12 * 2 * 1.3e-11 / 8e5 / 1e-18


def exchange_reference(s, m, A, Ms):
    """Loop-based 6-neighbour exchange field with harmonic-mean coupling (independent of the term)."""
    g = s.grid
    nz, ny, nx = g.shape
    mag = s.magnetic
    B = np.zeros_like(m)
    for k in range(nz):
        for j in range(ny):
            for i in range(nx):
                if not mag[k, j, i]:
                    continue
                for (dk, dj, di), d in (((0, 0, 1), g.cell[0]), ((0, 1, 0), g.cell[1]), ((1, 0, 0), g.cell[2])):
                    for sgn in (-1, 1):
                        kk, jj, ii = k + sgn * dk, j + sgn * dj, i + sgn * di
                        if not (0 <= kk < nz and 0 <= jj < ny and 0 <= ii < nx) or not mag[kk, jj, ii]:
                            continue
                        a1, a2 = A[k, j, i], A[kk, jj, ii]
                        aij = 2 * a1 * a2 / (a1 + a2) if a1 + a2 > 0 else 0.0
                        B[0, :, k, j, i] += 2 * aij / (Ms[k, j, i] * d**2) * (m[0, :, kk, jj, ii] - m[0, :, k, j, i])
    return B


def two_region_system(g, holes=((0, 1, 2),), D=(0.0, 0.0), extra=None):
    geo = np.ones(g.shape, bool)
    for h in holes:
        geo[h] = False
    regions = np.zeros(g.shape, np.int32)
    regions[..., g.nx // 2:] = 1
    m0 = Material(Ms=8e5, A=1.3e-11, D_ind=D[0], **(extra or {}))
    m1 = Material(Ms=1.1e6, A=0.5e-11, D_ind=D[1], **(extra or {}))
    return System(g, geometry=geo, regions=regions, materials={0: m0, 1: m1})


def test_exchange_regions_holes_3d_against_loop_reference():
    g = Grid((5, 4, 3), (1e-9, 2e-9, 3e-9))
    s = two_region_system(g, holes=((0, 1, 2), (2, 3, 0)))
    m = random_m(s)
    B = Exchange(s).field(m)
    ref = exchange_reference(s, m, s.param("A"), s.param("Ms"))
    assert rel_err(B, ref) < 1e-13
    assert np.all(B[:, :, ~s.magnetic] == 0)
    # and the field is −∇E/(Ms V) of the term's own energy
    assert rel_err(B, fd_field(Exchange(s), m, s)) < 1e-7


def test_exchange_two_cells_harmonic_mean_by_hand():
    A1, A2, Ms1, Ms2, dx = 2e-11, 0.5e-11, 1e6, 5e5, 3e-9
    g = Grid((2, 1, 1), (dx, 1e-9, 1e-9))
    s = System(g, regions=np.array([[[0, 1]]]), materials={0: Material(Ms=Ms1, A=A1), 1: Material(Ms=Ms2, A=A2)})
    m = np.zeros((1, 3, 1, 1, 2))
    m[0, :, 0, 0, 0] = (1, 0, 0)
    m[0, :, 0, 0, 1] = (0, 1, 0)
    B = Exchange(s).field(m)[0, :, 0, 0]
    A12 = 2 * A1 * A2 / (A1 + A2)  # = 0.8e-11
    assert A12 == pytest.approx(0.8e-11)
    np.testing.assert_allclose(B[:, 0], 2 * 0.8e-11 / (Ms1 * dx**2) * np.array([-1, 1, 0]), rtol=1e-13)
    np.testing.assert_allclose(B[:, 1], 2 * 0.8e-11 / (Ms2 * dx**2) * np.array([1, -1, 0]), rtol=1e-13)
    # optional inter-region scaling
    B = Exchange(s, region_scale={(1, 0): 0.25}).field(m)[0, :, 0, 0]
    np.testing.assert_allclose(B[:, 0], 0.25 * 2 * 0.8e-11 / (Ms1 * dx**2) * np.array([-1, 1, 0]), rtol=1e-13)
    assert not np.any(Exchange(s, region_scale={(0, 1): 0.0}).field(m))
    # one side with A = 0: no coupling at all
    s0 = System(g, regions=np.array([[[0, 1]]]), materials={0: Material(Ms=Ms1, A=A1), 1: Material(Ms=Ms2, A=0.0)})
    assert not np.any(Exchange(s0).field(m))


def test_exchange_empty_cells_do_not_couple():
    g = Grid((3, 1, 1), (2e-9, 2e-9, 2e-9))
    s = System(g, Material(Ms=8e5, A=1.3e-11), geometry=np.array([[[True, False, True]]]))
    m = np.zeros((1, 3, 1, 1, 3))
    m[0, :, 0, 0, 0] = (1, 0, 0)
    m[0, :, 0, 0, 1] = (0, 0, 1)  # garbage in the empty cell must not matter
    m[0, :, 0, 0, 2] = (0, 1, 0)
    term = Exchange(s)
    assert not np.any(term.field(m))
    assert not np.any(term.energy_density(m, np.zeros(1)))


# ------------------------------------------------------------------------------------------ uniaxial
@pytest.mark.parametrize("Ku1", [4.5e5, -2e5])
def test_uniaxial_single_cell_sweep(Ku1):
    u = np.array([1.0, 2.0, 2.0]) / 3.0
    v = np.cross(u, [0, 0, 1.0])
    v /= np.linalg.norm(v)
    Ms = 9e5
    s = single_cell(Material(Ms=Ms, Ku1=Ku1, anis_u=tuple(u)))
    term = UniaxialAnisotropy(s)
    for theta in np.linspace(0, math.pi, 13):
        m = (math.cos(theta) * u + math.sin(theta) * v).reshape(1, 3, 1, 1, 1)
        e = term.energy_density(m, np.zeros(1))[0, 0, 0, 0]
        assert e == pytest.approx(-Ku1 * math.cos(theta) ** 2, rel=1e-12, abs=1e-9 * abs(Ku1))
        B = term.field(m)
        np.testing.assert_allclose(B, fd_field(term, m, s), rtol=1e-7, atol=1e-9 * 2 * abs(Ku1) / Ms)
    # random directions too
    for _ in range(5):
        m = random_m(s)
        np.testing.assert_allclose(term.field(m), fd_field(term, m, s), rtol=1e-7, atol=1e-9)


def test_uniaxial_second_order_constant_if_a_material_defines_it():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class MaterialKu2(Material):
        Ku2: float = 0.0

    Ku1, Ku2, Ms = 2e5, -7e4, 1e6
    u = np.array([0.0, 0.6, 0.8])
    s = single_cell(MaterialKu2(Ms=Ms, Ku1=Ku1, Ku2=Ku2, anis_u=tuple(u)))
    term = UniaxialAnisotropy(s)
    for _ in range(4):
        m = random_m(s)
        c = float(m[0, :, 0, 0, 0] @ u)
        assert term.energy_density(m, np.zeros(1))[0, 0, 0, 0] == pytest.approx(-Ku1 * c**2 - Ku2 * c**4, rel=1e-12)
        np.testing.assert_allclose(term.field(m), fd_field(term, m, s), rtol=1e-6, atol=1e-9)


def test_uniaxial_axis_along_minus_z_and_regions():
    g = Grid((4, 3, 1), (2e-9, 2e-9, 1e-9))
    regions = np.zeros(g.shape, np.int32)
    regions[..., 2:] = 1
    mats = {0: Material(Ms=8e5, Ku1=3e5, anis_u=(0, 0, -1)), 1: Material(Ms=1.2e6, Ku1=-1e5, anis_u=(1, 1, 0))}
    geo = np.ones(g.shape, bool)
    geo[0, 1, 1] = False
    s = System(g, geometry=geo, regions=regions, materials=mats)
    term = UniaxialAnisotropy(s)
    m = random_m(s)
    B = term.field(m)
    np.testing.assert_allclose(B, fd_field(term, m, s), rtol=1e-7, atol=1e-9)
    assert np.all(B[:, :, ~s.magnetic] == 0)
    # region 0: B = (2K/Ms) mz ẑ
    np.testing.assert_allclose(B[0, 2, 0, 0, 0], 2 * 3e5 / 8e5 * m[0, 2, 0, 0, 0], rtol=1e-13)


def test_uniaxial_fill_fraction_weights_energy_not_field():
    g = Grid((2, 1, 1), (2e-9, 2e-9, 2e-9))
    s = System(g, Material(Ms=8e5, Ku1=5e5, anis_u=(0, 1, 0)), geometry=np.array([[[1.0, 0.25]]]))
    m = np.zeros((1, 3, 1, 1, 2))
    m[0, 1] = math.sqrt(0.5)
    m[0, 2] = math.sqrt(0.5)
    term = UniaxialAnisotropy(s)
    np.testing.assert_allclose(term.energy_density(m, np.zeros(1))[0, 0, 0], [-2.5e5, -0.25 * 2.5e5], rtol=1e-13)
    np.testing.assert_allclose(term.field(m)[0, 1, 0, 0], 2 * 5e5 / 8e5 * math.sqrt(0.5), rtol=1e-13)


# ------------------------------------------------------------------------------------------ cubic
@pytest.mark.parametrize("rot", [np.eye(3), rotation((1, 2, 3), 0.7)])
def test_cubic_energies_along_symmetry_directions(rot):
    Kc1, Kc2 = 4.8e4, -3.3e4
    c1, c2, c3 = rot[:, 0], rot[:, 1], rot[:, 2]
    s = single_cell(Material(Ms=1.7e6, Kc1=Kc1, Kc2=Kc2, anis_c1=tuple(c1), anis_c2=tuple(c2)))
    term = CubicAnisotropy(s)
    cases = [((1, 0, 0), 0.0), ((0, 0, 1), 0.0), ((1, 1, 0), Kc1 / 4), ((0, 1, -1), Kc1 / 4),
             ((1, 1, 1), Kc1 / 3 + Kc2 / 27), ((-1, 1, 1), Kc1 / 3 + Kc2 / 27)]
    for d, e_expect in cases:
        d = np.asarray(d, float)
        d /= np.linalg.norm(d)
        m = (d[0] * c1 + d[1] * c2 + d[2] * c3).reshape(1, 3, 1, 1, 1)
        e = term.energy_density(m, np.zeros(1))[0, 0, 0, 0]
        assert e == pytest.approx(e_expect, abs=1e-9 * Kc1)
        # along the symmetry directions the field is parallel to m (no torque)
        B = term.field(m)[0, :, 0, 0, 0]
        assert np.linalg.norm(np.cross(m[0, :, 0, 0, 0], B)) < 1e-9 * Kc1 / 1.7e6


@pytest.mark.parametrize("rot", [np.eye(3), rotation((0, 1, 1), -1.1), rotation((3, -1, 2), 2.2)])
def test_cubic_field_is_energy_gradient(rot):
    s = single_cell(Material(Ms=1.2e6, Kc1=-6e4, Kc2=9e4, anis_c1=tuple(rot[:, 0]), anis_c2=tuple(rot[:, 1])))
    term = CubicAnisotropy(s)
    for _ in range(6):
        m = random_m(s)
        np.testing.assert_allclose(term.field(m), fd_field(term, m, s, h=1e-5), rtol=1e-6, atol=1e-8)
    # only Kc2
    s2 = single_cell(Material(Ms=1.2e6, Kc2=9e4, anis_c1=tuple(rot[:, 0]), anis_c2=tuple(rot[:, 1])))
    m = random_m(s2)
    np.testing.assert_allclose(CubicAnisotropy(s2).field(m), fd_field(CubicAnisotropy(s2), m, s2), rtol=1e-6, atol=1e-8)


def test_cubic_per_region_axes():
    g = Grid((4, 2, 1), (2e-9, 2e-9, 1e-9))
    regions = np.zeros(g.shape, np.int32)
    regions[..., 2:] = 1
    r = rotation((1, 1, 1), 0.4)
    mats = {0: Material(Ms=8e5, Kc1=5e4), 1: Material(Ms=1e6, Kc1=2e4, Kc2=-1e4, anis_c1=tuple(r[:, 0]), anis_c2=tuple(r[:, 1]))}
    s = System(g, regions=regions, materials=mats)
    term = CubicAnisotropy(s)
    m = random_m(s)
    np.testing.assert_allclose(term.field(m), fd_field(term, m, s), rtol=1e-6, atol=1e-8)


# ------------------------------------------------------------------------------------------ Zeeman
def test_zeeman_uniform_energy_and_mask():
    g = Grid((3, 2, 1), (2e-9, 3e-9, 1e-9))
    geo = np.ones(g.shape)
    geo[0, 0, 0] = 0.0
    geo[0, 1, 2] = 0.5
    Ms = 8e5
    s = System(g, Material(Ms=Ms), geometry=geo)
    Bext = np.array([0.01, -0.02, 0.05])
    term = Zeeman(s, Bext)
    m = random_m(s)
    B = term.field(m)
    assert np.all(B[0, :, 0, 0, 0] == 0)
    np.testing.assert_array_equal(B[0, :, 0, 1, 1], Bext)
    V = g.cell_volume
    E_expect = -sum(Ms * geo[idx] * V * m[(0, slice(None)) + idx] @ Bext for idx in np.ndindex(g.shape))
    assert term.energy(m)[0] == pytest.approx(E_expect, rel=1e-13)
    # full magnet: broadcast path
    sf = System(g, Material(Ms=Ms))
    mf = random_m(sf)
    np.testing.assert_allclose(Zeeman(sf, Bext).energy(mf)[0], -Ms * V * np.einsum("czyx,c->", mf[0], Bext), rtol=1e-13)
    # zero field / None: nothing
    assert not np.any(Zeeman(s).field(m)) and not np.any(Zeeman(s, (0, 0, 0)).energy(m))


def test_zeeman_time_dependent_callable_per_member():
    s = System(Grid((2, 2, 1), (2e-9, 2e-9, 1e-9)), Material(Ms=1e6))
    f0, b0 = 2e9, 0.03
    calls = []

    def f(t):
        calls.append(t)
        return (b0 * math.cos(2 * math.pi * f0 * t), b0 * math.sin(2 * math.pi * f0 * t), 0.0)

    term = Zeeman(s, f)
    m = random_m(s, nb=2)
    t = np.array([0.1e-9, 0.35e-9])
    B = term.field(m, t)
    for b in range(2):
        expect = np.array(f(t[b]))
        np.testing.assert_allclose(B[b], np.broadcast_to(expect.reshape(3, 1, 1, 1), B[b].shape), rtol=1e-14)
        e = term.energy_density(m, t)[b]
        np.testing.assert_allclose(e, -1e6 * np.einsum("czyx,c->zyx", m[b], expect), rtol=1e-13)
    calls.clear()
    term.field(m, np.array([1e-9, 1e-9]))
    assert len(calls) == 1  # equal times: one call
    # callable returning a spatial field
    x, y, _ = s.grid.coords()
    term.set(lambda t: np.stack(np.broadcast_arrays(x * 0 + t * 1e9, y * 1e6, 0 * x)))
    B = term.field(m, t)
    assert B[1, 0, 0, 0, 0] == pytest.approx(0.35)
    assert B[0, 1, 0, 1, 0] == pytest.approx(1e-9 * 1e6)


def test_zeeman_batch_and_spatial_inputs():
    g = Grid((3, 2, 2), (2e-9, 2e-9, 2e-9))
    geo = np.ones(g.shape, bool)
    geo[1, 1, 1] = False
    s = System(g, Material(Ms=5e5), geometry=geo)
    m = random_m(s, nb=2)
    per = np.array([[0.0, 0.0, 0.1], [0.2, 0.0, 0.0]])
    B = Zeeman(s, per).field(m)
    assert np.all(B[0, 2][s.magnetic] == 0.1) and np.all(B[1, 0][s.magnetic] == 0.2)
    assert np.all(B[:, :, ~s.magnetic] == 0)
    spatial = RNG.normal(size=(3,) + g.shape) * 0.05
    B = Zeeman(s, spatial).field(m)
    for b in range(2):
        np.testing.assert_array_equal(B[b], spatial * s.magnetic)
    both = RNG.normal(size=(2, 3) + g.shape)
    np.testing.assert_array_equal(Zeeman(s, both).field(m), both * s.magnetic)
    with pytest.raises(ValueError, match="B_ext"):
        Zeeman(s, per).field(random_m(s, nb=3))


@pytest.mark.parametrize("bad", [(1, 2), (1, 2, 3, 4), np.zeros((3, 2, 2)), np.zeros((2, 4)), (0, np.nan, 1),
                                 (0, np.inf, 0), "x", np.zeros((3, 1, 1, 1))])
def test_zeeman_bad_input(bad):
    s = System(Grid((3, 2, 1), (2e-9, 2e-9, 2e-9)), Material(Ms=5e5))
    with pytest.raises(ValueError, match="B_ext"):
        Zeeman(s, bad)


def test_zeeman_bad_callable_output():
    s = System(Grid((3, 2, 1), (2e-9, 2e-9, 2e-9)), Material(Ms=5e5))
    m = random_m(s)
    with pytest.raises(ValueError, match=r"B_ext\(t\).*shape"):
        Zeeman(s, lambda t: (1.0, 2.0)).field(m)
    with pytest.raises(ValueError, match=r"B_ext\(t\).*non-finite"):
        Zeeman(s, lambda t: (1.0, np.nan, 0)).field(m)


# ------------------------------------------------------------------------------------------ DMI
def dmi_exchange_ghost_reference(s, m):
    """Exchange + interfacial DMI field with explicit MuMax3-style ghost cells, written cell by cell.

    Bulk: 2A_ij/(Ms d²)(m_j − m_i) per neighbour (harmonic A), DMI central differences per neighbour on
    the side sgn: B_x += sgn D_f/(Ms d) m_z,j, B_z −= sgn D_f/(Ms d) m_x,j (y likewise), D_f the average.
    A missing in-plane neighbour (axis with >= 2 cells) is the ghost m_i + sgn d ∂m, with
    ∂x m = (D/2A)(−m_z, 0, m_x), ∂y m = (D/2A)(0, −m_z, m_y) (the natural boundary condition of
    A|∇m|² + D(m_z ∇·m − (m·∇)m_z)), entering both the exchange and the DMI stencil.
    """
    g = s.grid
    nz, ny, nx = g.shape
    mag = s.magnetic
    A, D, Ms = s.param("A"), s.param("D_ind"), s.param("Ms")
    B = np.zeros_like(m)
    for k, j, i in np.ndindex(g.shape):
        if not mag[k, j, i]:
            continue
        mi = m[0, :, k, j, i]
        for ax, (dk, dj, di), d in ((0, (0, 0, 1), g.cell[0]), (1, (0, 1, 0), g.cell[1]), (2, (1, 0, 0), g.cell[2])):
            for sgn in (-1, 1):
                kk, jj, ii = k + sgn * dk, j + sgn * dj, i + sgn * di
                if 0 <= kk < nz and 0 <= jj < ny and 0 <= ii < nx and mag[kk, jj, ii]:
                    a1, a2 = A[k, j, i], A[kk, jj, ii]
                    aij = 2 * a1 * a2 / (a1 + a2) if a1 + a2 > 0 else 0.0
                    dij = 0.5 * (D[k, j, i] + D[kk, jj, ii])
                    mj = m[0, :, kk, jj, ii]
                elif ax < 2 and g.n[ax] > 1:
                    aij, dij = A[k, j, i], D[k, j, i]
                    kap = dij / (2 * aij)
                    grad = kap * (np.array([-mi[2], 0, mi[0]]) if ax == 0 else np.array([0, -mi[2], mi[1]]))
                    mj = mi + sgn * d * grad
                else:
                    continue
                B[0, :, k, j, i] += 2 * aij / (Ms[k, j, i] * d**2) * (mj - mi)
                if ax < 2:
                    B[0, ax, k, j, i] += sgn * dij / (Ms[k, j, i] * d) * mj[2]
                    B[0, 2, k, j, i] -= sgn * dij / (Ms[k, j, i] * d) * mj[ax]
    return B


def dmi_energy_reference(s, m):
    """Discrete DMI energy: V Σ_faces (D_f/d)(m_z,i m_c,j − m_c,i m_z,j) + V Σ_free faces D²/(4A) (m·ŵ)², ŵ the
    direction ẑ × e_c of the face's DMI vector (m_y on x faces, m_x on y faces)."""
    g = s.grid
    nz, ny, nx = g.shape
    mag = s.magnetic
    A, D = s.param("A"), s.param("D_ind")
    V = g.cell_volume
    E = 0.0
    for k, j, i in np.ndindex(g.shape):
        if not mag[k, j, i]:
            continue
        mi = m[0, :, k, j, i]
        for ax, (dj, di), d in ((0, (0, 1), g.cell[0]), (1, (1, 0), g.cell[1])):
            if g.n[ax] < 2:
                continue
            for sgn in (-1, 1):
                jj, ii = j + sgn * dj, i + sgn * di
                if 0 <= jj < ny and 0 <= ii < nx and mag[k, jj, ii]:
                    if sgn == 1:  # each face once
                        mj = m[0, :, k, jj, ii]
                        E += V * 0.5 * (D[k, j, i] + D[k, jj, ii]) / d * (mi[2] * mj[ax] - mi[ax] * mj[2])
                else:
                    E += V * D[k, j, i] ** 2 / (4 * A[k, j, i]) * mi[1 - ax] ** 2
    return E


def test_dmi_field_is_gradient_of_discrete_energy_with_edges():
    g = Grid((5, 4, 2), (2e-9, 3e-9, 1.5e-9))
    s = two_region_system(g, holes=((0, 1, 2), (1, 3, 0), (0, 0, 4)), D=(3e-3, -1.2e-3))
    m = random_m(s)
    dmi = InterfacialDMI(s)
    B = dmi.field(m)
    # the energy −½ Ms V m·B is the face-based DMI energy plus the edge term (independent formula)
    assert dmi.energy(m)[0] == pytest.approx(dmi_energy_reference(s, m), rel=1e-12)
    # and the field is its gradient, edges included
    assert rel_err(B, fd_field(dmi, m, s)) < 1e-7
    assert np.all(B[:, :, ~s.magnetic] == 0)


def _torque(m, B):
    return np.cross(m, B, axis=1)


def test_dmi_plus_exchange_equals_ghost_cell_scheme():
    """Exchange + DMI exert the ghost-cell scheme's torque (the edge field less its part along m)."""
    g = Grid((5, 4, 2), (2e-9, 3e-9, 1.5e-9))
    s = two_region_system(g, holes=((0, 1, 2), (1, 3, 0), (0, 0, 4)), D=(3e-3, -1.2e-3))
    for _ in range(3):
        m = random_m(s)
        B = Exchange(s).field(m) + InterfacialDMI(s).field(m)
        assert rel_err(_torque(m, B), _torque(m, dmi_exchange_ghost_reference(s, m))) < 1e-12
    # a chain nx × 1 × 1: no ghost along the one-cell y axis
    s1 = System(Grid((6, 1, 1), (1e-9, 1e-9, 1e-9)), Material(Ms=1e6, A=1e-11, D_ind=2e-3))
    m = random_m(s1)
    B = Exchange(s1).field(m) + InterfacialDMI(s1).field(m)
    assert rel_err(_torque(m, B), _torque(m, dmi_exchange_ghost_reference(s1, m))) < 1e-12


def test_dmi_bulk_field_formula():
    """Interior cells: B = (2D/Ms)(∂x mz, ∂y mz, −∂x mx − ∂y my) with central differences."""
    D, Ms, dx, dy = 2.5e-3, 1e6, 1e-9, 2e-9
    g = Grid((7, 6, 1), (dx, dy, 1e-9))
    s = System(g, Material(Ms=Ms, A=1e-11, D_ind=D))
    x, y, _ = g.coords()
    kx, ky = 2 * math.pi / (7 * dx) * 0.8, 2 * math.pi / (6 * dy) * 0.6
    mx = np.sin(kx * x) * np.cos(ky * y) * 0.6 + 0 * y
    my = 0.3 * np.cos(kx * x + ky * y)
    mz = np.cos(kx * x) + 0.2 * np.sin(ky * y)
    m = np.stack(np.broadcast_arrays(mx, my, mz))[None]
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    B = InterfacialDMI(s).field(m)[0, :, 0, 1:-1, 1:-1]
    c = m[0, :, 0]
    dxf = lambda f: (f[1:-1, 2:] - f[1:-1, :-2]) / (2 * dx)  # noqa: E731
    dyf = lambda f: (f[2:, 1:-1] - f[:-2, 1:-1]) / (2 * dy)  # noqa: E731
    expect = 2 * D / Ms * np.stack([dxf(c[2]), dyf(c[2]), -dxf(c[0]) - dyf(c[1])])
    assert rel_err(B, expect) < 1e-12


def test_dmi_discrete_spiral_rotation():
    """Exchange + DMI chain: every face minimizes 2A(1 − cos Δφ) + D dx sin Δφ, so tan Δφ = −D dx/(2A)."""
    A, Ms, dx, n = 1e-11, 1e6, 1e-9, 40
    D = 0.3 * 2 * A / dx  # D dx / (2A) = 0.3 (large, so tan Δφ and Δφ differ by 3%)
    s = System(Grid((n, 1, 1), (dx, 1e-9, 1e-9)), Material(Ms=Ms, A=A, D_ind=D))
    phi = -0.2 * np.arange(n)
    m = np.zeros((1, 3, 1, 1, n))
    m[0, 0, 0, 0] = np.sin(phi)
    m[0, 1, 0, 0] = 0.05 * np.cos(0.3 * np.arange(n))
    m[0, 2, 0, 0] = np.cos(phi)
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    Bx = 2 * A / (Ms * dx**2)
    m, _ = relax(m, [Exchange(s), InterfacialDMI(s)], c=0.2 / Bx, tol=1e-12 * Bx)
    ph = np.unwrap(np.arctan2(m[0, 0, 0, 0], m[0, 2, 0, 0]))
    dphi = np.diff(ph)
    assert np.abs(m[0, 1]).max() < 1e-9
    np.testing.assert_allclose(dphi[3:-3], -math.atan(0.3), rtol=1e-10)  # the bulk
    np.testing.assert_allclose(dphi, -math.atan(0.3), rtol=1e-10)  # and, with the ghost-cell BC, the ends too


def edge_tilt_chain(ppd, D_over_Dc=0.5):
    A, K, Ms = 1e-11, 1e6, 1e6
    Delta = math.sqrt(A / K)
    D = D_over_Dc * 4 * math.sqrt(A * K) / math.pi
    dx = Delta / ppd
    n = 16 * ppd
    L = n * dx
    s = System(Grid((n, 1, 1), (dx, 1e-9, 1e-9)), Material(Ms=Ms, A=A, Ku1=K, D_ind=D))
    # analytic: A θ'² = K sin²θ and θ'(edge) = −D/(2A) ⇒ sin θ0 = D/(2√(AK)),
    # tan(θ/2) = tan(θ0/2) exp(−x/Δ) from the left edge; the right edge is the mirror with θ → −θ.
    th0 = math.asin(D / (2 * math.sqrt(A * K)))
    x = (np.arange(n) + 0.5) * dx
    q = math.tan(th0 / 2)
    th = 2 * np.arctan(q * np.exp(-x / Delta)) - 2 * np.arctan(q * np.exp(-(L - x) / Delta))
    m = np.zeros((1, 3, 1, 1, n))
    m[0, 2] = 1.0  # start uniform: the tilt must come from the boundary condition alone
    Bx = 2 * A / (Ms * dx**2)
    terms = [Exchange(s), InterfacialDMI(s), UniaxialAnisotropy(s)]
    m, _ = relax(m, terms, c=0.2 / Bx, tol=1e-9 * 2 * K / Ms)
    thn = np.arctan2(m[0, 0, 0, 0], m[0, 2, 0, 0])
    return thn, th, th0


def test_dmi_edge_tilt_matches_exact_1d_profile():
    errs = {}
    for ppd in (4, 8):
        thn, th, th0 = edge_tilt_chain(ppd)
        errs[ppd] = np.abs(thn - th).max()
        assert thn[0] > 0 > thn[-1]  # D > 0 tilts the left edge towards +x, the right one towards −x
    # measured: 2.7e-4 rad (Δ/4 cells), 6.9e-5 rad (Δ/8 cells); θ0 = 0.324 rad; second order
    assert errs[8] < 1e-4
    assert errs[4] / errs[8] > 3.0


def test_dmi_zero_field_for_uniform_interior_and_zero_D():
    s = System(Grid((4, 3, 1), (1e-9, 1e-9, 1e-9)), Material(Ms=1e6, A=1e-11, D_ind=0.0))
    dmi = InterfacialDMI(s)
    m = random_m(s)
    assert not np.any(dmi.field(m)) and not np.any(dmi.energy_density(m, np.zeros(1)))


# ------------------------------------------------------------------------------------------ all terms
def _all_terms(s):
    return [Exchange(s), UniaxialAnisotropy(s), CubicAnisotropy(s), InterfacialDMI(s),
            Zeeman(s, (0.01, 0.02, -0.03)), Zeeman(s, lambda t: (0.0, 1e8 * t, 0.01))]


def test_batch_of_two_equals_two_single_evaluations():
    g = Grid((6, 5, 2), (2e-9, 2.5e-9, 1e-9))
    r = rotation((1, -1, 2), 0.3)
    extra = dict(Ku1=3e5, anis_u=(0.6, 0.0, 0.8), Kc1=2e4, Kc2=1e4, anis_c1=tuple(r[:, 0]), anis_c2=tuple(r[:, 1]))
    s = two_region_system(g, holes=((0, 1, 2), (1, 4, 5)), D=(2e-3, 1e-3), extra=extra)
    m = random_m(s, nb=2)
    t = np.array([1e-10, 3e-10])
    for term in _all_terms(s):
        Bb = np.zeros_like(m)
        term.add_field(m, t, Bb)
        eb = term.energy_density(m, t)
        for b in range(2):
            B1 = np.zeros_like(m[b:b + 1])
            term.add_field(m[b:b + 1], t[b:b + 1], B1)
            np.testing.assert_array_equal(Bb[b:b + 1], B1, err_msg=term.name)
            np.testing.assert_allclose(eb[b:b + 1], term.energy_density(m[b:b + 1], t[b:b + 1]), rtol=1e-14, atol=0,
                                       err_msg=term.name)
        # add_field adds: a second call doubles
        term.add_field(m, t, Bb)
        np.testing.assert_allclose(Bb, 2 * term.field(m, t), rtol=1e-14, err_msg=term.name)


def test_zero_parameters_give_zero_field():
    g = Grid((4, 3, 2), (2e-9, 2e-9, 2e-9))
    s = System(g, Material(Ms=8e5))
    m = random_m(s, nb=2)
    t = np.zeros(2)
    for term in [Exchange(s), UniaxialAnisotropy(s), CubicAnisotropy(s), InterfacialDMI(s), Zeeman(s)]:
        assert not np.any(term.field(m, t)), term.name
        assert not np.any(term.energy_density(m, t)), term.name
        assert term.energy_density(m, t).shape == (2,) + g.shape


def test_single_cell_grid_all_terms():
    """A 1×1×1 grid: exchange and DMI (no gradients, no ghost cells) vanish; the rest are macrospin terms."""
    s = single_cell(Material(Ms=1e6, A=1e-11, D_ind=3e-3, Ku1=1e5))
    m = random_m(s)
    assert not np.any(Exchange(s).field(m))
    assert not np.any(InterfacialDMI(s).field(m))
    np.testing.assert_allclose(UniaxialAnisotropy(s).field(m)[0, 2], 0.2 * m[0, 2], rtol=1e-14)


def test_non_contiguous_arrays():
    g = Grid((6, 4, 2), (2e-9, 2e-9, 1e-9))
    s = two_region_system(g, holes=((0, 1, 2),), D=(2e-3, 1e-3), extra=dict(Ku1=1e5, Kc1=1e4))
    m = random_m(s, nb=2)
    t = np.zeros(2)
    big = np.zeros((2, 3) + g.shape + (2,))
    m_nc = big[..., 0]
    m_nc[...] = m  # a strided view with the same values
    for term in _all_terms(s):
        ref = term.field(m, t)
        B_nc = np.zeros((2, 3) + g.shape + (3,))[..., 1]
        term.add_field(m_nc, t, B_nc)
        np.testing.assert_allclose(B_nc, ref, rtol=1e-14, atol=0, err_msg=term.name)

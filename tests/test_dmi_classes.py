"""DMI of every crystal class (micromag.engine.terms.dmi.DMI): the energy density of each class against its
continuum formula written out here, the boundary conditions of the interfacial (Dind) and bulk (Dbulk)
classes against MuMax3's ghost-cell kernels (mumax3 cuda/dmi.cu and cuda/dmibulk.cu, restated below), the
combined boundary condition, the bulk helix period 4πA/D, and the CUDA twin (emulate backend)."""
import numpy as np
import pytest

import micromag as mm
from micromag.engine.backends.cuda import CudaLLG, emulated_device
from micromag.engine.system import System
from micromag.engine.terms.dmi import DMI, crystal_class
from micromag.engine.terms.exchange import Exchange

MS, A = 8e5, 1.3e-11
BACKENDS = ["cpu", "emulate"]


def smooth_m(grid, batch=1, seed=0):
    """A smooth periodic texture (every component varies along every axis), unit length."""
    rng = np.random.default_rng(seed)
    x, y, z = np.broadcast_arrays(*grid.coords())
    L = grid.size
    m = np.zeros((batch, 3) + grid.shape)
    for b in range(batch):
        ph = rng.uniform(0, 2 * np.pi, size=(3, 3))
        for c in range(3):
            m[b, c] = (0.3 * c + np.cos(2 * np.pi * x / L[0] + ph[c, 0]) + np.sin(2 * np.pi * y / L[1] + ph[c, 1])
                       + np.cos(2 * np.pi * z / L[2] + ph[c, 2]))
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def central(m, grid, a):
    """∂_a m by central differences on a fully periodic grid (a = 0 x, 1 y, 2 z)."""
    ax = 4 - a
    return (np.roll(m, -1, axis=ax) - np.roll(m, 1, axis=ax)) / (2 * grid.cell[a])


def ubermag_density(name, D, m, grid):
    """Ubermag's (micromagneticmodel.DMI docstring) density of class ``name``, derivatives by central
    differences: T/O D m·(∇×m); Cnv_k D (m·∇m_k − m_k ∇·m); D2d_z D m·(∂x m × x̂ − ∂y m × ŷ), cyclic."""
    d = [central(m, grid, a) for a in range(3)]
    e = np.eye(3)
    if name in ("T", "O"):
        curl = np.stack([d[1][:, 2] - d[2][:, 1], d[2][:, 0] - d[0][:, 2], d[0][:, 1] - d[1][:, 0]], axis=1)
        return D * (m * curl).sum(axis=1)
    if name.startswith("Cnv"):
        k = "xyz".index(name[-1])
        m_grad_mk = sum(m[:, a] * d[a][:, k] for a in range(3))
        div = sum(d[a][:, a] for a in range(3))
        return D * (m_grad_mk - m[:, k] * div)
    k = "xyz".index(name[-1])
    # D2d_k: the next axis (cyclic) with +, the one after with −
    a1, a2 = (k + 1) % 3, (k + 2) % 3
    t1 = np.cross(d[a1], e[a1][None, :, None, None, None], axis=1)
    t2 = np.cross(d[a2], e[a2][None, :, None, None, None], axis=1)
    return D * (m * (t1 - t2)).sum(axis=1)


# the micromag parameter and sign that each Ubermag class maps to (restated here, not imported)
UBERMAG_MAP = {"T": ("D_bulk", +1), "O": ("D_bulk", +1), "Cnv_x": ("D_ind", -1), "Cnv_y": ("D_ind", -1),
               "Cnv_z": ("D_ind", -1), "D2d_x": ("D_d2d", +1), "D2d_y": ("D_d2d", +1), "D2d_z": ("D_d2d", +1)}


def term_for(name, system):
    param, _, _ = crystal_class(name)
    kw = {"D_ind": "interfacial", "D_bulk": "bulk", "D_d2d": "d2d"}[param]
    return DMI(system, **{kw: name})


@pytest.mark.parametrize("name", sorted(UBERMAG_MAP))
def test_energy_density_of_each_class_matches_its_continuum_formula(name):
    """On a periodic box the discrete density −½ Ms m·B is the continuum density of the class evaluated
    with central differences (to round-off), for Ubermag's formula and its sign mapping."""
    grid = mm.Grid(n=(8, 6, 5), cell=(2e-9, 3e-9, 2.5e-9), pbc=(1, 1, 1))
    D = 2.3e-3
    param, sign = UBERMAG_MAP[name]
    system = System(grid, material=mm.Material(Ms=MS, A=A, **{param: sign * D}))
    m = smooth_m(grid, batch=2)
    term = term_for(name, system)
    got = term.energy_density(m, np.zeros(2))
    want = ubermag_density(name, D, m, grid)
    assert np.max(np.abs(want)) > 1e3  # J/m³: a texture the class sees
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * np.max(np.abs(want)))
    # the emulated CUDA kernel (a different discretization: per neighbour, not per face) gives the same field
    llg = CudaLLG(system, {"dmi": term}, batch=2, dtype=np.float64, device=emulated_device())
    B = llg.effective_field(m)
    np.testing.assert_allclose(B, term.field(m), rtol=0, atol=1e-12 * np.max(np.abs(B)))


def test_unknown_crystal_class_names_the_valid_ones():
    with pytest.raises(ValueError, match="Cnv_z.*T.*D2d_z"):
        crystal_class("C2v")
    system = System(mm.Grid(n=(4, 1, 1), cell=(1e-9,) * 3), material=mm.Material(Ms=MS, A=A, D_ind=1e-3))
    with pytest.raises(ValueError, match="D_ind.*Cnv_x"):
        DMI(system, interfacial="T")


# ---------------------------------------------------------------------------------- MuMax3's ghost cells
def mumax3_exchange_dmi(m, mag, cell, A, D, kind):
    """Exchange + DMI field (T, times Ms: h in J/m³ per unit m) of MuMax3's kernels for one material, restated
    from mumax3 cuda/dmi.cu (kind "ind") and cuda/dmibulk.cu (kind "bulk"): a missing neighbour (outside the
    grid or m = 0) is replaced by the ghost cell below, then h += 2A/d² (m_nb − m0) and the DMI central
    differences. Interfacial: no z DMI, and z exchange only where Nz > 1 (Neumann)."""
    nz, ny, nx = mag.shape
    D_2A = D / (2 * A)
    h = np.zeros_like(m)
    for k in range(nz):
        for j in range(ny):
            for i in range(nx):
                if not mag[k, j, i]:
                    continue
                m0 = m[:, k, j, i]
                out = np.zeros(3)
                for a, (di, dj, dk) in enumerate(((1, 0, 0), (0, 1, 0), (0, 0, 1))):
                    if (nx, ny, nz)[a] == 1:
                        continue
                    c = cell[a]
                    for s in (-1, 1):
                        ii, jj, kk = i + s * di, j + s * dj, k + s * dk
                        inside = 0 <= ii < nx and 0 <= jj < ny and 0 <= kk < nz and mag[kk, jj, ii]
                        if inside:
                            mn = m[:, kk, jj, ii].copy()
                        elif kind == "ind" and a == 2:
                            mn = m0.copy()  # Neumann exchange along z, no DMI ghost
                        else:
                            g = s * c * D_2A
                            mn = m0.copy()
                            if kind == "ind" and a == 0:
                                mn[0] = m0[0] - g * m0[2]; mn[2] = m0[2] + g * m0[0]
                            elif kind == "ind" and a == 1:
                                mn[1] = m0[1] - g * m0[2]; mn[2] = m0[2] + g * m0[1]
                            elif a == 0:
                                mn[1] = m0[1] - g * m0[2]; mn[2] = m0[2] + g * m0[1]
                            elif a == 1:
                                mn[0] = m0[0] + g * m0[2]; mn[2] = m0[2] - g * m0[0]
                            else:
                                mn[0] = m0[0] - g * m0[1]; mn[1] = m0[1] + g * m0[0]
                        out += 2 * A / c**2 * (mn - m0)
                        f = s * D / c  # (D/c)(m2 − m1): + for the right neighbour, − for the left
                        if kind == "ind":
                            if a < 2:
                                out[a] += f * mn[2]
                                out[2] -= f * mn[a]
                        elif a == 0:
                            out[1] += f * mn[2]; out[2] -= f * mn[1]
                        elif a == 1:
                            out[0] -= f * mn[2]; out[2] += f * mn[0]
                        else:
                            out[0] += f * mn[1]; out[1] -= f * mn[0]
                h[:, k, j, i] = out
    return h


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["ind", "bulk"])
def test_boundary_condition_matches_mumax3(kind, backend):
    """Exchange + DMI (D_ind: MuMax3's Dind, D_bulk: its Dbulk) on an open block with a hole exerts MuMax3's
    ghost-cell torque m × B in every cell, edges included, and has its field in the inner cells (at an edge
    MuMax3's field has |W|² m/(2A Ms) more, along m: no torque)."""
    grid = mm.Grid(n=(6, 5, 3), cell=(2e-9, 3e-9, 2.5e-9))
    D = 3e-3
    geom = np.ones(grid.shape)
    geom[1, 2, 3] = 0.0  # a hole: faces to a non-magnetic cell are free edges too
    param = "D_ind" if kind == "ind" else "D_bulk"
    system = System(grid, geometry=geom, material=mm.Material(Ms=MS, A=A, **{param: D}))
    m = smooth_m(grid, seed=4) * system.magnetic
    want = mumax3_exchange_dmi(m[0], system.magnetic, grid.cell, A, D, kind) / MS
    terms = {"exchange": Exchange(system), "dmi": DMI(system)}
    if backend == "cpu":
        got = terms["exchange"].field(m) + terms["dmi"].field(m)
    else:
        got = CudaLLG(system, terms, batch=1, dtype=np.float64, device=emulated_device()).effective_field(m)
    scale = np.max(np.abs(want))
    np.testing.assert_allclose(np.cross(m[0], got[0], axis=0), np.cross(m[0], want, axis=0), rtol=0, atol=1e-12 * scale)
    # along m the fields differ by the edge part only: zero in cells with all six neighbours
    inner = np.zeros(grid.shape, bool)
    inner[1:-1, 1:-1, 1:-1] = True
    for k, j, i in ((1, 2, 2), (1, 2, 4), (1, 1, 3), (1, 3, 3)):  # the hole's neighbours
        inner[k, j, i] = False
    inner &= system.magnetic
    np.testing.assert_allclose(got[0][:, inner], want[:, inner], rtol=0, atol=1e-12 * scale)
    assert np.abs((m[0] * (got[0] - want)).sum(axis=0)[~inner & system.magnetic]).max() > 1e-3 * scale


def test_combined_boundary_condition_of_two_classes():
    """Interfacial and bulk DMI in one region: the edge term is the ghost cell of the summed DMI vectors
    W_a = D_ind (ẑ × e_a) − D_bulk e_a, i.e. ∂_a m = (1/2A) m × W_a, not the sum of the two separate
    conditions; checked against the torque of the ghost cell built here from that condition (x chain, open
    ends)."""
    grid = mm.Grid(n=(5, 1, 1), cell=(2e-9, 2e-9, 2e-9))
    Di, Db = 2e-3, -1.5e-3
    system = System(grid, material=mm.Material(Ms=MS, A=A, D_ind=Di, D_bulk=Db))
    m = smooth_m(mm.Grid(n=(5, 1, 1), cell=(2e-9,) * 3, pbc=(1, 0, 0)), seed=2)
    B = Exchange(system).field(m) + DMI(system).field(m)
    W = Di * np.array([0.0, 1.0, 0.0]) - Db * np.array([1.0, 0.0, 0.0])  # x axis: ẑ × x̂ = ŷ
    dx = grid.cell[0]
    # the right end cell: ghost m4 + dx ∂x m; exchange 2A/dx² (mn − m0) and DMI −(m_nb × W)/(Ms dx) per side
    m0, ml = m[0, :, 0, 0, 4], m[0, :, 0, 0, 3]
    ghost = m0 + dx * np.cross(m0, W) / (2 * A)
    want = (2 * A / dx**2 * (ml - m0 + ghost - m0) - np.cross(ghost, W) / dx + np.cross(ml, W) / dx) / MS
    np.testing.assert_allclose(np.cross(m0, B[0, :, 0, 0, 4]), np.cross(m0, want), rtol=0,
                               atol=1e-12 * np.abs(want).max())


# ---------------------------------------------------------------------------------- bulk helix period
@pytest.mark.parametrize("backend", BACKENDS)
def test_bulk_helix_period_is_4piA_over_D(backend):
    """A periodic chain of length L = 4πA/D relaxes from a distorted one-turn texture to the bulk helix of
    wave number q = D/(2A) (period 4πA/D; e.g. Bogdanov & Yablonskii, JETP 68, 101 (1989)): the energy
    A q² − D q per volume is least at q = D/(2A) among the allowed 2πk/L. Checked: one turn, rotation
    in the plane normal to x (a Bloch helix, the T/O class), uniform turn angle, energy density
    −A q² (continuum) within the discretization error (q dx)²."""
    N, dx = 32, 1e-9
    L = N * dx
    D = 4 * np.pi * A / L
    grid = mm.Grid(n=(N, 1, 1), cell=(dx, dx, dx), pbc=(1, 0, 0))
    sim = mm.Simulation(grid, material=mm.Material(Ms=MS, A=A, D_bulk=D, alpha=0.5), demag=False, backend=backend)
    x = grid.axis_coords(0)
    ph = 2 * np.pi * x / L + 0.4 * np.sin(4 * np.pi * x / L)  # one turn, non-uniform
    m = np.stack([0.2 + 0 * x, np.cos(ph), np.sin(ph)])
    sim.m = m[:, None, None, :] / np.linalg.norm(m, axis=0)
    sim.minimize(tol_torque=1e-7, progress=False)
    mm_ = sim.m[0, :, 0, 0, :]
    assert np.max(np.abs(mm_[0])) < 1e-4  # rotation in the yz plane
    ang = np.angle(mm_[1] + 1j * mm_[2])
    step = np.angle(np.exp(1j * (np.roll(ang, -1) - ang)))
    q = D / (2 * A)
    np.testing.assert_allclose(step, q * dx, rtol=1e-5)  # one turn over L, uniform: period 4πA/D
    e = sim.energy() / (L * dx * dx)
    assert e == pytest.approx(-A * q**2, rel=2 * (q * dx) ** 2)

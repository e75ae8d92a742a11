"""Periodic boundaries for every neighbour term (exchange, DMI of each class, Zhang–Li, the inter-region
exchange scale): a helix of integer winding around a periodic axis has the closed-form energy and no
torque, on the NumPy backend and the CUDA kernels (emulate), in batches; the kernels' periodic neighbour
index agrees with the NumPy wrap faces on random multi-region systems."""
import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _kernel_systems import random_material  # noqa: E402

import micromag as mm  # noqa: E402
from micromag.engine.backends.cuda import CudaLLG, emulated_device  # noqa: E402
from micromag.engine.constants import e as E_CHARGE, muB  # noqa: E402
from micromag.engine.system import System  # noqa: E402
from micromag.engine.terms.dmi import DMI  # noqa: E402
from micromag.engine.terms.exchange import Exchange  # noqa: E402
from micromag.engine.terms.zhangli import ZhangLiSTT  # noqa: E402

BACKENDS = ["cpu", "emulate"]
MS, A, D = 8e5, 1.3e-11, 2.5e-3
X, Y, Z = np.eye(3)

# (crystal class keyword, value, material parameter, helix axis, rotation plane (u, v), sign σ): for
# m = u cos(q s) + v sin(q s) along axis s the continuum density is σ D q (worked out by hand from each
# class's formula: Dbulk m·(∇×m), Dind m_z ∇·m − (m·∇)m_z and its x analogue, D2d_z m·(∂x m × x̂ − ∂y m × ŷ))
HELICES = [
    ("bulk", "T", "D_bulk", 0, (Y, Z), -1), ("bulk", "T", "D_bulk", 1, (Z, X), -1),
    ("bulk", "T", "D_bulk", 2, (X, Y), -1),
    ("interfacial", "Cnv_z", "D_ind", 0, (Z, X), +1), ("interfacial", "Cnv_z", "D_ind", 1, (Z, Y), +1),
    ("interfacial", "Cnv_x", "D_ind", 1, (X, Y), +1), ("interfacial", "Cnv_x", "D_ind", 2, (X, Z), +1),
    ("d2d", "D2d_z", "D_d2d", 0, (Y, Z), +1), ("d2d", "D2d_z", "D_d2d", 1, (Z, X), -1),
]


def helix_grid(axis, n=12, pbc=True):
    """n cells along ``axis`` (periodic), two periodic cells along the next axis, one along the third."""
    cells = [1, 1, 1]
    cells[axis] = n
    cells[(axis + 1) % 3] = 2
    pbc_ = [0, 0, 0]
    if pbc:
        pbc_[axis] = pbc_[(axis + 1) % 3] = 1
    return mm.Grid(n=tuple(cells), cell=(2e-9, 2.5e-9, 3e-9), pbc=tuple(pbc_))


def helix(grid, axis, plane, windings):
    """(B, 3, nz, ny, nx): m = u cos(θ i) + v sin(θ i) along ``axis``, θ = 2π k / n per member k."""
    u, v = plane
    n = grid.n[axis]
    i = [np.arange(grid.nx)[None, None, :], np.arange(grid.ny)[None, :, None], np.arange(grid.nz)[:, None, None]][axis]
    out = []
    for k in windings:
        ph = 2 * np.pi * k * i / n + 0 * np.zeros(grid.shape)
        out.append(u[:, None, None, None] * np.cos(ph) + v[:, None, None, None] * np.sin(ph))
    return np.array(out)


def sim_of(grid, backend, batch, **mat):
    return mm.Simulation(grid, material=mm.Material(Ms=MS, alpha=0.1, **mat), demag=False, backend=backend,
                         batch=batch)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_exchange_helix_around_periodic_axis(axis, backend):
    """Exchange energy of a k-turn helix on n periodic cells: V n 2A(1 − cos θ)/d² (→ A q² per volume),
    uniform in every cell, and m × B = 0 exactly (B ∥ m). Members k = 1 and 3 in one batch. Without the
    periodic wrap the end cells differ and the torque is not zero."""
    grid = helix_grid(axis)
    sim = sim_of(grid, backend, 2, A=A)
    m = helix(grid, axis, (Z, X), (1, 3))
    sim.m = m
    d, n = grid.cell[axis], grid.n[axis]
    th = 2 * np.pi * np.array([1, 3]) / n
    e_want = 2 * A * (1 - np.cos(th)) / d**2  # J/m³; continuum A q²
    assert e_want[0] == pytest.approx(A * (th[0] / d) ** 2, rel=(th[0]) ** 2 / 12 + 1e-12)
    V = grid.cell_volume * grid.ncells
    np.testing.assert_allclose(sim.energies()["exchange"], e_want * V, rtol=1e-12)
    B = sim.effective_field()
    e_cell = -0.5 * MS * (m * B).sum(axis=1)
    np.testing.assert_allclose(e_cell, np.broadcast_to(e_want[:, None, None, None], e_cell.shape), rtol=1e-12)
    assert np.max(sim.max_torque()) < 1e-12 * np.max(np.abs(B))
    open_ = sim_of(helix_grid(axis, pbc=False), backend, 2, A=A)
    open_.m = m
    assert np.min(open_.max_torque()) > 1e-3 * np.max(np.abs(B))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kw,cls,param,axis,plane,sigma", HELICES)
def test_exchange_and_dmi_helix_closed_form(kw, cls, param, axis, plane, sigma, backend):
    """Exchange + DMI of each class: energy per volume 2A(1 − cos θ)/d² + σ D sin θ / d (→ A q² + σ D q),
    uniform, zero torque (both fields are parallel to m for a helix whose rotation plane is normal to the
    class's DMI vector), in a batch of windings 1 and 2."""
    grid = helix_grid(axis)
    sim = sim_of(grid, backend, 2, A=A, **{param: D})
    if cls not in ("Cnv_z", "T", "D2d_z"):
        sim.remove("dmi")
        sim.add(DMI(sim.system, **{kw: cls}))
    m = helix(grid, axis, plane, (1, 2))
    sim.m = m
    d, n = grid.cell[axis], grid.n[axis]
    th = 2 * np.pi * np.array([1, 2]) / n
    V = grid.cell_volume * grid.ncells
    E = sim.energies()
    np.testing.assert_allclose(E["exchange"], 2 * A * (1 - np.cos(th)) / d**2 * V, rtol=1e-12)
    np.testing.assert_allclose(E["dmi"], sigma * D * np.sin(th) / d * V, rtol=1e-12)
    B = sim.effective_field()
    e_cell = -0.5 * MS * (m * B).sum(axis=1)
    want = 2 * A * (1 - np.cos(th)) / d**2 + sigma * D * np.sin(th) / d
    np.testing.assert_allclose(e_cell, np.broadcast_to(want[:, None, None, None], e_cell.shape), rtol=1e-11)
    assert np.max(sim.max_torque()) < 1e-11 * np.max(np.abs(B))


@pytest.mark.parametrize("backend", BACKENDS)
def test_zhangli_gradient_wraps(backend):
    """Zhang–Li on a periodic helix with the current along its axis: D = k J (m_{i+1} − m_{i−1})/(2d) =
    k J sin θ / d t̂ (t̂ the helix tangent) in every cell, T = D − ξ m × D (m·D = 0), including the two end
    cells that the periodic wrap joins. dm/dt = T with no field and α = 0."""
    grid = mm.Grid(n=(10, 1, 2), cell=(2e-9, 2e-9, 2e-9), pbc=(1, 0, 1))
    system = System(grid, material=mm.Material(Ms=MS, A=0.0, alpha=0.0))
    m = helix(grid, 0, (Y, Z), (1, 2))
    J, P, xi = 3e11, 0.6, 0.2
    term = ZhangLiSTT(system, J=(J, 0.0, 0.0), P=P, xi=xi)
    th = 2 * np.pi * np.array([1, 2]) / grid.nx
    k = muB * P / (E_CHARGE * MS * (1 + xi**2))
    ph = th[:, None] * np.arange(grid.nx)[None, :]
    tang = np.stack([0 * ph, -np.sin(ph), np.cos(ph)], axis=1)  # (B, 3, nx)
    Dv = (k * J * np.sin(th) / grid.cell[0])[:, None, None] * tang
    want = Dv - xi * np.cross(m[:, :, 0, 0, :], Dv, axis=1)
    if backend == "cpu":
        got = term.torque(m)
    else:
        llg = CudaLLG(system, {"zhangli": term}, batch=2, dtype=np.float64, device=emulated_device())
        got = np.zeros_like(m)
        llg(m, np.zeros(2), got)
    for kk in range(grid.nz):
        np.testing.assert_allclose(got[:, :, kk, 0, :], want, rtol=0, atol=1e-12 * np.max(np.abs(want)))


# --------------------------------------------------------------------- kernels vs NumPy, random systems
def random_periodic_system(n, pbc, seed):
    rng = np.random.default_rng(seed)
    grid = mm.Grid(n=n, cell=(2e-9, 3e-9, 2.5e-9), pbc=pbc)
    mats = {r: random_material(rng, A=0.0 if r == 1 else None).with_(
        D_bulk=rng.uniform(-3e-3, 3e-3), D_d2d=rng.uniform(-3e-3, 3e-3)) for r in range(3)}
    mats[3] = mm.Material(Ms=0.0)
    region = rng.integers(0, 4, size=grid.shape)
    region[rng.random(grid.shape) < 0.6] = 0
    region.flat[0] = 0
    fill = rng.uniform(0.3, 1.0, size=grid.shape)
    return System(grid, geometry=fill, regions=region, materials=mats)


PERIODIC = {"xyz": ((6, 5, 3), (1, 1, 1)), "x2-y": ((2, 5, 4), (1, 1, 0)), "z1": ((7, 6, 1), (1, 0, 2)),
            "y-only": ((5, 6, 3), (0, 3, 0))}


@pytest.mark.parametrize("case", sorted(PERIODIC))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kernels_match_numpy_with_periodic_axes(case, dtype):
    """Exchange (with an inter-region scale), DMI of three classes at once, and Zhang–Li on random
    multi-region systems with holes and periodic axes (two cells, one cell): the CUDA kernels' periodic
    neighbour index (emulated) against the NumPy wrap faces, fields and dm/dt, batch 2."""
    n, pbc = PERIODIC[case]
    system = random_periodic_system(n, pbc, seed=sum(n))
    rng = np.random.default_rng(1)
    m = rng.normal(size=(2, 3) + system.grid.shape)
    m = m / np.linalg.norm(m, axis=1, keepdims=True) * system.magnetic
    terms = {"exchange": Exchange(system, region_scale={(0, 2): 0.3}),
             "dmi": DMI(system, interfacial="Cnv_y", d2d="D2d_x"),
             "zhangli": ZhangLiSTT(system, J=[(1e11, -2e11), 3e11, (-1e11, 5e10)], P=0.5, xi=0.1)}
    ref = sum(t.field(m) for k, t in terms.items() if k != "zhangli")
    llg = CudaLLG(system, terms, batch=2, dtype=dtype, device=emulated_device())
    tol = 1e-12 if dtype == np.float64 else 1e-5
    got = llg.effective_field(np.ascontiguousarray(m, dtype=dtype))
    assert np.max(np.abs(got - ref)) < tol * np.max(np.abs(ref))
    # dm/dt with the torque: the NumPy LLG of the same terms
    from micromag.engine.llg import LLG

    ref_llg = LLG(system, list(terms.values()), 2)
    want = ref_llg(m, np.zeros(2), np.zeros_like(m))
    out = np.zeros(m.shape, dtype=dtype)
    llg(np.ascontiguousarray(m, dtype=dtype), np.zeros(2), out)
    assert np.max(np.abs(out - want)) < tol * np.max(np.abs(want))
    # the wrap matters here: the same system without periodic axes gives another field
    open_sys = random_periodic_system(n, (0, 0, 0), seed=sum(n))
    other = Exchange(open_sys, region_scale={(0, 2): 0.3}).field(m) + DMI(open_sys, interfacial="Cnv_y", d2d="D2d_x").field(m)
    assert np.max(np.abs(other - ref)) > 1e-3 * np.max(np.abs(ref))


def test_one_cell_periodic_axis_is_its_own_neighbour():
    """A periodic axis of one cell: the cell is its own neighbour (MuMax3, OOMMF), so exchange and DMI get
    nothing from it: the field equals that of the open one-cell axis."""
    m = np.random.default_rng(3).normal(size=(1, 3, 1, 4, 5))
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    out = []
    for pbc in ((0, 0, 0), (0, 0, 4)):
        system = System(mm.Grid(n=(5, 4, 1), cell=(2e-9,) * 3, pbc=pbc),
                        material=mm.Material(Ms=MS, A=A, D_ind=D, D_bulk=-D, D_d2d=0.5 * D))
        out.append(Exchange(system).field(m) + DMI(system, interfacial="Cnv_x").field(m))
    np.testing.assert_array_equal(out[0], out[1])
    assert math.isfinite(float(np.abs(out[0]).max()))

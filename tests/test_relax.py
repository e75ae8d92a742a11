"""relax(): ends where the precession-free LLG stops (max |m × B_eff| < tol_torque), on every backend, per
batch member, with the descent and the dynamic polishing both checked against independent results."""
import math

import numpy as np
import pytest

import micromag as mm
from micromag.engine.relax import relax

BACKENDS = ["cpu", "emulate"]


def stoner_wohlfarth(backend, h, batch=1):
    """One cell, uniaxial anisotropy Ku along z, field B = h·(2Ku/Ms) along x (no demag, no exchange)."""
    Ku, Ms = 5e4, 8e5
    grid = mm.Grid(n=(1, 1, 1), cell=(5e-9,) * 3)
    sim = mm.Simulation(grid, material=mm.Material(Ms=Ms, Ku1=Ku, anis_u=(0, 0, 1)), demag=False,
                        backend=backend, batch=batch)
    BK = 2 * Ku / Ms  # anisotropy field, T
    h = np.broadcast_to(np.asarray(h, float), (batch,))
    sim.B_ext = np.stack([h * BK, 0 * h, 0 * h], axis=1) if batch > 1 else (float(h[0]) * BK, 0, 0)
    sim.m = (0.2, 0.0, 1.0)
    return sim, BK


@pytest.mark.parametrize("backend", BACKENDS)
def test_macrospin_equilibrium_is_the_stoner_wohlfarth_angle(backend):
    """For a field h = B/B_K < 1 across the easy axis the minimum has sin θ = h (θ from z): mx = h.
    The stopping torque τ leaves an angle error of τ / (B_K (1 − h²)) (the stiffness of the minimum);
    with τ = 1e-9 T and B_K = 0.125 T that is below 2e-8."""
    sim, BK = stoner_wohlfarth(backend, 0.6)
    tq = sim.relax(tol_torque=1e-9, progress=False)
    assert tq < 1e-9 and sim.max_torque() < 1e-9
    m = sim.m_avg
    assert abs(m[0] - 0.6) < 2e-8 and m[2] > 0 and abs(m[1]) < 1e-12


@pytest.mark.parametrize("backend", BACKENDS)
def test_batch_members_converge_on_their_own(backend):
    """Each member stops at its own target and is then left alone: a batch gives what each member gives
    alone, and every member is at its own Stoner–Wohlfarth angle."""
    hs = [0.1, 0.5, 0.9]
    sim, _ = stoner_wohlfarth(backend, hs, batch=3)
    tq, info = relax(sim, tol_torque=1e-9, progress=False)
    assert np.all(tq < 1e-9) and info["converged"].all()
    np.testing.assert_allclose(sim.m_avg[:, 0], hs, atol=1e-7)  # τ/(B_K(1-h²)) < 1e-7 for h = 0.9
    for b, h in enumerate(hs):
        one, _ = stoner_wohlfarth(backend, h)
        one.relax(tol_torque=1e-9, progress=False)
        np.testing.assert_allclose(sim.m[b], one.m[0], atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_sp4_s_state_matches_minimize_and_mumax3(backend):
    """The SP4 s-state (coarse 64×16 mesh for speed): relax and minimize stop in the same minimum, the
    torque criterion holds after relax, and <m> is MuMax3's 128×32 value within the discretisation
    difference of the coarser mesh (~1e-3)."""
    grid = mm.Grid(n=(64, 16, 1), cell=(500e-9 / 64, 125e-9 / 16, 3e-9))
    mat = mm.Material(Ms=8.0e5, A=1.3e-11, alpha=0.02, gamma=2.211e5 / mm.mu0)
    a = mm.Simulation(grid, material=mat, backend=backend)
    b = mm.Simulation(grid, material=mat, backend=backend)
    a.m = b.m = (1, 0.1, 0)
    assert a.relax(tol_torque=1e-7, progress=False) < 1e-7
    assert a.max_torque() < 1e-7
    b.minimize(tol_torque=1e-7, progress=False)
    np.testing.assert_allclose(a.m_avg, b.m_avg, atol=2e-6)  # the soft mode leaves ~1e-6 at 1e-7 T
    np.testing.assert_allclose(a.m_avg, [0.96697, 0.12527, 0.0], atol=3e-3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_dynamic_polishing_alone_reaches_the_target(backend):
    """With the descent stopped after 2 iterations, the precession-free RK23 polishing has to do the
    work: it must end below the target at the same Stoner–Wohlfarth angle."""
    sim, _ = stoner_wohlfarth(backend, 0.3)
    tq, info = relax(sim, tol_torque=1e-7, max_iter=2, progress=False)
    assert tq[0] < 1e-7 and info["dynamic_evaluations"] > 0 and info["descent_iterations"] == 2
    assert abs(sim.m_avg[0] - 0.3) < 1e-6  # 1e-7 T / (0.125 T · 0.91)


@pytest.mark.parametrize("backend", BACKENDS)
def test_frozen_cells_keep_their_magnetization(backend):
    """Fixed spins: frozen cells are not moved (bit for bit) and do not enter the criterion; the free
    cells relax in their exchange field. Two cells along x: the left one fixed along +y, the right one
    free, no other energy: the free cell must align with the fixed one."""
    grid = mm.Grid(n=(2, 1, 1), cell=(2e-9, 2e-9, 2e-9))
    sim = mm.Simulation(grid, material=mm.Material(Ms=8e5, A=1e-11), demag=False, backend=backend)
    sim.m = np.array([[0, 1], [1, 0], [0, 0]], float).reshape(3, 1, 1, 2)
    frozen = np.array([[[True, False]]])
    before = sim.m
    tq, info = relax(sim, tol_torque=1e-9, frozen=frozen, progress=False)
    after = sim.m
    np.testing.assert_array_equal(after[0, :, 0, 0, 0], before[0, :, 0, 0, 0])
    np.testing.assert_allclose(after[0, :, 0, 0, 1], [0, 1, 0], atol=1e-9)
    with pytest.raises(ValueError, match="frozen"):
        relax(sim, frozen=np.ones((2, 2), bool), progress=False)


@pytest.mark.parametrize("method", ["relax", "minimize"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_stiff_dmi_edge_cells_converge_to_the_quarter_turn_cycloid(backend, method):
    """A 40-cell chain with interfacial DMI D = 1e-3 J/m² and A = 1e-21 J/m (Ubermag's calculator tests add
    such an A to a DMI-only system): the DMI boundary condition puts D²/(2A Ms) = 5e8 T on the two end cells,
    against D/(Ms d) = 1 T in the bulk (micromag.engine.stiff_cells). The minimum of the discrete energy is
    the cycloid in the xz plane turning by 90° per cell: each face's −(D/d) sin φ is least at φ = 90° (the
    exchange, 2A/(Ms d²) = 2e-9 T, moves that by 2A/(D d) = 2e-9 rad), and the end cells feel no torque from
    the edge term there (m ⟂ W = D ŷ). From a random start relax() and minimize() reach 1e-10 T."""
    grid = mm.Grid(n=(40, 1, 1), cell=(1e-9,) * 3)
    sim = mm.Simulation(grid, material=mm.Material(Ms=1e6, A=1e-21, D_ind=1e-3), demag=False, backend=backend)
    rng = np.random.default_rng(3)
    sim.m = rng.normal(size=(3, 1, 1, 40))
    tq = getattr(sim, method)(tol_torque=1e-10, progress=False)
    assert tq < 1e-10
    m = sim.m[0, :, 0, 0, :]
    assert np.abs(m[1]).max() < 1e-9
    phi = np.arctan2(m[0, 1:] * m[2, :-1] - m[2, 1:] * m[0, :-1], (m[:, 1:] * m[:, :-1]).sum(axis=0))
    assert np.abs(np.abs(phi) - math.pi / 2).max() < 1e-6 and (np.all(phi > 0) or np.all(phi < 0))
    assert np.linalg.norm(m.mean(axis=1)) < 1e-6  # ten whole turns


def test_bad_targets_are_clear_errors():
    sim, _ = stoner_wohlfarth("cpu", 0.2)
    with pytest.raises(ValueError, match="tol_torque"):
        sim.relax(tol_torque=-1)
    with pytest.raises(ValueError, match="max_time"):
        sim.relax(max_time=math.nan)

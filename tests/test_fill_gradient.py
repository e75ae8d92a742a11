"""Partly filled cells: every neighbour term's field is the exact gradient of its energy (issue 24).

A minimum-energy path, the Hessian at a saddle and Langer's rate need a landscape whose force is the
gradient of the energy that the barrier reports. With a smoothed edge (fill f < 1) MuMax3's convention (the
field not fill-weighted) has no energy at all (the bond i–j would pull with weight 1 on both sides while the
energy weighs the cells by f_i and f_j). micromag weighs each bond by min(f_i, f_j) and takes the field of
cell i over f_i (micromag.engine.terms.stencil.fill_weights), so

    B_i = −(1 / (Ms_i f_i V)) ∂E/∂m_i

holds for exchange, DMI (every class, edge condition included) and interlayer exchange. Checked here by
central differences of the backend's own total energy (no formula of ours on the right-hand side), on cpu
and on the emulated GPU, and against full cells (the same field where every f = 1).
"""
import shutil

import numpy as np
import pytest

import micromag as mm
from micromag.engine.terms.interlayer import InterlayerExchange

BACKENDS = ["cpu", "emulate"]


def _skip(backend):
    if backend == "emulate" and shutil.which("g++") is None:
        pytest.skip("needs g++")


def _system_args(seed=0):
    """A 4 × 3 × 3 grid, two regions, random fills in (0.05, 1], one empty cell, one non-magnetic plane
    (z = 1, a spacer for the interlayer coupling)."""
    rng = np.random.default_rng(seed)
    g = mm.Grid(n=(4, 3, 3), cell=(2e-9, 2.5e-9, 1.5e-9))
    fill = rng.uniform(0.05, 1.0, size=g.shape)
    fill[:, 0, 0] = 1.0
    fill[0, 2, 3] = 0.0
    regions = np.zeros(g.shape, np.int32)
    regions[..., 2:] = 1
    m0 = mm.Material(Ms=8e5, A=1.3e-11, D_ind=2.5e-3, D_bulk=0.7e-3)
    m1 = mm.Material(Ms=1.1e6, A=0.6e-11, D_ind=-1.1e-3, D_d2d=0.9e-3)
    return g, fill, regions, {0: m0, 1: m1}


def _sim(backend, fill, term, batch):
    g, _, regions, mats = _system_args()
    geo = fill.copy()
    if term == "interlayer":
        geo[1] = 0.0
        mats = {k: v.with_(A=0.0, D_ind=0.0, D_bulk=0.0, D_d2d=0.0) for k, v in mats.items()}
    elif term == "exchange":
        mats = {k: v.with_(D_ind=0.0, D_bulk=0.0, D_d2d=0.0) for k, v in mats.items()}
    sim = mm.Simulation(g, geometry=geo, regions=regions, materials=mats, demag=False, backend=backend,
                        batch=batch, dtype=np.float64)
    if term == "interlayer":
        sim.add(InterlayerExchange(sim.system, [(0, 2, -0.8e-3, 0.3e-3)]))
    return sim


def _random_m(sim, seed):
    rng = np.random.default_rng(seed)
    m = rng.normal(size=(3,) + sim.grid.shape)
    m /= np.linalg.norm(m, axis=0, keepdims=True)
    return m * sim.system.magnetic


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("term", ["exchange", "dmi", "interlayer"])
def test_field_is_the_gradient_of_the_energy_with_partly_filled_cells(backend, term):
    _skip(backend)
    _, fill, _, _ = _system_args()
    probe = _sim(backend, fill, term, 1)
    assert term in probe.terms
    mag = probe.system.magnetic
    assert np.any((probe.system.fill[mag] > 0) & (probe.system.fill[mag] < 1))
    m = _random_m(probe, 4)
    probe.m = m
    B = np.asarray(probe.effective_field(), dtype=float)[0]
    cells = list(zip(*np.nonzero(mag)))
    # two tangent directions per cell (Simulation.m normalizes, so the state moves on the sphere):
    # −(1/(Ms f V)) dE/dh along m_i + h e equals B_i·e for e ⟂ m_i (central differences, error O(h²))
    rng = np.random.default_rng(9)
    h = 1e-5
    states, tangents = [], []
    for idx in cells:
        mi = m[(slice(None),) + idx]
        t1 = np.cross(mi, rng.normal(size=3))
        t1 /= np.linalg.norm(t1)
        t2 = np.cross(mi, t1)
        for e in (t1, t2):
            tangents.append(e)
            for s in (1, -1):
                mp = m.copy()
                mp[(slice(None),) + idx] = (mi + s * h * e) / np.sqrt(1 + h * h)
                states.append(mp)
    sim = _sim(backend, fill, term, len(states))
    sim.m = np.array(states)
    E = np.asarray(sim.energy(), dtype=float).reshape(len(cells), 2, 2)
    Ms_eff = np.asarray(sim.system.Ms_eff)
    V = sim.grid.cell_volume
    err = 0.0
    for n, idx in enumerate(cells):
        for k in range(2):
            fd = -(E[n, k, 0] - E[n, k, 1]) / (2 * h) / (Ms_eff[idx] * V)
            err = max(err, abs(fd - float(B[(slice(None),) + idx] @ tangents[2 * n + k])))
    scale = np.abs(B).max()
    assert scale > 0
    assert err < 1e-6 * scale
    assert np.all(B[:, ~mag] == 0)


@pytest.mark.parametrize("term", ["exchange", "dmi", "interlayer"])
def test_full_cells_are_unchanged_and_backends_agree(term):
    """Every f = 1: the weights are all 1 (the formula of the full stencil, MuMax3's); and with partial
    fills the emulated kernels give the NumPy field."""
    if shutil.which("g++") is None:
        pytest.skip("needs g++")
    _, fill, _, _ = _system_args()
    full = np.where(fill > 0, 1.0, 0.0)
    a = _sim("cpu", full, term, 1)
    b = _sim("cpu", fill, term, 1)
    m = _random_m(a, 5) * b.system.magnetic
    a.m = m
    b.m = m
    Ba, Bb = (np.asarray(s.effective_field(), dtype=float)[0] for s in (a, b))
    # a full cell whose neighbours are all full sees the same field in both
    mag = a.system.magnetic
    interior = mag & (b.system.fill == 1.0)
    for ax in range(3):
        for sh in (1, -1):
            interior &= np.roll(np.where(mag, b.system.fill, 1.0), sh, axis=ax) == 1.0
    if interior.any():
        assert np.allclose(Ba[:, interior], Bb[:, interior], rtol=1e-12, atol=1e-12 * np.abs(Ba).max())
    assert not np.allclose(Ba[:, mag], Bb[:, mag])  # and the partly filled ones differ
    e = _sim("emulate", fill, term, 1)
    e.m = m
    Be = np.asarray(e.effective_field(), dtype=float)[0]
    assert np.allclose(Be, Bb, rtol=1e-10, atol=1e-10 * np.abs(Bb).max())
    assert float(e.energy()) == pytest.approx(float(b.energy()), rel=1e-10)

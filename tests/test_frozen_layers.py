"""Layers held fixed (Material.frozen = 1) in the minimum-energy path and in the torque criterion.

Closed form: a one-cell free macrospin (volume V = dx² dz, uniaxial K along z) coupled by interlayer exchange
J1 > 0 (E/area = −J1 m1·m2) to a fixed one along +z has E(θ) = K V sin²θ − J1 dx² cosθ, a Stoner–Wohlfarth
particle in the field J1/(Ms dz) along its easy axis: the barrier from θ = 0 is K V (1 + h)² and from θ = π
K V (1 − h)², h = J1/(2 K dz) (Néel–Brown; the field shifts the two wells' depths).
"""
import shutil

import numpy as np
import pytest

import micromag as mm
from micromag.engine.terms.interlayer import InterlayerExchange

BACKENDS = ["cpu", "emulate"]
MS, DX, DZ, K, J1 = 1.0e6, 5.0e-9, 1.0e-9, 4.0e5, 2.0e-4


def _skip(backend):
    if backend == "emulate" and shutil.which("g++") is None:
        pytest.skip("needs g++")


def _pair(backend, top=(0.0, 0.0, 1.0), frozen=1.0):
    """A free macrospin (plane 0) coupled across one empty plane to a fixed one (plane 2) along ``top``."""
    g = mm.Grid(n=(1, 1, 3), cell=(DX, DX, DZ))
    geo = np.zeros((3, 1, 1))
    geo[0] = geo[2] = 1.0
    reg = np.zeros((3, 1, 1), np.int32)
    reg[2] = 1
    mat = mm.Material(Ms=MS, alpha=0.5, A=1e-11, Ku1=K, anis_u=(0, 0, 1))
    sim = mm.Simulation(g, geometry=geo, regions=reg, materials={0: mat, 1: mat.with_(frozen=frozen)}, demag=False,
                        backend=backend)
    sim.add(InterlayerExchange(sim.system, [(0, 2, J1, 0.0)]))
    m = np.zeros((3, 3, 1, 1))
    m[:, 0, 0, 0] = (0.0, 0.0, 1.0)
    m[:, 2, 0, 0] = top
    sim.m = m
    return sim


@pytest.mark.parametrize("backend", BACKENDS)
def test_energy_barrier_holds_frozen_cells(backend):
    """energy_barrier on a landscape with a fixed layer: the fixed cell keeps sim's state in both ends and every
    image (bit for bit), and the barriers both ways are K V (1 ± h)² (module docstring) within 0.1 %."""
    _skip(backend)
    sim = _pair(backend)
    path = mm.energy_barrier(sim, (0, 0, 1), (0, 0, -1), images=9, tol_torque=1e-5, progress=False)
    top = path.m[:, :, 2, 0, 0]
    np.testing.assert_array_equal(top, np.tile([0.0, 0.0, 1.0], (path.m.shape[0], 1)))
    assert path.m[-1, 2, 0, 0, 0] == pytest.approx(-1.0, abs=1e-6)  # the free cell did reverse
    V, h = DX * DX * DZ, J1 / (2 * K * DZ)
    assert h == pytest.approx(0.25)
    assert path.barrier == pytest.approx(K * V * (1 + h) ** 2, rel=1e-3)
    assert path.barrier_back == pytest.approx(K * V * (1 - h) ** 2, rel=1e-3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_max_torque_leaves_frozen_layers_out(backend):
    """The fixed macrospin, tilted against the free one's coupling field, feels a torque J1/(Ms dz)·sin 30°
    that it never acts on; relaxed, the free one has none: max_torque must then be ~0, not that value."""
    _skip(backend)
    sim = _pair(backend, top=(0.5, 0.0, np.sqrt(0.75)))
    sim.relax(tol_torque=1e-7, progress=False)
    assert sim.max_torque() < 1e-6
    # the frozen cell's torque is real (so the check above is not empty): the same state, the layer not frozen
    loose = _pair(backend, top=(0.5, 0.0, np.sqrt(0.75)), frozen=0.0)
    loose.m = sim.m
    assert loose.max_torque() > 0.1 * J1 / (MS * DZ)

"""Minimum-energy paths (micromag.apps.barrier) against closed forms.

Coherent rotation: a uniaxial single-domain element in a field along the easy axis has the Stoner–Wohlfarth
barrier E_b = K V (1 − h)², h = B/B_K, B_K = 2K/Ms. A domain wall: a long stripe reverses by sweeping one
wall, E_b = 4 √(A K_eff) w t.
"""
import math
import warnings

import numpy as np
import pytest

import micromag as mm
from micromag.apps.barrier import (EnergyPath, clone_simulation, coherent_barrier, crossover_diameter, energy_barrier,
                              wall_barrier)
from micromag.engine.constants import kB

BACKENDS = ["cpu", "emulate"]
Ms, K, A = 1e6, 5e5, 1e-11  # B_K = 2K/Ms = 1 T; wall parameter √(A/K) = 4.47 nm


def _element(backend, h=0.0):
    """8 × 8 × 2 nm, 4 × 4 × 1 cells, demag off (so K_eff = Ku): exchange (2A/Ms (π/8 nm)² = 3.1 T against
    2K/Ms = 1 T) keeps every state on the path uniform, the coherent path is the minimum-energy path."""
    g = mm.Grid(n=(4, 4, 1), cell=(2e-9, 2e-9, 2e-9))
    sim = mm.Simulation(g, material=mm.Material(Ms=Ms, A=A, Ku1=K, anis_u=(0, 0, 1)), demag=False, backend=backend)
    sim.B_ext = (0.0, 0.0, -h * 2 * K / Ms)
    return sim


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("h", [0.0, 0.3])
def test_coherent_rotation_barrier(backend, h):
    sim = _element(backend, h)
    p = energy_barrier(sim, (0, 0, 1), (0, 0, -1), images=12, progress=False)
    V = 8e-9 * 8e-9 * 2e-9
    assert p.converged
    # the climbing image sits where |m × B| < 1e-4 T: its energy error is second order, ~(1e-4 T / B_K)² = 1e-8;
    # 1e-6 leaves room for round-off (the deviation found is ~1e-11)
    assert p.barrier == pytest.approx(coherent_barrier(K, V, h), rel=1e-6)
    assert p.barrier_back == pytest.approx(K * V * (1 + h) ** 2, rel=1e-6)
    # the saddle is the hard-axis state tilted by the field: mz = h (uniform)
    assert np.allclose(p.saddle[2], h, atol=1e-3)
    assert p.delta(300.0) == pytest.approx(p.barrier / (kB * 300.0))
    assert p.energies.shape == (12,) and p.m.shape == (12, 3, 1, 4, 4)
    # the user's simulation is untouched
    assert np.allclose(sim.m_avg, (1, 0, 0))


@pytest.mark.parametrize("backend", BACKENDS)
def test_coherent_barrier_with_demag_of_a_cube(backend):
    """One cubic cell with demag on: the Newell factors of a cube are 1/3 each, the demag energy is the same
    in every direction and K_eff = Ku, so E_b = K V (1 − h)² holds exactly with demag included."""
    g = mm.Grid(n=(1, 1, 1), cell=(4e-9, 4e-9, 4e-9))
    sim = mm.Simulation(g, material=mm.Material(Ms=Ms, Ku1=K, anis_u=(0, 0, 1)), backend=backend)
    sim.B_ext = (0, 0, -0.5)
    p = energy_barrier(sim, (0, 0, 1), (0, 0, -1), images=9, progress=False)
    assert p.converged and "demag" in p.terms
    assert p.barrier == pytest.approx(coherent_barrier(K, 64e-27, 0.5), rel=1e-6)


def _stripe(backend, dx):
    """A perpendicular stripe 64 nm long, 2 nm wide, 1 nm thick, one cell across (demag off: K_eff = Ku)."""
    n = int(round(64e-9 / dx))
    g = mm.Grid(n=(n, 1, 1), cell=(dx, 2e-9, 1e-9))
    return mm.Simulation(g, material=mm.Material(Ms=Ms, A=A, Ku1=K, anis_u=(0, 0, 1)), demag=False, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_stripe_reverses_through_a_domain_wall(backend):
    sim = _stripe(backend, 1e-9)
    p = energy_barrier(sim, (0, 0, 1), (0, 0, -1), images=16, progress=False, via=(0, 1, 0))
    ref = wall_barrier(A, K, 2e-9, 1e-9)
    assert p.converged
    # The grid lowers the discrete wall energy by (dx/δ)²/24 = 0.21 % for dx = 1 nm, δ = 4.47 nm (second order:
    # see the next test); the stripe's ends are 7 δ from the centre (their pull is e^-14). Tolerance 0.5 %.
    assert p.barrier == pytest.approx(ref, rel=5e-3)
    assert p.barrier < 0.3 * K * 64e-9 * 2e-9 * 1e-9  # far below coherent rotation (K V = 3.6 × the wall)
    mz = p.saddle[2, 0, 0]
    assert mz[:8].max() < -0.9 and mz[-8:].min() > 0.9 or mz[:8].min() > 0.9 and mz[-8:].max() < -0.9  # a wall
    # the path climbs while the wall enters, then runs flat while it crosses
    dE = (p.energies - p.energies[0]) / ref
    assert np.all(np.abs(dE[5:11] - dE[5:11].mean()) < 0.01)


def test_stripe_with_the_default_start():
    """The default start turns through x̂ here (x̂ and ŷ tie: a Néel- and a Bloch-type path, degenerate without
    demag). The climbing image may then stop on the flat plateau a little off its centre, where its torque
    falls only slowly: the run ends 'settled' (or converged) with the same barrier, its spread below 0.5 %."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p = energy_barrier(_stripe("cpu", 1e-9), (0, 0, 1), (0, 0, -1), images=16, progress=False)
    assert p.status in ("converged", "settled") and p.barrier_spread <= 5e-3 * p.barrier
    assert p.barrier == pytest.approx(wall_barrier(A, K, 2e-9, 1e-9), rel=5e-3)


def test_wall_barrier_error_is_second_order_in_the_cell():
    """Halving the cell (2 nm -> 1 nm) divides the deviation from 4 √(AK) w t by 4: it is the grid's, not the
    method's (measured −0.86 % and −0.21 %)."""
    ref = wall_barrier(A, K, 2e-9, 1e-9)
    e2 = energy_barrier(_stripe("cpu", 2e-9), (0, 0, 1), (0, 0, -1), images=16, progress=False,
                        via=(0, 1, 0)).barrier / ref - 1
    e1 = energy_barrier(_stripe("cpu", 1e-9), (0, 0, 1), (0, 0, -1), images=16, progress=False,
                        via=(0, 1, 0)).barrier / ref - 1
    assert e2 < e1 < 0
    assert e2 / e1 == pytest.approx(4.0, rel=0.1)  # higher orders: (dx/δ)² = 0.2 at 2 nm


def test_closed_form_helpers():
    assert coherent_barrier(1e5, 1e-24, 0.5) == pytest.approx(0.25e-19)
    assert wall_barrier(1e-11, 1e5, 2e-9, 1e-9) == pytest.approx(4 * 1e-3 * 2e-18)
    d = crossover_diameter(1.5e-11, 3e5)
    assert K * 0 + 3e5 * math.pi * d**2 / 4 == pytest.approx(4 * math.sqrt(1.5e-11 * 3e5) * d)  # equal energies
    with pytest.raises(ValueError, match="h"):
        coherent_barrier(1e5, 1e-24, 1.2)


def test_bad_input_is_refused_before_any_work():
    sim = _element("cpu")
    with pytest.raises(ValueError, match="images"):
        energy_barrier(sim, (0, 0, 1), (0, 0, -1), images=2)
    with pytest.raises(ValueError, match="same state"):
        energy_barrier(sim, (0, 0, 1), (0, 0, 2))
    with pytest.raises(ValueError, match="tol_torque"):
        energy_barrier(sim, (0, 0, 1), (0, 0, -1), tol_torque=0)
    with pytest.raises(ValueError, match="m_from"):
        energy_barrier(sim, np.ones((3, 2, 2, 2)), (0, 0, -1))
    batch = mm.Simulation(sim.grid, material=sim.system.default_material, batch=2, demag=False, backend="cpu")
    with pytest.raises(ValueError, match="batch"):
        energy_barrier(batch, (0, 0, 1), (0, 0, -1))
    # a field past the switching field leaves no second minimum: both ends relax to the same state
    strong = _element("cpu", h=1.3)
    with pytest.raises(ValueError, match="relax into the same state"):
        energy_barrier(strong, (0, 0, 1), (0, 0, -1), progress=False)
    p = energy_barrier(sim, (0, 0, 1), (0, 0, -1), images=5, progress=False)
    for T in (0, -5, float("nan")):
        with pytest.raises(ValueError, match="T"):
            p.delta(T)


def test_not_converged_warns():
    with pytest.warns(RuntimeWarning, match="not converged"):
        p = energy_barrier(_element("cpu"), (0, 0, 1), (0, 0, -1), images=8, max_iter=30, progress=False)
    assert not p.converged


def test_clone_keeps_the_landscape_and_drops_torques():
    g = mm.Grid(n=(4, 4, 1), cell=(2e-9, 2e-9, 1e-9))
    sim = mm.Simulation(g, material=mm.CoFeB_perpendicular(thickness=1e-9), backend="cpu")
    sim.B_ext = (0.01, 0, 0.02)
    sim.add(mm.VCMA(sim.system, V=0.5, xi=1e-13, t_ox=1e-9))
    sim.add(mm.SlonczewskiSTT(sim.system, J=1e11))
    sim.m = (0.3, 0.2, 1)
    c = clone_simulation(sim, 3)
    assert c.batch == 3 and "vcma" in c.terms and "stt" not in c.terms
    c.m = sim.m[0]
    e = c.energies()
    for name, v in sim.energies().items():
        assert np.allclose(e[name], v, rtol=1e-12, atol=0), name


def test_outputs(tmp_path):
    from micromag.engine.io.vtk import read_pvd, read_vti

    p = energy_barrier(_element("cpu", 0.2), (0, 0, 1), (0, 0, -1), images=7, progress=False)
    assert isinstance(p, EnergyPath) and "barrier" in repr(p)
    png = p.plot(tmp_path / "path.png")
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    d = read_vti(p.save_saddle(tmp_path / "saddle.vti"))
    assert np.allclose(d["cell_data"]["m"], p.saddle)
    p.save(tmp_path / "path")
    assert len(read_pvd(tmp_path / "path" / "path.pvd")) == 7
    import json

    data = json.loads((tmp_path / "path" / "path.json").read_text())
    assert data["barrier_J"] == pytest.approx(p.barrier) and data["converged"]


def test_initial_path_is_reused():
    sim = _element("cpu", 0.3)
    p1 = energy_barrier(sim, (0, 0, 1), (0, 0, -1), images=9, progress=False)
    p2 = energy_barrier(sim, (0, 0, 1), (0, 0, -1), images=12, path=p1, progress=False)
    assert p2.converged and p2.iterations <= p1.iterations
    assert p2.barrier == pytest.approx(p1.barrier, rel=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="path"):
            energy_barrier(sim, (0, 0, 1), (0, 0, -1), path=np.zeros((3, 3, 2, 2, 2)))


@pytest.mark.slow
def test_scaling_example_quick(tmp_path):
    """examples/scaling_delta_vs_ic.py --quick: Δ grows as the area below the crossover and as the diameter
    above it; the crossover lies within 30 % of 16 √(A/K_eff)/π (the formula takes one K_eff for every
    diameter and a straight wall, the discs have their own demag and a curved one)."""
    import json
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, MICROMAG_OUT=str(tmp_path), MPLBACKEND="Agg", PYTHONPATH=root)
    r = subprocess.run([sys.executable, os.path.join(root, "examples", "scaling_delta_vs_ic.py"), "--quick",
                        "--backend", "cpu"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr[-3000:]
    data = json.loads((tmp_path / "out" / "scaling" / "scaling.json").read_text())
    rows = data["rows"]
    assert rows[0]["barrier_J"] == pytest.approx(rows[0]["coherent_J"], rel=0.05)  # 20 nm: coherent
    assert rows[-1]["barrier_J"] < 0.6 * rows[-1]["coherent_J"]  # 80 nm: a wall
    assert data["crossover_fit_m"] == pytest.approx(data["dc_formula_disc_m"], rel=0.3)
    assert (tmp_path / "out" / "scaling" / "scaling.png").stat().st_size > 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_in_plane_element_turns_in_plane(backend):
    """A small in-plane Permalloy ellipse (24 × 12 × 2 nm, demag on) reverses by turning in the plane: its
    barrier is the shape-anisotropy energy E(ŷ) − E(x̂) of the uniform states (the edge states shift both ends
    of the difference a little: measured +0.001 %; 5 % allowed) — the out-of-plane route would cost 7.7 × more.
    The default start turns through ŷ, the cheapest axis."""
    g = mm.Grid(n=(12, 6, 1), cell=(2e-9, 2e-9, 2e-9))
    sim = mm.Simulation(g, material=mm.Permalloy(), geometry=mm.Ellipse((24e-9, 12e-9)), backend=backend)
    p = energy_barrier(sim, (1, 0, 0), (-1, 0, 0), images=9, progress=False)
    c = clone_simulation(sim, 2)
    c.m = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    E = c.energy()
    assert p.converged
    assert p.barrier == pytest.approx(E[1] - E[0], rel=0.05)
    assert abs(p.saddle[2]).max() < 0.05  # in the plane

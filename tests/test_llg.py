"""LLG dynamics against analytic results: macrospin precession, Kittel ringdown, integrator orders."""
import math

import numpy as np
import pytest

import micromag as mm
from micromag.engine.integrators import Stepper
from micromag.engine.constants import mu0

pytestmark = pytest.mark.usefixtures("each_backend")  # every test on backend cpu and emulate

GAMMA0 = 2.211e5  # m/(A·s), the µMAG value
GAMMA = GAMMA0 / mu0  # rad/(s·T)


def macrospin(alpha, H0=1e5, integrator="rk45", **kw):
    grid = mm.Grid(n=(1, 1, 1), cell=(5e-9, 5e-9, 5e-9))
    mat = mm.Material(Ms=8e5, A=0.0, alpha=alpha, gamma=GAMMA)
    sim = mm.Simulation(grid, material=mat, demag=False, integrator=integrator, **kw)
    sim.m = (1, 0, 0)
    sim.B_ext = (0, 0, mu0 * H0)
    return sim


def analytic_precession(t, alpha, H0=1e5):
    """Gilbert-form solution for m(0) = x̂, field along +z (counter-clockwise seen from +z for γ > 0)."""
    beta = GAMMA0 * H0 * t / (1 + alpha**2)
    return np.array([np.cos(beta) / np.cosh(alpha * beta), np.sin(beta) / np.cosh(alpha * beta), np.tanh(alpha * beta)])


def test_damped_precession_rk45_matches_analytic():
    alpha = 0.1
    sim = macrospin(alpha, tol=1e-7)
    ts = np.linspace(0, 1e-9, 21)[1:]
    worst = 0.0
    for t in ts:
        sim.run(t - sim.t, progress=False)
        worst = max(worst, np.abs(sim.m_avg - analytic_precession(t, alpha)).max())
    # analytic.md: a good integrator reaches 1e-6 in mz over 1 ns
    assert worst < 1e-6, worst
    assert abs(sim.m_avg[2] - analytic_precession(1e-9, alpha)[2]) < 1e-6


def test_precession_period():
    """Period 2π(1 + α²)/(γ0 H0) = 0.2870 ns for α = 0.1, H0 = 1e5 A/m (analytic.md)."""
    alpha = 0.1
    period = 2 * math.pi * (1 + alpha**2) / (GAMMA0 * 1e5)
    assert period == pytest.approx(0.2870e-9, abs=5e-14)
    sim = macrospin(alpha, tol=1e-8)
    sim.run(period, progress=False)
    m = sim.m_avg
    # after one period the in-plane angle is back to 0
    assert abs(math.atan2(m[1], m[0])) < 1e-6


@pytest.mark.parametrize("name,order", [("euler", 1), ("heun", 2), ("rk4", 4)])
def test_fixed_step_order_of_convergence(name, order):
    alpha, T = 0.1, 0.1e-9
    errs = []
    dts = [T / 40, T / 80, T / 160]
    for dt in dts:
        sim = macrospin(alpha, integrator=name, dt=dt)
        # a fixed-step stepper on the simulation's right-hand side (Heun's embedded pair is not used)
        st = Stepper(sim.llg, name, sim._shape, dt=dt, fixed=True)
        m, t = sim.m, np.zeros(1)
        for _ in range(int(round(T / dt))):
            st.step(m, t)
        assert t[0] == pytest.approx(T, rel=1e-12)
        sim.m = m
        errs.append(np.abs(sim.m_avg - analytic_precession(T, alpha)).max())
    rates = [math.log2(errs[i] / errs[i + 1]) for i in range(len(errs) - 1)]
    # renormalization after each step does not lower the order
    assert all(abs(r - order) < 0.25 for r in rates), (errs, rates)


@pytest.mark.parametrize("name,order", [("rk23", 3), ("rk45", 5)])
def test_adaptive_error_scales_with_tolerance(name, order):
    """Global error of an adaptive method of order p with error control of order q: ~ tol^(p/(q+1))... at
    least it must fall monotonically and stay near the requested per-step tolerance."""
    alpha, T = 0.1, 0.3e-9
    errs = []
    for tol in (1e-4, 1e-5, 1e-6):
        sim = macrospin(alpha, integrator=name, tol=tol, dt_max=1e-9)  # let the controller choose freely
        sim.run(T, progress=False)
        errs.append(np.abs(sim.m_avg - analytic_precession(T, alpha)).max())
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < 1e-5


def test_kittel_ringdown_single_cell_prism():
    """A single 120×120×10 nm cell is a uniformly magnetized prism: its demag tensor is the Aharoni one
    (N∥ = 0.085907, N⊥ = 0.828186), so a saturating field along x rings at the Kittel frequency
    f = γ0/2π · sqrt([H + (Ny − Nx)Ms][H + (Nz − Nx)Ms]) = 8.170 GHz for H = 80 kA/m (analytic.md)."""
    grid = mm.Grid(n=(1, 1, 1), cell=(120e-9, 120e-9, 10e-9))
    mat = mm.Material(Ms=8e5, A=1.3e-11, alpha=0.0, gamma=GAMMA)
    sim = mm.Simulation(grid, material=mat, tol=1e-7)
    H = 80e3
    sim.B_ext = (mu0 * H, 0, 0)
    sim.m = (1, 0.02, 0.0)
    ts, mys = [], []
    for i in range(2001):
        if i:
            sim.run(1e-12, progress=False)
        ts.append(sim.t)
        mys.append(sim.m_avg[1])
    ts, mys = np.array(ts), np.array(mys)
    # zero crossings of my, linearly interpolated
    s = np.sign(mys)
    idx = np.where(s[:-1] * s[1:] < 0)[0]
    tc = ts[idx] - mys[idx] * (ts[idx + 1] - ts[idx]) / (mys[idx + 1] - mys[idx])
    f = (len(tc) - 1) / 2 / (tc[-1] - tc[0])
    Nx, Nz = 0.085907105796, 0.828185788407
    Ny = Nx  # square in-plane
    f_an = GAMMA0 / (2 * math.pi) * math.sqrt((H + (Ny - Nx) * 8e5) * (H + (Nz - Nx) * 8e5))
    assert f_an == pytest.approx(8.170e9, rel=2e-4)
    assert f == pytest.approx(f_an, rel=2e-4)


def test_step_grows_by_growth_max_while_the_error_is_tiny():
    """The controller's growth bound (integrators.GROWTH_MAX, the same number in the GPU kernel rk_finish):
    from a step a million times too short the error is ~1e-30 of tol, so each accepted step multiplies dt by
    exactly GROWTH_MAX, on both backends; then the error, not the bound, decides (growth below GROWTH_MAX)."""
    from micromag.engine.integrators import GROWTH_MAX

    sim = macrospin(0.1, integrator="rkf54s", dt=1e-18, dt_min=1e-20)
    st = sim.stepper
    dts = [float(np.asarray(sim.host(st.dt))[0])]
    for _ in range(12):
        st.step(sim.state.m, sim.state.t)
        dts.append(float(np.asarray(sim.host(st.dt))[0]))
    growth = np.array(dts[1:]) / np.array(dts[:-1])
    assert GROWTH_MAX == 5.0
    np.testing.assert_allclose(growth[:4], GROWTH_MAX, rtol=1e-12)
    assert growth.max() <= GROWTH_MAX * (1 + 1e-12) and growth[-1] < GROWTH_MAX  # the error took over


def test_gpu_kernel_holds_the_same_growth_bound():
    from pathlib import Path

    from micromag.engine.integrators import GROWTH_MAX

    src = (Path(__file__).resolve().parents[1] / "gpu_kernels" / "rk_stage.cu").read_text()
    assert f"#define MM_GROWTH_MAX {GROWTH_MAX!r}" in src

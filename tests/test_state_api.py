"""Simulation's public state API (what solvers and applications build on): ``sim.state``, ``sim.host``,
``sim.stepper``, ``sim.new_stepper``, ``sim.state_changed``; on both backends."""
import math

import numpy as np
import pytest

import micromag as mm

pytestmark = pytest.mark.usefixtures("each_backend")  # every test on backend cpu and emulate

B_Z = 0.1  # T


def macrospin():
    """One cell, no exchange partner, no demag, α = 0, in B = B_Z ẑ: Larmor precession."""
    grid = mm.Grid(n=(1, 1, 1), cell=(2e-9, 2e-9, 2e-9))
    sim = mm.Simulation(grid, material=mm.Material(Ms=8e5, A=1.3e-11, alpha=0.0), demag=False)
    sim.m = (1, 0, 0)
    sim.B_ext = (0, 0, B_Z)
    return sim


def test_stepper_advances_the_live_state_as_larmor_precession():
    """Advancing ``sim.state`` with ``sim.stepper`` is the run: m turns about B at ω = γB (α = 0, Landau–
    Lifshitz form dm/dt = −γ m × B, so m = (cos γBt, sin γBt, 0) from m0 = x̂; Kittel, Introduction to Solid
    State Physics, ch. 13)."""
    sim = macrospin()
    state, st = sim.state, sim.stepper
    assert st is sim.stepper  # kept while the settings stay
    t_end = 100e-12
    end = sim.xp.asarray(np.array([t_end]))
    while sim.host(state.t)[0] < t_end:
        st.step(state.m, state.t, t_end=end)
    assert sim.t == pytest.approx(t_end, rel=1e-12)
    gamma = sim.material.gamma  # rad/(s·T)
    phi = gamma * B_Z * t_end
    np.testing.assert_allclose(sim.m[0, :, 0, 0, 0], [math.cos(phi), math.sin(phi), 0.0], atol=1e-5)


def test_host_copies_and_state_changed():
    sim = macrospin()
    h = sim.host(sim.state.m)
    h[...] = 0.0  # a copy: the state is untouched
    np.testing.assert_allclose(sim.m[0, :, 0, 0, 0], [1, 0, 0])
    sim.state.m[:, 0] = 0.0
    sim.state.m[:, 1] = 1.0  # written in place, then announced
    sim.state_changed()
    np.testing.assert_allclose(sim.m[0, :, 0, 0, 0], [0, 1, 0])
    assert sim.state.mask.shape == sim.grid.shape and float(sim.host(sim.state.mask).sum()) == 1.0


def test_new_stepper_is_separate_and_settings_rebuild_the_stepper():
    sim = macrospin()
    st = sim.stepper
    own = sim.new_stepper("rk23", 1e-4, 1e-11)
    assert own is not st and sim.stepper is st
    assert own.tab.name == "rk23" and st.tab.name == sim.integrator
    sim.dt = 2e-14
    assert sim.stepper is not st  # a new initial step: a new stepper

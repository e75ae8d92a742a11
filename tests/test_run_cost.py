"""A run that cannot finish in a human time says so before it starts (issue 22, item 2)."""
from __future__ import annotations

import time

import numpy as np
import pytest

import micromag as mm
from micromag.engine import cost


def _sim(backend, **kw):
    grid = mm.Grid(n=(16, 16, 1), cell=(4e-9, 4e-9, 2e-9))
    sim = mm.Simulation(grid, material=mm.Material(Ms=8e5, A=1.3e-11, alpha=0.02), backend=backend, **kw)
    sim.m = (1, 0.1, 0)
    return sim


@pytest.mark.parametrize("backend", ["cpu", "emulate"])
def test_fixed_tiny_step_is_refused_before_any_step(backend):
    sim = _sim(backend, integrator="rk4", dt=1e-18)
    t0 = time.perf_counter()
    with pytest.raises(cost.TooLong, match=r"run\(1e-09\).*1e\+09 steps.*allow_long=True"):
        sim.run(1e-9)
    assert time.perf_counter() - t0 < 10 and sim.t == 0.0  # refused, not started


@pytest.mark.parametrize("backend", ["cpu", "emulate"])
def test_huge_field_is_refused_with_the_stability_bound(backend):
    sim = _sim(backend)
    sim.B_ext = (0, 0, 1e6)  # T: a unit mistake
    with pytest.raises(cost.TooLong, match=r"rad/s from \|B_eff\| up to 1e\+06 T"):
        sim.run(1e-9)
    assert sim.t == 0.0


def test_tiny_dt_max_is_refused():
    sim = _sim("cpu", dt_max=1e-17)
    with pytest.raises(cost.TooLong, match="dt_max"):
        sim.run(1e-9)


def test_allow_long_and_the_limit_setting(monkeypatch):
    sim = _sim("cpu", integrator="rk4", dt=1e-15)
    c = sim.run_cost(1e-12)
    assert c["steps"] == pytest.approx(1000) and c["evaluations"] == pytest.approx(4000)
    monkeypatch.setenv("MICROMAG_MAX_HOURS", "1e-9")
    with pytest.raises(cost.TooLong):
        sim.run(1e-12)
    sim.run(1e-12, allow_long=True)  # started anyway, and it ends
    assert sim.t == pytest.approx(1e-12)
    monkeypatch.setenv("MICROMAG_MAX_HOURS", "-3")
    with pytest.raises(ValueError, match="MICROMAG_MAX_HOURS"):
        sim.run(1e-12)


def test_the_estimate_is_a_lower_bound_of_a_real_run():
    """The bound never exceeds what a real adaptive run takes (steps and wall time)."""
    sim = _sim("cpu")
    c = sim.run_cost(50e-12)
    t0 = time.perf_counter()
    sim.run(50e-12, progress=False)
    wall = time.perf_counter() - t0
    st = sim.stepper if hasattr(sim, "stepper") else None
    assert c["seconds"] <= wall
    if st is not None and hasattr(st, "nsteps"):
        assert c["steps"] <= st.nsteps


def test_stability_bound_matches_the_exchange_field():
    """ω = γ (|B_eff|max + B_ex) with B_ex = (2A/Ms)·Σ 4/d² for the in-plane axes of a film."""
    sim = _sim("cpu")
    f = sim.precession_frequency_bound()
    B_ex = 2 * 1.3e-11 / 8e5 * (4 / 4e-9**2 + 4 / 4e-9**2)
    assert f["B_ex"] == pytest.approx(B_ex)
    assert f["omega"] == pytest.approx(mm.Material(Ms=1).gamma * (f["B_max"] + B_ex) / (1 + 0.02**2) ** 0.5)


def test_tolerance_below_the_precision_is_refused():
    with pytest.raises(ValueError, match="tol_torque"):
        cost.check_tolerance("tol_torque", 1e-300, 1.0, np.finfo(np.float64).eps)
    assert cost.check_tolerance("tol_torque", 1e-6, 1.0, np.finfo(np.float64).eps) == 1e-6


@pytest.mark.parametrize("backend", ["cpu", "emulate"])
def test_unreachable_torque_target_is_refused(backend):
    sim = _sim(backend)
    for call in (sim.minimize, sim.relax):
        t0 = time.perf_counter()
        with pytest.raises(ValueError, match="tol_torque = 1e-300 T cannot be met"):
            call(tol_torque=1e-300)
        assert time.perf_counter() - t0 < 10


@pytest.mark.parametrize("members", [[5], [-1], [0.5], ["a"], []])
def test_snapshot_members_out_of_range_is_named(members, tmp_path):
    sim = _sim("cpu")
    with pytest.raises(ValueError, match="snapshot_members"):
        sim.run(1e-12, out=tmp_path, snapshot_every=1e-12, snapshot_members=members, progress=False)

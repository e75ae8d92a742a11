"""Brown's thermal field with the stochastic Heun integrator against the Langevin average."""
import math

import numpy as np
import pytest

import micromag as mm
from micromag.engine.constants import kB

pytestmark = pytest.mark.usefixtures("each_backend")  # every test on backend cpu and emulate


def langevin(x):
    return 1 / math.tanh(x) - 1 / x


def macrospins(batch, dt, T=300.0, B=2.0, seed=1):
    grid = mm.Grid(n=(1, 1, 1), cell=(2e-9, 2e-9, 2e-9))
    sim = mm.Simulation(grid, material=mm.Material(Ms=8e5, alpha=0.5), demag=False, batch=batch, dt=dt)
    sim.B_ext = (0, 0, B)
    sim.m = (0, 0, 1)
    sim.seed = seed
    sim.temperature = T
    return sim


def sample_mz(sim, t_eq, t_run, every):
    sim.run(t_eq, progress=False)
    samples = []
    for _ in range(int(round(t_run / every))):
        sim.run(every, progress=False)
        samples.append(sim.m_avg[:, 2])
    return np.array(samples)  # (time, member)


@pytest.mark.parametrize("dt", [1e-13, 4e-13])
def test_langevin_average_independent_of_time_step(dt):
    """<m·b> = coth x − 1/x, x = Ms V B/(kB T): x = 3.09 here, L(x) = 0.6806. Statistical error from the
    spread of 64 independent members (each averaged over 1.5 ns, correlation time ~ 1/(αγB) ≈ 6 ps):
    the test allows 4 standard errors plus 2e-3 for the Heun weak-order bias."""
    sim = macrospins(64, dt)
    x = 8e5 * 8e-27 * 2.0 / (kB * 300.0)
    expected = langevin(x)
    mz = sample_mz(sim, 0.1e-9, 1.5e-9, 10e-12)
    per_member = mz.mean(axis=0)
    mean, sem = per_member.mean(), per_member.std(ddof=1) / math.sqrt(per_member.size)
    assert abs(mean - expected) < 4 * sem + 2e-3, (mean, expected, sem)
    assert sem < 5e-3


def test_thermal_is_reproducible_and_members_are_independent_of_batch():
    a = macrospins(3, 1e-13, T=[300.0, 0.0, 600.0], seed=7)
    a.run(20e-12, progress=False)
    b = macrospins(3, 1e-13, T=[300.0, 0.0, 600.0], seed=7)
    b.run(20e-12, progress=False)
    np.testing.assert_array_equal(a.m, b.m)
    # member 2 alone (its own stream is (seed, member index), so run it as member 2 of a batch of 3 with the
    # others cold) equals member 2 here; the T = 0 member follows the deterministic dynamics exactly
    c = macrospins(3, 1e-13, T=[0.0, 0.0, 600.0], seed=7)
    c.run(20e-12, progress=False)
    np.testing.assert_array_equal(c.m[2], a.m[2])
    np.testing.assert_allclose(a.m[1], c.m[1], atol=0)
    cold = macrospins(1, 1e-13, T=0.0)
    cold.run(20e-12, progress=False)
    np.testing.assert_allclose(a.m[1], cold.m[0], atol=1e-15)


def test_bad_temperature():
    sim = macrospins(2, 1e-13, T=0.0)
    with pytest.raises(ValueError, match="temperature"):
        sim.temperature = -1.0
    with pytest.raises(ValueError, match="temperature"):
        sim.temperature = [300.0, 300.0, 300.0]

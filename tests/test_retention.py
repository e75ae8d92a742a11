"""Retention, read disturb and critical-current helpers (micromag.apps.retention).

The closed forms are checked against their definitions and against each other; the thermally activated
read-disturb model against (1) the exact solution of Brown's Fokker–Planck equation of an axially symmetric
macrospin and (2) thermal batch simulations of that macrospin with a read current (stochastic Heun), at
currents where the flip probability is measurable with a few hundred (CI) or a few thousand (--runslow)
members.
"""
import math

import numpy as np
import pytest

import micromag as mm
from micromag.apps import retention as r
from micromag.engine.constants import e, hbar, kB

YEAR = r.SECONDS_PER_YEAR


def test_retention_closed_forms():
    assert r.retention_time(40, tau0=1e-9) == pytest.approx(1e-9 * math.exp(40))
    # small probabilities keep their digits: N t / τ for N t ≪ τ
    assert r.flip_probability(60, YEAR, n_bits=1000) == pytest.approx(1000 * YEAR / (1e-9 * math.exp(60)), rel=1e-9)
    assert r.flip_probability(1, 1e3) == pytest.approx(1.0)
    d = r.required_delta(10 * YEAR, n_bits=2**20, fail_budget=1e-6)
    # at Δ_min the array fails with exactly the budget
    assert r.flip_probability(d, 10 * YEAR, n_bits=2**20) == pytest.approx(1e-6, rel=1e-9)
    v = r.retention_verdict(d + 0.5, T=r.kelvin(150), years=10, n_bits=2**20, fail_budget=1e-6)
    assert v.passes and v.margin == pytest.approx(0.5) and v.T == pytest.approx(423.15)
    assert v.failure_probability < 1e-6 and "PASS" in str(v)
    assert not r.retention_verdict(lambda T: d - 0.5, years=10, n_bits=2**20, fail_budget=1e-6).passes
    assert r.thermal_stability(kB * 300 * 50, 300) == pytest.approx(50)


def test_read_disturb_model():
    p0 = r.read_disturb_probability(40, 0.0, 50e-6, 10e-9)
    assert p0 == pytest.approx(r.flip_probability(40, 10e-9))
    p = [r.read_disturb_probability(40, i * 50e-6, 50e-6, 10e-9) for i in (0.2, 0.4, 0.6)]
    assert p0 < p[0] < p[1] < p[2]
    # Δ(I) = Δ (1 − I/Ic0)²
    assert p[1] == pytest.approx(r.flip_probability(40 * 0.6**2, 10e-9), rel=1e-12)
    assert r.read_disturb_probability(40, 60e-6, 50e-6, 10e-9) == 1.0  # above Ic0 the read writes
    assert r.read_disturb_probability(40, -20e-6, -50e-6, 10e-9) == pytest.approx(
        r.read_disturb_probability(40, 20e-6, 50e-6, 10e-9))
    Imax = r.max_read_current(40, 50e-6, 10e-9, budget=1e-9, n_reads=1e6)
    assert r.read_disturb_probability(40, Imax, 50e-6, 10e-9, n_reads=1e6) == pytest.approx(1e-9, rel=1e-6)
    assert r.max_read_current(10, 50e-6, 10e-9, budget=1e-12) == 0.0
    with pytest.raises(ValueError, match="Ic0"):
        r.read_disturb_probability(40, 1e-6, 0.0, 1e-9)
    with pytest.raises(ValueError, match="I_read"):
        r.read_disturb_probability(40, -1e-6, 50e-6, 1e-9)


def test_bad_input_names_the_parameter():
    for call, name in [(lambda: r.flip_probability(-1, 1), "delta"), (lambda: r.flip_probability(40, -1), "t"),
                       (lambda: r.required_delta(1, fail_budget=1.5), "fail_budget"),
                       (lambda: r.retention_verdict(40, T=0), "T"), (lambda: r.flip_probability(40, 1, n_bits=0), "n_bits"),
                       (lambda: r.escape_time(20, 1.2), "i"), (lambda: r.stt_critical_current(1e5, 1e-24, 0.01, P=2), "P")]:
        with pytest.raises(ValueError, match=name):
            call()


def test_exact_escape_time_against_brown_and_the_fokker_planck_solution():
    # Brown's high-barrier formula is the large-Δ limit of the exact mean first-passage time; its relative
    # error falls like 1/Δ_eff (measured: 6.4 % at Δ_eff = 14.7, 1.5 % at 58.8)
    for D, i, tol in ((30, 0.3, 0.08), (120, 0.3, 0.02)):
        ex = r.escape_time(D, i, alpha=0.1, B_K=1.0, x_abs=-0.5)
        br = r.escape_time(D, i, alpha=0.1, B_K=1.0, method="brown")
        assert br == pytest.approx(ex, rel=tol)
    # the time-dependent Fokker–Planck solution: exponential at a high barrier with the same mean time (two
    # independent numerical routes: quadrature of the MFPT integral, diagonalization of the generator)
    tau = r.escape_time(30, 0.3, alpha=0.1, B_K=1.0)
    P = r.axial_flip_probability(np.array([0.5, 2.0]) * tau, 30, 0.3, alpha=0.1, B_K=1.0)
    assert P == pytest.approx(1 - np.exp(-np.array([0.5, 2.0])), rel=2e-4)
    # no barrier crossing without time
    assert r.axial_flip_probability(0.0, 30, 0.3, alpha=0.1, B_K=1.0) == pytest.approx(0.0, abs=1e-12)


def test_macrospin_critical_current_formulas():
    # Ic0 = 2eα K V/(ħ P/2) for Λ = 1; Λ ≠ 1 makes the AP → P current smaller
    K, V, a = 2e5, math.pi * (20e-9) ** 2 * 1e-9, 0.01
    Ic = r.stt_critical_current(K, V, a, P=0.6)
    assert Ic == pytest.approx(4 * e * a * K * V / (hbar * 0.6))
    assert r.stt_critical_current(K, V, a, P=0.6, Lambda=2.0, state="AP") < r.stt_critical_current(
        K, V, a, P=0.6, Lambda=2.0, state="P")
    # in-plane: Sun's B_K + B_d/2 (Ic0 = (2eα/ħε)(Ms V/2)(B_K + B_d/2))
    Ms, BK, Bd = 8e5, 0.02, 0.9
    assert r.stt_critical_current(Ms * BK / 2, V, a, P=0.6, B_d=Bd, Ms=Ms) == pytest.approx(
        2 * e * a / (hbar * 0.3) * Ms * V / 2 * (BK + Bd / 2))
    with pytest.raises(ValueError, match="Ms"):
        r.stt_critical_current(K, V, a, B_d=1.0)
    Jc = r.sot_critical_current_density_perpendicular(1e6, 1e-9, 0.3, 0.1, 0.0)
    assert Jc == pytest.approx(2 * e / hbar * 1e6 * 1e-9 / 0.3 * 0.05)
    assert r.sot_critical_current_density_inplane(0.01, 8e5, 1e-9, -0.3, 0.02, 1.0) == pytest.approx(
        2 * e / hbar * 0.01 * 8e5 * 1e-9 / 0.3 * 0.52)
    assert r.figure_of_merit(60, 30e-6) == pytest.approx(2.0)


def test_binomial_interval():
    lo, hi = r.binomial_interval(0, 10, 0.95)
    assert lo == 0 and hi == pytest.approx(1 - 0.025 ** (1 / 10))  # the exact zero-event bound
    lo, hi = r.binomial_interval(5, 10, 0.95)
    assert lo == pytest.approx(0.18709, abs=1e-5) and hi == pytest.approx(0.81291, abs=1e-5)


# ---------------------------------------------------------------------------------------------- thermal batches
def _read_disturb_batch(backend, N, seed=7):
    """Macrospins (one cubic cell, demag off, Δ0 = K V/kT = 12 at 300 K, B_K = 1 T, α = 1) read with a
    current through a junction polarized along +z, I/Ic0 = 0.4 and 0.55 (Δ_eff = 4.3 and 2.4), for 0.3 ns
    at 300 K from m = +z, stochastic Heun with Δt = 0.1 ps; a member has flipped once it has been seen with
    mz < 0 (sampled every 1 ps). Returns [(i, flipped, N)]."""
    Ms, K, alpha, T = 1e6, 5e5, 1.0, 300.0
    V = 12.0 * kB * T / K
    a = V ** (1 / 3)
    P = 0.6
    Jc0 = alpha * (2 * K / Ms) * e * Ms * a / (hbar * P / 2)  # β ε = α B_K
    iis = (0.4, 0.55)
    J = -np.repeat(iis, N) * Jc0  # J < 0 drives m away from p = +z
    sim = mm.Simulation(mm.Grid(n=(1, 1, 1), cell=(a, a, a)),
                        material=mm.Material(Ms=Ms, Ku1=K, anis_u=(0, 0, 1), alpha=alpha), demag=False,
                        batch=len(J), backend=backend, dt=1e-13)
    sim.add(mm.SlonczewskiSTT(sim.system, J=J, p=(0, 0, 1), P=P, Lambda=1.0, t_F=a))
    sim.m = (0, 0, 1)
    sim.seed = seed
    sim.temperature = T
    crossed = np.zeros(len(J), bool)
    for _ in range(300):
        sim.run(1e-12, progress=False)
        crossed |= sim.m_avg[:, 2] < 0
    return [(i, int(crossed[k * N:(k + 1) * N].sum()), N) for k, i in enumerate(iis)]


def _check_read_disturb(results, conf):
    Delta0, alpha, t_read = 12.0, 1.0, 0.3e-9
    Ic0 = 1.0  # the model takes I/Ic0 only
    for i, k, n in results:
        exact = r.axial_flip_probability(t_read, Delta0, i, alpha=alpha, B_K=1.0)
        # the thermally activated model Δ(I) = Δ (1 − I/Ic0)², with the macrospin's own attempt time
        tau0 = r.escape_time(Delta0, i, alpha=alpha, B_K=1.0) / math.exp(Delta0 * (1 - i) ** 2)
        model = r.read_disturb_probability(Delta0, i * Ic0, Ic0, t_read, tau0=tau0, exponent=2.0)
        lo, hi = r.binomial_interval(k, n, conf)
        assert lo <= exact <= hi, (i, k, n, exact)
        # the model assumes escape from a thermalized well at a constant rate; from the pole the first
        # relaxation time (~(1+α²)/(αγB_K) = 11 ps) adds less: +11 % at i = 0.4, +0.2 % at i = 0.55 here
        assert model == pytest.approx(exact, rel=0.15)
    # the current matters: the higher read current flips clearly more often
    assert results[1][1] / results[1][2] > results[0][1] / results[0][2] + 0.2


@pytest.mark.parametrize("backend", ["cpu", "emulate"])
def test_read_disturb_against_thermal_batch_quick(backend):
    """200 members per current. Exact P = 0.21 and 0.63: the binomial standard deviations are 0.029 and 0.034;
    the criterion is that the exact Fokker–Planck probability lies inside the 99.9 % Clopper–Pearson
    interval of the simulated fraction (two currents: a false alarm in 1/500 runs with a correct code;
    a 20 % error of the barrier moves P at i = 0.4 from 0.21 to 0.10 or 0.41, well out of it)."""
    _check_read_disturb(_read_disturb_batch(backend, 200), 0.999)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["cpu", "emulate"])
def test_read_disturb_against_thermal_batch_full(backend):
    """2000 members per current (4000 in one batch): standard deviations 0.009 and 0.011; the 99 % interval
    (half-width ~0.025) still holds the exact value, and the Heun bias at Δt = 0.1 ps is below it."""
    _check_read_disturb(_read_disturb_batch(backend, 2000, seed=11), 0.99)

"""An Ubermag system without a Precession term: the LLG without its precession term (OOMMF's do_precess 0),
spin-transfer torques included, on both backends; each against a closed form."""
import math

import numpy as np
import pytest

df = pytest.importorskip("discretisedfield")
mm = pytest.importorskip("micromagneticmodel")

import micromag.apps.ubermag as mc  # noqa: E402

pytestmark = pytest.mark.usefixtures("each_backend")
GAMMA0 = 2.211e5  # m/(A s), OOMMF's default (used without a Precession term)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def _macrospin(name):
    mesh = df.Mesh(p1=(0, 0, 0), p2=(2e-9, 2e-9, 2e-9), n=(1, 1, 1))
    system = mm.System(name=name)
    return system, mesh


def test_damping_only_closed_form():
    """dm/dt = −γ0 α/(1+α²) m × (m × H): m turns towards H in its plane (m_y stays 0: no precession) with
    tan(θ/2) = tan(θ0/2) exp(−γ0 α H t/(1+α²))."""
    H, alpha = 1e6, 0.5
    system, mesh = _macrospin("noprec")
    system.energy = mm.Zeeman(H=(0, 0, H))
    system.dynamics = mm.Damping(alpha=alpha)
    system.m = df.Field(mesh, nvdim=3, value=(1, 0, 1), norm=8e5)
    mc.TimeDriver().drive(system, t=20e-12, n=10, verbose=0)
    tab = system.table.data
    t = tab["t"].to_numpy()
    th = 2 * np.arctan(math.tan(math.pi / 8) * np.exp(-GAMMA0 * alpha * H * t / (1 + alpha**2)))
    np.testing.assert_allclose(tab["mz"], np.cos(th), atol=2e-6)
    np.testing.assert_allclose(tab["mx"], np.sin(th), atol=2e-6)
    np.testing.assert_allclose(tab["my"], 0.0, atol=1e-12)


def test_slonczewski_without_field_equals_with_precession():
    """With no field the precession term γ m × H vanishes, so a Slonczewski-driven macrospin moves the same
    with and without a Precession term (same γ0): the spin-transfer torque is kept whole without precession
    (OOMMF's do_precess 0 drops m × H only)."""
    tables = []
    for prec in (True, False):
        system, mesh = _macrospin(f"stt{int(prec)}")
        system.energy = mm.Zeeman(H=(0, 0, 0))
        dyn = mm.Damping(alpha=0.1) + mm.Slonczewski(J=5e11, mp=(0, 0, 1), P=0.4, Lambda=2, eps_prime=0.1)
        system.dynamics = (mm.Precession(gamma0=GAMMA0) + dyn) if prec else dyn
        system.m = df.Field(mesh, nvdim=3, value=(1, 0, 0.3), norm=8e5)
        mc.TimeDriver().drive(system, t=50e-12, n=5, verbose=0)
        tables.append(system.table.data)
    moved = abs(tables[0]["mz"].iloc[-1] - tables[0]["mz"].iloc[0]) + abs(tables[0]["my"].iloc[-1])
    assert moved > 1e-2, "the torque should move m in 50 ps"
    for q in ("mx", "my", "mz"):
        np.testing.assert_allclose(tables[1][q], tables[0][q], atol=1e-9)


def test_temperature_without_precession_samples_boltzmann():
    """Without precession the thermal field's temperature is scaled by (1+α²)/α² so that the damping-only
    equation samples Boltzmann's distribution: 400 uncoupled 2 nm macrospins in H along z have
    <mz> = L(ξ) = coth ξ − 1/ξ, ξ = μ0 Ms V H / (kB T) (Langevin). ξ = 2 here: L = 0.537; an unscaled noise
    (α = 1: half the temperature) would give L(4) = 0.750. Statistical error of the time and ensemble
    average ~0.01."""
    kB, T, Ms, alpha = 1.380649e-23, 300.0, 8e5, 1.0
    V = (2e-9) ** 3
    xi = 2.0
    H = xi * kB * T / (mm.consts.mu0 * Ms * V)
    mesh = df.Mesh(p1=(0, 0, 0), p2=(40e-9, 40e-9, 2e-9), n=(20, 20, 1))
    system = mm.System(name="thermal_noprec")
    system.energy = mm.Zeeman(H=(0, 0, H))
    system.dynamics = mm.Damping(alpha=alpha)
    system.m = df.Field(mesh, nvdim=3, value=(0, 0, 1), norm=Ms)
    system.T = T
    mc.TimeDriver(evolver=mc.Xf_ThermHeunEvolver()).drive(system, t=200e-12, n=40, verbose=0)
    mz = system.table.data["mz"].to_numpy()[10:]  # after 50 ps: relaxation time (1+α²)/(α γ0 H) = 9 ps
    langevin = 1 / math.tanh(xi) - 1 / xi
    assert abs(mz.mean() - langevin) < 0.03  # measured 0.545 (scaled), 0.753 (unscaled)

"""VCMA: anisotropy change ξV/(t_ox t_F), field and energy, precessional switching by a voltage pulse."""
import numpy as np
import pytest

import micromag as mm
from micromag.engine.drives import Drive, Pulse
from micromag.engine.terms.vcma import VCMA

pytestmark = pytest.mark.usefixtures("each_backend")  # every test on backend cpu and emulate


def cell(Ms=1e6, K=1e5, alpha=0.02, batch=1, n=(1, 1, 1), d=1e-9):
    g = mm.Grid(n, (d, d, d))
    return mm.Simulation(g, material=mm.Material(Ms=Ms, alpha=alpha, Ku1=K), demag=False, batch=batch)


def test_delta_K_matches_formula():
    sim = cell(n=(1, 1, 2))  # t_F defaults to nz·dz = 2 nm
    xi, t_ox = 80e-15, 1.2e-9
    v = VCMA(sim.system, V=0.7, xi=xi, t_ox=t_ox)
    assert v.t_F == pytest.approx(2e-9)
    assert v.delta_Ki(0.7) == pytest.approx(-xi * 0.7 / t_ox, rel=1e-14)
    assert v.delta_K(0.7) == pytest.approx(-xi * 0.7 / (t_ox * 2e-9), rel=1e-14)
    assert abs(v.delta_K(0.7)) == pytest.approx(xi * 0.7 / (t_ox * 2e-9), rel=1e-14)
    np.testing.assert_allclose(v.delta_K([1.0, -1.0]), [-xi / (t_ox * 2e-9), xi / (t_ox * 2e-9)])
    v2 = VCMA(sim.system, V=0.7, xi=xi, t_ox=t_ox, t_F=1e-9)
    assert v2.delta_K(0.7) == pytest.approx(2 * v.delta_K(0.7))


def test_field_and_energy_numerically():
    sim = cell(batch=2)
    xi, t_ox, Ms = 1e-13, 1e-9, 1e6
    v = VCMA(sim.system, V=[1.0, -0.5], xi=xi, t_ox=t_ox, axis=(1, 1, 0))
    dK = -xi * np.array([1.0, -0.5]) / (t_ox * 1e-9)
    m = np.zeros((2, 3, 1, 1, 1))
    m[:, :, 0, 0, 0] = [0.6, 0.0, 0.8]
    u = np.array([1, 1, 0]) / np.sqrt(2)
    mu = 0.6 / np.sqrt(2)
    B = v.field(m)[:, :, 0, 0, 0]
    np.testing.assert_allclose(B, (2 * dK / Ms * mu)[:, None] * u, rtol=1e-12)
    np.testing.assert_allclose(v.energy(m), -dK * mu**2 * 1e-27, rtol=1e-12)
    # the field is −(1/(Ms V)) ∂E/∂m
    eps = 1e-6
    for c in range(3):
        mp, mm_ = m.copy(), m.copy()
        mp[:, c] += eps
        mm_[:, c] -= eps
        dE = (v.energy(mp) - v.energy(mm_)) / (2 * eps)
        np.testing.assert_allclose(-dE / (Ms * 1e-27), B[:, c], rtol=1e-6, atol=1e-12)
    assert sim.add(v).name == "vcma"
    assert "vcma" in sim.energies()


def test_cancels_perpendicular_anisotropy():
    """V chosen so that ΔK = −Ku1: the total uniaxial field vanishes."""
    sim = cell(K=1e5)
    v = sim.add(VCMA(sim.system, V=1.0, xi=1e-13, t_ox=1e-9))  # ΔK = −1e-13/(1e-18) = −1e5
    sim.m = (0.3, 0.2, 0.9)
    assert np.max(np.abs(sim.effective_field())) < 1e-12
    assert v.delta_K(1.0) == pytest.approx(-1e5)


def test_precessional_switching_near_half_period():
    """Perpendicular macrospin (Ku1 = 1e5 J/m³, Ms = 1e6 A/m: B_K = 0.2 T), in-plane bias Bx = 50 mT, at
    its tilted equilibrium sin θ0 = Bx/B_K. A 1 V pulse (ξ = 100 fJ/(V·m), t_ox = t_F = 1 nm) makes
    ΔK = −Ku1, so during the pulse the effective field is Bx alone and m precesses about x̂ with the
    Gilbert period 2π(1 + α²)/(γ Bx) = 714 ps; after half a period m sits near (sin θ0, 0, −cos θ0), the
    reversed equilibrium, and stays there when the anisotropy returns; after a full period it is back.
    Widths 0.8, 1.0, 1.2 × half period switch; 1.8, 2.0, 2.2 × half period (near a full period) do not.
    """
    Ms, K, alpha, Bx = 1e6, 1e5, 0.02, 0.05
    gamma = mm.Material(Ms=1).gamma
    half = np.pi * (1 + alpha**2) / (gamma * Bx)
    widths = half * np.array([0.8, 1.0, 1.2, 1.8, 2.0, 2.2])

    class Widths(Drive):  # per-member pulse widths, 1 V
        def __call__(self, t):
            return np.where(np.asarray(t) < widths, 1.0, 0.0)

    sim = cell(Ms=Ms, K=K, alpha=alpha, batch=len(widths))
    sim.add(VCMA(sim.system, V=Widths(), xi=1e-13, t_ox=1e-9))
    sim.B_ext = (Bx, 0, 0)
    th = np.arcsin(Bx * Ms / (2 * K))
    sim.m = (np.sin(th), 0, np.cos(th))
    sim.run(3e-9, progress=False)
    mz = sim.m_avg[:, 2]
    assert np.all(mz[:3] < -0.9), mz
    assert np.all(mz[3:] > 0.9), mz


def test_pulse_drive_single_member():
    sim = cell()
    v = sim.add(VCMA(sim.system, V=Pulse(1.0, width=1e-10, start=1e-10), xi=1e-13, t_ox=1e-9))
    m = np.zeros((1, 3, 1, 1, 1))
    m[:, 2] = 1
    assert v.field(m, t=[0.0])[0, 2, 0, 0, 0] == 0.0
    assert v.field(m, t=[1.5e-10])[0, 2, 0, 0, 0] == pytest.approx(2 * -1e5 / 1e6)


@pytest.mark.parametrize("kw, word", [
    (dict(xi=float("nan")), "xi"), (dict(t_ox=0.0), "t_ox"), (dict(t_ox=-1e-9), "t_ox"), (dict(t_F=0.0), "t_F"),
    (dict(axis=(0, 0, 0)), "axis"), (dict(axis=(1, 0)), "axis"),
])
def test_bad_inputs(kw, word):
    sim = cell()
    args = dict(V=1.0, xi=1e-13, t_ox=1e-9)
    args.update(kw)
    with pytest.raises(ValueError, match=word):
        VCMA(sim.system, **args)


def test_bad_voltage_length():
    sim = cell(batch=2)
    with pytest.raises(ValueError, match="^V: "):  # before any work: when the term joins the batch
        sim.add(VCMA(sim.system, V=[1.0, 2.0, 3.0], xi=1e-13, t_ox=1e-9))

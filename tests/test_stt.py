"""Slonczewski spin-transfer torque: macrospin steady precession, sign per current polarity, ε(m·p)."""
import numpy as np
import pytest

import micromag as mm
from micromag.engine.constants import e, hbar
from micromag.engine.drives import DC, Pulse
from micromag.engine.terms.stt import SlonczewskiSTT

pytestmark = pytest.mark.usefixtures("each_backend")  # every test on backend cpu and emulate

Ms, tF = 1e6, 1e-9


def macrospin(K, alpha, batch=1):
    """One 1 nm cell, uniaxial Ku1 = K along z (K < 0: easy plane, z the hard axis), no demag."""
    g = mm.Grid((1, 1, 1), (tF, tF, tF))
    mat = mm.Material(Ms=Ms, alpha=alpha, Ku1=K, anis_u=(0, 0, 1))
    return mm.Simulation(g, material=mat, demag=False, batch=batch)


def beta(J):
    return hbar * J / (e * Ms * tF)  # T


def test_prefactor_and_formula():
    sim = macrospin(-1e5, 0.1)
    stt = SlonczewskiSTT(sim.system, J=1e11, P=0.6, Lambda=2.0, eps_prime=0.3)
    assert stt.beta(1e11) == pytest.approx(hbar * 1e11 / (e * Ms * tF), rel=1e-12)
    m = np.array([0.6, 0.0, 0.8]).reshape(1, 3, 1, 1, 1)
    p = np.array([0.0, 0.0, 1.0])
    T = stt.torque(m)[0, :, 0, 0, 0]
    mv = m[0, :, 0, 0, 0]
    L2 = 4.0
    eps = 0.6 * L2 / ((L2 + 1) + (L2 - 1) * 0.8)
    gam = sim.system.uniform("gamma")
    expect = gam * beta(1e11) * (eps * np.cross(mv, np.cross(p, mv)) + 0.3 * np.cross(p, mv))
    np.testing.assert_allclose(T, expect, rtol=1e-12)
    assert stt.epsilon(0.8) == pytest.approx(eps)
    assert sim.add(stt).name == "stt"


@pytest.mark.parametrize("Lambda", [1.0, 2.0])
def test_macrospin_steady_precession_height(Lambda):
    """Easy-plane free layer (Ku1 = −K along z), polarizer p = ẑ.

    SI ↔ reduced units (γ = 1, anisotropy field −2K mz ẑ, damping-like torque a_J): the anisotropy field is
    −(2K/Ms) mz ẑ (T) and the damping-like torque is γ β ε m × (p × m), so a_J ↔ β ε and K ↔ K/Ms. With
    B ∥ ẑ and p = ẑ the z component of our LLG is exactly
        dmz/dt = γ (1 − mz²) [β ε(mz) − α (2K/Ms) mz] / (1 + α²),
    so the steady precession height is mz = β ε Ms / (2 α K) = a_J / (2 α K) (analytic.md) for Λ = 1 (ε = P/2),
    and for Λ ≠ 1 the root of β P Λ² = (2αK/Ms) mz ((Λ²+1) + (Λ²−1) mz). Tolerance 1e-4 (the fixed point is
    exact; the integrator error is far below that after 4 ns ≈ 15 relaxation times).
    """
    K, alpha, P, J = 1e5, 0.2, 0.6, 1e11
    sim = macrospin(-K, alpha)
    sim.add(SlonczewskiSTT(sim.system, J=J, P=P, Lambda=Lambda))
    sim.m = (1.0, 0.0, 0.01)
    sim.run(4e-9, progress=False)
    c = 2 * alpha * K / Ms
    if Lambda == 1.0:
        mz = beta(J) * (P / 2) / c
        assert mz == pytest.approx(0.49366, abs=1e-4)
    else:
        L2 = Lambda**2
        # c (L2 − 1) mz² + c (L2 + 1) mz − β P L2 = 0, the root in (−1, 1)
        roots = np.roots([c * (L2 - 1), c * (L2 + 1), -beta(J) * P * L2])
        mz = float(roots[(roots > -1) & (roots < 1)][0].real)
        assert abs(mz - beta(J) * (P / 2) / c) > 0.05  # ε(m·p) matters at this height
    m = sim.m_avg
    assert m[2] == pytest.approx(mz, abs=1e-4)
    # it precesses (in-plane component keeps turning) rather than sitting still
    before = m[:2].copy()
    sim.run(0.05e-9, progress=False)
    assert np.linalg.norm(sim.m_avg[:2] - before) > 0.1
    assert sim.m_avg[2] == pytest.approx(mz, abs=1e-4)


def test_sign_per_current_polarity():
    """Perpendicular free layer Ku1 = K > 0 along z, p = +ẑ. With B = (2K/Ms) mz ẑ the LLG gives
        dmz/dt = γ (1 − mz²) [β ε + α (2K/Ms) mz] / (1 + α²).
    Near mz = −1 (AP) the state flips to +1 when β ε > α 2K/Ms, i.e. J > J_c = 2αK·2e t_F/(ħ P) (Λ = 1);
    near mz = +1 (P) it flips to −1 when β ε < −α 2K/Ms. So J > 0 (electrons from the fixed into the free
    layer) drives P and J < 0 drives AP; the opposite polarity only stabilizes the starting state.
    Members: (start, J) = (AP, +2Jc), (AP, −2Jc), (P, −2Jc), (P, +2Jc).
    """
    K, alpha, P = 1e5, 0.05, 0.6
    Jc = 2 * alpha * K * 2 * e * tF / (hbar * P)
    sim = macrospin(K, alpha, batch=4)
    J = np.array([2, -2, -2, 2]) * Jc
    sim.add(SlonczewskiSTT(sim.system, J=J, P=P))
    th = np.deg2rad(3.0)
    start = np.array([[np.sin(th), 0, -np.cos(th)], [np.sin(th), 0, -np.cos(th)],
                      [np.sin(th), 0, np.cos(th)], [np.sin(th), 0, np.cos(th)]])
    sim.m = start
    sim.run(3e-9, progress=False)
    np.testing.assert_allclose(sim.m_avg[:, 2], [1, -1, -1, 1], atol=1e-3)


def test_below_threshold_no_switch_and_pulse_drive():
    K, alpha, P = 1e5, 0.05, 0.6
    Jc = 2 * alpha * K * 2 * e * tF / (hbar * P)
    sim = macrospin(K, alpha, batch=2)
    # member 0: 0.8 Jc DC (stays), member 1: 2 Jc pulse of 0.1 ns only (too short to switch)
    drive = DC([0.8 * Jc, 0.0]) + Pulse(amplitude=[0.0, 2 * Jc], width=0.1e-9)
    sim.add(SlonczewskiSTT(sim.system, J=drive, P=P))
    th = np.deg2rad(3.0)
    sim.m = (np.sin(th), 0, -np.cos(th))
    sim.run(2e-9, progress=False)
    assert np.all(sim.m_avg[:, 2] < -0.99)


def test_polarizer_forms_and_field_like_as_field():
    sim = macrospin(-1e5, 0.1, batch=2)
    m = np.zeros((2, 3, 1, 1, 1))
    m[:, 0] = 1.0
    a = SlonczewskiSTT(sim.system, J=1e11, p=(0, 0, 2), eps_prime=0.5, P=0.0)
    b = SlonczewskiSTT(sim.system, J=1e11, p=np.array([[0, 0, 1], [0, 0, 1]]), eps_prime=0.5, P=0.0)
    c = SlonczewskiSTT(sim.system, J=1e11, p=np.ones((3, 1, 1, 1)) * np.array([0, 0, 1.0])[:, None, None, None],
                       eps_prime=0.5, P=0.0)
    d = SlonczewskiSTT(sim.system, J=1e11, p=lambda t: (0, 0, 1), eps_prime=0.5, P=0.0)
    Ta = a.torque(m)
    for o in (b, c, d):
        np.testing.assert_allclose(o.torque(m), Ta, rtol=1e-12)
    # ε′ term = −γ m × (β ε′ p): the torque of a field β ε′ p
    gam = sim.system.uniform("gamma")
    Bfl = a.beta(1e11) * 0.5 * np.array([0, 0, 1.0])
    np.testing.assert_allclose(Ta[0, :, 0, 0, 0], -gam * np.cross([1, 0, 0], Bfl), rtol=1e-12)


def test_mtj_bias_drives_stt():
    from micromag.apps.readout import MTJ

    sim = macrospin(-1e5, 0.1)
    mtj = MTJ(sim.system, RA_P=5e-12, TMR=1.0, area=1e-16, V_bias=0.5)
    stt = SlonczewskiSTT(sim.system, J=mtj, P=0.6)
    m = np.zeros((1, 3, 1, 1, 1))
    m[:, 2] = 1.0  # P state: J = V / RA_P
    assert stt.current_density(m, np.zeros(1))[0] == pytest.approx(0.5 / 5e-12)


@pytest.mark.parametrize("kw, word", [
    (dict(P=1.5), "P"), (dict(P=-0.1), "P"), (dict(Lambda=0.0), "Lambda"), (dict(Lambda=float("nan")), "Lambda"),
    (dict(eps_prime=float("inf")), "eps_prime"), (dict(t_F=0.0), "t_F"), (dict(t_F=-1e-9), "t_F"),
    (dict(p=(0, 0, 0)), "p"), (dict(p=(1, 2)), "p"), (dict(mask=np.ones((2, 2, 2))), "mask"),
])
def test_bad_inputs(kw, word):
    sim = macrospin(-1e5, 0.1)
    with pytest.raises(ValueError, match=word):
        SlonczewskiSTT(sim.system, J=1e11, **kw)


def test_bad_batch():
    sim = macrospin(-1e5, 0.1, batch=2)
    with pytest.raises(ValueError, match="^J: "):  # before any work: when the term joins the batch
        sim.add(SlonczewskiSTT(sim.system, J=[1e11, 2e11, 3e11]))

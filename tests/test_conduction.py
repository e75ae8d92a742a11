"""Heavy-metal layers and the write line's current density (2D conduction solve)."""
import math

import numpy as np
import pytest

import micromag as mm
from micromag.engine.heavy_metal import (BetaW, HeavyMetal, Pt, Ta, WriteLine, shunt_fraction,
                                  spin_diffusion_factor)
from micromag.engine.terms.sot import SpinOrbitTorque

D = 2e-9
HM = HeavyMetal(theta_sh=-0.3, resistivity=2.6e-6, thickness=4e-9, name="test")


def grid(nx=40, ny=30):
    return mm.Grid(n=(nx, ny, 1), cell=(D, D, 1e-9))


def cuts_x(Ix):
    """Net current through every vertical cut (between columns i and i+1)."""
    return Ix.sum(axis=0)


def test_presets_and_sources():
    w, ta, pt = BetaW(), Ta(), Pt()
    assert w.theta_sh == -0.30 and 200e-8 <= w.resistivity <= 300e-8  # Pai et al. 2012
    assert -0.15 <= ta.theta_sh <= -0.12  # Liu et al., Science 2012
    assert 0.07 <= pt.theta_sh <= 0.1
    assert pt.lambda_sf == pytest.approx(1.4e-9)
    for f in (BetaW, Ta, Pt):
        assert "Source" in f.__doc__ or "source" in f.__doc__
    assert BetaW(thickness=3e-9).thickness == 3e-9


def test_spin_diffusion_factor():
    assert spin_diffusion_factor(1e-9, 1e-9) == pytest.approx(1 - 1 / math.cosh(1.0))
    assert spin_diffusion_factor(50e-9, 1e-9) == pytest.approx(1.0)
    assert spin_diffusion_factor(1e-11, 1e-9) == pytest.approx(0.5e-4, rel=1e-3)  # t²/(2λ²)
    hm = Pt(thickness=2.8e-9)
    assert hm.theta_eff == pytest.approx(0.07 * (1 - 1 / math.cosh(2.0)))
    assert HeavyMetal(theta_sh=0.1, resistivity=1e-7, thickness=1e-9).theta_eff == 0.1


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"thickness.*\(0"):
        HeavyMetal(theta_sh=0.1, resistivity=1e-7, thickness=-5e-9)
    with pytest.raises(ValueError, match=r"theta_sh.*\(-1"):
        HeavyMetal(theta_sh=1.2, resistivity=1e-7, thickness=5e-9)
    with pytest.raises(ValueError, match="resistivity"):
        HeavyMetal(theta_sh=0.1, resistivity=0.0, thickness=5e-9)
    with pytest.raises(ValueError, match="lambda_sf"):
        HeavyMetal(theta_sh=0.1, resistivity=1e-7, thickness=5e-9, lambda_sf=-1e-9)
    with pytest.raises(ValueError, match="electrodes"):
        WriteLine(electrodes=("-x", "+z"))
    with pytest.raises(ValueError, match="exactly one"):
        WriteLine(heavy_metal=HM).current_density(grid(), I=1e-3, J=1e11)
    # electrodes that do not touch the line
    line = WriteLine(shape=mm.Box((20 * D, 6 * D, None)), heavy_metal=HM)
    with pytest.raises(ValueError, match="electrode"):
        line.current_density(grid(), I=1e-3)
    # a line that misses the free layer
    g = grid()
    sys_ = mm.System(g, mm.Material(Ms=1e6), geometry=mm.Ellipse((10 * D, 10 * D), center=(0, 10 * D)))
    with pytest.raises(ValueError, match="does not touch the free layer"):
        WriteLine(width=4 * D, center_y=-10 * D, heavy_metal=HM).current_density(g, I=1e-3, system=sys_)


def test_straight_stripe_analytic_and_solved():
    g = grid()
    w, I = 10 * D, 2e-3
    J0 = I / (w * HM.thickness)
    Ja = WriteLine(width=w, heavy_metal=HM).current_density(g, I=I)
    inside = np.abs(g.axis_coords(1)) < w / 2
    np.testing.assert_allclose(Ja[0][inside], J0, rtol=1e-14)
    assert np.all(Ja[:, ~inside] == 0) and np.all(Ja[1] == 0)
    # the same stripe as a general shape goes through the sparse solve
    line = WriteLine(shape=mm.Box((None, w, None)), heavy_metal=HM)
    sol = line.solve(g, I)
    np.testing.assert_allclose(sol["J"][0][inside], J0, rtol=1e-10)
    np.testing.assert_allclose(sol["J"][1], 0.0, atol=1e-10 * J0)
    np.testing.assert_allclose(cuts_x(sol["Ix"]), I, rtol=1e-10)
    # resistance between the electrode columns (cell centres (nx−1) dx apart)
    assert sol["R"] == pytest.approx(HM.resistivity * (g.nx - 1) * D / (w * HM.thickness), rel=1e-10)
    # reversed electrodes reverse the current
    Jr = WriteLine(width=w, electrodes=("+x", "-x"), heavy_metal=HM).current_density(g, I=I)
    np.testing.assert_allclose(Jr, -Ja)


def test_L_shaped_line_conserves_current():
    g = grid(40, 40)
    L = 40 * D
    # horizontal arm from the left edge, vertical arm up to the top edge
    verts = [(-L / 2 - D, -6 * D), (8 * D, -6 * D), (8 * D, L / 2 + D), (-2 * D, L / 2 + D), (-2 * D, 4 * D),
             (-L / 2 - D, 4 * D)]
    line = WriteLine(shape=verts, electrodes=("-x", "+y"), heavy_metal=HM)
    I = 1e-3
    sol = line.solve(g, I)
    Ix, Iy = sol["Ix"], sol["Iy"]
    f = line.fill(g)
    cols = np.nonzero(f[0 + 15])[0]  # a row in the horizontal arm
    # vertical cuts left of the vertical arm and horizontal cuts above the horizontal arm separate the electrodes
    x_arm = np.nonzero(f[-1] > 0)[0].min()
    for i in range(0, x_arm - 1):
        assert Ix[:, i].sum() == pytest.approx(I, rel=1e-6)
    y_arm = np.nonzero(f[:, 0] > 0)[0].max()
    for j in range(y_arm + 1, g.ny - 1):
        assert Iy[j, :].sum() == pytest.approx(I, rel=1e-6)
    # and no current leaves anywhere else: divergence-free in every non-electrode cell
    div = np.zeros((g.ny, g.nx))
    div[:, :-1] += Ix; div[:, 1:] -= Ix; div[:-1, :] += Iy; div[1:, :] -= Iy
    inner = (f > 0)
    inner[:, 0] = False; inner[-1, :] = False
    assert np.abs(div[inner]).max() < 1e-9 * I
    assert len(cols) > 0
    # current crowding at the inner corner: |J| there exceeds the far-arm value
    Jm = np.hypot(*sol["J"])
    J_arm = Jm[15, 3]
    assert Jm[f > 0].max() > 1.5 * J_arm


@pytest.mark.parametrize("angle", [20.0, 35.0])
def test_tilted_stripe_conserves_current(angle):
    g = grid(48, 48)
    stripe = mm.Box((200 * D, 12 * D, None)).rotate(angle)
    line = WriteLine(shape=stripe, heavy_metal=HM)
    I = 1e-3
    sol = line.solve(g, I)
    np.testing.assert_allclose(cuts_x(sol["Ix"]), I, rtol=1e-6)
    # far from the electrodes the current runs along the stripe
    J = sol["J"][:, 24, 24]
    assert math.degrees(math.atan2(J[1], J[0])) == pytest.approx(angle, abs=3.0)


def test_notch_current_crowding():
    g = grid(60, 20)
    w, I = 12 * D, 1e-3
    notch = mm.Box((6 * D, 6 * D, None), center=(0, w / 2 - 3 * D))
    line = WriteLine(shape=mm.Box((None, w, None)) - notch, heavy_metal=HM)
    sol = line.solve(g, I)
    np.testing.assert_allclose(cuts_x(sol["Ix"]), I, rtol=1e-9)
    J0 = I / (w * HM.thickness)
    Jx = sol["J"][0]
    far = Jx[10, 3]
    assert far == pytest.approx(J0, rel=1e-3)
    # through the notch the mean current density is I/((w − 6 dy) t) and the peak is higher still
    f = line.fill(g)
    col = g.nx // 2
    assert np.nanmax(Jx[:, col]) > J0 * w / (w - 6 * D)
    assert (Jx[:, col] * f[:, col]).sum() * D * HM.thickness == pytest.approx(I, rel=0.05)


def test_shunting_fraction():
    assert shunt_fraction(2.6e-6, 4e-9, 1.6e-6, 1e-9) == pytest.approx((4 / 2.6) / (4 / 2.6 + 1 / 1.6))
    frac = HM.shunt_fraction(1.6e-6, 1e-9)
    # a free layer covering the whole stripe: the solve gives J_HM = fraction · I/(w t)
    g = grid()
    w, I = 10 * D, 1e-3
    line = WriteLine(width=w, heavy_metal=HM)
    J = line.current_density(g, I=I, shunt=(1.6e-6, 1e-9, np.ones((g.ny, g.nx))))
    inside = np.abs(g.axis_coords(1)) < w / 2
    np.testing.assert_allclose(J[0][inside], frac * I / (w * HM.thickness), rtol=1e-9)
    # a small magnet shunts locally: the HM current density dips under it
    sys_ = mm.System(g, mm.Material(Ms=1e6), geometry=mm.Ellipse((8 * D, 8 * D)))
    J2 = line.current_density(g, I=I, shunt=(1.6e-6, 1e-9, sys_))
    jc = g.ny // 2
    assert J2[0, jc, g.nx // 2] < J2[0, jc, 2]


def test_pattern_drives_sot_with_crowding():
    """A solved pattern fed to the SOT: σ follows the local current direction and B_DL its magnitude."""
    g = mm.Grid(n=(48, 48, 1), cell=(D, D, 1e-9))
    stripe = mm.Box((200 * D, 16 * D, None)).rotate(30)
    line = WriteLine(shape=stripe, heavy_metal=HM)
    sys_geom = mm.Ellipse((10 * D, 6 * D)).rotate(30)
    sim = mm.Simulation(g, material=mm.Material(Ms=1e6), geometry=sys_geom, demag=False, backend="cpu")
    pat = line.pattern(sim.system)
    sot = SpinOrbitTorque(sim.system, J=1e11, heavy_metal=HM, current_field=pat)
    mag = sim.system.magnetic[0]
    sig = sot.sigma[:, 0][:, mag]
    ang = np.degrees(np.arctan2(sig[1], sig[0]))
    assert np.all(np.abs(ang - 120.0) < 5.0)  # σ = ẑ × ĵ, ĵ at 30°
    # J is the fill-weighted mean |J| under the magnet
    w = sim.system.fill[0] * mag
    assert (sot.current_scale[0] * w).sum() / w.sum() == pytest.approx(1.0, rel=1e-12)

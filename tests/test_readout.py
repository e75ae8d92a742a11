"""MTJ readout (RA, TMR, cosine law, integration over the junction) and the switching detector."""
import numpy as np
import pytest

import micromag as mm
from micromag.apps.readout import MTJ, SwitchDetector, run_monitored

pytestmark = pytest.mark.usefixtures("each_backend")  # every test on backend cpu and emulate

RA, TMR = 5e-12, 1.46  # 5 Ω·µm², 146 %


def film(n=(10, 8, 1), d=(2e-9, 2e-9, 1e-9), geometry=None, batch=1):
    g = mm.Grid(n, d)
    return mm.Simulation(g, material=mm.Material(Ms=1e6, alpha=0.1, Ku1=5e5), geometry=geometry,
                         demag=False, batch=batch)


def state(sim, v):
    m = np.zeros(sim._shape)
    m[:, :] = np.asarray(v, float).reshape(-1, 3, 1, 1, 1) if np.ndim(v) == 2 else np.reshape(v, (1, 3, 1, 1, 1))
    return m * sim.system.magnetic


def test_parallel_antiparallel_and_90_degrees():
    sim = film(batch=3)
    mtj = MTJ(sim.system, RA_P=RA, TMR=TMR)
    area = 20e-9 * 16e-9
    assert mtj.area == pytest.approx(area)
    R = mtj.resistance(state(sim, [[0, 0, 1], [0, 0, -1], [1, 0, 0]]))
    RP = RA / area
    RAP = RA * (1 + TMR) / area
    R90 = 2 * RA * (1 + TMR) / ((2 + TMR) * area)  # 1/G with G = (G_P + G_AP)/2
    np.testing.assert_allclose(R, [RP, RAP, R90], rtol=1e-12)
    assert mtj.R_P == pytest.approx(RP) and mtj.R_AP == pytest.approx(RAP)
    assert (R[1] - R[0]) / R[0] == pytest.approx(TMR, rel=1e-12)


def test_area_number_and_mask():
    sim = film(n=(1, 1, 1), d=(1e-9, 1e-9, 1e-9))
    mtj = MTJ(sim.system, RA_P=RA, TMR=TMR, area=np.pi * (20e-9) ** 2)  # macrospin of a 40 nm disc
    m = state(sim, [0, 0, 1])
    assert mtj.resistance(m)[0] == pytest.approx(RA / (np.pi * 4e-16), rel=1e-12)
    sim = film()
    mask = np.zeros((8, 10))
    mask[:, :5] = 1.0  # junction over the left half
    mtj = MTJ(sim.system, RA_P=RA, TMR=TMR, area=mask)
    assert mtj.area == pytest.approx(10e-9 * 16e-9)
    m = state(sim, [0, 0, 1])
    m[:, 2, :, :, 5:] = -1.0  # the right half (outside the junction) reversed: no effect
    assert mtj.resistance(m)[0] == pytest.approx(RA / mtj.area)


def test_half_switched_texture_integrates_conductances():
    """Left half P, right half AP: the halves conduct in parallel, G = (A/2)(g_P + g_AP); a smooth
    texture m = (sin θ(x), 0, cos θ(x)) gives G = Σ a_i g(θ_i)."""
    sim = film()
    mtj = MTJ(sim.system, RA_P=RA, TMR=TMR)
    A = mtj.area
    m = state(sim, [0, 0, 1])
    m[:, 2, :, :, 5:] = -1.0
    gP, gAP = 1 / RA, 1 / (RA * (1 + TMR))
    assert mtj.resistance(m)[0] == pytest.approx(1 / (A / 2 * (gP + gAP)), rel=1e-12)
    x = np.arange(10)
    th = np.pi * (x + 0.5) / 10
    m = np.zeros(sim._shape)
    m[0, 0] = np.sin(th)
    m[0, 2] = np.cos(th)
    G = sum((20e-9 * 16e-9 / 10) * ((gP + gAP) / 2 + (gP - gAP) / 2 * np.cos(t)) for t in th)
    assert mtj.conductance(m)[0] == pytest.approx(G, rel=1e-12)
    # fill-weighted footprint: a cell half filled counts half its area
    geom = np.ones((1, 8, 10))
    geom[..., 0] = 0.5
    sim2 = film(geometry=geom)
    assert MTJ(sim2.system, RA_P=RA, TMR=TMR).area == pytest.approx(A - 0.5 * 8 * 4e-18)


def test_bias_current_and_table_values():
    sim = film(batch=2)
    mtj = MTJ(sim.system, RA_P=RA, TMR=TMR, p_ref=(0, 0, -1), V_bias=[0.2, -0.1])
    assert mtj.table_columns() == [("R_MTJ", "Ohm"), ("V_MTJ", "V"), ("I_MTJ", "A")]
    m = state(sim, [0, 0, 1])  # AP to p_ref = −z
    vals = mtj.table_values(m, [0.0, 0.0])
    RAP = RA * (1 + TMR) / mtj.area
    np.testing.assert_allclose(vals, [[RAP, 0.2, 0.2 / RAP], [RAP, -0.1, -0.1 / RAP]], rtol=1e-12)
    np.testing.assert_allclose(mtj.current_density(m, [0, 0]), np.array([0.2, -0.1]) / RAP / mtj.area)
    assert MTJ(sim.system, RA_P=RA, TMR=TMR).table_columns() == [("R_MTJ", "Ohm")]
    # bias-dependent TMR: halved at V_half
    mtj = MTJ(sim.system, RA_P=RA, TMR=TMR, V_bias=0.5, V_half=0.5)
    R = mtj.resistance(state(sim, [0, 0, -1]), t=[0.0, 0.0])
    np.testing.assert_allclose(R, RA * (1 + TMR / 2) / mtj.area, rtol=1e-12)


def test_detector_interpolation():
    d = SwitchDetector("mz", threshold=0.0, direction="down")
    d.observe([0.0, 0.0, 0.0], [1.0, 1.0, -0.5])  # member 2 starts past: not armed
    d.observe([1e-9, 1e-9, 1e-9], [0.5, -0.5, -0.6])
    d.observe([2e-9, 2e-9, 2e-9], [-0.5, -1.0, 0.5])
    d.observe([3e-9, 3e-9, 3e-9], [-1.0, -1.0, -0.5])
    np.testing.assert_allclose(d.t_switch, [1.5e-9, 2e-9 / 3, 2e-9 + 0.5e-9], rtol=1e-12)
    assert d.switched.tolist() == [True, True, True]
    up = SwitchDetector(lambda sim: 0, threshold=100.0, direction="up")
    up.observe(0.0, 50.0)
    up.observe(1.0, 75.0)
    assert np.isnan(up.t_switch[0]) and not up.switched[0]
    up.observe(2.0, 150.0)
    assert up.t_switch[0] == pytest.approx(1.0 + 25.0 / 75.0)
    assert up.table_columns() == [("t_switch", "s")] and up.table_values().shape == (1, 1)


def test_detector_on_a_simulation_with_mtj():
    """Damped precession about a field −z from m ≈ +z: mz and R cross their thresholds; the detector's
    time agrees with a finely sampled crossing."""
    g = mm.Grid((1, 1, 1), (1e-9, 1e-9, 1e-9))
    sim = mm.Simulation(g, material=mm.Material(Ms=1e6, alpha=0.1), demag=False)
    sim.B_ext = (0, 0, -0.5)
    sim.m = (0.1, 0, 1)
    mtj = MTJ(sim.system, RA_P=RA, TMR=TMR, area=1e-15)
    d_mz = SwitchDetector("mz", 0.0, "down")
    d_R = SwitchDetector(mtj, 0.5 * (mtj.R_P + mtj.R_AP), "up")
    ts, vals = run_monitored(sim, 1e-9, 5e-12, detectors=(d_mz, d_R), mtj=mtj, stop_when_switched=True)
    assert d_mz.switched[0] and d_R.switched[0]
    assert vals.shape == (len(ts), 1, 1)
    # reference: rerun with 0.1 ps sampling
    sim.t = 0.0
    sim.m = (0.1, 0, 1)
    fine = SwitchDetector("mz", 0.0, "down")
    run_monitored(sim, 1e-9, 1e-13, detectors=(fine,), stop_when_switched=True)
    assert d_mz.t_switch[0] == pytest.approx(fine.t_switch[0], rel=1e-2)
    # R crosses the mid resistance later than mz crosses 0 (the cosine law: R is convex in cos θ)
    assert d_R.t_switch[0] > d_mz.t_switch[0]


@pytest.mark.parametrize("kw, word", [
    (dict(RA_P=0.0), "RA_P"), (dict(RA_P=-1e-12), "RA_P"), (dict(TMR=-0.1), "TMR"), (dict(TMR=np.nan), "TMR"),
    (dict(area=0.0), "area"), (dict(area=np.ones((3, 3))), "area"), (dict(area=np.zeros((8, 10))), "junction"),
    (dict(p_ref=(0, 0, 0)), "p_ref"), (dict(V_half=0.0), "V_half"), (dict(layer=3), "layer"),
])
def test_bad_mtj_inputs(kw, word):
    sim = film()
    args = dict(RA_P=RA, TMR=TMR)
    args.update(kw)
    with pytest.raises(ValueError, match=word):
        MTJ(sim.system, **args)


def test_bad_detector_inputs():
    with pytest.raises(ValueError, match="quantity"):
        SwitchDetector("mw", 0.0)
    with pytest.raises(ValueError, match="direction"):
        SwitchDetector("mz", 0.0, direction="sideways")
    with pytest.raises(ValueError, match="threshold"):
        SwitchDetector("mz", np.inf)
    with pytest.raises(ValueError, match="m must have shape"):
        MTJ(film().system, RA_P=RA, TMR=TMR).resistance(np.zeros((1, 3, 2, 2, 2)))

"""Material.at(T): Bloch-type Ms(T) with a Curie temperature, Callen–Callen Ku(T), A(T), and what it does to
an energy barrier."""
import math

import numpy as np
import pytest

import micromag as mm
from micromag.apps.barrier import energy_barrier
from micromag.engine.constants import kB


def test_bloch_law_and_reference_temperature():
    mat = mm.Material(Ms=1e6, A=1e-11, Ku1=5e5, Tc=800.0)  # defaults: T_ref = 300 K, p = 3/2, nK = 3, nA = 2
    assert mat.Ms_ratio(300.0) == 1.0 and mat.at(300.0) == mat
    Ms0 = 1e6 / (1 - (300 / 800) ** 1.5)  # the stored value holds at 300 K
    for T in (0.0, 100.0, 423.15, 700.0):
        assert mat.at(T).Ms == pytest.approx(Ms0 * (1 - (T / 800) ** 1.5), rel=1e-12)
    # Bloch's law: 1 − Ms(T)/Ms(0) ∝ T^{3/2}
    T = np.array([50.0, 100.0, 200.0])
    dev = np.array([1 - mat.at(t).Ms / mat.at(0.0).Ms for t in T])
    assert np.polyfit(np.log(T), np.log(dev), 1)[0] == pytest.approx(1.5, abs=1e-9)
    assert mm.Material(Ms=1e6, Tc=800.0, Ms_exponent=2.0).at(400).Ms == pytest.approx(
        1e6 * (1 - 0.25) / (1 - (300 / 800) ** 2))


def test_callen_callen_scaling():
    mat = mm.Material(Ms=1e6, A=1e-11, Ku1=5e5, Kc1=1e4, Kc2=-2e3, D_ind=1e-3, alpha=0.02, Tc=800.0, nK=2.2, nA=1.8)
    hot = mat.at(450.0)
    m = hot.Ms / mat.Ms
    assert hot.Ku1 == pytest.approx(5e5 * m**2.2) and hot.A == pytest.approx(1e-11 * m**1.8)
    assert hot.Kc1 == pytest.approx(1e4 * m**10) and hot.Kc2 == pytest.approx(-2e3 * m**21)
    assert hot.alpha == 0.02 and hot.D_ind == 1e-3 and hot.T_ref == 450.0
    # the values of the copy hold at its own T_ref: going on from there is the same as going directly
    for name in ("Ms", "A", "Ku1", "Kc1", "Kc2"):
        assert getattr(hot.at(250.0), name) == pytest.approx(getattr(mat.at(250.0), name), rel=1e-12)


@pytest.mark.parametrize("T", [-1.0, 800.0, 900.0, float("nan"), "hot"])
def test_temperature_outside_the_range_is_refused(T):
    mat = mm.Material(Ms=1e6, Tc=800.0)
    with pytest.raises(ValueError, match="T"):
        mat.at(T)


def test_bad_temperature_parameters():
    with pytest.raises(ValueError, match="Tc"):
        mm.Material(Ms=1e6, Tc=250.0)  # below T_ref = 300 K
    with pytest.raises(ValueError, match="T_ref"):
        mm.Material(Ms=1e6, Tc=800.0, T_ref=-3)
    for k in ("nK", "nA", "Ms_exponent"):
        with pytest.raises(ValueError, match=k):
            mm.Material(Ms=1e6, Tc=800.0, **{k: 0.0})
    with pytest.raises(ValueError, match="Curie temperature"):
        mm.Material(Ms=1e6).at(300.0)


def test_presets_carry_a_temperature_model_with_sources():
    for preset in (mm.Permalloy, mm.CoFeB, mm.CoFeB_perpendicular, mm.Cobalt, mm.Iron, mm.YIG):
        mat = preset()
        assert mat.Tc is not None and mat.Tc > mat.T_ref == 300.0
        assert "Tc" in preset.__doc__
    assert mm.CoFeB_perpendicular().nK == 2.0 and "approximate" in mm.CoFeB_perpendicular.__doc__
    assert mm.Cobalt().Tc == 1388.0 and mm.Cobalt().nK == 3.0
    assert mm.CoFeB_perpendicular().at(423.15).Ms < mm.CoFeB_perpendicular().Ms


@pytest.mark.parametrize("backend", ["cpu", "emulate"])
def test_barrier_follows_the_material_temperature(backend):
    """A thin single-cell CoFeB/MgO element with demag: K_eff = Ku − (μ0 Ms²/2)(Nz − Nx) with Ku ∝ m² (nK = 2)
    and the shape term ∝ Ms² ∝ m², so the barrier scales exactly as m(T)² and Δ(T) = Δ(T_ref) m² T_ref / T
    (1e-6: both barriers are converged climbing-image saddles, see test_barrier)."""
    mat = mm.CoFeB_perpendicular(thickness=1.0e-9)
    g = mm.Grid(n=(1, 1, 1), cell=(5e-9, 5e-9, 1e-9))
    deltas = {}
    for T in (300.0, 423.15):
        sim = mm.Simulation(g, material=mat.at(T), backend=backend)
        deltas[T] = energy_barrier(sim, (0, 0, 1), (0, 0, -1), images=7, progress=False).delta(T)
    m = mat.Ms_ratio(423.15)
    assert deltas[423.15] == pytest.approx(deltas[300.0] * m**2 * 300.0 / 423.15, rel=1e-6)
    assert deltas[300.0] > 0 and math.isfinite(deltas[300.0])
    assert deltas[300.0] == pytest.approx(
        energy_barrier(mm.Simulation(g, material=mat, backend=backend), (0, 0, 1), (0, 0, -1), images=7,
                       progress=False).barrier / (kB * 300.0), rel=1e-9)

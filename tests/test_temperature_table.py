"""Material.at(T) from measured tables (micromag.apps.temperature.MeasuredTemperatureDependence): the table it was
given, the power-law model where the two should agree, and the errors on bad tables."""
import numpy as np
import pytest

import micromag as mm
from micromag.engine.constants import mu0
from micromag.apps.temperature import MeasuredTemperatureDependence as Table


def _model():
    return mm.CoFeB_perpendicular()  # Tc = 750 K, p = 3/2, nK = 2, nA = 2 at T_ref = 300 K


def test_table_values_are_returned_at_the_measured_points():
    T = [200.0, 260.0, 300.0, 360.0, 430.0]
    Ms = [1.33e6, 1.29e6, 1.257e6, 1.20e6, 1.12e6]
    K_eff = [3.4e5, 3.0e5, 2.7e5, 2.25e5, 1.7e5]
    A = [1.7e-11, 1.6e-11, 1.5e-11, 1.4e-11, 1.25e-11]
    tab = Table(T=T, Ms=Ms, K_eff=K_eff, A=A, source="test wafer")
    mat = _model().with_(measured=tab)
    for k, t in enumerate(T):
        hot = mat.at(t)
        assert hot.Ms == pytest.approx(Ms[k], rel=1e-12) and hot.A == pytest.approx(A[k], rel=1e-12)
        # the model receives Ku1 = K_eff + μ0 Ms²/2 (the film's shape anisotropy added back)
        assert hot.Ku1 == pytest.approx(K_eff[k] + 0.5 * mu0 * Ms[k] ** 2, rel=1e-12)
        assert hot.T_ref == t and hot.alpha == mat.alpha
    # between the points PCHIP stays inside the bracket of a monotonic table (no overshoot)
    for a, b in zip(range(len(T) - 1), range(1, len(T))):
        mid = mat.at(0.5 * (T[a] + T[b]))
        assert min(Ms[a], Ms[b]) <= mid.Ms <= max(Ms[a], Ms[b])
        assert min(A[a], A[b]) <= mid.A <= max(A[a], A[b])
        assert tab.K_eff_at(0.5 * (T[a] + T[b])) == pytest.approx(mid.Ku1 - 0.5 * mu0 * mid.Ms**2, rel=1e-12)


def test_table_of_the_power_law_reproduces_the_power_law():
    """A table sampled from the power-law model every h kelvin gives back the model between the points: within
    the linear-interpolation bound h² max|f''|/8 and converging as h³ (PCHIP is third order for a smooth
    monotonic f, Fritsch & Carlson 1980): halving h divides the error by more than 6 (2³ = 8)."""
    model = _model()
    x = np.linspace(200.0, 450.0, 111)
    errs = []
    for h in (50.0, 25.0):
        tab = Table.from_power_law(model, np.arange(200.0, 450.0 + 1e-9, h))
        mat = model.with_(measured=tab)
        err = {}
        for name in ("Ms", "Ku1", "A"):
            exact = np.array([getattr(model.at(t), name) for t in x])
            got = np.array([getattr(mat.at(t), name) for t in x])
            d2 = np.gradient(np.gradient(exact, x), x)
            assert np.max(np.abs(got - exact)) <= h**2 / 8 * np.max(np.abs(d2)), name
            err[name] = np.max(np.abs(got / exact - 1))
        errs.append(err)
    for name in ("Ms", "Ku1", "A"):
        assert errs[0][name] / errs[1][name] > 6.0, name
    assert errs[1]["Ku1"] < 1e-4  # 25 K steps: the barrier (∝ K) to 1e-4
    # the K_eff form of the same table gives the same Ku1 at the measured points (between them it interpolates
    # K_eff, not Ku1)
    Ts = np.arange(200.0, 476.0, 25.0)
    mat = model.with_(measured=Table.from_power_law(model, Ts))
    keff = Table.from_power_law(model, Ts, keff=True)
    assert model.with_(measured=keff).at(325.0).Ku1 == pytest.approx(mat.at(325.0).Ku1, rel=1e-12)


def test_table_without_exchange_column_scales_A_with_Ms():
    model = _model()
    tab = Table(T=[250.0, 300.0, 450.0], Ms=[1.30e6, 1.257e6, 1.10e6], Ku1=[1.05e6, 1.0e6, 0.8e6])
    hot = model.with_(measured=tab).at(450.0)
    assert hot.A == pytest.approx(model.A * (1.10e6 / model.Ms) ** model.nA)
    assert hot.Ku1 == pytest.approx(0.8e6)


@pytest.mark.parametrize("kw,match", [
    (dict(T=[300.0, 250.0, 400.0]), r"strictly increasing.*T\[0\] = 300"),
    (dict(T=[300.0, 300.0, 400.0]), r"strictly increasing"),
    (dict(T=[300.0]), r"at least two"),
    (dict(Ms=[1e6, -1e6, 1e6]), r"Ms holds a value outside the allowed range \(0, inf\) A/m"),
    (dict(Ms=[1e6, 1e6]), r"Ms must hold one value per temperature \(3 values\)"),
    (dict(Ku1=None), r"exactly one of Ku1"),
    (dict(K_eff=[1.0, 2.0, 3.0]), r"exactly one of Ku1"),
    (dict(A=[1e-11, float("nan"), 1e-11]), r"A must hold finite numbers"),
])
def test_bad_tables_are_refused(kw, match):
    base = dict(T=[250.0, 300.0, 400.0], Ms=[1.1e6, 1.0e6, 0.9e6], Ku1=[1e6, 0.9e6, 0.8e6])
    base.update(kw)
    with pytest.raises(ValueError, match=match):
        Table(**base)


def test_outside_the_measured_range_is_a_clear_error():
    tab = Table(T=[250.0, 300.0, 400.0], Ms=[1.1e6, 1.0e6, 0.9e6], Ku1=[1e6, 0.9e6, 0.8e6], source="run 7")
    mat = mm.Material(Ms=1.0e6, A=1e-11, Ku1=0.9e6, measured=tab)  # no Tc needed with a table
    with pytest.raises(ValueError, match=r"T = 423.15 K is outside the measured range \[250, 400\] K.*run 7"):
        mat.at(423.15)
    with pytest.raises(ValueError, match=r"covers \[250, 400\] K but the operating temperatures include 233.15"):
        tab.check_covers([233.15, 300.0])
    with pytest.raises(ValueError, match="MeasuredTemperatureDependence"):
        mm.Material(Ms=1e6, measured={"T": [1, 2]})

"""The core of examples/design_1x_nm.py (its closed forms), in seconds; the simulations it adds are tested
where they live (energy_barrier, stage_critical, SpinOrbitTorque).

Closed forms:
- retention: Δ_req = ln(N t/τ0) − ln(−ln(1 − budget)) = 67.97 for 2^20 bits, 10 years, τ0 = 1 ns, budget 1e-6;
- coherent reversal of a disc: Δ = K_eff V/(k_B T), K_eff = Ku(T) − μ0 Ms(T)²/2 (N_z − N_x), Ku(T) = (Ki/t)
  m(T)², Ms(T) = Ms m(T), m(T) = (1 − (T/Tc)^1.5)/(1 − (T_ref/Tc)^1.5) (the preset's temperature model,
  values given at T_ref = 300 K), N_x = (1 − N_z)/2;
- energies: SOT Joule heat J² ρ × (stripe volume) × τ; VCMA C V² + V² τ/R with C = ε0 ε_r A/t_ox and
  V = K_eff t t_ox/ξ; with a series resistance R_line ≫ the device's, E_SOT/E_STT → (I_SOT/I_STT)² τ_SOT/τ_STT.
"""
import importlib.util
import math
import os

import pytest

from micromag.engine.constants import kB, mu0
from micromag.apps.design import cylinder_Nz

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def ex():
    spec = importlib.util.spec_from_file_location("design_1x_nm", os.path.join(ROOT, "examples", "design_1x_nm.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_required_delta(ex):
    N, t = 2**20, 10 * 365.25 * 86400
    assert ex.DELTA_REQ == pytest.approx(math.log(N * t / 1e-9) - math.log(-math.log1p(-1e-6)), rel=1e-12)
    assert ex.DELTA_REQ == pytest.approx(67.97, abs=0.01)


def test_double_interface_limit_is_the_coherent_macrospin_diameter(ex):
    """The double-interface limit lies in the coherent branch: K_eff(D) π D² t/4 = Δ_req k_B T at 423.15 K,
    K_eff by hand from the temperature model (module docstring)."""
    D = ex.limit_diameter_closed_form("double")
    t, Ki = ex.LAYERS["double"]
    T, Tc, Ms = ex.T_HOT, ex.MATERIAL["Tc"], ex.MS
    m = (1 - (T / Tc) ** 1.5) / (1 - (ex.MATERIAL["T_ref"] / Tc) ** 1.5)
    Nz = cylinder_Nz(D, t)
    K_eff = Ki / t * m**2 - mu0 * (Ms * m) ** 2 / 2 * (Nz - (1 - Nz) / 2)
    assert K_eff * math.pi * D * D / 4 * t / (kB * T) == pytest.approx(ex.DELTA_REQ, rel=1e-6)
    assert 25e-9 < D < 50e-9
    # the single interface needs a far larger disc (the wall branch: Δ ∝ D)
    assert ex.limit_diameter_closed_form("single") > 2.5 * D


def test_write_energies_against_closed_forms(ex):
    cell = {"D": 36e-9, "t": 2.6e-9, "K_eff": 1.8e5, "Ms": 1.2e6, "alpha": 0.027, "delta_op": 90.0, "Ic0": 2.2e-4,
            "Jc_sot": 6e12}
    e = ex.energies(cell, 10e-9, 1e-9, xi=2e-12)  # ξ large enough for V <= V_max
    hm = ex.BetaW(thickness=ex.SOT["hm_thickness"])
    B_K = 2 * cell["K_eff"] / cell["Ms"]
    J = cell["Jc_sot"] * ex.pulse_factor(cell["alpha"], B_K, cell["delta_op"], 1e-9)
    stripe_volume = 2 * cell["D"] * cell["D"] * hm.thickness
    assert e["sot"] == pytest.approx(J * J * hm.resistivity * stripe_volume * 1e-9, rel=1e-12)
    area = math.pi * cell["D"] ** 2 / 4
    V = cell["K_eff"] * cell["t"] * ex.VCMA["t_ox"] / 2e-12
    C = 8.8541878128e-12 * 9.8 * area / ex.VCMA["t_ox"]
    assert e["vcma"] == pytest.approx(C * V * V + V * V * e["tau_vcma"] / (ex.VCMA["RA"] / area), rel=1e-12)
    assert e["tau_vcma"] == pytest.approx(math.pi * (1 + 0.027**2) / (ex.gamma_mumax * ex.VCMA["B_x"]), rel=1e-12)
    # a VCMA bias above V_max cannot write: infinite energy
    assert math.isinf(float(ex.energies(cell, 10e-9, 1e-9, xi=1e-13)["vcma"]))  # 7 V
    # a dominant series resistance: the ratio is that of I² τ
    big = ex.energies(cell, 10e-9, 1e-9, R_line=1e12)
    assert big["sot"] / big["stt"] == pytest.approx((big["I_sot"] / big["I_stt"]) ** 2 * 0.1, rel=1e-6)
    # Sun's pulse law: at long pulses I → Ic0, so E_STT grows ∝ τ
    long = ex.energies(cell, [1e-3, 2e-3], 1e-9)
    assert long["stt"][1] / long["stt"][0] == pytest.approx(2.0, rel=1e-4)


def test_limit_from_points(ex):
    D, how = ex.limit_from_points([30e-9, 40e-9], [50.0, 80.0], target=65.0)
    assert D == pytest.approx(35e-9) and how == "interpolated"
    D, how = ex.limit_from_points([50e-9, 70e-9], [30.0, 40.0], target=60.0)  # along the wall line
    assert D == pytest.approx(110e-9) and "wall" in how

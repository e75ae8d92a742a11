"""Write-error tails and Ic(τ) (micromag.apps.write_errors): fits against synthetic data drawn from the closed
forms (known truth), the coverage of the stated 95 % intervals, and one small simulated case (the
precessional switching times of a one-cell STT macrospin against its critical current 2eαK_eff V/(ħε))."""
import math

import numpy as np
import pytest

from micromag.apps import write_errors as we

TRUTH = dict(x_c=0.40, tau_D=0.8e-9, tau=3e-9, delta=45.0)


def _draw(rng, drives, n):
    W = we.wer_form(np.asarray(drives), TRUTH["x_c"], TRUTH["tau_D"], TRUTH["tau"], TRUTH["delta"])
    return rng.binomial(n, W)


def test_form_and_inverse():
    x_c, tD, tau, d = TRUTH["x_c"], TRUTH["tau_D"], TRUTH["tau"], TRUTH["delta"]
    assert we.wer_form(0.39, x_c, tD, tau, d) == 1.0  # below threshold
    # τ = 0 limit: WER = 1 − exp(−π²Δ/4) (a start anywhere in the well, θ_c = π/2)
    assert we.wer_form(0.6, x_c, tD, 1e-30, d) == pytest.approx(-math.expm1(-math.pi**2 * d / 4))
    # long pulses: the exponential tail (π²Δ/4)((i−1)/i) e^{−2(i−1)τ/τ_D}
    i = 1.8
    assert we.wer_form(i * x_c, x_c, tD, 10e-9, d) == pytest.approx(
        math.pi**2 * d / 4 * (i - 1) / i * math.exp(-2 * (i - 1) * 10e-9 / tD), rel=1e-6)
    for tg in (1e-3, 1e-6, 1e-9):
        x = float(we._drive_for(tg, x_c, tD, tau, d))
        assert we.wer_form(x, x_c, tD, tau, d) == pytest.approx(tg, rel=1e-6)


def test_wer_fit_recovers_the_truth_and_its_intervals_cover_it():
    """20 synthetic data sets of 64 members at four drives (true WER 0.59, 0.16, 0.03, 0.004: what a cell
    report measures): the 95 % likelihood-ratio region must contain the true (x_c, τ_D) in at least 17 of 20
    (binomial: P(<17 | p = 0.95) = 1.6 %), and the extrapolated drive for WER = 1e-9 must bracket the truth
    as often."""
    drives = [0.6, 0.7, 0.8, 0.92]
    true_1e9 = float(we._drive_for(1e-9, TRUTH["x_c"], TRUTH["tau_D"], TRUTH["tau"], TRUTH["delta"]))
    hit_region = hit_drive = 0
    for seed in range(20):
        k = _draw(np.random.default_rng(seed), drives, 64)
        f = we.fit_wer(drives, k, [64] * 4, TRUTH["tau"], TRUTH["delta"], (0.1, 0.595), (0.05e-9, 20e-9),
                       targets=(1e-9,))
        hit_region += (f["x_c_region"][0] <= TRUTH["x_c"] <= f["x_c_region"][1]
                       and f["tau_D_region_s"][0] <= TRUTH["tau_D"] <= f["tau_D_region_s"][1])
        lo, hi = f["targets"][0]["drive_CI95"]
        hit_drive += lo <= true_1e9 <= hi
        assert lo <= f["targets"][0]["drive"] <= hi
    assert hit_region >= 17 and hit_drive >= 17
    # more members narrow the interval (the extrapolation is as good as the data)
    k = _draw(np.random.default_rng(99), drives, 4096)
    big = we.fit_wer(drives, k, [4096] * 4, TRUTH["tau"], TRUTH["delta"], (0.1, 0.595), (0.05e-9, 20e-9))
    lo, hi = big["targets"][1]["drive_CI95"]
    assert lo <= true_1e9 <= hi and (hi - lo) < 0.05 * true_1e9
    assert big["x_c"] == pytest.approx(TRUTH["x_c"], rel=0.03) and big["tau_D_s"] == pytest.approx(TRUTH["tau_D"], rel=0.15)


def test_wer_fit_bad_input():
    with pytest.raises(ValueError, match="errors <= members"):
        we.fit_wer([0.5, 0.6], [3, 70], [64, 64], 3e-9, 45, (0.2, 0.4), (1e-10, 1e-8))
    with pytest.raises(ValueError, match="x_c_range"):
        we.fit_wer([0.5, 0.6], [3, 1], [64, 64], 3e-9, 45, (0.4, 0.2), (1e-10, 1e-8))


@pytest.mark.parametrize("n", [1.0, 2.0])
def test_ic_thermal_fit_on_synthetic_data(n):
    tau = np.geomspace(10e-9, 100e-9, 6)
    exact = we.ic_thermal(tau, 50e-6, 40.0, n=n)
    f = we.fit_ic_thermal(tau, exact, n=n)
    assert f["Ic0"] == pytest.approx(50e-6, rel=1e-9) and f["delta"] == pytest.approx(40.0, rel=1e-9)
    # with 0.5 % noise the 95 % intervals hold the truth in >= 17 of 20 draws
    hits = 0
    for seed in range(20):
        noisy = exact * (1 + 0.005 * np.random.default_rng(seed).standard_normal(tau.size))
        g = we.fit_ic_thermal(tau, noisy, n=n)
        hits += g["Ic0_CI"][0] <= 50e-6 <= g["Ic0_CI"][1] and g["delta_CI"][0] <= 40.0 <= g["delta_CI"][1]
    assert hits >= 17
    with pytest.raises(ValueError, match="tau0"):
        we.fit_ic_thermal([0.5e-9, 2e-9, 5e-9], [1, 2, 3])


def test_switch_time_factor_against_quadrature():
    from scipy.integrate import quad

    for i in (1.2, 2.0, 4.0):
        for th0 in (0.05, 0.3):
            ref = quad(lambda th: 1 / (math.sin(th) * (i - math.cos(th))), th0, math.pi / 2, epsabs=0, epsrel=1e-12)[0]
            assert float(we.switch_time_factor(i, th0)) == pytest.approx(ref, rel=1e-9)
    assert math.isinf(float(we.switch_time_factor(0.9, 0.1)))


def test_precessional_fit_on_synthetic_data():
    x_c, tau_D, th0 = 0.4, 0.5e-9, 0.15
    x = np.array([0.6, 0.7, 0.9, 1.2])
    t = 25e-12 + tau_D * we.switch_time_factor(x / x_c, th0)
    f = we.fit_precessional(x, t, th0, t_offset=25e-12)
    assert f["x_c"] == pytest.approx(x_c, rel=1e-6) and f["tau_D_s"] == pytest.approx(tau_D, rel=1e-6)
    # Ic(τ): the drive whose switching time is τ
    for tau in (1e-9, 3e-9):
        xi = float(we.ic_precessional(tau, f))
        assert 25e-12 + tau_D * float(we.switch_time_factor(xi / x_c, th0)) == pytest.approx(tau, rel=1e-6)
    with pytest.raises(ValueError, match="at least three"):
        we.fit_precessional([0.5, 0.6, 0.7], [1e-9, np.nan, np.nan], th0)


@pytest.mark.parametrize("backend", ["cpu", "emulate"])
def test_precessional_fit_on_a_simulated_macrospin(tmp_path, backend):
    """A one-cell CoFeB/MgO disc (3 nm, a macrospin with demag; TMR = 0 so that the current is V/R_P all the
    way) written by STT at T = 0 from the rms thermal angle: the exact macrospin switching time fitted to the
    simulated times of the report's switching stage gives back the critical bias V_c0 = Ic0 R_P of the
    macrospin formula 2eαK_eff V/(ħε) (to first order in α: α² = 7e-4) and τ_D = (1 + α²)/(αγB_K)."""
    from micromag.apps import cellreport as cr
    from micromag.apps import retention as ret
    from micromag.engine.constants import gamma_mumax
    from tests.test_cellreport import TINY, _spec

    s = cr.load_cell_spec(_spec(tmp_path, TINY.replace("diameter = 12e-9", "diameter = 3e-9")
                                .replace("thickness = 1.3e-9", "thickness = 1.0e-9").replace("TMR = 1.5", "TMR = 0.0"))).data
    coh = cr.coherent_energies(s, 300.0, backend)
    mat = cr.load_cell_spec(_spec(tmp_path, TINY.replace("thickness = 1.3e-9", "thickness = 1.0e-9"), "m.toml")).material(300.0)
    K_eff = coh["E_hard_inplane_J"] / coh["volume_m3"]
    Ic_ms = ret.stt_critical_current(K_eff, coh["volume_m3"], mat.alpha, P=0.6, state="P")
    Vc0 = Ic_ms * s["mtj"]["RA_P"] / coh["area_m2"]
    tau_D = (1 + mat.alpha**2) / (mat.alpha * gamma_mumax * 2 * K_eff / coh["Ms_A_per_m"])
    # drives i = 1.3 … 3 (switching times 0.8 … 0.2 ns ≫ a 2 ps rise, so that the rise's offset is negligible)
    s["write"]["drive"] = [float(Vc0 * f) for f in (1.3, 1.6, 2.0, 3.0)]
    s["write"]["pulse"] = 1.3 * tau_D * float(we.switch_time_factor(1.3, 1 / math.sqrt(40.0)))
    s["write"]["settle"] = 0.0
    s["write"]["rise"] = 2e-12
    sw = cr.stage_switching(s, 300.0, 40.0, backend, False)
    f = we.fit_precessional(sw["drives"], [np.nan if v is None else v for v in sw["t_switch_s"]],
                            math.radians(sw["tilt0_deg"]), t_offset=s["write"]["rise"] / 2)
    assert f["points"] == 4
    assert f["x_c"] == pytest.approx(Vc0, rel=0.01)
    assert f["tau_D_s"] == pytest.approx(tau_D, rel=0.02)

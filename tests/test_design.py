"""The design search (micromag/apps/design.py): its demag factor against published values and the solver's own
Newell demag, the optimum it finds against the closed form of its macrospin model (written out here
independently), the Pareto front, resumption, the cell specs it writes, and the errors of a bad range."""
import json
import math
import os

import numpy as np
import pytest
from scipy import integrate, optimize, special

import micromag as mm
from micromag.apps import design as ds

E, HBAR, KB = 1.602176634e-19, 1.054571817e-34, 1.380649e-23


def test_cylinder_demag_factor():
    """N_z of a cylinder: the thin-disc asymptote, 0.3116 at t = D (Chen, Brug, Goldfarb, IEEE Trans. Magn. 27, 3601 (1991), table I:
    magnetometric N_m at L/D = 1 is 0.3116); and, for a 20 nm × 1 nm disc, the solver's own demag energy
    difference of the uniform in-plane and perpendicular states (Newell tensor, 0.5 nm cells) within 0.2 %."""
    assert ds.cylinder_Nz(10e-9, 10e-9) == pytest.approx(0.3116, abs=1e-4)
    for tau in (0.01, 0.005):  # the thin-disc asymptote N_z = 1 − (2τ/π)(ln(4/τ) − 1/2) + O(τ²), τ = t/D
        assert ds.cylinder_Nz(100e-9, tau * 100e-9) == pytest.approx(1 - 2 * tau / math.pi * (math.log(4 / tau) - 0.5),
                                                                  abs=5 * tau**2)
    from micromag.apps.stack import Stack, StackLayer
    from micromag.apps.stack_report import free_layer_macrospin

    Ms = 1e6
    st = Stack([StackLayer("F", 1e-9, "free", mm.Material(Ms=Ms, A=1e-11))], diameter=20e-9, cell=0.5e-9, dz=0.25e-9)
    K_shape = -free_layer_macrospin(st).K_eff  # μ0 Ms²/2 (N_z − N_x) of the discretized disc
    Nz = ds.cylinder_Nz(20e-9, 1e-9)
    assert K_shape == pytest.approx(mm.mu0 * Ms**2 / 2 * (Nz - (1 - Nz) / 2), rel=2e-3)


SMALL = {
    "design": {"routes": ["stt"], "diameter": {"lo": 20e-9, "hi": 80e-9, "n": 61}, "thickness": 1.2e-9,
               "Ki": 1.6e-3, "Ms": 1.1e6, "pulse": 5e-9},
    "mtj": {"V_max": 5.0},
}


def _closed_form_delta(D, spec, T):
    """Δ(T) of the coherent macrospin, written out: Bloch-law Ms(T), Callen–Callen Ku(T) ∝ m^nK, the
    Joseph demag factor by direct quadrature."""
    mat, d = {**ds.DEFAULTS["material"]}, spec["design"]
    t, Ms0, Ku0 = d["thickness"], d["Ms"], d["Ki"] / d["thickness"]
    m = (1 - (T / mat["Tc"]) ** 1.5) / (1 - (mat["T_ref"] / mat["Tc"]) ** 1.5)
    Ms, Ku, A = Ms0 * m, Ku0 * m ** mat["nK"], mat["A"] * m ** mat["nA"]
    R = D / 2
    Nz = 2 * R / t * integrate.quad(lambda x: special.j1(x) ** 2 / x**2 * -math.expm1(-x * t / R), 0, 400 * R / t,
                                    limit=5000)[0]
    K = Ku - mm.mu0 * Ms**2 / 2 * (Nz - (1 - Nz) / 2)
    V = math.pi * D * D / 4 * t
    return min(K * V, 4 * math.sqrt(A * K) * D * t) / (KB * T), K, V, Ms, A


def test_the_search_finds_the_closed_form_optimum():
    """STT, one thickness/material/pulse, 61 diameters: the write energy grows with D (∝ (K V)²/area), so the
    least-energy passing cell is the smallest diameter whose Δ(150 °C) meets the target: D* from the closed
    form (root of Δ(D) = Δ_required), rounded up to the grid; and its energy I² R τ from the formula."""
    res = ds.design_search(SMALL, progress=False)
    r = res["routes"]["stt"]
    need = res["delta_required"]
    ret = ds.DEFAULTS["retention"]
    assert need == pytest.approx(math.log(ret["n_bits"] * ret["years"] * 365.25 * 86400 / ret["tau0"])
                                 - math.log(-math.log1p(-ret["fail_budget"])), rel=1e-12)
    D_star = optimize.brentq(lambda D: _closed_form_delta(D, SMALL, ret["T_hot"])[0] - need, 20e-9, 80e-9)
    grid = np.linspace(20e-9, 80e-9, 61)
    expect = grid[grid >= D_star][0]
    assert r["smallest_diameter"] == pytest.approx(expect, rel=1e-12)
    best = r["best"]
    assert best["diameter"] == pytest.approx(expect, rel=1e-12)
    # its write energy by the formulas of the module docstring, written out
    delta_op, K, V, Ms, _ = _closed_form_delta(expect, SMALL, ret["T_op"])
    alpha, gamma, P = ds.DEFAULTS["material"]["alpha"], ds.DEFAULTS["material"]["gamma"], 0.6
    Ic0 = 2 * E * alpha * K * V / (HBAR * P / 2)
    tau_D = (1 + alpha**2) / (alpha * gamma * 2 * K / Ms)
    I = Ic0 * (1 + tau_D * math.log(math.pi / 2 * math.sqrt(2 * delta_op)) / 5e-9)
    R = 5e-12 / (math.pi * expect**2 / 4)
    assert best["energy"] == pytest.approx(I * I * R * 5e-9, rel=1e-6)
    assert best["delta_hot"] >= need > max(x["delta_hot"] for x in res["rows"] if x["diameter"] < expect - 1e-15)


def test_pareto_front_and_routes(tmp_path):
    spec = {"design": {"routes": ["stt", "sot", "vcma"], "diameter": [40e-9, 50e-9, 60e-9, 70e-9],
                       "thickness": [1.1e-9, 1.4e-9], "Ki": [1.4e-3, 1.8e-3], "Ms": 1.2e6, "pulse": [3e-9, 10e-9]},
            "mtj": {"V_max": 1.5}, "vcma": {"xi": 1e-12, "B_x": 0.1}}
    res = ds.design_search(spec, out=tmp_path, progress=False)
    for route, r in res["routes"].items():
        ok = [x for x in res["rows"] if x["route"] == route and x["passes"]]
        assert r["passing"] == len(ok) > 0, route
        for f in r["front"]:  # nothing passing dominates a front member
            assert not any(x["delta_hot"] >= f["delta_hot"] and x["energy"] < f["energy"] for x in ok)
        for x in ok:  # every passing cell is dominated by (or is) a front member
            assert any(f["delta_hot"] >= x["delta_hot"] and f["energy"] <= x["energy"] for f in r["front"])
        assert r["best"]["energy"] == min(x["energy"] for x in ok)
        assert r["smallest_diameter"] == min(x["diameter"] for x in ok)
    # VCMA's pulse is half a precession period in B_x: π/(γ B_x)
    v = res["routes"]["vcma"]["best"]
    assert v["pulse"] == pytest.approx(math.pi / (ds.DEFAULTS["material"]["gamma"] * 0.1), rel=1e-12)
    # the SOT cost, written out: Lee et al. J_c0 = (2e/ħ)(Ms t/|θ|)(B_K/2 − B_x/√2) with the pulse law, in a β-W
    # stripe as wide as the pillar and twice as long (5 nm thick, ρ = 2.6e-6 Ω·m, |θ| = 0.30 times its
    # spin-diffusion factor)
    s = res["routes"]["sot"]["best"]
    hm = mm.BetaW(thickness=5e-9)
    Ms, K, D, t = 1.2e6, s["K_eff_op"], s["diameter"], s["thickness"]
    B_K = 2 * K / Ms
    Jc0 = 2 * E / HBAR * Ms * t / abs(hm.theta_eff) * (B_K / 2 - 0.02 / math.sqrt(2))
    alpha, gamma = ds.DEFAULTS["material"]["alpha"], ds.DEFAULTS["material"]["gamma"]
    tau_D = (1 + alpha**2) / (alpha * gamma * B_K)
    J = Jc0 * (1 + tau_D * math.log(math.pi / 2 * math.sqrt(2 * s["delta_op"])) / s["pulse"])
    I = J * D * 5e-9
    assert s["energy"] == pytest.approx(I * I * 2.6e-6 * 2 * D / (D * 5e-9) * s["pulse"], rel=1e-9)
    # the cells on the front are cell specs that micromag cell reads
    from micromag.apps import cellreport as cr

    files = sorted(os.listdir(tmp_path / "front"))
    assert len(files) == sum(len(r["front"]) for r in res["routes"].values())
    for f in files:
        spec_f = cr.load_cell_spec(tmp_path / "front" / f)
        assert spec_f.data["cell"]["write"] == f.split("-")[0]
    data = json.loads((tmp_path / "design.json").read_text())
    assert set(data["routes"]) == {"stt", "sot", "vcma"}


def test_the_search_resumes(tmp_path):
    res1 = ds.design_search(SMALL, out=tmp_path, progress=False)
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert len(lines) == 61
    (tmp_path / "results.jsonl").write_text("\n".join(lines[:30]) + "\n" + lines[30][:20])  # killed mid-line
    with pytest.raises(FileExistsError):
        ds.design_search(SMALL, out=tmp_path, progress=False)
    res2 = ds.design_search(SMALL, out=tmp_path, resume=True, progress=False)
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == 61
    assert res2["routes"]["stt"]["best"] == res1["routes"]["stt"]["best"]


def test_bad_design_ranges_are_refused_before_any_work(tmp_path):
    thick = {"design": {"routes": ["stt"], "diameter": 40e-9, "thickness": [3e-9, 4e-9], "Ki": 0.8e-3}}
    with pytest.raises(ValueError, match=r"no valid point: K_eff <= 0 at T_hot .*: 2 of 2 points"):
        ds.design_search(thick, out=tmp_path / "a", progress=False)
    assert not (tmp_path / "a").exists()
    weak = {"design": {"routes": ["vcma"], "diameter": 40e-9, "thickness": 1.2e-9}, "vcma": {"xi": 1e-15}}
    with pytest.raises(ValueError, match=r"no valid point: VCMA bias K_eff t t_ox/xi > V_max"):
        ds.design_search(weak, progress=False)
    with pytest.raises(ValueError, match=r"\[design\] diameter must hold values > 0"):
        ds.design_search({"design": {"diameter": [-1e-9], "thickness": 1e-9}}, progress=False)
    with pytest.raises(ValueError, match=r"\[design\] routes must be"):
        ds.design_search({"design": {"routes": ["mram"], "diameter": 40e-9, "thickness": 1e-9}}, progress=False)
    with pytest.raises(ValueError, match=r"\[mtj\]: unknown keys \['RA'\]"):
        ds.design_search({"design": {"diameter": 40e-9, "thickness": 1e-9}, "mtj": {"RA": 1}}, progress=False)


def test_cli(tmp_path, capsys):
    from micromag.apps.cli import main

    p = tmp_path / "design.toml"
    p.write_text('[design]\nroutes = ["stt"]\ndiameter = {lo = 40e-9, hi = 70e-9, n = 4}\nthickness = 1.3e-9\n'
                 'Ki = 1.8e-3\n[mtj]\nV_max = 2.0\n')
    assert main(["design", str(p), "--out", str(tmp_path / "out"), "-q"]) == 0
    assert "stt:" in capsys.readouterr().out
    assert (tmp_path / "out" / "design.md").exists()

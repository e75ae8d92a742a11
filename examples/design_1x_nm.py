"""The seed's claims at the 1X nm node, checked: where a CoFeB/MgO pMTJ stops keeping 1 Mbit for 10 years at
150 °C (single and double MgO interface), and the write energy per bit of STT, SOT and VCMA at equal Δ(150 °C).

Cheap models first, micromagnetic where they decide:

(a) Δ(150 °C) against the diameter D. The closed form of :mod:`micromag.apps.design` (K_eff of a cylinder with
    Joseph's demagnetizing factor, E_b = min(K_eff V, 4√(A K_eff) D t), material at 423 K) narrows the range;
    minimum-energy paths (:func:`micromag.apps.cellreport.stage_delta`: ``mm.energy_barrier`` on the disc, the
    material at 423 K) at diameters around the closed-form limit decide it. The limit is where Δ(423 K) =
    Δ_req = ln(N t/τ0) − ln(−ln(1 − budget)) = 67.97 (N = 2^20 bits, t = 10 years, τ0 = 1 ns, failure budget
    1e-6 per array: :func:`micromag.apps.retention.required_delta`): interpolated between the simulated
    diameters, or, above them, extrapolated along the wall branch (E_b ∝ D, a line through the two largest).
(b) At the double-interface cell on its limit (Δ(150 °C) = Δ_req for every route: the same free layer):
    STT Ic0 from the linear stability of the parallel state (growth rates of a 2° tilt against the bias,
    :func:`micromag.apps.cellreport.stage_critical`, micromagnetic, T = 0, material at 300 K), SOT Jc from
    batches over J (the current that pulls <m_z> past 0 during the pulse, Lee 2013's criterion; the disc with ``mm.SpinOrbitTorque`` of beta-W, type z with an
    in-plane field; the Oersted field of the line left out), VCMA: the bias that
    cancels the micromagnetic K_eff. Pulse-width law (Sun, Phys. Rev. B 62, 570 (2000), precessional
    regime, applied to STT and, as an approximation, to SOT): I(τ) = I_c [1 + τ_D ln(π/(2θ0))/τ],
    τ_D = (1 + α²)/(α γ B_K), θ0 = 1/√(2Δ(300 K)). Energies per bit:
      STT   I² (R_MTJ + R_line) τ,           R_MTJ = RA_P/area;
      SOT   I² (R_W + R_line) τ,             I = J w t_W, R_W = ρ_W L/(w t_W), w = D, L = ``--stripe`` × D;
      VCMA  C V² + V² τ/R_MTJ,                V = K_eff t t_ox/ξ, C = ε0 ε_MgO area/t_ox, τ = π/(γ B_x)
            (half a precession about the in-plane bias; C V²: charge and discharge of the junction, no
            matter how resistive the line).
    The ratios SOT/STT and VCMA/STT then follow over line resistance, pulse widths, the RA the read path
    imposes on STT (read and write share the junction) and the VCMA coefficient.

Material numbers and their sources (an "assumption" is a value chosen here, not a measurement):
  CoFeB/MgO: Ki = 1.3 mJ/m² per interface, μ0Ms = 1.58 T, α = 0.027 (Ikeda et al., Nat. Mater. 9, 721
    (2010); ``mm.CoFeB_perpendicular``); A = 1.5e-11 J/m (Conca et al., APL 104, 182407 (2014)); Tc = 750 K,
    Ku ∝ Ms², A ∝ Ms² (the preset's temperature model: approximate). Free layer 1.3 nm (single interface).
  Double interface: MgO/CoFeB(1.6 nm)/Ta(0.4 nm)/CoFeB(1.0 nm)/MgO, Δ × 1.9 over the single interface at
    70 nm (Sato et al., APL 101, 022414 (2012)), down to 11 nm (Sato et al., APL 105, 062403 (2014)). Model
    (assumption): 2.6 nm of CoFeB with two interfaces, 2 × 1.3 mJ/m², the two layers rigidly coupled through
    the 0.4 nm spacer (one layer of 2.6 nm; the spacer's moment and dead layers left out).
  beta-W: θ_SH = −0.30, ρ = 260 µΩ·cm, λ_sf = 1.4 nm (Pai et al., APL 101, 122404 (2012); ``mm.BetaW``; the
    beta-Ta of Liu et al., Science 336, 555 (2012) has θ = −0.12), 5 nm thick; in-plane bias B_x = 30 mT
    (assumption: a built-in field, e.g. an in-plane magnet in the stack, for a "field-free" cell).
  MTJ: RA_P = 5 Ω·µm² for STT (assumption, a typical low-RA STT junction), P = 0.6, Λ = 1 (assumption);
    t_ox = 1 nm, ε_MgO = 9.8.
  VCMA: ξ = 100 fJ/(V·m) (assumption at the upper end of the CoFeB/MgO range: tens of fJ/(V·m) in
    Wang et al., Nat. Mater. 11, 64 (2012) and the UCLA (Alzate, Amiri) MTJs; swept 30–1000), t_ox = 1.5 nm,
    RA = 1000 Ω·µm² (assumption: the high-RA barrier VCMA cells use to keep the tunnel current small),
    B_x = 50 mT, largest bias 1.5 V (assumption: below MgO breakdown for 1.5 nm).

Writes OUT/delta_vs_D.png, OUT/energy.png, OUT/summary.md and OUT/results.json. ``--quick`` (3.3 nm cells,
fewer diameters, 9 images) for a check in a few minutes; the full run uses 2.5 nm cells.

    python examples/design_1x_nm.py [--quick] [--out out/design_1x_nm] [--backend auto|cpu|gpu]
"""
import argparse
import json
import math
import os
import time

import numpy as np

import micromag as mm
from micromag.apps import cellreport as cr
from micromag.apps import design
from micromag.engine.constants import gamma_mumax, kB
from micromag.engine.heavy_metal import BetaW
from micromag.apps.retention import SECONDS_PER_YEAR, required_delta, sot_critical_current_density_perpendicular

T_HOT, T_OP = 423.15, 300.0
DELTA_REQ = required_delta(10 * SECONDS_PER_YEAR, 2**20, 1e-6, 1e-9)
EPS0 = 8.8541878128e-12
MATERIAL = dict(design.DEFAULTS["material"])  # A, alpha, Tc, T_ref, nK, nA of mm.CoFeB_perpendicular
MS = 1.257e6
LAYERS = {"single": (1.3e-9, 1.3e-3), "double": (2.6e-9, 2.6e-3)}  # (thickness m, Ki J/m² in all)
MTJ_STT = {"RA_P": 5e-12, "TMR": 1.5, "t_ox": 1.0e-9, "eps_r": 9.8, "P": 0.6, "Lambda": 1.0}
SOT = {"heavy_metal": "BetaW", "hm_thickness": 5e-9, "B_x": 0.03}
VCMA = {"xi": 100e-15, "t_ox": 1.5e-9, "RA": 1000e-12, "B_x": 0.05, "V_max": 1.5}


# ---------------------------------------------------------------------------------------------- closed forms
def delta_closed_form(D, layer, T=T_HOT):
    """Δ(T) of a disc of diameter D (m) of the ``layer`` ("single"/"double"): micromag.apps.design.macrospin."""
    t, Ki = LAYERS[layer]
    return design.macrospin({"diameter": D, "thickness": t, "Ki": Ki, "Ku": 0.0, "Ms": MS}, MATERIAL, T)["delta"]


def limit_diameter_closed_form(layer, target=DELTA_REQ, lo=5e-9, hi=400e-9):
    """The diameter (m) at which the closed-form Δ(150 °C) of ``layer`` reaches ``target`` (bisection; Δ rises
    with D in both branches)."""
    if delta_closed_form(hi, layer) < target:
        return float("inf")
    for _ in range(60):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if delta_closed_form(mid, layer) < target else (lo, mid)
    return math.sqrt(lo * hi)


def pulse_factor(alpha, B_K, delta_op, tau, gamma=gamma_mumax):
    """1 + τ_D ln(π/(2θ0))/τ (Sun 2000), τ_D = (1 + α²)/(α γ B_K), θ0 = 1/√(2Δ)."""
    tau_D = (1 + alpha**2) / (alpha * gamma * B_K)
    return 1.0 + tau_D * math.log(math.pi / (2.0 / math.sqrt(2 * delta_op))) / np.asarray(tau, float)


def energies(cell, tau_stt, tau_sot, R_line=0.0, RA_stt=MTJ_STT["RA_P"], xi=VCMA["xi"], stripe=2.0):
    """Write energy per bit (J) of the three routes for ``cell`` (dict: D, t, K_eff, Ms, alpha, delta_op, Ic0,
    Jc_sot; SI) at pulse widths tau_stt, tau_sot (s) with a series line/transistor resistance R_line (Ω).
    VCMA is inf where its cancelling bias exceeds VCMA["V_max"]. Arrays broadcast."""
    D, t = cell["D"], cell["t"]
    area = math.pi * D * D / 4
    B_K = 2 * cell["K_eff"] / cell["Ms"]
    I_stt = cell["Ic0"] * pulse_factor(cell["alpha"], B_K, cell["delta_op"], tau_stt)
    E_stt = I_stt**2 * (RA_stt / area + R_line) * tau_stt
    hm = BetaW(thickness=SOT["hm_thickness"])
    I_sot = cell["Jc_sot"] * pulse_factor(cell["alpha"], B_K, cell["delta_op"], tau_sot) * D * hm.thickness
    R_w = hm.resistivity * stripe * D / (D * hm.thickness)
    E_sot = I_sot**2 * (R_w + R_line) * tau_sot
    V = cell["K_eff"] * t * VCMA["t_ox"] / np.asarray(xi, float)
    C = EPS0 * MTJ_STT["eps_r"] * area / VCMA["t_ox"]
    tau_v = math.pi * (1 + cell["alpha"] ** 2) / (gamma_mumax * VCMA["B_x"])
    E_vcma = np.where(V <= VCMA["V_max"], C * V**2 + V**2 / (VCMA["RA"] / area) * tau_v, np.inf)
    return {"stt": E_stt, "sot": E_sot, "vcma": E_vcma, "I_stt": I_stt, "I_sot": I_sot, "V_vcma": V,
            "R_mtj": RA_stt / area, "R_w": R_w, "C": C, "tau_vcma": tau_v}


# ---------------------------------------------------------------------------------------------- simulations
def cell_spec(D, layer, write="stt", cell=2.5e-9):
    t, Ki = LAYERS[layer]
    doc = {"cell": {"name": f"{layer}-{D * 1e9:.0f}nm", "write": write, "diameter": float(D), "thickness": t,
                    "cell": cell, "tilt_deg": 0.0},
           "material": {"preset": "CoFeB_perpendicular", "Ki": Ki}, "mtj": dict(MTJ_STT),
           "write": {"drive": [1.0], "pulse": 10e-9, "rise": 50e-12}, "read": {"V_read": 0.1, "t_read": 10e-9}}
    if write == "sot":
        doc["sot"] = dict(SOT)
    return cr.CellSpec(doc).data


def sot_threshold(D, layer, cell, backend, Jc_guess, rounds=2, n=6):
    """The least J (A/m²) in the beta-W that pulls the disc past its equator (type z, in-plane bias SOT["B_x"],
    T = 0, the material at 300 K): batches of ``n`` currents, a trapezoid 0.5 ns up, 1 ns flat; <m_z> < 0 in the
    middle of the flat top. That is the critical current of Lee et al. 2013 (the perpendicular state is no
    longer held). Whether the bit then stays reversed after the current falls is decided by the precessional
    ringing at this low damping (α = 0.027) and the pulse's fall, not by J (seen here: a single 3 ns run ends
    reversed or not erratically above J_c, and moves with any edge detail), so it is not the criterion.
    Each round narrows the bracket to the gap between the last current that failed and the first that
    worked. Returns (J_c, bracket)."""
    t, Ki = LAYERS[layer]
    mat = mm.CoFeB_perpendicular(thickness=t, Ki=Ki)
    k = max(2, int(math.ceil(D / cell)))
    grid = mm.Grid(n=(k, k, 1), cell=(D / k, D / k, t))

    def switched(Js):
        sim = mm.Simulation(grid, material=mat, geometry=mm.Cylinder(D), batch=len(Js), backend=backend)
        sim.add(mm.SpinOrbitTorque(sim.system, J=mm.Pulse(np.asarray(Js, float), width=1.5e-9, rise=0.5e-9, fall=0.5e-9),
                                   heavy_metal=BetaW(thickness=SOT["hm_thickness"])))
        sim.B_ext = (SOT["B_x"], 0.0, 0.0)
        a = math.radians(1.0)
        sim.m = (0.0, math.sin(a), math.cos(a))
        sim.run(1.25e-9, progress=False)  # the middle of the flat top
        return np.asarray(sim.m_avg).reshape(-1, 3)[:, 2] < 0  # θ J B_x < 0: +z → −z

    lo, hi = 0.5 * Jc_guess, 2.0 * Jc_guess
    bracket = None
    for _ in range(rounds + 3):
        Js = np.linspace(lo, hi, n)
        sw = switched(Js)
        if not sw.any():
            lo, hi = hi, 2 * hi
            continue
        if sw.all():
            lo, hi = lo / 2, lo
            continue
        i = int(np.argmax(sw))
        lo, hi = float(Js[i - 1]), float(Js[i])
        bracket = (lo, hi)
        rounds -= 1
        if rounds == 0:
            break
    if bracket is None:
        raise RuntimeError("no SOT threshold found in the range scanned")
    return 0.5 * (bracket[0] + bracket[1]), bracket


def simulated_delta(D, layer, cell, images, backend, max_iter):
    rec, _ = cr.stage_delta(cell_spec(D, layer, cell=cell), T_HOT, backend, images, 1e-3, max_iter, False)
    return rec


def limit_from_points(Ds, deltas, target=DELTA_REQ, layer=None):
    """(D where the simulated Δ(D) crosses ``target``, how): linear interpolation between bracketing points,
    or along the line through the two largest diameters (the wall branch) when all lie below; from one point,
    the closed form of ``layer`` scaled by the simulated / closed-form ratio there."""
    Ds, deltas = np.asarray(Ds, float), np.asarray(deltas, float)
    if len(Ds) == 1:
        r = deltas[0] / delta_closed_form(Ds[0], layer)
        return limit_diameter_closed_form(layer, target / r), f"closed form × {r:.3f} (the ratio at {Ds[0] * 1e9:.0f} nm)"
    for i in range(len(Ds) - 1):
        if (deltas[i] - target) * (deltas[i + 1] - target) <= 0:
            f = (target - deltas[i]) / (deltas[i + 1] - deltas[i])
            return float(Ds[i] + f * (Ds[i + 1] - Ds[i])), "interpolated"
    if deltas[-1] < target:
        a, b = np.polyfit(Ds[-2:], deltas[-2:], 1)
        return (float((target - b) / a) if a > 0 else float("inf")), "extrapolated along the wall line"
    a, b = np.polyfit(np.log(Ds[:2]), np.log(deltas[:2]), 1)
    return float(math.exp((math.log(target) - b) / a)), "extrapolated below (power law)"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", default=os.path.join("out", "design_1x_nm"))
    p.add_argument("--backend", default="auto", choices=("auto", "cpu", "gpu"))
    args = p.parse_args()
    out = os.path.join(os.environ.get("MICROMAG_OUT", ""), args.out)
    os.makedirs(out, exist_ok=True)
    t_all = time.perf_counter()
    cell = 3.3e-9 if args.quick else 2.5e-9
    images = 9 if args.quick else 12
    max_iter = 3000 if args.quick else 8000  # a wall in a thin film is pinned by the grid: the barrier settles, the torque may not
    res = {"delta_required": DELTA_REQ, "cell_m": cell, "images": images, "limits": {}}
    print(f"Δ required at 150 °C for 1 Mbit, 10 years, budget 1e-6: {DELTA_REQ:.2f}")

    # ------------------------------------------------------------------ (a) the diameter limit
    for layer in ("single", "double"):
        D_cf = limit_diameter_closed_form(layer)
        span = (1.0, 1.3) if args.quick else (1.0, 1.2, 1.4)
        if layer == "single":  # the limit lies deep in the wall branch: simulate around the crossover, extrapolate
            Ds = np.array([60e-9] if args.quick else [50e-9, 70e-9])
        else:
            Ds = np.array(span) * D_cf
        rows = []
        for D in Ds:
            t0 = time.perf_counter()
            rec = simulated_delta(D, layer, cell, images, args.backend, max_iter)
            rows.append({"D_m": float(D), "delta_sim": rec["delta"], "delta_closed_form": delta_closed_form(D, layer),
                         "status": rec["status"], "wall_s": time.perf_counter() - t0})
            print(f"  {layer}: D = {D * 1e9:5.1f} nm  Δ(150 °C) = {rec['delta']:6.2f} (closed form "
                  f"{rows[-1]['delta_closed_form']:6.2f}) [{rec['status']}, {rows[-1]['wall_s']:.0f} s]", flush=True)
        D_sim, how = limit_from_points([r["D_m"] for r in rows], [r["delta_sim"] for r in rows], layer=layer)
        res["limits"][layer] = {"D_closed_form_m": D_cf, "D_simulated_m": D_sim, "how": how, "points": rows}
        print(f"{layer} interface: Δ(150 °C) reaches {DELTA_REQ:.1f} at D = {D_sim * 1e9:.1f} nm (micromagnetic, {how}); "
              f"closed form {D_cf * 1e9:.1f} nm", flush=True)

    # ------------------------------------------------------------------ (b) write energy at equal Δ(150 °C)
    D = res["limits"]["double"]["D_simulated_m"]
    t = LAYERS["double"][0]
    spec = cell_spec(D, "double", "stt", cell)
    coh = cr.coherent_energies(spec, T_OP, args.backend)
    t0 = time.perf_counter()
    crit = cr.stage_critical(spec, T_OP, coh, args.backend, False)
    mat = cr.material_at(spec["material"], t, T_OP)
    B_K = 2 * crit["K_eff_J_per_m3"] / coh["Ms_A_per_m"]
    hm = BetaW(thickness=SOT["hm_thickness"])
    Jc_lee = sot_critical_current_density_perpendicular(coh["Ms_A_per_m"], t, hm.theta_eff, B_K, SOT["B_x"])
    Jc_sim, Jc_bracket = sot_threshold(D, "double", 5e-9 if args.quick else cell, args.backend, Jc_lee)
    K_eff = crit["K_eff_J_per_m3"]
    cellv = {"D": D, "t": t, "K_eff": K_eff, "Ms": coh["Ms_A_per_m"], "alpha": mat.alpha,
             "delta_op": K_eff * coh["volume_m3"] / (kB * T_OP), "Ic0": crit["Ic0_A"], "Ic0_macrospin": crit["Ic0_macrospin_A"],
             "Jc_sot": Jc_sim, "Jc_sot_bracket": Jc_bracket, "Jc_sot_macrospin": Jc_lee}
    res["cell"] = cellv
    print(f"write cell: double interface, D = {D * 1e9:.1f} nm, K_eff(300 K) = {K_eff:.3g} J/m³, Ic0 = "
          f"{cellv['Ic0'] * 1e6:.1f} µA (macrospin {cellv['Ic0_macrospin'] * 1e6:.1f}), SOT Jc = {cellv['Jc_sot']:.3g} A/m² "
          f"(Lee 2013 {cellv['Jc_sot_macrospin']:.3g}) [{time.perf_counter() - t0:.0f} s]", flush=True)
    cases = [("nominal: STT 10 ns, SOT 1 ns, no line", 10e-9, 1e-9, 0.0, MTJ_STT["RA_P"]),
             ("equal 1 ns pulses", 1e-9, 1e-9, 0.0, MTJ_STT["RA_P"]),
             ("STT 10 ns, SOT 1 ns, 2 kΩ line + transistor", 10e-9, 1e-9, 2e3, MTJ_STT["RA_P"]),
             ("STT 10 ns with RA 10 Ω·µm² (read margin on the shared path)", 10e-9, 1e-9, 0.0, 10e-12),
             ("STT 50 ns (slow, low-current STT), SOT 0.4 ns", 50e-9, 0.4e-9, 0.0, MTJ_STT["RA_P"])]
    res["cases"] = []
    for name, ts, to, Rl, RA in cases:
        e = energies(cellv, ts, to, Rl, RA)
        r = {"case": name, "tau_stt_s": ts, "tau_sot_s": to, "R_line_ohm": Rl, "RA_stt": RA,
             **{k: float(e[k]) for k in ("stt", "sot", "vcma", "I_stt", "I_sot", "V_vcma")}}
        r["sot_over_stt"], r["vcma_over_stt"] = r["sot"] / r["stt"], r["vcma"] / r["stt"]
        r["V_stt"] = r["I_stt"] * RA / (math.pi * D * D / 4)  # the bias across the junction (breakdown ~1 V)
        res["cases"].append(r)
        print(f"  {name}: STT {r['stt'] * 1e15:.1f} fJ, SOT {r['sot'] * 1e15:.1f} fJ, VCMA "
              f"{r['vcma'] * 1e15:.3g} fJ; SOT/STT = {r['sot_over_stt']:.3g}, VCMA/STT = {r['vcma_over_stt']:.3g}")
    # where the claims hold: ratio maps
    R_lines = np.linspace(0, 1e4, 41)
    tau_stt = np.geomspace(1e-9, 100e-9, 41)
    xis = np.geomspace(30e-15, 1000e-15, 41)
    e_R = energies(cellv, 10e-9, 1e-9, R_lines)
    e_tau = energies(cellv, tau_stt, 1e-9, 0.0)
    e_xi = energies(cellv, 10e-9, 1e-9, 0.0, xi=xis)
    ratio_tau = e_tau["sot"] / e_tau["stt"]
    hold = tau_stt[ratio_tau <= 0.01]
    res["sot_1_100_needs_tau_stt_s"] = float(hold[0]) if hold.size else None
    xi_ok = xis[np.isfinite(e_xi["vcma"]) & (e_xi["vcma"] / e_xi["stt"] < 0.1)]
    res["vcma_below_1_10_needs_xi"] = float(xi_ok[0]) if xi_ok.size else None
    # SOT energy ∝ J² ∝ 1/θ²: the spin Hall angle at which the nominal case would reach 1/100
    res["theta_for_sot_1_100"] = abs(BetaW(thickness=SOT["hm_thickness"]).theta_eff) * math.sqrt(
        res["cases"][0]["sot_over_stt"] / 0.01)
    res["wall_s"] = time.perf_counter() - t_all
    _plots(out, res, R_lines, e_R, tau_stt, e_tau, xis, e_xi)
    _summary(out, res, args)
    with open(os.path.join(out, "results.json"), "w") as fh:
        json.dump(res, fh, indent=1, default=float)
    print(f"done in {res['wall_s']:.0f} s: {out}/summary.md")


def _plots(out, res, R_lines, e_R, tau_stt, e_tau, xis, e_xi):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    Dg = np.geomspace(10e-9, 200e-9, 200)
    for layer, c in (("single", "C0"), ("double", "C1")):
        ax.plot(Dg * 1e9, [delta_closed_form(D, layer) for D in Dg], "--", color=c, label=f"{layer} MgO interface, closed form")
        pts = res["limits"][layer]["points"]
        ax.plot([r["D_m"] * 1e9 for r in pts], [r["delta_sim"] for r in pts], "o", color=c,
                label=f"{layer}, minimum-energy path")
        ax.axvline(res["limits"][layer]["D_simulated_m"] * 1e9, color=c, alpha=0.4)
    ax.axhline(DELTA_REQ, color="k", lw=0.8, label=f"Δ needed: {DELTA_REQ:.1f} (1 Mbit, 10 y)")
    ax.set_xscale("log")
    ax.set_xlabel("diameter (nm)")
    ax.set_ylabel("Δ at 150 °C")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title("CoFeB/MgO pMTJ retention at 150 °C", fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "delta_vs_D.png"))

    fig = Figure(figsize=(12.0, 3.8), dpi=100)
    FigureCanvasAgg(fig)
    a1, a2, a3 = (fig.add_subplot(1, 3, i) for i in (1, 2, 3))
    a1.semilogy(tau_stt * 1e9, e_tau["stt"] * 1e15, label="STT")
    a1.semilogy(tau_stt * 1e9, np.broadcast_to(e_tau["sot"] * 1e15, tau_stt.shape), label="SOT (1 ns)")
    v = float(np.max(e_tau["vcma"]))
    a1.semilogy(tau_stt * 1e9, np.broadcast_to(e_tau["vcma"] * 1e15, tau_stt.shape),
                label="VCMA" if np.isfinite(v) else f"VCMA: not writable (needs {float(e_tau['V_vcma']):.1f} V)")
    a1.set_xscale("log")
    a1.set_xlabel("STT pulse width (ns)")
    a1.set_ylabel("write energy per bit (fJ)")
    a1.legend(fontsize=7)
    a2.plot(R_lines / 1e3, e_R["sot"] / e_R["stt"], label="SOT/STT (10 ns vs 1 ns)")
    a2.axhline(0.01, color="k", ls=":", label="1/100")
    a2.set_yscale("log")
    a2.set_xlabel("series line + transistor resistance (kΩ)")
    a2.set_ylabel("energy ratio")
    a2.legend(fontsize=7)
    a3.plot(xis * 1e15, e_xi["vcma"] / e_xi["stt"], label="VCMA/STT (STT 10 ns)")
    a3.axhline(0.1, color="k", ls=":", label="1/10")
    a3.set_xscale("log")
    a3.set_yscale("log")
    a3.set_xlabel("VCMA coefficient ξ (fJ/(V·m))")
    a3.legend(fontsize=7)
    for a in (a1, a2, a3):
        a.grid(True, which="both", alpha=0.3)
    fig.suptitle(f"double-interface cell at its 150 °C limit, D = {res['cell']['D'] * 1e9:.1f} nm", fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "energy.png"))


def _summary(out, res, args):
    L = res["limits"]
    c = res["cell"]
    md = ["# Thermal stability against write energy at the 1X nm node (examples/design_1x_nm.py)", "",
          f"Run: `python examples/design_1x_nm.py{' --quick' if args.quick else ''}`, {res['wall_s']:.0f} s, "
          f"{res['cell_m'] * 1e9:g} nm cells, {res['images']} images. Sources and assumptions: the script's docstring.", "",
          f"## (a) Diameter limit, 10 years at 150 °C for 1 Mbit (Δ ≥ {res['delta_required']:.2f})", "",
          "| free layer | limit, minimum-energy paths | how | closed form |", "|---|---|---|---|"]
    for layer in ("single", "double"):
        md.append(f"| {layer} MgO interface | {L[layer]['D_simulated_m'] * 1e9:.1f} nm | {L[layer]['how']} | "
                  f"{L[layer]['D_closed_form_m'] * 1e9:.1f} nm |")
    md += ["", "Below these diameters the cell does not keep the array for 10 years at 150 °C.", "",
           f"## (b) Write energy per bit at equal Δ(150 °C) = {res['delta_required']:.1f}", "",
           f"Double-interface cell, D = {c['D'] * 1e9:.1f} nm: Ic0 = {c['Ic0'] * 1e6:.1f} µA (simulated; macrospin "
           f"{c['Ic0_macrospin'] * 1e6:.1f} µA), SOT Jc = {c['Jc_sot']:.3g} A/m² (simulated, m_z < 0 under the pulse; Lee 2013: "
           f"{c['Jc_sot_macrospin']:.3g}), VCMA bias K_eff t t_ox/ξ = {res['cases'][0]['V_vcma']:.2f} V.", "",
           "| condition | STT (fJ) | STT bias (V) | SOT (fJ) | VCMA (fJ) | SOT/STT | VCMA/STT |",
           "|---|---|---|---|---|---|---|"]
    for r in res["cases"]:
        md.append(f"| {r['case']} | {r['stt'] * 1e15:.1f} | {r['V_stt']:.2f} | {r['sot'] * 1e15:.1f} | "
                  f"{r['vcma'] * 1e15:.3g} | {r['sot_over_stt']:.3g} | {r['vcma_over_stt']:.3g} |")
    t100 = res["sot_1_100_needs_tau_stt_s"]
    x10 = res["vcma_below_1_10_needs_xi"]
    md += ["", "Claims:", "",
           "- SOT ≈ 1/100 of STT: " + (f"holds only against STT pulses of {t100 * 1e9:.0f} ns or longer (SOT 1 ns, no "
                                         "series resistance); a series line/transistor resistance adds to both "
                                         "and pulls the ratio towards (I_SOT/I_STT)²·τ_SOT/τ_STT."
                                         if t100 else "fails for every STT pulse of 1-100 ns in this cell (SOT 1 ns): "
                                         "the type-z threshold J_c ∝ Ms t B_K/θ of a cell with this Δ is high, and "
                                         "E_SOT = J² ρ (stripe volume) τ; reaching 1/100 in the nominal case would "
                                         f"take |θ_eff| ≈ {res['theta_for_sot_1_100']:.2g} (beta-W: 0.28), or a "
                                         "correspondingly smaller ρ·L·w·t_W."),
           "- VCMA below 1/10 of STT: " + (f"holds for ξ ≥ {x10 * 1e15:.0f} fJ/(V·m) (a bias below "
                                            f"{VCMA['V_max']:g} V cancels K_eff); below that the cell cannot be "
                                            "written by VCMA at all." if x10 else "fails for ξ up to 1000 fJ/(V·m)."),
           "", "![Δ against D](delta_vs_D.png)", "", "![energies](energy.png)", ""]
    with open(os.path.join(out, "summary.md"), "w") as fh:
        fh.write("\n".join(md))


if __name__ == "__main__":
    main()

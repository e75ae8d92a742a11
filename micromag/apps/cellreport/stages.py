"""The stages of the sign-off report, each a physics computation on the cell: Δ (minimum-energy path),
the critical drive, switching times, the write-error rate, the read disturb; finished stages are kept
(:class:`Stages`) so a killed report continues."""
from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import warnings

import numpy as np

from ..sweep import ResultsLog
from .cell import build_cell, easy_axis_of, make_device, material_at


def say(progress, msg):
    if progress:
        print(f"micromag cell: {msg}", file=sys.stderr, flush=True)


def stage_key(spec_hash, name, params):
    return hashlib.sha256(json.dumps({"spec": spec_hash, "stage": name, "params": params}, sort_keys=True,
                                     default=str).encode()).hexdigest()[:20]


class Stages:
    """Finished pieces of work in ``DIR/stages/results.jsonl``: the sweep's :class:`ResultsLog` (one fsynced
    JSON line per stage, each key written once, a line cut by a kill dropped on resume)."""

    def __init__(self, out, spec_hash):
        folder = os.path.join(out, "stages")
        os.makedirs(folder, exist_ok=True)
        try:
            self.log = ResultsLog(folder, spec_hash, resume=True)
        except ValueError as exc:
            raise ValueError(f"{out} holds a report of another cell spec (or of the other --quick setting): use "
                             f"another --out ({exc})") from None
        self.hash = spec_hash
        self.n = len(self.log.done)

    def get(self, name, params):
        rec = self.log.done.get(stage_key(self.hash, name, params))
        return None if rec is None else rec["rows"][0]

    def put(self, name, params, result):
        clean = json.loads(json.dumps(result, default=jsonable))
        self.log.write(stage_key(self.hash, name, params), self.n, {"stage": name, **params}, [clean])
        self.n += 1
        return clean

    def close(self):
        self.log.close()


def jsonable(x):
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.bool_):
        return bool(x)
    raise TypeError(f"{type(x).__name__} is not JSON-able")


def finite_or_none(x):
    x = float(x)
    return x if math.isfinite(x) else None


# ---------------------------------------------------------------------------------------------- stages
def coherent_energies(spec, T, backend):
    """Energies of uniform states in zero applied field (the macrospin quantities, K_eff V): E(hard) − E(easy)
    for the in-plane and out-of-plane hard directions, J; the volume (m³), Ms (A/m) and footprint (m²)."""
    sim = build_cell(spec, 0.0, T_material=T, backend=backend)
    sim.B_ext = None  # an in-plane bias (VCMA, SOT type z) is not part of K_eff
    easy = easy_axis_of(spec)
    hard_ip = np.array([0.0, 1.0, 0.0]) if easy[0] == 1 else np.array([1.0, 0.0, 0.0])
    hard_z = np.array([0.0, 0.0, 1.0]) if easy[0] == 1 else np.array([1.0, 0.0, 0.0])
    E = []
    for d in (easy, hard_ip, hard_z):
        sim.m = tuple(d)
        E.append(float(sim.energy()))
    fill = sim.system.fill * sim.system.magnetic
    V = float(fill.sum() * sim.grid.cell_volume)
    Ms = float(sim.system.Ms_eff.sum() / fill.sum())
    return {"E_hard_inplane_J": E[1] - E[0], "E_hard_z_J": E[2] - E[0], "volume_m3": V, "Ms_A_per_m": Ms,
            "area_m2": float(fill.max(axis=0).sum() * sim.grid.cell[0] * sim.grid.cell[1])}


def stage_delta(spec, T, backend, images, tol, max_iter, progress, path=None, save_dir=None):
    """Δ at temperature T: the barrier between the two easy-axis states of the cell, material at T."""
    from ..barrier import energy_barrier

    if spec.get("barrier", {}).get("cell"):  # the barrier's own (finer) grid: walls must be resolved there
        spec = {k: dict(v) for k, v in spec.items()}
        spec["cell"]["cell"] = spec["barrier"]["cell"]
    sim = build_cell(spec, 0.0, T_material=T, backend=backend)
    easy = easy_axis_of(spec)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        p = energy_barrier(sim, tuple(easy), tuple(-easy), images=images, tol_torque=tol, max_iter=max_iter,
                           path=path, progress=progress)
    notes = sorted({str(w.message) for w in caught})
    if save_dir is not None:
        p.plot(os.path.join(save_dir, "energy_path.png"), T=T,
               title=f"minimum-energy path at {T:g} K ({T - 273.15:.0f} °C)")
        p.save_saddle(os.path.join(save_dir, "saddle.vti"))
    coh = coherent_energies(spec, T, backend)
    coherent_J = coh["E_hard_inplane_J"] if easy_axis_of(spec)[0] == 1 else min(coh["E_hard_inplane_J"], coh["E_hard_z_J"])
    # the attempt frequency from the landscape (Langer's harmonic rate for the LLG), next to the fixed τ0
    f0, f0_note = None, None
    try:
        f0 = p.attempt_frequency(None, T)
        f0_note = p.rate["message"]
    except (RuntimeError, ValueError) as exc:
        f0_note = str(exc)
    sc = p.saddle_check or {}
    flags = []
    if p.barrier > coherent_J * (1 + 1e-3):
        flags.append(f"barrier {p.barrier:.4g} J above K_eff V = {coherent_J:.4g} J (uniform states): not a lowest path")
    if sc and not sc.get("passed"):
        flags.append("saddle check failed: " + sc.get("message", ""))
    return {"T_K": T, "barrier_J": p.barrier, "delta": p.delta(T), "barrier_back_J": p.barrier_back,
            "converged": p.converged, "status": p.status, "barrier_spread_J": finite_or_none(p.barrier_spread),
            "barrier_uncertainty_J": finite_or_none(getattr(p, "barrier_uncertainty_J", float("nan"))),
            "candidates": p.candidates, "start": p.start, "coherent_bound_J": p.coherent_bound_J,
            "saddle_check_passed": sc.get("passed"), "saddle_check": sc.get("message"),
            "f0_Hz": f0, "f0_note": f0_note, "flags": flags,
            "iterations": p.iterations, "cell_m": spec["cell"]["cell"], "wall_s": p.wall_s, "saddle_index": p.saddle_index,
            "energies_J": p.energies.tolist(), "s_rad": p.s.tolist(), "coherent_J": coherent_J, "warnings": notes}, p


def _growth_rates(spec, drives, T, backend, duration, samples=120):
    """Zero-temperature growth rate (1/s) of a small tilt of the easy-axis state against the drive (one batch
    member per drive): the slope of ln |m⊥| while |m⊥| < 0.3."""
    easy = easy_axis_of(spec)
    sign = -1.0 if spec["cell"]["write"] == "stt" else 1.0
    sim = build_cell(spec, sign * np.asarray(drives, dtype=float), T_material=T, batch=len(drives), backend=backend,
                     tilt0_deg=2.0, tol=1e-7)
    ts, perp = [], []
    for k in range(samples + 1):
        if k:
            sim.run(duration / samples, progress=False)
        m = np.asarray(sim.m_avg).reshape(-1, 3)
        ts.append(float(np.atleast_1d(sim.t)[0]))
        perp.append(np.sqrt(np.maximum(1.0 - (m @ easy) ** 2, 1e-30)))
    ts, perp = np.array(ts), np.array(perp)
    rates = []
    for b in range(len(drives)):
        ok = perp[:, b] < 0.3
        n = int(np.argmin(ok)) if not ok.all() else len(ok)
        n = max(n, 3)
        rates.append(float(np.polyfit(ts[:n], np.log(perp[:n, b]), 1)[0]))
    return np.array(rates), ts, perp


def stage_stack(stack, T, mtj, backend):
    """The ``[stack]`` of a cell spec at T (K): :func:`micromag.apps.stack_report.stack_summary` (offset field,
    free-layer macrospin, Δ_P and Δ_AP, closed-form Ic0 both ways, SAF spin-flop fields) with the spec's P and
    Λ, and Ic0 both ways from the free layer's dynamics in the offset field map
    (:func:`micromag.apps.stack_report.critical_currents_simulated`) where the stack has a reference layer."""
    from .. import stack_report

    out = stack_report.stack_summary(stack, T=T, backend=backend, P=mtj["P"], Lambda=mtj["Lambda"])
    if "Ic0_A" in out:
        sim = stack_report.critical_currents_simulated(stack, P=mtj["P"], Lambda=mtj["Lambda"], backend=backend)
        out["Ic0_simulated_A"] = {k: sim[k] for k in ("P->AP", "AP->P")}
    return out


def stage_critical(spec, T, coh, backend, progress):
    """Ic0 / Jc0 (STT), the switching threshold (SOT) or the anisotropy-cancelling voltage (VCMA), with the
    macrospin formulas beside. The formulas take the energetic K_eff V of the uniform states; for a single
    cell the simulated STT Ic0 equals 2eαK_eff V/(ħε) to 0.1 % (tests/test_cellreport.py). On a disc the
    partly filled edge cells count less in the energy (fill-weighted) than in the dynamics (every cell's own
    LLG), so the two differ by a few % (+5 % for the 40 nm example cell)."""
    from .. import retention as ret

    c, mt = spec["cell"], spec["mtj"]
    mat = material_at(spec["material"], c["thickness"], T)
    area, V, Ms = coh["area_m2"], coh["volume_m3"], coh["Ms_A_per_m"]
    E_coh = coh["E_hard_inplane_J"] if easy_axis_of(spec)[0] == 1 else min(coh["E_hard_inplane_J"], coh["E_hard_z_J"])
    K_eff = E_coh / V
    B_K = 2 * K_eff / Ms
    R_P = mt["RA_P"] / area
    out = {"K_eff_J_per_m3": K_eff, "B_K_T": B_K, "area_m2": area, "R_P_ohm": R_P}
    if c["write"] in ("stt", "vcma"):
        Ic_ms = ret.stt_critical_current(K_eff, V, mat.alpha, P=mt["P"], Lambda=mt["Lambda"], state="P")
        out.update({"Ic0_macrospin_A": Ic_ms, "Jc0_macrospin_A_per_m2": Ic_ms / area})
    if c["write"] == "vcma":
        xi = spec["vcma"]["xi"]
        out["V_cancel_V"] = K_eff * mt["t_ox"] * c["thickness"] / xi if xi != 0 else None
        out["method"] = "VCMA: V at which ΔK = −ξV/(t_ox t_F) cancels K_eff (closed form); Ic0 of the read STT: macrospin"
        out["Ic0_A"] = out["Ic0_macrospin_A"]
        return out
    if c["write"] == "stt":
        Vc_est = Ic_ms * R_P
        drives = Vc_est * np.array([0.4, 0.7, 1.0, 1.3])
        tau_D = (1 + mat.alpha**2) / (mat.alpha * mat.gamma * max(B_K, 1e-3))
        say(progress, f"Ic0: growth rates of a 2° tilt at {len(drives)} biases over {3 * tau_D * 1e9:.2g} ns (T = 0)")
        rates, ts, perp = _growth_rates(spec, drives, T, backend, 3 * tau_D)
        slope, icpt = np.polyfit(drives, rates, 1)
        Vc = -icpt / slope
        Ic0 = Vc / R_P
        out.update({"method": "linear stability of the parallel state: zero of the growth rate of a small tilt "
                    "against the bias (T = 0)", "drives_V": drives.tolist(), "growth_rates_per_s": rates.tolist(),
                    "Vc0_V": Vc, "Ic0_A": Ic0, "Jc0_A_per_m2": Ic0 / area,
                    "Ic0_sim_over_macrospin": Ic0 / Ic_ms})
        return out
    # SOT: batch over J with a slow ramp, the final state decides (T = 0)
    s = spec["sot"]
    from ...engine import heavy_metal

    hm = getattr(heavy_metal, s["heavy_metal"])(thickness=s["hm_thickness"])
    theta = hm.theta_eff
    if easy_axis_of(spec)[0] == 1:
        B_d = 2 * coh["E_hard_z_J"] / (Ms * V) - B_K
        J_ms = ret.sot_critical_current_density_inplane(mat.alpha, Ms, c["thickness"], theta, B_K, max(B_d, 0.0))
        formula = "Liu et al. 2012 (type y, easy axis along σ)" if c["tilt_deg"] % 180 == 90 else \
            "Liu et al. 2012 type-y formula (a guide only: the easy axis is not along σ)"
    else:
        formula = "Lee et al. 2013 (type z with B_x)"
        if B_K / 2 > abs(s["B_x"]) / math.sqrt(2):
            J_ms = ret.sot_critical_current_density_perpendicular(Ms, c["thickness"], theta, B_K, s["B_x"])
        else:  # outside the formula's range: scan about the field-free value
            J_ms = ret.sot_critical_current_density_perpendicular(Ms, c["thickness"], theta, B_K, 0.0)
            formula += f": not applicable (B_x/√2 >= B_K/2 = {B_K / 2:.3g} T), the scan starts from its B_x = 0 value"
    out.update({"Jc_macrospin_A_per_m2": J_ms, "formula": formula})
    lo, hi = 0.3 * J_ms, 2.0 * J_ms
    Js_all, sw_all = [], []
    bracket = None
    refined = 0
    for rnd in range(5):
        Js = np.linspace(lo, hi, 7)
        say(progress, f"SOT threshold, round {rnd + 1}: {len(Js)} currents {lo:.3g} … {hi:.3g} A/m², 1 ns ramp (T = 0)")
        sw = _sot_switched(spec, Js, T, backend)
        Js_all += Js.tolist()
        sw_all += sw.tolist()
        if not sw.any():  # the threshold lies above: look higher
            lo, hi = hi, 2 * hi
            continue
        if sw.all():  # below: look lower
            lo, hi = lo / 2, lo
            continue
        k = int(np.argmax(sw))  # the first current that switched
        lo, hi = float(Js[max(k - 1, 0)]), float(Js[k])
        bracket = (lo, hi)
        refined += 1
        if refined == 2:
            break
    order = np.argsort(Js_all)
    Js_all, sw_all = np.array(Js_all)[order], np.array(sw_all)[order]
    Jc = None if bracket is None else 0.5 * (bracket[0] + bracket[1])
    dev = make_device(spec, 1.0, T)
    I_per_J = float(dev.line_current(1.0))
    out.update({"method": "switching threshold (final state) from batches over J with a 1 ns ramp, 2 ns hold, 1 ns "
                "fall and 4 ns relaxation (T = 0)", "J_scan_A_per_m2": Js_all.tolist(), "switched": [bool(x) for x in sw_all],
                "Jc_A_per_m2": Jc, "Jc_bracket_A_per_m2": None if bracket is None else list(bracket),
                "Ic_A": None if Jc is None else Jc * I_per_J, "Ic_macrospin_A": J_ms * I_per_J,
                "line_current_per_J_m2": I_per_J,
                "Jc_sim_over_macrospin": None if Jc is None else Jc / J_ms})
    # the read current still passes the junction: its STT critical current, macrospin (an in-plane layer
    # adds half its out-of-plane demagnetizing field)
    B_d_read = max(2 * coh["E_hard_z_J"] / (Ms * V) - B_K, 0.0) if easy_axis_of(spec)[0] == 1 else 0.0
    Ic_read = ret.stt_critical_current(K_eff, V, mat.alpha, P=mt["P"], Lambda=mt["Lambda"], state="P",
                                       B_d=B_d_read, Ms=Ms)
    out["Ic0_A"] = Ic_read
    out["Ic0_note"] = "read STT through the junction (macrospin formula)"
    return out


def _sot_switched(spec, Js, T, backend):
    from ...engine.drives import Pulse

    easy = easy_axis_of(spec)
    sim = build_cell(spec, Pulse(np.asarray(Js, dtype=float), width=3e-9, rise=1e-9, fall=1e-9), T_material=T,
                     batch=len(Js), backend=backend, tilt0_deg=1.0)
    sim.run(8e-9, progress=False)  # 4 ns after the pulse: a weakly damped layer settles slowly
    m = np.asarray(sim.m_avg).reshape(-1, 3)
    return (m @ easy) < 0


def stage_switching(spec, T, coh_delta, backend, progress):
    """Switching time and write energy against the drive at T = 0 (one member per drive, from the rms
    thermal angle 1/√Δ of the coherent barrier)."""
    c, w = spec["cell"], spec["write"]
    drives = np.asarray(w["drive"], dtype=float)
    tilt = math.degrees(1.0 / math.sqrt(max(coh_delta, 1.0)))
    sign = -1.0 if c["write"] == "stt" else 1.0
    sim = build_cell(spec, sign * drives, T_material=T, batch=len(drives), backend=backend, tilt0_deg=tilt,
                     pulse=w["pulse"])
    easy = easy_axis_of(spec)
    total = w["pulse"] + w["rise"] + w["settle"]
    every = 5e-12
    n = int(math.ceil(total / every))
    t_sw = np.full(len(drives), np.nan)
    prev = np.asarray(sim.m_avg).reshape(-1, 3) @ easy
    t_prev = 0.0
    say(progress, f"switching time: {len(drives)} drives, {total * 1e9:.3g} ns at T = 0 (start {tilt:.2g}° off the axis)")
    for k in range(n):
        sim.run(every, progress=False)
        t = float(np.atleast_1d(sim.t)[0])
        now = np.asarray(sim.m_avg).reshape(-1, 3) @ easy
        hit = np.isnan(t_sw) & (now < 0) & (prev >= 0)
        t_sw[hit] = t_prev + (t - t_prev) * prev[hit] / (prev[hit] - now[hit])
        prev, t_prev = now, t
    final = prev
    dev = sim.device
    E = []
    for d, ts, fin in zip(drives, t_sw, final):
        if c["write"] == "sot":
            I = float(dev.line_current(d))
            E.append(I * I * dev.line_resistance * (w["pulse"]))
        else:
            R_P, R_AP = dev.R_P, dev.R_AP
            on = w["pulse"]
            tp = on if not np.isfinite(ts) else min(ts, on)
            joule = d * d * (tp / R_P + (on - tp) / R_AP)
            E.append(joule + (dev.cv2_energy(d) if c["write"] == "vcma" else 0.0))
    return {"drives": drives.tolist(), "t_switch_s": [finite_or_none(x) for x in t_sw],
            "final_m_easy": [float(x) for x in final], "switched": [bool(x < 0) for x in final],
            "write_energy_J": E, "tilt0_deg": tilt,
            "energy_model": "SOT: I² R_line × pulse; STT: V² (t_sw/R_P + (pulse − t_sw)/R_AP); VCMA: C V² + Joule"}


def stage_wer(spec, T, out, backend, workers, progress):
    """WER against the drive: thermal ensembles through the resumable sweep (one point per drive)."""
    from .. import retention as ret
    from ..sweep import Spec, run_sweep

    w = spec["write"]
    easy = easy_axis_of(spec)
    q = "mx" if easy[0] == 1 else "mz"
    # a precessional (VCMA) or field-assisted (SOT type z: m is pulled in-plane, the field and the falling edge
    # decide) write may cross and cross back: there the final state decides; STT keeps pushing once past
    precessional = spec["cell"]["write"] in ("vcma", "sot")
    cell = json.dumps({k: v for k, v in spec.items() if k != "quick"}, sort_keys=True)
    sw = Spec(build="micromag.apps.cellreport:wer_build", params={"drive": list(w["drive"])},
              fixed={"cell": cell, "T": w["temperature"], "pulse": w["pulse"], "delay": w["delay"], "dt": w["dt"],
                     "backend": backend},
              duration=w["delay"] + w["pulse"] + 2 * w["rise"] + w["settle"], every=10e-12,
              detect={"quantity": q, "threshold": -0.5, "below": True, "stop": not precessional},
              repeats=int(w["wer_members"]), name="wer")
    rows = run_sweep(sw, out=os.path.join(out, "wer"), resume=True, workers=workers, progress=progress, plot=False)
    table = []
    for d in w["drive"]:
        rs = [r for r in rows if float(r["drive"]) == float(d)]
        n = len(rs)
        k = sum((r[q] > 0) if precessional else (not r["switched"]) for r in rs)
        lo, hi = ret.binomial_interval(k, n, 0.95)
        ts = [r["t_switch"] - w["delay"] for r in rs if r["switched"] and r.get("t_switch") is not None]
        table.append({"drive": d, "N": n, "errors": k, "WER": k / n, "CI95_low": lo, "CI95_high": hi,
                      "t_switch_mean_s": float(np.mean(ts)) if ts else None,
                      "t_switch_std_s": float(np.std(ts)) if len(ts) > 1 else None})
    how = f"final <{q}> < 0 after pulse + settle" if precessional else f"<{q}> below −0.5 during pulse + settle"
    return {"T_K": w["temperature"], "switch": how, "table": table}


def stage_read(spec, delta_op, Ic0, area, T, K_eff=None):
    """Read disturb (thermally activated model) and the TMR read margin at the read bias. With ``K_eff``
    (J/m³, the coherent anisotropy at T) the VCMA of the read bias lowers the barrier and Ic0 during the read
    (:func:`micromag.apps.corners.vcma_read_lowering`; perpendicular cells)."""
    from .. import retention as ret

    dK = _read_dK(spec)
    if K_eff is not None and K_eff > 0:
        delta_op = max(delta_op * (K_eff - dK) / K_eff, 0.0)
        Ic0 = Ic0 * max(K_eff - dK, 0.0) / K_eff

    r, mt = spec["read"], spec["mtj"]
    V = abs(r["V_read"])
    tmr0 = mt["TMR"]
    tmr = tmr0 / (1 + (V / mt["V_half"]) ** 2) if mt.get("V_half") else tmr0
    R_P = mt["RA_P"] / area
    R_AP = R_P * (1 + tmr)
    I_P, I_AP = V / R_P, V / R_AP
    # a read at +V drives electrons into the free layer: its STT favours P and pushes on the AP state;
    # ε(AP)/ε(P) = Λ² for Slonczewski's angular form, so Ic0(AP) = Ic0(P) / Λ²
    Ic0_AP = abs(Ic0) / mt["Lambda"] ** 2
    if Ic0_AP == 0:  # the read bias cancels the anisotropy
        return {"T_K": T, "V_read_V": V, "t_read_s": r["t_read"], "TMR_at_V_read": tmr, "R_P_ohm": R_P,
                "R_AP_ohm": R_AP, "I_read_P_A": I_P, "I_read_AP_A": I_AP, "delta_I_A": I_P - I_AP,
                "read_margin": (I_P - I_AP) / I_P, "Ic0_disturbed_state_A": 0.0, "I_over_Ic0": math.inf,
                "delta_at_T": 0.0, "P_disturb_one_read": 1.0, "n_reads": r["n_reads"], "P_disturb_n_reads": 1.0,
                "budget": r["budget"], "passes": False, "I_read_max_A": 0.0, "V_read_max_V": 0.0, "dK_read_J_per_m3": dK,
                "model": "the VCMA of the read bias cancels K_eff: the read writes"}
    worst_I = I_AP
    P1 = ret.read_disturb_probability(delta_op, worst_I, Ic0_AP, r["t_read"], tau0=spec["retention"]["tau0"])
    Pn = ret.read_disturb_probability(delta_op, worst_I, Ic0_AP, r["t_read"], tau0=spec["retention"]["tau0"],
                                      n_reads=r["n_reads"])
    Imax = ret.max_read_current(delta_op, Ic0_AP, r["t_read"], r["budget"], tau0=spec["retention"]["tau0"],
                                n_reads=r["n_reads"])
    return {"T_K": T, "V_read_V": V, "t_read_s": r["t_read"], "TMR_at_V_read": tmr, "R_P_ohm": R_P, "R_AP_ohm": R_AP,
            "I_read_P_A": I_P, "I_read_AP_A": I_AP, "delta_I_A": I_P - I_AP, "read_margin": (I_P - I_AP) / I_P,
            "Ic0_disturbed_state_A": Ic0_AP, "I_over_Ic0": worst_I / Ic0_AP, "delta_at_T": delta_op,
            "P_disturb_one_read": P1, "n_reads": r["n_reads"], "P_disturb_n_reads": Pn, "budget": r["budget"],
            "passes": bool(Pn <= r["budget"]), "I_read_max_A": Imax,
            "V_read_max_V": Imax * R_AP, "dK_read_J_per_m3": dK if K_eff else 0.0,
            "model": "Δ(I) = Δ_V (1 − I/Ic0)², τ = τ0 e^Δ(I); the AP state under +V_read"
            + (f"; Δ_V, Ic0 lowered by the read bias's VCMA dK = {dK:.3g} J/m³" if K_eff and dK else "")}


def _read_dK(spec):
    """The VCMA lowering of K during a read (J/m³): |ξ V_read|/(t_ox t_F) for a perpendicular cell, 0 for an
    in-plane one (VCMA acts on the out-of-plane hard axis, not on the in-plane barrier)."""
    from ..corners import vcma_read_lowering

    if easy_axis_of(spec)[0] == 1:
        return 0.0
    return vcma_read_lowering(spec["vcma"]["xi"], spec["read"]["V_read"], spec["mtj"]["t_ox"], spec["cell"]["thickness"])

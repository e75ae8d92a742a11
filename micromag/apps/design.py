r"""The design search: ``micromag design SPEC.toml --out DIR`` and :func:`design_search`.

Over ranges of the cell (diameter D, free-layer thickness t, interface anisotropy Ki or bulk Ku, Ms, write
route STT/SOT/VCMA, pulse width τ_p) it finds the cells that keep an array for the retention target and,
among them, the least write energy per bit, with cheap closed-form macrospin models (each stated below;
every number is a model, not a micromagnetic result: the cells on the front are written as cell specs for
``micromag cell``, which signs them off on their micromagnetic model).

Models, free layer a disc of diameter D and thickness t, material at T by :meth:`Material.at`:

- anisotropy  K_eff(T) = Ku1(T) − μ0 Ms(T)²/2 (N_z − N_x), Ku1 = Ki/t + Ku, N_x = (1 − N_z)/2 and the
  magnetometric factor of a cylinder N_z = (2R/t) ∫₀^∞ J1(x)²/x² (1 − e^{−x t/R}) dx (R = D/2; Joseph,
  J. Appl. Phys. 37, 4639 (1966); 0.876 at t/D = 0.05, 0.312 at t = D);
- barrier     E_b = min(K_eff V, 4 √(A K_eff) D t): coherent rotation, or a wall across the disc above the
  crossover diameter (:func:`micromag.apps.barrier.crossover_diameter`); Δ(T) = E_b/(k_B T); the retention
  verdict is :func:`micromag.apps.retention.retention_verdict` at T_hot;
- pulse width the switching current of a macrospin driven for τ_p (precessional regime, Sun, Phys. Rev. B
  62, 570 (2000)): I(τ_p) = I_c0 [1 + τ_D ln(π/(2θ0)) / τ_p], τ_D = (1 + α²)/(α γ B_K), B_K = 2K_eff/Ms,
  θ0 = 1/√(2Δ) at the operating temperature;
- STT   I_c0 from :func:`micromag.apps.retention.stt_critical_current` (P → AP), R = RA_P/area, V = I R
  (at most ``V_max``), energy I² R τ_p;
- SOT   J_c0 from :func:`micromag.apps.retention.sot_critical_current_density_perpendicular` with the in-plane
  field B_x (B_x < B_K/√2), the same pulse-width law applied to it (an approximation: the Lee et al.
  threshold is quasi-static), current J w t_hm in a stripe of the heavy metal as wide as the pillar and
  ``stripe_length`` × D long, energy I² ρ L/(w t_hm) τ_p;
- VCMA  the bias V_c = K_eff t t_ox / ξ that cancels the anisotropy (at most ``V_max``), the pulse half a
  precession period in B_x, τ_p = π/(γ B_x) (the spec's pulse range is not used), energy C V² + V² τ_p/R,
  C = ε0 ε_r area/t_ox.

Results (DIR/design.json, DIR/design.md, DIR/front/<route>-<i>.toml): per route the Pareto front of Δ(T_hot)
(larger is better) against write energy (smaller is better) among the passing cells, the least-energy
passing cell, and the smallest passing diameter. Every evaluated point is appended to DIR/results.jsonl
(:class:`micromag.apps.sweep.ResultsLog`), so a killed search started again with ``--resume`` skips them.

The spec::

    [design]
    routes = ["stt", "sot", "vcma"]
    diameter = {lo = 20e-9, hi = 60e-9, n = 9}    # m; a number, a list, or {lo, hi, n}
    thickness = [1.0e-9, 1.3e-9, 1.6e-9]          # m
    Ki = 1.3e-3                                   # J/m² (or Ku, J/m³; both may be given)
    Ms = 1.2e6                                    # A/m
    pulse = {lo = 2e-9, hi = 20e-9, n = 4}        # s
    [material]  # A, alpha, Tc, T_ref, nK, nA, Ms_exponent, gamma (CoFeB_perpendicular's by default)
    [retention] # years, T_hot (K), n_bits, fail_budget, tau0 (s); T_op (K), the write temperature
    [mtj]       # RA_P (Ω·m²), TMR, P, Lambda, t_ox (m), eps_r, V_max (V)
    [sot]       # heavy_metal ("BetaW", "Ta", "Pt"), hm_thickness (m), B_x (T), stripe_length (× D)
    [vcma]      # xi (J/(V·m)), B_x (T)
"""
from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import os

import numpy as np

from ..engine.constants import gamma_mumax, kB, mu0

ROUTES = ("stt", "sot", "vcma")
RANGE_KEYS = ("diameter", "thickness", "Ki", "Ku", "Ms", "pulse")
DEFAULTS = {
    "design": {"routes": ["stt"], "Ki": 1.3e-3, "Ku": 0.0, "Ms": 1.257e6, "pulse": 10e-9},
    "material": {"A": 1.5e-11, "alpha": 0.027, "Tc": 750.0, "T_ref": 300.0, "nK": 2.0, "nA": 2.0,
                 "Ms_exponent": 1.5, "gamma": gamma_mumax},
    "retention": {"years": 10.0, "T_hot": 423.15, "n_bits": 1048576, "fail_budget": 1e-6, "tau0": 1e-9,
                  "T_op": 300.0},
    "mtj": {"RA_P": 5e-12, "TMR": 1.5, "P": 0.6, "Lambda": 1.0, "t_ox": 1.0e-9, "eps_r": 9.8, "V_max": 0.9},
    "sot": {"heavy_metal": "BetaW", "hm_thickness": 5e-9, "B_x": 0.02, "stripe_length": 2.0},
    "vcma": {"xi": 1e-13, "B_x": 0.1},
}
EPS0 = 8.8541878128e-12  # F/m


# ---------------------------------------------------------------------------------------------- models
@functools.lru_cache(maxsize=4096)
def cylinder_Nz(diameter, thickness):
    """Magnetometric demagnetizing factor N_z of a cylinder (axis z): (2R/t) ∫₀^∞ J1(x)²/x² (1 − e^{−xt/R}) dx
    (Joseph, J. Appl. Phys. 37, 4639 (1966)); → 1 for a thin disc, 0.3116 at t = D, → 0 for a long rod."""
    from scipy import integrate, special

    R = float(diameter) / 2
    a = float(thickness) / R
    # ∫₀^∞ J1²/x² dx = 4/(3π); the rest decays like e^{−a x}
    rest = integrate.quad(lambda x: special.j1(x) ** 2 / x**2 * math.exp(-a * x) if x > 0 else 0.25, 0, np.inf,
                          limit=2000, epsabs=1e-14, epsrel=1e-12)[0]
    val = 4 / (3 * math.pi) - rest
    return 2.0 / a * val


def _material_at(point, mat, T):
    from ..engine.materials import Material

    t = point["thickness"]
    m = Material(Ms=point["Ms"], A=mat["A"], alpha=mat["alpha"], Ku1=point["Ki"] / t + point["Ku"], Tc=mat["Tc"],
                 T_ref=mat["T_ref"], nK=mat["nK"], nA=mat["nA"], Ms_exponent=mat["Ms_exponent"], gamma=mat["gamma"])
    return m.at(T) if abs(T - m.T_ref) > 1e-12 else m


def macrospin(point, mat, T, Nz=None):
    """{Ms, K_eff, V, E_b, delta, B_K, A} of the free layer of ``point`` at T (K) (module docstring)."""
    D, t = point["diameter"], point["thickness"]
    m = _material_at(point, mat, T)
    Nz = cylinder_Nz(D, t) if Nz is None else Nz
    K_eff = m.Ku1 - mu0 * m.Ms**2 / 2 * (Nz - (1 - Nz) / 2)
    V = math.pi * D * D / 4 * t
    out = {"Ms": m.Ms, "K_eff": K_eff, "V": V, "A": m.A, "alpha": m.alpha, "gamma": m.gamma}
    if K_eff <= 0:
        out.update(E_b=0.0, delta=0.0, B_K=0.0)
        return out
    E_b = min(K_eff * V, 4 * math.sqrt(m.A * K_eff) * D * t)
    out.update(E_b=E_b, delta=E_b / (kB * T), B_K=2 * K_eff / m.Ms)
    return out


def _pulse_factor(ms, delta_op, pulse):
    """1 + τ_D ln(π/(2θ0))/τ_p (Sun 2000), θ0 = 1/√(2Δ)."""
    tau_D = (1 + ms["alpha"] ** 2) / (ms["alpha"] * ms["gamma"] * ms["B_K"])
    theta0 = 1.0 / math.sqrt(2 * max(delta_op, 1.0))
    return 1.0 + tau_D * math.log(math.pi / (2 * theta0)) / pulse


def write_cost(route, point, spec, ms):
    """{"valid", "why", "energy" (J per bit), "drive" (V or A/m²), "current" (A), "pulse" (s)} of writing the
    free layer ``ms`` (its macrospin at the operating temperature) by ``route`` (module docstring)."""
    from .retention import sot_critical_current_density_perpendicular, stt_critical_current

    mt = spec["mtj"]
    D = point["diameter"]
    area = math.pi * D * D / 4
    if ms["K_eff"] <= 0:
        return {"valid": False, "why": "K_eff <= 0 (the layer is in-plane at the operating temperature)"}
    pulse = point["pulse"]
    if route == "stt":
        Ic0 = stt_critical_current(ms["K_eff"], ms["V"], ms["alpha"], P=mt["P"], Lambda=mt["Lambda"], state="P")
        I = Ic0 * _pulse_factor(ms, ms["delta"], pulse)
        R = mt["RA_P"] / area
        if I * R > mt["V_max"]:
            return {"valid": False, "why": f"STT bias I R > V_max = {mt['V_max']:g} V"}
        return {"valid": True, "energy": I * I * R * pulse, "drive": I * R, "current": I, "pulse": pulse}
    if route == "sot":
        from ..engine import heavy_metal

        s = spec["sot"]
        hm = getattr(heavy_metal, s["heavy_metal"])(thickness=s["hm_thickness"])
        if abs(s["B_x"]) >= ms["B_K"] / math.sqrt(2):
            return {"valid": False, "why": "SOT in-plane field B_x >= B_K/sqrt(2)"}
        Jc0 = sot_critical_current_density_perpendicular(ms["Ms"], point["thickness"], abs(hm.theta_eff), ms["B_K"],
                                                          s["B_x"])
        J = Jc0 * _pulse_factor(ms, ms["delta"], pulse)
        I = J * D * s["hm_thickness"]
        R = hm.resistivity * s["stripe_length"] * D / (D * s["hm_thickness"])
        return {"valid": True, "energy": I * I * R * pulse, "drive": J, "current": I, "pulse": pulse}
    if route == "vcma":
        v = spec["vcma"]
        Vc = ms["K_eff"] * point["thickness"] * mt["t_ox"] / v["xi"]
        if Vc > mt["V_max"]:
            return {"valid": False, "why": f"VCMA bias K_eff t t_ox/xi > V_max = {mt['V_max']:g} V"}
        tau = math.pi / (ms["gamma"] * v["B_x"])
        C = EPS0 * mt["eps_r"] * area / mt["t_ox"]
        R = mt["RA_P"] / area
        return {"valid": True, "energy": C * Vc * Vc + Vc * Vc / R * tau, "drive": Vc, "current": Vc / R,
                "pulse": tau}
    raise ValueError(f"route must be one of {ROUTES}, got {route!r}")


# ---------------------------------------------------------------------------------------------- the spec
def _values(name, v):
    isnum = lambda x: isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)  # noqa: E731
    if isnum(v):
        vals = [float(v)]
    elif isinstance(v, list) and v and all(isnum(x) for x in v):
        vals = [float(x) for x in v]
    elif isinstance(v, dict) and set(v) <= {"lo", "hi", "n", "log"} and {"lo", "hi", "n"} <= set(v):
        lo, hi, n = v["lo"], v["hi"], v["n"]
        if not (isnum(lo) and isnum(hi) and isinstance(n, int) and not isinstance(n, bool) and n >= 1 and hi >= lo):
            raise ValueError(f"[design] {name}: {{lo, hi, n}} needs numbers lo <= hi and an integer n >= 1, got {v!r}")
        vals = list(np.geomspace(lo, hi, n) if v.get("log") else np.linspace(lo, hi, n))
    else:
        raise ValueError(f"[design] {name} must be a number, a non-empty list of numbers or {{lo, hi, n}}, got {v!r}")
    lo_ok = {"diameter": 0.0, "thickness": 0.0, "Ms": 0.0, "pulse": 0.0}
    if name in lo_ok and min(vals) <= 0:
        raise ValueError(f"[design] {name} must hold values > 0, got {min(vals)!r}")
    if name in ("Ki", "Ku") and min(vals) < 0:
        raise ValueError(f"[design] {name} must hold values >= 0, got {min(vals)!r}")
    return [float(x) for x in vals]


def check_spec(doc):
    """The spec (a dict, as read from TOML) with defaults filled in and every value checked; ValueError
    naming the table and key otherwise."""
    allowed = {"design": {"routes", *RANGE_KEYS}, **{k: set(v) for k, v in DEFAULTS.items() if k != "design"}}
    allowed["retention"] = set(DEFAULTS["retention"])
    out = {}
    for table in doc:
        if table not in allowed:
            raise ValueError(f"unknown table [{table}]; allowed: {sorted(allowed)}")
    for table, keys in allowed.items():
        given = dict(doc.get(table, {}))
        bad = set(given) - keys
        if bad:
            raise ValueError(f"[{table}]: unknown keys {sorted(bad)}; allowed: {sorted(keys)}")
        out[table] = {**DEFAULTS[table], **given}
    d = out["design"]
    if "diameter" not in doc.get("design", {}) or "thickness" not in doc.get("design", {}):
        raise ValueError("[design] needs diameter and thickness (m)")
    routes = d["routes"]
    if not isinstance(routes, list) or not routes or any(r not in ROUTES for r in routes):
        raise ValueError(f"[design] routes must be a non-empty list of {ROUTES}, got {routes!r}")
    for k in RANGE_KEYS:
        d[k] = _values(k, d[k])
    for table in ("material", "retention", "mtj", "vcma"):
        for k, v in out[table].items():
            if not (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)):
                raise ValueError(f"[{table}] {k} must be a number, got {v!r}")
            if v <= 0 and not (table == "mtj" and k == "TMR"):
                raise ValueError(f"[{table}] {k} = {v!r} must be > 0")
    if out["retention"]["fail_budget"] >= 1:
        raise ValueError("[retention] fail_budget must lie in (0, 1)")
    if out["mtj"]["P"] > 1:
        raise ValueError("[mtj] P must lie in (0, 1]")
    s = out["sot"]
    if s["heavy_metal"] not in ("BetaW", "Ta", "Pt"):
        raise ValueError(f"[sot] heavy_metal must be 'BetaW', 'Ta' or 'Pt', got {s['heavy_metal']!r}")
    for k in ("hm_thickness", "stripe_length"):
        if not (isinstance(s[k], (int, float)) and s[k] > 0):
            raise ValueError(f"[sot] {k} must be > 0, got {s[k]!r}")
    if not (isinstance(s["B_x"], (int, float)) and math.isfinite(s["B_x"])):
        raise ValueError(f"[sot] B_x must be a number in T, got {s['B_x']!r}")
    return out


def points(spec):
    """Every (route, point) of the spec's ranges; VCMA takes no pulse range (its pulse is the precession)."""
    d = spec["design"]
    for route in d["routes"]:
        pulses = d["pulse"][:1] if route == "vcma" else d["pulse"]
        for D, t, Ki, Ku, Ms, tau in itertools.product(d["diameter"], d["thickness"], d["Ki"], d["Ku"], d["Ms"],
                                                          pulses):
            yield route, {"diameter": D, "thickness": t, "Ki": Ki, "Ku": Ku, "Ms": Ms, "pulse": tau}


def _check_some_valid(spec):
    """Before any work: some point is a perpendicular magnet at T_op and T_hot and writable by its route;
    otherwise a ValueError that says which constraint rules the range out (with counts)."""
    why = {}
    n = 0
    mat, ret = spec["material"], spec["retention"]
    for T_name in ("T_op", "T_hot"):
        if not 0 < ret[T_name] < mat["Tc"]:
            raise ValueError(f"[retention] {T_name} = {ret[T_name]:g} K must lie below the Curie temperature "
                             f"Tc = {mat['Tc']:g} K")
    for route, p in points(spec):
        n += 1
        hot = macrospin(p, mat, ret["T_hot"])
        if hot["K_eff"] <= 0:
            why["K_eff <= 0 at T_hot (in-plane: thinner layers, larger Ki or smaller Ms)"] = why.get(
                "K_eff <= 0 at T_hot (in-plane: thinner layers, larger Ki or smaller Ms)", 0) + 1
            continue
        w = write_cost(route, p, spec, macrospin(p, mat, ret["T_op"]))
        if w["valid"]:
            return
        why[w["why"]] = why.get(w["why"], 0) + 1
    detail = "; ".join(f"{k}: {v} of {n} points" for k, v in sorted(why.items(), key=lambda kv: -kv[1]))
    raise ValueError(f"the design range has no valid point: {detail}")


# ---------------------------------------------------------------------------------------------- the search
def pareto_front(rows):
    """The rows not dominated in (Δ_hot larger, energy smaller), sorted by energy."""
    rows = sorted(rows, key=lambda r: (r["energy"], -r["delta_hot"]))
    front, best = [], -math.inf
    for r in rows:
        if r["delta_hot"] > best:
            front.append(r)
            best = r["delta_hot"]
    return front


def evaluate(route, point, spec):
    """One design point: Δ at T_hot and T_op, the retention verdict, the write cost."""
    from .retention import SECONDS_PER_YEAR, required_delta

    mat, ret = spec["material"], spec["retention"]
    Nz = cylinder_Nz(point["diameter"], point["thickness"])
    hot = macrospin(point, mat, ret["T_hot"], Nz)
    op = macrospin(point, mat, ret["T_op"], Nz)
    need = required_delta(ret["years"] * SECONDS_PER_YEAR, int(ret["n_bits"]), ret["fail_budget"], ret["tau0"])
    w = write_cost(route, point, spec, op)
    row = {"route": route, **point, "Nz": Nz, "K_eff_op": op["K_eff"], "delta_hot": hot["delta"],
           "delta_op": op["delta"], "delta_required": need, "passes": bool(hot["delta"] >= need and w["valid"])}
    row.update({k: v for k, v in w.items() if k != "pulse"})
    if w.get("pulse") is not None:
        row["pulse"] = w["pulse"]
    return row


def design_search(spec, out=None, resume=False, progress=True):
    """Run the search of ``spec`` (a dict as read from the TOML, or a path); with ``out`` write the results
    there (module docstring). Returns {"rows": every point, "routes": {route: {"front", "best",
    "smallest_diameter", "passing"}}, "delta_required"}."""
    from ..engine.progress import Progress
    from .sweep import ResultsLog

    if isinstance(spec, (str, os.PathLike)):
        spec = load_design_spec(spec)
    spec = check_spec(spec)
    _check_some_valid(spec)
    todo = list(points(spec))
    h = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:16]
    log = None
    if out is not None:
        os.makedirs(out, exist_ok=True)
        log = ResultsLog(out, h, resume)
    prog = Progress("design", len(todo), enabled=progress)
    rows = []
    try:
        for i, (route, p) in enumerate(todo):
            key = f"{route}|" + "|".join(f"{p[k]:.9g}" for k in RANGE_KEYS)
            if log is not None and key in log.done:
                rows.append(log.done[key]["rows"][0])
                continue
            row = evaluate(route, p, spec)
            rows.append(row)
            if log is not None:
                log.write(key, {"route": route, **p}, {}, [row])
            if prog.due():
                prog.update(i + 1, f"{i + 1}/{len(todo)} points")
    finally:
        if log is not None:
            log.close()
    prog.done(f"{len(rows)} points")
    result = {"rows": rows, "routes": {}, "delta_required": rows[0]["delta_required"] if rows else None}
    for route in spec["design"]["routes"]:
        ok = [r for r in rows if r["route"] == route and r["passes"]]
        result["routes"][route] = {
            "passing": len(ok), "front": pareto_front(ok),
            "best": min(ok, key=lambda r: r["energy"]) if ok else None,
            "smallest_diameter": min((r["diameter"] for r in ok), default=None),
        }
    if out is not None:
        _write(out, spec, result)
    return result


# ---------------------------------------------------------------------------------------------- output
def cell_spec_text(row, spec, name):
    """A ``micromag cell`` spec (TOML text) of a design point."""
    mat, mt, ret = spec["material"], spec["mtj"], spec["retention"]
    D, t = row["diameter"], row["thickness"]
    cell = min(2e-9, D / 8)
    lines = ["# written by micromag design (closed-form macrospin models): sign it off with micromag cell",
             "[cell]", f'name = "{name}"', f'write = "{row["route"]}"', f"diameter = {D:.6g}",
             f"thickness = {t:.6g}", f"cell = {cell:.6g}", "",
             "[material]", 'preset = "CoFeB_perpendicular"', f"Ki = {row['Ki'] + row['Ku'] * t:.6g}",
             f"Ms = {row['Ms']:.6g}", f"A = {mat['A']:.6g}", f"alpha = {mat['alpha']:.6g}", f"Tc = {mat['Tc']:.6g}",
             f"T_ref = {mat['T_ref']:.6g}", f"nK = {mat['nK']:.6g}", f"nA = {mat['nA']:.6g}", "",
             "[mtj]", f"RA_P = {mt['RA_P']:.6g}", f"TMR = {mt['TMR']:.6g}", f"P = {mt['P']:.6g}",
             f"Lambda = {mt['Lambda']:.6g}", f"t_ox = {mt['t_ox']:.6g}", f"eps_r = {mt['eps_r']:.6g}", ""]
    if row["route"] == "sot":
        s = spec["sot"]
        lines += ["[sot]", f'heavy_metal = "{s["heavy_metal"]}"', f"hm_thickness = {s['hm_thickness']:.6g}",
                  f"B_x = {s['B_x']:.6g}", ""]
    if row["route"] == "vcma":
        lines += ["[vcma]", f"xi = {spec['vcma']['xi']:.6g}", f"B_x = {spec['vcma']['B_x']:.6g}", ""]
    lines += ["[write]", f"drive = [{row['drive']:.6g}]", f"pulse = {row['pulse']:.6g}",
              f"temperature = {ret['T_op']:.6g}", "",
              "[read]", "V_read = 0.1", "t_read = 10e-9", "",
              "[retention]", f"T_hot = {ret['T_hot']:.6g}", f"years = {ret['years']:.6g}",
              f"n_bits = {int(ret['n_bits'])}", f"fail_budget = {ret['fail_budget']:.6g}", f"tau0 = {ret['tau0']:.6g}"]
    return "\n".join(lines) + "\n"


def _write(out, spec, result):
    from ..engine.io.atomic import atomic_write

    front_dir = os.path.join(out, "front")
    os.makedirs(front_dir, exist_ok=True)
    md = ["# micromag design", "", f"Δ required at T_hot = {spec['retention']['T_hot']:g} K: "
          f"{result['delta_required']:.4g} ({spec['retention']['years']:g} years, {int(spec['retention']['n_bits'])} "
          f"bits, failure budget {spec['retention']['fail_budget']:g}). Closed-form macrospin models (see "
          "micromag.apps.design).", ""]
    for route, r in result["routes"].items():
        md.append(f"## {route.upper()}: {r['passing']} passing cells")
        if not r["front"]:
            best = max((x["delta_hot"] for x in result["rows"] if x["route"] == route), default=0.0)
            md += ["", f"No cell passes: the largest Δ(T_hot) of the range is {best:.4g}.", ""]
            continue
        md += ["", f"Smallest passing diameter: {r['smallest_diameter'] * 1e9:.4g} nm. Least write energy: "
               f"{r['best']['energy']:.4g} J at D = {r['best']['diameter'] * 1e9:.4g} nm, t = "
               f"{r['best']['thickness'] * 1e9:.4g} nm.", "", "| D (nm) | t (nm) | Ki (mJ/m²) | Ms (MA/m) | pulse (ns) | "
               "Δ(T_hot) | energy (fJ) | drive | spec |", "|---|---|---|---|---|---|---|---|---|"]
        for i, x in enumerate(r["front"]):
            name = f"{route}-{i}"
            text = cell_spec_text(x, spec, name)
            atomic_write(os.path.join(front_dir, name + ".toml"), lambda f, s=text: f.write(s.encode()))
            md.append(f"| {x['diameter'] * 1e9:.4g} | {x['thickness'] * 1e9:.4g} | {x['Ki'] * 1e3:.4g} | "
                      f"{x['Ms'] / 1e6:.4g} | {x['pulse'] * 1e9:.4g} | {x['delta_hot']:.4g} | {x['energy'] * 1e15:.4g} | "
                      f"{x['drive']:.4g} | front/{name}.toml |")
        md.append("")
    payload = json.dumps({"routes": result["routes"], "delta_required": result["delta_required"]}, indent=1,
                         default=float)
    atomic_write(os.path.join(out, "design.json"), lambda f: f.write(payload.encode()))
    atomic_write(os.path.join(out, "design.md"), lambda f: f.write(("\n".join(md) + "\n").encode()))


def load_design_spec(path):
    """The TOML design spec at ``path`` as a dict (checked by :func:`design_search`)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    with open(path, "rb") as f:
        try:
            return tomllib.load(f)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: the spec does not parse as TOML: {exc}") from None


def add_design_parser(sub):
    """``micromag design SPEC.toml --out DIR [--resume]``."""
    p = sub.add_parser("design", help="search cell designs (closed-form models) for retention and write energy")
    p.add_argument("spec", help="the design spec (TOML, see micromag.apps.design)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--resume", action="store_true", help="continue a search in the same folder")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=_cli)
    return p


def _cli(args):
    try:
        res = design_search(args.spec, out=args.out, resume=args.resume, progress=not args.quiet)
    except (ValueError, FileExistsError, FileNotFoundError) as exc:
        import sys

        print(f"micromag design: {exc}", file=sys.stderr)
        return 2
    for route, r in res["routes"].items():
        if r["best"] is None:
            print(f"{route}: no passing cell")
        else:
            print(f"{route}: {r['passing']} passing, smallest D {r['smallest_diameter'] * 1e9:.4g} nm, least energy "
                  f"{r['best']['energy']:.4g} J; front: {len(r['front'])} cells in {args.out}/front")
    return 0


__all__ = ["design_search", "cylinder_Nz", "macrospin", "write_cost", "evaluate", "pareto_front", "check_spec",
           "cell_spec_text", "load_design_spec", "add_design_parser"]

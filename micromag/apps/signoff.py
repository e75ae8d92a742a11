"""The sign-off parts of the cell report (``micromag cell``): retention and read disturb at every
temperature, the array statistics, the write-error tails and Ic(τ), the material set and what the report
used — computed by :mod:`micromag.apps.corners`, :mod:`micromag.apps.array_stats`, :mod:`micromag.apps.write_errors` and
:mod:`micromag.apps.provenance`; here they are assembled from the report's stages and written as Markdown."""
from __future__ import annotations

import numpy as np

__all__ = ["corners", "write_tails", "md_verdict", "md_material", "md_corners", "md_tails", "md_used", "fmt"]


def fmt(x, unit="", digits=4):
    """A number for the report: 4 significant digits, '—' for None, yes/no for a bool."""
    if x is None:
        return "—"
    if isinstance(x, bool):
        return "yes" if x else "no"
    return f"{x:.{digits}g}{' ' + unit if unit else ''}"


def corners(spec, deltas, coh, crit, read):
    """Retention and read disturb at every temperature of Δ(T), single bit and (with [array]) array-level:
    :func:`micromag.apps.corners.corner_rows` on the report's Δ(T), K_eff(T) and the read stage."""
    from .array_stats import ArraySpread
    from .corners import corner_rows

    if not read:
        return None
    d = spec.data
    rows_in = []
    for T in sorted(deltas):
        mat = spec.material(T)
        rows_in.append({"T_K": T, "delta": deltas[T]["delta"], "K_eff_J_per_m3": deltas[T]["coherent_J"] / coh["volume_m3"],
                        "Ms_A_per_m": mat.Ms, "Ku1_J_per_m3": mat.Ku1})
    arr = d["array"]
    spread = disc = ecc = None
    if arr:
        spread = ArraySpread(**{k: v for k, v in arr.items() if k not in ("method", "word_bits", "ecc_bits")})
        disc = {"diameter": d["cell"]["diameter"], "thickness": d["cell"]["thickness"], "method": arr.get("method", "scaled")}
        if "word_bits" in arr:
            ecc = {"word_bits": arr["word_bits"], "ecc_bits": arr.get("ecc_bits", 0)}
    r, rt = d["read"], d["retention"]
    Ic0_nom = read["Ic0_disturbed_state_A"] * crit["K_eff_J_per_m3"] / max(crit["K_eff_J_per_m3"] - read["dK_read_J_per_m3"], 1e-300)
    rows = corner_rows(rows_in, {"I_read_A": read["I_read_AP_A"], "t_read_s": r["t_read"], "n_reads": r["n_reads"],
                                 "budget": r["budget"], "dK_J_per_m3": read["dK_read_J_per_m3"]},
                       rt, Ic0_nom, crit["K_eff_J_per_m3"], spread=spread, disc=disc, ecc=ecc)
    return {"rows": rows, "dK_read_J_per_m3": read["dK_read_J_per_m3"], "xi_J_per_V_m": d["vcma"]["xi"],
            "spread": None if spread is None else spread.describe(d["cell"]["diameter"]),
            "array_method": None if disc is None else disc["method"], "ecc": ecc,
            "quadrature_nodes": None if spread is None else int(spread.nodes(d["cell"]["diameter"])[2].size),
            "samples": None if spread is None else spread.samples}


def write_tails(d, alpha, wer, switching, crit, delta_op):
    """STT: the WER fit and its extrapolation to 1e-6 … 1e-9, Ic(τ) from the precessional fit of the
    switching times and the thermally activated form (:mod:`micromag.apps.write_errors`). Other write routes:
    None (no physical form of their WER(I) is used)."""
    from . import write_errors as we
    from ..engine.constants import gamma_mumax

    if d["cell"]["write"] != "stt":
        return {"note": f"{d['cell']['write'].upper()}: the Butler/Sun form describes a spin-transfer write; the "
                "WER is not extrapolated below the simulated points (their Clopper–Pearson intervals stand)"}
    w = d["write"]
    tab = wer["table"]
    Vc0 = crit["Vc0_V"]
    tau_D = (1 + alpha**2) / (alpha * gamma_mumax * max(crit["B_K_T"], 1e-6))
    out = {"tau_D_macrospin_s": tau_D}
    try:
        out["wer_fit"] = we.fit_wer([r["drive"] for r in tab], [r["errors"] for r in tab], [r["N"] for r in tab],
                                    w["pulse"], delta_op, (Vc0 / 5, Vc0 * 5), (tau_D / 20, tau_D * 20))
    except ValueError as exc:
        out["wer_fit_error"] = str(exc)
    taus = np.asarray(w["pulse_widths"], dtype=float)
    ts = [np.nan if v is None else v for v in switching["t_switch_s"]]
    try:
        pf = we.fit_precessional(switching["drives"], ts, np.radians(switching["tilt0_deg"]), t_offset=w["rise"] / 2)
        pf["Ic_tau_V"] = we.ic_precessional(taus, pf).tolist()
        out["precessional"] = pf
    except ValueError as exc:
        out["precessional_error"] = str(exc)
    tau0 = d["retention"]["tau0"]
    th = taus >= tau0
    out["thermal"] = {"tau_s": taus[th].tolist(), "Ic_A": we.ic_thermal(taus[th], crit["Ic0_A"], delta_op, tau0, n=2.0).tolist(),
                      "form": "Ic0 (1 − (ln(τ/τ0)/Δ)^(1/2)) (the read-disturb model's n = 2, Δ and Ic0 of this report)"}
    out["pulse_widths_s"] = taus.tolist()
    return out


def md_verdict(f, d):
    co = f.get("corners")
    if not co:
        return []
    rows = co["rows"]
    L = []
    bad_ret = [r["T_C"] for r in rows if not r["retention_passes"]]
    bad_read = [r["T_C"] for r in rows if not r["read_passes"]]
    L.append(f"- **Over the operating range** ({fmt(rows[0]['T_C'], digits=3)} … {fmt(rows[-1]['T_C'], digits=3)} °C, "
             f"{len(rows)} temperatures): retention {'PASS at every temperature' if not bad_ret else 'FAIL at ' + ', '.join(fmt(t, digits=3) + ' °C' for t in bad_ret)}; "
             f"read disturb (VCMA of the read bias included) {'PASS at every temperature' if not bad_read else 'FAIL at ' + ', '.join(fmt(t, digits=3) + ' °C' for t in bad_read)}.")
    if rows and "array_P_retention_fail" in rows[0]:
        worst = max(rows, key=lambda r: r["array_P_retention_fail"])
        worst_r = max(rows, key=lambda r: r["array_P_read_fail"])
        ecc = co["ecc"]
        L.append(f"- **Array** ({co['spread']}; {'ECC ' + str(ecc['ecc_bits']) + ' bits per ' + str(ecc['word_bits']) + '-bit word' if ecc else 'no ECC'}): "
                 f"retention {'PASS' if all(r['array_retention_passes'] for r in rows) else 'FAIL'} (worst P_fail = "
                 f"{fmt(worst['array_P_retention_fail'], digits=3)} at {fmt(worst['T_C'], digits=3)} °C), read disturb "
                 f"{'PASS' if all(r['array_read_passes'] for r in rows) else 'FAIL'} (worst P = {fmt(worst_r['array_P_read_fail'], digits=3)} at "
                 f"{fmt(worst_r['T_C'], digits=3)} °C), against the array budget {fmt(d['retention']['fail_budget'])}.")
    return L


def md_material(f):
    rows = f.get("material_set") or []
    if not rows:
        return []
    srcs = []
    L = ["", "## Material set", "", "| parameter | value (at T_ref) | unit | source |", "| --- | --- | --- | --- |"]
    for r in rows:
        if r["source"] not in srcs:
            srcs.append(r["source"])
        L.append(f"| {r['name']} | {fmt(r['value'])} | {r['unit']} | [{srcs.index(r['source']) + 1}] |")
    L += [""] + [f"[{k + 1}] {src}" for k, src in enumerate(srcs)]
    return L


def md_corners(f, d):
    co = f.get("corners")
    if not co:
        return []
    rt, r = d["retention"], d["read"]
    L = ["", "## Retention and read disturb at every temperature", "",
         f"Retention: {fmt(rt['years'])} years of {rt['n_bits']} bits, budget {fmt(rt['fail_budget'])}, τ0 = {fmt(rt['tau0'])} s. "
         f"Read: {fmt(r['n_reads'])} reads of {fmt(r['t_read'] * 1e9)} ns at {fmt(r['V_read'])} V; the read bias lowers K by "
         f"dK = |ξ V_read|/(t_ox t_F) = {fmt(co['dK_read_J_per_m3'])} J/m³ (ξ = {fmt(co['xi_J_per_V_m'])} J/(V·m), [vcma] xi), "
         "Δ and Ic0 during the read scale with K_eff − dK (`micromag.apps.corners`).", "",
         "| T (°C) | Δ | Δ required | retention | Δ during read | I/Ic0 | P disturb (all reads) | read |",
         "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for x in co["rows"]:
        L.append(f"| {fmt(x['T_C'], digits=3)} | {fmt(x['delta'])} | {fmt(x['delta_required'])} | "
                 f"{'PASS' if x['retention_passes'] else 'FAIL'} | {fmt(x['delta_during_read'])} | {fmt(x['I_over_Ic0'], digits=3)} | "
                 f"{fmt(x['P_disturb_n_reads'], digits=3)} | {'PASS' if x['read_passes'] else 'FAIL'} |")
    if co["rows"] and "array_P_retention_fail" in co["rows"][0]:
        L += ["", f"### Array statistics ({co['spread']})", "",
              f"Δ of each cell: closed-form perpendicular disc (`micromag.apps.array_stats.CoherentDisc`, cylinder demagnetizing "
              f"factors), method '{co['array_method']}'"
              + (" (× Δ_MEP/Δ_coherent of the nominal cell, assumed the same over the spread)" if co['array_method'] == "scaled" else "")
              + f"; the histogram of Δ of {co['samples']} sampled cells at each temperature is in `figures.json` "
              "(corners → rows → array_delta_histogram)"
              + f"; probabilities integrated over the spread on {co['quadrature_nodes']} quadrature nodes (±10 σ), "
              "array = 1 − (1 − p̄)^N" + (f", ECC: word fails beyond {co['ecc']['ecc_bits']} of {co['ecc']['word_bits']} bits" if co["ecc"] else "") + ".", "",
              "| T (°C) | Δ median | Δ at 1e-3 | Δ at 1e-6 | p̄ retention (bit) | P retention (array) | p̄ read (bit) | P read (array) |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for x in co["rows"]:
            L.append(f"| {fmt(x['T_C'], digits=3)} | {fmt(x['array_delta_median'])} | {fmt(x['array_delta_q1e-3'])} | "
                     f"{fmt(x['array_delta_q1e-6'])} | {fmt(x['array_p_bit_retention'], digits=3)} | "
                     f"{fmt(x['array_P_retention_fail'], digits=3)} | {fmt(x['array_p_bit_read'], digits=3)} | "
                     f"{fmt(x['array_P_read_fail'], digits=3)} |")
    return L


def md_tails(f):
    t = f.get("write_tails") or {}
    L = ["", "## Write-error tails and pulse width", ""]
    if "note" in t:
        return L + [t["note"] + "."]
    wf = t.get("wer_fit")
    if wf:
        L += [f"Fit of {wf['form']} to the simulated counts ({wf['members']} members in all, pulse {fmt(wf['tau_s'] * 1e9)} ns, "
              f"Δ = {fmt(wf['delta'])} fixed): V_c = {fmt(wf['x_c'])} V (95 % region {fmt(wf['x_c_region'][0])} … "
              f"{fmt(wf['x_c_region'][1])} V), τ_D = {fmt(wf['tau_D_s'] * 1e9)} ns ({fmt(wf['tau_D_region_s'][0] * 1e9)} … "
              f"{fmt(wf['tau_D_region_s'][1] * 1e9)} ns); deviance {fmt(wf['deviance'], digits=3)} on {wf['dof']} degrees of freedom. "
              f"Intervals: {wf['ci']}, scanned over V_c ∈ {fmt(wf['x_c_range'][0])} … {fmt(wf['x_c_range'][1])} V and "
              f"τ_D ∈ {fmt(wf['tau_D_range_s'][0] * 1e9)} … {fmt(wf['tau_D_range_s'][1] * 1e9)} ns"
              + (" — **the region reaches the edge of the scan: the data do not bound it, the interval is set by the scan**" if wf["on_edge"] else "")
              + ". Below WER ≈ 1/N the numbers are an extrapolation of the fitted form, not a measurement.", "",
              "| target WER | bias (V) | 95 % interval (V) |", "| --- | --- | --- |"]
        for x in wf["targets"]:
            L.append(f"| {fmt(x['WER'])} | {fmt(x['drive'])} | {fmt(x['drive_CI95'][0])} … {fmt(x['drive_CI95'][1])} |")
        L += ["", "| bias (V) | WER (fit) | 95 % interval |", "| --- | --- | --- |"]
        for x in wf["at"]:
            L.append(f"| {fmt(x['drive'])} | {fmt(x['WER'], digits=3)} | {fmt(x['WER_CI95'][0], digits=3)} … {fmt(x['WER_CI95'][1], digits=3)} |")
    elif "wer_fit_error" in t:
        L.append(f"WER fit not possible: {t['wer_fit_error']}.")
    pf = t.get("precessional")
    L += [""]
    if pf:
        L += [f"Ic(τ), precessional regime: {pf['form']} fitted to the T = 0 switching times of {pf['points']} drives: "
              f"V_c0 = {fmt(pf['x_c'])} ± {fmt(pf['x_c_stderr'], digits=2)} V, τ_D = {fmt(pf['tau_D_s'] * 1e9)} ± "
              f"{fmt(pf['tau_D_stderr_s'] * 1e9, digits=2)} ns (standard errors; from θ0 = {fmt(pf['theta0_rad'], digits=3)} rad; "
              "the TMR lowers the current as the bit turns, so these are effective values at fixed bias). Thermally activated regime: "
              f"{t['thermal']['form']}.", "", "| pulse (ns) | V_c precessional (V) | I_c thermal (µA) |", "| --- | --- | --- |"]
    else:
        L += [f"Ic(τ), precessional regime: not fitted ({t.get('precessional_error')}). Thermally activated regime: "
              f"{t['thermal']['form']}.", "", "| pulse (ns) | V_c precessional (V) | I_c thermal (µA) |", "| --- | --- | --- |"]
    th = dict(zip(t["thermal"]["tau_s"], t["thermal"]["Ic_A"]))
    for k, tau in enumerate(t["pulse_widths_s"]):
        L.append(f"| {fmt(tau * 1e9)} | {fmt(pf['Ic_tau_V'][k]) if pf else '—'} | "
                 f"{fmt(th[tau] * 1e6) if tau in th else '— (τ < τ0)'} |")
    L.append("")
    L.append("The precessional form holds for pulses up to ~10 τ_D; the thermal form for pulses ≫ τ_D "
             f"(macrospin τ_D = {fmt(t['tau_D_macrospin_s'] * 1e9)} ns); between them neither is exact.")
    return L


def md_used(f, d):
    w, b, rt = d["write"], d["barrier"], d["retention"]
    co = f.get("corners") or {}
    tab = f["wer"]["table"]
    L = ["", "## What this report used", "",
         "| number | method | members | uncertainty |", "| --- | --- | --- | --- |",
         f"| Δ(T) | string method with a climbing image, material at T | {b['images']} images per temperature, "
         f"{len(f['delta_vs_T']['T_K'])} temperatures | ± half the last variation of the barrier (table above); "
         "the material model's own uncertainty (Tc, exponents or the measured table) is not propagated |",
         f"| retention | Néel–Brown, τ = τ0 e^Δ, τ0 = {fmt(rt['tau0'])} s | one Δ per temperature | from Δ's; τ0 is assumed |",
         f"| Ic0 / V_c0 | {f['critical'].get('method', '—')} | {len(f['critical'].get('drives_V', [])) or '—'} drives | "
         "linear fit of the growth rates (see figure) |",
         f"| switching time, energy | T = 0, from the rms thermal angle, pulse {fmt(w['pulse'] * 1e9)} ns (rise {fmt(w['rise'] * 1e12)} ps, "
         f"settle {fmt(w['settle'] * 1e9)} ns) | 1 per drive | deterministic |",
         f"| WER | thermal batches at {fmt(w['temperature'])} K, stochastic Heun dt = {fmt(w['dt'])} s, pulse {fmt(w['pulse'] * 1e9)} ns "
         f"after {fmt(w['delay'] * 1e9)} ns thermalization | {', '.join(str(r['N']) for r in tab)} per drive | "
         "95 % Clopper–Pearson |",
         f"| WER extrapolation, Ic(τ) | Butler/Sun fit, Sun precessional fit, thermal form (`micromag.apps.write_errors`); "
         f"pulse widths {', '.join(fmt(x * 1e9) for x in w['pulse_widths'])} ns | as WER and switching | "
         "likelihood-ratio region (95 %) / standard errors |",
         f"| read disturb | thermally activated, Δ(I) = Δ_V (1 − I/Ic0)², VCMA dK | one Δ per temperature | model; none statistical |"]
    if co.get("spread"):
        L.append(f"| array | closed-form cells over the spread, {co['array_method']} | {co['quadrature_nodes']} quadrature "
                 f"nodes (histogram {co['samples']} samples) | quadrature converged to < 1e-12 relative under node doubling; the spread itself is an input |")
    return L



"""The Markdown of the sign-off report (``report.md``)."""
from __future__ import annotations

import math
import os


from .. import signoff
from ...engine.constants import kB


def _fmt(x, unit="", digits=4):
    if x is None:
        return "—"
    if isinstance(x, bool):
        return "yes" if x else "no"
    return f"{x:.{digits}g}{' ' + unit if unit else ''}"


def write_markdown(out, f, d, pngs, spec):
    from ...engine.io.atomic import atomic_write

    c, rv, cr, rd = d["cell"], f["retention"], f["critical"], f["read"]
    L = [f"# Cell report: {c['name']} ({c['write'].upper()}){' — quick form' if spec.quick else ''}", "",
         f"Spec `{spec.path}` (hash {spec.hash}); free layer "
         f"{'disc ' + _fmt(c['diameter'] * 1e9) + ' nm' if 'diameter' in c else 'ellipse ' + ' × '.join(_fmt(v * 1e9) for v in c['size']) + ' nm'}"
         f", {_fmt(c['thickness'] * 1e9)} nm thick, cells of {_fmt(c['cell'] * 1e9)} nm; operating temperature "
         f"{_fmt(d['write']['temperature'])} K. All numbers come from the micromagnetic model of this cell; "
         "the data of every figure is in `figures.json`.", "",
         "## Verdict", "",
         f"- **Retention**: {'PASS' if rv['passes'] else 'FAIL'} — Δ({_fmt(rv['T'], digits=5)} K) = {_fmt(rv['delta'])} against "
         f"{_fmt(rv['delta_required'])} required for {_fmt(rv['years'])} years of {rv['n_bits']} bits with a failure "
         f"budget of {_fmt(rv['fail_budget'])} (τ0 = {_fmt(rv['tau0'])} s; P_fail = {_fmt(rv['failure_probability'], digits=3)}).",
         ]
    rf = f.get("retention_computed_f0")
    if rf:
        L.append(f"- **Retention, attempt frequency from the landscape**: {'PASS' if rf['passes'] else 'FAIL'} — "
                 f"f0 = {_fmt(1.0 / rf['tau0'], 'Hz', 3)} (Langer's harmonic rate for the LLG at {_fmt(rf['T'], digits=5)} K; "
                 f"τ0 = {_fmt(rf['tau0'])} s): Δ required {_fmt(rf['delta_required'])}, P_fail = "
                 f"{_fmt(rf['failure_probability'], digits=3)}.")
    for T, fl in zip(f["delta_vs_T"]["T_K"], f["delta_vs_T"].get("flags", [])):
        for x in fl:
            L.append(f"- **WARNING** Δ({_fmt(T, digits=5)} K): {x}")
    if rd:
        L.append(f"- **Read disturb**: {'PASS' if rd['passes'] else 'FAIL'} — {_fmt(rd['n_reads'])} reads of "
                 f"{_fmt(rd['t_read_s'] * 1e9)} ns at {_fmt(rd['V_read_V'])} V flip a bit with P = "
                 f"{_fmt(rd['P_disturb_n_reads'], digits=3)} (budget {_fmt(rd['budget'])}); largest read bias within "
                 f"the budget {_fmt(rd['V_read_max_V'], 'V')}.")
    L += signoff.md_verdict(f, d)
    L += signoff.md_material(f)
    L += ["", "## Thermal stability", "", f"![Δ(T)]({pngs['delta']})", "",
          "| T (K) | T (°C) | E_b (J) | Δ | ± (uncertainty) | K_eff V / k_B T (coherent, zero field) | string | saddle check | f0 (Hz) |",
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    dv = f["delta_vs_T"]
    nT = len(dv["T_K"])
    for T, D, Eb, Ec, st, sp, un, ok, f0 in zip(dv["T_K"], dv["delta"], dv["barrier_J"], dv["coherent_J"], dv["status"],
                                                dv["barrier_spread_J"], dv.get("barrier_uncertainty_J", [None] * nT),
                                                dv.get("saddle_check_passed", [None] * nT), dv.get("f0_Hz", [None] * nT)):
        u = un if un is not None else (sp / 2 if sp is not None and math.isfinite(sp) else None)
        spd = "—" if u is None else _fmt(u / (kB * T), digits=2)
        chk = "—" if ok is None else ("passed" if ok else "**FAILED**")
        L.append(f"| {_fmt(T, digits=5)} | {_fmt(T - 273.15, digits=3)} | {_fmt(Eb)} | {_fmt(D)} | {spd} | {_fmt(Ec / (kB * T))} | {st} | {chk} | {_fmt(f0, digits=3) if f0 else '—'} |")
    L += ["", f"Barrier: string method with a climbing image (`micromag.energy_barrier`) on {_fmt(d['barrier'].get('cell', c['cell']) * 1e9)} nm "
          f"cells, material at each T by `Material.at(T)`; 'settled': the barrier stopped changing (± half its "
          "last variation) while the saddle torque stayed above tol_torque (the grid's pinning ripple). "
          f"The minimum-energy path at {_fmt(f['energy_path']['T_K'])} K:", "",
          "![energy path](energy_path.png)", "", "Its saddle is in `saddle.vti` (ParaView).", "",
          "## Critical current and write efficiency", ""]
    if c["write"] == "stt":
        L += [f"- Ic0 = {_fmt(cr['Ic0_A'] * 1e6, 'µA')}, Jc0 = {_fmt(cr['Jc0_A_per_m2'], 'A/m²')}, V_c0 = "
              f"{_fmt(cr['Vc0_V'], 'V')} ({cr['method']})",
              f"- macrospin: Ic0 = 2eα K_eff V/(ħε) = {_fmt(cr['Ic0_macrospin_A'] * 1e6, 'µA')} (ratio simulated / "
              f"macrospin {_fmt(cr['Ic0_sim_over_macrospin'], digits=3)}; K_eff = {_fmt(cr['K_eff_J_per_m3'], 'J/m³')})"]
    elif c["write"] == "sot":
        br = cr["Jc_bracket_A_per_m2"]
        L += [f"- J_c = {_fmt(cr['Jc_A_per_m2'], 'A/m²')} ("
              + (f"bracket {_fmt(br[0])} … {_fmt(br[1])}" if br else "no bracket: none or all of the scanned currents switched")
              + f"), I_c = {_fmt(None if cr['Ic_A'] is None else cr['Ic_A'] * 1e6, 'µA')} in the line ({cr['method']})",
              f"- macrospin ({cr['formula']}): J_c = {_fmt(cr['Jc_macrospin_A_per_m2'], 'A/m²')}",
              f"- read-path STT Ic0 (macrospin) = {_fmt(cr['Ic0_A'] * 1e6, 'µA')}"]
    else:
        L += [f"- V at which VCMA cancels K_eff = {_fmt(cr['K_eff_J_per_m3'], 'J/m³')}: {_fmt(cr['V_cancel_V'], 'V')}",
              f"- read-path STT Ic0 (macrospin) = {_fmt(cr['Ic0_A'] * 1e6, 'µA')}"]
    if c["write"] == "vcma":
        L.append("- figure of merit Δ/Ic0: none (a VCMA write is driven by a voltage; see the write energy)")
    else:
        L.append(f"- figure of merit Δ({_fmt(d['write']['temperature'])} K)/I_c = {_fmt(f['figure_of_merit_per_uA'], '1/µA')}"
                 + (" (I_c: the write current in the line)" if c["write"] == "sot" else ""))
    if "critical" in pngs:
        L += ["", f"![critical]({pngs['critical']})"]
    st = f.get("stack")
    if st:
        off = st.get("offset_field_T", {}).get("mean")
        L += ["", "## The whole MTJ ([stack])", "",
              f"- offset field on the free layer (mean): {_fmt(None if off is None else off[2] * 1e3, 'mT')} along z"]
        if "delta" in st:
            L.append(f"- Δ_P = {_fmt(st['delta']['macrospin']['P'])}, Δ_AP = {_fmt(st['delta']['macrospin']['AP'])} at "
                     f"{_fmt(st['delta']['T_K'])} K (macrospin in the offset field, h = {_fmt(st['delta']['h'], digits=3)})")
        if "Ic0_A" in st:
            sim = st.get("Ic0_simulated_A", {})
            L.append("- Ic0 P→AP = " + _fmt(st["Ic0_A"]["P->AP"] * 1e6, "µA") + " closed form, "
                     + _fmt(sim.get("P->AP", float("nan")) * 1e6, "µA") + " simulated; AP→P = "
                     + _fmt(st["Ic0_A"]["AP->P"] * 1e6, "µA") + " closed form, "
                     + _fmt(sim.get("AP->P", float("nan")) * 1e6, "µA") + " simulated")
        for pair, B in st.get("spin_flop_field_T", {}).items():
            L.append(f"- SAF {pair} spin-flop field: {_fmt(B, 'T') if isinstance(B, float) else B}")
    sw = f["switching"]
    unit = "A/m²" if c["write"] == "sot" else "V"
    L += ["", "## Switching time and write energy (T = 0)", "", f"![switching]({pngs['switching']})", "",
          f"From {_fmt(sw['tilt0_deg'], digits=3)}° off the easy axis (the rms thermal angle); energy: {sw['energy_model']}.",
          "", f"| drive ({unit}) | t_switch (ns) | energy (fJ) | switched |", "| --- | --- | --- | --- |"]
    for x, t, E, s in zip(sw["drives"], sw["t_switch_s"], sw["write_energy_J"], sw["switched"]):
        L.append(f"| {_fmt(x)} | {_fmt(None if t is None else t * 1e9)} | {_fmt(E * 1e15)} | {_fmt(s)} |")
    w = f["wer"]
    L += ["", f"## Write-error rate at {_fmt(w['T_K'])} K", "", f"![WER]({pngs['wer']})", "",
          f"Switched: {w['switch']}; thermal members with seeds 0…N−1, 95 % Clopper–Pearson intervals.", "",
          f"| drive ({unit}) | N | errors | WER | 95 % CI | mean t_switch (ns) |", "| --- | --- | --- | --- | --- | --- |"]
    for r in w["table"]:
        L.append(f"| {_fmt(r['drive'])} | {r['N']} | {r['errors']} | {_fmt(r['WER'], digits=3)} | "
                 f"{_fmt(r['CI95_low'], digits=3)} … {_fmt(r['CI95_high'], digits=3)} | "
                 f"{_fmt(None if r['t_switch_mean_s'] is None else r['t_switch_mean_s'] * 1e9, digits=3)} |")
    if rd:
        L += ["", "## Read", "",
              f"- bias {_fmt(rd['V_read_V'], 'V')} for {_fmt(rd['t_read_s'] * 1e9, 'ns')}: TMR {_fmt(rd['TMR_at_V_read'] * 100, '%')}, "
              f"R_P = {_fmt(rd['R_P_ohm'], 'Ω')}, R_AP = {_fmt(rd['R_AP_ohm'], 'Ω')}",
              f"- read currents I_P = {_fmt(rd['I_read_P_A'] * 1e6, 'µA')}, I_AP = {_fmt(rd['I_read_AP_A'] * 1e6, 'µA')}: "
              f"margin ΔI = {_fmt(rd['delta_I_A'] * 1e6, 'µA')} ({_fmt(rd['read_margin'] * 100, '%', 3)} of I_P)",
              f"- disturb ({rd['model']}): I/Ic0 = {_fmt(rd['I_over_Ic0'], digits=3)}, Δ = {_fmt(rd['delta_at_T'])}; "
              f"one read P = {_fmt(rd['P_disturb_one_read'], digits=3)}, {_fmt(rd['n_reads'])} reads P = "
              f"{_fmt(rd['P_disturb_n_reads'], digits=3)}"]
    L += signoff.md_corners(f, d) + signoff.md_tails(f) + signoff.md_used(f, d)
    L += ["", "---", f"micromag cell report; this run {f['wall_s_this_run']:.1f} s."]
    atomic_write(os.path.join(out, "report.md"), ["\n".join(L).encode() + b"\n"])

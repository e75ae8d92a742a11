r"""Retention and read disturb at every temperature of the operating range, single bit and array.

At each temperature T the cell has its stability Δ(T) (the minimum-energy path with the material at T) and
its coherent anisotropy K_eff(T) (the uniform-state energies). A read at the bias V_read

* lowers the perpendicular anisotropy by the voltage-controlled magnetic anisotropy of the MgO interface,
  dK = |ξ| V_read / (t_ox t_F)  (J/m³; ξ in J/(V·m), the same ΔK = −ξV/(t_ox t_F) as the VCMA write; the
  sign of the read bias is taken as the one that lowers K, the worst case), so the barrier during the read is
  Δ_V = Δ(T) (K_eff(T) − dK)/K_eff(T) (the barrier scaled with K_eff; for an in-plane cell VCMA acts on the
  out-of-plane hard axis only and dK = 0);
* pushes the disturbed (AP) state with the spin-transfer torque of its current I_AP: Δ(I) = Δ_V (1 − I/Ic0)^n
  with Ic0(T) = Ic0(T_op) (K_eff(T) − dK)/K_eff(T_op) (the macrospin Ic0 ∝ α K_eff V at fixed α and
  polarization; the junction resistance is taken as temperature independent).

Retention over ``years`` and read disturb over ``n_reads`` reads of ``t_read`` follow the Néel–Brown rate
(:mod:`micromag.apps.retention`); with an :class:`~micromag.apps.array_stats.ArraySpread` the array-level
probabilities of :mod:`micromag.apps.array_stats` are added (the weakest bits decide; optional ECC).
"""
from __future__ import annotations

import math

import numpy as np

from . import array_stats as ast
from . import retention as ret

__all__ = ["vcma_read_lowering", "corner_rows"]


def vcma_read_lowering(xi, V_read, t_ox, t_F):
    """dK = |ξ V_read| / (t_ox t_F) in J/m³ (ξ in J/(V·m), V in V, thicknesses in m)."""
    if not (t_ox > 0 and t_F > 0):
        raise ValueError(f"t_ox and t_F must be > 0 m, got {t_ox!r}, {t_F!r}")
    return abs(float(xi) * float(V_read)) / (t_ox * t_F)


def corner_rows(corners, read, retention, Ic0_op, K_eff_op, exponent=2.0, spread=None, disc=None, ecc=None):
    """One row per temperature.

    corners: list of dicts with T_K, delta (Δ_MEP at T), K_eff_J_per_m3 (coherent K_eff at T) and, with a
        spread, Ms_A_per_m and Ku1_J_per_m3 of the material at T.
    read: dict with I_read_A (the disturbing current through the AP state), t_read_s, n_reads, budget,
        dK_J_per_m3 (the VCMA lowering during the read).
    retention: dict with years, n_bits, fail_budget, tau0.
    Ic0_op, K_eff_op: the critical current of the disturbed state (A) and K_eff at the operating temperature.
    spread: an ArraySpread (or None); disc: dict(diameter, thickness, method) for the closed-form cells
        ("coherent": Δ = K_eff V/k_B T; "scaled": times Δ_MEP/Δ_coherent of the nominal cell).
    ecc: dict(word_bits, ecc_bits) or None.
    """
    tau0 = retention["tau0"]
    t_ret = retention["years"] * ret.SECONDS_PER_YEAR
    dK = read["dK_J_per_m3"]
    rows = []
    for c in corners:
        T, delta, K = c["T_K"], c["delta"], c["K_eff_J_per_m3"]
        v = ret.retention_verdict(delta, T=T, years=retention["years"], n_bits=retention["n_bits"],
                                  fail_budget=retention["fail_budget"], tau0=tau0)
        K_read = K - dK
        delta_V = max(delta * K_read / K, 0.0) if K > 0 else 0.0
        Ic0_T = Ic0_op * K_read / K_eff_op if K_read > 0 else 0.0
        if Ic0_T > 0:
            P1 = ret.read_disturb_probability(delta_V, read["I_read_A"], Ic0_T, read["t_read_s"], tau0=tau0,
                                              exponent=exponent)
            Pn = ret.read_disturb_probability(delta_V, read["I_read_A"], Ic0_T, read["t_read_s"], tau0=tau0,
                                              exponent=exponent, n_reads=read["n_reads"])
            i = read["I_read_A"] / Ic0_T
        else:  # the read bias cancels the anisotropy: the read writes
            P1 = Pn = 1.0
            i = math.inf
        row = {"T_K": T, "T_C": T - 273.15, "delta": delta, "K_eff_J_per_m3": K, "retention_passes": v.passes,
               "delta_required": v.delta_required, "P_retention_fail": v.failure_probability,
               "retention_time_s": v.retention_time, "delta_during_read": delta_V, "Ic0_read_A": Ic0_T,
               "I_over_Ic0": i, "delta_read_disturb": delta_V * max(1 - i, 0.0) ** exponent,
               "P_disturb_one_read": P1, "P_disturb_n_reads": Pn, "read_passes": bool(Pn <= read["budget"])}
        if spread is not None and disc is not None:
            row.update(_array_row(c, read, retention, spread, disc, ecc, i, exponent, dK, t_ret))
        rows.append(row)
    return rows


def _array_row(c, read, retention, spread, disc, ecc, i_nom, exponent, dK, t_ret):
    T, d0 = c["T_K"], disc["diameter"]
    cell = ast.CoherentDisc(diameter=d0, thickness=disc["thickness"], Ms=c["Ms_A_per_m"], Ku1=c["Ku1_J_per_m3"], T=T)
    d_coh = float(cell.delta())
    scale = c["delta"] / d_coh if disc["method"] == "scaled" and d_coh > 0 else 1.0
    cell = ast.CoherentDisc(diameter=d0, thickness=disc["thickness"], Ms=c["Ms_A_per_m"], Ku1=c["Ku1_J_per_m3"],
                            T=T, scale=scale)
    K_read_nom = float(cell.K_eff(None, 1.0, dK))

    def delta_fn(d, s):
        return cell.delta(d, s)

    def delta_read_fn(d, s):
        # the read current ∝ area and Ic0 ∝ K_eff V: I/Ic0 scales as 1/K_eff of the cell during the read
        Kr = np.asarray(cell.K_eff(d, s, dK))
        i = np.where(Kr > 0, i_nom * K_read_nom / np.where(Kr > 0, Kr, 1.0), np.inf)
        return np.where(i < 1, cell.delta(d, s, dK) * np.clip(1 - i, 0, None) ** exponent, 0.0)

    tau0, n = retention["tau0"], retention["n_bits"]
    wb, eb = (ecc["word_bits"], ecc["ecc_bits"]) if ecc else (None, 0)
    p_ret = ast.bit_failure_probability(delta_fn, spread, d0, t_ret, tau0)
    p_read = ast.bit_failure_probability(delta_read_fn, spread, d0, read["n_reads"] * read["t_read_s"], tau0)
    q = ast.delta_quantiles(delta_fn, spread, d0, (1e-6, 1e-3, 0.5))
    ds, ss = spread.sample(d0)
    counts, edges = np.histogram(delta_fn(ds, ss), bins=40)
    out = {"array_delta_histogram": {"counts": counts.tolist(), "edges": edges.tolist(), "cells": int(ds.size)},
           "array_method": disc["method"], "array_delta_scale": scale, "array_delta_q1e-6": q[0],
           "array_delta_q1e-3": q[1], "array_delta_median": q[2], "array_p_bit_retention": p_ret,
           "array_P_retention_fail": ast.array_failure_probability(p_ret, n, wb, eb),
           "array_p_bit_read": p_read, "array_P_read_fail": ast.array_failure_probability(p_read, n, wb, eb)}
    out["array_retention_passes"] = bool(out["array_P_retention_fail"] <= retention["fail_budget"])
    out["array_read_passes"] = bool(out["array_P_read_fail"] <= retention["fail_budget"])  # the array's budget
    return out

"""Thermal stability against write current as a perpendicular CoFeB/MgO cell is scaled from 20 to 80 nm.

What is computed, for each disc diameter d (CoFeB on MgO, ``mm.CoFeB_perpendicular(thickness=1.0e-9)``:
Ki = 1.3 mJ/m² → Ku = 1.3e6 J/m³, μ0Ms = 1.58 T, A = 1.5e-11 J/m, α = 0.027; demag on; 2.5 nm cells):

* the barrier E_b between +z and −z from the minimum-energy path (``mm.energy_barrier``, string method with
  a climbing image) and Δ = E_b / k_B T at 300 K;
* the coherent-rotation barrier K_eff V of the same disc (energy of the uniform in-plane state minus the
  uniform perpendicular one: K_eff includes the disc's own demagnetizing factors);
* the STT critical current Ic0 from the zero-temperature linear stability of the parallel state (growth
  rate of a small tilt against the bias, its zero; :func:`micromag.apps.cellreport.stage_critical`) beside the
  macrospin formula 2eα K_eff V/(ħ P/2) (P = 0.6), and the efficiency Δ/Ic0.

Below the crossover the disc reverses coherently (E_b = K_eff V ∝ d²), above it through a domain wall swept
across the disc (E_b ≈ 4√(A K_eff) d t ∝ d), while Ic0 (the instability of the uniform state) keeps growing
∝ d²: Δ/Ic0 holds up below and falls ∝ 1/d above — the trade-off between thermal stability and write
efficiency that scaling makes acute. The crossover is found where the wall line (fitted through the two
largest discs) meets the coherent curve, and compared with d_c = 16 √(A/K_eff)/π.

Writes ``OUT/scaling.png`` (Δ and coherent Δ against d; Ic0; Δ/Ic0) and ``OUT/scaling.json``.
About 2.7 min on 2 CPU cores (``--quick``: 3.3 nm cells and five diameters, 45 s). Measured: the crossover at
25.4 nm against 16√(A/K_eff)/π = 27.9 nm with the disc's own K_eff there (35.6 nm with the thin-film K_eff:
small discs keep more of their anisotropy), and a wall energy of 7.5 mJ/m² from the slope against
4√(A K_eff) = 11.0 mJ/m² (the wall in this 1 nm film is cheaper than the one-dimensional estimate).

    python examples/scaling_delta_vs_ic.py [--quick] [--out out/scaling] [--backend auto|cpu|gpu]
"""
import argparse
import json
import math
import os
import time

import numpy as np

import micromag as mm
from micromag.apps import cellreport as cr
from micromag.apps.barrier import crossover_diameter
from micromag.engine.constants import kB

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--quick", action="store_true")
p.add_argument("--out", default=os.path.join("out", "scaling"))
p.add_argument("--backend", default="auto", choices=("auto", "cpu", "gpu"))
args = p.parse_args()
out = os.path.join(os.environ.get("MICROMAG_OUT", ""), args.out)
os.makedirs(out, exist_ok=True)

T = 300.0
t_F = 1.0e-9
cell = 3.3e-9 if args.quick else 2.5e-9
diameters = np.array([20, 30, 40, 60, 80] if args.quick else [20, 25, 30, 35, 40, 50, 60, 70, 80]) * 1e-9
mat = mm.CoFeB_perpendicular(thickness=t_F)
K_film = mat.Ku1 - 0.5 * mm.mu0 * mat.Ms**2  # thin-film K_eff
print(f"CoFeB/MgO, t = {t_F * 1e9:g} nm: Ku = {mat.Ku1:.3g} J/m³, thin-film K_eff = {K_film:.3g} J/m³, "
      f"√(A/Ku) = {math.sqrt(mat.A / mat.Ku1) * 1e9:.2f} nm, cells {cell * 1e9:g} nm; "
      f"16√(A/K_eff)/π = {crossover_diameter(mat.A, K_film) * 1e9:.1f} nm")


def spec(d):
    """A cell-report spec (as data) of an STT disc of diameter d."""
    return {"cell": {"name": f"d{d * 1e9:g}", "write": "stt", "diameter": float(d), "thickness": t_F,
                     "cell": cell, "tilt_deg": 0.0},
            "material": {"preset": "CoFeB_perpendicular"},
            "mtj": {"RA_P": 5e-12, "TMR": 1.5, "t_ox": 1e-9, "eps_r": 9.8, "P": 0.6, "Lambda": 1.0},
            "write": {"rise": 50e-12}}


rows, prev = [], None
t_all = time.perf_counter()
for d in diameters:
    s = spec(d)
    t0 = time.perf_counter()
    rec, path = cr.stage_delta(s, T, args.backend, 12, 1e-3, 40000, False)
    coh = cr.coherent_energies(s, T, args.backend)
    crit = cr.stage_critical(s, T, coh, args.backend, False)
    K_eff = crit["K_eff_J_per_m3"]
    row = {"d_m": float(d), "barrier_J": rec["barrier_J"], "delta": rec["delta"], "coherent_J": coh["E_hard_inplane_J"],
           "delta_coherent": coh["E_hard_inplane_J"] / (kB * T), "K_eff_J_per_m3": K_eff, "volume_m3": coh["volume_m3"],
           "Ic0_A": crit["Ic0_A"], "Ic0_macrospin_A": crit["Ic0_macrospin_A"], "status": rec["status"],
           "iterations": rec["iterations"], "wall_s": time.perf_counter() - t0}
    row["delta_per_uA"] = row["delta"] / (row["Ic0_A"] * 1e6)
    rows.append(row)
    print(f"d = {d * 1e9:4.0f} nm: Δ = {row['delta']:7.2f} (coherent {row['delta_coherent']:7.2f}, ratio "
          f"{row['barrier_J'] / row['coherent_J']:.3f}), Ic0 = {row['Ic0_A'] * 1e6:6.1f} µA (macrospin "
          f"{row['Ic0_macrospin_A'] * 1e6:6.1f}), Δ/Ic0 = {row['delta_per_uA']:.3f} /µA "
          f"[{row['status']}, {row['iterations']} iterations, {row['wall_s']:.0f} s]",
          flush=True)

d = np.array([r["d_m"] for r in rows])
Eb = np.array([r["barrier_J"] for r in rows])
Ec = np.array([r["coherent_J"] for r in rows])
# the wall branch: a line through the two largest discs; the crossover where it meets the coherent curve
a, b = np.polyfit(d[-2:], Eb[-2:], 1)
fine = np.linspace(d[0], d[-1], 2001)
gap = np.interp(fine, d, Ec) - (a * fine + b)
k = int(np.argmax(gap > 0)) if np.any(gap > 0) else None
d_cross = float(fine[k]) if k else float("nan")
K_at_cross = float(np.interp(d_cross, d, [r["K_eff_J_per_m3"] for r in rows])) if k else float("nan")
dc_film = crossover_diameter(mat.A, K_film)
dc_disc = crossover_diameter(mat.A, K_at_cross) if k else float("nan")
sigma = a / t_F  # J/m² of the wall from the slope
print(f"\ncrossover (wall line meets the coherent curve): {d_cross * 1e9:.1f} nm; 16√(A/K_eff)/π = "
      f"{dc_film * 1e9:.1f} nm with the thin-film K_eff, {dc_disc * 1e9:.1f} nm with the disc's K_eff there "
      f"({K_at_cross:.3g} J/m³); wall energy from the slope {sigma * 1e3:.2f} mJ/m² against 4√(A K_eff) = "
      f"{4 * math.sqrt(mat.A * K_at_cross) * 1e3:.2f} mJ/m² ({time.perf_counter() - t_all:.0f} s in all)")

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

fig = Figure(figsize=(12.0, 3.9), dpi=100)
FigureCanvasAgg(fig)
ax1, ax2, ax3 = (fig.add_subplot(1, 3, i) for i in (1, 2, 3))
dn = d * 1e9
ax1.plot(dn, [r["delta"] for r in rows], "o-", label="Δ, minimum-energy path")
ax1.plot(dn, [r["delta_coherent"] for r in rows], "s--", alpha=0.7, label="Δ, coherent rotation K_eff V/k_BT")
ax1.plot(fine * 1e9, (a * fine + b) / (kB * T), ":", color="C2", label="wall line (∝ d)")
for x, lab, st in ((d_cross, "crossover (fit)", "-"), (dc_film, "16√(A/K_eff)/π, film K_eff", "--"),
                   (dc_disc, "16√(A/K_eff)/π, disc K_eff", ":")):
    if math.isfinite(x):
        ax1.axvline(x * 1e9, color="C3", ls=st, alpha=0.6, label=f"{lab}: {x * 1e9:.0f} nm")
ax1.set_xlabel("diameter (nm)")
ax1.set_ylabel(f"Δ at {T:g} K")
ax1.legend(fontsize=7)
ax1.grid(True, alpha=0.3)
ax2.plot(dn, [r["Ic0_A"] * 1e6 for r in rows], "o-", label="Ic0, linear stability (simulated)")
ax2.plot(dn, [r["Ic0_macrospin_A"] * 1e6 for r in rows], "s--", alpha=0.7, label="macrospin 2eαK_effV/(ħP/2)")
ax2.set_xlabel("diameter (nm)")
ax2.set_ylabel("Ic0 (µA)")
ax2.legend(fontsize=7)
ax2.grid(True, alpha=0.3)
ax3.plot(dn, [r["delta_per_uA"] for r in rows], "o-")
ax3.set_xlabel("diameter (nm)")
ax3.set_ylabel("Δ / Ic0 (1/µA)")
ax3.grid(True, alpha=0.3)
ax3.set_title("write efficiency", fontsize=9)
fig.suptitle(f"perpendicular CoFeB/MgO disc, t = {t_F * 1e9:g} nm, {cell * 1e9:g} nm cells", fontsize=10)
fig.tight_layout()
fig.savefig(os.path.join(out, "scaling.png"))
with open(os.path.join(out, "scaling.json"), "w") as fh:
    json.dump({"rows": rows, "crossover_fit_m": d_cross, "dc_formula_film_m": dc_film, "dc_formula_disc_m": dc_disc,
               "K_eff_film_J_per_m3": K_film, "K_eff_at_crossover_J_per_m3": K_at_cross,
               "wall_energy_from_slope_J_per_m2": sigma}, fh, indent=1)
print(f"plot: {os.path.join(out, 'scaling.png')}")

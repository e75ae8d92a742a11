"""The PNG plots of the sign-off report."""
from __future__ import annotations

import os

import numpy as np

from ...engine.constants import kB


def write_plots(out, f, d):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ...engine.io.atomic import atomic_write

    def save(fig, name):
        fig.tight_layout()
        atomic_write(os.path.join(out, name), lambda fh: fig.savefig(fh, format="png"))
        return name

    def new(w=5.8, h=4.0):
        fig = Figure(figsize=(w, h), dpi=110)
        FigureCanvasAgg(fig)
        return fig, fig.add_subplot(1, 1, 1)

    pngs = {}
    dv = f["delta_vs_T"]
    fig, ax = new()
    T = np.array(dv["T_K"])
    ax.plot(T - 273.15, dv["delta"], "o-", label="Δ = E_b / k_B T (minimum-energy path)")
    ax.plot(T - 273.15, np.array(dv["coherent_J"]) / (kB * T), "s--", alpha=0.6,
            label="coherent rotation K_eff V / k_B T (zero field)")
    ax.axhline(dv["delta_required_at_T_hot"], color="C3", ls=":", label=f"required at {dv['T_hot_K'] - 273.15:.0f} °C")
    ax.axvline(dv["T_hot_K"] - 273.15, color="C3", alpha=0.3)
    ax.set_xlabel("T (°C)")
    ax.set_ylabel("Δ")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"{d['cell']['name']}: thermal stability", fontsize=10)
    pngs["delta"] = save(fig, "delta_vs_T.png")
    sw = f["switching"]
    fig = Figure(figsize=(9.0, 3.8), dpi=110)
    FigureCanvasAgg(fig)
    a1, a2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    unit = "A/m²" if d["cell"]["write"] == "sot" else "V"
    x = np.array(sw["drives"])
    ts = np.array([np.nan if v is None else v for v in sw["t_switch_s"]], dtype=float)
    a1.plot(x, ts * 1e9, "o-")
    a1.set_xlabel(f"drive ({unit})")
    a1.set_ylabel("switching time (ns), T = 0")
    a1.grid(True, alpha=0.3)
    a2.plot(x, np.array(sw["write_energy_J"]) * 1e15, "o-", color="C1")
    a2.set_xlabel(f"drive ({unit})")
    a2.set_ylabel("write energy (fJ)")
    a2.grid(True, alpha=0.3)
    pngs["switching"] = save(fig, "switching.png")
    tab = f["wer"]["table"]
    fig, ax = new()
    x = np.array([r["drive"] for r in tab])
    wer = np.array([r["WER"] for r in tab])
    lo = np.array([r["CI95_low"] for r in tab])
    hi = np.array([r["CI95_high"] for r in tab])
    e = wer > 0
    if e.any():
        ax.errorbar(x[e], wer[e], yerr=[wer[e] - lo[e], hi[e] - wer[e]], fmt="o", capsize=3, label="WER, 95 % CI")
    if (~e).any():
        ax.plot(x[~e], hi[~e], "v", color="C3", label="no error: 95 % upper bound")
    ax.set_yscale("log")
    ax.set_ylim(max(1e-6, 0.3 * min([v for v in np.r_[lo[e], hi] if v > 0] or [0.01])), 1.5)
    ax.set_xlabel(f"drive ({unit})")
    ax.set_ylabel("write error rate")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"WER at {f['wer']['T_K']:g} K, {tab[0]['N']} members per drive", fontsize=10)
    pngs["wer"] = save(fig, "wer.png")
    cr = f["critical"]
    if "growth_rates_per_s" in cr:
        fig, ax = new()
        ax.plot(cr["drives_V"], np.array(cr["growth_rates_per_s"]) * 1e-9, "o", label="growth rate of a small tilt")
        xx = np.linspace(0, max(cr["drives_V"]) * 1.05, 50)
        p = np.polyfit(cr["drives_V"], cr["growth_rates_per_s"], 1)
        ax.plot(xx, np.polyval(p, xx) * 1e-9, "-", alpha=0.6, label=f"fit: V_c0 = {cr['Vc0_V']:.3g} V")
        ax.axhline(0, color="k", lw=0.8)
        ax.axvline(cr["Ic0_macrospin_A"] * cr["R_P_ohm"], color="C3", ls=":", label="macrospin V_c0")
        ax.set_xlabel("|bias| (V)")
        ax.set_ylabel("growth rate (1/ns)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
        pngs["critical"] = save(fig, "critical.png")
    elif "J_scan_A_per_m2" in cr:
        fig, ax = new()
        ax.plot(cr["J_scan_A_per_m2"], np.array(cr["switched"], dtype=float), "o")
        ax.axvline(cr["Jc_macrospin_A_per_m2"], color="C3", ls=":", label="macrospin J_c")
        ax.set_xlabel("J (A/m²)")
        ax.set_ylabel("switched (T = 0, slow ramp)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
        pngs["critical"] = save(fig, "critical.png")
    return pngs

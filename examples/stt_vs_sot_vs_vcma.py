"""One perpendicular MRAM cell written three ways: STT, SOT and VCMA, side by side.

The cell: a 40 nm CoFeB disc, 1.5 nm thick, perpendicular through its MgO interface
(``mm.CoFeB_perpendicular(thickness=1.5e-9)``: Ki = 1.3 mJ/m², Ms = 1.257e6 A/m, α = 0.027; after the disc's
demag the effective anisotropy field is ≈ 0.1 T), 4 nm cells, T = 0, starting at +z (parallel to the
reference layer). Each route gets the junction it needs; the free layer is the same:

* **STT** (two-terminal): MTJ with RA_P = 2 Ω·µm², TMR = 150 %, 1.0 nm MgO; a −0.6 V, 1 ns pulse (50 ps
  edges; V < 0 drives P → AP) through the junction, Slonczewski torque with P = 0.6. The initial state is
  tilted by 5° (the rms thermal angle of this cell, Δ ≈ 45) so that the torque is not zero at t = 0.
  Energy ∫ V·I dt from the table (I = V/R(m)).
* **SOT** (three-terminal, type-z, Lee et al., APL 102, 112410 (2013)): the disc on 5 nm beta-W, +30 mT
  in-plane field along the current, a 2e12 A/m², 1 ns pulse in the W (θ J Bx < 0: switches to −z).
  Energy I²R·t of the W line (R over the modelled 48 nm of line). The type-z threshold is high: a 1 ns
  pulse at 1.6e12 does not switch this cell in the model.
* **VCMA** (precessional): MTJ with a 1.5 nm barrier (RA_P = 1000 Ω·µm², the high RA of VCMA cells: the
  STT of the tunnel current, which for V > 0 favours the parallel state, stays small), ξ = 200 fJ/(V·m)
  (a high coefficient for CoFeB/MgO; ΔK = −ξ V/(t_ox t_F)), +100 mT in-plane bias (≈ the effective
  anisotropy field: the equilibrium is strongly tilted, |mz| ≈ 0.8), a +1.2 V pulse. (With RA = 100
  Ω·µm² or 1.0 V the cell did not switch in the model.) A macrospin would switch for a pulse of half a precession period about the bias field;
  in this 40 nm disc the cancelled anisotropy leaves a non-uniform demag field and the switching window
  moves — the script first scans a few pulse widths in one batch and uses the shortest that leaves the
  cell switched. Energy C·V² with C = ε0 ε_MgO A / t_ox (ε_MgO = 9.8), plus the Joule part V²/R·t of
  the (small) tunnel current, printed separately. The STT of that current is kept in the model.

Prints the table of switching time (mz crossing 0) and write energy per route and writes
``out/stt_sot_vcma/mz_t.png`` (three mz(t) traces) and one table per route. ~35 s on 2 CPU cores (results: STT 0.76 ns / 186 fJ, SOT 0.24 ns /
138 fJ, VCMA 0.15 ns / 0.11 fJ C·V² with a 0.3 ns pulse);
``--quick``: a shorter run and a smaller width scan.

    python examples/stt_vs_sot_vs_vcma.py [--quick] [--out out/stt_sot_vcma]
"""
import argparse
import os
import shutil
import time

import numpy as np

import micromag as mm
from micromag.apps import devices
from micromag.engine.drives import Drive
from micromag.apps.readout import SwitchDetector
from micromag.engine.table import read_table

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--quick", action="store_true")
p.add_argument("--out", default=os.path.join("out", "stt_sot_vcma"))
p.add_argument("--backend", default="auto", choices=("auto", "cpu", "gpu"))
args = p.parse_args()

D, tF = 40e-9, 1.5e-9
material = mm.CoFeB_perpendicular(thickness=tF)
common = dict(size=(D, D), thickness=tF, material=material, cell=4e-9, backend=args.backend)
duration = 1.5e-9 if args.quick else 2.5e-9
out_dir = os.path.join(os.environ.get("MICROMAG_OUT", ""), args.out)
if os.path.isdir(out_dir):
    shutil.rmtree(out_dir)


def run(name, sim):
    det = SwitchDetector("mz", 0.0, "down")
    det.check(sim)
    t0 = time.perf_counter()
    sim.run(duration, out=os.path.join(args.out, name), every=5e-12, progress=False,
            stop=lambda s: (det.check(s), False)[1])
    print(f"  {name}: {time.perf_counter() - t0:.1f} s, final mz = {sim.m_avg[2]:+.3f}")
    return det.t_switch[0], os.path.join(out_dir, name, "table.txt")


rows = {}
# ---------------------------------------------------------------- STT
V_stt = -0.6
stt = devices.MTJCell(mtj=devices.MTJSpec(RA_P=2e-12, TMR=1.5, t_ox=1.0e-9), V=mm.Pulse(V_stt, width=1e-9, rise=50e-12),
                      stt=True, P=0.6, m0_tilt_deg=5.0, **common)
ts, tab = run("stt", stt.build())
rows["STT"] = (ts, devices.ohmic_energy_from_table(tab), f"V = {V_stt} V, RA = 2 Ω·µm²", tab)

# ---------------------------------------------------------------- SOT
J_sot = 2e12
sot = devices.SOTCell(free_layer=mm.Ellipse((D, D)), heavy_metal=mm.BetaW(thickness=5e-9), easy_axis="z",
                      J=mm.Pulse(J_sot, width=1e-9, rise=50e-12), B_ext=(0.03, 0.0, 0.0),
                      mtj=devices.MTJSpec(RA_P=2e-12, TMR=1.5), **{k: v for k, v in common.items() if k != "size"})
ts, tab = run("sot", sot.build(relax=True))
rows["SOT"] = (ts, sot.write_energy(), f"J = {J_sot:.1g} A/m², Bx = 30 mT", tab)

# ---------------------------------------------------------------- VCMA
V_vcma, Bx, xi = 1.2, 0.10, 2e-13
spec = devices.MTJSpec(RA_P=1000e-12, TMR=1.5, t_ox=1.5e-9)
widths = np.array([0.5, 0.6] if args.quick else [0.3, 0.4, 0.5, 0.6, 0.7, 0.8]) * 1e-9
edge = 30e-12


class Widths(Drive):  # one trapezoidal pulse per batch member
    def __init__(self, w):
        self.w = np.asarray(w, float)

    def __call__(self, t):
        t = np.asarray(t, float)
        return V_vcma * np.clip(np.minimum(t / edge, (self.w + edge - t) / edge), 0.0, 1.0)


scan = devices.MTJCell(mtj=spec, V=Widths(widths), xi_vcma=xi, B_ext=(Bx, 0, 0), batch=len(widths), **common)
s = scan.build(relax=True)
t0 = time.perf_counter()
s.run(1.5e-9, progress=False)
mz_end = s.m_avg[:, 2]
print(f"  VCMA width scan ({time.perf_counter() - t0:.1f} s): " +
      ", ".join(f"{w * 1e9:.1f} ns → mz {m:+.2f}" for w, m in zip(widths, mz_end)))
ok = np.flatnonzero(mz_end < -0.5)
w_best = widths[ok[0]] if ok.size else widths[np.argmin(mz_end)]
gamma = material.gamma
print(f"  macrospin half period about {Bx * 1e3:.0f} mT: {np.pi * (1 + material.alpha ** 2) / (gamma * Bx) * 1e9:.2f} ns; "
      f"using {w_best * 1e9:.1f} ns" + ("" if ok.size else " (no width switched: showing the closest)"))
vcma = devices.MTJCell(mtj=spec, V=Widths([w_best]), xi_vcma=xi, B_ext=(Bx, 0, 0), **common)
ts, tab = run("vcma", vcma.build(relax=True))
E_cv2 = vcma.cv2_energy(V_vcma)
E_joule = devices.ohmic_energy_from_table(tab)
rows["VCMA"] = (ts, E_cv2, f"V = {V_vcma} V for {w_best * 1e9:.1f} ns, Bx = {Bx * 1e3:.0f} mT "
                f"(+ Joule {E_joule * 1e15:.2f} fJ)", tab)

# ---------------------------------------------------------------- summary
print(f"\n{'route':6s} {'switching time':>15s} {'write energy':>14s}   drive")
for name, (ts, E, what, _) in rows.items():
    tss = f"{ts * 1e9:.3f} ns" if np.isfinite(ts) else "not switched"
    print(f"{name:6s} {tss:>15s} {E * 1e15:11.2f} fJ   {what}")
print(f"(STT: ∫V·I dt; SOT: I²R·t of the W line; VCMA: C·V² with C = {vcma.capacitance * 1e18:.1f} aF)")

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

fig = Figure(figsize=(7.0, 4.0), dpi=100)
FigureCanvasAgg(fig)
ax = fig.add_subplot(1, 1, 1)
for name, (ts, E, what, tab) in rows.items():
    names, data = read_table(tab)
    ax.plot(data[:, 0] * 1e9, data[:, names.index("mz")], label=f"{name}: {what.split(' (')[0]}")
ax.set_xlabel("t (ns)")
ax.set_ylabel("<mz>")
ax.set_ylim(-1.05, 1.05)
ax.grid(True, alpha=0.3)
ax.legend(loc="best", fontsize=8)
ax.set_title("one perpendicular cell, three write routes")
fig.tight_layout()
fig.savefig(os.path.join(out_dir, "mz_t.png"))
print(f"plot: {os.path.join(out_dir, 'mz_t.png')}")

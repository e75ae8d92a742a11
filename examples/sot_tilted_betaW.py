"""Field-free SOT switching of a tilted (type-xy) CoFeB ellipse on beta-W.

A 100 × 40 × 1.5 nm in-plane CoFeB ellipse (``mm.CoFeB()``: Ms = 1.1e6 A/m, A = 1.5e-11 J/m, α = 0.006; easy
axis = the long axis, from the shape alone) sits on a 5 nm beta-W line (θ_SH = −0.30, ρ = 260 µΩ·cm,
λ_sf = 1.4 nm: θ_eff = −0.283), its long axis tilted by 45° against the current. No applied field. A 1 ns
current pulse (50 ps rise and fall) of J = 8e11 A/m² in the W — inside the 1e11–1e12 A/m² range of beta-W
devices — is applied; with the Oersted field of the line included. The damping-like torque (σ = ẑ × x̂ = ŷ,
θ J < 0: m is pushed towards −ŷ) destabilizes the state with m·σ > 0 and, because the easy axis has a
component along σ, switches it deterministically to the opposite state: no field is needed.

In this model (T = 0, 4 nm cells, relaxed start) the cell switches in about 0.45 ns at 8e11 A/m²; a
batch scan from an unrelaxed start gave ≈ 1 ns at 6e11 and no switch within the pulse at 4e11 and
below, so the sub-ns field-free switching sits at the upper half of the published beta-W range. The MTJ (RA = 5 Ω·µm², TMR = 150 %, reference
along the initial easy-axis direction) reads the switch: R goes from R_P to R_AP.

Writes ``out/sot_tilted/table.txt`` (with R_MTJ and J_HM), ``m_t.png``, ``R_t.png``; prints the switching
time (mean m along the initial direction crossing 0) and the Joule energy I²R·t of the heavy-metal line
(R over the modelled stretch of line, the grid length). ~15 s on 2 CPU cores; ``--quick``: 5 nm cells,
a 100 × 40 nm ellipse still, J = 1e12 A/m², 0.8 ns (a smoke test, ~5 s).

    python examples/sot_tilted_betaW.py [--quick] [--J 8e11] [--out out/sot_tilted]
"""
import argparse
import os
import shutil
import time

import numpy as np

import micromag as mm
from micromag.apps import devices, plot
from micromag.apps.readout import SwitchDetector

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--quick", action="store_true", help="coarser cells and a shorter run (smoke test)")
p.add_argument("--J", type=float, default=None, help="current density in the W, A/m² (default 8e11; 1e12 quick)")
p.add_argument("--out", default=os.path.join("out", "sot_tilted"))
p.add_argument("--backend", default="auto", choices=("auto", "cpu", "gpu"))
args = p.parse_args()

J = args.J if args.J is not None else (1e12 if args.quick else 8e11)
cell = 5e-9 if args.quick else 4e-9
duration = 0.8e-9 if args.quick else 2.0e-9
pulse = mm.Pulse(J, width=1e-9, rise=50e-12)  # 1 ns FWHM, 50 ps edges

device = devices.SOTCell(
    size=(100e-9, 40e-9), thickness=1.5e-9, material=mm.CoFeB(),
    heavy_metal=mm.BetaW(thickness=5e-9), tilt_deg=45, easy_axis="long",
    cell=cell, mtj=devices.MTJSpec(RA_P=5e-12, TMR=1.5), J=pulse, oersted=True, backend=args.backend,
)
print(f"type-{device.type} cell on {device.heavy_metal.name}: grid {device.grid.n}, line {device.line_width * 1e9:.0f} nm "
      f"wide, θ_eff = {device.heavy_metal.theta_eff:.3f}, J = {J:.3g} A/m²")
sim = device.build(relax=True)
u = device.easy_axis  # the initial direction (grid frame)
print(f"relaxed: <m> = {np.round(sim.m_avg, 4)}, R = {sim.mtj.resistance(sim.m)[0]:.1f} Ω (R_P = {sim.mtj.R_P:.1f} Ω)")

out_dir = os.path.join(os.environ.get("MICROMAG_OUT", ""), args.out)
if os.path.isdir(out_dir):
    shutil.rmtree(out_dir)  # this example owns its output folder
det = SwitchDetector(lambda s: np.atleast_2d(s.m_avg) @ u, threshold=0.0, direction="down")
det.check(sim)


def watch(s):
    det.check(s)
    return False


t0 = time.perf_counter()
sim.run(duration, out=args.out, every=5e-12, stop=watch, progress=False)
wall = time.perf_counter() - t0
table = os.path.join(out_dir, "table.txt")
plot.table(table, ("mx", "my", "mz"), out=os.path.join(out_dir, "m_t.png"),
           title=f"tilted 45° CoFeB on β-W, J = {J:.2g} A/m², no field")
plot.table(table, "R_MTJ", out=os.path.join(out_dir, "R_t.png"), title="MTJ resistance")

ts = det.t_switch[0]
E = device.write_energy()
I = device.line_current(J)
print(f"final <m> = {np.round(sim.m_avg, 4)}, m·u = {float(sim.m_avg @ u):+.3f}, "
      f"R = {sim.mtj.resistance(sim.m)[0]:.1f} Ω (R_AP = {sim.mtj.R_AP:.1f} Ω)")
print(f"switching time: {ts * 1e9:.3f} ns" if np.isfinite(ts) else "switching time: not switched")
print(f"write energy (I²R·t in the W line): {E * 1e15:.1f} fJ  (I = {I * 1e3:.3f} mA, "
      f"R_line = {device.line_resistance:.0f} Ω over {device.line_length * 1e9:.0f} nm)")
print(f"{wall:.1f} s of integration; output in {out_dir}")

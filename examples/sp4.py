"""µMAG standard problem 4, field 1: a 500 × 125 × 3 nm Permalloy film switched by a field step.

Relaxes the s-state, applies μ0H = (−24.6, 4.3, 0) mT and runs 1 ns, writing <m>(t) every 10 ps to
``out/sp4/table.txt`` (MuMax3 table format) and a snapshot of m every 20 ps to ``out/sp4/m.pvd`` (ParaView
opens it as a movie; ``micromag view out/sp4`` renders it to PNGs). Runs on the CPU in about a minute.

    python examples/sp4.py [--cells 128 32] [--out out/sp4] [--backend auto] [--snapshots 20e-12]
"""
import argparse
import os
import shutil
import time

import micromag as mm

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--cells", type=int, nargs=2, default=(128, 32), metavar=("NX", "NY"))
p.add_argument("--out", default=os.path.join("out", "sp4"))
p.add_argument("--backend", default="auto", choices=("auto", "cpu", "gpu"))
p.add_argument("--snapshots", type=float, default=20e-12, metavar="DT",
               help="seconds between snapshots of m (.vti frames + m.pvd); 0: none")
args = p.parse_args()

nx, ny = args.cells
grid = mm.Grid(n=(nx, ny, 1), cell=(500e-9 / nx, 125e-9 / ny, 3e-9))
permalloy = mm.Material(Ms=8.0e5, A=1.3e-11, alpha=0.02, gamma=2.211e5 / mm.mu0)  # γ0 of the µMAG problem
sim = mm.Simulation(grid, material=permalloy, backend=args.backend)

t0 = time.perf_counter()
sim.m = (1, 0.1, 0)
sim.minimize(tol_torque=1e-7)  # or sim.relax(tol_torque=1e-7): the same state, as fast
print(f"relaxed s-state: <m> = ({sim.m_avg[0]:.5f}, {sim.m_avg[1]:.5f}, {sim.m_avg[2]:.5f})   "
      f"(MuMax3 at 128×32: 0.96697, 0.12527, 0)   {time.perf_counter() - t0:.1f} s")

out_dir = os.path.join(os.environ.get("MICROMAG_OUT", ""), args.out)  # where `micromag run --out` puts it
if os.path.isdir(out_dir):
    shutil.rmtree(out_dir)  # this example owns its output folder
t1 = time.perf_counter()
sim.B_ext = (-24.6e-3, 4.3e-3, 0.0)  # T
sim.run(1e-9, out=args.out, every=10e-12, snapshot_every=args.snapshots or None)
m = sim.m_avg
print(f"<m>(1 ns) = ({m[0]:.5f}, {m[1]:.5f}, {m[2]:.5f})   (MuMax3 at 128×32: -0.98461, 0.12604, 0.04327)   "
      f"{time.perf_counter() - t1:.1f} s")
print(f"table written to {os.path.join(out_dir, 'table.txt')}")
if args.snapshots:
    print(f"snapshots: {os.path.join(out_dir, 'm.pvd')} (open in ParaView, or: micromag view {out_dir})")

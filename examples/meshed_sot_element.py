"""A meshed free layer: the tilted SOT element of ``geometries/sot_tilted.msh`` on its beta-W stripe.

Reads the mesh with meshio (only the ``free_layer`` physical group is magnetic), relaxes a CoFeB element,
then drives it with a spin-orbit-torque pulse in the beta-W stripe along x and writes
``out/meshed_sot/``: ``table.txt``, a ParaView series (``m.pvd`` + ``m_*.vti``; open ``m.pvd`` in ParaView,
colour by ``m``, press play) and PNGs of m(t) and of the final state.

    python examples/meshed_sot_element.py [--quick]
"""
import argparse
import os
import shutil

import micromag as mm
from micromag.apps import plot

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--quick", action="store_true", help="coarser cells and a shorter pulse (CI smoke test)")
p.add_argument("--out", default=os.path.join("out", "meshed_sot"))
args = p.parse_args()

here = os.path.dirname(os.path.abspath(__file__))
mesh = os.path.join(here, "..", "geometries", "sot_tilted.msh")
# the free layer occupies z = 0..2 nm in mesh units (nm); centre it on the single cell layer of the grid
element = mm.from_mesh(mesh, scale="nm", physical="free_layer", translate=(0, 0, -1e-9))
cell = 4e-9 if args.quick else 2.5e-9
n = (int(130e-9 / cell), int(100e-9 / cell), 1)
grid = mm.Grid(n=n, cell=(cell, cell, 2e-9))
sim = mm.Simulation(grid, material=mm.CoFeB(alpha=0.02), geometry=element)
print(f"{int(sim.system.magnetic.sum())} magnetic cells of {grid.ncells}; "
      f"volume {(sim.system.fill.sum() * grid.cell_volume) * 1e27:.0f} nm³ (mesh: 7531 nm³)")

sim.m = (1, 1, 0)  # along the long axis of the element, tilted 45°
sim.minimize()

out = os.path.join(os.environ.get("MICROMAG_OUT", ""), args.out)
if os.path.isdir(out):
    shutil.rmtree(out)  # this example owns its output folder
J = mm.Pulse(amplitude=-1.5e12, width=0.3e-9 if args.quick else 0.6e-9, rise=50e-12)  # A/m², along +x
sim.add(mm.SpinOrbitTorque(sim.system, J=J, heavy_metal=mm.BetaW(thickness=4e-9), direction=(1, 0, 0)))
sim.table_add("J_HM", "A/m2", lambda m, t: J(t))
duration = 0.5e-9 if args.quick else 1.0e-9
sim.run(duration, out=out, every=10e-12, snapshot_every=50e-12)

plot.table(out, out=os.path.join(out, "m_t.png"))
plot.snapshot(sim, out=os.path.join(out, "m_final.png"))
m = sim.m_avg
print(f"<m>({duration * 1e9:g} ns) = ({m[0]:.3f}, {m[1]:.3f}, {m[2]:.3f}); wrote {out}/m.pvd, table.txt, m_t.png, m_final.png")

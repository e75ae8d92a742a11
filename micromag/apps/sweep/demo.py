"""The demo device of the example spec (``build = "micromag.apps.sweep:demo_cell"``)."""
from __future__ import annotations


def demo_cell(Bz, Bx=0.0, T=0.0, alpha=0.1, diameter=32e-9, thickness=1.3e-9, n=8, batch=1):
    """A perpendicular CoFeB disk (``n`` × ``n`` cells) starting near +z, in a field (Bx, 0, Bz) in T at
    temperature T in K: the build function of ``examples/sweep_spec.toml``."""
    from ...engine.geometry import Ellipse
    from ...engine.grid import Grid
    from ...engine.materials import CoFeB_perpendicular
    from ...engine.simulation import Simulation

    grid = Grid(n=(n, n, 1), cell=(diameter / n, diameter / n, thickness))
    sim = Simulation(grid, material=CoFeB_perpendicular(thickness=thickness, alpha=alpha),
                     geometry=Ellipse((diameter, diameter)),
                     batch=batch)
    sim.m = (0.05, 0.0, 1.0)
    sim.B_ext = (Bx, 0.0, Bz)
    if T > 0:
        sim.dt = 1e-14
        sim.temperature = T
    return sim

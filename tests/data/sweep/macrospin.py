"""A tiny perpendicular free layer for the sweep tests: build(Bz, Bx=0, T=0, batch=1) -> Simulation."""
import micromag as mm

GRID = mm.Grid(n=(4, 4, 1), cell=(3e-9, 3e-9, 1.5e-9))


def build(Bz, Bx=0.0, T=0.0, alpha=0.3, batch=1):
    sim = mm.Simulation(GRID, material=mm.Material(Ms=1.0e6, A=5e-12, alpha=alpha, Ku1=1e6, anis_u=(0, 0, 1)),
                        batch=batch, backend="cpu")
    sim.m = (0.2, 0.0, 1.0)
    sim.B_ext = (Bx, 0.0, Bz)
    if T > 0:
        sim.dt = 2e-14
        sim.temperature = T
    return sim


def energy(params, row):
    """A made-up write energy (J): |Bz| times the time to switch (or to the end)."""
    t = row["t_switch"] if row["t_switch"] is not None else row["t_end"]
    return abs(params["Bz"]) * t

"""Random multi-region test systems shared by the kernel tests (emulation and GPU)."""
import numpy as np

import micromag as mm
from micromag.system import System


def random_axis(rng):
    v = rng.normal(size=3)
    return tuple(v / np.linalg.norm(v))


def random_material(rng, A=None, Ms=None):
    c1 = np.array(random_axis(rng))
    c2 = np.cross(c1, random_axis(rng))
    c2 /= np.linalg.norm(c2)
    return mm.Material(
        Ms=rng.uniform(5e5, 1.3e6) if Ms is None else Ms,
        A=rng.uniform(5e-12, 2e-11) if A is None else A,
        alpha=rng.uniform(0.005, 0.5),
        Ku1=rng.uniform(-5e5, 8e5),
        anis_u=random_axis(rng),
        Kc1=rng.uniform(-5e4, 5e4),
        Kc2=rng.uniform(-3e4, 3e4),
        anis_c1=tuple(c1),
        anis_c2=tuple(c2),
        D_ind=rng.uniform(-3e-3, 3e-3),
        gamma=rng.uniform(1.7e11, 1.8e11),
    )


def random_system(n=(6, 5, 3), cell=(2e-9, 3e-9, 2.5e-9), seed=0, nreg=3, empty=0.15, pbc=(0, 0, 0)):
    """Regions 0..nreg-1 with random materials (region 1 has A = 0), region nreg non-magnetic (Ms = 0),
    random fill fractions with about ``empty`` of the cells empty."""
    rng = np.random.default_rng(seed)
    grid = mm.Grid(n=n, cell=cell, pbc=pbc)
    mats = {r: random_material(rng, A=0.0 if r == 1 else None) for r in range(nreg)}
    mats[nreg] = mm.Material(Ms=0.0)
    region = rng.integers(0, nreg + 1, size=grid.shape, endpoint=False)
    region[rng.random(grid.shape) < 0.7] = 0  # mostly region 0 so that neighbours couple
    fill = rng.uniform(0.3, 1.0, size=grid.shape)
    fill[rng.random(grid.shape) < empty] = 0.0
    fill.flat[0] = 1.0
    region.flat[0] = 0
    return System(grid, geometry=fill, regions=region, materials=mats)


def random_m(system, batch=2, seed=1):
    rng = np.random.default_rng(seed)
    m = rng.normal(size=(batch, 3) + system.grid.shape)
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    return m * system.magnetic

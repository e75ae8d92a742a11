"""Random multi-region test systems shared by the kernel tests (emulation and GPU)."""
import numpy as np

import micromag as mm
from micromag.engine.system import System


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


def mram_terms(system, names, batch=2):
    """MRAM device terms on ``system`` with per-member drives (batch 2), by variant name: sot, sot_pattern
    (a spatial current_field), oersted, stt, stt_spatial_p, stt_callable_p, zhangli (drives per member and a
    function of t), zhangli_spatial ((3, nz, ny, nx) current), zhangli_batch ((B, 3, nz, ny, nx)), vcma."""
    from micromag.engine.heavy_metal import HeavyMetal, WriteLine
    from micromag.engine.terms.oersted import OerstedField
    from micromag.engine.terms.sot import SpinOrbitTorque
    from micromag.engine.terms.stt import SlonczewskiSTT
    from micromag.engine.terms.vcma import VCMA
    from micromag.engine.terms.zhangli import ZhangLiSTT

    g = system.grid
    rng = np.random.default_rng(42)
    out = {}
    for n in names:
        if n == "sot":
            t = SpinOrbitTorque(system, J=[1e11, -2e11], theta_sh=0.3, xi_FL=0.4, direction=(1.0, 0.5, 0.0))
        elif n == "sot_pattern":
            cf = rng.uniform(0.2, 1.0, size=(2, g.ny, g.nx)) * np.array([1.0, 0.3])[:, None, None]
            t = SpinOrbitTorque(system, J=[5e10, -1e11], theta_sh=-0.2, xi_FL=-0.7, current_field=cf)
        elif n == "oersted":
            hm = HeavyMetal(theta_sh=0.1, resistivity=2e-7, thickness=3e-9)
            t = OerstedField(system, WriteLine(heavy_metal=hm), J=[2e11, -1e11], gap=1e-9)
        elif n == "stt":
            t = SlonczewskiSTT(system, J=[1e11, -3e10], p=[(0.3, 0.2, 1.0), (0.0, -1.0, 0.2)], Lambda=1.5,
                               eps_prime=0.2, P=0.5)
        elif n == "stt_spatial_p":
            p = rng.normal(size=(3,) + g.shape)
            t = SlonczewskiSTT(system, J=[1e11, 2e11], p=p, Lambda=2.0, eps_prime=-0.3,
                               mask=rng.uniform(0, 1, size=g.shape))
        elif n == "stt_callable_p":
            t = SlonczewskiSTT(system, J=7e10, p=lambda t: (np.cos(1e10 * t), np.sin(1e10 * t), 0.5))
        elif n == "zhangli":
            t = ZhangLiSTT(system, J=(1e12, [-2e11, 3e11], lambda t: 1e21 * t), P=0.7, xi=0.1)
        elif n == "zhangli_spatial":
            t = ZhangLiSTT(system, J=rng.normal(size=(3,) + g.shape) * 1e12, P=0.5, xi=0.0)
        elif n == "zhangli_batch":
            t = ZhangLiSTT(system, J=rng.normal(size=(batch, 3) + g.shape) * 1e12, P=0.6, xi=0.3)
        elif n == "vcma":
            t = VCMA(system, V=[0.5, -0.8], xi=5e-14, t_ox=1e-9, axis=(0.1, 0.2, 1.0))
        else:
            raise KeyError(n)
        out[n] = t
    return out

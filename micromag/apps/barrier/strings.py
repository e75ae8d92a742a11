"""The geometry of a string of images on the product of unit spheres: the moment-weighted metric, great
circles, arc length, reparametrization and the upwind tangents of the string method."""
from __future__ import annotations

import math

import numpy as np

__all__ = ["Metric", "normalize", "perp", "slerp", "geodesic", "cheapest_via", "arclength", "reparametrize",
           "tangents", "top_estimate", "geodesic_cells", "wall_width"]


class Metric:
    """The moment-weighted metric: ⟨a, b⟩ = Σ_cells w a·b with w = Ms·fill normalized to Σ w = 1."""

    def __init__(self, system):
        # cells of a layer held fixed (Material.frozen = 1) stay where the ends have them: no weight, no force
        self.held = system.magnetic & (system.param("frozen") != 0)
        self.mobile = system.magnetic & ~self.held
        w = np.where(self.mobile, system.Ms_eff, 0.0)
        self.w = w / w.sum()
        self.mask = system.magnetic

    def dot(self, a, b):
        """⟨a, b⟩ over the trailing (3, nz, ny, nx) axes: shape a.shape[:-4]."""
        return np.einsum("...cijk,ijk->...", a * b, self.w)

    def dist(self, a, b):
        d = a - b
        return np.sqrt(np.maximum(self.dot(d, d), 0.0))


def normalize(m, mask):
    n = np.sqrt((m * m).sum(axis=-4, keepdims=True))
    out = np.divide(m, n, out=np.zeros_like(m), where=n > 0)
    return out * mask


def perp(v, m):
    """v minus its component along m, per cell (the part tangent to the sphere at m)."""
    return v - (v * m).sum(axis=-4, keepdims=True) * m


def slerp(a, b, s):
    """Per-cell great-circle interpolation a → b at fractions s (k,) -> (k, 3, nz, ny, nx); an antiparallel
    cell turns through x̂ (or ŷ where a ∥ x̂)."""
    cos = np.clip((a * b).sum(axis=0), -1.0, 1.0)
    v = b - cos * a
    vn = np.sqrt((v * v).sum(axis=0))
    e = np.array([1.0, 0.0, 0.0]).reshape(3, 1, 1, 1)
    alt = e - (e * a).sum(axis=0) * a
    e2 = np.array([0.0, 1.0, 0.0]).reshape(3, 1, 1, 1)
    alt = np.where(np.sqrt((alt * alt).sum(axis=0)) < 1e-6, e2 - (e2 * a).sum(axis=0) * a, alt)
    v = np.where(vn > 1e-9, v, alt)
    v = v / np.maximum(np.sqrt((v * v).sum(axis=0)), 1e-300)
    theta = np.where(vn > 1e-9, np.arctan2(vn, cos), np.where(cos < 0, math.pi, 0.0))
    s = np.asarray(s, dtype=float)
    s = s.reshape(-1, 1, 1, 1, 1) if s.ndim <= 1 else s[:, None]  # (k,) or per cell (k, nz, ny, nx)
    return np.cos(s * theta) * a + np.sin(s * theta) * v


def geodesic(a, b, n, mask, via=None):
    """n states from a to b: the per-cell great circle; with ``via`` (a 3-vector) the path of a reversal goes
    through the direction ``via`` (projected off a in each cell) half way, a → via → b, so that nearly
    antiparallel states, whose great circle is set by round-off, turn through a chosen plane."""
    s = np.linspace(0.0, 1.0, n)
    if via is None:
        path = slerp(a, b, s)
    else:
        e = np.asarray(via, dtype=float).reshape(3, 1, 1, 1)
        mid = e - (e * a).sum(axis=0) * a
        mid = mid / np.maximum(np.sqrt((mid * mid).sum(axis=0)), 1e-300)
        first = slerp(a, mid, np.clip(2 * s, 0, 1))
        second = slerp(mid, b, np.clip(2 * s - 1, 0, 1))
        path = np.where((s <= 0.5).reshape(-1, 1, 1, 1, 1), first, second)
    path[0], path[-1] = a, b
    return normalize(path, mask)


def cheapest_via(ends, metric, a, b):
    """For a reversal (a and b nearly opposite on average): the axis x̂, ŷ or ẑ, made perpendicular to the
    average of a, along which the uniform state has the lowest energy — the cheapest plane to turn in."""
    ma = np.einsum("cijk,ijk->c", a, metric.w)
    mb = np.einsum("cijk,ijk->c", b, metric.w)
    if float(ma @ mb) > -0.5 * float(np.linalg.norm(ma) * np.linalg.norm(mb)):
        return None
    u = ma / max(np.linalg.norm(ma), 1e-300)
    best, E_best = None, np.inf
    for axis in np.eye(3):
        c = axis - (axis @ u) * u
        if np.linalg.norm(c) < 0.3:
            continue
        c = c / np.linalg.norm(c)
        ends.m = tuple(c)
        E = float(np.atleast_1d(ends.energy())[0])
        if E < E_best:
            best, E_best = c, E
    return best


def arclength(metric, m):
    d = metric.dist(m[1:], m[:-1])
    return np.concatenate([[0.0], np.cumsum(d)])


def reparametrize(metric, m, climb=None):
    """Images put back at equal arc length (cubic spline); with a climbing image ``climb`` the images on each
    side of it are spread evenly over their side and the climbing image stays where it is."""
    from scipy.interpolate import CubicSpline

    n = m.shape[0]
    s = arclength(metric, m)
    if not np.all(np.diff(s) > 0):  # two images on top of each other: a spline needs increasing s
        s = s + 1e-12 * np.arange(n) * max(s[-1], 1e-12)
    if climb is None:
        target = np.linspace(0.0, s[-1], n)
    else:
        target = np.concatenate([np.linspace(0.0, s[climb], climb + 1),
                                 np.linspace(s[climb], s[-1], n - climb)[1:]])
    flat = m.reshape(n, -1)
    new = CubicSpline(s, flat, axis=0, bc_type="natural")(target[1:-1])
    out = m.copy()
    out[1:-1] = normalize(new.reshape((n - 2,) + m.shape[1:]), metric.mask)
    if climb is not None:
        out[climb] = m[climb]
    return out


def tangents(metric, m, E):
    """Unit tangents (moment-weighted metric) of the inner images, projected on the sphere of each cell:
    shape (n − 2, 3, nz, ny, nx). Upwind, after Henkelman & Jónsson, J. Chem. Phys. 113, 9978 (2000): towards
    the higher neighbour, a blend of both at an extremum of the energies ``E``. A central difference would
    make the explicit update an unstable (forward-time, centred-space) advection of any twist of the path
    about a symmetry axis: the twist then grows by a factor of ~3 per iteration."""
    fwd = m[2:] - m[1:-1]
    bwd = m[1:-1] - m[:-2]
    Ep, Ei, Em = E[2:], E[1:-1], E[:-2]
    up = (Ep > Ei) & (Ei > Em)
    down = (Ep < Ei) & (Ei < Em)
    dmax = np.maximum(np.abs(Ep - Ei), np.abs(Em - Ei))
    dmin = np.minimum(np.abs(Ep - Ei), np.abs(Em - Ei))
    wf = np.where(up, 1.0, np.where(down, 0.0, np.where(Ep > Em, dmax, dmin)))
    wb = np.where(up, 0.0, np.where(down, 1.0, np.where(Ep > Em, dmin, dmax)))
    flat = (wf + wb) == 0  # all three equal: centred
    wf, wb = np.where(flat, 1.0, wf), np.where(flat, 1.0, wb)
    t = perp(wf.reshape(-1, 1, 1, 1, 1) * fwd + wb.reshape(-1, 1, 1, 1, 1) * bwd, m[1:-1])
    norm = np.sqrt(np.maximum(metric.dot(t, t), 1e-300))
    return t / norm.reshape(-1, 1, 1, 1, 1)


def top_estimate(s, E):
    """The highest energy along a string, J: the parabola through the highest image and its neighbours."""
    j = int(np.argmax(E))
    if j == 0 or j == len(E) - 1:
        return float(E[j])
    x, y = s[j - 1:j + 2], E[j - 1:j + 2]
    c = np.polyfit(x - x[1], y, 2)
    if c[0] >= 0:
        return float(E[j])
    xs = np.clip(-c[1] / (2 * c[0]), x[0] - x[1], x[2] - x[1])
    return float(max(E[j], np.polyval(c, xs)))


def geodesic_cells(a, b, frac, mask, via):
    """Per-cell fractions ``frac`` (k, nz, ny, nx) of the way a → via → b (a reversal through ``via``)."""
    e = np.asarray(via, dtype=float).reshape(3, 1, 1, 1)
    mid = e - (e * a).sum(axis=0) * a
    mid = mid / np.maximum(np.sqrt((mid * mid).sum(axis=0)), 1e-300)
    first = slerp(a, mid, np.clip(2 * frac, 0, 1))
    second = slerp(mid, b, np.clip(2 * frac - 1, 0, 1))
    return normalize(np.where((frac <= 0.5)[:, None], first, second), mask)


def wall_width(sim):
    """√(A/Ku1) (m) of the stiffest magnetic material, or two cells where there is none."""
    dx = max(c for c, n in zip(sim.grid.cell, sim.grid.n) if n > 1) if max(sim.grid.n) > 1 else sim.grid.cell[0]
    w = [math.sqrt(mat.A / mat.Ku1) for mat in sim.system.materials if mat is not None and mat.Ku1 > 0 and mat.A > 0]
    return min(w) if w else 2 * dx

"""Starting strings of a reversal: coherent rotation through several directions, walls swept from the edge,
the seeded geodesic; the uniform-rotation upper bound; starts pushed off a top along its extra unstable
modes."""
from __future__ import annotations

import math

import numpy as np

from .landscape import clone_simulation
from .strings import cheapest_via, geodesic, geodesic_cells, normalize, perp, reparametrize, wall_width

__all__ = ["make_starts", "coherent_bound", "mode_starts"]


def make_starts(sim, metric, a, b, images, via, noise, seed, candidates):
    """The starting strings [(name, (images, 3, nz, ny, nx))] (see :func:`energy_barrier`, ``candidates``)."""
    mask = metric.mask
    ends = clone_simulation(sim, 2)
    v_cheap = cheapest_via(ends, metric, a, b)
    reversal = v_cheap is not None
    if via is None:
        via = v_cheap
    kinds = ("coherent", "wall", "seeded", "geodesic") if candidates == "auto" else tuple(candidates)
    bad = [k for k in kinds if k not in ("coherent", "wall", "seeded", "geodesic")]
    if bad or not kinds:
        raise ValueError(f"candidates must be 'auto' or a non-empty list of 'coherent', 'wall', 'seeded', "
                         f"'geodesic', got {candidates!r}")
    out = []
    u = np.einsum("cijk,ijk->c", a, metric.w)
    u = u / max(np.linalg.norm(u), 1e-300)
    e1 = None
    if reversal:
        e1 = np.asarray(via if via is not None else v_cheap, dtype=float)
        e1 = e1 - (e1 @ u) * u
        e1 = e1 / max(np.linalg.norm(e1), 1e-300)
        e2 = np.cross(u, e1)
    if "coherent" in kinds and reversal:
        for deg in (0, 45, 90, 135):
            ph = math.radians(deg)
            out.append((f"coherent via {deg} deg", geodesic(a, b, images, mask, via=math.cos(ph) * e1
                                                              + math.sin(ph) * e2)))
    if "wall" in kinds and reversal:
        x, y, z = sim.grid.coords()
        r = np.stack(np.broadcast_arrays(x, y, z))  # (3, nz, ny, nx), m
        dw = wall_width(sim)
        for d, turn in ((e1, e2), (e2, e1)):
            proj = np.einsum("c,cijk->ijk", d, r)
            lo, hi = float(proj[mask].min()) - 3 * dw, float(proj[mask].max()) + 3 * dw
            pos = np.linspace(lo, hi, images)
            frac = 2.0 / np.pi * np.arctan(np.exp(np.clip((pos.reshape(-1, 1, 1, 1) - proj[None]) / dw, -50, 50)))
            m0 = geodesic_cells(a, b, frac, mask, turn)
            m0[0], m0[-1] = a, b
            out.append((f"wall along {np.round(d, 3).tolist()}", m0))
    if "seeded" in kinds or not out:
        m0 = geodesic(a, b, images, mask, via=via)
        if noise > 0:
            rng = np.random.default_rng(seed)
            kick = rng.standard_normal(m0[1:-1].shape) * noise
            # no uniform part: a uniform tilt only turns an image about a symmetry axis (a zero mode that the
            # string would take long to iron out); the non-uniform part is what lets a wall form
            kick -= np.einsum("bcijk,ijk->bc", kick, metric.w)[:, :, None, None, None]
            kick = perp(kick, m0[1:-1])
            m0[1:-1] = normalize(m0[1:-1] + kick, mask)
        out.append((f"seeded (noise {noise:g} rad, seed {seed})", m0))
    if "geodesic" in kinds and not reversal:
        out.append(("geodesic", geodesic(a, b, images, mask)))
    return out


def coherent_bound(sim, metric, a, b, n_theta=49):
    """For a reversal: the barrier of uniform rotation on this grid, {"barrier_J", "m", "phi"}: every cell
    turned together from the average direction u of ``a`` to −u through each of 8 in-plane directions; the
    least over those of the highest energy (refined by a parabola through the three highest points) minus
    E(a). Relaxing the uniform ±u into a and b only lowers the energy, so every path's barrier is at most
    this. None when a and b are not a reversal."""
    u = np.einsum("cijk,ijk->c", a, metric.w)
    ub = np.einsum("cijk,ijk->c", b, metric.w)
    if float(u @ ub) > -0.5 * float(np.linalg.norm(u) * np.linalg.norm(ub)):
        return None
    u = u / np.linalg.norm(u)
    e1 = np.eye(3)[int(np.argmin(np.abs(u)))]
    e1 = e1 - (e1 @ u) * u
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(u, e1)
    phis = np.arange(8) * math.pi / 8
    th = np.linspace(0.0, math.pi, n_theta)

    def states(theta, phi):
        d = np.cos(theta)[:, None] * u + np.sin(theta)[:, None] * (np.cos(phi)[:, None] * e1 + np.sin(phi)[:, None] * e2)
        return d[:, :, None, None, None] * metric.mobile + a * metric.held

    TH, PH = np.meshgrid(th, phis)  # (8, n_theta)
    ms = np.concatenate([a[None], states(TH.ravel(), PH.ravel())])
    c = clone_simulation(sim, ms.shape[0])
    c.m = ms
    E = np.asarray(c.energy(), dtype=float)
    Ea, E = E[0], E[1:].reshape(len(phis), n_theta)
    j = np.clip(np.argmax(E, axis=1), 1, n_theta - 2)
    r = np.arange(len(phis))
    y0, y1, y2 = E[r, j - 1], E[r, j], E[r, j + 1]
    den = y0 - 2 * y1 + y2
    shift = np.where(den < 0, 0.5 * (y0 - y2) / np.where(den < 0, den, -1.0), 0.0)
    th_star = th[j] + np.clip(shift, -1, 1) * (th[1] - th[0])
    c2 = clone_simulation(sim, len(phis))
    c2.m = states(th_star, phis)
    Emax = np.maximum(E.max(axis=1), np.asarray(c2.energy(), dtype=float))
    best = int(np.argmin(Emax))
    # the path through the top itself (θ* and the grid's highest θ among its images), so that its barrier
    # is the bound
    ths = np.unique(np.concatenate([np.linspace(0, math.pi, 14), [th_star[best], th[j[best]]]]))
    return {"barrier_J": float(Emax[best] - Ea), "phi": float(phis[best]),
            "m": states(ths, np.full(len(ths), phis[best])),
            "profile_J": (E[best] - Ea).tolist()}


def mode_starts(metric, path, modes, angle):
    """New starting strings from ``path``: each image turned along each unstable mode field v (per-cell
    amplitude ≤ 1) by ±angle × bump(s), bump 1 at the top and 0 at both ends (sin² in the arc length)."""
    m, s, top = path.m, path.s, path.saddle_index
    L = s[-1]
    bump = np.where(s <= s[top], np.sin(0.5 * math.pi * s / max(s[top], 1e-300)) ** 2,
                    np.sin(0.5 * math.pi * (L - s) / max(L - s[top], 1e-300)) ** 2)
    bump[0] = bump[-1] = 0.0
    out = []
    for k, (w, v) in enumerate(modes):
        v = v * metric.mobile  # a layer held fixed stays where it is
        v = v / max(float(np.sqrt((v * v).sum(axis=0)).max()), 1e-300)
        for sign in (1, -1):
            new = m + sign * angle * bump.reshape(-1, 1, 1, 1, 1) * perp(v[None], m)
            new = normalize(new, metric.mask)
            new[0], new[-1] = m[0], m[-1]
            out.append((f"mode {k + 1} ({w:.3g} T) {'+' if sign > 0 else '-'}", reparametrize(metric, new)))
    return out

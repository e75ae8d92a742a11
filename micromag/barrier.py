r"""Minimum-energy paths and energy barriers: the simplified string method with a climbing image.

    path = mm.energy_barrier(sim, m_from, m_to, images=16)
    path.barrier        # J: the highest energy along the path minus the energy of m_from
    path.energies       # (images,) J along the path
    path.saddle         # (3, nz, ny, nx) magnetization at the top
    path.delta(300)     # thermal stability factor Δ = barrier / (k_B T)

Method
------
The simplified string method (E, Ren & Vanden-Eijnden, J. Chem. Phys. 126, 164103 (2007)) with a climbing
image (Ren & Vanden-Eijnden, J. Chem. Phys. 138, 134105 (2013); the same device as the climbing image of
Henkelman et al., J. Chem. Phys. 113, 9901 (2000)). Each iteration

1. evaluates the effective field B (T) of every image at once — the images are the members of ONE batch
   :class:`~micromag.simulation.Simulation`, so the field of the whole string is one batched evaluation on
   whatever backend the simulation uses (NumPy, the GPU, or its host emulation);
2. moves every inner image along the part of its descent direction B⊥ = B − (m·B) m (T) that is
   perpendicular to the string, m ← m + τ (B⊥ − ⟨B⊥, t̂⟩ t̂), then renormalizes each cell (steepest descent
   in the metric that weights each cell by its moment Ms·fill·V, in which the gradient of the energy is
   −Ms V B: the precession-free LLG direction); t̂ is the unit tangent, upwind towards the higher neighbour
   (Henkelman & Jónsson, J. Chem. Phys. 113, 9978 (2000)) — a centred tangent makes the explicit update
   unstable for any twist of the path about a symmetry axis;
3. puts the images back at equal arc length along the string (cubic spline through the images in the
   moment-weighted metric, then renormalized).

Why the string method rather than the (geodesic) nudged elastic band: it has no spring constant to tune,
the reparametrization keeps the images evenly spread whatever the energy landscape (a band with weak
springs lets images slide into the minima, strong springs make it stiff), and an iteration is exactly one
batched field evaluation plus a cheap interpolation on the host — the shape that suits the GPU batch. The
climbing image removes the method's one weakness (the top lies between images): once the string has
settled, the highest image stops taking part in the reparametrization and climbs, its force
B⊥ − 2 (B⊥·t̂) t̂ reversed along the tangent t̂, so it converges onto the saddle point itself; the images
on either side are spread evenly over their half of the string.

The step is τ = 1.6/λ_max (1/T), λ_max the largest curvature of the landscape (T) from a power iteration on
the batched field at the start (the explicit step is stable below 2/λ_max); the climbing image, which is not
reparametrized, takes Barzilai–Borwein steps of its own (as :meth:`Simulation.minimize`), so that soft modes
at the saddle (a wall's position, the turn of its moment) do not take thousands of iterations. Every step is
capped so that no cell turns by more than ``max_angle`` rad per iteration.

The default initial path is the per-cell great circle from m_from to m_to, or, for a reversal, the path
that turns through the cheapest axis (``via``), with a small non-uniform random tilt that lets a symmetric
start break into a domain-wall path.

Both ends are relaxed first (``sim.minimize`` on a two-member copy of the simulation, to ``tol_torque``/10)
and stay fixed. The barrier of a path is that of its energy landscape: torques that are not the gradient of
an energy (spin-transfer, spin-orbit) and the thermal field take no part; the applied field, VCMA and other
energy terms do.

Convergence
-----------
Checked every ``check_every`` iterations (an energy evaluation of the whole string): converged when
(a) the climbing image's torque |m × B| is below ``tol_torque`` (T) in every cell — it is then a stationary
point, the saddle, whatever the resolution of the rest of the string — and (b) the string has settled: no
image's energy has changed by more than ``tol_energy`` (J; default 1e-5 of the energy range along the path)
since the last check, or the barrier has stayed within ``settle_rtol`` over the last ``settle_checks``
checks (the other images then only drift along directions of no energy). Criterion (b) is on energies, not
on the torque perpendicular to the string, because on a discretized element the images keep drifting along
directions of almost no energy (a wall's nucleation point wandering round a staircase disc edge, the twist
of a path about a symmetry axis) where such a torque never reaches a small absolute value while the
profile, and the barrier, no longer change.
If the barrier has stopped changing and the climbing torque has stopped falling without reaching
``tol_torque`` (a top made rugged by the grid's pinning of a wall), the run ends early as "settled" with a
RuntimeWarning and the barrier's variation as its uncertainty; if ``max_iter`` iterations pass first, a
RuntimeWarning says so; in both cases ``path.converged`` is False (``path.status`` tells which). The climbing
image is re-chosen when another image rises above it by more than 1 % of the energy range.
"""
from __future__ import annotations

import copy
import math
import os
import time
import warnings

import numpy as np

from .constants import kB
from .progress import Progress
from .validation import check_int, check_positive

__all__ = ["energy_barrier", "EnergyPath", "clone_simulation", "coherent_barrier", "wall_barrier",
           "crossover_diameter"]

# ---------------------------------------------------------------------------------------------- closed forms
def coherent_barrier(K, volume, h=0.0):
    """Stoner–Wohlfarth barrier K V (1 − h)² in J of a uniaxial single-domain particle (K in J/m³, V in m³)
    with a field along the easy axis against the magnetization, h = H/H_K = B/(2K/Ms), 0 <= h < 1."""
    h = float(h)
    if not 0.0 <= h < 1.0:
        raise ValueError(f"h = {h!r} must lie in [0, 1) (h = H/H_K; at h >= 1 there is no barrier)")
    return float(K) * float(volume) * (1.0 - h) ** 2


def wall_barrier(A, K_eff, width, thickness):
    """Domain-wall barrier 4 √(A K_eff) w t in J of a long stripe of width w and thickness t (m) that reverses
    by sweeping one Bloch/Néel wall (energy 4√(A K) J/m² per wall area) across it."""
    return 4.0 * math.sqrt(float(A) * float(K_eff)) * float(width) * float(thickness)


def crossover_diameter(A, K_eff):
    """d_c = 16 √(A/K_eff) / π in m: the disc diameter at which a wall across the disc (4 √(A K) d t) costs as
    much as coherent rotation (K π d² t / 4). Below d_c a perpendicular disc reverses coherently (Δ ∝ d²),
    above it through a wall (Δ ∝ d)."""
    return 16.0 * math.sqrt(float(A) / float(K_eff)) / math.pi


# ---------------------------------------------------------------------------------------------- cloning
def _member0(value):
    """A per-member setting of a batch-1 simulation as the single value (so it broadcasts to a new batch)."""
    if value is None or callable(value):
        return value
    a = np.asarray(value, dtype=float)
    if a.ndim in (2, 5) and a.shape[0] == 1:
        return a[0]
    return value


def clone_simulation(sim, batch):
    """A new :class:`~micromag.simulation.Simulation` that holds the same energy landscape as ``sim`` with
    ``batch`` members.

    Copied: grid, geometry (fill fractions), region map and materials, backend and dtype, whether demag is
    on, the integrator settings (integrator, tol, dt_min, dt_max), the applied field ``B_ext`` (a vector, a
    spatial field or a function of t; all members at ``sim``'s time) and every *added energy term* (VCMA, an
    Oersted field, ...: a deep copy bound to the new system, whose precomputed arrays are the same because
    the system is). Left out: torque terms (spin-transfer, spin-orbit, Zhang–Li) and the thermal field,
    which store no energy. The magnetization of every member is +x (set it with ``clone.m = ...``).

    ``sim`` must have ``batch=1`` (a batch's per-member settings have no single value to copy).
    """
    from .simulation import Simulation

    if not isinstance(sim, Simulation):
        raise TypeError(f"sim must be a micromag Simulation, got {type(sim).__name__}")
    if sim.batch != 1:
        raise ValueError(f"sim has batch = {sim.batch}: give a simulation with batch=1 (the clone makes its own "
                         "batch)")
    batch = check_int("batch", batch, lo=1)
    system = sim.system
    materials = {r: mat for r, mat in enumerate(system.materials) if mat is not None}
    clone = Simulation(sim.grid, material=system.default_material, geometry=system.fill, regions=system.region,
                       materials=materials, batch=int(batch), backend=sim.backend, demag="demag" in sim.terms,
                       integrator=sim.integrator, tol=sim.tol, dt_min=sim.dt_min, dt_max=sim.dt_max,
                       dtype=sim.dtype)
    clone.t = sim.t
    if sim.B_ext is not None:
        clone.B_ext = _member0(sim.B_ext)
    memo = {id(system): clone.system, id(sim.grid): clone.grid}
    for name, term in sim.terms.items():
        if name in clone.terms:  # built by the clone's constructor from the same materials (a term's ``auto``)
            continue
        if getattr(term, "is_torque", False) or getattr(term, "stochastic", False) \
                or not getattr(term, "stores_energy", True):
            continue
        clone.add(copy.deepcopy(term, dict(memo)), name=name)
    return clone


# ---------------------------------------------------------------------------------------------- the path
class EnergyPath:
    """A minimum-energy path between two states (the result of :func:`energy_barrier`).

    Attributes
    ----------
    m : (images, 3, nz, ny, nx) magnetization of every image, from ``m_from`` (0) to ``m_to`` (−1).
    energies : (images,) total energy of every image, J.
    terms : {term name: (images,) J}, the energy of each term along the path.
    s : (images,) reaction coordinate: arc length along the string in the moment-weighted metric, rad
        (the rms angle, weighted by Ms·fill, between neighbouring images, summed).
    saddle_index : index of the highest image (the climbing image when ``climbing`` was on).
    converged : whether the stated criterion was met (see :mod:`micromag.barrier`); ``status`` is
        "converged", "settled" (the barrier stopped changing, within ``barrier_spread`` J, while the saddle
        torque stayed above the tolerance) or "not converged".
    iterations, max_torque (T: the climbing image's largest |m × B| at the end), tol_torque (T), wall_s (s).
    """

    def __init__(self, m, energies, terms, s, grid, saddle_index, converged, iterations, max_torque, tol_torque,
                 climbing, wall_s, backend):
        self.m = m
        self.energies = np.asarray(energies, dtype=float)
        self.terms = terms
        self.s = np.asarray(s, dtype=float)
        self.grid = grid
        self.saddle_index = int(saddle_index)
        self.converged = bool(converged)
        self.iterations = int(iterations)
        self.max_torque = float(max_torque)
        self.tol_torque = float(tol_torque)
        self.climbing = bool(climbing)
        self.wall_s = float(wall_s)
        self.backend = backend
        self.status = "converged" if converged else "not converged"
        self.barrier_spread = 0.0 if converged else float("nan")

    @property
    def images(self):
        return len(self.energies)

    @property
    def barrier(self):
        """Highest energy along the path minus the energy of ``m_from``, J."""
        return float(self.energies.max() - self.energies[0])

    @property
    def barrier_back(self):
        """Highest energy along the path minus the energy of ``m_to``, J (the barrier of the reverse jump)."""
        return float(self.energies.max() - self.energies[-1])

    @property
    def saddle(self):
        """(3, nz, ny, nx) magnetization at the top of the path."""
        return self.m[self.saddle_index].copy()

    def delta(self, T):
        """Thermal stability factor Δ = barrier / (k_B T) (dimensionless) at temperature T (K, > 0)."""
        return self.barrier / (kB * _temperature(T))

    def delta_back(self, T):
        """Δ of the reverse jump, barrier_back / (k_B T), at T (K, > 0)."""
        return self.barrier_back / (kB * _temperature(T))

    def __repr__(self):
        return (f"EnergyPath({self.images} images, barrier {self.barrier:.4g} J = {self.delta(300.0):.4g} kT(300 K), "
                f"saddle at image {self.saddle_index}, {'converged' if self.converged else 'NOT converged'} after "
                f"{self.iterations} iterations, max torque {self.max_torque:.3g} T)")

    def to_dict(self):
        """The path's numbers as plain JSON-able data (no magnetization arrays)."""
        return {"images": self.images, "energies_J": self.energies.tolist(), "s_rad": self.s.tolist(),
                "terms_J": {k: np.asarray(v, dtype=float).tolist() for k, v in self.terms.items()},
                "barrier_J": self.barrier, "barrier_back_J": self.barrier_back, "saddle_index": self.saddle_index,
                "converged": self.converged, "status": getattr(self, "status", None),
                "barrier_spread_J": _or_none(getattr(self, "barrier_spread", None)), "iterations": self.iterations, "max_torque_T": self.max_torque,
                "tol_torque_T": self.tol_torque, "climbing": self.climbing, "wall_s": self.wall_s,
                "backend": self.backend}

    # ------------------------------------------------------------------ output
    def plot(self, path, T=300.0, title=None):
        """PNG of the energy along the path (relative to ``m_from``; J on the left, k_B T at ``T`` K on the
        right), the saddle marked. Written atomically; returns the path."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        from .io.atomic import atomic_write

        kT = kB * _temperature(T)
        dE = self.energies - self.energies[0]
        fig = Figure(figsize=(5.8, 4.0), dpi=110)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        ax.plot(self.s, dE * 1e21, "o-", ms=4, label="string images")
        i = self.saddle_index
        ax.plot([self.s[i]], [dE[i] * 1e21], "*", ms=13, color="C3",
                label=f"saddle: {self.barrier * 1e21:.4g} zJ = {self.barrier / kT:.4g} kT")
        ax.set_xlabel("reaction coordinate s (moment-weighted rms angle, rad)")
        ax.set_ylabel("E − E(m_from)  (zJ)")
        ax.grid(True, alpha=0.3)
        right = ax.secondary_yaxis("right", functions=(lambda z: z * 1e-21 / kT, lambda d: d * kT * 1e21))
        right.set_ylabel(f"(k_B T at {T:g} K)")
        ax.legend(loc="best", fontsize=8)
        ax.set_title(title or ("minimum-energy path" + ("" if self.converged else " (NOT converged)")), fontsize=10)
        fig.tight_layout()
        atomic_write(path, lambda f: fig.savefig(f, format="png"))
        return os.fspath(path)

    def save_saddle(self, path):
        """The saddle's magnetization as a ParaView ``.vti`` file (field ``m``), atomically; returns the path."""
        from .io.vtk import write_vti

        return write_vti(path, self.grid, {"m": self.saddle})

    def save(self, folder):
        """Every image as ``image_000.vti`` … plus ``path.pvd`` (ParaView: the images as a series whose
        'time' is the image index), ``saddle.vti``, ``energy_path.png`` and ``path.json``."""
        import json

        from .io.atomic import atomic_write
        from .io.vtk import write_pvd, write_vti

        os.makedirs(folder, exist_ok=True)
        entries = []
        for i in range(self.images):
            name = f"image_{i:03d}.vti"
            write_vti(os.path.join(folder, name), self.grid, {"m": self.m[i]}, time=float(i))
            entries.append((float(i), name))
        write_pvd(os.path.join(folder, "path.pvd"), entries)
        self.save_saddle(os.path.join(folder, "saddle.vti"))
        self.plot(os.path.join(folder, "energy_path.png"))
        atomic_write(os.path.join(folder, "path.json"), [json.dumps(self.to_dict(), indent=1).encode()])
        return folder


def _or_none(x):
    return None if x is None or not math.isfinite(x) else float(x)


def _temperature(T):
    return check_positive("T", T, "K")


# ---------------------------------------------------------------------------------------------- geometry
class _Metric:
    """The moment-weighted metric: ⟨a, b⟩ = Σ_cells w a·b with w = Ms·fill normalized to Σ w = 1."""

    def __init__(self, system):
        w = np.where(system.magnetic, system.Ms_eff, 0.0)
        self.w = w / w.sum()
        self.mask = system.magnetic

    def dot(self, a, b):
        """⟨a, b⟩ over the trailing (3, nz, ny, nx) axes: shape a.shape[:-4]."""
        return np.einsum("...cijk,ijk->...", a * b, self.w)

    def dist(self, a, b):
        d = a - b
        return np.sqrt(np.maximum(self.dot(d, d), 0.0))


def _normalize(m, mask):
    n = np.sqrt((m * m).sum(axis=-4, keepdims=True))
    out = np.divide(m, n, out=np.zeros_like(m), where=n > 0)
    return out * mask


def _perp(v, m):
    """v minus its component along m, per cell (the part tangent to the sphere at m)."""
    return v - (v * m).sum(axis=-4, keepdims=True) * m


def _slerp(a, b, s):
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
    s = np.asarray(s, dtype=float).reshape(-1, 1, 1, 1, 1)
    return np.cos(s * theta) * a + np.sin(s * theta) * v


def _geodesic(a, b, n, mask, via=None):
    """n states from a to b: the per-cell great circle; with ``via`` (a 3-vector) the path of a reversal goes
    through the direction ``via`` (projected off a in each cell) half way, a → via → b, so that nearly
    antiparallel states, whose great circle is set by round-off, turn through a chosen plane."""
    s = np.linspace(0.0, 1.0, n)
    if via is None:
        path = _slerp(a, b, s)
    else:
        e = np.asarray(via, dtype=float).reshape(3, 1, 1, 1)
        mid = e - (e * a).sum(axis=0) * a
        mid = mid / np.maximum(np.sqrt((mid * mid).sum(axis=0)), 1e-300)
        first = _slerp(a, mid, np.clip(2 * s, 0, 1))
        second = _slerp(mid, b, np.clip(2 * s - 1, 0, 1))
        path = np.where((s <= 0.5).reshape(-1, 1, 1, 1, 1), first, second)
    path[0], path[-1] = a, b
    return _normalize(path, mask)


def _via(ends, metric, a, b):
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


def _arclength(metric, m):
    d = metric.dist(m[1:], m[:-1])
    return np.concatenate([[0.0], np.cumsum(d)])


def _reparametrize(metric, m, climb=None):
    """Images put back at equal arc length (cubic spline); with a climbing image ``climb`` the images on each
    side of it are spread evenly over their side and the climbing image stays where it is."""
    from scipy.interpolate import CubicSpline

    n = m.shape[0]
    s = _arclength(metric, m)
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
    out[1:-1] = _normalize(new.reshape((n - 2,) + m.shape[1:]), metric.mask)
    if climb is not None:
        out[climb] = m[climb]
    return out


def _tangents(metric, m, E):
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
    t = _perp(wf.reshape(-1, 1, 1, 1, 1) * fwd + wb.reshape(-1, 1, 1, 1, 1) * bwd, m[1:-1])
    norm = np.sqrt(np.maximum(metric.dot(t, t), 1e-300))
    return t / norm.reshape(-1, 1, 1, 1, 1)


# ---------------------------------------------------------------------------------------------- the method
def _state(sim2, value, what):
    """The (3, nz, ny, nx) state ``value`` stands for (anything a batch-1 sim.m accepts), via a 2-member clone."""
    a = value
    if not callable(a):
        try:
            arr = np.asarray(a, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"{what} must be a 3-vector, an array (3, nz, ny, nx) or a function (x, y, z), got "
                             f"{value!r}") from None
        a = arr[0] if arr.ndim in (2, 5) and arr.shape[0] == 1 else arr
    try:
        sim2.m = a
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None
    return sim2.m[0]


def _check_resolution(sim):
    """Warn when the cells are larger than the wall parameter √(A/Ku1): a wall then sits in the pinning
    ripples of the grid and the string drifts between them (seen: 4 nm cells for √(A/K) = 3.4 nm)."""
    cell = max(c for c, n in zip(sim.grid.cell, sim.grid.n) if n > 1) if max(sim.grid.n) > 1 else 0.0
    for mat in sim.system.materials:
        if mat is None or mat.Ku1 <= 0 or mat.A <= 0:
            continue
        delta = math.sqrt(mat.A / mat.Ku1)
        if cell > delta:
            warnings.warn(f"energy_barrier: cells of {cell:.3g} m are larger than the wall parameter √(A/Ku1) = "
                          f"{delta:.3g} m of {mat.name or 'a material'}: a domain wall is pinned by the grid and a "
                          "wall-mediated barrier is unreliable; use cells of at most √(A/Ku1)", RuntimeWarning,
                          stacklevel=3)
            return


def _stiffness(string, m, metric, iters=12, eps=1e-4):
    """Largest curvature λ_max (T) of the energy around the images, by power iteration on the finite-
    difference Jacobian of the descent direction d(m) = B − (m·B) m (one batched field evaluation each).
    An explicit descent step τ is stable for τ < 2/λ_max."""
    mask = metric.mask
    string.m = m
    d0 = _perp(string.effective_field(), m) * mask
    rng = np.random.default_rng(12345)
    v = _perp(rng.standard_normal(m.shape), m) * mask
    lam = np.zeros(m.shape[0])
    for _ in range(iters):
        nv = np.sqrt(np.maximum(metric.dot(v, v), 1e-300)).reshape(-1, 1, 1, 1, 1)
        v = v / nv
        mp = _normalize(m + eps * v, mask)
        string.m = mp
        d1 = _perp(string.effective_field(), mp) * mask
        jv = _perp((d1 - d0) / eps, m) * mask
        lam = np.sqrt(np.maximum(metric.dot(jv, jv), 0.0))
        v = jv
    # the largest over images, with a margin for the power iteration's underestimate; at least 1 mT
    return max(1.2 * float(lam.max()), 1e-3)


def energy_barrier(sim, m_from, m_to, images=16, tol_torque=1e-4, max_iter=50000, climbing=True,
                   relax_ends=True, path=None, via=None, noise=0.02, seed=0, step=None, max_angle=0.05,
                   tol_energy=None,
                   check_every=50, climb_start=100.0, settle_checks=40, settle_rtol=5e-3, progress=True):
    """The minimum-energy path from ``m_from`` to ``m_to`` on the energy landscape of ``sim`` and its barrier.

    Parameters
    ----------
    sim : a :class:`~micromag.simulation.Simulation` with ``batch=1`` (its state is not touched): the grid,
        geometry, materials, applied field and energy terms of the landscape; its backend runs the images.
    m_from, m_to : the two states (anything ``sim.m`` accepts: a 3-vector, a (3, nz, ny, nx) array, a
        function (x, y, z) -> (mx, my, mz)). Both are relaxed first (energy minimization to
        ``tol_torque``/10; ``relax_ends=False`` takes them as given) and then stay fixed.
    images : number of images including both ends (>= 3; one batch member each).
    tol_torque : in T: the climbing image has converged when |m × B| < tol_torque in every cell.
    tol_energy : in J: the string has settled when no image's energy changes by more than this over
        ``check_every`` iterations (default 1e-5 of the energy range along the path).
    max_iter : most iterations (each one batched field evaluation); past it a RuntimeWarning is issued.
    climbing : let the highest image climb to the saddle (on by default; the barrier then does not depend
        on where the images happen to fall).
    path : an initial path (an :class:`EnergyPath` or an array (k, 3, nz, ny, nx)); default the per-cell
        great circle from m_from to m_to, with inner images perturbed by random tilts of rms ``noise`` rad
        (seeded by ``seed``; non-uniform: the average tilt of each image is removed) so that a symmetric
        start (coherent rotation) can break into a lower path (a domain wall) where one exists.
    step : descent step τ in 1/T (default 1/λ_max, λ_max the largest curvature of the landscape in T, from a
        power iteration: half the stability limit of the explicit step).
    via : for the default initial path of a reversal: the direction the images turn through half way (a
        3-vector; made perpendicular to m_from in each cell). Default: of x̂, ŷ, ẑ (each made perpendicular
        to the average m_from) the one whose uniform state has the lowest energy — the in-plane hard axis of
        an in-plane element, an in-plane axis of a perpendicular one.
    max_angle : largest turn of any cell per iteration, rad (acts only far from the path).
    settle_checks, settle_rtol : stop early, with ``path.status = "settled"`` and a warning, when the barrier
        (highest energy minus the first) has varied by less than ``settle_rtol`` (relative) over the last
        ``settle_checks`` checks and the climbing image's torque, still above ``tol_torque``, has stopped
        falling (its least value in the second half of that window above half its least in the first): on a grid a
        wall sees a ripple of pinning sites, the top of the path has many nearly equal saddles and the torque
        criterion is not met in a useful time; the variation is then the barrier's uncertainty
        (``path.barrier_spread``, J).
    check_every : iterations between energy evaluations (the settle test and the choice of the climbing
        image; each costs about one field evaluation).
    climb_start : the highest image starts to climb once the energies change by less than climb_start ×
        tol_energy per check (or after max_iter/3 iterations).
    progress : periodic progress lines on stderr.

    Returns an :class:`EnergyPath`: ``barrier`` (J), ``energies`` (J), ``saddle``, ``delta(T)``, ``plot``,
    ``save_saddle`` (ParaView), ``save``.

    Raises ValueError before any work for: images < 3, a non-positive tolerance, m_from equal to m_to, or
    two ends that relax into the same state.
    """
    # ---------------------------------------------------------------- checks, before any work
    if isinstance(images, bool) or int(images) != images or images < 3:
        raise ValueError(f"images must be an integer >= 3 (both ends and at least one image between), got {images!r}")
    images = int(images)
    tol_torque = float(tol_torque)
    if not (math.isfinite(tol_torque) and tol_torque > 0):
        raise ValueError(f"tol_torque must be a number > 0 T, got {tol_torque!r}")
    if isinstance(max_iter, bool) or int(max_iter) != max_iter or max_iter < 1:
        raise ValueError(f"max_iter must be an integer >= 1, got {max_iter!r}")
    if not (0 < float(max_angle) <= 1.0):
        raise ValueError(f"max_angle must lie in (0, 1] rad, got {max_angle!r}")
    noise = float(noise)
    if step is not None and not (math.isfinite(float(step)) and float(step) > 0):
        raise ValueError(f"step must be a number > 0 (1/T), got {step!r}")
    if isinstance(check_every, bool) or int(check_every) != check_every or check_every < 1:
        raise ValueError(f"check_every must be an integer >= 1, got {check_every!r}")
    check_every = int(check_every)
    if tol_energy is not None and not (math.isfinite(float(tol_energy)) and float(tol_energy) > 0):
        raise ValueError(f"tol_energy must be a number > 0 J (or None), got {tol_energy!r}")
    if not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a number >= 0 rad, got {noise!r}")
    t_wall = time.perf_counter()
    _check_resolution(sim)
    ends = clone_simulation(sim, 2)
    metric = _Metric(ends.system)
    mask = metric.mask
    a = _state(ends, m_from, "m_from")
    b = _state(ends, m_to, "m_to")
    if float(np.abs(a - b).max()) < 1e-6:
        raise ValueError("m_from and m_to are the same state: a barrier needs two different states")
    init = None
    if path is not None:
        init = np.asarray(path.m if isinstance(path, EnergyPath) else path, dtype=float)
        if init.ndim != 5 or init.shape[1:] != (3,) + sim.grid.shape or init.shape[0] < 2:
            raise ValueError(f"path must be an EnergyPath or an array (k >= 2, 3, nz, ny, nx) = (k, 3, "
                             f"{', '.join(map(str, sim.grid.shape))}), got shape {init.shape}")
    # ---------------------------------------------------------------- the ends
    ends.m = np.stack([a, b])
    if relax_ends:
        # a small kick first, so that an end given on an unstable equilibrium (m against a field above the
        # switching field, where the torque is exactly zero) falls into its minimum
        rng = np.random.default_rng(seed + 1)
        ends.m = _normalize(np.stack([a, b]) + _perp(1e-3 * rng.standard_normal((2,) + a.shape), np.stack([a, b])),
                            mask)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            tq_end = ends.minimize(tol_torque=tol_torque / 10, progress=progress)
        if tq_end >= tol_torque:
            warnings.warn(f"energy_barrier: the ends relaxed only to a torque of {tq_end:.3g} T (> tol_torque = "
                          f"{tol_torque:g} T): the barrier is measured from a state that is not quite a minimum",
                          RuntimeWarning, stacklevel=2)
        a, b = ends.m
        if metric.dist(a, b) < 1e-3:
            raise ValueError("m_from and m_to relax into the same state (rms angle between them < 1e-3 rad): there "
                             "is no barrier between them on this landscape; choose two different minima")
    via = _via(ends, metric, a, b) if via is None and init is None else via
    del ends
    # ---------------------------------------------------------------- the initial string
    if init is not None:
        init = _normalize(init, mask)
        init[0], init[-1] = a, b
        k = init.shape[0]
        if k != images:  # resample the given path onto `images` points
            from scipy.interpolate import CubicSpline

            s = _arclength(metric, init)
            s = s + 1e-12 * np.arange(k) * max(s[-1], 1e-12)
            new = CubicSpline(s, init.reshape(k, -1), axis=0)(np.linspace(0, s[-1], images))
            init = _normalize(new.reshape((images,) + init.shape[1:]), mask)
            init[0], init[-1] = a, b
        m = init
    else:
        m = _geodesic(a, b, images, mask, via=via)
        if noise > 0:
            rng = np.random.default_rng(seed)
            kick = rng.standard_normal(m[1:-1].shape) * noise
            # no uniform part: a uniform tilt only turns an image about a symmetry axis (a zero mode that the
            # string would take long to iron out); the non-uniform part is what lets a wall form
            kick -= np.einsum("bcijk,ijk->bc", kick, metric.w)[:, :, None, None, None]
            kick = _perp(kick, m[1:-1])
            m[1:-1] = _normalize(m[1:-1] + kick, mask)
    m = _reparametrize(metric, m)
    # ---------------------------------------------------------------- iterate
    string = clone_simulation(sim, images)
    inner = slice(1, images - 1)
    n_in = images - 2
    shape5 = (n_in, 1, 1, 1, 1)
    if step is None:
        lam = _stiffness(string, m, metric)
        tau = 1.6 / lam  # below the explicit-Euler stability limit 2/λ_max (λ has a 20 % margin already)
    else:
        tau = float(step)
    climb = None
    converged = False
    prog = Progress("energy_barrier", 1.0, enabled=progress)
    it = 0
    E_prev = E = None
    dE = tq_climb = np.inf
    history, tq_hist, settled, spread = [], [], False, float("nan")
    climb_prev = f_prev = s_prev = None
    tau_bb = tau
    for it in range(1, int(max_iter) + 1):
        string.m = m
        B = string.effective_field()[inner]
        mi = m[inner]
        d = _perp(B, mi) * mask  # −(metric gradient) per cell, T
        check = it % check_every == 0 or it == 1
        if check:
            E = np.asarray(string.energy(), dtype=float)
        t_hat = _tangents(metric, m, E)  # upwind by the energies of the last check
        par = metric.dot(d, t_hat)  # (n_in,)
        force = d - par.reshape(shape5) * t_hat  # along the string the reparametrization decides
        if climb is not None:
            c = climb - 1
            tq_climb = float(np.sqrt((d[c] * d[c]).sum(axis=0).max()))
        if check:
            tol_E = tol_energy if tol_energy is not None else 1e-5 * max(E.max() - E.min(), 1e-30)
            dE = np.inf if E_prev is None else float(np.abs(E - E_prev).max())
            E_prev = E
            top = int(np.argmax(E[1:-1])) + 1
            if climbing and climb is None and (dE < climb_start * tol_E or it > max_iter // 3):
                climb = top
            elif climb is not None and E[top] > E[climb] + 1e-2 * (E.max() - E.min()):
                climb = top  # a higher point has appeared on the string: it climbs instead
            if climb is not None:
                c = climb - 1
                tq_climb = float(np.sqrt((d[c] * d[c]).sum(axis=0).max()))
            stable = stuck = False
            if climb is not None:
                history.append(float(E.max() - E[0]))
                tq_hist.append(tq_climb)
                recent = history[-settle_checks:]
                spread = max(recent) - min(recent)
                stable = len(recent) == settle_checks and spread <= settle_rtol * max(abs(recent[-1]), 1e-300)
                h = settle_checks // 2
                # no progress of the saddle torque over the window: its second half no better than half the first
                stuck = stable and min(tq_hist[-h:]) > 0.5 * min(tq_hist[-2 * h:-h])
            if (dE < tol_E or stable) and (not climbing or climb is not None and tq_climb < tol_torque):
                converged = True
                break
            if stuck:
                settled = True  # the barrier no longer changes and the saddle torque no longer falls: stop
                break
        tau_c = None
        if climb is not None:
            c = climb - 1
            force[c] = d[c] - 2.0 * par[c] * t_hat[c]  # up along the tangent, down across it
            # The climbing image is not reparametrized: it takes Barzilai–Borwein steps of its own, as
            # Simulation.minimize does (the top of a path often has soft modes, a wall's position or the
            # turn of its moment, that the plain step τ = 1.6/λ_max would take thousands of iterations over)
            if climb_prev == climb and f_prev is not None:
                s_ = mi[c] - s_prev
                y_ = f_prev - force[c]
                sy = float(metric.dot(s_, y_))
                new_tau = (float(metric.dot(s_, s_)) / sy if it % 2 else sy / max(float(metric.dot(y_, y_)), 1e-300)) \
                    if sy > 0 else None
                tau_bb = new_tau if new_tau is not None and math.isfinite(new_tau) else tau_bb
            else:
                tau_bb = tau
            climb_prev, f_prev, s_prev = climb, force[c].copy(), mi[c].copy()
            tau_c = max(tau_bb, tau)
        fmax = np.sqrt((force * force).sum(axis=1).reshape(n_in, -1).max(axis=1))
        step_i = np.full(n_in, tau)
        if tau_c is not None:
            step_i[climb - 1] = tau_c
        step_i = np.minimum(step_i, max_angle / np.maximum(fmax, 1e-300))  # far from the path: cap the turn
        new_m = m.copy()
        delta_m = step_i.reshape(shape5) * force
        new_m[inner] = _normalize(mi + delta_m, mask)
        m = _reparametrize(metric, new_m, climb)
        if prog.due():
            prog.update(min(1.0, max(0.0, math.log(max(tq_climb, tol_torque)) / math.log(tol_torque)))
                        if tol_torque < 1 and climb is not None else 0.0,
                        f"iteration {it}, energy change {dE:.3g} J per {check_every} iterations, saddle torque "
                        f"{tq_climb:.3g} T (target {tol_torque:g} T)"
                        + (f", climbing image {climb}" if climb is not None else ""))
    crit = tq_climb if climbing else 0.0
    # ---------------------------------------------------------------- the result
    string.m = m
    terms = {k: np.asarray(v, dtype=float) for k, v in string.energies().items()}
    E = sum(terms.values())
    top = climb if climb is not None else int(np.argmax(E))
    wall = time.perf_counter() - t_wall
    prog.done(f"{it} iterations, saddle torque {crit:.3g} T")
    if settled:
        warnings.warn(f"energy_barrier: the barrier settled (it varied by {spread:.3g} J, {spread / max(abs(history[-1]), 1e-300):.2%}, "
                      f"over the last {settle_checks * check_every} iterations) but the torque at the climbing image "
                      f"stayed at {crit:.3g} T (tol_torque = {tol_torque:g} T): the top of the path is rugged (a wall "
                      "pinned between rows of cells: smaller cells smooth it) and the barrier is uncertain by about "
                      "that variation", RuntimeWarning, stacklevel=2)
    elif not converged:
        warnings.warn(f"energy_barrier: not converged after {it} iterations: the torque at the climbing image is "
                      f"{crit:.3g} T (tol_torque = {tol_torque:g} T) and the path energies changed by up to "
                      f"{dE:.3g} J over the last {check_every} iterations; the barrier is approximate (raise max_iter, "
                      "or loosen tol_torque / tol_energy)", RuntimeWarning, stacklevel=2)
    path = EnergyPath(m, E, terms, _arclength(metric, m), sim.grid, top, converged, it, crit, tol_torque,
                      climb is not None, wall, sim.backend)
    path.status = "converged" if converged else "settled" if settled else "not converged"
    path.barrier_spread = spread if settled else 0.0 if converged else float("nan")
    return path

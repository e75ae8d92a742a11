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
   :class:`~micromag.engine.simulation.Simulation`, so the field of the whole string is one batched evaluation on
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

Several starting paths (coherent rotation through several directions, a wall swept in from the edge, a
seeded perturbation) relax together as one batch; the lowest is returned, never one above the uniform
rotation on the same grid (an upper bound for any element), and its top is checked to be a first-order
saddle by the Hessian's eigenvalues (:mod:`micromag.engine.hessian`, :mod:`micromag.apps.transition_rate`); the path's
:meth:`EnergyPath.attempt_frequency` is Langer's harmonic rate for the LLG.

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

from ..engine.constants import kB
from ..engine.progress import Progress
from ..engine.validation import check_int, check_positive, check_vector3

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
    """A new :class:`~micromag.engine.simulation.Simulation` that holds the same energy landscape as ``sim`` with
    ``batch`` members.

    Copied: grid, geometry (fill fractions), region map and materials, backend and dtype, whether demag is
    on, the integrator settings (integrator, tol, dt_min, dt_max), the applied field ``B_ext`` (a vector, a
    spatial field or a function of t; all members at ``sim``'s time) and every *added energy term* (VCMA, an
    Oersted field, ...: a deep copy bound to the new system, whose precomputed arrays are the same because
    the system is). Left out: torque terms (spin-transfer, spin-orbit, Zhang–Li) and the thermal field,
    which store no energy. The magnetization of every member is +x (set it with ``clone.m = ...``).

    ``sim`` must have ``batch=1`` (a batch's per-member settings have no single value to copy).
    """
    from ..engine.simulation import Simulation

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
    converged : whether the stated criterion was met (see :mod:`micromag.apps.barrier`); ``status`` is
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

    def attempt_frequency(self, alpha=None, T=300.0):
        """Langer's attempt frequency f0 (Hz) of the jump m_from -> m_to over this path's saddle at T (K) with
        damping ``alpha`` (a number, or None: each cell's material α): harmonic transition-state theory for
        the LLG from the Hessians at m_from and at the saddle and the growth rate of the unstable mode
        (:func:`micromag.apps.transition_rate.attempt_frequency`; its result dict is kept as ``self.rate``).
        The escape rate is f0 · exp(−Δ). Raises RuntimeError where the harmonic rate is not defined (the top
        is no first-order saddle, or a flat direction no rotation explains, e.g. a wall free to slide)."""
        from ..engine.hessian import TangentHessian
        from .transition_rate import attempt_frequency

        T = _temperature(T)
        land = self._rate_landscape()
        system = land.system
        mag = system.magnetic.reshape(-1)
        if alpha is None:
            alpha = system.param("alpha").reshape(-1)[mag]
        else:
            alpha = float(alpha)
            if not (math.isfinite(alpha) and alpha > 0):
                raise ValueError(f"alpha must be a number > 0, got {alpha!r}")
        gamma = system.param("gamma").reshape(-1)[mag]
        r = attempt_frequency(TangentHessian(land, self.m[0]), TangentHessian(land, self.saddle), alpha, gamma, T)
        self.rate = r
        if r["f0_Hz"] is None:
            raise RuntimeError(f"attempt_frequency: {r['message']}")
        return r["f0_Hz"]

    def retention_time(self, T, alpha=None):
        """Mean time (s) before a thermal jump m_from -> m_to at T (K): e^Δ / f0, f0 from
        :meth:`attempt_frequency`."""
        f0 = self.attempt_frequency(alpha, T)
        return math.exp(self.delta(T)) / f0

    def _rate_landscape(self):
        land = getattr(self, "landscape", None)
        if land is None:
            raise RuntimeError("this path holds no landscape (a path read from a file): run energy_barrier")
        if getattr(self, "_land_batch", None) is None:  # a bigger batch for the full Hessian's products
            self._land_batch = clone_simulation(land, 32)
        return self._land_batch

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
                "backend": self.backend, "start": getattr(self, "start", None),
                "candidates": getattr(self, "candidates", None),
                "coherent_bound_J": getattr(self, "coherent_bound_J", None),
                "barrier_uncertainty_J": _or_none(getattr(self, "barrier_uncertainty_J", None)),
                "saddle_check": _jsonable_check(getattr(self, "saddle_check", None)),
                "discretization": getattr(self, "discretization", None)}

    # ------------------------------------------------------------------ output
    def plot(self, path, T=300.0, title=None):
        """PNG of the energy along the path (relative to ``m_from``; J on the left, k_B T at ``T`` K on the
        right), the saddle marked. Written atomically; returns the path."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        from ..engine.io.atomic import atomic_write

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
        from ..engine.io.vtk import write_vti

        return write_vti(path, self.grid, {"m": self.saddle})

    def save(self, folder):
        """Every image as ``image_000.vti`` … plus ``path.pvd`` (ParaView: the images as a series whose
        'time' is the image index), ``saddle.vti``, ``energy_path.png`` and ``path.json``."""
        import json

        from ..engine.io.atomic import atomic_write
        from ..engine.io.vtk import write_pvd, write_vti

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


def _jsonable_check(c):
    if c is None:
        return None
    return {k: (v if not isinstance(v, dict) else {kk: vv for kk, vv in v.items()}) for k, v in c.items()}


def _or_none(x):
    return None if x is None or not math.isfinite(x) else float(x)


def _temperature(T):
    return check_positive("T", T, "K")


# ---------------------------------------------------------------------------------------------- geometry
class _Metric:
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
    s = np.asarray(s, dtype=float)
    s = s.reshape(-1, 1, 1, 1, 1) if s.ndim <= 1 else s[:, None]  # (k,) or per cell (k, nz, ny, nx)
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


def _check_images_fit(sim, images, starts=8):
    """Refuse, before any array is built, a path whose images (one batch member each, for every starting
    string relaxed together) cannot fit in memory."""
    from ..engine.memory import NotEnoughMemory, check_simulation

    try:
        check_simulation(sim.grid, images * starts, 7, "demag" in sim.terms, sim.backend, sim.dtype)
    except NotEnoughMemory as exc:
        raise ValueError(f"images = {images:,}: the {starts} starting strings of {images:,} images each do not "
                         f"fit ({exc}); use fewer images (16-32 resolve a barrier)") from None


def energy_barrier(sim, m_from, m_to, images=16, tol_torque=1e-4, max_iter=50000, climbing=True,
                   relax_ends=True, path=None, via=None, noise=0.02, seed=0, step=None, max_angle=0.05,
                   tol_energy=None,
                   check_every=50, climb_start=100.0, settle_checks=40, settle_rtol=5e-3, progress=True,
                   candidates="auto", screen_iter=600, screen_margin=0.02, keep=2, check_saddle=True,
                   check_bound=True, refine=False, follow_modes=2, follow_angle=0.5):
    """The minimum-energy path from ``m_from`` to ``m_to`` on the energy landscape of ``sim`` and its barrier.

    Parameters
    ----------
    sim : a :class:`~micromag.engine.simulation.Simulation` with ``batch=1`` (its state is not touched): the grid,
        geometry, materials, applied field and energy terms of the landscape; its backend runs the images.
        Cells of a layer held fixed (``Material.frozen = 1``) keep ``sim``'s present m in both ends and in
        every image (no force acts on them, they carry no weight in the path's metric); the saddle check's
        Hessian still counts their directions.
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
    candidates : the starting strings, relaxed together as ONE batch (members = starts × images): "auto" (the
        default; for a reversal: coherent rotation through 4 directions perpendicular to the average m_from,
        0/45/90/135° from ``via``; a wall nucleated at the edge and swept across along each of two in-plane
        directions, with the width √(A/Ku1); the seeded start above; for other pairs of states the geodesic
        and the seeded start), or a list of "coherent", "wall", "seeded", "geodesic". A given ``path`` is the
        only start.
    screen_iter, screen_margin, keep : the starts relax without climbing until their energies settle (at
        most ``screen_iter`` iterations); those whose barrier (parabola through the top three images) lies
        within ``screen_margin`` (relative) of the lowest, at most ``keep`` of them and no two symmetric copies
        (same family, same energy profile), go on to climb; the lowest result is returned. Every start's
        barrier is kept in ``path.candidates``; the spread of those that end within ``screen_margin`` of the
        lowest is ``path.candidate_spread_J`` and, with half a 'settled' variation, ``path.barrier_uncertainty_J``.
    check_bound : for a reversal, the uniform rotation of every cell on the same grid (8 directions, its top
        refined by a parabola) bounds the barrier from above (``path.coherent_bound_J``); a result above it is
        replaced by that uniform-rotation path (status "coherent bound", not converged) with a warning.
    check_saddle : the Hessian's lowest eigenvalues at the top (one < 0, the next > 0, rotational zero modes
        taken out) and at both ends (all > 0), :func:`micromag.apps.transition_rate.check_stationary`;
        ``path.saddle_check``. A top that fails is reported with a RuntimeWarning and the path is not
        converged (status "failed saddle check").
    follow_modes, follow_angle : a top with more than one negative eigenvalue is a point a lower path goes
        round (by symmetry a uniform or centred string never leaves it): for up to ``follow_modes`` rounds
        the string is pushed off its top along each extra unstable mode, both ways, by up to
        ``follow_angle`` rad (a bump that vanishes at the ends), and relaxed again as one batch; the lowest
        path is kept (``path.followed_modes`` records the rounds, the new starts join ``path.candidates``).
    refine : also compute the barrier with 2·images − 1 images and on cells of half the size (the same
        staircase, each cell split), started from the path found: ``path.discretization`` = {"images":
        {n: J}, "cell_m": {dx: J}, "richardson_J"} — the discretization error the user should see.

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
    if isinstance(follow_modes, bool) or int(follow_modes) != follow_modes or follow_modes < 0:
        raise ValueError(f"follow_modes must be an integer >= 0 (rounds), got {follow_modes!r}")
    if not (0 < float(follow_angle) <= 1.5):
        raise ValueError(f"follow_angle must lie in (0, 1.5] rad, got {follow_angle!r}")
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
    if via is not None:
        via = tuple(check_vector3("via", via, unit_vector=True))
    _check_images_fit(sim, images)
    t_wall = time.perf_counter()
    _check_resolution(sim)
    ends = clone_simulation(sim, 2)
    metric = _Metric(ends.system)
    mask = metric.mask
    a = _state(ends, m_from, "m_from")
    b = _state(ends, m_to, "m_to")
    if metric.held.any():  # a layer held fixed (Material.frozen = 1) keeps sim's present state in both ends
        a, b = (np.where(metric.held, np.asarray(sim.m, dtype=float).reshape(a.shape), x) for x in (a, b))
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
        ends.m = _normalize(np.stack([a, b]) + _perp(1e-3 * rng.standard_normal((2,) + a.shape), np.stack([a, b]))
                            * metric.mobile, mask)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            tq_end = (ends.relax(tol_torque=tol_torque / 10, progress=progress) if metric.held.any() else
                      ends.minimize(tol_torque=tol_torque / 10, progress=progress))
        if tq_end >= tol_torque:
            warnings.warn(f"energy_barrier: the ends relaxed only to a torque of {tq_end:.3g} T (> tol_torque = "
                          f"{tol_torque:g} T): the barrier is measured from a state that is not quite a minimum",
                          RuntimeWarning, stacklevel=2)
        a, b = ends.m
        if metric.dist(a, b) < 1e-3:
            raise ValueError("m_from and m_to relax into the same state (rms angle between them < 1e-3 rad): there "
                             "is no barrier between them on this landscape; choose two different minima")
    del ends
    # ---------------------------------------------------------------- the starting strings
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
        starts = [("given path", init)]
    else:
        starts = _starts(sim, metric, a, b, images, via, noise, seed, candidates)
    starts = [(name, _reparametrize(metric, np.where(metric.held, a, m0))) for name, m0 in starts]
    bound = _coherent_bound(sim, metric, a, b) if check_bound else None
    # ---------------------------------------------------------------- iterate: every start in ONE batch
    opt = dict(climbing=climbing, tol_torque=tol_torque, tol_energy=tol_energy, max_iter=int(max_iter),
               check_every=check_every, climb_start=climb_start, settle_checks=settle_checks,
               settle_rtol=settle_rtol, max_angle=max_angle, screen_iter=int(screen_iter),
               screen_margin=screen_margin, keep=keep)
    if step is None:
        lam = _stiffness(clone_simulation(sim, images * len(starts)), np.concatenate([m0 for _, m0 in starts]),
                         metric)
        tau = 1.6 / lam  # below the explicit-Euler stability limit 2/λ_max (λ has a 20 % margin already)
    else:
        tau = float(step)
    prog = Progress("energy_barrier", 1.0, enabled=progress)
    strings, survivors, it = _relax_starts(sim, metric, starts, images, tau, opt, prog, 0, int(max_iter))
    chosen = min(survivors, key=lambda s: s.barrier)
    notes = []
    path = _make_path(sim, metric, chosen, strings, survivors, bound, a, b, opt, t_wall, notes)
    # ---------------------------------------------------------------- is the top a saddle?
    path.saddle_check = None
    path.followed_modes = []
    if check_saddle:
        hess = clone_simulation(sim, 16)
        check, modes = _saddle_check(hess, a, path.saddle, b)
        # a top with more than one unstable direction: a lower path goes round it. Push the string off the
        # top along each extra unstable mode (both ways; a bump that is 1 at the top and 0 at the ends) and
        # relax again; keep the lowest result (never above one seen), until a top passes or follow_modes
        # rounds are spent
        for _ in range(int(follow_modes)):
            if check["passed"] or not modes:
                break
            new_starts = _mode_starts(metric, path, modes, follow_angle)
            path.followed_modes.append({"eigenvalues_T": [w for w, _ in modes], "starts": len(new_starts)})
            more, surv2, it2 = _relax_starts(sim, metric, new_starts, images, tau, opt, prog, it, it + int(max_iter))
            it = it2
            strings = strings + more
            best = min(surv2, key=lambda s: s.barrier)
            notes2 = []
            cand = _make_path(sim, metric, best, strings, surv2, bound, a, b, opt, t_wall, notes2)
            check2, modes2 = _saddle_check(hess, a, cand.saddle, b)
            lower = cand.barrier < path.barrier * (1 - 1e-9)
            if lower or (check2["passed"] and cand.barrier <= path.barrier * (1 + 1e-6)):
                cand.followed_modes = path.followed_modes
                path, check, modes, notes = cand, check2, modes2, notes2
            else:
                path.candidates = cand.candidates  # every start tried, this round's included
                break  # the way round leads higher: the lowest found stays, its status says what it is
        path.saddle_check = check
        if not check["passed"]:
            notes.append(f"energy_barrier: the top of the path failed the saddle check: "
                         f"{check['message']}; the barrier is not that of a proven saddle")
            if path.converged:
                path.converged = False
                path.status = "failed saddle check"
    path.landscape = clone_simulation(sim, 1)
    prog.done(f"{it} iterations, {len(path.candidates)} start(s), saddle torque {path.max_torque:.3g} T")
    path.discretization = None
    if refine:
        path.discretization = _discretization(sim, path, images, tol_torque, max_iter)
    for msg in notes:
        warnings.warn(msg, RuntimeWarning, stacklevel=2)
    path.wall_s = time.perf_counter() - t_wall
    return path


def _relax_starts(sim, metric, starts, images, tau, opt, prog, it, it_max):
    """Relax the starting strings [(name, m)] as ONE batch from iteration ``it`` to at most ``it_max``: with
    several, a screening without climbing first (those within ``screen_margin`` of the lowest, at most
    ``keep``, no symmetric twins, go on to climb). Returns (every string, the survivors with .E, .terms and
    .barrier set, the iteration count)."""
    strings = [_String(name, m0) for name, m0 in starts]
    string = clone_simulation(sim, images * len(strings))
    if len(strings) > 1:
        it = _iterate(string, strings, metric, tau, it, min(it_max, it + opt["screen_iter"]), opt, prog, screen=True)
        E_all = np.asarray(string.energy(), dtype=float).reshape(len(strings), images)
        for s, E in zip(strings, E_all):
            s.E = E
            s.screen_barrier = _top_estimate(_arclength(metric, s.m), E) - float(E[0])
        order = sorted(range(len(strings)), key=lambda i: strings[i].screen_barrier)
        best = strings[order[0]].screen_barrier
        keep_idx = []
        for i in order:
            s = strings[i]
            if s.screen_barrier > best + opt["screen_margin"] * abs(best) or len(keep_idx) >= opt["keep"]:
                break
            # a start of the same family (coherent, wall) with the same energy profile (to 2e-3 of its range):
            # a symmetric copy of a string already kept; a seeded start is never a copy (it breaks symmetries)
            twin = any(strings[j].name.split()[0] == s.name.split()[0] and not s.name.startswith("seeded")
                       and float(np.abs((strings[j].E - strings[j].E[0]) - (s.E - s.E[0])).max())
                       <= 2e-3 * float(np.ptp(s.E)) for j in keep_idx)
            if not twin:
                keep_idx.append(i)
        for i, s in enumerate(strings):
            s.done = None if i in keep_idx else "screened out"
            s.iterations_screen = s.iterations
        survivors = [strings[i] for i in keep_idx]
        string = clone_simulation(sim, images * len(survivors))
    else:
        survivors = strings
    it = _iterate(string, survivors, metric, tau, it, it_max, opt, prog, screen=False)
    string.m = np.concatenate([s.m for s in survivors])
    terms_all = {k: np.asarray(v, dtype=float).reshape(len(survivors), images)
                 for k, v in string.energies().items()}
    for k, s in enumerate(survivors):
        s.terms = {name: v[k] for name, v in terms_all.items()}
        s.E = sum(s.terms.values())
        s.barrier = float(s.E.max() - s.E[0])
    return strings, survivors, it


def _make_path(sim, metric, chosen, strings, survivors, bound, a, b, opt, t_wall, notes):
    """The EnergyPath of the string ``chosen``: status, candidates, spread and uncertainty, and the coherent
    bound applied (a result above it is replaced by the uniform-rotation path). Warnings go to ``notes``."""
    climbing, tol_torque = opt["climbing"], opt["tol_torque"]
    crit = chosen.tq if climbing else 0.0
    wall = time.perf_counter() - t_wall
    top = chosen.climb if chosen.climb is not None else int(np.argmax(chosen.E))
    converged = chosen.done == "converged"
    path = EnergyPath(chosen.m, chosen.E, chosen.terms, _arclength(metric, chosen.m), sim.grid, top, converged,
                      chosen.iterations, crit, tol_torque, chosen.climb is not None, wall, sim.backend)
    path.status = "converged" if converged else "settled" if chosen.done == "settled" else "not converged"
    path.barrier_spread = chosen.spread if chosen.done == "settled" else 0.0 if converged else float("nan")
    path.start = chosen.name
    path.candidates = [{"start": s.name, "barrier_J": getattr(s, "barrier", None),
                        "screening_barrier_J": getattr(s, "screen_barrier", None), "status": s.done,
                        "iterations": s.iterations} for s in strings]
    path.coherent_bound_J = None if bound is None else bound["barrier_J"]
    # the spread of the starts that ended on (nearly) the lowest barrier: how well the method resolves it
    margin = opt["screen_margin"]
    close = [s.barrier for s in survivors if s.barrier <= chosen.barrier * (1 + margin) + 1e-300]
    path.candidate_spread_J = float(max(close) - min(close)) if len(close) > 1 else 0.0
    sp = path.barrier_spread if math.isfinite(path.barrier_spread) else 0.0
    path.barrier_uncertainty_J = max(0.5 * sp, path.candidate_spread_J)
    if chosen.done == "settled":
        notes.append(f"energy_barrier: the barrier settled (it varied by {chosen.spread:.3g} J, "
                     f"{chosen.spread / max(abs(chosen.history[-1]), 1e-300):.2%}, over the last "
                     f"{opt['settle_checks'] * opt['check_every']} iterations) but the torque at the climbing image "
                     f"stayed at {crit:.3g} T (tol_torque = {tol_torque:g} T): the top of the path is rugged (a wall "
                     "pinned between rows of cells: smaller cells smooth it) and the barrier is uncertain by about "
                     "that variation")
    elif not converged:
        notes.append(f"energy_barrier: not converged after {chosen.iterations} iterations: the torque at the "
                     f"climbing image is {crit:.3g} T (tol_torque = {tol_torque:g} T) and the path energies changed "
                     f"by up to {chosen.dE:.3g} J over the last {opt['check_every']} iterations; the barrier is "
                     "approximate (raise max_iter, or loosen tol_torque / tol_energy)")
    # never above the coherent bound
    if bound is not None and path.barrier > bound["barrier_J"] * (1 + 1e-3) + 1e-30:
        notes.append(f"energy_barrier: the relaxed paths ({path.barrier:.4g} J, start '{chosen.name}') lie above "
                     f"the uniform rotation on this grid ({bound['barrier_J']:.4g} J): returning the uniform-rotation "
                     "path, an upper bound, NOT converged")
        mb = bound["m"]
        mb[0], mb[-1] = a, b
        sb = clone_simulation(sim, mb.shape[0])
        sb.m = mb
        tb = {k: np.asarray(v, dtype=float) for k, v in sb.energies().items()}
        Eb = sum(tb.values())
        path = _replace_path(path, EnergyPath(mb, Eb, tb, _arclength(metric, mb), sim.grid, int(np.argmax(Eb)),
                                              False, chosen.iterations, float("nan"), tol_torque, False, wall,
                                              sim.backend))
        path.status = "coherent bound"
        path.start = "uniform rotation (bound)"
    return path


def _mode_starts(metric, path, modes, angle):
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
            new = m + sign * angle * bump.reshape(-1, 1, 1, 1, 1) * _perp(v[None], m)
            new = _normalize(new, metric.mask)
            new[0], new[-1] = m[0], m[-1]
            out.append((f"mode {k + 1} ({w:.3g} T) {'+' if sign > 0 else '-'}", _reparametrize(metric, new)))
    return out


def _refined_simulation(sim):
    """``sim`` on a grid of half the cell size along every axis with more than one cell (each cell split in
    2 or 4 or 8 with the same fill fraction and region: the same staircase boundary), or ValueError where the
    landscape holds an added energy term or a spatial/time-dependent field that cannot be carried over."""
    from ..engine.grid import Grid
    from ..engine.simulation import Simulation

    B = sim.B_ext
    Bv = None if B is None or callable(B) else np.asarray(B, dtype=float)
    g = sim.grid
    f = [2 if n > 1 else 1 for n in g.n]
    fine = Grid(n=tuple(n * k for n, k in zip(g.n, f)), cell=tuple(c / k for c, k in zip(g.cell, f)))
    system = sim.system

    def up(a):
        for ax, k in zip((-1, -2, -3), f):
            a = np.repeat(a, k, axis=ax)
        return a

    materials = {r: mat for r, mat in enumerate(system.materials) if mat is not None}
    out = Simulation(fine, material=system.default_material, geometry=up(system.fill), regions=up(system.region),
                     materials=materials, batch=1, backend=sim.backend, demag="demag" in sim.terms, dtype=sim.dtype)
    # the finer Simulation builds the terms its materials call for; any other energy term was added to sim
    # and cannot be carried over
    extra = [n for n, t in sim.terms.items() if n not in out.terms and n != "thermal"
             and not getattr(t, "is_torque", False) and getattr(t, "stores_energy", True)]
    if extra or callable(B) or (Bv is not None and Bv.size != 3):
        raise ValueError(f"refine=True halves the cells of a landscape of built-in terms and a uniform B_ext; "
                         f"this one has {extra or 'a spatial or time-dependent B_ext'}: refine it by hand (a finer "
                         "Simulation and energy_barrier on it)")
    if B is not None:
        out.B_ext = tuple(Bv.reshape(-1))
    return out, up


def _discretization(sim, path, images, tol_torque, max_iter):
    """Δ's dependence on the discretization: the same path with 2·images − 1 images, and on cells of half the
    size (started from the path found, upsampled). Returns {"images": {n: barrier J}, "cell_m": {dx: barrier
    J}, "richardson_J": the cell-size extrapolation E(h/2) + (E(h/2) − E(h))/3 (second-order error)}."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        n2 = 2 * images - 1
        p2 = energy_barrier(sim, path.m[0], path.m[-1], images=n2, tol_torque=tol_torque, max_iter=max_iter,
                            path=path, relax_ends=False, check_saddle=False, check_bound=False, progress=False)
        fine, up = _refined_simulation(sim)
        mf = np.stack([up(mi) for mi in path.m])
        pf = energy_barrier(fine, mf[0], mf[-1], images=images, tol_torque=tol_torque, max_iter=max_iter, path=mf,
                            check_saddle=False, check_bound=False, progress=False)
    dx = max(c for c, n in zip(sim.grid.cell, sim.grid.n) if n > 1) if max(sim.grid.n) > 1 else sim.grid.cell[0]
    return {"images": {images: path.barrier, n2: p2.barrier}, "cell_m": {dx: path.barrier, dx / 2: pf.barrier},
            "status": {"images": p2.status, "cell": pf.status},
            "richardson_J": pf.barrier + (pf.barrier - path.barrier) / 3.0}


def _top_estimate(s, E):
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


def _replace_path(old, new):
    for name in ("candidates", "coherent_bound_J", "candidate_spread_J", "barrier_uncertainty_J"):
        setattr(new, name, getattr(old, name))
    new.barrier_spread = float("nan")
    return new


def _saddle_check(landscape, a, saddle, b, n_modes=4):
    """({"passed", "saddle", "from", "to", "message"}, modes): the Hessian's lowest eigenvalues at the top (one
    < 0, the next > 0) and at both ends (all > 0), see :func:`micromag.apps.transition_rate.check_stationary`; and
    the top's unstable modes beyond the first, [(eigenvalue T, tangent field (3, nz, ny, nx))], when it has
    more than one (a lower path goes round it)."""
    from ..engine.hessian import TangentHessian
    from .transition_rate import check_stationary, symmetry_modes

    Hs = TangentHessian(landscape, saddle)
    res = {"saddle": check_stationary(Hs, "saddle"),
           "from": check_stationary(TangentHessian(landscape, a), "minimum"),
           "to": check_stationary(TangentHessian(landscape, b), "minimum")}
    res["passed"] = all(r["passed"] for r in res.values())
    res["message"] = "; ".join(f"{k}: {r['message']}" for k, r in res.items() if k != "passed")
    modes = []
    top = res["saddle"]
    n_neg = sum(w < -top["zero_tol_T"] for w in top["eigenvalues_T"])
    if n_neg > 1:
        sym = symmetry_modes(Hs, top["zero_tol_T"])
        G = np.array([m["g"] for m in sym]) if sym else None
        w, V = Hs.lowest(min(n_neg + 1, n_modes + 1, Hs.n), shift_directions=G)
        modes = [(float(w[k]), Hs.to_field(V[k])) for k in range(1, len(w)) if w[k] < -top["zero_tol_T"]][:n_modes]
    return res, modes


class _String:
    """The state of one string while it relaxes (one of the starts of :func:`energy_barrier`)."""

    def __init__(self, name, m):
        self.name, self.m = name, m
        self.climb = self.E = self.E_prev = None
        self.dE = self.tq = np.inf
        self.history, self.tq_hist = [], []
        self.spread = float("nan")
        self.climb_prev = self.f_prev = self.s_prev = None
        self.tau_bb = None
        self.done = None  # "converged", "settled", "screened", "screened out", "not converged"
        self.iterations = 0


def _iterate(string, strings, metric, tau, it0, it_max, opt, prog, screen):
    """Relax the strings (each (images, 3, nz, ny, nx)) in the batch ``string`` (images × len(strings)
    members) from iteration it0 to at most it_max; with ``screen`` without climbing, each string stopping
    ("screened") once its energies change by less than climb_start × tol_energy per check. Returns the
    iteration count reached."""
    mask = metric.mask
    images = strings[0].m.shape[0]
    inner = slice(1, images - 1)
    n_in = images - 2
    shape5 = (n_in, 1, 1, 1, 1)
    K = len(strings)
    climbing, tol_torque, tol_energy = opt["climbing"] and not screen, opt["tol_torque"], opt["tol_energy"]
    check_every, climb_start, max_iter = opt["check_every"], opt["climb_start"], opt["max_iter"]
    settle_checks, settle_rtol, max_angle = opt["settle_checks"], opt["settle_rtol"], opt["max_angle"]
    it = it0
    for s in strings:
        if s.tau_bb is None:
            s.tau_bb = tau
    while it < it_max and any(s.done is None for s in strings):
        it += 1
        string.m = np.concatenate([s.m for s in strings])
        B_all = string.effective_field().reshape((K, images) + strings[0].m.shape[1:])
        check = it % check_every == 0 or it == it0 + 1
        if check:
            E_all = np.asarray(string.energy(), dtype=float).reshape(K, images)
        for k, s in enumerate(strings):
            if s.done is not None:
                continue
            s.iterations += 1
            m = s.m
            mi = m[inner]
            d = _perp(B_all[k][inner], mi) * metric.mobile  # −(metric gradient) per cell, T; frozen cells: 0
            if check:
                s.E = E_all[k]
            t_hat = _tangents(metric, m, s.E)  # upwind by the energies of the last check
            par = metric.dot(d, t_hat)  # (n_in,)
            force = d - par.reshape(shape5) * t_hat  # along the string the reparametrization decides
            if s.climb is not None:
                c = s.climb - 1
                s.tq = float(np.sqrt((d[c] * d[c]).sum(axis=0).max()))
            if check:
                E = s.E
                tol_E = tol_energy if tol_energy is not None else 1e-5 * max(E.max() - E.min(), 1e-30)
                s.dE = np.inf if s.E_prev is None else float(np.abs(E - s.E_prev).max())
                s.E_prev = E
                if screen and s.dE < climb_start * tol_E:
                    s.done = "screened"
                    continue
                top = int(np.argmax(E[1:-1])) + 1
                if climbing and s.climb is None and (s.dE < climb_start * tol_E or it > max_iter // 3):
                    s.climb = top
                elif s.climb is not None and E[top] > E[s.climb] + 1e-2 * (E.max() - E.min()):
                    s.climb = top  # a higher point has appeared on the string: it climbs instead
                if s.climb is not None:
                    c = s.climb - 1
                    s.tq = float(np.sqrt((d[c] * d[c]).sum(axis=0).max()))
                stable = stuck = False
                if s.climb is not None:
                    s.history.append(float(E.max() - E[0]))
                    s.tq_hist.append(s.tq)
                    recent = s.history[-settle_checks:]
                    s.spread = max(recent) - min(recent)
                    stable = len(recent) == settle_checks and s.spread <= settle_rtol * max(abs(recent[-1]), 1e-300)
                    h = settle_checks // 2
                    # no progress of the saddle torque over the window: its second half no better than half the first
                    stuck = stable and min(s.tq_hist[-h:]) > 0.5 * min(s.tq_hist[-2 * h:-h])
                if not screen and (s.dE < tol_E or stable) and (not climbing or s.climb is not None
                                                                  and s.tq < tol_torque):
                    s.done = "converged"
                    continue
                if stuck:
                    s.done = "settled"  # the barrier no longer changes and the saddle torque no longer falls
                    continue
            tau_c = None
            if s.climb is not None:
                c = s.climb - 1
                force[c] = d[c] - 2.0 * par[c] * t_hat[c]  # up along the tangent, down across it
                # The climbing image is not reparametrized: it takes Barzilai–Borwein steps of its own, as
                # Simulation.minimize does (the top of a path often has soft modes, a wall's position or the
                # turn of its moment, that the plain step τ = 1.6/λ_max would take thousands of iterations over)
                if s.climb_prev == s.climb and s.f_prev is not None:
                    s_ = mi[c] - s.s_prev
                    y_ = s.f_prev - force[c]
                    sy = float(metric.dot(s_, y_))
                    new_tau = (float(metric.dot(s_, s_)) / sy if it % 2 else sy / max(float(metric.dot(y_, y_)),
                                                                                         1e-300)) if sy > 0 else None
                    s.tau_bb = new_tau if new_tau is not None and math.isfinite(new_tau) else s.tau_bb
                else:
                    s.tau_bb = tau
                s.climb_prev, s.f_prev, s.s_prev = s.climb, force[c].copy(), mi[c].copy()
                tau_c = max(s.tau_bb, tau)
            fmax = np.sqrt((force * force).sum(axis=1).reshape(n_in, -1).max(axis=1))
            step_i = np.full(n_in, tau)
            if tau_c is not None:
                step_i[s.climb - 1] = tau_c
            step_i = np.minimum(step_i, max_angle / np.maximum(fmax, 1e-300))  # far from the path: cap the turn
            new_m = m.copy()
            new_m[inner] = _normalize(mi + step_i.reshape(shape5) * force, mask)
            s.m = _reparametrize(metric, new_m, s.climb)
        if prog.due():
            run = [s for s in strings if s.done is None] or strings
            tq = min(s.tq for s in run)
            prog.update(min(1.0, max(0.0, math.log(max(tq, tol_torque)) / math.log(tol_torque)))
                        if tol_torque < 1 and math.isfinite(tq) else 0.0,
                        f"iteration {it}, {'screening ' if screen else ''}{len(run)} string(s), energy change "
                        f"{min(s.dE for s in run):.3g} J per {check_every} iterations, saddle torque {tq:.3g} T "
                        f"(target {tol_torque:g} T)")
    for s in strings:
        if s.done is None:
            s.done = "screened" if screen else "not converged"
    return it


def _starts(sim, metric, a, b, images, via, noise, seed, candidates):
    """The starting strings [(name, (images, 3, nz, ny, nx))] (see :func:`energy_barrier`, ``candidates``)."""
    mask = metric.mask
    ends = clone_simulation(sim, 2)
    v_cheap = _via(ends, metric, a, b)
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
            out.append((f"coherent via {deg} deg", _geodesic(a, b, images, mask, via=math.cos(ph) * e1
                                                              + math.sin(ph) * e2)))
    if "wall" in kinds and reversal:
        x, y, z = sim.grid.coords()
        r = np.stack(np.broadcast_arrays(x, y, z))  # (3, nz, ny, nx), m
        dw = _wall_width(sim)
        for d, turn in ((e1, e2), (e2, e1)):
            proj = np.einsum("c,cijk->ijk", d, r)
            lo, hi = float(proj[mask].min()) - 3 * dw, float(proj[mask].max()) + 3 * dw
            pos = np.linspace(lo, hi, images)
            frac = 2.0 / np.pi * np.arctan(np.exp(np.clip((pos.reshape(-1, 1, 1, 1) - proj[None]) / dw, -50, 50)))
            m0 = _geodesic_cells(a, b, frac, mask, turn)
            m0[0], m0[-1] = a, b
            out.append((f"wall along {np.round(d, 3).tolist()}", m0))
    if "seeded" in kinds or not out:
        m0 = _geodesic(a, b, images, mask, via=via)
        if noise > 0:
            rng = np.random.default_rng(seed)
            kick = rng.standard_normal(m0[1:-1].shape) * noise
            # no uniform part: a uniform tilt only turns an image about a symmetry axis (a zero mode that the
            # string would take long to iron out); the non-uniform part is what lets a wall form
            kick -= np.einsum("bcijk,ijk->bc", kick, metric.w)[:, :, None, None, None]
            kick = _perp(kick, m0[1:-1])
            m0[1:-1] = _normalize(m0[1:-1] + kick, mask)
        out.append((f"seeded (noise {noise:g} rad, seed {seed})", m0))
    if "geodesic" in kinds and not reversal:
        out.append(("geodesic", _geodesic(a, b, images, mask)))
    return out


def _wall_width(sim):
    """√(A/Ku1) (m) of the stiffest magnetic material, or two cells where there is none."""
    dx = max(c for c, n in zip(sim.grid.cell, sim.grid.n) if n > 1) if max(sim.grid.n) > 1 else sim.grid.cell[0]
    w = [math.sqrt(mat.A / mat.Ku1) for mat in sim.system.materials if mat is not None and mat.Ku1 > 0 and mat.A > 0]
    return min(w) if w else 2 * dx


def _geodesic_cells(a, b, frac, mask, via):
    """Per-cell fractions ``frac`` (k, nz, ny, nx) of the way a → via → b (a reversal through ``via``)."""
    e = np.asarray(via, dtype=float).reshape(3, 1, 1, 1)
    mid = e - (e * a).sum(axis=0) * a
    mid = mid / np.maximum(np.sqrt((mid * mid).sum(axis=0)), 1e-300)
    first = _slerp(a, mid, np.clip(2 * frac, 0, 1))
    second = _slerp(mid, b, np.clip(2 * frac - 1, 0, 1))
    return _normalize(np.where((frac <= 0.5)[:, None], first, second), mask)


def _coherent_bound(sim, metric, a, b, n_theta=49):
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

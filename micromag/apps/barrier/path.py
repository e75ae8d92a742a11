"""The result of :func:`micromag.apps.barrier.energy_barrier`: :class:`EnergyPath` (barrier, Δ, attempt
frequency, retention time, plot, ParaView output) and how it is made from a relaxed string."""
from __future__ import annotations

import math
import os
import time

import numpy as np

from ...engine.constants import kB
from ...engine.validation import check_positive
from .landscape import clone_simulation
from .strings import arclength

__all__ = ["EnergyPath", "jsonable_check", "or_none", "check_temperature", "replace_path", "make_path"]


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
        return self.barrier / (kB * check_temperature(T))

    def delta_back(self, T):
        """Δ of the reverse jump, barrier_back / (k_B T), at T (K, > 0)."""
        return self.barrier_back / (kB * check_temperature(T))

    def attempt_frequency(self, alpha=None, T=300.0):
        """Langer's attempt frequency f0 (Hz) of the jump m_from -> m_to over this path's saddle at T (K) with
        damping ``alpha`` (a number, or None: each cell's material α): harmonic transition-state theory for
        the LLG from the Hessians at m_from and at the saddle and the growth rate of the unstable mode
        (:func:`micromag.apps.transition_rate.attempt_frequency`; its result dict is kept as ``self.rate``).
        The escape rate is f0 · exp(−Δ). Raises RuntimeError where the harmonic rate is not defined (the top
        is no first-order saddle, or a flat direction no rotation explains, e.g. a wall free to slide)."""
        from ...engine.hessian import TangentHessian
        from ..transition_rate import attempt_frequency

        T = check_temperature(T)
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
                "barrier_spread_J": or_none(getattr(self, "barrier_spread", None)), "iterations": self.iterations, "max_torque_T": self.max_torque,
                "tol_torque_T": self.tol_torque, "climbing": self.climbing, "wall_s": self.wall_s,
                "backend": self.backend, "start": getattr(self, "start", None),
                "candidates": getattr(self, "candidates", None),
                "coherent_bound_J": getattr(self, "coherent_bound_J", None),
                "barrier_uncertainty_J": or_none(getattr(self, "barrier_uncertainty_J", None)),
                "saddle_check": jsonable_check(getattr(self, "saddle_check", None)),
                "discretization": getattr(self, "discretization", None)}

    # ------------------------------------------------------------------ output
    def plot(self, path, T=300.0, title=None):
        """PNG of the energy along the path (relative to ``m_from``; J on the left, k_B T at ``T`` K on the
        right), the saddle marked. Written atomically; returns the path."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        from ...engine.io.atomic import atomic_write

        kT = kB * check_temperature(T)
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
        from ...engine.io.vtk import write_vti

        return write_vti(path, self.grid, {"m": self.saddle})

    def save(self, folder):
        """Every image as ``image_000.vti`` … plus ``path.pvd`` (ParaView: the images as a series whose
        'time' is the image index), ``saddle.vti``, ``energy_path.png`` and ``path.json``."""
        import json

        from ...engine.io.atomic import atomic_write
        from ...engine.io.vtk import write_pvd, write_vti

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


def jsonable_check(c):
    if c is None:
        return None
    return {k: (v if not isinstance(v, dict) else {kk: vv for kk, vv in v.items()}) for k, v in c.items()}


def or_none(x):
    return None if x is None or not math.isfinite(x) else float(x)


def check_temperature(T):
    return check_positive("T", T, "K")


def replace_path(old, new):
    for name in ("candidates", "coherent_bound_J", "candidate_spread_J", "barrier_uncertainty_J"):
        setattr(new, name, getattr(old, name))
    new.barrier_spread = float("nan")
    return new


def make_path(sim, metric, chosen, strings, survivors, bound, a, b, opt, t_wall, notes):
    """The EnergyPath of the string ``chosen``: status, candidates, spread and uncertainty, and the coherent
    bound applied (a result above it is replaced by the uniform-rotation path). Warnings go to ``notes``."""
    climbing, tol_torque = opt["climbing"], opt["tol_torque"]
    crit = chosen.tq if climbing else 0.0
    wall = time.perf_counter() - t_wall
    top = chosen.climb if chosen.climb is not None else int(np.argmax(chosen.E))
    converged = chosen.done == "converged"
    path = EnergyPath(chosen.m, chosen.E, chosen.terms, arclength(metric, chosen.m), sim.grid, top, converged,
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
        path = replace_path(path, EnergyPath(mb, Eb, tb, arclength(metric, mb), sim.grid, int(np.argmax(Eb)),
                                              False, chosen.iterations, float("nan"), tol_torque, False, wall,
                                              sim.backend))
        path.status = "coherent bound"
        path.start = "uniform rotation (bound)"
    return path

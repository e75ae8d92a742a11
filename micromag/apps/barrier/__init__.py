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
from .api import energy_barrier
from .closed_forms import coherent_barrier, crossover_diameter, wall_barrier
from .landscape import clone_simulation
from .path import EnergyPath

__all__ = ["energy_barrier", "EnergyPath", "clone_simulation", "coherent_barrier", "wall_barrier",
           "crossover_diameter"]

"""``energy_barrier``: checks before any work, the ends, the starts relaxed as one batch, the coherent bound,
the saddle check with mode following, and the refinement that reports the discretization error."""
from __future__ import annotations

import math
import time
import warnings

import numpy as np

from ...engine.progress import Progress
from ...engine.validation import check_vector3
from .landscape import clone_simulation
from .path import EnergyPath, make_path
from .relaxation import relax_starts, stiffness
from .starts import coherent_bound, make_starts, mode_starts
from .strings import Metric, arclength, normalize, perp, reparametrize

__all__ = ["end_state", "check_resolution", "check_images_fit", "energy_barrier", "refined_simulation",
           "discretization", "saddle_check"]


def end_state(sim2, value, what):
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


def check_resolution(sim):
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


def check_images_fit(sim, images, starts=8):
    """Refuse, before any array is built, a path whose images (one batch member each, for every starting
    string relaxed together) cannot fit in memory."""
    from ...engine.memory import NotEnoughMemory, check_simulation

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
    check_images_fit(sim, images)
    t_wall = time.perf_counter()
    check_resolution(sim)
    ends = clone_simulation(sim, 2)
    metric = Metric(ends.system)
    mask = metric.mask
    a = end_state(ends, m_from, "m_from")
    b = end_state(ends, m_to, "m_to")
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
        ends.m = normalize(np.stack([a, b]) + perp(1e-3 * rng.standard_normal((2,) + a.shape), np.stack([a, b]))
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
        init = normalize(init, mask)
        init[0], init[-1] = a, b
        k = init.shape[0]
        if k != images:  # resample the given path onto `images` points
            from scipy.interpolate import CubicSpline

            s = arclength(metric, init)
            s = s + 1e-12 * np.arange(k) * max(s[-1], 1e-12)
            new = CubicSpline(s, init.reshape(k, -1), axis=0)(np.linspace(0, s[-1], images))
            init = normalize(new.reshape((images,) + init.shape[1:]), mask)
            init[0], init[-1] = a, b
        starts = [("given path", init)]
    else:
        starts = make_starts(sim, metric, a, b, images, via, noise, seed, candidates)
    starts = [(name, reparametrize(metric, np.where(metric.held, a, m0))) for name, m0 in starts]
    bound = coherent_bound(sim, metric, a, b) if check_bound else None
    # ---------------------------------------------------------------- iterate: every start in ONE batch
    opt = dict(climbing=climbing, tol_torque=tol_torque, tol_energy=tol_energy, max_iter=int(max_iter),
               check_every=check_every, climb_start=climb_start, settle_checks=settle_checks,
               settle_rtol=settle_rtol, max_angle=max_angle, screen_iter=int(screen_iter),
               screen_margin=screen_margin, keep=keep)
    if step is None:
        lam = stiffness(clone_simulation(sim, images * len(starts)), np.concatenate([m0 for _, m0 in starts]),
                         metric)
        tau = 1.6 / lam  # below the explicit-Euler stability limit 2/λ_max (λ has a 20 % margin already)
    else:
        tau = float(step)
    prog = Progress("energy_barrier", 1.0, enabled=progress)
    strings, survivors, it = relax_starts(sim, metric, starts, images, tau, opt, prog, 0, int(max_iter))
    chosen = min(survivors, key=lambda s: s.barrier)
    notes = []
    path = make_path(sim, metric, chosen, strings, survivors, bound, a, b, opt, t_wall, notes)
    # ---------------------------------------------------------------- is the top a saddle?
    path.saddle_check = None
    path.followed_modes = []
    if check_saddle:
        hess = clone_simulation(sim, 16)
        check, modes = saddle_check(hess, a, path.saddle, b)
        # a top with more than one unstable direction: a lower path goes round it. Push the string off the
        # top along each extra unstable mode (both ways; a bump that is 1 at the top and 0 at the ends) and
        # relax again; keep the lowest result (never above one seen), until a top passes or follow_modes
        # rounds are spent
        for _ in range(int(follow_modes)):
            if check["passed"] or not modes:
                break
            new_starts = mode_starts(metric, path, modes, follow_angle)
            path.followed_modes.append({"eigenvalues_T": [w for w, _ in modes], "starts": len(new_starts)})
            more, surv2, it2 = relax_starts(sim, metric, new_starts, images, tau, opt, prog, it, it + int(max_iter))
            it = it2
            strings = strings + more
            best = min(surv2, key=lambda s: s.barrier)
            notes2 = []
            cand = make_path(sim, metric, best, strings, surv2, bound, a, b, opt, t_wall, notes2)
            check2, modes2 = saddle_check(hess, a, cand.saddle, b)
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
        path.discretization = discretization(sim, path, images, tol_torque, max_iter)
    for msg in notes:
        warnings.warn(msg, RuntimeWarning, stacklevel=2)
    path.wall_s = time.perf_counter() - t_wall
    return path


def refined_simulation(sim):
    """``sim`` on a grid of half the cell size along every axis with more than one cell (each cell split in
    2 or 4 or 8 with the same fill fraction and region: the same staircase boundary), or ValueError where the
    landscape holds an added energy term or a spatial/time-dependent field that cannot be carried over."""
    from ...engine.grid import Grid
    from ...engine.simulation import Simulation

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


def discretization(sim, path, images, tol_torque, max_iter):
    """Δ's dependence on the discretization: the same path with 2·images − 1 images, and on cells of half the
    size (started from the path found, upsampled). Returns {"images": {n: barrier J}, "cell_m": {dx: barrier
    J}, "richardson_J": the cell-size extrapolation E(h/2) + (E(h/2) − E(h))/3 (second-order error)}."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        n2 = 2 * images - 1
        p2 = energy_barrier(sim, path.m[0], path.m[-1], images=n2, tol_torque=tol_torque, max_iter=max_iter,
                            path=path, relax_ends=False, check_saddle=False, check_bound=False, progress=False)
        fine, up = refined_simulation(sim)
        mf = np.stack([up(mi) for mi in path.m])
        pf = energy_barrier(fine, mf[0], mf[-1], images=images, tol_torque=tol_torque, max_iter=max_iter, path=mf,
                            check_saddle=False, check_bound=False, progress=False)
    dx = max(c for c, n in zip(sim.grid.cell, sim.grid.n) if n > 1) if max(sim.grid.n) > 1 else sim.grid.cell[0]
    return {"images": {images: path.barrier, n2: p2.barrier}, "cell_m": {dx: path.barrier, dx / 2: pf.barrier},
            "status": {"images": p2.status, "cell": pf.status},
            "richardson_J": pf.barrier + (pf.barrier - path.barrier) / 3.0}


def saddle_check(landscape, a, saddle, b, n_modes=4):
    """({"passed", "saddle", "from", "to", "message"}, modes): the Hessian's lowest eigenvalues at the top (one
    < 0, the next > 0) and at both ends (all > 0), see :func:`micromag.apps.transition_rate.check_stationary`; and
    the top's unstable modes beyond the first, [(eigenvalue T, tangent field (3, nz, ny, nx))], when it has
    more than one (a lower path goes round it)."""
    from ...engine.hessian import TangentHessian
    from ..transition_rate import check_stationary, symmetry_modes

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

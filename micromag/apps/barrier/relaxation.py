"""Relaxing strings: the batched string-method iteration with a climbing image (every start in one batch
of the landscape), the screening of starts and the explicit step from the landscape's stiffness."""
from __future__ import annotations

import math

import numpy as np

from .landscape import clone_simulation
from .strings import arclength, normalize, perp, reparametrize, tangents, top_estimate

__all__ = ["stiffness", "String", "iterate", "relax_starts"]


def stiffness(string, m, metric, iters=12, eps=1e-4):
    """Largest curvature λ_max (T) of the energy around the images, by power iteration on the finite-
    difference Jacobian of the descent direction d(m) = B − (m·B) m (one batched field evaluation each).
    An explicit descent step τ is stable for τ < 2/λ_max."""
    mask = metric.mask
    string.m = m
    d0 = perp(string.effective_field(), m) * mask
    rng = np.random.default_rng(12345)
    v = perp(rng.standard_normal(m.shape), m) * mask
    lam = np.zeros(m.shape[0])
    for _ in range(iters):
        nv = np.sqrt(np.maximum(metric.dot(v, v), 1e-300)).reshape(-1, 1, 1, 1, 1)
        v = v / nv
        mp = normalize(m + eps * v, mask)
        string.m = mp
        d1 = perp(string.effective_field(), mp) * mask
        jv = perp((d1 - d0) / eps, m) * mask
        lam = np.sqrt(np.maximum(metric.dot(jv, jv), 0.0))
        v = jv
    # the largest over images, with a margin for the power iteration's underestimate; at least 1 mT
    return max(1.2 * float(lam.max()), 1e-3)


class String:
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


def iterate(string, strings, metric, tau, it0, it_max, opt, prog, screen):
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
            d = perp(B_all[k][inner], mi) * metric.mobile  # −(metric gradient) per cell, T; frozen cells: 0
            if check:
                s.E = E_all[k]
            t_hat = tangents(metric, m, s.E)  # upwind by the energies of the last check
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
            new_m[inner] = normalize(mi + step_i.reshape(shape5) * force, mask)
            s.m = reparametrize(metric, new_m, s.climb)
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


def relax_starts(sim, metric, starts, images, tau, opt, prog, it, it_max):
    """Relax the starting strings [(name, m)] as ONE batch from iteration ``it`` to at most ``it_max``: with
    several, a screening without climbing first (those within ``screen_margin`` of the lowest, at most
    ``keep``, no symmetric twins, go on to climb). Returns (every string, the survivors with .E, .terms and
    .barrier set, the iteration count)."""
    strings = [String(name, m0) for name, m0 in starts]
    string = clone_simulation(sim, images * len(strings))
    if len(strings) > 1:
        it = iterate(string, strings, metric, tau, it, min(it_max, it + opt["screen_iter"]), opt, prog, screen=True)
        E_all = np.asarray(string.energy(), dtype=float).reshape(len(strings), images)
        for s, E in zip(strings, E_all):
            s.E = E
            s.screen_barrier = top_estimate(arclength(metric, s.m), E) - float(E[0])
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
    it = iterate(string, survivors, metric, tau, it, it_max, opt, prog, screen=False)
    string.m = np.concatenate([s.m for s in survivors])
    terms_all = {k: np.asarray(v, dtype=float).reshape(len(survivors), images)
                 for k, v in string.energies().items()}
    for k, s in enumerate(survivors):
        s.terms = {name: v[k] for name, v in terms_all.items()}
        s.E = sum(s.terms.values())
        s.barrier = float(s.E.max() - s.E[0])
    return strings, survivors, it

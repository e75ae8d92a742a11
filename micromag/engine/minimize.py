"""Energy minimization by steepest descent with Barzilai–Borwein step sizes.

The descent direction is the torque-free part of the field, d = B − (m·B) m = −m × (m × B) (T). A
Cayley-type update keeps |m| = 1 exactly:

    m ← [(4 − τ² |m×B|²) m + 4τ d] / (4 + τ² |m×B|²)

The step τ (1/T) follows Barzilai & Borwein, IMA J. Numer. Anal. 8, 141 (1988), alternating
τ1 = (s·s)/(s·y) and τ2 = (s·y)/(y·y) with s = Δm and y = −Δd (the change of the gradient), as in
Exl et al., J. Appl. Phys. 115, 17D118 (2014). Every batch member has its own τ.

A torque that is not finite (an overflowing field: B_ext = 1e200 T, say) stops the minimizer with
:class:`micromag.engine.guard.SimulationDiverged`; m is put back to the last iterate whose torque was finite.
"""
from __future__ import annotations

import math

import numpy as np

from .progress import Progress


def _dot(a, b):
    n = a.shape[0]
    return (a.reshape(n, -1) * b.reshape(n, -1)).sum(axis=1)


def bb_estimate(m, m_old, d, d_old, it, xp=np, implicit=None):
    """Barzilai–Borwein step per member (1/T) from the last step s = Δm and the change of the descent
    direction y = −Δd: τ1 = (s·s)/(s·y) on even iterations, τ2 = (s·y)/(y·y) on odd ones. Returns the (B,)
    estimates and where they are usable (finite and > 0; s·y < 0 means negative curvature along the step).
    ``implicit(m, s)``: the curvature Q s of a part the step treats implicitly, taken out of y."""
    s = m - m_old
    y = d_old - d
    if implicit is not None:
        y = y - implicit(m, s)
    sy = _dot(s, y)
    if it % 2 == 0:
        new = _dot(s, s) / xp.where(sy != 0, sy, xp.inf)
    else:
        new = sy / xp.maximum(_dot(y, y), 1e-300)
    return new, xp.isfinite(new) & (new > 0)


def minimize_bb(llg, m, t, mask, tol_torque, max_iter, progress=True, tau0=1e-4, xp=np, max_angle=0.2, stiff=None):
    """Minimize m in place (arrays of the array module ``xp``). Returns the final largest |m × B| in T.

    The BB step is capped so that no cell turns by more than ``max_angle`` (rad) per iteration: past a
    switching field the metastable minimum is gone, the BB estimate grows by orders of magnitude and an
    uncapped step scrambles the state. The cap only acts far from equilibrium. ``stiff``
    (:class:`~micromag.engine.stiff_cells.LocalStiffness`): cells stepped semi-implicitly, as in relax()."""
    B = m.shape[0]
    tau = xp.full(B, tau0, dtype=m.dtype)
    d_old = None
    m_old = None
    prog = Progress("minimize", 1.0, enabled=progress)
    tq = np.inf
    for it in range(max_iter):
        Beff = llg.effective_field(m, t)
        llg.nevals += 1  # one field evaluation, the cost unit of every solver
        mb = (m * Beff).sum(axis=1, keepdims=True)
        d = Beff - mb * m  # −m×(m×B)
        d *= mask
        tsq = (d * d).sum(axis=1)  # |m×B|² (= |d|² for |m| = 1)
        tq2 = float(tsq.max())  # one scalar back from the device per iteration (NaN if any cell is NaN)
        if not math.isfinite(tq2):
            bad = ~xp.isfinite(tsq.reshape(B, -1).max(axis=1))
            if m_old is not None:  # back to the last iterate with a finite torque
                m[...] = xp.where(bad.reshape((B,) + (1,) * (m.ndim - 1)), m_old, m)
            from .guard import SimulationDiverged

            members = [int(b) for b in np.nonzero(np.asarray(bad.get() if hasattr(bad, "get") else bad))[0]]
            raise SimulationDiverged(f"minimize(): the torque is not finite at iteration {it} (members {members})",
                                     members=members, reason="non-finite")
        tq = math.sqrt(tq2)
        if tq < tol_torque:
            break
        if d_old is not None:
            new, ok = bb_estimate(m, m_old, d, d_old, it, xp, implicit=None if stiff is None else stiff.hessian_times)
            tau = xp.where(ok, new, tau if stiff is None else 10 * tau).astype(m.dtype)
        shape = (B,) + (1,) * (m.ndim - 1)
        if stiff is None:
            # cap the rotation: τ |d| <= max_angle in every cell
            dmax = xp.sqrt(tsq.reshape(B, -1).max(axis=1))
            tau = xp.minimum(tau, max_angle / xp.maximum(dmax, 1e-300)).astype(m.dtype)
            u = tau.reshape(shape) * d
        else:
            u = stiff.step(m, d, tau)
            umax = xp.sqrt((u * u).sum(axis=1).reshape(B, -1).max(axis=1))
            scale = xp.minimum(1.0, max_angle / xp.maximum(umax, 1e-300))  # the same cap on the step taken
            tau = (tau * scale).astype(m.dtype)
            u *= scale.reshape(shape)
        m_old = m.copy()
        d_old = d
        tt = (u * u).sum(axis=1, keepdims=True)
        m *= (4 - tt)
        m += 4 * u
        m /= (4 + tt)
        # the update keeps |m| = 1 only up to round-off, which would build up
        m /= xp.maximum(xp.sqrt((m * m).sum(axis=1, keepdims=True)), 1e-30)
        m *= mask
        if prog.due():
            prog.update(min(1.0, math.log(max(tq, tol_torque)) / math.log(tol_torque)) if tol_torque < 1 else 1.0,
                        f"iteration {it}, max torque {tq:.3g} T")
    return tq

"""Energy minimization by steepest descent with Barzilai–Borwein step sizes.

The descent direction is the torque-free part of the field, d = B − (m·B) m = −m × (m × B) (T). A
Cayley-type update keeps |m| = 1 exactly:

    m ← [(4 − τ² |m×B|²) m + 4τ d] / (4 + τ² |m×B|²)

The step τ (1/T) follows Barzilai & Borwein, IMA J. Numer. Anal. 8, 141 (1988), alternating
τ1 = (s·s)/(s·y) and τ2 = (s·y)/(y·y) with s = Δm and y = −Δd (the change of the gradient), as in
Exl et al., J. Appl. Phys. 115, 17D118 (2014). Every batch member has its own τ.
"""
from __future__ import annotations

import numpy as np

from .integrators import normalize
from .progress import Progress


def _dot(a, b):
    n = a.shape[0]
    return np.einsum("ij,ij->i", a.reshape(n, -1), b.reshape(n, -1))


def minimize_bb(llg, m, t, mask, tol_torque, max_iter, progress=True, tau0=1e-4):
    """Minimize in place. Returns the final largest |m × B| in T."""
    B = m.shape[0]
    tau = np.full(B, tau0)
    d_old = None
    m_old = None
    prog = Progress("minimize", 1.0, enabled=progress)
    tq = np.inf
    for it in range(max_iter):
        Beff = llg.effective_field(m, t)
        mb = np.einsum("bc...,bc...->b...", m, Beff)[:, None]
        d = Beff - mb * m  # −m×(m×B)
        d *= mask
        tsq = np.einsum("bc...,bc...->b...", d, d)  # |m×B|² (= |d|² for |m| = 1)
        tq_member = np.sqrt(tsq.reshape(B, -1).max(axis=1))
        tq = float(tq_member.max())
        if tq < tol_torque:
            break
        if d_old is not None:
            s = m - m_old
            y = d_old - d
            sy = _dot(s, y)
            if it % 2 == 0:
                new = _dot(s, s) / np.where(sy != 0, sy, np.inf)
            else:
                new = sy / np.maximum(_dot(y, y), 1e-300)
            ok = np.isfinite(new) & (new > 0)
            tau = np.where(ok, new, tau)
        m_old = m.copy()
        d_old = d
        tau_b = tau.reshape((B,) + (1,) * (m.ndim - 1))
        tt = tau_b**2 * tsq[:, None]
        m *= (4 - tt)
        m += 4 * tau_b * d
        m /= (4 + tt)
        normalize(m, mask, out=m)  # the update keeps |m| = 1 only up to round-off, which would build up
        if it % 50 == 0:
            prog.update(min(1.0, np.log(max(tq, tol_torque)) / np.log(tol_torque)) if tol_torque < 1 else 1.0,
                        f"iteration {it}, max torque {tq:.3g} T")
    return tq

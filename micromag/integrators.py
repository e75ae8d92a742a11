"""Explicit Runge–Kutta integrators as Butcher tableaux, and one generic (batched, adaptive) stepper.

Every integrator is data: nodes ``c``, coefficients ``a``, weights ``b`` and, for embedded pairs, the
error weights ``e = b - b_hat`` whose combination estimates the local error of the lower-order solution.
The stepper advances each batch member with its own time step: a stiff member does not slow an easy one.

Step control (as in MuMax3): the error of a step is the largest per-cell norm ``|dt Σ e_j k_j|`` (a change
of the unit vector m, dimensionless); the step is accepted when it is at most ``tol``, and the next step is
``dt · headroom · (tol / err)^(1/(q+1))`` with q the order of the error estimate, clamped to
``[dt/5, 2 dt]`` and to ``[dt_min, dt_max]``. m is renormalized after every accepted step.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tableau:
    name: str
    c: tuple
    a: tuple  # lower-triangular rows: a[i] has i entries
    b: tuple
    e: tuple | None  # b - b_hat (None: fixed step)
    order: int  # order of the propagated solution
    err_order: int  # order of the embedded (error) solution
    fsal: bool = False

    @property
    def stages(self):
        return len(self.b)

    @property
    def adaptive(self):
        return self.e is not None


def _e(b, bhat):
    return tuple(x - y for x, y in zip(b, bhat))


EULER = Tableau("euler", c=(0.0,), a=((),), b=(1.0,), e=None, order=1, err_order=1)

# Heun with embedded Euler: error = dt/2 |k2 - k1|.
HEUN = Tableau("heun", c=(0.0, 1.0), a=((), (1.0,)), b=(0.5, 0.5), e=_e((0.5, 0.5), (1.0, 0.0)), order=2, err_order=1)

RK4 = Tableau(
    "rk4",
    c=(0.0, 0.5, 0.5, 1.0),
    a=((), (0.5,), (0.0, 0.5), (0.0, 0.0, 1.0)),
    b=(1 / 6, 1 / 3, 1 / 3, 1 / 6),
    e=None,
    order=4,
    err_order=4,
)

# Bogacki & Shampine, Appl. Math. Lett. 2, 321 (1989): order 3 with embedded order 2, FSAL.
RK23 = Tableau(
    "rk23",
    c=(0.0, 0.5, 0.75, 1.0),
    a=((), (0.5,), (0.0, 0.75), (2 / 9, 1 / 3, 4 / 9)),
    b=(2 / 9, 1 / 3, 4 / 9, 0.0),
    e=_e((2 / 9, 1 / 3, 4 / 9, 0.0), (7 / 24, 1 / 4, 1 / 3, 1 / 8)),
    order=3,
    err_order=2,
    fsal=True,
)

# Dormand & Prince, J. Comput. Appl. Math. 6, 19 (1980): order 5 with embedded order 4, FSAL.
_DP_B = (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0)
_DP_BHAT = (5179 / 57600, 0.0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40)
RK45 = Tableau(
    "rk45",
    c=(0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0),
    a=(
        (),
        (1 / 5,),
        (3 / 40, 9 / 40),
        (44 / 45, -56 / 15, 32 / 9),
        (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
        (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
        _DP_B[:6],
    ),
    b=_DP_B,
    e=_e(_DP_B, _DP_BHAT),
    order=5,
    err_order=4,
    fsal=True,
)

TABLEAUX = {t.name: t for t in (EULER, HEUN, RK4, RK23, RK45)}
ALIASES = {"dormandprince": "rk45", "dp45": "rk45", "bogackishampine": "rk23", "bs23": "rk23"}


def get_tableau(name) -> Tableau:
    if isinstance(name, Tableau):
        return name
    key = ALIASES.get(str(name).lower(), str(name).lower())
    if key not in TABLEAUX:
        raise ValueError(f"integrator must be one of {sorted(TABLEAUX)}, got {name!r}")
    return TABLEAUX[key]


def normalize(m, mask=None, out=None):
    """Scale every cell vector of m (B, 3, ...) to unit length; cells outside ``mask`` stay zero."""
    out = m if out is None else out
    norm = np.sqrt(np.einsum("bc...,bc...->b...", m, m))
    np.maximum(norm, 1e-300, out=norm)
    np.divide(m, norm[:, None], out=out)
    if mask is not None:
        out *= mask
    return out


class Stepper:
    """Generic explicit RK stepper over a batch of systems, with per-member time and time step.

    Parameters
    ----------
    f : callable ``f(m, t, out)`` writing dm/dt (1/s) for state m (B, 3, ...) at times t (B,).
    tableau : a :class:`Tableau` or its name.
    mask : (…) bool/float array of magnetic cells (renormalization keeps empty cells zero).
    tol : largest accepted per-cell error of m per step (adaptive tableaux).
    dt : initial / fixed time step in s (scalar or (B,)).
    dt_min, dt_max : bounds of the adaptive step, s.
    headroom : safety factor of the step-size update.
    """

    def __init__(self, f, tableau, shape, mask=None, tol=1e-5, dt=1e-14, dt_min=1e-18, dt_max=1e-10, headroom=0.8,
                 fixed=False):
        self.f = f
        self.tab = get_tableau(tableau)
        self.fixed = bool(fixed) or not self.tab.adaptive  # fixed: no error control, dt stays as set
        self.shape = tuple(shape)
        B = self.shape[0]
        self.mask = None if mask is None else np.asarray(mask, dtype=float)
        self.tol = float(tol)
        self.dt_min, self.dt_max, self.headroom = float(dt_min), float(dt_max), float(headroom)
        self.dt = np.broadcast_to(np.asarray(dt, dtype=float), (B,)).copy()
        self.k = [np.zeros(self.shape) for _ in range(self.tab.stages)]
        self.y = np.zeros(self.shape)
        self.err_vec = np.zeros(self.shape) if self.tab.adaptive else None
        self.k0_valid = False  # FSAL: k[0] holds f(m, t) of the current state
        self.nsteps = 0
        self.nrejected = 0
        self.nforced = 0  # steps taken at dt_min with an error above tol
        self.nevals = 0
        self.last_err = np.zeros(B)

    def invalidate(self):
        """Forget the cached first stage (call when m, t or the drives change outside the stepper)."""
        self.k0_valid = False

    def _combine(self, m, dt, coeffs, k, out):
        """out = m + dt · Σ coeffs_j k_j, skipping zero coefficients."""
        np.copyto(out, m)
        for cj, kj in zip(coeffs, k):
            if cj != 0.0:
                out += (dt * cj)[:, None, None, None, None] * kj if dt.ndim else dt * cj * kj
        return out

    def _eval(self, y, t, out):
        self.f(y, t, out)
        self.nevals += 1

    def step(self, m, t, t_end=None):
        """Try one step for every member (in place on m and t). Members with ``t >= t_end`` stay put.

        Returns the bool array of members that advanced.
        """
        tab = self.tab
        B = m.shape[0]
        dt = self.dt.copy()
        if t_end is not None:
            remaining = np.asarray(t_end, dtype=float) - t
            dt = np.minimum(dt, remaining)
            # a step a few ulps short of the end would leave a sliver: take it whole
            dt = np.where(remaining <= dt * (1 + 1e-9), remaining, dt)
            dt = np.maximum(dt, 0.0)
        active = dt > 0
        if not active.any():
            return active
        k = self.k
        if hasattr(self.f, "begin_step"):
            self.f.begin_step(t, dt)
        if not (tab.fsal and self.k0_valid):
            self._eval(m, t, k[0])
        for i in range(1, tab.stages):
            self._combine(m, dt, tab.a[i], k[:i], self.y)
            self._eval(self.y, t + tab.c[i] * dt, k[i])
        # new solution: for FSAL tableaux the last stage point *is* the solution
        if tab.fsal:
            mnew = self.y
        else:
            mnew = self._combine(m, dt, tab.b, k, self.y)
        if not self.fixed:
            ev = self.err_vec
            ev.fill(0.0)
            for ej, kj in zip(tab.e, k):
                if ej != 0.0:
                    ev += (dt * ej)[:, None, None, None, None] * kj
            err = np.sqrt(np.einsum("bc...,bc...->b...", ev, ev)).reshape(B, -1).max(axis=1)
            self.last_err = err
            at_min = dt <= self.dt_min * (1 + 1e-12)
            accept = active & ((err <= self.tol) | at_min)
            self.nforced += int((active & at_min & (err > self.tol)).sum())  # accepted only because dt = dt_min
            # step-size update for every active member (accepted or not)
            with np.errstate(divide="ignore"):
                fac = self.headroom * (self.tol / np.maximum(err, 1e-300)) ** (1.0 / (tab.err_order + 1))
            fac = np.clip(fac, 0.2, 2.0)
            newdt = np.clip(dt * fac, self.dt_min, self.dt_max)
            # a step shortened only to land on t_end says nothing about the right step size
            newdt = np.where(accept & (dt < self.dt), np.maximum(newdt, self.dt), newdt)
            self.dt = np.where(active, newdt, self.dt)
            self.nrejected += int((active & ~accept).sum())
        else:
            accept = active
        if accept.all():
            np.copyto(m, mnew)
            normalize(m, self.mask, out=m)
        elif accept.any():  # members that did not step keep their state bit for bit
            m[accept] = normalize(mnew[accept], self.mask)
        t += np.where(accept, dt, 0.0)
        if tab.fsal:
            # k[-1] = f(mnew) before renormalization: within the step tolerance (MuMax3 does the same)
            if accept.all():
                k[0], k[-1] = k[-1], k[0]
                self.k0_valid = True
            elif accept.any():
                k[0][accept] = k[-1][accept]
                self.k0_valid = True
            else:
                self.k0_valid = True  # k[0] still belongs to the unchanged m
        else:
            self.k0_valid = False
        self.nsteps += 1
        return accept

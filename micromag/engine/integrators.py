"""Explicit Runge–Kutta integrators as Butcher tableaux, and one generic (batched, adaptive) stepper.

Every integrator is data: nodes ``c``, coefficients ``a``, weights ``b`` and, for embedded pairs, the
error weights ``e = b - b_hat`` whose combination estimates the local error of the lower-order solution.
The stepper advances each batch member with its own time step: a stiff member does not slow an easy one.

Step control (as in MuMax3): the error of a step is the largest per-cell norm ``|dt Σ e_j k_j|`` (a change
of the unit vector m, dimensionless); the step is accepted when it is at most ``tol``, and the next step is
``dt · headroom · (tol / err)^(1/(q+1))`` with q the order of the error estimate, clamped to
``[dt/5, GROWTH_MAX · dt]`` and to ``[dt_min, dt_max]``. m is renormalized after every accepted step.

A step whose error estimate is not finite (an overflow: the step was far too long for the field) is
rejected and retried with dt/5; at dt_min it cannot be shortened, and the member is marked as diverged.

The stepper contract (what the backend-neutral run loop, :class:`micromag.engine.guard.RunGuard`, relies on;
a GPU stepper offers the same attributes):

``step(m, t, t_end=None)``  one try per member, in place on m (B, 3, nz, ny, nx) and t (B,) s; members with
                            ``t >= t_end`` or a NaN dt stay bit for bit; returns the (B,) accepted mask.
``dt``             (B,) float64 array of the backend: the next step per member, s. **NaN marks a member whose
                   step could not keep a finite state** (non-finite error estimate at dt_min, or non-finite
                   new state of a fixed step): its m and t are left at the last good values and it takes no
                   more steps. The run loop writes NaN into ``dt`` to freeze a member.
``nsteps``         int, steps tried (all members together count as one).
``nevals``         int, right-hand-side evaluations.
``nrejected``      int, member-steps rejected (error above tol, or non-finite).
``nforced``        int, member-steps accepted only because dt had reached dt_min with the error above tol.
``forced_streak``  (B,) int array: consecutive forced steps per member (0 after a normal acceptance); the
                   loop calls a streak of ``micromag.engine.guard.COLLAPSE_STEPS`` a collapsed step. Optional.
``last_err``       (B,) error estimate of the last step (dimensionless; NaN/inf when non-finite). Optional.
``keeps_finite``   True when the stepper never commits a non-finite m (this one); without it the run loop
                   keeps a copy of the last checked state on the device to restore a member that went bad.
``fixed``          bool: no error control (dt stays as set).
``invalidate()``   forget cached stages after m, t or a drive changed outside the stepper.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# The most a step may grow after an accepted one (the GPU kernel rk_finish holds the same number). It binds only
# when the error is below (headroom / GROWTH_MAX)^(q+1) ≈ 1e-4 of tol: the ramp from the initial step (0.1 ps) to
# a 512² film's 1.5 ps took four steps at 2 (MuMax3's bound) and takes two at 5 (SciPy's RK45 allows 10).
GROWTH_MAX = 5.0


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

def _q(*pairs):
    """Exact rationals p/q as floats: _q((1, 5), (3, 10)) -> (0.2, 0.3)."""
    return tuple(p / q for p, q in pairs)


# Dormand & Prince, J. Comput. Appl. Math. 6, 19 (1980), the two siblings of RK5(4)7FM (= RK45 above), both
# order 5 with embedded order 4, 7 stages, FSAL, and named as in OOMMF (where "rkf54" is the default).
# RK5(4)7FC: the stability boundary of a slightly damped precession (λ dt ∝ −α + i, α = 0.02) at
# ρ = 3.39 instead of RK45's 2.08, so stiff (exchange-limited) problems take ~1.6x longer steps.
_FC_B = _q((35, 432), (0, 1), (8500, 14553), (-28561, 84672), (405, 704), (19, 196), (0, 1))
_FC_BHAT = _q((11, 108), (0, 1), (6250, 14553), (-2197, 21168), (81, 176), (171, 1960), (1, 40))
RKF54 = Tableau(
    "rkf54",
    c=_q((0, 1), (1, 5), (3, 10), (6, 13), (2, 3), (1, 1), (1, 1)),
    a=(
        (),
        _q((1, 5)),
        _q((3, 40), (9, 40)),
        _q((264, 2197), (-90, 2197), (840, 2197)),
        _q((932, 3645), (-14, 27), (3256, 5103), (7436, 25515)),
        _q((-367, 513), (30, 19), (9940, 5643), (-29575, 8208), (6615, 3344)),
        _FC_B[:6],
    ),
    b=_FC_B,
    e=_e(_FC_B, _FC_BHAT),
    order=5,
    err_order=4,
    fsal=True,
)
# RK5(4)7FS: the extended-stability member. Its boundary stays at ρ ≈ 3.6 for every damping α in
# [0.005, 1] (RK45: 1.7 at α = 0.005, 2.1 at 0.02; RKF54: 1.8 and 3.4), the best of the three for the
# stiff, weakly damped exchange modes that limit the step of most micromagnetic runs; its error
# constants are larger (at equal tol its global error is ~10x RK45's when accuracy, not stability, limits
# the step), which is why the default tol is lower (benchmarks/accuracy_study.py).
_FS_B = _q((19, 200), (0, 1), (3, 5), (-243, 400), (33, 40), (7, 80), (0, 1))
_FS_BHAT = _q((431, 5000), (0, 1), (333, 500), (-7857, 10000), (957, 1000), (193, 2000), (-1, 50))
RKF54S = Tableau(
    "rkf54s",
    c=_q((0, 1), (2, 9), (1, 3), (5, 9), (2, 3), (1, 1), (1, 1)),
    a=(
        (),
        _q((2, 9)),
        _q((1, 12), (1, 4)),
        _q((55, 324), (-25, 108), (50, 81)),
        _q((83, 330), (-13, 22), (61, 66), (9, 110)),
        _q((-19, 28), (9, 4), (1, 7), (-27, 7), (22, 7)),
        _FS_B[:6],
    ),
    b=_FS_B,
    e=_e(_FS_B, _FS_BHAT),
    order=5,
    err_order=4,
    fsal=True,
)

TABLEAUX = {t.name: t for t in (EULER, HEUN, RK4, RK23, RK45, RKF54, RKF54S)}
ALIASES = {"dormandprince": "rk45", "dp45": "rk45", "rkf54m": "rk45", "bogackishampine": "rk23", "bs23": "rk23"}


def get_tableau(name) -> Tableau:
    if isinstance(name, Tableau):
        return name
    key = ALIASES.get(str(name).lower(), str(name).lower())
    if key not in TABLEAUX:
        raise ValueError(f"integrator must be one of {sorted(TABLEAUX)}, got {name!r}")
    return TABLEAUX[key]


def stability_polynomial(tableau):
    """Coefficients c_0..c_s of the stability function R(z) = Σ c_k z^k of an explicit tableau (the growth
    factor of one step on y' = λ y, z = λ dt): c_0 = 1, c_k = bᵀ A^(k-1) 1."""
    tab = get_tableau(tableau)
    s = tab.stages
    A = np.zeros((s, s))
    for i, row in enumerate(tab.a):
        A[i, :len(row)] = row
    b = np.asarray(tab.b, dtype=float)
    coeffs, v = [1.0], np.ones(s)
    for _ in range(s):
        coeffs.append(float(b @ v))
        v = A @ v
    return np.array(coeffs)


def growth_factor(tableau, z):
    """|R(z)|: the amplification of a linear mode with λ dt = z in one step of ``tableau``."""
    c = stability_polynomial(tableau)
    return float(abs(np.polyval(c[::-1], complex(z))))


def stability_limit(tableau, alpha):
    """The largest ω dt (ω = γ|B|, rad/s) for which one step of ``tableau`` does not amplify a precessing
    mode of the linearized LLG, whose eigenvalue is λ = ω (−α + i) / (1 + α²): the first ρ > 0 with
    |R(ρ (−α + i)/√(1 + α²))| > 1 (0 when every ρ amplifies, as Euler's at α = 0). Dimensionless."""
    u = complex(-alpha, 1.0) / math.sqrt(1 + alpha * alpha)
    c = stability_polynomial(tableau)[::-1]
    rho = np.linspace(0, 8, 8001)[1:]
    g = np.abs(np.polyval(c, rho * u))
    over = np.nonzero(g > 1 + 1e-12)[0]
    return float(rho[over[0] - 1]) if len(over) and over[0] > 0 else (0.0 if len(over) else float(rho[-1]))


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
        # the stages in one array, so that a combination Σ_j w_j k_j is one matrix-vector product (BLAS) per
        # member instead of a pass per stage; self.k[j] is a view of stage j
        self.K = np.zeros((self.tab.stages,) + self.shape)
        self.k = [self.K[j] for j in range(self.tab.stages)]
        self.y = np.zeros(self.shape)
        self.err_vec = np.zeros(self.shape) if self.tab.adaptive else None
        self._a = [np.asarray(row, dtype=float) for row in self.tab.a]
        self._b = np.asarray(self.tab.b, dtype=float)
        self._e = np.asarray(self.tab.e, dtype=float) if self.tab.adaptive else None
        from . import _jit

        self._jit = _jit.wanted(int(np.prod(self.shape[2:]))) and len(self.shape) >= 3 and self.shape[1] == 3
        self.k0_valid = False  # FSAL: k[0] holds f(m, t) of the current state
        self.nsteps = 0
        self.nrejected = 0
        self.nforced = 0  # steps taken at dt_min with an error above tol
        self.forced_streak = np.zeros(B, dtype=np.int64)
        self.nevals = 0
        self.last_err = np.zeros(B)

    keeps_finite = True  # a non-finite step is never committed (see the module docstring)

    def invalidate(self):
        """Forget the cached first stage (call when m, t or the drives change outside the stepper)."""
        self.k0_valid = False

    def _combine(self, m, dt, coeffs, n, out):
        """out = m + dt · Σ_{j<n} coeffs_j k_j (m None: without m), per member: one BLAS matrix-vector
        product over the first n stages and one addition."""
        w = np.asarray(coeffs, dtype=float)[:n]
        B = out.shape[0]
        Kf = self.K[:n].reshape(n, B, -1)
        of = out.reshape(B, -1)
        if self._jit and (m is None or m.flags.c_contiguous):
            from ._jit import kernels

            mf = of if m is None else m.reshape(B, -1)
            kernels()["combine"](self.K.reshape(len(self.K), B, -1), np.ascontiguousarray(dt[:, None] * w[None]), n,
                                 mf, of, m is not None)
            return out
        for b in range(B):
            np.dot(w * dt[b], Kf[:, b], out=of[b])
        if m is not None:
            out += m
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
        active = dt > 0  # False for a NaN-marked (diverged or frozen) member
        if not active.any():
            return active
        dt = np.where(active, dt, 0.0)  # idle members' stages stay at m (no NaN arithmetic)
        k = self.k
        if hasattr(self.f, "begin_step"):
            self.f.begin_step(t, dt)
        if not (tab.fsal and self.k0_valid):
            self._eval(m, t, k[0])
        for i in range(1, tab.stages):
            self._combine(m, dt, self._a[i], i, self.y)
            self._eval(self.y, t + tab.c[i] * dt, k[i])
        # new solution: for FSAL tableaux the last stage point *is* the solution
        if tab.fsal:
            mnew = self.y
        else:
            mnew = self._combine(m, dt, self._b, tab.stages, self.y)
        if not self.fixed:
            if self._jit:
                from ._jit import kernels

                s = tab.stages
                err = kernels()["err_max"](self.K.reshape(s, B, -1), np.ascontiguousarray(dt[:, None] * self._e[None]),
                                           s, int(np.prod(self.shape[2:])))
            else:
                ev = self._combine(None, dt, self._e, tab.stages, self.err_vec)
                err = np.sqrt(np.einsum("bc...,bc...->b...", ev, ev).reshape(B, -1).max(axis=1))
            self.last_err = err
            finite = np.isfinite(err)  # NaN anywhere in a stage makes the (max) error NaN
            at_min = dt <= self.dt_min * (1 + 1e-12)
            accept = active & finite & ((err <= self.tol) | at_min)
            forced = accept & at_min & (err > self.tol)  # accepted only because dt = dt_min
            self.nforced += int(forced.sum())
            self.forced_streak = np.where(forced, self.forced_streak + 1, np.where(accept, 0, self.forced_streak))
            # step-size update for every active member (accepted or not); a non-finite error: dt/5
            with np.errstate(divide="ignore", invalid="ignore"):
                fac = self.headroom * (self.tol / np.maximum(err, 1e-300)) ** (1.0 / (tab.err_order + 1))
            fac = np.clip(np.where(finite, fac, 0.2), 0.2, GROWTH_MAX)
            newdt = np.clip(dt * fac, self.dt_min, self.dt_max)
            # a step shortened only to land on t_end says nothing about the right step size
            newdt = np.where(accept & (dt < self.dt), np.maximum(newdt, self.dt), newdt)
            # no finite step even at dt_min: the member has diverged (NaN dt: it takes no more steps)
            newdt = np.where(active & ~finite & at_min, np.nan, newdt)
            self.dt = np.where(active, newdt, self.dt)
            self.nrejected += int((active & ~accept).sum())
        else:
            accept = active
            # no error estimate: the new state proves itself finite before it is committed (one pass)
            with np.errstate(over="ignore", invalid="ignore"):
                flat = mnew.reshape(B, -1)
                ok = np.isfinite(np.einsum("ij,ij->i", flat, flat))
            bad = accept & ~ok
            if bad.any():
                accept = accept & ok
                self.dt = np.where(bad, np.nan, self.dt)
                self.last_err = np.where(bad, np.nan, 0.0)
                self.nrejected += int(bad.sum())
        if accept.all():
            np.copyto(m, mnew)
            if self._jit and m.flags.c_contiguous:
                from ._jit import kernels

                mk = self.mask
                kernels()["normalize"](m.reshape(B, 3, -1), mk.reshape(-1) if mk is not None else np.ones(1),
                                       mk is not None)
            else:
                normalize(m, self.mask, out=m)
        elif accept.any():  # members that did not step keep their state bit for bit
            m[accept] = normalize(mnew[accept], self.mask)
        t += np.where(accept, dt, 0.0)
        if tab.fsal:
            # k[-1] = f(mnew) before renormalization: within the step tolerance (MuMax3 does the same)
            if accept.all():
                np.copyto(k[0], k[-1])
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

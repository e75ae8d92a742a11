"""Time dependence of Ubermag terms: built-in waves, Python callables sampled every ``dt``, Tcl scripts.

Ubermag describes a time-dependent field or current as a static value times a pre-factor f(t) (or, for
fields, a 3×3 matrix M(t) acting on the static vector, OOMMF's Oxs_TransformZeeman). Three ways:

- ``func="sin"`` / ``"sinc"`` with ``f`` (Hz) and ``t0`` (s): f(t) = sin(2π f (t − t0)) or
  sinc(2π f (t − t0)) with sinc(x) = sin(x)/x, sinc(0) = 1;
- ``func=callable`` with ``dt`` (s): Ubermag's definition is the callable *sampled every dt*, the value at
  t being the sample at the nearest multiple of dt, round(t/dt)·dt (what oommfc tabulates for OOMMF). It
  returns a number (the pre-factor) or 9 numbers (M row by row);
- ``tcl_strings``: a Tcl procedure (OOMMF's own way) run by Python's Tcl interpreter (``tkinter.Tcl``,
  the interpreter only, no display). The procedure gets the arguments named in ``script_args`` (any of
  ``stage``, ``stage_time``, ``total_time``) and returns, for Oxs_ScriptUZeeman, the field
  (Hx, Hy, Hz[, dHx, dHy, dHz]) in A/m; for Oxs_TransformZeeman, M (9 numbers for ``type general``,
  3 for ``diagonal``, 1 for ``identity``) followed by its derivative; for currents (Slonczewski J_profile,
  Zhang–Li u_profile) the pre-factor. Derivatives are not used (micromag's integrators do not need them).
"""
from __future__ import annotations

import itertools
import math
import numbers
import threading

import numpy as np
import ubermagutil.typesystem as ts

_TCL = threading.local()
_CHILD = itertools.count()


def _thread_tcl():
    """This thread's Tcl interpreter, made once and kept for the thread's life. A Tcl interpreter must be
    deleted by the thread that made it: one per TclProc, freed by the garbage collector in whichever thread
    it ran (a background writer's, say), made Tcl abort the process (Tcl_AsyncDelete panic)."""
    interp = getattr(_TCL, "interp", None)
    if interp is None:
        import tkinter

        interp = _TCL.interp = tkinter.Tcl()
    return interp


def attr(obj, name, default=None):
    """An Ubermag attribute, or ``default`` when it is not set (ubermagutil returns its descriptor)."""
    v = getattr(obj, name, default)
    return default if isinstance(v, ts.Descriptor) else v


class TclProc:
    """A Tcl procedure from ``tcl_strings`` that can be called with the simulation's time."""

    def __init__(self, tcl_strings, what):
        try:
            self._tcl = _thread_tcl()
        except ImportError:  # Python built without Tcl
            raise NotImplementedError(f"{what}: tcl_strings need Python's Tcl interpreter (the tkinter module), "
                                      "which this Python lacks; use func= and dt= instead") from None
        for key in ("script", "script_name"):
            if key not in tcl_strings:
                raise ValueError(f"{what}: tcl_strings needs the key {key!r}")
        # each procedure in a child interpreter of its own (its globals and procedure names apart from the
        # others'), inside this thread's interpreter
        self._child = f"micromag_proc{next(_CHILD)}"
        self._tcl.call("interp", "create", self._child)
        self._tcl.call(self._child, "eval", tcl_strings["script"])
        self.name = tcl_strings["script_name"]
        self.args = tcl_strings.get("script_args", "total_time").split()
        bad = [a for a in self.args if a not in ("stage", "stage_time", "total_time")]
        if bad:
            raise ValueError(f"{what}: script_args may name stage, stage_time and total_time, got {bad}")
        self.what = what
        self.stage_length = None  # s, set by a TimeDriver (OOMMF's stages are t/n long)

    def __call__(self, t):
        values = {"total_time": t}
        if self.stage_length:
            k = math.floor(t / self.stage_length * (1 + 1e-12))
            values.update(stage=k, stage_time=t - k * self.stage_length)
        else:
            values.update(stage=0, stage_time=t)
        argv = " ".join(repr(float(values[a])) if a != "stage" else str(int(values[a])) for a in self.args)
        out = self._tcl.eval(f"{self._child} eval {{{self.name} {argv}}}")  # the result as a string
        try:
            return np.array([float(x) for x in self._tcl.splitlist(out)], dtype=float)
        except ValueError:
            raise ValueError(f"{self.what}: the Tcl procedure {self.name} returned {out!r}, not numbers") from None


def prefactor(term, what):
    """The time dependence of a term as ``g(t) -> numpy array`` (1 value: a factor; 9 values: a matrix,
    row by row; 3: a diagonal), or None for a static term. ``what`` names the term in error messages."""
    func = attr(term, "func")
    wave = attr(term, "wave")
    tcl = attr(term, "tcl_strings")
    kind = func if isinstance(func, str) else wave if isinstance(wave, str) else None
    if kind is not None:
        f, t0 = attr(term, "f"), attr(term, "t0", 0.0)
        if f is None:
            raise ValueError(f"{what}: func={kind!r} needs the frequency f (Hz)")
        w = 2 * math.pi * float(f)
        t0 = float(t0)
        if kind == "sin":
            return lambda t: np.array([math.sin(w * (t - t0))])
        if kind == "sinc":
            return lambda t: np.array([1.0 if w * (t - t0) == 0 else math.sin(w * (t - t0)) / (w * (t - t0))])
        raise ValueError(f"{what}: func must be 'sin', 'sinc' or a callable, got {kind!r}")
    if callable(func):
        dt = attr(term, "dt")
        if dt is None or not dt > 0:
            raise ValueError(f"{what}: a callable func needs dt > 0 (s), the interval it is sampled at")
        dt = float(dt)

        def sampled(t, func=func, dt=dt):
            v = np.atleast_1d(np.asarray(func(round(t / dt) * dt), dtype=float)).ravel()
            if v.size not in (1, 9) or not np.all(np.isfinite(v)):
                raise ValueError(f"{what}: func(t) must return one finite number or 9 (a 3×3 matrix), got {v}")
            return v

        return sampled
    if isinstance(tcl, dict):
        return TclProc(tcl, what)
    return None


def apply(g, t, B0, kind="factor"):
    """The value at t of a static vector field ``B0`` ((3,) or (3, nz, ny, nx)) under pre-factor ``g``.

    ``kind``: 'factor' (1 number; 9 numbers act as a matrix), 'uzeeman' (Oxs_ScriptUZeeman: the script's
    first 3 numbers are the field itself, in the unit of ``B0``'s scale, see the caller), 'general',
    'diagonal' or 'identity' (Oxs_TransformZeeman types)."""
    v = g(t)
    if kind == "uzeeman":
        return v[:3].copy()
    if kind == "general" or (kind == "factor" and v.size == 9):
        M = v[:9].reshape(3, 3)
        return np.einsum("ij,j...->i...", M, B0)
    if kind == "diagonal":
        d = v[:3]
        return d.reshape((3,) + (1,) * (np.ndim(B0) - 1)) * B0
    return float(v[0]) * B0


def is_number(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool)

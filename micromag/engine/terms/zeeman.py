"""Zeeman energy in an applied field: static, per batch member, spatial, or time-dependent."""
from __future__ import annotations

import numpy as np

from .base import DRIVE, PATTERN, Param, Term
from .stencil import Scratch


class Zeeman(Term):
    r"""Applied field B_ext (Tesla, B = μ0 H).

    Energy density   e = −Ms_eff m·B_ext     (J/m³, Ms_eff = Ms·fill)
    Field (T)        B = B_ext in magnetic cells, 0 elsewhere.

    ``B_ext`` (also through :meth:`set`) may be

    - None: no field;
    - a 3-vector (T), uniform and static (one broadcast add per call);
    - a (B, 3) array: one uniform vector per batch member (B must match the batch at evaluation);
    - a (3, nz, ny, nx) spatial field, or (B, 3, nz, ny, nx) per batch member;
    - a callable ``f(t)`` of time in seconds returning a 3-vector or a (3, nz, ny, nx) field; it is called
      once per batch member with that member's time (once only when all members share one time). The GPU
      backend calls it once at t = 0 s when it is set, to learn which of the two it returns.
    """

    name = "zeeman"
    kernel = "zeeman.cuh"
    energy_rule = "linear"
    options = ("SPATIAL", "SPATIAL_BATCH")
    parameters = (
        Param("B_ext", "T", DRIVE, "uniform applied field of each member", size=3),
        Param("map", "T", PATTERN, "spatial applied field (3, nz, ny, nx), or (B, 3, nz, ny, nx) per member"),
    )

    @classmethod
    def auto(cls, system, **options):
        return cls(system)

    def __init__(self, system, B_ext=None):
        super().__init__(system)
        mag = system.magnetic
        self._all_magnetic = bool(mag.all())
        self._mask = mag.astype(float)
        self._scratch = Scratch()
        self.set(B_ext)

    # ------------------------------------------------------------------ input
    def _shapes_msg(self):
        nz, ny, nx = self.grid.shape
        return (f"expected a 3-vector (3,), a (B, 3) array, a (3, nz, ny, nx) = (3, {nz}, {ny}, {nx}) or "
                f"(B, 3, {nz}, {ny}, {nx}) array in Tesla, or a callable f(t) returning (3,) or (3, {nz}, {ny}, {nx})")

    def _as_array(self, value, what):
        try:
            a = np.array(value, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"{what} must be numeric; {self._shapes_msg()}, got {value!r}") from None
        return a

    def _check_finite(self, a, what):
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{what} must be finite (no NaN or inf) in Tesla")

    def set(self, B_ext):
        """Set the applied field (see the class docstring for the accepted forms)."""
        self._kind = None
        self._value = None
        self._func = None
        self._raw = B_ext
        if B_ext is None:
            return
        if callable(B_ext):
            self._kind = "callable"
            self._func = B_ext
            return
        a = self._as_array(B_ext, "B_ext")
        shape3 = (3,) + self.grid.shape
        if a.shape == (3,):
            self._check_finite(a, "B_ext")
            if not np.any(a):
                return
            self._kind = "uniform"
            if self._all_magnetic:
                self._value = a.reshape(1, 3, 1, 1, 1)
            else:
                self._value = (a.reshape(3, 1, 1, 1) * self._mask)[None]  # (1, 3, nz, ny, nx)
        elif a.ndim == 2 and a.shape[1] == 3:
            self._check_finite(a, "B_ext")
            self._kind = "batch"
            self._value = a.reshape(a.shape[0], 3, 1, 1, 1)
            if not self._all_magnetic:
                self._value = self._value * self._mask
        elif a.shape == shape3:
            self._check_finite(a, "B_ext")
            self._kind = "spatial"
            self._value = (a * self._mask)[None]
        elif a.ndim == 5 and a.shape[1:] == shape3:
            self._check_finite(a, "B_ext")
            self._kind = "batch"
            self._value = a * self._mask
        else:
            raise ValueError(f"B_ext has shape {a.shape}; {self._shapes_msg()}")

    @property
    def B_ext(self):
        """The setting as given: None, a vector or array in T, or the callable."""
        return self._raw

    def check_batch(self, batch):
        if self._kind == "batch" and self._value.shape[0] != batch:
            raise ValueError(f"B_ext was given for {self._value.shape[0]} batch members, the batch has {batch}")

    # ------------------------------------------------------------------ device inputs
    def _device_kind(self):
        """None, 'vector' (one 3-vector for all), 'vectors' (B, 3), 'spatial', 'spatial_batch',
        'callable_vector' or 'callable_field'."""
        if self._kind is None:
            return None
        if self._kind == "callable":
            if getattr(self, "_probe", None) is None or self._probe[0] is not self._func:
                v = np.asarray(self._func(0.0), dtype=float)
                self._probe = (self._func, "callable_vector" if v.shape == (3,) else "callable_field")
            return self._probe[1]
        raw = np.asarray(self._raw, dtype=float)
        if raw.shape == (3,):
            return "vector"
        if raw.ndim == 2:
            return "vectors"
        return "spatial" if raw.ndim == 4 else "spatial_batch"

    def device_options(self):
        kind = self._device_kind()
        if kind == "spatial":
            return ("SPATIAL",)
        if kind in ("spatial_batch", "callable_field"):
            return ("SPATIAL", "SPATIAL_BATCH")
        return ()

    def device_drives(self, t, batch, m=None):
        kind = self._device_kind()
        out = np.zeros((batch, 3))
        if kind == "vector":
            out[:] = np.asarray(self._raw, dtype=float)
        elif kind == "vectors":
            out[:] = np.asarray(self._raw, dtype=float)
        elif kind == "callable_vector":
            last = None
            for b, x in enumerate(np.broadcast_to(np.asarray(t, dtype=float), (batch,))):
                if last is None or x != last[0]:
                    last = (x, self._checked_call(float(x), (3,)))
                out[b] = last[1]
        return {"B_ext": out}

    def device_patterns(self):
        kind = self._device_kind()
        if kind == "spatial":
            return {"map": self._value[0]}
        if kind == "spatial_batch":
            return {"map": self._value}
        return {}

    def dynamic_patterns(self, t, batch):
        """Patterns that change with time (a callable returning a field): {"map": (B, 3, nz, ny, nx)}."""
        if self._device_kind() != "callable_field":
            return {}
        v = self._eval_callable(t, batch, np.float64)
        return {"map": np.broadcast_to(v, (batch, 3) + self.grid.shape)}

    def host_dynamic(self):
        return self._kind == "callable"

    def average(self, t):
        """Applied field averaged over the magnet (fill-weighted), T, shape (B, 3) for times t (B,)."""
        t = np.atleast_1d(np.asarray(t, dtype=float))
        nb = t.shape[0]
        v = self._current(t, nb, float)
        if v is None:
            return np.zeros((nb, 3))
        w = self.system.fill * self.system.magnetic
        v = np.broadcast_to(v, (max(nb, v.shape[0]), 3) + self.grid.shape)
        return np.einsum("bcijk,ijk->bc", v, w) / w.sum()

    # ------------------------------------------------------------------ evaluation
    def _eval_callable(self, t, nb, dtype):
        """(nb, 3, 1, 1, 1) or (nb, 3, nz, ny, nx) field from the callable, masked to magnetic cells."""
        shape3 = (3,) + self.grid.shape
        t = np.broadcast_to(np.asarray(t, dtype=float), (nb,))
        vals = []
        last_t, last_v = None, None
        for b in range(nb):
            tb = float(t[b])
            if last_t is not None and tb == last_t:
                vals.append(last_v)
                continue
            raw = self._func(tb)
            try:
                v = np.asarray(raw, dtype=float)
            except (TypeError, ValueError):
                raise ValueError(f"B_ext(t) at t = {tb!r} s returned {raw!r}; expected (3,) or {shape3} in Tesla") from None
            if v.shape not in ((3,), shape3):
                raise ValueError(f"B_ext(t) at t = {tb!r} s returned shape {v.shape}; expected (3,) or {shape3} in Tesla")
            if not np.all(np.isfinite(v)):
                raise ValueError(f"B_ext(t) at t = {tb!r} s returned non-finite values")
            last_t, last_v = tb, v
            vals.append(v)
        if all(v.shape == (3,) for v in vals):
            out = self._scratch.get("vec", (nb, 3, 1, 1, 1), dtype)
            out[:, :, 0, 0, 0] = vals
            if self._all_magnetic:
                return out
            full = self._scratch.get("field", (nb,) + shape3, dtype)
            np.multiply(out, self._mask, out=full)
            return full
        out = self._scratch.get("field", (nb,) + shape3, dtype)
        for b, v in enumerate(vals):
            out[b] = v.reshape(3, 1, 1, 1) if v.shape == (3,) else v
        if not self._all_magnetic:
            out *= self._mask
        return out

    def _checked_call(self, tb, shape):
        raw = self._func(tb)
        try:
            v = np.asarray(raw, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"B_ext(t) at t = {tb!r} s returned {raw!r}; expected {shape} in Tesla") from None
        if v.shape != shape:
            raise ValueError(f"B_ext(t) at t = {tb!r} s returned shape {v.shape}; expected {shape} in Tesla "
                             "(a function must return the same kind of value at every time)")
        if not np.all(np.isfinite(v)):
            raise ValueError(f"B_ext(t) at t = {tb!r} s returned non-finite values")
        return v

    def _current(self, t, nb, dtype):
        if self._kind is None:
            return None
        if self._kind == "callable":
            return self._eval_callable(t, nb, dtype)
        v = self._value
        if self._kind == "batch" and v.shape[0] != nb:
            raise ValueError(f"B_ext was given for {v.shape[0]} batch members (shape {v.shape[:2]}), "
                             f"but the magnetization has B = {nb}")
        return v

    def add_field(self, m, t, B):
        """Add B_ext (T), restricted to magnetic cells, into ``B``."""
        v = self._current(t, m.shape[0], m.dtype)
        if v is not None:
            B += v

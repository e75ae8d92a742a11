"""Time-dependent drives: current and voltage pulses, DC levels, sequences, any function of time.

A drive is a callable ``d(t) -> value`` evaluated with the times of the batch members, ``t`` of shape (B,)
in seconds, returning an array of shape (B,) (scalar drives such as a current density in A/m² or a
voltage in V). Any Python function of one float works too (:func:`as_drive` vectorizes it). Amplitudes may
be per batch member: ``Pulse(amplitude=[1e11, 2e11, 3e11], ...)`` drives three members differently.
"""
from __future__ import annotations

import math

import numpy as np

from .validation import check_number


def _amplitude(a):
    arr = np.asarray(a, dtype=float)
    if arr.ndim > 1 or not np.all(np.isfinite(arr)):
        raise ValueError(f"amplitude must be a finite number or a 1-D array (one per batch member), got {a!r}")
    return arr


class Drive:
    """Base class: ``drive(t)`` with t (B,) seconds returns (B,) values."""

    def __call__(self, t):
        raise NotImplementedError

    def __add__(self, other):
        return Sequence(self, other)


class DC(Drive):
    """A constant level (per member if an array)."""

    def __init__(self, amplitude):
        self.amplitude = _amplitude(amplitude)

    def __call__(self, t):
        t = np.atleast_1d(np.asarray(t, dtype=float))
        return np.broadcast_to(self.amplitude, t.shape).astype(float)


class Pulse(Drive):
    """A trapezoidal pulse: 0 before ``start``, linear rise over ``rise``, flat top of ``amplitude`` until
    ``start + width``, linear fall over ``fall``, then 0. ``width`` is measured from the start of the
    rise to the start of the fall (the full width at half maximum when rise = fall). All times in s.
    """

    def __init__(self, amplitude, width, start=0.0, rise=0.0, fall=None):
        self.amplitude = _amplitude(amplitude)
        self.width = check_number("width", width, lo=0.0, unit="s")
        self.start = check_number("start", start, unit="s")
        self.rise = check_number("rise", rise, lo=0.0, unit="s")
        self.fall = self.rise if fall is None else check_number("fall", fall, lo=0.0, unit="s")
        if self.rise > self.width:
            raise ValueError(f"rise ({self.rise} s) must not exceed width ({self.width} s)")

    @property
    def end(self):
        """Time at which the pulse is back to zero, s."""
        return self.start + self.width + self.fall

    def shape(self, t):
        """Normalized envelope in [0, 1]."""
        t = np.asarray(t, dtype=float) - self.start
        up = np.clip(t / self.rise, 0.0, 1.0) if self.rise > 0 else (t >= 0).astype(float)
        td = t - self.width
        down = 1.0 - (np.clip(td / self.fall, 0.0, 1.0) if self.fall > 0 else (td >= 0).astype(float))
        return np.minimum(up, down)

    def __call__(self, t):
        t = np.atleast_1d(np.asarray(t, dtype=float))
        return self.amplitude * self.shape(t)


class Sequence(Drive):
    """The sum of several drives (e.g. a write pulse then a read pulse)."""

    def __init__(self, *drives):
        self.drives = [as_drive(d) for d in drives]

    def __call__(self, t):
        t = np.atleast_1d(np.asarray(t, dtype=float))
        return sum(np.broadcast_to(d(t), t.shape) for d in self.drives)


class Function(Drive):
    """Wraps ``f(t: float) -> float`` (called once per distinct member time)."""

    def __init__(self, f):
        self.f = f

    def __call__(self, t):
        t = np.atleast_1d(np.asarray(t, dtype=float))
        out = np.empty(t.shape)
        last = None
        for i, ti in enumerate(t):
            if last is None or ti != last[0]:
                v = float(self.f(float(ti)))
                if not math.isfinite(v):
                    raise ValueError(f"drive function returned {v!r} at t = {ti} s")
                last = (ti, v)
            out[i] = last[1]
        return out


def as_drive(value):
    """A Drive from a number, a per-member array, a Drive, or a function of t."""
    if value is None:
        return DC(0.0)
    if isinstance(value, Drive):
        return value
    if callable(value):
        return Function(value)
    return DC(value)


def drive_values(drive, t, batch):
    """Evaluate a drive at member times t (B,): returns (B,) floats, checking per-member lengths."""
    try:
        v = np.asarray(drive(np.asarray(t, dtype=float)), dtype=float)
    except ValueError as exc:
        if "broadcast" in str(exc):
            raise ValueError(f"a drive has a different number of values than the batch has members ({batch}): "
                             f"{exc}") from None
        raise
    if v.ndim == 0:
        v = np.full(batch, float(v))
    if v.shape != (batch,):
        raise ValueError(f"a drive gave {v.shape[0] if v.ndim else 1} values for a batch of {batch} members")
    return v


def member_values(name, drive, t, nb):
    """drive_values with an error that names the parameter when its per-member length is wrong."""
    try:
        return drive_values(drive, t, nb)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc} (give one value, or one per batch member: {nb})") from None

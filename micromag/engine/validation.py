"""Checks of user input, in one place: "a finite number in a range, in a unit", "an integer", "a probability",
"a 3-vector", "unit vectors". Every public function that takes numbers uses these, and so does
:meth:`micromag.engine.terms.base.Param.check`, so a term's declared range and a function argument's range are
checked, and reported, by the same rule.

Each check returns the clean value or raises ValueError naming the parameter, the allowed range and the
unit, before any work starts. Booleans and strings are never numbers here (``True`` is not 1 A/m, "1e-9"
is not a time).
"""
from __future__ import annotations

import math

import numpy as np


def range_text(lo=None, hi=None, lo_open=False, hi_open=False, unit=""):
    """The interval as it is written in error messages: ``[0, 1)``, ``(0, inf) m``, ``(-inf, inf)``."""
    left = "(" if (lo_open or lo is None) else "["
    right = ")" if (hi_open or hi is None) else "]"
    lo_s = "-inf" if lo is None else f"{lo:g}"
    hi_s = "inf" if hi is None else f"{hi:g}"
    return f"{left}{lo_s}, {hi_s}{right}" + (f" {unit}" if unit else "")


def in_range(x, lo=None, hi=None, lo_open=False, hi_open=False):
    """Whether every entry of ``x`` (a float or an array) is finite and inside the interval."""
    x = np.asarray(x, dtype=float)
    ok = np.isfinite(x)
    if lo is not None:
        ok &= (x > lo) if lo_open else (x >= lo)
    if hi is not None:
        ok &= (x < hi) if hi_open else (x <= hi)
    return bool(np.all(ok))


def _not_number(name, value, unit):
    return ValueError(f"{name} must be a number{' in ' + unit if unit else ''}, got {value!r}")


def _outside(name, value, lo, hi, lo_open, hi_open, unit):
    return ValueError(f"{name} = {value!r} is outside the allowed range {range_text(lo, hi, lo_open, hi_open, unit)}")


def _is_text_or_bool(value):
    return isinstance(value, (bool, np.bool_, str, bytes))


def check_number(name, value, lo=None, hi=None, lo_open=False, hi_open=False, unit="", allow_none=False):
    """``float(value)`` for a finite number within the interval from ``lo`` to ``hi`` (None: unbounded;
    ``lo_open``/``hi_open`` exclude a bound), given in ``unit`` (SI). ``allow_none``: None passes as None."""
    if value is None and allow_none:
        return None
    if _is_text_or_bool(value):
        raise _not_number(name, value, unit)
    try:
        x = float(value)
    except (TypeError, ValueError, OverflowError):
        raise _not_number(name, value, unit) from None
    if not in_range(x, lo, hi, lo_open, hi_open):
        raise _outside(name, value, lo, hi, lo_open, hi_open, unit)
    return x


def check_numbers(name, value, lo=None, hi=None, lo_open=False, hi_open=False, unit=""):
    """:func:`check_number` for a number or an array of numbers (every entry checked): a float for a scalar,
    else a float64 array of the same shape."""
    if _is_text_or_bool(value):
        raise _not_number(name, value, unit)
    try:
        a = np.asarray(value, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raise _not_number(name, value, unit) from None
    if not in_range(a, lo, hi, lo_open, hi_open):
        raise _outside(name, value, lo, hi, lo_open, hi_open, unit)
    return float(a) if a.ndim == 0 else a


def check_finite(name, value, unit=""):
    """``float(value)`` if it is a finite number (any sign), else a ValueError naming ``name``."""
    return check_number(name, value, unit=unit)


def check_positive(name, value, unit="", allow_zero=False):
    """A finite number > 0 (>= 0 with ``allow_zero``) in ``unit``: a time step, a tolerance, a length."""
    return check_number(name, value, lo=0.0, lo_open=not allow_zero, unit=unit)


def check_probability(name, value):
    """A probability strictly between 0 and 1 (a target error rate, a confidence level)."""
    return check_number(name, value, lo=0.0, hi=1.0, lo_open=True, hi_open=True)


def check_int(name, value, lo=None, hi=None):
    """``int(value)`` for an integer (bool excluded; a float only if it is a whole number) within [lo, hi],
    else a ValueError naming ``name``."""
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if not ok and isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
        ok = True
    rng = (f" >= {lo}" if hi is None else f" in [{lo}, {hi}]") if lo is not None else ""
    if not ok or (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ValueError(f"{name} must be an integer{rng}, got {value!r}")
    return int(value)


def check_vector3(name, value, unit_vector=False):
    """A finite 3-vector as a float64 array (3,); ``unit_vector``: of non-zero length, normalized."""
    try:
        a = np.array(value, dtype=float).reshape(3)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a 3-vector, got {value!r}") from None
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if unit_vector:
        n = float(np.linalg.norm(a))
        if n < 1e-12:
            raise ValueError(f"{name} must have non-zero length, got {value!r}")
        a = a / n
    return a


def check_unit_rows(a, axis, name):
    """``a`` divided by its length along ``axis`` (directions given as vectors of any length); every vector
    must be finite and of non-zero length."""
    n = np.sqrt((a * a).sum(axis=axis, keepdims=True))
    if not np.all(np.isfinite(a)) or np.any(n < 1e-12):
        raise ValueError(f"{name} must be finite vectors of non-zero length")
    return a / n


__all__ = ["range_text", "in_range", "check_number", "check_numbers", "check_finite", "check_positive",
           "check_probability", "check_int", "check_vector3", "check_unit_rows"]

"""What a long operation will cost, known before it starts.

A run's number of steps has a lower bound that needs no integration: a fixed-step integrator takes
``duration / dt`` steps; an adaptive one can take no step longer than ``dt_max``, nor (for long) one beyond
its stability limit ρ_max / ω, where ω = γ (max |B_eff| + B_ex) is the largest precession frequency on the
grid (B_ex = (2A/Ms) Σ 4/d_i², T, the exchange field of the shortest spin wave). Each step costs the
tableau's evaluations, each evaluation at least ``EVAL_OVERHEAD_S`` plus ``cells / CELL_RATE``. A call whose
lower-bound wall time exceeds the limit (``MICROMAG_MAX_HOURS``, default 2 h) is refused before any work with
the estimate and the ways on (``allow_long=True``, a coarser setting); every estimate is a lower bound, so a
refused run would have taken at least that long.

The rates are deliberately optimistic (faster than measured), so the bound stays a bound:
CPU 3e7 cell-evaluations/s and 20 µs per evaluation (measured: 1.5e7 /s and ~60 µs, 2-core EPYC,
benchmarks/results/cpu-epyc-20261202.json); GPU 1e10 /s and 5 µs (an H100's bandwidth bound for ~300 B/cell).
"""
from __future__ import annotations

import math
import os

CELL_RATE = {"cpu": 3e7, "gpu": 1e10, "emulate": 3e7}  # cell-evaluations per second, optimistic
EVAL_OVERHEAD_S = {"cpu": 20e-6, "gpu": 5e-6, "emulate": 20e-6}
DEFAULT_MAX_HOURS = 2.0


class TooLong(ValueError):
    """An operation whose lower-bound cost exceeds the limit; the message gives the estimate and the ways on."""


def max_seconds():
    """The longest estimated wall time (s) a call may start without ``allow_long=True``
    (``MICROMAG_MAX_HOURS``, default 2 h)."""
    raw = os.environ.get("MICROMAG_MAX_HOURS")
    if raw is None:
        return DEFAULT_MAX_HOURS * 3600.0
    try:
        h = float(raw)
    except ValueError:
        raise ValueError(f"MICROMAG_MAX_HOURS must be a number of hours > 0, got {raw!r}") from None
    if not (h > 0):
        raise ValueError(f"MICROMAG_MAX_HOURS must be a number of hours > 0, got {raw!r}")
    return h * 3600.0


def eval_seconds(cells, backend="cpu"):
    """Lower bound of the wall time of one field evaluation over ``cells`` cells (all members), s."""
    kind = "gpu" if backend not in CELL_RATE else backend
    return EVAL_OVERHEAD_S[kind] + cells / CELL_RATE[kind]


def fmt_seconds(s):
    if s < 120:
        return f"{s:.3g} s"
    if s < 7200:
        return f"{s / 60:.3g} min"
    if s < 86400 * 3:
        return f"{s / 3600:.3g} h"
    if s < 86400 * 365 * 3:
        return f"{s / 86400:.3g} days"
    return f"{s / (86400 * 365.25):.3g} years"


def run_steps(duration, fixed, dt, dt_max, omega=None, rho_max=None):
    """Lower bound of the steps of a run of ``duration`` s.

    fixed : a fixed-step integrator (``dt`` s per step); otherwise adaptive with steps <= ``dt_max`` s and,
    when ``omega`` (rad/s) and the tableau's stability limit ``rho_max`` (dimensionless ω·dt) are known,
    <= rho_max / omega.
    """
    if fixed:
        return duration / dt
    longest = dt_max
    if omega and rho_max and omega > 0 and rho_max > 0:
        longest = min(longest, rho_max / omega)
    return duration / longest


def check(what, seconds, allow_long=False, detail="", advice=""):
    """Refuse (:class:`TooLong`) an operation estimated at more than :func:`max_seconds` unless allowed."""
    limit = max_seconds()
    if allow_long or seconds <= limit:
        return seconds
    raise TooLong(f"{what} would take at least {fmt_seconds(seconds)} ({detail}); the limit is "
                  f"{fmt_seconds(limit)}. {advice}{' ' if advice else ''}Pass allow_long=True to start it anyway, "
                  "or raise MICROMAG_MAX_HOURS.")


def check_tolerance(name, tol, field_scale, eps):
    """Refuse a convergence criterion ``tol`` (T) below what the arithmetic can resolve: ``eps`` (the dtype's
    machine epsilon) times ``field_scale`` (the largest field, T), times 10 for the rounding of a sum."""
    floor = 10.0 * eps * field_scale
    if math.isfinite(floor) and tol < floor:
        raise ValueError(f"{name} = {tol:g} T cannot be met: the torque of a field of {field_scale:.3g} T is only "
                         f"resolved to ~{floor:.2g} T in this precision (machine epsilon {eps:.2g}); choose "
                         f"{name} >= {floor:.2g} T")
    return tol

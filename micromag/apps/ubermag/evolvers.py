"""The evolver classes Ubermag scripts name, mapped onto micromag's solvers.

Every evolver accepts the attributes oommfc's evolver of the same name accepts, so existing scripts run;
the ones micromag uses are listed per class, the others are OOMMF tuning knobs that have no counterpart
here and are ignored (listed in ``IGNORED`` after a drive, and in the README's Ubermag section).

- :class:`CGEvolver` (MinDriver, HysteresisDriver): micromag's minimizer (:mod:`micromag.engine.relax`: capped
  Barzilai–Borwein descent along −m × (m × B), RK23 polishing only if it stalls); ``method``
  ('Fletcher-Reeves', 'Polak-Ribiere') names OOMMF's conjugate-gradient variant and does not change it.
- :class:`RungeKuttaEvolver`, :class:`SpinTEvolver`, :class:`SpinXferEvolver`: adaptive Runge–Kutta.
  ``method`` 'rkf54', 'rkf54s' -> micromag's Dormand–Prince RK5(4)7FC and 7FS (OOMMF's own pairs),
  'rkf54m' -> Dormand–Prince RK45 (RK5(4)7M), 'rk2' -> Bogacki–Shampine RK23, 'rk4' -> classic RK4 (fixed step
  ``start_dt``, default 1e-13 s). ``min_timestep``, ``max_timestep`` bound the step (s); ``start_dt`` is the
  first step (s); ``absolute_step_error`` (deg per step) sets micromag's ``tol`` (rad of |Δm| per step).
- :class:`EulerEvolver`: micromag has no adaptive Euler scheme; the adaptive RK23 (the lowest order
  adaptive scheme micromag has) runs with the same bounds; ``start_dm`` (deg) sets its first step via
  start_dm / max|dm/dt| when ``start_dt`` is not given.
- :class:`UHH_ThetaEvolver`, :class:`Xf_ThermHeunEvolver`, :class:`Xf_ThermSpinXferEvolver`: finite
  temperature with micromag's stochastic Heun (Brown's thermal field, Stratonovich), fixed step
  ``fixed_timestep`` (s, default 1e-13 s; ``min_timestep`` / ``max_timestep`` when set equal, as OOMMF's
  Xf_ThermHeunEvolve uses them). The temperature is ``system.T`` (K).
"""
from __future__ import annotations

import micromagneticmodel as mm

_RK = ["alpha", "gamma_LL", "gamma_G", "do_precess", "allow_signed_gamma", "min_timestep", "max_timestep",
       "fixed_spins", "start_dm", "start_dt", "stage_start", "error_rate", "absolute_step_error",
       "relative_step_error", "energy_precision", "min_step_headroom", "max_step_headroom", "reject_goal",
       "method"]
_STT = ["u", "beta", "J", "mp", "P", "Lambda", "eps_prime", "J_profile", "J_profile_args", "u_profile",
        "u_profile_args", "J_direction", "energy_slack", "propagate_mp", "func", "dt", "tcl_strings"]
_THERM = ["fixed_timestep", "temperature", "uniform_seed", "tempscript", "tempscript_args"]

USED = {"method", "min_timestep", "max_timestep", "start_dt", "start_dm", "absolute_step_error", "fixed_timestep",
        "stopping_mxHxm", "total_iteration_limit", "stage_iteration_limit", "stopping_dm_dt", "uniform_seed"}


class Evolver(mm.Evolver):
    """Base class of the micromag evolvers."""

    kind = "time"

    def settings(self):
        """The attributes that are set, as a dict."""
        return dict(iter(self))


class CGEvolver(Evolver):
    """Energy minimization (see the module docstring)."""

    kind = "min"
    _allowed_attributes = ["method", "gradient_reset_angle", "gradient_reset_count", "minimum_bracket_step",
                           "maximum_bracket_step", "line_minimum_angle_precision", "line_minimum_relwidth",
                           "energy_error_adj", "fixed_spins"]


class RungeKuttaEvolver(Evolver):
    """Adaptive Runge–Kutta time integration (see the module docstring)."""

    _allowed_attributes = list(_RK)


class EulerEvolver(Evolver):
    """OOMMF's adaptive Euler: micromag's adaptive RK23 (see the module docstring)."""

    _allowed_attributes = ["alpha", "gamma_LL", "gamma_G", "do_precess", "allow_signed_gamma", "min_timestep",
                           "max_timestep", "fixed_spins", "start_dm", "start_dt", "error_rate",
                           "absolute_step_error", "relative_step_error", "step_headroom"]


class SpinTEvolver(Evolver):
    """Zhang–Li spin-transfer torque (OOMMF's Anv_SpinTEvolve): adaptive RK45."""

    _allowed_attributes = list(_RK) + _STT


class SpinXferEvolver(Evolver):
    """Slonczewski spin-transfer torque (OOMMF's Oxs_SpinXferEvolve): adaptive RK45."""

    _allowed_attributes = list(_RK) + _STT


class UHH_ThetaEvolver(Evolver):
    """Finite temperature (stochastic Heun, fixed step; see the module docstring)."""

    kind = "thermal"
    _allowed_attributes = ["alpha", "gamma_LL", "do_precess", "fixed_spins", "fixed_timestep", "temperature",
                           "ito_calculus", "method", "uniform_seed", "min_timestep", "max_timestep"]


class Xf_ThermHeunEvolver(Evolver):
    """Finite temperature (stochastic Heun, fixed step; see the module docstring)."""

    kind = "thermal"
    _allowed_attributes = list(_RK) + _THERM


class Xf_ThermSpinXferEvolver(Evolver):
    """Finite temperature with Slonczewski torque (stochastic Heun, fixed step)."""

    kind = "thermal"
    _allowed_attributes = list(_RK) + _STT + _THERM


TIME_EVOLVERS = (RungeKuttaEvolver, EulerEvolver, SpinTEvolver, SpinXferEvolver, UHH_ThetaEvolver,
                 Xf_ThermHeunEvolver, Xf_ThermSpinXferEvolver)

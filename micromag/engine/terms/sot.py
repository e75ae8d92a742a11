r"""Spin-orbit torque from a heavy-metal layer below the free layer (damping-like and field-like).

Parameters
----------
J          drive (:mod:`micromag.engine.drives`: a number, a per-member array, a Pulse, a function of t): charge
           current density in the heavy metal, A/m² (per batch member). With ``current_field`` it is the
           amplitude that scales the (normalized) pattern.
theta_sh   spin Hall angle in (−1, 1), or ``heavy_metal`` (a :class:`micromag.engine.heavy_metal.HeavyMetal`) whose
           ``theta_eff`` = θ_SH (1 − sech(t_HM/λ_sf)) is used (θ_SH when it has no λ_sf). Exactly one.
direction  current direction ĵ: a 3-vector (default x̂) or a per-cell field (2 or 3, ny, nx) or
           (3, nz, ny, nx); only its in-plane part is used, normalized per cell.
current_field  a (2 or 3, ny, nx) current-density pattern (e.g. from ``WriteLine.pattern`` or
           ``WriteLine.current_density``); it is normalized so that its fill-weighted mean magnitude over the
           free layer is 1, so J is the mean current density under the magnet; the local |J| and direction
           follow the pattern (current crowding). Replaces ``direction``.
xi_FL      ratio of the field-like to the damping-like field, B_FL = ξ_FL B_DL (any real number).
t_F        free-layer thickness in m (default: the grid thickness nz·dz).

Formula (SI)
------------
B_DL = ħ θ J / (2 e Ms t_F)      (T; Ms the material Ms of the cell, J the local current density)
B_FL = ξ_FL B_DL
σ    = ẑ × ĵ                     (unit spin polarization; ẑ points from the heavy metal into the free layer)

Torque in Gilbert form (1/s), added into the LLG's torque buffer (the LLG turns it into Landau–Lifshitz form):

T = −γ B_DL m × (m × σ) − γ B_FL m × σ  =  γ B_DL [σ − (m·σ) m] − γ B_FL m × σ

Sign conventions (what the tests check)
---------------------------------------
* θ J > 0: the damping-like torque turns m *towards* +σ (it acts like damping towards σ); θ J < 0: towards
  −σ. For a current along +x, σ = ẑ × x̂ = +ŷ. So for Pt-like θ > 0 a current along +x favours m = +ŷ;
  β-W and Ta (θ < 0) favour −ŷ.
* The field-like torque is that of an effective field B_FL σ (precession about σ, −γ m × B).
* The damping-like torque is that of the effective field B_DL (m × σ). For a perpendicular layer in an
  in-plane field Hx along the current (ĵ = x̂, σ = ŷ), m tilts to m_x ∝ Hx, and the damping-like field
  then has a z component B_DL m_x: θ J Hx > 0 switches m to +ẑ, θ J Hx < 0 to −ẑ.
"""
from __future__ import annotations

import numpy as np

from ..constants import e as e_charge, hbar
from ..drives import as_drive, drive_values
from ..validation import check_number
from .base import CONSTANT, DRIVE, PATTERN, Param, TorqueTerm
from .stencil import Scratch


def damping_like_field(theta, J, Ms, t_F):
    """B_DL = ħ θ J / (2 e Ms t_F) in T (θ dimensionless, J in A/m², Ms in A/m, t_F in m)."""
    return hbar * theta * J / (2 * e_charge * Ms * t_F)


class SpinOrbitTorque(TorqueTerm):
    __doc__ = __doc__

    name = "sot"
    kernel = "sot.cuh"
    drive_sources = {"J": "J"}
    parameters = (
        Param("J", "A/m²", DRIVE, "charge current density in the heavy metal, per member"),
        Param("s", "1/s per A/m²", PATTERN, "γ B_DL σ per unit current density, (3, nz, ny, nx)"),
        Param("xi_FL", "", CONSTANT, "field-like / damping-like ratio"),
    )

    def __init__(self, system, J, theta_sh=None, heavy_metal=None, direction=(1.0, 0.0, 0.0), xi_FL=0.0,
                 t_F=None, current_field=None):
        super().__init__(system)
        g = self.grid
        if (theta_sh is None) == (heavy_metal is None):
            raise ValueError("give exactly one of theta_sh (in (-1, 1)) or heavy_metal (a HeavyMetal)")
        if heavy_metal is not None:
            from ..heavy_metal import HeavyMetal

            if not isinstance(heavy_metal, HeavyMetal):
                raise TypeError(f"heavy_metal must be a micromag.engine.heavy_metal.HeavyMetal, got {type(heavy_metal).__name__}")
            theta = heavy_metal.theta_eff
        else:
            theta = check_number("theta_sh", theta_sh, lo=-1.0, hi=1.0, lo_open=True, hi_open=True)
        self.heavy_metal = heavy_metal
        self.theta = theta
        self.xi_FL = check_number("xi_FL", xi_FL)
        self.t_F = g.nz * g.cell[2] if t_F is None else check_number("t_F", t_F, lo=0.0, lo_open=True, unit="m")
        if self.t_F > 1e-3:
            raise ValueError(f"t_F = {self.t_F} m is larger than 1 mm; lengths are in metres (e.g. 1e-9)")
        self.J = as_drive(J)
        mag = system.magnetic
        shape3 = (3,) + g.shape

        # in-plane current direction per cell, with its local magnitude (1 unless current_field is given)
        if current_field is not None:
            cf = np.asarray(current_field, dtype=float)
            if cf.ndim != 3 or cf.shape[0] not in (2, 3) or cf.shape[1:] != (g.ny, g.nx):
                raise ValueError(f"current_field must have shape (2 or 3, ny, nx) = (2, {g.ny}, {g.nx}), got {cf.shape}")
            if not np.all(np.isfinite(cf)):
                raise ValueError("current_field must be finite")
            jx = np.broadcast_to(cf[0], g.shape)
            jy = np.broadcast_to(cf[1], g.shape)
            amp = np.sqrt(jx**2 + jy**2)
            w = system.fill * mag
            mean = float((amp * w).sum() / w.sum())
            if not mean > 0:
                raise ValueError("current_field is zero under the free layer: the current line does not touch the "
                                 "free layer (check its shape and position)")
            ux = np.zeros(g.shape)
            uy = np.zeros(g.shape)
            np.divide(jx, amp, out=ux, where=amp > 0)
            np.divide(jy, amp, out=uy, where=amp > 0)
            scale = amp / mean
        else:
            d = np.asarray(direction, dtype=float)
            if d.shape == (3,) or d.shape == (2,):
                d = d[:2].reshape(2, 1, 1, 1) * np.ones((1,) + g.shape)
            elif d.ndim == 3 and d.shape[0] in (2, 3) and d.shape[1:] == (g.ny, g.nx):
                d = np.broadcast_to(d[:2, None], (2,) + g.shape)
            elif d.shape == shape3:
                d = d[:2]
            else:
                raise ValueError(f"direction must be a 3-vector or a per-cell field of shape (2 or 3, ny, nx) or "
                                 f"(3, nz, ny, nx) = {shape3}, got {d.shape}")
            if not np.all(np.isfinite(d)):
                raise ValueError("direction must be finite")
            amp = np.sqrt(d[0] ** 2 + d[1] ** 2)
            if np.any(amp[mag] < 1e-12):
                raise ValueError("direction has no in-plane component in some magnetic cell: the current flows in "
                                 "the x-y plane of the heavy metal")
            ux = np.zeros(g.shape)
            uy = np.zeros(g.shape)
            np.divide(d[0], amp, out=ux, where=amp > 0)
            np.divide(d[1], amp, out=uy, where=amp > 0)
            scale = np.ones(g.shape)
        # σ = ẑ × ĵ = (−j_y, j_x, 0)
        sigma = np.zeros(shape3)
        sigma[0] = -uy
        sigma[1] = ux
        self.sigma = np.where(mag, sigma, 0.0)
        self.current_scale = np.where(mag, scale, 0.0)
        self._scratch = Scratch()
        self.prepare()

    def prepare(self):
        """γ B_DL σ per unit J from the current materials (Ms, γ)."""
        system, g, theta = self.system, self.grid, self.theta
        mag = system.magnetic
        Ms = system.param("Ms")
        gamma = system.param("gamma")
        # γ B_DL per unit J (1/s per A/m²), per cell: γ ħ θ |j| / (2 e Ms t_F)
        coef = np.zeros(g.shape)
        np.divide(gamma * hbar * theta * self.current_scale, 2 * e_charge * Ms * self.t_F, out=coef, where=mag)
        self._bdl_unit = np.zeros(g.shape)
        np.divide(hbar * theta * self.current_scale, 2 * e_charge * Ms * self.t_F, out=self._bdl_unit, where=mag)
        self._s = (coef[None] * self.sigma)[None]  # (1, 3, nz, ny, nx): γ B_DL σ per unit J
        self._uniform_s = None
        vals = self._s[0][:, mag]
        if np.all(vals == vals[:, :1]) and bool(mag.all()):
            self._uniform_s = self._s[:, :, :1, :1, :1].copy()  # broadcastable (1, 3, 1, 1, 1)

    # ------------------------------------------------------------------ device inputs
    def device_patterns(self):
        return {"s": self._s[0]}

    def device_constants(self):
        return {"xi_FL": self.xi_FL}


    # ------------------------------------------------------------------ helpers
    def B_DL(self, J):
        """Damping-like field per cell (T, (nz, ny, nx)) for a current density J (A/m²)."""
        return self._bdl_unit * float(J)

    def B_FL(self, J):
        """Field-like field per cell (T) for J (A/m²): ξ_FL B_DL."""
        return self.xi_FL * self.B_DL(J)

    # ------------------------------------------------------------------ evaluation
    def add_torque(self, m, t, T):
        """T += J [ s − (m·s) m − ξ m × s ] with s = γ B_DL σ per unit J (Gilbert form, 1/s)."""
        nb = m.shape[0]
        Jv = drive_values(self.J, t, nb)
        if not np.any(Jv):
            return
        s = self._uniform_s if self._uniform_s is not None else self._s
        sc = self._scratch
        shape1 = (nb,) + m.shape[2:]
        ms = sc.get("ms", shape1, m.dtype)
        tmp = sc.get("tmp", shape1, m.dtype)
        # m·s
        np.multiply(m[:, 0], s[:, 0], out=ms)
        np.multiply(m[:, 1], s[:, 1], out=tmp)
        ms += tmp
        np.multiply(m[:, 2], s[:, 2], out=tmp)
        ms += tmp
        jb = Jv.reshape(nb, 1, 1, 1)
        xi = self.xi_FL
        acc = sc.get("acc", shape1, m.dtype)
        for i, (j, k) in enumerate(((1, 2), (2, 0), (0, 1))):
            # s_i − (m·s) m_i
            np.multiply(m[:, i], ms, out=acc)
            np.subtract(s[:, i], acc, out=acc)
            if xi != 0.0:
                # − ξ (m × s)_i = − ξ (m_j s_k − m_k s_j)
                np.multiply(m[:, j], s[:, k], out=tmp)
                tmp *= -xi
                acc += tmp
                np.multiply(m[:, k], s[:, j], out=tmp)
                tmp *= xi
                acc += tmp
            acc *= jb
            T[:, i] += acc

"""Voltage-controlled magnetic anisotropy (VCMA): the interface anisotropy changed by the MTJ bias."""
from __future__ import annotations

import numpy as np

from ..drives import as_drive
from .base import CONSTANT, DRIVE, Param, Term, drive_is_static
from .stencil import Scratch
from ..validation import check_number, check_unit_rows
from .stt import free_layer_thickness, member_values


class VCMA(Term):
    r"""Uniaxial anisotropy change produced by a voltage V across the tunnel barrier.

    Parameters
    ----------
    system : System
    V : bias voltage in V: a number, one per batch member, a drive (``Pulse``, ``DC``, ...) or f(t).
    xi : VCMA coefficient ξ in J/(V·m) (finite; e.g. 50 fJ/(V·m) = 5e-14; may be negative).
    t_ox : barrier (oxide) thickness in m, > 0.
    t_F : free-layer thickness in m (> 0); default the grid thickness nz·dz.
    axis : anisotropy axis u (normalized), default z (the film normal).

    Formula
    -------
        ΔK_i = −ξ V / t_ox                    (J/m², interface anisotropy change)
        ΔK   = ΔK_i / t_F = −ξ V / (t_ox t_F) (J/m³, applied as a volume uniaxial anisotropy)
        e    = −fill ΔK (m·u)²                (J/m³)
        B    = (2 ΔK / Ms) (m·u) u            (T, Ms the material Ms)

    Sign: with ξ > 0 a positive V lowers the anisotropy along u (for CoFeB/MgO, V > 0 meaning the bias
    that depletes electrons at the interface, the usual VCMA-MRAM write polarity). A V that makes
    ΔK = −K_eff removes the perpendicular anisotropy: the basis of precessional VCMA switching.
    The term stores energy (it is a field term); ΔK differs per member when V does.
    """

    name = "vcma"
    kernel = "vcma.cuh"
    energy_rule = "custom"
    parameters = (
        Param("dK", "J/m³", DRIVE, "anisotropy change ΔK = −ξ V / (t_ox t_F), per member"),
        Param("axis", "", CONSTANT, "anisotropy axis u", size=3),
    )

    def __init__(self, system, V, xi, t_ox, t_F=None, axis=(0.0, 0.0, 1.0)):
        super().__init__(system)
        self.xi = check_number("xi", xi, unit="J/(V·m)")
        self.t_ox = check_number("t_ox", t_ox, lo=0.0, lo_open=True, unit="m")
        self.t_F = free_layer_thickness(system, t_F)
        try:
            u = np.array(axis, dtype=float).reshape(3)
        except (TypeError, ValueError):
            raise ValueError(f"axis must be a 3-vector, got {axis!r}") from None
        self.axis = tuple(float(c) for c in check_unit_rows(u, 0, "axis"))
        self.V = as_drive(V)
        self._u = [(c, self.axis[c]) for c in range(3) if self.axis[c] != 0.0]
        self._scratch = Scratch()
        self.prepare()

    def prepare(self):
        """2/Ms per cell from the current materials."""
        system = self.system
        mag = system.magnetic
        inv = np.zeros(self.grid.shape)
        np.divide(2.0, system.param("Ms"), out=inv, where=mag)
        self._k = inv[None]  # 2/Ms per cell, (1, nz, ny, nx)
        self._fill = np.where(mag, system.fill, 0.0)[None]

    # ------------------------------------------------------------------ device inputs
    def device_constants(self):
        return {"axis": self.axis}

    def device_drives(self, t, batch, m=None):
        return {"dK": self._dK(t, batch)}

    def host_dynamic(self):
        return not drive_is_static(self.V)

    def check_batch(self, batch):
        member_values("V", self.V, np.zeros(batch), batch)

    def delta_Ki(self, V):
        """Interface anisotropy change ΔK_i = −ξ V / t_ox in J/m² (V in volts, number or array)."""
        return -self.xi * np.asarray(V, dtype=float) / self.t_ox

    def delta_K(self, V):
        """Volume anisotropy change ΔK = −ξ V / (t_ox t_F) in J/m³ (V in volts, number or array)."""
        return self.delta_Ki(V) / self.t_F

    def _dK(self, t, nb):
        return self.delta_K(member_values("V", self.V, t, nb))

    def _projection(self, m):
        sc = self._scratch
        s = sc.get("s", (m.shape[0],) + m.shape[2:], m.dtype)
        tmp = sc.get("tmp", s.shape, m.dtype)
        (c0, u0), rest = self._u[0], self._u[1:]
        np.multiply(m[:, c0], u0, out=s)
        for c, uc in rest:
            np.multiply(m[:, c], uc, out=tmp)
            s += tmp
        return s, tmp

    def add_field(self, m, t, B):
        """Add (2ΔK/Ms)(m·u)u (T) into B."""
        nb = m.shape[0]
        dK = self._dK(t, nb)
        if not np.any(dK):
            return
        s, tmp = self._projection(m)
        s *= self._k
        s *= dK.reshape(nb, 1, 1, 1)
        for c, uc in self._u:
            np.multiply(s, uc, out=tmp)
            B[:, c] += tmp

    def energy_density(self, m, t):
        """−fill ΔK (m·u)² in J/m³, shape (B, nz, ny, nx)."""
        nb = m.shape[0]
        dK = self._dK(t, nb)
        s, _ = self._projection(m)
        e = s * s
        e *= self._fill
        e *= -dK.reshape(nb, 1, 1, 1)
        return e

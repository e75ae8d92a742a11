"""Slonczewski spin-transfer torque through a magnetic tunnel junction (current perpendicular to the film)."""
from __future__ import annotations

import numpy as np

from ..constants import e as _e, hbar as _hbar
from ..drives import as_drive, member_values  # noqa: F401  (member_values: used by the other terms too)
from ..validation import check_number, check_unit_rows
from .base import CONSTANT, DRIVE, PATTERN, Param, TorqueTerm, drive_is_static
from .stencil import Scratch


def free_layer_thickness(system, t_F):
    """t_F in m: the given value (validated, > 0) or the grid thickness nz·dz."""
    if t_F is None:
        return system.grid.nz * system.grid.cell[2]
    return check_number("t_F", t_F, lo=0.0, lo_open=True, unit="m")




class SlonczewskiSTT(TorqueTerm):
    r"""Slonczewski spin-transfer torque from a fixed (reference/polarizer) layer of direction p.

    Parameters
    ----------
    system : System
    J : current density through the junction, A/m² (perpendicular to the film): a number, one number per
        batch member, a :mod:`~micromag.engine.drives` drive (``Pulse``, ``DC``, ...) or a function of t (s); or an
        object with ``current_density(m, t) -> (B,)`` (e.g. :class:`~micromag.apps.readout.MTJ` with a bias
        voltage: J = V G(m) / area follows the junction's resistance).
    p : polarizer (fixed-layer) direction: a 3-vector, a (B, 3) array (one per member), a (3, nz, ny, nx)
        per-cell array, or a function f(t) -> 3-vector (evaluated per member). Normalized.
    P : spin polarization, in [0, 1].
    Lambda : Slonczewski asymmetry parameter Λ, in (0, 1e3] (Λ = 1: no angular asymmetry).
    eps_prime : secondary (field-like) spin-transfer efficiency ε′, dimensionless, finite.
    t_F : free-layer thickness in m (> 0); default the grid thickness nz·dz.
    mask : optional (nz, ny, nx) weights in [0, 1] of the current flowing through each cell (e.g. the
        junction footprint); default 1 in every magnetic cell.

    Formula (MuMax3's, Vansteenkiste et al., AIP Adv. 4, 107133 (2014), written in Gilbert form)
    --------------------------------------------------------------------------------------------
        β  = ħ J / (e Ms t_F)                                   (Tesla; e > 0, Ms the material Ms)
        ε  = P Λ² / ((Λ² + 1) + (Λ² − 1) (m·p))
        T  = γ β [ ε m × (p × m) + ε′ p × m ]                   (1/s, Gilbert form)

    The LLG (see :mod:`micromag.engine.llg`) turns T into (T + α m × T)/(1 + α²); with |m| = 1,
    m × (m × (p × m)) = m × p, so the Landau–Lifshitz torque is
    γ/(1+α²) β [ (ε + α ε′) m × (p × m) + (ε′ − α ε) p × m ], MuMax3's Slonczewski torque.
    The ε′ term equals the torque of an effective field β ε′ p (T): ε′ > 0 acts like a field along p.

    Units: ħ/e in V·s, J/(Ms t_F) in A/m² / (A/m · m) = 1/m²  →  β in V·s/m² = T, and γβ in 1/s. β ε is the
    angular momentum delivered per unit time, (ħ/2)(P J/e) for Λ = 1, over the free layer's Ms t_F / γ.

    Sign: J > 0 means electrons flow from the fixed layer into the free layer (conventional current from
    the free to the fixed layer); the damping-like term ε m × (p × m) = ε (p − (m·p) m) then pulls m
    toward p, i.e. J > 0 favours the parallel state m ∥ p and J < 0 the antiparallel one.
    """

    name = "stt"
    kernel = "stt.cuh"
    options = ("P_SPATIAL",)
    parameters = (
        Param("J", "A/m²", DRIVE, "current density through the junction, per member"),
        Param("p", "", DRIVE, "polarizer direction per member", size=3),
        Param("c", "1/s per A/m²", PATTERN, "γ ħ w / (e Ms t_F) per cell"),
        Param("p_map", "", PATTERN, "per-cell polarizer (3, nz, ny, nx)"),
        Param("eps_prime", "", CONSTANT, "secondary spin-transfer efficiency ε′"),
        Param("eps_num", "", CONSTANT, "P Λ²"),
        Param("eps_a", "", CONSTANT, "Λ² + 1"),
        Param("eps_b", "", CONSTANT, "Λ² − 1"),
    )

    def __init__(self, system, J, p=(0.0, 0.0, 1.0), P=0.6, Lambda=1.0, eps_prime=0.0, t_F=None, mask=None):
        super().__init__(system)
        self.P = check_number("P", P, lo=0.0, hi=1.0)
        self.Lambda = check_number("Lambda", Lambda, lo=0.0, lo_open=True, hi=1e3)  # Λ² must not overflow; Λ ~ 1-5
        self.eps_prime = check_number("eps_prime", eps_prime)
        self.t_F = free_layer_thickness(system, t_F)
        g = self.grid
        w = np.ones(g.shape)
        if mask is not None:
            w = np.asarray(mask, dtype=float)
            if w.shape != g.shape:
                raise ValueError(f"mask must have the grid shape (nz, ny, nx) = {g.shape}, got {w.shape}")
            if not np.all(np.isfinite(w)) or w.min() < 0 or w.max() > 1:
                raise ValueError("mask weights must lie in [0, 1]")
        self.mask = w
        self.J = J
        self._set_p(p)
        L2 = self.Lambda**2
        self._eps_const = self.P / 2.0 if L2 == 1.0 else None
        self._e_num, self._e_a, self._e_b = self.P * L2, L2 + 1.0, L2 - 1.0
        self._scratch = Scratch()
        self.prepare()

    def prepare(self):
        """γ ħ w / (e Ms t_F) per cell (1/s per A/m²) from the current materials."""
        system = self.system
        mag = system.magnetic
        c = np.zeros(self.grid.shape)
        np.divide(system.param("gamma") * _hbar * self.mask, _e * system.param("Ms") * self.t_F, out=c, where=mag)
        self._c = c[None]  # (1, nz, ny, nx)

    @property
    def J(self):
        """The current density: a drive (A/m², per member) or an object with ``current_density(m, t)``
        (e.g. :class:`~micromag.apps.readout.MTJ` with a bias voltage)."""
        return self._J

    @J.setter
    def J(self, value):
        self._J = value if hasattr(value, "current_density") else as_drive(value)

    # ------------------------------------------------------------------ device inputs
    def device_options(self):
        return ("P_SPATIAL",) if self._p_spatial() else ()

    def _p_spatial(self):
        return self._p_func is None and self._p.shape[2:] != (1, 1, 1)

    def device_patterns(self):
        pats = {"c": self._c[0]}
        if self._p_spatial():
            pats["p_map"] = self._p[0]
        return pats

    def device_constants(self):
        return {"eps_prime": self.eps_prime, "eps_num": self._e_num, "eps_a": self._e_a, "eps_b": self._e_b}

    def device_drives(self, t, batch, m=None):
        mm = np.zeros((batch, 3, 1, 1, 1)) if m is None else m
        d = {"J": self.current_density(mm, t)}
        if not self._p_spatial():
            d["p"] = np.broadcast_to(self.polarizer(t, batch)[:, :, 0, 0, 0], (batch, 3))
        return d

    def needs_m_on_host(self):
        return hasattr(self._J, "current_density")

    def host_dynamic(self):
        return self.needs_m_on_host() or not drive_is_static(self._J) or self._p_func is not None

    def check_batch(self, batch):
        if self._p is not None and self._p.shape[0] not in (1, batch):
            raise ValueError(f"p was given for {self._p.shape[0]} members, the batch has {batch}")
        if not hasattr(self._J, "current_density"):
            member_values("J", self._J, np.zeros(batch), batch)

    # ------------------------------------------------------------------ polarizer
    def _set_p(self, p):
        g = self.grid
        self._p_func = None
        if callable(p):
            self._p_func = p
            self._p = None
            return
        try:
            a = np.array(p, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"p must be a 3-vector, a (B, 3) array, a (3, nz, ny, nx) array or a function of t, got {p!r}") from None
        if a.shape == (3,):
            self._p = check_unit_rows(a, 0, "p").reshape(1, 3, 1, 1, 1)
        elif a.ndim == 2 and a.shape[1] == 3:
            self._p = check_unit_rows(a, 1, "p").reshape(a.shape[0], 3, 1, 1, 1)
        elif a.shape == (3,) + g.shape:
            a = np.where(self.system.magnetic, a, np.array([0.0, 0.0, 1.0])[:, None, None, None])
            self._p = check_unit_rows(a, 0, "p")[None]
        else:
            raise ValueError(f"p has shape {a.shape}; expected (3,), (B, 3) or (3, nz, ny, nx) = (3, {g.nz}, {g.ny}, {g.nx})")

    def polarizer(self, t, nb):
        """p as an array broadcastable to (B, 3, nz, ny, nx) for member times t."""
        if self._p_func is None:
            if self._p.shape[0] not in (1, nb):
                raise ValueError(f"p was given for {self._p.shape[0]} members, the state has B = {nb}")
            return self._p
        out = np.empty((nb, 3, 1, 1, 1))
        for b in range(nb):
            v = np.asarray(self._p_func(float(t[b])), dtype=float)
            if v.shape != (3,):
                raise ValueError(f"p(t) must return a 3-vector, got shape {v.shape} at t = {float(t[b])} s")
            out[b, :, 0, 0, 0] = check_unit_rows(v, 0, "p(t)")
        return out

    def current_density(self, m, t):
        """J (A/m²) per member, shape (B,)."""
        nb = m.shape[0]
        if hasattr(self._J, "current_density"):
            return np.broadcast_to(np.asarray(self._J.current_density(m, t), dtype=float), (nb,))
        return member_values("J", self._J, t, nb)

    def beta(self, J, Ms=None):
        """β = ħ J / (e Ms t_F) in T for current density J (A/m²); Ms defaults to the (uniform) material Ms."""
        Ms = self.system.uniform("Ms") if Ms is None else Ms
        return _hbar * np.asarray(J, dtype=float) / (_e * Ms * self.t_F)

    def epsilon(self, mp):
        """ε(m·p) = P Λ² / ((Λ² + 1) + (Λ² − 1) m·p)."""
        return self._e_num / (self._e_a + self._e_b * np.asarray(mp, dtype=float))

    # ------------------------------------------------------------------ torque
    def add_torque(self, m, t, T):
        """Add γβ[ε m×(p×m) + ε′ p×m] (1/s) into T."""
        nb = m.shape[0]
        J = self.current_density(m, t)
        if not np.any(J):
            return
        p = self.polarizer(t, nb)
        sc = self._scratch
        shp = (nb,) + m.shape[2:]
        pre = sc.get("pre", shp, m.dtype)  # γ β per cell, 1/s
        np.multiply(self._c, J.reshape(nb, 1, 1, 1), out=pre)
        mp = sc.get("mp", shp, m.dtype)
        tmp = sc.get("tmp", shp, m.dtype)
        np.multiply(m[:, 0], p[:, 0], out=mp)
        np.multiply(m[:, 1], p[:, 1], out=tmp)
        mp += tmp
        np.multiply(m[:, 2], p[:, 2], out=tmp)
        mp += tmp
        a = sc.get("a", shp, m.dtype)  # γ β ε
        if self._eps_const is not None:
            np.multiply(pre, self._eps_const, out=a)
        else:
            np.multiply(mp, self._e_b, out=a)
            a += self._e_a
            np.divide(pre, a, out=a)
            a *= self._e_num
        for c in range(3):  # ε (p − (m·p) m)
            np.multiply(m[:, c], mp, out=tmp)
            np.subtract(p[:, c], tmp, out=tmp)
            tmp *= a
            T[:, c] += tmp
        if self.eps_prime != 0.0:
            pre *= self.eps_prime
            for c, (j, k) in enumerate(((1, 2), (2, 0), (0, 1))):  # (p × m)_c = p_j m_k − p_k m_j
                np.multiply(p[:, j], m[:, k], out=tmp)
                np.subtract(tmp, p[:, k] * m[:, j], out=tmp)
                tmp *= pre
                T[:, c] += tmp

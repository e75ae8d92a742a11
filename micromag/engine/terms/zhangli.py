"""Zhang–Li spin-transfer torque for currents flowing in the plane of (through) the magnet."""
from __future__ import annotations

import numpy as np

from ..constants import e as _e, muB as _muB
from ..drives import as_drive
from .base import CONSTANT, DRIVE, PATTERN, Param, TorqueTerm, drive_is_static
from .stencil import AXES, Scratch, faces
from ..validation import check_number
from .stt import member_values


class ZhangLiSTT(TorqueTerm):
    r"""Zhang–Li torque (S. Zhang and Z. Li, PRL 93, 127204 (2004)) in MuMax3's convention.

    Parameters
    ----------
    system : System
    J : current density in A/m² (charge current, conventional direction):
        - a sequence of three entries (Jx, Jy, Jz), each a number, a per-member array, a drive or a
          function of t (s): uniform current, per batch member;
        - a NumPy (B, 3) array: one uniform current per member;
        - a NumPy (3, nz, ny, nx) array (static current distribution) or (B, 3, nz, ny, nx) (per member).
    P : spin polarization of the current, in [0, 1].
    xi : non-adiabaticity ξ (called β in ../shared/reference/analytic.md), finite, >= 0.

    Formula
    -------
        u = μB P J / (e Ms (1 + ξ²))          (m/s; e > 0, Ms the material Ms; MuMax3's definition)
        D = (u·∇) m                           (central differences, Neumann edges)
        T = D − (m·D) m − ξ m × D            (Gilbert form, 1/s)

    i.e. the Gilbert-form LLG reads dm/dt = −γ m × B + α m × dm/dt + (u·∇)m − ξ m × (u·∇)m (the part of
    (u·∇)m along m, zero in the continuum, is removed). The LLG turns T into (T + α m × T)/(1 + α²);
    with m × (m × D) = −(D − (m·D) m) that is
        −1/(1 + α²) [ (1 + ξα) m × (m × D) + (ξ − α) m × D ],
    exactly MuMax3's Zhang–Li torque. A texture is carried along −u, the direction of the electron flow
    (opposite to J for P > 0): for ξ = α, m(r, t) = m(r + u t, 0) exactly. A domain wall below breakdown
    moves steadily at v = −(ξ/α) u; for ξ = 0 a wall with a hard axis stops after a transient (intrinsic
    pinning) when |u| is below γ Δ K⊥ / Ms. Note that the 1/(1 + ξ²) of MuMax3's u makes these
    velocities smaller by that factor than with u = μB P J/(e Ms) (0.25 % for ξ = 0.05).

    Derivatives: ∂_a m at cell i is (m_{i+1} − m_{i−1}) / (2 d_a); a neighbour outside the grid or not
    magnetic is replaced by m_i itself (zero gradient across free edges, as MuMax3); along a periodic axis
    the neighbour of the last cell is the first (:mod:`micromag.engine.terms.stencil`). An axis with a single cell
    contributes nothing.
    """

    name = "zhangli"
    kernel = "zhangli.cuh"
    needs_neighbours = True
    options = ("SPATIAL", "SPATIAL_BATCH")
    parameters = (
        Param("J", "A/m²", DRIVE, "uniform current density (Jx, Jy, Jz) per member", size=3),
        Param("J_map", "A/m²", PATTERN, "current density per cell (3, nz, ny, nx) or (B, 3, nz, ny, nx)"),
        Param("k", "m/s per A/m²", PATTERN, "μB P / (e Ms (1 + ξ²)) per cell"),
        Param("xi", "", CONSTANT, "non-adiabaticity ξ"),
    )

    def __init__(self, system, J, P=0.6, xi=0.0):
        super().__init__(system)
        self.P = check_number("P", P, lo=0.0, hi=1.0)
        self.xi = check_number("xi", xi, lo=0.0)
        g = self.grid
        mag = system.magnetic
        self.prepare()
        self._set_J(J)
        # faces along each axis with two magnetic cells: weight 1, else 0 (Neumann ghost = the cell itself)
        self._faces = []
        for axis5, gaxis in AXES:
            for lo, hi, _ in faces(g, axis5, gaxis):
                lo3, hi3 = lo[2:], hi[2:]
                both = (mag[lo3] & mag[hi3]).astype(float)
                self._faces.append((gaxis, lo, hi, None if both.all() else both[None, None],
                                    1.0 / (2.0 * g.cell[gaxis])))
        self._scratch = Scratch()

    def prepare(self):
        """μB P / (e Ms (1 + ξ²)) per cell from the current materials."""
        k = np.zeros(self.grid.shape)
        np.divide(_muB * self.P, _e * self.system.param("Ms") * (1.0 + self.xi**2), out=k, where=self.system.magnetic)
        self._k = k[None]  # (1, nz, ny, nx): m/s per A/m²

    # ------------------------------------------------------------------ device inputs
    def _map(self):
        a = self._J_array
        return a is not None and a.shape[2:] != (1, 1, 1)

    def device_options(self):
        if not self._map():
            return ()
        return ("SPATIAL",) if self._J_array.shape[0] == 1 else ("SPATIAL", "SPATIAL_BATCH")

    def device_patterns(self):
        pats = {"k": self._k[0]}
        if self._map():
            a = self._J_array
            pats["J_map"] = a[0] if a.shape[0] == 1 else a
        return pats

    def device_constants(self):
        return {"xi": self.xi}

    def device_drives(self, t, batch, m=None):
        if self._map():
            return {"J": np.zeros((batch, 3))}
        return {"J": np.broadcast_to(self.current(t, batch)[:, :, 0, 0, 0], (batch, 3))}

    def host_dynamic(self):
        return self._J_drives is not None and not all(drive_is_static(d) for d in self._J_drives)

    def check_batch(self, batch):
        if self._J_array is not None and self._J_array.shape[0] not in (1, batch):
            raise ValueError(f"J was given for {self._J_array.shape[0]} members, the batch has {batch}")
        if self._J_drives is not None:
            self.current(np.zeros(batch), batch)

    def _set_J(self, J):
        g = self.grid
        self._J_drives = None
        self._J_array = None
        if isinstance(J, np.ndarray) and J.ndim != 1:
            a = np.array(J, dtype=float)
            if not np.all(np.isfinite(a)):
                raise ValueError("J must be finite (A/m²)")
            if a.ndim == 2 and a.shape[1] == 3:
                self._J_array = a.reshape(a.shape[0], 3, 1, 1, 1)
            elif a.shape == (3,) + g.shape:
                self._J_array = a[None]
            elif a.ndim == 5 and a.shape[1:] == (3,) + g.shape:
                self._J_array = a
            else:
                raise ValueError(f"J has shape {a.shape}; expected three entries (Jx, Jy, Jz), (B, 3), "
                                 f"(3, nz, ny, nx) = (3, {g.nz}, {g.ny}, {g.nx}) or (B, 3, nz, ny, nx) in A/m²")
            return
        try:
            items = list(J)
        except TypeError:
            raise ValueError(f"J must be a vector (Jx, Jy, Jz) of numbers or drives, or an array in A/m², got {J!r}") from None
        if len(items) != 3:
            raise ValueError(f"J must have three components (Jx, Jy, Jz) in A/m², got {len(items)}")
        self._J_drives = [as_drive(c) for c in items]

    def current(self, t, nb):
        """J as an array broadcastable to (B, 3, nz, ny, nx), A/m²."""
        if self._J_drives is not None:
            out = np.empty((nb, 3, 1, 1, 1))
            for c, d in enumerate(self._J_drives):
                out[:, c, 0, 0, 0] = member_values(f"J{'xyz'[c]}", d, t, nb)
            return out
        if self._J_array.shape[0] not in (1, nb):
            raise ValueError(f"J was given for {self._J_array.shape[0]} members, the state has B = {nb}")
        return self._J_array

    def velocity(self, J=None):
        """u = μB P J / (e Ms (1 + ξ²)) in m/s for a current density J (A/m², scalar or vector), uniform Ms."""
        Ms = self.system.uniform("Ms")
        return _muB * self.P * np.asarray(J, dtype=float) / (_e * Ms * (1.0 + self.xi**2))

    def add_torque(self, m, t, T):
        """Add D − (m·D) m − ξ m × D, D = (u·∇)m (1/s), into T."""
        nb = m.shape[0]
        Jv = self.current(t, nb)
        if not np.any(Jv):
            return
        sc = self._scratch
        D = sc.get("D", m.shape, m.dtype)
        D.fill(0.0)
        g = sc.get("g", m.shape, m.dtype)
        for nf, (gaxis, lo, hi, w, inv2d) in enumerate(self._faces):
            Ja = Jv[:, gaxis]  # (B or 1, 1|nz, 1|ny, 1|nx)
            if not np.any(Ja):
                continue
            f = sc.get(("f", nf), m[hi].shape, m.dtype)
            np.subtract(m[hi], m[lo], out=f)
            if w is not None:
                f *= w
            g.fill(0.0)
            g[lo] += f
            g[hi] += f  # g_i = m_{i+1} − m_{i−1} with Neumann ghosts
            g *= (Ja * inv2d)[:, None]
            D += g
        D *= self._k[:, None]
        shp = (nb,) + m.shape[2:]
        md = sc.get("md", shp, m.dtype)
        tmp = sc.get("tmp", shp, m.dtype)
        np.multiply(m[:, 0], D[:, 0], out=md)
        np.multiply(m[:, 1], D[:, 1], out=tmp)
        md += tmp
        np.multiply(m[:, 2], D[:, 2], out=tmp)
        md += tmp
        xi = self.xi
        for c, (j, k) in enumerate(((1, 2), (2, 0), (0, 1))):
            Tc = T[:, c]
            Tc += D[:, c]
            np.multiply(m[:, c], md, out=tmp)
            Tc -= tmp
            if xi != 0.0:
                np.multiply(m[:, j], D[:, k], out=tmp)  # (m × D)_c
                tmp -= m[:, k] * D[:, j]
                tmp *= xi
                Tc -= tmp

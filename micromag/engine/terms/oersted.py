r"""Oersted field of the heavy-metal write line at the free layer.

Parameters
----------
line          a :class:`micromag.engine.heavy_metal.WriteLine`; its normalized current pattern (``line.pattern``,
              mean |J| = 1 under the free layer) times the drive gives the current density in the HM
J             drive (A/m², per batch member): the mean current density under the free layer (for the default
              straight stripe: its uniform current density)
heavy_metal   the HM (for its thickness t_HM); default ``line.heavy_metal``
gap           distance in m between the top of the HM and the bottom of the free layer (default 0)
shunt         passed to ``line.pattern`` (FM parallel conductance), optional

Geometry: the HM occupies −gap − t_HM ≤ z' ≤ −gap below the free layer, whose cells have centres at
z = (k + ½) dz, k = 0 … nz−1 (ẑ from the HM into the FM, as in :mod:`micromag.engine.terms.sot`).

Formula (Biot–Savart, exact per cell)
-------------------------------------
Each HM cell column (dx × dy × t_HM) carries a uniform in-plane current density J_c (fill-weighted: f J, so a
partly filled edge cell carries its share of the current). For a uniform J in a prism,

    B(r) = (μ0/4π) J × F(r),     F(r) = ∫_prism (r − r') / |r − r'|³ dV'

and F is the gravitational field of a uniform rectangular prism, in closed form: with (u, v, w) = r' − r at
the prism's corners, s = ±1 for the upper/lower bound of each coordinate and R = √(u² + v² + w²),

    F_x = Σ s_u s_v s_w G(u; v, w),  F_y = Σ G(v; w, u),  F_z = Σ G(w; u, v),
    G(a; b, c) = b ln(c + R) + c ln(b + R) − a atan(b c / (a R)).

Hence B_x = (μ0/4π) J_y F_z,  B_y = −(μ0/4π) J_x F_z,  B_z = (μ0/4π)(J_x F_y − J_y F_x), summed over all HM
cells; the sum is a 2D convolution over the x–y offsets, done once at construction by FFT. The field is linear
in the drive, so each evaluation is one scaled add.

Sign and limits
---------------
Infinite sheet (wide stripe) below the FM: F_z → 2π t_HM, so B = −(μ0 J t_HM / 2) (ẑ × ĵ) = −(μ0 J t_HM/2) σ:
for a current along +x the Oersted field at the free layer points along −ŷ (right-hand rule: above a current
flowing along +x the field circles towards −y), i.e. *against* the SOT polarization σ = ẑ × ĵ.
Far from a thin line the field is μ0 I / (2π d) (with the finite-segment correction for a line of finite
length), in the direction ĵ × r̂.

Energy density: e = −Ms_eff m·B_Oe (a Zeeman energy; J/m³).
"""
from __future__ import annotations

import numpy as np

from ..constants import mu0
from ..drives import as_drive, drive_values
from ..validation import check_number
from .base import DRIVE, PATTERN, Param, Term


def _log_plus(c, R, other2):
    """ln(c + R) evaluated without cancellation for c < 0: ln(other2 / (R − c)), other2 = R² − c²."""
    out = np.empty_like(R)
    pos = c >= 0
    out[pos] = np.log(c[pos] + R[pos])
    neg = ~pos
    with np.errstate(divide="ignore"):
        out[neg] = np.log(other2[neg] / (R[neg] - c[neg]))
    return out


def _G(a, b, c):
    R = np.sqrt(a * a + b * b + c * c)
    lc = _log_plus(c, R, a * a + b * b)
    lb = _log_plus(b, R, a * a + c * c)
    with np.errstate(divide="ignore", invalid="ignore"):
        at = np.where(a != 0, a * np.arctan(b * c / np.where(a != 0, a * R, 1.0)), 0.0)
    tb = np.where(b != 0, b * lc, 0.0)
    tc = np.where(c != 0, c * lb, 0.0)
    return tb + tc - at


def prism_F(X, Y, Z, size):
    """F(r) = ∫_prism (r − r')/|r − r'|³ dV' (m) for a prism of ``size`` (Lx, Ly, Lz) centred at the origin,
    at observation points (X, Y, Z) (arrays, m). Returns (Fx, Fy, Fz). Observation points must not lie on the
    planes of the prism's faces inside its extent (fine above or below it)."""
    X, Y, Z = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (X, Y, Z)))
    Lx, Ly, Lz = size
    Fx = np.zeros(X.shape)
    Fy = np.zeros(X.shape)
    Fz = np.zeros(X.shape)
    for su, u0 in ((1.0, Lx / 2), (-1.0, -Lx / 2)):
        u = u0 - X
        for sv, v0 in ((1.0, Ly / 2), (-1.0, -Ly / 2)):
            v = v0 - Y
            for sw, w0 in ((1.0, Lz / 2), (-1.0, -Lz / 2)):
                w = w0 - Z
                s = su * sv * sw
                Fx += s * _G(u, v, w)
                Fy += s * _G(v, w, u)
                Fz += s * _G(w, u, v)
    return Fx, Fy, Fz


def sheet_field(grid, Jc, t_HM, gap=0.0, z_obs=None):
    """Oersted field (T) of an in-plane current-density map Jc (2, ny, nx) (A/m², cell averages) flowing in a
    layer −gap − t_HM ≤ z ≤ −gap, at the heights ``z_obs`` (default the grid's layer centres (k + ½) dz).
    Returns (3, nz_obs, ny, nx)."""
    from scipy.signal import fftconvolve

    nx, ny = grid.nx, grid.ny
    dx, dy = grid.cell[0], grid.cell[1]
    if z_obs is None:
        z_obs = (np.arange(grid.nz) + 0.5) * grid.cell[2]
    z_obs = np.atleast_1d(np.asarray(z_obs, dtype=float))
    ox = np.arange(-(nx - 1), nx) * dx  # obs − source offsets
    oy = np.arange(-(ny - 1), ny) * dy
    zc = -gap - t_HM / 2  # source centre
    out = np.zeros((3, z_obs.size, ny, nx))
    c = mu0 / (4 * np.pi)
    Jx, Jy = Jc[0], Jc[1]
    for k, z in enumerate(z_obs):
        Fx, Fy, Fz = prism_F(ox[None, :], oy[:, None], z - zc, (dx, dy, t_HM))

        def conv(J, K):
            if not np.any(J):
                return np.zeros((ny, nx))
            return fftconvolve(J, K, mode="full")[ny - 1:2 * ny - 1, nx - 1:2 * nx - 1]

        cJyFz = conv(Jy, Fz)
        cJxFz = conv(Jx, Fz)
        out[0, k] = c * cJyFz
        out[1, k] = -c * cJxFz
        out[2, k] = c * (conv(Jx, Fy) - conv(Jy, Fx))
    return out


class OerstedField(Term):
    __doc__ = __doc__

    name = "oersted"
    kernel = "oersted.cuh"
    energy_rule = "linear"
    drive_sources = {"J": "J"}
    parameters = (
        Param("J", "A/m²", DRIVE, "mean current density under the free layer, per member"),
        Param("B_unit", "T per A/m²", PATTERN, "Biot–Savart field per unit drive, (3, nz, ny, nx)"),
    )

    def __init__(self, system, line, J, heavy_metal=None, gap=0.0, shunt=None):
        super().__init__(system)
        from ..heavy_metal import WriteLine

        if not isinstance(line, WriteLine):
            raise TypeError(f"line must be a micromag.engine.heavy_metal.WriteLine, got {type(line).__name__}")
        hm = line.resolve_heavy_metal(heavy_metal)
        self.gap = check_number("gap", gap, lo=0.0, unit="m")
        self.line = line
        self.heavy_metal = hm
        self.J = as_drive(J)
        pattern = line.pattern(system, heavy_metal=hm, shunt=shunt)  # checks the overlap
        Jc = pattern * line.fill(self.grid)[None]
        B = sheet_field(self.grid, Jc, hm.thickness, gap=self.gap)  # per unit drive
        self.B_unit = (B * system.magnetic[None])[None]  # (1, 3, nz, ny, nx)
        self._buf = None

    def device_patterns(self):
        return {"B_unit": self.B_unit[0]}


    def add_field(self, m, t, B):
        Jv = drive_values(self.J, t, m.shape[0])
        if not np.any(Jv):
            return
        buf = self._buf
        if buf is None or buf.shape != m.shape or buf.dtype != m.dtype:
            buf = self._buf = np.empty(m.shape, dtype=m.dtype)
        np.multiply(self.B_unit, Jv.reshape(-1, 1, 1, 1, 1), out=buf)
        B += buf


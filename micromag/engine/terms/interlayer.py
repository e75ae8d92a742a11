"""Interlayer (RKKY) exchange across a non-magnetic spacer: bilinear J1 and biquadratic J2 coupling."""
from __future__ import annotations

import numpy as np

from .base import PATTERN, Param, Term


class InterlayerExchange(Term):
    r"""Interlayer exchange between two magnetic layers separated by a spacer (Ru, W, Ta, ... or none).

    Energy per unit interface area (J/m²), for the two facing cells of one (x, y) column, m1 in the top
    plane of the lower layer and m2 in the bottom plane of the upper layer:

        E/area = −J1 m1·m2 − J2 (m1·m2)²

    J1 > 0 favours parallel (ferromagnetic) alignment, J1 < 0 antiparallel (a synthetic antiferromagnet),
    J2 < 0 favours 90°. This is the sign convention of OOMMF's Oxs_TwoSurfaceExchange
    (E = σ(1 − m1·m2) + σ2(1 − (m1·m2)²), σ = J1, σ2 = J2, differing by a constant; OOMMF user guide,
    "Oxs_TwoSurfaceExchange") and of Ubermag's ``micromagneticmodel.RKKY`` (sigma, sigma2); MuMax3's
    ``ext_InterExchange`` is the bilinear part (positive: ferromagnetic).

    Field (T) on the cell of plane k1 (thickness dz), from −(1/(Ms dx dy dz)) ∂E/∂m1:

        B1 = (J1 + 2 J2 m1·m2) / (Ms1 dz) · m2          (and B2 likewise with 1 ↔ 2)

    Energy density stored half in each of the two cells: e = (−J1 c − J2 c²) / (2 dz) J/m³ (c = m1·m2);
    with fill 1 the total is exactly the area energy above times the interface area, and its gradient is
    −Ms V B. Partly filled cells: the pair carries the weight min(f1, f2) and each cell's field is taken
    over its own fill (:func:`micromag.terms.stencil.fill_weights`), so the gradient stays exact. Only columns where both cells
    are magnetic couple; the cells between the two planes must not be magnetic (a spacer).

    Parameters
    ----------
    system : System
    couplings : list of (k1, k2, J1, J2) or dicts {k1, k2, J1, J2}: z-plane index of the lower layer's top
        plane, of the upper layer's bottom plane (k1 < k2 < nz), J1 and J2 in J/m² (J2 optional, default 0).
        A plane may be coupled downward once and upward once.
    """

    name = "interlayer"
    kernel = "interlayer.cuh"
    energy_rule = "custom"
    parameters = (
        Param("coupling", "J/m³", PATTERN, "(6, nz, ny, nx): J1/dz, J2/dz (J/m³) and the plane offset to the "
              "partner cell below (rows 0-2) and above (rows 3-5); offset 0: no partner"),
    )

    def __init__(self, system, couplings):
        super().__init__(system)
        g = self.grid
        nz = g.nz
        parsed = []
        if isinstance(couplings, (dict, tuple)) and not isinstance(couplings, list):
            couplings = [couplings]
        for i, c in enumerate(list(couplings)):
            if isinstance(c, dict):
                unknown = set(c) - {"k1", "k2", "J1", "J2"}
                if unknown:
                    raise ValueError(f"couplings[{i}]: unknown keys {sorted(unknown)} (allowed: k1, k2, J1, J2)")
                try:
                    k1, k2, J1, J2 = c["k1"], c["k2"], c["J1"], c.get("J2", 0.0)
                except KeyError as exc:
                    raise ValueError(f"couplings[{i}] lacks {exc.args[0]!r} (needs k1, k2, J1; J2 optional)") from None
            else:
                c = tuple(c)
                if len(c) not in (3, 4):
                    raise ValueError(f"couplings[{i}] must be (k1, k2, J1) or (k1, k2, J1, J2), got {c!r}")
                k1, k2, J1 = c[:3]
                J2 = c[3] if len(c) == 4 else 0.0
            for nm, k in (("k1", k1), ("k2", k2)):
                if isinstance(k, bool) or int(k) != k or not 0 <= int(k) < nz:
                    raise ValueError(f"couplings[{i}].{nm} = {k!r} must be a z-plane index in [0, {nz - 1}]")
            k1, k2 = int(k1), int(k2)
            if k2 <= k1:
                raise ValueError(f"couplings[{i}]: k2 = {k2} must lie above k1 = {k1} (k1 < k2)")
            J1 = Param("J1", "J/m²", PATTERN).check(J1, f"couplings[{i}].")
            J2 = Param("J2", "J/m²", PATTERN).check(J2, f"couplings[{i}].")
            parsed.append((k1, k2, J1, J2))
        if not parsed:
            raise ValueError("couplings must hold at least one (k1, k2, J1, J2)")
        up = [p[0] for p in parsed]
        down = [p[1] for p in parsed]
        for nm, ks in (("upward from", up), ("downward from", down)):
            dup = sorted({k for k in ks if ks.count(k) > 1})
            if dup:
                raise ValueError(f"plane(s) {dup} coupled {nm} more than once (one partner per side)")
        self.couplings = tuple(parsed)
        self.prepare()

    def prepare(self):
        """Coupled columns and the per-cell coefficient table from the current materials."""
        system, g = self.system, self.grid
        mag = system.magnetic
        Ms = system.param("Ms")
        dz = g.cell[2]
        fill = np.where(mag, system.fill, 0.0)
        self._pairs = []
        tab = np.zeros((6,) + g.shape)
        for i, (k1, k2, J1, J2) in enumerate(self.couplings):
            both = mag[k1] & mag[k2]
            if not both.any():
                raise ValueError(f"coupling {i} (planes {k1} and {k2}): no (x, y) column is magnetic in both planes")
            if k2 > k1 + 1 and (mag[k1 + 1:k2] & both[None]).any():
                raise ValueError(f"coupling {i} (planes {k1} and {k2}): magnetic cells lie between the planes; "
                                 "interlayer exchange couples two layers across a non-magnetic spacer")
            # the pair's weight min(f1, f2) (stencil.fill_weights); each cell's field takes it over its own fill
            w = np.where(both, np.minimum(fill[k1], fill[k2]), 0.0)
            r1 = np.divide(w, fill[k1], out=np.zeros_like(w), where=both)
            r2 = np.divide(w, fill[k2], out=np.zeros_like(w), where=both)
            inv1 = np.divide(r1, Ms[k1] * dz, out=np.zeros_like(w), where=both)
            inv2 = np.divide(r2, Ms[k2] * dz, out=np.zeros_like(w), where=both)
            self._pairs.append((k1, k2, J1, J2, inv1, inv2, w / (2 * dz)))
            tab[3, k1] = J1 / dz * r1
            tab[4, k1] = J2 / dz * r1
            tab[5, k1] = np.where(both, k2 - k1, 0.0)
            tab[0, k2] = J1 / dz * r2
            tab[1, k2] = J2 / dz * r2
            tab[2, k2] = np.where(both, k2 - k1, 0.0)
        self._table = tab

    def add_field(self, m, t, B):
        for k1, k2, J1, J2, inv1, inv2, _ in self._pairs:
            m1, m2 = m[:, :, k1], m[:, :, k2]
            s = J1 + 2 * J2 * np.einsum("bcij,bcij->bij", m1, m2)[:, None]
            B[:, :, k1] += s * inv1 * m2
            B[:, :, k2] += s * inv2 * m1

    def energy_density(self, m, t):
        e = np.zeros((m.shape[0],) + m.shape[2:], dtype=m.dtype)
        for k1, k2, J1, J2, _, _, half in self._pairs:
            c = np.einsum("bcij,bcij->bij", m[:, :, k1], m[:, :, k2])
            ea = (-J1 * c - J2 * c * c) * half  # half holds the pair's weight min(f1, f2)
            e[:, k1] += ea
            e[:, k2] += ea
        return e

    def device_patterns(self):
        return {"coupling": self._table}

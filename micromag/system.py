"""The magnetic system: grid, where the magnet is (fill fraction), regions and their materials.

Terms read their parameters from here as per-cell arrays, so one term implementation serves a single
material and a many-region sample alike.
"""
from __future__ import annotations

import numpy as np

from .grid import Grid
from .materials import Material

MAX_REGIONS = 2**31 - 1  # region ids are int32


class System:
    """Grid + geometry + regions + materials.

    Parameters
    ----------
    grid : Grid
    material : Material used for every region not listed in ``materials`` (or the only one).
    geometry : a shape (anything with ``fill_fraction(grid)``), a boolean or float array of shape
        ``grid.shape`` (fill fraction in [0, 1]), or None for the full box.
    regions : int array of shape ``grid.shape`` with region ids in [0, 2**31-1), or a list of
        ``(shape, region_id)`` pairs painted in order (later wins), or None (all region 0).
    materials : dict ``{region_id: Material}``.
    """

    def __init__(self, grid: Grid, material: Material | None = None, geometry=None, regions=None, materials=None):
        if not isinstance(grid, Grid):
            raise TypeError(f"grid must be a micromag.Grid, got {type(grid).__name__}")
        self.grid = grid
        self.fill = self._make_fill(geometry)
        self.region = self._make_regions(regions)
        materials = dict(materials or {})
        for k, mat in materials.items():
            if not isinstance(mat, Material):
                raise TypeError(f"materials[{k}] must be a micromag.Material, got {type(mat).__name__}")
            if int(k) != k or k < 0:
                raise ValueError(f"region ids must be integers >= 0, got {k!r}")
        used = np.unique(self.region[self.fill > 0])
        missing = [int(r) for r in used if int(r) not in materials]
        if missing and material is None:
            raise ValueError(f"regions {missing[:10]} have no material: pass material= or materials={{id: Material}}")
        self.default_material = material
        nreg = int(max([int(self.region.max()) + 1] + [int(k) + 1 for k in materials]))
        self.materials = [materials.get(r, material) for r in range(nreg)]
        self._tables = {}
        Ms = self.param("Ms")
        self.magnetic = (self.fill > 0) & (Ms > 0)
        if not self.magnetic.any():
            raise ValueError("the geometry holds no magnetic cell (fill fraction 0 or Ms = 0 everywhere)")

    # ------------------------------------------------------------------ construction helpers
    def _make_fill(self, geometry):
        g = self.grid
        if geometry is None:
            return np.ones(g.shape)
        if hasattr(geometry, "fill_fraction"):
            f = np.asarray(geometry.fill_fraction(g), dtype=float)
        else:
            f = np.asarray(geometry, dtype=float)
        if f.shape != g.shape:
            raise ValueError(f"geometry array has shape {f.shape}, the grid needs (nz, ny, nx) = {g.shape}")
        if not np.all(np.isfinite(f)) or f.min() < 0 or f.max() > 1:
            raise ValueError("geometry fill fractions must lie in [0, 1]")
        return f

    def _make_regions(self, regions):
        g = self.grid
        if regions is None:
            return np.zeros(g.shape, dtype=np.int32)
        if isinstance(regions, (list, tuple)):
            r = np.zeros(g.shape, dtype=np.int32)
            for item in regions:
                shape, rid = item
                if int(rid) != rid or not (0 <= rid < MAX_REGIONS):
                    raise ValueError(f"region id must be an integer in [0, {MAX_REGIONS}), got {rid!r}")
                inside = np.asarray(shape.fill_fraction(g)) >= 0.5 if hasattr(shape, "fill_fraction") else np.asarray(shape, bool)
                r[inside] = rid
            return r
        r = np.asarray(regions)
        if r.shape != g.shape:
            raise ValueError(f"regions array has shape {r.shape}, the grid needs (nz, ny, nx) = {g.shape}")
        if not np.issubdtype(r.dtype, np.integer):
            raise ValueError("regions must be an integer array")
        if r.min() < 0 or r.max() >= MAX_REGIONS:
            raise ValueError(f"region ids must lie in [0, {MAX_REGIONS})")
        return r.astype(np.int32)

    # ------------------------------------------------------------------ parameters
    def table(self, name):
        """Per-region table of a material parameter: shape (nregions,) or (nregions, 3) for axes."""
        if name not in self._tables:
            rows = []
            for mat in self.materials:
                v = getattr(mat, name) if mat is not None else (0.0 if name not in ("anis_u", "anis_c1", "anis_c2", "anis_c3") else (0.0, 0.0, 0.0))
                rows.append(v)
            self._tables[name] = np.asarray(rows, dtype=float)
        return self._tables[name]

    def param(self, name):
        """Per-cell material parameter: (nz, ny, nx), or (3, nz, ny, nx) for an axis; 0 outside the magnet."""
        t = self.table(name)
        v = t[self.region]
        if v.ndim == 4:  # (nz, ny, nx, 3) -> (3, nz, ny, nx)
            v = np.moveaxis(v, -1, 0)
            return np.where(self.fill > 0, v, 0.0)
        return np.where(self.fill > 0, v, 0.0)

    def uniform(self, name):
        """The parameter's value if it is the same in every magnetic cell, else None."""
        v = self.param(name)
        vals = v[..., self.magnetic] if v.ndim == 4 else v[self.magnetic]
        if v.ndim == 4:
            return tuple(vals[:, 0]) if np.all(vals == vals[:, :1]) else None
        return float(vals[0]) if np.all(vals == vals[0]) else None

    def any_nonzero(self, name):
        return bool(np.any(self.param(name)[self.magnetic] != 0))

    @property
    def Ms_eff(self):
        """Magnetization magnitude per cell, A/m: Ms × fill fraction (0 outside the magnet)."""
        return self.param("Ms") * self.fill

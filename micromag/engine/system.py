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
        self._dynamic = {}       # name -> [(region or None, f(t)), ...]: time-dependent parameters
        self._member_tables = {}  # name -> (B, nregions) values of the time-dependent parameters now
        self.version = 0         # bumped whenever a material parameter changes
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

    # ------------------------------------------------------------------ changing parameters
    def set_materials(self, material=None, materials=None):
        """Replace the default material and/or the per-region materials ({region: Material}); the set of
        magnetic cells must stay the same (Ms > 0 where it was). Bumps ``version``."""
        from .materials import Material

        new = list(self.materials)
        if material is not None:
            if not isinstance(material, Material):
                raise TypeError(f"material must be a micromag.Material, got {type(material).__name__}")
            new = [material if m is self.default_material else m for m in new]
        for k, mat in dict(materials or {}).items():
            if not isinstance(mat, Material):
                raise TypeError(f"materials[{k}] must be a micromag.Material, got {type(mat).__name__}")
            if int(k) != k or not (0 <= k < len(new)):
                raise ValueError(f"materials: region {k!r} does not exist (regions 0 … {len(new) - 1})")
            new[int(k)] = mat
        self._replace(new, default=material)

    def set_parameter(self, name, value, region=None):
        """Set one material parameter (e.g. ``alpha``) in every region, or in ``region`` only. A callable
        value f(t) (t in s) makes a time-dependent parameter (only those declared ``dynamic``)."""
        from .terms import material_parameters

        decl = {p.name: p for p in material_parameters()}
        if name not in decl:
            raise AttributeError(f"{name!r} is not a material parameter; known: {sorted(decl)}")
        regions = range(len(self.materials)) if region is None else [int(region)]
        if region is not None and not (0 <= int(region) < len(self.materials)):
            raise ValueError(f"region {region!r} does not exist (regions 0 … {len(self.materials) - 1})")
        if callable(value):
            if not decl[name].dynamic:
                dyn = sorted(p.name for p in decl.values() if p.dynamic)
                raise ValueError(f"{name} cannot be a function of time; the time-dependent material parameters "
                                 f"are {dyn}")
            self._dynamic.setdefault(name, [])
            self._dynamic[name] = [(r, f) for r, f in self._dynamic[name] if r != region] + [(region, value)]
            self._member_tables.pop(name, None)
            self.version += 1
            return
        if name in self._dynamic:  # a constant replaces the function (in those regions)
            self._dynamic[name] = [(r, f) for r, f in self._dynamic[name] if not (region is None or r == region)]
            if not self._dynamic[name]:
                del self._dynamic[name]
            self._member_tables.pop(name, None)
        default = None
        if region is None and self.default_material is not None:
            default = self.default_material.with_(**{name: value})
        new = list(self.materials)
        for r in regions:
            if new[r] is None:
                continue
            # regions that use the default material keep using it (so a later sim.material = ... reaches them)
            new[r] = default if (default is not None and new[r] is self.default_material) else new[r].with_(**{name: value})
        self._replace(new, default=default)

    def _replace(self, new, default=None):
        old_mag = self.magnetic
        old = (self.materials, self.default_material, self._tables)
        self.materials = new
        if default is not None:
            self.default_material = default
        self._tables = {}
        mag = (self.fill > 0) & (self.param("Ms") > 0)
        if not np.array_equal(mag, old_mag):
            self.materials, self.default_material, self._tables = old
            raise ValueError("Ms must stay > 0 in every magnetic cell and 0 elsewhere: changing which cells are "
                             "magnetic needs a new Simulation")
        self.version += 1

    # ------------------------------------------------------------------ time-dependent parameters
    def is_dynamic(self, name):
        return name in self._dynamic

    @property
    def dynamic_names(self):
        return tuple(self._dynamic)

    def dynamic_functions(self, name):
        """[(region or None for every region, f(t) with t in s), ...] of a time-dependent parameter ([] if it
        is constant)."""
        return list(self._dynamic.get(name, ()))

    def update_dynamic(self, t):
        """Evaluate the time-dependent parameters at member times ``t`` (B,) (s); returns the names whose
        values changed since the last call."""
        from .terms import material_parameters

        decl = {p.name: p for p in material_parameters()}
        t = np.atleast_1d(np.asarray(t, dtype=float))
        changed = []
        for name, items in self._dynamic.items():
            tab = np.repeat(self.table(name)[None], t.shape[0], axis=0)  # (B, nregions)
            for region, f in items:
                vals = np.array([decl[name].check(f(float(x)), where="the function of time for ") for x in t])
                if region is None:
                    tab[:, :] = vals[:, None]
                else:
                    tab[:, region] = vals
            old = self._member_tables.get(name)
            if old is None or old.shape != tab.shape or not np.array_equal(old, tab):
                self._member_tables[name] = tab
                changed.append(name)
        return changed

    def member_table(self, name):
        """(B, nregions) values of a time-dependent parameter at the last :meth:`update_dynamic`, or None."""
        return self._member_tables.get(name)

    def member_param(self, name):
        """Per-cell values: (nz, ny, nx), or (B, nz, ny, nx) for a time-dependent parameter (its values at
        the last :meth:`update_dynamic`; before any, at t = 0 for one member)."""
        if name not in self._dynamic:
            return self.param(name)
        if name not in self._member_tables:
            self.update_dynamic(np.zeros(1))
        v = self._member_tables[name][:, self.region]  # (B, nz, ny, nx)
        return np.where(self.fill > 0, v, 0.0)

    # ------------------------------------------------------------------ parameters
    def table(self, name):
        """Per-region table of a material parameter (any :class:`Material` field or property, e.g. a declared
        parameter): shape (nregions,), or (nregions, 3) for a vector such as an axis; zeros in a region
        without a material."""
        if name not in self._tables:
            values = {r: np.asarray(getattr(mat, name), dtype=float) for r, mat in enumerate(self.materials)
                      if mat is not None}
            zero = np.zeros_like(next(iter(values.values())))  # a region without material: 0 of the same shape
            self._tables[name] = np.array([values.get(r, zero) for r in range(len(self.materials))], dtype=float)
        return self._tables[name]

    def __getstate__(self):
        # the per-cell parameter arrays are a cache (rebuilt on first use): not part of a checkpoint's recipe
        state = dict(self.__dict__)
        state.pop("_param_cache", None)
        return state

    def param(self, name):
        """Per-cell material parameter: (nz, ny, nx), or (3, nz, ny, nx) for an axis; 0 outside the magnet.
        Read-only: the array is kept until the materials change (the set-up of a 512² grid asked for the same
        parameters 16 times, 6 ms each)."""
        cache = self.__dict__.get("_param_cache")
        if cache is None or cache[0] is not self._tables:  # new tables: the materials changed
            cache = self._param_cache = (self._tables, {})
        v = cache[1].get(name)
        if v is None:
            v = self.table(name)[self.region]
            if v.ndim == 4:  # (nz, ny, nx, 3) -> (3, nz, ny, nx)
                v = np.moveaxis(v, -1, 0)
            v = np.where(self.fill > 0, v, 0.0)
            v.flags.writeable = False
            cache[1][name] = v
        return v

    def uniform(self, name):
        """The parameter's value if it is the same in every magnetic cell, else None."""
        v = self.param(name)
        vals = v[..., self.magnetic] if v.ndim == 4 else v[self.magnetic]
        if v.ndim == 4:
            return tuple(vals[:, 0]) if np.all(vals == vals[:, :1]) else None
        return float(vals[0]) if np.all(vals == vals[0]) else None

    def any_nonzero(self, name):
        return bool(np.any(self.param(name)[self.magnetic] != 0)) or name in self._dynamic

    @property
    def Ms_eff(self):
        """Magnetization magnitude per cell, A/m: Ms × fill fraction (0 outside the magnet)."""
        return self.param("Ms") * self.fill

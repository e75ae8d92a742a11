"""The regular finite-difference grid."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


def _check_positive_triple(name, value, kind, large_ok=False):
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{name} must be a sequence of three numbers, got {value!r}")
    try:
        vals = tuple(value)
    except TypeError:
        raise ValueError(f"{name} must be a sequence of three numbers, got {value!r}") from None
    if len(vals) != 3:
        raise ValueError(f"{name} must have three entries (x, y, z), got {len(vals)}")
    out = []
    for axis, v in zip("xyz", vals):
        if kind is int:
            # NaN, inf, strings and bools are refused here, naming the entry (int(nan) would not)
            ok = isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
            if not ok and isinstance(v, (float, np.floating)):
                ok = math.isfinite(v) and float(v).is_integer()
            if not ok or v < 1:
                raise ValueError(f"{name}[{axis}] must be an integer >= 1 (cells), got {v!r}")
            out.append(int(v))
        else:
            if isinstance(v, (bool, np.bool_, str, bytes)):
                raise ValueError(f"{name}[{axis}] must be a finite length > 0 in metres, got {v!r}")
            try:
                v = float(v)
            except (TypeError, ValueError, OverflowError):
                raise ValueError(f"{name}[{axis}] must be a finite length > 0 in metres, got {v!r}") from None
            if not math.isfinite(v) or v <= 0:
                raise ValueError(f"{name}[{axis}] must be a finite length > 0 in metres, got {v!r}")
            if v > 1e-3 and not large_ok:
                raise ValueError(f"{name}[{axis}] = {v} m is larger than 1 mm; cell sizes are in metres (e.g. 5e-9)")
            out.append(v)
    return tuple(out)


@dataclass(frozen=True)
class Grid:
    """A regular grid of ``nx × ny × nz`` cells of size ``dx × dy × dz`` (metres).

    Cell (i, j, k) has its centre at ``((i + 0.5 - nx/2) dx, (j + 0.5 - ny/2) dy, (k + 0.5 - nz/2) dz)``:
    the grid is centred on the origin, so shapes are placed relative to the middle of the sample.
    Arrays on the grid are indexed ``[..., k, j, i]`` (z slowest, x fastest).

    Parameters
    ----------
    n : (nx, ny, nz) cell counts.
    cell : (dx, dy, dz) cell size in m.
    pbc : (px, py, pz) number of periodic images on each side along each axis (0 = open boundary).
    large_cells : accept cells larger than 1 mm (e.g. a 1 m macrospin cell from Ubermag/OOMMF); by default
        such a size is refused as a likely unit mistake.
    """

    n: tuple
    cell: tuple
    pbc: tuple = (0, 0, 0)
    large_cells: bool = field(default=False, compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "n", _check_positive_triple("n", self.n, int))
        object.__setattr__(self, "cell", _check_positive_triple("cell", self.cell, float, bool(self.large_cells)))
        try:
            pbc = tuple(self.pbc)
        except TypeError:
            pbc = ()

        def _count(p):
            if isinstance(p, (bool, np.bool_)):
                return False
            if isinstance(p, (int, np.integer)):
                return p >= 0
            return isinstance(p, (float, np.floating)) and math.isfinite(p) and float(p).is_integer() and p >= 0

        if len(pbc) != 3 or not all(_count(p) for p in pbc):
            raise ValueError(f"pbc must be three integers >= 0 (periodic images per side, x, y, z), got {self.pbc!r}")
        object.__setattr__(self, "pbc", tuple(int(p) for p in pbc))

    @property
    def nx(self):
        return self.n[0]

    @property
    def ny(self):
        return self.n[1]

    @property
    def nz(self):
        return self.n[2]

    @property
    def shape(self):
        """Array shape of one scalar field on this grid: (nz, ny, nx)."""
        return (self.n[2], self.n[1], self.n[0])

    @property
    def ncells(self):
        return self.n[0] * self.n[1] * self.n[2]

    @property
    def cell_volume(self):
        """Volume of one cell in m³."""
        return self.cell[0] * self.cell[1] * self.cell[2]

    @property
    def size(self):
        """Extent (Lx, Ly, Lz) of the grid in m."""
        return tuple(n * d for n, d in zip(self.n, self.cell))

    def axis_coords(self, axis):
        """Cell-centre coordinates (m) along axis 0 (x), 1 (y) or 2 (z)."""
        n, d = self.n[axis], self.cell[axis]
        return (np.arange(n) + 0.5 - n / 2) * d

    def coords(self):
        """Cell-centre coordinates as three broadcastable arrays ``x[1,1,nx]``, ``y[1,ny,1]``, ``z[nz,1,1]``."""
        x = self.axis_coords(0)[None, None, :]
        y = self.axis_coords(1)[None, :, None]
        z = self.axis_coords(2)[:, None, None]
        return x, y, z

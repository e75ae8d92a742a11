"""The face stencil shared by every neighbour term (exchange, DMI, Zhang–Li, inter-region couplings).

Arrays follow the state layout ``(B, 3, nz, ny, nx)``; a *face* joins cell i ("lo") and its neighbour
j = i + e_a ("hi") along grid axis a. :func:`faces` lists, per axis, the face slices of a grid:

- the interior faces (``lo`` = cells 0 … n−2, ``hi`` = cells 1 … n−1) when the axis has n >= 2 cells;
- with a periodic axis (``grid.pbc[a] > 0``) also the *wrap face* joining the last cell (n−1) and the
  first (0): every neighbour term couples across the periodic edge exactly as across an interior face.

A periodic axis of a single cell has the cell as its own neighbour on both sides (MuMax3's and OOMMF's
periodic indexing): m_j − m_i = 0 there, so exchange, DMI and the Zhang–Li gradient get nothing from that
axis, the same as an open one-cell axis. No wrap face is listed for it; that is the defined value, not an
omission. With two cells along a periodic axis, the interior face and the wrap face join the same pair
of cells: each cell sees its one neighbour on both sides, as MuMax3 does.

The CUDA twin is ``load_neighbours`` in ``gpu_kernels/common.cuh`` (periodic axes from the defines
``MM_PERIODIC_X/Y/Z``, see :func:`periodic_defines`).
"""
from __future__ import annotations

import numpy as np

# (array axis of a 5-D (B, 3, nz, ny, nx) state, grid axis index) for x, y, z
AXES = ((4, 0), (3, 1), (2, 2))


class Scratch:
    """Preallocated work arrays, reallocated only when a requested shape or dtype changes."""

    def __init__(self):
        self._bufs = {}

    def get(self, key, shape, dtype=np.float64):
        b = self._bufs.get(key)
        if b is None or b.shape != shape or b.dtype != dtype:
            b = np.empty(shape, dtype=dtype)
            self._bufs[key] = b
        return b


def compress(a):
    """A Python float if every entry of ``a`` is the same, else ``a`` as a float array."""
    a = np.asarray(a, dtype=float)
    flat = a.reshape(-1)
    if flat.size and np.all(flat == flat[0]):
        return float(flat[0])
    return a


def face_slices(axis5):
    """Interior faces normal to state axis ``axis5``: slices of the 'lo' and 'hi' cells (5-D layout)."""
    lo = [slice(None)] * 5
    hi = [slice(None)] * 5
    lo[axis5] = slice(None, -1)
    hi[axis5] = slice(1, None)
    return tuple(lo), tuple(hi)


def wrap_slices(axis5):
    """The wrap face of a periodic axis: lo = the last cell, hi = the first (5-D layout)."""
    lo = [slice(None)] * 5
    hi = [slice(None)] * 5
    lo[axis5] = slice(-1, None)
    hi[axis5] = slice(0, 1)
    return tuple(lo), tuple(hi)


def is_periodic(grid, gaxis):
    """Whether grid axis ``gaxis`` (0 x, 1 y, 2 z) is periodic for the neighbour terms."""
    return int(grid.pbc[gaxis]) > 0


def faces(grid, axis5, gaxis):
    """[(lo, hi, wrap)] face slices along one axis (5-D layout): the interior faces and, on a periodic axis,
    the wrap face (``wrap`` True). Empty for an axis of one cell (see the module docstring)."""
    if grid.n[gaxis] < 2:
        return []
    out = [face_slices(axis5) + (False,)]
    if is_periodic(grid, gaxis):
        out.append(wrap_slices(axis5) + (True,))
    return out


def neighbour_exists(present, grid, ax3, side):
    """Per cell (nz, ny, nx) bool: whether the neighbour on ``side`` (−1 or +1) along array axis ``ax3`` of
    a (nz, ny, nx) array exists and is ``present`` (e.g. magnetic). Across a periodic edge the neighbour is
    the cell on the other side; across an open edge there is none."""
    gaxis = 2 - ax3
    if is_periodic(grid, gaxis):
        return np.roll(present, -side, axis=ax3)
    pad = [(0, 0)] * 3
    pad[ax3] = (1, 1)
    p = np.pad(present, pad, constant_values=False)
    sl = [slice(None)] * 3
    sl[ax3] = slice(2, None) if side > 0 else slice(None, -2)
    return p[tuple(sl)]


def fill_weights(system):
    """The fill fractions of the cells as neighbour terms weight their bonds, or None when every magnetic
    cell is full (then every bond has weight 1 and nothing changes).

    A bond (face) between magnetic cells i and j carries the weight w_ij = min(f_i, f_j) (f the fill
    fraction): the energy of a neighbour term is V Σ_faces w_ij ε_ij(m_i, m_j), and the field of cell i,
    −(1/(Ms_i f_i V)) ∂E/∂m_i, takes each of its bonds with the factor w_ij / f_i ≤ 1. The field is then
    exactly the gradient of the energy (what a minimum-energy path and the energy Hessian need), the
    torque of i on j is the reaction of that of j on i, and no cell is stiffer than with full weights (a
    sliver of a cell beside a full cell pulls on it in proportion to its volume, not as a full cell does).
    Returns (nz, ny, nx) floats (fill, 0 outside the magnet)."""
    mag = system.magnetic
    f = np.where(mag, system.fill, 0.0)
    if np.all(f[mag] == 1.0):
        return None
    return f


def bond_weights(fill, lo3, hi3):
    """w_ij = min(f_i, f_j) on the faces between the cells ``lo3`` and ``hi3`` (slices of a (nz, ny, nx)
    array; see :func:`fill_weights`)."""
    return np.minimum(fill[lo3], fill[hi3])


def periodic_defines(grid):
    """The kernel defines of the periodic axes: {"MM_PERIODIC_X": 1, ...} for each periodic axis."""
    return {f"MM_PERIODIC_{'XYZ'[a]}": 1 for a in range(3) if is_periodic(grid, a)}


__all__ = ["AXES", "Scratch", "compress", "face_slices", "wrap_slices", "is_periodic", "faces",
           "neighbour_exists", "periodic_defines"]

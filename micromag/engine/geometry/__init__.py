"""Shapes for placing magnets on the grid: primitives, CSG, transforms and cell fill fractions.

All lengths are in metres, measured from the grid centre (the grid is centred on the origin, see
:class:`micromag.engine.grid.Grid`). Every shape answers two questions:

``inside(x, y, z)``
    a boolean array (numpy broadcasting of the three coordinate arrays): is the point in the shape?
    Shapes are closed sets: a point exactly on the surface counts as inside (polygon edges excepted,
    where the crossing rule decides).

``fill_fraction(grid, samples=None)``
    an ``(nz, ny, nx)`` float array in [0, 1]: the fraction of each cell inside the shape, from
    sub-cell sampling on a regular cell-centred sub-grid of ``sx × sy × sz`` points per cell.
    Default sampling: 4 points along every axis that has more than one cell, 1 point along an axis
    with a single cell (so a thin film, nz == 1, uses (4, 4, 1) and samples the mid-plane of the
    layer). Pass ``samples=n`` or ``samples=(sx, sy, sz)`` to override.

Primitives: :class:`Box`, :class:`Ellipse` (elliptic cylinder along z), :class:`Cylinder` (any axis),
:class:`Polygon` (prism along z, even-odd rule by default), :class:`Ellipsoid`, :class:`Layer`
(``z0 <= z <= z1``), :class:`HalfSpace`, :class:`Universe` and :class:`Empty`.

CSG: ``a | b`` (union), ``a & b`` (intersection), ``a - b`` (difference), ``~a`` (complement), and
the functions :func:`union`, :func:`intersection`, :func:`difference`.

Transforms return new shapes and never change the original: ``.rotate(angle_deg, axis='z',
about=(0, 0, 0))``, ``.translate((dx, dy, dz))``, ``.scale(s, about=(0, 0, 0))``. Rotation follows
the right-hand rule: a positive angle turns counter-clockwise when looking down the axis from its tip
towards the origin, so a point at (+1, 0, 0) rotated by +90° about z ends at (0, +1, 0).

The package: ``shape`` (the :class:`Shape` contract, argument checks, rotations, Universe and Empty,
transforms and CSG) and ``primitives`` (the primitive shapes).
"""
from .primitives import Box, Cylinder, Ellipse, Ellipsoid, HalfSpace, Layer, Polygon  # noqa: F401
from .shape import (Empty, Shape, Universe, complement, difference, intersection, rotation_matrix,  # noqa: F401
                    samples_per_cell, union)

__all__ = [
    "Shape", "Box", "Ellipse", "Cylinder", "Polygon", "Ellipsoid", "Layer", "HalfSpace", "Universe",
    "Empty", "union", "intersection", "difference", "complement",
]

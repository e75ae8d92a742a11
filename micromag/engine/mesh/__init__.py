"""Free layers read from mesh files (``meshio``) and voxelized onto the finite-difference grid.

:func:`from_mesh` reads any format meshio reads (Gmsh ``.msh`` with physical groups, STL, VTU, OBJ,
...) and returns a :class:`MeshShape`, a :class:`micromag.engine.geometry.Shape`: it has ``inside``,
``fill_fraction(grid, samples)``, CSG and the transforms like every other shape.
:func:`regions_from_mesh` turns Gmsh physical groups into a region map.

What the mesh holds decides how "inside" is answered:

volume mesh (tetrahedra; also hexahedra, wedges and pyramids, split into tetrahedra)
    a point is inside when it lies in a tetrahedron (barycentric coordinates all >= -1e-10, so
    points on shared faces and on the surface count: shapes are closed sets).
closed surface (a triangle shell, e.g. STL)
    ray parity along +z: a point is inside when a vertical ray from it crosses the shell an odd number
    of times. Why this test: it is O(candidates) with 2-D bucketing (the generalized winding number is
    O(points × triangles)), and for thin free layers the vertical ray meets mostly the big, well-shaped
    top and bottom faces while the side walls (vertical) are never crossed. Rays that pass exactly
    through an edge or a vertex are resolved by simulation of simplicity: every edge is evaluated in one
    canonical vertex order with a fixed infinitesimal shift of the point as tie-break, so a ray through
    a shared edge or vertex is counted in exactly one of the triangles that meet there, and the parity
    is that of a generic ray — exact, not "almost always". The shell must be closed: every edge shared
    by exactly two triangles (checked; an open or non-manifold shell is a :class:`MeshError` naming the
    file).
flat triangle mesh (all vertices at one z: an outline drawn in 2-D)
    extruded by ``thickness`` (metres) symmetrically about its plane into a closed prism surface,
    then treated as a closed surface.

Units and placement: the file's coordinates are in *mesh units*; ``scale`` converts them to metres
(a number, or a unit name: ``'nm'`` = 1e-9, ``'um'``, ``'mm'``, ``'m'``, ``'A'``). Every other length
argument (``thickness``, ``translate``) is in metres. The steps are applied in this order:
scale → ``center`` (``'centroid'``/``'center'``: move the middle of the bounding box to the origin, the
grid centre) → ``rotate`` (about the origin) → ``translate``. The usual transforms
(``.rotate``, ``.translate``, ``.scale``) of the returned shape work too and keep the fast path (the
vertices are transformed, not the query points).

Speed: nothing loops over elements in Python. ``fill_fraction`` queries come as a regular lattice of
sub-cell sample points; each element's bounding box is cut out of that lattice with ``searchsorted``,
the (element, sample) pairs are expanded with ``repeat`` and tested in chunks of ~2e6 pairs
(barycentric coordinates from a precomputed inverse per tetrahedron). Scattered query points (a mesh
shape under a rotated CSG parent) go through a uniform grid of buckets over the element bounding boxes
(CSR built by ``argsort`` of the bucket ids), then the same chunked tests. A million tetrahedra on a
128×128×8 grid with 2×2×2 samples take a few seconds.

The package: ``read`` (mesh files, units, placement), ``lattice`` (boundary, buckets, point tests), ``shape``
(:class:`MeshShape`) and ``api`` (:func:`from_mesh`, :func:`regions_from_mesh`, :class:`Geometry`).
"""
from .api import Geometry, from_mesh, regions_from_mesh  # noqa: F401
from .lattice import boundary_surface  # noqa: F401
from .read import UNITS, MeshError, read_mesh  # noqa: F401
from .shape import MeshShape  # noqa: F401

__all__ = ["MeshShape", "MeshError", "from_mesh", "regions_from_mesh", "read_mesh", "UNITS"]

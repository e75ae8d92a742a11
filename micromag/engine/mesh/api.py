"""The public entry points: :func:`from_mesh`, :func:`regions_from_mesh` and :class:`Geometry`."""
from __future__ import annotations

import os

import numpy as np

from .read import MeshError, load_mesh
from .shape import MeshShape


def _select(L, physical):
    """Element arrays (tets or tris) kept by ``physical`` (names or tags; None = all)."""
    volume = len(L.tets) > 0
    elems, tags = (L.tets, L.ttag) if volume else (L.tris, L.ftag)
    if physical is None:
        return elems, tags, volume
    want = [physical] if isinstance(physical, (str, int, np.integer)) else list(physical)
    by_name = {v: k for k, v in L.names.items()}
    present = set(np.unique(tags).tolist())
    keep = []
    for w in want:
        tag = by_name.get(w) if isinstance(w, str) else int(w)
        if tag is None or tag not in present:
            avail = ", ".join(f"{L.names.get(t, '(unnamed)')}={t}" for t in sorted(present))
            raise MeshError(f"mesh file {L.source!r} has no {'volume' if volume else 'surface'} physical group "
                            f"{w!r}; it has: {avail or 'none'}")
        keep.append(tag)
    m = np.isin(tags, keep)
    return elems[m], tags[m], volume


def from_mesh(path, scale=1.0, center=None, rotate=None, translate=None, physical=None, thickness=None,
              file_format=None):
    """Read a mesh file (any format meshio reads) as a :class:`MeshShape` placed on the grid.

    Parameters
    ----------
    path : the mesh file. Tetrahedra (and hexahedra/wedges/pyramids) make a volume body; with none,
        the triangles must form a closed shell (STL, OBJ, ...) or lie flat in one z plane (an outline,
        extruded by ``thickness``).
    scale : metres per mesh unit, or a unit name ('nm', 'um', 'mm', 'm', 'A'). Default 1 (metres).
    center : None (keep the file's origin) or 'centroid': move the bounding-box centre of the mesh to
        the origin, which is the grid centre. The box is that of all the file's elements whatever
        ``physical`` keeps, so every group of one file lands at the same place.
    rotate : degrees about z, ``(degrees, axis)``, a list of those applied in order, or a 3×3
        rotation matrix; about the origin, after ``center``.
    translate : (dx, dy, dz) in metres, applied last.
    physical : Gmsh physical group(s) to keep, by name or tag (default: every element).
    thickness : metres; only for a flat triangle mesh, which is extruded symmetrically about its plane.
    file_format : passed to meshio when the extension does not tell the format.

    Errors: FileNotFoundError for a missing file; :class:`MeshError` (a ValueError) naming the file for
    an unreadable/corrupt file, a mesh without tetrahedra or triangles, an open or non-manifold shell,
    an unknown physical group, or a body more than 1 m across (a forgotten ``scale``).
    """
    L = load_mesh(path, scale, center, rotate, translate, file_format)
    elems, _, volume = _select(L, physical)
    src = os.fspath(path)
    if volume:
        return MeshShape(L.points, tets=elems, source=src)
    return MeshShape(L.points, triangles=elems, thickness=thickness, source=src)


def regions_from_mesh(path, grid, samples=None, scale=1.0, center=None, rotate=None, translate=None,
                      physical=None, region_ids=None, thickness=None, file_format=None):
    """Fill fraction and region map from the Gmsh physical groups of a mesh.

    Mapping: each physical group (of the highest-dimension elements: volumes in a tetrahedral mesh)
    becomes one region, **region id = the physical tag** unless ``region_ids={name or tag: id}`` says
    otherwise; cells in no group are region 0, so keep tags >= 1 (Gmsh's default) for the magnet.
    A mesh without physical groups is one region, id 1. Each cell goes to the group that fills the
    largest part of it; placement arguments as in :func:`from_mesh` (``center='centroid'`` centres the
    whole file, so the groups keep their relative positions and match ``from_mesh(..., physical=...)``).

    Returns
    -------
    fill : (nz, ny, nx) float, fill fraction of all kept groups together (sum, capped at 1).
    region_map : (nz, ny, nx) int32 region ids.
    names : {region_id: group name} (unnamed groups are called 'physical_<tag>').

    ``System(grid, geometry=fill, regions=region_map, materials={...})`` uses them directly; to keep a
    non-magnetic group (e.g. a heavy-metal stripe) out of the magnet, use
    ``fill * (region_map == free_id)`` or ``from_mesh(..., physical='free_layer')`` for the geometry.
    """
    L = load_mesh(path, scale, center, rotate, translate, file_format)
    elems, tags, volume = _select(L, physical)
    src = os.fspath(path)
    ids = {}
    for tag in np.unique(tags).tolist():
        name = L.names.get(tag, f"physical_{tag}") if L.has_physical else os.path.splitext(os.path.basename(src))[0]
        rid = tag if L.has_physical else 1
        if region_ids is not None:
            rid = region_ids.get(name, region_ids.get(tag, rid))
        if int(rid) != rid or rid < 0 or rid >= 2**31 - 1:
            raise ValueError(f"region id for group {name!r} must be an integer in [0, 2**31-1), got {rid!r}")
        ids[tag] = (int(rid), name)
    fills, rids, names = [], [], {}
    for tag, (rid, name) in ids.items():
        e = elems[tags == tag]
        shp = (MeshShape(L.points, tets=e, source=src) if volume
               else MeshShape(L.points, triangles=e, thickness=thickness, source=src))
        fills.append(shp.fill_fraction(grid, samples))
        rids.append(rid)
        names[rid] = name
    F = np.stack(fills)
    best = np.argmax(F, axis=0)
    region = np.where(F.max(axis=0) > 0, np.asarray(rids, dtype=np.int32)[best], 0).astype(np.int32)
    return np.minimum(F.sum(axis=0), 1.0), region, names


class Geometry:
    """Namespace for building geometries from files: ``mm.Geometry.from_mesh(path, scale="nm", ...)``."""

    from_mesh = staticmethod(from_mesh)
    regions_from_mesh = staticmethod(regions_from_mesh)

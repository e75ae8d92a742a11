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
"""
from __future__ import annotations

import contextlib
import io
import math
import os
import warnings

import numpy as np

from .geometry import Shape, rotation_matrix, samples_per_cell

__all__ = ["MeshShape", "MeshError", "from_mesh", "regions_from_mesh", "read_mesh", "UNITS"]

#: unit names accepted by ``scale``
UNITS = {"m": 1.0, "mm": 1e-3, "um": 1e-6, "µm": 1e-6, "micron": 1e-6, "nm": 1e-9, "pm": 1e-12,
         "a": 1e-10, "angstrom": 1e-10, "å": 1e-10}

_EPS = 1e-10           # barycentric tolerance: closed tetrahedra, shared faces never missed
_PAIR_CHUNK = 1 << 21  # (element, point) pairs tested at once
_MAX_SPAN = 1.0        # metres; a bigger body means a forgotten scale

# element type -> how to split it into tetrahedra / triangles (local vertex indices)
_TET_SPLIT = {
    "tetra": [[0, 1, 2, 3]],
    "hexahedron": [[0, 1, 2, 6], [0, 2, 3, 6], [0, 3, 7, 6], [0, 7, 4, 6], [0, 4, 5, 6], [0, 5, 1, 6]],
    "wedge": [[0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5]],
    "pyramid": [[0, 1, 2, 4], [0, 2, 3, 4]],
}
_TRI_SPLIT = {"triangle": [[0, 1, 2]], "quad": [[0, 1, 2], [0, 2, 3]]}
_HIGHER = {"tetra10": "tetra", "hexahedron20": "hexahedron", "hexahedron24": "hexahedron",
           "hexahedron27": "hexahedron", "wedge15": "wedge", "wedge18": "wedge", "pyramid13": "pyramid",
           "pyramid14": "pyramid", "triangle6": "triangle", "triangle7": "triangle", "quad8": "quad",
           "quad9": "quad"}


class MeshError(ValueError):
    """A mesh file that cannot be used: unreadable, empty, open shell, ... (the message names the file)."""


# ---------------------------------------------------------------------------------------- reading
def _scale_factor(scale):
    if isinstance(scale, str):
        key = scale.strip().lower()
        if key not in UNITS:
            raise ValueError(f"scale must be a number (metres per mesh unit) or one of {sorted(UNITS)}, got {scale!r}")
        return UNITS[key]
    if isinstance(scale, (bool, np.bool_)):
        raise ValueError(f"scale must be a number > 0 or a unit name, got {scale!r}")
    try:
        s = float(scale)
    except (TypeError, ValueError):
        raise ValueError(f"scale must be a number > 0 (metres per mesh unit) or a unit name like 'nm', got {scale!r}") from None
    if not math.isfinite(s) or s <= 0:
        raise ValueError(f"scale must be finite and > 0, got {scale!r}")
    return s


def read_mesh(path, file_format=None):
    """``meshio.read`` with clear errors: FileNotFoundError / :class:`MeshError` naming the file."""
    p = os.fspath(path)
    if not os.path.exists(p):
        raise FileNotFoundError(f"mesh file {p!r} does not exist")
    if os.path.isdir(p):
        raise MeshError(f"mesh file {p!r} is a directory, not a mesh file")
    if os.path.getsize(p) == 0:
        raise MeshError(f"mesh file {p!r} is empty (0 bytes)")
    try:
        import meshio
    except ImportError as e:  # pragma: no cover - meshio is a dependency of this module
        raise ImportError("reading mesh files needs meshio: pip install meshio") from e
    chatter = io.StringIO()  # meshio prints the failures of the formats it tries (.msh: ansys, then gmsh)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(chatter):
            warnings.simplefilter("ignore", RuntimeWarning)  # STL sniffing overflows harmlessly on ASCII
            return meshio.read(p, file_format=file_format)
    except (Exception, SystemExit) as e:  # meshio raises ReadError, ValueError, IndexError, ... on bad files,
        # and calls sys.exit(1) when no candidate format reads it (a corrupt .msh): never end the caller
        msg = str(e).strip() or "no details"
        extra = " ".join(chatter.getvalue().split())
        if extra:
            msg += f"; {extra}"
        raise MeshError(f"cannot read mesh file {p!r} ({type(e).__name__}: {msg}); is it a valid, "
                        f"complete mesh in a format meshio knows (.msh, .stl, .vtu, .obj, ...)?") from e


class _Loaded:
    """Elements of a mesh file in metres after the placement steps: points (n, 3); tets (T, 4) and
    their physical tags; tris (F, 3) and their tags; names {tag: name}."""


def _load(path, scale=1.0, center=None, rotate=None, translate=None, file_format=None):
    src = os.fspath(path)
    m = read_mesh(src, file_format)
    pts = np.asarray(m.points, dtype=float)
    if pts.ndim != 2 or pts.shape[0] == 0 or pts.shape[1] not in (2, 3):
        raise MeshError(f"mesh file {src!r} holds no usable points (points array of shape {pts.shape})")
    if pts.shape[1] == 2:
        pts = np.column_stack([pts, np.zeros(len(pts))])
    if not np.all(np.isfinite(pts)):
        raise MeshError(f"mesh file {src!r} has non-finite point coordinates (NaN or inf)")
    phys = m.cell_data.get("gmsh:physical")
    tets, ttag, tris, ftag, found = [], [], [], [], []
    for bi, block in enumerate(m.cells):
        typ = _HIGHER.get(block.type, block.type)
        data = np.asarray(block.data)
        found.append(block.type)
        tag = np.asarray(phys[bi], dtype=np.int64) if phys is not None else np.ones(len(data), np.int64)
        if typ in _TET_SPLIT:
            split, out, otag = _TET_SPLIT[typ], tets, ttag
        elif typ in _TRI_SPLIT:
            split, out, otag = _TRI_SPLIT[typ], tris, ftag
        else:
            continue
        if len(data) == 0:
            continue
        if data.min() < 0 or data.max() >= len(pts):
            raise MeshError(f"mesh file {src!r}: {block.type} cells refer to points that do not exist")
        sp = np.asarray(split)
        out.append(data[:, sp].reshape(-1, sp.shape[1]))
        otag.append(np.repeat(tag, len(sp)))
    L = _Loaded()
    L.source = src
    L.tets = np.concatenate(tets).astype(np.int64) if tets else np.zeros((0, 4), np.int64)
    L.ttag = np.concatenate(ttag) if ttag else np.zeros(0, np.int64)
    L.tris = np.concatenate(tris).astype(np.int64) if tris else np.zeros((0, 3), np.int64)
    L.ftag = np.concatenate(ftag) if ftag else np.zeros(0, np.int64)
    if len(L.tets) == 0 and len(L.tris) == 0:
        kinds = ", ".join(sorted(set(found))) or "no cells at all"
        raise MeshError(f"mesh file {src!r} holds no tetrahedra and no triangles (found: {kinds}); "
                        "a free layer needs a volume mesh or a closed triangle surface")
    L.names = {}
    for name, fd in (m.field_data or {}).items():
        try:
            L.names[int(np.asarray(fd).ravel()[0])] = str(name)
        except (ValueError, TypeError, IndexError):
            pass
    L.has_physical = phys is not None

    # placement: scale -> center -> rotate -> translate
    s = _scale_factor(scale)
    used = np.unique(L.tets) if len(L.tets) else np.unique(L.tris)
    pts = pts * s
    span = float(np.ptp(pts[used], axis=0).max())
    if span > _MAX_SPAN:
        raise MeshError(f"mesh file {src!r} is {span:.3g} m across after scale={scale!r}; lengths on the grid "
                        "are metres — give the mesh unit, e.g. scale='nm' or scale=1e-9")
    if center is not None:
        if not (isinstance(center, str) and center.lower() in ("centroid", "center", "centre")):
            raise ValueError(f"center must be None or 'centroid' (bounding-box centre to the origin), got {center!r}")
        pts = pts - 0.5 * (pts[used].min(axis=0) + pts[used].max(axis=0))
    if rotate is not None:
        pts = pts @ _rotation(rotate).T
    if translate is not None:
        t = np.asarray(translate, dtype=float).ravel()
        if t.shape == (2,):
            t = np.append(t, 0.0)
        if t.shape != (3,) or not np.all(np.isfinite(t)):
            raise ValueError(f"translate must be (dx, dy, dz) in metres, got {translate!r}")
        pts = pts + t
    L.points = pts
    return L


def _rotation(rotate):
    """3×3 matrix from: an angle in degrees (about z), (angle, axis), a list of those (applied in
    order), or a 3×3 rotation matrix."""
    if np.ndim(rotate) == 0:
        return rotation_matrix(rotate, "z")
    arr = np.asarray(rotate, dtype=object)
    if arr.shape == (3, 3):
        R = np.asarray(rotate, dtype=float)
        if not np.allclose(R @ R.T, np.eye(3), atol=1e-9) or np.linalg.det(R) < 0:
            raise ValueError("rotate as a matrix must be a proper rotation (orthogonal, det +1)")
        return R
    if len(rotate) == 2 and np.ndim(rotate[0]) == 0 and (isinstance(rotate[1], str) or np.shape(rotate[1]) == (3,)):
        return rotation_matrix(rotate[0], rotate[1])
    R = np.eye(3)
    for r in rotate:
        R = _rotation(r) @ R
    return R


# ---------------------------------------------------------------------------------------- geometry helpers
def _expand(counts):
    """For counts c_e: (owner index per pair, local index 0..c_e-1 per pair)."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    owner = np.repeat(np.arange(len(counts)), counts)
    start = np.cumsum(counts) - counts
    local = np.arange(total, dtype=np.int64) - np.repeat(start, counts)
    return owner, local


def _chunks_by_count(counts, limit=_PAIR_CHUNK):
    """Split range(len(counts)) into consecutive slices whose count sums stay near ``limit``."""
    cs = np.cumsum(counts, dtype=np.int64)
    if len(cs) == 0 or cs[-1] == 0:
        return []
    cuts = np.searchsorted(cs, np.arange(limit, int(cs[-1]), limit), side="left")
    bounds = np.unique(np.concatenate([[0], cuts + 1, [len(counts)]]))
    bounds = bounds[bounds <= len(counts)]
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def _boundary_edges(tris):
    """(unique sorted edges (E, 2), how many triangles share each)."""
    e = np.sort(np.concatenate([tris[:, [0, 1]], tris[:, [1, 2]], tris[:, [2, 0]]]), axis=1)
    key = e[:, 0] * (int(tris.max()) + 1) + e[:, 1]
    uk, idx, cnt = np.unique(key, return_index=True, return_counts=True)
    return e[idx], cnt


def boundary_surface(points, tets):
    """Closed, outward-oriented triangle surface of a tetrahedral mesh: faces used by one tetrahedron.

    Returns ``(points, triangles)`` with only the points the surface uses. Handy to write an STL of a
    volume mesh (``meshio.Mesh(p, [("triangle", t)]).write("body.stl")``).
    """
    tets = np.asarray(tets, dtype=np.int64)
    # faces opposite vertex 3, 2, 1, 0 with the opposite vertex kept for orientation
    fidx = np.array([[0, 1, 2, 3], [0, 1, 3, 2], [0, 2, 3, 1], [1, 2, 3, 0]])
    f = tets[:, fidx].reshape(-1, 4)
    key = np.sort(f[:, :3], axis=1)
    n = int(tets.max()) + 1
    k = (key[:, 0] * n + key[:, 1]) * n + key[:, 2]
    _, inv, cnt = np.unique(k, return_inverse=True, return_counts=True)
    f = f[cnt[inv] == 1]
    a, b, c, d = (points[f[:, i]] for i in range(4))
    outward = np.einsum("ij,ij->i", np.cross(b - a, c - a), d - a) < 0
    tri = np.where(outward[:, None], f[:, :3], f[:, [0, 2, 1]])
    used, newidx = np.unique(tri, return_inverse=True)
    return points[used], newidx.reshape(-1, 3)


class _Buckets:
    """Uniform grid of buckets over element bounding boxes (D = 2 or 3) for scattered point queries."""

    def __init__(self, lo, hi):
        N, D = lo.shape
        self.L0 = lo.min(axis=0)
        span = np.maximum(hi.max(axis=0) - self.L0, 1e-300)
        ext = np.maximum((hi - lo).mean(axis=0), span * 1e-6)
        h = ext.copy()
        max_buckets = max(64, 2 * N)
        while True:
            n = np.maximum(np.ceil(span / h).astype(np.int64), 1)
            if np.prod(n.astype(float)) <= max_buckets:
                break
            h *= 1.25
        self.h, self.n = h, n
        i0 = np.clip(np.floor((lo - self.L0) / h).astype(np.int64), 0, n - 1)
        i1 = np.clip(np.floor((hi - self.L0) / h).astype(np.int64), 0, n - 1)
        c = i1 - i0 + 1
        owner, local = _expand(np.prod(c, axis=1))
        bid = np.zeros(len(owner), dtype=np.int64)
        stride = 1
        for d in range(D):  # bucket id = sum_d index_d * prod(n[:d])
            cd = c[owner, d]
            bid += (i0[owner, d] + local % cd) * stride
            local //= cd
            stride *= int(n[d])
        order = np.argsort(bid, kind="stable")
        self.elems = owner[order]
        nb = int(np.prod(n))
        self.start = np.concatenate([[0], np.cumsum(np.bincount(bid, minlength=nb))])

    def pairs(self, P):
        """Yield chunks (point index, element index) of candidate pairs for points P (M, D)."""
        rel = np.floor((P - self.L0) / self.h).astype(np.int64)
        ok = np.all((rel >= 0) & (rel < self.n), axis=1)
        # points just past the top edge (the last face) belong to the last bucket
        edge = np.all((rel >= 0) & (rel <= self.n), axis=1) & ~ok
        if np.any(edge):
            rel[edge] = np.minimum(rel[edge], self.n - 1)
            ok |= edge
        pid = np.nonzero(ok)[0]
        b = np.zeros(len(pid), dtype=np.int64)
        mult = 1
        for d in range(P.shape[1]):
            b += rel[pid, d] * mult
            mult *= int(self.n[d])
        cnt = self.start[b + 1] - self.start[b]
        for a, z in _chunks_by_count(cnt):
            owner, local = _expand(cnt[a:z])
            yield pid[a:z][owner], self.elems[self.start[b[a:z]][owner] + local]


def _cross(a, b):
    return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]


def _lattice_pairs(lo, hi, axes, tol):
    """Chunks of (element index, lattice index per axis) for every lattice point in each element's
    bounding box. ``lo``, ``hi``: per-axis lists of 1-D arrays; ``axes``: sorted 1-D coordinates."""
    D = len(axes)
    i0, c = [], []
    cnt = None
    for d, ax in enumerate(axes):
        a = np.searchsorted(ax, lo[d] - tol, side="left")
        n = np.searchsorted(ax, hi[d] + tol, side="right") - a
        np.maximum(n, 0, out=n)
        i0.append(a)
        c.append(n)
        cnt = n.copy() if cnt is None else cnt * n
    sel = np.nonzero(cnt)[0]
    cnt = cnt[sel]
    i0 = [v[sel] for v in i0]
    c = [v[sel] for v in c]
    for a, z in _chunks_by_count(cnt):
        owner, local = _expand(cnt[a:z])
        idx = [None] * D
        for d in range(D - 1, -1, -1):
            cd = c[d][a:z][owner]
            idx[d] = i0[d][a:z][owner] + local % cd
            local //= cd
        yield sel[a:z][owner], idx


# ---------------------------------------------------------------------------------------- the shape
class MeshShape(Shape):
    """A body from a mesh: tetrahedra (volume) or a closed triangle shell (surface). Coordinates in
    metres. Usually made by :func:`from_mesh`; ``MeshShape(points, tets=...)`` or
    ``MeshShape(points, triangles=..., thickness=...)`` builds one from arrays.

    Attributes: ``kind`` ('volume' or 'surface'), ``points``, ``tets`` / ``triangles``, ``source``
    (file name or '<arrays>'), ``mesh_volume`` (exact volume of the mesh in m³).
    """

    def __init__(self, points, tets=None, triangles=None, thickness=None, source="<arrays>", _checked=False):
        pts = np.asarray(points, dtype=float)
        if pts.ndim == 2 and pts.shape[1] == 2:
            pts = np.column_stack([pts, np.zeros(len(pts))])
        if pts.ndim != 2 or pts.shape[1] != 3 or not np.all(np.isfinite(pts)):
            raise MeshError(f"{_label(source)}: points must be a finite (n, 3) array, got shape {pts.shape}")
        self.source = source
        self._name = _label(source)
        if tets is not None and len(tets):
            self.kind = "volume"
            self._init_tets(pts, np.asarray(tets, dtype=np.int64))
        elif triangles is not None and len(triangles):
            self.kind = "surface"
            self._init_surface(pts, np.asarray(triangles, dtype=np.int64), thickness, _checked)
        else:
            raise MeshError(f"{source}: no tetrahedra and no triangles to make a body from")

    # --- construction ------------------------------------------------------------------------------
    def _init_tets(self, pts, tets):
        if tets.ndim != 2 or tets.shape[1] != 4 or tets.min() < 0 or tets.max() >= len(pts):
            raise MeshError(f"{self._name}: tetrahedra must be an (n, 4) array of point indices")
        # everything per axis on 1-D contiguous arrays: gathers and cofactors stay fast for 1e6 elements
        P = [np.ascontiguousarray(pts[:, d]) for d in range(3)]
        cols = [np.ascontiguousarray(tets[:, i]) for i in range(4)]
        c = [[P[d][cols[i]] for d in range(3)] for i in range(4)]  # c[vertex][axis]
        e = [[c[i][d] - c[0][d] for d in range(3)] for i in (1, 2, 3)]  # edge vectors = columns of T
        # T = [e1 e2 e3] (columns); inverse = adj(T) / det(T), rows of the adjugate = cross products
        r0 = _cross(e[1], e[2])
        r1 = _cross(e[2], e[0])
        r2 = _cross(e[0], e[1])
        det = e[0][0] * r0[0] + e[0][1] * r0[1] + e[0][2] * r0[2]
        used = np.zeros(len(pts), bool)
        used[tets.ravel()] = True
        span = float(np.ptp(pts[used], axis=0).max())
        good = np.abs(det) > 1e-18 * span ** 3
        if not np.any(good):
            raise MeshError(f"{self._name}: all {len(tets)} tetrahedra are degenerate (zero volume)")
        allgood = bool(np.all(good))
        sel = (lambda a: a) if allgood else (lambda a: a[good])
        inv_det = 1.0 / sel(det)
        self._Tinv = [sel(r[d]) * inv_det for r in (r0, r1, r2) for d in range(3)]
        self._v0 = [sel(c[0][d]) for d in range(3)]
        self._lo = [sel(np.minimum(np.minimum(c[0][d], c[1][d]), np.minimum(c[2][d], c[3][d]))) for d in range(3)]
        self._hi = [sel(np.maximum(np.maximum(c[0][d], c[1][d]), np.maximum(c[2][d], c[3][d]))) for d in range(3)]
        self.points, self.tets, self.triangles = pts, (tets if allgood else tets[good]), None
        self._mesh_volume = float(np.abs(det).sum() / 6.0)
        self._tol = 1e-9 * span
        self._buckets = None

    def _init_surface(self, pts, tris, thickness, checked):
        if tris.ndim != 2 or tris.shape[1] != 3 or tris.min() < 0 or tris.max() >= len(pts):
            raise MeshError(f"{self._name}: triangles must be an (n, 3) array of point indices")
        # merge points with identical coordinates (STL stores every facet's corners separately)
        used = np.unique(tris)
        up, inv = np.unique(pts[used], axis=0, return_inverse=True)
        remap = np.zeros(len(pts), np.int64)
        remap[used] = inv.ravel()
        pts, tris = up, remap[tris]
        tris = tris[(tris[:, 0] != tris[:, 1]) & (tris[:, 1] != tris[:, 2]) & (tris[:, 0] != tris[:, 2])]
        zspan = float(np.ptp(pts[:, 2]))
        span = float(np.ptp(pts, axis=0).max())
        flat = zspan <= 1e-12 * max(span, 1e-300)
        if thickness is not None:
            t = float(thickness)
            if not math.isfinite(t) or t <= 0:
                raise ValueError(f"thickness must be a length > 0 in metres, got {thickness!r}")
            if not flat:
                raise MeshError(f"{self._name}: thickness= extrudes a flat (2-D) triangle mesh, but this "
                                f"surface spans {zspan:.3g} m in z; drop thickness= for a closed 3-D shell")
            pts, tris = self._extrude(pts, tris, t)
        elif flat:
            raise MeshError(f"{self._name} is a flat (2-D) triangle mesh; pass thickness= (metres) to "
                            "extrude it into a layer")
        elif not checked:
            edges, cnt = _boundary_edges(tris)
            bad1, bad3 = int(np.sum(cnt == 1)), int(np.sum(cnt > 2))
            if bad1 or bad3:
                what = []
                if bad1:
                    e = edges[cnt == 1][0]
                    p0 = ", ".join(f"{v:.4g}" for v in pts[e[0]])
                    p1 = ", ".join(f"{v:.4g}" for v in pts[e[1]])
                    what.append(f"{bad1} edges belong to only one triangle (a hole; e.g. the edge from "
                                f"({p0}) to ({p1}) m)")
                if bad3:
                    what.append(f"{bad3} edges are shared by more than two triangles (non-manifold)")
                raise MeshError(f"{self._name}: surface mesh is not a closed shell: " + "; ".join(what)
                                + ". Every edge must be shared by exactly two triangles.")
        self.points, self.tets, self.triangles = pts, None, tris
        self._mesh_volume = None
        self._tol = 1e-9 * span
        self._buckets = None
        self._prep_projection()

    @property
    def mesh_volume(self):
        """Exact volume of the meshed body (m³): sum of the tetrahedra, or for a shell the divergence
        theorem, with each triangle's orientation taken from the inside test when the file's
        orientation is not consistent (STL writers often mix them)."""
        if self._mesh_volume is None:
            p, t = self.points, self.triangles
            a, b, c = p[t[:, 0]], p[t[:, 1]], p[t[:, 2]]
            n = np.cross(b - a, c - a)
            directed = np.concatenate([t[:, [0, 1]], t[:, [1, 2]], t[:, [2, 0]]])
            key = directed[:, 0] * len(p) + directed[:, 1]
            consistent = len(np.unique(key)) == len(key)  # each edge once in each direction
            if consistent:
                vol = abs(float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum()) / 6.0)
            else:
                # z-projection form: V = sum(+-) A_xy * z_centroid; + where the body lies below
                cen = (a + b + c) / 3.0
                keep = n[:, 2] != 0
                probe = cen[keep] - [0.0, 0.0, 1e-7 * float(np.ptp(p[:, 2]))]
                below = self._scattered(probe)
                sgn = np.where(below, 1.0, -1.0)
                vol = abs(float(np.sum(sgn * 0.5 * np.abs(n[keep, 2]) * cen[keep, 2])))
            self._mesh_volume = vol
        return self._mesh_volume

    @staticmethod
    def _extrude(pts, tris, t):
        n = len(pts)
        z0 = pts[0, 2]
        bottom = pts.copy()
        bottom[:, 2] = z0 - t / 2
        top = pts.copy()
        top[:, 2] = z0 + t / 2
        edges, cnt = _boundary_edges(tris)
        if np.any(cnt > 2):
            raise MeshError("flat triangle mesh has edges shared by more than two triangles")
        e = edges[cnt == 1]
        walls = np.concatenate([np.column_stack([e[:, 0], e[:, 1], e[:, 1] + n]),
                                np.column_stack([e[:, 0], e[:, 1] + n, e[:, 0] + n])])
        return np.concatenate([bottom, top]), np.concatenate([tris[:, ::-1], tris + n, walls])

    def _prep_projection(self):
        """Per-triangle data of the xy projection: canonical edges for the exact crossing rule, plane z."""
        p, t = self.points, self.triangles
        a, b, c = p[t[:, 0]], p[t[:, 1]], p[t[:, 2]]
        area2 = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
        keep = area2 != 0.0  # vertical triangles: a vertical ray never crosses them
        t, area2 = t[keep], area2[keep]
        t = np.where((area2 > 0)[:, None], t, t[:, [0, 2, 1]])  # counter-clockwise seen from +z
        area2 = np.abs(area2)
        E = np.stack([t[:, [0, 1]], t[:, [1, 2]], t[:, [2, 0]]], axis=1)  # (F, 3, 2) directed edges
        u, v = E.min(axis=2), E.max(axis=2)
        self._sig = np.where(E[:, :, 0] == u, 1.0, -1.0)
        self._ux, self._uy = p[u, 0], p[u, 1]
        self._dx, self._dy = p[v, 0] - p[u, 0], p[v, 1] - p[u, 1]
        # tie-break: the point shifted by (eps, eps^2): sign of the derivative of the edge function
        self._tie = np.where(self._dy != 0, -self._dy, self._dx)
        a, b, c = p[t[:, 0]], p[t[:, 1]], p[t[:, 2]]
        # plane z = z0 + gx (x - x0) + gy (y - y0)
        e1, e2 = b - a, c - a
        det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
        self._gx = (e1[:, 2] * e2[:, 1] - e2[:, 2] * e1[:, 1]) / det
        self._gy = (e2[:, 2] * e1[:, 0] - e1[:, 2] * e2[:, 0]) / det
        self._a = a
        tri = p[t]
        lo, hi = tri[:, :, :2].min(axis=1), tri[:, :, :2].max(axis=1)
        self._plo, self._phi = [lo[:, 0].copy(), lo[:, 1].copy()], [hi[:, 0].copy(), hi[:, 1].copy()]

    # --- per-pair tests ---------------------------------------------------------------------------
    def _in_tet(self, e, x, y, z):
        """Barycentric test of points (x, y, z) against tetrahedra e (one per point)."""
        T, V = self._Tinv, self._v0
        dx, dy, dz = x - V[0][e], y - V[1][e], z - V[2][e]
        lsum = None
        ok = None
        for r in range(3):  # one contiguous gather per coefficient: ~8x faster than (P, 9) rows
            lam = T[3 * r][e] * dx
            lam += T[3 * r + 1][e] * dy
            lam += T[3 * r + 2][e] * dz
            ok = lam >= -_EPS if ok is None else ok & (lam >= -_EPS)
            if lsum is None:
                lsum = lam
            else:
                lsum += lam
        return ok & (lsum <= 1.0 + _EPS)

    def _in_proj(self, e, x, y):
        """Exact (simulation-of-simplicity) point-in-projected-triangle test, and the crossing z."""
        ok = None
        for k in range(3):
            f = self._dx[e, k] * (y - self._uy[e, k]) - self._dy[e, k] * (x - self._ux[e, k])
            g = np.where(f == 0.0, self._tie[e, k], f) * self._sig[e, k]
            ok = g > 0 if ok is None else ok & (g > 0)
        a = self._a[e]
        zc = a[:, 2] + self._gx[e] * (x - a[:, 0]) + self._gy[e] * (y - a[:, 1])
        return ok, zc

    # --- queries -----------------------------------------------------------------------------------
    def _inside(self, x, y, z):
        x, y, z = (np.asarray(c, dtype=float) for c in (x, y, z))
        shape = np.broadcast_shapes(x.shape, y.shape, z.shape)
        lat = _as_lattice((x, y, z), len(shape))
        if lat is not None:
            axes_sorted, ranks, where = lat
            res = self._lattice(axes_sorted)
            idx = []
            for c in range(3):
                if where[c] is None:
                    idx.append(np.zeros([1] * len(shape), np.int64))
                else:
                    sh = [1] * len(shape)
                    sh[where[c]] = len(ranks[c])
                    idx.append(ranks[c].reshape(sh))
            return res[idx[0], idx[1], idx[2]] if shape else res[0, 0, 0]
        P = np.stack([np.broadcast_to(c, shape).ravel() for c in (x, y, z)], axis=1)
        return self._scattered(P).reshape(shape)

    def _lattice(self, axes):
        """Boolean array [ix, iy, iz] over the lattice of sorted 1-D coordinates ``axes``."""
        xs, ys, zs = axes
        if self.kind == "volume":
            res = np.zeros((len(xs), len(ys), len(zs)), dtype=bool)
            for e, (ix, iy, iz) in _lattice_pairs(self._lo, self._hi, axes, self._tol):
                hit = self._in_tet(e, xs[ix], ys[iy], zs[iz])
                res[ix[hit], iy[hit], iz[hit]] = True
            return res
        # surface: count crossings of the upward ray from each lattice point
        nz1 = len(zs) + 1
        cnt = np.zeros(len(xs) * len(ys) * nz1, dtype=np.int64)
        for e, (ix, iy) in _lattice_pairs(self._plo, self._phi, axes[:2], 0.0):
            ok, zc = self._in_proj(e, xs[ix], ys[iy])
            # the crossing lies on or above the lattice points with z <= zc: indices < k
            k = np.searchsorted(zs, zc[ok], side="right")
            cnt += np.bincount((ix[ok] * len(ys) + iy[ok]) * nz1 + k, minlength=len(cnt))
        cnt = cnt.reshape(len(xs), len(ys), nz1)
        above = np.cumsum(cnt[:, :, ::-1], axis=2)[:, :, ::-1][:, :, 1:]  # crossings with index > k
        return (above % 2).astype(bool)

    def _scattered(self, P):
        out = np.zeros(len(P), dtype=bool)
        if self.kind == "volume":
            if self._buckets is None:
                self._buckets = _Buckets(np.stack(self._lo, axis=1), np.stack(self._hi, axis=1))
            for pid, e in self._buckets.pairs(P):
                hit = self._in_tet(e, P[pid, 0], P[pid, 1], P[pid, 2])
                out[pid[hit]] = True
            return out
        if self._buckets is None:
            self._buckets = _Buckets(np.stack(self._plo, axis=1), np.stack(self._phi, axis=1))
        cnt = np.zeros(len(P), dtype=np.int64)
        for pid, e in self._buckets.pairs(P[:, :2]):
            ok, zc = self._in_proj(e, P[pid, 0], P[pid, 1])
            ok &= zc >= P[pid, 2]
            cnt += np.bincount(pid[ok], minlength=len(P))
        return (cnt % 2).astype(bool)

    def fill_fraction(self, grid, samples=None):
        """Fraction of each cell inside the mesh body, (nz, ny, nx) in [0, 1].

        Same sample points and defaults as :meth:`Shape.fill_fraction` (a cell-centred sub-grid of
        ``sx × sy × sz`` points per cell), but all sub-samples of a slab of cells form one lattice that
        the elements are rasterized onto in one pass (slabs of at most ~1.6e7 sub-samples).
        """
        n = tuple(int(v) for v in grid.n)
        d = tuple(float(v) for v in grid.cell)
        S = samples_per_cell(samples, n)
        nx, ny, nz = n
        counts = np.zeros((nz, ny, nx), dtype=np.int64)
        b = np.asarray(self.bounds(), dtype=float)
        rng = []
        for a in range(3):
            edge0 = -n[a] * d[a] / 2.0
            lo = int(np.clip(np.floor((b[a, 0] - edge0) / d[a]) - 1, 0, n[a]))
            hi = int(np.clip(np.ceil((b[a, 1] - edge0) / d[a]) + 1, 0, n[a]))
            if hi <= lo:
                return counts.astype(float)
            rng.append((lo, hi))
        subs = []
        for a in range(3):
            centres = (np.arange(*rng[a]) + 0.5 - n[a] / 2) * d[a]
            offs = ((np.arange(S[a]) + 0.5) / S[a] - 0.5) * d[a]
            subs.append((centres[:, None] + offs[None, :]).ravel())
        (i0, i1), (j0, j1), (k0, k1) = rng
        per_k = len(subs[0]) * len(subs[1]) * S[2]
        kstep = max(1, (1 << 24) // per_k)
        for ka in range(k0, k1, kstep):
            kb = min(k1, ka + kstep)
            zs = subs[2][(ka - k0) * S[2]:(kb - k0) * S[2]]
            res = self._lattice((subs[0], subs[1], zs))  # [ix, iy, iz] over sub-samples
            c = res.reshape(i1 - i0, S[0], j1 - j0, S[1], kb - ka, S[2]).sum(axis=(1, 3, 5))
            counts[ka:kb, j0:j1, i0:i1] = c.transpose(2, 1, 0)
        return counts / float(S[0] * S[1] * S[2])

    def bounds(self):
        if self.kind == "volume":
            return np.array([[lo.min(), hi.max()] for lo, hi in zip(self._lo, self._hi)])
        p = self.points
        return np.stack([p.min(axis=0), p.max(axis=0)], axis=1)

    # transforms act on the vertices: the result is again a MeshShape (fast lattice path kept)
    def _affine(self, A, b):
        A = np.asarray(A, dtype=float)
        if np.linalg.det(A) <= 0:
            return super()._affine(A, b)
        pts = self.points @ A.T + np.asarray(b, dtype=float).reshape(3)
        if self.kind == "volume":
            return MeshShape(pts, tets=self.tets, source=self.source)
        return MeshShape(pts, triangles=self.triangles, source=self.source, _checked=True)

    def __repr__(self):
        n = len(self.tets) if self.kind == "volume" else len(self.triangles)
        what = "tetrahedra" if self.kind == "volume" else "triangles"
        return f"MeshShape({self.source!r}, {n} {what}, volume={self.mesh_volume:.4g} m^3)"


def _label(source):
    return "mesh arrays" if source == "<arrays>" else f"mesh file {source!r}"


def _as_lattice(coords, ndim):
    """If x, y, z each vary along at most one axis, and distinct axes: (sorted 1-D axes, rank of each
    original entry in its sorted axis, the axis each varies along (None = constant)); else None."""
    axes, ranks, where = [], [], []
    seen = set()
    for c in coords:
        sh = (1,) * (ndim - c.ndim) + c.shape
        big = [i for i, s in enumerate(sh) if s > 1]
        if len(big) > 1 or (big and big[0] in seen):
            return None
        v = c.reshape(-1)
        if big:
            seen.add(big[0])
            where.append(big[0])
        else:
            where.append(None)
        order = np.argsort(v, kind="stable")
        r = np.empty(len(v), np.int64)
        r[order] = np.arange(len(v))
        axes.append(v[order])
        ranks.append(r)
    return axes, ranks, where


# ---------------------------------------------------------------------------------------- public API
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
    L = _load(path, scale, center, rotate, translate, file_format)
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
    L = _load(path, scale, center, rotate, translate, file_format)
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

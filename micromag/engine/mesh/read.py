"""Reading mesh files (``meshio``): units and scale, the element types split into tetrahedra and
triangles, placement (center, rotate, translate), and the checks that name the file (:class:`MeshError`)."""
from __future__ import annotations

import contextlib
import io
import math
import os
import warnings

import numpy as np

from ..geometry import rotation_matrix


#: unit names accepted by ``scale``
UNITS = {"m": 1.0, "mm": 1e-3, "um": 1e-6, "µm": 1e-6, "micron": 1e-6, "nm": 1e-9, "pm": 1e-12,
         "a": 1e-10, "angstrom": 1e-10, "å": 1e-10}

BARYCENTRIC_EPS = 1e-10           # barycentric tolerance: closed tetrahedra, shared faces never missed
PAIR_CHUNK = 1 << 21  # (element, point) pairs tested at once
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


def scale_factor(scale):
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


class LoadedMesh:
    """Elements of a mesh file in metres after the placement steps: points (n, 3); tets (T, 4) and
    their physical tags; tris (F, 3) and their tags; names {tag: name}."""


def load_mesh(path, scale=1.0, center=None, rotate=None, translate=None, file_format=None):
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
    L = LoadedMesh()
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
    s = scale_factor(scale)
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
        pts = pts @ rotation_of(rotate).T
    if translate is not None:
        t = np.asarray(translate, dtype=float).ravel()
        if t.shape == (2,):
            t = np.append(t, 0.0)
        if t.shape != (3,) or not np.all(np.isfinite(t)):
            raise ValueError(f"translate must be (dx, dy, dz) in metres, got {translate!r}")
        pts = pts + t
    L.points = pts
    return L


def rotation_of(rotate):
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
        R = rotation_of(r) @ R
    return R

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
"""
from __future__ import annotations

import math

import numpy as np

__all__ = [
    "Shape", "Box", "Ellipse", "Cylinder", "Polygon", "Ellipsoid", "Layer", "HalfSpace", "Universe",
    "Empty", "union", "intersection", "difference", "complement",
]

# Longest believable length: lengths are in metres, a micromagnetic sample is far below 1 m.
_MAX_LENGTH = 1.0
# Cells evaluated at once in fill_fraction (per sub-sample offset); bounds the temporary memory.
_CHUNK_CELLS = 1 << 20
_AXES = {"x": (1.0, 0.0, 0.0), "y": (0.0, 1.0, 0.0), "z": (0.0, 0.0, 1.0)}


# ---------------------------------------------------------------------------------------- validation
def _number(name, v):
    if isinstance(v, (bool, np.bool_)):
        raise ValueError(f"{name} must be a number, got {v!r}")
    try:
        return float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {v!r}") from None


def _length(name, v, allow_inf=False):
    """A length > 0 in metres; ``None`` or inf mean 'unbounded' where ``allow_inf``."""
    if v is None and allow_inf:
        return math.inf
    x = _number(name, v)
    rng = "(0, inf]" if allow_inf else f"(0, {_MAX_LENGTH}]"
    if math.isnan(x) or x <= 0 or (math.isinf(x) and not allow_inf):
        raise ValueError(f"{name} must be a length in {rng} metres{' (None = unbounded)' if allow_inf else ''}, got {v!r}")
    if math.isfinite(x) and x > _MAX_LENGTH:
        raise ValueError(f"{name} = {x} m is larger than {_MAX_LENGTH} m; lengths are in metres (e.g. 100e-9)")
    return x


def _lengths(name, v, n, allow_inf=False):
    try:
        vals = list(v)
    except TypeError:
        raise ValueError(f"{name} must be a sequence of {n} lengths in metres, got {v!r}") from None
    if len(vals) != n:
        raise ValueError(f"{name} must have {n} entries, got {len(vals)}")
    return tuple(_length(f"{name}[{i}]", x, allow_inf) for i, x in enumerate(vals))


def _point(name, v, n=3, allow_short=False):
    """A finite point; with ``allow_short`` a 2-point (x, y) gets z = 0."""
    try:
        vals = list(v)
    except TypeError:
        raise ValueError(f"{name} must be a sequence of {n} coordinates in metres, got {v!r}") from None
    if allow_short and len(vals) == 2:
        vals = vals + [0.0]
    if len(vals) != n:
        raise ValueError(f"{name} must have {n} entries{' (or 2: x, y)' if allow_short else ''}, got {len(vals)}")
    out = []
    for i, x in enumerate(vals):
        f = _number(f"{name}[{i}]", x)
        if not math.isfinite(f):
            raise ValueError(f"{name}[{i}] must be a finite coordinate in metres, got {x!r}")
        out.append(f)
    return tuple(out)


def _axis(name, axis):
    """Unit vector from 'x', 'y', 'z' (optionally with a sign: '-z') or a non-zero 3-vector."""
    if isinstance(axis, str):
        s = axis.strip().lower()
        sign = -1.0 if s.startswith("-") else 1.0
        s = s.lstrip("+-")
        if s not in _AXES:
            raise ValueError(f"{name} must be 'x', 'y', 'z' or a non-zero 3-vector, got {axis!r}")
        return np.array(_AXES[s]) * sign
    try:
        a = np.asarray(axis, dtype=float).reshape(3)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be 'x', 'y', 'z' or a non-zero 3-vector, got {axis!r}") from None
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite, got {axis!r}")
    norm = float(np.linalg.norm(a))
    if norm == 0.0 or norm < 1e-300:
        raise ValueError(f"{name} must have non-zero length, got {axis!r}")
    return a / norm


def samples_per_cell(samples, grid_n):
    """The checked sub-samples per cell (sx, sy, sz) of a fill fraction: ``samples`` (an integer for all
    axes, or three), or by default 4 along each axis the grid has more than one cell on, else 1."""
    if samples is None:
        return tuple(4 if n > 1 else 1 for n in grid_n)
    if isinstance(samples, (int, np.integer)) and not isinstance(samples, (bool, np.bool_)):
        samples = (samples,) * 3
    try:
        vals = list(samples)
    except TypeError:
        raise ValueError(f"samples must be an integer >= 1 or three integers (sx, sy, sz), got {samples!r}") from None
    if len(vals) != 3:
        raise ValueError(f"samples must be an integer >= 1 or three integers (sx, sy, sz), got {samples!r}")
    out = []
    for ax, s in zip("xyz", vals):
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)) or s < 1 or s > 1024:
            raise ValueError(f"samples[{ax}] must be an integer in [1, 1024], got {s!r}")
        out.append(int(s))
    return tuple(out)


# ---------------------------------------------------------------------------------------- helpers
def _lin(coeffs, comps, const=0.0):
    """sum_j coeffs[j] * comps[j] + const, skipping zero coefficients (keeps broadcast shapes small)."""
    out = None
    for c, v in zip(coeffs, comps):
        if c == 0.0:
            continue
        term = v if c == 1.0 else (-v if c == -1.0 else c * v)
        out = term if out is None else out + term
    if out is None:
        return np.float64(const)
    return out + const if const != 0.0 else out


def _cos_sin_deg(angle):
    """cos and sin of an angle in degrees, exact at multiples of 90°."""
    q = angle / 90.0
    if q == round(q):
        return [(1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0)][int(round(q)) % 4]
    r = math.radians(angle)
    return math.cos(r), math.sin(r)


def rotation_matrix(angle_deg, axis="z"):
    """3×3 matrix of a right-handed rotation by ``angle_deg`` about ``axis`` (Rodrigues' formula).

    Positive angles turn counter-clockwise looking down the axis: ``rotation_matrix(90, 'z') @ (1, 0, 0)
    = (0, 1, 0)``.
    """
    angle = _number("angle_deg", angle_deg)
    if not math.isfinite(angle):
        raise ValueError(f"angle_deg must be a finite angle in degrees, got {angle_deg!r}")
    u = _axis("axis", axis)
    c, s = _cos_sin_deg(angle)
    ux = np.array([[0.0, -u[2], u[1]], [u[2], 0.0, -u[0]], [-u[1], u[0], 0.0]])
    R = c * np.eye(3) + s * ux + (1.0 - c) * np.outer(u, u)
    R[np.abs(R) < 1e-15] = 0.0  # exact zeros let _lin skip terms
    return R


_ALL = np.array([[-np.inf, np.inf]] * 3)


def _empty_bounds():
    return np.array([[np.inf, -np.inf]] * 3)


def _is_empty(b):
    return bool(np.any(b[:, 0] > b[:, 1]))


# ---------------------------------------------------------------------------------------- base class
class Shape:
    """Base class: a set of points in space (metres, grid-centred). Subclasses define ``_inside``."""

    # --- to be provided by subclasses -------------------------------------------------------------
    def _inside(self, x, y, z):  # pragma: no cover - abstract
        raise NotImplementedError

    def bounds(self):
        """Axis-aligned bounding box ``[[xmin, xmax], [ymin, ymax], [zmin, zmax]]`` (may be infinite,
        and is allowed to be larger than the shape; ``min > max`` means empty)."""
        return _ALL.copy()

    # --- point queries -----------------------------------------------------------------------------
    def inside(self, x, y, z):
        """Boolean array, broadcast from ``x``, ``y``, ``z`` (metres): True where the point is in the shape."""
        x, y, z = (np.asarray(c, dtype=float) for c in (x, y, z))
        shape = np.broadcast_shapes(x.shape, y.shape, z.shape)
        res = np.asarray(self._inside(x, y, z), dtype=bool)
        return np.broadcast_to(res, shape).copy() if res.shape != shape else res

    def __contains__(self, point):
        x, y, z = _point("point", point, allow_short=True)
        return bool(self.inside(x, y, z))

    @property
    def center(self):
        """A reference centre: the primitive's centre, carried along by transforms; for CSG shapes
        the middle of the bounding box."""
        b = self.bounds()
        if _is_empty(b) or not np.all(np.isfinite(b)):
            raise ValueError(f"{self!r} has no finite bounding box, so no centre; give the point explicitly")
        return tuple(float(v) for v in b.mean(axis=1))

    # --- on the grid -------------------------------------------------------------------------------
    def fill_fraction(self, grid, samples=None):
        """Fraction of each cell inside the shape: float array (nz, ny, nx) in [0, 1].

        Each cell is sampled on a regular, cell-centred sub-grid of ``sx × sy × sz`` points (the
        midpoint rule); the fraction is the share of sub-points inside. ``samples`` is an int or
        ``(sx, sy, sz)``; by default 4 along each axis with more than one cell and 1 along an axis with
        a single cell. Only cells overlapping the shape's bounding box are sampled, and they are
        processed one sub-sample offset and at most ~1e6 cells at a time, so memory stays
        O(ncells) whatever the sampling.
        """
        n = tuple(int(v) for v in grid.n)
        d = tuple(float(v) for v in grid.cell)
        S = samples_per_cell(samples, n)
        nx, ny, nz = n
        counts = np.zeros((nz, ny, nx), dtype=np.int32 if S[0] * S[1] * S[2] < 2**31 else np.int64)

        # restrict to cells overlapping the bounding box
        b = np.asarray(self.bounds(), dtype=float)
        if _is_empty(b):
            return counts.astype(float)
        lo_idx, hi_idx = [], []
        for a in range(3):
            edge0 = -n[a] * d[a] / 2.0
            lo = np.clip(np.floor((b[a, 0] - edge0) / d[a]) - 1, 0, n[a]) if np.isfinite(b[a, 0]) else 0
            hi = np.clip(np.ceil((b[a, 1] - edge0) / d[a]) + 1, 0, n[a]) if np.isfinite(b[a, 1]) else n[a]
            lo_idx.append(int(lo))
            hi_idx.append(int(hi))
            if hi <= lo:
                return counts.astype(float)
        (i0, j0, k0), (i1, j1, k1) = lo_idx, hi_idx

        xs = (np.arange(i0, i1) + 0.5 - nx / 2) * d[0]
        ys = (np.arange(j0, j1) + 0.5 - ny / 2) * d[1]
        zs = (np.arange(k0, k1) + 0.5 - nz / 2) * d[2]
        offs = [((np.arange(s) + 0.5) / s - 0.5) * da for s, da in zip(S, d)]

        # chunks of whole z-slices, or of y-rows when one slice alone is too big
        row = i1 - i0
        plane = row * (j1 - j0)
        chunks = []
        if plane <= _CHUNK_CELLS:
            step = max(1, _CHUNK_CELLS // plane)
            for ka in range(k0, k1, step):
                chunks.append((ka, min(k1, ka + step), j0, j1))
        else:
            step = max(1, _CHUNK_CELLS // row)
            for ka in range(k0, k1):
                for ja in range(j0, j1, step):
                    chunks.append((ka, ka + 1, ja, min(j1, ja + step)))

        for ka, kb, ja, jb in chunks:
            view = counts[ka:kb, ja:jb, i0:i1]
            zc = zs[ka - k0:kb - k0]
            yc = ys[ja - j0:jb - j0]
            for oz in offs[2]:
                zz = (zc + oz)[:, None, None]
                for oy in offs[1]:
                    yy = (yc + oy)[None, :, None]
                    for ox in offs[0]:
                        xx = (xs + ox)[None, None, :]
                        res = np.asarray(self._inside(xx, yy, zz), dtype=bool)
                        np.add(view, res, out=view, casting="unsafe")
        return counts / float(S[0] * S[1] * S[2])

    def cells(self, grid, samples=None):
        """Boolean (nz, ny, nx) mask of the cells at least half inside the shape (fill >= 0.5)."""
        return self.fill_fraction(grid, samples) >= 0.5

    def volume(self, grid, samples=None):
        """Volume (m³) of the shape as the grid sees it: sum of fill fractions × cell volume."""
        return float(self.fill_fraction(grid, samples).sum()) * float(np.prod(grid.cell))

    # --- CSG -----------------------------------------------------------------------------------------
    def __or__(self, other):
        if not isinstance(other, Shape):
            return NotImplemented
        return _Union((self, other))

    def __and__(self, other):
        if not isinstance(other, Shape):
            return NotImplemented
        return _Intersection((self, other))

    def __sub__(self, other):
        if not isinstance(other, Shape):
            return NotImplemented
        return _Difference(self, other)

    def __invert__(self):
        return _Complement(self)

    # --- transforms ----------------------------------------------------------------------------------
    def _affine(self, A, b):
        """New shape = {A q + b : q in self}."""
        return _Affine(self, A, b)

    def rotate(self, angle_deg, axis="z", about=(0.0, 0.0, 0.0)):
        """Rotated copy: right-hand rule about ``axis`` ('x', 'y', 'z' or a 3-vector) through the point
        ``about`` (metres; default the grid centre; ``'center'`` for the shape's own :attr:`center`).

        A positive angle turns counter-clockwise looking down the axis (from its tip to the origin).
        """
        R = rotation_matrix(angle_deg, axis)
        c = np.array(self.center if isinstance(about, str) and about == "center" else _point("about", about, allow_short=True))
        return self._affine(R, c - R @ c)

    def translate(self, offset):
        """Copy moved by ``offset = (dx, dy, dz)`` metres (a 2-tuple means dz = 0)."""
        t = np.array(_point("offset", offset, allow_short=True))
        return self._affine(np.eye(3), t)

    def scale(self, factor, about=(0.0, 0.0, 0.0)):
        """Copy scaled by ``factor`` (> 0; a number or (sx, sy, sz)) about the point ``about``."""
        if np.ndim(factor) == 0:
            f = _number("factor", factor)
            fs = (f, f, f)
        else:
            try:
                fs = tuple(_number(f"factor[{i}]", v) for i, v in enumerate(factor))
            except TypeError:
                raise ValueError(f"factor must be a number > 0 or three numbers > 0, got {factor!r}") from None
            if len(fs) != 3:
                raise ValueError(f"factor must be a number > 0 or three numbers > 0, got {factor!r}")
        for i, f in enumerate(fs):
            if not math.isfinite(f) or f <= 0:
                raise ValueError(f"factor must be finite and > 0 (got {fs[i]!r} for axis {'xyz'[i]})")
        c = np.array(self.center if isinstance(about, str) and about == "center" else _point("about", about, allow_short=True))
        A = np.diag(fs)
        return self._affine(A, c - A @ c)


# ---------------------------------------------------------------------------------------- primitives
class Universe(Shape):
    """All of space."""

    def _inside(self, x, y, z):
        return np.True_

    def __repr__(self):
        return "Universe()"


class Empty(Shape):
    """No point at all."""

    def _inside(self, x, y, z):
        return np.False_

    def bounds(self):
        return _empty_bounds()

    def __repr__(self):
        return "Empty()"


class Box(Shape):
    """Axis-aligned box ``size = (Lx, Ly, Lz)`` (m, > 0; ``None``/inf = unbounded) centred at ``center``."""

    def __init__(self, size, center=(0.0, 0.0, 0.0)):
        self.size = _lengths("size", size, 3, allow_inf=True)
        self._center = _point("center", center, allow_short=True)

    @property
    def center(self):
        return self._center

    def _inside(self, x, y, z):
        out = None
        for v, c, L in zip((x, y, z), self._center, self.size):
            if math.isinf(L):
                continue
            m = np.abs(v - c) <= L / 2 if c != 0.0 else np.abs(v) <= L / 2
            out = m if out is None else out & m
        return np.True_ if out is None else out

    def bounds(self):
        return np.array([[c - L / 2, c + L / 2] for c, L in zip(self._center, self.size)])

    def __repr__(self):
        return f"Box(size={self.size}, center={self._center})"


class Ellipse(Shape):
    """Elliptic cylinder along z: full ``diameters = (a_x, b_y)`` (m), ``thickness`` along z (None =
    unbounded), centred at ``center`` ((x, y) or (x, y, z))."""

    def __init__(self, diameters, thickness=None, center=(0.0, 0.0, 0.0)):
        self.diameters = _lengths("diameters", diameters, 2)
        self.thickness = _length("thickness", thickness, allow_inf=True)
        self._center = _point("center", center, allow_short=True)

    @property
    def center(self):
        return self._center

    def _inside(self, x, y, z):
        cx, cy, cz = self._center
        u = (x - cx) * (2.0 / self.diameters[0]) if cx else x * (2.0 / self.diameters[0])
        v = (y - cy) * (2.0 / self.diameters[1]) if cy else y * (2.0 / self.diameters[1])
        m = u * u + v * v <= 1.0
        if math.isfinite(self.thickness):
            m = m & (np.abs(z - cz) <= self.thickness / 2)
        return m

    def bounds(self):
        cx, cy, cz = self._center
        a, b = self.diameters
        t = self.thickness
        return np.array([[cx - a / 2, cx + a / 2], [cy - b / 2, cy + b / 2], [cz - t / 2, cz + t / 2]])

    def __repr__(self):
        return f"Ellipse(diameters={self.diameters}, thickness={self.thickness}, center={self._center})"


class Ellipsoid(Shape):
    """Ellipsoid with full ``diameters = (a, b, c)`` along x, y, z (m), centred at ``center``."""

    def __init__(self, diameters, center=(0.0, 0.0, 0.0)):
        self.diameters = _lengths("diameters", diameters, 3)
        self._center = _point("center", center, allow_short=True)

    @property
    def center(self):
        return self._center

    def _inside(self, x, y, z):
        s = None
        for v, c, D in zip((x, y, z), self._center, self.diameters):
            w = (v - c) * (2.0 / D) if c else v * (2.0 / D)
            s = w * w if s is None else s + w * w
        return s <= 1.0

    def bounds(self):
        return np.array([[c - D / 2, c + D / 2] for c, D in zip(self._center, self.diameters)])

    def __repr__(self):
        return f"Ellipsoid(diameters={self.diameters}, center={self._center})"


class Cylinder(Shape):
    """Circular cylinder of ``diameter`` (m) and ``height`` (None = unbounded) along ``axis`` ('x', 'y',
    'z' or a 3-vector), centred at ``center``."""

    def __init__(self, diameter, height=None, center=(0.0, 0.0, 0.0), axis="z"):
        self.diameter = _length("diameter", diameter)
        self.height = _length("height", height, allow_inf=True)
        self._center = _point("center", center, allow_short=True)
        self.axis = tuple(float(v) for v in _axis("axis", axis))
        base = Ellipse((self.diameter, self.diameter), self.height)
        u = np.array(self.axis)
        if u[2] < 1.0:  # turn z onto u
            perp = np.cross((0.0, 0.0, 1.0), u)
            if np.linalg.norm(perp) < 1e-15:  # u = -z
                R = np.diag([1.0, -1.0, -1.0])
            elif u[0] == 0 and u[1] == 1:
                R = rotation_matrix(-90, "x")
            elif u[0] == 1 and u[1] == 0:
                R = rotation_matrix(90, "y")
            else:
                R = rotation_matrix(math.degrees(math.acos(np.clip(u[2], -1, 1))), perp)
        else:
            R = np.eye(3)
        self._impl = _Affine(base, R, np.array(self._center))

    @property
    def center(self):
        return self._center

    def _inside(self, x, y, z):
        return self._impl._inside(x, y, z)

    def bounds(self):
        return self._impl.bounds()

    def __repr__(self):
        return f"Cylinder(diameter={self.diameter}, height={self.height}, center={self._center}, axis={self.axis})"


class Polygon(Shape):
    """Prism along z over a polygon in the xy plane.

    ``vertices``: [(x, y), ...] in metres (at least 3; the closing vertex may be repeated), in either
    orientation, convex or not. ``thickness`` along z (None = unbounded), centred at ``z_center``.
    ``rule``: ``'evenodd'`` (default; a point is inside when a ray from it crosses the outline an odd
    number of times) or ``'nonzero'`` (non-zero winding number). The two agree for simple polygons and
    differ only for self-intersecting outlines.
    """

    def __init__(self, vertices, thickness=None, z_center=0.0, rule="evenodd"):
        try:
            v = np.asarray(vertices, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"vertices must be a sequence of (x, y) pairs in metres, got {vertices!r}") from None
        if v.ndim != 2 or v.shape[1] != 2:
            raise ValueError(f"vertices must be a sequence of (x, y) pairs, got an array of shape {v.shape}")
        if not np.all(np.isfinite(v)):
            raise ValueError("vertices must be finite coordinates in metres (found NaN or inf)")
        if len(v) >= 2 and np.array_equal(v[0], v[-1]):
            v = v[:-1]
        if len(v) < 3:
            raise ValueError(f"vertices must hold at least 3 distinct points (got {len(v)})")
        x, y = v[:, 0], v[:, 1]
        area = 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
        span = float(np.ptp(v, axis=0).max())
        thin = span == 0.0 or np.linalg.svd(v - v.mean(axis=0), compute_uv=False)[-1] <= 1e-9 * span
        if thin:
            raise ValueError("vertices enclose no area (all points on one line); need a polygon with area > 0")
        # a zero shoelace sum without collinear points is a self-intersecting outline (a bow-tie) whose lobes
        # cancel: its fill is still defined by ``rule``, so it is accepted
        if span > _MAX_LENGTH:
            raise ValueError(f"vertices span {span} m, more than {_MAX_LENGTH} m; lengths are in metres (e.g. 100e-9)")
        if rule not in ("evenodd", "nonzero"):
            raise ValueError(f"rule must be 'evenodd' or 'nonzero', got {rule!r}")
        self.vertices = v
        self.signed_area = area
        self.thickness = _length("thickness", thickness, allow_inf=True)
        self.z_center = _point("z_center", (z_center,), n=1)[0]
        self.rule = rule

    @property
    def area(self):
        """Area of the polygon (m², shoelace formula): the true area for a simple polygon; for a
        self-intersecting outline, lobes of opposite orientation cancel (the filled area is then the fill
        fraction of a grid times its cell area)."""
        return abs(self.signed_area)

    @property
    def center(self):
        b = self.bounds()
        return (float(b[0].mean()), float(b[1].mean()), self.z_center)

    def _inside(self, x, y, z):
        v = self.vertices
        acc = None
        for (x1, y1), (x2, y2) in zip(v, np.roll(v, -1, axis=0)):
            if y1 == y2:
                continue  # horizontal edges never cross the ray
            up = y1 <= y
            up2 = y2 <= y
            spans = up != up2  # half-open: counts an edge from [min(y1,y2), max(y1,y2))
            # sign of the cross product (edge × (point - p1)): > 0 means the point lies left of the edge
            side = (x2 - x1) * (y - y1) - (x - x1) * (y2 - y1)
            if self.rule == "evenodd":
                # ray to +x crosses where the point is left of the crossing point
                hit = spans & ((side > 0) if y2 > y1 else (side < 0))
                acc = hit if acc is None else acc ^ hit
            else:
                w = np.where(spans & (side > 0) & (y2 > y1), 1, 0) - np.where(spans & (side < 0) & (y2 < y1), 1, 0)
                acc = w if acc is None else acc + w
        m = acc if self.rule == "evenodd" else acc != 0
        if math.isfinite(self.thickness):
            m = m & (np.abs(z - self.z_center) <= self.thickness / 2)
        return m

    def bounds(self):
        v = self.vertices
        t = self.thickness
        return np.array([[v[:, 0].min(), v[:, 0].max()], [v[:, 1].min(), v[:, 1].max()],
                         [self.z_center - t / 2, self.z_center + t / 2]])

    def __repr__(self):
        return f"Polygon({len(self.vertices)} vertices, thickness={self.thickness}, z_center={self.z_center}, rule={self.rule!r})"


class Layer(Shape):
    """The slab ``z0 <= z <= z1`` (m; either may be ±inf), unbounded in x and y: a layer of a stack."""

    def __init__(self, z0, z1):
        a, b = _number("z0", z0), _number("z1", z1)
        if math.isnan(a) or math.isnan(b):
            raise ValueError(f"z0 and z1 must be numbers (metres), got z0={z0!r}, z1={z1!r}")
        if not a < b:
            raise ValueError(f"Layer needs z0 < z1, got z0={a!r}, z1={b!r}")
        self.z0, self.z1 = a, b

    def _inside(self, x, y, z):
        return (z >= self.z0) & (z <= self.z1)

    def bounds(self):
        return np.array([[-np.inf, np.inf], [-np.inf, np.inf], [self.z0, self.z1]])

    def __repr__(self):
        return f"Layer(z0={self.z0}, z1={self.z1})"


class HalfSpace(Shape):
    """The half-space ``(p - point) · normal <= 0``: everything behind the plane through ``point``
    whose outward normal is ``normal`` ('x', '-z', ... or a 3-vector)."""

    def __init__(self, normal, point=(0.0, 0.0, 0.0)):
        self.normal = tuple(float(v) for v in _axis("normal", normal))
        self.point = _point("point", point, allow_short=True)

    def _inside(self, x, y, z):
        const = -float(np.dot(self.normal, self.point))
        return _lin(self.normal, (x, y, z), const) <= 0.0

    def bounds(self):
        b = _ALL.copy()
        nz = [i for i, c in enumerate(self.normal) if c != 0.0]
        if len(nz) == 1:
            i = nz[0]
            if self.normal[i] > 0:
                b[i, 1] = self.point[i]
            else:
                b[i, 0] = self.point[i]
        return b

    def __repr__(self):
        return f"HalfSpace(normal={self.normal}, point={self.point})"


# ---------------------------------------------------------------------------------------- transforms
class _Affine(Shape):
    """{A q + b : q in base}; evaluated as base.inside(A⁻¹ (p - b))."""

    def __init__(self, base, A, b):
        A = np.asarray(A, dtype=float)
        b = np.asarray(b, dtype=float).reshape(3)
        if isinstance(base, _Affine):  # compose: A (A0 q + b0) + b
            A, b = A @ base.A, A @ base.b + b
            base = base.base
        self.base, self.A, self.b = base, A, b
        Ainv = np.linalg.inv(A)
        Ainv[np.abs(Ainv) < 1e-15 * np.abs(Ainv).max()] = 0.0
        self.Ainv = Ainv
        self._shift = -Ainv @ b  # q = Ainv p + shift
        self._shift[np.abs(self._shift) < 1e-30] = 0.0

    @property
    def center(self):
        return tuple(float(v) for v in self.A @ np.asarray(self.base.center) + self.b)

    def _inside(self, x, y, z):
        comps = (x, y, z)
        q = [_lin(self.Ainv[i], comps, self._shift[i]) for i in range(3)]
        return self.base._inside(*q)

    def bounds(self):
        bb = np.asarray(self.base.bounds(), dtype=float)
        if _is_empty(bb):
            return _empty_bounds()
        out = np.empty((3, 2))
        for i in range(3):
            lo = hi = self.b[i]
            for j in range(3):
                a = self.A[i, j]
                if a == 0.0:
                    continue
                p, q = a * bb[j, 0], a * bb[j, 1]
                lo, hi = lo + min(p, q), hi + max(p, q)
            out[i] = lo, hi
        return out

    def __repr__(self):
        return f"{self.base!r}.affine(A={self.A.round(12).tolist()}, b={self.b.tolist()})"


# ---------------------------------------------------------------------------------------- CSG
def _check_shapes(name, shapes):
    for i, s in enumerate(shapes):
        if not isinstance(s, Shape):
            raise TypeError(f"{name}: argument {i} must be a micromag geometry Shape, got {type(s).__name__}")


class _Union(Shape):
    def __init__(self, parts):
        flat = []
        for p in parts:
            flat.extend(p.parts if isinstance(p, _Union) else [p])
        self.parts = tuple(flat)

    def _inside(self, x, y, z):
        out = None
        for p in self.parts:
            m = p._inside(x, y, z)
            out = m if out is None else out | m
        return out

    def bounds(self):
        bs = [np.asarray(p.bounds(), dtype=float) for p in self.parts]
        bs = [b for b in bs if not _is_empty(b)]
        if not bs:
            return _empty_bounds()
        return np.stack([np.min([b[:, 0] for b in bs], axis=0), np.max([b[:, 1] for b in bs], axis=0)], axis=1)

    def __repr__(self):
        return "(" + " | ".join(repr(p) for p in self.parts) + ")"


class _Intersection(Shape):
    def __init__(self, parts):
        flat = []
        for p in parts:
            flat.extend(p.parts if isinstance(p, _Intersection) else [p])
        self.parts = tuple(flat)

    def _inside(self, x, y, z):
        out = None
        for p in self.parts:
            m = p._inside(x, y, z)
            out = m if out is None else out & m
        return out

    def bounds(self):
        bs = [np.asarray(p.bounds(), dtype=float) for p in self.parts]
        b = np.stack([np.max([b[:, 0] for b in bs], axis=0), np.min([b[:, 1] for b in bs], axis=0)], axis=1)
        return _empty_bounds() if _is_empty(b) else b

    def __repr__(self):
        return "(" + " & ".join(repr(p) for p in self.parts) + ")"


class _Difference(Shape):
    def __init__(self, a, b):
        self.a, self.b = a, b

    def _inside(self, x, y, z):
        return self.a._inside(x, y, z) & ~np.asarray(self.b._inside(x, y, z), dtype=bool)

    def bounds(self):
        return self.a.bounds()

    def __repr__(self):
        return f"({self.a!r} - {self.b!r})"


class _Complement(Shape):
    def __init__(self, a):
        self.a = a

    def _inside(self, x, y, z):
        return ~np.asarray(self.a._inside(x, y, z), dtype=bool)

    def __invert__(self):
        return self.a

    def __repr__(self):
        return f"~{self.a!r}"


def union(*shapes):
    """Points in any of the shapes (``a | b | ...``); no shape gives :class:`Empty`."""
    _check_shapes("union", shapes)
    return _Union(shapes) if shapes else Empty()


def intersection(*shapes):
    """Points in all of the shapes (``a & b & ...``); no shape gives :class:`Universe`."""
    _check_shapes("intersection", shapes)
    return _Intersection(shapes) if shapes else Universe()


def difference(a, *others):
    """Points in ``a`` and in none of ``others`` (``a - b - ...``)."""
    _check_shapes("difference", (a,) + others)
    return _Difference(a, union(*others)) if others else a


def complement(a):
    """Points not in ``a`` (``~a``)."""
    _check_shapes("complement", (a,))
    return ~a

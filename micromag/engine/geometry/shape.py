"""The :class:`Shape` contract (inside test, bounds, fill fractions on a grid by sub-cell sampling), the
argument checks every shape shares, rotations, the trivial shapes (Universe, Empty) and the shapes made of
shapes: transforms and CSG (union, intersection, difference, complement)."""
from __future__ import annotations

import math

import numpy as np


# Longest believable length: lengths are in metres, a micromagnetic sample is far below 1 m.
MAX_LENGTH = 1.0
# Cells evaluated at once in fill_fraction (per sub-sample offset); bounds the temporary memory.
_CHUNK_CELLS = 1 << 20
_AXES = {"x": (1.0, 0.0, 0.0), "y": (0.0, 1.0, 0.0), "z": (0.0, 0.0, 1.0)}


# ---------------------------------------------------------------------------------------- validation
def number_arg(name, v):
    if isinstance(v, (bool, np.bool_)):
        raise ValueError(f"{name} must be a number, got {v!r}")
    try:
        return float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {v!r}") from None


def length_arg(name, v, allow_inf=False):
    """A length > 0 in metres; ``None`` or inf mean 'unbounded' where ``allow_inf``."""
    if v is None and allow_inf:
        return math.inf
    x = number_arg(name, v)
    rng = "(0, inf]" if allow_inf else f"(0, {MAX_LENGTH}]"
    if math.isnan(x) or x <= 0 or (math.isinf(x) and not allow_inf):
        raise ValueError(f"{name} must be a length in {rng} metres{' (None = unbounded)' if allow_inf else ''}, got {v!r}")
    if math.isfinite(x) and x > MAX_LENGTH:
        raise ValueError(f"{name} = {x} m is larger than {MAX_LENGTH} m; lengths are in metres (e.g. 100e-9)")
    return x


def lengths_arg(name, v, n, allow_inf=False):
    try:
        vals = list(v)
    except TypeError:
        raise ValueError(f"{name} must be a sequence of {n} lengths in metres, got {v!r}") from None
    if len(vals) != n:
        raise ValueError(f"{name} must have {n} entries, got {len(vals)}")
    return tuple(length_arg(f"{name}[{i}]", x, allow_inf) for i, x in enumerate(vals))


def point_arg(name, v, n=3, allow_short=False):
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
        f = number_arg(f"{name}[{i}]", x)
        if not math.isfinite(f):
            raise ValueError(f"{name}[{i}] must be a finite coordinate in metres, got {x!r}")
        out.append(f)
    return tuple(out)


def axis_arg(name, axis):
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
def linear_form(coeffs, comps, const=0.0):
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
    angle = number_arg("angle_deg", angle_deg)
    if not math.isfinite(angle):
        raise ValueError(f"angle_deg must be a finite angle in degrees, got {angle_deg!r}")
    u = axis_arg("axis", axis)
    c, s = _cos_sin_deg(angle)
    ux = np.array([[0.0, -u[2], u[1]], [u[2], 0.0, -u[0]], [-u[1], u[0], 0.0]])
    R = c * np.eye(3) + s * ux + (1.0 - c) * np.outer(u, u)
    R[np.abs(R) < 1e-15] = 0.0  # exact zeros let linear_form skip terms
    return R


ALL_BOUNDS = np.array([[-np.inf, np.inf]] * 3)


def empty_bounds():
    return np.array([[np.inf, -np.inf]] * 3)


def is_empty(b):
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
        return ALL_BOUNDS.copy()

    # --- point queries -----------------------------------------------------------------------------
    def inside(self, x, y, z):
        """Boolean array, broadcast from ``x``, ``y``, ``z`` (metres): True where the point is in the shape."""
        x, y, z = (np.asarray(c, dtype=float) for c in (x, y, z))
        shape = np.broadcast_shapes(x.shape, y.shape, z.shape)
        res = np.asarray(self._inside(x, y, z), dtype=bool)
        return np.broadcast_to(res, shape).copy() if res.shape != shape else res

    def __contains__(self, point):
        x, y, z = point_arg("point", point, allow_short=True)
        return bool(self.inside(x, y, z))

    @property
    def center(self):
        """A reference centre: the primitive's centre, carried along by transforms; for CSG shapes
        the middle of the bounding box."""
        b = self.bounds()
        if is_empty(b) or not np.all(np.isfinite(b)):
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
        if is_empty(b):
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
        return Affine(self, A, b)

    def rotate(self, angle_deg, axis="z", about=(0.0, 0.0, 0.0)):
        """Rotated copy: right-hand rule about ``axis`` ('x', 'y', 'z' or a 3-vector) through the point
        ``about`` (metres; default the grid centre; ``'center'`` for the shape's own :attr:`center`).

        A positive angle turns counter-clockwise looking down the axis (from its tip to the origin).
        """
        R = rotation_matrix(angle_deg, axis)
        c = np.array(self.center if isinstance(about, str) and about == "center" else point_arg("about", about, allow_short=True))
        return self._affine(R, c - R @ c)

    def translate(self, offset):
        """Copy moved by ``offset = (dx, dy, dz)`` metres (a 2-tuple means dz = 0)."""
        t = np.array(point_arg("offset", offset, allow_short=True))
        return self._affine(np.eye(3), t)

    def scale(self, factor, about=(0.0, 0.0, 0.0)):
        """Copy scaled by ``factor`` (> 0; a number or (sx, sy, sz)) about the point ``about``."""
        if np.ndim(factor) == 0:
            f = number_arg("factor", factor)
            fs = (f, f, f)
        else:
            try:
                fs = tuple(number_arg(f"factor[{i}]", v) for i, v in enumerate(factor))
            except TypeError:
                raise ValueError(f"factor must be a number > 0 or three numbers > 0, got {factor!r}") from None
            if len(fs) != 3:
                raise ValueError(f"factor must be a number > 0 or three numbers > 0, got {factor!r}")
        for i, f in enumerate(fs):
            if not math.isfinite(f) or f <= 0:
                raise ValueError(f"factor must be finite and > 0 (got {fs[i]!r} for axis {'xyz'[i]})")
        c = np.array(self.center if isinstance(about, str) and about == "center" else point_arg("about", about, allow_short=True))
        A = np.diag(fs)
        return self._affine(A, c - A @ c)


# ---------------------------------------------------------------------------------------- the trivial shapes
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
        return empty_bounds()

    def __repr__(self):
        return "Empty()"


# ---------------------------------------------------------------------------------------- transforms
class Affine(Shape):
    """{A q + b : q in base}; evaluated as base.inside(A⁻¹ (p - b))."""

    def __init__(self, base, A, b):
        A = np.asarray(A, dtype=float)
        b = np.asarray(b, dtype=float).reshape(3)
        if isinstance(base, Affine):  # compose: A (A0 q + b0) + b
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
        q = [linear_form(self.Ainv[i], comps, self._shift[i]) for i in range(3)]
        return self.base._inside(*q)

    def bounds(self):
        bb = np.asarray(self.base.bounds(), dtype=float)
        if is_empty(bb):
            return empty_bounds()
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
        bs = [b for b in bs if not is_empty(b)]
        if not bs:
            return empty_bounds()
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
        return empty_bounds() if is_empty(b) else b

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

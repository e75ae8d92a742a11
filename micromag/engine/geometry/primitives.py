"""The primitive shapes: Box, Ellipse, Ellipsoid, Cylinder, Polygon, Layer, HalfSpace."""
from __future__ import annotations

import math

import numpy as np
from .shape import (ALL_BOUNDS, MAX_LENGTH, Affine, Shape, axis_arg, length_arg, lengths_arg, linear_form, number_arg,
                    point_arg, rotation_matrix)


class Box(Shape):
    """Axis-aligned box ``size = (Lx, Ly, Lz)`` (m, > 0; ``None``/inf = unbounded) centred at ``center``."""

    def __init__(self, size, center=(0.0, 0.0, 0.0)):
        self.size = lengths_arg("size", size, 3, allow_inf=True)
        self._center = point_arg("center", center, allow_short=True)

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
        self.diameters = lengths_arg("diameters", diameters, 2)
        self.thickness = length_arg("thickness", thickness, allow_inf=True)
        self._center = point_arg("center", center, allow_short=True)

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
        self.diameters = lengths_arg("diameters", diameters, 3)
        self._center = point_arg("center", center, allow_short=True)

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
        self.diameter = length_arg("diameter", diameter)
        self.height = length_arg("height", height, allow_inf=True)
        self._center = point_arg("center", center, allow_short=True)
        self.axis = tuple(float(v) for v in axis_arg("axis", axis))
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
        self._impl = Affine(base, R, np.array(self._center))

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
        if span > MAX_LENGTH:
            raise ValueError(f"vertices span {span} m, more than {MAX_LENGTH} m; lengths are in metres (e.g. 100e-9)")
        if rule not in ("evenodd", "nonzero"):
            raise ValueError(f"rule must be 'evenodd' or 'nonzero', got {rule!r}")
        self.vertices = v
        self.signed_area = area
        self.thickness = length_arg("thickness", thickness, allow_inf=True)
        self.z_center = point_arg("z_center", (z_center,), n=1)[0]
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
        a, b = number_arg("z0", z0), number_arg("z1", z1)
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
        self.normal = tuple(float(v) for v in axis_arg("normal", normal))
        self.point = point_arg("point", point, allow_short=True)

    def _inside(self, x, y, z):
        const = -float(np.dot(self.normal, self.point))
        return linear_form(self.normal, (x, y, z), const) <= 0.0

    def bounds(self):
        b = ALL_BOUNDS.copy()
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

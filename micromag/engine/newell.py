"""The Newell–Williams–Dunlop demagnetizing tensor of a grid of identical rectangular cells.

Convention: the field that a uniformly magnetized source cell (magnetization M, A/m) makes, averaged over a
target cell whose centre sits at offset R = (X, Y, Z) = (i dx, j dy, k dz) from the source's, is

    H_a = - Σ_b N_ab(R) M_b          (A/m; dimensionless N, a cube's self term is N = 1/3 on each axis).

Exact form (Newell, Williams & Dunlop, J. Geophys. Res. 98, 9551 (1993)): with the sixfold second difference
Δ³F(X, Y, Z) = Σ_{a,b,c ∈ {-1,0,1}} w_a w_b w_c F(X + a dx, Y + b dy, Z + c dz), weights w = (1, -2, 1),

    N_xx(R) = -Δ³f(X, Y, Z) / (4π dx dy dz),      N_xy(R) = -Δ³g(X, Y, Z) / (4π dx dy dz),

and the other elements by permuting the axes (N_yy from f(y, x, z), N_zz from f(z, y, x), N_xz from
g(x, z, y), N_yz from g(y, z, x)). f and g (units m³) are

    f(x, y, z) = y/2 (z² - x²) asinh(y / √(x²+z²)) + z/2 (y² - x²) asinh(z / √(x²+y²))
                 - x y z atan(y z / (x r)) + (2x² - y² - z²) r / 6
    g(x, y, z) = x y z asinh(z / √(x²+y²)) + y/6 (3z² - y²) asinh(x / √(y²+z²))
                 + x/6 (3z² - x²) asinh(y / √(x²+z²)) - z³/6 atan(x y / (z r))
                 - z y²/2 atan(x z / (y r)) - z x²/2 atan(y z / (x r)) - x y r / 3

with r = √(x²+y²+z²); f is even in every argument, g odd in x and y and even in z. f and g grow like r³
while N falls like V/r³, so the 27-term sum loses a factor of about r⁶/V² in relative precision. We
evaluate f and g once per lattice point in ``np.longdouble`` (64-bit mantissa on x86-64, eps 1.1e-19) and
take the second differences with array operations.

Far field: N is the dipole tensor averaged over both cells, N_ab(R) = -V/(4π) ∂a∂b <1/|R + w|>, where
w = u - v is the difference of two points drawn uniformly from a cell (a product of triangular
distributions, <w_x^2k> = 2 dx^2k / ((2k+1)(2k+2))). Taylor-expanding 1/|R + w| gives

    N_ab(R) = -V/(4π) Σ_{even α,β,γ ≤ ASYMPTOTIC_ORDER} <w_x^α><w_y^β><w_z^γ> / (α! β! γ!) ∂x^α ∂y^β ∂z^γ ∂a ∂b (1/R),

the point dipole N = V (δ_ab R² - 3 R_a R_b) / (4π R⁵) plus corrections in (d/R)², (d/R)⁴, ... The
derivatives of 1/R are exact integer polynomials over powers of R, built once. Beyond a crossover distance
(``_crossover``) where the truncation error of the series falls below the rounding error of the exact
form, the series is used instead.

Periodic images: along an axis with p images per side (p > 0) the tensor at circular offset d (0 <= d < n)
is the sum over images k = -p..p of N(d' + k n), d' being the representative of d nearest 0 (for d = n/2
the average of both), so the periodic kernel keeps the parity of N.

Public API: :func:`newell_tensor` (one octant of offsets for a grid), :func:`newell_pair` (one offset),
:func:`full_kernel` (an octant mirrored into the FFT layout), :func:`cached_newell_tensor` (on-disk cache).
"""
from __future__ import annotations

import hashlib
import math
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from .io.atomic import atomic_write

VERSION = "newell-nwd93-ld-asym12-v1"
"""Bumped whenever the numbers the tensor code produces change; part of the cache key."""

COMPONENTS = ("xx", "yy", "zz", "xy", "xz", "yz")

PARITY = {
    "xx": (1, 1, 1),
    "yy": (1, 1, 1),
    "zz": (1, 1, 1),
    "xy": (-1, -1, 1),
    "xz": (-1, 1, -1),
    "yz": (1, -1, -1),
}
"""Parity of each element under X -> -X, Y -> -Y, Z -> -Z (in x, y, z order)."""

ASYMPTOTIC_ORDER = 12
"""Highest (even) moment order kept in the far-field series (measured error ~1e-12 relative at R = 8 d_max)."""

_LD = np.longdouble


# ---------------------------------------------------------------------------------------------- exact form
def _f(x, y, z):
    """Newell's f for non-negative (broadcastable, long double) x, y, z."""
    x2, y2, z2 = x * x, y * y, z * z
    r = np.sqrt(x2 + y2 + z2)
    rxz, rxy = np.sqrt(x2 + z2), np.sqrt(x2 + y2)
    with np.errstate(divide="ignore", invalid="ignore"):
        # each guarded term has a prefactor that vanishes where its denominator does
        t = (2 * x2 - y2 - z2) * r / 6
        t = t + np.where(rxz > 0, y / 2 * (z2 - x2) * np.arcsinh(y / rxz), 0)
        t = t + np.where(rxy > 0, z / 2 * (y2 - x2) * np.arcsinh(z / rxy), 0)
        t = t - np.where(x > 0, x * y * z * np.arctan(y * z / (x * r)), 0)
    return t


def _g(x, y, z):
    """Newell's g for non-negative (broadcastable, long double) x, y, z; g(-x, y, z) = -g(x, y, z), same for y."""
    x2, y2, z2 = x * x, y * y, z * z
    r = np.sqrt(x2 + y2 + z2)
    rxy, ryz, rxz = np.sqrt(x2 + y2), np.sqrt(y2 + z2), np.sqrt(x2 + z2)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = -x * y * r / 3
        t = t + np.where(rxy > 0, x * y * z * np.arcsinh(z / rxy), 0)
        t = t + np.where(ryz > 0, y / 6 * (3 * z2 - y2) * np.arcsinh(x / ryz), 0)
        t = t + np.where(rxz > 0, x / 6 * (3 * z2 - x2) * np.arcsinh(y / rxz), 0)
        t = t - np.where(z > 0, z2 * z / 6 * np.arctan(x * y / (z * r)), 0)
        t = t - np.where(y > 0, z * y2 / 2 * np.arctan(x * z / (y * r)), 0)
        t = t - np.where(x > 0, z * x2 / 2 * np.arctan(y * z / (x * r)), 0)
    return t


def _second_difference(a, axis, parity):
    """F(i+1) - 2 F(i) + F(i-1) along ``axis`` for i = 0..m-1, from F on i = 0..m; F(-1) = parity · F(1)."""
    a = np.moveaxis(a, axis, -1)
    ext = np.concatenate([parity * a[..., 1:2], a], axis=-1)
    out = ext[..., 2:] - 2 * ext[..., 1:-1] + ext[..., :-2]
    return np.moveaxis(out, -1, axis)


def _exact_octant(m, cell):
    """Exact N over offsets 0..m_a-1 along each axis (a dict of (mz, my, mx) float64 arrays), cell in any unit."""
    dx, dy, dz = (_LD(c) for c in cell)
    mx, my, mz = m
    x = (np.arange(mx + 1, dtype=_LD) * dx)[None, None, :]
    y = (np.arange(my + 1, dtype=_LD) * dy)[None, :, None]
    z = (np.arange(mz + 1, dtype=_LD) * dz)[:, None, None]
    scale = -1 / (4 * _LD(math.pi) * dx * dy * dz)
    # (function, argument order) per element: the first two arguments of g are its odd ones
    recipes = {
        "xx": (_f, (x, y, z)),
        "yy": (_f, (y, x, z)),
        "zz": (_f, (z, y, x)),
        "xy": (_g, (x, y, z)),
        "xz": (_g, (x, z, y)),
        "yz": (_g, (y, z, x)),
    }
    out = {}
    for name, (fun, args) in recipes.items():
        if mz == 1 and name in ("xz", "yz"):
            out[name] = np.zeros((mz, my, mx))  # odd in Z and only Z = 0 asked for
            continue
        a = fun(*args)
        a = np.broadcast_to(a, (mz + 1, my + 1, mx + 1))
        px, py, pz = PARITY[name]
        a = _second_difference(a, 2, px)
        a = _second_difference(a, 1, py)
        a = _second_difference(a, 0, pz)
        out[name] = (a * scale).astype(np.float64)
    return out


# ---------------------------------------------------------------------------------------------- far field
def _derive(poly, n, axis):
    """∂/∂x_axis of P / R^(2n+1) = (R² ∂P - (2n+1) x_axis P) / R^(2n+3); polynomials as {(p, q, r): int}."""
    out = {}
    for mono, c in poly.items():
        k = mono[axis]
        if k:
            for j in range(3):
                e = list(mono)
                e[axis] -= 1
                e[j] += 2
                e = tuple(e)
                out[e] = out.get(e, 0) + c * k
        e = list(mono)
        e[axis] += 1
        e = tuple(e)
        out[e] = out.get(e, 0) - (2 * n + 1) * c
    return {k: v for k, v in out.items() if v}


@lru_cache(maxsize=None)
def _inv_r_derivatives(order):
    """{(α, β, γ): P} with ∂x^α ∂y^β ∂z^γ (1/R) = P(x, y, z) / R^(2(α+β+γ)+1), all α+β+γ <= order."""
    d = {(0, 0, 0): {(0, 0, 0): 1}}
    for total in range(1, order + 1):
        for a in range(total + 1):
            for b in range(total + 1 - a):
                idx = (a, b, total - a - b)
                axis = 0 if a else (1 if b else 2)
                prev = list(idx)
                prev[axis] -= 1
                d[idx] = _derive(d[tuple(prev)], total - 1, axis)
    return d


def _triangle_moment(k, d):
    """<w^k> for w the difference of two uniform points on [0, d] (k even)."""
    return 2.0 * d**k / ((k + 1) * (k + 2))


@lru_cache(maxsize=64)
def _asymptotic_polys(cell, order):
    """Per element: list of (L, {(p, q, r): coefficient}) so that N = Σ_L Q_L(R̂) / R^(L+3)."""
    derivs = _inv_r_derivatives(order + 2)
    dx, dy, dz = cell
    vol = dx * dy * dz
    axes = {"x": 0, "y": 1, "z": 2}
    res = {}
    for name in COMPONENTS:
        e = [0, 0, 0]
        e[axes[name[0]]] += 1
        e[axes[name[1]]] += 1
        levels = []
        for L in range(0, order + 1, 2):
            q = {}
            for a in range(0, L + 1, 2):
                for b in range(0, L + 1 - a, 2):
                    c = L - a - b
                    w = (_triangle_moment(a, dx) * _triangle_moment(b, dy) * _triangle_moment(c, dz)
                         / (math.factorial(a) * math.factorial(b) * math.factorial(c)))
                    for mono, coef in derivs[(a + e[0], b + e[1], c + e[2])].items():
                        q[mono] = q.get(mono, 0.0) + w * coef
            q = {k: -vol / (4 * math.pi) * v for k, v in q.items() if v != 0}
            levels.append((L, q))
        res[name] = levels
    return res


def _asymptotic(X, Y, Z, cell, names=COMPONENTS, order=ASYMPTOTIC_ORDER):
    """Far-field series of N at (broadcast) offsets X, Y, Z (same unit as cell, R > 0), float64."""
    X, Y, Z = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (X, Y, Z)))
    R = np.sqrt(X * X + Y * Y + Z * Z)
    inv_r = 1.0 / R
    u = (X * inv_r, Y * inv_r, Z * inv_r)
    flat = [not np.any(c) for c in u]  # an axis with zero offset everywhere drops its monomials
    top = order + 2
    powers = []
    for a in range(3):
        p = [np.ones_like(R)]
        for _ in range(top if not flat[a] else 0):
            p.append(p[-1] * u[a])
        powers.append(p)
    polys = _asymptotic_polys(tuple(float(c) for c in cell), order)
    out = {}
    for name in names:
        total = np.zeros_like(R)
        for L, q in polys[name]:
            acc = np.zeros_like(R)
            for (p, s, t), c in q.items():
                if (p and flat[0]) or (s and flat[1]) or (t and flat[2]):
                    continue
                term = powers[0][p] * c
                if s:
                    term *= powers[1][s]
                if t:
                    term *= powers[2][t]
                acc += term
            total += acc * inv_r ** (L + 3)
        out[name] = total
    return out


# ---------------------------------------------------------------------------------------------- assembly
def _crossover(cell):
    """Distance (same unit as cell, largest side 1) beyond which the far-field series replaces the exact form.

    Measured against 50-digit mpmath values (cells 1:1:1, 5:5:3, 1:2:3, 5:5:1, 4:4:1, 4:1:1), relative to
    V / (4π R³): the long-double exact form errs by about 7.6e-19 R⁶ / V², the order-12 series by about
    4.4 R^-14. The crossover is where the two meet, R = (4.4 V² / 7.6e-19)^(1/20): 8.7 for a cube, 6.6 for
    a 4:1:1 cell; the error there is 3e-13 (cube) to 1e-11 (4:1:1). The rounding constant scales with the
    platform's long double (plain float64 on some machines moves the crossover in to ~6 with ~1e-10 error).
    Kept within [4, 16]: below 4 the series converges slowly, beyond 16 it is exact to float64 anyway.
    """
    vol = cell[0] * cell[1] * cell[2]
    k_exact = 7.6e-19 * float(np.finfo(_LD).eps) / 1.0842021724855044e-19
    return min(16.0, max(4.0, (4.4 * vol**2 / k_exact) ** (1.0 / 20.0)))


def _open_octant(m, cell, rc=None):
    """N (open boundaries) over offsets 0..m_a-1 per axis; exact within rc, series beyond."""
    mx, my, mz = m
    rc = _crossover(cell) if rc is None else rc
    # exact on the box that holds the sphere of radius rc, the series outside the sphere
    box = tuple(mi if not math.isfinite(rc) else min(mi, int(rc / d) + 1) for mi, d in zip(m, cell))
    out = {name: np.zeros((mz, my, mx)) for name in COMPONENTS}
    if all(b > 0 for b in box):
        near = _exact_octant(box, cell)
        for name in COMPONENTS:
            out[name][: box[2], : box[1], : box[0]] = near[name]
    if math.isfinite(rc):
        X = (np.arange(mx) * cell[0])[None, None, :]
        Y = (np.arange(my) * cell[1])[None, :, None]
        Z = (np.arange(mz) * cell[2])[:, None, None]
        R2 = X * X + Y * Y + Z * Z
        far = R2 > rc * rc
        if np.any(far):
            Xf, Yf, Zf = (np.broadcast_to(v, R2.shape)[far] for v in (X, Y, Z))
            names = [n for n in COMPONENTS if not (mz == 1 and n in ("xz", "yz"))]
            vals = _asymptotic(Xf, Yf, Zf, cell, names)
            for name in names:
                out[name][far] = vals[name]
    return out


def _fold(a, axis, n, p, parity):
    """Sum images k = -p..p along ``axis``: octant over 0..p n + n//2 -> circular offsets 0..n//2."""
    d = np.arange(n // 2 + 1)
    k = np.arange(-p, p + 1)
    s = d[:, None] + n * k[None, :]
    sign = np.where(s < 0, parity, 1).astype(np.float64)
    a = np.moveaxis(a, axis, -1)
    out = (a[..., np.abs(s)] * sign).sum(axis=-1)
    if n % 2 == 0:
        # d = n/2 and d = -n/2 are the same circular offset: average both image sets to keep the parity
        s2 = -(n // 2) + n * k
        sign2 = np.where(s2 < 0, parity, 1).astype(np.float64)
        out[..., n // 2] = 0.5 * (out[..., n // 2] + (a[..., np.abs(s2)] * sign2).sum(axis=-1))
    if parity < 0:
        # odd elements vanish at d = 0 and d = n/2 by symmetry; make it exact, not round-off
        out[..., 0] = 0.0
        if n % 2 == 0:
            out[..., n // 2] = 0.0
    return np.moveaxis(out, -1, axis)


def _normalized_cell(cell):
    cell = tuple(float(c) for c in cell)
    if len(cell) != 3 or not all(math.isfinite(c) and c > 0 for c in cell):
        raise ValueError(f"cell must be three positive lengths, got {cell!r}")
    s = max(cell)
    return tuple(c / s for c in cell)  # N is scale free: work with the largest side = 1


def newell_tensor(n, cell, pbc=(0, 0, 0)):
    """Demag tensor of an ``nx × ny × nz`` grid of ``dx × dy × dz`` cells, over one octant of offsets.

    Parameters
    ----------
    n : (nx, ny, nz) cell counts.
    cell : (dx, dy, dz) cell size (any length unit; N is dimensionless and scale free).
    pbc : (px, py, pz) periodic images per side (0 = open).

    Returns
    -------
    dict {"xx", "yy", "zz", "xy", "xz", "yz"} of float64 arrays of shape (mz, my, mx), element [k, j, i] at
    offset (i dx, j dy, k dz). Along an open axis m = n (offsets 0..n-1); along a periodic one
    m = n//2 + 1 (circular offsets 0..n//2, images summed). Negative offsets follow from ``PARITY``.
    """
    n = tuple(int(v) for v in n)
    pbc = tuple(int(v) for v in pbc)
    if len(n) != 3 or any(v < 1 for v in n):
        raise ValueError(f"n must be three integers >= 1, got {n!r}")
    if len(pbc) != 3 or any(v < 0 for v in pbc):
        raise ValueError(f"pbc must be three integers >= 0, got {pbc!r}")
    c = _normalized_cell(cell)
    m = tuple(ni if p == 0 else p * ni + ni // 2 + 1 for ni, p in zip(n, pbc))
    out = _open_octant(m, c)
    for axis, (ni, p) in enumerate(zip(n, pbc)):
        if p == 0:
            continue
        arr_axis = 2 - axis
        for name in COMPONENTS:
            out[name] = _fold(out[name], arr_axis, ni, p, PARITY[name][axis])
    return {name: np.ascontiguousarray(out[name]) for name in COMPONENTS}


def newell_pair(offset, cell, method="auto"):
    """Tensor elements between two cells at integer ``offset`` = (i, j, k) cells apart (dict of floats).

    ``method``: "auto" (exact near, series far, as :func:`newell_tensor`), "exact" (long double exact form
    at any distance) or "asymptotic" (far-field series; offset must not be 0).
    """
    off = tuple(int(v) for v in offset)
    if len(off) != 3 or tuple(offset) != off:
        raise ValueError(f"offset must be three integers, got {offset!r}")
    c = _normalized_cell(cell)
    a = tuple(abs(v) for v in off)
    if method not in ("auto", "exact", "asymptotic"):
        raise ValueError(f"method must be 'auto', 'exact' or 'asymptotic', got {method!r}")
    r = math.sqrt(sum((v * d) ** 2 for v, d in zip(a, c)))
    if method == "asymptotic" and r == 0:
        raise ValueError("the far-field series does not apply at offset 0")
    if method == "asymptotic" or (method == "auto" and r > _crossover(c)):
        vals = _asymptotic(*(np.array([v * d]) for v, d in zip(a, c)), c)
        vals = {k: v[0] for k, v in vals.items()}
    else:  # exact form on the small box of lattice points up to this offset
        oct_ = _open_octant((a[0] + 1, a[1] + 1, a[2] + 1), c, rc=math.inf)
        vals = {k: v[a[2], a[1], a[0]] for k, v in oct_.items()}
    res = {}
    for name in COMPONENTS:
        sign = 1
        for v, par in zip(off, PARITY[name]):
            if v < 0:
                sign *= par
        res[name] = float(sign * vals[name])
    return res


def full_kernel(octant, n, pbc, name):
    """Mirror one element's octant into the FFT layout: per axis length 2n (open, n > 1; offset n left 0),
    n (periodic) or 1 (open, n = 1); index i holds offset i, index L - i offset -i."""
    a = octant
    for axis, (ni, p) in enumerate(zip(n, pbc)):
        arr_axis = 2 - axis
        par = PARITY[name][axis]
        a = np.moveaxis(a, arr_axis, -1)
        if p == 0 and ni > 1:
            zero = np.zeros(a.shape[:-1] + (1,))
            a = np.concatenate([a, zero, par * a[..., :0:-1]], axis=-1)
        elif p > 0:
            a = np.concatenate([a, par * a[..., (ni - 1) // 2 : 0 : -1]], axis=-1)
        a = np.moveaxis(a, -1, arr_axis)
    return np.ascontiguousarray(a)


# ---------------------------------------------------------------------------------------------- cache
def cache_directory(cache_dir=None):
    """Where kernels are cached: ``cache_dir``, else ``$MICROMAG_CACHE``, else ``~/.cache/micromag``."""
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get("MICROMAG_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "micromag"


def _cache_key(n, cell, pbc):
    text = f"{VERSION}|n={tuple(int(v) for v in n)}|cell={tuple(float(c).hex() for c in cell)}|pbc={tuple(int(v) for v in pbc)}"
    return text, hashlib.sha256(text.encode()).hexdigest()[:24]


def _expected_shape(n, pbc):
    m = [ni if p == 0 else ni // 2 + 1 for ni, p in zip(n, pbc)]
    return (m[2], m[1], m[0])


def tensor_cache_path(n, cell, pbc=(0, 0, 0), cache_dir=None):
    """The cache file :func:`cached_newell_tensor` reads and writes for this grid (None: ``cache_dir=False``);
    it need not exist. Files derived from the tensor (the kernel spectra) are named after it."""
    if cache_dir is False:
        return None
    n = tuple(int(v) for v in n)
    _, digest = _cache_key(n, cell, tuple(int(v) for v in pbc))
    return cache_directory(cache_dir) / f"newell_{n[0]}x{n[1]}x{n[2]}_{digest}.npz"


def cached_newell_tensor(n, cell, pbc=(0, 0, 0), cache_dir=None):
    """:func:`newell_tensor` through an on-disk npz cache; returns (tensor, path or None, loaded_from_disk).

    ``cache_dir=False`` disables the cache. A file that cannot be read, is for another grid or holds
    non-finite numbers is recomputed and overwritten. Files are written atomically (temp file + rename).
    """
    n = tuple(int(v) for v in n)
    pbc = tuple(int(v) for v in pbc)
    if cache_dir is False:
        return newell_tensor(n, cell, pbc), None, False
    key, _ = _cache_key(n, cell, pbc)
    path = tensor_cache_path(n, cell, pbc, cache_dir)
    directory = path.parent
    shape = _expected_shape(n, pbc)
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as data:
                if str(data["key"]) != key:
                    raise ValueError("cache key mismatch")
                stored = {str(v) for v in data["stored"]}
                t = {}
                for name in COMPONENTS:
                    arr = data[name] if name in stored else np.zeros(shape)
                    if arr.shape != shape or arr.dtype != np.float64 or not np.all(np.isfinite(arr)):
                        raise ValueError("bad array in cache file")
                    t[name] = np.array(arr)
            return t, path, True
        except Exception:  # noqa: BLE001 - any unreadable file is simply recomputed
            pass
    t = newell_tensor(n, cell, pbc)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        # identically zero elements (Nxz, Nyz of a film) are not stored
        arrays = {name: a for name, a in t.items() if np.any(a)}
        atomic_write(path, lambda fh: np.savez(fh, key=np.array(key), stored=np.array(sorted(arrays), dtype=str),
                                                **arrays))
    except OSError:
        return t, None, False  # read-only or missing home: work without the cache
    return t, path, False

"""Geometry on element arrays: the boundary of a tetrahedral mesh, buckets of element bounding boxes, and
the chunked element-by-lattice-point tests the voxelization runs."""
from __future__ import annotations


import numpy as np

from .read import PAIR_CHUNK


def expand_counts(counts):
    """For counts c_e: (owner index per pair, local index 0..c_e-1 per pair)."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    owner = np.repeat(np.arange(len(counts)), counts)
    start = np.cumsum(counts) - counts
    local = np.arange(total, dtype=np.int64) - np.repeat(start, counts)
    return owner, local


def chunks_by_count(counts, limit=PAIR_CHUNK):
    """Split range(len(counts)) into consecutive slices whose count sums stay near ``limit``."""
    cs = np.cumsum(counts, dtype=np.int64)
    if len(cs) == 0 or cs[-1] == 0:
        return []
    cuts = np.searchsorted(cs, np.arange(limit, int(cs[-1]), limit), side="left")
    bounds = np.unique(np.concatenate([[0], cuts + 1, [len(counts)]]))
    bounds = bounds[bounds <= len(counts)]
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def boundary_edges(tris):
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


class Buckets:
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
        owner, local = expand_counts(np.prod(c, axis=1))
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
        for a, z in chunks_by_count(cnt):
            owner, local = expand_counts(cnt[a:z])
            yield pid[a:z][owner], self.elems[self.start[b[a:z]][owner] + local]


def cross_rows(a, b):
    return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]


def lattice_pairs(lo, hi, axes, tol):
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
    for a, z in chunks_by_count(cnt):
        owner, local = expand_counts(cnt[a:z])
        idx = [None] * D
        for d in range(D - 1, -1, -1):
            cd = c[d][a:z][owner]
            idx[d] = i0[d][a:z][owner] + local % cd
            local //= cd
        yield sel[a:z][owner], idx

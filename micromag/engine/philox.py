"""Counter-based random numbers shared by every backend: Philox-4x32-10 and Box–Muller normals.

Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC'11 (the Random123 / cuRAND
generator). A draw is a pure function of a 128-bit counter and a 64-bit key, so the thermal noise of a cell
is fixed by *what* it is, not by the order anything is computed in:

    key     = the member's seed (64 bits)
    counter = (cell, member id, step low word, 2 · step high word + call)     call = 0, 1

``member id`` is the member's identity (its index in the whole Batch or sweep, not its row in the current
array) and ``step`` counts the steps this member has taken. Compacting a batch, splitting it into chunks or
resuming from a checkpoint therefore never replays or skips noise. This module is the NumPy twin of
``gpu_kernels/philox.cuh``; both draw the same numbers (tests check the Random123 known answers and
agreement with the CUDA text run through the host emulation).

Three standard normals per (cell, member, step), from two Philox calls (eight 32-bit words):

    u1, u2 from call 0 (words x,y and z,w),  u3, u4 from call 1;  u = 53-bit uniform in (0, 1)
    n0 = √(−2 ln u1) cos 2πu2,  n1 = √(−2 ln u1) sin 2πu2,  n2 = √(−2 ln u3) cos 2πu4

Single precision (the GPU's float32 path) truncates the same uniforms to 24 bits (words x and z of each
call), so a float32 run draws the same normals to about 1e-7.
"""
from __future__ import annotations

import numpy as np

M0, M1 = 0xD2511F53, 0xCD9E8D57  # Philox multipliers
W0, W1 = 0x9E3779B9, 0xBB67AE85  # Weyl key increments
_MASK = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)


def philox4x32_10(ctr, key):
    """Philox-4x32-10 of counters ``ctr`` (4, ...) and keys ``key`` (2, ...), uint32-valued integer arrays
    (broadcast against each other). Returns (4, ...) uint64 arrays holding the 32-bit output words."""
    x, y, z, w = (np.asarray(c, dtype=np.uint64) for c in ctr)
    k0, k1 = (np.asarray(k, dtype=np.uint64) for k in key)
    shape = np.broadcast_shapes(x.shape, y.shape, z.shape, w.shape, k0.shape, k1.shape)
    x, y, z, w = (np.array(np.broadcast_to(v, shape)) for v in (x, y, z, w))
    k0, k1 = k0.copy(), k1.copy()
    p0 = np.empty(shape, dtype=np.uint64)
    p1 = np.empty(shape, dtype=np.uint64)
    for r in range(10):
        if r:
            k0 += W0
            k0 &= _MASK
            k1 += W1
            k1 &= _MASK
        np.multiply(x, M0, out=p0)  # < 2^64: exact
        np.multiply(z, M1, out=p1)
        # x' = hi1 ^ y ^ k0, y' = lo1, z' = hi0 ^ w ^ k1, w' = lo0
        np.right_shift(p1, _S32, out=x)
        x ^= y
        x ^= k0
        np.bitwise_and(p1, _MASK, out=y)
        np.right_shift(p0, _S32, out=z)
        z ^= w
        z ^= k1
        np.bitwise_and(p0, _MASK, out=w)
    return x, y, z, w


def _uniform53(a, b):
    return ((a >> np.uint64(5)).astype(np.float64) * 67108864.0 + (b >> np.uint64(6)).astype(np.float64) + 0.5) \
        * (1.0 / 9007199254740992.0)


def _uniform24(a):
    return (((a >> np.uint64(8)).astype(np.float32) + np.float32(0.5)) * np.float32(1.0 / 16777216.0))


def normals3(ncell, member_ids, steps, seeds, single=False, cells=None):
    """Standard normals of shape (B, 3, ncell) for members with identities ``member_ids`` (B,), step counts
    ``steps`` (B,) and seeds ``seeds`` (B,) (non-negative integers < 2^32, < 2^64 and < 2^64).
    ``cells``: the cell indices (default 0 … ncell−1). ``single``: the float32 path (24-bit uniforms,
    float32 arithmetic), as the GPU's float32 kernels; else float64."""
    ids = np.asarray(member_ids, dtype=np.uint64).reshape(-1, 1)
    st = np.asarray(steps, dtype=np.uint64).reshape(-1, 1)
    sd = np.asarray(seeds, dtype=np.uint64).reshape(-1, 1)
    c = np.arange(ncell, dtype=np.uint64)[None] if cells is None else np.asarray(cells, np.uint64).reshape(1, -1)
    lo, hi = st & _MASK, st >> _S32
    key = (sd & _MASK, sd >> _S32)
    r0 = philox4x32_10((c, ids, lo, hi * np.uint64(2)), key)
    r1 = philox4x32_10((c, ids, lo, hi * np.uint64(2) + np.uint64(1)), key)
    out = np.empty((ids.shape[0], 3, c.shape[1]), dtype=np.float32 if single else np.float64)
    if single:
        u1, u2, u3, u4 = _uniform24(r0[0]), _uniform24(r0[2]), _uniform24(r1[0]), _uniform24(r1[2])
        f = np.float32
        ra = np.sqrt(f(-2.0) * np.log(u1))
        rb = np.sqrt(f(-2.0) * np.log(u3))
        tp = f(6.2831853071795865)
    else:
        u1, u2 = _uniform53(r0[0], r0[1]), _uniform53(r0[2], r0[3])
        u3, u4 = _uniform53(r1[0], r1[1]), _uniform53(r1[2], r1[3])
        ra = np.sqrt(-2.0 * np.log(u1))
        rb = np.sqrt(-2.0 * np.log(u3))
        tp = 6.283185307179586
    a2, a4 = tp * u2, tp * u4
    np.multiply(ra, np.cos(a2), out=out[:, 0])
    np.multiply(ra, np.sin(a2), out=out[:, 1])
    np.multiply(rb, np.cos(a4), out=out[:, 2])
    return out


__all__ = ["philox4x32_10", "normals3"]

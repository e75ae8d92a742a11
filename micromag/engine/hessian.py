r"""The Hessian of the micromagnetic energy on the product of unit spheres, matrix-free.

    H = TangentHessian(sim, m)          # sim: a Simulation holding the landscape (any batch), m: (3, nz, ny, nx)
    H.lowest(3)                         # the three lowest eigenvalues, J (Lanczos: scipy eigsh)
    H.dense()                           # the full (2N, 2N) matrix, J (N magnetic cells)

Coordinates: in every magnetic cell i two orthonormal tangent vectors e1_i, e2_i ⟂ m_i; a tangent vector is
η = (η_1 … η_N, η_{N+1} … η_2N) (rad), the state moved along it is m_i + e1_i η_i + e2_i η_{N+i}. These are
the canonical coordinates of the spin's phase space to first order (the solid angle of cell i is
dη_i dη_{N+i}), the ones in which Langer's rate formula is written (:mod:`micromag.apps.transition_rate`).

The projected (Riemannian) Hessian of E on the sphere product (Absil, Mahony & Trumpler, *Optimization
Algorithms on Matrix Manifolds*, 2008, §5.5; for spins e.g. Bessarab, Uzdin & Jónsson, Comput. Phys.
Commun. 196, 335 (2015), eq. 24):

    (H v)_i = P_i [∇²Ē v]_i − (m_i · ∇_i Ē) v_i,        P_i = 1 − m_i m_iᵀ,

with the gradient of the energy ∇_i Ē = −μ_i B_i (μ_i = Ms_i · fill_i · V_cell, J/T; B the effective field
in T), so (H v)_i = μ_i [ −P_i δB_i(v) + (m_i · B_i) v_i ] in J/rad². The directional derivative δB(v) of
the effective field is a central finite difference on the simulation's own backend,
δB = [B(m⁺) − B(m⁻)] / (2ε), m^± = (m ± ε v)/|m ± ε v| (second-order accurate; the normalization changes
m only at O(ε²), which the central difference cancels). Several vectors go into ONE batched field
evaluation.

Signs (Sylvester's law of inertia: they do not depend on the coordinates): at a minimum every eigenvalue is
> 0, at a first-order saddle exactly one is < 0. A continuous symmetry (the energy unchanged by a rotation of
every moment about an axis n: the in-plane turn of a round disc's saddle, the ring of saddles of an
axially symmetric macrospin) gives a zero eigenvalue whose eigenvector is the generator g_i = n × m_i;
:meth:`TangentHessian.rotation_generators` returns those generators so that a caller can take them out.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["TangentHessian", "tangent_frame"]


def tangent_frame(m, mask):
    """Two orthonormal tangent vectors (e1, e2), each (3, nz, ny, nx), perpendicular to the unit vectors m in
    the cells of ``mask`` (zero elsewhere): e1 ∝ a × m with a the coordinate axis least aligned with m."""
    m = np.asarray(m, dtype=float)
    ax = np.argmin(np.abs(m), axis=0)  # (nz, ny, nx)
    a = np.zeros_like(m)
    for c in range(3):
        a[c] = ax == c
    e1 = np.cross(a, m, axis=0)
    n = np.sqrt((e1 * e1).sum(axis=0))
    e1 = np.divide(e1, n, out=np.zeros_like(e1), where=n > 0) * mask
    e2 = np.cross(m, e1, axis=0) * mask
    return e1, e2


def _normalize(m, mask):
    n = np.sqrt((m * m).sum(axis=-4, keepdims=True))
    return np.divide(m, n, out=np.zeros_like(m), where=n > 0) * mask


class TangentHessian:
    """The energy Hessian at the state ``m`` (3, nz, ny, nx) of the landscape held by ``sim`` (a
    :class:`~micromag.engine.simulation.Simulation` whose effective field is the gradient of its energy: build it
    with :func:`micromag.apps.barrier.clone_simulation`; its magnetization is overwritten).

    ``eps`` (rad): the finite-difference step (default 1e-4 in float64, 3e-3 in float32).
    Attributes: ``n`` (2N, the dimension), ``mu`` (N,) J/T, ``B`` the field at m (T), ``torque`` the largest
    |m × B| (T) — a stationary point has torque 0 —, ``scale`` a typical eigenvalue size μ̄ · 1 T (J).
    """

    def __init__(self, sim, m, eps=None):
        self.sim = sim
        system = sim.system
        self.mask = system.magnetic
        self.idx = np.flatnonzero(self.mask.reshape(-1))
        self.N = len(self.idx)
        self.n = 2 * self.N
        m = _normalize(np.asarray(m, dtype=float), self.mask)
        self.m = m
        self.e1, self.e2 = tangent_frame(m, self.mask)
        mu_cell = np.asarray(system.Ms_eff, dtype=float) * sim.grid.cell_volume  # J/T
        self.mu = mu_cell.reshape(-1)[self.idx]
        self._mu3 = mu_cell[None]
        if eps is None:
            eps = 3e-3 if np.dtype(sim.dtype) == np.float32 else 1e-4
        self.eps = float(eps)
        self.B = self._fields(m[None])[0]
        self.mB = (m * self.B).sum(axis=0)
        tq = np.cross(m, self.B, axis=0)
        self.torque = float(np.sqrt((tq * tq).sum(axis=0)).max())
        self.scale = float(self.mu.mean()) * 1.0
        self.uniform_moment = bool(np.ptp(self.mu) <= 1e-12 * self.mu.max())
        self.matvecs = 0

    # ------------------------------------------------------------------ coordinates
    def to_field(self, eta):
        """η (..., 2N) -> tangent vector field (..., 3, nz, ny, nx)."""
        eta = np.asarray(eta, dtype=float)
        lead = eta.shape[:-1]
        a = np.zeros(lead + (self.mask.size,))
        b = np.zeros(lead + (self.mask.size,))
        a[..., self.idx] = eta[..., :self.N]
        b[..., self.idx] = eta[..., self.N:]
        shp = lead + (1,) + self.mask.shape
        return a.reshape(shp) * self.e1 + b.reshape(shp) * self.e2

    def to_coords(self, v):
        """Tangent vector field (..., 3, nz, ny, nx) -> η (..., 2N) (its tangent part)."""
        v = np.asarray(v, dtype=float)
        lead = v.shape[:-4]
        a = (v * self.e1).sum(axis=-4).reshape(lead + (-1,))[..., self.idx]
        b = (v * self.e2).sum(axis=-4).reshape(lead + (-1,))[..., self.idx]
        return np.concatenate([a, b], axis=-1)

    # ------------------------------------------------------------------ products
    def _fields(self, ms):
        """B (T) of the states ms (k, 3, nz, ny, nx), batched in chunks of the simulation's batch size."""
        sim = self.sim
        B = sim.batch
        out = np.empty_like(ms)
        for lo in range(0, ms.shape[0], B):
            chunk = ms[lo:lo + B]
            k = chunk.shape[0]
            if k < B:  # pad with the first state (its field is thrown away)
                chunk = np.concatenate([chunk, np.repeat(chunk[:1], B - k, axis=0)])
            sim.m = chunk
            out[lo:lo + k] = np.asarray(sim.effective_field(), dtype=float)[:k]
        return out

    def energies(self, ms):
        """Total energy (J) of each state in ms (k, 3, nz, ny, nx), batched."""
        sim = self.sim
        B = sim.batch
        out = []
        for lo in range(0, ms.shape[0], B):
            chunk = ms[lo:lo + B]
            k = chunk.shape[0]
            if k < B:
                chunk = np.concatenate([chunk, np.repeat(chunk[:1], B - k, axis=0)])
            sim.m = chunk
            out.append(np.atleast_1d(np.asarray(sim.energy(), dtype=float))[:k])
        return np.concatenate(out)

    def rotated(self, axis, angles):
        """The state with every moment turned about ``axis`` (unit 3-vector) by each angle (rad): (k, 3, ...)."""
        n = np.asarray(axis, dtype=float).reshape(3, 1, 1, 1)
        nxm = np.cross(n, self.m, axis=0)
        nm = (n * self.m).sum(axis=0)
        a = np.asarray(angles, dtype=float).reshape(-1, 1, 1, 1, 1)
        return (np.cos(a) * self.m + np.sin(a) * nxm + (1 - np.cos(a)) * nm * n) * self.mask

    def matmat(self, etas, jacobian=False):
        """H η for each row of ``etas`` (k, 2N): (k, 2N), J/rad² (2k states in batched field evaluations);
        with ``jacobian`` the field's Jacobian A η = H η / μ (T/rad) instead."""
        etas = np.atleast_2d(np.asarray(etas, dtype=float))
        v = self.to_field(etas)  # (k, 3, ...)
        eps = self.eps
        mp = _normalize(self.m[None] + eps * v, self.mask)
        mm = _normalize(self.m[None] - eps * v, self.mask)
        Bs = self._fields(np.concatenate([mp, mm]))
        k = etas.shape[0]
        dB = (Bs[:k] - Bs[k:]) / (2 * eps)
        dB = dB - (dB * self.m).sum(axis=1, keepdims=True) * self.m  # P_i δB_i
        Av = -dB + self.mB[None, None] * v
        self.matvecs += k
        return self.to_coords(Av if jacobian else self._mu3 * Av)

    def matvec(self, eta):
        return self.matmat(np.asarray(eta, dtype=float).reshape(1, -1))[0]

    def operator(self, shift_directions=None, shift=None):
        """The Hessian as a scipy LinearOperator (2N × 2N, J). With ``shift_directions`` (k, 2N, orthonormal
        rows): those directions are projected out and given the eigenvalue ``shift`` (J, > 0) instead, so
        that the lowest eigenvalues of the operator are those of the Hessian on their complement."""
        from scipy.sparse.linalg import LinearOperator

        G = None if shift_directions is None or len(shift_directions) == 0 else np.asarray(shift_directions)
        c = self.scale if shift is None else float(shift)

        def mv(x):
            x = np.asarray(x, dtype=float).reshape(-1)
            if G is None:
                return self.matvec(x)
            px = x - G.T @ (G @ x)
            y = self.matvec(px)
            y = y - G.T @ (G @ y)
            return y + c * (G.T @ (G @ x))

        return LinearOperator((self.n, self.n), matvec=mv, dtype=float)

    def lowest(self, k=2, shift_directions=None, tol=1e-8, dense_max=3000):
        """The k lowest eigenvalues, in T (ascending by real part), and their eigenvectors (k, 2N).

        Where every magnetic cell has the same moment (no partly filled edge cells) the discrete field is the
        gradient of the discrete energy, H is symmetric and Lanczos (scipy ``eigsh``, which='SA') runs on the
        matrix-free :meth:`operator`; the eigenvalues are returned as H's divided by μ (T). With partly filled
        cells (unequal moments) the eigenvalues are those of the field's Jacobian A = μ⁻¹H (T), the
        linearization that decides stability of the relaxation and of the LLG; the field is the gradient of the
        energy there too (:func:`micromag.terms.stencil.fill_weights`), so A is similar to the symmetric
        μ^(−1/2) H μ^(−1/2) and its eigenvalues are real with the signs of H's (taken dense up to ``dense_max``
        coordinates, else ARPACK ``eigs``, which='SR'). ``shift_directions`` (orthonormal
        rows) are moved to a positive eigenvalue (1 T) so that the rest are those of their complement."""
        from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigs, eigsh

        k = int(k)
        G = None if shift_directions is None or len(shift_directions) == 0 else np.asarray(shift_directions)
        if self.uniform_moment:
            mu = float(self.mu[0])
            if self.n <= dense_max:
                # the matrix from 2N batched products: Lanczos on products made one at a time by finite
                # differences (noise ~1e-8 of the largest eigenvalue) misses a cluster of eigenvalues near 0
                # when the spectrum is wide (exchange: ~100 T), which is just where the answer lies
                M = self.dense() / mu
                if G is not None:
                    P = np.eye(self.n) - G.T @ G
                    M = P @ M @ P + G.T @ G
                if self.n <= max(2 * k + 2, 12):
                    w, V = np.linalg.eigh(M)
                    return w[:k], V[:, :k].T
                w, V = eigsh(M, k=k, which="SA", tol=tol, v0=np.random.default_rng(7).standard_normal(self.n))
                order = np.argsort(w)
                return w[order], V[:, order].T
            op = self.operator(G, shift=mu)
            rng = np.random.default_rng(7)
            try:
                w, V = eigsh(op, k=k, which="SA", tol=tol, ncv=min(self.n, max(4 * k + 1, 30)),
                             maxiter=50 * self.n, v0=rng.standard_normal(self.n))
            except ArpackNoConvergence as exc:  # keep what converged; the caller judges
                w, V = exc.eigenvalues, exc.eigenvectors
                if len(w) < k:
                    raise RuntimeError(f"the Lanczos iteration for the {k} lowest Hessian eigenvalues did not "
                                       f"converge ({len(w)} of {k} after {self.matvecs} products)") from None
            order = np.argsort(w)
            return np.asarray(w)[order] / mu, np.asarray(V)[:, order].T
        if self.n <= dense_max:
            M = self.jacobian_dense()
            if G is not None:
                P = np.eye(self.n) - G.T @ G
                M = P @ M @ P + G.T @ G
            w, V = np.linalg.eig(M)
        else:
            def mv(x):
                x = np.asarray(x, dtype=float).reshape(-1)
                if G is None:
                    return self.matmat(x[None], jacobian=True)[0]
                px = x - G.T @ (G @ x)
                y = self.matmat(px[None], jacobian=True)[0]
                return y - G.T @ (G @ y) + G.T @ (G @ x)

            w, V = eigs(LinearOperator((self.n, self.n), matvec=mv, dtype=float), k=k, which="SR", tol=tol)
        order = np.argsort(w.real)[:k]
        return w.real[order], V.real[:, order].T

    def jacobian_dense(self):
        """The field's Jacobian A (2N, 2N) in T/rad (not symmetrized): A η = H η / μ."""
        if getattr(self, "_jac", None) is None:
            n = self.n
            self._jac = self.matmat(np.eye(n), jacobian=True).T
        return self._jac

    def dense(self, chunk=None):
        """The full symmetric (2N, 2N) Hessian in J (2N Hessian-vector products, batched; symmetrized)."""
        if getattr(self, "_dense", None) is not None:
            return self._dense
        n = self.n
        chunk = n if chunk is None else int(chunk)
        cols = [self.matmat(np.eye(n)[lo:lo + chunk]) for lo in range(0, n, chunk)]
        M = np.concatenate(cols, axis=0)
        self._dense = 0.5 * (M + M.T)
        return self._dense

    # ------------------------------------------------------------------ symmetries
    def rotation_generators(self):
        """{axis name: (g, L, dE)}: for rotations of every moment about x̂, ŷ, ẑ, the generator g = n × m in η
        coordinates (unnormalized, rad), the length L = 2π |g| (rad) of the orbit it traces and the largest
        change of the energy (J) along that orbit (8 points); axes whose generator vanishes (m ∥ n
        everywhere) are left out."""
        out = {}
        for name, n in zip("xyz", np.eye(3)):
            g = self.to_coords(np.cross(n.reshape(3, 1, 1, 1), self.m, axis=0))
            norm = float(np.linalg.norm(g))
            if norm > 1e-6 * math.sqrt(self.N):
                E = self.energies(np.concatenate([self.m[None], self.rotated(n, np.arange(1, 8) * math.pi / 4)]))
                out[name] = (g, 2 * math.pi * norm, float(np.abs(E[1:] - E[0]).max()))
        return out

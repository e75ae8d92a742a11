r"""Harmonic transition-state theory for the LLG: is the top of a path a saddle, and how often is it crossed.

Saddle check
------------
:func:`check_stationary` takes a :class:`~micromag.engine.hessian.TangentHessian` and finds its lowest eigenvalues by
Lanczos (scipy ``eigsh`` on the matrix-free operator): a minimum has them all > 0, a first-order saddle
exactly one < 0 and the next > 0. Continuous symmetries (a rotation of every moment about an axis that
leaves the energy unchanged) give exact zero modes; they are found from the rotation generators n × m
(Rayleigh quotient |gᵀHg| below ``zero_tol``), taken out of the operator and reported; any other
eigenvalue within ``zero_tol`` of 0 (a wall free to slide) is reported as an unexplained zero mode.

Attempt frequency (Langer 1969; for spins Coffey, Garanin & McCarthy, Adv. Chem. Phys. 117, 483 (2001),
Bessarab, Uzdin & Jónsson, Phys. Rev. B 85, 184409 (2012))
-------------------------------------------------------------------------------------------------
In the canonical coordinates η of :mod:`micromag.engine.hessian` (the solid angle of a cell is dη dη'), the rate of
escape over a first-order saddle in the intermediate-to-high damping regime is

    Γ = f0 e^{−ΔE/k_BT},   f0 = (λ₊ / 2π) √(det H_min / |det H_s|) · Π_s(L/√(2π k_BT)) / Π_min(L/√(2π k_BT)),

with H_min, H_s the Hessians (J/rad²) at the minimum and the saddle; λ₊ (1/s) the positive eigenvalue of the
LLG dynamical matrix at the saddle, dη/dt = −D H_s η, D_i = γ_i / ((1 + α_i²) μ_i) (α_i 1 − J), J the 90°
turn in the tangent plane, μ_i = Ms_i V_i (J/T) — the growth rate of the unstable mode with damping α; and,
for each zero mode of a continuous symmetry, the Gaussian factor √(2π k_BT/λ) of the harmonic partition
function replaced by the length L (rad) of the orbit of that symmetry (the determinants then run over the
other modes). A rotation counts as such a zero mode when the energy varies by less than k_BT along its whole
orbit (on a grid a round disc's symmetry is broken a little by the staircase edge).

Check (Brown, Phys. Rev. 130, 1677 (1963); IEEE Trans. Magn. 15, 1196 (1979)): a uniaxial macrospin
E = K V sin²θ − Ms V B cos θ (B along the axis against the state, h = B/B_K, B_K = 2K/Ms) has
H_min = 2KV(1 − h) 1 (both directions), at the saddle ring cos θ_s = h the unstable eigenvalue
−2KV(1 − h²), a zero mode (rotation about the axis) with orbit L = 2π sin θ_s = 2π √(1 − h²), and
λ₊ = α γ/(1 + α²) · B_K (1 − h²); the formula then gives

    f0 = α γ/(1 + α²) · B_K (1 − h²)(1 − h) √(Δ₀/π),   Δ₀ = K V / k_BT,

Brown's high-barrier asymptote (the same as :func:`micromag.apps.retention.escape_time` with method="brown").

Why f0 of a many-cell element is far above 1 GHz
------------------------------------------------
f0 = (λ₊/2π) · e^{S/k_B}: the dynamical part λ₊/2π (~0.1–1 GHz) times the activation entropy
S/k_B = ½ ln(det H_min/|det' H_s|) + Σ ln(L/√(2π k_BT)), a product over EVERY mode. Where a wall at the saddle
softens many modes (the cells in the wall lose up to 2B_K of anisotropy curvature), the factors
λ_min/λ_s ≈ 1.1 of some hundred modes multiply: a 32 nm disc reversing through a wall has S ≈ 20 k_B and
f0 ≈ 1e16–1e17 Hz, in the range Desplat & Kim find for CoFeB discs (Phys. Rev. Lett. 125, 107201 (2020): up
to 1e21 Hz, growing like e^{ΔE} — the Meyer–Neldel rule). The product over modes depends on the cell size
(in a film the sum of ln(λ_min/λ_s) over spin waves grows about like ln(1/cell): that disc, demag off, gives
4.4e16 Hz on 2.5 nm cells and 8.1e16 Hz on 2 nm cells); check it with a refined grid.
Checked against closed forms for N exchange-coupled cells, where f0 = Brown's f0 of the volume N V_c times
Π_k [B_K(1−h) + x_k]/√([x_k − B_K(1−h²)] x_k) over the spin waves x_k (tests/test_transition_rate_multicell.py).
f0 is the rate over ONE saddle: saddles that the element's symmetry maps into one another (a wall turned
by 90° on a square grid) each add the same rate, unless a soft mode joins them (then neither the harmonic
width nor a count of copies is exact).
"""
from __future__ import annotations

import math

import numpy as np

from ..engine.constants import kB

__all__ = ["check_stationary", "symmetry_modes", "attempt_frequency", "default_zero_tol"]


def default_zero_tol(H):
    """An eigenvalue (T) of magnitude below max(1 mT, 10 × the residual torque) counts as zero."""
    return max(1e-3, 10.0 * H.torque)


def symmetry_modes(H, zero_tol=None, kT=None):
    """Rotations of every moment about x̂, ŷ or ẑ that leave the energy of ``H``'s state (a TangentHessian)
    unchanged: [{axis, g (unit, 2N), L (rad), rayleigh (T), dE (J), mu (J/T)}], generators orthonormal,
    the most symmetric first. A rotation counts when the energy varies along its whole orbit by less than
    zero_tol · μ̄ · |g|² (a mode of eigenvalue ``zero_tol`` (T) turned by 1 rad) or, given ``kT`` (J), by
    less than kT (the orbit is then free at that temperature), and the curvature gᵀAg (unit g) along it is
    below zero_tol in magnitude or, given kT, positive with a thermal width √(2π kT/(μ_g gᵀAg)) beyond L."""
    zero_tol = default_zero_tol(H) if zero_tol is None else float(zero_tol)
    mu2 = np.concatenate([H.mu, H.mu])
    out = []
    gens = sorted(H.rotation_generators().items(), key=lambda kv: kv[1][2])  # the most symmetric first
    for axis, (g, L, dE) in gens:
        g2 = float(g @ g)
        if not (dE < zero_tol * float(H.mu.mean()) * g2 or (kT is not None and dE < kT)):
            continue
        for prev in out:  # orthogonal to those already taken
            g = g - (prev["g"] @ g) * prev["g"]
        norm = float(np.linalg.norm(g))
        if norm < 1e-6 * L / (2 * math.pi):
            continue
        u = g / norm
        q = float(u @ H.matmat(u[None], jacobian=True)[0])
        mu_g = float(mu2 @ (u * u))
        # a zero mode: no curvature along it, or (broken symmetry) a thermal width √(2π kT/(μ q)) beyond the
        # orbit; a tiny generator (m nearly along the axis) has a tiny orbit and a stiff, harmonic direction
        broad = L / (2 * math.pi * math.sqrt(H.N)) > 0.05  # the rotation moves the cells (rms > 0.05 rad)
        soft = abs(q) < zero_tol or (kT is not None and broad and q > 0
                                     and math.sqrt(2 * math.pi * kT / (mu_g * q)) > L)
        if soft:
            out.append({"axis": axis, "g": u, "L": L, "rayleigh": q, "dE": dE, "mu": mu_g})
    return out


def check_stationary(H, kind, zero_tol=None, k=3):
    """Whether the state of ``H`` is a minimum (``kind="minimum"``) or a first-order saddle (``"saddle"``).

    Returns {"passed", "kind", "eigenvalues_T" (the k lowest of the field's Jacobian A = H/μ, T, with the
    symmetry zero modes taken out),
    "symmetry_modes" (axes of the rotations that are zero modes), "zero_modes" (count of other eigenvalues
    within zero_tol: an unexplained flat direction), "zero_tol" (J), "torque" (T), "message"}.
    A minimum passes with its lowest eigenvalue > zero_tol; a saddle with the lowest < −zero_tol and the
    next > −zero_tol; eigenvalues within ±zero_tol are reported as zero modes (``zero_modes``): a top with
    none below −zero_tol and at least one zero mode passes as a degenerate saddle (a flat family, e.g. a wall
    free to slide along a stripe: the barrier is right, the harmonic rate is not defined).
    """
    if kind not in ("minimum", "saddle"):
        raise ValueError(f"kind must be 'minimum' or 'saddle', got {kind!r}")
    zero_tol = default_zero_tol(H) if zero_tol is None else float(zero_tol)
    sym = symmetry_modes(H, zero_tol)
    G = np.array([s["g"] for s in sym]) if sym else None
    w, _ = H.lowest(min(k, H.n), shift_directions=G)
    w = np.asarray(w, dtype=float)
    n_neg = int((w < -zero_tol).sum())
    n_zero = int((np.abs(w) <= zero_tol).sum())
    if kind == "minimum":
        passed = n_neg == 0 and n_zero == 0
        msg = ("a minimum: every eigenvalue > 0" if passed else
               f"NOT a minimum: {n_neg} negative eigenvalue(s)" if n_neg else
               f"a flat minimum: {n_zero} zero mode(s) that no rotation explains")
    else:
        passed = n_neg == 1 or (n_neg == 0 and n_zero > 0)
        if n_neg == 0 and n_zero:
            msg = (f"a flat top: no negative eigenvalue but {n_zero} zero mode(s) that no rotation explains (a "
                   "family of states of equal energy, e.g. a wall free to slide): a degenerate saddle, no harmonic rate")
        elif n_neg == 0:
            msg = "NOT a saddle: no negative eigenvalue (the top of the path is not a saddle point)"
        elif n_neg > 1:
            msg = (f"NOT a first-order saddle: {n_neg} negative eigenvalues (a lower path goes round this point)")
        else:
            msg = "a first-order saddle: one negative eigenvalue, the next > 0"
            if n_zero:
                msg += f" apart from {n_zero} zero mode(s) that no rotation explains (a flat family of saddles)"
    if sym:
        msg += f"; zero mode(s) of rotation about {', '.join(s['axis'] for s in sym)} taken out"
    if H.torque > 1e-2 * abs(w[0]) and H.torque > 1e-3:
        msg += f" (note: residual torque {H.torque:.2g} T)"
    return {"passed": bool(passed), "kind": kind, "eigenvalues_T": w.tolist(),
            "symmetry_modes": [s["axis"] for s in sym], "zero_modes": n_zero, "zero_tol_T": zero_tol,
            "torque_T": H.torque, "message": msg}


def _restricted_eigs(A, modes):
    """Real parts of the eigenvalues (T) of the Jacobian A on the complement of the zero-mode generators."""
    if modes:
        G = np.array([s["g"] for s in modes]).T  # (2N, k)
        Q, _ = np.linalg.qr(np.concatenate([G, np.eye(A.shape[0])], axis=1))
        C = Q[:, G.shape[1]:]  # orthonormal complement
        A = C.T @ A @ C
    w = np.linalg.eigvals(A)
    return np.sort(w.real)


def _dynamical_matrix(N, alpha, gamma):
    """D (2N, 2N), rad/(s·T) per rad: the linearized LLG dη/dt = −D A η, D_i = γ_i/(1 + α_i²) (α_i 1 − J)."""
    c = gamma / (1.0 + alpha**2)
    D = np.zeros((2 * N, 2 * N))
    i = np.arange(N)
    D[i, i] = c * alpha
    D[N + i, N + i] = c * alpha
    D[i, N + i] = c
    D[N + i, i] = -c
    return D


def attempt_frequency(H_min, H_saddle, alpha, gamma, T, max_dim=4000, zero_tol=None):
    """Langer's attempt frequency f0 (Hz) of the escape from the minimum of ``H_min`` over the saddle of
    ``H_saddle`` (two :class:`~micromag.engine.hessian.TangentHessian` of one landscape), damping ``alpha`` and
    gyromagnetic ratio ``gamma`` (rad/(s·T)) per magnetic cell (scalars broadcast), temperature T (K).

    Computed from the field's Jacobians A = H/μ (T; the Hessian H = μ A, so det H_min / det H_s = det A_min /
    det A_s, the μ of removed zero modes aside): λ₊ is the largest real eigenvalue of −D A_s (the linearized
    LLG, D_i = γ_i/(1 + α_i²)(α_i 1 − J)).
    Returns {"f0_Hz", "dynamical_Hz" (λ₊/2π), "entropy_kB" (S/k_B = ln(f0 / (λ₊/2π)), the activation entropy),
    "lambda_plus_per_s", "unstable_eigenvalue_T", "log_det_ratio" (ln det H_min/|det' H_s|),
    "symmetry_modes_min", "symmetry_modes_saddle" ([(axis, L rad)]), "zero_modes" (unexplained flat
    directions: f0 is then not defined and is None), "message"}.
    """
    T = float(T)
    if not (math.isfinite(T) and T > 0):
        raise ValueError(f"T = {T!r} K is outside the allowed range (0, inf) K")
    if H_min.n != H_saddle.n:
        raise ValueError("the two Hessians belong to different landscapes (different numbers of cells)")
    if H_min.n > max_dim:
        raise ValueError(f"the attempt frequency needs the full Hessian: 2N = {H_min.n} coordinates exceed "
                         f"max_dim = {max_dim} (use a coarser grid for the prefactor)")
    alpha = np.broadcast_to(np.asarray(alpha, dtype=float), (H_min.N,)).copy()
    gamma = np.broadcast_to(np.asarray(gamma, dtype=float), (H_min.N,)).copy()
    if np.any(~np.isfinite(alpha)) or np.any(alpha <= 0):
        raise ValueError(f"alpha must be > 0 in every cell (the damping sets the escape rate), got {alpha.min()!r}")
    kT = kB * T
    ztol = max(default_zero_tol(H_min), default_zero_tol(H_saddle)) if zero_tol is None else float(zero_tol)
    modes_min = symmetry_modes(H_min, ztol, kT)
    modes_sad = symmetry_modes(H_saddle, ztol, kT)
    A_min, A_sad = H_min.jacobian_dense(), H_saddle.jacobian_dense()
    w_min = _restricted_eigs(A_min, modes_min)
    w_sad = _restricted_eigs(A_sad, modes_sad)
    zero = int((np.abs(w_min) <= ztol).sum() + (np.abs(w_sad) <= ztol).sum())
    neg_min, neg_sad = int((w_min < -ztol).sum()), int((w_sad < -ztol).sum())
    D = _dynamical_matrix(H_saddle.N, alpha, gamma)
    lam = float(np.max(np.linalg.eigvals(-D @ A_sad).real))
    out = {"lambda_plus_per_s": lam, "unstable_eigenvalue_T": float(w_sad[0]),
           "symmetry_modes_min": [(s["axis"], s["L"]) for s in modes_min],
           "symmetry_modes_saddle": [(s["axis"], s["L"]) for s in modes_sad], "zero_modes": zero, "T_K": T,
           "f0_Hz": None, "log_det_ratio": None, "dynamical_Hz": lam / (2 * math.pi), "entropy_kB": None}
    if neg_min or neg_sad != 1 or zero or lam <= 0:
        out["message"] = (f"no harmonic rate: {neg_min} negative eigenvalue(s) at the minimum, {neg_sad} at the saddle, "
                          f"{zero} unexplained zero mode(s)")
        return out
    # ln det H_min − ln |det' H_s|: the μ of every cell cancels between the two but those of removed modes
    log_ratio = (np.log(w_min).sum() - np.log(np.abs(w_sad)).sum()
                 + sum(math.log(s["mu"]) for s in modes_sad) - sum(math.log(s["mu"]) for s in modes_min))
    log_gold = sum(math.log(s["L"] / math.sqrt(2 * math.pi * kT)) for s in modes_sad) \
        - sum(math.log(s["L"] / math.sqrt(2 * math.pi * kT)) for s in modes_min)
    log_f0 = math.log(lam / (2 * math.pi)) + 0.5 * log_ratio + log_gold
    out.update(f0_Hz=math.exp(log_f0), log_det_ratio=float(log_ratio), entropy_kB=0.5 * log_ratio + log_gold,
               message="harmonic (Langer) rate" + (f"; zero modes of rotation taken out (saddle: "
                                                    f"{[s['axis'] for s in modes_sad]}, minimum: "
                                                    f"{[s['axis'] for s in modes_min]})"
                                                    if modes_sad or modes_min else ""))
    return out

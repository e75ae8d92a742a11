r"""Langer's attempt frequency of a MULTI-cell element against closed forms and a thermal batch (issue 24, item 2).

The macrospin (tests/test_barrier_lowest.py) cannot show whether the Hessian's per-cell scaling, the zero
mode of a many-cell saddle or the determinant over non-uniform modes are right. Here:

Closed form (derived for this test from Langer, Ann. Phys. 54, 258 (1969), in the form of Bessarab, Uzdin &
Jónsson, Phys. Rev. B 85, 184409 (2012), eq. for the HTST prefactor with zero modes; Coffey, Garanin &
McCarthy, Adv. Chem. Phys. 117, 483 (2001) for λ₊ of the LLG). N identical cubic cells (moment μ = Ms V_c)
with uniaxial anisotropy K along ẑ, exchange A between face neighbours (free ends), a field −h B_K ẑ
(B_K = 2K/Ms), no demag. The field's Jacobian on a uniform state is, mode by mode of the grid Laplacian
(eigenvalues x_k = (2A/Ms) Σ_axes 2(1 − cos(π k_a/n_a))/d_a², x_0 = 0):

    minimum m = ẑ:                        B_K(1 − h) + x_k           (both tangent directions)
    saddle, m uniform at cos θ = h:      −B_K(1 − h²) + x_k (polar),   x_k (azimuthal: k = 0 is the rotation
                                         zero mode, orbit L = 2π √N sin θ)

(a saddle while x_1 > B_K(1 − h²)), and λ₊ = α γ/(1 + α²) B_K (1 − h²) (the k = 0 polar mode). Langer's
formula then factorizes into Brown's macrospin prefactor for the WHOLE volume V = N V_c times one factor per
non-uniform mode:

    f0 = f0_Brown(V = N V_c) · Π_{k≠0} [B_K(1 − h) + x_k] / √([x_k − B_K(1 − h²)] x_k).

Strong exchange (x_1 → ∞) gives Brown's f0 of the volume N V_c exactly — the decisive test of the per-cell
scaling (Brown of ONE cell would be √N times smaller). Finite exchange gives a factor well above 1 (the
entropy of the softer non-uniform modes at the saddle) that the thermal batch below must see.
"""
import functools
import math

import numpy as np
import pytest

import micromag as mm
from micromag.apps.barrier import clone_simulation, energy_barrier
from micromag.engine.constants import gamma_mumax, kB
from micromag.engine.hessian import TangentHessian
from micromag.apps.retention import escape_time
from micromag.apps.transition_rate import attempt_frequency

Ms, T, DX = 1e6, 300.0, 3e-9


def _laplacian_modes(n, d):
    """x_k / (2A/Ms) (1/m²) of the grid Laplacian with free ends: every (kx, ky, kz), (0, 0, 0) first."""
    per_axis = [2 * (1 - np.cos(np.pi * np.arange(na) / na)) / da**2 for na, da in zip(n, d)]
    s = per_axis[0][:, None, None] + per_axis[1][None, :, None] + per_axis[2][None, None, :]
    return np.sort(s.reshape(-1))


def closed_form_f0(n, K, A, h, alpha, T=T, d=(DX, DX, DX)):
    """f0 (Hz) and the non-uniform factor of the block of cells above (the formula of the module docstring)."""
    N = int(np.prod(n))
    V = N * float(np.prod(d))
    B_K = 2 * K / Ms
    brown = alpha * gamma_mumax / (1 + alpha**2) * B_K * (1 - h * h) * (1 - h) * math.sqrt(K * V / (kB * T) / math.pi)
    x = 2 * A / Ms * _laplacian_modes(n, d)[1:]
    factor = float(np.prod((B_K * (1 - h) + x) / np.sqrt((x - B_K * (1 - h * h)) * x)))
    return brown * factor, brown, factor


def _block(backend, n, K, A, h=0.0, alpha=0.5, batch=1):
    g = mm.Grid(n=n, cell=(DX, DX, DX))
    sim = mm.Simulation(g, material=mm.Material(Ms=Ms, Ku1=K, A=A, anis_u=(0, 0, 1), alpha=alpha), demag=False,
                        backend=backend, batch=batch)
    if h:
        sim.B_ext = (0.0, 0.0, -h * 2 * K / Ms)
    return sim


def _uniform(n, h, at_saddle):
    m = np.zeros((3,) + tuple(reversed(n)))
    if at_saddle:
        m[0], m[2] = math.sqrt(1 - h * h), h
    else:
        m[2] = 1.0
    return m


@pytest.mark.parametrize("backend", ["cpu", "emulate"])
@pytest.mark.parametrize("n, A, h", [((2, 1, 1), 1e-11, 0.0),    # two coupled macrospins, x_1 = 2.4 B_K
                                     ((4, 1, 1), 1e-11, 0.3),    # a chain in a field: factor 4.2
                                     ((3, 2, 1), 2e-11, 0.0)])   # a 2-D block: modes along both axes
def test_uniform_saddle_of_exchange_coupled_cells_matches_the_closed_form(backend, n, A, h):
    """Hessians of the minimum and of the uniform saddle, λ₊ and f0 of N coupled cells = the closed form
    (exact for this landscape: round-off and the second-order finite difference of the Hessian, 1e-6)."""
    K, alpha = 5e5, 0.5
    land = clone_simulation(_block(backend, n, K, A, h, alpha), 8)
    r = attempt_frequency(TangentHessian(land, _uniform(n, h, False)), TangentHessian(land, _uniform(n, h, True)),
                          alpha, gamma_mumax, T)
    f0, brown, factor = closed_form_f0(n, K, A, h, alpha)
    assert factor > 1.3  # not a macrospin: the non-uniform modes change the rate
    assert r["lambda_plus_per_s"] == pytest.approx(alpha * gamma_mumax / (1 + alpha**2) * 2 * K / Ms * (1 - h * h),
                                                   rel=1e-6)
    N = int(np.prod(n))
    assert [a for a, _ in r["symmetry_modes_saddle"]] == ["z"]
    assert r["symmetry_modes_saddle"][0][1] == pytest.approx(2 * math.pi * math.sqrt(N * (1 - h * h)), rel=1e-9)
    assert r["f0_Hz"] == pytest.approx(f0, rel=1e-6)
    # the activation entropy: Brown's 2π(1 − h)√(Δ₀/π) (the zero mode and the uniform pair) times the factor
    d0 = K * N * DX**3 / (kB * T)
    assert r["entropy_kB"] == pytest.approx(math.log(2 * math.pi * (1 - h) * math.sqrt(d0 / math.pi) * factor), abs=1e-6)


@pytest.mark.parametrize("backend", ["cpu", "emulate"])
def test_strong_exchange_gives_brown_of_the_whole_volume(backend):
    """Four cells locked together by exchange (x_1 = 4e3 B_K) reverse as ONE macrospin of volume 4 V_c: f0 is
    Brown's formula for V = 4 V_c (the non-uniform factor is 1 + 1e-3 here, and the closed form holds it to
    1e-6), twice Brown's f0 of one cell (f0 ∝ √V)."""
    n, K, A, h, alpha = (4, 1, 1), 5e5, 1e-8, 0.2, 0.5
    land = clone_simulation(_block(backend, n, K, A, h, alpha), 8)
    r = attempt_frequency(TangentHessian(land, _uniform(n, h, False)), TangentHessian(land, _uniform(n, h, True)),
                          alpha, gamma_mumax, T)
    f0, brown, factor = closed_form_f0(n, K, A, h, alpha)
    assert factor - 1 < 2e-3
    assert r["f0_Hz"] == pytest.approx(f0, rel=1e-6)
    assert r["f0_Hz"] / brown == pytest.approx(1.0, abs=2e-3)
    _, brown_one_cell, _ = closed_form_f0((1, 1, 1), K, A, h, alpha)
    assert r["f0_Hz"] / brown_one_cell == pytest.approx(2.0, rel=2e-3)


def test_path_attempt_frequency_of_a_chain():
    """End to end: energy_barrier finds the uniform saddle of a 3-cell chain (x_1 = 2 B_K), its check passes,
    and path.attempt_frequency is the closed form (rel. 1e-5: the saddle found to tol_torque)."""
    n, K, alpha = (3, 1, 1), 5e5, 0.3
    A = 2 * (2 * K / Ms) * Ms * DX**2 / (2 * 2 * (1 - math.cos(math.pi / 3)))  # x_1 = 2 B_K
    p = energy_barrier(_block("cpu", n, K, A, alpha=alpha), (0, 0, 1), (0, 0, -1), images=9,
                       candidates=["coherent"], progress=False)
    assert p.converged and p.saddle_check["passed"]
    assert p.barrier == pytest.approx(K * 3 * DX**3, rel=1e-6)
    f0, _, factor = closed_form_f0(n, K, A, 0.0, alpha)
    assert factor == pytest.approx(3 / math.sqrt(2) * 7 / math.sqrt(30), rel=1e-9)  # x = 2, 6 B_K
    assert p.attempt_frequency(T=T) == pytest.approx(f0, rel=1e-5)



@pytest.mark.parametrize("backend", ["cpu", "emulate"])
def test_hessian_at_a_non_uniform_state_is_the_second_derivative_along_geodesics(backend):
    """The closed forms above only see uniform states. At ANY state the Riemannian Hessian on the product of
    spheres is the second derivative of the energy along the geodesic m_i(s) = cos(s|v_i|) m_i +
    sin(s|v_i|) v_i/|v_i| (Absil, Mahony & Sepulchre 2008, §5.5): vᵀHv from the field's finite difference
    (with its −(m·∇E) term, large away from a stationary point) against a central difference of the total
    energy (demag on, a random non-uniform state; step 1e-3 rad, truncation ~1e-7 relative)."""
    g = mm.Grid(n=(8, 4, 1), cell=(2e-9, 2e-9, 2e-9))
    sim = mm.Simulation(g, material=mm.Material(Ms=8e5, A=1.3e-11, Ku1=4e5, anis_u=(0, 0, 1)), demag=True,
                        backend=backend)
    rng = np.random.default_rng(1)
    m = rng.standard_normal((3, 1, 4, 8))
    m /= np.linalg.norm(m, axis=0)
    H = TangentHessian(clone_simulation(sim, 4), m)
    assert H.torque > 0.1  # far from stationary: the −(m·∇E) term matters
    s = 1e-3
    for _ in range(3):
        eta = rng.standard_normal(H.n)
        eta /= np.linalg.norm(eta)
        v = H.to_field(eta)
        nv = np.sqrt((v * v).sum(axis=0, keepdims=True))
        u = np.divide(v, nv, out=np.zeros_like(v), where=nv > 0)
        E = H.energies(np.array([np.cos(t * nv) * H.m + np.sin(t * nv) * u for t in (-s, 0.0, s)]))
        assert float(eta @ H.matvec(eta)) == pytest.approx((E[0] - 2 * E[1] + E[2]) / s**2, rel=1e-5)


@functools.lru_cache(maxsize=None)  # the same integral for both backends
def _pair_escape_density_ratio(delta, y, n=4001):
    """[p(x=0) / P(x > 0)] of two coupled cells over the same for a macrospin of the same Δ (x the average m_z,
    p its equilibrium density): the exact (anharmonic) equilibrium factor by which the pair's saddle region is
    more populated. Written from the Boltzmann weight alone: E/k_BT = (Δ/2)(2 − u1² − u2²) + (yΔ/2)(1 − m1·m2),
    u = cos θ, the relative azimuth integrated in closed form (2π I0), u2 = 2x − u1."""
    from scipy.special import i0e

    bk, bJ = delta / 2, y * delta / 2
    xs = np.linspace(0.0, 1.0, n)
    p = np.empty(n)
    for j, x in enumerate(xs):
        u1 = np.linspace(max(-1.0, 2 * x - 1), min(1.0, 2 * x + 1), n)
        u2 = 2 * x - u1
        s = np.sqrt(np.clip(1 - u1**2, 0, 1) * np.clip(1 - u2**2, 0, 1))
        f = np.exp(-(bk * (2 - u1**2 - u2**2) + bJ * (1 - u1 * u2)) + bJ * s) * i0e(bJ * s)
        p[j] = np.trapezoid(f, u1)
    pm = np.exp(-delta * (1 - xs**2))
    return (p[0] / np.trapezoid(p, xs)) / (pm[0] / np.trapezoid(pm, xs))


@pytest.mark.parametrize("backend", ["cpu", "emulate"])
def test_entropic_factor_of_two_cells_against_the_exact_partition_function(backend):
    """The non-uniform factor of f0 (the code's f0 over Brown's f0 of the pair) is an equilibrium quantity: as
    Δ → ∞ it must equal the exact ratio of the pair's population at the saddle to the macrospin's (both share
    the uniform mode and λ₊). That ratio, from the exact two-spin Boltzmann integral at Δ = 25 and 50 and
    extrapolated linearly in 1/Δ (the next term, O(1/Δ²), is ~1e-3 here), equals the code's factor; a
    macrospin treatment (factor 1) would be off by 2.1×. (At Δ = 5 the exact ratio is 2.02, within 5 % of
    the harmonic 2.12: the pair's finite-Δ equilibrium correction is small.)"""
    y, K, alpha = 2.0, 5e5, 1.0
    A = (y * 2 * K / Ms / 2) * Ms * DX**2 / 2  # x_1 = y B_K
    n = (2, 1, 1)
    land = clone_simulation(_block(backend, n, K, A, alpha=alpha), 8)
    r = attempt_frequency(TangentHessian(land, _uniform(n, 0.0, False)), TangentHessian(land, _uniform(n, 0.0, True)),
                          alpha, gamma_mumax, T)
    _, brown, _ = closed_form_f0(n, K, A, 0.0, alpha)
    r25, r50 = _pair_escape_density_ratio(25.0, y), _pair_escape_density_ratio(50.0, y)
    exact = 2 * r50 - r25  # a + b/Δ through both points, at 1/Δ = 0
    assert r["f0_Hz"] / brown == pytest.approx(exact, rel=2e-3)

# ---------------------------------------------------------------------------------------------- thermal batch
def _two_cells(backend, delta, y, alpha=1.0, batch=1):
    """Two cubic cells of total stability Δ = 2 K V_c / k_B T at 300 K with the exchange set so that the
    non-uniform mode sits at x_1 = y B_K; returns (sim, K, B_K, the largest eigenvalue of the field's Jacobian, T)."""
    K = delta * kB * T / (2 * DX**3)
    B_K = 2 * K / Ms
    A = (y * B_K / 2) * Ms * DX**2 / 2  # x_1 = 2 · 2A/(Ms dx²)
    return _block(backend, (2, 1, 1), K, A, alpha=alpha, batch=batch), K, A, B_K, B_K * (1 + y)


def test_thermal_batch_of_two_cells_samples_the_boltzmann_distribution():
    """The ensemble that Langer's determinants describe: the stochastic LLG of two coupled cells (moments
    μ = Ms V_c each) must sample exp(−E/k_BT) on the product of the two spheres. Checked in the well (Δ = 8,
    no switch in the run) against the exact two-spin average by importance sampling (uniform on S² × S²):
    ⟨(m1x − m2x)²⟩ (the non-uniform mode whose stiffness B_K + x_1 enters the f0 factor) and ⟨m_z⟩."""
    sim, K, A, B_K, lam_max = _two_cells("cpu", 8.0, 4.0, batch=64)
    sim.m = (0, 0, 1)
    sim.temperature = T
    sim.integrator = "heun"
    sim.seed = 11
    sim.dt = 0.1 / (gamma_mumax * lam_max)
    sim.step(400)
    d2, mz = [], []
    for _ in range(60):  # 40 steps apart: twice the relaxation time of the non-uniform mode
        sim.step(40)
        m = np.asarray(sim.m).reshape(64, 3, 2)
        d2.append(((m[:, 0, 0] - m[:, 0, 1]) ** 2).mean())
        mz.append(m[:, 2].mean())
    rng = np.random.default_rng(0)
    S = 1_000_000
    a, b = (v / np.linalg.norm(v, axis=1, keepdims=True) for v in rng.standard_normal((2, S, 3)))
    Vc = DX**3
    E = K * Vc * (2 - a[:, 2] ** 2 - b[:, 2] ** 2) + 2 * A * Vc / DX**2 * (1 - (a * b).sum(axis=1))
    w = np.exp(-E / (kB * T)) * ((a[:, 2] + b[:, 2]) > 0)

    def exact(f):
        mean = float((w * f).sum() / w.sum())
        err = float(np.sqrt((w**2 * (f - mean) ** 2).sum()) / w.sum())
        return mean, err

    for sim_series, f in ((d2, (a[:, 0] - b[:, 0]) ** 2), (mz, (a[:, 2] + b[:, 2]) / 2)):
        ref, ref_err = exact(f)
        err = float(np.std(sim_series)) / math.sqrt(len(sim_series) / 2)  # correlated samples: half as many
        assert np.mean(sim_series) == pytest.approx(ref, abs=3 * math.sqrt(err**2 + ref_err**2))


def _escape_time_two_cells(backend, delta, y, members, steps, seed, f=0.1, alpha=1.0):
    """Mean time (s) until the average m_z of a thermal two-cell batch falls below −0.5 (censored exponential:
    the time watched over the number of switches) and the number of switches."""
    sim, K, A, B_K, lam_max = _two_cells(backend, delta, y, alpha=alpha, batch=members)
    sim.m = (0, 0, 1)
    sim.temperature = T
    sim.integrator = "heun"
    sim.seed = seed
    dt = f / (gamma_mumax * lam_max)
    sim.dt = dt
    first = np.full(members, np.nan)
    n, chunk = 0, 50
    while n < steps:
        sim.step(chunk)
        n += chunk
        first[np.isnan(first) & (sim.m_avg[:, 2] < -0.5)] = n * dt
    k = int((~np.isnan(first)).sum())
    return float(np.where(np.isnan(first), n * dt, first).sum()) / max(k, 1), k


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["cpu"])
def test_f0_of_two_cells_against_a_thermal_batch_slow(backend):
    """Slow form (~10 min on 2 loaded cores): two cells with x_1 = 2 B_K (Langer's non-uniform factor
    3/√2 = 2.12 over Brown's f0 of the pair) at Δ = 8, α = 1, 96 members over ~1 Langer time (~50 switches,
    σ ≈ 14 %). Allowed: 3σ plus the macrospin's finite-Δ error at this Δ (exact Fokker–Planck / Brown − 1 =
    13 %), the same allowance as the macrospin test. Measured (seed 3, 2026-12-07): τ_sim / τ_Langer = 1.45,
    55 switches. At Δ = 5 the pair's τ_sim / τ_Langer is 1.8-2.0 (x_1 = 2 B_K, dt halved: same), 1.9 (4 B_K)
    and 1.6 (20 B_K, nearly rigid), ±12-16 %, against 1.09 ± 0.11 of τ_sim / τ_exact for one cell in the same
    harness: the exact equilibrium factor at Δ = 5 is within 5 % of Langer's (test above), so this excess is
    dynamical and not yet explained; it is why no quick form at Δ = 5 compares rates."""
    delta, y, alpha = 8.0, 2.0, 1.0
    tau_sim, k = _escape_time_two_cells(backend, delta, y, 96, 64000, seed=3, alpha=alpha)
    assert k >= 20, f"only {k} switches: too few to judge"
    sigma = 1.0 / math.sqrt(k)
    sim, K, A, B_K, _ = _two_cells("cpu", delta, y, alpha=alpha)
    land = clone_simulation(sim, 8)
    n = (2, 1, 1)
    r = attempt_frequency(TangentHessian(land, _uniform(n, 0.0, False)), TangentHessian(land, _uniform(n, 0.0, True)),
                          alpha, gamma_mumax, T)
    f0, brown, factor = closed_form_f0(n, K, A, 0.0, alpha)
    assert r["f0_Hz"] == pytest.approx(f0, rel=1e-6) and factor == pytest.approx(3 / math.sqrt(2), rel=1e-9)
    tau_langer = math.exp(delta) / r["f0_Hz"]
    asym = abs(escape_time(delta, alpha=alpha, B_K=B_K, x_abs=-0.5) / escape_time(delta, alpha=alpha, B_K=B_K,
                                                                                    method="brown") - 1)
    assert abs(tau_sim / tau_langer - 1) < 3 * sigma + asym

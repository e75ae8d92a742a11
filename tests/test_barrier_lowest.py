"""The lowest path, its saddle proven, and the attempt frequency from the landscape (issue 24, items 1-2).

References
- Brown, Phys. Rev. 130, 1677 (1963); IEEE Trans. Magn. 15, 1196 (1979): the high-barrier escape rate of a
  uniaxial macrospin with a field along the axis (h = B/B_K), f0 = α γ/(1 + α²) B_K (1 − h²)(1 − h) √(Δ₀/π),
  Δ₀ = K V / k_B T (Coffey & Kalmykov, J. Appl. Phys. 112, 121301 (2012) review it).
- Langer, Ann. Phys. 54, 258 (1969): the harmonic rate that micromag.apps.transition_rate evaluates for any
  element; for the macrospin it must reduce to Brown's formula exactly (the ring of saddles is a zero mode).
- The mean first-passage time of Brown's Fokker–Planck equation (micromag.apps.retention.escape_time, a quadrature
  nobody else here wrote against this module) and a thermal stochastic-LLG batch are the independent checks
  of the rate itself.
"""
import math
import warnings

import numpy as np
import pytest

import micromag as mm
from micromag.apps.barrier import clone_simulation, energy_barrier
from micromag.engine.constants import gamma_mumax, kB
from micromag.engine.hessian import TangentHessian
from micromag.apps.retention import escape_time
from micromag.apps.transition_rate import attempt_frequency, check_stationary

BACKENDS = ["cpu", "emulate"]


def _macrospin(backend, K, h=0.0, Ms=1e6, alpha=0.1, cell=3e-9, batch=1):
    g = mm.Grid(n=(1, 1, 1), cell=(cell, cell, cell))
    sim = mm.Simulation(g, material=mm.Material(Ms=Ms, Ku1=K, anis_u=(0, 0, 1), alpha=alpha), demag=False,
                        backend=backend, batch=batch)
    if h:
        sim.B_ext = (0.0, 0.0, -h * 2 * K / Ms)
    return sim


def _brown_f0(K, Ms, V, h, alpha, T):
    d0 = K * V / (kB * T)
    return alpha * gamma_mumax / (1 + alpha**2) * (2 * K / Ms) * (1 - h * h) * (1 - h) * math.sqrt(d0 / math.pi)


# ---------------------------------------------------------------------------------------------- macrospin
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("h", [0.0, 0.3])
def test_hessian_and_f0_of_a_macrospin_match_brown(backend, h):
    """Hessian eigenvalues 2KV(1 − h) at the minimum, −2KV(1 − h²) at the saddle ring plus a rotation zero mode,
    and Langer's f0 equal to Brown's closed form (both are exact here: no tolerance beyond round-off and the
    second-order finite difference, 1e-6)."""
    K, Ms, V, alpha, T = 5e5, 1e6, 27e-27, 0.1, 300.0
    land = clone_simulation(_macrospin(backend, K, h), 4)
    mmin = np.zeros((3, 1, 1, 1))
    mmin[2] = 1
    ms = np.zeros((3, 1, 1, 1))
    ms[0], ms[2] = math.sqrt(1 - h * h), h  # cos θ_s = h (B against the state)
    Hm, Hs = TangentHessian(land, mmin), TangentHessian(land, ms)
    assert np.allclose(np.linalg.eigvalsh(Hm.dense()), 2 * K * V * (1 - h), rtol=1e-6)
    ws = np.linalg.eigvalsh(Hs.dense())
    assert ws[0] == pytest.approx(-2 * K * V * (1 - h * h), rel=1e-6) and abs(ws[1]) < 1e-6 * K * V
    c = check_stationary(Hs, "saddle")
    assert c["passed"] and c["symmetry_modes"] == ["z"]
    assert check_stationary(Hm, "minimum")["passed"]
    r = attempt_frequency(Hm, Hs, alpha, gamma_mumax, T)
    assert r["lambda_plus_per_s"] == pytest.approx(alpha * gamma_mumax / (1 + alpha**2) * 2 * K / Ms * (1 - h * h),
                                                   rel=1e-6)
    assert r["f0_Hz"] == pytest.approx(_brown_f0(K, Ms, V, h, alpha, T), rel=1e-6)


def test_path_attempt_frequency_and_retention_time():
    """The same through energy_barrier: the path's saddle passes the check, f0 = Brown, and
    retention_time = e^Δ/f0 equals retention.escape_time(method='brown')."""
    K, Ms, V, alpha, T, h = 5e5, 1e6, 27e-27, 0.05, 300.0, 0.2
    p = energy_barrier(_macrospin("cpu", K, h, alpha=alpha), (0, 0, 1), (0, 0, -1), images=9, candidates=["coherent"],
                       progress=False)
    assert p.converged and p.saddle_check["passed"]
    assert p.attempt_frequency(T=T) == pytest.approx(_brown_f0(K, Ms, V, h, alpha, T), rel=1e-5)
    assert p.attempt_frequency(alpha=0.5, T=T) == pytest.approx(_brown_f0(K, Ms, V, h, 0.5, T), rel=1e-5)
    d0 = K * V / (kB * T)
    ref = escape_time(d0, i=h, alpha=alpha, B_K=2 * K / Ms, method="brown")
    assert p.retention_time(T) == pytest.approx(ref, rel=1e-5)
    with pytest.raises(ValueError, match="alpha"):
        p.attempt_frequency(alpha=-1.0, T=T)
    with pytest.raises(ValueError, match="T"):
        p.retention_time(0.0)


def _thermal_escape_time(backend, delta, members, steps, seed, f=0.1, alpha=1.0, T=300.0):
    """Mean time (s) for m_z of a thermal macrospin batch to fall below −0.5 (censored exponential: switches
    over total time watched), and the number of switches."""
    V = 27e-27
    K = delta * kB * T / V
    sim = _macrospin(backend, K, alpha=alpha, batch=members)
    sim.m = (0, 0, 1)
    sim.temperature = T
    sim.integrator = "heun"
    sim.seed = seed
    B_K = 2 * K / 1e6
    dt = f / (gamma_mumax * B_K)
    sim.dt = dt
    first = np.full(members, np.nan)
    n, chunk = 0, 50
    while n < steps:
        sim.step(chunk)
        n += chunk
        new = np.isnan(first) & (sim.m_avg[:, 2] < -0.5)
        first[new] = n * dt
    k = int((~np.isnan(first)).sum())
    return float(np.where(np.isnan(first), n * dt, first).sum()) / max(k, 1), k, K, B_K


def _check_thermal(backend, delta, members, steps, seed):
    alpha, T = 1.0, 300.0
    tau_sim, k, K, B_K = _thermal_escape_time(backend, delta, members, steps, seed, alpha=alpha, T=T)
    assert k >= 10, f"only {k} switches: too few to judge"
    sigma = 1.0 / math.sqrt(k)  # relative error of a censored exponential estimate
    # independent: the mean first-passage time of Brown's Fokker–Planck equation to m_z = −0.5
    exact = escape_time(delta, alpha=alpha, B_K=B_K, x_abs=-0.5)
    assert tau_sim == pytest.approx(exact, rel=3 * sigma)
    # Langer's τ = e^Δ / f0 from the landscape: an asymptote in 1/Δ whose error at this Δ the Fokker–Planck
    # solution gives (exact / asymptote − 1: 13 % at Δ = 8, 10 % at Δ = 10); allowed on top of 3σ
    p = energy_barrier(_macrospin(backend, K, alpha=alpha), (0, 0, 1), (0, 0, -1), images=7, progress=False)
    tau_langer = math.exp(p.delta(T)) / p.attempt_frequency(T=T)
    asym = abs(exact / escape_time(delta, alpha=alpha, B_K=B_K, method="brown") - 1)
    assert abs(tau_sim / tau_langer - 1) < 3 * sigma + asym


@pytest.mark.parametrize("backend", ["cpu"])
def test_f0_against_a_thermal_batch_quick(backend):
    """Quick form (CI): Δ = 5, 48 members, ~1.5 mean escape times (~35 switches, σ ≈ 17 %). The stochastic
    Heun step costs milliseconds per member batch on the CPU, so Δ = 8-12 is the slow form below."""
    _check_thermal(backend, 5.0, 48, 4000, seed=3)


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_f0_against_a_thermal_batch_slow(backend):
    """Slow form: Δ = 10, 256 members over ~1 mean escape time (~160 switches, σ ≈ 8 %)."""
    _check_thermal(backend, 10.0, 256, 280000, seed=5)


# ---------------------------------------------------------------------------------------------- the lowest path
def _disc(n, centre, backend="cpu", Ku=7.13e5):
    """The issue's 30 nm perpendicular disc: 2 nm cells, 1.5 nm thick, Ms 1e6 A/m, A 1.5e-11 J/m, Ku1 chosen so
    that K_eff of the disc (with its own demag) is ~2e5 J/m³ (K_eff V = 54 k_B T at 300 K)."""
    g = mm.Grid(n=(n, n, 1), cell=(2e-9, 2e-9, 1.5e-9))
    mat = mm.Material(Ms=1e6, A=1.5e-11, Ku1=Ku, anis_u=(0, 0, 1), alpha=0.01)
    return mm.Simulation(g, material=mat, geometry=mm.Ellipse((30e-9, 30e-9), center=centre), backend=backend)


def _uniform_rotation_max(sim, phis=8, thetas=181):
    """Largest energy of uniform rotation ẑ -> −ẑ through the best in-plane direction, minus E(relaxed ẑ):
    written here from scratch (not micromag.apps.barrier.starts.coherent_bound) as the test's own bound."""
    c = clone_simulation(sim, 1)
    c.m = (0, 0, 1)
    c.minimize(tol_torque=1e-6, progress=False)
    E0 = float(c.energy())
    best = np.inf
    c2 = clone_simulation(sim, thetas)
    th = np.linspace(0, math.pi, thetas)
    for ph in np.arange(phis) * math.pi / phis:
        c2.m = np.stack([np.sin(th) * math.cos(ph), np.sin(th) * math.sin(ph), np.cos(th)], axis=1)  # (B, 3)
        best = min(best, float(np.max(c2.energy())))
    return best - E0


def _check_off_centre_disc(**kw):
    sim = _disc(18, (0.0, 0.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p = energy_barrier(sim, (0, 0, 1), (0, 0, -1), progress=False, **kw)
    bound = _uniform_rotation_max(sim)
    # the uniform-rotation maximum on a 181-point θ grid lies below the continuous one by < 1e-5 relative
    assert p.barrier <= bound * (1 + 1e-4)
    assert p.coherent_bound_J == pytest.approx(bound, rel=1e-4)
    assert len(p.candidates) >= 6 and all(c["screening_barrier_J"] is not None for c in p.candidates)
    # the top is a proven first-order saddle: one negative eigenvalue, the next > 0, both ends minima
    assert p.saddle_check["passed"], p.saddle_check["message"]
    w = p.saddle_check["saddle"]["eigenvalues_T"]
    assert w[0] < 0 < w[1] or (w[0] < 0 and abs(w[1]) <= p.saddle_check["saddle"]["zero_tol_T"])
    assert p.converged and p.status == "converged"
    # the uniform in-plane state is not on the lowest path (on this grid it has 3 unstable directions: the
    # disc buckles): the lowest path lies well below the uniform-rotation bound
    assert p.barrier < bound - 0.5 * kB * 300.0
    return p


def test_off_centre_disc_lowest_path_quick():
    """The issue's case, the disc centred on a cell corner of an 18 × 18 grid. Before: 55.8 k_B T 'settled'
    (one noisy start), above the 54.03 of uniform rotation on the same grid; then 54.03 from the coherent start,
    whose top (the uniform in-plane state) has 3 negative eigenvalues. After: the field is the gradient of the
    energy at the partly filled edge (tests/test_fill_gradient.py), the best start's top (a wall across the
    disc, 2 extra unstable modes) is followed along its extra modes, and the lowest path found, 52.96 k_B T,
    ends on a proven first-order saddle. Quick form: 7 images, tol_torque 2 mT."""
    p = _check_off_centre_disc(images=7, tol_torque=2e-3)
    assert any(c["start"].startswith("mode") for c in p.candidates) and p.followed_modes


@pytest.mark.slow
def test_off_centre_disc_lowest_path_defaults():
    """The same with the defaults (16 images, tol_torque 1e-4 T)."""
    _check_off_centre_disc()


@pytest.mark.slow
def test_example_40nm_cell_lowest_path():
    """The 40 nm example cell (examples/cells/stt_pmtj_40nm.toml, its quick barrier settings: 2.5 nm cells, 9
    images, 1 mT): before 57.2 'converged' (default start) and 63.7 (coherent start), the top of neither a
    saddle; after, a proven first-order saddle below the uniform-rotation bound (measured: Δ(300 K) = 54.2,
    bound 63.7, ~4 min on 2 busy cores)."""
    import pathlib

    from micromag.apps.cellreport import load_cell_spec, stage_delta

    spec = load_cell_spec(pathlib.Path(__file__).parents[1] / "examples" / "cells" / "stt_pmtj_40nm.toml",
                          quick=True)
    d = spec.data
    b = d["barrier"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r, _ = stage_delta(d, 300.0, "cpu", b["images"], b["tol_torque"], b["max_iter"], False)
    assert r["saddle_check_passed"] and r["status"] == "converged", r["saddle_check"]
    assert r["barrier_J"] < r["coherent_bound_J"]


# ---------------------------------------------------------------------------------------------- walls
def _big_disc(backend, d=32e-9):
    """A 32 nm perpendicular disc above the crossover d_c = 16 √(A/K)/π = 22.8 nm (demag off, K_eff = Ku1 =
    5e5 J/m³, A = 1e-11 J/m, 2.5 nm cells below √(A/K) = 4.5 nm, one layer): it reverses through a wall whose
    energy is largest across the middle, a proper saddle (the wall's shift to either side is its unstable
    mode)."""
    n = int(round(d / 2.5e-9)) + 2
    g = mm.Grid(n=(n, n, 1), cell=(2.5e-9, 2.5e-9, 1e-9))
    mat = mm.Material(Ms=1e6, A=1e-11, Ku1=5e5, anis_u=(0, 0, 1), alpha=0.1)
    return mm.Simulation(g, material=mat, geometry=mm.Ellipse((d, d)), demag=False, backend=backend)


@pytest.mark.parametrize("backend", ["cpu", pytest.param("emulate", marks=pytest.mark.slow)])
def test_wall_saddle_is_proven_and_a_coherent_top_fails(backend):
    """(a) A wall-mediated reversal: the lowest path's top passes the saddle check (one negative eigenvalue),
    its barrier well below coherent rotation K V (a straight wall across the middle costs 4√(AK) d t = 0.71 K V;
    the staircase edge a little less).
    (b) The coherent start alone: by symmetry the string stays uniform and its top, the uniform in-plane state,
    is a stationary point with torque 0 — the old criterion called it 'converged' — but it has more than one
    negative eigenvalue (a wall lowers it): the check fails, with a warning, and the path is not converged."""
    sim = _big_disc(backend)
    V = float(sim.system.fill.sum()) * sim.grid.cell_volume
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p = energy_barrier(sim, (0, 0, 1), (0, 0, -1), images=7, tol_torque=1e-3, candidates=["wall"],
                           progress=False)
    assert p.saddle_check["passed"], p.saddle_check["message"]
    assert p.saddle_check["saddle"]["eigenvalues_T"][0] < 0 < p.saddle_check["saddle"]["eigenvalues_T"][1]
    assert p.barrier < 0.8 * 5e5 * V
    with pytest.warns(RuntimeWarning, match="saddle check"):
        q = energy_barrier(sim, (0, 0, 1), (0, 0, -1), images=7, tol_torque=1e-3, candidates=["coherent"],
                           follow_modes=0, progress=False)
    assert not q.saddle_check["passed"] and not q.converged and q.status == "failed saddle check"
    assert "negative eigenvalues" in q.saddle_check["saddle"]["message"]
    assert q.barrier == pytest.approx(5e5 * V, rel=1e-3)  # the uniform in-plane state: K V
    assert p.barrier < q.barrier
    # (c) the same coherent start, its top followed along its extra unstable modes (the default): the string
    # leaves the ridge it can never leave by symmetry and ends on the wall's saddle found in (a)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = energy_barrier(sim, (0, 0, 1), (0, 0, -1), images=7, tol_torque=1e-3, candidates=["coherent"],
                           progress=False)
    assert r.saddle_check["passed"] and r.converged, r.saddle_check["message"]
    assert r.followed_modes and r.start.startswith("mode")
    assert r.barrier == pytest.approx(p.barrier, rel=5e-3)


def test_stripe_wall_translation_is_reported_as_a_zero_mode():
    """A wall in a long stripe (64 nm, demag off) is free to slide: the top is a flat family, reported as a
    zero mode no rotation explains; the barrier is right but there is no harmonic rate (RuntimeError)."""
    g = mm.Grid(n=(64, 1, 1), cell=(1e-9, 2e-9, 1e-9))
    sim = mm.Simulation(g, material=mm.Material(Ms=1e6, A=1e-11, Ku1=5e5, anis_u=(0, 0, 1)), demag=False,
                        backend="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p = energy_barrier(sim, (0, 0, 1), (0, 0, -1), images=12, via=(0, 1, 0), progress=False)
    assert p.saddle_check["saddle"]["zero_modes"] >= 1
    with pytest.raises(RuntimeError, match="zero mode"):
        p.attempt_frequency(alpha=0.1, T=300.0)


def test_refine_reports_the_discretization_error():
    """refine=True: the barrier with 2·images − 1 images and on cells of half the size. For the wall in a stripe
    the cell error is second order, −(dx/δ)²/24 of 4√(AK) w t: halving 2 nm cells divides it by ~4 (as in
    test_barrier.test_wall_barrier_error_is_second_order_in_the_cell), and the Richardson value lies closer."""
    from micromag.apps.barrier import wall_barrier

    g = mm.Grid(n=(32, 1, 1), cell=(2e-9, 2e-9, 1e-9))
    sim = mm.Simulation(g, material=mm.Material(Ms=1e6, A=1e-11, Ku1=5e5, anis_u=(0, 0, 1)), demag=False,
                        backend="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p = energy_barrier(sim, (0, 0, 1), (0, 0, -1), images=12, via=(0, 1, 0), candidates=["seeded"],
                           refine=True, progress=False)
    ref = wall_barrier(1e-11, 5e5, 2e-9, 1e-9)
    d = p.discretization
    e2, e1 = d["cell_m"][2e-9] / ref - 1, d["cell_m"][1e-9] / ref - 1
    assert e2 < e1 < 0 and e2 / e1 == pytest.approx(4.0, rel=0.15)
    assert abs(d["richardson_J"] / ref - 1) < abs(e1)
    assert set(d["images"]) == {12, 23} and d["images"][23] == pytest.approx(d["images"][12], rel=2e-3)

"""Array statistics (micromag.apps.array_stats): the demagnetizing factors of the disc, the spread of Δ, and the
array failure probabilities against a direct Monte Carlo of arrays of bits (an independent code path:
sampled cells, exponential flip times, any-bit / more-than-t-bits-per-word counting)."""
import math

import numpy as np
import pytest

from micromag.apps import array_stats as ast
from micromag.apps.retention import binomial_interval


def test_cylinder_demag_factors_against_published_values():
    # Chen, Brug & Goldfarb, IEEE Trans. Magn. 27, 3601 (1991): magnetometric N_z = 0.3116 for length = diameter
    Nx, Nz = ast.cylinder_demag_factors(2.0, 2.0)
    assert Nz == pytest.approx(0.3116, abs=1e-4) and Nx == pytest.approx((1 - Nz) / 2)
    # thin-disc limit N_z = 1 − (2L/(πd)) (ln(4d/L) − 1/2), error O((L/d)²)
    for d, t in ((100e-9, 1e-9), (40e-9, 1.3e-9)):
        tau = t / d
        _, Nz = ast.cylinder_demag_factors(d, t)
        assert Nz == pytest.approx(1 - 2 * tau / math.pi * (math.log(4 / tau) - 0.5), abs=2 * tau**2)


def _cell():
    # a 40 nm CoFeB/MgO disc at 150 °C: Ms, Ku1 of the order of CoFeB_perpendicular().at(423.15)
    return ast.CoherentDisc(diameter=40e-9, thickness=1.3e-9, Ms=1.1e6, Ku1=8.0e5, T=423.15)


def test_gaussian_anisotropy_spread_against_the_lognormal_closed_form():
    """With σ_d = 0, Δ = a s − b is Gaussian (σ_Δ = a σ_K), so in the rare-flip limit p̄ = (t/τ0) E[e^{−Δ}]
    = (t/τ0) exp(−Δ0 + σ_Δ²/2): the weak tail that decides the array, integrated by the quadrature."""
    cell = _cell()
    d0 = float(cell.delta())
    a = float(cell.delta(s=1.01) - cell.delta(s=1.0)) / 0.01
    sp = ast.ArraySpread(sigma_K=0.01)
    t = 1.0  # s: p̄ ~ 1e-7, the rare-flip regime
    p = ast.bit_failure_probability(lambda d, s: cell.delta(d, s), sp, 40e-9, t)
    sig = a * 0.01
    assert p == pytest.approx(t / 1e-9 * math.exp(-d0 + sig**2 / 2), rel=1e-4)
    assert p > 10 * t / 1e-9 * math.exp(-d0)  # the spread matters: the weakest bits decide


@pytest.mark.parametrize("ecc", [None, 1])
def test_array_failure_against_direct_monte_carlo(ecc):
    cell = _cell()
    sp = ast.ArraySpread(sigma_diameter=2.0e-9, sigma_K=0.01)
    n_bits, word = 288, 72
    d0 = float(cell.delta())
    t = 1e-9 * math.exp(d0) * (1e-5 if ecc is None else 1e-4)  # P_array of order 0.3-0.5 (the spread: Δ0 ≈ 40)
    fn = lambda d, s: cell.delta(d, s)  # noqa: E731
    p_bit = ast.bit_failure_probability(fn, sp, 40e-9, t)
    P = ast.array_failure_probability(p_bit, n_bits, word_bits=None if ecc is None else word,
                                      ecc_bits=0 if ecc is None else ecc)
    # direct Monte Carlo: arrays of sampled cells, each bit flips when its exponential flip time is < t
    rng = np.random.default_rng(7)
    M = 3000
    d = 40e-9 + 2.0e-9 * rng.standard_normal((M, n_bits))
    s = 1.0 + 0.01 * rng.standard_normal((M, n_bits))
    delta = fn(d.ravel(), s.ravel()).reshape(M, n_bits)
    flipped = rng.exponential(1e-9 * np.exp(delta)) < t
    if ecc is None:
        fails = flipped.any(axis=1)
    else:
        fails = (flipped.reshape(M, n_bits // word, word).sum(axis=2) > ecc).any(axis=1)
    lo, hi = binomial_interval(int(fails.sum()), M, conf=0.999)
    assert 0.1 < P < 0.7 and lo <= P <= hi, (P, lo, hi)


def test_word_failure_is_the_binomial_tail():
    p, w, t = 1e-3, 72, 2
    exact = 1 - sum(math.comb(w, k) * p**k * (1 - p) ** (w - k) for k in range(t + 1))
    assert ast.word_failure_probability(p, w, t) == pytest.approx(exact, rel=1e-9)
    # tiny p: the tail ~ C(w, t+1) p^(t+1), no cancellation
    assert ast.word_failure_probability(1e-12, 72, 1) == pytest.approx(math.comb(72, 2) * 1e-24, rel=1e-6)
    # without ECC the array fails when any bit does
    assert ast.array_failure_probability(1e-9, 1 << 20) == pytest.approx(-math.expm1((1 << 20) * math.log1p(-1e-9)))


def test_listed_cells_and_samples():
    sp = ast.ArraySpread(diameters=[38e-9, 40e-9, 42e-9], K_scales=[1.0, 0.99, 1.01])
    d, s, w = sp.nodes(40e-9)
    assert d.tolist() == [38e-9, 40e-9, 42e-9] and np.allclose(w, 1 / 3)
    cell = _cell()
    p = ast.bit_failure_probability(lambda d, s: cell.delta(d, s), sp, 40e-9, 1.0)
    assert p == pytest.approx(np.mean([-math.expm1(-1e9 * math.exp(-float(cell.delta(a, b)))) for a, b in zip(d, s)]))
    g = ast.ArraySpread(sigma_diameter=1e-9, samples=20000, seed=3)
    dd, ss = g.sample(40e-9)
    assert dd.std() == pytest.approx(1e-9, rel=0.03) and np.all(ss == 1.0)


@pytest.mark.parametrize("kw,match", [
    (dict(sigma_diameter=-1e-9), r"sigma_diameter = -1e-09 is outside the allowed range \[0, inf\) m"),
    (dict(sigma_K=-0.1), r"sigma_K = -0.1 is outside the allowed range"),
    (dict(sigma_K=1.5), r"sigma_K = 1.5 is outside the allowed range \[0, 1\)"),
    (dict(diameters=[40e-9, -1e-9]), r"diameters must be a non-empty list of numbers > 0"),
    (dict(diameters=[40e-9], K_scales=[1.0, 1.0]), r"must pair up"),
    (dict(sigma_K=0.01, K_scales=[1.0]), r"not both"),
    (dict(samples=0), r"samples must be an integer >= 1"),
])
def test_bad_spread_is_refused(kw, match):
    with pytest.raises(ValueError, match=match):
        ast.ArraySpread(**kw)


def test_bad_ecc_is_refused():
    with pytest.raises(ValueError, match=r"ecc_bits = 72 must be smaller than word_bits = 72"):
        ast.word_failure_probability(1e-6, 72, 72)
    with pytest.raises(ValueError, match="ecc_bits needs word_bits"):
        ast.array_failure_probability(1e-6, 100, ecc_bits=1)


def test_quadrature_converges_under_node_doubling():
    """The product trapezoid rule on ±10 σ of a smooth Gaussian integrand converges geometrically: doubling
    the 241 default nodes per axis changes p̄ by < 1e-10 relative, from the rare-flip regime to saturation."""
    cell = _cell()
    sp = ast.ArraySpread(sigma_diameter=2.0e-9, sigma_K=0.01)
    for t in (1e-3, 1.0, 3.15e8):
        p = []
        for n in (241, 481):
            d, s, w = sp.nodes(40e-9, n=n)
            p.append(float(np.sum(w * -np.expm1(-t / 1e-9 * np.exp(-cell.delta(d, s))))))
        assert p[0] == pytest.approx(p[1], rel=1e-10)

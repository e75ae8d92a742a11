"""Demag tensor (micromag.engine.newell) and demag term (micromag.engine.terms.demag) against references.

Tolerances and what limits them:
- Self terms are printed in the reference with 12 decimals: compared to 1e-11 absolute (we differ by 4e-13).
- Neighbour rows have 13 significant digits: compared to 1e-8 relative, or 1e-14 absolute for elements
  that are zero by symmetry (the reference prints round-off like 3.5e-17 for them). We agree to 7e-12
  relative except for (10, 0, 0), where the reference's own float64 evaluation is off by 4e-10 relative
  (50-digit mpmath agrees with our value to ~1e-15).
- Prism factors (12 decimals) to 1e-8 relative; we agree to 7e-11 (the rounding of the smallest entries).
"""
from __future__ import annotations

import math
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from micromag import Grid, Material, System
from micromag.engine.constants import mu0
from micromag.engine.newell import (
    COMPONENTS,
    PARITY,
    _crossover,
    _normalized_cell,
    cached_newell_tensor,
    full_kernel,
    newell_pair,
    newell_tensor,
)
from micromag.engine.terms.demag import Demag
from micromag.apps.validate.cases import data_path

# the package's verbatim copy of the reference file (source and SHA-256 in micromag/apps/validate/data/SOURCES.md)
REF_FILE = Path(data_path("demag_factors.txt"))
MS = 8.0e5


# ---------------------------------------------------------------------------------------------- helpers
@lru_cache(maxsize=1)
def reference():
    """Parse demag_factors.txt into its sections."""
    if not REF_FILE.is_file():
        pytest.fail(f"reference file {REF_FILE} not found: the package data is incomplete")
    out = {"prism": {}, "self": {}, "neighbour": {}, "dipole": {}, "newell_avg": []}
    section = None
    tup = r"\(([^)]*)\)"
    for line in REF_FILE.read_text().splitlines():
        if line.startswith("=="):
            section = ("prism" if "Aharoni prism" in line else "self" if "self terms" in line
                       else "neighbour" if "neighbours" in line else "newell_avg" if "Prism factor" in line else None)
            continue
        if line.startswith("dipole approx"):
            for k, v in re.findall(r"N(\w\w)\(10,0,0\)\s*=\s*([-\d.e+]+)", line):
                out["dipole"][k] = float(v)
            continue
        mt = re.match(tup, line)
        if not mt or section is None:
            continue
        key = tuple(float(v) for v in mt.group(1).split(","))
        if section == "prism":
            out["prism"][key] = tuple(float(v) for v in re.findall(r"'([-\d.e+]+)'", line))
        elif section in ("self", "neighbour"):
            vals = {k: float(v) for k, v in re.findall(r"N(\w\w)=([-\d.e+]+)", line)}
            if section == "neighbour":
                key = tuple(int(v) for v in key)
            out[section][key] = vals
        else:
            avg = tuple(float(v) for v in line.split("Newell-avg:")[1].split("Aharoni")[0].split())
            out["newell_avg"].append((tuple(int(v) for v in key[:3]), key[3:], avg))
    return out


def make_demag(n, cell_nm, pbc=(0, 0, 0), fill=None, Ms=MS):
    g = Grid(n, tuple(c * 1e-9 for c in cell_nm), pbc)
    return Demag(System(g, Material(Ms=Ms), geometry=fill), cache_dir=False)


def uniform_factors(demag):
    """3×3 average demag factors: row = magnetization axis, column = field component, N = -<B>/(μ0 Ms)."""
    m = np.zeros((3, 3) + demag.grid.shape)
    for a in range(3):
        m[a, a] = 1.0
    return -demag.field(m).mean(axis=(2, 3, 4)) / (mu0 * MS)


def tensor_matrix(t, k, j, i):
    """3×3 matrix from a newell_tensor octant at signed offset (i, j, k) (open boundaries)."""
    vals = {}
    for name in COMPONENTS:
        sign = 1
        for v, par in zip((i, j, k), PARITY[name]):
            if v < 0:
                sign *= par
        vals[name] = sign * t[name][abs(k), abs(j), abs(i)]
    return np.array([[vals["xx"], vals["xy"], vals["xz"]],
                     [vals["xy"], vals["yy"], vals["yz"]],
                     [vals["xz"], vals["yz"], vals["zz"]]])


def random_m(rng, shape):
    m = rng.normal(size=shape)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


# ---------------------------------------------------------------------------------------------- (a) Newell rows
def test_self_terms():
    ref = reference()["self"]
    assert len(ref) == 5
    for cell, vals in ref.items():
        ours = newell_pair((0, 0, 0), cell)
        for k, v in vals.items():
            assert abs(ours[k] - v) <= 1e-11, (cell, k, ours[k], v)
        assert abs(ours["xx"] + ours["yy"] + ours["zz"] - 1) < 1e-14
        # the same through the grid path, with a physical (metre) cell size
        t = newell_tensor((2, 2, 2), tuple(c * 1e-9 for c in cell))
        for k, v in vals.items():
            assert abs(t[k][0, 0, 0] - v) <= 1e-11


def _check_row(ours, vals, where):
    for k, v in vals.items():
        if abs(v) < 1e-15:  # zero by symmetry; the reference prints its round-off
            assert abs(ours[k]) <= 1e-14, (where, k, ours[k])
        else:
            assert abs(ours[k] - v) <= 1e-8 * abs(v), (where, k, ours[k], v)


def test_neighbour_rows():
    ref = reference()["neighbour"]
    assert len(ref) == 8
    grid_t = newell_tensor((4, 3, 2), (1, 1, 1))
    for off, vals in ref.items():
        ours = newell_pair(off, (1, 1, 1))
        _check_row(ours, vals, off)
        if off[0] < 4 and off[1] < 3 and off[2] < 2:
            row = {name: grid_t[name][off[2], off[1], off[0]] for name in COMPONENTS}
            _check_row(row, vals, ("grid", off))
        # the trace of N vanishes between distinct cells (∇²(1/r) = 0)
        assert abs(ours["xx"] + ours["yy"] + ours["zz"]) < 1e-15


def test_parity_and_permutation():
    """Signs at negative offsets, and swapping axes of the cell permutes the tensor."""
    a = newell_pair((3, 2, 1), (1, 2, 3))
    b = newell_pair((-3, 2, -1), (1, 2, 3))
    assert b["xx"] == a["xx"] and b["xy"] == -a["xy"] and b["xz"] == a["xz"] and b["yz"] == -a["yz"]
    c = newell_pair((2, 3, 1), (2, 1, 3))  # x <-> y swapped
    for k, kc in {"xx": "yy", "yy": "xx", "zz": "zz", "xy": "xy", "xz": "yz", "yz": "xz"}.items():
        assert abs(c[kc] - a[k]) <= 1e-14 * max(1e-3, abs(a[k]))


# ---------------------------------------------------------------------------------------------- (b) far field
def test_far_field_row_and_point_dipole():
    ref = reference()
    vals = ref["neighbour"][(10, 0, 0)]
    t = newell_tensor((11, 1, 1), (1, 1, 1))
    _check_row({name: t[name][0, 0, 10] for name in COMPONENTS}, vals, "grid (10,0,0)")
    ours = newell_pair((10, 0, 0), (1, 1, 1))
    assert abs(ours["xx"] - ref["dipole"]["xx"]) / abs(ref["dipole"]["xx"]) < 1e-4

    def dipole(r, cell):
        r = np.asarray(r, float) * cell
        R = np.linalg.norm(r)
        vol = np.prod(cell)
        return vol / (4 * math.pi) * (np.eye(3) * R**2 - 3 * np.outer(r, r)) / R**5, vol / (4 * math.pi * R**3)

    def deviation(off, cell):
        p = newell_pair(off, cell)
        mat = np.array([[p["xx"], p["xy"], p["xz"]], [p["xy"], p["yy"], p["yz"]], [p["xz"], p["yz"], p["zz"]]])
        d, scale = dipole(off, np.asarray(cell, float))
        return np.abs(mat - d).max() / scale

    for direction in [(1, 0, 0), (1, 1, 0), (1, 2, 3)]:
        # cube cells: the (d/R)² correction vanishes, the deviation falls like R⁻⁴
        devs = [deviation(tuple(k * v for v in direction), (1, 1, 1)) for k in (10, 20, 40, 80)]
        for a, b in zip(devs, devs[1:]):
            assert 12 < a / b < 20
        assert devs[-1] < 5e-8
        # flat cells: falls like R⁻²
        devs = [deviation(tuple(k * v for v in direction), (5, 5, 1)) for k in (10, 20, 40, 80)]
        for a, b in zip(devs, devs[1:]):
            assert 3.5 < a / b < 4.5


@pytest.mark.parametrize("cell", [(1, 1, 1), (5, 5, 3), (1, 2, 3), (5, 5, 1), (4, 1, 1)])
def test_exact_and_asymptotic_agree_at_crossover(cell):
    """Around the crossover the long-double exact form and the far-field series agree to ~1e-11 of N's
    size V/(4πR³); both errors were measured against 50-digit mpmath when the crossover was chosen."""
    c = _normalized_cell(cell)
    rc = _crossover(c)
    vol = c[0] * c[1] * c[2]
    for direction in [(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (3, 2, 1), (1, 1, 1)]:
        d = np.array(direction, float)
        off = tuple(int(round(v)) for v in d / np.linalg.norm(d) * rc / np.array(c))
        R = np.linalg.norm(np.array(off) * c)
        e = newell_pair(off, cell, method="exact")
        a = newell_pair(off, cell, method="asymptotic")
        scale = vol / (4 * math.pi * R**3)
        assert max(abs(e[k] - a[k]) for k in COMPONENTS) < 5e-11 * scale, (cell, off)


# ---------------------------------------------------------------------------------------------- (c) prisms
PRISMS = [
    # prism sides, cells, cell size (nm)
    ((2, 1, 1), (8, 4, 4), (1, 1, 1)),
    ((1, 2, 3), (4, 8, 12), (1, 1, 1)),
    ((5, 1, 0.1), (50, 10, 1), (1, 1, 1)),
    ((500, 125, 3), (100, 25, 1), (5, 5, 3)),
    ((10, 10, 1), (10, 10, 1), (1, 1, 1)),
    ((120, 120, 10), (24, 24, 2), (5, 5, 5)),
    ((2, 2, 128), (2, 2, 128), (1, 1, 1)),
    ((160, 80, 5), (32, 16, 1), (5, 5, 5)),
]


@pytest.mark.parametrize("sides,n,cell", PRISMS)
def test_prism_demag_factors(sides, n, cell):
    ref = reference()["prism"][tuple(float(s) for s in sides)]
    F = uniform_factors(make_demag(n, cell))
    assert np.allclose(np.diag(F), ref, rtol=1e-8, atol=0), (np.diag(F), ref)
    assert np.abs(F - np.diag(np.diag(F))).max() < 1e-13  # off-diagonal averages vanish by symmetry


def test_prism_rows_from_newell_average():
    rows = reference()["newell_avg"]
    assert rows
    for n, cell, avg in rows:
        F = uniform_factors(make_demag(n, cell))
        assert np.allclose(np.diag(F), avg, rtol=1e-8, atol=0)


# ---------------------------------------------------------------------------------------------- (d) brute force
@pytest.mark.parametrize("n,pbc", [
    ((5, 4, 3), (0, 0, 0)),
    ((5, 4, 3), (1, 0, 2)),
    ((6, 4, 2), (2, 0, 0)),
    ((1, 1, 8), (0, 0, 0)),
    ((3, 1, 1), (0, 2, 0)),
])
def test_fft_equals_direct_sum(n, pbc):
    """FFT field = O(N²) real-space sum with the same tensor (open: octant + parity; periodic: the
    circular kernel), random m and fill fractions, two batch members."""
    rng = np.random.default_rng(7)
    cell = (2.0, 3.0, 1.5)
    shape = (n[2], n[1], n[0])
    fill = rng.uniform(0.0, 1.0, size=shape)
    fill.flat[:2] = 0.0  # some empty cells
    d = make_demag(n, cell, pbc=pbc, fill=fill)
    m = random_m(rng, (2, 3) + shape)
    B = d.field(m)
    M = m * d.system.Ms_eff
    t = newell_tensor(n, cell, pbc)
    pad = tuple(2 * v if (p == 0 and v > 1) else v for v, p in zip(n, pbc))
    full = {name: full_kernel(t[name], n, pbc, name) for name in COMPONENTS}
    sym = {p + q: (p + q if p + q in full else q + p) for p in "xyz" for q in "xyz"}
    direct = np.zeros_like(B)
    cells = [(i, j, k) for k in range(n[2]) for j in range(n[1]) for i in range(n[0])]
    for (i, j, k) in cells:
        for (a, b, c) in cells:
            if pbc == (0, 0, 0):
                N = tensor_matrix(t, k - c, j - b, i - a)
            else:
                ix, iy, iz = (i - a) % pad[0], (j - b) % pad[1], (k - c) % pad[2]
                N = np.array([[full[sym[p + q]][iz, iy, ix] for q in "xyz"] for p in "xyz"])
            direct[:, :, k, j, i] += -mu0 * np.einsum("ab,nb->na", N, M[:, :, c, b, a])
    assert np.abs(B - direct).max() <= 1e-12 * np.abs(direct).max()


def test_periodic_fold_is_image_sum():
    """Circular offset d holds Σ_{k=-p..p} N(d' + k n), d' the representative of d nearest 0."""
    n, cell, pbc = (3, 2, 1), (1.0, 1.5, 2.0), (2, 0, 0)
    t = newell_tensor(n, cell, pbc)
    for d, dprime in [(0, 0), (1, 1)]:  # n = 3: offsets 0, 1 (and 2 = -1)
        for j in range(2):
            expect = {name: 0.0 for name in COMPONENTS}
            for k in range(-2, 3):
                p = newell_pair((dprime + 3 * k, j, 0), cell)
                for name in COMPONENTS:
                    expect[name] += p[name]
            for name in COMPONENTS:
                assert abs(t[name][0, j, d] - expect[name]) <= 1e-14 + 1e-12 * abs(expect[name])


# ---------------------------------------------------------------------------------------------- (e) energy
def test_energy_of_uniform_prism():
    d = make_demag((8, 4, 4), (1, 1, 1))
    nfac = reference()["prism"][(2.0, 1.0, 1.0)]
    m = np.zeros((3, 3, 4, 4, 8))
    for a in range(3):
        m[a, a] = 1.0
    vol = 8 * 4 * 4 * 1e-27
    expect = 0.5 * mu0 * MS**2 * np.array(nfac) * vol
    assert np.allclose(d.energy(m), expect, rtol=1e-8, atol=0)


def test_energy_density_zero_where_empty():
    rng = np.random.default_rng(3)
    fill = (rng.uniform(size=(2, 6, 6)) > 0.4).astype(float)
    fill[0, 0, 0] = 1.0
    d = make_demag((6, 6, 2), (2, 2, 2), fill=fill)
    m = random_m(rng, (1, 3, 2, 6, 6)) * (fill > 0)
    e = d.energy_density(m, np.zeros(1))
    assert e.shape == (1, 2, 6, 6)
    assert np.all(e[:, fill == 0] == 0)
    B = d.field(m)
    assert np.allclose(e, -0.5 * d.system.Ms_eff * np.einsum("bcijk,bcijk->bijk", m, B), rtol=1e-14, atol=0)
    assert d.energy(m)[0] > 0  # magnetostatic energy is positive


# ---------------------------------------------------------------------------------------------- (f) periodic
def _centre_factor(a, b, c):
    """Demag factor along the 2c side at the centre point of a 2a × 2b × 2c prism."""
    return 2 / math.pi * math.atan(a * b / (c * math.sqrt(a * a + b * b + c * c)))


@pytest.mark.parametrize("p", [20, 80])
def test_periodic_film_tends_to_thin_film(p):
    """A 4×4×1 film with p images per side: every cell sees a centred plate of side L = (2p+1)·4 cells and
    thickness t = 1 cell, so N → (0, 0, 1) with a deficit 1 - Nzz ≈ (2√2/π) t/L. The sum equals the analytic
    centre-point factor of that plate up to cell-averaging corrections of relative size ~(t/L)² (measured
    0.33 (t/L)²); we allow 2 (t/L)² of the deficit."""
    F = uniform_factors(make_demag((4, 4, 1), (1, 1, 1), pbc=(p, p, 0)))
    L, t = (2 * p + 1) * 4, 1.0
    assert abs(np.trace(F) - 1) < 1e-12
    assert abs(F[0, 0] - F[1, 1]) < 1e-14
    assert 0 < F[0, 0] < t / L and 1 - 2 * t / L < F[2, 2] < 1
    deficit = 1 - _centre_factor(L / 2, L / 2, t / 2)
    assert abs((1 - F[2, 2]) - deficit) <= 2 * (t / L) ** 2 * deficit


@pytest.mark.parametrize("p", [50, 500])
def test_periodic_rod_tends_to_infinite_rod(p):
    """A 4×1×1 rod periodic along x: N → (0, ½, ½). Nxx equals the centre factor of a rod of length
    L = (2p+1)·4 and unit square section up to ~(w/L)² relative (measured 3 (w/L)²; we allow 5)."""
    F = uniform_factors(make_demag((4, 1, 1), (1, 1, 1), pbc=(p, 0, 0)))
    L, w = (2 * p + 1) * 4, 1.0
    expect = _centre_factor(w / 2, w / 2, L / 2)
    assert abs(F[0, 0] - expect) <= 5 * (w / L) ** 2 * expect
    assert abs(F[1, 1] - F[2, 2]) < 1e-14 and abs(np.trace(F) - 1) < 1e-12
    assert abs(F[1, 1] - 0.5) < 1e-5


# ---------------------------------------------------------------------------------------------- (g) cache
def test_cache_roundtrip_and_corruption(tmp_path, monkeypatch):
    g = Grid((6, 5, 3), (2e-9, 2.5e-9, 3e-9))
    s = System(g, Material(Ms=MS))
    d1 = Demag(s, cache_dir=tmp_path)
    assert not d1.loaded_from_cache and d1.cache_path is not None and d1.cache_path.is_file()
    d2 = Demag(s, cache_dir=tmp_path)
    assert d2.loaded_from_cache
    for name in COMPONENTS:
        assert np.array_equal(d1.tensor[name], d2.tensor[name])
    # the spectra are enough for a run: without them the tensor file is read (or made) again
    for f in tmp_path.glob("*_spectra-*.npy"):
        f.unlink()
    # corrupted: truncated file, then garbage bytes
    path = d1.cache_path
    for junk in (path.read_bytes()[:100], b"not an npz at all"):
        path.write_bytes(junk)
        d3 = Demag(s, cache_dir=tmp_path)
        assert not d3.loaded_from_cache
        for name in COMPONENTS:
            assert np.array_equal(d1.tensor[name], d3.tensor[name])
        for f in tmp_path.glob("*_spectra-*.npy"):
            f.unlink()
        assert cached_newell_tensor(g.n, g.cell, cache_dir=tmp_path)[2]  # rewritten, valid again
    # a file for another grid under this name is not trusted
    other, other_path, _ = cached_newell_tensor((6, 5, 3), (2e-9, 2.5e-9, 3.1e-9), cache_dir=tmp_path)
    path.write_bytes(other_path.read_bytes())
    assert not Demag(s, cache_dir=tmp_path).loaded_from_cache
    assert not list(tmp_path.glob("*.tmp"))
    # $MICROMAG_CACHE is the default location
    monkeypatch.setenv("MICROMAG_CACHE", str(tmp_path / "env"))
    d4 = Demag(s)
    assert d4.cache_path.parent == tmp_path / "env" and d4.cache_path.is_file()
    assert Demag(s).loaded_from_cache


def test_spectra_cache(tmp_path):
    """The kernel spectra are cached beside the tensor: a second set-up reads them (the same numbers), and a
    spectra file that is corrupt, for another padding or for another tensor file is not trusted."""
    from micromag.engine.terms import demag as demag_mod

    g = Grid((6, 5, 3), (2e-9, 2.5e-9, 3e-9))
    s = System(g, Material(Ms=MS))
    d1 = Demag(s, cache_dir=tmp_path, fft="scipy")
    spath = demag_mod._spectra_path(d1.cache_path, d1._pad, [n for n in COMPONENTS if n in d1._spec])
    assert spath.is_file()
    loaded = demag_mod._load_spectra(d1.cache_path, d1._pad)
    assert loaded is not None and set(loaded) == set(d1._spec)
    for name, v in d1._spec.items():
        assert np.array_equal(loaded[name], v)
    d2 = Demag(s, cache_dir=tmp_path, fft="scipy")
    m = np.random.default_rng(3).normal(size=(1, 3) + g.shape)
    B1, B2 = np.zeros_like(m), np.zeros_like(m)
    d1.add_field(m, None, B1)
    d2.add_field(m, None, B2)
    assert np.array_equal(B1, B2)
    assert demag_mod._load_spectra(d1.cache_path, (12, 10, 5)) is None  # another padding
    assert demag_mod._load_spectra(d1.cache_path.with_name("other.npz"), d1._pad) is None  # another tensor file
    good = spath.read_bytes()
    spath.write_bytes(good[:200])
    assert demag_mod._load_spectra(d1.cache_path, d1._pad) is None
    d3 = Demag(s, cache_dir=tmp_path, fft="scipy")  # recomputed and rewritten
    for name, v in d1._spec.items():
        assert np.array_equal(d3._spec[name], v)
    assert demag_mod._load_spectra(d1.cache_path, d1._pad) is not None
    # a spectrum with a non-finite value is not trusted
    data = np.load(spath).copy()
    data[0].flat[3] = np.nan
    np.save(spath, data)
    assert demag_mod._load_spectra(d1.cache_path, d1._pad) is None
    # a run needs no tensor when the spectra are cached: it is read only when asked for
    Demag(s, cache_dir=tmp_path, fft="scipy")  # made again
    d4 = Demag(s, cache_dir=tmp_path, fft="scipy")
    assert d4.loaded_from_cache and d4._tensor is None
    assert np.array_equal(d4.tensor["xx"], d1.tensor["xx"])


def test_film_skips_zero_elements(tmp_path):
    d = make_demag((16, 8, 1), (5, 5, 3))
    assert set(d._spec) == {"xx", "yy", "zz", "xy"}
    _, path, _ = cached_newell_tensor((16, 8, 1), (5e-9, 5e-9, 3e-9), cache_dir=tmp_path)
    with np.load(path) as f:
        assert "xz" not in f.files and "yz" not in f.files


# ---------------------------------------------------------------------------------------------- (h) batch
@pytest.mark.parametrize("n,pbc", [((7, 5, 3), (0, 0, 0)), ((16, 8, 1), (0, 2, 0))])
def test_batch_matches_single(n, pbc):
    rng = np.random.default_rng(11)
    d = make_demag(n, (3, 3, 2), pbc=pbc)
    shape = (n[2], n[1], n[0])
    m = random_m(rng, (2, 3) + shape)
    B2 = d.field(m)
    for b in range(2):
        B1 = d.field(m[b : b + 1])
        assert np.allclose(B2[b : b + 1], B1, rtol=0, atol=1e-15 * np.abs(B1).max())
    # repeated calls reuse work arrays without leaking state; add_field accumulates
    B = np.ones_like(m)
    d.add_field(m, np.zeros(2), B)
    assert np.allclose(B - 1, B2, rtol=0, atol=1e-15 * np.abs(B2).max() + 1e-15)
    with pytest.raises(ValueError):
        d.field(m[:, :, :, :-1])

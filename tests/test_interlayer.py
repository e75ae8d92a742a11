"""Interlayer (RKKY) exchange (micromag/engine/terms/interlayer.py and gpu_kernels/interlayer.cuh) and fixed layers
(Material.frozen), on both backends, against closed forms of two coupled macrospins.

Sign convention: E/area = −J1 m1·m2 − J2 (m1·m2)², as OOMMF's Oxs_TwoSurfaceExchange (σ, σ2) and Ubermag's
micromagneticmodel.RKKY; J1 < 0 is antiferromagnetic.

Spin-flop field of two identical macrospins (thickness t, Ms, uniaxial K along z, bilinear J1 < 0, field B
along z): per area / (Ms t), e = −(B_K/2)(cos²θ1 + cos²θ2) − B (cosθ1 + cosθ2) + B_J cos(θ1 − θ2),
B_K = 2K/Ms, B_J = |J1|/(Ms t). Around θ1 = 0, θ2 = π (θ1 = a, θ2 = π + b) the quadratic form is
½[(B_K + B_J + B) a² + (B_K + B_J − B) b² − 2 B_J a b], positive definite while
(B_K + B_J)² − B² > B_J², so the antiparallel state becomes unstable at

    B_sf = √(B_K (B_K + 2 B_J)),

the two-sublattice spin-flop field √(2 H_E H_A + H_A²) (Nagamiya, Yosida, Kubo, Adv. Phys. 4, 1 (1955)).
"""
import math
import shutil

import numpy as np
import pytest

import gpu_kernels as gk
import micromag as mm
from micromag.engine.terms.interlayer import InterlayerExchange

MS, DZ, DX = 1.0e6, 1.0e-9, 5.0e-9
BACKENDS = ["cpu", "emulate"]


def _skip(backend):
    if backend == "emulate" and shutil.which("g++") is None:
        pytest.skip("needs g++")


def pair(backend, J1, J2=0.0, Ku1=0.0, gap=1, frozen_top=False, alpha=0.5):
    """Two one-cell macrospins (planes 0 and gap + 1) across ``gap`` empty planes."""
    nz = gap + 2
    g = mm.Grid(n=(1, 1, nz), cell=(DX, DX, DZ))
    geo = np.zeros((nz, 1, 1))
    geo[0] = geo[-1] = 1.0
    reg = np.zeros((nz, 1, 1), np.int32)
    reg[-1] = 1
    mat = mm.Material(Ms=MS, alpha=alpha, Ku1=Ku1, anis_u=(0, 0, 1))
    top = mat.with_(frozen=1.0) if frozen_top else mat
    sim = mm.Simulation(g, geometry=geo, regions=reg, materials={0: mat, 1: top}, demag=False, backend=backend)
    sim.add(InterlayerExchange(sim.system, [(0, nz - 1, J1, J2)]))
    return sim


def set_pair(sim, m1, m2):
    m = np.zeros((3,) + sim.grid.shape)
    m[:, 0, 0, 0] = m1
    m[:, -1, 0, 0] = m2
    sim.m = m


def m_of(sim):
    m = sim.m[0]
    return m[:, 0, 0, 0], m[:, -1, 0, 0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_field_and_energy_closed_form(backend):
    _skip(backend)
    J1, J2 = -1.0e-3, -0.4e-3
    sim = pair(backend, J1, J2, gap=2)
    m1, m2 = np.array([1.0, 0.0, 0.0]), np.array([0.6, 0.8, 0.0])
    set_pair(sim, m1, m2)
    c = m1 @ m2
    B = sim.effective_field()[0]
    s = (J1 + 2 * J2 * c) / (MS * DZ)
    np.testing.assert_allclose(B[:, 0, 0, 0], s * m2, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(B[:, -1, 0, 0], s * m1, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(B[:, 1:-1], 0.0)  # the spacer sees no interlayer field
    area = DX * DX
    assert sim.energies()["interlayer"] == pytest.approx((-J1 * c - J2 * c * c) * area, rel=1e-12)


def test_field_is_the_energy_gradient():
    """B = −(1/(Ms V)) ∂E/∂m by central differences of the total interlayer energy (bilinear + biquadratic)."""
    sim = pair("cpu", -0.7e-3, 0.3e-3)
    term = sim.terms["interlayer"]
    rng = np.random.default_rng(3)
    m = rng.normal(size=(1, 3) + sim.grid.shape)
    m[:, :, 1] = 0.0
    m /= np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-300)
    m[:, :, 1] = 0.0
    B = term.field(m)
    V = sim.grid.cell_volume
    h = 1e-6
    for k in (0, 2):
        for c in range(3):
            mp, mn = m.copy(), m.copy()
            mp[0, c, k] += h
            mn[0, c, k] -= h
            dE = (term.energy(mp)[0] - term.energy(mn)[0]) / (2 * h)
            assert -dE / (MS * V) == pytest.approx(B[0, c, k, 0, 0], rel=1e-7, abs=1e-9)


@pytest.mark.parametrize("backend", BACKENDS)
def test_antiferromagnetic_coupling_relaxes_antiparallel(backend):
    """J1 < 0, no anisotropy: from a generic state the two macrospins end antiparallel (m1·m2 = −1)."""
    _skip(backend)
    sim = pair(backend, -1e-3)
    set_pair(sim, (1, 0, 0.1), (0.9, 0.3, 0.2))
    sim.relax(progress=False, tol_torque=1e-7)
    m1, m2 = m_of(sim)
    assert m1 @ m2 == pytest.approx(-1.0, abs=1e-9)


@pytest.mark.parametrize("backend", BACKENDS)
def test_biquadratic_coupling_relaxes_perpendicular(backend):
    """J1 = 0, J2 < 0: the energy −J2 c² is lowest at c = m1·m2 = 0 (90° coupling)."""
    _skip(backend)
    sim = pair(backend, 0.0, -0.5e-3)
    set_pair(sim, (1, 0, 0.1), (0.7, 0.6, 0.2))
    sim.relax(progress=False, tol_torque=1e-7)
    m1, m2 = m_of(sim)
    assert abs(m1 @ m2) < 1e-6


@pytest.mark.parametrize("backend", BACKENDS)
def test_spin_flop_field_of_two_macrospins(backend):
    """The antiparallel state holds up to B_sf = √(B_K (B_K + 2 B_J)) (module docstring) and no further:
    bisection of the field at which relaxing from a 1 mrad tilted AP state leaves it, within 1 %."""
    _skip(backend)
    J1, Ku = -1.0e-3, 3.0e5
    B_K, B_J = 2 * Ku / MS, -J1 / (MS * DZ)
    B_sf = math.sqrt(B_K * (B_K + 2 * B_J))  # 1.2 T for B_K = 0.6 T, B_J = 1 T
    sim = pair(backend, J1, Ku1=Ku)

    def ap_holds(B):
        set_pair(sim, (1e-3, 0, 1), (0, 1e-3, -1))
        sim.B_ext = (0, 0, B)
        sim.relax(progress=False, tol_torque=1e-6)
        m1, m2 = m_of(sim)
        return m1 @ m2 < -0.99

    lo, hi = 0.9 * B_sf, 1.1 * B_sf
    assert ap_holds(lo) and not ap_holds(hi)
    while hi - lo > 2e-3 * B_sf:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if ap_holds(mid) else (lo, mid)
    assert 0.5 * (lo + hi) == pytest.approx(B_sf, rel=1e-2)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_frozen_layer_keeps_its_magnetization(backend):
    """Material.frozen = 1: the top macrospin stays exactly where it is (run and relax), the bottom one turns
    antiparallel to it; relax converges (the held layer's torque is not part of the criterion)."""
    _skip(backend)
    sim = pair(backend, -1e-3, frozen_top=True)
    top = np.array([0.0, 0.6, 0.8])
    set_pair(sim, (1, 0, 0), top)
    sim.B_ext = (0.2, 0, 0)
    sim.run(50e-12)
    m1, m2 = m_of(sim)
    np.testing.assert_array_equal(m2, top)
    assert np.linalg.norm(m1 - [1, 0, 0]) > 1e-3  # the free one moved
    tq = sim.relax(progress=False, tol_torque=1e-6)
    assert tq < 1e-6
    m1, m2 = m_of(sim)
    np.testing.assert_array_equal(m2, top)
    # equilibrium of the bottom spin: m1 ∥ B1 = J1/(Ms dz) m2 + B_ext
    B1 = -1e-3 / (MS * DZ) * top + np.array([0.2, 0, 0])
    np.testing.assert_allclose(m1, B1 / np.linalg.norm(B1), atol=1e-6)
    with pytest.raises(ValueError, match="frozen"):
        sim.minimize(progress=False)


def test_bad_couplings_are_refused_before_any_work():
    g = mm.Grid(n=(1, 1, 4), cell=(DX, DX, DZ))
    sim = mm.Simulation(g, material=mm.Material(Ms=MS), demag=False, backend="cpu")
    with pytest.raises(ValueError, match="k2 = 1 must lie above k1 = 2"):
        InterlayerExchange(sim.system, [(2, 1, -1e-3)])
    with pytest.raises(ValueError, match=r"k2 = 4 must be a z-plane index in \[0, 3\]"):
        InterlayerExchange(sim.system, [(0, 4, -1e-3)])
    with pytest.raises(ValueError, match="magnetic cells lie between"):
        InterlayerExchange(sim.system, [(0, 3, -1e-3)])
    with pytest.raises(ValueError, match="J1 must be a number"):
        InterlayerExchange(sim.system, [(0, 1, "strong")])
    with pytest.raises(ValueError, match="coupled upward from more than once"):
        InterlayerExchange(sim.system, [(0, 1, -1e-3), (0, 2, -1e-3)])
    with pytest.raises(ValueError, match="frozen = 2"):
        mm.Material(Ms=MS, frozen=2)


def test_the_kernel_layout_comes_from_the_declaration():
    from micromag.engine.terms import material_parameters, term_class

    cls = term_class("interlayer")
    lay = gk.layout([(cls, ())], material_parameters())
    d = lay.defines()
    assert "MM_PTR_INTERLAYER_COUPLING" in d and "X(interlayer)" in d["MM_FIELD_TERMS(X)"]
    assert "MM_P_FROZEN" in d


def test_the_kernels_compile_with_nvrtc():
    try:
        from micromag.engine.backends.nvrtc_check import RUNTIME_OPTIONS, compile_with_log, load_nvrtc

        load_nvrtc()
    except ImportError as exc:
        pytest.skip(f"NVRTC not available: {exc}")
    from micromag.engine.terms import material_parameters, term_class

    lay = gk.layout([(term_class("exchange"), ()), (term_class("interlayer"), ())], material_parameters())
    for f in ("llg_rhs.cu", "rk_stage.cu"):
        binary, log = compile_with_log(gk.assemble(f, lay.defines(), lay.includes), "sm_90", RUNTIME_OPTIONS, f)
        assert len(binary) > 0 and "warning" not in log.lower(), log

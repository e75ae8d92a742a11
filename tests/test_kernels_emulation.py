"""The CUDA kernels run on the CPU through the host emulation (g++ + micromag/engine/emulation/cuda_emu.h) and
must agree with the NumPy backend: to ~1e-12 in double, ~1e-5 (relative to the field scale) in float.

The whole CuPy backend (micromag.engine.backends.cuda) runs here on the emulated device: same kernel text, NumPy
arrays and numpy.fft instead of CuPy and cuFFT."""
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _kernel_systems import random_m, random_system  # noqa: E402

import gpu_kernels as gk  # noqa: E402
from micromag.engine.backends.cuda import CudaLLG, emulated_device, pack_materials, region_map  # noqa: E402
from micromag.engine.backends.cuda_stepper import CudaStepper  # noqa: E402
from micromag.engine.emulation import EmuModule, parse_kernels  # noqa: E402
from micromag.engine.integrators import Stepper  # noqa: E402
from micromag.engine.llg import LLG  # noqa: E402
from micromag.engine.terms.anisotropy import CubicAnisotropy, UniaxialAnisotropy  # noqa: E402
from micromag.engine.terms.dmi import InterfacialDMI  # noqa: E402
from micromag.engine.terms.exchange import Exchange  # noqa: E402
from micromag.engine.terms.zeeman import Zeeman  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("g++") is None and shutil.which("c++") is None, reason="needs g++")

TOL = {np.float64: 1e-12, np.float32: 1e-5}
GRIDS = {
    "3d": dict(n=(6, 5, 3), cell=(2e-9, 3e-9, 2.5e-9)),
    "2d": dict(n=(7, 6, 1), cell=(3e-9, 2e-9, 1e-9)),
    "1d-y1": dict(n=(8, 1, 2), cell=(2e-9, 2e-9, 2e-9)),
}
DEV = emulated_device()
B_EXT = np.array([[0.01, -0.2, 0.05], [0.3, 0.0, -0.1]])


def rel_err(got, ref):
    got = np.asarray(got, dtype=float)
    scale = np.max(np.abs(ref))
    assert scale > 0
    return np.max(np.abs(got - ref)) / scale


def make_term(name, system):
    if name == "exchange":
        return Exchange(system)
    if name == "anisotropy_uniaxial":
        return UniaxialAnisotropy(system)
    if name == "anisotropy_cubic":
        return CubicAnisotropy(system)
    if name == "dmi":
        return InterfacialDMI(system)
    if name == "zeeman":
        return Zeeman(system, B_ext=B_EXT)
    raise KeyError(name)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("grid", sorted(GRIDS))
@pytest.mark.parametrize("name", ["exchange", "anisotropy_uniaxial", "anisotropy_cubic", "dmi", "zeeman"])
def test_term_field_matches_numpy(name, grid, dtype):
    system = random_system(**GRIDS[grid], seed=3)
    m = random_m(system, batch=2)
    term = make_term(name, system)
    ref = term.field(m)
    llg = CudaLLG(system, {name: term}, batch=2, dtype=dtype, device=DEV)
    got = llg.effective_field(np.ascontiguousarray(m, dtype=dtype))
    assert got.dtype == dtype
    assert rel_err(got, ref) < TOL[dtype]
    # empty cells: no field at all
    assert np.all(got[:, :, ~system.magnetic] == 0)


def test_exchange_region_scale_matches_numpy():
    system = random_system(seed=5)
    m = random_m(system)
    scale = {(0, 2): 0.25, (0, 1): 0.0}
    ref = Exchange(system, region_scale=scale).field(m)
    llg = CudaLLG(system, [Exchange(system, region_scale=scale)], batch=2, dtype=np.float64, device=DEV)
    assert rel_err(llg.effective_field(m), ref) < 1e-12


def numpy_llg(system, names, batch, demag=None):
    terms = ([demag] if demag is not None else []) + [make_term(n, system) for n in names]
    return LLG(system, terms, batch)


ALL_LOCAL = ["exchange", "anisotropy_uniaxial", "anisotropy_cubic", "dmi", "zeeman"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("grid", sorted(GRIDS))
@pytest.mark.parametrize("precession", [True, False])
def test_full_rhs_matches_numpy_llg(grid, dtype, precession):
    system = random_system(**GRIDS[grid], seed=7)
    m = random_m(system, batch=2, seed=2)
    ref_llg = numpy_llg(system, ALL_LOCAL, 2)
    ref_llg.precession = precession
    t = np.zeros(2)
    ref = ref_llg(m, t, np.zeros_like(m))
    terms = {n: make_term(n, system) for n in ALL_LOCAL}
    llg = CudaLLG(system, terms, batch=2, dtype=dtype, device=DEV)
    llg.precession = precession
    out = np.zeros(m.shape, dtype=dtype)
    llg(np.ascontiguousarray(m, dtype=dtype), t, out)
    assert rel_err(out, ref) < TOL[dtype]
    assert np.all(out[:, :, ~system.magnetic] == 0)
    # B_eff too
    Bref = ref_llg.effective_field(m, t)
    assert rel_err(llg.effective_field(np.ascontiguousarray(m, dtype=dtype), t), Bref) < TOL[dtype]


def test_callable_zeeman_per_member_time():
    system = random_system(seed=11)
    m = random_m(system)
    f = lambda t: (0.0, 1e9 * t, -0.1)  # noqa: E731
    t = np.array([1e-10, 3e-10])
    ref = Zeeman(system, B_ext=f).field(m, t)
    llg = CudaLLG(system, {"zeeman": Zeeman(system, B_ext=f)}, batch=2, dtype=np.float64, device=DEV)
    assert rel_err(llg.effective_field(m, t), ref) < 1e-12


def test_spatial_zeeman():
    system = random_system(seed=12)
    m = random_m(system)
    rng = np.random.default_rng(0)
    Bmap = rng.normal(size=(3,) + system.grid.shape) * 0.1
    ref = Zeeman(system, B_ext=Bmap).field(m)
    llg = CudaLLG(system, {"zeeman": Zeeman(system, B_ext=Bmap)}, batch=2, dtype=np.float64, device=DEV)
    assert rel_err(llg.effective_field(m), ref) < 1e-12


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("grid", ["3d", "2d"])
def test_demag_and_full_rhs_with_demag(grid, dtype):
    from micromag.engine.terms.demag import Demag

    system = random_system(**GRIDS[grid], seed=9)
    m = random_m(system, batch=2, seed=4)
    demag = Demag(system, cache_dir=False)
    ref = demag.field(m)
    llg = CudaLLG(system, {"demag": demag}, batch=2, dtype=dtype, device=DEV)
    assert rel_err(llg.effective_field(np.ascontiguousarray(m, dtype=dtype)), ref) < TOL[dtype]
    ref_llg = numpy_llg(system, ALL_LOCAL, 2, demag=demag)
    t = np.zeros(2)
    ref = ref_llg(m, t, np.zeros_like(m))
    terms = {"demag": demag, **{n: make_term(n, system) for n in ALL_LOCAL}}
    llg = CudaLLG(system, terms, batch=2, dtype=dtype, device=DEV)
    out = np.zeros(m.shape, dtype=dtype)
    llg(np.ascontiguousarray(m, dtype=dtype), t, out)
    assert rel_err(out, ref) < TOL[dtype]


DEMAG_CASES = {
    "film": dict(n=(7, 6, 1)),
    "3d": dict(n=(5, 4, 3)),
    "x1": dict(n=(1, 6, 2)),
    "y1": dict(n=(6, 1, 3)),
    "y1z1": dict(n=(9, 1, 1)),
    "pbc-xy-film": dict(n=(6, 4, 1), pbc=(2, 1, 0)),
    "pbc-z": dict(n=(4, 3, 4), pbc=(0, 0, 2)),
    "pbc-y-3d": dict(n=(5, 4, 2), pbc=(0, 3, 0)),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", sorted(DEMAG_CASES))
def test_padding_aware_demag_matches_cpu(case, dtype):
    """The padding-aware demag (strided batched 1D transforms, transposed FFT layout, field read by the RHS
    kernel straight out of the padded rows) against the CPU Demag, batch of 3."""
    from micromag.engine.terms.demag import Demag

    system = random_system(**DEMAG_CASES[case], cell=(2e-9, 3e-9, 2.5e-9), seed=17)
    m = random_m(system, batch=3, seed=8)
    demag = Demag(system, cache_dir=False)
    ref = demag.field(m)
    llg = CudaLLG(system, {"demag": demag}, batch=3, dtype=dtype, device=DEV)
    mm_ = np.ascontiguousarray(m, dtype=dtype)
    tol = 1e-12 if dtype == np.float64 else 1e-6
    for _ in range(2):  # twice: the second call must not see anything the first left in the buffers
        out = np.full(m.shape, np.nan, dtype=dtype)
        llg.demag_field(mm_, out)
        assert rel_err(out, ref) < tol
    # the field as the RHS kernel reads it (padded planes) gives the same B_eff
    assert rel_err(llg.effective_field(mm_), ref) < tol
    # members are independent: member 1 alone
    llg1 = CudaLLG(system, {"demag": demag}, batch=1, dtype=dtype, device=DEV)
    one = np.full(m[1:2].shape, np.nan, dtype=dtype)
    llg1.demag_field(np.ascontiguousarray(mm_[1:2]), one)
    assert rel_err(one, ref[1:2]) < tol


@pytest.mark.parametrize("tableau", ["rk45", "rkf54", "rkf54s", "rk23", "heun", "rk4", "euler"])
def test_stepper_matches_numpy_stepper(tableau):
    system = random_system(n=(5, 4, 2), seed=13)
    m0 = random_m(system, batch=2, seed=6)
    names = ["exchange", "anisotropy_uniaxial", "dmi", "zeeman"]
    ref_f = numpy_llg(system, names, 2)
    kw = dict(tol=1e-4, dt=[2e-14, 5e-14], dt_min=1e-18, dt_max=1e-12)
    ref = Stepper(ref_f, tableau, m0.shape, mask=system.magnetic, **kw)
    llg = CudaLLG(system, {n: make_term(n, system) for n in names}, batch=2, dtype=np.float64, device=DEV)
    st = CudaStepper(llg, tableau, **kw)
    m_ref, t_ref = m0.copy(), np.zeros(2)
    m, t = m0.copy(), np.zeros(2)
    t_end = np.array([1e-12, 2e-13])
    for _ in range(8):
        if not np.any(t_ref < t_end):
            break  # the NumPy stepper returns early without evaluating; the device one would not know
        acc_ref = ref.step(m_ref, t_ref, t_end)
        acc = st.step(m, t, t_end)
        np.testing.assert_array_equal(acc.astype(bool), acc_ref)
        np.testing.assert_allclose(t, t_ref, rtol=1e-12, atol=0)
        np.testing.assert_allclose(st.dt, ref.dt, rtol=1e-9, atol=0)
        assert np.max(np.abs(m - m_ref)) < 1e-11
    assert st.nevals == ref.nevals
    assert np.all(m[:, :, ~system.magnetic] == 0)


def test_stepper_float32_close_to_numpy():
    """The float32 stage kernels (combination, error, commit in single precision) stay within float32
    round-off of the float64 NumPy stepper over a few steps. The float32 error estimate picks a step a few
    1e-4 relative off the float64 one, so the two states are compared at the same time: the float64 state
    moved on by (t − t_ref) dm/dt (the difference is then round-off, not the m/dt rate times a time offset)."""
    system = random_system(n=(5, 4, 2), seed=14)
    m0 = random_m(system, batch=2, seed=7)
    names = ["exchange", "anisotropy_uniaxial", "zeeman"]
    kw = dict(tol=1e-4, dt=2e-14, dt_min=1e-18, dt_max=1e-12)
    f64 = numpy_llg(system, names, 2)
    ref = Stepper(f64, "rk45", m0.shape, mask=system.magnetic, **kw)
    llg = CudaLLG(system, {n: make_term(n, system) for n in names}, batch=2, dtype=np.float32, device=DEV)
    st = CudaStepper(llg, "rk45", **kw)
    m_ref, t_ref = m0.copy(), np.zeros(2)
    m, t = m0.astype(np.float32), np.zeros(2)
    for _ in range(5):
        ref.step(m_ref, t_ref)
        st.step(m, t)
    np.testing.assert_allclose(t, t_ref, rtol=1e-4)
    dmdt = np.zeros_like(m_ref)
    f64(m_ref, t_ref, dmdt)
    at_t = m_ref + (t - t_ref).reshape(-1, 1, 1, 1, 1) * dmdt
    assert np.max(np.abs(m - at_t)) < 2e-6  # measured 2.8e-7


def test_layout_comes_from_the_declarations():
    """The material table has one column per declared material parameter (three for an axis) and the
    assembled kernel source defines exactly those columns; regions map to -1 outside the magnet."""
    from micromag.engine.terms import material_parameters

    system = random_system()
    region = region_map(system)
    assert np.array_equal(region >= 0, system.magnetic)
    params = material_parameters()
    tab = pack_materials(system, params)
    assert tab.shape == (len(system.materials), sum(p.size for p in params))
    lay = gk.layout([(Exchange(system), ()), (UniaxialAnisotropy(system), ("KU2",))], params)
    src = gk.assemble("llg_rhs.cu", lay.defines(), lay.includes)
    col = 0
    for p in params:
        assert f"#define MM_P_{p.column} {col}\n" in src
        col += p.size
    assert "#define MM_ANISOTROPY_UNIAXIAL_KU2 1" in src and "#define MM_HAS_EXCHANGE 1" in src
    with pytest.raises(ValueError, match="no kernel option"):
        gk.layout([(Exchange(system), ("NOPE",))], params)


def test_emulation_rejects_unsupported_cuda():
    src = gk.assemble("common.cuh", {}) + ('extern "C" __global__ void k(real* a) '
                                          '{ a[0] = __shfl_down_sync(0xffffffffu, a[0], 1); }\n')
    with pytest.raises(RuntimeError, match="emulation build failed"):
        EmuModule(src)


def test_emulation_block_barrier_and_shared_memory():
    """__shared__ and __syncthreads (fibers in the emulation): a tree reduction over a block."""
    src = gk.assemble("common.cuh", {}) + r'''
extern "C" __global__ void bsum(const real* a, real* out, int n) {
    __shared__ real s[64];
    real acc = 0;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) acc += a[i];
    s[threadIdx.x] = acc;
    __syncthreads();
    for (int k = blockDim.x / 2; k > 0; k >>= 1) {
        if ((int)threadIdx.x < k) s[threadIdx.x] += s[threadIdx.x + k];
        __syncthreads();
    }
    if (threadIdx.x == 0) atomicAdd(&out[0], s[0]);
}
'''
    mod = EmuModule(src)
    a = np.random.default_rng(0).random(1000).astype(np.float32)
    out = np.zeros(1, np.float32)
    mod.launch("bsum", (3,), (32,), (a, out, 1000))
    assert out[0] == pytest.approx(a.sum(dtype=np.float64), rel=1e-5)


def test_emulation_checks_arguments():
    mod = EmuModule(gk.assemble("demag_multiply.cu", gk.real_define("float64")))
    assert set(parse_kernels(mod.source)) == set(gk.KERNELS["demag_multiply.cu"])
    with pytest.raises(TypeError):  # float32 arrays for double pointers
        mod.launch("demag_source", (1,), (1,), (np.zeros(1, np.float32),) * 3 + (1, 1, 1, 1, 1, 1))
    with pytest.raises(TypeError):
        mod.launch("demag_source", (1,), (1,), ())


def _batch_llg(system, bext, demag, dtype=np.float64):
    terms = {"demag": demag, "exchange": Exchange(system), "anisotropy_uniaxial": UniaxialAnisotropy(system),
             "zeeman": Zeeman(system, B_ext=bext)}
    return CudaLLG(system, terms, batch=len(bext), dtype=dtype, device=DEV)


def _run_to(st, m, t, t_end, max_steps=400):
    n = 0
    while np.any(t < t_end):
        st.step(m, t, t_end)
        n += 1
        assert n < max_steps
    return n


def test_finished_member_is_bit_identical():
    """A member at its end time keeps m and t bit for bit while the others go on stepping."""
    from micromag.engine.terms.demag import Demag

    system = random_system(n=(5, 4, 2), seed=31)
    bext = np.array([[0.0, 0.0, 0.5], [0.2, -0.1, 0.0], [0.0, 0.3, 0.1]])
    st = CudaStepper(_batch_llg(system, bext, Demag(system, cache_dir=False)), "rk45", tol=1e-4, dt=1e-14,
                     dt_max=1e-12)
    m, t = random_m(system, batch=3, seed=3), np.zeros(3)
    t_end = np.array([2e-13, 1e-12, 6e-13])
    while t[0] < t_end[0]:
        st.step(m, t, t_end)
    assert t[0] == t_end[0]
    m0, t0 = m[0].copy(), t.copy()
    n = _run_to(st, m, t, t_end)
    assert n > 3 and np.all(t == t_end)
    assert m[0].tobytes() == m0.tobytes() and t[0] == t0[0]
    # and once everybody is done, further steps change nothing at all
    mm, tt, dt = m.copy(), t.copy(), st.dt.copy()
    for _ in range(3):
        acc = st.step(m, t, t_end)
        assert not acc.any()
    assert m.tobytes() == mm.tobytes() and t.tobytes() == tt.tobytes() and st.dt.tobytes() == dt.tobytes()


@pytest.mark.parametrize("tableau", ["rk45", "rk23"])
def test_batch_equals_members_one_by_one(tableau):
    """Members with different fields, initial states and end times: the batch (one FFT over all B*3
    components, per-member step sizes, finished members masked) equals each member run alone."""
    from micromag.engine.terms.demag import Demag

    system = random_system(n=(6, 5, 1), seed=32)
    demag = Demag(system, cache_dir=False)
    bext = np.array([[0.0, 0.0, 0.5], [0.2, -0.1, 0.0], [0.0, 0.3, 0.1]])
    t_end = np.array([3e-13, 1e-12, 6e-13])
    m0 = random_m(system, batch=3, seed=5)
    kw = dict(tol=1e-5, dt=1e-14, dt_max=1e-12)
    st = CudaStepper(_batch_llg(system, bext, demag), tableau, **kw)
    m, t = m0.copy(), np.zeros(3)
    _run_to(st, m, t, t_end)
    for b in range(3):
        st1 = CudaStepper(_batch_llg(system, bext[b:b + 1], demag), tableau, **kw)
        m1, t1 = m0[b:b + 1].copy(), np.zeros(1)
        _run_to(st1, m1, t1, t_end[b:b + 1])
        assert t1[0] == t[b]
        assert np.max(np.abs(m1[0] - m[b])) < 1e-12


def test_graph_replay_in_emulation():
    """A step captured as a "graph" (the launch sequence recorded once and replayed) equals the eager step
    bit for bit: the step holds nothing but launches. "auto" stays eager in emulation."""
    system = random_system(n=(5, 4, 1), seed=33)
    from micromag.engine.terms.demag import Demag

    demag = Demag(system, cache_dir=False)
    res = []
    for graph in (False, "auto", True):
        terms = {"demag": demag, **{n: make_term(n, system) for n in ["exchange", "zeeman"]}}
        llg = CudaLLG(system, terms, batch=2, dtype=np.float64, device=DEV)
        st = CudaStepper(llg, "rk45", tol=1e-4, dt=1e-14, graph=graph)
        assert st.graph_enabled() == (graph is True)
        m, t = random_m(system, seed=2), np.zeros(2)
        t_end = np.array([1e-12, 5e-13])
        for _ in range(6):
            st.step(m, t, t_end)
        assert (st.graph_launches > 0) == (graph is True) and st.graph_error is None
        res.append((m, t))
    for m, t in res[1:]:
        assert m.tobytes() == res[0][0].tobytes() and t.tobytes() == res[0][1].tobytes()
    with pytest.raises(ValueError):
        CudaStepper(llg, "rk45", graph="yes")


def test_members_tiled_past_the_grid_limit(monkeypatch):
    """Batches larger than gridDim.y allows are tiled: every kernel loops over members. With the limit
    set to 2, a batch of 5 must step exactly like the untiled run."""
    import micromag.engine.backends.device as dv
    from micromag.engine.terms.demag import Demag

    system = random_system(n=(5, 4, 2), seed=34)
    demag = Demag(system, cache_dir=False)
    bext = np.array([[0.0, 0.0, 0.5], [0.2, -0.1, 0.0], [0.0, 0.3, 0.1], [0.1, 0.1, 0.1], [0, 0, -0.2]])
    out = []
    for limit in (65535, 2):
        monkeypatch.setattr(dv, "MAX_GRID_Y", limit)
        dev = emulated_device()
        terms = {"demag": demag, "exchange": Exchange(system), "zeeman": Zeeman(system, B_ext=bext)}
        st = CudaStepper(CudaLLG(system, terms, batch=5, dtype=np.float64, device=dev), "rk45", tol=1e-4, dt=1e-14)
        m, t = random_m(system, batch=5, seed=9), np.zeros(5)
        for _ in range(3):
            st.step(m, t)
        obs = st.f.observe(m, t)
        out.append((m, t, obs["energies"]["demag"]))
    assert out[0][0].tobytes() == out[1][0].tobytes() and out[0][1].tobytes() == out[1][1].tobytes()
    np.testing.assert_allclose(out[1][2], out[0][2], rtol=1e-13)

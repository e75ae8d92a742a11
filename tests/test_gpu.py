"""GPU (CuPy) backend against the NumPy backend: per term, full RHS with demag, full RK steps.
Skipped unless CuPy and an NVIDIA GPU are present."""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _kernel_systems import random_m, random_system  # noqa: E402

from micromag.engine.backends.cuda import CudaLLG, cupy_device, gpu_available  # noqa: E402

from micromag.engine.backends.cuda_stepper import CudaStepper  # noqa: E402
from micromag.engine.integrators import Stepper  # noqa: E402
from micromag.engine.llg import LLG  # noqa: E402

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not gpu_available(), reason="needs CuPy and an NVIDIA GPU")]


# The two backends' step times: the first steps from a short initial dt have an error estimate ~1e-3 of tol,
# a sum of stage terms that cancel ~2e5-fold (measured on these systems), so the backends' different summation
# orders leave ~2e-11 of relative round-off in it and ~5e-12 in the next dt, its 1/(q + 1) power (seen: 3.4e-12,
# once the growth bound of 5 no longer clips those steps).
T_RTOL = 1e-10
TOL = {np.float64: 1e-12, np.float32: 1e-5}
B_EXT = np.array([[0.01, -0.2, 0.05], [0.3, 0.0, -0.1]])


@pytest.fixture(scope="module")
def dev():
    return cupy_device()


def _terms(system, names, demag=False):
    from test_kernels_emulation import make_term  # same term construction as the emulation tests

    terms = {n: make_term(n, system) for n in names}
    if demag:
        from micromag.engine.terms.demag import Demag

        terms = {"demag": Demag(system, cache_dir=False), **terms}
    return terms


def _rel(got, ref):
    return np.max(np.abs(np.asarray(got, float) - ref)) / np.max(np.abs(ref))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["exchange", "anisotropy_uniaxial", "anisotropy_cubic", "dmi", "zeeman", "demag"])
def test_term_gpu_vs_cpu(dev, name, dtype):
    import cupy as cp

    system = random_system(n=(16, 12, 3), seed=21)
    m = random_m(system)
    terms = _terms(system, [] if name == "demag" else [name], demag=name == "demag")
    ref = terms[name].field(m)
    llg = CudaLLG(system, terms, batch=2, dtype=dtype, device=dev)
    got = cp.asnumpy(llg.effective_field(cp.asarray(m, dtype=dtype)))
    assert _rel(got, ref) < TOL[dtype]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_full_rhs_gpu_vs_cpu(dev, dtype):
    import cupy as cp

    system = random_system(n=(20, 16, 1), seed=22)
    m = random_m(system)
    names = ["exchange", "anisotropy_uniaxial", "anisotropy_cubic", "dmi", "zeeman"]
    terms = _terms(system, names, demag=True)
    t = np.zeros(2)
    ref = LLG(system, list(terms.values()), 2)(m, t, np.zeros_like(m))
    llg = CudaLLG(system, terms, batch=2, dtype=dtype, device=dev)
    out = cp.zeros(m.shape, dtype=dtype)
    llg(cp.asarray(m, dtype=dtype), cp.asarray(t), out)
    assert _rel(cp.asnumpy(out), ref) < TOL[dtype]


@pytest.mark.parametrize("tableau", ["rk45", "rk23", "heun", "rk4"])
def test_full_step_gpu_vs_cpu(dev, tableau):
    import cupy as cp

    system = random_system(n=(12, 10, 2), seed=23)
    m0 = random_m(system)
    names = ["exchange", "anisotropy_uniaxial", "dmi", "zeeman"]
    terms = _terms(system, names, demag=True)
    kw = dict(tol=1e-4, dt=[2e-14, 5e-14], dt_min=1e-18, dt_max=1e-12)
    ref = Stepper(LLG(system, list(terms.values()), 2), tableau, m0.shape, mask=system.magnetic, **kw)
    st = CudaStepper(CudaLLG(system, terms, batch=2, dtype=np.float64, device=dev), tableau, **kw)
    m_ref, t_ref = m0.copy(), np.zeros(2)
    m, t = cp.asarray(m0), cp.zeros(2)
    t_end = np.array([1e-12, 3e-13])
    for _ in range(6):
        if not np.any(t_ref < t_end):
            break
        acc_ref = ref.step(m_ref, t_ref, t_end)
        acc = cp.asnumpy(st.step(m, t, t_end)).astype(bool)
        np.testing.assert_array_equal(acc, acc_ref)
        np.testing.assert_allclose(cp.asnumpy(t), t_ref, rtol=T_RTOL)
        assert np.max(np.abs(cp.asnumpy(m) - m_ref)) < 1e-10


def test_float32_step_close_to_cpu(dev):
    import cupy as cp

    system = random_system(n=(12, 10, 1), seed=24)
    m0 = random_m(system)
    terms = _terms(system, ["exchange", "zeeman"], demag=True)
    st = CudaStepper(CudaLLG(system, terms, batch=2, dtype=np.float32, device=dev), "rk4", dt=1e-14)
    ref = Stepper(LLG(system, list(terms.values()), 2), "rk4", m0.shape, mask=system.magnetic, dt=1e-14)
    m_ref, t_ref = m0.copy(), np.zeros(2)
    m, t = cp.asarray(m0, dtype=np.float32), cp.zeros(2)
    for _ in range(10):
        ref.step(m_ref, t_ref)
        st.step(m, t)
    assert np.max(np.abs(cp.asnumpy(m) - m_ref)) < 1e-5


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [(16, 12, 1), (10, 8, 3)])
def test_graph_step_equals_eager(dev, n, dtype):
    """A step replayed from a CUDA graph gives exactly what the eager launches give (same kernels, same
    cuFFT plans, same buffers), including members that finish at different times."""
    import cupy as cp

    system = random_system(n=n, seed=25)
    m0 = random_m(system, batch=3, seed=3)
    bext = np.array([[0.0, 0.0, 0.5], [0.2, -0.1, 0.0], [0.0, 0.3, 0.1]])
    t_end = cp.asarray([2e-13, 1e-12, 6e-13])
    out = {}
    for graph in (False, True):
        from micromag.engine.terms.zeeman import Zeeman

        terms = _terms(system, ["exchange", "anisotropy_uniaxial"], demag=True)
        terms["zeeman"] = Zeeman(system, B_ext=bext)
        llg = CudaLLG(system, terms, batch=3, dtype=dtype, device=dev)
        st = CudaStepper(llg, "rk45", tol=1e-4, dt=1e-14, dt_max=1e-12, graph=graph)
        m, t = cp.asarray(m0, dtype=dtype), cp.zeros(3)
        steps = 0
        while bool((t < t_end).any()) and steps < 300:
            st.step(m, t, t_end)
            steps += 1
        cp.cuda.get_current_stream().synchronize()
        out[graph] = (cp.asnumpy(m), cp.asnumpy(t), steps, st.nevals, llg.nevals, st.graph_launches, st.graph_error)
    me, te, se, ne, le, _, _ = out[False]
    mg, tg, sg, ng, lg, launches, err = out[True]
    assert err is None, err
    assert launches > 0
    assert (se, ne, le) == (sg, ng, lg)
    np.testing.assert_array_equal(tg, te)
    np.testing.assert_array_equal(mg, me)


def test_demag_padding_aware_gpu_vs_cpu_pbc_batch3(dev):
    import cupy as cp

    from micromag.engine.terms.demag import Demag

    for n, pbc in [((16, 12, 1), (0, 0, 0)), ((8, 6, 4), (1, 0, 0)), ((9, 1, 3), (0, 0, 0))]:
        system = random_system(n=n, seed=26, pbc=pbc)
        m = random_m(system, batch=3)
        demag = Demag(system, cache_dir=False)
        ref = demag.field(m)
        for dtype, tol in ((np.float64, 1e-12), (np.float32, 2e-6)):
            llg = CudaLLG(system, {"demag": demag}, batch=3, dtype=dtype, device=dev)
            out = cp.full(m.shape, cp.nan, dtype=dtype)
            llg.demag_field(cp.asarray(m, dtype=dtype), out)
            assert _rel(cp.asnumpy(out), ref) < tol


# ---------------------------------------------------------------------------------------------- MRAM terms
MRAM_VARIANTS = ["sot", "sot_pattern", "oersted", "stt", "stt_spatial_p", "stt_callable_p", "zhangli",
                 "zhangli_spatial", "zhangli_batch", "vcma"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("variant", MRAM_VARIANTS)
def test_mram_term_gpu_vs_cpu(dev, variant, dtype):
    import cupy as cp

    from _kernel_systems import mram_terms

    system = random_system(n=(16, 12, 3), seed=27)
    m = random_m(system)
    term = mram_terms(system, [variant])[variant]
    t = np.array([0.3e-9, 1.1e-9])
    ref = LLG(system, [term], 2)(m, t, np.zeros_like(m))
    llg = CudaLLG(system, {term.name: term}, batch=2, dtype=dtype, device=dev)
    out = cp.zeros(m.shape, dtype=dtype)
    llg(cp.asarray(m, dtype=dtype), cp.asarray(t), out)
    assert _rel(cp.asnumpy(out), ref) < TOL[dtype]


def test_mram_all_terms_step_gpu_vs_cpu(dev):
    import cupy as cp

    from _kernel_systems import mram_terms

    system = random_system(n=(12, 10, 2), seed=28)
    m0 = random_m(system)
    terms = {**_terms(system, ["exchange", "anisotropy_uniaxial", "dmi", "zeeman"], demag=True),
             **mram_terms(system, ["sot", "oersted", "stt", "zhangli", "vcma"])}
    kw = dict(tol=1e-4, dt=[2e-14, 5e-14], dt_min=1e-18, dt_max=1e-12)
    ref = Stepper(LLG(system, list(terms.values()), 2), "rk45", m0.shape, mask=system.magnetic, **kw)
    st = CudaStepper(CudaLLG(system, terms, batch=2, dtype=np.float64, device=dev), "rk45", **kw)
    m_ref, t_ref = m0.copy(), np.zeros(2)
    m, t = cp.asarray(m0), cp.zeros(2)
    t_end = np.array([1e-12, 3e-13])
    for _ in range(6):
        if not np.any(t_ref < t_end):
            break
        acc_ref = ref.step(m_ref, t_ref, t_end)
        acc = cp.asnumpy(st.step(m, t, t_end)).astype(bool)
        np.testing.assert_array_equal(acc, acc_ref)
        np.testing.assert_allclose(cp.asnumpy(t), t_ref, rtol=T_RTOL)
        assert np.max(np.abs(cp.asnumpy(m) - m_ref)) < 1e-10


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_mram_thermal_graph_step_equals_eager(dev, dtype):
    """Constant drives and a constant temperature keep CUDA graphs on: the replayed fixed Heun step (noise
    kernel + counter included) equals the eager one bit for bit."""
    import cupy as cp

    from _kernel_systems import mram_terms
    from micromag.engine.terms.thermal import ThermalField

    system = random_system(n=(16, 12, 1), seed=29)
    m0 = random_m(system, batch=2, seed=3)
    out = {}
    for graph in (False, True):
        terms = {**_terms(system, ["exchange", "zeeman"], demag=True), **mram_terms(system, ["sot", "stt", "vcma"]),
                 "thermal": ThermalField(system, [300.0, 100.0], seed=4, batch=2)}
        llg = CudaLLG(system, terms, batch=2, dtype=dtype, device=dev)
        assert not llg.host_dynamic()
        st = CudaStepper(llg, "heun", dt=2e-14, fixed=True, graph=graph)
        m, t = cp.asarray(m0, dtype=dtype), cp.zeros(2)
        t_end = cp.asarray([1e-12, 6e-13])
        while bool((t < t_end).any()):
            st.step(m, t, t_end)
        cp.cuda.get_current_stream().synchronize()
        out[graph] = (cp.asnumpy(m), cp.asnumpy(t), st.graph_launches, st.graph_error)
    assert out[True][3] is None, out[True][3]
    assert out[True][2] > 0
    np.testing.assert_array_equal(out[True][1], out[False][1])
    np.testing.assert_array_equal(out[True][0], out[False][0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_thermal_field_gpu_equals_cpu(dtype):
    """One noise source: the GPU's thermal field of a step is the CPU's (same Philox numbers), to
    round-off in float64 and to float32 precision in float32."""
    from test_kernels_mram import _thermal_sims

    cpu, gpu = _thermal_sims("cpu", [300.0, 0.0]), _thermal_sims("gpu", [300.0, 0.0], dtype=dtype)
    for sim in (cpu, gpu):
        sim.step(3)
    f_cpu = cpu.terms["thermal"]._B
    f_gpu = gpu.llg.device.asnumpy(gpu.llg.thermal_field).astype(float)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    assert np.max(np.abs(f_gpu - f_cpu)) < tol * np.max(np.abs(f_cpu))


def test_observe_gpu_vs_cpu(dev):
    """Energies per term, <m> and the torque reduced on the GPU equal the NumPy terms' values."""
    import micromag as mm

    grid = mm.Grid(n=(40, 30, 2), cell=(3e-9, 3e-9, 2e-9))
    mat = mm.Material(Ms=1.1e6, A=1.5e-11, alpha=0.05, Ku1=3e5, Kc1=1e4, D_ind=1e-3)
    sims = {b: mm.Simulation(grid, material=mat, geometry=mm.Ellipse((100e-9, 70e-9)), backend=b,
                             dtype=np.float64 if b == "gpu" else None) for b in ("cpu", "gpu")}
    for sim in sims.values():
        sim.m = lambda x, y, z: (np.cos(x / 9e-9), np.sin(y / 7e-9), 0.4 + 0 * z)
        sim.B_ext = (0.01, 0.02, -0.03)
    e_cpu, e_gpu = sims["cpu"].energies(), sims["gpu"].energies()
    for k in e_cpu:
        assert e_gpu[k] == pytest.approx(e_cpu[k], rel=1e-10, abs=1e-30), k
    np.testing.assert_allclose(sims["gpu"].m_avg, sims["cpu"].m_avg, atol=1e-13)
    assert sims["gpu"].max_torque() == pytest.approx(sims["cpu"].max_torque(), rel=1e-10)


def test_simulation_gpu_sot_stt_vcma_vs_cpu():
    from test_kernels_mram import _mram_sim

    cpu = _mram_sim("cpu").run(60e-12, progress=False)
    gpu64 = _mram_sim("gpu", dtype=np.float64).run(60e-12, progress=False)
    assert np.max(np.abs(gpu64.m - cpu.m)) < 1e-9
    gpu32 = _mram_sim("gpu").run(60e-12, progress=False)  # float32, the GPU default
    assert np.max(np.abs(gpu32.m - cpu.m)) < 1e-3


def test_simulation_gpu_thermal_langevin_average():
    import math

    import micromag as mm
    from micromag.engine.constants import kB

    sim = mm.Simulation(mm.Grid(n=(1, 1, 1), cell=(2e-9, 2e-9, 2e-9)), material=mm.Material(Ms=8e5, alpha=0.5),
                        demag=False, batch=256, dt=2e-13, backend="gpu", dtype=np.float64)
    sim.B_ext = (0, 0, 2.0)
    sim.m = (0, 0, 1)
    sim.temperature = 300.0
    sim.run(0.1e-9, progress=False)
    samples = []
    for _ in range(50):
        sim.run(20e-12, progress=False)
        samples.append(sim.m_avg[:, 2])
    per_member = np.array(samples).mean(axis=0)
    x = 8e5 * 8e-27 * 2.0 / (kB * 300.0)
    expected = 1 / math.tanh(x) - 1 / x
    mean, sem = per_member.mean(), per_member.std(ddof=1) / math.sqrt(per_member.size)
    assert abs(mean - expected) < 4 * sem + 3e-3, (mean, expected, sem)

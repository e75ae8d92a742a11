"""CUDA twins of the MRAM device terms (SOT, Oersted, Slonczewski STT, Zhang-Li, VCMA, thermal) run through
the host emulation against the NumPy terms: the fused llg_rhs kernel with each term vs micromag.engine.llg.LLG
(double: 1e-12, float: 1e-5 relative), the Philox thermal noise (known answers, the same numbers as
micromag.engine.philox, statistics), the fixed-step CudaStepper, and Simulation(backend="emulate") against
backend="cpu"."""
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _kernel_systems import mram_terms, random_m, random_system  # noqa: E402

import gpu_kernels as gk  # noqa: E402
import micromag as mm  # noqa: E402
from micromag.engine.backends.cuda import CudaLLG, emulated_device  # noqa: E402
from micromag.engine.backends.cuda_stepper import CudaStepper  # noqa: E402
from micromag.engine.drives import Pulse  # noqa: E402
from micromag.engine.emulation import EmuModule  # noqa: E402
from micromag.engine.integrators import Stepper  # noqa: E402
from micromag.engine.llg import LLG  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("g++") is None and shutil.which("c++") is None, reason="needs g++")

TOL = {np.float64: 1e-12, np.float32: 1e-5}
GRIDS = {
    "3d": dict(n=(6, 5, 3), cell=(2e-9, 3e-9, 2.5e-9)),
    "2d": dict(n=(7, 6, 1), cell=(3e-9, 2e-9, 1e-9)),
}
DEV = emulated_device()
T_EVAL = np.array([0.3e-9, 1.1e-9])


def rel_err(got, ref):
    got = np.asarray(got, dtype=float)
    scale = np.max(np.abs(ref))
    assert scale > 0
    return np.max(np.abs(got - ref)) / scale


def rhs_pair(system, terms, m, t, dtype, precession=True):
    """(kernel dm/dt, NumPy dm/dt) of the same terms."""
    ref_llg = LLG(system, list(terms.values()), m.shape[0])
    ref_llg.precession = precession
    ref = ref_llg(m, t, np.zeros_like(m))
    llg = CudaLLG(system, terms, batch=m.shape[0], dtype=dtype, device=DEV)
    llg.precession = precession
    out = np.full(m.shape, np.nan, dtype=dtype)
    llg(np.ascontiguousarray(m, dtype=dtype), t, out)
    return out, ref, llg, ref_llg


# ---------------------------------------------------------------------------------------------- per term
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("grid", sorted(GRIDS))
@pytest.mark.parametrize("variant", ["sot", "sot_pattern", "oersted", "stt", "stt_spatial_p", "stt_callable_p",
                                     "zhangli", "zhangli_spatial", "zhangli_batch", "vcma"])
def test_term_rhs_matches_numpy(variant, grid, dtype):
    system = random_system(**GRIDS[grid], seed=3)
    m = random_m(system, batch=2, seed=4)
    term = mram_terms(system, [variant])[variant]
    out, ref, llg, ref_llg = rhs_pair(system, {term.name: term}, m, T_EVAL, dtype)
    assert out.dtype == dtype
    assert rel_err(out, ref) < TOL[dtype]
    assert np.all(out[:, :, ~system.magnetic] == 0)
    if not getattr(term, "is_torque", False):  # field terms: the field itself too
        assert rel_err(llg.effective_field(np.ascontiguousarray(m, dtype=dtype), T_EVAL), term.field(m, T_EVAL)) \
            < TOL[dtype]
    else:  # the Gilbert torque alone, converted as micromag.engine.llg does, is exactly the kernel's dm/dt
        T = term.torque(m, T_EVAL)
        alpha = system.param("alpha")[None, None]
        conv = (T + alpha * np.cross(m, T, axis=1)) / (1 + alpha**2) * system.magnetic
        assert rel_err(out, conv) < TOL[dtype]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("precession", [True, False])
def test_all_terms_with_local_terms_and_demag(dtype, precession):
    """Every MRAM term together with exchange, anisotropies, DMI, Zeeman and demag in one fused kernel;
    without precession (relax) the torques are off, as in micromag.engine.llg."""
    from micromag.engine.terms.demag import Demag
    from test_kernels_emulation import ALL_LOCAL, make_term

    system = random_system(n=(6, 5, 2), seed=8)
    m = random_m(system, batch=2, seed=9)
    terms = {"demag": Demag(system, cache_dir=False), **{n: make_term(n, system) for n in ALL_LOCAL},
             **mram_terms(system, ["sot", "oersted", "stt", "zhangli", "vcma"])}
    out, ref, llg, ref_llg = rhs_pair(system, terms, m, T_EVAL, dtype, precession)
    tol = 1e-12 if dtype == np.float64 else 2e-5
    assert rel_err(out, ref) < tol
    mm_ = np.ascontiguousarray(m, dtype=dtype)
    assert rel_err(llg.effective_field(mm_, T_EVAL), ref_llg.effective_field(m, T_EVAL)) < tol


def test_time_dependent_drives_per_member_time():
    """Drives (Pulse, functions of t, per-member amplitudes) are evaluated on the host at each member's
    own time before every evaluation."""
    system = random_system(seed=12)
    m = random_m(system, batch=2, seed=2)
    names = ["sot", "stt", "vcma", "zhangli"]
    terms = mram_terms(system, names)
    terms["sot"].J = Pulse([2e11, -1e11], width=1e-9, start=0.2e-9, rise=0.3e-9)
    terms["vcma"].V = Pulse(0.9, width=1e-9, rise=0.5e-9)
    terms["stt"].J = mm.drives.as_drive(lambda t: 1e11 * math.sin(3e9 * t))
    llg = CudaLLG(system, terms, batch=2, dtype=np.float64, device=DEV)
    assert llg.host_dynamic()
    ref_llg = LLG(system, list(terms.values()), 2)
    for t in (np.array([0.0, 0.4e-9]), np.array([0.35e-9, 1.5e-9]), np.array([2e-9, 0.25e-9])):
        ref = ref_llg(m, t, np.zeros_like(m))
        out = np.zeros_like(m)
        llg(m, t, out)
        assert rel_err(out, ref) < 1e-12
    # constant drives need no host evaluation per call; a changed constant is still picked up
    const = mram_terms(system, ["sot"])
    llg2 = CudaLLG(system, const, batch=2, dtype=np.float64, device=DEV)
    assert not llg2.host_dynamic()
    out = np.zeros_like(m)
    llg2(m, T_EVAL, out)
    const["sot"].J = mm.drives.DC([-3e11, 5e10])
    llg2.refresh()  # Simulation calls it whenever a setting may have changed (run start, setters)
    llg2(m, T_EVAL, out)
    ref = LLG(system, [const["sot"]], 2)(m, T_EVAL, np.zeros_like(m))
    assert rel_err(out, ref) < 1e-12


def test_stt_current_from_junction_resistance():
    """An STT current given by an object with current_density(m, t) (an MTJ at a bias voltage) is evaluated
    on the host with the current m."""
    system = random_system(seed=14)
    m = random_m(system, batch=2, seed=6)

    class Junction:
        def current_density(self, m, t):
            return 1e11 * (1.5 + m[:, 2].mean(axis=(1, 2, 3)))

    from micromag.engine.terms.stt import SlonczewskiSTT

    term = SlonczewskiSTT(system, J=Junction(), p=(0, 0, 1), Lambda=2.0)
    out, ref, llg, _ = rhs_pair(system, {"stt": term}, m, T_EVAL, np.float64)
    assert llg.host_dynamic()
    assert rel_err(out, ref) < 1e-12


def test_set_terms_and_check_term():
    system = random_system(seed=15)
    terms = mram_terms(system, ["sot", "vcma"])
    llg = CudaLLG(system, {}, batch=2, dtype=np.float64, device=DEV)
    assert list(llg.terms) == []
    llg.check_term(terms["sot"])
    llg.set_terms(list(terms.values()))
    assert list(llg.terms) == ["sot", "vcma"]  # the order given (Simulation keeps the registry's)
    with pytest.raises(NotImplementedError, match="one term per name"):
        llg.check_term(mram_terms(system, ["sot"])["sot"])
    with pytest.raises(TypeError, match="Term objects"):
        CudaLLG(system, ["sot"], batch=2, dtype=np.float64, device=DEV)
    with pytest.raises(ValueError, match="members"):  # per-member drives that do not fit the batch
        CudaLLG(system, mram_terms(system, ["zhangli_batch"], batch=3), batch=2, dtype=np.float64, device=DEV)


# ---------------------------------------------------------------------------------------------- thermal
PHILOX_KAT = [  # Random123 kat_vectors, philox4x32_10: counter, key -> output
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]

PHILOX_TEST = r'''
#include "common.cuh"
#include "philox.cuh"
extern "C" __global__ void philox_kat(const unsigned int* __restrict__ in, unsigned int* out, int n) {
    for (int i = 0; i < n; i++) {
        philox_u4 c;
        c.x = in[6 * i]; c.y = in[6 * i + 1]; c.z = in[6 * i + 2]; c.w = in[6 * i + 3];
        const philox_u4 r = philox4x32_10(c, in[6 * i + 4], in[6 * i + 5]);
        out[4 * i] = r.x; out[4 * i + 1] = r.y; out[4 * i + 2] = r.z; out[4 * i + 3] = r.w;
    }
}
'''


def test_philox_known_answers():
    src = gk.assemble("common.cuh", gk.real_define("float64")) + gk.source_path("philox.cuh").read_text() \
        + PHILOX_TEST.replace('#include "common.cuh"\n#include "philox.cuh"\n', "")
    mod = EmuModule(src)
    inp = np.array([list(c) + list(k) for c, k, _ in PHILOX_KAT], dtype=np.uint32).reshape(-1)
    out = np.zeros(4 * len(PHILOX_KAT), dtype=np.uint32)
    mod.launch("philox_kat", (1,), (1,), (inp, out, len(PHILOX_KAT)))
    assert [tuple(int(x) for x in out[4 * i:4 * i + 4]) for i in range(len(PHILOX_KAT))] == \
        [r for _, _, r in PHILOX_KAT]


def test_philox_numpy_and_kernel_draw_the_same_normals():
    """One noise source for both backends: the kernel's normals (noise_normals) equal micromag.engine.philox's,
    to round-off in double and to float32 precision in single (same uniforms, truncated to 24 bits)."""
    from micromag.engine.philox import normals3

    ncell = 300
    counters = np.array([0, 7, 2**33 + 5], dtype=np.int64)
    seeds = np.array([1, 2**63 + 11, 42], dtype=np.uint64)
    ids = np.array([0, 3, 2**32 - 1], dtype=np.uint32)
    for dtype, tol in ((np.float64, 1e-13), (np.float32, 3e-6)):
        mod = EmuModule(gk.assemble("thermal_noise.cu", gk.real_define(dtype)))
        out = np.zeros((3, 3, ncell), dtype=dtype)
        mod.launch("noise_normals", (4, 3), (32,), (out, counters, seeds, ids, ncell, 3))
        ref = normals3(ncell, ids, counters, seeds, single=dtype == np.float32)
        assert np.max(np.abs(out - ref)) < tol * 10
        # and the float32 path is the float64 one to ~1e-6 (same underlying words)
        if dtype == np.float32:
            ref64 = normals3(ncell, ids, counters, seeds)
            assert np.quantile(np.abs(out - ref64), 0.99) < 1e-5


def test_philox_normals_statistics():
    """The normals of micromag.engine.philox over cells x components x steps x members: mean 0, variance 1, no
    correlation between steps, members or components, Gaussian tails."""
    from micromag.engine.philox import normals3

    s = np.stack([normals3(4000, np.arange(3), np.full(3, k), np.full(3, 9)) for k in range(20)])
    n = s.size
    assert abs(s.mean()) < 5 / math.sqrt(n)
    assert abs(s.var() - 1) < 5 * math.sqrt(2 / n)
    assert abs(np.mean(np.abs(s) > 2) - 0.0455) < 0.004  # Gaussian tail
    for a, b in ((s[1:], s[:-1]), (s[:, 0], s[:, 1]), (s[:, :, 0], s[:, :, 1])):
        assert abs(np.mean(a * b)) < 5 / math.sqrt(a.size)


def _thermal_sims(backend, T, batch=2, seed=5, dt=1e-13, dtype=None):
    grid = mm.Grid(n=(6, 5, 2), cell=(3e-9, 3e-9, 2e-9))
    sim = mm.Simulation(grid, material=mm.Material(Ms=8e5, A=1.3e-11, alpha=0.1), demag=False, batch=batch,
                        backend=backend, dt=dt, dtype=dtype)
    sim.seed = seed
    sim.temperature = T
    sim.m = (1, 0.2, 0.1)
    return sim


def test_thermal_field_of_a_step_equals_the_cpu_one():
    """The noise kernel's field (coef sqrt(T/dt) eta, drawn in the stepper's first launch) is the CPU
    ThermalField's field of the same step: same seed, identity and step count, to round-off."""
    cpu, emu = _thermal_sims("cpu", [300.0, 0.0]), _thermal_sims("emulate", [300.0, 0.0])
    for sim in (cpu, emu):
        sim.step(3)
    f_cpu = cpu.terms["thermal"]._B
    f_emu = np.asarray(emu.llg.thermal_field)
    assert np.all(f_emu[1] == 0) and np.max(np.abs(f_cpu[0])) > 0
    assert np.max(np.abs(f_emu - f_cpu)) < 1e-12 * np.max(np.abs(f_cpu))
    assert list(emu.noise_state()["counters"]) == list(cpu.noise_state()["counters"]) == [3, 3]


def test_fixed_step_stepper_matches_numpy_heun():
    """CudaStepper(fixed=True) = Stepper(fixed=True): no error control, dt kept, the begin_step hook; with a
    deterministic RHS (SOT + STT + VCMA + exchange) both agree step by step."""
    from test_kernels_emulation import make_term

    system = random_system(n=(5, 4, 2), seed=17)
    m0 = random_m(system, batch=2, seed=3)
    terms = {"exchange": make_term("exchange", system), **mram_terms(system, ["sot", "stt", "vcma"])}
    kw = dict(tol=1e-9, dt=[2e-14, 3e-14], dt_min=2e-14, dt_max=3e-14)
    ref = Stepper(LLG(system, list(terms.values()), 2), "heun", m0.shape, mask=system.magnetic, fixed=True, **kw)
    st = CudaStepper(CudaLLG(system, terms, batch=2, dtype=np.float64, device=DEV), "heun", fixed=True, **kw)
    m_ref, t_ref, m, t = m0.copy(), np.zeros(2), m0.copy(), np.zeros(2)
    t_end = np.array([2e-13, 1e-13])
    for _ in range(12):
        ref.step(m_ref, t_ref, t_end)
        st.step(m, t, t_end)
        np.testing.assert_allclose(t, t_ref, rtol=1e-13, atol=0)
        assert np.max(np.abs(m - m_ref)) < 1e-12
    assert np.all(t == t_end)
    np.testing.assert_array_equal(st.dt, [2e-14, 3e-14])


# ---------------------------------------------------------------------------------------------- Simulation
def _mram_sim(backend, batch=2, dtype=None):
    grid = mm.Grid(n=(8, 6, 1), cell=(3e-9, 3e-9, 1.2e-9))
    mat = mm.Material(Ms=9e5, A=1.2e-11, alpha=0.05, Ku1=6e5, anis_u=(0, 0, 1))
    sim = mm.Simulation(grid, material=mat, demag=False, batch=batch, backend=backend, tol=1e-6, dtype=dtype)
    from micromag.engine.terms.sot import SpinOrbitTorque
    from micromag.engine.terms.stt import SlonczewskiSTT
    from micromag.engine.terms.vcma import VCMA

    sim.add(SpinOrbitTorque(sim.system, J=Pulse([8e10, -5e10], width=50e-12, rise=10e-12), theta_sh=0.3,
                            xi_FL=0.2))
    sim.add(SlonczewskiSTT(sim.system, J=[3e10, -2e10], p=(0.2, 0.0, 1.0), Lambda=1.3, eps_prime=0.1))
    sim.add(VCMA(sim.system, V=[0.6, -0.4], xi=5e-14, t_ox=1e-9))
    sim.B_ext = (0.05, 0.0, 0.02)
    sim.m = (0.3, 0.1, 1.0)
    return sim


def test_simulation_emulate_matches_cpu_sot_stt_vcma():
    cpu, emu = _mram_sim("cpu"), _mram_sim("emulate")
    assert isinstance(emu.llg, CudaLLG) and list(emu.llg.terms)[-3:] == ["sot", "stt", "vcma"]
    for sim in (cpu, emu):
        sim.run(60e-12, progress=False)
    np.testing.assert_allclose(emu.t, cpu.t, rtol=1e-12)
    assert np.max(np.abs(emu.m - cpu.m)) < 1e-9
    assert np.max(np.abs(emu.m - _mram_sim("cpu").m)) > 1e-3  # it did move
    # energies / fields are taken from the same terms
    np.testing.assert_allclose(emu.effective_field(), cpu.effective_field(), rtol=0, atol=1e-9)


def test_simulation_emulate_refuses_second_term_of_a_kind():
    sim = _mram_sim("emulate", batch=2)
    from micromag.engine.terms.vcma import VCMA

    with pytest.raises(NotImplementedError, match="one term per name"):
        sim.add(VCMA(sim.system, V=0.1, xi=5e-14, t_ox=1e-9))
    assert "vcma2" not in sim.terms


def test_simulation_emulate_thermal_langevin_average():
    """Macrospins (batch 32) in B = 2 T at 300 K on the emulated GPU backend (stochastic Heun CudaStepper,
    Philox noise): <m_z> = L(x) = coth x - 1/x, x = Ms V B/(kB T) = 3.09 (loose statistical tolerance)."""
    from micromag.engine.constants import kB

    grid = mm.Grid(n=(1, 1, 1), cell=(2e-9, 2e-9, 2e-9))
    sim = mm.Simulation(grid, material=mm.Material(Ms=8e5, alpha=0.5), demag=False, batch=32, dt=4e-13,
                        backend="emulate")
    sim.B_ext = (0, 0, 2.0)
    sim.m = (0, 0, 1)
    sim.seed = 3
    sim.temperature = 300.0
    sim.run(0.05e-9, progress=False)
    assert isinstance(sim.stepper, CudaStepper) and sim.stepper.fixed
    samples = []
    for _ in range(40):
        sim.run(20e-12, progress=False)
        samples.append(sim.m_avg[:, 2])
    per_member = np.array(samples).mean(axis=0)
    x = 8e5 * 8e-27 * 2.0 / (kB * 300.0)
    expected = 1 / math.tanh(x) - 1 / x
    mean, sem = per_member.mean(), per_member.std(ddof=1) / math.sqrt(per_member.size)
    assert abs(mean - expected) < 4 * sem + 5e-3, (mean, expected, sem)
    print(f"Langevin: <mz> = {mean:.4f} +- {sem:.4f}, expected {expected:.4f}")
    assert np.allclose(np.linalg.norm(sim.m, axis=1), 1)
    # reproducible with the same seed
    assert sim.t[0] == pytest.approx(0.85e-9)

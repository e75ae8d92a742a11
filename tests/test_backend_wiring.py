"""Simulation(backend='emulate'): the GPU backend's kernels and host code, run on the CPU through the host
emulation, must reproduce the NumPy backend through the public API (run, relax, minimize, tables)."""
import shutil

import numpy as np
import pytest

import micromag as mm

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="the host emulation needs g++")


def build(backend, batch=1):
    grid = mm.Grid(n=(12, 8, 2), cell=(4e-9, 4e-9, 2e-9))
    mat = mm.Material(Ms=1.1e6, A=1.5e-11, alpha=0.05, Ku1=3e5, anis_u=(0.1, 0, 1), D_ind=1e-3,
                      Kc1=1e4)
    sim = mm.Simulation(grid, material=mat, geometry=mm.Ellipse((44e-9, 30e-9)), backend=backend, batch=batch)
    sim.m = lambda x, y, z: (np.cos(x / 8e-9), np.sin(x / 8e-9), 0.5 + 0 * y)
    return sim


def test_emulated_run_matches_cpu_in_float64():
    sims = {b: build(b, batch=2) for b in ("cpu", "emulate")}
    for sim in sims.values():
        sim.B_ext = np.array([[0.0, 0.0, 0.05], [0.02, 0.01, -0.03]])
        sim.run(20e-12, progress=False)
    cpu, emu = sims["cpu"], sims["emulate"]
    assert emu.m.dtype == np.float64
    np.testing.assert_allclose(emu.m, cpu.m, rtol=0, atol=1e-9)
    np.testing.assert_allclose(emu.t, cpu.t, rtol=1e-12)
    np.testing.assert_allclose(emu.energy(), cpu.energy(), rtol=1e-8)


def test_emulated_minimize_and_relax_match_cpu():
    for method in ("minimize", "relax"):
        out = {}
        for b in ("cpu", "emulate"):
            sim = build(b)
            sim.B_ext = (0, 0, 0.01)
            getattr(sim, method)(tol_torque=1e-4, progress=False)
            out[b] = sim.m_avg
        np.testing.assert_allclose(out["emulate"], out["cpu"], atol=1e-6)


def test_emulated_float32_and_time_dependent_field(tmp_path):
    cpu, emu = build("cpu"), mm.Simulation(build("cpu").grid, material=build("cpu").system.materials[0],
                                           geometry=mm.Ellipse((44e-9, 30e-9)), backend="emulate", dtype=np.float32)
    emu.m = cpu.m[0]
    f = lambda t: (0.0, 0.05 * np.sin(2 * np.pi * 5e9 * t), 0.02)  # noqa: E731
    for sim in (cpu, emu):
        sim.B_ext = f
    cpu.run(10e-12, progress=False)
    emu.run(10e-12, out=tmp_path / "e", every=5e-12, progress=False)
    assert emu.m.dtype == np.float64  # the public copy is always float64
    np.testing.assert_allclose(emu.m_avg, cpu.m_avg, atol=2e-5)  # float32 state
    assert (tmp_path / "e" / "table.txt").exists()


def test_emulated_thermal_checkpoint_resumes_the_same_noise(tmp_path):
    def cell():
        grid = mm.Grid(n=(1, 1, 1), cell=(2e-9, 2e-9, 2e-9))
        sim = mm.Simulation(grid, material=mm.Material(Ms=8e5, alpha=0.5), demag=False, backend="emulate",
                            batch=2, dt=1e-13)
        sim.B_ext = (0, 0, 1.0)
        sim.m = (0, 0, 1)
        sim.temperature = 300.0
        return sim

    a = cell()
    a.run(5e-12, progress=False)
    a.save_checkpoint(tmp_path / "c.pkl")
    a.run(5e-12, progress=False)
    b = mm.Simulation.load_checkpoint(tmp_path / "c.pkl")
    b.run(5e-12, progress=False)
    np.testing.assert_array_equal(b.m, a.m)

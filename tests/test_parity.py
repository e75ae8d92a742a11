"""One physics on two backends: the NumPy backend ("cpu") and the GPU backend ("emulate": its kernels and
host code run on the CPU) give the same results through the public API, for every feature that drifted
apart before (issue "One physics on two backends"): callable spatial fields, thermal noise in batches with
compaction and per-member seeds, Ku2, per-member fields, one name per term, parameters that change between
runs and with time, energies and observables, checkpoints, the forced-step warning."""
import math

import numpy as np
import pytest

import micromag as mm
from micromag.engine.batch import Batch
from micromag.engine.terms.anisotropy import UniaxialAnisotropy

ATOL = 1e-10  # cpu vs emulate in float64: same formulas, different summation order only


def small(backend, batch=1, demag=True, **mat):
    grid = mm.Grid(n=(10, 8, 2), cell=(3e-9, 3e-9, 2e-9))
    base = dict(Ms=9e5, A=1.3e-11, alpha=0.05, Ku1=2e5, anis_u=(0.2, 0.1, 1.0))
    base.update(mat)
    sim = mm.Simulation(grid, material=mm.Material(**base), geometry=mm.Ellipse((28e-9, 22e-9)), batch=batch,
                        demag=demag, backend=backend)
    sim.m = lambda x, y, z: (np.cos(x / 7e-9), np.sin(y / 5e-9), 0.5 + 0 * z)
    return sim


def both(fn):
    """fn(backend) for cpu and emulate."""
    return fn("cpu"), fn("emulate")


# ---------------------------------------------------------------------------------------------- fields
def test_callable_spatial_field_on_both_backends():
    """B_ext(t) returning a (3, nz, ny, nx) field, per member time (it failed on the GPU path)."""
    def run(backend):
        sim = small(backend, batch=2)
        x, y, z = np.broadcast_arrays(*sim.grid.coords())
        sim.B_ext = lambda t: np.stack([0.05 * np.sin(2e10 * t) + 0 * x, 0.01 * x / 30e-9 + 0 * y,
                                        0.02 + 0 * z])
        sim.t = [0.0, 1e-11]
        sim.run(15e-12, progress=False)
        return sim.m, sim.energies()["zeeman"]
    (m0, e0), (m1, e1) = both(run)
    assert np.max(np.abs(m1 - m0)) < ATOL
    np.testing.assert_allclose(e1, e0, rtol=1e-9)


def test_uniform_field_per_member_any_memory_order():
    """A (B, 3) field given as a broadcast (Fortran-ordered after astype) or transposed view reaches every
    member correctly (CudaLLG packs every input C-contiguous)."""
    from micromag.engine.backends.cuda import CudaLLG, emulated_device
    from micromag.engine.terms.zeeman import Zeeman

    grid = mm.Grid(n=(4, 3, 1), cell=(2e-9, 2e-9, 2e-9))
    system = mm.System(grid, material=mm.Material(Ms=8e5))
    v = np.asfortranarray(np.array([[0.1, 0.2, 0.3], [-0.4, 0.5, 0.6], [0.7, -0.8, 0.9]]))
    for value in (np.broadcast_to(np.array([0.1, -0.2, 0.3]), (3, 3)), v, v.T.copy().T):
        term = Zeeman(system, B_ext=value)
        llg = CudaLLG(system, {"zeeman": term}, batch=3, dtype=np.float64, device=emulated_device())
        m = np.zeros((3, 3) + grid.shape)
        m[:, 0] = 1
        np.testing.assert_array_equal(llg.effective_field(m), term.field(m))


def test_ku2_on_both_backends():
    """Ku2 (the quartic uniaxial term) exists on both backends, with the field of its energy:
    B = (2Ku1/Ms)(m·u)u + (4Ku2/Ms)(m·u)³u, e = −Ku1(m·u)² − Ku2(m·u)⁴."""
    Ku1, Ku2, Ms = 3e5, -1.2e5, 9e5
    for backend in ("cpu", "emulate"):
        sim = small(backend, demag=False, A=0.0, Ku1=Ku1, Ku2=Ku2, anis_u=(0, 0, 1), Ms=Ms)
        th = 0.6
        sim.m = (math.sin(th), 0, math.cos(th))
        c = math.cos(th)
        B = sim.effective_field()[0, :, sim.system.magnetic]
        np.testing.assert_allclose(B[:, 2], (2 * Ku1 / Ms) * c + (4 * Ku2 / Ms) * c**3, rtol=1e-12)
        V = float((sim.system.fill * sim.system.magnetic).sum()) * sim.grid.cell_volume
        assert sim.energies()["anisotropy_uniaxial"] == pytest.approx(-(Ku1 * c**2 + Ku2 * c**4) * V, rel=1e-12)


# ---------------------------------------------------------------------------------------------- noise
def thermal_build(backend, batch, dt=5e-14):
    grid = mm.Grid(n=(4, 4, 1), cell=(3e-9, 3e-9, 2e-9))
    sim = mm.Simulation(grid, material=mm.Material(Ms=8e5, A=1.3e-11, alpha=0.1, Ku1=3e5), demag=False,
                        batch=batch, backend=backend, dt=dt)
    sim.m = (0.1, 0, 1)
    return sim


def test_thermal_run_is_the_same_on_both_backends():
    """One noise source: the same seed gives the same thermal trajectory on cpu and emulate (float64)."""
    def run(backend):
        sim = thermal_build(backend, 3)
        sim.seed = 17
        sim.temperature = [300.0, 0.0, 600.0]
        sim.run(40e-12, progress=False)
        return sim.m
    m0, m1 = both(run)
    assert np.max(np.abs(m1 - m0)) < ATOL
    assert np.max(np.abs(m0[0] - m0[2])) > 1e-3  # the noise did something, differently per member


@pytest.mark.parametrize("backend", ["cpu", "emulate"])
def test_compaction_and_chunks_neither_replay_nor_skip_noise(backend):
    """Member 0 of a thermal batch with compaction, without compaction and in chunks of one: the same
    trajectory bit for bit (the noise is keyed by the member's identity and its own step count)."""
    members = [{"temperature": 300.0, "duration": d} for d in (30e-12, 8e-12, 8e-12, 8e-12)]

    def build(B):
        return thermal_build(backend, B)

    out = []
    for kw in (dict(compact=True), dict(compact=False), dict(chunk=1)):
        res = Batch(build, members, check_every=4e-12, **kw).run(30e-12)
        out.append(res[0]["m"])
    assert out[0].tobytes() == out[1].tobytes() == out[2].tobytes()


@pytest.mark.parametrize("backend", ["cpu", "emulate"])
def test_per_member_seed_is_a_single_run_with_that_seed(backend):
    def build(B):
        return thermal_build(backend, B)

    res = Batch(build, [{"temperature": 300.0, "seed": 5}, {"temperature": 300.0, "seed": 6}]).run(10e-12)
    one = thermal_build(backend, 1)
    one.seed = 6
    one.temperature = 300.0
    one.run(10e-12, progress=False)
    assert res[1]["m"].tobytes() == one.m[0].tobytes()
    assert res[0]["m"].tobytes() != res[1]["m"].tobytes()


@pytest.mark.parametrize("backend", ["cpu", "emulate"])
def test_thermal_checkpoint_resume_is_exact(backend, tmp_path):
    sim = thermal_build(backend, 2)
    sim.seed = 3
    sim.temperature = 300.0
    sim.run(10e-12, progress=False)
    sim.save_checkpoint(tmp_path / "c.pkl")
    sim.run(10e-12, progress=False)
    again = mm.Simulation.load_checkpoint(tmp_path / "c.pkl")
    again.run(10e-12, progress=False)
    assert again.m.tobytes() == sim.m.tobytes()


# ---------------------------------------------------------------------------------------------- contract
@pytest.mark.parametrize("backend", ["cpu", "emulate"])
def test_one_name_per_term(backend):
    """A term has one name (registry key = Term.name = table column); adding a second anisotropy is an
    error, not a silent second term."""
    sim = small(backend)
    assert "anisotropy_uniaxial" in sim.terms and sim.terms["anisotropy_uniaxial"].name == "anisotropy_uniaxial"
    with pytest.raises((ValueError, NotImplementedError), match="anisotropy_uniaxial"):
        sim.add(UniaxialAnisotropy(sim.system))
    assert list(sim.terms).count("anisotropy_uniaxial") == 1


def test_every_registered_term_declares_its_contract():
    from micromag.engine.terms import material_parameters, registered
    from micromag.engine.terms.base import KINDS

    names = [c.name for c in registered()]
    assert len(names) == len(set(names))
    for cls in registered():
        assert cls.kernel and cls.kind in ("field", "torque")
        assert cls.energy_rule in ("quadratic", "linear", "custom", None)
        for p in cls.parameters:
            assert p.kind in KINDS and isinstance(p.unit, str)
    # every Material field a term reads is declared by exactly one owner
    declared = [p.name for p in material_parameters()]
    assert len(declared) == len(set(declared))
    temperature_model = {"Tc", "T_ref", "Ms_exponent", "nK", "nA"}  # read only by Material.at
    assert set(declared) == set(mm.Material.parameter_names()) - {"name"} - temperature_model


# ---------------------------------------------------------------------------------------------- parameters
@pytest.mark.parametrize("backend", ["cpu", "emulate"])
def test_parameters_change_between_runs(backend):
    """sim.alpha = ..., sim.Ku1 = ..., sim.material = ... take effect at once on every backend: a run after
    the change equals a run of a simulation built with the new values."""
    sim = small(backend)
    sim.relax(progress=False, tol_torque=1e-3)
    m_relaxed = sim.m
    sim.alpha = 0.008
    sim.Ku1 = 1e5
    assert sim.alpha == 0.008 and sim.Ku1 == 1e5
    sim.B_ext = (0.0, 0.05, 0.0)
    sim.run(20e-12, progress=False)
    ref = small(backend, alpha=0.008, Ku1=1e5)
    ref.m = m_relaxed
    ref.B_ext = (0.0, 0.05, 0.0)
    ref.run(20e-12, progress=False)
    assert np.max(np.abs(sim.m - ref.m)) < 1e-12
    # a whole new material, and Ms (every term that depends on it follows)
    sim.material = mm.Material(Ms=6e5, A=1e-11, alpha=0.02, Kc1=2e4)
    ref2 = small(backend, Ms=6e5, A=1e-11, alpha=0.02, Kc1=2e4, Ku1=0.0)
    ref2.m = sim.m[0]
    ref2.B_ext = (0.0, 0.05, 0.0)
    for s in (sim, ref2):
        s.run(10e-12, progress=False)
    assert np.max(np.abs(sim.m - ref2.m)) < 1e-12
    for name, e in ref2.energies().items():
        assert sim.energies()[name] == pytest.approx(e, rel=1e-12, abs=1e-35), name
    with pytest.raises(ValueError, match="Ms"):
        sim.Ms = 0.0  # would change which cells are magnetic
    with pytest.raises(ValueError, match="alpha"):
        sim.alpha = -1


def test_parameters_change_the_same_on_both_backends():
    def run(backend):
        sim = small(backend, batch=2)
        sim.alpha = 0.3
        sim.run(5e-12, progress=False)
        sim.set_parameter("Ku1", 4e5)
        sim.run(5e-12, progress=False)
        return sim.m
    m0, m1 = both(run)
    assert np.max(np.abs(m1 - m0)) < ATOL


def test_time_dependent_anisotropy_on_both_backends():
    """Ku1(t) (a VCMA-like script): evaluated per member at every stage time, same on both backends, and
    the same as a VCMA term with ΔK(t) = Ku1(t) − Ku1(0) on top of the static Ku1(0)."""
    K0 = 2e5

    def Ku1(t):
        return K0 * (1 - 0.8 * math.sin(2 * math.pi * 2e10 * t) ** 2)

    def run(backend):
        sim = small(backend, batch=2, demag=False, Ku1=K0, anis_u=(0, 0, 1))
        sim.Ku1 = Ku1
        sim.B_ext = (0.03, 0, 0)
        sim.t = [0.0, 7e-12]
        sim.run(20e-12, progress=False)
        return sim.m
    m0, m1 = both(run)
    assert np.max(np.abs(m1 - m0)) < ATOL
    ref = small("cpu", batch=2, demag=False, Ku1=K0, anis_u=(0, 0, 1))
    t_F = ref.grid.nz * ref.grid.cell[2]
    # VCMA: ΔK = −ξ V /(t_ox t_F); with ξ = 1, t_ox = 1: V(t) = −(Ku1(t) − K0) t_F
    ref.add(mm.VCMA(ref.system, V=lambda t: -(Ku1(t) - K0) * t_F, xi=1.0, t_ox=1.0, axis=(0, 0, 1)))
    ref.B_ext = (0.03, 0, 0)
    ref.t = [0.0, 7e-12]
    ref.run(20e-12, progress=False)
    assert np.max(np.abs(ref.m - m0)) < 1e-9
    with pytest.raises(ValueError, match="cannot be a function of time"):
        small("cpu").alpha = lambda t: 0.1


@pytest.mark.parametrize("backend", ["cpu", "emulate"])
def test_unknown_attribute_names_the_nearest(backend):
    sim = small(backend)
    with pytest.raises(AttributeError, match="'alpha'"):
        sim.alhpa = 0.1
    with pytest.raises(AttributeError, match="B_ext"):
        sim.Bext = (0, 0, 1)


# ---------------------------------------------------------------------------------------------- observables
def test_energies_and_torque_on_the_device_equal_numpy():
    """energies(), energy(), m_avg and max_torque() on the GPU backend are reduced on the device (only the
    scalars come back) and equal the NumPy terms' values."""
    cpu, emu = both(lambda b: small(b, batch=2, D_ind=1.5e-3, Kc1=1e4))
    for s in (cpu, emu):
        s.B_ext = np.array([[0.01, 0, 0.02], [0, -0.03, 0]])
    ec, ee = cpu.energies(), emu.energies()
    assert set(ec) == set(ee) == {"demag", "exchange", "anisotropy_uniaxial", "anisotropy_cubic", "dmi", "zeeman"}
    scale = max(np.max(np.abs(v)) for v in ec.values())
    for k in ec:
        np.testing.assert_allclose(ee[k], ec[k], rtol=1e-11, atol=1e-12 * scale)
    np.testing.assert_allclose(emu.m_avg, cpu.m_avg, atol=1e-15)
    np.testing.assert_allclose(emu.max_torque(), cpu.max_torque(), rtol=1e-11)


def test_forced_steps_warn_on_both_backends():
    """Steps taken at dt_min with an error above tol are counted by both steppers and reported."""
    for backend in ("cpu", "emulate"):
        grid = mm.Grid(n=(4, 4, 1), cell=(2e-9, 2e-9, 2e-9))
        # dt_min = 5e-14 s is stable (well below 1/(γ B_max)) but far too long for tol = 1e-12
        sim = mm.Simulation(grid, material=mm.Material(Ms=8e5, A=1.3e-11, alpha=0.1), demag=False,
                            backend=backend, dt=5e-14, dt_min=5e-14, dt_max=5e-14, tol=1e-12)
        sim.m = lambda x, y, z: (np.cos(x / 2e-9), np.sin(x / 2e-9), 0 * z)
        sim.B_ext = (0, 0, 1.0)
        with pytest.warns(RuntimeWarning, match="dt_min"):
            sim.run(1e-12, progress=False)
        assert sim.stepper.nforced > 0


@pytest.mark.parametrize("backend", ["cpu", "emulate"])
def test_a_blown_up_step_is_an_error_not_a_hang(backend):
    """Ku1 = 1e300 J/m³ overflows the first step: both steppers reject the non-finite step down to dt_min,
    mark the member as diverged (NaN dt), and run() raises naming the cause, with the last good (finite)
    state kept."""
    from micromag.engine.guard import SimulationDiverged

    sim = small(backend, demag=False, Ku1=1e300)
    m0 = sim.m
    with pytest.raises(SimulationDiverged, match="Ku1|anisotropy"):
        sim.run(1e-12, progress=False)
    assert np.all(np.isfinite(sim.m)) and np.array_equal(sim.m, m0)


def test_thermal_run_relax_run_is_the_same_on_both_backends():
    """relax() and minimize() switch the thermal field off and on again: the noise continues its stream
    (no replay of the steps before), the same on both backends."""
    def run(backend):
        sim = thermal_build(backend, 2)
        sim.seed = 5
        sim.temperature = 300.0
        sim.run(10e-12, progress=False)
        sim.relax(progress=False, tol_torque=1e-3)
        sim.run(10e-12, progress=False)
        sim.minimize(progress=False, tol_torque=1e-3)
        sim.run(10e-12, progress=False)
        return sim.m, sim.noise_state()["counters"]
    (m0, c0), (m1, c1) = both(run)
    assert np.max(np.abs(m1 - m0)) < ATOL
    assert list(c0) == list(c1) == [600, 600]  # 3 × 10 ps at dt = 5e-14 s: every step drew once

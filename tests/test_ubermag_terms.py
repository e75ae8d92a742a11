"""The pieces of micromag.apps.ubermag checked against closed forms: the extra terms (gradient = field, energy
formulas), the unit and sign conventions of the translation, Tcl and callable time dependence, and the
drivers on both backends."""
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

df = pytest.importorskip("discretisedfield")
mm = pytest.importorskip("micromagneticmodel")

import micromag as mmg  # noqa: E402
import micromag.apps.ubermag as mc  # noqa: E402
from micromag.apps.ubermag import _terms  # noqa: E402
from micromag.apps.ubermag._timefunc import TclProc, prefactor  # noqa: E402

MU0 = mm.consts.mu0
BACKENDS = ["cpu", "emulate"]


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # drives write <name>/drive-N folders


def _system(n, cell=(2e-9, 2e-9, 2e-9), Ms=8e5, regions=None):
    grid = mmg.Grid(n=n, cell=cell)
    if regions is None:
        return mmg.System(grid, material=mmg.Material(Ms=Ms))
    mats = {r: mmg.Material(Ms=Ms) for r in np.unique(regions)}
    return mmg.System(grid, regions=regions, materials=mats)


def _random_m(system, seed=1):
    rng = np.random.default_rng(seed)
    m = rng.normal(size=(1, 3) + system.grid.shape)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def _check_gradient(term, m, Ms):
    """B = −(1/(Ms V)) ∂E/∂m by central differences (h = 1e-6; E is a polynomial of degree <= 4 in m, so
    the difference error is ~h² relative: 1e-6 relative tolerance)."""
    V = term.grid.cell_volume
    B = term.field(m)
    h = 1e-6
    rng = np.random.default_rng(0)
    for _ in range(12):
        idx = (0, int(rng.integers(3))) + tuple(int(rng.integers(s)) for s in m.shape[2:])
        mp, mn = m.copy(), m.copy()
        mp[idx] += h
        mn[idx] -= h
        dE = (term.energy(mp)[0] - term.energy(mn)[0]) / (2 * h)
        assert -dE / (Ms * V) == pytest.approx(B[idx], rel=1e-6, abs=1e-9 * np.abs(B).max())


@pytest.mark.parametrize("backend", BACKENDS)
def test_uniaxial_k2_is_micromag_ku2_on_every_backend(backend):
    """UniaxialAnisotropy(K1, K2) maps to micromag's own uniaxial term with Ku2 (−K2 (m·u)⁴), which has a
    GPU kernel: the energy through the calculator is the closed form on both backends (reported with OOMMF's
    zero of the easy-axis K1 part, K1 sin²θ: + K1 V)."""
    mesh = _mesh()
    s = mm.System(name=f"k2_{backend}")
    s.energy = mm.UniaxialAnisotropy(K1=1e4, K2=2e4, u=(1, 0, 0))
    th = 0.7
    s.m = df.Field(mesh, nvdim=3, value=(math.cos(th), math.sin(th), 0), norm=8e5)
    E = mc.compute(s.energy.uniaxialanisotropy.energy, s, backend=backend, verbose=0)
    V = float(np.prod(mesh.n)) * float(np.prod(mesh.cell))
    c = math.cos(th)
    assert E == pytest.approx((1e4 * (1 - c**2) - 2e4 * c**4) * V, rel=1e-10)


def test_face_coupling_exchange_and_dmi_closed_forms():
    s = _system((2, 1, 1))
    dA = {0: np.full((1, 1, 1), -1e-12)}
    dD = {0: np.full((1, 1, 1), 3e-3)}
    m = _random_m(s, 3)
    V, dx = s.grid.cell_volume, s.grid.cell[0]
    ex = _terms.FaceCoupling(s, dA=dA)
    diff = m[0, :, 0, 0, 1] - m[0, :, 0, 0, 0]
    assert ex.energy(m)[0] == pytest.approx(-1e-12 * V * (diff @ diff) / dx**2, rel=1e-12)
    _check_gradient(ex, m, 8e5)
    dm = _terms.FaceCoupling(s, dD=dD)
    mi, mj = m[0, :, 0, 0, 0], m[0, :, 0, 0, 1]
    assert dm.energy(m)[0] == pytest.approx(V * 3e-3 / dx * (mi[2] * mj[0] - mi[0] * mj[2]), rel=1e-12)
    _check_gradient(dm, m, 8e5)


def test_face_coupling_dmi_matches_micromag_bulk_dmi():
    """ΔD on every face of a uniform sample is the bulk part of micromag's InterfacialDMI (whose edge
    boundary-condition terms vanish for A → ∞): the fields must agree in the interior cells."""
    from micromag.engine.terms.dmi import InterfacialDMI

    grid = mmg.Grid(n=(6, 5, 1), cell=(2e-9, 2e-9, 2e-9))
    s = mmg.System(grid, material=mmg.Material(Ms=8e5, A=1e30, D_ind=2e-3))
    m = _random_m(s, 5)
    ref = InterfacialDMI(s).field(m)
    dD = {0: np.full((1, 5, 5), 2e-3), 1: np.full((1, 4, 6), 2e-3)}
    mine = _terms.FaceCoupling(s, dD=dD).field(m)
    np.testing.assert_allclose(mine[..., 1:-1, 1:-1], ref[..., 1:-1, 1:-1], rtol=1e-12, atol=1e-12)


def test_two_surface_exchange_energy_and_field():
    s = _system((2, 3, 1))
    pairs = ((np.array([0, 0]), np.array([0, 0]), np.array([0, 1])),
             (np.array([0, 0]), np.array([2, 2]), np.array([0, 1])))
    t = _terms.TwoSurfaceExchange(s, pairs, axis=1, sigma=-1e-4, sigma2=3e-5)
    m = _random_m(s, 7)
    S = s.grid.cell[0] * s.grid.cell[2]
    p = (m[0, :, 0, 0, :2] * m[0, :, 0, 2, :2]).sum(0)
    assert t.energy(m)[0] == pytest.approx(S * (1e-4 * p - 3e-5 * p**2).sum(), rel=1e-12)
    _check_gradient(t, m, 8e5)


def _mesh(n=(4, 2, 1), cell=(2e-9, 2e-9, 2e-9), **kw):
    return df.Mesh(p1=(0, 0, 0), p2=tuple(a * b for a, b in zip(n, cell)), cell=cell, **kw)


def test_zeeman_units_and_effective_field():
    """E = −μ0 Ms H·m V_total, H_eff = H in A/m."""
    mesh = _mesh()
    s = mm.System(name="zee")
    s.energy = mm.Zeeman(H=(1e5, 0, 2e5))
    s.m = df.Field(mesh, nvdim=3, value=(0, 0, 1), norm=8e5)
    E = mc.compute(s.energy.zeeman.energy, s)
    assert E == pytest.approx(-MU0 * 8e5 * 2e5 * 8 * 8e-27, rel=1e-12)
    H = mc.compute(s.energy.zeeman.effective_field, s)
    np.testing.assert_allclose(H.mean(), (1e5, 0, 2e5), rtol=1e-12)
    mc.delete(s)


def test_dmi_sign_is_ubermags():
    """Ubermag's Cnv_z energy density is w = D (m·∇m_z − m_z ∇·m); for the cycloid
    m = (cos kx, 0, sin kx) it is D k in the continuum. Discretised with central differences each of the
    n − 1 faces of a chain carries V (D/dx) sin(k dx) (micromag's D_ind = −D); the edge boundary terms
    V (m·W)²/(4A) per free face vanish (m ⟂ W = D ŷ on the x faces): E = (n − 1) V D sin(k dx)/dx."""
    n, dx, D, k = 40, 1e-9, 3e-3, 2 * math.pi / 16e-9
    mesh = _mesh(n=(n, 1, 1), cell=(dx, dx, dx))
    s = mm.System(name="dmi")
    s.energy = mm.Exchange(A=1e-3) + mm.DMI(D=D, crystalclass="Cnv_z")
    s.m = df.Field(mesh, nvdim=3, value=lambda p: (math.cos(k * p[0]), 0, math.sin(k * p[0])), norm=8e5)
    E = mc.compute(s.energy.dmi.energy, s)
    assert E == pytest.approx((n - 1) * dx**3 * D * math.sin(k * dx) / dx, rel=1e-9)
    assert E == pytest.approx(D * k * n * dx**3, rel=0.05)  # and near the continuum value D k V
    mc.delete(s)


def test_time_functions():
    z = mm.Zeeman(H=(1, 0, 0), func="sin", f=1e9, t0=1e-10)
    g = prefactor(z, "z")
    assert g(0.35e-9)[0] == pytest.approx(math.sin(2 * math.pi * 1e9 * 0.25e-9), rel=1e-12)
    z = mm.Zeeman(H=(1, 0, 0), func="sinc", f=1e9, t0=0)
    assert prefactor(z, "z")(0.0)[0] == 1.0
    calls = []
    z = mm.Zeeman(H=(1, 0, 0), func=lambda t: calls.append(t) or 2.0, dt=1e-12)
    assert prefactor(z, "z")(3.4e-12)[0] == 2.0 and calls[-1] == pytest.approx(3e-12)  # sampled every dt


def test_tcl_procedures():
    pytest.importorskip("tkinter")
    p = TclProc({"script": "proc F { stage stage_time total_time } { return [list $stage $stage_time "
                           "[expr {2*$total_time}]] }", "script_name": "F",
                 "script_args": "stage stage_time total_time"}, "test")
    p.stage_length = 1e-10
    np.testing.assert_allclose(p(2.5e-10), [2, 0.5e-10, 5e-10], rtol=1e-12)
    with pytest.raises(ValueError, match="script_args"):
        TclProc({"script": "", "script_name": "F", "script_args": "time"}, "test")


def test_tcl_procedure_freed_in_another_thread():
    """A TclProc that the garbage collector frees in another thread (the Ubermag drivers' background writer,
    say) must not take the process down: Tcl aborts ("Tcl_AsyncDelete: async handler deleted by the wrong
    thread") when an interpreter is deleted by a thread other than the one that made it. Before each
    thread kept one interpreter, this killed about one run in three of Ubermag's calculator suite."""
    pytest.importorskip("tkinter")
    code = ("import gc, threading\n"
            "from micromag.apps.ubermag._timefunc import TclProc\n"
            "for _ in range(3):\n"
            "    p = TclProc({'script': 'set k 2; proc F { total_time } { global k; return [expr {$k*$total_time}] }',"
            " 'script_name': 'F'}, 't')\n"
            "    p.cycle = p\n"
            "    assert p(1.5)[0] == 3.0\n"
            "    del p\n"
            "t = threading.Thread(target=gc.collect)\n"
            "t.start(); t.join()\n"
            "print('ok')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       cwd=Path(__file__).resolve().parents[1])
    assert r.returncode == 0 and "ok" in r.stdout, r.stderr[-2000:]


def _small_system(name):
    mesh = _mesh(n=(6, 3, 2))
    s = mm.System(name=name)
    s.energy = mm.Exchange(A=1e-11) + mm.Demag() + mm.UniaxialAnisotropy(K=1e4, u=(1, 0, 0)) + \
        mm.Zeeman(H=(0, 4e4, 0))
    s.dynamics = mm.Precession(gamma0=2.211e5) + mm.Damping(alpha=0.2)
    s.m = df.Field(mesh, nvdim=3, value=(1, 0.3, 0.1), norm=8e5)
    return s


@pytest.mark.parametrize("backend", BACKENDS)
def test_drivers_on_each_backend_agree_with_micromag(backend):
    """MinDriver, then a TimeDriver, through the calculator on ``backend``, give what micromag's own API
    gives for the same problem (the Stoner-like tilt of the minimum and the dynamics after it)."""
    s = _small_system(f"drv_{backend}")
    mc.MinDriver(stopping_mxHxm=1e-3).drive(s, backend=backend, verbose=0)
    grid = mmg.Grid(n=(6, 3, 2), cell=(2e-9, 2e-9, 2e-9))
    mat = mmg.Material(Ms=8e5, A=1e-11, alpha=0.2, Ku1=1e4, anis_u=(1, 0, 0), gamma=2.211e5 / MU0)
    ref = mmg.Simulation(grid, material=mat, backend="cpu")
    ref.B_ext = (0, MU0 * 4e4, 0)
    ref.m = (1, 0.3, 0.1)
    ref.minimize(tol_torque=MU0 * 1e-3 * 1e-3, progress=False)
    got = np.asarray(s.m.orientation.mean())
    np.testing.assert_allclose(got, ref.m_avg, atol=1e-6)  # both converged to ~1e-9 relative torque
    assert s.table.x == "iteration" and float(s.table.data["max_mxHxm"].iloc[-1]) < 1e-3
    s.energy.zeeman.H = (0, -8e4, 0)
    mc.TimeDriver().drive(s, t=20e-12, n=4, backend=backend, verbose=0)
    ref.B_ext = (0, -MU0 * 8e4, 0)
    ref.run(20e-12, progress=False)
    np.testing.assert_allclose(np.asarray(s.m.orientation.mean()), ref.m_avg, atol=1e-5)  # tol 1e-5 steps
    t = s.table.data["t"].to_numpy()
    np.testing.assert_allclose(t, [5e-12, 10e-12, 15e-12, 20e-12], rtol=1e-12)
    E = s.table.data["E"].to_numpy()
    assert np.all(np.diff(E) < 0)  # damped motion in a static field loses energy
    mc.delete(s)


def test_cpu_only_terms_are_refused_on_the_gpu_backends():
    s = _small_system("pairs")
    r1 = df.Region(p1=(0, 0, 0), p2=(6e-9, 6e-9, 4e-9))
    r2 = df.Region(p1=(6e-9, 0, 0), p2=(12e-9, 6e-9, 4e-9))
    s.m = df.Field(df.Mesh(p1=(0, 0, 0), p2=(12e-9, 6e-9, 4e-9), cell=(2e-9, 2e-9, 2e-9),
                           subregions={"r1": r1, "r2": r2}), nvdim=3, value=(1, 0.3, 0.1), norm=8e5)
    # an explicit coupling between two subregions (OOMMF's "r1:r2" rule) has no GPU kernel
    s.energy = mm.Exchange(A={"r1": 1e-11, "r2": 2e-11, "r1:r2": 5e-12})
    with pytest.raises(NotImplementedError, match="backend='cpu'"):
        mc.MinDriver().drive(s, backend="emulate", verbose=0)
    mc.MinDriver().drive(s, verbose=0)  # 'auto' takes the CPU
    mc.delete(s)


def test_bad_input_is_a_clear_error():
    s = _small_system("bad")
    with pytest.raises(ValueError, match="ovf_format"):
        mc.MinDriver().drive(s, ovf_format="hdf5", verbose=0)
    with pytest.raises(TypeError, match="unexpected"):
        mc.MinDriver().drive(s, verbose=0, stopping=1)
    mc.delete(s)


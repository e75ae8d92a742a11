"""micromag.ubermag with periodic meshes, every DMI crystal class, macrospin cells, honest success flags and
oommfc's table columns; each against a closed form or Ubermag's own formula."""
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

df = pytest.importorskip("discretisedfield")
mm = pytest.importorskip("micromagneticmodel")

import micromag.ubermag as mc  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_dmi_classes import ubermag_density  # noqa: E402

import micromag as mmg  # noqa: E402

MS, A, D = 8e5, 1.3e-11, 2e-3
CLASSES = ["Cnv_x", "Cnv_y", "Cnv_z", "T", "O", "D2d_x", "D2d_y", "D2d_z", "Cnv", "D2d"]


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def smooth(pos):
    x, y, z = (p * 1e9 for p in pos)
    v = np.array([0.3 + math.cos(2 * math.pi * x / 12 + 0.4) + math.sin(2 * math.pi * y / 8),
                  math.sin(2 * math.pi * x / 12) + math.cos(2 * math.pi * z / 6 + 1.0),
                  0.5 + math.cos(2 * math.pi * y / 8 + 2.0) + math.sin(2 * math.pi * z / 6)])
    return v


@pytest.mark.filterwarnings("ignore:Use of `(Cnv|D2d)` is deprecated:FutureWarning")
@pytest.mark.parametrize("cc", CLASSES)
def test_dmi_class_energy_density_on_periodic_mesh_is_ubermags_formula(cc):
    """compute(DMI.density) on a fully periodic mesh equals Ubermag's formula of the class (the
    micromagneticmodel.DMI docstring, central differences), both signs included; the energy is its sum."""
    mesh = df.Mesh(p1=(0, 0, 0), p2=(12e-9, 8e-9, 6e-9), cell=(1e-9, 1e-9, 1e-9), bc="xyz")
    system = mm.System(name="dmi_pbc")
    system.energy = mm.Exchange(A=A) + mm.DMI(D=D, crystalclass=cc)
    system.m = df.Field(mesh, nvdim=3, value=smooth, norm=MS)
    dens = mc.compute(system.energy.dmi.density, system).array[..., 0]  # (nx, ny, nz)
    m = np.transpose(system.m.orientation.array, (3, 2, 1, 0))[None]  # micromag layout (1, 3, nz, ny, nx)
    grid = mmg.Grid(n=(12, 8, 6), cell=(1e-9,) * 3, pbc=(1, 1, 1))
    name = {"Cnv": "Cnv_z", "D2d": "D2d_z"}.get(cc, cc)
    want = np.transpose(ubermag_density(name, D, m, grid)[0], (2, 1, 0))
    assert np.max(np.abs(want)) > 1e4
    np.testing.assert_allclose(dens, want, rtol=0, atol=1e-10 * np.max(np.abs(want)))
    E = mc.compute(system.energy.dmi.energy, system)
    assert E == pytest.approx(want.sum() * 1e-27, rel=1e-10)


def test_periodic_exchange_helix_through_ubermag():
    """Mesh(bc="x"): a two-turn helix along x has the exchange energy V n 2A(1 − cos θ)/dx² (the wrap
    face included; the open mesh misses one face)."""
    n = 20
    energies = []
    for bc in ("x", ""):
        mesh = df.Mesh(p1=(0, 0, 0), p2=(n * 1e-9, 2e-9, 1e-9), cell=(1e-9, 1e-9, 1e-9), bc=bc)
        system = mm.System(name="helix")
        system.energy = mm.Exchange(A=A)
        th = 2 * 2 * math.pi / n
        system.m = df.Field(mesh, nvdim=3, norm=MS,
                            value=lambda p: (0, math.cos(th * (p[0] / 1e-9 - 0.5)), math.sin(th * (p[0] / 1e-9 - 0.5))))
        energies.append(mc.compute(system.energy.exchange.energy, system))
    V = n * 2 * 1e-27
    th = 4 * math.pi / n
    assert energies[0] == pytest.approx(V * 2 * A * (1 - math.cos(th)) / 1e-18, rel=1e-10)
    assert energies[1] == pytest.approx(energies[0] * (n - 1) / n, rel=1e-10)


def test_bulk_dmi_helix_relaxes_to_period_4piA_over_D():
    """Ubermag's bulk-DMI helix (the "T" class, periodic along x, MinDriver): the relaxed state turns by
    2π over L = 4πA/D, the helix period of the continuum theory (q = D/2A)."""
    n = 32
    L = n * 1e-9
    Db = 4 * math.pi * A / L
    mesh = df.Mesh(p1=(0, 0, 0), p2=(L, 1e-9, 1e-9), cell=(1e-9, 1e-9, 1e-9), bc="x")
    system = mm.System(name="helix_T")
    system.energy = mm.Exchange(A=A) + mm.DMI(D=Db, crystalclass="T")
    system.m = df.Field(mesh, nvdim=3, norm=MS, value=lambda p: (0.3, math.cos(2 * math.pi * p[0] / L),
                                                                  math.sin(2 * math.pi * p[0] / L + 0.5)))
    mc.MinDriver(stopping_mxHxm=0.01).drive(system, verbose=0)
    m = system.m.orientation.array[:, 0, 0, :]  # (nx, 3)
    ang = np.unwrap(np.angle(m[:, 1] + 1j * m[:, 2]))
    assert abs(ang[-1] - ang[0]) == pytest.approx(2 * math.pi * (n - 1) / n, rel=1e-5)
    assert np.max(np.abs(m[:, 0])) < 1e-4


def test_success_flag_tells_whether_the_criterion_was_met():
    """info.json's success is false (and a warning says why) when the MinDriver stops above stopping_mxHxm;
    true when it meets it."""
    mesh = df.Mesh(p1=(0, 0, 0), p2=(40e-9, 10e-9, 2e-9), cell=(2e-9, 2e-9, 2e-9))
    system = mm.System(name="succ")
    system.energy = mm.Exchange(A=A) + mm.Demag() + mm.Zeeman(H=(3e4, 1e4, 0))
    system.m = df.Field(mesh, nvdim=3, value=(0, 1, 0.2), norm=MS)
    with pytest.warns(RuntimeWarning, match="not converged"):
        mc.MinDriver(total_iteration_limit=3).drive(system, verbose=0)
    info = json.loads(Path("succ/drive-0/info.json").read_text())
    assert info["success"] is False and info["micromag"]["max_mxHxm"] > info["micromag"]["stopping_mxHxm"]
    mc.MinDriver().drive(system, verbose=0)
    info = json.loads(Path("succ/drive-1/info.json").read_text())
    assert info["success"] is True and info["micromag"]["max_mxHxm"] < 0.1


def test_macrospin_tutorial_one_metre_cell():
    """Ubermag's macrospin tutorial (one 1 m cell, Zeeman field, damped precession) runs with a warning
    about the cell size, and m_z follows the exact damped-macrospin solution
    tan(θ/2) = tan(θ0/2) exp(−α γ0 H t / (1 + α²)); the table's field column is in mT as OOMMF writes it."""
    H, alpha, g0 = 1e6, 0.1, 2.211e5
    mesh = df.Mesh(p1=(0, 0, 0), p2=(1, 1, 1), cell=(1, 1, 1))
    system = mm.System(name="macrospin")
    system.energy = mm.Zeeman(H=(0, 0, H))
    system.dynamics = mm.Precession(gamma0=g0) + mm.Damping(alpha=alpha)
    system.m = df.Field(mesh, nvdim=3, value=(1, 0, 1), norm=8e5)
    with pytest.warns(UserWarning, match="larger than 1 mm"):
        mc.TimeDriver().drive(system, t=0.1e-9, n=10, verbose=0)
    tab = system.table.data
    t = tab["t"].to_numpy()
    th = 2 * np.arctan(math.tan(math.pi / 8) * np.exp(-alpha * g0 * H * t / (1 + alpha**2)))
    np.testing.assert_allclose(tab["mz"].to_numpy(), np.cos(th), rtol=0, atol=2e-5)
    np.testing.assert_allclose(tab["Bz_zeeman"], 1e3 * mm.consts.mu0 * H, rtol=1e-9)  # mT (10 digits in the table)


def test_zhang_li_average_u_column():
    """With a Zhang–Li term the TimeDriver table has oommfc's average_u (m/s)."""
    mesh = df.Mesh(p1=(0, 0, 0), p2=(20e-9, 2e-9, 2e-9), cell=(2e-9, 2e-9, 2e-9), bc="x")
    system = mm.System(name="zl")
    system.energy = mm.Exchange(A=A)
    system.dynamics = mm.Precession(gamma0=2.211e5) + mm.Damping(alpha=0.3) + mm.ZhangLi(u=400.0, beta=0.3)
    system.m = df.Field(mesh, nvdim=3, norm=MS, value=lambda p: (math.cos(2 * math.pi * p[0] / 20e-9),
                                                                 math.sin(2 * math.pi * p[0] / 20e-9), 0))
    mc.TimeDriver().drive(system, t=2e-12, n=2, verbose=0)
    np.testing.assert_allclose(system.table.data["average_u"], 400.0, rtol=1e-12)


def test_relaxdriver_refuses_dmi_without_exchange_mindriver_runs():
    mesh = df.Mesh(p1=(0, 0, 0), p2=(20e-9, 1e-9, 1e-9), cell=(1e-9, 1e-9, 1e-9))
    system = mm.System(name="dmi_noex")
    system.energy = mm.DMI(D=1e-3, crystalclass="T")
    system.dynamics = mm.Damping(alpha=0.5)
    system.m = df.Field(mesh, nvdim=3, value=(0, 1, 1), norm=MS)
    with pytest.raises(RuntimeError, match="Exchange"):
        mc.RelaxDriver().drive(system, verbose=0)
    mc.MinDriver().drive(system, verbose=0)

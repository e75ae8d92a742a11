"""Device builders: SOT cell types, the rotation invariance of a built device, input checks, MTJ cells, and a
smoke run of the tilted beta-W example."""
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import micromag as mm
from micromag.apps import devices as dv
from micromag.engine.table import read_table

pytestmark = pytest.mark.usefixtures("each_backend")  # every test on backend cpu and emulate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_types_from_the_builder():
    kw = dict(size=(100e-9, 40e-9), thickness=1.5e-9, cell=5e-9)
    assert dv.SOTCell(**kw).type == "x"  # long axis along the current
    assert dv.SOTCell(tilt_deg=90, **kw).type == "y"
    assert dv.SOTCell(easy_axis="y", **kw).type == "y"
    assert dv.SOTCell(tilt_deg=45, **kw).type == "xy"
    assert dv.SOTCell(tilt_deg=-30, **kw).type == "xy"
    perp = mm.CoFeB_perpendicular(thickness=1.5e-9)
    assert dv.SOTCell(material=perp, **kw).type == "z"  # the material's anis_u = z
    assert dv.SOTCell(easy_axis="z", Ku1=8e5, tilt_deg=45, **kw).type == "z"
    # the type is the easy axis against the current: turning the whole device changes nothing
    assert dv.SOTCell(rotation_deg=90, **kw).type == "x"
    assert dv.SOTCell(rotation_deg=90, tilt_deg=45, **kw).type == "xy"
    assert dv.cell_type((1, 1, 0.1)) == "xy" and dv.cell_type((0.001, 1, 0)) == "y"


def test_built_simulation_has_sot_mtj_column_and_rotated_axis(tmp_path):
    c = dv.SOTCell(size=(60e-9, 24e-9), thickness=1.5e-9, cell=4e-9, tilt_deg=45, Ku1=2e4,
                   mtj=dict(RA_P=5e-12, TMR=1.5), J=mm.Pulse(5e11, width=20e-12), oersted=True)
    sim = c.build()
    assert "sot" in sim.terms and "oersted" in sim.terms
    r = 1 / math.sqrt(2)
    np.testing.assert_allclose(sim.system.materials[0].anis_u, (r, r, 0), atol=1e-12)
    assert sim.system.materials[0].Ku1 == 2e4
    np.testing.assert_allclose(sim.m_avg, (r, r, 0), atol=1e-12)  # starts along +easy axis
    np.testing.assert_allclose(sim.mtj.p_ref, (r, r, 0), atol=1e-12)  # p_ref = easy axis: starts parallel
    np.testing.assert_allclose(sim.terms["sot"].sigma[:, sim.system.magnetic].T, [[0, 1, 0]] * sim.system.magnetic.sum())
    assert sim.terms["sot"].theta == pytest.approx(mm.BetaW().theta_eff)
    sim.run(20e-12, out=tmp_path / "o", every=10e-12, progress=False)
    names, data = read_table(tmp_path / "o" / "table.txt")
    assert "R_MTJ" in names and "J_HM" in names
    R = data[:, names.index("R_MTJ")]
    assert R[0] == pytest.approx(sim.mtj.R_P, rel=1e-9)  # parallel at t = 0
    assert data[1, names.index("J_HM")] == pytest.approx(5e11)
    # fill fractions at the edges of the tilted ellipse
    f = sim.system.fill[0]
    assert np.any((f > 0) & (f < 1))


def _run_rotation(rot, tilt):
    c = dv.SOTCell(size=(40e-9, 20e-9), thickness=2e-9, cell=(4e-9, 4e-9, 2e-9), tilt_deg=tilt, rotation_deg=rot,
                   J=mm.Pulse(6e11, width=0.15e-9, rise=20e-12), xi_FL=0.3, B_ext=(0.0, 5e-3, 3e-3),
                   oersted=True, mtj=dict(RA_P=5e-12, TMR=1.5))
    sim = c.build()
    sim.run(0.3e-9, progress=False)
    return c, sim


def test_rotation_by_90_degrees_rotates_the_dynamics():
    """The same device at rotation 0 (current along x) and 90° (current along y): geometry, anisotropy axis,
    current, field all turned together. With dx = dy and a grid centred on the origin, a 90° turn maps cell
    centres (and the fill sub-samples) onto each other exactly, so the discretized problem is the same one,
    rotated; what is left is round-off (measured: 3e-14): the Newell tensor evaluated with swapped arguments, transposed FFT
    sizes, the conduction solve of the turned line (the unturned one is analytic) feeding the Oersted field.
    Those are ~1e-13 relative; over 0.3 ns of adaptive RK45 they stay far below the 1e-8 asked here (a
    discretization error, by contrast, would show at 1e-2)."""
    cA, A = _run_rotation(0.0, 0.0)
    cB, B = _run_rotation(90.0, 0.0)
    assert cA.type == cB.type == "x"
    assert B.grid.n == (A.grid.n[1], A.grid.n[0], A.grid.n[2])
    # the cell (j, i) of A sits at (x_i, y_j); turned by 90° it is at (−y_j, x_i), B's cell (i, ny − 1 − j)
    rot = lambda a: np.swapaxes(a, -1, -2)[..., ::-1]  # noqa: E731
    np.testing.assert_array_equal(B.system.fill, rot(A.system.fill))
    mA, mB = A.m[0], B.m[0]
    expect = np.stack([-rot(mA[1]), rot(mA[0]), rot(mA[2])])
    assert np.abs(mA[:, A.system.magnetic].mean(axis=1) - mA[:, A.system.magnetic][:, 0]).max() > 1e-3  # not uniform
    assert np.abs(A.m_avg - (1, 0, 0)).max() > 0.01  # something happened (m_y ≈ −0.018 here)
    err = np.abs(mB - expect).max()
    assert err < 1e-8, err
    assert A.t == pytest.approx(B.t)
    ra = A.mtj.resistance(A.m)[0]
    assert B.mtj.resistance(B.m)[0] == pytest.approx(ra, rel=1e-9)


def test_bad_inputs():
    with pytest.raises(ValueError, match="thickness"):
        dv.SOTCell(thickness=-1e-9)
    with pytest.raises(ValueError, match="thickness"):
        dv.SOTCell(heavy_metal=mm.BetaW(thickness=-5e-9))
    with pytest.raises(ValueError, match=r"theta_sh.*\(-1"):
        dv.SOTCell(heavy_metal=mm.HeavyMetal(theta_sh=1.3, resistivity=2e-6, thickness=5e-9))
    with pytest.raises(ValueError, match=r"theta_sh.*\(-1"):
        dv.SOTCell(heavy_metal=mm.BetaW(theta_sh=-1.0))
    with pytest.raises(ValueError, match="does not touch the free layer"):
        dv.SOTCell(size=(60e-9, 24e-9), line_width=10e-9, line_offset=200e-9)
    with pytest.raises(ValueError, match="does not touch the free layer"):
        dv.SOTCell(size=(60e-9, 24e-9), line_width=10e-9, line_offset=30e-9, solve_conduction=True)
    # a 45° tilt of a 100 × 40 nm ellipse needs ~ 80 nm of line; 45 nm holds it only untilted
    dv.SOTCell(size=(100e-9, 40e-9), line_width=45e-9, tilt_deg=0)
    with pytest.raises(ValueError, match="off the line"):
        dv.SOTCell(size=(100e-9, 40e-9), line_width=45e-9, tilt_deg=45)
    with pytest.raises(ValueError, match="off the line"):
        dv.SOTCell(size=(100e-9, 40e-9), line_width=45e-9, tilt_deg=45, rotation_deg=90, solve_conduction=True)
    with pytest.raises(ValueError, match="easy_axis"):
        dv.SOTCell(easy_axis="diagonal")
    with pytest.raises(ValueError, match="RA_P"):
        dv.SOTCell(mtj=dict(RA_P=-1e-12, TMR=1.0))
    with pytest.raises(ValueError, match="not a whole number"):
        dv.SOTCell(thickness=1.5e-9, cell=(4e-9, 4e-9, 1e-9))
    with pytest.raises(TypeError):
        dv.SOTCell(heavy_metal="W")


def test_write_energy_of_a_rectangular_pulse():
    hm = mm.BetaW(thickness=4e-9)
    c = dv.SOTCell(size=(60e-9, 24e-9), heavy_metal=hm, J=mm.Pulse(5e11, width=1e-9), line_length=100e-9)
    w = c.line_width
    E = hm.resistivity * (5e11) ** 2 * w * hm.thickness * 100e-9 * 1e-9  # ρ J² × volume × τ
    assert c.write_energy() == pytest.approx(E, rel=1e-3)
    assert c.line_current(5e11) == pytest.approx(5e11 * w * hm.thickness)
    # the solved line carries the same current at the same J (a straight stripe is uniform)
    s = dv.SOTCell(size=(60e-9, 24e-9), heavy_metal=hm, J=mm.Pulse(5e11, width=1e-9), solve_conduction=True)
    assert s.line_current(5e11) == pytest.approx(c.line_current(5e11), rel=1e-6)


def test_solved_line_matches_uniform_stripe():
    kw = dict(size=(40e-9, 20e-9), thickness=2e-9, cell=(4e-9, 4e-9, 2e-9), tilt_deg=30,
              J=mm.Pulse(6e11, width=0.1e-9), B_ext=(0, 5e-3, 0))
    a = dv.SOTCell(**kw).build()
    b = dv.SOTCell(solve_conduction=True, **kw).build()
    a.run(0.1e-9, progress=False)
    b.run(0.1e-9, progress=False)
    assert np.abs(a.m - b.m).max() < 1e-6


def test_mtj_cell_stt_and_vcma_terms():
    c = dv.MTJCell(size=(40e-9, 40e-9), thickness=1.5e-9, mtj=dict(RA_P=2e-12, TMR=1.5, t_ox=1.2e-9),
                   V=mm.Pulse(-0.5, width=1e-10), xi_vcma=1e-13, m0_tilt_deg=5)
    sim = c.build()
    assert {"stt", "vcma", "anisotropy_uniaxial"} <= set(sim.terms)
    assert sim.m_avg[2] == pytest.approx(math.cos(math.radians(5)), rel=1e-9)
    A = c.area
    assert A == pytest.approx(math.pi * 20e-9 ** 2, rel=0.05)
    assert c.capacitance == pytest.approx(dv.EPS0 * 9.8 * A / 1.2e-9)
    assert c.cv2_energy(1.0) == pytest.approx(c.capacitance)
    assert [n for n, _, _ in sim._extra_columns] == ["R_MTJ", "V_MTJ", "I_MTJ"]
    assert sim.terms["vcma"].t_ox == 1.2e-9
    s = dv.STTCell(size=(40e-9, 40e-9), thickness=1.5e-9).build()
    assert "stt" in s.terms and "vcma" not in s.terms


def test_relax_switches_drives_off():
    c = dv.SOTCell(size=(40e-9, 20e-9), thickness=2e-9, cell=(4e-9, 4e-9, 2e-9), tilt_deg=45,
                   J=mm.Pulse(2e12, width=1e-9, start=1e-9))
    sim = c.build(relax=True)
    r = 1 / math.sqrt(2)
    assert sim.t == 0.0
    assert abs(sim.m_avg @ np.array([r, r, 0])) > 0.95  # still along the easy axis, not driven by the pulse
    assert sim.terms["sot"].J is c.J


def test_tilted_example_quick(tmp_path):
    out = tmp_path / "sot"
    r = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "sot_tilted_betaW.py"), "--quick",
                        "--out", str(out)], capture_output=True, text=True, timeout=120, cwd=ROOT,
                       env={**os.environ, "MICROMAG_OUT": ""})
    assert r.returncode == 0, r.stderr[-2000:]
    for f in ("table.txt", "m_t.png", "R_t.png"):
        assert (out / f).exists(), f
    names, _ = read_table(out / "table.txt")
    assert "R_MTJ" in names
    assert "switching time" in r.stdout and "write energy" in r.stdout

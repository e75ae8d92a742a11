"""Adding a term touches only its own files: a new term defined here (its Python class and its CUDA twin,
written next to it) runs on both backends without any change to micromag/engine/backends or gpu_kernels.

Two plug-ins. The first (exchange bias) has only term constants; the second (interface anisotropy, below)
declares a NEW MATERIAL parameter and goes through everything derived from the registry: ``Material``'s
keywords, validation and docs, the per-region tables, the NumPy energy from its ``energy_rule``, the guard's
field scales, the energy-barrier clone and the README's parameter table, on both backends — touching only its
three places: the class, its kernel and one ``register`` call.

The term: an exchange-bias field from an antiferromagnet at the interface, per unit area J_eb (J/m²) over
a free layer of thickness t_F, along p:

    B = J_eb / (Ms t_F) p      (T),        e = −(J_eb / t_F) m·p      (J/m³; the "linear" energy rule)

Checked against the closed forms: the field, the energy, and the equilibrium of a macrospin in an applied
field B_x across the bias (m ∥ (B_x, 0, B_eb), B_eb = J_eb/(Ms t_F)).
"""
import math
import shutil

import numpy as np
import pytest

import gpu_kernels as gk
import micromag as mm
from micromag.terms import CONSTANT, Param, Term, registered

KERNEL = r"""// exchange_bias.cuh -- a plug-in term (tests/test_term_contract.py): B = h / Ms p, h = J_eb / t_F
#pragma once
__device__ __forceinline__ vec3 exchange_bias_field(const Cell& x) {
    return scale3(MM_CONST(x, MM_S_EXCHANGE_BIAS_H) / MM_PARAM(x, MM_P_MS), MM_CONST3(x, MM_S_EXCHANGE_BIAS_P));
}
"""

J_EB, T_F, MS = 1.2e-3, 2e-9, 1e6
B_EB = J_EB / (MS * T_F)  # 0.6 T


@pytest.fixture(scope="module")
def ExchangeBias(tmp_path_factory):
    path = tmp_path_factory.mktemp("plugin") / "exchange_bias.cuh"
    path.write_text(KERNEL)

    class ExchangeBias(Term):
        """Exchange bias: B = J_eb/(Ms t_F) p (T), e = −(J_eb/t_F) m·p (J/m³)."""

        name = "exchange_bias"
        kernel = str(path)
        energy_rule = "linear"
        parameters = (Param("h", "J/m³", CONSTANT, "J_eb / t_F"),
                      Param("p", "", CONSTANT, "bias direction", size=3))

        def __init__(self, system, J_eb, p, t_F):
            super().__init__(system)
            self.h = float(J_eb) / float(t_F)
            self.p = np.asarray(p, float) / np.linalg.norm(p)
            self.prepare()

        def prepare(self):
            Ms = self.system.param("Ms")
            self._c = np.divide(self.h, Ms, out=np.zeros_like(Ms), where=self.system.magnetic)

        def add_field(self, m, t, B):  # the energy, −Ms m·B, follows from the "linear" rule
            B += self._c[None, None] * self.p[None, :, None, None, None]

        def device_constants(self):
            return {"h": self.h, "p": tuple(self.p)}

    return ExchangeBias


def macrospin(backend):
    grid = mm.Grid(n=(1, 1, 1), cell=(4e-9, 4e-9, T_F))
    return mm.Simulation(grid, material=mm.Material(Ms=MS, alpha=0.5), demag=False, backend=backend)


@pytest.mark.parametrize("backend", ["cpu", "emulate"])
def test_a_new_term_runs_on_both_backends(ExchangeBias, backend):
    if backend == "emulate" and shutil.which("g++") is None:
        pytest.skip("needs g++")
    sim = macrospin(backend)
    term = sim.add(ExchangeBias(sim.system, J_EB, (0, 0, 1), T_F))
    sim.m = (1, 0, 0)
    np.testing.assert_allclose(sim.effective_field()[0, :, 0, 0, 0], [0, 0, B_EB], rtol=1e-12)
    V = sim.grid.cell_volume
    sim.m = (0.6, 0, 0.8)
    assert sim.energies()["exchange_bias"] == pytest.approx(-J_EB / T_F * 0.8 * V, rel=1e-12)
    Bx = 0.35
    sim.B_ext = (Bx, 0, 0)
    sim.relax(progress=False, tol_torque=1e-7)
    theta = math.atan2(Bx, B_EB)
    np.testing.assert_allclose(sim.m_avg, [math.sin(theta), 0, math.cos(theta)], atol=1e-7)
    assert term in sim.terms.values()


def test_the_backend_learns_the_term_from_its_declaration(ExchangeBias):
    """The kernel layout (constant columns, the term list, its file) comes from the class alone."""
    from micromag.terms import material_parameters

    lay = gk.layout([(ExchangeBias, ())], material_parameters())
    d = lay.defines()
    assert d["MM_S_EXCHANGE_BIAS_H"] == 0 and d["MM_S_EXCHANGE_BIAS_P"] == 1 and lay.nconst == 4
    assert "X(exchange_bias)" in d["MM_FIELD_TERMS(X)"] and lay.includes[-1] == ExchangeBias.kernel
    assert "exchange_bias" not in [c.name for c in registered()]  # nothing global was touched


def test_a_new_term_compiles_with_nvrtc(ExchangeBias):
    try:
        from micromag.engine.backends.nvrtc_check import RUNTIME_OPTIONS, compile_with_log, load_nvrtc

        load_nvrtc()
    except ImportError as exc:
        pytest.skip(f"NVRTC not available: {exc}")
    from micromag.terms import material_parameters

    lay = gk.layout([(ExchangeBias, ())], material_parameters())
    for f in ("llg_rhs.cu", "rk_stage.cu"):
        binary, log = compile_with_log(gk.assemble(f, lay.defines(), lay.includes), "sm_90", RUNTIME_OPTIONS, f)
        assert len(binary) > 0 and "warning" not in log.lower(), log


# ---------------------------------------------------------------------------------------------------------
# A plug-in term with a new material parameter: the perpendicular anisotropy of the bottom interface,
#
#     e = −(Ks / dz) m_z²  (J/m³)  on the magnetic cells with no magnetic cell below,  B = (2 Ks / (Ms dz)) m_z ẑ
#
# Ks in J/m² (a new Material keyword). Its volume equivalent in a film of one cell's thickness t = dz is
# Ku1 = Ks / t, the folding micromag.CoFeB_perpendicular applies (Ikeda et al., Nat. Mater. 9, 721 (2010)),
# and a single-domain cell reverses over the Stoner–Wohlfarth barrier K V = Ks · dx · dy.

INTERFACE_KERNEL = r"""// interface_anisotropy.cuh -- plug-in term (tests/test_term_contract.py): perpendicular anisotropy
// of the bottom interface, Ks (J/m^2, material column MM_P_KS) on cells with no magnetic cell below (-z neighbour):
//   B = (2 Ks / (Ms dz)) m_z z   (T);   energy by the "quadratic" rule, -(Ks/dz) m_z^2 (J/m^3)
#pragma once
__device__ __forceinline__ vec3 interface_anisotropy_field(const Cell& x) {
    if (x.nbr.r[4] >= 0) return mk3(0, 0, 0);
    return mk3(0, 0, (real)2 * MM_PARAM(x, MM_P_KS) * x.g.idz / MM_PARAM(x, MM_P_MS) * x.m.z);
}
"""

KS = 1.3e-3  # J/m², CoFeB/MgO (Ikeda et al. 2010)


@pytest.fixture
def InterfaceAnisotropy(tmp_path_factory):  # registered for one test only: nothing global outlives it
    from micromag.terms import MATERIAL, register, unregister

    path = tmp_path_factory.mktemp("plugin") / "interface_anisotropy.cuh"
    path.write_text(INTERFACE_KERNEL)

    class InterfaceAnisotropy(Term):
        """Bottom-interface anisotropy: B = 2 Ks/(Ms dz) m_z ẑ (T) on the interface cells, e = −(Ks/dz) m_z²."""

        name = "interface_anisotropy"
        kernel = str(path)
        energy_rule = "quadratic"  # the NumPy energy follows from add_field; no energy_density written
        needs_neighbours = True
        parameters = (Param("Ks", "J/m²", MATERIAL, "interface anisotropy of the bottom surface"),)

        @classmethod
        def auto(cls, system, **options):
            return cls(system) if system.any_nonzero("Ks") else None

        def __init__(self, system):
            super().__init__(system)
            self.prepare()

        def prepare(self):
            mag = self.system.magnetic
            below = np.zeros_like(mag)
            below[1:] = mag[:-1]
            Ms = self.system.param("Ms")
            c = np.divide(2 * self.system.param("Ks"), Ms * self.grid.cell[2], out=np.zeros_like(Ms), where=mag)
            self._c = np.where(mag & ~below, c, 0.0)

        def add_field(self, m, t, B):
            B[:, 2] += self._c * m[:, 2]

    register(InterfaceAnisotropy)
    yield InterfaceAnisotropy
    unregister(InterfaceAnisotropy.name)


def film_cell(backend, **material):
    grid = mm.Grid(n=(1, 1, 1), cell=(5e-9, 4e-9, 1.2e-9))
    return mm.Simulation(grid, material=mm.Material(Ms=MS, alpha=0.5, **material), demag=False, backend=backend)


def test_a_new_material_parameter_is_a_material_keyword(InterfaceAnisotropy):
    mat = mm.Material(Ms=MS, Ks=KS)
    assert mat.Ks == KS and mat.with_(Ks=2e-3).Ks == 2e-3 and mm.Material(Ms=MS).Ks == 0.0
    assert "Ks" in mm.Material.parameter_names() and "interface_anisotropy" in mm.Material.__doc__
    with pytest.raises(ValueError, match=r"Ks = nan is outside the allowed range \(-inf, inf\) J/m²"):
        mm.Material(Ms=MS, Ks=float("nan"))
    # the per-region table of a two-region sample (region 1 has another Ks) and the guard's field scale
    grid = mm.Grid(n=(2, 1, 1), cell=(5e-9, 4e-9, 1.2e-9))
    sim = mm.Simulation(grid, material=mm.Material(Ms=MS, Ks=KS), regions=np.array([[[0, 1]]]),
                        materials={1: mm.Material(Ms=MS, Ks=-KS / 2)}, demag=False)
    np.testing.assert_array_equal(sim.system.table("Ks"), [KS, -KS / 2])
    assert "interface_anisotropy" in sim.terms  # built from the materials (its auto)
    from micromag.engine.guard import parameter_fields

    scales = parameter_fields(sim)
    assert scales["interface_anisotropy (2|Ks|/(Ms d))"] == pytest.approx(2 * KS / (MS * 1.2e-9))
    from micromag.engine.materials import parameter_table

    assert "| `Ks` | J/m² | (-inf, inf) | 0 | interface_anisotropy |" in parameter_table()


@pytest.mark.parametrize("backend", ["cpu", "emulate"])
def test_a_material_parameter_term_runs_through_the_derived_places(InterfaceAnisotropy, backend):
    if backend == "emulate" and shutil.which("g++") is None:
        pytest.skip("needs g++")
    sim = film_cell(backend, Ks=KS)
    t = sim.grid.cell[2]
    V = sim.grid.cell_volume
    sim.m = (0.6, 0, 0.8)
    np.testing.assert_allclose(sim.effective_field()[0, :, 0, 0, 0], [0, 0, 2 * KS / (MS * t) * 0.8], rtol=1e-12)
    # the energy comes from the declared rule (the class has no energy_density); the folded volume
    # anisotropy Ku1 = Ks/t of the same cell has the same energy
    assert sim.energies()["interface_anisotropy"] == pytest.approx(-KS / t * 0.64 * V, rel=1e-12)
    folded = film_cell(backend, Ku1=KS / t, anis_u=(0, 0, 1))
    folded.m = (0.6, 0, 0.8)
    assert folded.energy() == pytest.approx(sim.energy(), rel=1e-12)
    # energy barrier (mm.energy_barrier works on a clone of sim): Stoner–Wohlfarth K V = Ks dx dy
    path = mm.energy_barrier(sim, (0, 0, 1), (0, 0, -1), images=7, progress=False)
    assert path.converged
    assert path.barrier == pytest.approx(mm.barrier.coherent_barrier(KS / t, V), rel=1e-6)
    assert path.barrier == pytest.approx(KS * 5e-9 * 4e-9, rel=1e-6)
    # a material change reaches the term (sim.Ks is derived like sim.Ku1)
    sim.Ks = 2 * KS
    sim.m = (0.6, 0, 0.8)
    assert sim.energies()["interface_anisotropy"] == pytest.approx(-2 * KS / t * 0.64 * V, rel=1e-12)


def test_an_unregistered_parameter_is_no_material_keyword(InterfaceAnisotropy):
    from micromag.terms import register, unregister

    unregister(InterfaceAnisotropy.name)
    try:
        with pytest.raises(TypeError, match="Ks"):
            mm.Material(Ms=MS, Ks=KS)
        assert "Ks" not in mm.Material.parameter_names()
    finally:
        register(InterfaceAnisotropy)
    assert mm.Material(Ms=MS, Ks=KS).Ks == KS


def test_a_conflicting_declaration_is_refused(InterfaceAnisotropy):
    from micromag.terms import MATERIAL, register

    class Clash(Term):
        name = "clash"
        kernel = None
        parameters = (Param("Ks", "J/m³", MATERIAL, "another Ks"),)

    with pytest.raises(ValueError, match="'Ks' differently from term 'interface_anisotropy'"):
        register(Clash)

    class Shadow(Term):
        name = "shadow"
        kernel = None
        parameters = (Param("Tc", "K", MATERIAL, "a Curie temperature"),)

    with pytest.raises(ValueError, match="'Tc', which is a field of Material"):
        register(Shadow)
    assert "shadow" not in [c.name for c in registered()] and mm.Material(Ms=MS, Tc=500.0).Tc == 500.0


def test_readme_layout_example_is_the_generators_output():
    """gpu_kernels/README.md shows the defines layout() generates for a SOT cell and the fused code the
    preprocessor makes of them: both regenerated here (the preprocessed lines with g++ -E where it exists)."""
    import re
    import subprocess
    from pathlib import Path

    from micromag.terms import REGISTRY, material_parameters, term_class

    assert [c.name for c in registered()] == list(REGISTRY), "a plug-in term is still registered"
    readme = (Path(gk.__file__).parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Reading a fused kernel"):readme.index("### The registered terms")]
    blocks = re.findall(r"```c\n(.*?)```", section, re.S)
    lay = gk.layout([(term_class(n), ()) for n in ("exchange", "anisotropy_uniaxial", "zeeman", "sot")],
                    material_parameters())
    source = gk.assemble("llg_rhs.cu", lay.defines(), lay.includes)
    head = []
    for line in source.splitlines():
        if head and not line.startswith("#define "):
            break
        head.append(line)
    assert blocks[0].strip() == "\n".join(head)
    sot = (Path(gk.__file__).parent / "sot.cuh").read_text()
    assert blocks[1].strip() == sot[sot.index("__device__"):].strip()
    if shutil.which("g++") is None:
        return
    pre = subprocess.run(["g++", "-E", "-P", "-x", "c++", "-"], input=source, capture_output=True, text=True,
                         check=True).stdout
    squash = lambda t: re.sub(r"\s+", " ", t)  # noqa: E731
    for line in blocks[2].splitlines():
        if line.strip() and not line.startswith("//"):
            assert squash(line.strip()) in squash(pre), line


def test_the_ubermag_layer_runs_with_a_new_material_parameter(InterfaceAnisotropy, tmp_path, monkeypatch):
    """The Ubermag layer builds its Materials by keyword, so a registered term's new parameter takes its
    declared default there. It cannot map the plug-in itself: Ubermag's energy terms are a fixed set of
    micromagneticmodel classes (a user has no Ubermag class for a micromag plug-in), and each class carries
    its own conventions (D's sign, K vs K1/K2, crystal classes, couplings between subregions), translated
    class by class in micromag/apps/ubermag/_model.py."""
    df = pytest.importorskip("discretisedfield")
    umm = pytest.importorskip("micromagneticmodel")
    import micromag.ubermag as mc

    monkeypatch.chdir(tmp_path)
    K, Ms = 4e5, 8e5
    mesh = df.Mesh(p1=(0, 0, 0), p2=(5e-9, 4e-9, 1.2e-9), cell=(5e-9, 4e-9, 1.2e-9))
    system = umm.System(name="plugin_ubermag")
    system.energy = umm.UniaxialAnisotropy(K=K, u=(0, 0, 1))
    system.m = df.Field(mesh, nvdim=3, value=(0.6, 0, 0.8), norm=Ms)
    # closed form: e = −K (m·u)² = −0.64 K over the one cell
    assert mc.compute(system.energy.energy, system) == pytest.approx(-K * 0.64 * 5e-9 * 4e-9 * 1.2e-9, rel=1e-12)

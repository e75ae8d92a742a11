"""Adding a term touches only its own files: a new term defined here (its Python class and its CUDA twin,
written next to it) runs on both backends without any change to micromag/backends or gpu_kernels.

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
from micromag.terms import registered
from micromag.terms.base import CONSTANT, Param, Term

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

        def add_field(self, m, t, B):
            B += self._c[None, None] * self.p[None, :, None, None, None]

        def energy_density(self, m, t):
            return -self.h * np.einsum("bcijk,c->bijk", m, self.p) * (self.system.fill * self.system.magnetic)

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
        from micromag.backends.nvrtc_check import RUNTIME_OPTIONS, compile_with_log, load_nvrtc

        load_nvrtc()
    except ImportError as exc:
        pytest.skip(f"NVRTC not available: {exc}")
    from micromag.terms import material_parameters

    lay = gk.layout([(ExchangeBias, ())], material_parameters())
    for f in ("llg_rhs.cu", "rk_stage.cu"):
        binary, log = compile_with_log(gk.assemble(f, lay.defines(), lay.includes), "sm_90", RUNTIME_OPTIONS, f)
        assert len(binary) > 0 and "warning" not in log.lower(), log

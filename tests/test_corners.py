"""Retention and read disturb at every temperature (micromag.apps.corners): the VCMA of the read bias lowers Δ and
Ic0 during the read, by hand from the formulas of the module docstring."""
import math

import pytest

from micromag.apps import corners
from micromag.apps import retention as ret


def test_vcma_read_lowering_and_rows_by_hand():
    dK = corners.vcma_read_lowering(1e-13, -0.1, 1e-9, 1.3e-9)
    assert dK == pytest.approx(1e-13 * 0.1 / (1e-9 * 1.3e-9))  # the worst-case polarity
    read = {"I_read_A": 2e-6, "t_read_s": 10e-9, "n_reads": 1e12, "budget": 1e-9, "dK_J_per_m3": dK}
    rt = {"years": 10.0, "n_bits": 1 << 20, "fail_budget": 1e-6, "tau0": 1e-9}
    rows = corners.corner_rows([{"T_K": 300.0, "delta": 80.0, "K_eff_J_per_m3": 2.5e5},
                                {"T_K": 423.15, "delta": 52.0, "K_eff_J_per_m3": 1.8e5}], read, rt,
                               Ic0_op=40e-6, K_eff_op=2.5e5)
    for r, (D, K) in zip(rows, ((80.0, 2.5e5), (52.0, 1.8e5))):
        dV = D * (K - dK) / K
        Ic0 = 40e-6 * (K - dK) / 2.5e5
        i = 2e-6 / Ic0
        assert r["delta_during_read"] == pytest.approx(dV) and r["I_over_Ic0"] == pytest.approx(i)
        P = -math.expm1(-1e12 * 10e-9 / 1e-9 * math.exp(-dV * (1 - i) ** 2))
        assert r["P_disturb_n_reads"] == pytest.approx(P, rel=1e-9)
        v = ret.retention_verdict(D, T=r["T_K"], years=10.0, n_bits=1 << 20, fail_budget=1e-6)
        assert r["retention_passes"] == v.passes and r["delta_required"] == pytest.approx(v.delta_required)
    # a read bias that cancels the anisotropy writes the bit
    big = dict(read, dK_J_per_m3=3e5)
    assert corners.corner_rows([{"T_K": 300.0, "delta": 80.0, "K_eff_J_per_m3": 2.5e5}], big, rt, 40e-6,
                               2.5e5)[0]["P_disturb_n_reads"] == 1.0
    with pytest.raises(ValueError, match="t_ox and t_F"):
        corners.vcma_read_lowering(1e-13, 0.1, 0.0, 1e-9)

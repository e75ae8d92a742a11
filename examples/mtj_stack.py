"""A perpendicular MTJ as a whole stack: hard layer / Ru / reference layer (a SAF) / MgO / free layer.

Builds the stack in one simulation (micromag.Stack), then reports what the rest of the stack does to the
free layer (micromag.apps.stack_report): the offset field (with the SAF, and with the reference layer alone), the
thermal stability of the P and AP states, the STT critical currents both ways, the SAF's spin-flop field, and
relaxes the whole stack (every layer dynamic) from its as-built state.

    python examples/mtj_stack.py            # 40 nm pillar
    python examples/mtj_stack.py --quick    # 20 nm pillar, coarser (seconds)
    python examples/mtj_stack.py --simulate # also Δ_P, Δ_AP from minimum-energy paths (minutes)
"""
import argparse

import numpy as np

import micromag as mm
from micromag.apps import stack_report as sr
from micromag.apps.stack import Stack, StackLayer as L, layer_average


def build(diameter, cell, with_hard=True):
    # Co/Pt-like hard layer and CoFeB reference/free layers; J1 = −1 mJ/m² across 0.5 nm Ru (an AF peak of
    # Ru; Parkin, Phys. Rev. Lett. 67, 3598 (1991) gives the oscillation, magnitudes 0.5-5 mJ/m²)
    hard = mm.Material(Ms=1.0e6, A=1.5e-11, Ku1=1.0e6, alpha=0.1, name="Co/Pt")
    ref = mm.CoFeB_perpendicular(thickness=1.0e-9, Ki=1.3e-3)
    free = mm.CoFeB_perpendicular(thickness=1.5e-9, Ki=1.3e-3)
    layers = [L("HL", 3.0e-9, "hard", hard, m0=(0, 0, -1)), L("Ru", 0.5e-9, "spacer", J1=-1.0e-3)] if with_hard else []
    layers += [L("RL", 1.0e-9, "reference", ref, m0=(0, 0, 1)), L("MgO", 1.0e-9, "barrier"),
               L("FL", 1.5e-9, "free", free), L("cap", 1.0e-9, "cap")]
    return Stack(layers, diameter=diameter, cell=cell)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--simulate", action="store_true")
    a = ap.parse_args()
    D, cell = (20e-9, 2.5e-9) if a.quick else (40e-9, 2e-9)
    st = build(D, cell)
    print(st)
    off = sr.offset_field(st)
    alone = sr.offset_field(build(D, cell, with_hard=False))
    print(f"offset field on the free layer: {off.mean[2] * 1e3:+.2f} mT with the SAF, "
          f"{alone.mean[2] * 1e3:+.2f} mT from the reference layer alone")
    fz = off.map[2][st.free_mask()[off.planes[0]:off.planes[1]]]
    print(f"  across the free layer: {fz.min() * 1e3:+.2f} … {fz.max() * 1e3:+.2f} mT")
    ms = sr.free_layer_macrospin(st)
    print(f"free layer: K_eff = {ms.K_eff:.4g} J/m³, B_K = {ms.B_K:.4g} T, V = {ms.V:.4g} m³")
    d = sr.delta_P_AP(st, T=300.0, simulate=a.simulate, backend="cpu")
    print(f"Δ(300 K), macrospin: P {d['macrospin']['P']:.2f}, AP {d['macrospin']['AP']:.2f} (h = {d['h']:+.4f})")
    if a.simulate:
        print(f"Δ(300 K), minimum-energy path: P {d['simulated']['P']:.2f}, AP {d['simulated']['AP']:.2f}")
    ic = sr.critical_currents(st)
    print(f"Ic0: P→AP {ic['P->AP'] * 1e6:.2f} µA, AP→P {ic['AP->P'] * 1e6:.2f} µA")
    print(f"SAF spin-flop field (two macrospins, own shape anisotropy): {sr.saf_spin_flop_field(st, 'HL', 'RL'):.3f} T")
    sim = st.simulation(backend="cpu", m=st.initial_m() + np.array([0.1, 0, 0]).reshape(3, 1, 1, 1))
    sim.relax(progress=False, tol_torque=1e-4)  # the whole stack, every layer dynamic, from a 6° tilt
    hl, rl = layer_average(sim, st, "HL"), layer_average(sim, st, "RL")
    print(f"relaxed as built: <m_z> HL {hl[2]:+.3f}, RL {rl[2]:+.3f}, FL {layer_average(sim, st, 'FL')[2]:+.3f}; "
          f"m_HL·m_RL = {float(np.dot(hl, rl)):+.3f}")

if __name__ == "__main__":
    main()

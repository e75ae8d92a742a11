r"""The sign-off report of an MRAM cell: ``micromag cell SPEC.toml --out DIR`` and ``mm.cell_report(...)``.

From a TOML description of the cell (write route STT, SOT or VCMA; free layer shape, stack and material;
junction; drive; read bias) it computes, on the cell's own micromagnetic model:

1. Δ(T) over the operating range (default −40 … 150 °C): the minimum-energy path between the two states
   (:func:`micromag.energy_barrier`) of the free layer with its material at T (:meth:`Material.at`), the
   standing fields of the cell (the in-plane bias of a VCMA or type-z SOT cell) included;
2. the retention verdict (:func:`micromag.apps.retention.retention_verdict`) at the hot corner for the array
   size and failure budget of the spec;
3. the critical current: STT, Ic0/Jc0 from the zero-temperature linear stability of the parallel state
   (the growth rate of a small tilt against the drive, batch over the drive, its zero); SOT, the switching
   threshold from a batch over J with a slow (quasi-static) ramp; each beside its macrospin formula; VCMA,
   the voltage that cancels the effective anisotropy; and the figure of merit Δ/Ic0;
4. switching time and write energy against the drive (zero temperature, one batch member per drive, from
   the rms thermal angle 1/√Δ);
5. the write-error rate against the drive at the operating temperature with Clopper–Pearson intervals
   (thermal batches of ``wer_members`` members per drive, run by :mod:`micromag.apps.sweep`);
6. the read disturb at the read bias (thermally activated model, Δ(I) = Δ (1 − I/Ic0)²) and the largest
   read current within the disturb budget;
7. the TMR read margin (R_P, R_AP, the read currents of both states and their difference);
8. retention and read disturb at every temperature of Δ(T), the read bias's VCMA lowering K during the read
   (:mod:`micromag.apps.corners`); with ``[array]`` the spread of Δ over the array and the array-level failure
   probabilities, optionally with ECC (:mod:`micromag.apps.array_stats`);
9. the write-error tail (STT): the Butler/Sun WER(I) form fitted to the WER counts and extrapolated to
   1e-6 … 1e-9 with likelihood-ratio intervals; Ic(τ) over ``pulse_widths`` in the precessional
   (fitted switching times) and thermally activated regimes (:mod:`micromag.apps.write_errors`);
10. the material set (each value and its source, :mod:`micromag.apps.provenance`) and a table of the method,
   members and uncertainty behind every number (:mod:`micromag.apps.signoff` writes these sections).

It writes ``DIR/report.md`` with PNG plots, ``DIR/figures.json`` (the data of every figure),
``DIR/saddle.vti`` (the saddle at the operating temperature, for ParaView). Every finished piece of work is
appended at once to ``DIR/stages.jsonl`` (and the WER ensembles to ``DIR/wer/results.jsonl``) with the
resumable log of :mod:`micromag.apps.sweep`, so a killed run started again with the same command continues where
it stopped. ``--quick`` runs a reduced form (fewer temperatures, drives, members and images; the spec's
``[quick]`` table overrides): a few minutes on 2 CPU cores.

The spec (every key is checked; an unknown or missing key is an error that names the key and its line)::

    [cell]
    name = "pSTT-40nm"
    write = "stt"                 # "stt" | "sot" | "vcma"
    diameter = 40e-9              # m (a disc), or size = [length, width] (an ellipse)
    thickness = 1.3e-9            # free-layer thickness, m
    cell = 3.5e-9                 # in-plane cell size, m
    tilt_deg = 0.0                # SOT: element against the current; easy_axis = "z" | "long" (SOT)
    B_ext = [0, 0, 0.02]          # T, optional: a uniform applied field (e.g. a reference stack's offset)

    [material]                    # free layer: a preset, then overrides (SI)
    preset = "CoFeB_perpendicular"   # Permalloy, CoFeB, CoFeB_perpendicular, Cobalt, Iron, YIG
    Ki = 1.3e-3                   # J/m² (CoFeB_perpendicular only)
    # Ms, A, alpha, Ku1, Tc, T_ref, Ms_exponent, nK, nA

    [mtj]                         # RA_P (Ω·m²), TMR, t_ox (m), eps_r, V_half (V), P, Lambda
    [sot]                         # heavy_metal ("BetaW", "Ta", "Pt"), hm_thickness (m), B_x (T), xi_FL
    [vcma]                        # xi (J/(V·m)), B_x (T)

    [write]
    drive = [0.4, 0.6, 0.8]       # |V| (STT: P → AP, negative bias applied; VCMA) or J in A/m² (SOT)
    pulse = 5e-9                  # s (flat top), rise = 50e-12 s, settle = 2e-9 s after the pulse
    temperature = 300.0           # K, the operating temperature of the write and read figures
    wer_members = 64              # thermal members per drive
    dt = 1e-13                    # s, the stochastic Heun step
    pulse_widths = [0.5e-9, ..., 100e-9]   # s, the pulse widths of Ic(τ)

    [measured]                    # the film's measured temperature dependence (replaces Tc, nK, nA):
    T = [223.15, 300.0, 433.15]   # K, strictly increasing, covering every temperature of the report
    Ms = [...]                    # A/m;  K_eff = [...] (J/m³, the film's) or Ku1 = [...];  A = [...] (J/m,
    source = "..."                # optional: else A ∝ Ms^nA); see micromag.apps.temperature
    [array]                       # sigma_diameter (m), sigma_K (relative, of Ku1), or diameters = [...] /
                                  # K_scales = [...]; method "scaled" | "coherent"; word_bits, ecc_bits (ECC);
                                  # samples, seed. Perpendicular discs only.
    [read]                        # V_read (V), t_read (s), n_reads, budget (read-disturb budget)
    [retention]                   # temperatures (K), T_hot (K), years, n_bits, fail_budget, tau0 (s)
    [barrier]                     # images, tol_torque (T), max_iter, cell (m: the barrier's own grid,
                                  # default [cell] cell; at most √(A/Ku1) so that a wall is resolved)
    [quick]                       # --quick overrides: cell, drive, wer_members, temperatures, images,
                                  # pulse, settle, delay

The package, one module per concern: ``spec`` (the TOML reader), ``cell`` (the device a spec builds),
``stages`` (the physics of each stage), ``report`` (:func:`cell_report` and ``micromag cell``), ``plots``
and ``markdown`` (what the report writes).
"""
from .cell import build_cell, material_at, material_set, wer_build  # noqa: F401
from .report import add_cell_parser, cell_report, cmd_cell  # noqa: F401
from .spec import CellSpec, load_cell_spec  # noqa: F401
from .stages import (coherent_energies, stage_critical, stage_delta, stage_read, stage_stack, stage_switching,  # noqa: F401
                     stage_wer)

__all__ = ["CellSpec", "load_cell_spec", "cell_report", "build_cell", "wer_build", "add_cell_parser"]

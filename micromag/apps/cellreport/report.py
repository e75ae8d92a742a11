"""The sign-off report: :func:`cell_report` runs the stages and writes the figures, the plots and the
Markdown; ``micromag cell SPEC.toml`` is its command line."""
from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

from .. import signoff
from ...engine.constants import kB
from ..sweep import workers_arg
from .cell import easy_axis_of, material_set
from .markdown import write_markdown
from .plots import write_plots
from .spec import CellSpec, load_cell_spec
from .stages import (Stages, coherent_energies, jsonable, say, stage_critical, stage_delta, stage_read,
                     stage_stack, stage_switching,
                     stage_wer)


def cell_report(spec, out, quick=False, backend="auto", workers=None, progress=True):
    """Compute the sign-off report of the cell ``spec`` (a path to a TOML spec or a :class:`CellSpec`) into
    the folder ``out`` (see the module docstring); returns the dict written to ``out/figures.json``. Runs
    again into the same folder continue where a previous run stopped."""
    from .. import retention as ret

    if not isinstance(spec, CellSpec):
        spec = load_cell_spec(spec, quick=quick)
    elif quick and not spec.quick:
        raise ValueError("pass quick=True to load_cell_spec (the [quick] overrides are applied when it is read)")
    d = spec.data
    out = os.path.abspath(os.fspath(out))
    os.makedirs(out, exist_ok=True)
    from ...engine.io.atomic import atomic_write

    atomic_write(os.path.join(out, "cell.json"), [json.dumps({"spec": d, "hash": spec.hash, "source": spec.path,
                                                              "quick": spec.quick}, indent=1).encode()])
    stages = Stages(out, spec.hash)
    t0 = time.perf_counter()
    T_op = d["write"]["temperature"]
    temps = sorted(set(d["retention"]["temperatures"]) | {T_op})
    b = d["barrier"]
    say(progress, f"{d['cell']['name']} ({d['cell']['write'].upper()}): {len(stages.log.done)} stages already done in "
         f"{out}")
    try:
        # ------------------------------------------------ Δ(T)
        deltas, prev = {}, None
        for T in sorted(temps, key=lambda x: abs(x - T_op)):  # the operating point first: its path seeds the rest
            params = {"T": T, "images": b["images"], "tol": b["tol_torque"], "max_iter": b["max_iter"]}
            rec = stages.get("delta", params)
            if rec is None:
                say(progress, f"Δ({T:g} K = {T - 273.15:.0f} °C): minimum-energy path, {b['images']} images")
                rec, prev = stage_delta(d, T, backend, b["images"], b["tol_torque"], b["max_iter"], progress, prev,
                                        save_dir=out if T == T_op else None)
                stages.put("delta", params, rec)
                say(progress, f"Δ({T:g} K) = {rec['delta']:.4g} ({rec['status']}, {rec['iterations']} iterations, "
                     f"{rec['wall_s']:.1f} s)")
            deltas[T] = rec
        Ts = np.array(sorted(deltas))
        D = np.array([deltas[T]["delta"] for T in Ts])
        rt = d["retention"]
        verdict = ret.retention_verdict(deltas[rt["T_hot"]]["delta"], T=rt["T_hot"], years=rt["years"],
                                        n_bits=rt["n_bits"], fail_budget=rt["fail_budget"], tau0=rt["tau0"])
        f0_hot = deltas[rt["T_hot"]].get("f0_Hz")
        verdict_f0 = ret.retention_verdict(deltas[rt["T_hot"]]["delta"], T=rt["T_hot"], years=rt["years"],
                                           n_bits=rt["n_bits"], fail_budget=rt["fail_budget"],
                                           tau0=1.0 / f0_hot) if f0_hot else None
        delta_op = deltas[T_op]["delta"]
        # ------------------------------------------------ critical current
        coh = coherent_energies(d, T_op, backend)
        rec = stages.get("critical", {"T": T_op})
        if rec is None:
            rec = stages.put("critical", {"T": T_op}, stage_critical(d, T_op, coh, backend, progress))
        crit = rec
        Ic0 = crit.get("Ic0_A")
        # the write current of the figure of merit: STT Ic0; SOT the simulated line current (else macrospin);
        # a VCMA write is voltage-driven and has none
        I_write = {"stt": Ic0, "sot": crit.get("Ic_A") or crit.get("Ic_macrospin_A"), "vcma": None}[d["cell"]["write"]]
        # ------------------------------------------------ the whole MTJ ([stack]): offset field, Δ_P/Δ_AP, Ic0 both ways
        stack_rec = None
        if spec.stack is not None:
            stack_rec = stages.get("stack", {"T": T_op})
            if stack_rec is None:
                say(progress, "stack: offset field, Δ_P and Δ_AP, Ic0 both ways (closed form and simulated)")
                stack_rec = stages.put("stack", {"T": T_op}, stage_stack(spec.stack, T_op, d["mtj"], backend))
        fom = ret.figure_of_merit(delta_op, I_write) if I_write else None
        # ------------------------------------------------ switching time and energy (T = 0)
        rec = stages.get("switching", {"T": T_op})
        if rec is None:
            coh_delta = (coh["E_hard_inplane_J"] if easy_axis_of(d)[0] == 1 else min(coh["E_hard_inplane_J"],
                                                                              coh["E_hard_z_J"])) / (kB * T_op)
            rec = stages.put("switching", {"T": T_op}, stage_switching(d, T_op, coh_delta, backend, progress))
        switching = rec
        # ------------------------------------------------ WER (the sweep resumes itself)
        rec = stages.get("wer", {"T": T_op})
        if rec is None:
            say(progress, f"WER: {len(d['write']['drive'])} drives × {d['write']['wer_members']} thermal members at "
                 f"{T_op:g} K ({d['write']['delay'] * 1e9:.2g} ns to thermalize, then the pulse)")
            rec = stages.put("wer", {"T": T_op}, stage_wer(d, T_op, out, backend, workers, progress))
        wer = rec
        # ------------------------------------------------ read
        read = stage_read(d, delta_op, Ic0, coh["area_m2"], T_op, K_eff=crit["K_eff_J_per_m3"]) if Ic0 else None
        # ------------------------------------------------ every temperature, the array, the write tails
        corners = signoff.corners(spec, deltas, coh, crit, read)
        tails = signoff.write_tails(d, spec.material(d["write"]["temperature"]).alpha, wer, switching, crit, delta_op)
    finally:
        stages.close()
    figures = {
        "cell": {"name": d["cell"]["name"], "write": d["cell"]["write"], "spec_hash": spec.hash, "quick": spec.quick},
        "delta_vs_T": {"T_K": Ts.tolist(), "delta": D.tolist(), "barrier_J": [deltas[T]["barrier_J"] for T in Ts],
                       "coherent_J": [deltas[T]["coherent_J"] for T in Ts],
                       "status": [deltas[T]["status"] for T in Ts],
                       "barrier_spread_J": [deltas[T]["barrier_spread_J"] for T in Ts],
                       "barrier_uncertainty_J": [deltas[T].get("barrier_uncertainty_J") for T in Ts],
                       "f0_Hz": [deltas[T].get("f0_Hz") for T in Ts],
                       "saddle_check_passed": [deltas[T].get("saddle_check_passed") for T in Ts],
                       "flags": [deltas[T].get("flags", []) for T in Ts],
                       "delta_required_at_T_hot": verdict.delta_required, "T_hot_K": rt["T_hot"]},
        "energy_path": {"T_K": T_op, "s_rad": deltas[T_op]["s_rad"], "energies_J": deltas[T_op]["energies_J"]},
        "retention": verdict.to_dict(),
        "retention_computed_f0": verdict_f0.to_dict() if verdict_f0 else None,
        "critical": crit, "figure_of_merit_per_uA": fom, "delta_at_T_op": delta_op, "stack": stack_rec,
        "switching": switching, "wer": wer, "read": read, "corners": corners, "write_tails": tails,
        "material_set": material_set(spec),
        "wall_s_this_run": time.perf_counter() - t0,
    }
    pngs = write_plots(out, figures, d)
    atomic_write(os.path.join(out, "figures.json"), [json.dumps(figures, indent=1, default=jsonable).encode()])
    write_markdown(out, figures, d, pngs, spec)
    say(progress, f"report: {os.path.join(out, 'report.md')} ({time.perf_counter() - t0:.1f} s)")
    return figures


# ---------------------------------------------------------------------------------------------- CLI
def cmd_cell(args):
    if args.backend:
        os.environ["MICROMAG_BACKEND"] = args.backend
    spec = load_cell_spec(args.spec, quick=args.quick)  # every check happens here, before any work
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.spec)),
                                   f"cell-{spec.data['cell']['name']}{'-quick' if args.quick else ''}")
    try:
        cell_report(spec, out, quick=args.quick, backend=args.backend or "auto", workers=args.workers,
                    progress=not args.quiet)
    except RuntimeError as exc:  # some WER points failed: the rest is kept, running again retries them
        print(f"micromag cell: {exc}", file=sys.stderr)
        return 1
    return 0


def add_cell_parser(subparsers):
    """Add ``micromag cell SPEC.toml [--out DIR] [--quick]`` to the CLI."""
    s = subparsers.add_parser(
        "cell", help="the sign-off report of an MRAM cell (Δ(T), retention, Ic0, WER, read disturb) from a TOML spec",
        description="Compute the sign-off report of the cell in SPEC into OUT/report.md (PNG plots, figures.json, "
        "saddle.vti). Finished work is kept in OUT: running the same command again continues a killed run.")
    s.add_argument("spec", help="the cell spec (.toml); see examples/cells/")
    s.add_argument("--out", default=None, help="output folder (default: cell-NAME next to the spec)")
    s.add_argument("--quick", action="store_true", help="the reduced form (minutes on 2 CPU cores)")
    s.add_argument("--backend", choices=("auto", "cpu", "gpu"), default=None)
    s.add_argument("--workers", type=workers_arg, default=None, help="processes for the WER ensembles (default: cores)")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    s.set_defaults(func=cmd_cell)
    return s

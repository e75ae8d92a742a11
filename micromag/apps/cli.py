"""The ``micromag`` command line: run, info, convert, plot (and, as they land, validate and sweep)."""
from __future__ import annotations

import argparse
import os
import runpy
import sys
import traceback


def _cmd_run(args):
    # micromag's own options may also follow the script: `micromag run sim.py --backend gpu --out runs/a`
    own = argparse.ArgumentParser(add_help=False)
    own.add_argument("--backend", choices=("auto", "cpu", "gpu"), default=None)
    own.add_argument("--out", default=None)
    late, rest = own.parse_known_args(args.args)
    args.backend = late.backend or args.backend
    args.out = late.out or args.out
    args.args = [a for a in rest if a != "--"] if rest[:1] == ["--"] else rest
    script = os.path.abspath(args.script)
    if not os.path.isfile(script):
        print(f"micromag run: no such script: {args.script}", file=sys.stderr)
        return 2
    if args.backend:
        os.environ["MICROMAG_BACKEND"] = args.backend
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        os.environ["MICROMAG_OUT"] = os.path.abspath(args.out)
    sys.argv = [script] + list(args.args)
    sys.path.insert(0, os.path.dirname(script))
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:  # the script's own exit code
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception:  # noqa: BLE001 - the user's script failed: its traceback is what they need
        traceback.print_exc()
        print(f"micromag run: {args.script} failed (traceback above)", file=sys.stderr)
        return 1
    return 0


def _cmd_info(args):
    import numpy
    import scipy

    from ..engine import __version__
    from ..engine.backends import gpu_status
    from ..engine.backends.cpu_info import cpu_path_lines

    print(f"micromag {__version__}")
    print(f"python   {sys.version.split()[0]}  numpy {numpy.__version__}  scipy {scipy.__version__}")
    ok, why = gpu_status()
    if ok:
        import cupy

        dev = cupy.cuda.Device()
        props = cupy.cuda.runtime.getDeviceProperties(dev.id)
        name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        free, total = cupy.cuda.runtime.memGetInfo()
        print(f"backend  gpu: {name}, {total / 2**30:.1f} GiB ({free / 2**30:.1f} GiB free), "
              f"compute capability {props['major']}.{props['minor']}")
        print(f"cupy     {cupy.__version__}  CUDA runtime {cupy.cuda.runtime.runtimeGetVersion()}  "
              f"driver {cupy.cuda.runtime.driverGetVersion()}")
    else:
        print(f"backend  cpu (no GPU: {why})")
    for line in cpu_path_lines():
        print(line)
    for mod in ("vtk", "meshio", "matplotlib"):
        try:
            m = __import__(mod)
            print(f"{mod:8s} {getattr(m, '__version__', '') or getattr(m, 'vtkVersion', None) and m.vtkVersion.GetVTKVersion()}")
        except Exception:
            print(f"{mod:8s} not installed")
    return 0


def _read_any(path):
    """(array (3 or 1, nz, ny, nx), cell or None) from .ovf/.omf/.vti/.npy."""
    import numpy as np

    ext = os.path.splitext(path)[1].lower()
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file")
    if ext in (".ovf", ".omf", ".ohf"):
        from ..engine.io.ovf import read_ovf

        f = read_ovf(path)
        return f.array, f.cell
    if ext == ".vti":
        from ..engine.io.vtk import read_vti

        d = read_vti(path)
        data = d["cell_data"]
        vectors = [v for v in data.values() if np.ndim(v) == 4 and np.shape(v)[0] == 3]
        arr = data["m"] if "m" in data else (vectors[0] if vectors else None)
        if arr is None:
            raise ValueError(f"{path}: no vector cell data to convert")
        return np.asarray(arr, dtype=float), tuple(float(c) for c in d["spacing"])
    if ext == ".npy":
        a = np.load(path)
        if a.ndim == 5:
            a = a[0]
        if a.ndim != 4:
            raise ValueError(f"{path}: expected an array of shape (3, nz, ny, nx), got {a.shape}")
        return a, None
    raise ValueError(f"{path}: unknown format {ext!r} (use .ovf, .vti or .npy)")


def _cmd_convert(args):
    import numpy as np

    arr, cell = _read_any(args.input)
    cell = tuple(args.cell) if args.cell else cell
    ext = os.path.splitext(args.output)[1].lower()
    if os.path.exists(args.output) and not args.force:
        print(f"micromag convert: {args.output} exists (use --force to overwrite)", file=sys.stderr)
        return 2
    if ext in (".ovf", ".vti") and cell is None:
        print("micromag convert: the input has no cell size; give --cell DX DY DZ (m)", file=sys.stderr)
        return 2
    if ext == ".npy":
        from ..engine.io.atomic import atomic_write

        atomic_write(args.output, lambda f: np.save(f, arr))
    elif ext == ".ovf":
        from ..engine.grid import Grid
        from ..engine.io.ovf import write_ovf

        grid = Grid(n=(arr.shape[3], arr.shape[2], arr.shape[1]), cell=cell)
        write_ovf(args.output, arr, grid=grid, fmt=args.ovf_format)
    elif ext == ".vti":
        from ..engine.grid import Grid
        from ..engine.io.vtk import write_vti

        grid = Grid(n=(arr.shape[3], arr.shape[2], arr.shape[1]), cell=cell)
        write_vti(args.output, grid, {"m": arr} if arr.shape[0] == 3 else {"value": arr[0]})
    else:
        print(f"micromag convert: unknown output format {ext!r} (use .ovf, .vti or .npy)", file=sys.stderr)
        return 2
    print(f"wrote {args.output}")
    return 0


def _cmd_plot(args):
    from . import plot

    src = args.input
    if not os.path.exists(src):
        print(f"micromag plot: no such file: {src}", file=sys.stderr)
        return 2
    out = args.output or os.path.splitext(src)[0] + ".png"
    if src.endswith(".txt"):
        plot.table(src, out=out)
    else:
        plot.snapshot(src, out=out)
    print(f"wrote {out}")
    return 0


def _cmd_view(args):
    from . import paraview

    if not os.path.exists(args.run):
        print(f"micromag view: no such run folder or file: {args.run}", file=sys.stderr)
        return 2
    try:
        cmd = paraview.command(args.run, args.args)
    except FileNotFoundError as exc:
        print(f"micromag view: {exc}", file=sys.stderr)
        return 2
    return __import__("subprocess").call(cmd)


def build_parser():
    from ..engine import __version__

    p = argparse.ArgumentParser(prog="micromag", description="Finite-difference micromagnetics for MRAM devices")
    p.add_argument("--version", action="version", version=f"micromag {__version__}")
    p.add_argument("--debug", action="store_true", help="show the traceback of an error (anywhere on the line; "
                   "for run: before the script)")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run a Python script with micromag (progress lines on stderr)",
                       description="Run SCRIPT with micromag: --backend sets the backend of every Simulation built "
                       "with backend='auto'; --out makes the script's relative output folders land under DIR. "
                       "Other arguments go to the script.")
    r.add_argument("script")
    r.add_argument("--backend", choices=("auto", "cpu", "gpu"), default=None)
    r.add_argument("--out", default=None, help="folder for outputs given as relative paths in the script")
    r.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the script")
    r.set_defaults(func=_cmd_run)
    i = sub.add_parser("info", help="version, backend, GPU, the CPU path (FFT engine, compiled kernels, threads)")
    i.set_defaults(func=_cmd_info)
    c = sub.add_parser("convert", help="convert between .ovf, .vti and .npy")
    c.add_argument("input")
    c.add_argument("output")
    c.add_argument("--cell", type=float, nargs=3, metavar=("DX", "DY", "DZ"), help="cell size in m (for .npy input)")
    c.add_argument("--ovf-format", default="binary4", choices=("binary4", "binary8", "text"))
    c.add_argument("--force", action="store_true", help="overwrite an existing output file")
    c.set_defaults(func=_cmd_convert)
    pl = sub.add_parser("plot", help="plot a table (m(t)) or a snapshot (.ovf, .vti) to PNG")
    pl.add_argument("input")
    pl.add_argument("-o", "--output", default=None)
    pl.set_defaults(func=_cmd_plot)
    v = sub.add_parser("view", help="render a run's snapshots with ParaView (pvpython) to PNG frames",
                       description="Render RUN (a folder with a .pvd series, or a .pvd/.vti file) offscreen with "
                       "ParaView's pvpython: the magnet coloured by m_z, arrows of m on a mid-plane slice, the time "
                       "in ns. Frames go to RUN/frames. Options after RUN go to micromag/apps/paraview/view.py "
                       "(--out, --color m_x, --frames last|every:N, --view top|iso, --movie NAME.avi, --size W H).")
    v.add_argument("run")
    v.add_argument("args", nargs=argparse.REMAINDER, help="options of view.py")
    v.set_defaults(func=_cmd_view)
    from .sweep import add_sweep_parser
    from .validate import add_validate_parser

    add_sweep_parser(sub)
    add_validate_parser(sub)
    from .cellreport import add_cell_parser

    add_cell_parser(sub)
    from .design import add_design_parser

    add_design_parser(sub)
    from .stack_report import add_stack_parser

    add_stack_parser(sub)
    return p


def _check_report_folder(folder):
    """``validate --report DIR`` must be writable before any case runs (not found out after all of them):
    create it and write (then remove) a probe file. Returns an error message or None."""
    from ..engine.io.atomic import atomic_write

    try:
        if os.path.exists(folder) and not os.path.isdir(folder):
            return f"--report {folder} is an existing file, not a folder"
        os.makedirs(folder, exist_ok=True)
        probe = atomic_write(os.path.join(folder, ".micromag-write-probe"), [b""])
        os.unlink(probe)
    except OSError as exc:
        return f"--report {folder} is not writable ({exc.strerror or exc}): choose another folder"
    return None


def _take_debug(argv):
    """``--debug`` anywhere (for ``run``: before the script; after it, it is the script's) -> (argv, True)."""
    out, debug, command, script = [], False, None, False
    for a in argv:
        if a == "--debug" and not script:
            debug = True
            continue
        if not a.startswith("-"):
            if command is None:
                command = a
            elif command == "run":
                script = True
        out.append(a)
    return out, debug


def main(argv=None):
    argv, debug = _take_debug(list(sys.argv[1:] if argv is None else argv))
    args = build_parser().parse_args(argv)
    if debug:
        return args.func(args)  # every error with its traceback
    if args.command == "validate" and getattr(args, "report", None) and not getattr(args, "list", False):
        msg = _check_report_folder(args.report)
        if msg:
            print(f"micromag validate: {msg}", file=sys.stderr)
            return 2
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, OSError) as exc:  # NotEnoughMemory is a ValueError too
        print(f"micromag {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"micromag {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - one line, not a traceback; --debug shows it
        from ..engine.guard import SimulationDiverged

        if isinstance(exc, SimulationDiverged):
            print(f"micromag {args.command}: {exc}", file=sys.stderr)
            return 1
        print(f"micromag {args.command}: internal error ({type(exc).__name__}: {exc}); run again with --debug "
              "for the traceback, and please report it", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())

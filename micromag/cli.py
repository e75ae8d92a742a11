"""The ``micromag`` command line: run, info, convert, plot (and, as they land, validate and sweep)."""
from __future__ import annotations

import argparse
import os
import runpy
import sys


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
    runpy.run_path(script, run_name="__main__")
    return 0


def _cmd_info(args):
    import numpy
    import scipy

    from . import __version__
    from .backends import _gpu_status

    print(f"micromag {__version__}")
    print(f"python   {sys.version.split()[0]}  numpy {numpy.__version__}  scipy {scipy.__version__}")
    ok, why = _gpu_status()
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
        from .io.ovf import read_ovf

        f = read_ovf(path)
        return f.array, f.cell
    if ext == ".vti":
        from .io.vtk import read_vti

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
        from .io.atomic import atomic_write

        atomic_write(args.output, lambda f: np.save(f, arr))
    elif ext == ".ovf":
        from .grid import Grid
        from .io.ovf import write_ovf

        grid = Grid(n=(arr.shape[3], arr.shape[2], arr.shape[1]), cell=cell)
        write_ovf(args.output, arr, grid=grid, fmt=args.ovf_format)
    elif ext == ".vti":
        from .grid import Grid
        from .io.vtk import write_vti

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


def build_parser():
    from . import __version__

    p = argparse.ArgumentParser(prog="micromag", description="Finite-difference micromagnetics for MRAM devices")
    p.add_argument("--version", action="version", version=f"micromag {__version__}")
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
    i = sub.add_parser("info", help="version, backend, GPU")
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
    from .io.atomic import atomic_write

    try:
        if os.path.exists(folder) and not os.path.isdir(folder):
            return f"--report {folder} is an existing file, not a folder"
        os.makedirs(folder, exist_ok=True)
        probe = atomic_write(os.path.join(folder, ".micromag-write-probe"), [b""])
        os.unlink(probe)
    except OSError as exc:
        return f"--report {folder} is not writable ({exc.strerror or exc}): choose another folder"
    return None


def main(argv=None):
    args = build_parser().parse_args(argv)
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
    except RuntimeError as exc:  # a run that diverged (micromag.guard.SimulationDiverged) and the like
        from .guard import SimulationDiverged

        if not isinstance(exc, SimulationDiverged):
            raise
        print(f"micromag {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

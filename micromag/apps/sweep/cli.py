"""``micromag sweep SPEC.toml`` (and ``python -m micromag.apps.sweep``): the command-line front end."""
from __future__ import annotations

import argparse
import os
import sys


from .run import run_sweep, say
from .spec import load_spec


# ---------------------------------------------------------------------------------------------- CLI
def cmd_sweep(args):
    spec = load_spec(args.spec)  # every check happens here, before anything runs
    out = args.out or spec.out
    if out is None:
        out = os.path.join(os.path.dirname(os.path.abspath(args.spec)), f"sweep-{spec.name}")
    scheduler, local = args.scheduler, None
    if args.gpus is not None:  # a local cluster: one worker per GPU, pinned by CUDA_VISIBLE_DEVICES
        from ..cluster import local_gpu_cluster

        local = local_gpu_cluster(None if args.gpus == "all" else args.gpus)
        scheduler = local.scheduler_address
    try:
        rows = run_sweep(spec, out=out, resume=args.resume, scheduler=scheduler, workers=args.workers,
                         progress=not args.quiet, plot=not args.no_plot, scheduler_file=args.scheduler_file,
                         wait_workers=args.wait_workers)
    except RuntimeError as exc:  # some points failed, or the cluster was lost: --resume retries the rest
        print(f"micromag sweep: {exc}", file=sys.stderr)
        return 1
    finally:
        if local is not None:
            local.close()
    say(not args.quiet, f"{len(rows)} rows in {os.path.join(os.path.abspath(out), 'results.csv')}")
    return 0


def workers_arg(text):
    try:
        n = int(text)
    except ValueError:
        n = None
    if n is None or n < 1:
        raise argparse.ArgumentTypeError(f"--workers must be an integer >= 1, got {text!r}")
    return n


def _gpus_arg(text):
    if text.strip().lower() == "all":
        return "all"
    try:
        devs = [int(x) for x in text.split(",")]
    except ValueError:
        devs = None
    if not devs or any(d < 0 for d in devs) or len(set(devs)) != len(devs):
        raise argparse.ArgumentTypeError(f"--gpus must be 'all' or distinct GPU indices like 0,1, got {text!r}")
    return devs


def _seconds_arg(text):
    try:
        v = float(text)
    except ValueError:
        v = -1.0
    if not v >= 0:
        raise argparse.ArgumentTypeError(f"--wait-workers must be a number of seconds >= 0, got {text!r}")
    return v


def add_sweep_parser(subparsers):
    """Add ``micromag sweep SPEC.toml [--out DIR] [--resume] [--scheduler ADDRESS]`` to the CLI."""
    s = subparsers.add_parser(
        "sweep", help="run a parameter sweep from a TOML spec (locally or on a Dask cluster)",
        description="Run every point of SPEC (a TOML file: [sweep], [params], [fixed], [detect]); each finished "
        "point is appended to OUT/results.jsonl at once, and results.csv, results.parquet and a plot are written "
        "at the end. --resume skips the points already in OUT; --scheduler runs the points on a Dask cluster.")
    s.add_argument("spec", help="the sweep spec (.toml)")
    s.add_argument("--out", default=None, help="output folder (default: [sweep] out, or sweep-NAME next to the spec)")
    s.add_argument("--resume", action="store_true", help="continue the sweep in OUT, skipping finished points")
    cl = s.add_mutually_exclusive_group()
    cl.add_argument("--scheduler", default=None, metavar="ADDRESS",
                    help="Dask scheduler address (tcp://host:8786), or 'auto' (DASK_SCHEDULER_ADDRESS or the Dask "
                    "config); default: run on this machine")
    cl.add_argument("--scheduler-file", default=None, metavar="FILE",
                    help="the JSON file of `dask scheduler --scheduler-file FILE`")
    cl.add_argument("--gpus", default=None, type=_gpus_arg, metavar="all|0,1,...",
                    help="a local Dask cluster with one worker per GPU (pinned by CUDA_VISIBLE_DEVICES; dask-cuda's "
                    "LocalCUDACluster where installed); [sweep] batch sets the members per GPU batch")
    s.add_argument("--wait-workers", type=_seconds_arg, default=None, metavar="SECONDS",
                   help="how long to wait for a first Dask worker (default 15; 0: as long as it takes)")
    s.add_argument("--workers", type=workers_arg, default=None, help="local worker processes, an integer >= 1 "
                   "(default: [sweep] workers or the number of cores)")
    s.add_argument("--no-plot", action="store_true", help="do not write the PNG plot")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    s.set_defaults(func=cmd_sweep)
    return s


def main(argv=None):
    """``python -m micromag.apps.sweep SPEC ...`` (the same as ``micromag sweep``)."""
    p = argparse.ArgumentParser(prog="micromag")
    sub = p.add_subparsers(dest="command", required=True)
    add_sweep_parser(sub)
    args = p.parse_args(["sweep"] + list(sys.argv[1:] if argv is None else argv))
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, FileExistsError, RuntimeError, OSError) as exc:
        print(f"micromag sweep: {exc}", file=sys.stderr)
        return 2

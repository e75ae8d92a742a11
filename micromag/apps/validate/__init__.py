"""``micromag validate``: run the validation cases against references nobody here wrote.

    micromag validate [--quick|--full] [--backend auto|cpu|gpu|emulate] [--only NAME ...] [--report DIR] [--list]

Each case (see :mod:`micromag.apps.validate.cases`) states its setup, its reference and source, the quantity
compared and its tolerance with the reason. The command prints a table, writes with ``--report`` a folder
with one PNG per case and a Markdown summary, and exits 1 if any case fails (or crashes). A case whose
device term cannot be imported is reported as "unavailable" (exit status unaffected, listed in the table).

CLI wiring (for ``micromag/apps/cli.py``)::

    from .validate import add_validate_parser
    add_validate_parser(sub)          # sub = the subparsers object; sets func=micromag.apps.validate.main
    ...
    return args.func(args)            # main(args) returns the exit status
"""
from __future__ import annotations

import argparse
import sys

from . import cases as _cases  # noqa: F401  (fills the registry)
from .registry import PERTURBATIONS, REGISTRY, Case, Perturb, Result, Row, get_case  # noqa: F401


def add_arguments(p):
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", dest="full", action="store_false", default=False,
                      help="small forms, 2 CPU cores in a few minutes (default; what CI runs)")
    mode.add_argument("--full", dest="full", action="store_true",
                      help="the resolutions the standard problems prescribe (meant for a GPU)")
    p.add_argument("--backend", choices=("auto", "cpu", "gpu", "emulate"), default="auto")
    p.add_argument("--only", nargs="+", metavar="NAME", default=None, help="run only these cases")
    p.add_argument("--report", metavar="DIR", default=None, help="write DIR/README.md and one PNG per case")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    return p


def add_validate_parser(subparsers):
    """Add the ``validate`` subcommand to an argparse subparsers object; it dispatches to :func:`main`."""
    v = subparsers.add_parser("validate", help="run the validation suite (standard problems, analytic cases)",
                              description=__doc__.split("\n\n")[1] if __doc__ else None)
    add_arguments(v)
    v.set_defaults(func=main)
    return v


def standalone(argv=None):
    """``python -m micromag.apps.validate [options]``: the ``micromag validate`` command on its own; returns
    its exit status."""
    p = argparse.ArgumentParser(prog="python -m micromag.apps.validate",
                                description=__doc__.split("\n\n")[1] if __doc__ else None)
    return main(add_arguments(p).parse_args(argv))


def select(only=None):
    if not only:
        return list(REGISTRY)
    return [get_case(n) for n in only]


def run_cases(cases, quick=True, backend="auto", echo=None):
    from ...engine.progress import Progress

    results = []
    prog = Progress("validate", len(cases), enabled=echo is not None)  # a bar over the cases in a terminal
    say = prog.write if prog.mode == "bar" else echo  # messages above the bar, not through it
    for k, c in enumerate(cases):
        if echo:
            say(f"[validate] {c.name} ...")
            prog.update(k, f"case {k + 1}/{len(cases)}: {c.name}")
        r = c.run(quick=quick, backend=backend)
        if echo:
            say(f"[validate] {c.name}: {r.status} ({r.wall:.1f} s)")
        results.append(r)
    prog.done(f"{len(cases)} cases")
    return results


def main(args):
    """Run the cases named by parsed ``args``; print the table; return 0 if none failed, else 1."""
    from .report import format_table, write_report

    if getattr(args, "list", False):
        for c in REGISTRY:
            print(f"{c.name:30s} {c.dims}  {c.quantity}")
        return 0
    try:
        cases = select(args.only)
    except KeyError as exc:
        print(f"micromag validate: {exc.args[0]}", file=sys.stderr)
        return 2
    quick = not args.full
    echo = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    results = run_cases(cases, quick=quick, backend=args.backend, echo=echo)
    print(format_table(results))
    if args.report:
        cmd = "micromag validate " + ("--full" if args.full else "--quick") + f" --backend {args.backend}" + \
              (f" --only {' '.join(args.only)}" if args.only else "") + f" --report {args.report}"
        path = write_report(results, cases, args.report, "full" if args.full else "quick", args.backend, cmd)
        print(f"report: {path}")
    bad = [r.case for r in results if r.status in ("fail", "error")]
    if bad:
        print(f"FAILED: {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


def _standalone(argv=None):
    p = argparse.ArgumentParser(prog="micromag validate", description="run the micromag validation suite")
    add_arguments(p)
    return main(p.parse_args(argv))

"""Parameter sweeps: ``mm.sweep(build, params, out=DIR)`` and ``micromag sweep SPEC.toml``.

Each point of the sweep (the cartesian product of the parameter lists, or the lists zipped, or an explicit
list of points) is one run, or one batched ensemble of ``repeats`` members with thermal seeds 0..N-1
(through :class:`micromag.engine.batch.Batch`). The point's rows go to ``DIR/results.jsonl`` the moment it
finishes (one JSON line per point, flushed and fsynced, written by the driving process only), so a killed
sweep loses at most the points in flight; ``resume=True`` (``--resume``) skips the points already there
and never writes a row twice. At the end (and on resume) ``results.csv``, ``results.parquet`` and a plot
(``phase.png`` for two parameters, ``error_rate.png`` for one) are regenerated from ``results.jsonl``.

Where the points run: in this process (``workers=1``), in a pool of local worker processes (the default
on the CPU: one per core), or on a Dask cluster: ``scheduler=`` an address, a ``distributed.Client`` or
``"auto"`` (the active client, the Dask config, ``DASK_SCHEDULER_ADDRESS``), or ``scheduler_file=``
(``--scheduler-file``); see :mod:`micromag.apps.cluster` (dashboard link, waiting for workers, a lost
scheduler, GPU workers). Every point is one task, retried when its worker dies, released once written;
the results are written by the client only, so each lands once.

The spec (TOML)::

    [sweep]
    name = "sot-switching"
    build = "device.py:build"       # a script next to the spec (or "package.module:function")
    duration = 2e-9                 # s per run
    every = 10e-12                  # s between switching checks
    out = "runs/sot"                # default output folder (--out overrides)
    repeats = 1                     # members per point (>1: thermal ensemble, build needs a batch= argument)
    batch = 64                      # members integrated at once by a worker (default: all repeats; a GPU
                                    # worker's memory decides; results do not depend on it)
    mode = "product"                # or "zip" (the lists side by side)
    workers = 2                     # local worker processes (default: the number of cores)
    retries = 2                     # Dask: extra tries of a point whose worker died or that raised
    energy = "device.py:energy"     # optional: energy(params, row) -> J written to the "energy_used" column
    cupy_cache = "/local/cupy"      # optional: CUPY_CACHE_DIR of every worker (default ~/.cupy/kernel_cache)

    [fixed]                         # passed to build with every point
    alpha = 0.02

    [params]                        # swept: lists or ranges
    J = {start = 1e11, stop = 5e11, num = 9}       # linspace; log = true for geomspace; or step = ...
    width = [0.5e-9, 1e-9, 2e-9]

    [detect]                        # "switched": the average quantity crosses the threshold
    quantity = "mz"
    threshold = 0.0
    below = true                    # switched when mz < 0 (false: when mz > threshold)
    stop = true                     # stop the run when switched

On a GPU machine the local default is one worker (the point's batch fills the GPU). CuPy keeps the kernels
it compiles in ``CUPY_CACHE_DIR`` (``cupy_cache``; default ``~/.cupy/kernel_cache``), shared by every
process of a node, so each kernel compiles once per node (once per cluster if the folder is shared).

``build(**fixed, **point)`` returns a :class:`~micromag.Simulation` (with ``batch=`` when ``repeats`` > 1).

The package, one module per concern: ``spec`` (the TOML reader and validation), ``run`` (one point, the
process pool or Dask cluster, :func:`sweep`), ``results`` (the resumable log, tables, plot), ``cli``
(``micromag sweep``), ``demo`` (the example device).
"""
from .cli import add_sweep_parser, cmd_sweep, main, workers_arg  # noqa: F401
from .demo import demo_cell  # noqa: F401
from .results import ResultsLog, plot_results, read_results, write_tables  # noqa: F401
from .run import run_point, run_sweep, sweep  # noqa: F401
from .spec import (ERRORS, RESULTS, Spec, SpecError, SpecLocation, load_callable, load_spec,  # noqa: F401
                   toml_key_lines)

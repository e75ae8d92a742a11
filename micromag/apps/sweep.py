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
"""
from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.util
import inspect
import itertools
import json
import math
import os
import re
import sys
import time

import numpy as np

from ..engine.validation import check_number

RESULTS = "results.jsonl"
ERRORS = "errors.jsonl"
SWEEP_KEYS = {"name", "build", "duration", "every", "out", "repeats", "mode", "workers", "retries", "energy",
              "cupy_cache", "batch"}
DETECT_KEYS = {"quantity", "threshold", "below", "stop"}
RANGE_KEYS = {"start", "stop", "num", "step", "log"}


class SpecError(ValueError):
    """A sweep spec that cannot run (the message names the file and line)."""


# ---------------------------------------------------------------------------------------------- spec
def toml_key_lines(text):
    """{(table, key): line number} for the ``key = ...`` lines of a TOML file (and table headers)."""
    lines, table, npoints = {}, "", 0
    for no, raw in enumerate(text.splitlines(), start=1):
        s = raw.strip()
        m = re.match(r"^\[\[\s*([A-Za-z0-9_.\-]+)\s*\]\]", s)
        if m:
            table = f"{m.group(1)}#{npoints}"
            npoints += 1
            lines[(table, None)] = no
            continue
        m = re.match(r"^\[\s*([A-Za-z0-9_.\-]+)\s*\]", s)
        if m:
            table = m.group(1)
            lines.setdefault((table, None), no)
            continue
        m = re.match(r"""^("([^"]*)"|'([^']*)'|[A-Za-z0-9_\-]+)\s*=""", s)
        if m:
            key = m.group(2) if m.group(2) is not None else m.group(3) if m.group(3) is not None else m.group(1)
            lines.setdefault((table, key), no)
    return lines


class SpecLocation:
    """Where a key of a spec file is: ``where(table, key)`` gives "file, line N" (or "file [table]"), and
    ``where.error(table, key, msg)`` the :class:`SpecError` that names it."""

    def __init__(self, path, lines):
        self.path, self.lines = path, lines

    def __call__(self, table, key=None):
        no = self.lines.get((table, key)) or self.lines.get((table, None))
        return f"{self.path}, line {no}" if no else f"{self.path} [{table}]"

    def error(self, table, key, msg):
        return SpecError(f"{self(table, key)}: {msg}")


def _num(where, table, key, v, positive=True):
    try:
        return check_number(key, v, lo=0.0 if positive else None, lo_open=True)
    except ValueError as exc:
        raise where.error(table, key, str(exc)) from None


def _values(where, name, v):
    """The list of values of one swept parameter."""
    if isinstance(v, list):
        if not v:
            raise where.error("params", name, f"parameter {name!r} has an empty list of values")
        for x in v:
            if isinstance(x, (dict, list)):
                raise where.error("params", name, f"parameter {name!r}: values must be numbers, strings or booleans")
        return list(v)
    if isinstance(v, dict):
        bad = sorted(set(v) - RANGE_KEYS)
        if bad:
            raise where.error("params", name, f"range {name!r} has unknown keys {bad} (use start, stop and num or "
                              "step, optionally log = true)")
        if "start" not in v or "stop" not in v:
            raise where.error("params", name, f"range {name!r} needs start and stop")
        a = _num(where, "params", name, v["start"], positive=False)
        b = _num(where, "params", name, v["stop"], positive=False)
        if "num" in v and "step" in v:
            raise where.error("params", name, f"range {name!r} gives both num and step: give one of them")
        if "num" in v:
            n = v["num"]
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise where.error("params", name, f"range {name!r} is empty: num must be an integer >= 1, got {n!r}")
            _fits(where, name, n)
            if v.get("log", False):
                if a <= 0 or b <= 0:
                    raise where.error("params", name, f"log range {name!r} needs start and stop > 0")
                return [float(x) for x in np.geomspace(a, b, n)]
            return [float(x) for x in np.linspace(a, b, n)]
        if "step" in v:
            st = _num(where, "params", name, v["step"], positive=False)
            if st == 0 or (b - a) / st < 0:
                raise where.error("params", name, f"range {name!r} is empty: step {st!r} does not lead from "
                                  f"{a!r} to {b!r}")
            count = math.floor((b - a) / st + 1e-9) + 1  # a float: 1e13 values must be refused, not listed
            _fits(where, name, count)
            n = int(count)
            return [a + i * st for i in range(n)]
        raise where.error("params", name, f"range {name!r} needs num or step")
    if isinstance(v, (int, float, str, bool)):
        return [v]
    raise where.error("params", name, f"parameter {name!r} must be a list or a range table, got {v!r}")


def _fits(where, name, n):
    """Refuse a range of ``n`` values whose list could not fit in memory (before it is built)."""
    from ..engine.memory import NotEnoughMemory, check_points

    try:
        check_points(n, 1)
    except NotEnoughMemory as exc:
        raise where.error("params", name, f"range {name!r} has {n:.4g} values: {exc}") from None


def _load_callable(ref, base_dir=None, what="build"):
    """``"file.py:func"`` (relative to base_dir) or ``"package.module:func"`` -> the function."""
    if callable(ref):
        return ref
    if not isinstance(ref, str) or ":" not in ref:
        raise ValueError(f"{what} must be 'module:function' or 'script.py:function', got {ref!r}")
    mod, _, fn = ref.rpartition(":")
    if mod.endswith(".py") or os.sep in mod or "/" in mod:
        path = mod if os.path.isabs(mod) or base_dir is None else os.path.join(base_dir, mod)
        path = os.path.abspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{what} script {path} does not exist")
        name = "micromag_sweep_" + hashlib.sha1(path.encode()).hexdigest()[:12]
        module = sys.modules.get(name)
        if module is None:
            d = os.path.dirname(path)
            if d not in sys.path:
                sys.path.insert(0, d)
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[name]
                raise
    else:
        module = importlib.import_module(mod)
    f = getattr(module, fn, None)
    if not callable(f):
        raise ValueError(f"{what}: {mod} has no function {fn!r}")
    return f


def _ref_name(ref):
    if callable(ref):
        return f"{getattr(ref, '__module__', '?')}:{getattr(ref, '__qualname__', repr(ref))}"
    return str(ref)


def _abs_ref(ref, base_dir):
    if isinstance(ref, str) and ":" in ref:
        mod, _, fn = ref.rpartition(":")
        if mod.endswith(".py") or "/" in mod or os.sep in mod:
            return f"{os.path.abspath(os.path.join(base_dir, mod))}:{fn}"
    return ref


class Spec:
    """A validated sweep: everything needed to run every point (plain data, picklable)."""

    def __init__(self, build, params, duration, every=None, detect=None, fixed=None, repeats=1, mode="product",
                 points=None, name="sweep", out=None, workers=None, retries=2, energy=None, cupy_cache=None,
                 where=None, batch=None):
        self.build, self.name, self.out = build, str(name), out
        self.duration, self.every = duration, every
        self.detect, self.fixed = detect, dict(fixed or {})
        self.params, self.mode, self.explicit = dict(params or {}), mode, points
        self.repeats, self.workers, self.retries, self.energy = repeats, workers, retries, energy
        self.cupy_cache = None if cupy_cache is None else str(cupy_cache)
        self.batch = batch
        self.where = where or SpecLocation("<sweep>", {})
        self._validate()

    # ---------------------------------------------------------------- checks (all before anything runs)
    def _validate(self):
        w = self.where
        self.duration = _num(w, "sweep", "duration", self.duration)
        if self.every is not None:
            self.every = _num(w, "sweep", "every", self.every)
            if self.every > self.duration:
                raise w.error("sweep", "every", f"every ({self.every} s) is longer than duration ({self.duration} s)")
        if isinstance(self.repeats, bool) or not isinstance(self.repeats, int) or self.repeats < 1:
            raise w.error("sweep", "repeats", f"repeats must be an integer >= 1, got {self.repeats!r}")
        if self.workers is not None and (isinstance(self.workers, bool) or not isinstance(self.workers, int)
                                         or self.workers < 1):
            raise w.error("sweep", "workers", f"workers must be an integer >= 1, got {self.workers!r}")
        if self.batch is not None and (isinstance(self.batch, bool) or not isinstance(self.batch, int)
                                       or self.batch < 1):
            raise w.error("sweep", "batch", f"batch (members integrated at once) must be an integer >= 1, got "
                          f"{self.batch!r}")
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or self.retries < 0:
            raise w.error("sweep", "retries", f"retries must be an integer >= 0, got {self.retries!r}")
        if self.mode not in ("product", "zip"):
            raise w.error("sweep", "mode", f"mode must be 'product' or 'zip', got {self.mode!r}")
        if self.detect is not None:
            d = dict(self.detect)
            bad = sorted(set(d) - DETECT_KEYS)
            if bad:
                raise w.error("detect", bad[0], f"unknown key {bad[0]!r} in [detect] (known: {sorted(DETECT_KEYS)})")
            q = d.get("quantity", "mz")
            if q not in ("mx", "my", "mz"):
                raise w.error("detect", "quantity", f"quantity must be 'mx', 'my' or 'mz', got {q!r}")
            thr = _num(w, "detect", "threshold", d.get("threshold", 0.0), positive=False)
            for k in ("below", "stop"):
                if not isinstance(d.get(k, True), bool):
                    raise w.error("detect", k, f"{k} must be true or false, got {d[k]!r}")
            self.detect = {"quantity": q, "threshold": thr, "below": d.get("below", True), "stop": d.get("stop", True)}
        self.values = {}
        for name, v in self.params.items():
            self.values[name] = _values(w, name, v)
        if self.mode == "zip" and self.values:
            lens = {n: len(v) for n, v in self.values.items()}
            if len(set(lens.values())) > 1:
                name = next(n for n in lens if lens[n] != next(iter(lens.values())))
                raise w.error("params", name, f"mode = 'zip' needs lists of one length, got {lens}")
        if self.explicit is not None:
            if not isinstance(self.explicit, list) or not self.explicit:
                raise w.error("points", None, "points must be a non-empty list of tables ([[points]] with "
                              "name = value lines)")
            for k, p in enumerate(self.explicit):
                if not isinstance(p, dict):
                    raise w.error("points", None, f"points[{k}] is {p!r}: every point must be a table of "
                                  "parameter values ([[points]] then name = value, or points = [{J = 1e11}, ...])")
                both = sorted(set(p) & set(self.values))
                if both:
                    raise w.error("params", both[0], f"parameter(s) {both} are set both in points[{k}] and in "
                                  "[params]: each point is combined with every [params] value, so set each "
                                  "parameter in one place only")
            if self.mode == "zip" and self.values:
                raise w.error("sweep", "mode", "mode = 'zip' pairs the [params] lists with each other; with "
                              "[[points]] the [params] values are combined with every point (mode 'product')")
        # the number of points, before any list of them is built
        lens = [len(v) for v in self.values.values()]
        if self.mode == "zip" and lens:
            count = float(lens[0])
        else:
            count = float(np.prod([float(n) for n in lens])) if lens else 1.0
        if self.explicit is not None:
            count *= len(self.explicit)
        from ..engine.memory import NotEnoughMemory, check_points

        try:
            check_points(count, len(self.values) + len(self.fixed))
        except NotEnoughMemory as exc:
            raise w.error("params", None, str(exc)) from None
        overlap = sorted(set(self.fixed) & set(self.values))
        if overlap:
            raise w.error("params", overlap[0], f"{overlap[0]!r} is both fixed and swept")
        # the build function and its arguments
        try:
            fn = _load_callable(self.build)
        except Exception as exc:
            raise w.error("sweep", "build", f"cannot load build {self.build!r}: {type(exc).__name__}: {exc}") from None
        names = set(self.fixed) | set(self.values)
        for k, p in enumerate(self.explicit or []):
            names |= set(p)
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            sig = None
        if sig is not None:
            ps = sig.parameters
            var_kw = any(p.kind == p.VAR_KEYWORD for p in ps.values())
            takes = [n for n, p in ps.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
            if not var_kw:
                for n in sorted(names):
                    if n not in ps:
                        table = "fixed" if n in self.fixed else "params"
                        if self.explicit and n not in self.fixed and n not in self.values:
                            k = next(i for i, p in enumerate(self.explicit) if n in p)
                            table = f"points#{k}"
                        raise w.error(table, n, f"unknown parameter {n!r}: {_ref_name(self.build)} takes "
                                      f"({', '.join(takes)})")
            required = [n for n, p in ps.items() if p.default is p.empty
                        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and n != "batch"]
            missing = [n for n in required if n not in names]
            if missing:
                raise w.error("sweep", "build", f"build {_ref_name(self.build)} needs {missing}: give them in "
                              "[params] or [fixed]")
            if self.repeats > 1 and "batch" not in ps and not var_kw:
                raise w.error("sweep", "repeats", f"repeats = {self.repeats} needs a build function with a batch= "
                              "argument (the number of members)")
        if self.energy is not None:
            try:
                _load_callable(self.energy, what="energy")
            except Exception as exc:
                raise w.error("sweep", "energy", f"cannot load energy {self.energy!r}: {exc}") from None

    # ---------------------------------------------------------------- points
    def points(self):
        """The list of parameter dicts, in sweep order."""
        if self.explicit is not None:
            pts = [dict(p) for p in self.explicit]
            if self.values:
                pts = [{**p, **dict(zip(self.values, combo))} for p in pts
                       for combo in itertools.product(*self.values.values())]
            return pts
        if not self.values:
            return [{}]
        names = list(self.values)
        if self.mode == "zip":
            return [dict(zip(names, combo)) for combo in zip(*self.values.values())]
        return [dict(zip(names, combo)) for combo in itertools.product(*self.values.values())]

    def settings(self):
        """What besides the point's parameters decides a run's result (hashed into every key)."""
        return {"build": _ref_name(self.build), "duration": self.duration, "every": self.every,
                "detect": self.detect, "fixed": self.fixed, "repeats": self.repeats,
                "energy": None if self.energy is None else _ref_name(self.energy)}

    @property
    def spec_hash(self):
        return hashlib.sha256(json.dumps(self.settings(), sort_keys=True, default=str).encode()).hexdigest()[:16]

    def key(self, params):
        s = json.dumps({"spec": self.spec_hash, "params": params}, sort_keys=True, default=str)
        return hashlib.sha256(s.encode()).hexdigest()[:20]

    def payload(self):
        """The plain dict a worker needs to run points."""
        return {"build": self.build, "duration": self.duration, "every": self.every, "detect": self.detect,
                "fixed": self.fixed, "repeats": self.repeats, "energy": self.energy, "cupy_cache": self.cupy_cache,
                "batch": self.batch}


def load_spec(path):
    """Read and check a sweep spec (TOML); raises :class:`SpecError` naming the line of what is wrong."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"sweep spec {path} does not exist") from None
    text = raw.decode("utf-8", errors="replace")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        if m:
            msg = msg[:m.start()].strip()
            raise SpecError(f"{path}, line {m.group(1)}, column {m.group(2)}: the spec does not parse as TOML: "
                            f"{msg}") from None
        if "(at end of document)" in msg:
            last = len(text.rstrip("\n").splitlines()) or 1
            raise SpecError(f"{path}, line {last} (end of file): the spec does not parse as TOML: "
                            f"{msg.replace('(at end of document)', '').strip()}") from None
        raise SpecError(f"{path}: the spec does not parse as TOML: {msg}") from None
    where = SpecLocation(path, toml_key_lines(text))
    known_tables = {"sweep", "params", "fixed", "detect", "points"}
    for t in doc:
        if t not in known_tables:
            raise where.error(t, None, f"unknown table or key [{t}] (known: {sorted(known_tables)})")
    sw = doc.get("sweep")
    if not isinstance(sw, dict):
        raise SpecError(f"{path}: no [sweep] table (it needs at least build = \"...\" and duration = ...)")
    for k in sw:
        if k not in SWEEP_KEYS:
            raise where.error("sweep", k, f"unknown key {k!r} in [sweep] (known: {sorted(SWEEP_KEYS)})")
    for k in ("build", "duration"):
        if k not in sw:
            raise where.error("sweep", None, f"[sweep] needs {k}")
    base = os.path.dirname(os.path.abspath(path))
    out = sw.get("out")
    if out is not None and not os.path.isabs(out):
        out = os.path.normpath(os.path.join(base, out))
    for t in ("params", "fixed", "detect"):
        if t in doc and not isinstance(doc[t], dict):
            raise where.error(t, None, f"[{t}] must be a table")
    return Spec(build=_abs_ref(sw["build"], base), params=doc.get("params", {}), duration=sw["duration"],
                every=sw.get("every"), detect=doc.get("detect"), fixed=doc.get("fixed", {}),
                repeats=sw.get("repeats", 1), mode=sw.get("mode", "product"), points=doc.get("points"),
                name=sw.get("name", os.path.splitext(os.path.basename(path))[0]), out=out,
                workers=sw.get("workers"), retries=sw.get("retries", 2),
                energy=None if sw.get("energy") is None else _abs_ref(sw["energy"], base),
                cupy_cache=sw.get("cupy_cache"), where=where, batch=sw.get("batch"))


# ---------------------------------------------------------------------------------------------- one point
def _clean(v):
    if isinstance(v, (np.floating, float)):
        v = float(v)
        return v if math.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def run_point(payload, params):
    """Run one point of a sweep (in whatever process): returns the list of its result rows (one per member).

    A top-level function so that process pools and Dask workers can import it."""
    from ..engine.batch import Batch, Threshold

    t_wall = time.perf_counter()
    if payload.get("cupy_cache") and "cupy" not in sys.modules:
        os.environ["CUPY_CACHE_DIR"] = payload["cupy_cache"]  # one compile per node, whichever worker is first
    build = _load_callable(payload["build"])
    # loaded before the run, so a failure cannot cost a finished point
    energy = None if payload.get("energy") is None else _load_callable(payload["energy"], what="energy")
    kw = {**payload["fixed"], **params}
    repeats = int(payload["repeats"])
    if repeats > 1:
        def make(B):
            return build(batch=B, **kw)
        members = [{"seed": r} for r in range(repeats)]
    else:
        def make(B):
            return build(**kw)
        members = [{}]
    det = payload["detect"]
    stop = None if det is None else Threshold(det["quantity"], det["threshold"], det["below"])
    every = payload["every"]
    if stop is not None and every is None:
        every = payload["duration"] / 100
    chunk = min(int(payload.get("batch") or len(members)), len(members))  # members per integration
    batch = Batch(make, members, chunk=chunk, stop=stop, check_every=every,
                  halt=bool(det and det["stop"]), keep_m=False)
    res = batch.run(payload["duration"], progress=False)  # the sweep shows its own progress over points
    wall = time.perf_counter() - t_wall
    rows = []
    for k, r in enumerate(res):
        row = {"member": k}
        if repeats > 1:
            row["seed"] = k
        row.update({
            "switched": bool(r["stopped"]) if stop is not None and not r.get("diverged") else None,
            "t_switch": _clean(r["t_stop"]), "t_end": _clean(r["t"]),
            "mx": _clean(r["m_avg"][0]), "my": _clean(r["m_avg"][1]), "mz": _clean(r["m_avg"][2]),
            "E_final": _clean(r["energy"]), "energy_used": None,
            "steps": int(r["steps"]), "rejected": int(r["rejected"]), "wall_s": wall / len(res),
            "error": r.get("error"),  # a member whose state diverged: why (its values are its last good state)
        })
        if energy is not None:
            row["energy_used"] = _clean(energy(dict(kw), dict(row)))
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------- results
class ResultsLog:
    """``results.jsonl``: one line per finished point, flushed and fsynced; each key written at most once."""

    def __init__(self, out, spec_hash, resume):
        self.path = os.path.join(out, RESULTS)
        self.spec_hash = spec_hash
        self.done = {}
        if os.path.exists(self.path) and os.path.getsize(self.path) > 0:
            if not resume:
                raise FileExistsError(f"{self.path} exists: use --resume (resume=True) to continue that sweep, "
                                      "or choose another output folder")
            self._read()
        self.f = open(self.path, "ab")

    def _read(self):
        with open(self.path, "rb") as f:
            data = f.read()
        good_end, pos = 0, 0
        lines = data.split(b"\n")
        for i, line in enumerate(lines):
            last = i == len(lines) - 1
            if not line.strip():
                pos += len(line) + 1
                if not last:
                    good_end = pos
                continue
            try:
                rec = json.loads(line)
                if last:  # no newline: the write was cut short
                    raise ValueError("incomplete line")
            except ValueError:
                if last or all(not x.strip() for x in lines[i + 1:]):
                    break  # a line cut by a kill: dropped, the point runs again
                raise ValueError(f"{self.path}, line {i + 1} is not valid JSON: the results file is damaged") from None
            if rec.get("spec") != self.spec_hash:
                raise ValueError(f"{self.path} holds results of a different sweep spec (build, duration, every, "
                                 "detect, fixed or repeats changed): use another output folder")
            if rec["key"] not in self.done:  # (a duplicate never happens; if it did, the first one wins)
                self.done[rec["key"]] = rec
            pos += len(line) + 1
            good_end = pos
        if good_end < len(data):
            with open(self.path, "r+b") as f:
                f.truncate(good_end)
                f.flush()
                os.fsync(f.fileno())

    def write(self, key, point, params, rows):
        if key in self.done:
            return False
        rec = {"key": key, "spec": self.spec_hash, "point": point, "params": params, "rows": rows}
        self.f.write((json.dumps(rec, sort_keys=False) + "\n").encode())
        self.f.flush()
        os.fsync(self.f.fileno())
        self.done[key] = rec
        return True

    def close(self):
        self.f.close()


def read_results(out):
    """All rows of the sweep in ``out`` (from results.jsonl), sorted by point and member: a list of dicts."""
    path = os.path.join(out, RESULTS)
    recs = {}
    with open(path, "rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                break
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            recs.setdefault(rec["key"], rec)
    rows = []
    for rec in sorted(recs.values(), key=lambda r: r["point"]):
        for r in rec["rows"]:
            rows.append({"point": rec["point"], "key": rec["key"], **rec["params"], **r})
    return rows


def write_tables(out, rows, first=()):
    """``results.csv`` and (with pyarrow) ``results.parquet`` from the rows, written atomically; the columns
    ``point``, ``key``, then ``first`` (the parameter names), then the rest."""
    import csv

    cols = ["point", "key"] + [c for c in first if c not in ("point", "key")]
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    import io

    from ..engine.io.atomic import atomic_write

    path = os.path.join(out, "results.csv")
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=cols)
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in cols})
    atomic_write(path, [buf.getvalue().encode("utf-8")])
    written = [path]
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        print("micromag sweep: pyarrow is not installed: results.parquet not written", file=sys.stderr)
        return written
    table = pa.Table.from_pylist([{k: r.get(k) for k in cols} for r in rows])
    path = os.path.join(out, "results.parquet")
    atomic_write(path, lambda f: pq.write_table(table, f))
    written.append(path)
    return written


def plot_results(out, rows, names):
    """A phase diagram (two parameters: switched fraction) or switching probability / error rate against
    the parameter (one). Returns the PNG path, or None."""
    rows = [r for r in rows if not r.get("error")]  # a diverged run has no switching result
    names = [n for n in names if all(isinstance(r.get(n), (int, float)) and not isinstance(r.get(n), bool)
                                     for r in rows)]
    if not rows or not names or rows[0].get("switched") is None:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    if len(names) >= 2:
        x, y = names[0], names[1]
        xs, ys = sorted({r[x] for r in rows}), sorted({r[y] for r in rows})
        P = np.full((len(ys), len(xs)), np.nan)
        acc = {}
        for r in rows:
            acc.setdefault((r[x], r[y]), []).append(bool(r["switched"]))
        for (a, b), v in acc.items():
            P[ys.index(b), xs.index(a)] = np.mean(v)
        im = ax.pcolormesh(np.arange(len(xs) + 1) - 0.5, np.arange(len(ys) + 1) - 0.5, P, vmin=0, vmax=1,
                           cmap="RdBu_r", shading="flat")
        ax.set_xticks(range(len(xs)), [f"{v:.3g}" for v in xs], rotation=45)
        ax.set_yticks(range(len(ys)), [f"{v:.3g}" for v in ys])
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        fig.colorbar(im, ax=ax, label="switching probability")
        ax.set_title("phase diagram" + (f" (averaged over {', '.join(names[2:])})" if len(names) > 2 else ""))
        path = os.path.join(out, "phase.png")
    else:
        x = names[0]
        acc = {}
        for r in rows:
            acc.setdefault(r[x], []).append(bool(r["switched"]))
        xs = sorted(acc)
        n = np.array([len(acc[v]) for v in xs])
        P = np.array([np.mean(acc[v]) for v in xs])
        wer = 1 - P
        ax.semilogy(xs, np.where(wer > 0, wer, np.nan), "o-", label="write error rate 1 − P")
        floor = 1.0 / n
        ax.semilogy(xs, np.where(wer > 0, np.nan, floor), "v", color="C0", alpha=0.5, label="< 1/N (no error seen)")
        ax.set_xlabel(x)
        ax.set_ylabel("error rate")
        ax.legend(loc="best")
        path = os.path.join(out, "error_rate.png")
    fig.tight_layout()
    from ..engine.io.atomic import atomic_write

    atomic_write(path, lambda f: fig.savefig(f, dpi=110, format="png"))
    plt.close(fig)
    return path


# ---------------------------------------------------------------------------------------------- driving
def _say(progress, msg):
    if progress:  # tqdm.write keeps an open progress bar (micromag.engine.progress) intact below the message
        from tqdm import tqdm

        tqdm.write(f"micromag sweep: {msg}", file=sys.stderr)


def run_sweep(spec, out=None, resume=False, scheduler=None, workers=None, progress=True, plot=True,
              scheduler_file=None, wait_workers=None):
    """Run every point of ``spec`` not yet in ``out`` (see the module docstring); returns all rows.

    scheduler, scheduler_file : a Dask cluster (:func:`micromag.apps.cluster.connect`); wait_workers: seconds to
    wait for a first worker (default 15; 0: forever). Raises :class:`micromag.apps.cluster.ClusterError` when
    the cluster cannot run the sweep (nothing ran) and :class:`~micromag.apps.cluster.ClusterLost` when the
    scheduler goes away mid-sweep (the points written so far stay; ``resume=True`` continues)."""
    if workers is not None:
        from ..engine.guard import check_int

        workers = check_int("workers", workers, lo=1)
    out = os.path.abspath(out or spec.out or f"sweep-{spec.name}")
    os.makedirs(out, exist_ok=True)
    pts = spec.points()
    keys = [spec.key(p) for p in pts]
    if len(set(keys)) != len(keys):
        dup = next(p for p, k in zip(pts, keys) if keys.count(k) > 1)
        raise SpecError(f"{spec.where('params')}: the point {dup} appears more than once")
    client = owned = None
    if scheduler is not None or scheduler_file is not None:  # reach the cluster before anything is written
        from .cluster import DEFAULT_WAIT_WORKERS, connect

        client, owned = connect(scheduler, scheduler_file,
                                DEFAULT_WAIT_WORKERS if wait_workers is None else wait_workers,
                                say=lambda msg: _say(progress, msg))
    try:
        return _run_sweep(spec, out, resume, client, workers, progress, plot, pts, keys)
    finally:
        if owned:
            from .cluster import close

            close(client)


def _run_sweep(spec, out, resume, client, workers, progress, plot, pts, keys):
    log = ResultsLog(out, spec.spec_hash, resume)
    from ..engine.io.atomic import atomic_write, clean_stale_tmp

    if resume:  # temporaries of writes a killed sweep left behind (results.csv, sweep.json, ...)
        clean_stale_tmp(out)
        for old in ("results.csv.tmp", "results.parquet.tmp", "phase.png.tmp.png", "error_rate.png.tmp.png"):
            try:
                os.unlink(os.path.join(out, old))  # names earlier versions used
            except OSError:
                pass

    desc = {"name": spec.name, "spec_hash": spec.spec_hash, "settings": spec.settings(), "params": spec.values,
            "points": len(pts)}
    atomic_write(os.path.join(out, "sweep.json"), [json.dumps(desc, indent=1, default=str).encode()])
    if resume and os.path.exists(os.path.join(out, ERRORS)):  # this attempt's failures only
        os.replace(os.path.join(out, ERRORS), os.path.join(out, ERRORS + ".previous"))
    todo = [(i, k, p) for i, (k, p) in enumerate(zip(keys, pts)) if k not in log.done]
    _say(progress, f"{len(pts)} points, {len(pts) - len(todo)} already done, {len(todo)} to run -> {out}")
    payload = spec.payload()
    failures = []
    from ..engine.progress import Progress

    prog = Progress("sweep", max(len(todo), 1), enabled=progress)

    def finished(i, k, p, rows):
        prog.update(len(log.done) - (len(pts) - len(todo)) + 1 + len(failures), f"{len(failures)} failed")
        if log.write(k, i, p, rows):
            sw = [r["switched"] for r in rows]
            _say(progress, f"[{len(log.done)}/{len(pts)}] point {i} {p}: "
                 f"{'switched ' + str(sum(bool(s) for s in sw)) + '/' + str(len(sw)) if sw[0] is not None else 'done'}"
                 f" ({sum(r['wall_s'] for r in rows):.3g} s)")

    def failed(i, k, p, exc):
        failures.append((i, p, exc))
        prog.update(len(log.done) - (len(pts) - len(todo)) + len(failures), f"{len(failures)} failed")
        with open(os.path.join(out, ERRORS), "a") as f:
            f.write(json.dumps({"key": k, "point": i, "params": p, "error": f"{type(exc).__name__}: {exc}"},
                               default=str) + "\n")
            f.flush()
            os.fsync(f.fileno())
        _say(progress, f"point {i} {p} failed: {type(exc).__name__}: {exc}")

    from .cluster import ClusterLost

    lost = None
    try:
        if todo and client is not None:
            from .cluster import run_points

            run_points(client, run_point, payload, todo, spec.retries, finished, failed,
                       saved=lambda: len(log.done), total=len(pts))
        elif todo:
            n = workers or spec.workers or _default_workers()
            n = max(1, min(int(n), len(todo)))
            if n == 1:
                for i, k, p in todo:
                    try:
                        rows = run_point(payload, p)
                    except Exception as exc:  # a bad point does not stop the others
                        failed(i, k, p, exc)
                        continue
                    finished(i, k, p, rows)
            else:
                _run_pool(n, payload, todo, spec.retries, finished, failed)
    except ClusterLost as exc:
        lost = exc
    finally:
        if lost is None:
            prog.done(f"{len(todo) - len(failures)} points run, {len(failures)} failed")
        else:  # no summary: the points in flight neither ran nor failed
            prog.abort()
        log.close()
        rows = read_results(out)
        if rows:
            names = []
            for p in pts:
                names += [n for n in p if n not in names]
            write_tables(out, rows, first=names)
            if plot:
                try:
                    plot_results(out, rows, list(spec.values))
                except Exception as exc:  # a plot is never worth losing results over
                    _say(progress, f"no plot ({type(exc).__name__}: {exc})")
    if lost is not None:
        raise lost
    if failures:
        raise RuntimeError(f"{len(failures)} of {len(pts)} points failed (see {os.path.join(out, ERRORS)}); "
                           f"the first: point {failures[0][0]} {failures[0][1]}: {failures[0][2]}. "
                           "Run again with --resume to retry them")
    return rows


def _default_workers():
    from ..engine.backends import gpu_status

    if os.environ.get("MICROMAG_BACKEND", "auto") != "cpu" and gpu_status()[0]:
        return 1  # one process drives the GPU; its batches fill it
    return os.cpu_count() or 1


def _exit_now():
    """End this pool worker at once, running no clean-up (its parent is gone; nothing waits for it, and an
    orderly exit could block on the dead parent's pipes): SIGKILL to itself."""
    import signal

    os.kill(os.getpid(), signal.SIGKILL)


def _watch_parent(parent, interval=0.2):
    """Exit this process as soon as ``parent`` is gone (reparented: getppid changes). A daemon thread of
    every pool worker, so that killing ``micromag sweep`` (even with SIGKILL, which it cannot catch) leaves
    no worker behind -- and once the workers are gone, multiprocessing's resource tracker, whose pipe they
    held, exits too."""
    while True:
        if os.getppid() != parent:
            _exit_now()
        time.sleep(interval)


def _worker_init(parent, mem_share):
    """Initializer of a sweep pool worker: die with the parent; plan memory for a share of the free memory."""
    import threading

    os.environ["MICROMAG_MEMORY_SHARE"] = repr(float(mem_share))
    if os.getppid() != parent:
        _exit_now()
    threading.Thread(target=_watch_parent, args=(parent,), name="micromag-parent-watchdog", daemon=True).start()


def _run_pool(n, payload, todo, retries, finished, failed):
    import concurrent.futures as cf
    import multiprocessing as mp
    from concurrent.futures.process import BrokenProcessPool

    pending = list(todo)
    for attempt in range(retries + 1):
        broken = []
        nw = min(n, len(pending))
        with cf.ProcessPoolExecutor(max_workers=nw, mp_context=mp.get_context("spawn"), initializer=_worker_init,
                                    initargs=(os.getpid(), 1.0 / nw)) as ex:
            futs = {ex.submit(run_point, payload, p): (i, k, p) for i, k, p in pending}
            for fut in cf.as_completed(futs):
                i, k, p = futs[fut]
                try:
                    rows = fut.result()
                except BrokenProcessPool:
                    broken.append((i, k, p))
                    continue
                except Exception as exc:
                    failed(i, k, p, exc)
                    continue
                finished(i, k, p, rows)
        if not broken:
            return
        pending = broken
    for i, k, p in pending:
        failed(i, k, p, RuntimeError("a worker process died running this point"))


def sweep(build, params, out, duration, every=None, detect=None, fixed=None, repeats=1, mode="product",
          points=None, workers=None, scheduler=None, resume=False, retries=2, energy=None, cupy_cache=None,
          progress=False, plot=True, scheduler_file=None, wait_workers=None, batch=None):
    """Run a parameter sweep from Python; returns the rows (one dict per run).

    ``build(**fixed, **point)`` returns a Simulation (it must be importable by name when ``workers`` > 1 or
    with a scheduler: a top-level function of a module, or a ``"script.py:function"`` string). ``params``
    maps names to lists (or range dicts as in the spec). ``duration``: simulated time per run, s;
    ``every``: interval of the switching checks, s. ``detect``: e.g. ``{"quantity": "mz",
    "threshold": 0.0, "below": True, "stop": True}``. ``repeats``: members per point (a thermal ensemble);
    ``batch``: members integrated at once (default all). ``scheduler``: a Dask address, a
    ``distributed.Client`` or ``"auto"``; ``scheduler_file``: a Dask scheduler file (see
    :mod:`micromag.apps.cluster`); ``wait_workers``: s to wait for a first worker (default 15, 0: forever).
    """
    spec = Spec(build=build, params=params, duration=duration, every=every, detect=detect, fixed=fixed,
                repeats=repeats, mode=mode, points=points, out=out, workers=workers, retries=retries, energy=energy,
                cupy_cache=cupy_cache, batch=batch)
    return run_sweep(spec, out=out, resume=resume, scheduler=scheduler, workers=workers, progress=progress,
                     plot=plot, scheduler_file=scheduler_file, wait_workers=wait_workers)


# ---------------------------------------------------------------------------------------------- demo
def demo_cell(Bz, Bx=0.0, T=0.0, alpha=0.1, diameter=32e-9, thickness=1.3e-9, n=8, batch=1):
    """A perpendicular CoFeB disk (``n`` × ``n`` cells) starting near +z, in a field (Bx, 0, Bz) in T at
    temperature T in K: the build function of ``examples/sweep_spec.toml``."""
    from ..engine.geometry import Ellipse
    from ..engine.grid import Grid
    from ..engine.materials import CoFeB_perpendicular
    from ..engine.simulation import Simulation

    grid = Grid(n=(n, n, 1), cell=(diameter / n, diameter / n, thickness))
    sim = Simulation(grid, material=CoFeB_perpendicular(thickness=thickness, alpha=alpha),
                     geometry=Ellipse((diameter, diameter)),
                     batch=batch)
    sim.m = (0.05, 0.0, 1.0)
    sim.B_ext = (Bx, 0.0, Bz)
    if T > 0:
        sim.dt = 1e-14
        sim.temperature = T
    return sim


# ---------------------------------------------------------------------------------------------- CLI
def cmd_sweep(args):
    spec = load_spec(args.spec)  # every check happens here, before anything runs
    out = args.out or spec.out
    if out is None:
        out = os.path.join(os.path.dirname(os.path.abspath(args.spec)), f"sweep-{spec.name}")
    scheduler, local = args.scheduler, None
    if args.gpus is not None:  # a local cluster: one worker per GPU, pinned by CUDA_VISIBLE_DEVICES
        from .cluster import local_gpu_cluster

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
    _say(not args.quiet, f"{len(rows)} rows in {os.path.join(os.path.abspath(out), 'results.csv')}")
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


if __name__ == "__main__":
    sys.exit(main())

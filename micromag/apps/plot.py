"""PNG plots for people who would rather look than read: m(t) from a table, and a magnetization snapshot.

Figures are drawn on matplotlib's Agg canvas (``matplotlib.figure.Figure``, never pyplot), so no display
is needed and no global figure is left open; a figure made here is saved to ``out`` and released.

Snapshot colours: the hue is the in-plane angle atan2(my, mx) on the HSV wheel (+x red, +y yellow-green,
−x cyan, −y violet), the lightness follows mz (mz = 0 full colour, +1 white, −1 black); cells outside
the magnet are white and the geometry's outline is drawn in grey.
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["table", "snapshot", "colorize"]


def _new_figure(size):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, out):
    if out is None:
        return
    out = os.fspath(out)
    d = os.path.dirname(os.path.abspath(out))
    os.makedirs(d, exist_ok=True)
    fig.savefig(out, format="png" if not out.lower().endswith((".svg", ".pdf")) else None)


def _table_units(path):
    with open(path) as f:
        head = f.readline()
    units = {}
    for c in head.lstrip("#").strip().split("\t"):
        c = c.strip()
        if c.endswith(")") and " (" in c:
            n, u = c[:-1].rsplit(" (", 1)
        else:
            n, u = c, ""
        units[n] = u
    return units


def table(path, columns=("mx", "my", "mz"), ax=None, out=None, title=None):
    """Plot table columns against t in ns from a MuMax3-style table (``table.txt`` or its folder).

    columns : one name or a list of column names (any column of the table); unknown names are an error
        that lists the available ones.
    ax : draw into this matplotlib Axes (its figure is then the caller's); default a new figure.
    out : save a PNG there (the new figure is released afterwards).
    Returns the Axes.
    """
    from ..engine.table import read_table

    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, "table.txt")
    names, data = read_table(path)
    units = _table_units(path)
    if isinstance(columns, str):
        columns = (columns,)
    columns = list(columns)
    missing = [c for c in columns if c not in names]
    if missing:
        raise ValueError(f"{path} has no column {missing}; available: {names}")
    if not columns:
        raise ValueError("give at least one column to plot")
    tcol = names.index("t") if "t" in names else 0
    t_ns = data[:, tcol] * 1e9
    empty = [c for c in columns if not (np.isfinite(data[:, names.index(c)]) & np.isfinite(t_ns)).any()]
    if empty:
        raise ValueError(f"{path}: column(s) {empty} hold no finite value (NaN or inf in every row): "
                         "nothing to plot")
    own = ax is None
    if own:
        fig = _new_figure((6.4, 4.0))
        ax = fig.add_subplot(1, 1, 1)
    for c in columns:
        u = units.get(c, "")
        ax.plot(t_ns, data[:, names.index(c)], label=c + (f" ({u})" if u else ""),
                marker="." if len(t_ns) < 30 else None)
    ax.set_xlabel("t (ns)")
    us = {units.get(c, "") for c in columns}
    if columns and all(c in ("mx", "my", "mz") for c in columns):
        ax.set_ylabel("reduced magnetization")
        ax.set_ylim(-1.05, 1.05)
    elif len(us) == 1:
        ax.set_ylabel(us.pop() or "value")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best")
    if title:
        ax.set_title(title)
    if out is not None:
        if own:
            ax.figure.tight_layout()
        _save(ax.figure, out)
    return ax


def colorize(m):
    """RGB image (..., 3) in [0, 1] of unit vectors m (3, ...): hue = in-plane angle, lightness = mz."""
    from matplotlib.colors import hsv_to_rgb

    m = np.asarray(m, dtype=float)
    mx, my, mz = m[0], m[1], np.clip(m[2], -1, 1)
    hue = (np.arctan2(my, mx) / (2 * np.pi)) % 1.0
    sat = 1.0 - np.clip(mz, 0, None)
    val = 1.0 + np.clip(mz, None, 0)
    return hsv_to_rgb(np.stack([hue, sat, val], axis=-1))


def _load(src, member):
    """-> (m (3, nz, ny, nx), mask (nz, ny, nx) bool, cell (dx, dy, dz), origin lower corner, label)."""
    if hasattr(src, "system") and hasattr(src, "m"):  # a Simulation
        if not 0 <= member < src.batch:
            raise ValueError(f"member {member} is out of range for a batch of {src.batch}")
        g = src.grid
        t = float(np.atleast_1d(src.t)[member])
        origin = tuple(-0.5 * n * d for n, d in zip(g.n, g.cell))
        return src.m[member], src.system.magnetic, g.cell, origin, f"t = {t * 1e9:.4g} ns"
    if isinstance(src, (str, os.PathLike)):
        p = os.fspath(src)
        if p.lower().endswith(".vti"):
            from ..engine.io.vtk import read_vti

            d = read_vti(p)
            cd = d["cell_data"]
            vecs = [k for k, a in cd.items() if a.ndim == 4 and a.shape[0] == 3]
            if not vecs:
                raise ValueError(f"{p} holds no 3-vector cell data")
            m = cd["m"] if "m" in cd else cd[vecs[0]]
            if "magnetic" in cd:
                mask = cd["magnetic"] > 0
            elif "Ms" in cd:
                mask = cd["Ms"] > 0
            else:
                mask = np.linalg.norm(m, axis=0) > 0
            label = f"t = {d['time'] * 1e9:.4g} ns" if d["time"] is not None else os.path.basename(p)
            return m.astype(float), mask, d["spacing"], d["origin"], label
        if p.lower().endswith(".ovf"):
            try:
                from ..engine.io.ovf import read_ovf
            except ImportError as e:
                raise ImportError(f"reading {p} needs micromag.engine.io.ovf, which is not available: {e}") from None
            return _from_ovf(read_ovf(p), p)
        raise ValueError(f"snapshot() reads .vti and .ovf files, got {p!r}")
    m = np.asarray(src, dtype=float)
    if m.ndim == 5:
        m = m[member]
    if m.ndim != 4 or m.shape[0] != 3:
        raise ValueError(f"an array snapshot must have shape (3, nz, ny, nx) or (B, 3, nz, ny, nx), got {m.shape}")
    n = m.shape[1:][::-1]
    return m, np.linalg.norm(m, axis=0) > 0, (1e-9, 1e-9, 1e-9), tuple(-0.5 * k * 1e-9 for k in n), "array"


def _from_ovf(res, path):
    """Accept what read_ovf returns: an array, (array, meta) or an object with .m/.data/.array."""
    if hasattr(res, "array") and hasattr(res, "cell"):  # micromag.engine.io.ovf.OvfField
        arr = np.asarray(res.array, dtype=float)
        if arr.ndim != 4 or arr.shape[0] != 3:
            raise ValueError(f"{path} holds a field of shape {arr.shape}, not a 3-vector field")
        cell = tuple(float(c) for c in res.cell)
        origin = tuple(getattr(res, "pmin", None) or (-0.5 * k * d for k, d in zip(res.n, cell)))
        norm = np.linalg.norm(arr, axis=0)
        m = np.where(norm > 0, arr / np.where(norm > 0, norm, 1), 0)  # OVF may hold M in A/m
        return m, norm > 0, cell, origin, (getattr(res, "title", "") or os.path.basename(path))
    meta = {}
    if isinstance(res, tuple):
        arr = res[0]
        meta = res[1] if len(res) > 1 and isinstance(res[1], dict) else {}
    elif isinstance(res, dict):
        meta = res
        arr = next(res[k] for k in ("m", "data", "array", "field") if k in res)
    else:
        arr = next((getattr(res, k) for k in ("m", "data", "array", "field") if hasattr(res, k)), res)
        meta = getattr(res, "meta", None) or getattr(res, "header", None) or {}
    arr = np.asarray(arr, dtype=float)
    if arr.ndim == 4 and arr.shape[-1] == 3 and arr.shape[0] != 3:
        arr = np.moveaxis(arr, -1, 0)
    if arr.ndim == 5:
        arr = arr[0]
    cell = None
    for keys in (("xstepsize", "ystepsize", "zstepsize"), ("dx", "dy", "dz")):
        if isinstance(meta, dict) and all(k in meta for k in keys):
            cell = tuple(float(meta[k]) for k in keys)
    grid = getattr(res, "grid", None) or (meta.get("grid") if isinstance(meta, dict) else None)
    if cell is None and grid is not None and hasattr(grid, "cell"):
        cell = tuple(grid.cell)
    cell = cell or (1e-9, 1e-9, 1e-9)
    n = arr.shape[1:][::-1]
    norm = np.linalg.norm(arr, axis=0)
    m = np.where(norm > 0, arr / np.where(norm > 0, norm, 1), 0)  # OVF may hold M in A/m
    return m, norm > 0, cell, tuple(-0.5 * k * d for k, d in zip(n, cell)), os.path.basename(path)


def snapshot(src, member=0, out=None, layer=None, ax=None, arrows=False, wheel=True, title=None):
    """Draw one z layer of a magnetization: colour wheel for the in-plane angle, lightness from mz.

    src : a Simulation (member ``member``), a ``.vti`` file (vectors ``m``, magnet where ``Ms`` > 0), an
        ``.ovf`` file (through :func:`micromag.engine.io.ovf.read_ovf`), or an array (3, nz, ny, nx) /
        (B, 3, nz, ny, nx) (magnet where |m| > 0, 1 nm cells).
    layer : z index (default the middle layer, nz // 2; negative counts from the top).
    ax : draw into this Axes; default a new figure (released after saving).
    out : save a PNG there.
    arrows : False, True (about 16 arrows along the longer side) or an int step in cells.
    wheel : draw a small colour-wheel key.
    Returns the Axes (axes coordinates are nm; cell (i, j) is centred on its grid position).
    """
    m, mask, cell, origin, label = _load(src, member)
    nz, ny, nx = m.shape[1:]
    if layer is None:
        layer = nz // 2
    if not -nz <= int(layer) < nz:
        raise ValueError(f"layer {layer} is out of range for nz = {nz}")
    layer = int(layer) % nz
    ml, mk = m[:, layer], np.asarray(mask[layer], bool)
    rgb = colorize(ml)
    rgb[~mk] = 1.0
    x0, y0 = origin[0] * 1e9, origin[1] * 1e9
    dx, dy = cell[0] * 1e9, cell[1] * 1e9
    ext = (x0, x0 + nx * dx, y0, y0 + ny * dy)
    own = ax is None
    if own:
        aspect = (ny * dy) / (nx * dx)
        w = 6.0
        h = float(np.clip(w * aspect, 2.0, 8.0)) + 0.8
        fig = _new_figure((w + (1.2 if wheel else 0), h))
        ax = fig.add_axes([0.1, 0.12, 0.7 if wheel else 0.85, 0.78])
    ax.imshow(rgb, origin="lower", extent=ext, interpolation="nearest", aspect="equal")
    if not mk.all():  # outline of the geometry along cell faces (the frame is the box edge otherwise)
        _outline(ax, mk, x0, y0, dx, dy)
    ax.set_xlim(ext[0], ext[1])
    ax.set_ylim(ext[2], ext[3])
    if arrows:
        step = int(arrows) if not isinstance(arrows, bool) else max(1, max(nx, ny) // 16)
        xs = x0 + (np.arange(nx) + 0.5) * dx
        ys = y0 + (np.arange(ny) + 0.5) * dy
        X, Y = np.meshgrid(xs, ys)
        s = (slice(step // 2, None, step), slice(step // 2, None, step))
        U, V, M = ml[0][s], ml[1][s], mk[s]
        ax.quiver(X[s][M], Y[s][M], U[M], V[M], pivot="middle", color="k", scale_units="xy",
                  angles="xy", scale=1.0 / (0.8 * step * min(dx, dy)), width=0.004)
    ax.set_xlabel("x (nm)")
    ax.set_ylabel("y (nm)")
    ax.set_title(title or (f"{label}, layer {layer}" if nz > 1 else label))
    if own and wheel:
        _wheel(ax.figure.add_axes([0.83, 0.62, 0.15, 0.25]))
    _save(ax.figure, out)
    return ax


def _outline(ax, mk, x0, y0, dx, dy, color="0.3"):
    """Draw the faces between magnetic and empty cells (and the magnet's faces on the box edge)."""
    from matplotlib.collections import LineCollection

    ny, nx = mk.shape
    pad = np.zeros((ny + 2, nx + 2), bool)
    pad[1:-1, 1:-1] = mk
    segs = []
    jj, ii = np.nonzero(pad[:, 1:] != pad[:, :-1])  # vertical faces at x index ii (0..nx)
    for j, i in zip(jj, ii):
        x, y = x0 + i * dx, y0 + (j - 1) * dy
        segs.append(((x, y), (x, y + dy)))
    jj, ii = np.nonzero(pad[1:, :] != pad[:-1, :])  # horizontal faces at y index jj
    for j, i in zip(jj, ii):
        x, y = x0 + (i - 1) * dx, y0 + j * dy
        segs.append(((x, y), (x + dx, y)))
    ax.add_collection(LineCollection(segs, colors=color, linewidths=1.0))


def _wheel(ax):
    """The colour key: in-plane direction as hue (mz = 0 on the rim, +1 white at the centre)."""
    n = 101
    u = np.linspace(-1, 1, n)
    X, Y = np.meshgrid(u, u)
    r = np.hypot(X, Y)
    mz = np.sqrt(np.clip(1 - r**2, 0, 1))
    rgb = colorize(np.stack([X, Y, mz]))
    rgba = np.concatenate([rgb, (r <= 1)[..., None].astype(float)], axis=-1)
    ax.imshow(rgba, origin="lower", extent=(-1, 1, -1, 1), interpolation="bilinear")
    ax.set_axis_off()
    ax.text(1.12, 0, "+x", va="center", fontsize=7)
    ax.text(0, 1.12, "+y", ha="center", fontsize=7)
    ax.set_xlim(-1.4, 1.4)
    ax.set_ylim(-1.3, 1.3)

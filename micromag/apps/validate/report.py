"""Printing the results table, and writing the report folder (one PNG per case and a Markdown summary)."""
from __future__ import annotations

import datetime
import os
import platform


def _fmt(v):
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    try:
        v = float(v)
    except (TypeError, ValueError):
        return str(v)
    if v != v:
        return "nan"
    if v == 0:
        return "0"
    a = abs(v)
    return f"{v:.6g}" if 1e-3 <= a < 1e6 else f"{v:.4e}"


def table_rows(results):
    """One line per compared quantity: case, quantity, ours, reference, deviation, tolerance, status, wall."""
    rows = []
    for r in results:
        if not r.rows:
            first = (r.note or "").strip().splitlines()
            rows.append([r.case, "-", "-", "-", "-", "-", r.status.upper(), f"{r.wall:.1f}",
                         first[0] if first else ""])
            continue
        for k, row in enumerate(r.rows):
            q = row.quantity + (f" [{row.unit}]" if row.unit else "")
            st = ("pass" if row.passed else "FAIL") if r.status in ("pass", "fail") else r.status.upper()
            rows.append([r.case if k == 0 else "", q, _fmt(row.ours), _fmt(row.reference), _fmt(row.deviation),
                         row.tolerance, st, f"{r.wall:.1f}" if k == 0 else "", ""])
    return rows


HEAD = ["case", "quantity", "ours", "reference", "deviation", "tolerance", "result", "wall (s)"]


def format_table(results):
    rows = [r[:8] for r in table_rows(results)]
    w = [max(len(str(x)) for x in col) for col in zip(HEAD, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(n) for c, n in zip(cells, w))  # noqa: E731
    out = [line(HEAD), line(["-" * n for n in w])]
    out += [line(r) for r in rows]
    for r in results:
        if r.status in ("unavailable", "error"):
            out.append(f"{r.case}: {r.status}: {r.note.strip().splitlines()[0] if r.note else ''}")
    return "\n".join(out)


def plot_case(result, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nax = 1 + max([s.get("ax", 0) for s in result.series] or [0])
    fig, axes = plt.subplots(nax, 1, figsize=(7, 3.6 * nax), squeeze=False)
    for s in result.series:
        ax = axes[s.get("ax", 0), 0]
        if s["kind"] == "ref":
            style = dict(ls="--", lw=1.2, color="k", alpha=0.6) if len(s["x"]) > 1 else dict(marker="x", ms=10, color="k", ls="")
            ax.plot(s["x"], s["y"], label=s["label"], **style)
        else:
            style = dict(marker="o", ms=3, ls="-") if len(s["x"]) < 40 else dict(lw=1.5)
            ax.plot(s["x"], s["y"], label=s["label"], **style)
    axes[0, 0].set_xlabel(result.xlabel)
    axes[0, 0].set_ylabel(result.ylabel)
    for a in axes[:, 0]:
        if a.get_legend_handles_labels()[0]:
            a.legend(fontsize=7, loc="best")
        a.grid(alpha=0.3)
    fig.suptitle(f"{result.case}: {result.status}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_report(results, cases, folder, mode, backend, command=""):
    """Write ``folder/README.md`` and ``folder/<case>.png``; returns the Markdown path."""
    os.makedirs(folder, exist_ok=True)
    bycase = {c.name: c for c in cases}
    lines = [f"# micromag validation report ({mode})", ""]
    lines.append(f"Generated {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')} on {platform.node() or 'unknown'} "
                 f"({platform.processor() or platform.machine()}, {os.cpu_count()} CPUs visible), backend "
                 f"`{backend}`. Command: `{command}`.")
    lines.append("")
    npass = sum(r.status == "pass" for r in results)
    lines.append(f"**{npass} of {len(results)} cases pass.** Reference files: `micromag/apps/validate/data/` "
                 "(copies of `../shared/reference/`, see `SOURCES.md` there).")
    lines.append("")
    lines.append("| " + " | ".join(HEAD) + " |")
    lines.append("|" + "---|" * len(HEAD))
    for row in table_rows(results):
        cells = list(row[:8])
        if cells[0]:
            cells[0] = f"[{cells[0]}](#{cells[0].replace('_', '-').lower()})"
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines.append("")
    for r in results:
        c = bycase.get(r.case)
        lines.append(f"## {r.case}")
        lines.append("")
        lines.append(f"**{r.status}** in {r.wall:.1f} s." + (f" Setup of this run: {r.setup}." if r.setup else ""))
        lines.append("")
        if c is not None:
            lines += [f"- Setup: {c.description}", f"- Reference: {c.reference}", f"- Source: {c.source}",
                      f"- Compared: {c.quantity}", f"- Tolerance and why: {c.tolerance}",
                      f"- Perturbation it must detect (tested): `{c.breaks}`", ""]
        if r.note:
            lines += ["```", r.note.strip(), "```", ""]
        if r.series:
            png = f"{r.case}.png"
            try:
                plot_case(r, os.path.join(folder, png))
                lines += [f"![{r.case}]({png})", ""]
            except Exception as exc:  # a plot failure must not hide the numbers
                lines += [f"(plot failed: {type(exc).__name__}: {exc})", ""]
    path = os.path.join(folder, "README.md")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path

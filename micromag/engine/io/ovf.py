"""OVF (OOMMF Vector Field) files: OVF 2.0 read and write, OVF 1.0 read.

Written from the OOMMF user guide's description of the format, so that files move between micromag, OOMMF,
MuMax3 and Ubermag (``discretisedfield``):

* ``write_ovf(path, field, grid=...)`` writes one OVF 2.0 segment on a rectangular mesh, data as
  ``Binary 4`` (IEEE float32, little-endian, check value 1234567.0), ``Binary 8`` (float64, little-endian,
  check value 123456789012345.0) or ``Text`` (17 significant digits: float64 round-trips exactly).
  The file is written to a temporary file in the same folder and moved into place (``os.replace``), so a
  reader never sees half a file.
* ``read_ovf(path)`` reads OVF 2.0 (binary 4/8 little-endian, text) and OVF 1.0 (``# OOMMF: rectangular mesh
  v1.0``; binary 4/8 big-endian, text; ``valuemultiplier`` applied) and returns an :class:`OvfField`.
* ``load_ovf(path, grid=None)`` returns the ``(3, nz, ny, nx)`` array for ``sim.m = ...``.

Arrays are indexed ``[c, k, j, i]`` (component, z, y, x) as everywhere in micromag; in the file, x runs
fastest, then y, then z, with the ``valuedim`` components of one cell together.

Anything wrong with a file raises :class:`OvfError` (a ``ValueError``) whose message starts with the file name
and says what is wrong; nothing is returned from a file that failed a check.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field as dc_field

import numpy as np

from .errors import FileFormatError, read_bytes

__all__ = ["OvfError", "OvfField", "read_ovf", "write_ovf", "load_ovf"]

CHECK4 = 1234567.0
MIN_CELL, MAX_CELL = 1e-15, 1e3  # m: outside, a step size is a damaged header (OOMMF accepts 1 m cells)
CHECK8 = 123456789012345.0
_FORMATS = {"binary4": "Binary 4", "binary8": "Binary 8", "text": "Text"}
_FMT_ALIASES = {"binary4": "binary4", "binary 4": "binary4", "bin4": "binary4",
                "binary8": "binary8", "binary 8": "binary8", "bin8": "binary8", "binary": "binary8",
                "text": "text", "txt": "text"}
_MESHUNITS = {"m": 1.0, "mm": 1e3, "um": 1e6, "µm": 1e6, "μm": 1e6, "micron": 1e6, "nm": 1e9,
              "a": 1e10, "å": 1e10, "angstrom": 1e10}  # mesh unit -> how many of it make a metre


class OvfError(FileFormatError):
    """A missing, unreadable or malformed OVF file; the message names the file and the problem."""


@dataclass
class OvfField:
    """The content of one OVF segment on a rectangular mesh.

    Attributes
    ----------
    array : float64 array of shape (valuedim, nz, ny, nx).
    n : (nx, ny, nz) cell counts.
    cell : (dx, dy, dz) cell size in m.
    origin : (x, y, z) position in m of the centre of the mesh (micromag grids are centred on (0, 0, 0);
        OOMMF and MuMax3 meshes start at (0, 0, 0), so their centre is at half the size).
    pmin, pmax : corners of the mesh in m.
    header : dict of the header records, keys lower-case without spaces (``'xstepsize'``, ``'valuedim'``,
        ...), values as strings (several ``desc`` lines joined by newlines).
    version : '2.0' or '1.0'.
    fmt : 'binary4', 'binary8' or 'text' (the data representation in the file).
    path : the file read.
    """

    array: np.ndarray
    n: tuple
    cell: tuple
    origin: tuple
    header: dict = dc_field(default_factory=dict)
    version: str = "2.0"
    fmt: str = "binary8"
    path: str = ""

    @property
    def valuedim(self):
        return self.array.shape[0]

    @property
    def title(self):
        return self.header.get("title", "")

    @property
    def valuelabels(self):
        return tuple(_tcl_list(self.header.get("valuelabels", "")))

    @property
    def valueunits(self):
        units = _tcl_list(self.header.get("valueunits", self.header.get("valueunit", "")))
        if len(units) == 1 and self.valuedim > 1:
            units = units * self.valuedim
        return tuple(units)

    @property
    def size(self):
        return tuple(n * d for n, d in zip(self.n, self.cell))

    @property
    def pmin(self):
        return tuple(o - s / 2 for o, s in zip(self.origin, self.size))

    @property
    def pmax(self):
        return tuple(o + s / 2 for o, s in zip(self.origin, self.size))

    def grid(self, pbc=(0, 0, 0)):
        """The :class:`micromag.Grid` with this file's cell counts and cell size (centred on the origin)."""
        from ..grid import Grid

        try:
            return Grid(n=self.n, cell=self.cell, pbc=pbc)
        except ValueError as e:
            raise OvfError(self.path, f"mesh does not make a micromag Grid: {e}") from None


# --------------------------------------------------------------------------------------------- helpers
def _tcl_list(s):
    """Split a Tcl list (whitespace separated; ``{a b}`` and ``"a b"`` group; ``{}`` is an empty element)."""
    out, i, s = [], 0, s.strip()
    while i < len(s):
        c = s[i]
        if c.isspace():
            i += 1
            continue
        if c == "{":
            depth, j = 1, i + 1
            while j < len(s) and depth:
                depth += {"{": 1, "}": -1}.get(s[j], 0)
                j += 1
            out.append(s[i + 1:j - 1] if depth == 0 else s[i + 1:])
            i = j
        elif c == '"':
            j = s.find('"', i + 1)
            j = len(s) if j < 0 else j
            out.append(s[i + 1:j])
            i = j + 1
        else:
            j = i
            while j < len(s) and not s[j].isspace():
                j += 1
            out.append(s[i:j])
            i = j
    return out


def _tcl_word(s):
    """One element of a Tcl list: braced if empty or containing whitespace or braces."""
    s = str(s)
    if "\n" in s or "\r" in s:
        raise ValueError(f"OVF labels and units must be on one line, got {s!r}")
    if s == "" or any(ch.isspace() for ch in s) or any(ch in s for ch in '{}"'):
        if "{" in s or "}" in s:
            raise ValueError(f"OVF labels and units must not contain braces, got {s!r}")
        return "{" + s + "}"
    return s


def _num(x):
    """A float as the shortest string that reads back to the same float64."""
    return repr(float(x))


from .atomic import atomic_write as _atomic_write  # noqa: E402


# --------------------------------------------------------------------------------------------- writing
def write_ovf(path, field, grid=None, cell=None, origin=None, fmt="binary4", title="m",
              valuelabels=("m_x", "m_y", "m_z"), valueunits=("", "", ""), desc=None):
    """Write a field as an OVF 2.0 file (one segment, rectangular mesh, mesh unit m).

    Parameters
    ----------
    path : file to write (replaced atomically if it exists).
    field : array (valuedim, nz, ny, nx) — a vector field has valuedim 3 — or (nz, ny, nx) for a scalar
        (valuedim 1); a (1, 3, nz, ny, nx) batch of one is accepted too.
    grid : micromag Grid giving the cell size (and checking the shape); or give ``cell`` = (dx, dy, dz) in m.
    origin : (x, y, z) in m of the centre of the mesh; default (0, 0, 0) as micromag grids. The header's
        xmin..zmax are origin -/+ size/2 and xbase.. the centre of the first cell.
    fmt : 'binary4' (float32, the MuMax3 default), 'binary8' (float64, exact) or 'text' (17 digits, exact).
    title : the Title record.
    valuelabels, valueunits : one label / unit per component (written as Tcl lists: empty -> ``{}``).
        For fields with valuedim != 3 the defaults become ``title`` (scalar) or ``title_0``, ... and empty units.
    desc : optional description, a string (one ``# Desc:`` line per line of text) or a list of lines.
    """
    key = _FMT_ALIASES.get(str(fmt).strip().lower())
    if key is None:
        raise ValueError(f"fmt must be 'binary4', 'binary8' or 'text', got {fmt!r}")
    a = np.asarray(field)
    if a.ndim == 5 and a.shape[0] == 1:
        a = a[0]
    if a.ndim == 3:
        a = a[None]
    if a.ndim != 4 or a.shape[0] < 1:
        raise ValueError(f"field must have shape (valuedim, nz, ny, nx) or (nz, ny, nx), got {np.shape(field)}")
    if not np.issubdtype(a.dtype, np.number) or np.iscomplexobj(a):
        raise ValueError(f"field must hold real numbers, got dtype {a.dtype}")
    a = np.asarray(a, dtype=np.float64)
    vdim, nz, ny, nx = a.shape
    if grid is not None:
        if tuple(grid.shape) != (nz, ny, nx):
            raise ValueError(f"field shape (nz, ny, nx) = {(nz, ny, nx)} does not match the grid's {grid.shape}")
        if cell is not None and not np.allclose(cell, grid.cell, rtol=1e-12, atol=0):
            raise ValueError(f"cell {cell} contradicts grid.cell {grid.cell}; give one of them")
        cell = grid.cell
    if cell is None:
        raise ValueError("write_ovf needs the cell size: pass grid=Grid(...) or cell=(dx, dy, dz) in m")
    cell = tuple(float(c) for c in cell)
    if len(cell) != 3 or not all(math.isfinite(c) and c > 0 for c in cell):
        raise ValueError(f"cell must be three finite lengths > 0 in m, got {cell}")
    origin = (0.0, 0.0, 0.0) if origin is None else tuple(float(o) for o in origin)
    if len(origin) != 3 or not all(math.isfinite(o) for o in origin):
        raise ValueError(f"origin must be three finite coordinates in m, got {origin}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"field contains {int((~np.isfinite(a)).sum())} NaN or infinite values; not written")
    if vdim != 3:
        if tuple(valuelabels) == ("m_x", "m_y", "m_z"):
            valuelabels = (title,) if vdim == 1 else tuple(f"{title}_{i}" for i in range(vdim))
        if tuple(valueunits) == ("", "", ""):
            valueunits = ("",) * vdim
    if isinstance(valuelabels, str):
        valuelabels = (valuelabels,)
    if isinstance(valueunits, str):
        valueunits = (valueunits,) * vdim
    valuelabels, valueunits = tuple(valuelabels), tuple(valueunits)
    if len(valuelabels) != vdim or len(valueunits) != vdim:
        raise ValueError(f"valuelabels and valueunits need {vdim} entries (valuedim), got "
                         f"{len(valuelabels)} and {len(valueunits)}")
    title = str(title)
    if "\n" in title or "\r" in title or "##" in title:
        raise ValueError(f"title must be one line without '##', got {title!r}")
    if desc is None:
        desc_lines = []
    elif isinstance(desc, str):
        desc_lines = desc.splitlines() or [""]
    else:
        desc_lines = [str(d) for d in desc]
    for d in desc_lines:
        if "\n" in d or "\r" in d or "##" in d:
            raise ValueError(f"desc lines must not contain newlines or '##', got {d!r}")

    n = (nx, ny, nz)
    size = [c * k for c, k in zip(cell, n)]
    pmin = [o - s / 2 for o, s in zip(origin, size)]
    pmax = [o + s / 2 for o, s in zip(origin, size)]
    rep = _FORMATS[key]
    lines = ["# OOMMF OVF 2.0", "#", "# Segment count: 1", "#", "# Begin: Segment", "# Begin: Header", "#",
             f"# Title: {title}"]
    lines += [f"# Desc: {d}" for d in desc_lines]
    lines += ["# meshtype: rectangular", "# meshunit: m", "#"]
    lines += [f"# {ax}min: {_num(v)}" for ax, v in zip("xyz", pmin)]
    lines += [f"# {ax}max: {_num(v)}" for ax, v in zip("xyz", pmax)]
    lines += ["#", f"# valuedim: {vdim}",
              "# valuelabels: " + " ".join(_tcl_word(s) for s in valuelabels),
              "# valueunits: " + " ".join(_tcl_word(s) for s in valueunits), "#"]
    lines += [f"# {ax}base: {_num(o + (1 - k) * c / 2)}" for ax, o, k, c in zip("xyz", origin, n, cell)]
    lines += [f"# {ax}nodes: {k}" for ax, k in zip("xyz", n)]
    lines += [f"# {ax}stepsize: {_num(c)}" for ax, c in zip("xyz", cell)]
    lines += ["#", "# End: Header", "#", f"# Begin: Data {rep}"]
    head = ("\n".join(lines) + "\n").encode("utf-8")
    records = np.ascontiguousarray(np.moveaxis(a, 0, -1))  # (nz, ny, nx, vdim): x fastest, components together
    if key == "text":
        body = "\n".join(" ".join(f"{v:.16e}" for v in row) for row in records.reshape(-1, vdim)).encode("ascii")
        chunks = [head, body, b"\n"]
    else:
        dt, check = ("<f4", CHECK4) if key == "binary4" else ("<f8", CHECK8)
        if dt == "<f4" and np.any(np.abs(records) > np.finfo(np.float32).max):
            raise ValueError("field has values beyond the float32 range; write it with fmt='binary8'")
        chunks = [head, np.array([check], dtype=dt).tobytes(), records.astype(dt).tobytes(), b"\n"]
    chunks.append(f"# End: Data {rep}\n# End: Segment\n".encode("ascii"))
    _atomic_write(path, chunks)
    return path


# --------------------------------------------------------------------------------------------- reading
_BEGIN_DATA = re.compile(rb"^#\s*begin\s*:\s*data\b(.*)$", re.IGNORECASE)
_END_DATA = re.compile(rb"^[ \t]*#\s*end\s*:\s*data\b", re.IGNORECASE | re.MULTILINE)


def _parse_header(path, raw):
    """Return (version, header dict, representation line, offset of the first data byte)."""
    pos = 0
    header = {}
    version = None
    first = True
    while True:
        if pos >= len(raw):
            raise OvfError(path, "no '# Begin: Data ...' line: the file ends inside the header "
                                 "(truncated, or not an OVF file)")
        nl = raw.find(b"\n", pos)
        if nl < 0 and not first:
            raise OvfError(path, "no '# Begin: Data ...' line: the file ends inside the header "
                                 "(truncated, or not an OVF file)")
        end = len(raw) if nl < 0 else nl
        line = raw[pos:end].rstrip(b"\r")
        nxt = end + 1
        if first:
            first = False
            if line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            ident = line.decode("latin-1").strip()
            low = re.sub(r"\s+", " ", ident.lower())
            if re.fullmatch(r"#\s*oommf\s*ovf\s*2\.0", low):
                version = "2.0"
            elif re.fullmatch(r"#\s*oommf\s*:\s*rectangular\s*mesh\s*v?(1\.0|0\.99|0\.0a0)", low) or \
                    re.fullmatch(r"#\s*oommf\s*ovf\s*1\.0", low):
                version = "1.0"
            elif re.fullmatch(r"#\s*oommf\s*:\s*irregular\s*mesh.*", low):
                raise OvfError(path, "irregular meshes are not supported (OVF 1.0 'irregular mesh' file); "
                                     "only rectangular meshes can be read")
            else:
                shown = ident[:60] + ("..." if len(ident) > 60 else "")
                raise OvfError(path, f"not an OVF file (unknown format): the first line is {shown!r}, expected "
                                     "'# OOMMF OVF 2.0' or '# OOMMF: rectangular mesh v1.0'")
            pos = nxt
            continue
        m = _BEGIN_DATA.match(line.strip())
        if m:
            return version, header, m.group(1).decode("latin-1").strip(), nxt
        text = line.decode("utf-8", errors="replace")
        stripped = text.strip()
        if stripped == "":
            pos = nxt
            continue
        if not stripped.startswith("#"):
            raise OvfError(path, f"malformed header line {stripped[:60]!r}: header lines must start with '#'")
        body = stripped[1:]
        if body.startswith("#"):  # a '##' comment line
            pos = nxt
            continue
        cut = body.find("##")
        if cut >= 0:
            body = body[:cut]
        if body.strip() == "":
            pos = nxt
            continue
        if ":" not in body:
            raise OvfError(path, f"malformed header line {stripped[:60]!r}: expected '# key: value'")
        key, value = body.split(":", 1)
        key = re.sub(r"\s+", "", key).lower()
        value = value.strip()
        if key == "desc" and "desc" in header:
            header["desc"] += "\n" + value
        elif key in ("begin", "end"):
            v = re.sub(r"\s+", " ", value.lower())
            if v not in ("segment", "header"):
                raise OvfError(path, f"unexpected '# {key.capitalize()}: {value}' line in the header")
        else:
            header[key] = value
        pos = nxt


def _get_int(path, header, key):
    if key not in header:
        raise OvfError(path, f"header record '{key}' is missing")
    try:
        v = float(header[key])
    except ValueError:
        raise OvfError(path, f"header record '{key}' is {header[key]!r}, not an integer") from None
    if not math.isfinite(v) or v != int(v) or v < 1:
        raise OvfError(path, f"header record '{key}' must be an integer >= 1, got {header[key]!r}")
    return int(v)


def _get_float(path, header, key, required=True, positive=False):
    if key not in header:
        if required:
            raise OvfError(path, f"header record '{key}' is missing")
        return None
    try:
        v = float(header[key])
    except ValueError:
        raise OvfError(path, f"header record '{key}' is {header[key]!r}, not a number") from None
    if not math.isfinite(v) or (positive and v <= 0):
        raise OvfError(path, f"header record '{key}' must be a finite{' positive' if positive else ''} number, "
                             f"got {header[key]!r}")
    return v


def _representation(path, rep):
    r = re.sub(r"\s+", " ", rep.lower()).strip()
    if r == "text":
        return "text"
    if r in ("binary 4", "binary4"):
        return "binary4"
    if r in ("binary 8", "binary8"):
        return "binary8"
    raise OvfError(path, f"unknown data representation {rep!r} in '# Begin: Data' (expected 'Text', "
                         "'Binary 4' or 'Binary 8')")


def read_ovf(path):
    """Read the first segment of an OVF 2.0 or OVF 1.0 file on a rectangular mesh.

    Returns an :class:`OvfField`; ``.array`` is float64 of shape (valuedim, nz, ny, nx). Raises
    :class:`OvfError` naming the file for a missing file, an unknown format, a malformed or incomplete header,
    an irregular mesh, a wrong binary check value, truncated or surplus data, and NaN or infinite values.
    """
    path = os.fspath(path)
    raw = read_bytes(path, "an OVF file", error=OvfError)
    if not raw:
        raise OvfError(path, "the file is empty")

    version, header, rep, start = _parse_header(path, raw)
    fmt = _representation(path, rep)

    meshtype = header.get("meshtype", "rectangular" if version == "1.0" else None)
    if meshtype is None:
        raise OvfError(path, "header record 'meshtype' is missing")
    if meshtype.strip().lower() != "rectangular":
        raise OvfError(path, f"meshtype {meshtype!r} is not supported: only rectangular meshes can be read "
                             "(irregular meshes are not supported)")
    n = tuple(_get_int(path, header, f"{ax}nodes") for ax in "xyz")
    unit_name = header.get("meshunit", "m").strip()
    scale = _MESHUNITS.get(unit_name.lower())
    if scale is None:
        raise OvfError(path, f"unknown meshunit {unit_name!r} (expected m, mm, um or nm)")
    step = tuple(_get_float(path, header, f"{ax}stepsize", positive=True) for ax in "xyz")
    cell = tuple(s / scale for s in step)
    for ax, c in zip("xyz", cell):
        if not MIN_CELL <= c <= MAX_CELL:
            raise OvfError(path, f"header record '{ax}stepsize' is {c:g} m, outside [{MIN_CELL:g}, {MAX_CELL:g}] m "
                                 "(a damaged header, or a meshunit that does not match the numbers)")
    # the centre of the mesh: from the bounding box when given, else from the first cell centre
    origin = []
    for ax, k, s in zip("xyz", n, step):
        lo = _get_float(path, header, f"{ax}min", required=False)
        hi = _get_float(path, header, f"{ax}max", required=False)
        base = _get_float(path, header, f"{ax}base", required=False)
        if lo is not None and hi is not None:
            c = (lo + hi) / 2
        elif base is not None:
            c = base - s / 2 + k * s / 2
        elif lo is not None:
            c = lo + k * s / 2
        else:
            c = 0.0
        origin.append(c / scale)

    if version == "2.0":
        vdim = _get_int(path, header, "valuedim")
        multiplier = 1.0
    else:
        vdim = 3
        if "valuedim" in header and header["valuedim"].strip() != "3":
            raise OvfError(path, f"OVF 1.0 files hold 3-vectors, but the header says valuedim {header['valuedim']}")
        multiplier = _get_float(path, header, "valuemultiplier", required=False)
        multiplier = 1.0 if multiplier is None else multiplier
    count = n[0] * n[1] * n[2] * vdim
    what = f"{n[0]}x{n[1]}x{n[2]} cells x {vdim} components = {count} values"

    if fmt == "text":
        m = _END_DATA.search(raw, start)
        if m is None:
            raise OvfError(path, "no '# End: Data Text' line after the data: the file is truncated")
        block = re.sub(rb"#[^\n]*", b" ", raw[start:m.start()])
        tokens = block.split()
        if len(tokens) != count:
            more = "truncated data" if len(tokens) < count else "more data than the header's mesh holds"
            raise OvfError(path, f"{more}: the text data block holds {len(tokens)} numbers, the header "
                                 f"needs {what} (wrong size or corrupt file)")
        try:
            flat = np.array(tokens, dtype=bytes).astype(np.float64)
        except ValueError:
            for idx, t in enumerate(tokens):
                try:
                    float(t)
                except ValueError:
                    break
            raise OvfError(path, f"bad number {t.decode('latin-1')[:40]!r} in the text data block "
                                 f"(value {idx} of {count})") from None
    else:
        size = 4 if fmt == "binary4" else 8
        dt = np.dtype(("<" if version == "2.0" else ">") + ("f4" if size == 4 else "f8"))
        check = CHECK4 if size == 4 else CHECK8
        if len(raw) < start + size:
            raise OvfError(path, f"truncated data: the file ends before the Binary {size} check value")
        got = float(np.frombuffer(raw, dtype=dt, count=1, offset=start)[0])
        if got != check:
            other = float(np.frombuffer(raw, dtype=dt.newbyteorder(), count=1, offset=start)[0])
            hint = (" (the bytes are in the other byte order: OVF 2.0 binary is little-endian, OVF 1.0 "
                    "big-endian)") if other == check else " (corrupt file, or the wrong Binary 4/8 size)"
            raise OvfError(path, f"wrong binary check value: read {got!r}, expected {check!r}{hint}")
        need = start + size * (count + 1)
        if len(raw) < need:
            have = (len(raw) - start - size) // size
            raise OvfError(path, f"truncated data: the file holds {have} of the {what} of the Binary {size} "
                                 f"data block (wrong size for the mesh, or the file was cut short)")
        tail = raw[need:]
        m = _END_DATA.match(tail.lstrip(b" \t\r\n")) if tail.strip() else None
        if m is None:
            if not tail.strip():
                raise OvfError(path, f"no '# End: Data Binary {size}' line after the {what}: the file is truncated")
            raise OvfError(path, f"the {what} of the Binary {size} data block are not followed by "
                                 f"'# End: Data Binary {size}': the data block is longer than the header's mesh "
                                 "(wrong xnodes/ynodes/znodes or valuedim) or the file is corrupt")
        flat = np.frombuffer(raw, dtype=dt, count=count, offset=start + size).astype(np.float64)

    if multiplier != 1.0:
        flat = flat * multiplier
    bad = ~np.isfinite(flat)
    if bad.any():
        first = int(np.argmax(bad)) // vdim
        i, j, k = first % n[0], (first // n[0]) % n[1], first // (n[0] * n[1])
        raise OvfError(path, f"the data hold {int(bad.sum())} NaN or infinite values (first in cell "
                             f"i={i}, j={j}, k={k})")
    array = np.ascontiguousarray(np.moveaxis(flat.reshape(n[2], n[1], n[0], vdim), -1, 0))
    return OvfField(array=array, n=n, cell=cell, origin=tuple(origin), header=header, version=version,
                    fmt=fmt, path=path)


def load_ovf(path, grid=None):
    """Read a vector OVF file and return its (3, nz, ny, nx) float64 array, ready for ``sim.m = ...``.

    If ``grid`` is given, the file's cell counts must equal ``grid.n`` and its cell size must equal ``grid.cell``
    to 1e-6 relative; a mismatch raises :class:`OvfError` (nothing is returned, so nothing half-loads).
    """
    f = read_ovf(path)
    if f.valuedim != 3:
        raise OvfError(path, f"wrong valuedim: the file holds a field with {f.valuedim} component(s) per cell, "
                             "a magnetization needs 3")
    if grid is not None:
        if tuple(f.n) != tuple(grid.n):
            raise OvfError(path, f"wrong size for the grid: the file's mesh is {f.n[0]}x{f.n[1]}x{f.n[2]} cells "
                                 f"(nx x ny x nz), the grid is {grid.n[0]}x{grid.n[1]}x{grid.n[2]}")
        for ax, a, b in zip("xyz", f.cell, grid.cell):
            if abs(a - b) > 1e-6 * abs(b):
                raise OvfError(path, f"wrong cell size for the grid: the file's cell is "
                                     f"{f.cell[0]:.6g} x {f.cell[1]:.6g} x {f.cell[2]:.6g} m, the grid's "
                                     f"{grid.cell[0]:.6g} x {grid.cell[1]:.6g} x {grid.cell[2]:.6g} m "
                                     f"(d{ax} differs by more than 1e-6 relative)")
    return f.array

"""ParaView output: VTK XML ImageData (``.vti``) snapshots and ``.pvd`` time series.

Written by hand with NumPy and zlib (no VTK needed at write time, so a GPU machine without the ``vtk``
package writes the same files). Format choices:

* ``<VTKFile type="ImageData" version="1.0" byte_order="LittleEndian" header_type="UInt64">``, with
  ``compressor="vtkZLibDataCompressor"`` when compressed.
* The grid's cells are VTK cells: ``WholeExtent="0 nx 0 ny 0 nz"`` points, every field is *cell data*,
  ``Origin`` = the grid's lower corner (−Lx/2, −Ly/2, −Lz/2 for the origin-centred grid), ``Spacing`` =
  the cell size, in **nanometres** by default (``length_unit``). A device is ~1e-7 m: in metres ParaView's
  renderer (its clipping range, glyph scale, picking tolerances) degenerates and the surface renders
  black until the display is scaled; in nm it is ordinary. The unit is recorded in the file as field data
  ``LengthUnit`` ("nm") and ``LengthScale`` (1e-9, metres per coordinate unit); :func:`read_vti` converts
  back to metres (a file without them is in metres: older files read as before).
* ParaView's defaults show the magnetization: a vector ``m`` (the active vectors, so Glyph draws it) and
  its components ``m_x``, ``m_y``, ``m_z`` (the active scalars: ``m_z``, or the component along the
  layer's uniaxial easy axis, so a surface is coloured by it, not by |m| = 1); ``magnetic`` (0/1) and ``region`` (the region ids, −1 where there is no magnet); cells
  without magnet are blanked (``vtkGhostType`` = HIDDENCELL | DUPLICATECELL), so Surface, Slice, Glyph
  and Threshold skip them.
* Every array's unit is field data: a string array ``unit_<name>`` ("1" for dimensionless, "A/m", "T",
  "J/m^3", ...), shown in ParaView's Information panel.
* All arrays in one ``<AppendedData encoding="raw">`` block. Uncompressed: a UInt64 byte count, then
  the bytes. Compressed (VTK's block format): UInt64 header ``[nblocks, block size, size of the last
  block (0 = full), compressed size of each block]``, then the zlib-compressed blocks.
* Vectors (3, nz, ny, nx) are stored interleaved (x fastest, component order x, y, z), scalars
  (nz, ny, nx) as they are: the C order of a ``[k, j, i]`` array is exactly VTK's x-fastest cell order.
* The snapshot's physical time goes into field data ``TimeValue`` (ParaView reads it), and into the
  ``.pvd`` collection as ``timestep`` (seconds), both rounded to 12 significant digits (5e-11, not
  4.9999999999999995e-11: the float sum of steps carries noise far below any step size).
* Every file is written to a temporary name in the same folder and moved into place with
  ``os.replace``, so a reader (or a run killed mid-write, or a full disk) never sees a half file.
"""
from __future__ import annotations

import os
import re
import struct
import xml.etree.ElementTree as ET
import zlib
from xml.sax.saxutils import quoteattr

import numpy as np

from .errors import FileFormatError, names_the_file

__all__ = ["write_vti", "read_vti", "write_pvd", "read_pvd", "SnapshotSeries", "snapshot_fields",
           "snapshot_fields_batch", "open_series", "write_snapshots", "clean_time", "unit_of", "UNITS",
           "easy_axis_component",
           "DEFAULT_FIELDS"]

_VTK_TYPES = {
    np.dtype("float32"): "Float32", np.dtype("float64"): "Float64",
    np.dtype("int8"): "Int8", np.dtype("uint8"): "UInt8",
    np.dtype("int16"): "Int16", np.dtype("uint16"): "UInt16",
    np.dtype("int32"): "Int32", np.dtype("uint32"): "UInt32",
    np.dtype("int64"): "Int64", np.dtype("uint64"): "UInt64",
}
_NP_TYPES = {v: k for k, v in _VTK_TYPES.items()}

BLOCK_SIZE = 1 << 16  # uncompressed bytes per zlib block
HIDDENCELL = 32  # vtkDataSetAttributes::HIDDENCELL: a blanked cell in the vtkGhostType array
DUPLICATECELL = 1  # vtkDataSetAttributes::DUPLICATECELL
# A cell without magnet: HIDDENCELL (renderers, Threshold, Slice skip it) and DUPLICATECELL, because
# ParaView 5.11's Glyph filter skips only ghost cells, not hidden ones (checked with pvpython 5.11: 776
# arrows on 776 magnet cells with both bits, 1024 on the whole grid with HIDDENCELL alone).
VACUUM_GHOST = HIDDENCELL | DUPLICATECELL
GHOST = "vtkGhostType"
LENGTH_UNITS = {"m": 1.0, "mm": 1e-3, "um": 1e-6, "nm": 1e-9, "pm": 1e-12}
TIME_DIGITS = 12  # significant digits of the times written
_FIELD_NAMES = ("m", "Ms", "region", "fill", "magnetic")
DEFAULT_FIELDS = ("m", "Ms", "region", "magnetic")  # what a run's snapshots hold

# units of the fields micromag writes (SI; "1" = dimensionless); others come through ``units=``
UNITS = {"m": "1", "m_x": "1", "m_y": "1", "m_z": "1", "Ms": "A/m", "region": "1", "fill": "1",
         "magnetic": "1", "B_eff": "T", "B_eff_x": "T", "B_eff_y": "T", "B_eff_z": "T", GHOST: "1"}


def unit_of(name):
    """The SI unit of a field micromag writes (energy densities ``E_*`` are J/m^3), or None."""
    if name in UNITS:
        return UNITS[name]
    if name.startswith("E_"):
        return "J/m^3"
    return None


def clean_time(t):
    """``t`` (s) rounded to :data:`TIME_DIGITS` significant digits: 5e-11, not 4.9999999999999995e-11."""
    return float(f"{float(t):.{TIME_DIGITS}g}")


# ---------------------------------------------------------------------------------------------- helpers
from .atomic import atomic_write as _atomic_write  # noqa: E402


def _string_array(name, text):
    """A VTK XML field-data string array (ASCII codes, each string ended by 0)."""
    codes = " ".join(str(b) for b in text.encode("ascii")) + " 0"
    return (f'<Array type="String" Name={quoteattr(name)} NumberOfTuples="1" format="ascii">'
            f"{codes}</Array>")


def _grid_geometry(grid, origin):
    n = tuple(int(v) for v in grid.n)
    spacing = tuple(float(v) for v in grid.cell)
    if origin is None:
        origin = tuple(-0.5 * ni * di for ni, di in zip(n, spacing))
    else:
        origin = tuple(float(v) for v in origin)
        if len(origin) != 3:
            raise ValueError(f"origin must be three numbers (x, y, z) in m, got {origin!r}")
    return n, spacing, origin


def _as_cell_array(name, a, shape, dtype):
    """Check one field and return (vtk type, ncomp, little-endian C-contiguous bytes-ready array)."""
    a = np.asarray(a)
    if a.dtype == bool:
        a = a.astype(np.uint8)
    if a.shape == shape:
        ncomp = 1
    elif a.ndim == 4 and a.shape[1:] == shape:
        ncomp = a.shape[0]
        a = np.moveaxis(a, 0, -1)  # (c, nz, ny, nx) -> (nz, ny, nx, c): interleaved components
    else:
        raise ValueError(f"field {name!r} has shape {a.shape}; cell data on this grid must be {shape} "
                         f"(scalar) or {(3,) + shape} (vector)")
    if np.issubdtype(a.dtype, np.floating):
        if dtype is not None:
            a = a.astype(dtype)
        if a.dtype not in (np.float32, np.float64):
            a = a.astype(np.float64)
    elif not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"field {name!r} has dtype {a.dtype}; use floats, integers or booleans")
    a = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<"))
    return _VTK_TYPES[a.dtype.newbyteorder("=")], ncomp, a


def _encode(raw, level):
    """One appended-data record: UInt64 header + payload (zlib blocks when level > 0)."""
    nbytes = len(raw)
    if not level:
        return [struct.pack("<Q", nbytes), raw]
    nblocks = (nbytes + BLOCK_SIZE - 1) // BLOCK_SIZE
    last = nbytes - (nblocks - 1) * BLOCK_SIZE if nblocks else 0
    blocks = [zlib.compress(raw[i * BLOCK_SIZE:(i + 1) * BLOCK_SIZE], level) for i in range(nblocks)]
    header = struct.pack(f"<{3 + nblocks}Q", nblocks, BLOCK_SIZE, 0 if last == BLOCK_SIZE else last,
                         *(len(b) for b in blocks))
    return [header] + blocks


def _fmt(x):
    return repr(float(x))


# ---------------------------------------------------------------------------------------------- .vti
def write_vti(path, grid, cell_data, origin=None, time=None, compress=True, dtype=None, units=None, hidden=None,
              length_unit="nm", components=True, active_scalars=None):
    """Write cell data on ``grid`` to a VTK XML ImageData file (atomically).

    Parameters
    ----------
    path : file name (``.vti``).
    grid : :class:`~micromag.engine.grid.Grid` (uses ``n`` and ``cell``).
    cell_data : dict name -> array, ``(3, nz, ny, nx)`` vectors (any number of components works) or
        ``(nz, ny, nx)`` scalars; floats, integers or booleans (booleans are written as UInt8). The first
        vector field is marked as the active vectors.
    origin : lower corner of the grid in m; default the centred grid's (−Lx/2, −Ly/2, −Lz/2).
    time : physical time in s, stored as field data ``TimeValue`` (optional; rounded, see
        :func:`clean_time`).
    compress : True (zlib level 1), False, or a zlib level 1..9.
    dtype : None keeps float arrays' precision; ``np.float32``/``np.float64`` converts every float field.
    units : {field name: unit string}, added to (and overriding) the units of known fields (:data:`UNITS`);
        every array gets field data ``unit_<name>`` (an unknown one: "unknown").
    hidden : boolean (nz, ny, nx) mask of cells to blank (no magnet): written as ``vtkGhostType`` =
        HIDDENCELL, so ParaView's Surface, Glyph and Threshold skip them. Default: none hidden.
    length_unit : unit of Origin and Spacing in the file, one of :data:`LENGTH_UNITS` (default "nm";
        recorded as field data ``LengthUnit``/``LengthScale``).
    components : also write each 3-vector's components as scalars ``<name>_x``, ``_y``, ``_z`` (a colour
        map of m_z, not of |m|).
    active_scalars : the name of the active scalars (default ``m_z`` when written, else the first scalar).
    """
    if not cell_data:
        raise ValueError("cell_data is empty: give at least one field")
    if length_unit not in LENGTH_UNITS:
        raise ValueError(f"length_unit must be one of {sorted(LENGTH_UNITS)}, got {length_unit!r}")
    n, spacing, origin = _grid_geometry(grid, origin)
    scale = LENGTH_UNITS[length_unit]
    spacing = tuple(float(f"{d / scale:.15g}") for d in spacing)  # 2.5e-9 m -> 2.5 nm, not 2.4999999999999996
    origin = tuple(float(f"{o / scale:.15g}") for o in origin)
    shape = (n[2], n[1], n[0])
    cell_data = dict(cell_data)
    if GHOST in cell_data:
        raise ValueError(f"{GHOST!r} is written by write_vti itself: pass hidden= (a mask of blanked cells)")
    if components:
        for name, a in list(cell_data.items()):
            if np.ndim(a) == 4 and np.shape(a)[0] == 3:
                for c, axis in enumerate("xyz"):
                    cell_data.setdefault(f"{name}_{axis}", np.asarray(a)[c])
    if hidden is not None:
        hidden = np.asarray(hidden, dtype=bool)
        if hidden.shape != shape:
            raise ValueError(f"hidden has shape {hidden.shape}; the grid's cells are {shape}")
        cell_data[GHOST] = np.where(hidden, VACUUM_GHOST, 0).astype(np.uint8)
    all_units = {k: v for k in cell_data if (v := unit_of(k)) is not None}
    for k, v in (units or {}).items():
        if not isinstance(v, str) or re.search(r"[^\x20-\x7e]", v):
            raise ValueError(f"units[{k!r}] must be an ASCII string, got {v!r}")
        all_units[k] = v
    level = (1 if compress is True else int(compress)) if compress else 0
    if not 0 <= level <= 9:
        raise ValueError(f"compress must be a bool or a zlib level 1..9, got {compress!r}")
    arrays = []
    for name, a in cell_data.items():
        if not isinstance(name, str) or not name or re.search(r"[\"<>&\s]", name):
            raise ValueError(f"field names must be non-empty strings without spaces or XML characters, "
                             f"got {name!r}")
        arrays.append((name,) + _as_cell_array(name, a, shape, dtype))

    records, offset = [], 0

    def add(tag_attrs, arr):
        """Queue one array's appended record; return its <DataArray> element."""
        nonlocal offset
        rec = _encode(arr.tobytes(), level)
        records.extend(rec)
        elem = f'<DataArray {tag_attrs} format="appended" offset="{offset}"/>'
        offset += sum(len(r) for r in rec)
        return elem

    fields = []
    if time is not None:
        t = np.asarray([clean_time(time)], dtype="<f8")
        fields.append(add('type="Float64" Name="TimeValue" NumberOfTuples="1"', t))
    fields.append(add('type="Float64" Name="LengthScale" NumberOfTuples="1"', np.asarray([scale], dtype="<f8")))
    fields.append(_string_array("LengthUnit", length_unit))
    for name, *_ in arrays:
        fields.append(_string_array(f"unit_{name}", all_units.get(name, "unknown")))
    field_xml = "      <FieldData>\n" + "".join(f"        {f}\n" for f in fields) + "      </FieldData>\n"
    vec = next((nm for nm, _, c, _ in arrays if c == 3), None)
    scalars = [nm for nm, _, c, _ in arrays if c == 1 and nm != GHOST]
    if active_scalars is not None and active_scalars not in scalars:
        raise ValueError(f"active_scalars {active_scalars!r} is not a scalar field here; choose from {scalars}")
    sca = active_scalars or ("m_z" if "m_z" in scalars else scalars[0] if scalars else None)
    active = (f" Vectors={quoteattr(vec)}" if vec else "") + (f" Scalars={quoteattr(sca)}" if sca else "")
    lines = []
    for name, vtype, ncomp, arr in arrays:
        lines.append("          " + add(f'type="{vtype}" Name={quoteattr(name)} NumberOfComponents="{ncomp}"', arr))
    extent = f"0 {n[0]} 0 {n[1]} 0 {n[2]}"
    head = (
        '<?xml version="1.0"?>\n'
        '<VTKFile type="ImageData" version="1.0" byte_order="LittleEndian" header_type="UInt64"'
        + (' compressor="vtkZLibDataCompressor"' if level else "") + ">\n"
        f'  <ImageData WholeExtent="{extent}" Origin="{" ".join(map(_fmt, origin))}" '
        f'Spacing="{" ".join(map(_fmt, spacing))}" Direction="1 0 0 0 1 0 0 0 1">\n'
        + field_xml +
        f'    <Piece Extent="{extent}">\n'
        '      <PointData>\n      </PointData>\n'
        f"      <CellData{active}>\n" + "\n".join(lines) + "\n      </CellData>\n"
        "    </Piece>\n"
        "  </ImageData>\n"
        '  <AppendedData encoding="raw">\n   _'
    )
    tail = b"\n  </AppendedData>\n</VTKFile>\n"
    _atomic_write(path, [head.encode("ascii")] + records + [tail])
    return os.fspath(path)


def _decode(buf, pos, level_used, header_fmt="<Q"):
    hs = struct.calcsize(header_fmt)
    if not level_used:
        (nbytes,) = struct.unpack_from(header_fmt, buf, pos)
        return bytes(buf[pos + hs:pos + hs + nbytes])
    nblocks, bsize, last = struct.unpack_from(header_fmt[0] + "3" + header_fmt[1], buf, pos)
    sizes = struct.unpack_from(f"{header_fmt[0]}{nblocks}{header_fmt[1]}", buf, pos + 3 * hs)
    p = pos + (3 + nblocks) * hs
    out = []
    for s in sizes:
        out.append(zlib.decompress(buf[p:p + s]))
        p += s
    return b"".join(out)


@names_the_file("VTK ImageData (.vti) file written by micromag")
def read_vti(path):
    """Read a ``.vti`` file with appended raw data (what :func:`write_vti` writes) without VTK.

    Returns a dict: ``n`` (nx, ny, nz) cells, ``origin`` and ``spacing`` in m (converted from the file's
    ``LengthUnit``; a file without one is in metres), ``time`` (s, or None), ``cell_data`` {name: (c, nz,
    ny, nx) or (nz, ny, nx) array} (the ``vtkGhostType`` blanking array left out: it is ``hidden``),
    ``hidden`` (boolean (nz, ny, nx) mask of blanked cells, or None) and ``units`` {name: unit}.
    """
    with open(path, "rb") as f:
        buf = f.read()
    start = buf.find(b"<AppendedData")
    if start < 0:
        raise ValueError(f"{path}: no <AppendedData> block (only appended raw .vti files are read here; "
                         "use vtk.vtkXMLImageDataReader for others)")
    us = buf.index(b"_", buf.index(b">", start)) + 1
    root = ET.fromstring(buf[:start].decode("ascii") + "</VTKFile>")
    if root.get("type") != "ImageData":
        raise ValueError(f"{path}: not an ImageData file")
    if root.get("byte_order", "LittleEndian") != "LittleEndian":
        raise ValueError(f"{path}: only little-endian files are read here")
    hfmt = "<Q" if root.get("header_type", "UInt32") == "UInt64" else "<I"
    comp = root.get("compressor")
    if comp not in (None, "", "vtkZLibDataCompressor"):
        raise ValueError(f"{path}: compressor {comp} is not supported")
    img = root.find("ImageData")
    ext = [int(v) for v in img.get("WholeExtent").split()]
    n = (ext[1] - ext[0], ext[3] - ext[2], ext[5] - ext[4])
    if len(ext) != 6 or min(n) < 1:
        raise FileFormatError(path, f"ImageData WholeExtent {img.get('WholeExtent')!r}: expected six integers "
                                    "'x0 x1 y0 y1 z0 z1' with x1 > x0, y1 > y0, z1 > z0 (cell data)")
    shape = (n[2], n[1], n[0])

    def get(da):
        raw = _decode(buf, us + int(da.get("offset")), comp, hfmt)
        return np.frombuffer(raw, dtype=_NP_TYPES[da.get("type")].newbyteorder("<")).astype(
            _NP_TYPES[da.get("type")])

    time, scale, units = None, 1.0, {}
    fd = img.find("FieldData")
    if fd is not None:
        for da in fd.findall("DataArray"):
            if da.get("Name") == "TimeValue":
                time = float(get(da)[0])
            elif da.get("Name") == "LengthScale":
                scale = float(get(da)[0])
        for da in fd.findall("Array"):
            name = da.get("Name", "")
            if da.get("type") == "String" and name.startswith("unit_"):
                codes = [int(c) for c in (da.text or "").split()]
                units[name[5:]] = bytes(codes[:codes.index(0)] if 0 in codes else codes).decode("ascii")
    cells, hidden = {}, None
    for da in img.find("Piece").find("CellData").findall("DataArray"):
        nc = int(da.get("NumberOfComponents", "1"))
        a = get(da)
        a = a.reshape(shape) if nc == 1 else np.moveaxis(a.reshape(shape + (nc,)), -1, 0)
        if da.get("Name") == GHOST:
            hidden = (a & HIDDENCELL) > 0
        else:
            cells[da.get("Name")] = a
    units.pop(GHOST, None)

    def metres(attr):
        return tuple(float(f"{float(v) * scale:.15g}") for v in img.get(attr).split())

    return {"n": n, "origin": metres("Origin"), "spacing": metres("Spacing"), "time": time, "cell_data": cells,
            "hidden": hidden, "units": units}


# ---------------------------------------------------------------------------------------------- .pvd
def write_pvd(path, entries):
    """Write a ``.pvd`` collection (atomically): entries = [(time in s, file name relative to the pvd)]."""
    rows = "".join(f'    <DataSet timestep="{_fmt(clean_time(t))}" group="" part="0" file={quoteattr(f)}/>\n'
                   for t, f in entries)
    text = ('<?xml version="1.0"?>\n<VTKFile type="Collection" version="0.1" byte_order="LittleEndian">\n'
            "  <Collection>\n" + rows + "  </Collection>\n</VTKFile>\n")
    _atomic_write(path, [text.encode("utf-8")])


@names_the_file("ParaView collection (.pvd) file")
def read_pvd(path):
    """The [(time, file)] entries of a ``.pvd`` collection."""
    root = ET.parse(path).getroot()
    entries = []
    for i, d in enumerate(root.iter("DataSet")):
        t, f = float(d.get("timestep", "0")), d.get("file")
        if not np.isfinite(t) or not f:
            raise FileFormatError(path, f"DataSet {i}: expected a finite timestep (s) and a file name, got "
                                        f"timestep={d.get('timestep')!r} file={f!r}")
        entries.append((t, f))
    return entries


# ---------------------------------------------------------------------------------------------- series
class SnapshotSeries:
    """A time series of ``.vti`` frames plus a ``.pvd`` collection, which ParaView opens as a movie.

    Frames are ``<base>_000000.vti``, ``<base>_000001.vti``, ...; the collection ``<base>.pvd`` is rewritten
    atomically after every frame, so a run that dies (or a disk that fills up) leaves a collection listing
    exactly the frames written so far. ``base`` is ``name``, or ``name_0007`` for batch member 7.

    An existing series of the same base name in ``folder`` is an error (nothing is silently overwritten)
    unless ``resume=True``, which appends to it: exactly-once, since frames the collection does not list
    past its last entry (a killed run's) are deleted, and with ``after=t`` so are the entries later than
    ``t`` s (``may_cut=False`` makes such entries an error instead). Stale temporaries are removed.

    Parameters
    ----------
    folder : output folder (created if needed).
    name : series name (file prefix).
    member : batch member this series shows (None: a single simulation, or member 0 without suffix).
    resume : append to an existing series instead of refusing.
    compress : see :func:`write_vti`.
    dtype : float precision of the files (default float32; None keeps the arrays' precision).
    after : with resume, the time (s) a continued run starts at.
    may_cut : whether entries after ``after`` may be removed (else they are an error).
    """

    def __init__(self, folder, name="m", member=None, resume=False, compress=True, dtype=np.float32, after=None,
                 may_cut=True):
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.\-]+", name):
            raise ValueError(f"series name must be letters, digits, '_', '-' or '.', got {name!r}")
        if member is not None and (int(member) != member or member < 0):
            raise ValueError(f"member must be an integer >= 0 or None, got {member!r}")
        self.folder = os.fspath(folder)
        self.name = name
        self.member = None if member is None else int(member)
        self.base = name if member is None else f"{name}_{int(member):04d}"
        self.compress = compress
        self.dtype = dtype
        self.pvd_path = os.path.join(self.folder, self.base + ".pvd")
        os.makedirs(self.folder, exist_ok=True)
        frame_re = re.compile(re.escape(self.base) + r"_(\d{6,})\.vti$")
        existing = sorted(f for f in os.listdir(self.folder) if frame_re.match(f))
        self.entries = []
        if os.path.exists(self.pvd_path) or existing:
            if not resume:
                raise FileExistsError(
                    f"{self.pvd_path} (or its frames) exists; choose another folder or name, remove it, "
                    "or pass resume=True to append")
            from .atomic import clean_stale_tmp

            clean_stale_tmp(self.folder)
            if os.path.exists(self.pvd_path):
                self.entries = read_pvd(self.pvd_path)
                self._cut(after, may_cut, existing, frame_re)
                existing = sorted(f for f in os.listdir(self.folder) if frame_re.match(f))
        used = [int(frame_re.match(f).group(1)) for f in existing]
        used += [int(m.group(1)) for _, f in self.entries if (m := frame_re.match(os.path.basename(f)))]
        self._next = max(used) + 1 if used else 0
        self.closed = False

    def _cut(self, after, may_cut, existing, frame_re):
        """Resume exactly-once: drop the entries later than ``after`` (s) from the collection (rewritten
        atomically first), then delete their frames and the unlisted frames numbered after the last listed
        one (written by a run killed before it could list them). Other unlisted frames are left alone (and
        numbered around)."""
        old = {os.path.basename(f) for _, f in self.entries}
        if after is not None:
            keep = [(t, f) for t, f in self.entries if not t > after + 1e-12 * abs(after)]
            if len(keep) < len(self.entries):
                if not may_cut:
                    raise ValueError(f"{self.pvd_path} has {len(self.entries) - len(keep)} frames after t = "
                                     f"{after:g} s, the time this simulation starts from: resume=True continues "
                                     "a series from a checkpoint of the same run, which removes them")
                self.entries = keep
                write_pvd(self.pvd_path, self.entries)
        listed = {os.path.basename(f) for _, f in self.entries}
        nums = [int(m.group(1)) for f in listed if (m := frame_re.match(f))]
        top = max(nums) if nums else -1
        for f in existing:
            if f in listed:
                continue
            if f in old or int(frame_re.match(f).group(1)) > top:
                try:
                    os.unlink(os.path.join(self.folder, f))
                except OSError:
                    pass

    def __len__(self):
        return len(self.entries)

    @property
    def frames(self):
        """Paths of the frames listed in the collection."""
        return [os.path.join(self.folder, f) for _, f in self.entries]

    @property
    def times(self):
        return [t for t, _ in self.entries]

    @property
    def last_t(self):
        """Time of the last frame (s), or -inf."""
        return self.entries[-1][0] if self.entries else -np.inf

    def write(self, grid, cell_data, t, origin=None, hidden=None, active_scalars=None):
        """Write one frame at physical time ``t`` (s) and rewrite the collection; returns the frame path.
        ``hidden``: mask of blanked cells (default: where ``cell_data["magnetic"]`` is 0, if given);
        ``active_scalars``: see :func:`write_vti`."""
        if self.closed:
            raise RuntimeError(f"series {self.base} is closed")
        fname = f"{self.base}_{self._next:06d}.vti"
        path = os.path.join(self.folder, fname)
        if hidden is None and "magnetic" in cell_data:
            hidden = ~np.asarray(cell_data["magnetic"], dtype=bool)
        write_vti(path, grid, cell_data, origin=origin, time=t, compress=self.compress, dtype=self.dtype,
                  hidden=hidden, active_scalars=active_scalars)
        self._next += 1
        self.entries.append((clean_time(t), fname))  # as the collection stores it (and a resume reads it)
        write_pvd(self.pvd_path, self.entries)
        return path

    def write_sim(self, sim, fields=DEFAULT_FIELDS, extra=()):
        """Write the state of ``sim`` (member ``self.member`` or 0) at its current time."""
        b = self.member or 0
        cd = snapshot_fields(sim, b, fields=fields, extra=extra)
        return self.write(sim.grid, cd, _member_time(sim, b), active_scalars=_active(sim, cd))

    def close(self):
        """Nothing is buffered: every frame is complete on disk when ``write`` returns. Marks it closed."""
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _member_time(sim, b):
    return float(np.atleast_1d(sim.t)[b])


def easy_axis_component(sim):
    """The m component a picture of ``sim`` is coloured by: ``"m_x"``/``"m_y"``/``"m_z"`` along the easy
    axis its magnetic regions share (uniaxial Ku1 > 0 along a coordinate axis), else ``"m_z"``."""
    sysm = sim.system
    used = np.unique(np.asarray(sysm.region)[np.asarray(sysm.magnetic, dtype=bool)])
    axes = set()
    for r in used:
        mat = sysm.materials[int(r)]
        if getattr(mat, "Ku1", 0.0) > 0:
            u = np.abs(np.asarray(mat.anis_u, dtype=float))
            axes.add(int(np.argmax(u)) if u.max() > 0.99 * np.linalg.norm(u) else None)
    return "m_" + "xyz"[axes.pop()] if len(axes) == 1 and None not in axes else "m_z"


def _active(sim, cd):
    return easy_axis_component(sim) if "m" in cd else None




def snapshot_fields_batch(sim, members, fields=DEFAULT_FIELDS, extra=()):
    """Cell-data dicts (host NumPy arrays) for several batch members of a Simulation, sharing the work.

    fields : any of ``"m"`` (unit vectors, 0 outside), ``"Ms"`` (A/m, Ms × fill fraction, 0 outside),
        ``"region"`` (Int32 ids, −1 where there is no magnet), ``"fill"`` (fill fraction), ``"magnetic"``
        (UInt8 mask, 1 in the magnet). A series blanks the cells outside the magnet when ``"magnetic"``
        is written (the default).
    extra : any of ``"B_eff"`` (effective field, T), ``"energy"`` (every energy-storing term's density
        ``E_<term>`` and ``E_total``, J/m³), or ``"E_<term>"`` for one term's density.
    """
    members = [int(b) for b in members]
    for b in members:
        if not 0 <= b < sim.batch:
            raise ValueError(f"member {b} is out of range for a batch of {sim.batch}")
    for f in fields:
        if f not in _FIELD_NAMES:
            raise ValueError(f"unknown snapshot field {f!r}; choose from {_FIELD_NAMES}")
    sysm = sim.system
    eterms = sim.energy_terms() if hasattr(sim, "energy_terms") else {
        n: t for n, t in sim.terms.items()
        if getattr(t, "stores_energy", True) and not getattr(t, "is_torque", False)}
    want_e = []
    for e in extra:
        if e == "energy":
            want_e += [n for n in eterms if n not in want_e] + ["total"]
        elif e.startswith("E_") and (e[2:] in eterms or e == "E_total"):
            want_e.append(e[2:])
        elif e != "B_eff":
            raise ValueError(f"unknown extra snapshot field {e!r}; choose 'B_eff', 'energy' or one of "
                             f"{['E_' + n for n in eterms] + ['E_total']}")
    m = sim.m
    tvec = np.atleast_1d(np.asarray(sim.t, dtype=float))
    B = sim.effective_field() if "B_eff" in extra else None
    dens = {}
    if want_e:
        for n, term in eterms.items():
            if n in want_e or "total" in want_e:
                dens[n] = np.asarray(term.energy_density(m, tvec))
        if "total" in want_e:
            dens["total"] = sum(dens[n] for n in eterms) if eterms else np.zeros((sim.batch,) + sim.grid.shape)
    region = np.where(sysm.magnetic, np.asarray(sysm.region, dtype=np.int32), -1).astype(np.int32)
    static = {"Ms": sysm.Ms_eff, "region": region, "fill": sysm.fill,
              "magnetic": sysm.magnetic}
    out = []
    for b in members:
        cd = {}
        for f in fields:
            cd[f] = m[b] if f == "m" else static[f]
        if B is not None:
            cd["B_eff"] = B[b]
        for n in want_e:
            cd[f"E_{n}"] = dens[n][b]
        out.append(cd)
    return out


def snapshot_fields(sim, member=0, fields=DEFAULT_FIELDS, extra=()):
    """The cell-data dict of one batch member of a Simulation; see :func:`snapshot_fields_batch`."""
    return snapshot_fields_batch(sim, [member], fields=fields, extra=extra)[0]


def open_series(sim, folder, members=None, name="m", resume=False, compress=True, dtype=np.float32, after=None,
                may_cut=True):
    """The series a run writes: one for a single simulation, else one per member (all, or ``members``).
    ``after``: the members' start times (s, (B,)) of a resumed run; later frames are removed."""
    at = (lambda b: None) if after is None else (lambda b: float(np.atleast_1d(after)[b]))
    if sim.batch == 1 and members in (None, [0], (0,)):
        return [SnapshotSeries(folder, name, None, resume=resume, compress=compress, dtype=dtype, after=at(0),
                               may_cut=may_cut)]
    members = range(sim.batch) if members is None else members
    return [SnapshotSeries(folder, name, int(b), resume=resume, compress=compress, dtype=dtype, after=at(int(b)),
                           may_cut=may_cut) for b in members]


def write_snapshots(series, sim, fields=DEFAULT_FIELDS, extra=()):
    """Write one frame of ``sim``'s current state into every series (from :func:`open_series`) whose
    member has advanced past its last frame (a stopped member, or a continued series, gets no repeat)."""
    tv = np.atleast_1d(np.asarray(sim.t, dtype=float))
    todo = [s for s in series if clean_time(tv[s.member or 0]) > s.last_t]  # the collection holds clean times
    if not todo:
        return []
    members = [s.member or 0 for s in todo]
    cds = snapshot_fields_batch(sim, members, fields=fields, extra=extra)
    return [s.write(sim.grid, cd, _member_time(sim, b), active_scalars=_active(sim, cd))
            for s, b, cd in zip(todo, members, cds)]

"""Regenerate the binary OVF fixtures in this folder (run: python tests/data/ovf/make_fixtures.py).

Written by hand from the OVF format description, independent of micromag.engine.io.ovf, so the tests check our reader
against files laid out the way other programs write them. The generated files are committed.

* mumax3_m_binary4.ovf — OVF 2.0, Binary 4 (little-endian float32), header exactly in MuMax3's style
  (Title, meshtype, meshunit, xmin..zmax from 0, valuedim, valuelabels m_x m_y m_z, valueunits 1 1 1, Desc,
  xbase.., xnodes.., xstepsize..; no newline between the data and '# End: Data Binary 4', as MuMax3 writes).
* ovf1_binary8.omf — OVF 1.0 ('# OOMMF: rectangular mesh v1.0'), Binary 8 (big-endian float64 as OVF 1.0
  requires), meshunit nm and valuemultiplier 1000, so the true values are 1000 x the stored ones in A/m.

Mesh of both: 3 x 2 x 1 cells of 5 nm x 5 nm x 3 nm. Cell values (x fastest, then y):
(i,j) = (0,0): (1, 0, 0)   (1,0): (0, 1, 0)   (2,0): (0, 0, 1)
(0,1): (-1, 0, 0)          (1,1): (0.6, 0.8, 0) (2,1): (0, -0.6, -0.8)
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

VALUES = [  # in file order: x fastest, then y, then z
    (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0),
    (-1.0, 0.0, 0.0), (0.6, 0.8, 0.0), (0.0, -0.6, -0.8),
]


def mumax3_binary4():
    head = "\n".join([
        "# OOMMF OVF 2.0",
        "# Segment count: 1",
        "# Begin: Segment",
        "# Begin: Header",
        "# Title: m",
        "# meshtype: rectangular",
        "# meshunit: m",
        "# xmin: 0",
        "# ymin: 0",
        "# zmin: 0",
        "# xmax: 1.5e-08",
        "# ymax: 1e-08",
        "# zmax: 3e-09",
        "# valuedim: 3",
        "# valuelabels: m_x m_y m_z",
        "# valueunits: 1 1 1",
        "# Desc: Total simulation time: 0 s",
        "# xbase: 2.5e-09",
        "# ybase: 2.5e-09",
        "# zbase: 1.5e-09",
        "# xnodes: 3",
        "# ynodes: 2",
        "# znodes: 1",
        "# xstepsize: 5e-09",
        "# ystepsize: 5e-09",
        "# zstepsize: 3e-09",
        "# End: Header",
        "# Begin: Data Binary 4",
    ]) + "\n"
    data = struct.pack("<f", 1234567.0) + b"".join(struct.pack("<3f", *v) for v in VALUES)
    with open(os.path.join(HERE, "mumax3_m_binary4.ovf"), "wb") as f:
        f.write(head.encode("ascii") + data + b"# End: Data Binary 4\n# End: Segment\n")


def ovf1_binary8():
    head = "\n".join([
        "# OOMMF: rectangular mesh v1.0",
        "#",
        "# Segment count: 1",
        "#",
        "# Begin: Segment",
        "# Begin: Header",
        "#",
        "# Title: Oxs_TimeDriver::Magnetization  ## a '##' comment",
        "# Desc: Hand-made OVF 1.0 fixture for micromag",
        "# meshtype: rectangular",
        "# meshunit: nm",
        "# xbase: 2.5",
        "# ybase: 2.5",
        "# zbase: 1.5",
        "# xstepsize: 5",
        "# ystepsize: 5",
        "# zstepsize: 3",
        "# xnodes: 3",
        "# ynodes: 2",
        "# znodes: 1",
        "# xmin: 0",
        "# ymin: 0",
        "# zmin: 0",
        "# xmax: 15",
        "# ymax: 10",
        "# zmax: 3",
        "# valueunit: A/m",
        "# valuemultiplier: 1000",
        "# ValueRangeMinMag: 800",
        "# ValueRangeMaxMag: 800",
        "#",
        "# End: Header",
        "#",
        "# Begin: Data Binary 8",
    ]) + "\n"
    data = struct.pack(">d", 123456789012345.0) + b"".join(struct.pack(">3d", *(800.0 * c for c in v)) for v in VALUES)
    with open(os.path.join(HERE, "ovf1_binary8.omf"), "wb") as f:
        f.write(head.encode("ascii") + data + b"\n# End: Data Binary 8\n# End: Segment\n")


if __name__ == "__main__":
    mumax3_binary4()
    ovf1_binary8()

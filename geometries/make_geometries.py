"""Make the ready free-layer meshes in this folder (see README.md).

    python geometries/make_geometries.py            # writes next to this script
    python geometries/make_geometries.py OUTDIR

Pure NumPy + SciPy (Delaunay of the ellipse outline) + meshio: no Gmsh needed, so CI can rerun it and
the files come out byte-identical. The .msh files are Gmsh MSH 2.2 ASCII (Gmsh opens them; meshio and
``micromag.from_mesh`` read them) with named physical groups; the STL files are ASCII. Mesh unit: nm
(read them with ``scale='nm'``, i.e. 1e-9 m per unit). Coordinates are rounded to 1e-4 nm so the STL
and the .msh of one body hold exactly the same vertex coordinates.

How the bodies are meshed: an outline in the xy plane is triangulated (ellipses: rings of points,
Delaunay; boxes: a structured grid), the triangles are extruded into prisms through the thickness and
every prism is split into three tetrahedra by the sorted-vertex rule (the quad faces shared by two
prisms get the same diagonal, so the mesh is conforming). The ellipse outline is the inscribed
polygon of N points: its area is pi*a*b * sin(2 pi/N)/(2 pi/N), 4e-4 below the ellipse for N = 128.
"""
from __future__ import annotations

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROUND = 4  # decimals (nm) of the written coordinates


def ellipse_outline_triangles(a, b, n_boundary=128, n_rings=8, angle_deg=0.0):
    """Triangulation of the ellipse with full axes a, b (rotated by angle_deg about z): points (n, 2),
    triangles (m, 3). Rings of points at radii j/n_rings with ~n_boundary*j/n_rings points each."""
    from scipy.spatial import Delaunay

    pts = [np.zeros((1, 2))]
    for j in range(1, n_rings + 1):
        r = j / n_rings
        n = max(6, int(round(n_boundary * r)))
        th = 2 * np.pi * (np.arange(n) + 0.5 * (j % 2)) / n if j < n_rings else 2 * np.pi * np.arange(n) / n
        pts.append(np.column_stack([0.5 * a * r * np.cos(th), 0.5 * b * r * np.sin(th)]))
    p = np.concatenate(pts)
    c, s = np.cos(np.radians(angle_deg)), np.sin(np.radians(angle_deg))
    p = p @ np.array([[c, -s], [s, c]]).T
    p = np.round(p, ROUND)
    tri = Delaunay(p).simplices
    a2 = ((p[tri[:, 1], 0] - p[tri[:, 0], 0]) * (p[tri[:, 2], 1] - p[tri[:, 0], 1])
          - (p[tri[:, 1], 1] - p[tri[:, 0], 1]) * (p[tri[:, 2], 0] - p[tri[:, 0], 0]))
    return p, tri[np.abs(a2) > 1e-9]


def rectangle_triangles(lx, ly, nx, ny):
    """Structured triangulation of the rectangle [-lx/2, lx/2] × [-ly/2, ly/2]."""
    x = np.linspace(-lx / 2, lx / 2, nx + 1)
    y = np.linspace(-ly / 2, ly / 2, ny + 1)
    X, Y = np.meshgrid(x, y, indexing="xy")
    p = np.round(np.column_stack([X.ravel(), Y.ravel()]), ROUND)
    i, j = np.meshgrid(np.arange(nx), np.arange(ny), indexing="xy")
    v0 = (j * (nx + 1) + i).ravel()
    v1, v2, v3 = v0 + 1, v0 + nx + 2, v0 + nx + 1
    return p, np.concatenate([np.column_stack([v0, v1, v2]), np.column_stack([v0, v2, v3])])


def extrude_to_tets(p2, tri, z0, z1, layers=1):
    """Prisms of the triangles between z0 and z1 (``layers`` of them), three tetrahedra each."""
    zs = np.round(np.linspace(z0, z1, layers + 1), ROUND)
    n = len(p2)
    pts = np.concatenate([np.column_stack([p2, np.full(n, z)]) for z in zs])
    t = np.sort(tri, axis=1)  # sorted vertex rule: consistent diagonals on shared quad faces
    tets = []
    for k in range(layers):
        a, b, c = (t[:, i] + k * n for i in range(3))
        A, B, C = a + n, b + n, c + n
        tets += [np.column_stack([a, b, c, A]), np.column_stack([b, c, A, B]), np.column_stack([c, A, B, C])]
    return pts, np.concatenate(tets)


def box_tets(lx, ly, z0, z1, nx, ny, layers=1):
    p2, tri = rectangle_triangles(lx, ly, nx, ny)
    return extrude_to_tets(p2, tri, z0, z1, layers)


def _write_msh(path, bodies):
    """bodies: list of (points, tets, physical tag, name) -> one MSH 2.2 ASCII file with named groups."""
    import meshio

    pts, cells, phys, geom, field = [], [], [], [], {}
    off = 0
    for p, t, tag, name in bodies:
        pts.append(p)
        cells.append(("tetra", t + off))
        phys.append(np.full(len(t), tag, dtype=np.int32))
        geom.append(np.full(len(t), tag, dtype=np.int32))
        field[name] = np.array([tag, 3])
        off += len(p)
    m = meshio.Mesh(np.concatenate(pts), cells,
                    cell_data={"gmsh:physical": phys, "gmsh:geometrical": geom}, field_data=field)
    meshio.write(path, m, file_format="gmsh22", binary=False)


def _write_stl(path, p, t):
    import meshio

    sys.path.insert(0, os.path.dirname(HERE))
    from micromag.engine.mesh import boundary_surface

    sp, st = boundary_surface(p, t)
    meshio.write(path, meshio.Mesh(sp, [("triangle", st)]), file_format="stl", binary=False)


def main(out=HERE):
    os.makedirs(out, exist_ok=True)
    # 1. MTJ free layer: ellipse 100 × 50 nm, 1.5 nm thick, centred on the origin
    p2, tri = ellipse_outline_triangles(100.0, 50.0, n_boundary=128, n_rings=8)
    p, t = extrude_to_tets(p2, tri, -0.75, 0.75)
    _write_msh(os.path.join(out, "mtj_ellipse.msh"), [(p, t, 1, "free_layer")])
    _write_stl(os.path.join(out, "mtj_ellipse.stl"), p, t)

    # 2. tilted SOT element: ellipse 120 × 40 nm rotated 45°, 2 nm thick (z 0..2 nm) on a beta-W
    #    stripe 200 × 100 × 4 nm along x (z -4..0 nm), wide enough for the rotated ellipse (±44.7 nm in y)
    p2, tri = ellipse_outline_triangles(120.0, 40.0, n_boundary=128, n_rings=8, angle_deg=45.0)
    pf, tf = extrude_to_tets(p2, tri, 0.0, 2.0)
    ph, th = box_tets(200.0, 100.0, -4.0, 0.0, 20, 10)
    _write_msh(os.path.join(out, "sot_tilted.msh"), [(pf, tf, 1, "free_layer"), (ph, th, 2, "heavy_metal")])

    # 3. muMAG standard problem 4 film: 500 × 125 × 3 nm
    p, t = box_tets(500.0, 125.0, -1.5, 1.5, 20, 5)
    _write_msh(os.path.join(out, "sp4_film.msh"), [(p, t, 1, "film")])
    _write_stl(os.path.join(out, "sp4_film.stl"), p, t)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else HERE)

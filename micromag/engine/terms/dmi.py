"""Dzyaloshinskii–Moriya interaction of every crystal class (interfacial Cnv along any axis, bulk T/O,
D2d along any axis) as one term built from DMI vectors, with the boundary condition of the classes acting."""
from __future__ import annotations

import numpy as np

from .base import CONSTANT, MATERIAL, Param, Term
from .stencil import AXES, Scratch, bond_weights, compress, faces, fill_weights, neighbour_exists

# Ubermag's crystal class names -> (micromag material parameter, axis index or None, sign of Ubermag's D in
# that parameter). "Cnv" and "D2d" are Ubermag's legacy names for Cnv_z and D2d_z.
CRYSTAL_CLASSES = {
    "Cnv_x": ("D_ind", 0, -1.0), "Cnv_y": ("D_ind", 1, -1.0), "Cnv_z": ("D_ind", 2, -1.0), "Cnv": ("D_ind", 2, -1.0),
    "T": ("D_bulk", None, 1.0), "O": ("D_bulk", None, 1.0),
    "D2d_x": ("D_d2d", 0, 1.0), "D2d_y": ("D_d2d", 1, 1.0), "D2d_z": ("D_d2d", 2, 1.0), "D2d": ("D_d2d", 2, 1.0),
}
_PARAM_CLASSES = {"D_ind": ("Cnv_x", "Cnv_y", "Cnv_z"), "D_bulk": ("T", "O"), "D_d2d": ("D2d_x", "D2d_y", "D2d_z")}


def crystal_class(name):
    """(material parameter, axis, sign) of a crystal class name (Ubermag's names); ValueError naming the valid
    ones otherwise. ``sign``: micromag's constant = sign × Ubermag's (OOMMF's) D."""
    if name not in CRYSTAL_CLASSES:
        raise ValueError(f"unknown DMI crystal class {name!r}; valid: {', '.join(CRYSTAL_CLASSES)}")
    return CRYSTAL_CLASSES[name]


def dmi_vectors(name):
    """The unit DMI vectors w_a (rows a = x, y, z; shape (3, 3)) of a crystal class in micromag's sign
    convention: energy density e = D Σ_a w_a · (m × ∂_a m) with D the class's material parameter."""
    param, axis, _ = crystal_class(name)
    e = np.eye(3)
    if param == "D_ind":
        return np.array([np.cross(e[axis], e[a]) for a in range(3)])
    if param == "D_bulk":
        return -e
    return np.diag(_d2d_signs(axis))


def _d2d_signs(axis):
    """s_a of D2d along ``axis``: +1 on the next axis (cyclic), −1 on the one after, 0 on the axis."""
    s = np.zeros(3)
    s[(axis + 1) % 3], s[(axis + 2) % 3] = 1.0, -1.0
    return s


class DMI(Term):
    r"""Dzyaloshinskii–Moriya interaction (J/m²), every crystal class, with its boundary condition.

    Material parameters (J/m², per region; any may be non-zero together):

    ``D_ind``  interfacial DMI, class Cnv with symmetry axis n̂ (``interfacial``: "Cnv_z" default, "Cnv_x",
               "Cnv_y"), MuMax3's sign (its ``Dind``): for n̂ = ẑ
               e = D (m_z ∇·m − (m·∇) m_z);
    ``D_bulk`` bulk DMI, classes T and O, MuMax3's ``Dbulk``:  e = D m·(∇ × m);
    ``D_d2d``  D2d along axis k (``d2d``: "D2d_z" default, "D2d_x", "D2d_y"), Ubermag's sign: for k = z
               e = D m·(∂_x m × x̂ − ∂_y m × ŷ) (x → y → z cyclic for the other axes).

    All are one form with per-cell DMI vectors W_a (J/m², a = x, y, z):

        e = Σ_a W_a · (m × ∂_a m),    W_a = D_ind (n̂ × e_a) − D_bulk e_a + D_d2d s_a e_a

    (s = (+1, −1, 0) for D2d_z, cyclic for x and y: :func:`dmi_vectors`), and the field
    B = −(2/Ms) Σ_a ∂_a m × W_a (T).

    **Bulk discretization** (per face between cell i and j = i + e_a, both magnetic, W_f the mean of the two
    cells' W_a): face energy V (1/d_a) W_f · (m_i × m_j) (the midpoint rule of the continuum density), field
    B_i −= (m_j × W_f)/(Ms_i d_a), B_j += (m_i × W_f)/(Ms_j d_a) — central differences. Along a periodic
    axis the last and first cells are such a pair (:mod:`micromag.engine.terms.stencil`).

    **Boundary condition.** The surface term of the variation of A|∇m|² + e at a free face with outward
    normal ±e_a gives 2A ∂_a m = m × W_a, for all classes acting in the cell together (W_a is their sum:
    the combined condition of several classes). Interfacial along z gives MuMax3's D m_z + 2A ∂_x m_x = 0,
    bulk MuMax3's Dbulk ghost cell ∂_x m = (D/2A)(0, −m_z, m_y). It is imposed with a ghost cell at
    m_i ± d_a ∂_a m = m_i ± (d_a/2A)(m_i × W_a); its exchange part (2A/(Ms d²))(m_ghost − m_i) and its
    DMI part cancel in their terms linear in m_i × W, which leaves, per free face,
    (|W_a|² m_i − (m_i·W_a) W_a)/(2 A_i Ms_i). Its part along m_i exerts no torque; this term adds the rest,

        B_i += −(m_i·W_a) W_a / (2 A_i Ms_i)

    (Cnv_z on an x face: −(D²/(2A Ms)) m_y ŷ), so that Exchange + DMI exerts MuMax3's ghost-cell torque
    while :class:`~micromag.engine.terms.exchange.Exchange` stays a pure Neumann term. (MuMax3's field has
    |W|² m/(2A Ms) more, along m: 5e8 T for D = 1e-3 J/m², A = 1e-21 J/m, Ms = 1e6 A/m, which buries the
    torque of a 1 T field in its round-off. That part adds only the constant −V |W|²/(4A) per free face to
    the energy.) A free face is the grid edge of an open axis with at least two cells, or a face to
    a cell that is not magnetic. Cells with A = 0 get no edge term: the DMI energy alone, the missing
    neighbour taken as zero (OOMMF's discretization, which has no boundary condition). An axis of one
    cell has no gradient, free or periodic (there the cell is its own neighbour and m_j − m_i = 0).

    **Energy.** The field is linear in m and symmetric in the Ms·V inner product, so e_i = −½ Ms_eff,i
    m_i·B_i is the exact discrete energy whose gradient is the field; per free face of an edge cell it
    carries V (m·W)²/(4A), an O(d) energy per unit edge length. Partly filled cells: each
    face times min(f_i, f_j) and the face part of the field of cell i over f_i, as for exchange
    (:func:`micromag.terms.stencil.fill_weights`), so that the field stays the gradient of the energy.

    Parameters
    ----------
    system : System
    interfacial : the crystal class of ``D_ind``: "Cnv_z" (default), "Cnv_x" or "Cnv_y".
    bulk : the crystal class of ``D_bulk``: "T" (default) or "O" (the same energy).
    d2d : the crystal class of ``D_d2d``: "D2d_z" (default), "D2d_x" or "D2d_y".
    """

    name = "dmi"
    kernel = "dmi.cuh"
    energy_rule = "quadratic"
    needs_neighbours = True
    options = ("FILL",)
    parameters = (
        Param("D_ind", "J/m²", MATERIAL, "interfacial DMI constant (MuMax3's Dind)"),
        Param("D_bulk", "J/m²", MATERIAL, "bulk DMI constant, classes T and O (MuMax3's Dbulk)"),
        Param("D_d2d", "J/m²", MATERIAL, "DMI constant of class D2d"),
        Param("n_ind", "", CONSTANT, "symmetry axis n̂ of the interfacial class (unit vector)", size=3),
        Param("s_d2d", "", CONSTANT, "signs s_a of the D2d DMI vectors W_a = D_d2d s_a e_a", size=3),
        Param("fill", "", "pattern", "fill fraction f of every cell (nz, ny, nx), with partly filled cells: "
              "face weight min(f_i, f_j), field over f_i"),
    )
    MATERIAL_NAMES = ("D_ind", "D_bulk", "D_d2d")

    @classmethod
    def auto(cls, system, **options):
        return cls(system) if any(system.any_nonzero(p) for p in cls.MATERIAL_NAMES) else None

    def __init__(self, system, interfacial="Cnv_z", bulk="T", d2d="D2d_z"):
        super().__init__(system)
        self.classes = {}
        for param, value in (("D_ind", interfacial), ("D_bulk", bulk), ("D_d2d", d2d)):
            allowed = _PARAM_CLASSES[param]
            if value not in allowed:
                raise ValueError(f"the crystal class of {param} must be one of {allowed}, got {value!r}")
            self.classes[param] = value
        self._scratch = Scratch()
        self.prepare()

    # ------------------------------------------------------------------ coefficients
    def device_options(self):
        return ("FILL",) if self.active and self._fill is not None else ()

    def device_patterns(self):
        return {"fill": self._fill} if self.active and self._fill is not None else {}

    def device_constants(self):
        axis = crystal_class(self.classes["D_ind"])[1]
        return {"n_ind": tuple(float(v) for v in np.eye(3)[axis]),
                "s_d2d": tuple(float(v) for v in _d2d_signs(crystal_class(self.classes["D_d2d"])[1]))}

    def vectors(self):
        """The per-cell DMI vectors W (J/m²), shape (3 axes a, 3 components, nz, ny, nx), 0 outside the magnet."""
        system, g = self.system, self.grid
        mag = system.magnetic
        W = np.zeros((3, 3) + g.shape)
        for param in self.MATERIAL_NAMES:
            D = np.where(mag, system.param(param), 0.0)
            if np.any(D):
                W += dmi_vectors(self.classes[param])[:, :, None, None, None] * D
        return W

    def prepare(self):
        """Face and edge coefficients from the current materials (D_ind, D_bulk, D_d2d, A, Ms)."""
        system, g = self.system, self.grid
        mag = system.magnetic
        W = self.vectors()
        self.active = bool(np.any(W))
        self._faces = []
        self._edge = None
        self._fill = fill_weights(system)
        if not self.active:
            return
        A = np.where(mag, system.param("A"), 0.0)
        Ms = system.param("Ms")
        fill = self._fill
        inv_Ms = np.zeros(g.shape)  # 1/(Ms f) for the faces (stencil.fill_weights)
        np.divide(1.0, Ms if fill is None else Ms * fill, out=inv_Ms, where=mag)
        # edge coefficient per free face: 1/(2 A Ms), 0 where A = 0 (no boundary condition to impose)
        c_edge = np.zeros(g.shape)
        np.divide(1.0, 2.0 * A * np.where(mag, Ms, 1.0), out=c_edge, where=mag & (A > 0))
        M = np.zeros((3, 3) + g.shape)  # edge matrix per cell: B += M m
        for axis5, gaxis in AXES:
            Wa = W[gaxis]
            if g.n[gaxis] < 2 or not np.any(Wa):
                continue
            ax3 = axis5 - 2
            d = g.cell[gaxis]
            for lo, hi, _ in faces(g, axis5, gaxis):
                lo3, hi3 = lo[2:], hi[2:]
                both = mag[lo3] & mag[hi3]
                Wf = np.where(both, 0.5 * (Wa[(slice(None),) + lo3] + Wa[(slice(None),) + hi3]), 0.0) / d
                if fill is not None:
                    Wf = Wf * bond_weights(fill, lo3, hi3)
                if not np.any(Wf):
                    continue
                cL = [compress(Wf[c] * inv_Ms[lo3]) for c in range(3)]
                cR = [compress(Wf[c] * inv_Ms[hi3]) for c in range(3)]
                self._faces.append((lo, hi, cL, cR))
            nfree = sum((~neighbour_exists(mag, g, ax3, s)).astype(float) for s in (-1, 1)) * mag
            k = c_edge * nfree
            if np.any(k):
                M -= k * Wa[:, None] * Wa[None, :]
        idx = np.nonzero(np.any(M != 0, axis=(0, 1)))
        if idx[0].size:
            self._edge = (idx, M[(slice(None), slice(None)) + idx])  # (3, 3, n)

    def local_stiffness(self):
        """The edge term of the boundary condition, B_i += M_i m_i with M_i = −Σ_free faces W Wᵀ/(2 A Ms) (T):
        D²/(2 A Ms) is 5e8 T for D = 1e-3 J/m², A = 1e-21 J/m, Ms = 1e6 A/m."""
        return self._edge if self.active else None

    # ------------------------------------------------------------------ field
    @staticmethod
    def _cross_add(dst, src, c, sign, tmp):
        """dst += sign · (src × c) per component, c = (cx, cy, cz) floats or face arrays (T per unit m)."""
        for k, (i, j) in enumerate(((1, 2), (2, 0), (0, 1))):
            # (src × c)_k = src_i c_j − src_j c_i
            for comp, coef, sg in ((i, c[j], 1.0), (j, c[i], -1.0)):
                if isinstance(coef, float) and coef == 0.0:
                    continue
                np.multiply(src[:, comp], coef, out=tmp)
                v = dst[:, k]
                if sg * sign > 0:
                    v += tmp
                else:
                    v -= tmp

    def add_field(self, m, t, B):
        """Add the DMI field including the exchange part of the edge boundary condition (T) into ``B``."""
        if not self.active:
            return
        sc = self._scratch
        for n, (lo, hi, cL, cR) in enumerate(self._faces):
            mlo, mhi = m[lo], m[hi]
            tmp = sc.get(("t", n), mlo[:, 0].shape, m.dtype)
            # B_lo −= m_hi × W_f / (Ms_lo d),  B_hi += m_lo × W_f / (Ms_hi d)
            self._cross_add(B[lo], mhi, cL, -1.0, tmp)
            self._cross_add(B[hi], mlo, cR, 1.0, tmp)
        if self._edge is not None:
            (k, j, i), M = self._edge
            mc = m[:, :, k, j, i]  # (B, 3, n)
            B[:, :, k, j, i] += np.einsum("abn,xbn->xan", M, mc)


InterfacialDMI = DMI  # the former name (interfacial only); D_ind keeps its meaning

"""Demagnetizing (magnetostatic) field by FFT convolution with the Newell tensor.

    B_demag(r_i) = -μ0 Σ_j N(r_i - r_j) · Ms_eff(r_j) m(r_j)          (T)
    e_demag      = -½ Ms_eff m · B_demag                             (J/m³)

N is the cell-averaged Newell–Williams–Dunlop tensor (:mod:`micromag.newell`), Ms_eff = Ms × fill fraction
in A/m. The convolution is a product in Fourier space on a grid zero-padded to 2n along every open axis
with n > 1 (no padding along periodic axes, whose kernel already holds the image sums, nor along axes with
n = 1).

Kernel spectra are real: each element is even or odd along each axis, and the odd ones (N_xy, N_xz,
N_yz) are odd along exactly two axes, so their transforms are (-i)² × real. We store the real part only,
with -μ0 folded in; a film (nz = 1) has N_xz = N_yz = 0 and those are skipped.

Padding-aware transforms: the forward real FFT along x runs only over the nz·ny rows that hold data,
then y over the nz planes, then z; each step writes into a buffer whose padding is zero. The inverse runs
z over everything, y over the nz planes that are kept and the real x transform over the nz·ny rows that
are kept. Work arrays live per batch size; pocketfft threads (``workers=-1``) are used only for large
transforms, where they pay for their start-up cost (about 0.1 ms a call on a 2-core machine).
"""
from __future__ import annotations

import numpy as np
import scipy.fft as sfft

from ..constants import mu0
from ..newell import COMPONENTS, cached_newell_tensor, full_kernel
from .base import CONSTANT, PATTERN, Param, Term

_WORKERS = -1
_THREADED_MIN = 1 << 20  # complex elements per batch member above which FFTs use all cores


class Demag(Term):
    """Demagnetizing field of the whole sample (open boundaries, optional periodic images from ``grid.pbc``).

    Parameters
    ----------
    system : System
    cache_dir : where the Newell tensor is cached (default ``$MICROMAG_CACHE`` or ``~/.cache/micromag``);
        ``False`` disables the cache.

    Attributes
    ----------
    tensor : dict of the tensor octant (see :func:`micromag.newell.newell_tensor`).
    cache_path : the cache file, or None. ``loaded_from_cache``: whether the tensor was read from it.
    """

    name = "demag"
    kernel = "demag.cuh"
    energy_rule = "quadratic"
    # A convolution: a backend computes the field by FFT (its own pipeline, from ``padded_shape``,
    # ``kernel_spectra()`` and ``source_weight()``) into the buffer ``field``, which the fused kernel reads.
    convolution = True
    parameters = (
        Param("field", "T", PATTERN, "the demag field in the FFT's padded row layout (written by the backend)"),
        Param("px", "", CONSTANT, "padded x length of the source rows"),
        Param("sy", "", CONSTANT, "y rows per z plane of the source layout"),
    )

    @classmethod
    def auto(cls, system, demag=True, **options):
        return cls(system) if demag else None

    def __init__(self, system, cache_dir=None):
        super().__init__(system)
        g = self.grid
        self.tensor, self.cache_path, self.loaded_from_cache = cached_newell_tensor(g.n, g.cell, g.pbc, cache_dir)
        nx, ny, nz = g.n
        # padded sizes (x, y, z)
        self._pad = tuple(2 * n if (p == 0 and n > 1) else n for n, p in zip(g.n, g.pbc))
        px, py, pz = self._pad
        self._pxh = px // 2 + 1
        self.prepare()

        spectra = {}
        for name in COMPONENTS:
            if not np.any(self.tensor[name]):
                continue  # N_xz, N_yz of a film: identically zero
            k = full_kernel(self.tensor[name], g.n, g.pbc, name)
            spectra[name] = self._forward(k[None, None], workers=1)[0, 0]
        scale = max(np.max(np.abs(k)) for k in spectra.values())
        self._spec = {}
        for name, k in spectra.items():
            if np.max(np.abs(k.imag)) > 1e-9 * scale:  # parity broken: a bug, not round-off
                raise RuntimeError(f"kernel spectrum of N_{name} is not real (a parity bug in the Newell kernel)")
            self._spec[name] = np.ascontiguousarray(-mu0 * k.real)
        # per output component: the (kernel element, source component) pairs that feed it
        rows = {0: ("xx", "xy", "xz"), 1: ("xy", "yy", "yz"), 2: ("xz", "yz", "zz")}
        self._rows = [[(self._spec[n], j) for j, n in enumerate(rows[i]) if n in self._spec] for i in range(3)]
        self._buffers = {}
        # pocketfft's threads cost ~0.1 ms per call: worth it only for big transforms
        self._workers = _WORKERS if 3 * pz * py * self._pxh >= _THREADED_MIN else 1
        self._bufs(1)  # work arrays for B = 1 now; other batch sizes get theirs on first use

    def prepare(self):
        """The source weight Ms·fill (A/m) from the current materials (the tensor depends on the grid only)."""
        self._ms = np.ascontiguousarray(self.system.Ms_eff, dtype=np.float64)  # (nz, ny, nx), A/m

    # ------------------------------------------------------------------------------------------ for backends
    @property
    def padded_shape(self):
        """(px, py, pz): the zero-padded transform lengths along x, y, z."""
        return self._pad

    def kernel_spectra(self):
        """{"xx", "yy", "zz", "xy", "xz", "yz": real array (pz, py, px//2+1)} of the Newell tensor's spectra with
        −μ0 folded in (T per A/m); a film has no xz, yz (absent)."""
        return dict(self._spec)

    def source_weight(self):
        """Ms·fill per cell (A/m), (nz, ny, nx): the convolution's source is this times m."""
        return self._ms

    # ------------------------------------------------------------------------------------------ transforms
    def _forward(self, a, workers=None):
        """Zero-padded forward transform of real (..., nz, ny, nx) data to (..., Pz, Py, Px//2+1) (setup only)."""
        px, py, pz = self._pad
        workers = _WORKERS if workers is None else workers
        a = sfft.rfft(a, n=px, axis=-1, workers=workers)
        if py > 1:
            a = sfft.fft(a, n=py, axis=-2, workers=workers, overwrite_x=True)
        if pz > 1:
            a = sfft.fft(a, n=pz, axis=-3, workers=workers, overwrite_x=True)
        return a

    def _bufs(self, nb):
        """Work arrays for a batch of ``nb``."""
        b = self._buffers.get(nb)
        if b is None:
            nx, ny, nz = self.grid.n
            px, py, pz = self._pad
            b = {
                "src": np.zeros((nb, 3, nz, ny, px)),  # Ms_eff m, zero-padded along x (padding never written)
                "Y": np.empty((nb, 3, nz, py, self._pxh), dtype=np.complex128),  # padded along y
                "Z": np.empty((nb, 3, pz, py, self._pxh), dtype=np.complex128) if pz > nz else None,
                "H": np.empty((nb, 3, pz, py, self._pxh), dtype=np.complex128),
                "tmp": np.empty((nb, pz, py, self._pxh), dtype=np.complex128),
            }
            self._buffers[nb] = b
        return b

    def _check(self, m):
        if m.ndim != 5 or m.shape[1] != 3 or m.shape[2:] != self.grid.shape:
            raise ValueError(f"m must have shape (B, 3, {', '.join(map(str, self.grid.shape))}), got {m.shape}")

    # ------------------------------------------------------------------------------------------ Term API
    def add_field(self, m, t, B):
        """Add the demag field μ0 H_demag (T) of magnetization Ms_eff·m into ``B`` in place."""
        self._check(m)
        nx, ny, nz = self.grid.n
        px, py, pz = self._pad
        w = self._workers
        buf = self._bufs(m.shape[0])
        src, H, tmp = buf["src"], buf["H"], buf["tmp"]
        np.multiply(m, self._ms, out=src[..., :nx])
        # forward: x only over the rows that hold data, then y and z into pre-padded buffers, in place
        M = sfft.rfft(src, axis=-1, workers=w)
        if py > ny:
            Y = buf["Y"]
            Y[..., :ny, :] = M
            Y[..., ny:, :] = 0  # the in-place transform below overwrote last call's padding
            M = sfft.fft(Y, axis=-2, workers=w, overwrite_x=True)
        elif py > 1:
            M = sfft.fft(M, axis=-2, workers=w, overwrite_x=True)
        if pz > nz:
            Z = buf["Z"]
            Z[:, :, :nz] = M
            Z[:, :, nz:] = 0
            M = sfft.fft(Z, axis=-3, workers=w, overwrite_x=True)
        elif pz > 1:
            M = sfft.fft(M, axis=-3, workers=w, overwrite_x=True)
        # H_i = Σ_j K_ij M_j with real spectra K (the 3×3 product, zero elements skipped)
        for i, row in enumerate(self._rows):
            out = H[:, i]
            if not row:
                out.fill(0)
                continue
            (k0, j0), rest = row[0], row[1:]
            np.multiply(M[:, j0], k0, out=out)
            for k, j in rest:
                np.multiply(M[:, j], k, out=tmp)
                out += tmp
        # inverse: z over everything, y only over the kept planes, x only over the kept rows
        h = H
        if pz > 1:
            h = sfft.ifft(h, axis=-3, workers=w, overwrite_x=True)[:, :, :nz]
        if py > 1:
            h = sfft.ifft(h, axis=-2, workers=w, overwrite_x=True)[:, :, :, :ny]
        h = sfft.irfft(h, n=px, axis=-1, workers=w)
        B += h[..., :nx]

    def energy_density(self, m, t):
        """e = -½ Ms_eff m·B_demag in J/m³, shape (B, nz, ny, nx); 0 where Ms_eff = 0."""
        Bd = np.zeros_like(m, dtype=np.float64)
        self.add_field(m, t, Bd)
        return -0.5 * self._ms * np.einsum("bcijk,bcijk->bijk", m, Bd)

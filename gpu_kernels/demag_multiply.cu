// demag_multiply.cu -- the demag convolution's own kernels (twin of micromag/engine/terms/demag.py; the FFTs are
// cuFFT plans driven by micromag/engine/backends/cuda.py, see README.md "The demag convolution").
//
// Layouts, with BC = nb*3: source rows src (nz, sy, BC, px) real, x >= nx zero padding (never written),
// sy = ny for a film (nz = 1) and the padded y length otherwise (rows y >= ny zero, never written);
// spectra S (pz, py, BC, px/2+1) complex stored as interleaved (re, im) reals.
#include "common.cuh"

// src[z, y, b*3+c, x] = ms[z, y, x] * m[b, c, z, y, x]: the Ms*fill multiply, the transposition to the FFT
// layout and the write into the x-padded rows in one pass (the stage kernels of rk_stage.cu write the
// rows of the next stage's state themselves; this one serves the first stage and plain evaluations).
// Grid: x over the ncell cells (grid-stride), y over members (tiled).
extern "C" __global__ void demag_source(const real* __restrict__ m, const real* __restrict__ ms, real* __restrict__ src,
                                        int nx, int ny, int nz, int nb, int px, int sy) {
    const long long ncell = (long long)nx * ny * nz;
    for (int b = blockIdx.y; b < nb; b += gridDim.y) {
        for (long long c = (long long)blockIdx.x * blockDim.x + threadIdx.x; c < ncell;
             c += (long long)gridDim.x * blockDim.x) {
            const real w = ms[c];
            const int i = (int)(c % nx), j = (int)((c / nx) % ny), k = (int)(c / ((long long)nx * ny));
            const long long row = (((long long)k * sy + j) * (3LL * nb) + 3LL * b) * px + i;
            src[row] = w * m[sidx(b, 0, c, ncell)];
            src[row + px] = w * m[sidx(b, 1, c, ncell)];
            src[row + 2 * px] = w * m[sidx(b, 2, c, ncell)];
        }
    }
}

// H_i = sum_j K_ij M_j in place on S; K real (pz, py, px/2+1) with -mu0 and the inverse transforms'
// normalization 1/(px py pz) folded in. nplane = pz*py, nxh = px/2+1. MM_DEMAG_THIN: a film has
// K_xz = K_yz = 0 and those pointers are not read.
// Grid: x over the nplane*nxh spectral points (grid-stride), y over members (tiled).
extern "C" __global__ void demag_multiply_planes(real* __restrict__ s, const real* __restrict__ kxx,
                                                 const real* __restrict__ kyy, const real* __restrict__ kzz,
                                                 const real* __restrict__ kxy, const real* __restrict__ kxz,
                                                 const real* __restrict__ kyz, long long nplane, int nxh, int nb) {
    const long long nspec = nplane * nxh;
    for (int b = blockIdx.y; b < nb; b += gridDim.y) {
        for (long long q = (long long)blockIdx.x * blockDim.x + threadIdx.x; q < nspec;
             q += (long long)gridDim.x * blockDim.x) {
            const long long p = q / nxh;
            const long long ex = 2 * ((p * (3LL * nb) + 3LL * b) * nxh + (q - p * nxh));
            const long long ey = ex + 2LL * nxh;
            const long long ez = ey + 2LL * nxh;
            const real mxr = s[ex], mxi = s[ex + 1];
            const real myr = s[ey], myi = s[ey + 1];
            const real mzr = s[ez], mzi = s[ez + 1];
            const real xx = kxx[q], yy = kyy[q], zz = kzz[q], xy = kxy[q];
#ifdef MM_DEMAG_THIN
            s[ex] = xx * mxr + xy * myr;
            s[ex + 1] = xx * mxi + xy * myi;
            s[ey] = xy * mxr + yy * myr;
            s[ey + 1] = xy * mxi + yy * myi;
            s[ez] = zz * mzr;
            s[ez + 1] = zz * mzi;
#else
            const real xz = kxz[q], yz = kyz[q];
            s[ex] = xx * mxr + xy * myr + xz * mzr;
            s[ex + 1] = xx * mxi + xy * myi + xz * mzi;
            s[ey] = xy * mxr + yy * myr + yz * mzr;
            s[ey + 1] = xy * mxi + yy * myi + yz * mzi;
            s[ez] = xz * mxr + yz * myr + zz * mzr;
            s[ez + 1] = xz * mxi + yz * myi + zz * mzi;
#endif
        }
    }
}

// demag_multiply.cu -- the demag kernel product in Fourier space (twin of the product in
// micromag/terms/demag.py): H_i = sum_j K_ij M_j, with the Newell spectra K stored REAL (-mu0 folded in),
// one array each of shape (Pz, Py, Px/2+1), and M / H complex (B, 3, Pz, Py, Px/2+1) stored as interleaved
// (re, im) reals. Reads the spectra once and writes the three results; may run in place (h == mspec).
// MM_DEMAG_THIN: a film (nz = 1) has K_xz = K_yz = 0 and those pointers are not read.
// Grid: x over the nspec = Pz*Py*(Px/2+1) spectral points (grid-stride), y over batch members.
#include "common.cuh"

extern "C" __global__ void demag_multiply(const real* mspec, const real* __restrict__ kxx,
                                          const real* __restrict__ kyy, const real* __restrict__ kzz,
                                          const real* __restrict__ kxy, const real* __restrict__ kxz,
                                          const real* __restrict__ kyz, real* h, long long nspec) {
    const int b = blockIdx.y;
    for (long long s = (long long)blockIdx.x * blockDim.x + threadIdx.x; s < nspec;
         s += (long long)gridDim.x * blockDim.x) {
        const long long ex = 2 * (((long long)b * 3 + 0) * nspec + s);
        const long long ey = 2 * (((long long)b * 3 + 1) * nspec + s);
        const long long ez = 2 * (((long long)b * 3 + 2) * nspec + s);
        const real mxr = mspec[ex], mxi = mspec[ex + 1];
        const real myr = mspec[ey], myi = mspec[ey + 1];
        const real mzr = mspec[ez], mzi = mspec[ez + 1];
        const real xx = kxx[s], yy = kyy[s], zz = kzz[s], xy = kxy[s];
#ifdef MM_DEMAG_THIN
        h[ex] = xx * mxr + xy * myr;
        h[ex + 1] = xx * mxi + xy * myi;
        h[ey] = xy * mxr + yy * myr;
        h[ey + 1] = xy * mxi + yy * myi;
        h[ez] = zz * mzr;
        h[ez + 1] = zz * mzi;
#else
        const real xz = kxz[s], yz = kyz[s];
        h[ex] = xx * mxr + xy * myr + xz * mzr;
        h[ex + 1] = xx * mxi + xy * myi + xz * mzi;
        h[ey] = xy * mxr + yy * myr + yz * mzr;
        h[ey + 1] = xy * mxi + yy * myi + yz * mzi;
        h[ez] = xz * mxr + yz * myr + zz * mzr;
        h[ez + 1] = xz * mxi + yz * myi + zz * mzi;
#endif
    }
}

// ------------------------------------------------------------------------------------------------------
// The padding-aware path of micromag/backends/cuda.py (CudaLLG.demag_field). Layouts, with BC = nb*3:
//   source  src (nz, ny, BC, px) real: rows of px reals, x >= nx is zero padding (never written);
//   spectra S   (pz, py, BC, px/2+1) complex (interleaved re, im): one batched 1D cuFFT plan per axis
//           with a single batch stride serves every member and component (y and z strided, x contiguous).
// demag_source: src[z, y, b*3+c, x] = ms[z, y, x] * m[b, c, z, y, x] -- the Ms*fill multiply, the
// transposition to the FFT layout and the write into the x-padded rows in one pass (no pad pass).
// Grid: x over the ncell cells (grid-stride), y over members.
extern "C" __global__ void demag_source(const real* __restrict__ m, const real* __restrict__ ms, real* src,
                                        int nx, int ny, int nz, int nb, int px) {
    const int b = blockIdx.y;
    const long long ncell = (long long)nx * ny * nz;
    for (long long c = (long long)blockIdx.x * blockDim.x + threadIdx.x; c < ncell;
         c += (long long)gridDim.x * blockDim.x) {
        const real w = ms[c];
        const long long row = ((c / nx) * (3LL * nb) + 3LL * b) * px + (c % nx);
        src[row] = w * m[sidx(b, 0, c, ncell)];
        src[row + px] = w * m[sidx(b, 1, c, ncell)];
        src[row + 2 * px] = w * m[sidx(b, 2, c, ncell)];
    }
}

// demag_multiply_planes: H_i = sum_j K_ij M_j in place on S (layout above); K real (pz, py, px/2+1) with
// -mu0 and the inverse-FFT normalization 1/(px py pz) folded in. nplane = pz*py, nxh = px/2+1.
// Grid: x over the nplane*nxh spectral points (grid-stride), y over members.
extern "C" __global__ void demag_multiply_planes(real* s, const real* __restrict__ kxx,
                                                 const real* __restrict__ kyy, const real* __restrict__ kzz,
                                                 const real* __restrict__ kxy, const real* __restrict__ kxz,
                                                 const real* __restrict__ kyz, long long nplane, int nxh, int nb) {
    const int b = blockIdx.y;
    const long long nspec = nplane * nxh;
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

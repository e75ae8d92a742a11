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

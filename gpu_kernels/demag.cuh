// demag.cuh -- the demagnetizing field, read from the FFT convolution's output (twin of
// micromag/engine/terms/demag.py; the convolution itself: demag_multiply.cu and CudaLLG's FFT pipeline).
//
// The backend writes B_demag into the buffer MM_PTR_DEMAG_FIELD in the padded row layout of its FFTs,
// (nz, sy, nb*3, px) reals: element (k, j, b*3 + comp, i), with px = MM_S_DEMAG_PX and sy = MM_S_DEMAG_SY
// (ny, or the padded y length for 3D grids), so no crop pass is needed. B in T; energy by the "quadratic"
// rule, -1/2 Ms m.B (J/m^3).
#pragma once

__device__ __forceinline__ vec3 demag_field(const Cell& x) {
    const real* h = MM_PAT(x, MM_PTR_DEMAG_FIELD);
    const long long px = (long long)MM_CONST(x, MM_S_DEMAG_PX);
    const long long sy = (long long)MM_CONST(x, MM_S_DEMAG_SY);
    const long long row = (((long long)x.k * sy + x.j) * (3LL * x.nb) + 3LL * x.b) * px + x.i;
    return mk3(h[row], h[row + px], h[row + 2 * px]);
}

// llg_rhs.cu -- the fused right-hand side of the LLG equation (twin of micromag/llg.py).
//
// One thread per cell and batch member (grid: x over cells with a grid-stride loop, y over members).
// For every cell: B_eff = demag field read from a buffer (MM_HAS_DEMAG) or 0, plus every compiled-in
// term's field; then, in Landau-Lifshitz form,
//   precession != 0:  dm/dt = c_p (m x B) + c_d (m (m.B) - B),  c_p = -gamma/(1+alpha^2), c_d = alpha c_p
//   precession == 0:  dm/dt = -gamma (m (m.B) - B)                         (precession-free relax)
// Cells with region < 0 are not magnetic: dm/dt = 0 there and B_eff = the demag field only.
// With MM_WRITE_FIELD, B_eff is also written to bout (for energies / torque).
// With MM_DEMAG_PLANES, bdemag is read in the layout the padding-aware demag FFT writes it (no crop pass):
// (nz, ny, nb*3, dpx) with the x rows padded to dpx reals, element (z, y, b*3 + comp, x). Otherwise
// (and always for m, dmdt, bout) the state layout (B, 3, nz, ny, nx); nb and dpx are then not read.
#include "common.cuh"
#if defined(MM_HAS_EXCHANGE)
#include "exchange.cuh"
#endif
#if defined(MM_HAS_ANIS_U)
#include "anisotropy_uniaxial.cuh"
#endif
#if defined(MM_HAS_ANIS_C)
#include "anisotropy_cubic.cuh"
#endif
#if defined(MM_HAS_ZEEMAN)
#include "zeeman.cuh"
#endif
#if defined(MM_HAS_DMI)
#include "dmi.cuh"
#endif

extern "C" __global__ void llg_rhs(const real* __restrict__ m, const real* __restrict__ bdemag,
                                   const int* __restrict__ region, const real* __restrict__ params,
                                   const real* __restrict__ xscale, const real* __restrict__ bext,
                                   const real* __restrict__ bext_map, real* __restrict__ dmdt,
                                   real* __restrict__ bout, int nx, int ny, int nz, int nreg, real dx, real dy,
                                   real dz, int precession, int nb, int dpx) {
    GridInfo g;
    g.nx = nx;
    g.ny = ny;
    g.nz = nz;
    g.idx = (real)1 / dx;
    g.idy = (real)1 / dy;
    g.idx2 = g.idx * g.idx;
    g.idy2 = g.idy * g.idy;
    g.idz2 = (real)1 / (dz * dz);
    const long long ncell = (long long)nx * ny * nz;
    const int b = blockIdx.y;
    for (long long c = (long long)blockIdx.x * blockDim.x + threadIdx.x; c < ncell;
         c += (long long)gridDim.x * blockDim.x) {
        const int r0 = region[c];
#if defined(MM_HAS_DEMAG) && defined(MM_DEMAG_PLANES)
        const long long drow = ((c / nx) * (3LL * nb) + 3LL * b) * dpx + (c % nx);
        vec3 B = mk3(bdemag[drow], bdemag[drow + dpx], bdemag[drow + 2 * dpx]);
#elif defined(MM_HAS_DEMAG)
        vec3 B = load3(bdemag, b, c, ncell);
#else
        vec3 B = mk3(0, 0, 0);
#endif
        if (r0 < 0) {
            store3(dmdt, b, c, ncell, mk3(0, 0, 0));
#ifdef MM_WRITE_FIELD
            store3(bout, b, c, ncell, B);
#endif
            continue;
        }
        const vec3 m0 = load3(m, b, c, ncell);
#if defined(MM_HAS_EXCHANGE) || defined(MM_HAS_DMI)
        const int i = (int)(c % nx);
        const int j = (int)((c / nx) % ny);
        const int k = (int)(c / ((long long)nx * ny));
        Neighbours nb;
        load_neighbours(nb, m, region, b, i, j, k, g);
#endif
#ifdef MM_HAS_EXCHANGE
        B = add3(B, exchange_field(m0, r0, nb, params, xscale, nreg, g));
#endif
#ifdef MM_HAS_ANIS_U
        B = add3(B, anisotropy_uniaxial_field(m0, r0, params));
#endif
#ifdef MM_HAS_ANIS_C
        B = add3(B, anisotropy_cubic_field(m0, r0, params));
#endif
#ifdef MM_HAS_DMI
        B = add3(B, dmi_field(m0, r0, nb, params, g));
#endif
#ifdef MM_HAS_ZEEMAN
        B = add3(B, zeeman_field(b, c, ncell, bext, bext_map));
#endif
#ifdef MM_WRITE_FIELD
        store3(bout, b, c, ncell, B);
#endif
        const real gamma = PARAM(params, r0, MM_P_GAMMA);
        const real mb = dot3(m0, B);
        const vec3 damp = sub3(scale3(mb, m0), B);  // m (m.B) - B = m x (m x B) for |m| = 1
        vec3 out;
        if (precession) {
            const real alpha = PARAM(params, r0, MM_P_ALPHA);
            const real cp = -gamma / ((real)1 + alpha * alpha);
            out = add3(scale3(cp, cross3(m0, B)), scale3(cp * alpha, damp));
        } else {
            out = scale3(-gamma, damp);
        }
        store3(dmdt, b, c, ncell, out);
    }
}

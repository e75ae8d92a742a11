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
//
// MRAM device terms (each compiled in only with its define): the fields MM_HAS_OERSTED, MM_HAS_VCMA,
// MM_HAS_THERMAL add into B_eff; the Gilbert-form torques MM_HAS_SOT, MM_HAS_STT, MM_HAS_ZHANGLI are summed
// into T and enter as dm/dt += (T + alpha m x T) / (1 + alpha^2) (as micromag/llg.py), only with precession
// (torques are off in the precession-free relax). Per-member drives: drv (B, MM_NDRIVE), columns MM_D_*;
// term constants: tsc (MM_NSCALAR), columns MM_S_*; static per-cell patterns: sot_s, oe_b (3, nz, ny, nx),
// stt_c, zl_k (nz, ny, nx), stt_p (3, ...) with MM_STT_P_SPATIAL, zl_j (3, ...) with MM_ZHANGLI_SPATIAL or
// (B, 3, ...) with MM_ZHANGLI_SPATIAL_BATCH; the step's thermal field bth (B, 3, nz, ny, nx).
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
#if defined(MM_HAS_OERSTED)
#include "oersted.cuh"
#endif
#if defined(MM_HAS_VCMA)
#include "vcma.cuh"
#endif
#if defined(MM_HAS_THERMAL)
#include "thermal.cuh"
#endif
#if defined(MM_HAS_SOT)
#include "sot.cuh"
#endif
#if defined(MM_HAS_STT)
#include "stt.cuh"
#endif
#if defined(MM_HAS_ZHANGLI)
#include "zhangli.cuh"
#endif
#if defined(MM_HAS_SOT) || defined(MM_HAS_STT) || defined(MM_HAS_ZHANGLI)
#define MM_HAS_TORQUE 1
#endif

extern "C" __global__ void llg_rhs(const real* __restrict__ m, const real* __restrict__ bdemag,
                                   const int* __restrict__ region, const real* __restrict__ params,
                                   const real* __restrict__ xscale, const real* __restrict__ bext,
                                   const real* __restrict__ bext_map, const real* __restrict__ drv,
                                   const real* __restrict__ tsc, const real* __restrict__ sot_s,
                                   const real* __restrict__ oe_b, const real* __restrict__ stt_c,
                                   const real* __restrict__ stt_p, const real* __restrict__ zl_k,
                                   const real* __restrict__ zl_j, const real* __restrict__ bth, real* __restrict__ dmdt,
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
    g.ihx = (real)1 / ((real)2 * dx);
    g.ihy = (real)1 / ((real)2 * dy);
    g.ihz = (real)1 / ((real)2 * dz);
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
#if defined(MM_HAS_EXCHANGE) || defined(MM_HAS_DMI) || defined(MM_HAS_ZHANGLI)
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
#ifdef MM_HAS_OERSTED
        B = add3(B, oersted_field(c, ncell, drv[b * MM_NDRIVE + MM_D_OE_J], oe_b));
#endif
#ifdef MM_HAS_VCMA
        B = add3(B, vcma_field(m0, r0, params, drv[b * MM_NDRIVE + MM_D_VCMA_DK],
                               mk3(tsc[MM_S_VCMA_UX], tsc[MM_S_VCMA_UY], tsc[MM_S_VCMA_UZ])));
#endif
#ifdef MM_HAS_THERMAL
        B = add3(B, thermal_field(b, c, ncell, bth));
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
#ifdef MM_HAS_TORQUE
            const real* d = drv + (long long)b * MM_NDRIVE;
            vec3 T = mk3(0, 0, 0);
#ifdef MM_HAS_SOT
            T = add3(T, sot_torque(m0, c, ncell, d[MM_D_SOT_J], tsc[MM_S_SOT_XI], sot_s));
#endif
#ifdef MM_HAS_STT
#ifdef MM_STT_P_SPATIAL
            const vec3 p = load3(stt_p, 0, c, ncell);
#else
            const vec3 p = mk3(d[MM_D_STT_PX], d[MM_D_STT_PY], d[MM_D_STT_PZ]);
#endif
            T = add3(T, stt_torque(m0, p, stt_c[c] * d[MM_D_STT_J], tsc[MM_S_STT_EPSP], tsc[MM_S_STT_ENUM],
                                   tsc[MM_S_STT_EA], tsc[MM_S_STT_EB]));
#endif
#ifdef MM_HAS_ZHANGLI
#if defined(MM_ZHANGLI_SPATIAL_BATCH)
            const vec3 J = load3(zl_j, b, c, ncell);
#elif defined(MM_ZHANGLI_SPATIAL)
            const vec3 J = load3(zl_j, 0, c, ncell);
#else
            const vec3 J = mk3(d[MM_D_ZL_JX], d[MM_D_ZL_JY], d[MM_D_ZL_JZ]);
#endif
            T = add3(T, zhangli_torque(m0, nb, zl_k[c], J, tsc[MM_S_ZL_XI], g));
#endif
            // Gilbert-form torque into Landau-Lifshitz form: (T + alpha m x T) / (1 + alpha^2)
            const real ct = (real)1 / ((real)1 + alpha * alpha);
            out = add3(out, scale3(ct, add3(scale3(alpha, cross3(m0, T)), T)));
#endif
        } else {
            out = scale3(-gamma, damp);
        }
        store3(dmdt, b, c, ncell, out);
    }
}

// llg_rhs.cu -- the fused right-hand side of the LLG equation (twin of micromag/engine/llg.py) and the fused
// observables (energies per term, <m>, torque) reduced per member.
//
// The active terms are not named here: gpu_kernels.layout() generates, from the terms' declarations,
// the lists MM_FIELD_TERMS(X) and MM_TORQUE_TERMS(X) and assemble() inserts their files at "@terms".
// Every field term's file defines  vec3 <name>_field(const Cell& x)  (T); every torque term's
// vec3 <name>_torque(const Cell& x)  (Gilbert form, 1/s); a term with the "custom" energy rule also
// real <name>_energy(const Cell& x, vec3 Bt)  (J/m^3 before the fill weight).
//
// For every magnetic cell (region >= 0): B_eff = sum of the field terms (in declaration order, as the
// NumPy LLG adds them); then, in Landau-Lifshitz form,
//   precession != 0:  dm/dt = c_p (m x B) + c_d (m (m.B) - B),  c_p = -gamma/(1+alpha^2), c_d = alpha c_p
//                     + (T + alpha m x T) / (1 + alpha^2), T = sum of the torque terms
//   precession == 0:  dm/dt = -gamma (m (m.B) - B)       (precession-free relax: torques off)
//   precession == 2:  as != 0 without the c_p (m x B) term (OOMMF's do_precess 0; torques on)
// Units: B in T, gamma in rad/(s T) (MM_P_GAMMA), alpha (MM_P_ALPHA) dimensionless, dm/dt and T in 1/s,
// energy densities in J/m^3 (weighted by the fill fraction). A cell that is not magnetic has dm/dt = 0 and
// B_eff = the demag field only.
//
// Launch: grid (blocks, members), grid-stride over cells, members tiled over gridDim.y (any batch size).
#include "common.cuh"
// @terms
#include "rhs_common.cuh"

// dm/dt of m, and B_eff with MM_WRITE_FIELD (bout); t: member times (s, for the record: drives come
// evaluated in drv).
extern "C" __global__ void llg_rhs(const real* __restrict__ m, const int* __restrict__ region,
                                   const real* __restrict__ params, const real* __restrict__ drv,
                                   const real* __restrict__ consts, const unsigned long long* __restrict__ ptr,
                                   real* __restrict__ dmdt, real* __restrict__ bout, int nx, int ny, int nz,
                                   int nreg, int nb, real dx, real dy, real dz, int precession) {
    const GridInfo g = make_grid(nx, ny, nz, dx, dy, dz);
    const long long ncell = (long long)nx * ny * nz;
    for (int b = blockIdx.y; b < nb; b += gridDim.y) {
        for (long long c = (long long)blockIdx.x * blockDim.x + threadIdx.x; c < ncell;
             c += (long long)gridDim.x * blockDim.x) {
            Cell x;
            const bool mag = cell_init(x, m, region, params, drv, consts, ptr, b, c, g, nreg, nb);
            vec3 B;
            vec3 out = mk3(0, 0, 0);
            if (mag) {
                B = cell_field(x);
                out = cell_dmdt(x, B, precession);
            } else {
                B = cell_field_outside(x);
            }
            store3(dmdt, b, c, ncell, out);
#ifdef MM_WRITE_FIELD
            store3(bout, b, c, ncell, B);
#endif
        }
    }
}

// Observables of every member, accumulated in double into obs (B, MM_NOBS), which must be zero before:
//   obs[0..2]  sum_c w_c m_c                   (w: the averaging weights fill/sum(fill), magnetic cells)
//   obs[3+i]   sum_c fill_c e_i(c)             (energy density of the i-th energy term, J/m^3; times the
//                                               cell volume on the host gives J)
//   obs[3+N]   max_c |m x B_eff|^2             (T^2)
//   obs[4+N]   sum_c |m x B_eff|^2             (T^2; over magnetic cells)
// One block reduction in shared memory per quantity, then one atomic per block. blockDim.x <= 256.
#define MM_NOBS (5 + MM_NENERGY)
extern "C" __global__ void llg_observe(const real* __restrict__ m, const int* __restrict__ region,
                                       const real* __restrict__ params, const real* __restrict__ drv,
                                       const real* __restrict__ consts, const unsigned long long* __restrict__ ptr,
                                       const real* __restrict__ fill, const real* __restrict__ wavg,
                                       double* __restrict__ obs, int nx, int ny, int nz, int nreg, int nb, real dx,
                                       real dy, real dz) {
    __shared__ double sh[256];
    const GridInfo g = make_grid(nx, ny, nz, dx, dy, dz);
    const long long ncell = (long long)nx * ny * nz;
    for (int b = blockIdx.y; b < nb; b += gridDim.y) {
        double acc[MM_NOBS];
        for (int q = 0; q < MM_NOBS; q++) acc[q] = 0;
        for (long long c = (long long)blockIdx.x * blockDim.x + threadIdx.x; c < ncell;
             c += (long long)gridDim.x * blockDim.x) {
            Cell x;
            if (!cell_init(x, m, region, params, drv, consts, ptr, b, c, g, nreg, nb)) continue;
            const double w = (double)wavg[c], f = (double)fill[c];
            (void)f;  // unused without energy terms
            acc[0] += w * (double)x.m.x;
            acc[1] += w * (double)x.m.y;
            acc[2] += w * (double)x.m.z;
            vec3 B = mk3(0, 0, 0);
#define MM_OBSERVE_TERM(i, name, rule)                              \
    {                                                               \
        const vec3 Bt = name##_field(x);                            \
        B = add3(B, Bt);                                            \
        acc[3 + (i)] += f * (double)MM_ENERGY_##rule(x, name, Bt);  \
    }
            MM_ENERGY_TERMS(MM_OBSERVE_TERM)
#undef MM_OBSERVE_TERM
#define MM_OBSERVE_NOENERGY(name) B = add3(B, name##_field(x));
            MM_FIELDS_NO_ENERGY(MM_OBSERVE_NOENERGY)
#undef MM_OBSERVE_NOENERGY
            const vec3 tq = cross3(x.m, B);
            // a layer held fixed (Material.frozen) does not move: its torque is no part of the criterion
            const double t2 = MM_PARAM(x, MM_P_FROZEN) != (real)0 ? 0.0 : (double)dot3(tq, tq);
            if (t2 > acc[3 + MM_NENERGY] || t2 != t2) acc[3 + MM_NENERGY] = t2;
            acc[4 + MM_NENERGY] += t2;
        }
        for (int q = 0; q < MM_NOBS; q++) {
            const bool is_max = q == 3 + MM_NENERGY;
            sh[threadIdx.x] = acc[q];
            __syncthreads();
            for (int s = blockDim.x / 2; s > 0; s >>= 1) {
                if ((int)threadIdx.x < s) {
                    const double o = sh[threadIdx.x + s];
                    if (is_max) {
                        if (o > sh[threadIdx.x] || o != o) sh[threadIdx.x] = o;
                    } else {
                        sh[threadIdx.x] += o;
                    }
                }
                __syncthreads();
            }
            if (threadIdx.x == 0) {
                if (is_max) atomic_max_nonneg_d(&obs[(long long)b * MM_NOBS + q], sh[0]);
                else atomicAdd(&obs[(long long)b * MM_NOBS + q], sh[0]);
            }
            __syncthreads();
        }
    }
}

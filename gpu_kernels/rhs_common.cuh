// rhs_common.cuh -- the per-cell pieces of every kernel that evaluates the LLG right-hand side
// (llg_rhs.cu, rk_stage.cu): set up the cell context, sum the field terms, the Landau-Lifshitz torque.
// Included after the term files (the "@terms" line of the including kernel file).
#pragma once

// Fill the context of cell c of member b; returns whether the cell is magnetic (region >= 0).
__device__ __forceinline__ bool cell_init(Cell& x, const real* __restrict__ m, const int* __restrict__ region,
                                          const real* __restrict__ params, const real* __restrict__ drv,
                                          const real* __restrict__ consts,
                                          const unsigned long long* __restrict__ ptr, int b, long long c,
                                          const GridInfo& g, int nreg, int nb) {
    x.g = g;
    x.M = m;
    x.b = b;
    x.nb = nb;
    x.nreg = nreg;
    x.c = c;
    x.ncell = (long long)g.nx * g.ny * g.nz;
    x.i = (int)(c % g.nx);
    x.j = (int)((c / g.nx) % g.ny);
    x.k = (int)(c / ((long long)g.nx * g.ny));
    x.r = region[c];
#ifdef MM_PARAMS_PER_MEMBER
    x.PT = params + (long long)b * nreg * MM_NPARAM;
#else
    x.PT = params;
#endif
    x.D = drv + (long long)b * MM_NDRIVE;
    x.S = consts;
    x.ptr = ptr;
    if (x.r < 0) {
        x.P = x.PT;
        x.m = mk3(0, 0, 0);
        return false;
    }
    x.P = x.PT + (long long)x.r * MM_NPARAM;
    x.m = load3(m, b, c, x.ncell);
#ifdef MM_NEED_NEIGHBOURS
    load_neighbours(x.nbr, m, region, b, x.i, x.j, x.k, g);
#endif
    return true;
}

// B_eff (T) of a magnetic cell: the field terms in declaration order.
__device__ __forceinline__ vec3 cell_field(const Cell& x) {
    vec3 B = mk3(0, 0, 0);
#define MM_ADD_FIELD(name) B = add3(B, name##_field(x));
    MM_FIELD_TERMS(MM_ADD_FIELD)
#undef MM_ADD_FIELD
    return B;
}

// B_eff (T) of a cell that is not magnetic: only the demag field reaches there.
__device__ __forceinline__ vec3 cell_field_outside(const Cell& x) {
#ifdef MM_HAS_DEMAG
    return demag_field(x);
#else
    return mk3(0, 0, 0);
#endif
}

// dm/dt (1/s) of a magnetic cell with effective field B (see llg_rhs.cu for the formula).
__device__ __forceinline__ vec3 cell_dmdt(const Cell& x, vec3 B, int precession) {
    if (MM_PARAM(x, MM_P_FROZEN) != (real)0) return mk3(0, 0, 0);  // a fixed layer (Material.frozen)
    const vec3 m0 = x.m;
    const real gamma = MM_PARAM(x, MM_P_GAMMA);
    const real mb = dot3(m0, B);
    const vec3 damp = sub3(scale3(mb, m0), B);  // m (m.B) - B = m x (m x B) for |m| = 1
    if (!precession) return scale3(-gamma, damp);
    const real alpha = MM_PARAM(x, MM_P_ALPHA);
    const real cp = -gamma / ((real)1 + alpha * alpha);
    // precession == 2: no precession term (OOMMF's do_precess 0), damping and torques as in the full LLG
    vec3 out = precession == 2 ? scale3(cp * alpha, damp) : add3(scale3(cp, cross3(m0, B)), scale3(cp * alpha, damp));
#ifdef MM_HAS_TORQUES
    vec3 T = mk3(0, 0, 0);
#define MM_ADD_TORQUE(name) T = add3(T, name##_torque(x));
    MM_TORQUE_TERMS(MM_ADD_TORQUE)
#undef MM_ADD_TORQUE
    // Gilbert-form torque into Landau-Lifshitz form: (T + alpha m x T) / (1 + alpha^2)
    const real ct = (real)1 / ((real)1 + alpha * alpha);
    out = add3(out, scale3(ct, add3(scale3(alpha, cross3(m0, T)), T)));
#endif
    return out;
}

// Atomic maximum of a non-negative double (IEEE bit patterns of non-negative values order like unsigned
// integers; a NaN compares larger than everything, so it propagates).
__device__ __forceinline__ void atomic_max_nonneg_d(double* addr, double v) {
    atomicMax((unsigned long long*)addr, (unsigned long long)__double_as_longlong(v));
}

// exchange.cuh -- Heisenberg exchange, 6-neighbour Laplacian (twin of micromag/engine/terms/exchange.py).
// Inputs: A (J/m, MM_P_A) and Ms (A/m, MM_P_MS) of the cell's and its neighbours' regions (x.nbr),
// 1/d^2 (1/m^2, x.g.idx2 ...).
//
//   B_i = (2 / Ms_i) sum_j A_ij (m_j - m_i) / d_ij^2        (T)
//
// over the magnetic face neighbours j; A_ij = 2 A_i A_j / (A_i + A_j) (harmonic mean, 0 if either is 0),
// times the per-region-pair factor scale[r_i, r_j] with MM_EXCHANGE_SCALE. Free (Neumann) edges.
// MM_EXCHANGE_FILL (partly filled cells, fill pattern f): each face times min(f_i, f_j), the sum over f_i,
// so that the field is the gradient of the energy (micromag.terms.stencil.fill_weights).
#pragma once

__device__ __forceinline__ vec3 exchange_field(const Cell& x) {
    const real A0 = MM_PARAM(x, MM_P_A);
    vec3 h = mk3(0, 0, 0);
    for (int n = 0; n < 6; n++) {
        const int r = x.nbr.r[n];
        if (r < 0) continue;
        const real A1 = MM_PARAM_OF(x, r, MM_P_A);
        const real s = A0 + A1;
        if (!(s > 0)) continue;
        real Aij = (real)2 * A0 * A1 / s;
#ifdef MM_EXCHANGE_SCALE
        Aij *= MM_PAT(x, MM_PTR_EXCHANGE_SCALE)[(long long)x.r * x.nreg + r];
#endif
#ifdef MM_EXCHANGE_FILL
        Aij *= fmin(MM_PAT_S(x, MM_PTR_EXCHANGE_FILL), MM_PAT(x, MM_PTR_EXCHANGE_FILL)[x.nbr.c[n]]);
#endif
        const real id2 = (n < 2) ? x.g.idx2 : ((n < 4) ? x.g.idy2 : x.g.idz2);
        h = add3(h, scale3(Aij * id2, sub3(x.nbr.m[n], x.m)));
    }
#ifdef MM_EXCHANGE_FILL
    return scale3((real)2 / (MM_PARAM(x, MM_P_MS) * MM_PAT_S(x, MM_PTR_EXCHANGE_FILL)), h);
#else
    return scale3((real)2 / MM_PARAM(x, MM_P_MS), h);
#endif
}

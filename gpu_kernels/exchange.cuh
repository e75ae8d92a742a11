// exchange.cuh -- Heisenberg exchange, 6-neighbour stencil (twin of micromag/terms/exchange.py).
//
//   B_i = (2 / Ms_i) sum_j A_ij (m_j - m_i) / d_ij^2
//
// over the face neighbours j that exist and are magnetic (free / Neumann boundaries otherwise), with the
// harmonic mean A_ij = 2 A_i A_j / (A_i + A_j) (0 if A_i + A_j = 0). With MM_EXCHANGE_SCALE the face
// coupling is multiplied by scale[r_i * nreg + r_j] (Exchange(region_scale=...)).
#pragma once

__device__ __forceinline__ vec3 exchange_field(vec3 m0, int r0, const Neighbours& nb,
                                               const real* __restrict__ params, const real* __restrict__ xscale,
                                               int nreg, const GridInfo& g) {
    const real A0 = PARAM(params, r0, MM_P_A);
    vec3 h = mk3(0, 0, 0);
    for (int n = 0; n < 6; n++) {
        const int r = nb.r[n];
        if (r < 0) continue;
        const real A1 = PARAM(params, r, MM_P_A);
        const real s = A0 + A1;
        if (!(s > 0)) continue;
        real Aij = (real)2 * A0 * A1 / s;
#ifdef MM_EXCHANGE_SCALE
        Aij *= xscale[(long long)r0 * nreg + r];
#endif
        const real id2 = (n < 2) ? g.idx2 : ((n < 4) ? g.idy2 : g.idz2);
        h = add3(h, scale3(Aij * id2, sub3(nb.m[n], m0)));
    }
    const real Ms = PARAM(params, r0, MM_P_MS);
    return scale3((real)2 / Ms, h);
}

// anisotropy_cubic.cuh -- cubic anisotropy (twin of CubicAnisotropy in micromag/engine/terms/anisotropy.py).
//
// With a_i = m.c_i, c3 = c1 x c2:
//   B = -(2/Ms) sum_i a_i [Kc1 (a_j^2 + a_k^2) + Kc2 a_j^2 a_k^2] c_i               (T)
//   e = Kc1 (a1^2 a2^2 + a2^2 a3^2 + a3^2 a1^2) + Kc2 a1^2 a2^2 a3^2               (J/m^3, before the fill weight)
// Inputs: the region's Kc1, Kc2 (J/m^3, MM_P_KC1, MM_P_KC2), unit axes c1, c2 (MM_P_ANIS_C1..+2,
// MM_P_ANIS_C2..+2), Ms (A/m, MM_P_MS).
#pragma once

__device__ __forceinline__ vec3 anisotropy_cubic_field(const Cell& x) {
    const real Kc1 = MM_PARAM(x, MM_P_KC1);
    const real Kc2 = MM_PARAM(x, MM_P_KC2);
    const vec3 c1 = MM_PARAM3(x, MM_P_ANIS_C1);
    const vec3 c2 = MM_PARAM3(x, MM_P_ANIS_C2);
    const vec3 c3 = cross3(c1, c2);
    const real a1 = dot3(x.m, c1), a2 = dot3(x.m, c2), a3 = dot3(x.m, c3);
    const real s1 = a1 * a1, s2 = a2 * a2, s3 = a3 * a3;
    const real k = (real)-2 / MM_PARAM(x, MM_P_MS);
    const real g1 = k * a1 * (Kc1 * (s2 + s3) + Kc2 * s2 * s3);
    const real g2 = k * a2 * (Kc1 * (s3 + s1) + Kc2 * s3 * s1);
    const real g3 = k * a3 * (Kc1 * (s1 + s2) + Kc2 * s1 * s2);
    return add3(add3(scale3(g1, c1), scale3(g2, c2)), scale3(g3, c3));
}

__device__ __forceinline__ real anisotropy_cubic_energy(const Cell& x, vec3 Bt) {
    const vec3 c1 = MM_PARAM3(x, MM_P_ANIS_C1);
    const vec3 c2 = MM_PARAM3(x, MM_P_ANIS_C2);
    const real a1 = dot3(x.m, c1), a2 = dot3(x.m, c2), a3 = dot3(x.m, cross3(c1, c2));
    const real s1 = a1 * a1, s2 = a2 * a2, s3 = a3 * a3;
    return MM_PARAM(x, MM_P_KC1) * (s1 * s2 + s2 * s3 + s3 * s1) + MM_PARAM(x, MM_P_KC2) * s1 * s2 * s3;
}

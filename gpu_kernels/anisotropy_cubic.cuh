// anisotropy_cubic.cuh -- cubic anisotropy (twin of CubicAnisotropy in micromag/terms/anisotropy.py).
//
// With a_i = m . c_i (c3 = c1 x c2):
//   B = -(2 / Ms) sum_i a_i [Kc1 (a_j^2 + a_k^2) + Kc2 a_j^2 a_k^2] c_i
#pragma once

__device__ __forceinline__ vec3 anisotropy_cubic_field(vec3 m, int r, const real* __restrict__ params) {
    const real Kc1 = PARAM(params, r, MM_P_KC1);
    const real Kc2 = PARAM(params, r, MM_P_KC2);
    const real Ms = PARAM(params, r, MM_P_MS);
    const vec3 c1 = param3(params, r, MM_P_C1X);
    const vec3 c2 = param3(params, r, MM_P_C2X);
    const vec3 c3 = cross3(c1, c2);
    const real a1 = dot3(m, c1), a2 = dot3(m, c2), a3 = dot3(m, c3);
    const real s1 = a1 * a1, s2 = a2 * a2, s3 = a3 * a3;
    const real k = (real)-2 / Ms;
    const real g1 = k * a1 * (Kc1 * (s2 + s3) + Kc2 * s2 * s3);
    const real g2 = k * a2 * (Kc1 * (s3 + s1) + Kc2 * s3 * s1);
    const real g3 = k * a3 * (Kc1 * (s1 + s2) + Kc2 * s1 * s2);
    return add3(add3(scale3(g1, c1), scale3(g2, c2)), scale3(g3, c3));
}

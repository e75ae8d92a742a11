// anisotropy_uniaxial.cuh -- uniaxial anisotropy (twin of UniaxialAnisotropy in micromag/terms/anisotropy.py).
//
//   B = (2 Ku1 / Ms) (m . u) u        (energy density -Ku1 (m . u)^2, Ms not fill-weighted)
#pragma once

__device__ __forceinline__ vec3 anisotropy_uniaxial_field(vec3 m, int r, const real* __restrict__ params) {
    const real Ku1 = PARAM(params, r, MM_P_KU1);
    const real Ms = PARAM(params, r, MM_P_MS);
    const vec3 u = param3(params, r, MM_P_UX);
    const real k = (real)2 * Ku1 / Ms;
    return scale3(k * dot3(m, u), u);
}

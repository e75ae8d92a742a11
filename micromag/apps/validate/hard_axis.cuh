// hard_axis.cuh -- hard-axis anisotropy (twin of micromag/apps/validate/hard_axis.py):
//   B = -(2K/Ms) (m.n) n  (T),   e = K (m.n)^2  (J/m^3, before the fill weight)
#pragma once

__device__ __forceinline__ vec3 hard_axis_field(const Cell& x) {
    const vec3 n = MM_CONST3(x, MM_S_HARD_AXIS_N);
    const real c = (real)-2 * MM_CONST(x, MM_S_HARD_AXIS_K) / MM_PARAM(x, MM_P_MS);
    return scale3(c * dot3(x.m, n), n);
}

__device__ __forceinline__ real hard_axis_energy(const Cell& x, vec3 Bt) {
    const real s = dot3(x.m, MM_CONST3(x, MM_S_HARD_AXIS_N));
    return MM_CONST(x, MM_S_HARD_AXIS_K) * s * s;
}

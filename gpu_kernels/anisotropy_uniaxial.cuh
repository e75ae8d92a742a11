// anisotropy_uniaxial.cuh -- uniaxial anisotropy (twin of UniaxialAnisotropy in micromag/engine/terms/anisotropy.py).
//
//   B = (2 Ku1 / Ms) (m.u) u + (4 Ku2 / Ms) (m.u)^3 u      (T)
//   e = -(Ku1 (m.u)^2 + Ku2 (m.u)^4)                         (J/m^3, before the fill weight)
// Inputs: the region's Ku1, Ku2 (J/m^3, MM_P_KU1, MM_P_KU2), unit axis u (MM_P_ANIS_U..+2), Ms (A/m).
// Ku2 is compiled in only with MM_ANISOTROPY_UNIAXIAL_KU2 (some region has Ku2 != 0).
#pragma once

__device__ __forceinline__ vec3 anisotropy_uniaxial_field(const Cell& x) {
    const real Ms = MM_PARAM(x, MM_P_MS);
    const vec3 u = MM_PARAM3(x, MM_P_ANIS_U);
    const real s = dot3(x.m, u);
    const real k1 = (real)2 * MM_PARAM(x, MM_P_KU1) / Ms;
#ifdef MM_ANISOTROPY_UNIAXIAL_KU2
    const real k2 = (real)4 * MM_PARAM(x, MM_P_KU2) / Ms;
    const real gs = (s * s * k2 + k1) * s;
#else
    const real gs = s * k1;
#endif
    return scale3(gs, u);
}

__device__ __forceinline__ real anisotropy_uniaxial_energy(const Cell& x, vec3 Bt) {
    const real s = dot3(x.m, MM_PARAM3(x, MM_P_ANIS_U));
    const real s2 = s * s;
#ifdef MM_ANISOTROPY_UNIAXIAL_KU2
    return -(MM_PARAM(x, MM_P_KU1) * s2 + MM_PARAM(x, MM_P_KU2) * s2 * s2);
#else
    return -(MM_PARAM(x, MM_P_KU1) * s2);
#endif
}

// vcma.cuh -- voltage-controlled magnetic anisotropy (twin of VCMA in micromag/engine/terms/vcma.py).
//
//   B = (2 dK / Ms) (m.u) u        (T)
//   e = -dK (m.u)^2                (J/m^3, before the fill weight)
//
// dK = -xi V / (t_ox t_F): the member's anisotropy change (J/m^3), evaluated on the host from V(t)
// (MM_D_VCMA_DK); u the axis (constants MM_S_VCMA_AXIS..+2); Ms the region's material Ms.
#pragma once

__device__ __forceinline__ vec3 vcma_field(const Cell& x) {
    const vec3 u = MM_CONST3(x, MM_S_VCMA_AXIS);
    const real s = dot3(x.m, u) * ((real)2 / MM_PARAM(x, MM_P_MS)) * MM_DRV(x, MM_D_VCMA_DK);
    return scale3(s, u);
}

__device__ __forceinline__ real vcma_energy(const Cell& x, vec3 Bt) {
    const real s = dot3(x.m, MM_CONST3(x, MM_S_VCMA_AXIS));
    return -MM_DRV(x, MM_D_VCMA_DK) * s * s;
}

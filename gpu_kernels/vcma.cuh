// vcma.cuh -- voltage-controlled magnetic anisotropy (twin of VCMA.add_field in micromag/terms/vcma.py).
//
//   B = (2 dK / Ms) (m.u) u        (T)
//
// dK = -xi V / (t_ox t_F): the member's anisotropy change, evaluated on the host from V(t) (drv column
// MM_D_VCMA_DK); u the axis (term constants MM_S_VCMA_U*); Ms the region's material Ms.
#pragma once

__device__ __forceinline__ vec3 vcma_field(vec3 m, int r, const real* __restrict__ params, real dK, vec3 u) {
    const real Ms = PARAM(params, r, MM_P_MS);
    const real s = dot3(m, u) * ((real)2 / Ms) * dK;
    return scale3(s, u);
}

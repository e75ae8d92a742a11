// stt.cuh -- Slonczewski spin-transfer torque (twin of SlonczewskiSTT in micromag/engine/terms/stt.py).
//
//   pre = c J,  c = gamma hbar w / (e Ms t_F) per cell (MM_PTR_STT_C, zero outside the magnet)
//   eps = eps_num / (eps_a + eps_b (m.p)),  eps_num = P Lambda^2, eps_a = Lambda^2 + 1, eps_b = Lambda^2 - 1
//   T   = pre [ eps (p - (m.p) m) + eps' p x m ]          (Gilbert form, 1/s)
//
// p: the polarizer per member (MM_D_STT_P..+2, evaluated on the host when it is a function of t) or per
// cell (MM_STT_P_SPATIAL: MM_PTR_STT_P_MAP (3, nz, ny, nx)); J per member in A/m^2 (MM_D_STT_J).
#pragma once

__device__ __forceinline__ vec3 stt_torque(const Cell& x) {
    const vec3 m = x.m;
#ifdef MM_STT_P_SPATIAL
    const vec3 p = MM_PAT_V(x, MM_PTR_STT_P_MAP);
#else
    const vec3 p = MM_DRV3(x, MM_D_STT_P);
#endif
    const real pre = MM_PAT_S(x, MM_PTR_STT_C) * MM_DRV(x, MM_D_STT_J);
    const real mp = dot3(m, p);
    const real a = MM_CONST(x, MM_S_STT_EPS_NUM) * (pre / (mp * MM_CONST(x, MM_S_STT_EPS_B) + MM_CONST(x, MM_S_STT_EPS_A)));
    vec3 T = scale3(a, sub3(p, scale3(mp, m)));
    const real epsp = MM_CONST(x, MM_S_STT_EPS_PRIME);
    if (epsp != (real)0) T = add3(T, scale3(pre * epsp, cross3(p, m)));
    return T;
}

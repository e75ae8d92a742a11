// zhangli.cuh -- Zhang-Li spin-transfer torque (twin of ZhangLiSTT.add_torque in micromag/engine/terms/zhangli.py).
//
//   D = k (J . grad) m,   k = muB P / (e Ms (1 + xi^2)) per cell (MM_PTR_ZHANGLI_K, zero outside the magnet)
//   T = D - (m.D) m - xi m x D                                     (Gilbert form, 1/s)
//
// Central differences d_a m = (m_{i+1} - m_{i-1}) / (2 d_a), evaluated as ((m_{i+1} - m_i) + (m_i - m_{i-1}))
// like the NumPy face sums; a neighbour outside the grid or not magnetic is replaced by m_i itself (zero
// gradient across free edges). J in A/m^2: per member (MM_D_ZHANGLI_J..+2) or per cell (MM_ZHANGLI_SPATIAL: MM_PTR_ZHANGLI_J_MAP
// (3, nz, ny, nx), or (B, 3, nz, ny, nx) with MM_ZHANGLI_SPATIAL_BATCH); xi: MM_S_ZHANGLI_XI.
#pragma once

__device__ __forceinline__ vec3 zhangli_torque(const Cell& x) {
    const vec3 m0 = x.m;
#if defined(MM_ZHANGLI_SPATIAL_BATCH)
    const vec3 J = MM_PAT_VB(x, MM_PTR_ZHANGLI_J_MAP);
#elif defined(MM_ZHANGLI_SPATIAL)
    const vec3 J = MM_PAT_V(x, MM_PTR_ZHANGLI_J_MAP);
#else
    const vec3 J = MM_DRV3(x, MM_D_ZHANGLI_J);
#endif
    const real Ja[3] = {J.x, J.y, J.z};
    const real ih[3] = {x.g.ihx, x.g.ihy, x.g.ihz};
    vec3 D = mk3(0, 0, 0);
    for (int a = 0; a < 3; a++) {
        const int lo = 2 * a, hi = 2 * a + 1;
        const vec3 fp = (x.nbr.r[hi] >= 0) ? sub3(x.nbr.m[hi], m0) : mk3(0, 0, 0);
        const vec3 fm = (x.nbr.r[lo] >= 0) ? sub3(m0, x.nbr.m[lo]) : mk3(0, 0, 0);
        D = add3(D, scale3(Ja[a] * ih[a], add3(fp, fm)));
    }
    D = scale3(MM_PAT_S(x, MM_PTR_ZHANGLI_K), D);
    const real md = dot3(m0, D);
    vec3 T = sub3(D, scale3(md, m0));
    const real xi = MM_CONST(x, MM_S_ZHANGLI_XI);
    if (xi != (real)0) T = sub3(T, scale3(xi, cross3(m0, D)));
    return T;
}

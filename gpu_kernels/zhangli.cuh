// zhangli.cuh -- Zhang-Li spin-transfer torque (twin of ZhangLiSTT.add_torque in micromag/terms/zhangli.py).
//
//   D = k (J . grad) m,   k = muB P / (e Ms (1 + xi^2)) per cell (zl_k, static, zero outside the magnet)
//   T = D - (m.D) m - xi m x D                                     (Gilbert form, 1/s)
//
// Central differences d_a m = (m_{i+1} - m_{i-1}) / (2 d_a), evaluated as ((m_{i+1} - m_i) + (m_i - m_{i-1}))
// like the NumPy face sums; a neighbour outside the grid or not magnetic is replaced by m_i itself (zero
// gradient across free edges). J: per member (drv columns MM_D_ZL_J*) or per cell (MM_ZHANGLI_SPATIAL).
#pragma once

__device__ __forceinline__ vec3 zhangli_torque(vec3 m0, const Neighbours& nb, real k, vec3 J, real xi,
                                               const GridInfo& g) {
    const real Ja[3] = {J.x, J.y, J.z};
    const real ih[3] = {g.ihx, g.ihy, g.ihz};
    vec3 D = mk3(0, 0, 0);
    for (int a = 0; a < 3; a++) {
        const int lo = 2 * a, hi = 2 * a + 1;
        const vec3 fp = (nb.r[hi] >= 0) ? sub3(nb.m[hi], m0) : mk3(0, 0, 0);
        const vec3 fm = (nb.r[lo] >= 0) ? sub3(m0, nb.m[lo]) : mk3(0, 0, 0);
        D = add3(D, scale3(Ja[a] * ih[a], add3(fp, fm)));
    }
    D = scale3(k, D);
    const real md = dot3(m0, D);
    vec3 T = sub3(D, scale3(md, m0));
    if (xi != (real)0) T = sub3(T, scale3(xi, cross3(m0, D)));
    return T;
}

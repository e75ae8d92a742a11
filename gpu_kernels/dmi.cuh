// dmi.cuh -- Dzyaloshinskii-Moriya interaction of every crystal class from DMI vectors, with the
// free-edge boundary condition (twin of micromag/engine/terms/dmi.py).
//
// DMI vectors of region r along axis a (J/m^2):
//   W_a = D_ind (n_ind x e_a) - D_bulk e_a + D_d2d s_a e_a      (n_ind: MM_S_DMI_N_IND, s: MM_S_DMI_S_D2D)
// Bulk (per face to the magnetic neighbour j on side s = +-1 along a, W_f = (W_a(r_i) + W_a(r_j)) / 2):
//   B -= s (m_j x W_f) / (Ms_i d_a)
// Edge (a missing neighbour along an axis with >= 2 cells: open grid edge or non-magnetic cell), the
// ghost-cell boundary condition 2A d_a m = m x W_a folded with its exchange part, less its part along m
// (no torque; MuMax3 keeps it, |W|^2/(2A Ms) can be 5e8 T and bury the torque in round-off):
//   B -= (m.W_a) W_a / (2 A_i Ms_i)   per free face   (no edge term where A_i = 0).
// Periodic axes wrap in load_neighbours (common.cuh); an axis of one cell contributes nothing.
// MM_DMI_FILL (partly filled cells, fill pattern f): each face times min(f_i, f_j) / f_i (stencil.fill_weights).
#pragma once

__device__ __forceinline__ vec3 dmi_vector(const Cell& x, int reg, int a) {
    const vec3 e = mk3(a == 0 ? (real)1 : (real)0, a == 1 ? (real)1 : (real)0, a == 2 ? (real)1 : (real)0);
    const vec3 n = MM_CONST3(x, MM_S_DMI_N_IND);
    const vec3 s = MM_CONST3(x, MM_S_DMI_S_D2D);
    const real sa = (a == 0) ? s.x : ((a == 1) ? s.y : s.z);
    const real diag = -MM_PARAM_OF(x, reg, MM_P_D_BULK) + MM_PARAM_OF(x, reg, MM_P_D_D2D) * sa;
    return add3(scale3(MM_PARAM_OF(x, reg, MM_P_D_IND), cross3(n, e)), scale3(diag, e));
}

__device__ __forceinline__ vec3 dmi_field(const Cell& x) {
    const real Ms = MM_PARAM(x, MM_P_MS);
    const real A0 = MM_PARAM(x, MM_P_A);
    const int na[3] = {x.g.nx, x.g.ny, x.g.nz};
    const real ih[3] = {x.g.ihx, x.g.ihy, x.g.ihz};  // 1/(2 d_a)
    vec3 B = mk3(0, 0, 0);
    for (int a = 0; a < 3; a++) {
        if (na[a] < 2) continue;  // no gradient along a one-cell axis
        const vec3 W0 = dmi_vector(x, x.r, a);
        int nfree = 0;
        for (int side = 0; side < 2; side++) {
            const int n = 2 * a + side;
            const int r = x.nbr.r[n];
            if (r < 0) {
                nfree++;
                continue;
            }
            const vec3 Wf = scale3((real)0.5, add3(W0, dmi_vector(x, r, a)));
            real c = (real)2 * ih[a] / Ms;  // 1/(Ms d_a)
#ifdef MM_DMI_FILL
            const real f0 = MM_PAT_S(x, MM_PTR_DMI_FILL);
            c *= fmin(f0, MM_PAT(x, MM_PTR_DMI_FILL)[x.nbr.c[n]]) / f0;
#endif
            const real sg = side ? (real)1 : (real)-1;
            B = sub3(B, scale3(sg * c, cross3(x.nbr.m[n], Wf)));
        }
        if (A0 > 0 && nfree > 0) {
            const real k = (real)nfree / ((real)2 * A0 * Ms);
            B = sub3(B, scale3(k * dot3(x.m, W0), W0));
        }
    }
    return B;
}

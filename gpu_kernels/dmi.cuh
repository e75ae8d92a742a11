// dmi.cuh -- interfacial DMI with its free-edge boundary condition (twin of micromag/terms/dmi.py).
// Inputs: D_ind (J/m^2, MM_P_D_IND), A (J/m, MM_P_A), Ms (A/m, MM_P_MS) of the cell's and its neighbours'
// regions (x.nbr), 1/dx and 1/dy (1/m, x.g.idx, x.g.idy). B in T; energy by the "quadratic" rule.
//
// Bulk (per x-face between cell i and neighbour j, face constant D_f = (D_i + D_j)/2, both magnetic):
//   neighbour at +x:  B_x += c m_z,j ;  B_z -= c m_x,j        c = D_f / (Ms_i dx)
//   neighbour at -x:  B_x -= c m_z,j ;  B_z += c m_x,j
// and the same along y with m_y. Edge (a missing neighbour along an axis with >= 2 cells: grid edge or
// non-magnetic cell), ghost-cell boundary condition folded with its exchange part:
//   B += w (m_x, 0, m_z) per free x-face, w (0, m_y, m_z) per free y-face, w = D_i^2 / (2 A_i Ms_i)
// (no edge term where A_i = 0). No z coupling.
#pragma once

__device__ __forceinline__ vec3 dmi_field(const Cell& x) {
    const real D0 = MM_PARAM(x, MM_P_D_IND);
    const real Ms = MM_PARAM(x, MM_P_MS);
    const real A0 = MM_PARAM(x, MM_P_A);
    vec3 B = mk3(0, 0, 0);
    int nfree_x = 0, nfree_y = 0;
    for (int n = 0; n < 4; n++) {
        const bool xaxis = n < 2;
        if (xaxis ? (x.g.nx < 2) : (x.g.ny < 2)) continue;  // no gradient along a one-cell axis
        const int r = x.nbr.r[n];
        if (r < 0) {
            if (xaxis) nfree_x++; else nfree_y++;
            continue;
        }
        const real Df = (real)0.5 * (D0 + MM_PARAM_OF(x, r, MM_P_D_IND));
        const real c = Df * (xaxis ? x.g.idx : x.g.idy) / Ms;
        const real sgn = (n & 1) ? (real)1 : (real)-1;  // +1 for the neighbour on the + side
        const vec3 mj = x.nbr.m[n];
        const real mc = xaxis ? mj.x : mj.y;
        if (xaxis) B.x += sgn * c * mj.z; else B.y += sgn * c * mj.z;
        B.z -= sgn * c * mc;
    }
    if (A0 > 0 && (nfree_x + nfree_y) > 0) {
        const real w = D0 * D0 / ((real)2 * A0 * Ms);
        B.x += w * nfree_x * x.m.x;
        B.y += w * nfree_y * x.m.y;
        B.z += w * (nfree_x + nfree_y) * x.m.z;
    }
    return B;
}

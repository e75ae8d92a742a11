// interlayer.cuh -- interlayer (RKKY) exchange across a spacer (twin of micromag/engine/terms/interlayer.py).
//
//   E/area = -J1 m1.m2 - J2 (m1.m2)^2                      (J/m^2)
//   B1 = (J1 + 2 J2 m1.m2) / (Ms1 dz) m2                   (T)
//   e1 = (-J1 c - J2 c^2) / (2 dz)                         (J/m^3, half the pair's energy in each cell)
//
// Pattern "coupling" (6, nz, ny, nx): rows 0-2 J1/dz, J2/dz (J/m^3) and the plane offset n of the partner
// below (cell c - n nx ny), rows 3-5 the same for the partner above; n = 0: no partner on that side.
// With partly filled cells J1/dz, J2/dz carry min(f1, f2)/f_own (stencil.fill_weights): field and energy
// (times the fill) stay one gradient pair.
// The partner's m is read from the state being evaluated (Cell.M).
#pragma once

__device__ __forceinline__ vec3 interlayer_partner(const Cell& x, int side, real& j1, real& j2, int& n) {
    const real* tab = MM_PAT(x, MM_PTR_INTERLAYER_COUPLING);
    j1 = tab[(long long)(3 * side) * x.ncell + x.c];
    j2 = tab[(long long)(3 * side + 1) * x.ncell + x.c];
    const real off = tab[(long long)(3 * side + 2) * x.ncell + x.c];
    n = (int)(off + (real)0.5);
    if (n == 0) return mk3(0, 0, 0);
    const long long step = (long long)n * x.g.nx * x.g.ny;
    return load3(x.M, x.b, side == 0 ? x.c - step : x.c + step, x.ncell);
}

__device__ __forceinline__ vec3 interlayer_field(const Cell& x) {
    vec3 h = mk3(0, 0, 0);
    for (int side = 0; side < 2; side++) {
        real j1, j2;
        int n;
        const vec3 m2 = interlayer_partner(x, side, j1, j2, n);
        if (n == 0) continue;
        h = add3(h, scale3(j1 + (real)2 * j2 * dot3(x.m, m2), m2));
    }
    return scale3((real)1 / MM_PARAM(x, MM_P_MS), h);
}

__device__ __forceinline__ real interlayer_energy(const Cell& x, vec3 Bt) {
    (void)Bt;
    real e = 0;
    for (int side = 0; side < 2; side++) {
        real j1, j2;
        int n;
        const vec3 m2 = interlayer_partner(x, side, j1, j2, n);
        if (n == 0) continue;
        const real c = dot3(x.m, m2);
        e += (real)-0.5 * (j1 * c + j2 * c * c);
    }
    return e;
}

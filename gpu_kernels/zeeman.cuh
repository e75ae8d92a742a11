// zeeman.cuh -- applied field (twin of micromag/terms/zeeman.py for uniform and per-member fields).
//
//   B = B_ext[b]  (Tesla) in magnetic cells; bext is a (B, 3) array, one vector per batch member.
// Time dependence is evaluated on the host, which uploads B_ext(t_b) per member before each RHS call.
// With MM_ZEEMAN_SPATIAL an extra field array (bext_map, (3, nz, ny, nx), or (B, 3, nz, ny, nx) with
// MM_ZEEMAN_SPATIAL_BATCH) is added as well.
#pragma once

__device__ __forceinline__ vec3 zeeman_field(int b, long long c, long long ncell, const real* __restrict__ bext,
                                             const real* __restrict__ bext_map) {
    vec3 B = mk3(bext[3 * b + 0], bext[3 * b + 1], bext[3 * b + 2]);
#ifdef MM_ZEEMAN_SPATIAL
#ifdef MM_ZEEMAN_SPATIAL_BATCH
    B = add3(B, load3(bext_map, b, c, ncell));
#else
    B = add3(B, load3(bext_map, 0, c, ncell));
#endif
#endif
    return B;
}

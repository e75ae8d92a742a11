// zeeman.cuh -- applied field (twin of micromag/engine/terms/zeeman.py).
//
//   B = B_ext[b]  (T) in magnetic cells: one vector per batch member (drive columns MM_D_ZEEMAN_B_EXT..+2,
//   evaluated on the host from B_ext(t) when it depends on time)
//   + map (3, nz, ny, nx) with MM_ZEEMAN_SPATIAL, or (B, 3, nz, ny, nx) with MM_ZEEMAN_SPATIAL_BATCH.
//   e = -Ms m.B   (J/m^3, before the fill weight: the "linear" energy rule)
#pragma once

__device__ __forceinline__ vec3 zeeman_field(const Cell& x) {
    vec3 B = MM_DRV3(x, MM_D_ZEEMAN_B_EXT);
#if defined(MM_ZEEMAN_SPATIAL_BATCH)
    B = add3(B, MM_PAT_VB(x, MM_PTR_ZEEMAN_MAP));
#elif defined(MM_ZEEMAN_SPATIAL)
    B = add3(B, MM_PAT_V(x, MM_PTR_ZEEMAN_MAP));
#endif
    return B;
}

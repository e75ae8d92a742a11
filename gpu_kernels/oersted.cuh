// oersted.cuh -- Oersted field of the write line (twin of OerstedField in micromag/engine/terms/oersted.py).
//
//   B = J B_unit(r)       (T)
//
// B_unit: the Biot-Savart field per unit drive, a static per-cell pattern (3, nz, ny, nx) (MM_PTR_OERSTED_B_UNIT,
// zero outside the magnet); J the member's drive in A/m^2 (MM_D_OERSTED_J). Energy: the "linear" rule.
#pragma once

__device__ __forceinline__ vec3 oersted_field(const Cell& x) {
    return scale3(MM_DRV(x, MM_D_OERSTED_J), MM_PAT_V(x, MM_PTR_OERSTED_B_UNIT));
}

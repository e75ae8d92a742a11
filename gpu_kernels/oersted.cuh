// oersted.cuh -- Oersted field of the write line (twin of OerstedField.add_field in micromag/terms/oersted.py).
//
//   B = J B_unit(r)       (T)
//
// B_unit: the Biot-Savart field per unit drive, a static per-cell pattern (3, nz, ny, nx) computed once by the
// NumPy term and uploaded (oe_b, zero outside the magnet); J is the member's drive (drv column MM_D_OE_J).
#pragma once

__device__ __forceinline__ vec3 oersted_field(long long c, long long ncell, real J, const real* __restrict__ oe_b) {
    return scale3(J, load3(oe_b, 0, c, ncell));
}

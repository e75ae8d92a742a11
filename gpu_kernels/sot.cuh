// sot.cuh -- spin-orbit torque (twin of SpinOrbitTorque in micromag/engine/terms/sot.py).
//
//   T = J [ s - (m.s) m - xi_FL m x s ]        (Gilbert form, 1/s)
//
// s = gamma B_DL sigma per unit current density: a static per-cell pattern (3, nz, ny, nx)
// (MM_PTR_SOT_S, zero outside the magnet); J the member's current density in A/m^2 (MM_D_SOT_J);
// xi_FL the field-like ratio (MM_S_SOT_XI_FL).
#pragma once

__device__ __forceinline__ vec3 sot_torque(const Cell& x) {
    const vec3 m = x.m;
    const vec3 s = MM_PAT_V(x, MM_PTR_SOT_S);
    const real xi = MM_CONST(x, MM_S_SOT_XI_FL);
    const real ms = dot3(m, s);
    vec3 a = sub3(s, scale3(ms, m));
    if (xi != (real)0) {  // - xi (m x s), term by term as the NumPy code
        a.x = a.x + (m.y * s.z) * (-xi);
        a.x = a.x + (m.z * s.y) * xi;
        a.y = a.y + (m.z * s.x) * (-xi);
        a.y = a.y + (m.x * s.z) * xi;
        a.z = a.z + (m.x * s.y) * (-xi);
        a.z = a.z + (m.y * s.x) * xi;
    }
    return scale3(MM_DRV(x, MM_D_SOT_J), a);
}

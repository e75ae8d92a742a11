// sot.cuh -- spin-orbit torque (twin of SpinOrbitTorque.add_torque in micromag/terms/sot.py).
//
//   T = J [ s - (m.s) m - xi_FL m x s ]        (Gilbert form, 1/s)
//
// s = gamma B_DL sigma per unit current density: a static per-cell pattern (3, nz, ny, nx) uploaded once
// (sot_s, zero outside the magnet); J is the member's current density (drv column MM_D_SOT_J).
#pragma once

__device__ __forceinline__ vec3 sot_torque(vec3 m, long long c, long long ncell, real J, real xi,
                                           const real* __restrict__ sot_s) {
    const vec3 s = load3(sot_s, 0, c, ncell);
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
    return scale3(J, a);
}

// thermal.cuh -- Brown's thermal field (twin of ThermalField in micromag/terms/thermal.py).
//
//   B_th = eta sqrt(2 alpha kB T / (gamma Ms V dt))       (T), eta standard normal per cell, component, step
//
// The field of a step is generated once per step by the kernel thermal_noise (thermal_noise.cu, Philox
// normals) into the buffer bth (B, 3, nz, ny, nx); llg_rhs adds it (held constant over the step).
#pragma once

__device__ __forceinline__ vec3 thermal_field(int b, long long c, long long ncell, const real* __restrict__ bth) {
    return load3(bth, b, c, ncell);
}

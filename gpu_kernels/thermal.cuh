// thermal.cuh -- Brown's thermal field (twin of ThermalField in micromag/engine/terms/thermal.py).
//
//   B_th = coef sqrt(T / dt) eta     (T),  coef = sqrt(2 alpha kB / (gamma Ms V)) per cell
//
// eta: three standard normals per cell and step from the shared Philox stream (philox.cuh, keyed by the
// member's seed, identity and step count). The kernel thermal_noise (thermal_noise.cu) writes the step's
// field into the buffer MM_PTR_THERMAL_FIELD (B, 3, nz, ny, nx) once per step; it is held constant over the
// step's stages (stochastic Heun). Stores no energy.
#pragma once

__device__ __forceinline__ vec3 thermal_field(const Cell& x) {
    return MM_PAT_VB(x, MM_PTR_THERMAL_FIELD);
}

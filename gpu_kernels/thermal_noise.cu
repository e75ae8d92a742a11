// thermal_noise.cu -- the white noise of stochastic terms (the thermal field), once per step (twin of
// ThermalField.begin_step in micromag/engine/terms/thermal.py, which draws the same numbers with micromag.engine.philox).
//
// thermal_noise: for a member with dt = step_dt(...) > 0:
//   field[b, :, c] = amp[c] sqrt(var[b] / dt) eta,   var[b] = drv[b * nd + col] (the temperature, K),
// amp = sqrt(2 alpha kB / (gamma Ms V)) per cell (0 outside the magnet), eta three standard normals from
// Philox-4x32-10 keyed by the member's seed, identity and step count (philox.cuh). var <= 0 gives a zero
// field; members with dt = 0 (finished) keep their field and draw nothing. The step counter advances in
// rk_finish, so a member's noise depends only on (seed, identity, its own steps).
// Units: field T, var K, dt s, amp T s^(1/2) K^(-1/2).
// Grid: x over cells (grid-stride), y over members (tiled).
#include "common.cuh"
#include "philox.cuh"
#include "rk_common.cuh"

extern "C" __global__ void thermal_noise(real* __restrict__ field, const real* __restrict__ amp,
                                         const real* __restrict__ drv, int nd, int col,
                                         const double* __restrict__ dt_next, const double* __restrict__ t,
                                         const double* __restrict__ t_end, int has_end,
                                         const long long* __restrict__ counter,
                                         const unsigned long long* __restrict__ seeds,
                                         const unsigned int* __restrict__ ids, long long ncell, int nb) {
    for (int b = blockIdx.y; b < nb; b += gridDim.y) {
        const double h = step_dt(dt_next, t, t_end, has_end, b);
        if (!(h > 0)) continue;
        const double T = (double)drv[(long long)b * nd + col];
        const real scale = (T > 0) ? (real)sqrt(T / h) : (real)0;
        const unsigned long long step = (unsigned long long)counter[b];
        for (long long c = (long long)blockIdx.x * blockDim.x + threadIdx.x; c < ncell;
             c += (long long)gridDim.x * blockDim.x) {
            const real s = amp[c] * scale;
            vec3 v = mk3(0, 0, 0);
            if (s != (real)0) v = scale3(s, philox_normal3((unsigned long long)c, ids[b], step, seeds[b]));
            store3(field, b, c, ncell, v);
        }
    }
}

// Standard normals only (tests and tools): out[b, :, c] = eta(seed[b], id[b], step[b], c).
extern "C" __global__ void noise_normals(real* __restrict__ out, const long long* __restrict__ counter,
                                         const unsigned long long* __restrict__ seeds,
                                         const unsigned int* __restrict__ ids, long long ncell, int nb) {
    for (int b = blockIdx.y; b < nb; b += gridDim.y)
        for (long long c = (long long)blockIdx.x * blockDim.x + threadIdx.x; c < ncell;
             c += (long long)gridDim.x * blockDim.x)
            store3(out, b, c, ncell, philox_normal3((unsigned long long)c, ids[b], (unsigned long long)counter[b], seeds[b]));
}

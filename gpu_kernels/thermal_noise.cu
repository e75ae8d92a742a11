// thermal_noise.cu -- the thermal field of one step (twin of ThermalField.begin_step in micromag/terms/thermal.py).
//
// thermal_noise: grid (blocks, B), grid-stride over cells. For a member with dt[b] > 0:
//   bth[b, :, c] = coef[c] sqrt(temp[b] / dt[b]) eta,   coef = sqrt(2 alpha kB / (gamma Ms V)) per cell
// (0 outside the magnet), eta three standard normals from Philox-4x32-10 keyed by (seed, member, counter[b],
// cell) (philox.cuh). temp[b] <= 0 gives a zero field. Members with dt[b] <= 0 (finished) keep their field
// and draw nothing. thermal_advance (one thread per member) then counts the step: counter[b] += dt[b] > 0,
// so a member's noise depends only on (seed, member, its own step count), never on the rest of the batch.
// The numbers are not those of the CPU backend (NumPy PCG64 streams): same distribution, different draws.
#include "common.cuh"
#include "philox.cuh"

extern "C" __global__ void thermal_noise(real* bth, const real* __restrict__ coef, const double* __restrict__ temp,
                                         const double* __restrict__ dt, const long long* __restrict__ counter,
                                         long long seed, long long ncell) {
    const int b = blockIdx.y;
    const double h = dt[b];
    if (!(h > 0)) return;
    const double T = temp[b];
    const real amp = (T > 0) ? (real)sqrt(T / h) : (real)0;
    const unsigned long long step = (unsigned long long)counter[b];
    for (long long c = (long long)blockIdx.x * blockDim.x + threadIdx.x; c < ncell;
         c += (long long)gridDim.x * blockDim.x) {
        const real s = coef[c] * amp;
        vec3 v = mk3(0, 0, 0);
        if (s != (real)0) v = scale3(s, philox_normal3((unsigned long long)c, b, step, (unsigned long long)seed));
        store3(bth, b, c, ncell, v);
    }
}

extern "C" __global__ void thermal_advance(long long* counter, const double* __restrict__ dt, int nb) {
    const int b = blockIdx.x * blockDim.x + threadIdx.x;
    if (b >= nb) return;
    if (dt[b] > 0) counter[b] += 1;
}

// cuda_emu.h -- host emulation of the small subset of CUDA C++ that micromag's kernels use.
//
// A kernel source (assembled by gpu_kernels.assemble) is compiled with g++ after this header; the
// generated launcher (micromag/emulation/__init__.py) runs the grid sequentially on one CPU thread:
// for each block (x fastest, then y, z) for each thread (x fastest), set blockIdx/threadIdx and call the
// kernel. This is exact for kernels in which no thread reads what another thread of the same launch
// writes (true of every micromag kernel) and makes atomics trivially atomic.
//
// Supported:  __global__, __device__, __host__, __forceinline__, __restrict__, threadIdx, blockIdx,
//             blockDim, gridDim (uint3/dim3), math of <cmath> (sqrt, sqrtf, pow, fabs, fmin, fmax, ...),
//             rsqrt/rsqrtf, atomicAdd (int, unsigned, unsigned long long, float, double), atomicMax (int,
//             unsigned, unsigned long long), __float_as_uint/__uint_as_float/__float_as_int/
//             __int_as_float/__double_as_longlong/__longlong_as_double, min/max.
// Not supported (compile error on purpose): __shared__, __syncthreads, warp intrinsics (__shfl_*,
//             __ballot_sync, ...), __constant__, textures, cooperative groups, dynamic parallelism.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstring>

struct uint3 {
    unsigned int x, y, z;
};
struct dim3 {
    unsigned int x, y, z;
};

namespace emu {
inline uint3 threadIdx_ = {0, 0, 0};
inline uint3 blockIdx_ = {0, 0, 0};
inline dim3 blockDim_ = {1, 1, 1};
inline dim3 gridDim_ = {1, 1, 1};
}  // namespace emu

#define threadIdx (::emu::threadIdx_)
#define blockIdx (::emu::blockIdx_)
#define blockDim (::emu::blockDim_)
#define gridDim (::emu::gridDim_)

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
// __restrict__ is a g++ keyword already.
#define __shared__ EMULATION_DOES_NOT_SUPPORT_SHARED_MEMORY
#define __constant__ EMULATION_DOES_NOT_SUPPORT_CONSTANT_MEMORY

using std::max;
using std::min;
using std::sqrt;
using std::pow;
using std::fabs;

inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }

inline unsigned int __float_as_uint(float v) { unsigned int u; std::memcpy(&u, &v, 4); return u; }
inline int __float_as_int(float v) { int u; std::memcpy(&u, &v, 4); return u; }
inline float __uint_as_float(unsigned int u) { float v; std::memcpy(&v, &u, 4); return v; }
inline float __int_as_float(int u) { float v; std::memcpy(&v, &u, 4); return v; }
inline long long __double_as_longlong(double v) { long long u; std::memcpy(&u, &v, 8); return u; }
inline double __longlong_as_double(long long u) { double v; std::memcpy(&v, &u, 8); return v; }

// Atomics: the grid runs sequentially, so a plain read-modify-write is atomic. They return the old value.
template <typename T> inline T emu_atomic_add(T* a, T v) { T old = *a; *a = old + v; return old; }
template <typename T> inline T emu_atomic_max(T* a, T v) { T old = *a; if (v > old) *a = v; return old; }
inline int atomicAdd(int* a, int v) { return emu_atomic_add(a, v); }
inline unsigned int atomicAdd(unsigned int* a, unsigned int v) { return emu_atomic_add(a, v); }
inline unsigned long long atomicAdd(unsigned long long* a, unsigned long long v) { return emu_atomic_add(a, v); }
inline float atomicAdd(float* a, float v) { return emu_atomic_add(a, v); }
inline double atomicAdd(double* a, double v) { return emu_atomic_add(a, v); }
inline int atomicMax(int* a, int v) { return emu_atomic_max(a, v); }
inline unsigned int atomicMax(unsigned int* a, unsigned int v) { return emu_atomic_max(a, v); }
inline unsigned long long atomicMax(unsigned long long* a, unsigned long long v) { return emu_atomic_max(a, v); }

namespace emu {
// Run kernel body f() over the whole grid, sequentially.
template <typename F>
inline void run_grid(unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, F f) {
    gridDim_ = dim3{gx, gy, gz};
    blockDim_ = dim3{bx, by, bz};
    for (unsigned z = 0; z < gz; z++)
        for (unsigned y = 0; y < gy; y++)
            for (unsigned x = 0; x < gx; x++) {
                blockIdx_ = uint3{x, y, z};
                for (unsigned tz = 0; tz < bz; tz++)
                    for (unsigned ty = 0; ty < by; ty++)
                        for (unsigned tx = 0; tx < bx; tx++) {
                            threadIdx_ = uint3{tx, ty, tz};
                            f();
                        }
            }
}
}  // namespace emu

// cuda_emu.h -- host emulation of the small subset of CUDA C++ that micromag's kernels use.
//
// A kernel source (assembled by gpu_kernels.assemble) is compiled with g++ after this header; the
// generated launcher (micromag/engine/emulation/__init__.py) runs the grid on one CPU thread, block after block
// (x fastest, then y, z). Inside a block:
//  - a kernel that never calls __syncthreads runs its threads one after the other (x fastest);
//  - a kernel that does (the launcher sees it in the source) runs each thread of the block as a fiber
//    (ucontext): __syncthreads() switches to the next thread, and a thread continues past the barrier
//    only when every thread of the block has reached it (or has returned) -- CUDA's barrier semantics.
// __shared__ variables are function-static: one copy, used by the block that runs (blocks run one at a
// time), as on the device, where each block sees its own. Atomics are trivially atomic.
// This is exact for kernels whose threads communicate only through shared memory with barriers in
// between, or not at all (every micromag kernel).
//
// Supported:  __global__, __device__, __host__, __forceinline__, __restrict__, threadIdx, blockIdx,
//             blockDim, gridDim (uint3/dim3), __shared__ (static arrays), __syncthreads, math of <cmath>
//             (sqrt, sqrtf, pow, fabs, fmin, fmax, ...), rsqrt/rsqrtf, atomicAdd (int, unsigned,
//             unsigned long long, float, double), atomicMax (int, unsigned, unsigned long long),
//             __float_as_uint/__uint_as_float/__float_as_int/__int_as_float/__double_as_longlong/
//             __longlong_as_double, min/max.
// Not supported (compile error on purpose): warp intrinsics (__shfl_*, __ballot_sync, ...), __constant__,
//             dynamic shared memory (extern __shared__), textures, cooperative groups, dynamic parallelism.
//             A __syncthreads inside a branch that not every thread of the block takes deadlocks on the
//             device; here it is reported (abort with a message) instead.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ucontext.h>
#include <vector>

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
#define __shared__ static
#define __constant__ EMULATION_DOES_NOT_SUPPORT_CONSTANT_MEMORY

#define __syncthreads() ::emu::syncthreads_()

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
// ---- fibers for kernels with __syncthreads
struct Fibers {
    std::vector<ucontext_t> ctx;
    std::vector<uint3> tid;
    std::vector<char> stacks;
    std::vector<int> state;  // 0 running/runnable, 1 waiting at the barrier, 2 returned
    ucontext_t sched;
    int current = -1;
    void (*body)(void*) = nullptr;
    void* arg = nullptr;
};
inline Fibers fib;
inline constexpr size_t FIBER_STACK = 256 * 1024;

inline void fiber_entry() {
    fib.body(fib.arg);
    fib.state[fib.current] = 2;
    swapcontext(&fib.ctx[fib.current], &fib.sched);
}

inline bool plain_mode = false;  // the rest of a block runs without fibers (its first thread met no barrier)

inline void syncthreads_() {
    if (plain_mode) {
        std::fprintf(stderr, "emulation: __syncthreads reached by a thread of a block whose first thread returned "
                             "without one (a barrier in divergent code deadlocks on the GPU)\n");
        std::abort();
    }
    if (fib.current < 0) return;  // a kernel run without fibers has no other thread to wait for
    fib.state[fib.current] = 1;
    swapcontext(&fib.ctx[fib.current], &fib.sched);
}

inline void make_fiber(int i) {
    getcontext(&fib.ctx[i]);
    fib.ctx[i].uc_stack.ss_sp = fib.stacks.data() + (size_t)i * FIBER_STACK;
    fib.ctx[i].uc_stack.ss_size = FIBER_STACK;
    fib.ctx[i].uc_link = nullptr;
    makecontext(&fib.ctx[i], fiber_entry, 0);
}

// Run one block. Barriers are uniform over a block in correct CUDA code, so the first thread tells: it runs
// as a fiber; if it returns without meeting a barrier the other threads run plainly (cheap), else they run
// as fibers too, and a barrier releases when every live thread waits at it.
inline void run_block_fibers(unsigned bx, unsigned by, unsigned bz, void (*body)(void*), void* arg) {
    const int n = (int)(bx * by * bz);
    fib.ctx.resize(n);
    fib.tid.resize(n);
    fib.state.assign(n, 0);
    if (fib.stacks.size() < (size_t)n * FIBER_STACK) fib.stacks.resize((size_t)n * FIBER_STACK);
    fib.body = body;
    fib.arg = arg;
    int i = 0;
    for (unsigned tz = 0; tz < bz; tz++)
        for (unsigned ty = 0; ty < by; ty++)
            for (unsigned tx = 0; tx < bx; tx++, i++) fib.tid[i] = uint3{tx, ty, tz};
    make_fiber(0);
    fib.current = 0;
    threadIdx_ = fib.tid[0];
    swapcontext(&fib.sched, &fib.ctx[0]);
    fib.current = -1;
    if (fib.state[0] == 2) {  // no barrier in this launch: the others plainly
        plain_mode = true;
        for (i = 1; i < n; i++) {
            threadIdx_ = fib.tid[i];
            body(arg);
        }
        plain_mode = false;
        return;
    }
    for (i = 1; i < n; i++) make_fiber(i);
    for (;;) {
        int waiting = 0, done = 0;
        for (i = 0; i < n; i++) {
            if (fib.state[i] != 0) continue;
            fib.current = i;
            threadIdx_ = fib.tid[i];
            swapcontext(&fib.sched, &fib.ctx[i]);
        }
        fib.current = -1;
        for (i = 0; i < n; i++) {
            waiting += fib.state[i] == 1;
            done += fib.state[i] == 2;
        }
        if (done == n) return;
        if (done > 0 && waiting > 0) {
            std::fprintf(stderr, "emulation: __syncthreads reached by %d threads of a block while %d had returned "
                                 "(a barrier in divergent code deadlocks on the GPU)\n", waiting, done);
            std::abort();
        }
        for (i = 0; i < n; i++)
            if (fib.state[i] == 1) fib.state[i] = 0;  // everyone is at the barrier: release it
    }
}

template <typename F>
inline void run_grid_fibers(unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, F f) {
    gridDim_ = dim3{gx, gy, gz};
    blockDim_ = dim3{bx, by, bz};
    auto tramp = [](void* p) { (*static_cast<F*>(p))(); };
    for (unsigned z = 0; z < gz; z++)
        for (unsigned y = 0; y < gy; y++)
            for (unsigned x = 0; x < gx; x++) {
                blockIdx_ = uint3{x, y, z};
                run_block_fibers(bx, by, bz, tramp, &f);
            }
}

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

// common.cuh -- shared definitions of the micromag CUDA kernels.
//
// Compiled by NVRTC (through cupy.RawModule at run time) and by g++ with micromag/emulation/cuda_emu.h.
// Sources are assembled by gpu_kernels.assemble(): local #include "..." lines are inlined once, and the
// defines (MM_DOUBLE, MM_HAS_*, the parameter-table column indices MM_P_*) are prepended as text, so
// the same text is what NVRTC and g++ see.
#pragma once

#ifdef MM_DOUBLE
typedef double real;
#define MM_SQRT(x) sqrt(x)
#else
typedef float real;
#define MM_SQRT(x) sqrtf(x)
#endif

#ifndef MM_NPARAM
#error "MM_NPARAM and the MM_P_* column indices must be defined (use gpu_kernels.assemble)"
#endif

// A 3-vector of reals (own type, so the emulation needs no CUDA vector types).
struct vec3 {
    real x, y, z;
};

__device__ __forceinline__ vec3 mk3(real x, real y, real z) {
    vec3 v;
    v.x = x;
    v.y = y;
    v.z = z;
    return v;
}
__device__ __forceinline__ vec3 add3(vec3 a, vec3 b) { return mk3(a.x + b.x, a.y + b.y, a.z + b.z); }
__device__ __forceinline__ vec3 sub3(vec3 a, vec3 b) { return mk3(a.x - b.x, a.y - b.y, a.z - b.z); }
__device__ __forceinline__ vec3 scale3(real s, vec3 a) { return mk3(s * a.x, s * a.y, s * a.z); }
__device__ __forceinline__ real dot3(vec3 a, vec3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
__device__ __forceinline__ vec3 cross3(vec3 a, vec3 b) {
    return mk3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x);
}

// Component c of a state array (B, 3, nz, ny, nx): member b, cell index i (0 <= i < ncell).
__device__ __forceinline__ long long sidx(int b, int c, long long i, long long ncell) {
    return ((long long)b * 3 + c) * ncell + i;
}
__device__ __forceinline__ vec3 load3(const real* __restrict__ a, int b, long long i, long long ncell) {
    return mk3(a[sidx(b, 0, i, ncell)], a[sidx(b, 1, i, ncell)], a[sidx(b, 2, i, ncell)]);
}
__device__ __forceinline__ void store3(real* __restrict__ a, int b, long long i, long long ncell, vec3 v) {
    a[sidx(b, 0, i, ncell)] = v.x;
    a[sidx(b, 1, i, ncell)] = v.y;
    a[sidx(b, 2, i, ncell)] = v.z;
}

// Per-region parameter table: params[r * MM_NPARAM + column], columns MM_P_* (see gpu_kernels/__init__.py).
#define PARAM(tab, r, col) ((tab)[(long long)(r) * MM_NPARAM + (col)])
__device__ __forceinline__ vec3 param3(const real* __restrict__ tab, int r, int col) {
    return mk3(PARAM(tab, r, col), PARAM(tab, r, col + 1), PARAM(tab, r, col + 2));
}

// Grid geometry passed to every stencil kernel.
struct GridInfo {
    int nx, ny, nz;
    real idx2, idy2, idz2;  // 1/dx^2, 1/dy^2, 1/dz^2
    real idx, idy;          // 1/dx, 1/dy (DMI)
    real ihx, ihy, ihz;     // 1/(2dx), 1/(2dy), 1/(2dz) (central differences: Zhang-Li)
};

// The six face neighbours of a cell, in the order -x, +x, -y, +y, -z, +z.
// r[n] is the neighbour's region, or -1 when it is outside the grid or not magnetic (region map -1);
// m[n] is its magnetization (zero when r[n] < 0).
struct Neighbours {
    vec3 m[6];
    int r[6];
};

__device__ __forceinline__ void load_neighbours(Neighbours& nb, const real* __restrict__ m,
                                                const int* __restrict__ region, int b, int i, int j, int k,
                                                const GridInfo& g) {
    const long long ncell = (long long)g.nx * g.ny * g.nz;
    const long long c = ((long long)k * g.ny + j) * g.nx + i;
    const long long off[6] = {-1, 1, -(long long)g.nx, (long long)g.nx, -(long long)g.nx * g.ny,
                              (long long)g.nx * g.ny};
    const bool inside[6] = {i > 0, i < g.nx - 1, j > 0, j < g.ny - 1, k > 0, k < g.nz - 1};
    for (int n = 0; n < 6; n++) {
        int r = -1;
        if (inside[n]) r = region[c + off[n]];
        nb.r[n] = r;
        nb.m[n] = (r >= 0) ? load3(m, b, c + off[n], ncell) : mk3(0, 0, 0);
    }
}

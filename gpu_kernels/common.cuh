// common.cuh -- shared definitions of the micromag CUDA kernels.
//
// Compiled by NVRTC (through cupy.RawModule at run time) and by g++ with micromag/engine/emulation/cuda_emu.h.
// Sources are assembled by gpu_kernels.assemble(): local #include "..." lines are inlined once, and the
// defines (MM_DOUBLE, and the layout generated from the terms' declarations: MM_HAS_*, MM_P_*, MM_D_*,
// MM_S_*, MM_PTR_*, the term lists MM_FIELD_TERMS(X), ...) are prepended as text, so
// the same text is what NVRTC and g++ see.
#pragma once

#ifdef MM_DOUBLE
typedef double real;
#define MM_SQRT(x) sqrt(x)
#else
typedef float real;
#define MM_SQRT(x) sqrtf(x)
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

// Grid geometry passed to every stencil kernel: cell counts, cell size (m) and its inverse powers (1/m, 1/m^2).
struct GridInfo {
    int nx, ny, nz;
    real dx, dy, dz;        // cell size, m
    real idx2, idy2, idz2;  // 1/dx^2, 1/dy^2, 1/dz^2 (second differences: exchange)
    real idx, idy, idz;     // 1/dx, 1/dy, 1/dz (one-sided differences: DMI)
    real ihx, ihy, ihz;     // 1/(2dx), 1/(2dy), 1/(2dz) (central differences: Zhang-Li)
};

__device__ __forceinline__ GridInfo make_grid(int nx, int ny, int nz, real dx, real dy, real dz) {
    GridInfo g;
    g.nx = nx;
    g.ny = ny;
    g.nz = nz;
    g.dx = dx;
    g.dy = dy;
    g.dz = dz;
    g.idx = (real)1 / dx;
    g.idy = (real)1 / dy;
    g.idz = (real)1 / dz;
    g.idx2 = g.idx * g.idx;
    g.idy2 = g.idy * g.idy;
    g.idz2 = (real)1 / (dz * dz);
    g.ihx = (real)1 / ((real)2 * dx);
    g.ihy = (real)1 / ((real)2 * dy);
    g.ihz = (real)1 / ((real)2 * dz);
    return g;
}

// The six face neighbours of a cell, in the order -x, +x, -y, +y, -z, +z.
// r[n] is the neighbour's region, or -1 when it is outside the grid or not magnetic (region map -1);
// m[n] is its magnetization (zero when r[n] < 0), c[n] its cell index (valid when r[n] >= 0). Along a periodic axis (define MM_PERIODIC_X/Y/Z, from
// micromag.engine.terms.stencil.periodic_defines) the index wraps: the cell past the last is the first, so every
// neighbour term couples across the periodic edge (twin of micromag/engine/terms/stencil.py). A periodic axis of
// one cell has the cell itself as both neighbours.
struct Neighbours {
    vec3 m[6];
    int r[6];
    long long c[6];
};

#ifdef MM_PERIODIC_X
#define MM_PBC_X true
#else
#define MM_PBC_X false
#endif
#ifdef MM_PERIODIC_Y
#define MM_PBC_Y true
#else
#define MM_PBC_Y false
#endif
#ifdef MM_PERIODIC_Z
#define MM_PBC_Z true
#else
#define MM_PBC_Z false
#endif

// index of the neighbour at i + s (s = -1 or +1) on an axis of n cells; -1 outside an open axis
__device__ __forceinline__ int nb_index(int i, int s, int n, bool periodic) {
    const int j = i + s;
    if (j >= 0 && j < n) return j;
    if (!periodic) return -1;
    return j < 0 ? j + n : j - n;
}

__device__ __forceinline__ void load_neighbours(Neighbours& nb, const real* __restrict__ m,
                                                const int* __restrict__ region, int b, int i, int j, int k,
                                                const GridInfo& g) {
    const long long ncell = (long long)g.nx * g.ny * g.nz;
    for (int n = 0; n < 6; n++) {
        const int s = (n & 1) ? 1 : -1;
        int ii = i, jj = j, kk = k;
        if (n < 2) ii = nb_index(i, s, g.nx, MM_PBC_X);
        else if (n < 4) jj = nb_index(j, s, g.ny, MM_PBC_Y);
        else kk = nb_index(k, s, g.nz, MM_PBC_Z);
        int r = -1;
        long long c = 0;
        if (ii >= 0 && jj >= 0 && kk >= 0) {
            c = ((long long)kk * g.ny + jj) * g.nx + ii;
            r = region[c];
        }
        nb.r[n] = r;
        nb.c[n] = c;
        nb.m[n] = (r >= 0) ? load3(m, b, c, ncell) : mk3(0, 0, 0);
    }
}

// ---- the cell context: everything a term's device function may read ----------------------------------
// Material table: PT[r * MM_NPARAM + column], columns MM_P_<NAME> (gpu_kernels.layout); one table for all
// members, or one per member with MM_PARAMS_PER_MEMBER (time-dependent parameters). Drives: D[column] of
// this member, columns MM_D_<TERM>_<NAME>. Constants: S[MM_S_<TERM>_<NAME>]. Patterns: device pointers
// ptr[MM_PTR_<TERM>_<NAME>] (uploaded once by the backend from the term's device_patterns()).
struct Cell {
    vec3 m;                         // this cell's magnetization
    const real* M;                  // the state being evaluated (B, 3, nz, ny, nx): couplings past the faces
    int r;                          // its region (>= 0: magnetic)
    int b, nb;                      // batch member, batch size
    int nreg;                       // number of regions (rows of the material table)
    long long c, ncell;             // cell index, number of cells
    int i, j, k;                    // x, y, z index
    const real* P;                  // material row of region r (of member b)
    const real* PT;                 // material table of member b
    const real* D;                  // drive row of member b
    const real* S;                  // term constants
    const unsigned long long* ptr;  // pattern pointers
    GridInfo g;
    Neighbours nbr;                 // face neighbours (loaded when MM_NEED_NEIGHBOURS)
};

#define MM_PARAM(x, col) ((x).P[col])
#define MM_PARAM3(x, col) mk3((x).P[col], (x).P[(col) + 1], (x).P[(col) + 2])
#define MM_PARAM_OF(x, reg, col) ((x).PT[(long long)(reg) * MM_NPARAM + (col)])
#define MM_DRV(x, col) ((x).D[col])
#define MM_DRV3(x, col) mk3((x).D[col], (x).D[(col) + 1], (x).D[(col) + 2])
#define MM_CONST(x, col) ((x).S[col])
#define MM_CONST3(x, col) mk3((x).S[col], (x).S[(col) + 1], (x).S[(col) + 2])
#define MM_PAT(x, slot) ((const real*)((x).ptr[slot]))
#define MM_PAT_S(x, slot) (MM_PAT(x, slot)[(x).c])                         // (nz, ny, nx)
#define MM_PAT_V(x, slot) load3(MM_PAT(x, slot), 0, (x).c, (x).ncell)      // (3, nz, ny, nx)
#define MM_PAT_VB(x, slot) load3(MM_PAT(x, slot), (x).b, (x).c, (x).ncell) // (B, 3, nz, ny, nx)

// Energy densities (J/m^3, before the fill weight) of a term's own field Bt, by the term's declared rule.
#define MM_ENERGY_quadratic(x, name, Bt) ((real)-0.5 * MM_PARAM(x, MM_P_MS) * dot3((x).m, Bt))
#define MM_ENERGY_linear(x, name, Bt) (-MM_PARAM(x, MM_P_MS) * dot3((x).m, Bt))
#define MM_ENERGY_custom(x, name, Bt) name##_energy(x, Bt)

// rk_stage.cu -- fused Runge-Kutta stage kernels with one time step per batch member
// (twin of micromag/integrators.py: Stepper._combine, the error estimate, the step controller and the
// renormalization). Up to 7 stage vectors k0..k6 (Dormand-Prince has 7); coefficients are a small double
// array, dt and t are double arrays of length B. Stage vectors and states have the layout (B, 3, nz, ny, nx).
#include "common.cuh"

#define MM_MAXK 7

__device__ __forceinline__ const real* pick_k(int j, const real* k0, const real* k1, const real* k2,
                                              const real* k3, const real* k4, const real* k5, const real* k6) {
    switch (j) {
        case 0: return k0;
        case 1: return k1;
        case 2: return k2;
        case 3: return k3;
        case 4: return k4;
        case 5: return k5;
        default: return k6;
    }
}

// y = m + dt_b * sum_{j < nk, coef_j != 0} coef_j k_j   (grid: x over the 3*ncell values, y over members)
extern "C" __global__ void rk_combine(const real* __restrict__ m, const real* k0, const real* k1, const real* k2,
                                      const real* k3, const real* k4, const real* k5, const real* k6,
                                      const double* __restrict__ coef, int nk, const double* __restrict__ dt,
                                      real* y, long long ncell) {
    const int b = blockIdx.y;
    const long long n3 = 3 * ncell;
    real h[MM_MAXK];
    for (int j = 0; j < MM_MAXK; j++) h[j] = (j < nk) ? (real)(dt[b] * coef[j]) : (real)0;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n3;
         i += (long long)gridDim.x * blockDim.x) {
        const long long e = (long long)b * n3 + i;
        real acc = m[e];
        for (int j = 0; j < nk && j < MM_MAXK; j++) {
            if (coef[j] != 0.0) acc += h[j] * pick_k(j, k0, k1, k2, k3, k4, k5, k6)[e];
        }
        y[e] = acc;
    }
}

// Atomic maximum of a non-negative real (IEEE bit patterns of non-negative values order like integers;
// a NaN compares larger than everything, so it propagates).
__device__ __forceinline__ void atomic_max_nonneg(real* addr, real v) {
#ifdef MM_DOUBLE
    atomicMax((unsigned long long*)addr, (unsigned long long)__double_as_longlong(v));
#else
    atomicMax((unsigned int*)addr, __float_as_uint(v));
#endif
}

// Error estimate of an embedded pair: err[b] = max over cells of |dt_b sum_j e_j k_j| (err must hold 0
// before the launch). With write_y != 0 also the solution y = m + dt_b sum_j bw_j k_j (non-FSAL tableaux).
// Grid: x over cells (grid-stride), y over members; one atomic per thread.
extern "C" __global__ void rk_error(const real* __restrict__ m, const real* k0, const real* k1, const real* k2,
                                    const real* k3, const real* k4, const real* k5, const real* k6,
                                    const double* __restrict__ ecoef, const double* __restrict__ bcoef, int nk,
                                    const double* __restrict__ dt, int write_y, real* y, real* err,
                                    long long ncell) {
    const int b = blockIdx.y;
    real he[MM_MAXK], hb[MM_MAXK];
    for (int j = 0; j < MM_MAXK; j++) {
        he[j] = (j < nk) ? (real)(dt[b] * ecoef[j]) : (real)0;
        hb[j] = (j < nk && write_y) ? (real)(dt[b] * bcoef[j]) : (real)0;
    }
    real local = 0;
    for (long long c = (long long)blockIdx.x * blockDim.x + threadIdx.x; c < ncell;
         c += (long long)gridDim.x * blockDim.x) {
        real ev[3] = {0, 0, 0};
        for (int comp = 0; comp < 3; comp++) {
            const long long e = sidx(b, comp, c, ncell);
            real acc = 0;
            real sol = write_y ? m[e] : (real)0;
            for (int j = 0; j < nk && j < MM_MAXK; j++) {
                const real* kj = pick_k(j, k0, k1, k2, k3, k4, k5, k6);
                if (ecoef[j] != 0.0) acc += he[j] * kj[e];
                if (write_y && bcoef[j] != 0.0) sol += hb[j] * kj[e];
            }
            ev[comp] = acc;
            if (write_y) y[e] = sol;
        }
        const real n = MM_SQRT(ev[0] * ev[0] + ev[1] * ev[1] + ev[2] * ev[2]);
        if (!(n <= local)) local = n;  // also takes a NaN
    }
    atomic_max_nonneg(&err[b], local);
}

// Step preparation, one thread per member: the step dt_used[b] = min(dt_next[b], t_end[b] - t[b]) (a step a
// few ulps short of the end is taken whole; never negative); active[b] = dt_used[b] > 0. has_end = 0: no end.
extern "C" __global__ void rk_prepare(const double* __restrict__ dt_next, const double* __restrict__ t,
                                      const double* __restrict__ t_end, int has_end, double* dt_used,
                                      int* active, int nb) {
    const int b = blockIdx.x * blockDim.x + threadIdx.x;
    if (b >= nb) return;
    double dt = dt_next[b];
    if (has_end) {
        const double remaining = t_end[b] - t[b];
        if (remaining < dt) dt = remaining;
        if (remaining <= dt * (1 + 1e-9)) dt = remaining;
        if (dt < 0) dt = 0;
    }
    dt_used[b] = dt;
    active[b] = dt > 0;
}

// Step controller, one thread per member (MuMax3 rule, as Stepper.step): accept when err <= tol or the step
// is at dt_min; next dt = clip(dt * clip(headroom (tol/err)^(1/(q+1)), 0.2, 2), dt_min, dt_max), not
// shrunk by a step that was only shortened to land on t_end; t advances by dt on acceptance.
// adaptive = 0: every active member is accepted and dt_next is unchanged.
extern "C" __global__ void rk_control(const real* __restrict__ err, const double* __restrict__ dt_used,
                                      const int* __restrict__ active, double* dt_next, double* t, int* accept,
                                      int adaptive, double tol, double dt_min, double dt_max, double headroom,
                                      int err_order, int nb) {
    const int b = blockIdx.x * blockDim.x + threadIdx.x;
    if (b >= nb) return;
    const double dt = dt_used[b];
    int acc = active[b];
    if (adaptive && active[b]) {
        const double e = (double)err[b];
        const bool at_min = dt <= dt_min * (1 + 1e-12);
        acc = (e <= tol) || at_min;
        double fac = headroom * pow(tol / (e > 1e-300 ? e : 1e-300), 1.0 / (err_order + 1));
        if (!(fac >= 0.2)) fac = (fac != fac) ? fac : 0.2;
        if (fac > 2.0) fac = 2.0;
        double nd = dt * fac;
        if (nd < dt_min) nd = dt_min;
        if (nd > dt_max) nd = dt_max;
        if (acc && dt < dt_next[b] && nd < dt_next[b]) nd = dt_next[b];
        dt_next[b] = nd;
    }
    accept[b] = acc;
    if (acc) t[b] += dt;
}

// Commit, per cell and member: for an accepted member m = normalize(y), zero where region < 0, and with
// fsal != 0 also k0 = klast (the FSAL stage becomes the first stage of the next step). A member not
// accepted (rejected step, or finished: t >= t_end) is not touched at all, so its m stays bit-identical.
extern "C" __global__ void rk_commit(real* m, const real* __restrict__ y, const int* __restrict__ accept,
                                     const int* __restrict__ region, int fsal, const real* klast, real* k0,
                                     long long ncell) {
    const int b = blockIdx.y;
    const int acc = accept[b];
    if (!acc) return;  // rejected or finished (dt_used = 0): m stays bit for bit, and nothing is moved
    for (long long c = (long long)blockIdx.x * blockDim.x + threadIdx.x; c < ncell;
         c += (long long)gridDim.x * blockDim.x) {
        vec3 v = load3(y, b, c, ncell);
        const real n = MM_SQRT(dot3(v, v));
        const real s = (region[c] >= 0 && n > 0) ? (real)1 / n : (real)0;
        store3(m, b, c, ncell, scale3(s, v));
        if (fsal) store3(k0, b, c, ncell, load3(klast, b, c, ncell));
    }
}

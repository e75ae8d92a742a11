// rk_stage.cu -- one Runge-Kutta step as few launches as possible, with one time step per batch member
// (twin of micromag/engine/integrators.py: Stepper.step, the same tableaux, controller and renormalization).
//
// A step of an s-stage tableau (stage i evaluates k_i = f(Y_i, t + c_i dt), Y_0 = m,
// Y_i = m + dt sum_{j<i} a_ij k_j) is:
//   [demag_source of m if k_0 is not known]       (demag_multiply.cu; only with demag)
//   rk_stage(stage 0, eval = k_0 unknown)         k_0 (if eval), then Y_1 and its demag source rows
//   for i = 1 .. s-1: [FFT convolution of Y_i's rows] rk_stage(i): k_i, then Y_{i+1} and its source rows,
//                                                   or, after the last stage, the error estimate
//   rk_finish                                     accept/reject, m, t, dt, FSAL k_0 = k_{s-1}
// so an FSAL pair (Dormand-Prince) costs 1 + 6 x (FFTs + 1) + 1 launches. The first launch of a step
// (first = 1) computes each member's step dt_used = min(dt_next, t_end - t) itself (every thread the same
// value; block 0 / thread 0 stores it and zeroes err) so no separate preparation launch is needed.
//
// Stage vectors k_j: device pointers kp[j], each (B, 3, nz, ny, nx). The tableau: tab (double), rows of
// MM_MAXK: a at [i * MM_MAXK], then b at [MM_MAXK * MM_MAXK], e at [(MM_MAXK + 1) * MM_MAXK].
// Y buffers alternate (yin, yout) so no thread reads what another thread of the launch writes.
#include "common.cuh"
// @terms
#include "rhs_common.cuh"
#include "rk_common.cuh"

#define MM_MAXK 7
#define MM_TAB_B (MM_MAXK * MM_MAXK)
#define MM_TAB_E ((MM_MAXK + 1) * MM_MAXK)
#define MM_GROWTH_MAX 5.0  // the largest step growth: micromag.engine.integrators.GROWTH_MAX

__device__ __forceinline__ const real* kptr(const unsigned long long* kp, int j) { return (const real*)kp[j]; }

// m + h sum_{j < n, w_j != 0} w_j k_j at element (b, c), with k_cur (already in registers) standing for k_jc.
__device__ __forceinline__ vec3 combine(vec3 base, const unsigned long long* kp, const double* w, int n, double h,
                                        int b, long long c, long long ncell, int jc, vec3 kcur) {
    vec3 acc = base;
    for (int j = 0; j < n; j++) {
        if (w[j] == 0.0) continue;
        const real hj = (real)(h * w[j]);
        const vec3 kj = (j == jc) ? kcur : load3(kptr(kp, j), b, c, ncell);
        acc.x += hj * kj.x;
        acc.y += hj * kj.y;
        acc.z += hj * kj.z;
    }
    return acc;
}

#ifndef NAN
#define NAN __longlong_as_double(0x7ff8000000000000LL)
#endif

extern "C" __global__ void rk_stage(const real* __restrict__ m, const real* __restrict__ yin, real* __restrict__ yout,
                                    const unsigned long long* __restrict__ kp, const double* __restrict__ tab,
                                    int stage, int nstage, int eval, int fsal, int adaptive,
                                    const double* __restrict__ dt_next, const double* __restrict__ t,
                                    const double* __restrict__ t_end, int has_end, double* __restrict__ dt_used,
                                    int first, double* __restrict__ err, const real* __restrict__ ms,
                                    real* __restrict__ src, int px, int sy, int write_src,
                                    const int* __restrict__ region, const real* __restrict__ params,
                                    const real* __restrict__ drv, const real* __restrict__ consts,
                                    const unsigned long long* __restrict__ ptr, int nx, int ny, int nz, int nreg,
                                    int nb, real dx, real dy, real dz, int precession) {
    __shared__ double sh[256];
    const GridInfo g = make_grid(nx, ny, nz, dx, dy, dz);
    const long long ncell = (long long)nx * ny * nz;
    const bool last = stage == nstage - 1;
    for (int b = blockIdx.y; b < nb; b += gridDim.y) {
        double h;
        if (first) {
            h = step_dt(dt_next, t, t_end, has_end, b);
            if (blockIdx.x == 0 && threadIdx.x == 0) {
                dt_used[b] = h;
                err[b] = 0;
            }
        } else {
            h = dt_used[b];
        }
        real* kout = (real*)kp[stage];
        double emax = 0;
        for (long long c = (long long)blockIdx.x * blockDim.x + threadIdx.x; c < ncell;
             c += (long long)gridDim.x * blockDim.x) {
            vec3 k;
            if (eval) {
                Cell x;
                k = mk3(0, 0, 0);
                if (cell_init(x, yin, region, params, drv, consts, ptr, b, c, g, nreg, nb)) k = cell_dmdt(x, cell_field(x), precession);
                store3(kout, b, c, ncell, k);
            } else {
                k = load3(kout, b, c, ncell);
            }
            const vec3 m0 = load3(m, b, c, ncell);
            if (!last) {
                const vec3 y = combine(m0, kp, tab + (stage + 1) * MM_MAXK, stage + 1, h, b, c, ncell, stage, k);
                store3(yout, b, c, ncell, y);
                if (write_src) {
                    const int i = (int)(c % nx), j = (int)((c / nx) % ny), kk = (int)(c / ((long long)nx * ny));
                    const long long row = (((long long)kk * sy + j) * (3LL * nb) + 3LL * b) * px + i;
                    const real w = ms[c];
                    src[row] = w * y.x;
                    src[row + px] = w * y.y;
                    src[row + 2 * px] = w * y.z;
                }
            } else {
                if (adaptive) {
                    const vec3 ev = combine(mk3(0, 0, 0), kp, tab + MM_TAB_E, nstage, h, b, c, ncell, stage, k);
                    const double n = (double)MM_SQRT(ev.x * ev.x + ev.y * ev.y + ev.z * ev.z);
                    if (n > emax || n != n) emax = n;  // a NaN wins and stays
                }
                // the new state: written here (not FSAL) or the last stage's input (FSAL); a non-finite one
                // marks the step as non-finite (NaN error), so it is never committed
                const vec3 y = fsal ? load3(yin, b, c, ncell) : combine(m0, kp, tab + MM_TAB_B, nstage, h, b, c, ncell, stage, k);
                if (!fsal) store3(yout, b, c, ncell, y);
                const real s2 = y.x * y.x + y.y * y.y + y.z * y.z;
                if (!(s2 - s2 == (real)0)) emax = NAN;
            }
        }
        if (last) {
            sh[threadIdx.x] = emax;
            __syncthreads();
            for (int s = blockDim.x / 2; s > 0; s >>= 1) {
                if ((int)threadIdx.x < s) {
                    const double o = sh[threadIdx.x + s];
                    if (o > sh[threadIdx.x] || o != o) sh[threadIdx.x] = o;  // a NaN wins and stays
                }
                __syncthreads();
            }
            if (threadIdx.x == 0) atomic_max_nonneg_d(&err[b], sh[0]);
            __syncthreads();
        }
    }
}

// The end of a step, per member b (the controller of Stepper.step): active = dt_used > 0; the error (the
// adaptive estimate, or for fixed steps only a NaN flag for a non-finite new state) must be finite for a
// step to be accepted; then accept when it is at most tol or the step is at dt_min (adaptive), else every
// active member; for accepted members m = normalize(ysol) (0 outside the magnet) and, FSAL, k0 = klast.
// Block 0 / thread 0 of each member: t += dt_used; the next dt = clip(dt clip(headroom (tol/err)^(1/(q+1)),
// 0.2, MM_GROWTH_MAX), dt_min, dt_max) (not shrunk by a step that was only shortened to land on t_end); a non-finite
// error gives dt/5, and at dt_min NaN: the member has diverged and takes no more steps (its m and t stay at
// the last good values; the run loop reports it); accept[b], the member's counters of rejected steps, of
// steps forced at dt_min and of consecutive forced steps, and (has_noise) its noise step counter. A member
// not accepted keeps m bit for bit.
extern "C" __global__ void rk_finish(real* __restrict__ m, const real* __restrict__ ysol, real* __restrict__ k0,
                                     const real* __restrict__ klast, const int* __restrict__ region,
                                     const double* __restrict__ err, const double* __restrict__ dt_used,
                                     double* __restrict__ dt_next, double* __restrict__ t, int* __restrict__ accept,
                                     long long* __restrict__ nrejected, long long* __restrict__ nforced,
                                     long long* __restrict__ streak, long long* __restrict__ noise_counter,
                                     int has_noise, int adaptive, int fsal, double tol, double dt_min, double dt_max,
                                     double headroom, int err_order, long long ncell, int nb) {
    for (int b = blockIdx.y; b < nb; b += gridDim.y) {
        const double h = dt_used[b];
        const double e = err[b];
        const bool active = h > 0;
        const bool finite = e - e == 0.0;  // false for NaN and inf
        const bool at_min = adaptive && h <= dt_min * (1 + 1e-12);
        const bool acc = active && finite && (!adaptive || e <= tol || at_min);
        if (blockIdx.x == 0 && threadIdx.x == 0) {
            if (active) {
                if (adaptive) {
                    double fac = finite ? headroom * pow(tol / (e > 1e-300 ? e : 1e-300), 1.0 / (err_order + 1)) : 0.2;
                    if (!(fac >= 0.2)) fac = 0.2;
                    if (fac > MM_GROWTH_MAX) fac = MM_GROWTH_MAX;
                    double nd = h * fac;
                    if (nd < dt_min) nd = dt_min;
                    if (nd > dt_max) nd = dt_max;
                    if (acc && h < dt_next[b] && nd < dt_next[b]) nd = dt_next[b];
                    if (!finite && at_min) nd = NAN;  // no finite step even at dt_min: diverged
                    dt_next[b] = nd;
                } else if (!finite) {
                    dt_next[b] = NAN;  // a fixed step cannot be shortened: diverged
                }
                if (!acc) nrejected[b] += 1;
                const bool forced = acc && at_min && !(e <= tol);
                if (forced) nforced[b] += 1;
                streak[b] = forced ? streak[b] + 1 : (acc ? 0 : streak[b]);
            }
            accept[b] = acc ? 1 : 0;
            if (acc) t[b] += h;
            if (has_noise && active) noise_counter[b] += 1;
        }
        if (!acc) continue;  // rejected, diverged or finished (dt_used = 0): m stays bit for bit
        for (long long c = (long long)blockIdx.x * blockDim.x + threadIdx.x; c < ncell;
             c += (long long)gridDim.x * blockDim.x) {
            const vec3 v = load3(ysol, b, c, ncell);
            const real n = MM_SQRT(dot3(v, v));
            const real s = (region[c] >= 0 && n > 0) ? (real)1 / n : (real)0;
            store3(m, b, c, ncell, scale3(s, v));
            if (fsal) store3(k0, b, c, ncell, load3(klast, b, c, ncell));
        }
    }
}

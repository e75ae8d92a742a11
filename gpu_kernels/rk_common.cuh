// rk_common.cuh -- the step size of a member (shared by the stage and noise kernels, so that the first
// launch of a step needs no separate preparation kernel).
#pragma once

// dt_used = min(dt_next, t_end - t); a step a few ulps short of the end is taken whole; never negative;
// has_end = 0: no end time (dt_next). Exactly Stepper.step's rule on the CPU.
__device__ __forceinline__ double step_dt(const double* __restrict__ dt_next, const double* __restrict__ t,
                                          const double* __restrict__ t_end, int has_end, int b) {
    double dt = dt_next[b];
    if (has_end) {
        const double remaining = t_end[b] - t[b];
        if (remaining < dt) dt = remaining;
        if (remaining <= dt * (1 + 1e-9)) dt = remaining;
        if (dt < 0) dt = 0;
    }
    return dt;
}

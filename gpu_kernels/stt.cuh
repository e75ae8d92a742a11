// stt.cuh -- Slonczewski spin-transfer torque (twin of SlonczewskiSTT.add_torque in micromag/terms/stt.py).
//
//   pre = c J,  c = gamma hbar w / (e Ms t_F) per cell (stt_c, static, zero outside the magnet)
//   eps = ENUM / (EA + EB (m.p)),  ENUM = P Lambda^2, EA = Lambda^2 + 1, EB = Lambda^2 - 1
//   T   = pre [ eps (p - (m.p) m) + eps' p x m ]          (Gilbert form, 1/s)
//
// p: the polarizer, per member (drv columns MM_D_STT_PX..PZ, evaluated on the host when it is a function
// of t) or per cell (MM_STT_P_SPATIAL: stt_p (3, nz, ny, nx)); J per member (MM_D_STT_J).
#pragma once

__device__ __forceinline__ vec3 stt_torque(vec3 m, vec3 p, real pre, real epsp, real enm, real ea, real eb) {
    const real mp = dot3(m, p);
    const real a = enm * (pre / (mp * eb + ea));
    vec3 T = scale3(a, sub3(p, scale3(mp, m)));
    if (epsp != (real)0) {
        const real pe = pre * epsp;
        T = add3(T, scale3(pe, cross3(p, m)));
    }
    return T;
}

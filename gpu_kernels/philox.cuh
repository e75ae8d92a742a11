// philox.cuh -- counter-based random numbers: Philox-4x32-10 (Salmon et al., SC'11 "Parallel random numbers:
// as easy as 1, 2, 3"; the Random123 / cuRAND generator) and Box-Muller normals.
//
// No state: the four 32-bit words of a draw are a pure function of a 128-bit counter and a 64-bit key, so
// every (seed, member, step, cell) gets its own independent numbers on any thread, in any order, on the GPU,
// in the host emulation and in NumPy (micromag/engine/philox.py) alike. Checked against the Random123 known-answer
// vectors and against micromag.engine.philox (tests).
#pragma once

struct philox_u4 {
    unsigned int x, y, z, w;
};

__device__ __forceinline__ void philox_mulhilo(unsigned int a, unsigned int b, unsigned int& hi, unsigned int& lo) {
    const unsigned long long p = (unsigned long long)a * (unsigned long long)b;
    hi = (unsigned int)(p >> 32);
    lo = (unsigned int)p;
}

__device__ __forceinline__ philox_u4 philox4x32_10(philox_u4 ctr, unsigned int k0, unsigned int k1) {
    for (int r = 0; r < 10; r++) {
        if (r > 0) {
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        unsigned int hi0, lo0, hi1, lo1;
        philox_mulhilo(0xD2511F53u, ctr.x, hi0, lo0);
        philox_mulhilo(0xCD9E8D57u, ctr.z, hi1, lo1);
        philox_u4 n;
        n.x = hi1 ^ ctr.y ^ k0;
        n.y = lo1;
        n.z = hi0 ^ ctr.w ^ k1;
        n.w = lo0;
        ctr = n;
    }
    return ctr;
}

// Uniforms in the open interval (0, 1): 24 bits (float) or 53 bits from two words (double).
__device__ __forceinline__ float philox_uniform_f(unsigned int a) {
    return ((float)(a >> 8) + 0.5f) * (1.0f / 16777216.0f);
}
__device__ __forceinline__ double philox_uniform_d(unsigned int a, unsigned int b) {
    return ((double)(a >> 5) * 67108864.0 + (double)(b >> 6) + 0.5) * (1.0 / 9007199254740992.0);
}

// Three standard normals for (cell, member identity, step) under key (seed), from two Philox calls:
// counter = (cell, member, step low word, 2 * step high word + call), key = the seed's two words.
// Double: 53-bit uniforms from word pairs (x, y), (z, w) of each call; float: the same uniforms truncated
// to 24 bits (words x and z), so float32 and float64 runs draw the same normals to ~1e-7 (micromag.engine.philox).
__device__ __forceinline__ vec3 philox_normal3(unsigned long long cell, unsigned int member, unsigned long long step,
                                               unsigned long long seed) {
    philox_u4 ctr;
    ctr.x = (unsigned int)cell;
    ctr.y = member;
    ctr.z = (unsigned int)step;
    ctr.w = (unsigned int)(step >> 32) * 2u;
    const unsigned int k0 = (unsigned int)seed, k1 = (unsigned int)(seed >> 32);
    const philox_u4 r = philox4x32_10(ctr, k0, k1);
    ctr.w += 1u;
    const philox_u4 r2 = philox4x32_10(ctr, k0, k1);
#ifdef MM_DOUBLE
    const double u1 = philox_uniform_d(r.x, r.y), u2 = philox_uniform_d(r.z, r.w);
    const double u3 = philox_uniform_d(r2.x, r2.y), u4 = philox_uniform_d(r2.z, r2.w);
    const double twopi = 6.283185307179586;
    const double ra = sqrt(-2.0 * log(u1)), rb = sqrt(-2.0 * log(u3));
    return mk3(ra * cos(twopi * u2), ra * sin(twopi * u2), rb * cos(twopi * u4));
#else
    const float u1 = philox_uniform_f(r.x), u2 = philox_uniform_f(r.z);
    const float u3 = philox_uniform_f(r2.x), u4 = philox_uniform_f(r2.z);
    const float twopi = 6.2831853071795865f;
    const float ra = sqrtf(-2.0f * logf(u1)), rb = sqrtf(-2.0f * logf(u3));
    return mk3(ra * cosf(twopi * u2), ra * sinf(twopi * u2), rb * cosf(twopi * u4));
#endif
}

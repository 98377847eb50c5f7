/* papercraft-native: helpers shared by the library's C files (not part of the public API).
 *
 * Bit patterns are read and written with memcpy (no type punning through pointers). Kernels
 * are compiled several times with function-level target attributes (no -march flag anywhere)
 * and one is picked at run time from the CPU's features, see pc_common.c:
 *   PC_ISA_AVX512   AVX-512 F/BW/DQ/VL + AVX2 + FMA   (x86-64 only)
 *   PC_ISA_AVX2     AVX2 + FMA                        (x86-64 only)
 *   PC_ISA_BASELINE whatever the compiler's default target is (SSE2 on x86-64)
 */
#ifndef PC_INTERNAL_H
#define PC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PC_SIGN 0x80000000u
#define PC_ABS 0x7FFFFFFFu
#define PC_INF 0x7F800000u
#define PC_MIN_NORMAL 0x00800000u
#define PC_QNAN 0x7FC00000u
#define PC_ONE 0x3F800000u /* 1.0f */

#define PC_ISA_BASELINE 0
#define PC_ISA_AVX2 1
#define PC_ISA_AVX512 2

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && !defined(PC_NO_SIMD)
#define PC_X86 1
#if defined(__clang__)
#define PC_TARGET_AVX2 __attribute__((target("avx2,fma,bmi,bmi2,popcnt")))
#define PC_TARGET_AVX512 \
    __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,bmi,bmi2,popcnt")))
#else
#define PC_TARGET_AVX2 __attribute__((target("avx2,fma,bmi,bmi2,popcnt")))
#define PC_TARGET_AVX512                                                                   \
    __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,bmi,bmi2,popcnt," \
                          "prefer-vector-width=512")))
#endif
#else
#define PC_X86 0
#endif

#if defined(__GNUC__)
#define PC_INLINE static inline __attribute__((always_inline))
#define PC_RESTRICT __restrict__
#define PC_HIDDEN __attribute__((visibility("hidden")))
#else
#define PC_INLINE static inline
#define PC_RESTRICT
#define PC_HIDDEN
#endif

/* The instruction set the kernels use now (PC_ISA_*): the best the CPU has, or the one set
 * with pc_set_isa(). */
PC_HIDDEN int pc_isa_level(void);

/* Per-k constants: rounding to k mantissa bits and the L-Mul offset C_k. */
typedef struct {
    uint32_t shift; /* 23 - k */
    uint32_t bias;  /* 2^(shift-1) - 1, or 0 when shift == 0 */
    uint32_t lsb;   /* 1, or 0 when shift == 0 (ties to even) */
    uint32_t keep;  /* mask of the bits kept */
    uint32_t c;     /* C_k = (127 << 23) - (1 << (23 - l(k))) */
} pc_kparams;

PC_INLINE int pc_bits_ok(int k) { return k >= 1 && k <= 23; }

PC_INLINE pc_kparams pc_kparams_for(int k) {
    pc_kparams p;
    uint32_t shift = (uint32_t)(23 - k);
    uint32_t l = k <= 3 ? (uint32_t)k : (k == 4 ? 3u : 4u);
    p.shift = shift;
    p.bias = shift ? (1u << (shift - 1)) - 1u : 0u;
    p.lsb = shift ? 1u : 0u;
    p.keep = ~((1u << shift) - 1u);
    p.c = (127u << 23) - (1u << (23 - l));
    return p;
}

PC_INLINE uint32_t pc_f2u(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

PC_INLINE float pc_u2f(uint32_t u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* Step 2 on a magnitude that is not subnormal: round to k bits, ties to even, carrying into
 * the exponent (up to Inf). Meaningless for NaN magnitudes. */
PC_INLINE uint32_t pc_round_abs(uint32_t a, pc_kparams p) {
    return (a + p.bias + ((a >> p.shift) & p.lsb)) & p.keep;
}

/* Steps 1 and 2 on the magnitude: flush subnormals to 0, round to k bits (ties to even,
 * carrying into the exponent up to Inf). A NaN magnitude (> PC_INF) is returned unchanged. */
PC_INLINE uint32_t pc_prep_abs(uint32_t x, pc_kparams p) {
    const uint32_t a = x & PC_ABS;
    const uint32_t r = a >= PC_MIN_NORMAL ? pc_round_abs(a, p) : 0u;
    return a > PC_INF ? a : r;
}

/* One L-Mul on bit patterns (steps 1-4), branch-free; the readable scalar form that the
 * vector kernels in pc_lmul.c follow. */
PC_INLINE uint32_t pc_lmul1(uint32_t x, uint32_t y, pc_kparams p) {
    const uint32_t a = pc_prep_abs(x, p);
    const uint32_t b = pc_prep_abs(y, p);
    const uint32_t sign = (x ^ y) & PC_SIGN;
    const uint32_t s = a + b; /* <= 2 * 0x7FFFFFFF: no wrap-around */
    uint32_t r = s - p.c;
    r = s < p.c + PC_MIN_NORMAL ? 0u : r;
    r = s >= p.c + PC_INF ? PC_INF : r;
    const uint32_t a_zero = a == 0u, b_zero = b == 0u;
    const uint32_t a_inf = a == PC_INF, b_inf = b == PC_INF;
    const uint32_t nan = (a > PC_INF) | (b > PC_INF) | (a_inf & b_zero) | (b_inf & a_zero);
    r = (a_zero | b_zero) ? 0u : r;
    r = (a_inf | b_inf) ? PC_INF : r;
    r |= sign;
    return nan ? PC_QNAN : r;
}

/* a * b into *out unless it overflows size_t; returns 1 when it fits. */
PC_INLINE int pc_mul_size(size_t a, size_t b, size_t* out) {
    if (a != 0 && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}

#endif /* PC_INTERNAL_H */

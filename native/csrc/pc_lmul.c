/* papercraft-native: L-Mul elementwise, dot product and GEMM (see pc_lmul.h for the meaning).
 *
 * GEMM. Both operands are rounded/flushed once (O(n^2)) and packed so that the O(n^3) inner
 * loop is five vector instructions per vector of products (six on AVX2): integer add,
 * compare, min, masked subtract and a float multiply-add by +1/-1/0. With s = |a| + |b| (uint32, no wrap-around):
 *   A side (broadcast): code = |a| - 2^31, lo = C_k + 2^23 - 1 - 2^31 (INT32_MAX for a zero:
 *     the product is dropped), cc = C_k ^ (sign(a) ? 0 : 2^31);
 *   B side (vectors):   code = |b|, w = +1.0 / -1.0 (sign of b) or 0.0 for a zero.
 *   s' = code_a + code_b = s - 2^31 as int32 (cannot overflow);
 *   t' = min(s', C_k + Inf - 2^31)                       (saturate to Inf);
 *   v  = t' - cc = min(s, C_k + Inf) - C_k, sign of a in bit 31;
 *   v  = s' > lo ? v : 0                                 (underflow to zero, zero a);
 *   acc += float(v) * w                                  (exact: w is +-1 or 0).
 * A zero or underflowed product only ever adds +-0 to an accumulator that starts at +0, so its
 * sign does not matter; a zero b (w = 0) cannot overflow into Inf * 0 because |a| < Inf. Rows
 * of a and columns of b holding NaN or Inf (after rounding) are packed as zeros and
 * recomputed afterwards with the exact scalar formula. Every sum runs in index order from +0,
 * so results do not depend on blocking, threads or instruction set, and equal pc_ldot.
 *
 * Blocking: B is packed once into NR-column panels (shared by the threads). The rows of c are
 * cut into tasks of PC_MC rows that threads take from a shared counter; a task packs its rows
 * of A one KC block at a time and runs the MR x NR micro-kernel over every B panel.
 */
#include "pc_lmul.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pc_internal.h"

#if PC_X86
#include <immintrin.h>
#endif

#ifndef PC_KC
#define PC_KC 256 /* K block (steps of a packed A group / B panel slice) */
#endif
#ifndef PC_MC
#define PC_MC 64 /* rows of A packed at a time (one task), a multiple of every MR */
#endif
#define PC_DOT_CHUNK 512
#ifndef PC_STREAM_MIN
#define PC_STREAM_MIN ((size_t)1 << 19) /* elementwise: non-temporal stores from 2 MiB out */
#endif

typedef struct pc_gemm pc_gemm;

typedef struct {
    size_t mr, nr;
    void (*lmul_loop)(const float*, const float*, float*, size_t, pc_kparams);
    void (*pack_b)(const pc_gemm*, size_t, size_t);
    void (*compute_rows)(const pc_gemm*, uint32_t*, size_t, size_t);
    void (*fix_row)(const pc_gemm*, size_t);
} pc_impl;

struct pc_gemm {
    const pc_impl* impl;
    const float* a;
    const float* b;
    float* c;
    size_t m, n, p, npanels;
    pc_kparams kp;
    uint32_t* bpack;        /* [npanels][n][2][nr] */
    unsigned char* colflag; /* [p]: column of b holds NaN/Inf */
    unsigned char* rowflag; /* [m]: row of a holds NaN/Inf */
    size_t* flagged_cols;   /* [p] */
    size_t nflagged_cols;
    size_t ntasks;          /* tasks of the current phase: B panel groups or A row blocks */
    size_t next_task;       /* next task to take (atomic) */
};

/* ---------------------------------------------------------------- elementwise loops */

static void lmul_loop_base(const float* PC_RESTRICT a, const float* PC_RESTRICT b,
                           float* PC_RESTRICT out, size_t n, pc_kparams kp) {
    if (kp.shift == 0) { /* k = 23: constant parameters, the rounding folds away */
        const pc_kparams k23 = pc_kparams_for(23);
        for (size_t i = 0; i < n; ++i)
            out[i] = pc_u2f(pc_lmul1(pc_f2u(a[i]), pc_f2u(b[i]), k23));
        return;
    }
    for (size_t i = 0; i < n; ++i) out[i] = pc_u2f(pc_lmul1(pc_f2u(a[i]), pc_f2u(b[i]), kp));
}

#if PC_X86
/* The vector kernels compute pc_lmul1 differently but with the same result. The operands are
 * flushed and rounded with their signs; f = their IEEE product. Ordinary lanes use the integer
 * formula with the sign of f (the XOR of the signs); lanes with a zero or infinite operand
 * take f itself, which is exactly the wanted +-0 / +-Inf / NaN there; any NaN (from the
 * input, or Inf x 0) then becomes the canonical 0x7FC00000. */

typedef struct {
    __m512i abs, sign, inf, c, lo, hi, qnan, bias, lsb, keep;
    __m128i shift;
} pc_v512;

PC_TARGET_AVX512 static inline pc_v512 v512_consts(pc_kparams kp) {
    pc_v512 v;
    v.abs = _mm512_set1_epi32((int)PC_ABS);
    v.sign = _mm512_set1_epi32((int)PC_SIGN);
    v.inf = _mm512_set1_epi32((int)PC_INF);
    v.c = _mm512_set1_epi32((int)kp.c);
    v.lo = _mm512_set1_epi32((int)(kp.c + PC_MIN_NORMAL));
    v.hi = _mm512_set1_epi32((int)(kp.c + PC_INF));
    v.qnan = _mm512_set1_epi32((int)PC_QNAN);
    v.bias = _mm512_set1_epi32((int)kp.bias);
    v.lsb = _mm512_set1_epi32((int)kp.lsb);
    v.keep = _mm512_set1_epi32((int)kp.keep);
    v.shift = _mm_cvtsi32_si128((int)kp.shift);
    return v;
}

/* 0xF8: A | (B & C) for _mm512_ternarylogic_epi32(A, B, C, imm). */
#define PC_OR_AND 0xF8

PC_TARGET_AVX512 static inline __m512i v512_lmul(__m512i x, __m512i y, const pc_v512* v,
                                                 int round) {
    /* Steps 1-2 on the signed patterns: flush keeps the sign; rounding cannot carry into the
     * sign bit (only a NaN could, and NaN lanes are replaced at the end). */
    const __mmask16 zx = _mm512_testn_epi32_mask(x, v->inf); /* exponent 0: zero/subnormal */
    const __mmask16 zy = _mm512_testn_epi32_mask(y, v->inf);
    __mmask16 nan = 0;
    if (round) {
        nan = (__mmask16)(_mm512_cmp_ps_mask(_mm512_castsi512_ps(x), _mm512_castsi512_ps(x),
                                             _CMP_UNORD_Q) |
                          _mm512_cmp_ps_mask(_mm512_castsi512_ps(y), _mm512_castsi512_ps(y),
                                             _CMP_UNORD_Q));
        x = _mm512_and_si512(
            _mm512_add_epi32(_mm512_add_epi32(x, v->bias),
                             _mm512_and_si512(_mm512_srl_epi32(x, v->shift), v->lsb)),
            v->keep);
        y = _mm512_and_si512(
            _mm512_add_epi32(_mm512_add_epi32(y, v->bias),
                             _mm512_and_si512(_mm512_srl_epi32(y, v->shift), v->lsb)),
            v->keep);
    }
    const __m512i sa = _mm512_mask_and_epi32(x, zx, x, v->sign); /* flushed, rounded, signed */
    const __m512i sb = _mm512_mask_and_epi32(y, zy, y, v->sign);
    const __m512i a = _mm512_and_si512(sa, v->abs), b = _mm512_and_si512(sb, v->abs);
    const __mmask16 special =
        (__mmask16)(zx | zy | _mm512_cmpge_epu32_mask(_mm512_max_epu32(a, b), v->inf));
    /* Step 4, ordinary lanes; the sign is that of the IEEE product f. */
    const __m512i s = _mm512_add_epi32(a, b);
    const __mmask16 big = _mm512_cmpge_epu32_mask(s, v->lo);
    __m512i r = _mm512_maskz_sub_epi32(big, _mm512_min_epu32(s, v->hi), v->c);
    const __m512 f = _mm512_mul_ps(_mm512_castsi512_ps(sa), _mm512_castsi512_ps(sb));
    r = _mm512_ternarylogic_epi32(r, _mm512_castps_si512(f), v->sign, PC_OR_AND);
    /* Step 3: zero / Inf lanes are the IEEE product; NaN becomes canonical. */
    r = _mm512_mask_mov_epi32(r, special, _mm512_castps_si512(f));
    nan = (__mmask16)(nan | _mm512_cmp_ps_mask(_mm512_castsi512_ps(r), _mm512_castsi512_ps(r),
                                               _CMP_UNORD_Q));
    return _mm512_mask_mov_epi32(r, nan, v->qnan);
}

PC_TARGET_AVX512 static inline void v512_loop(const float* PC_RESTRICT a,
                                              const float* PC_RESTRICT b, float* PC_RESTRICT out,
                                              size_t n, const pc_v512* v, int round) {
    size_t i = 0;
    if (n >= PC_STREAM_MIN && ((uintptr_t)out & 3u) == 0) {
        /* Large arrays: align the output, then store around the caches (no read of out). */
        const size_t head = ((64u - ((uintptr_t)out & 63u)) & 63u) / 4u;
        if (head) {
            const __mmask16 m = (__mmask16)((1u << head) - 1u);
            const __m512i x = _mm512_maskz_loadu_epi32(m, a);
            const __m512i y = _mm512_maskz_loadu_epi32(m, b);
            _mm512_mask_storeu_epi32(out, m, v512_lmul(x, y, v, round));
            i = head;
        }
        for (; i + 16 <= n; i += 16) {
            const __m512i x = _mm512_loadu_si512((const void*)(a + i));
            const __m512i y = _mm512_loadu_si512((const void*)(b + i));
            _mm512_stream_si512((void*)(out + i), v512_lmul(x, y, v, round));
        }
        _mm_sfence();
    }
    for (; i + 16 <= n; i += 16) {
        const __m512i x = _mm512_loadu_si512((const void*)(a + i));
        const __m512i y = _mm512_loadu_si512((const void*)(b + i));
        _mm512_storeu_si512((void*)(out + i), v512_lmul(x, y, v, round));
    }
    if (i < n) {
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1u);
        const __m512i x = _mm512_maskz_loadu_epi32(m, a + i);
        const __m512i y = _mm512_maskz_loadu_epi32(m, b + i);
        _mm512_mask_storeu_epi32(out + i, m, v512_lmul(x, y, v, round));
    }
}

PC_TARGET_AVX512 static void lmul_loop_avx512(const float* PC_RESTRICT a,
                                              const float* PC_RESTRICT b, float* PC_RESTRICT out,
                                              size_t n, pc_kparams kp) {
    const pc_v512 v = v512_consts(kp);
    if (kp.shift == 0)
        v512_loop(a, b, out, n, &v, 0);
    else
        v512_loop(a, b, out, n, &v, 1);
}

typedef struct {
    __m256i abs, sign, inf_m1, min_m1, c, lo, hi, qnan, bias, lsb, keep;
    __m128i shift;
    pc_kparams kp;
} pc_v256;

PC_TARGET_AVX2 static inline pc_v256 v256_consts(pc_kparams kp) {
    pc_v256 v;
    v.abs = _mm256_set1_epi32((int)PC_ABS);
    v.sign = _mm256_set1_epi32((int)PC_SIGN);
    v.inf_m1 = _mm256_set1_epi32((int)(PC_INF - 1u));
    v.min_m1 = _mm256_set1_epi32((int)(PC_MIN_NORMAL - 1u));
    v.c = _mm256_set1_epi32((int)kp.c);
    v.lo = _mm256_set1_epi32((int)(kp.c + PC_MIN_NORMAL));
    v.hi = _mm256_set1_epi32((int)(kp.c + PC_INF));
    v.qnan = _mm256_set1_epi32((int)PC_QNAN);
    v.bias = _mm256_set1_epi32((int)kp.bias);
    v.lsb = _mm256_set1_epi32((int)kp.lsb);
    v.keep = _mm256_set1_epi32((int)kp.keep);
    v.shift = _mm_cvtsi32_si128((int)kp.shift);
    v.kp = kp;
    return v;
}

/* Magnitudes below 2^31 compare correctly as signed; s = a + b needs unsigned min/max. */
PC_TARGET_AVX2 static inline __m256i v256_lmul(__m256i x, __m256i y, const pc_v256* v,
                                               int round) {
    const __m256i nzx = _mm256_cmpgt_epi32(_mm256_and_si256(x, v->abs), v->min_m1);
    const __m256i nzy = _mm256_cmpgt_epi32(_mm256_and_si256(y, v->abs), v->min_m1);
    __m256 nan = _mm256_setzero_ps();
    if (round) { /* signed patterns: see v512_lmul */
        nan = _mm256_or_ps(
            _mm256_cmp_ps(_mm256_castsi256_ps(x), _mm256_castsi256_ps(x), _CMP_UNORD_Q),
            _mm256_cmp_ps(_mm256_castsi256_ps(y), _mm256_castsi256_ps(y), _CMP_UNORD_Q));
        x = _mm256_and_si256(
            _mm256_add_epi32(_mm256_add_epi32(x, v->bias),
                             _mm256_and_si256(_mm256_srl_epi32(x, v->shift), v->lsb)),
            v->keep);
        y = _mm256_and_si256(
            _mm256_add_epi32(_mm256_add_epi32(y, v->bias),
                             _mm256_and_si256(_mm256_srl_epi32(y, v->shift), v->lsb)),
            v->keep);
    }
    const __m256i sa = _mm256_and_si256(x, _mm256_or_si256(nzx, v->sign));
    const __m256i sb = _mm256_and_si256(y, _mm256_or_si256(nzy, v->sign));
    const __m256i a = _mm256_and_si256(sa, v->abs), b = _mm256_and_si256(sb, v->abs);
    const __m256i special = _mm256_or_si256(
        _mm256_cmpeq_epi32(_mm256_min_epu32(a, b), _mm256_setzero_si256()),
        _mm256_cmpgt_epi32(_mm256_max_epu32(a, b), v->inf_m1));
    const __m256i s = _mm256_add_epi32(a, b);
    const __m256i big = _mm256_cmpeq_epi32(_mm256_max_epu32(s, v->lo), s);
    __m256i r = _mm256_and_si256(_mm256_sub_epi32(_mm256_min_epu32(s, v->hi), v->c), big);
    const __m256 f = _mm256_mul_ps(_mm256_castsi256_ps(sa), _mm256_castsi256_ps(sb));
    r = _mm256_or_si256(r, _mm256_and_si256(_mm256_castps_si256(f), v->sign));
    __m256 out = _mm256_blendv_ps(_mm256_castsi256_ps(r), f, _mm256_castsi256_ps(special));
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(out, out, _CMP_UNORD_Q));
    return _mm256_castps_si256(_mm256_blendv_ps(out, _mm256_castsi256_ps(v->qnan), nan));
}

PC_TARGET_AVX2 static inline void v256_loop(const float* PC_RESTRICT a,
                                            const float* PC_RESTRICT b, float* PC_RESTRICT out,
                                            size_t n, const pc_v256* v, int round) {
    size_t i = 0;
    if (n >= PC_STREAM_MIN && ((uintptr_t)out & 3u) == 0) {
        /* Large arrays: align the output, then store around the caches (no read of out). */
        for (; ((uintptr_t)(out + i) & 31u) != 0; ++i)
            out[i] = pc_u2f(pc_lmul1(pc_f2u(a[i]), pc_f2u(b[i]), v->kp));
        for (; i + 8 <= n; i += 8) {
            const __m256i x = _mm256_loadu_si256((const __m256i*)(a + i));
            const __m256i y = _mm256_loadu_si256((const __m256i*)(b + i));
            _mm256_stream_si256((__m256i*)(out + i), v256_lmul(x, y, v, round));
        }
        _mm_sfence();
    }
    for (; i + 8 <= n; i += 8) {
        const __m256i x = _mm256_loadu_si256((const __m256i*)(a + i));
        const __m256i y = _mm256_loadu_si256((const __m256i*)(b + i));
        _mm256_storeu_si256((__m256i*)(out + i), v256_lmul(x, y, v, round));
    }
    if (i < n) {
        const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n - i)),
                                             _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        const __m256i x = _mm256_maskload_epi32((const int*)(a + i), m);
        const __m256i y = _mm256_maskload_epi32((const int*)(b + i), m);
        _mm256_maskstore_epi32((int*)(out + i), m, v256_lmul(x, y, v, round));
    }
}

PC_TARGET_AVX2 static void lmul_loop_avx2(const float* PC_RESTRICT a, const float* PC_RESTRICT b,
                                          float* PC_RESTRICT out, size_t n, pc_kparams kp) {
    const pc_v256 v = v256_consts(kp);
    if (kp.shift == 0)
        v256_loop(a, b, out, n, &v, 0);
    else
        v256_loop(a, b, out, n, &v, 1);
}
#endif

/* ---------------------------------------------------------------- micro-kernels */

/* Portable: acc[4][8]. With GCC/Clang vector extensions (SSE2 on x86-64, NEON on arm64). */
#if defined(__GNUC__)
typedef int32_t pc_v4i __attribute__((vector_size(16)));
typedef uint32_t pc_v4u __attribute__((vector_size(16)));
typedef float pc_v4f __attribute__((vector_size(16)));

static inline pc_v4i v4_load(const uint32_t* p) {
    pc_v4i v;
    memcpy(&v, p, sizeof v);
    return v;
}

static void micro_base(size_t kc, const uint32_t* PC_RESTRICT A, const uint32_t* PC_RESTRICT B,
                       float* PC_RESTRICT acc, int32_t hi_) {
    const pc_v4i hi = (pc_v4i){0, 0, 0, 0} + hi_;
    pc_v4f c[4][2];
    memcpy(c, acc, sizeof c);
    for (size_t l = 0; l < kc; ++l) {
        const pc_v4i b0 = v4_load(B), b1 = v4_load(B + 4);
        const pc_v4f w0 = (pc_v4f)v4_load(B + 8), w1 = (pc_v4f)v4_load(B + 12);
        for (int r = 0; r < 4; ++r) {
            const pc_v4i ac = (pc_v4i){0, 0, 0, 0} + (int32_t)A[r];
            const pc_v4i lo = (pc_v4i){0, 0, 0, 0} + (int32_t)A[4 + r];
            const pc_v4i cc = (pc_v4i){0, 0, 0, 0} + (int32_t)A[8 + r];
            /* unsigned add/subtract (no signed overflow); signed compares, see above */
            const pc_v4i s0 = (pc_v4i)((pc_v4u)ac + (pc_v4u)b0);
            const pc_v4i s1 = (pc_v4i)((pc_v4u)ac + (pc_v4u)b1);
            const pc_v4i m0 = s0 < hi, m1 = s1 < hi;
            const pc_v4u t0 = (pc_v4u)((s0 & m0) | (hi & ~m0));
            const pc_v4u t1 = (pc_v4u)((s1 & m1) | (hi & ~m1));
            const pc_v4u v0 = (t0 - (pc_v4u)cc) & (pc_v4u)(s0 > lo);
            const pc_v4u v1 = (t1 - (pc_v4u)cc) & (pc_v4u)(s1 > lo);
            c[r][0] += (pc_v4f)v0 * w0;
            c[r][1] += (pc_v4f)v1 * w1;
        }
        A += 3 * 4;
        B += 2 * 8;
    }
    memcpy(acc, c, sizeof c);
}
#else
static void micro_base(size_t kc, const uint32_t* PC_RESTRICT A, const uint32_t* PC_RESTRICT B,
                       float* PC_RESTRICT acc, int32_t hi) {
    for (size_t l = 0; l < kc; ++l) {
        for (size_t r = 0; r < 4; ++r) {
            const uint32_t ac = A[r], cc = A[8 + r];
            const int32_t lo = (int32_t)A[4 + r];
            for (size_t j = 0; j < 8; ++j) {
                const int32_t s = (int32_t)(ac + B[j]);
                const int32_t t = s < hi ? s : hi;
                const uint32_t v = s > lo ? (uint32_t)t - cc : 0u;
                acc[r * 8 + j] += pc_u2f(v) * pc_u2f(B[8 + j]);
            }
        }
        A += 3 * 4;
        B += 2 * 8;
    }
}
#endif

#if PC_X86
/* AVX2 + FMA: acc[4][16] in 8 ymm registers. */
PC_TARGET_AVX2 static inline void micro_avx2(size_t kc, const uint32_t* PC_RESTRICT A,
                                             const uint32_t* PC_RESTRICT B,
                                             float* PC_RESTRICT acc, int32_t hi_) {
    const __m256i hi = _mm256_set1_epi32(hi_);
    __m256 c[4][2];
    for (int r = 0; r < 4; ++r)
        for (int v = 0; v < 2; ++v) c[r][v] = _mm256_loadu_ps(acc + r * 16 + v * 8);
    for (size_t l = 0; l < kc; ++l) {
        const __m256i b0 = _mm256_loadu_si256((const __m256i*)B);
        const __m256i b1 = _mm256_loadu_si256((const __m256i*)(B + 8));
        const __m256 w0 = _mm256_loadu_ps((const float*)(B + 16));
        const __m256 w1 = _mm256_loadu_ps((const float*)(B + 24));
#pragma GCC unroll 4
        for (int r = 0; r < 4; ++r) {
            const __m256i ac = _mm256_set1_epi32((int)A[r]);
            const __m256i lo = _mm256_set1_epi32((int)A[4 + r]);
            const __m256i cc = _mm256_set1_epi32((int)A[8 + r]);
            const __m256i s0 = _mm256_add_epi32(ac, b0);
            const __m256i s1 = _mm256_add_epi32(ac, b1);
            const __m256i v0 = _mm256_and_si256(
                _mm256_sub_epi32(_mm256_min_epi32(s0, hi), cc), _mm256_cmpgt_epi32(s0, lo));
            const __m256i v1 = _mm256_and_si256(
                _mm256_sub_epi32(_mm256_min_epi32(s1, hi), cc), _mm256_cmpgt_epi32(s1, lo));
            c[r][0] = _mm256_fmadd_ps(_mm256_castsi256_ps(v0), w0, c[r][0]);
            c[r][1] = _mm256_fmadd_ps(_mm256_castsi256_ps(v1), w1, c[r][1]);
        }
        A += 3 * 4;
        B += 2 * 16;
    }
    for (int r = 0; r < 4; ++r)
        for (int v = 0; v < 2; ++v) _mm256_storeu_ps(acc + r * 16 + v * 8, c[r][v]);
}

/* AVX-512: acc[8][32] in 16 zmm registers. */
PC_TARGET_AVX512 static inline void micro_avx512(size_t kc, const uint32_t* PC_RESTRICT A,
                                                 const uint32_t* PC_RESTRICT B,
                                                 float* PC_RESTRICT acc, int32_t hi_) {
    const __m512i hi = _mm512_set1_epi32(hi_);
    __m512 c[8][2];
    for (int r = 0; r < 8; ++r)
        for (int v = 0; v < 2; ++v) c[r][v] = _mm512_loadu_ps(acc + r * 32 + v * 16);
    for (size_t l = 0; l < kc; ++l) {
        const __m512i b0 = _mm512_loadu_si512((const void*)B);
        const __m512i b1 = _mm512_loadu_si512((const void*)(B + 16));
        const __m512 w0 = _mm512_loadu_ps((const void*)(B + 32));
        const __m512 w1 = _mm512_loadu_ps((const void*)(B + 48));
#pragma GCC unroll 8
        for (int r = 0; r < 8; ++r) {
            const __m512i ac = _mm512_set1_epi32((int)A[r]);
            const __m512i lo = _mm512_set1_epi32((int)A[8 + r]);
            const __m512i cc = _mm512_set1_epi32((int)A[16 + r]);
            const __m512i s0 = _mm512_add_epi32(ac, b0);
            const __m512i s1 = _mm512_add_epi32(ac, b1);
            const __mmask16 k0 = _mm512_cmpgt_epi32_mask(s0, lo);
            const __mmask16 k1 = _mm512_cmpgt_epi32_mask(s1, lo);
            const __m512i v0 = _mm512_maskz_sub_epi32(k0, _mm512_min_epi32(s0, hi), cc);
            const __m512i v1 = _mm512_maskz_sub_epi32(k1, _mm512_min_epi32(s1, hi), cc);
            c[r][0] = _mm512_fmadd_ps(_mm512_castsi512_ps(v0), w0, c[r][0]);
            c[r][1] = _mm512_fmadd_ps(_mm512_castsi512_ps(v1), w1, c[r][1]);
        }
        A += 3 * 8;
        B += 2 * 32;
    }
    for (int r = 0; r < 8; ++r)
        for (int v = 0; v < 2; ++v) _mm512_storeu_ps(acc + r * 32 + v * 16, c[r][v]);
}
#endif

/* ---------------------------------------------------------------- instantiations */

#define PC_SFX base
#define PC_ATTR
#define PC_MR 4
#define PC_NR 8
#define PC_MICRO micro_base
#define PC_LMUL_LOOP lmul_loop_base
#include "pc_lmul_impl.h"
#undef PC_SFX
#undef PC_ATTR
#undef PC_MR
#undef PC_NR
#undef PC_MICRO
#undef PC_LMUL_LOOP

#if PC_X86
#define PC_SFX avx2
#define PC_ATTR PC_TARGET_AVX2
#define PC_MR 4
#define PC_NR 16
#define PC_MICRO micro_avx2
#define PC_LMUL_LOOP lmul_loop_avx2
#include "pc_lmul_impl.h"
#undef PC_SFX
#undef PC_ATTR
#undef PC_MR
#undef PC_NR
#undef PC_MICRO
#undef PC_LMUL_LOOP

#define PC_SFX avx512
#define PC_ATTR PC_TARGET_AVX512
#define PC_MR 8
#define PC_NR 32
#define PC_MICRO micro_avx512
#define PC_LMUL_LOOP lmul_loop_avx512
#include "pc_lmul_impl.h"
#undef PC_SFX
#undef PC_ATTR
#undef PC_MR
#undef PC_NR
#undef PC_MICRO
#undef PC_LMUL_LOOP
#endif

static const pc_impl* impl_now(void) {
#if PC_X86
    switch (pc_isa_level()) {
        case PC_ISA_AVX512:
            return &impl_avx512;
        case PC_ISA_AVX2:
            return &impl_avx2;
        default:
            break;
    }
#endif
    return &impl_base;
}

/* ---------------------------------------------------------------- elementwise and dot */

int pc_lmul(const float* a, const float* b, float* out, size_t n, int k) {
    if (n != 0 && (a == NULL || b == NULL || out == NULL)) return PC_ERR_NULL;
    if (!pc_bits_ok(k)) return PC_ERR_BITS;
    if (n > PTRDIFF_MAX / sizeof(float)) return PC_ERR_SIZE;
    if (n != 0) impl_now()->lmul_loop(a, b, out, n, pc_kparams_for(k));
    return PC_OK;
}

int pc_ldot(const float* a, const float* b, size_t n, int k, float* result) {
    if (result == NULL || (n != 0 && (a == NULL || b == NULL))) return PC_ERR_NULL;
    if (!pc_bits_ok(k)) return PC_ERR_BITS;
    if (n > PTRDIFF_MAX / sizeof(float)) return PC_ERR_SIZE;
    const pc_impl* impl = impl_now();
    const pc_kparams kp = pc_kparams_for(k);
    float prod[PC_DOT_CHUNK];
    float acc = 0.0f;
    for (size_t i0 = 0; i0 < n; i0 += PC_DOT_CHUNK) {
        const size_t len = n - i0 < PC_DOT_CHUNK ? n - i0 : PC_DOT_CHUNK;
        impl->lmul_loop(a + i0, b + i0, prod, len, kp);
        for (size_t i = 0; i < len; ++i) acc += prod[i]; /* in index order, like pc_lgemm */
    }
    *result = acc;
    return PC_OK;
}

/* ---------------------------------------------------------------- GEMM driver */

typedef struct {
    pc_gemm* g;
    uint32_t* apack; /* [PC_MC][PC_KC][3] */
    float* colacc;   /* [p]: sums of fix_cols */
    int phase;       /* 0: pack b, 1: compute */
} gemm_job;

#define PC_PANELS_PER_TASK 4

static size_t take_task(pc_gemm* g) {
#if defined(__GNUC__)
    return __atomic_fetch_add(&g->next_task, 1, __ATOMIC_RELAXED);
#else
#error "pc_lmul.c needs GCC-style atomics (GCC or Clang)"
#endif
}

/* Exact recomputation of the flagged columns of c[i, :] (columns of b that hold NaN/Inf), in
 * index order; acc has room for nflagged_cols floats. */
static void fix_cols(const pc_gemm* g, size_t i, float* PC_RESTRICT acc) {
    const size_t n = g->n, p = g->p, nf = g->nflagged_cols;
    const size_t* PC_RESTRICT cols = g->flagged_cols;
    for (size_t f = 0; f < nf; ++f) acc[f] = 0.0f;
    for (size_t l = 0; l < n; ++l) {
        const uint32_t x = pc_f2u(g->a[i * n + l]);
        const float* brow = g->b + l * p;
        for (size_t f = 0; f < nf; ++f) acc[f] += pc_u2f(pc_lmul1(x, pc_f2u(brow[cols[f]]), g->kp));
    }
    for (size_t f = 0; f < nf; ++f) g->c[i * p + cols[f]] = acc[f];
}

/* Threads take tasks from a shared counter until none is left, so a slow or busy core does
 * less of the work. Each row of c is computed by exactly one task, in index order. */
static void* gemm_worker(void* arg) {
    gemm_job* job = (gemm_job*)arg;
    pc_gemm* g = job->g;
    for (size_t t = take_task(g); t < g->ntasks; t = take_task(g)) {
        if (job->phase == 0) {
            const size_t p0 = t * PC_PANELS_PER_TASK;
            const size_t p1 = g->npanels - p0 < PC_PANELS_PER_TASK ? g->npanels : p0 + PC_PANELS_PER_TASK;
            g->impl->pack_b(g, p0, p1);
            continue;
        }
        const size_t i0 = t * PC_MC, i1 = g->m - i0 < PC_MC ? g->m : i0 + PC_MC;
        g->impl->compute_rows(g, job->apack, i0, i1);
        /* Many flagged columns: recomputing whole rows (contiguous, vectorised) is faster. */
        const int whole_rows = g->nflagged_cols * 4 >= g->p;
        for (size_t i = i0; i < i1; ++i) {
            if (g->rowflag[i] || (whole_rows && g->nflagged_cols))
                g->impl->fix_row(g, i);
            else if (g->nflagged_cols)
                fix_cols(g, i, job->colacc);
        }
    }
    return NULL;
}

/* Runs `count` workers (the caller is one of them); if a thread cannot be started, the
 * others simply take its share of the tasks. */
static void run_jobs(gemm_job* jobs, size_t count, int phase, size_t ntasks) {
    pthread_t tid[PC_MAX_THREADS];
    int started[PC_MAX_THREADS];
    pc_gemm* g = jobs[0].g;
    g->ntasks = ntasks;
    g->next_task = 0;
    for (size_t t = 0; t < count; ++t) jobs[t].phase = phase;
    for (size_t t = 1; t < count; ++t)
        started[t] = pthread_create(&tid[t], NULL, gemm_worker, &jobs[t]) == 0;
    gemm_worker(&jobs[0]);
    for (size_t t = 1; t < count; ++t)
        if (started[t]) pthread_join(tid[t], NULL);
}

int pc_lgemm(const float* a, const float* b, float* c, size_t m, size_t n, size_t p, int k,
             int threads) {
    size_t mn, np, mp, bwords, bbytes;
    if (!pc_mul_size(m, n, &mn) || !pc_mul_size(n, p, &np) || !pc_mul_size(m, p, &mp))
        return PC_ERR_SIZE;
    if ((mn != 0 && a == NULL) || (np != 0 && b == NULL) || (mp != 0 && c == NULL))
        return PC_ERR_NULL;
    if (!pc_bits_ok(k)) return PC_ERR_BITS;
    if (threads < 1 || threads > PC_MAX_THREADS) return PC_ERR_THREADS;
    const pc_impl* impl = impl_now();
    const size_t npanels = p / impl->nr + (p % impl->nr != 0);
    const size_t limit = PTRDIFF_MAX / sizeof(float) / 4;
    if (mn > limit || np > limit || mp > limit) return PC_ERR_SIZE;
    if (!pc_mul_size(npanels * 2 * impl->nr, n, &bwords) ||
        !pc_mul_size(bwords, sizeof(uint32_t), &bbytes) || bbytes > PTRDIFF_MAX)
        return PC_ERR_SIZE;
    if (mp == 0) return PC_OK;

    if (n == 0) { /* empty sums: +0 */
        for (size_t i = 0; i < mp; ++i) c[i] = 0.0f;
        return PC_OK;
    }
    const size_t row_tasks = (m + PC_MC - 1) / PC_MC;
    size_t nthreads = (size_t)threads;
    if (nthreads > row_tasks) nthreads = row_tasks;

    pc_gemm g;
    memset(&g, 0, sizeof g);
    g.impl = impl;
    g.a = a;
    g.b = b;
    g.c = c;
    g.m = m;
    g.n = n;
    g.p = p;
    g.npanels = npanels;
    g.kp = pc_kparams_for(k);

    gemm_job jobs[PC_MAX_THREADS];
    memset(jobs, 0, sizeof jobs);
    int err = PC_OK;
    g.bpack = (uint32_t*)malloc(bbytes);
    g.colflag = (unsigned char*)calloc(p, 1);
    g.rowflag = (unsigned char*)calloc(m, 1);
    g.flagged_cols = (size_t*)malloc(p * sizeof(size_t));
    if (!g.bpack || !g.colflag || !g.rowflag || !g.flagged_cols) err = PC_ERR_NOMEM;
    for (size_t t = 0; t < nthreads && err == PC_OK; ++t) {
        jobs[t].g = &g;
        jobs[t].apack = (uint32_t*)malloc(sizeof(uint32_t) * 3 * PC_MC * PC_KC);
        jobs[t].colacc = (float*)malloc(p * sizeof(float));
        if (!jobs[t].apack || !jobs[t].colacc) err = PC_ERR_NOMEM;
    }
    if (err == PC_OK) {
        const size_t pack_tasks = (npanels + PC_PANELS_PER_TASK - 1) / PC_PANELS_PER_TASK;
        run_jobs(jobs, nthreads < pack_tasks ? nthreads : pack_tasks, 0, pack_tasks);
        for (size_t j = 0; j < p; ++j)
            if (g.colflag[j]) g.flagged_cols[g.nflagged_cols++] = j;
        run_jobs(jobs, nthreads, 1, row_tasks);
    }
    for (size_t t = 0; t < nthreads; ++t) {
        free(jobs[t].apack);
        free(jobs[t].colacc);
    }
    free(g.bpack);
    free(g.colflag);
    free(g.rowflag);
    free(g.flagged_cols);
    return err;
}

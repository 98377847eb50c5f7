/* papercraft-native: L-Mul (Luo & Sun 2024, arXiv 2410.00907) on float32.
 *
 * Public C API. Everything between the cffi-cdef markers is also handed to cffi's cdef()
 * by src/papercraft_native/_build.py, so it must stay plain declarations and integer
 * #defines (no other preprocessor lines, no attributes) there.
 *
 * Semantics of one product lmul(a, b, k), k = mantissa bits kept (1..23):
 *   1. subnormal inputs are flushed to zero (sign kept);
 *   2. a and b are rounded to k mantissa bits (nearest, ties to even, on the bit pattern;
 *      a carry may run into the exponent, up to Inf); NaN is left alone;
 *   3. NaN in -> 0x7FC00000; +-Inf x 0 -> 0x7FC00000; +-Inf x nonzero -> +-Inf;
 *      a zero input -> a zero with the XOR sign;
 *   4. r = |a|bits + |b|bits - C_k without wrap-around; r >= 0x7F800000 -> +-Inf;
 *      r < 0x00800000 -> +-0; otherwise r with the XOR sign.
 *   C_k = (127 << 23) - (1 << (23 - l(k))), l(k) = k (k <= 3), 3 (k = 4), 4 (k > 4).
 *
 * Every function returns PC_OK (0) or a negative PC_ERR_* code and writes nothing on error.
 * Data pointers may be NULL only when the number of elements they address is 0.
 */
#ifndef PC_LMUL_H
#define PC_LMUL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* cffi-cdef-begin */
#define PC_OK 0
#define PC_ERR_NULL -1
#define PC_ERR_BITS -2
#define PC_ERR_SIZE -3
#define PC_ERR_THREADS -4
#define PC_ERR_NOMEM -5
#define PC_ERR_ISA -6
#define PC_ERR_ARG -7
#define PC_MAX_THREADS 256

/* Message for a return code (static storage; "unknown error code" for unknown codes). */
const char* pc_strerror(int code);

/* The instruction set the kernels use: "avx512", "avx2" (x86-64 with AVX2 + FMA) or
 * "baseline" (the compiler's default target). The best one the CPU supports unless
 * pc_set_isa() chose another. */
const char* pc_isa(void);

/* Chooses the kernels' instruction set: "auto" (or NULL), "avx512", "avx2" or "baseline".
 * PC_ERR_ISA if the name is unknown or this CPU/build lacks it. Meant for tests and
 * benchmarks; do not call it while another thread runs a kernel. Results never depend on it. */
int pc_set_isa(const char* name);

/* out[i] = lmul(a[i], b[i], k) for i < n. out must not overlap a or b. */
int pc_lmul(const float* a, const float* b, float* out, size_t n, int k);

/* *result = sum over i < n of lmul(a[i], b[i], k), accumulated in float32 in index order
 * starting from +0 (so it equals the 1 x 1 result of pc_lgemm). */
int pc_ldot(const float* a, const float* b, size_t n, int k, float* result);

/* c[m, p] = a[m, n] @ b[n, p] (row-major, contiguous) with every product an L-Mul and
 * float32 accumulation in index order from +0: results do not depend on blocking or threads.
 * threads: 1..PC_MAX_THREADS worker threads (rows are split between them). */
int pc_lgemm(const float* a, const float* b, float* c, size_t m, size_t n, size_t p, int k,
             int threads);
/* cffi-cdef-end */

#ifdef __cplusplus
}
#endif

#endif /* PC_LMUL_H */

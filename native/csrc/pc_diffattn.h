/* papercraft-native: fused differential attention (Ye et al. 2024, "Differential
 * Transformer", arXiv 2410.05258) on float32.
 *
 * Public C API. Everything between the cffi-cdef markers is also handed to cffi's cdef()
 * by src/papercraft_native/_build.py (plain declarations and integer #defines only there).
 * Return codes (PC_OK, PC_ERR_*) and pc_strerror() are declared in pc_lmul.h.
 *
 * For each of the bh = batch * heads independent heads, with row-major contiguous
 *   q1, k1, q2, k2: [bh][n][d]     v, out: [bh][n][2d]
 * it computes, with s = 1 / sqrt(d) and (causal) key j > query i masked,
 *   out = softmax(q1 k1^T s) v - lambda * softmax(q2 k2^T s) v
 * in one pass over the keys with two online-softmax accumulators: no n x n matrix is ever
 * stored. Scratch memory is O(threads * 64 * d) floats, whatever n is.
 */
#ifndef PC_DIFFATTN_H
#define PC_DIFFATTN_H

#include <stddef.h>

#include "pc_lmul.h"

#ifdef __cplusplus
extern "C" {
#endif

/* cffi-cdef-begin */
/* out[bh][n][2d] = differential attention of (q1, k1, q2, k2, v), see above.
 * Errors (nothing is written): PC_ERR_NULL (a pointer is NULL while bh * n > 0),
 * PC_ERR_ARG (d == 0, lambda not finite, causal not 0 or 1), PC_ERR_THREADS (threads not in
 * 1..PC_MAX_THREADS), PC_ERR_SIZE (sizes overflow), PC_ERR_NOMEM (scratch allocation).
 * out must not overlap the inputs. Threads take (head, block of query rows) tasks from a
 * shared counter; results do not depend on the number of threads. */
int pc_diffattn(const float* q1, const float* k1, const float* q2, const float* k2,
                const float* v, float* out, size_t bh, size_t n, size_t d, float lambda_,
                int causal, int threads);

/* Bytes of scratch memory pc_diffattn allocates for these sizes (0 if they overflow): it
 * grows with threads and d, not with n. */
size_t pc_diffattn_scratch_bytes(size_t bh, size_t n, size_t d, int threads);
/* cffi-cdef-end */

#ifdef __cplusplus
}
#endif

#endif /* PC_DIFFATTN_H */

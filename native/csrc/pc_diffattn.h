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
 * pc_diffattn_fwd / pc_diffattn_bwd are the training pair: the forward also returns the
 * second map's output and the log-sum-exp of every row of both maps; the backward recomputes
 * the probabilities tile by tile from them (as FlashAttention does) and returns the gradients
 * of q1, k1, q2, k2, v and lambda.
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

/* Training forward: out as pc_diffattn (bit for bit), plus what pc_diffattn_bwd needs:
 *   o2[bh][n][2d] = softmax(q2 k2^T s) v (the second map's output, before lambda),
 *   lse1[bh][n], lse2[bh][n] = log sum_j exp(q k_j^T s) of each row (natural log, the causal
 *   keys only) for map 1 and map 2.
 * Same errors as pc_diffattn (PC_ERR_NULL also for o2 / lse1 / lse2). */
int pc_diffattn_fwd(const float* q1, const float* k1, const float* q2, const float* k2,
                    const float* v, float* out, float* o2, float* lse1, float* lse2, size_t bh,
                    size_t n, size_t d, float lambda_, int causal, int threads);

/* Backward of out = P1 v - lambda P2 v (P = softmax(q k^T s), s = 1/sqrt(d)) given dout, the
 * upstream gradient [bh][n][2d], and what pc_diffattn_fwd returned (out, o2, lse1, lse2):
 *   dq1, dk1, dq2, dk2 [bh][n][d], dv [bh][n][2d] and, when dlambda is not NULL,
 *   *dlambda = -sum(dout * o2) (lambda is one scalar for all heads).
 * The probabilities are recomputed tile by tile from the lse rows (no n x n matrix); scratch
 * is O(threads * 64 * d) floats plus 2 floats per row (pc_diffattn_bwd_scratch_bytes).
 * Errors as pc_diffattn (nothing is written); dlambda may be NULL, the other pointers only
 * when bh * n == 0. Outputs must not overlap the inputs or each other. Results do not depend
 * on the number of threads. */
int pc_diffattn_bwd(const float* q1, const float* k1, const float* q2, const float* k2,
                    const float* v, const float* out, const float* o2, const float* lse1,
                    const float* lse2, const float* dout, float* dq1, float* dk1, float* dq2,
                    float* dk2, float* dv, float* dlambda, size_t bh, size_t n, size_t d,
                    float lambda_, int causal, int threads);

/* Bytes of memory pc_diffattn_bwd allocates (0 if the sizes overflow): O(threads * d) for
 * the tiles plus 8 bytes per row (bh * n). */
size_t pc_diffattn_bwd_scratch_bytes(size_t bh, size_t n, size_t d, int threads);
/* cffi-cdef-end */

#ifdef __cplusplus
}
#endif

#endif /* PC_DIFFATTN_H */

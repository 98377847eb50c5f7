/* papercraft-native: fused differential attention (see pc_diffattn.h for the meaning and
 * pc_diffattn_impl.h for the algorithm). The kernel exists once per instruction set (AVX-512,
 * AVX2 + FMA, the compiler's baseline), picked at run time like the L-Mul kernels. */
#include "pc_diffattn.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pc_internal.h"

#ifndef PC_BC
#define PC_BC 64 /* keys per block: one online-softmax step */
#endif
#define PC_MAX_BR 64

typedef struct {
    const float *q1, *k1, *q2, *k2, *v;
    float* out;
    size_t bh, n, d;
    float lambda_, scale;
    int causal;
} pc_diff_args;

typedef struct {
    float *qt1, *qt2; /* [d][BR] packed queries */
    float *s1, *s2;   /* [PC_BC][BR] scores, then probabilities */
    float *o1, *o2;   /* [BR][2d] accumulators */
    float *m1, *l1, *a1, *m2, *l2, *a2; /* [BR] running max, sum, rescale factor */
} pc_diff_scratch;

static size_t round16(size_t x) { return (x + 15) & ~(size_t)15; }

/* Floats of one thread's scratch for block height br (0 if it overflows). */
static size_t scratch_floats(size_t d, size_t br) {
    if (d > SIZE_MAX / 8 / PC_MAX_BR) return 0;
    return 2 * round16(d * br) + 2 * round16((size_t)PC_BC * br) + 2 * round16(2 * d * br) +
           6 * round16(br);
}

static pc_diff_scratch pc_diff_scratch_layout(float* base, size_t d, size_t br) {
    pc_diff_scratch s;
    float* p = base;
    s.qt1 = p, p += round16(d * br);
    s.qt2 = p, p += round16(d * br);
    s.s1 = p, p += round16((size_t)PC_BC * br);
    s.s2 = p, p += round16((size_t)PC_BC * br);
    s.o1 = p, p += round16(2 * d * br);
    s.o2 = p, p += round16(2 * d * br);
    s.m1 = p, p += round16(br);
    s.l1 = p, p += round16(br);
    s.a1 = p, p += round16(br);
    s.m2 = p, p += round16(br);
    s.l2 = p, p += round16(br);
    s.a2 = p;
    return s;
}

/* ---------------------------------------------------------------- instantiations */

#define PC_SFX _base
#define PC_ATTR
#define PC_VW 4
#define PC_RV 4
#define PC_JT 2
#define PC_RT 1
#define PC_CV 4
#include "pc_diffattn_impl.h"
#undef PC_SFX
#undef PC_ATTR
#undef PC_VW
#undef PC_RV
#undef PC_JT
#undef PC_RT
#undef PC_CV

#if PC_X86
#define PC_SFX _avx2
#define PC_ATTR PC_TARGET_AVX2
#define PC_VW 8
#define PC_RV 4
#define PC_JT 2
#define PC_RT 1
#define PC_CV 4
#include "pc_diffattn_impl.h"
#undef PC_SFX
#undef PC_ATTR
#undef PC_VW
#undef PC_RV
#undef PC_JT
#undef PC_RT
#undef PC_CV

#define PC_SFX _avx512
#define PC_ATTR PC_TARGET_AVX512
#define PC_VW 16
#define PC_RV 4
#define PC_JT 4
#define PC_RT 2
#define PC_CV 4
#include "pc_diffattn_impl.h"
#undef PC_SFX
#undef PC_ATTR
#undef PC_VW
#undef PC_RV
#undef PC_JT
#undef PC_RT
#undef PC_CV
#endif

typedef struct {
    size_t br; /* query rows per task */
    void (*task)(const pc_diff_args*, float*, size_t, size_t, size_t);
} pc_diff_impl;

static const pc_diff_impl impl_base = {16, task__base};
#if PC_X86
static const pc_diff_impl impl_avx2 = {32, task__avx2};
static const pc_diff_impl impl_avx512 = {64, task__avx512};
#endif

static const pc_diff_impl* impl_now(void) {
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

/* ---------------------------------------------------------------- threads */

typedef struct {
    const pc_diff_args* args;
    const pc_diff_impl* impl;
    size_t nblocks;   /* query blocks per head */
    size_t ntasks;    /* bh * nblocks */
    size_t next_task; /* atomic */
} pc_diff_job;

typedef struct {
    pc_diff_job* job;
    float* scratch;
} pc_diff_worker;

static void* diff_worker(void* arg) {
    pc_diff_worker* w = (pc_diff_worker*)arg;
    pc_diff_job* job = w->job;
    const pc_diff_args* A = job->args;
    const size_t br = job->impl->br;
    for (;;) {
        const size_t t = __atomic_fetch_add(&job->next_task, 1, __ATOMIC_RELAXED);
        if (t >= job->ntasks) break;
        /* Causal: the blocks with the most keys (the last rows) go first. */
        const size_t blk = A->causal ? job->nblocks - 1 - t / A->bh : t / A->bh;
        const size_t head = t % A->bh;
        const size_t r0 = blk * br;
        const size_t rows = A->n - r0 < br ? A->n - r0 : br;
        job->impl->task(A, w->scratch, head, r0, rows);
    }
    return NULL;
}

size_t pc_diffattn_scratch_bytes(size_t bh, size_t n, size_t d, int threads) {
    if (threads < 1 || threads > PC_MAX_THREADS || d == 0) return 0;
    const pc_diff_impl* impl = impl_now();
    size_t tasks, nblocks = n / impl->br + (n % impl->br != 0);
    if (!pc_mul_size(bh, nblocks, &tasks)) return 0;
    size_t nthreads = (size_t)threads < tasks ? (size_t)threads : tasks;
    size_t per = scratch_floats(d, impl->br), total;
    if (per == 0 || !pc_mul_size(per, nthreads, &total) || total > SIZE_MAX / sizeof(float))
        return 0;
    return total * sizeof(float);
}

int pc_diffattn(const float* q1, const float* k1, const float* q2, const float* k2,
                const float* v, float* out, size_t bh, size_t n, size_t d, float lambda_,
                int causal, int threads) {
    size_t rows, qk, vo;
    if (!pc_mul_size(bh, n, &rows) || !pc_mul_size(rows, d, &qk) || !pc_mul_size(qk, 2, &vo))
        return PC_ERR_SIZE;
    if (vo > PTRDIFF_MAX / sizeof(float)) return PC_ERR_SIZE;
    if (rows != 0 && (!q1 || !k1 || !q2 || !k2 || !v || !out)) return PC_ERR_NULL;
    if (d == 0 || !isfinite(lambda_) || (causal != 0 && causal != 1)) return PC_ERR_ARG;
    if (threads < 1 || threads > PC_MAX_THREADS) return PC_ERR_THREADS;
    if (rows == 0) return PC_OK;

    const pc_diff_impl* impl = impl_now();
    const size_t per = scratch_floats(d, impl->br);
    if (per == 0) return PC_ERR_SIZE;
    pc_diff_args A = {q1, k1, q2, k2, v, out, bh, n, d, lambda_,
                      (float)(1.4426950408889634 / sqrt((double)d)), causal};
    pc_diff_job job;
    job.args = &A;
    job.impl = impl;
    job.nblocks = n / impl->br + (n % impl->br != 0);
    job.ntasks = bh * job.nblocks;
    job.next_task = 0;
    size_t nthreads = (size_t)threads < job.ntasks ? (size_t)threads : job.ntasks;
    size_t total;
    if (!pc_mul_size(per, nthreads, &total) || total > SIZE_MAX / sizeof(float) / 2)
        return PC_ERR_SIZE;
    /* One 64-byte aligned block of scratch for all threads. */
    float* scratch = (float*)aligned_alloc(64, ((total * sizeof(float)) + 63) & ~(size_t)63);
    if (!scratch) return PC_ERR_NOMEM;

    pc_diff_worker workers[PC_MAX_THREADS];
    pthread_t tid[PC_MAX_THREADS];
    int started[PC_MAX_THREADS];
    for (size_t t = 0; t < nthreads; ++t) {
        workers[t].job = &job;
        workers[t].scratch = scratch + t * per;
    }
    /* If a thread cannot be started, the others take its share of the tasks. */
    for (size_t t = 1; t < nthreads; ++t)
        started[t] = pthread_create(&tid[t], NULL, diff_worker, &workers[t]) == 0;
    diff_worker(&workers[0]);
    for (size_t t = 1; t < nthreads; ++t)
        if (started[t]) pthread_join(tid[t], NULL);
    free(scratch);
    return PC_OK;
}

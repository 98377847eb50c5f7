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
    float *o2s, *lse1, *lse2; /* training forward only (else NULL): softmax2 v, lse rows */
    size_t bh, n, d;
    float lambda_, scale;
    int causal;
} pc_diff_args;

typedef struct {
    const float *q1, *k1, *q2, *k2, *v, *out, *o2, *lse1, *lse2, *dout;
    float *dq1, *dk1, *dq2, *dk2, *dv;
    float* dd; /* [bh][n][2]: D1 = dout . (out + lambda o2), D2 = dout . o2 per row */
    size_t bh, n, d;
    float lambda_, scale, inv_sqrt_d; /* scale = log2(e) / sqrt(d) */
    int causal;
} pc_diff_bargs;

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

/* One backward thread's scratch (BR query rows, PC_BC keys). */
typedef struct {
    float *qt1, *qt2, *gt;     /* [d][BR], [d][BR], [2d][BR] packed queries / dout */
    float *s1, *s2, *dp, *w;   /* [PC_BC][BR] probabilities, dS, dout v^T, P1 - lambda P2 */
    float *acc1, *acc2, *accv; /* [PC_BC][d] x 2, [PC_BC][2d] gradient accumulators */
    float *l1, *l2, *d1, *d2;  /* [BR] lse (log2 units), D1, D2 */
} pc_diff_bscratch;

/* Floats of one backward thread's scratch (0 if it overflows). */
static size_t bscratch_floats(size_t d, size_t br) {
    if (d > SIZE_MAX / 16 / PC_MAX_BR / PC_BC) return 0;
    return 2 * round16(d * br) + round16(2 * d * br) + 4 * round16((size_t)PC_BC * br) +
           2 * round16((size_t)PC_BC * d) + round16((size_t)PC_BC * 2 * d) + 4 * round16(br);
}

static pc_diff_bscratch pc_diff_bscratch_layout(float* base, size_t d, size_t br) {
    pc_diff_bscratch s;
    float* p = base;
    s.qt1 = p, p += round16(d * br);
    s.qt2 = p, p += round16(d * br);
    s.gt = p, p += round16(2 * d * br);
    s.s1 = p, p += round16((size_t)PC_BC * br);
    s.s2 = p, p += round16((size_t)PC_BC * br);
    s.dp = p, p += round16((size_t)PC_BC * br);
    s.w = p, p += round16((size_t)PC_BC * br);
    s.acc1 = p, p += round16((size_t)PC_BC * d);
    s.acc2 = p, p += round16((size_t)PC_BC * d);
    s.accv = p, p += round16((size_t)PC_BC * 2 * d);
    s.l1 = p, p += round16(br);
    s.l2 = p, p += round16(br);
    s.d1 = p, p += round16(br);
    s.d2 = p;
    return s;
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
#define PC_BRT 2
#include "pc_diffattn_impl.h"
#undef PC_SFX
#undef PC_ATTR
#undef PC_VW
#undef PC_RV
#undef PC_JT
#undef PC_RT
#undef PC_CV
#undef PC_BRT

#if PC_X86
#define PC_SFX _avx2
#define PC_ATTR PC_TARGET_AVX2
#define PC_VW 8
#define PC_RV 4
#define PC_JT 2
#define PC_RT 1
#define PC_CV 4
#define PC_BRT 2
#include "pc_diffattn_impl.h"
#undef PC_SFX
#undef PC_ATTR
#undef PC_VW
#undef PC_RV
#undef PC_JT
#undef PC_RT
#undef PC_CV
#undef PC_BRT

#define PC_SFX _avx512
#define PC_ATTR PC_TARGET_AVX512
#define PC_VW 16
#define PC_RV 4
#define PC_JT 4
#define PC_RT 2
#define PC_CV 4
#define PC_BRT 4
#include "pc_diffattn_impl.h"
#undef PC_SFX
#undef PC_ATTR
#undef PC_VW
#undef PC_RV
#undef PC_JT
#undef PC_RT
#undef PC_CV
#undef PC_BRT
#endif

typedef void (*pc_bwd_task)(const pc_diff_bargs*, float*, size_t, size_t, size_t);

typedef struct {
    size_t br; /* query rows per task */
    void (*task)(const pc_diff_args*, float*, size_t, size_t, size_t);
    pc_bwd_task bwd_q, bwd_kv;
} pc_diff_impl;

static const pc_diff_impl impl_base = {16, task__base, bwd_q_task__base, bwd_kv_task__base};
#if PC_X86
static const pc_diff_impl impl_avx2 = {32, task__avx2, bwd_q_task__avx2, bwd_kv_task__avx2};
static const pc_diff_impl impl_avx512 = {64, task__avx512, bwd_q_task__avx512,
                                         bwd_kv_task__avx512};
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
    const pc_diff_args* args;   /* forward, or */
    const pc_diff_bargs* bargs; /* backward */
    pc_bwd_task bwd;            /* the backward sweep (when bargs) */
    void (*fwd)(const pc_diff_args*, float*, size_t, size_t, size_t);
    size_t bh, n, block; /* heads, rows, rows (or keys) per task */
    size_t nblocks;      /* blocks per head */
    size_t ntasks;       /* bh * nblocks */
    int reverse;         /* take the last blocks first */
    size_t next_task;    /* atomic */
} pc_diff_job;

typedef struct {
    pc_diff_job* job;
    float* scratch;
} pc_diff_worker;

static void* diff_worker(void* arg) {
    pc_diff_worker* w = (pc_diff_worker*)arg;
    pc_diff_job* job = w->job;
    for (;;) {
        const size_t t = __atomic_fetch_add(&job->next_task, 1, __ATOMIC_RELAXED);
        if (t >= job->ntasks) break;
        const size_t blk = job->reverse ? job->nblocks - 1 - t / job->bh : t / job->bh;
        const size_t head = t % job->bh;
        const size_t r0 = blk * job->block;
        const size_t rows = job->n - r0 < job->block ? job->n - r0 : job->block;
        if (job->bargs)
            job->bwd(job->bargs, w->scratch, head, r0, rows);
        else
            job->fwd(job->args, w->scratch, head, r0, rows);
    }
    return NULL;
}

/* Tasks (head, block) of a job, in blocks of `block` rows. */
static void job_init(pc_diff_job* job, size_t bh, size_t n, size_t block, int reverse) {
    job->bh = bh;
    job->n = n;
    job->block = block;
    job->nblocks = n / block + (n % block != 0);
    job->ntasks = bh * job->nblocks;
    job->reverse = reverse;
    job->next_task = 0;
}

/* Runs the job's tasks on up to `threads` threads (this one included), `per` floats of
 * scratch each. If a thread cannot be started, the others take its share. */
static void job_run(pc_diff_job* job, float* scratch, size_t per, size_t threads) {
    pc_diff_worker workers[PC_MAX_THREADS];
    pthread_t tid[PC_MAX_THREADS];
    int started[PC_MAX_THREADS];
    const size_t nthreads = threads < job->ntasks ? threads : job->ntasks;
    for (size_t t = 0; t < nthreads; ++t) {
        workers[t].job = job;
        workers[t].scratch = scratch + t * per;
    }
    for (size_t t = 1; t < nthreads; ++t)
        started[t] = pthread_create(&tid[t], NULL, diff_worker, &workers[t]) == 0;
    diff_worker(&workers[0]);
    for (size_t t = 1; t < nthreads; ++t)
        if (started[t]) pthread_join(tid[t], NULL);
}

/* Threads that get work: min(threads, most tasks of any sweep). */
static size_t threads_used(size_t bh, size_t n, size_t block, int threads) {
    size_t tasks;
    if (!pc_mul_size(bh, n / block + (n % block != 0), &tasks)) return 0;
    return (size_t)threads < tasks ? (size_t)threads : tasks;
}

/* 64-byte aligned floats (NULL if the byte count overflows or malloc fails). */
static float* alloc_floats(size_t count) {
    if (count > (SIZE_MAX - 63) / sizeof(float)) return NULL;
    return (float*)aligned_alloc(64, ((count * sizeof(float)) + 63) & ~(size_t)63);
}

size_t pc_diffattn_scratch_bytes(size_t bh, size_t n, size_t d, int threads) {
    if (threads < 1 || threads > PC_MAX_THREADS || d == 0) return 0;
    const pc_diff_impl* impl = impl_now();
    size_t nthreads = threads_used(bh, n, impl->br, threads);
    size_t per = scratch_floats(d, impl->br), total;
    if (per == 0 || !pc_mul_size(per, nthreads, &total) || total > SIZE_MAX / sizeof(float))
        return 0;
    return total * sizeof(float);
}

size_t pc_diffattn_bwd_scratch_bytes(size_t bh, size_t n, size_t d, int threads) {
    if (threads < 1 || threads > PC_MAX_THREADS || d == 0) return 0;
    const pc_diff_impl* impl = impl_now();
    size_t nthreads = threads_used(bh, n, impl->br, threads);
    size_t per = bscratch_floats(d, impl->br), total, rows, dd;
    if (per == 0 || !pc_mul_size(per, nthreads, &total) || !pc_mul_size(bh, n, &rows) ||
        !pc_mul_size(rows, 2, &dd) || total > SIZE_MAX / sizeof(float) - dd)
        return 0;
    return (total + dd) * sizeof(float);
}

/* Size checks shared by the three entry points; *rows = bh * n. */
static int check_sizes(size_t bh, size_t n, size_t d, size_t* rows) {
    size_t qk, vo;
    if (!pc_mul_size(bh, n, rows) || !pc_mul_size(*rows, d, &qk) || !pc_mul_size(qk, 2, &vo))
        return PC_ERR_SIZE;
    if (vo > PTRDIFF_MAX / sizeof(float)) return PC_ERR_SIZE;
    return PC_OK;
}

/* Argument checks shared by the three entry points. */
static int check_args(size_t d, float lambda_, int causal, int threads) {
    if (d == 0 || !isfinite(lambda_) || (causal != 0 && causal != 1)) return PC_ERR_ARG;
    if (threads < 1 || threads > PC_MAX_THREADS) return PC_ERR_THREADS;
    return PC_OK;
}

static int diffattn_forward(pc_diff_args* A, int threads) {
    const pc_diff_impl* impl = impl_now();
    const size_t per = scratch_floats(A->d, impl->br);
    if (per == 0) return PC_ERR_SIZE;
    A->scale = (float)(1.4426950408889634 / sqrt((double)A->d));
    pc_diff_job job = {A, NULL, NULL, impl->task, 0, 0, 0, 0, 0, 0, 0};
    /* Causal: the blocks with the most keys (the last rows) go first. */
    job_init(&job, A->bh, A->n, impl->br, A->causal);
    size_t nthreads = threads_used(A->bh, A->n, impl->br, threads), total;
    if (!pc_mul_size(per, nthreads, &total) || total > SIZE_MAX / sizeof(float) / 2)
        return PC_ERR_SIZE;
    /* One 64-byte aligned block of scratch for all threads. */
    float* scratch = alloc_floats(total);
    if (!scratch) return PC_ERR_NOMEM;
    job_run(&job, scratch, per, nthreads);
    free(scratch);
    return PC_OK;
}

int pc_diffattn(const float* q1, const float* k1, const float* q2, const float* k2,
                const float* v, float* out, size_t bh, size_t n, size_t d, float lambda_,
                int causal, int threads) {
    size_t rows;
    if (check_sizes(bh, n, d, &rows) != PC_OK) return PC_ERR_SIZE;
    if (rows != 0 && (!q1 || !k1 || !q2 || !k2 || !v || !out)) return PC_ERR_NULL;
    const int rc = check_args(d, lambda_, causal, threads);
    if (rc != PC_OK || rows == 0) return rc;
    pc_diff_args A = {q1, k1, q2, k2, v, out, NULL, NULL, NULL, bh, n, d, lambda_, 0.0f, causal};
    return diffattn_forward(&A, threads);
}

int pc_diffattn_fwd(const float* q1, const float* k1, const float* q2, const float* k2,
                    const float* v, float* out, float* o2, float* lse1, float* lse2, size_t bh,
                    size_t n, size_t d, float lambda_, int causal, int threads) {
    size_t rows;
    if (check_sizes(bh, n, d, &rows) != PC_OK) return PC_ERR_SIZE;
    if (rows != 0 && (!q1 || !k1 || !q2 || !k2 || !v || !out || !o2 || !lse1 || !lse2))
        return PC_ERR_NULL;
    const int rc = check_args(d, lambda_, causal, threads);
    if (rc != PC_OK || rows == 0) return rc;
    pc_diff_args A = {q1, k1, q2, k2, v, out, o2, lse1, lse2, bh, n, d, lambda_, 0.0f, causal};
    return diffattn_forward(&A, threads);
}

int pc_diffattn_bwd(const float* q1, const float* k1, const float* q2, const float* k2,
                    const float* v, const float* out, const float* o2, const float* lse1,
                    const float* lse2, const float* dout, float* dq1, float* dk1, float* dq2,
                    float* dk2, float* dv, float* dlambda, size_t bh, size_t n, size_t d,
                    float lambda_, int causal, int threads) {
    size_t rows;
    if (check_sizes(bh, n, d, &rows) != PC_OK) return PC_ERR_SIZE;
    if (rows != 0 && (!q1 || !k1 || !q2 || !k2 || !v || !out || !o2 || !lse1 || !lse2 ||
                      !dout || !dq1 || !dk1 || !dq2 || !dk2 || !dv))
        return PC_ERR_NULL;
    const int rc = check_args(d, lambda_, causal, threads);
    if (rc != PC_OK) return rc;
    if (rows == 0) {
        if (dlambda) *dlambda = 0.0f;
        return PC_OK;
    }
    const pc_diff_impl* impl = impl_now();
    const size_t per = bscratch_floats(d, impl->br);
    if (per == 0) return PC_ERR_SIZE;
    /* the kv sweep has blocks of PC_BC keys, the q sweep blocks of br rows (br <= PC_BC) */
    const size_t nthreads = threads_used(bh, n, impl->br, threads);
    size_t total, dd;
    if (!pc_mul_size(per, nthreads, &total) || !pc_mul_size(rows, 2, &dd) ||
        total > SIZE_MAX / sizeof(float) / 2 - dd)
        return PC_ERR_SIZE;
    float* scratch = alloc_floats(total + dd);
    if (!scratch) return PC_ERR_NOMEM;
    pc_diff_bargs B = {q1, k1, q2, k2, v, out, o2, lse1, lse2, dout, dq1, dk1, dq2, dk2, dv,
                       scratch + total, bh, n, d, lambda_,
                       (float)(1.4426950408889634 / sqrt((double)d)),
                       (float)(1.0 / sqrt((double)d)), causal};
    pc_diff_job job = {NULL, &B, impl->bwd_q, NULL, 0, 0, 0, 0, 0, 0, 0};
    /* Sweep 1 (dq, and the row sums D the second sweep reads): causal, last rows first. */
    job_init(&job, bh, n, impl->br, causal);
    job_run(&job, scratch, per, nthreads);
    /* Sweep 2 (dk, dv): causal, the first keys (seen by the most rows) first. */
    job.bwd = impl->bwd_kv;
    job_init(&job, bh, n, PC_BC, 0);
    job_run(&job, scratch, per, nthreads);
    if (dlambda) { /* -sum of dout . o2 over every row, in row order */
        double acc = 0.0;
        for (size_t i = 0; i < rows; ++i) acc += (double)B.dd[2 * i + 1];
        *dlambda = (float)-acc;
    }
    free(scratch);
    return PC_OK;
}

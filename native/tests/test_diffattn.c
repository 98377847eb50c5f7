/* C test of pc_diffattn (fused differential attention), built with ASan + UBSan by
 * `make -C native sanitize` (and plainly by `make -C native test-c`).
 *
 * Results are compared with a naive double-precision transcription of the formula
 *   out = softmax(q1 k1^T / sqrt(d)) v - lambda * softmax(q2 k2^T / sqrt(d)) v
 * (full score rows, causal mask) for every instruction set this CPU offers, several thread
 * counts and shapes that leave partial blocks everywhere; plus every error code, the
 * "nothing written on error" rule and the scratch-size query. The training pair
 * (pc_diffattn_fwd: o2 and the log-sum-exp rows; pc_diffattn_bwd: dq1, dk1, dq2, dk2, dv,
 * dlambda) is compared with double-precision gradients written out from the formula.
 * Exits non-zero on failure.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pc_diffattn.h"

static int failures = 0;

#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                   \
            fprintf(stderr, "\n");                                          \
            if (++failures > 20) exit(1);                                   \
        }                                                                   \
    } while (0)

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static float rnd(void) { /* uniform in (-2, 2) */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((double)(rng_state >> 11) / (double)(1ull << 53) * 4.0 - 2.0);
}

static float* filled(size_t count) {
    float* p = (float*)malloc((count ? count : 1) * sizeof(float));
    for (size_t i = 0; i < count; ++i) p[i] = rnd();
    return p;
}

/* One head: out[n][2d] in double. */
static void reference(const float* q1, const float* k1, const float* q2, const float* k2,
                      const float* v, double* out, size_t n, size_t d, double lam, int causal) {
    const size_t dv = 2 * d;
    double* w1 = (double*)malloc(n * sizeof(double));
    double* w2 = (double*)malloc(n * sizeof(double));
    const double s = 1.0 / sqrt((double)d);
    for (size_t i = 0; i < n; ++i) {
        const size_t kend = causal ? i + 1 : n;
        double m1 = -INFINITY, m2 = -INFINITY, z1 = 0.0, z2 = 0.0;
        for (size_t j = 0; j < kend; ++j) {
            double a = 0.0, b = 0.0;
            for (size_t l = 0; l < d; ++l) {
                a += (double)q1[i * d + l] * k1[j * d + l];
                b += (double)q2[i * d + l] * k2[j * d + l];
            }
            w1[j] = a * s;
            w2[j] = b * s;
            if (w1[j] > m1) m1 = w1[j];
            if (w2[j] > m2) m2 = w2[j];
        }
        for (size_t j = 0; j < kend; ++j) {
            w1[j] = exp(w1[j] - m1);
            w2[j] = exp(w2[j] - m2);
            z1 += w1[j];
            z2 += w2[j];
        }
        for (size_t c = 0; c < dv; ++c) {
            double acc = 0.0;
            for (size_t j = 0; j < kend; ++j) acc += (w1[j] / z1 - lam * w2[j] / z2) * v[j * dv + c];
            out[i * dv + c] = acc;
        }
    }
    free(w1);
    free(w2);
}

static void check_case(size_t bh, size_t n, size_t d, int causal, int threads, float lam) {
    const size_t qk = bh * n * d, vo = 2 * qk;
    float *q1 = filled(qk), *k1 = filled(qk), *q2 = filled(qk), *k2 = filled(qk);
    float* v = filled(vo);
    float* out = (float*)malloc((vo ? vo : 1) * sizeof(float));
    const size_t per_head = 2 * n * d;
    double* want = (double*)malloc((per_head ? per_head : 1) * sizeof(double));
    int rc = pc_diffattn(q1, k1, q2, k2, v, out, bh, n, d, lam, causal, threads);
    CHECK(rc == PC_OK, "pc_diffattn returned %d (%s)", rc, pc_strerror(rc));
    double worst = 0.0;
    for (size_t h = 0; h < bh && rc == PC_OK; ++h) {
        reference(q1 + h * n * d, k1 + h * n * d, q2 + h * n * d, k2 + h * n * d,
                  v + h * n * 2 * d, want, n, d, lam, causal);
        for (size_t i = 0; i < 2 * n * d; ++i) {
            const double err = fabs((double)out[h * n * 2 * d + i] - want[i]);
            if (!(err <= worst)) worst = err; /* NaN counts as worst */
        }
    }
    CHECK(worst <= 2e-5, "%s bh=%zu n=%zu d=%zu causal=%d threads=%d: max error %g", pc_isa(),
          bh, n, d, causal, threads, worst);
    free(q1);
    free(k1);
    free(q2);
    free(k2);
    free(v);
    free(out);
    free(want);
}

/* One head in double: o2, lse1, lse2 and the gradients for upstream gradient g. */
typedef struct {
    double *o2, *lse1, *lse2, *dq1, *dk1, *dq2, *dk2, *dv;
    double dlam;
} grads_ref;

static void probs_ref(const float* q, const float* k, double* p, double* lse, size_t n,
                      size_t d, int causal) {
    const double s = 1.0 / sqrt((double)d);
    for (size_t i = 0; i < n; ++i) {
        double m = -INFINITY, z = 0.0;
        for (size_t j = 0; j < n; ++j) {
            double a = 0.0;
            for (size_t l = 0; l < d; ++l) a += (double)q[i * d + l] * k[j * d + l];
            p[i * n + j] = causal && j > i ? -INFINITY : a * s;
            if (p[i * n + j] > m) m = p[i * n + j];
        }
        for (size_t j = 0; j < n; ++j) z += p[i * n + j] = exp(p[i * n + j] - m);
        for (size_t j = 0; j < n; ++j) p[i * n + j] /= z;
        lse[i] = m + log(z);
    }
}

static void backward_ref(const float* q1, const float* k1, const float* q2, const float* k2,
                         const float* v, const float* g, size_t n, size_t d, double lam,
                         int causal, grads_ref* r) {
    const size_t dv = 2 * d;
    const double s = 1.0 / sqrt((double)d);
    double* p1 = (double*)calloc(n * n, sizeof(double));
    double* p2 = (double*)calloc(n * n, sizeof(double));
    double* dp = (double*)calloc(n * n, sizeof(double));
    probs_ref(q1, k1, p1, r->lse1, n, d, causal);
    probs_ref(q2, k2, p2, r->lse2, n, d, causal);
    r->dlam = 0.0;
    memset(r->dq1, 0, n * d * sizeof(double));
    memset(r->dk1, 0, n * d * sizeof(double));
    memset(r->dq2, 0, n * d * sizeof(double));
    memset(r->dk2, 0, n * d * sizeof(double));
    memset(r->dv, 0, n * dv * sizeof(double));
    for (size_t i = 0; i < n; ++i) {
        double d1 = 0.0, d2 = 0.0;
        for (size_t c = 0; c < dv; ++c) {
            double o2 = 0.0;
            for (size_t j = 0; j < n; ++j) o2 += p2[i * n + j] * v[j * dv + c];
            r->o2[i * dv + c] = o2;
        }
        for (size_t j = 0; j < n; ++j) {
            double a = 0.0;
            for (size_t c = 0; c < dv; ++c) a += (double)g[i * dv + c] * v[j * dv + c];
            dp[i * n + j] = a;
            d1 += p1[i * n + j] * a;
            d2 += p2[i * n + j] * a;
        }
        r->dlam -= d2;
        for (size_t j = 0; j < n; ++j) {
            const double w = p1[i * n + j] - lam * p2[i * n + j];
            const double ds1 = p1[i * n + j] * (dp[i * n + j] - d1) * s;
            const double ds2 = -lam * p2[i * n + j] * (dp[i * n + j] - d2) * s;
            for (size_t c = 0; c < dv; ++c) r->dv[j * dv + c] += w * g[i * dv + c];
            for (size_t l = 0; l < d; ++l) {
                r->dq1[i * d + l] += ds1 * k1[j * d + l];
                r->dq2[i * d + l] += ds2 * k2[j * d + l];
                r->dk1[j * d + l] += ds1 * q1[i * d + l];
                r->dk2[j * d + l] += ds2 * q2[i * d + l];
            }
        }
    }
    free(p1);
    free(p2);
    free(dp);
}

/* Largest |got - want| over count values (NaN counts as the worst). */
static double max_err(const float* got, const double* want, size_t count) {
    double worst = 0.0;
    for (size_t i = 0; i < count; ++i) {
        const double err = fabs((double)got[i] - want[i]);
        if (!(err <= worst)) worst = err;
    }
    return worst;
}

static void check_backward(size_t bh, size_t n, size_t d, int causal, int threads, float lam) {
    const size_t qk = bh * n * d, vo = 2 * qk, dv = 2 * d;
    float *q1 = filled(qk), *k1 = filled(qk), *q2 = filled(qk), *k2 = filled(qk);
    float *v = filled(vo), *g = filled(vo);
    float *out = filled(vo), *o2 = filled(vo), *plain = filled(vo);
    float *lse1 = filled(bh * n), *lse2 = filled(bh * n);
    float *dq1 = filled(qk), *dk1 = filled(qk), *dq2 = filled(qk), *dk2 = filled(qk);
    float* dvv = filled(vo);
    float dlam = 0.0f;
    int rc = pc_diffattn_fwd(q1, k1, q2, k2, v, out, o2, lse1, lse2, bh, n, d, lam, causal,
                             threads);
    CHECK(rc == PC_OK, "pc_diffattn_fwd returned %d", rc);
    CHECK(pc_diffattn(q1, k1, q2, k2, v, plain, bh, n, d, lam, causal, threads) == PC_OK, "fwd");
    CHECK(memcmp(out, plain, vo * sizeof(float)) == 0, "pc_diffattn_fwd out != pc_diffattn");
    rc = pc_diffattn_bwd(q1, k1, q2, k2, v, out, o2, lse1, lse2, g, dq1, dk1, dq2, dk2, dvv,
                         &dlam, bh, n, d, lam, causal, threads);
    CHECK(rc == PC_OK, "pc_diffattn_bwd returned %d", rc);
    grads_ref r;
    double* buf = (double*)malloc((2 * n * dv + 2 * n + 4 * n * d) * sizeof(double));
    r.o2 = buf, r.dv = buf + n * dv, r.lse1 = buf + 2 * n * dv, r.lse2 = r.lse1 + n;
    r.dq1 = r.lse2 + n, r.dk1 = r.dq1 + n * d, r.dq2 = r.dk1 + n * d, r.dk2 = r.dq2 + n * d;
    double worst[8] = {0}, dlam_ref = 0.0;
    for (size_t h = 0; h < bh; ++h) {
        const size_t a = h * n * d, b = h * n * dv;
        backward_ref(q1 + a, k1 + a, q2 + a, k2 + a, v + b, g + b, n, d, lam, causal, &r);
        const double e[8] = {max_err(o2 + b, r.o2, n * dv), max_err(lse1 + h * n, r.lse1, n),
                             max_err(lse2 + h * n, r.lse2, n), max_err(dq1 + a, r.dq1, n * d),
                             max_err(dk1 + a, r.dk1, n * d), max_err(dq2 + a, r.dq2, n * d),
                             max_err(dk2 + a, r.dk2, n * d), max_err(dvv + b, r.dv, n * dv)};
        for (int i = 0; i < 8; ++i)
            if (!(e[i] <= worst[i])) worst[i] = e[i];
        dlam_ref += r.dlam;
    }
    static const char* const names[8] = {"o2", "lse1", "lse2", "dq1", "dk1", "dq2", "dk2", "dv"};
    for (int i = 0; i < 8; ++i)
        CHECK(worst[i] <= 2e-5, "%s bh=%zu n=%zu d=%zu causal=%d threads=%d: %s max error %g",
              pc_isa(), bh, n, d, causal, threads, names[i], worst[i]);
    CHECK(fabs(dlam - dlam_ref) <= 1e-5 * (1.0 + fabs(dlam_ref)),
          "%s bh=%zu n=%zu d=%zu causal=%d: dlambda %g, want %g", pc_isa(), bh, n, d, causal,
          (double)dlam, dlam_ref);
    float* all[] = {q1, k1, q2, k2, v, g, out, o2, plain, lse1, lse2, dq1, dk1, dq2, dk2, dvv};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i) free(all[i]);
    free(buf);
}

/* pc_diffattn_bwd gives the same bits for 1 and 7 threads. */
static void check_backward_threads_agree(void) {
    const size_t bh = 3, n = 150, d = 20, qk = bh * n * d;
    float *q1 = filled(qk), *k1 = filled(qk), *q2 = filled(qk), *k2 = filled(qk);
    float *v = filled(2 * qk), *g = filled(2 * qk), *out = filled(2 * qk), *o2 = filled(2 * qk);
    float *lse1 = filled(bh * n), *lse2 = filled(bh * n), *grads[2];
    float dlam[2];
    CHECK(pc_diffattn_fwd(q1, k1, q2, k2, v, out, o2, lse1, lse2, bh, n, d, 0.3f, 1, 2) == PC_OK,
          "fwd");
    for (int t = 0; t < 2; ++t) {
        float* x = grads[t] = filled(6 * qk);
        CHECK(pc_diffattn_bwd(q1, k1, q2, k2, v, out, o2, lse1, lse2, g, x, x + qk, x + 2 * qk,
                              x + 3 * qk, x + 4 * qk, &dlam[t], bh, n, d, 0.3f, 1,
                              t ? 7 : 1) == PC_OK,
              "bwd");
    }
    CHECK(memcmp(grads[0], grads[1], 6 * qk * sizeof(float)) == 0 && dlam[0] == dlam[1],
          "backward results depend on threads");
    float* all[] = {q1, k1, q2, k2, v, g, out, o2, lse1, lse2, grads[0], grads[1]};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i) free(all[i]);
}

static void check_backward_errors(void) {
    float x[16], o[16], l[4], dl = 42.0f;
    for (int i = 0; i < 16; ++i) x[i] = (float)i / 8, o[i] = 42.0f;
    for (int i = 0; i < 4; ++i) l[i] = 1.0f;
    CHECK(pc_diffattn_fwd(x, x, x, x, x, o, NULL, l, l, 1, 4, 2, 0.5f, 1, 1) == PC_ERR_NULL,
          "fwd o2 NULL");
    CHECK(pc_diffattn_fwd(x, x, x, x, x, o, o, NULL, l, 1, 4, 2, 0.5f, 1, 1) == PC_ERR_NULL,
          "fwd lse1 NULL");
    CHECK(pc_diffattn_fwd(x, x, x, x, x, o, o, l, NULL, 1, 4, 2, 0.5f, 1, 1) == PC_ERR_NULL,
          "fwd lse2 NULL");
    CHECK(pc_diffattn_fwd(x, x, x, x, x, o, o, l, l, 1, 4, 0, 0.5f, 1, 1) == PC_ERR_ARG,
          "fwd d = 0");
    CHECK(pc_diffattn_fwd(x, x, x, x, x, o, o, l, l, 1, 4, 2, 0.5f, 1, 0) == PC_ERR_THREADS,
          "fwd threads 0");
    CHECK(pc_diffattn_fwd(x, x, x, x, x, o, o, l, l, SIZE_MAX / 2, 4, 2, 0.5f, 1, 1) ==
              PC_ERR_SIZE,
          "fwd overflow");
    for (int i = 0; i < 16; ++i) CHECK(o[i] == 42.0f, "fwd wrote on error");
#define BWD(ptr_q1, ptr_dq1, n_, d_, lam_, causal_, threads_)                                  \
    pc_diffattn_bwd(ptr_q1, x, x, x, x, x, x, l, l, x, ptr_dq1, o, o, o, o, &dl, 1, n_, d_, lam_, \
                    causal_, threads_)
    CHECK(BWD(NULL, o, 4, 2, 0.5f, 1, 1) == PC_ERR_NULL, "bwd q1 NULL");
    CHECK(BWD(x, NULL, 4, 2, 0.5f, 1, 1) == PC_ERR_NULL, "bwd dq1 NULL");
    CHECK(pc_diffattn_bwd(x, x, x, x, x, x, x, l, l, NULL, o, o, o, o, o, &dl, 1, 4, 2, 0.5f, 1,
                          1) == PC_ERR_NULL,
          "bwd dout NULL");
    CHECK(BWD(x, o, 4, 0, 0.5f, 1, 1) == PC_ERR_ARG, "bwd d = 0");
    CHECK(BWD(x, o, 4, 2, NAN, 1, 1) == PC_ERR_ARG, "bwd lambda NaN");
    CHECK(BWD(x, o, 4, 2, 0.5f, 3, 1) == PC_ERR_ARG, "bwd causal 3");
    CHECK(BWD(x, o, 4, 2, 0.5f, 1, 0) == PC_ERR_THREADS, "bwd threads 0");
    CHECK(BWD(x, o, 4, 2, 0.5f, 1, PC_MAX_THREADS + 1) == PC_ERR_THREADS, "bwd threads big");
    CHECK(BWD(x, o, (size_t)1 << 40, (size_t)1 << 30, 0.5f, 1, 1) == PC_ERR_SIZE, "bwd too big");
#undef BWD
    for (int i = 0; i < 16; ++i) CHECK(o[i] == 42.0f, "bwd wrote on error");
    CHECK(dl == 42.0f, "bwd wrote dlambda on error");
    CHECK(pc_diffattn_bwd(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                          NULL, NULL, NULL, &dl, 0, 4, 2, 0.5f, 1, 1) == PC_OK &&
              dl == 0.0f,
          "bwd bh = 0");
    float dq[16], dk[16], dq2[16], dk2[16], dvv[32], x32[32];
    for (int i = 0; i < 32; ++i) x32[i] = (float)i / 16;
    CHECK(pc_diffattn_bwd(x, x, x, x, x32, x32, x32, l, l, x32, dq, dk, dq2, dk2, dvv, NULL, 1, 4,
                          2, 0.5f, 0, 1) == PC_OK,
          "bwd dlambda NULL");
    const size_t a = pc_diffattn_bwd_scratch_bytes(8, 1024, 64, 2);
    const size_t b = pc_diffattn_bwd_scratch_bytes(8, 2048, 64, 2);
    CHECK(a > 0 && b - a == 8 * 1024 * 2 * sizeof(float), "bwd scratch: 2 floats per row");
    CHECK(pc_diffattn_bwd_scratch_bytes(8, 1024, 0, 2) == 0, "bwd scratch d = 0");
    CHECK(pc_diffattn_bwd_scratch_bytes(8, 1024, 64, 0) == 0, "bwd scratch threads 0");
}

static void check_threads_agree(void) {
    const size_t bh = 3, n = 150, d = 20, qk = bh * n * d;
    float *q1 = filled(qk), *k1 = filled(qk), *q2 = filled(qk), *k2 = filled(qk);
    float* v = filled(2 * qk);
    float* a = (float*)malloc(2 * qk * sizeof(float));
    float* b = (float*)malloc(2 * qk * sizeof(float));
    CHECK(pc_diffattn(q1, k1, q2, k2, v, a, bh, n, d, 0.3f, 1, 1) == PC_OK, "threads=1");
    CHECK(pc_diffattn(q1, k1, q2, k2, v, b, bh, n, d, 0.3f, 1, 5) == PC_OK, "threads=5");
    CHECK(memcmp(a, b, 2 * qk * sizeof(float)) == 0, "results depend on threads");
    free(q1);
    free(k1);
    free(q2);
    free(k2);
    free(v);
    free(a);
    free(b);
}

static void check_errors(void) {
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, o[16];
    for (int i = 0; i < 16; ++i) o[i] = 42.0f;
    CHECK(pc_diffattn(NULL, x, x, x, x, o, 1, 4, 2, 0.5f, 1, 1) == PC_ERR_NULL, "q1 NULL");
    CHECK(pc_diffattn(x, NULL, x, x, x, o, 1, 4, 2, 0.5f, 1, 1) == PC_ERR_NULL, "k1 NULL");
    CHECK(pc_diffattn(x, x, NULL, x, x, o, 1, 4, 2, 0.5f, 1, 1) == PC_ERR_NULL, "q2 NULL");
    CHECK(pc_diffattn(x, x, x, NULL, x, o, 1, 4, 2, 0.5f, 1, 1) == PC_ERR_NULL, "k2 NULL");
    CHECK(pc_diffattn(x, x, x, x, NULL, o, 1, 4, 2, 0.5f, 1, 1) == PC_ERR_NULL, "v NULL");
    CHECK(pc_diffattn(x, x, x, x, x, NULL, 1, 4, 2, 0.5f, 1, 1) == PC_ERR_NULL, "out NULL");
    CHECK(pc_diffattn(x, x, x, x, x, o, 1, 4, 0, 0.5f, 1, 1) == PC_ERR_ARG, "d = 0");
    CHECK(pc_diffattn(x, x, x, x, x, o, 1, 4, 2, NAN, 1, 1) == PC_ERR_ARG, "lambda NaN");
    CHECK(pc_diffattn(x, x, x, x, x, o, 1, 4, 2, INFINITY, 1, 1) == PC_ERR_ARG, "lambda Inf");
    CHECK(pc_diffattn(x, x, x, x, x, o, 1, 4, 2, 0.5f, 2, 1) == PC_ERR_ARG, "causal 2");
    CHECK(pc_diffattn(x, x, x, x, x, o, 1, 4, 2, 0.5f, -1, 1) == PC_ERR_ARG, "causal -1");
    CHECK(pc_diffattn(x, x, x, x, x, o, 1, 4, 2, 0.5f, 1, 0) == PC_ERR_THREADS, "threads 0");
    CHECK(pc_diffattn(x, x, x, x, x, o, 1, 4, 2, 0.5f, 1, PC_MAX_THREADS + 1) == PC_ERR_THREADS,
          "threads big");
    CHECK(pc_diffattn(x, x, x, x, x, o, SIZE_MAX / 2, 4, 2, 0.5f, 1, 1) == PC_ERR_SIZE,
          "bh * n overflow");
    CHECK(pc_diffattn(x, x, x, x, x, o, 1, (size_t)1 << 40, (size_t)1 << 30, 0.5f, 1, 1) ==
              PC_ERR_SIZE,
          "too big");
    for (int i = 0; i < 16; ++i) CHECK(o[i] == 42.0f, "out written on error");
    CHECK(pc_diffattn(NULL, NULL, NULL, NULL, NULL, NULL, 0, 4, 2, 0.5f, 1, 1) == PC_OK,
          "bh = 0");
    CHECK(pc_diffattn(NULL, NULL, NULL, NULL, NULL, NULL, 3, 0, 2, 0.5f, 0, 1) == PC_OK, "n = 0");
    CHECK(strstr(pc_strerror(PC_ERR_ARG), "invalid") != NULL, "strerror ARG");
    const size_t a = pc_diffattn_scratch_bytes(8, 1024, 64, 2);
    CHECK(a > 0 && a == pc_diffattn_scratch_bytes(8, 1 << 20, 64, 2), "scratch grows with n");
    CHECK(pc_diffattn_scratch_bytes(8, 1024, 0, 2) == 0, "scratch d = 0");
    CHECK(pc_diffattn_scratch_bytes(8, 1024, 64, 0) == 0, "scratch threads 0");
}

int main(void) {
    static const char* const isas[] = {"baseline", "avx2", "avx512"};
    check_errors();
    check_backward_errors();
    for (size_t s = 0; s < 3; ++s) {
        if (pc_set_isa(isas[s]) != PC_OK) {
            printf("isa %-8s not available on this CPU, skipped\n", isas[s]);
            continue;
        }
        for (int causal = 0; causal <= 1; ++causal) {
            check_case(1, 1, 1, causal, 1, 0.5f);
            check_case(2, 7, 3, causal, 2, 0.25f);
            check_case(1, 65, 16, causal, 1, -0.4f);
            check_case(3, 70, 9, causal, 3, 0.8f);
            check_case(1, 130, 32, causal, 2, 0.2f);
            check_case(2, 33, 64, causal, 4, 1.5f);
        }
        check_threads_agree();
        for (int causal = 0; causal <= 1; ++causal) {
            check_backward(1, 1, 1, causal, 1, 0.5f);
            check_backward(2, 7, 3, causal, 2, 0.25f);
            check_backward(1, 65, 16, causal, 1, -0.4f);
            check_backward(3, 70, 9, causal, 3, 0.8f);
            check_backward(1, 130, 32, causal, 2, 0.2f);
            check_backward(2, 33, 64, causal, 4, 1.5f);
        }
        check_backward_threads_agree();
        printf("isa %-8s ok\n", isas[s]);
    }
    pc_set_isa("auto");
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("test_diffattn: all checks passed (kernels: %s)\n", pc_isa());
    return 0;
}

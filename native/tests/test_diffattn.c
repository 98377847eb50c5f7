/* C test of pc_diffattn (fused differential attention), built with ASan + UBSan by
 * `make -C native sanitize` (and plainly by `make -C native test-c`).
 *
 * Results are compared with a naive double-precision transcription of the formula
 *   out = softmax(q1 k1^T / sqrt(d)) v - lambda * softmax(q2 k2^T / sqrt(d)) v
 * (full score rows, causal mask) for every instruction set this CPU offers, several thread
 * counts and shapes that leave partial blocks everywhere; plus every error code, the
 * "nothing written on error" rule and the scratch-size query. Exits non-zero on failure.
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

/* C test of every papercraft-native entry point, built with ASan + UBSan by
 * `make -C native sanitize` (and plainly by `make -C native test-c`).
 *
 * Results are compared bit for bit with an independent scalar transcription of the Python
 * reference (plugins/lmul/src/papercraft_lmul/reference.py, 64-bit integer arithmetic), for
 * every instruction set this CPU offers. Exits non-zero on the first failed check.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pc_lmul.h"

static int failures = 0;

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        if (!(cond)) {                                                    \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                 \
            fprintf(stderr, "\n");                                        \
            if (++failures > 20) exit(1);                                 \
        }                                                                 \
    } while (0)

static uint32_t f2u(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    return u;
}

static float u2f(uint32_t u) {
    float x;
    memcpy(&x, &u, 4);
    return x;
}

/* ---- reference (mirrors reference.py) ---- */

static uint32_t ref_prep(uint32_t bits, int k) {
    const uint32_t sign = bits & 0x80000000u;
    if ((bits & 0x7F800000u) == 0 && (bits & 0x007FFFFFu) != 0) bits = sign; /* flush */
    const int shift = 23 - k;
    if (shift == 0) return bits;
    const int64_t mag = bits & 0x7FFFFFFFu;
    if (mag > 0x7F800000) return bits; /* NaN untouched */
    const int64_t lsb = (mag >> shift) & 1;
    int64_t r = ((mag + ((int64_t)1 << (shift - 1)) - 1 + lsb) >> shift) << shift;
    if (r > 0x7F800000) r = 0x7F800000;
    return sign | (uint32_t)r;
}

static uint32_t ref_lmul(uint32_t x, uint32_t y, int k) {
    const uint32_t a = ref_prep(x, k), b = ref_prep(y, k);
    const uint32_t sign = (a ^ b) & 0x80000000u;
    const int64_t aa = a & 0x7FFFFFFFu, bb = b & 0x7FFFFFFFu;
    const int l = k <= 3 ? k : (k == 4 ? 3 : 4);
    const int64_t c = ((int64_t)127 << 23) - ((int64_t)1 << (23 - l));
    if (aa > 0x7F800000 || bb > 0x7F800000 || (aa == 0x7F800000 && bb == 0) ||
        (bb == 0x7F800000 && aa == 0))
        return 0x7FC00000u;
    if (aa == 0x7F800000 || bb == 0x7F800000) return sign | 0x7F800000u;
    if (aa == 0 || bb == 0) return sign;
    const int64_t r = aa + bb - c;
    if (r >= 0x7F800000) return sign | 0x7F800000u;
    if (r < 0x00800000) return sign;
    return sign | (uint32_t)r;
}

static size_t at_least_1(size_t n) { return n != 0 ? n : 1; }

static int same_float(float x, float y) {
    if (isnan(x) || isnan(y)) return isnan(x) && isnan(y);
    return f2u(x) == f2u(y);
}

/* ---- data ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rnd32(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static float rnd_normalish(void) { /* roughly uniform in (-2, 2), sometimes exactly 0 */
    const uint32_t u = rnd32();
    if ((u & 63u) == 0) return 0.0f;
    return ((float)(u >> 8) / 16777216.0f) * 4.0f - 2.0f;
}

static const uint32_t specials[] = {
    0x00000000u, 0x80000000u, 0x00000001u, 0x807FFFFFu, 0x00400000u, /* zeros, subnormals */
    0x00800000u, 0x80800000u, 0x00800001u, 0x7F7FFFFFu, 0xFF7FFFFFu, /* extremes */
    0x7F800000u, 0xFF800000u, 0x7FC00000u, 0x7F800001u, 0xFFC00001u, /* Inf, NaN */
    0x7FBFFFFFu, 0x3F800000u, 0xBF800000u, 0x3FC00000u, 0x40400000u, /* sNaN, 1, 1.5, 3 */
    0x3FFFFFFFu, 0x3F7FFFFFu, 0x3F800001u, 0x3F880000u, 0x3F900000u, /* round-up, ties */
    0x3F840000u, 0x3F8C0000u, 0x3F802000u, 0x3F801000u, 0x3F800800u,
    0x7F000000u, 0x7E800000u, 0x5F800000u, 0x60000000u, 0x1F800000u, /* overflow/underflow */
    0x20000000u, 0x1F000000u, 0x00FFFFFFu, 0x01000000u, 0x3FF80000u,
    0xC0490FDBu, 0x3EAAAAABu, 0x7F7FF000u, 0x7F7FFF00u, 0x42F6E979u,
};
#define NSPECIAL (sizeof specials / sizeof specials[0])

/* ---- checks ---- */

static void check_lmul_specials(int k) {
    const size_t n = NSPECIAL * NSPECIAL;
    float* a = malloc((n + 1) * sizeof(float));
    float* b = malloc((n + 1) * sizeof(float));
    float* out = malloc((n + 1) * sizeof(float));
    for (size_t i = 0; i < NSPECIAL; ++i)
        for (size_t j = 0; j < NSPECIAL; ++j) {
            a[i * NSPECIAL + j] = u2f(specials[i]);
            b[i * NSPECIAL + j] = u2f(specials[j]);
        }
    for (size_t off = 0; off < 2; ++off) { /* two alignments, different tails */
        CHECK(pc_lmul(a + off, b + off, out + off, n - off, k) == PC_OK, "k=%d", k);
        for (size_t i = off; i < n; ++i) {
            const uint32_t want = ref_lmul(f2u(a[i]), f2u(b[i]), k);
            CHECK(f2u(out[i]) == want, "k=%d %08x*%08x: got %08x want %08x", k, f2u(a[i]),
                  f2u(b[i]), f2u(out[i]), want);
        }
    }
    free(a);
    free(b);
    free(out);
}

static void check_lmul_random(size_t n, size_t out_offset) {
    float* a = malloc(n * sizeof(float));
    float* b = malloc(n * sizeof(float));
    float* out = malloc((n + out_offset) * sizeof(float));
    for (size_t i = 0; i < n; ++i) {
        a[i] = u2f(rnd32());
        b[i] = (i & 1) ? u2f(rnd32()) : rnd_normalish();
    }
    for (int k = 1; k <= 23; k += (n > 100000 ? 11 : 1)) {
        CHECK(pc_lmul(a, b, out + out_offset, n, k) == PC_OK, "k=%d", k);
        size_t bad = 0;
        for (size_t i = 0; i < n; ++i)
            bad += f2u(out[out_offset + i]) != ref_lmul(f2u(a[i]), f2u(b[i]), k);
        CHECK(bad == 0, "n=%zu k=%d: %zu mismatches", n, k, bad);
    }
    free(a);
    free(b);
    free(out);
}

static void check_ldot(size_t n, int k) {
    float* a = malloc(at_least_1(n) * sizeof(float));
    float* b = malloc(at_least_1(n) * sizeof(float));
    for (size_t i = 0; i < n; ++i) {
        a[i] = rnd_normalish();
        b[i] = rnd_normalish();
    }
    float want = 0.0f, got = -1.0f;
    for (size_t i = 0; i < n; ++i) want += u2f(ref_lmul(f2u(a[i]), f2u(b[i]), k));
    CHECK(pc_ldot(a, b, n, k, &got) == PC_OK, "n=%zu", n);
    CHECK(same_float(got, want), "ldot n=%zu k=%d: %a vs %a", n, k, got, want);
    free(a);
    free(b);
}

/* c = a @ b against the in-order float32 sum of reference products, several threads. */
static void check_lgemm(size_t m, size_t n, size_t p, int k, int specials_in) {
    float* a = malloc(at_least_1(m * n) * sizeof(float));
    float* b = malloc(at_least_1(n * p) * sizeof(float));
    float* c = malloc(at_least_1(m * p) * sizeof(float));
    float* want = malloc(at_least_1(m * p) * sizeof(float));
    for (size_t i = 0; i < m * n; ++i) a[i] = rnd_normalish();
    for (size_t i = 0; i < n * p; ++i) b[i] = rnd_normalish();
    if (specials_in && m != 0 && n != 0 && p != 0) {
        for (size_t t = 0; t < 6; ++t) {
            a[rnd32() % (m * n)] = u2f(specials[rnd32() % NSPECIAL]);
            b[rnd32() % (n * p)] = u2f(specials[rnd32() % NSPECIAL]);
        }
    }
    for (size_t i = 0; i < m; ++i)
        for (size_t j = 0; j < p; ++j) {
            float acc = 0.0f;
            for (size_t l = 0; l < n; ++l)
                acc += u2f(ref_lmul(f2u(a[i * n + l]), f2u(b[l * p + j]), k));
            want[i * p + j] = acc;
        }
    for (int threads = 1; threads <= 3; ++threads) {
        for (size_t i = 0; i < m * p; ++i) c[i] = -7.0f;
        CHECK(pc_lgemm(a, b, c, m, n, p, k, threads) == PC_OK, "%zux%zux%zu", m, n, p);
        size_t bad = 0;
        for (size_t i = 0; i < m * p; ++i) bad += !same_float(c[i], want[i]);
        CHECK(bad == 0, "lgemm %zux%zux%zu k=%d threads=%d specials=%d: %zu mismatches", m, n, p,
              k, threads, specials_in, bad);
    }
    if (m == 1 && p == 1) { /* ldot agrees with the 1 x 1 GEMM */
        float dot = 0.0f;
        CHECK(pc_ldot(a, b, n, k, &dot) == PC_OK, "ldot");
        CHECK(same_float(dot, c[0]), "ldot %a vs lgemm %a", dot, c[0]);
    }
    free(a);
    free(b);
    free(c);
    free(want);
}

static void check_errors(void) {
    float x[4] = {1, 2, 3, 4}, y[4] = {1, 2, 3, 4}, z[4], r;
    CHECK(pc_lmul(NULL, y, z, 4, 23) == PC_ERR_NULL, "lmul a NULL");
    CHECK(pc_lmul(x, NULL, z, 4, 23) == PC_ERR_NULL, "lmul b NULL");
    CHECK(pc_lmul(x, y, NULL, 4, 23) == PC_ERR_NULL, "lmul out NULL");
    CHECK(pc_lmul(NULL, NULL, NULL, 0, 23) == PC_OK, "lmul empty");
    CHECK(pc_lmul(x, y, z, 4, 0) == PC_ERR_BITS, "k=0");
    CHECK(pc_lmul(x, y, z, 4, 24) == PC_ERR_BITS, "k=24");
    CHECK(pc_lmul(x, y, z, 4, -3) == PC_ERR_BITS, "k=-3");
    CHECK(pc_lmul(x, y, z, SIZE_MAX / 2, 23) == PC_ERR_SIZE, "lmul huge");
    CHECK(pc_ldot(x, y, 4, 23, NULL) == PC_ERR_NULL, "ldot result NULL");
    CHECK(pc_ldot(NULL, y, 4, 23, &r) == PC_ERR_NULL, "ldot a NULL");
    CHECK(pc_ldot(x, y, 4, 24, &r) == PC_ERR_BITS, "ldot k");
    CHECK(pc_ldot(x, y, SIZE_MAX / 2, 23, &r) == PC_ERR_SIZE, "ldot huge");
    r = 5.0f;
    CHECK(pc_ldot(NULL, NULL, 0, 23, &r) == PC_OK && r == 0.0f && !signbit(r), "ldot empty");
    CHECK(pc_lgemm(NULL, y, z, 2, 2, 2, 23, 1) == PC_ERR_NULL, "lgemm a NULL");
    CHECK(pc_lgemm(x, NULL, z, 2, 2, 2, 23, 1) == PC_ERR_NULL, "lgemm b NULL");
    CHECK(pc_lgemm(x, y, NULL, 2, 2, 2, 23, 1) == PC_ERR_NULL, "lgemm c NULL");
    CHECK(pc_lgemm(x, y, z, 2, 2, 2, 0, 1) == PC_ERR_BITS, "lgemm k=0");
    CHECK(pc_lgemm(x, y, z, 2, 2, 2, 24, 1) == PC_ERR_BITS, "lgemm k=24");
    CHECK(pc_lgemm(x, y, z, 2, 2, 2, 23, 0) == PC_ERR_THREADS, "threads=0");
    CHECK(pc_lgemm(x, y, z, 2, 2, 2, 23, -1) == PC_ERR_THREADS, "threads=-1");
    CHECK(pc_lgemm(x, y, z, 2, 2, 2, 23, PC_MAX_THREADS + 1) == PC_ERR_THREADS, "threads big");
    CHECK(pc_lgemm(x, y, z, SIZE_MAX / 2, 4, 2, 23, 1) == PC_ERR_SIZE, "lgemm m*n overflow");
    CHECK(pc_lgemm(x, y, z, 2, SIZE_MAX / 2, 4, 23, 1) == PC_ERR_SIZE, "lgemm n*p overflow");
    CHECK(pc_lgemm(x, y, z, (size_t)1 << 40, (size_t)1 << 30, 1, 23, 1) == PC_ERR_SIZE,
          "lgemm too big");
    CHECK(pc_lgemm(NULL, NULL, NULL, 0, 5, 0, 23, 1) == PC_OK, "lgemm empty");
    CHECK(pc_lgemm(NULL, y, z, 0, 2, 2, 23, 1) == PC_OK, "lgemm m=0");
    z[0] = z[1] = z[2] = z[3] = 9.0f;
    CHECK(pc_lgemm(NULL, NULL, z, 2, 0, 2, 23, 1) == PC_OK, "lgemm n=0");
    CHECK(z[0] == 0.0f && z[3] == 0.0f && !signbit(z[1]), "n=0 gives +0");
    CHECK(pc_set_isa("no-such-isa") == PC_ERR_ISA, "set_isa unknown");
    CHECK(pc_set_isa(NULL) == PC_OK, "set_isa NULL = auto");
    CHECK(pc_set_isa("auto") == PC_OK, "set_isa auto");
    CHECK(strcmp(pc_strerror(PC_OK), "ok") == 0, "strerror ok");
    const int codes[] = {PC_ERR_NULL, PC_ERR_BITS, PC_ERR_SIZE, PC_ERR_THREADS, PC_ERR_NOMEM,
                         PC_ERR_ISA,  PC_ERR_ARG};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; ++i)
        CHECK(strcmp(pc_strerror(codes[i]), "unknown error code") != 0, "code %d", codes[i]);
    CHECK(strcmp(pc_strerror(12345), "unknown error code") == 0, "unknown code");
}

static void check_anchors(void) {
    const float a[3] = {1.0f, 1.5f, -2.0f}, b[3] = {1.0f, 1.5f, 3.0f};
    float out[3];
    CHECK(pc_lmul(a, b, out, 3, 23) == PC_OK, "anchors");
    CHECK(out[0] == 1.0625f && out[1] == 2.125f && out[2] == -6.25f, "%g %g %g", out[0], out[1],
          out[2]);
}

int main(void) {
    static const char* const isas[] = {"baseline", "avx2", "avx512"};
    check_errors();
    for (size_t s = 0; s < 3; ++s) {
        if (pc_set_isa(isas[s]) != PC_OK) {
            printf("isa %-8s not available on this CPU, skipped\n", isas[s]);
            continue;
        }
        CHECK(strcmp(pc_isa(), isas[s]) == 0, "pc_isa %s", pc_isa());
        check_anchors();
        for (int k = 1; k <= 23; ++k) check_lmul_specials(k);
        check_lmul_random(1003, 0);
        check_lmul_random(15, 1);
        check_lmul_random(((size_t)1 << 19) + 37, 1); /* streaming path, unaligned output */
        for (size_t n = 0; n < 40; n += 13) check_ldot(n, 23);
        check_ldot(5000, 3);
        check_ldot(1025, 23);
        check_lgemm(1, 1, 1, 23, 0);
        check_lgemm(1, 300, 1, 23, 0);
        check_lgemm(7, 5, 3, 23, 1);
        check_lgemm(33, 17, 45, 8, 1);
        check_lgemm(9, 300, 40, 23, 0);
        check_lgemm(70, 13, 100, 2, 1);
        check_lgemm(20, 40, 33, 23, 1);
        check_lgemm(3, 0, 4, 23, 0);
        printf("isa %-8s ok\n", isas[s]);
    }
    pc_set_isa("auto");
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("test_native: all checks passed (kernels: %s)\n", pc_isa());
    return 0;
}

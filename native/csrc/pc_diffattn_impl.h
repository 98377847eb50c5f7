/* papercraft-native: the differential-attention kernel, instantiated once per instruction set
 * by pc_diffattn.c (GCC/Clang vector extensions, compiled under that set's target attribute).
 *
 * Parameters (macros set by the includer):
 *   PC_SFX   name suffix            PC_ATTR  function attributes (a target)
 *   PC_VW    floats per vector      PC_RV    vectors per query block: BR = PC_VW * PC_RV rows
 *   PC_JT    keys per QK register tile (PC_JT x PC_RV accumulators)
 *   PC_RT    query rows per PV register tile, PC_CV value vectors per PV register tile
 *            (2 * PC_RT * PC_CV accumulators: both maps share the loaded values)
 *   PC_BRT   rows per register tile of the backward's products (PC_BRT x PC_CV accumulators)
 *
 * One task = one head and one block of BR query rows. Its queries are packed transposed and
 * pre-scaled by log2(e) / sqrt(d), so that the scores of a key block come out transposed,
 * S[j][r], with the query rows along the vector lanes: the running max / sum of each row are
 * then plain lane-wise operations, and the keys are read in place (broadcasts). Per block of
 * PC_BC keys and for each of the two maps: scores, causal mask on the diagonal block, new row
 * max m', p = 2^(s - m'), alpha = 2^(m - m'), l = alpha * l + sum p; then
 * O1 = alpha1 * O1 + P1^T V and O2 = alpha2 * O2 + P2^T V in one sweep over V. At the end
 * out = O1 / l1 - lambda * O2 / l2.
 * No include guard: this file is meant to be included several times.
 */
#define PC_CAT_(a, b) a##b
#define PC_CAT(a, b) PC_CAT_(a, b)
#define PC_FN(name) PC_CAT(name, PC_SFX)
#define PC_BR (PC_VW * PC_RV)

typedef float PC_FN(pc_vf_) __attribute__((vector_size(PC_VW * 4)));
typedef int32_t PC_FN(pc_vi_) __attribute__((vector_size(PC_VW * 4)));
#define VF PC_FN(pc_vf_)
#define VI PC_FN(pc_vi_)
#define PC_AI PC_ATTR static inline __attribute__((always_inline))

PC_AI VF PC_FN(ld_)(const float* p) {
    VF v;
    memcpy(&v, p, sizeof v);
    return v;
}

PC_AI void PC_FN(st_)(float* p, VF v) { memcpy(p, &v, sizeof v); }

/* Broadcast. "x - 0" (not "0 + x", which is not x for x = -0 and costs a scalar add) folds
 * to a plain broadcast. */
PC_AI VF PC_FN(bc_)(float x) { return x - (VF){0}; }

PC_AI VF PC_FN(sel_)(VI mask, VF a, VF b) { return (VF)(((VI)a & mask) | ((VI)b & ~mask)); }

PC_AI VF PC_FN(max_)(VF a, VF b) { return PC_FN(sel_)(a > b, a, b); }

/* 2^x for x <= 0 (x < -126, -inf included, gives 0): 2^round(x) * p(x - round(x)) with a
 * degree-6 Taylor polynomial of 2^f on [-1/2, 1/2] (relative error ~1e-7). */
PC_AI VF PC_FN(exp2_)(VF x) {
    const VI keep = x >= PC_FN(bc_)(-126.0f);
    x = PC_FN(max_)(x, PC_FN(bc_)(-126.0f));
    const VF magic = PC_FN(bc_)(12582912.0f); /* 1.5 * 2^23: adding it rounds to an integer */
    const VF t = x + magic;
    const VF f = x - (t - magic);
    const VI e = (VI)t - (VI)magic;
    const VF scale = (VF)((e + 127) << 23);
    VF p = PC_FN(bc_)(1.5403530393381608e-4f);
    p = p * f + 1.3333558146428443e-3f;
    p = p * f + 9.6181291076284772e-3f;
    p = p * f + 5.5504108664821580e-2f;
    p = p * f + 2.4022650695910071e-1f;
    p = p * f + 6.9314718055994531e-1f;
    p = p * f + 1.0f;
    return (VF)((VI)(p * scale) & keep);
}

/* S[j][0:BR] = sum_l k[j][l] * QT[l][0:BR] for j < jt (k: jt rows of length d). */
PC_AI void PC_FN(qk_tile_)(const float* PC_RESTRICT k, size_t d, const float* PC_RESTRICT QT,
                           float* PC_RESTRICT S, const int jt) {
    VF acc[PC_JT][PC_RV];
#pragma GCC unroll 16
    for (int j = 0; j < jt; ++j)
#pragma GCC unroll 16
        for (int r = 0; r < PC_RV; ++r) acc[j][r] = PC_FN(bc_)(0.0f);
    for (size_t l = 0; l < d; ++l) {
        VF q[PC_RV];
#pragma GCC unroll 16
        for (int r = 0; r < PC_RV; ++r) q[r] = PC_FN(ld_)(QT + l * PC_BR + (size_t)r * PC_VW);
#pragma GCC unroll 16
        for (int j = 0; j < jt; ++j) {
            const VF kb = PC_FN(bc_)(k[(size_t)j * d + l]);
#pragma GCC unroll 16
            for (int r = 0; r < PC_RV; ++r) acc[j][r] += kb * q[r];
        }
    }
#pragma GCC unroll 16
    for (int j = 0; j < jt; ++j)
#pragma GCC unroll 16
        for (int r = 0; r < PC_RV; ++r) PC_FN(st_)(S + (size_t)j * PC_BR + (size_t)r * PC_VW, acc[j][r]);
}

/* Scores of keys [j0, j0 + jc) against the packed query block: S[j][r]. */
PC_AI void PC_FN(scores_)(const float* PC_RESTRICT k, size_t d, const float* PC_RESTRICT QT,
                          float* PC_RESTRICT S, size_t jc) {
    size_t j = 0;
    for (; j + PC_JT <= jc; j += PC_JT) PC_FN(qk_tile_)(k + j * d, d, QT, S + j * PC_BR, PC_JT);
    for (; j < jc; ++j) PC_FN(qk_tile_)(k + j * d, d, QT, S + j * PC_BR, 1);
}

/* Causal mask of a block on the diagonal: S[j][r] = -inf where key j0 + j > query r0 + r. */
PC_AI void PC_FN(mask_)(float* S, size_t jc, size_t j0, size_t r0) {
    float iota[PC_BR];
    for (int r = 0; r < PC_BR; ++r) iota[r] = (float)r;
    const VF minf = PC_FN(bc_)(-INFINITY);
    for (size_t j = 0; j < jc; ++j) {
        if (j0 + j <= r0) continue;
        const size_t lim = j0 + j - r0; /* rows r < lim are masked */
        if (lim >= PC_BR) {
            for (int r = 0; r < PC_RV; ++r) PC_FN(st_)(S + j * PC_BR + (size_t)r * PC_VW, minf);
            continue;
        }
        const VF limv = PC_FN(bc_)((float)lim);
        for (int r = 0; r < PC_RV; ++r) {
            float* p = S + j * PC_BR + (size_t)r * PC_VW;
            const VI masked = PC_FN(ld_)(iota + r * PC_VW) < limv;
            PC_FN(st_)(p, PC_FN(sel_)(masked, minf, PC_FN(ld_)(p)));
        }
    }
}

/* Online-softmax step of one map over jc keys: S becomes p = 2^(s - m'), m and l are
 * updated, alpha = 2^(m - m') is the factor for the row's accumulator. */
PC_AI void PC_FN(softmax_)(float* PC_RESTRICT S, size_t jc, float* PC_RESTRICT m,
                           float* PC_RESTRICT l, float* PC_RESTRICT alpha) {
    const VF minf = PC_FN(bc_)(-INFINITY);
    for (int r = 0; r < PC_RV; ++r) {
        const size_t o = (size_t)r * PC_VW;
        const VF m_old = PC_FN(ld_)(m + o);
        VF mx = m_old;
        for (size_t j = 0; j < jc; ++j) mx = PC_FN(max_)(mx, PC_FN(ld_)(S + j * PC_BR + o));
        /* A row with nothing seen yet keeps m = -inf; subtract 0 there instead (no NaN). */
        const VF base = (VF)((VI)mx & (mx > minf));
        const VF a = PC_FN(exp2_)(m_old - base);
        VF sum = PC_FN(bc_)(0.0f);
        for (size_t j = 0; j < jc; ++j) {
            const VF p = PC_FN(exp2_)(PC_FN(ld_)(S + j * PC_BR + o) - base);
            PC_FN(st_)(S + j * PC_BR + o, p);
            sum += p;
        }
        PC_FN(st_)(l + o, PC_FN(ld_)(l + o) * a + sum);
        PC_FN(st_)(m + o, mx);
        PC_FN(st_)(alpha + o, a);
    }
}

/* Rows [0, rt) x columns [0, cv * PC_VW) of O1 / O2 (row stride ld):
 * O = alpha * O + P^T V over jc keys (P: [jc][BR], offset to the first row; V: row stride dv). */
PC_AI void PC_FN(pv_tile_)(const float* PC_RESTRICT P1, const float* PC_RESTRICT P2,
                           const float* PC_RESTRICT V, size_t dv, size_t jc, float* O1, float* O2,
                           size_t ld, const float* a1, const float* a2, const int rt,
                           const int cv) {
    VF acc1[PC_RT][PC_CV], acc2[PC_RT][PC_CV];
#pragma GCC unroll 16
    for (int i = 0; i < rt; ++i) {
        const VF s1 = PC_FN(bc_)(a1[i]), s2 = PC_FN(bc_)(a2[i]);
#pragma GCC unroll 16
        for (int c = 0; c < cv; ++c) {
            acc1[i][c] = PC_FN(ld_)(O1 + (size_t)i * ld + (size_t)c * PC_VW) * s1;
            acc2[i][c] = PC_FN(ld_)(O2 + (size_t)i * ld + (size_t)c * PC_VW) * s2;
        }
    }
    for (size_t j = 0; j < jc; ++j) {
        VF vv[PC_CV];
#pragma GCC unroll 16
        for (int c = 0; c < cv; ++c) vv[c] = PC_FN(ld_)(V + j * dv + (size_t)c * PC_VW);
#pragma GCC unroll 16
        for (int i = 0; i < rt; ++i) {
            const VF p1 = PC_FN(bc_)(P1[j * PC_BR + (size_t)i]);
            const VF p2 = PC_FN(bc_)(P2[j * PC_BR + (size_t)i]);
#pragma GCC unroll 16
            for (int c = 0; c < cv; ++c) {
                acc1[i][c] += p1 * vv[c];
                acc2[i][c] += p2 * vv[c];
            }
        }
    }
#pragma GCC unroll 16
    for (int i = 0; i < rt; ++i)
#pragma GCC unroll 16
        for (int c = 0; c < cv; ++c) {
            PC_FN(st_)(O1 + (size_t)i * ld + (size_t)c * PC_VW, acc1[i][c]);
            PC_FN(st_)(O2 + (size_t)i * ld + (size_t)c * PC_VW, acc2[i][c]);
        }
}

/* O1/O2 rows [0, rows) (stride dv) += P^T V for keys [0, jc) after the alpha rescale. */
PC_AI void PC_FN(pv_)(const float* PC_RESTRICT P1, const float* PC_RESTRICT P2,
                      const float* PC_RESTRICT V, size_t dv, size_t jc, size_t rows, float* O1,
                      float* O2, const float* a1, const float* a2) {
    const size_t wide = (size_t)PC_CV * PC_VW;
    size_t i = 0;
    for (; i + PC_RT <= rows; i += PC_RT) {
        size_t c = 0;
        for (; c + wide <= dv; c += wide)
            PC_FN(pv_tile_)(P1 + i, P2 + i, V + c, dv, jc, O1 + i * dv + c, O2 + i * dv + c, dv,
                            a1 + i, a2 + i, PC_RT, PC_CV);
        for (; c + PC_VW <= dv; c += PC_VW)
            PC_FN(pv_tile_)(P1 + i, P2 + i, V + c, dv, jc, O1 + i * dv + c, O2 + i * dv + c, dv,
                            a1 + i, a2 + i, PC_RT, 1);
    }
    for (; i < rows; ++i) {
        size_t c = 0;
        for (; c + wide <= dv; c += wide)
            PC_FN(pv_tile_)(P1 + i, P2 + i, V + c, dv, jc, O1 + i * dv + c, O2 + i * dv + c, dv,
                            a1 + i, a2 + i, 1, PC_CV);
        for (; c + PC_VW <= dv; c += PC_VW)
            PC_FN(pv_tile_)(P1 + i, P2 + i, V + c, dv, jc, O1 + i * dv + c, O2 + i * dv + c, dv,
                            a1 + i, a2 + i, 1, 1);
    }
    const size_t ctail = dv - dv % PC_VW;
    if (ctail == dv) return;
    for (size_t r = 0; r < rows; ++r) { /* the last dv % PC_VW columns, scalar */
        float* o1 = O1 + r * dv;
        float* o2 = O2 + r * dv;
        for (size_t c = ctail; c < dv; ++c) {
            float s1 = o1[c] * a1[r], s2 = o2[c] * a2[r];
            for (size_t j = 0; j < jc; ++j) {
                s1 += P1[j * PC_BR + r] * V[j * dv + c];
                s2 += P2[j * PC_BR + r] * V[j * dv + c];
            }
            o1[c] = s1;
            o2[c] = s2;
        }
    }
}

/* One task: head data pointers already offset; query rows [r0, r0 + rows). */
PC_ATTR static void PC_FN(task_)(const pc_diff_args* A, float* scratch, size_t bh, size_t r0,
                                 size_t rows) {
    const size_t n = A->n, d = A->d, dv = 2 * d;
    const float* q1 = A->q1 + bh * n * d;
    const float* q2 = A->q2 + bh * n * d;
    const float* k1 = A->k1 + bh * n * d;
    const float* k2 = A->k2 + bh * n * d;
    const float* v = A->v + bh * n * dv;
    float* out = A->out + bh * n * dv;
    pc_diff_scratch s = pc_diff_scratch_layout(scratch, d, PC_BR);

    /* Pack the queries transposed, scaled by log2(e) / sqrt(d); padding rows are 0. */
    const float scale = A->scale;
    for (size_t l = 0; l < d; ++l)
        for (size_t r = 0; r < PC_BR; ++r) {
            s.qt1[l * PC_BR + r] = r < rows ? q1[(r0 + r) * d + l] * scale : 0.0f;
            s.qt2[l * PC_BR + r] = r < rows ? q2[(r0 + r) * d + l] * scale : 0.0f;
        }
    for (size_t r = 0; r < PC_BR; ++r) {
        s.m1[r] = s.m2[r] = -INFINITY;
        s.l1[r] = s.l2[r] = 0.0f;
    }
    memset(s.o1, 0, PC_BR * dv * sizeof(float));
    memset(s.o2, 0, PC_BR * dv * sizeof(float));

    const size_t kend = A->causal ? r0 + rows : n; /* keys past the last row are all masked */
    for (size_t j0 = 0; j0 < kend; j0 += PC_BC) {
        const size_t jc = kend - j0 < PC_BC ? kend - j0 : PC_BC;
        PC_FN(scores_)(k1 + j0 * d, d, s.qt1, s.s1, jc);
        PC_FN(scores_)(k2 + j0 * d, d, s.qt2, s.s2, jc);
        if (A->causal && j0 + jc - 1 > r0) {
            PC_FN(mask_)(s.s1, jc, j0, r0);
            PC_FN(mask_)(s.s2, jc, j0, r0);
        }
        PC_FN(softmax_)(s.s1, jc, s.m1, s.l1, s.a1);
        PC_FN(softmax_)(s.s2, jc, s.m2, s.l2, s.a2);
        PC_FN(pv_)(s.s1, s.s2, v + j0 * dv, dv, jc, rows, s.o1, s.o2, s.a1, s.a2);
    }
    const float lam = A->lambda_;
    for (size_t r = 0; r < rows; ++r) {
        const float c1 = 1.0f / s.l1[r], c2 = lam / s.l2[r];
        const float* o1 = s.o1 + r * dv;
        const float* o2 = s.o2 + r * dv;
        float* dst = out + (r0 + r) * dv;
        for (size_t c = 0; c < dv; ++c) dst[c] = o1[c] * c1 - o2[c] * c2;
    }
    /* Training forward: what the backward pass needs (o2 = softmax2 v, natural-log lse). */
    if (A->o2s) {
        for (size_t r = 0; r < rows; ++r) {
            const float c2 = 1.0f / s.l2[r];
            const float* o2 = s.o2 + r * dv;
            float* dst = A->o2s + bh * n * dv + (r0 + r) * dv;
            for (size_t c = 0; c < dv; ++c) dst[c] = o2[c] * c2;
        }
        for (size_t r = 0; r < rows; ++r) {
            A->lse1[bh * n + r0 + r] =
                (float)(((double)s.m1[r] + log2((double)s.l1[r])) * 0.6931471805599453);
            A->lse2[bh * n + r0 + r] =
                (float)(((double)s.m2[r] + log2((double)s.l2[r])) * 0.6931471805599453);
        }
    }
}

/* ---------------------------------------------------------------- backward
 * Recompute-based, as FlashAttention's: with the saved log-sum-exp rows, P = 2^(s - lse) is
 * recomputed tile by tile ([key][row] layout as above, rows along the lanes), so no n x n
 * matrix is stored. Two sweeps: one task per (head, query block) accumulates dq1 / dq2 over
 * the keys; one task per (head, key block) accumulates dk1 / dk2 / dv over the queries. Each
 * output element is written by one task only: results do not depend on the threads. */

/* C[a][0:cv*VW] += sum_{b < kb} A[a * sa + b * sb] * B[b * ldb + 0:cv*VW] for a < rt. */
PC_AI void PC_FN(acc_tile_)(const float* PC_RESTRICT A, size_t sa, size_t sb,
                            const float* PC_RESTRICT B, size_t ldb, size_t kb, float* C,
                            size_t ldc, const int rt, const int cv) {
    VF acc[PC_BRT][PC_CV];
#pragma GCC unroll 16
    for (int i = 0; i < rt; ++i)
#pragma GCC unroll 16
        for (int c = 0; c < cv; ++c) acc[i][c] = PC_FN(ld_)(C + (size_t)i * ldc + (size_t)c * PC_VW);
    for (size_t b = 0; b < kb; ++b) {
        VF x[PC_CV];
#pragma GCC unroll 16
        for (int c = 0; c < cv; ++c) x[c] = PC_FN(ld_)(B + b * ldb + (size_t)c * PC_VW);
#pragma GCC unroll 16
        for (int i = 0; i < rt; ++i) {
            const VF a = PC_FN(bc_)(A[(size_t)i * sa + b * sb]);
#pragma GCC unroll 16
            for (int c = 0; c < cv; ++c) acc[i][c] += a * x[c];
        }
    }
#pragma GCC unroll 16
    for (int i = 0; i < rt; ++i)
#pragma GCC unroll 16
        for (int c = 0; c < cv; ++c) PC_FN(st_)(C + (size_t)i * ldc + (size_t)c * PC_VW, acc[i][c]);
}

/* C[a][0:w] (row stride ldc) += sum_{b < kb} A[a * sa + b * sb] * B[b][0:w] for a < ma. */
PC_AI void PC_FN(acc_)(const float* PC_RESTRICT A, size_t sa, size_t sb,
                       const float* PC_RESTRICT B, size_t ldb, size_t kb, float* C, size_t ldc,
                       size_t ma, size_t w) {
    const size_t wide = (size_t)PC_CV * PC_VW;
    size_t a = 0;
    for (; a + PC_BRT <= ma; a += PC_BRT) {
        size_t c = 0;
        for (; c + wide <= w; c += wide)
            PC_FN(acc_tile_)(A + a * sa, sa, sb, B + c, ldb, kb, C + a * ldc + c, ldc, PC_BRT,
                             PC_CV);
        for (; c + PC_VW <= w; c += PC_VW)
            PC_FN(acc_tile_)(A + a * sa, sa, sb, B + c, ldb, kb, C + a * ldc + c, ldc, PC_BRT, 1);
    }
    for (; a < ma; ++a) {
        size_t c = 0;
        for (; c + wide <= w; c += wide)
            PC_FN(acc_tile_)(A + a * sa, sa, sb, B + c, ldb, kb, C + a * ldc + c, ldc, 1, PC_CV);
        for (; c + PC_VW <= w; c += PC_VW)
            PC_FN(acc_tile_)(A + a * sa, sa, sb, B + c, ldb, kb, C + a * ldc + c, ldc, 1, 1);
    }
    const size_t ctail = w - w % PC_VW;
    for (a = 0; ctail < w && a < ma; ++a) /* the last w % PC_VW columns, scalar */
        for (size_t c = ctail; c < w; ++c) {
            float acc = C[a * ldc + c];
            for (size_t b = 0; b < kb; ++b) acc += A[a * sa + b * sb] * B[b * ldb + c];
            C[a * ldc + c] = acc;
        }
}

/* T[l][r] = x[r][l] * scale for r < rows (x: rows x w, row-major), 0 for the padding rows. */
PC_AI void PC_FN(pack_t_)(const float* PC_RESTRICT x, size_t w, size_t rows, float scale,
                          float* PC_RESTRICT T) {
    for (size_t l = 0; l < w; ++l)
        for (size_t r = 0; r < PC_BR; ++r) T[l * PC_BR + r] = r < rows ? x[r * w + l] * scale : 0.0f;
}

/* Scores S[j][r] (log2 units) of jc keys become p = 2^(s - lse[r]) (lse in log2 units). */
PC_AI void PC_FN(probs_)(float* S, size_t jc, const float* lse) {
    for (int r = 0; r < PC_RV; ++r) {
        const size_t o = (size_t)r * PC_VW;
        const VF L = PC_FN(ld_)(lse + o);
        for (size_t j = 0; j < jc; ++j)
            PC_FN(st_)(S + j * PC_BR + o, PC_FN(exp2_)(PC_FN(ld_)(S + j * PC_BR + o) - L));
    }
}

/* W = P1 - lambda P2 (when W is not NULL); P1 <- P1 (dP - D1); P2 <- P2 (dP - D2). */
PC_AI void PC_FN(dscores_)(float* P1, float* P2, const float* dP, float* W, size_t jc,
                           const float* D1, const float* D2, float lam) {
    const VF lv = PC_FN(bc_)(lam);
    for (int r = 0; r < PC_RV; ++r) {
        const size_t o = (size_t)r * PC_VW;
        const VF d1 = PC_FN(ld_)(D1 + o), d2 = PC_FN(ld_)(D2 + o);
        for (size_t j = 0; j < jc; ++j) {
            const size_t at = j * PC_BR + o;
            const VF p1 = PC_FN(ld_)(P1 + at), p2 = PC_FN(ld_)(P2 + at), dp = PC_FN(ld_)(dP + at);
            if (W) PC_FN(st_)(W + at, p1 - lv * p2);
            PC_FN(st_)(P1 + at, p1 * (dp - d1));
            PC_FN(st_)(P2 + at, p2 * (dp - d2));
        }
    }
}

/* Row statistics of query rows [i0, i0 + rows) of head h: lse in log2 units, D1, D2 (from the
 * shared [bh][n][2] array). Padding rows get lse = +inf (p = 0) and D = 0. */
PC_AI void PC_FN(rowstats_)(const pc_diff_bargs* A, size_t h, size_t i0, size_t rows,
                            pc_diff_bscratch* s) {
    for (size_t r = 0; r < PC_BR; ++r) {
        const size_t i = h * A->n + i0 + r;
        s->l1[r] = r < rows ? A->lse1[i] * 1.4426950408889634f : INFINITY;
        s->l2[r] = r < rows ? A->lse2[i] * 1.4426950408889634f : INFINITY;
        s->d1[r] = r < rows ? A->dd[2 * i] : 0.0f;
        s->d2[r] = r < rows ? A->dd[2 * i + 1] : 0.0f;
    }
}

/* Backward task 1: head h, query rows [r0, r0 + rows): D1 = dout . (out + lambda o2) and
 * D2 = dout . o2 per row (into the shared array), then dq1, dq2 over the keys. */
PC_ATTR static void PC_FN(bwd_q_task_)(const pc_diff_bargs* A, float* scratch, size_t h,
                                       size_t r0, size_t rows) {
    const size_t n = A->n, d = A->d, dv = 2 * d;
    const size_t hq = h * n * d, hv = h * n * dv;
    const float lam = A->lambda_;
    for (size_t r = 0; r < rows; ++r) {
        const float* g = A->dout + hv + (r0 + r) * dv;
        const float* o = A->out + hv + (r0 + r) * dv;
        const float* o2 = A->o2 + hv + (r0 + r) * dv;
        double a = 0.0, b = 0.0;
        for (size_t c = 0; c < dv; ++c) {
            a += (double)g[c] * ((double)o[c] + (double)lam * (double)o2[c]);
            b += (double)g[c] * (double)o2[c];
        }
        A->dd[2 * (h * n + r0 + r)] = (float)a;
        A->dd[2 * (h * n + r0 + r) + 1] = (float)b;
    }
    pc_diff_bscratch s = pc_diff_bscratch_layout(scratch, d, PC_BR);
    PC_FN(rowstats_)(A, h, r0, rows, &s);
    PC_FN(pack_t_)(A->q1 + hq + r0 * d, d, rows, A->scale, s.qt1);
    PC_FN(pack_t_)(A->q2 + hq + r0 * d, d, rows, A->scale, s.qt2);
    PC_FN(pack_t_)(A->dout + hv + r0 * dv, dv, rows, 1.0f, s.gt);
    memset(s.acc1, 0, PC_BR * d * sizeof(float));
    memset(s.acc2, 0, PC_BR * d * sizeof(float));
    const float *k1 = A->k1 + hq, *k2 = A->k2 + hq, *v = A->v + hv;
    const size_t kend = A->causal ? r0 + rows : n;
    for (size_t j0 = 0; j0 < kend; j0 += PC_BC) {
        const size_t jc = kend - j0 < PC_BC ? kend - j0 : PC_BC;
        PC_FN(scores_)(k1 + j0 * d, d, s.qt1, s.s1, jc);
        PC_FN(scores_)(k2 + j0 * d, d, s.qt2, s.s2, jc);
        PC_FN(scores_)(v + j0 * dv, dv, s.gt, s.dp, jc);
        if (A->causal && j0 + jc - 1 > r0) {
            PC_FN(mask_)(s.s1, jc, j0, r0);
            PC_FN(mask_)(s.s2, jc, j0, r0);
        }
        PC_FN(probs_)(s.s1, jc, s.l1);
        PC_FN(probs_)(s.s2, jc, s.l2);
        PC_FN(dscores_)(s.s1, s.s2, s.dp, NULL, jc, s.d1, s.d2, lam);
        PC_FN(acc_)(s.s1, 1, PC_BR, k1 + j0 * d, d, jc, s.acc1, d, rows, d);
        PC_FN(acc_)(s.s2, 1, PC_BR, k2 + j0 * d, d, jc, s.acc2, d, rows, d);
    }
    const float c1 = A->inv_sqrt_d, c2 = -lam * A->inv_sqrt_d;
    for (size_t r = 0; r < rows; ++r)
        for (size_t l = 0; l < d; ++l) {
            A->dq1[hq + (r0 + r) * d + l] = s.acc1[r * d + l] * c1;
            A->dq2[hq + (r0 + r) * d + l] = s.acc2[r * d + l] * c2;
        }
}

/* Backward task 2: head h, keys [j0, j0 + jc): dk1, dk2, dv over the query blocks that see
 * them (D1 / D2 from task 1). */
PC_ATTR static void PC_FN(bwd_kv_task_)(const pc_diff_bargs* A, float* scratch, size_t h,
                                        size_t j0, size_t jc) {
    const size_t n = A->n, d = A->d, dv = 2 * d;
    const size_t hq = h * n * d, hv = h * n * dv;
    const float lam = A->lambda_;
    pc_diff_bscratch s = pc_diff_bscratch_layout(scratch, d, PC_BR);
    memset(s.acc1, 0, PC_BC * d * sizeof(float));
    memset(s.acc2, 0, PC_BC * d * sizeof(float));
    memset(s.accv, 0, PC_BC * dv * sizeof(float));
    const float *k1 = A->k1 + hq + j0 * d, *k2 = A->k2 + hq + j0 * d, *v = A->v + hv + j0 * dv;
    const float *q1 = A->q1 + hq, *q2 = A->q2 + hq, *g = A->dout + hv;
    for (size_t i0 = A->causal ? j0 / PC_BR * PC_BR : 0; i0 < n; i0 += PC_BR) {
        const size_t rows = n - i0 < PC_BR ? n - i0 : PC_BR;
        PC_FN(rowstats_)(A, h, i0, rows, &s);
        PC_FN(pack_t_)(q1 + i0 * d, d, rows, A->scale, s.qt1);
        PC_FN(pack_t_)(q2 + i0 * d, d, rows, A->scale, s.qt2);
        PC_FN(pack_t_)(g + i0 * dv, dv, rows, 1.0f, s.gt);
        PC_FN(scores_)(k1, d, s.qt1, s.s1, jc);
        PC_FN(scores_)(k2, d, s.qt2, s.s2, jc);
        PC_FN(scores_)(v, dv, s.gt, s.dp, jc);
        if (A->causal && j0 + jc - 1 > i0) {
            PC_FN(mask_)(s.s1, jc, j0, i0);
            PC_FN(mask_)(s.s2, jc, j0, i0);
        }
        PC_FN(probs_)(s.s1, jc, s.l1);
        PC_FN(probs_)(s.s2, jc, s.l2);
        PC_FN(dscores_)(s.s1, s.s2, s.dp, s.w, jc, s.d1, s.d2, lam);
        PC_FN(acc_)(s.w, PC_BR, 1, g + i0 * dv, dv, rows, s.accv, dv, jc, dv);
        PC_FN(acc_)(s.s1, PC_BR, 1, q1 + i0 * d, d, rows, s.acc1, d, jc, d);
        PC_FN(acc_)(s.s2, PC_BR, 1, q2 + i0 * d, d, rows, s.acc2, d, jc, d);
    }
    const float c1 = A->inv_sqrt_d, c2 = -lam * A->inv_sqrt_d;
    for (size_t j = 0; j < jc; ++j) {
        for (size_t l = 0; l < d; ++l) {
            A->dk1[hq + (j0 + j) * d + l] = s.acc1[j * d + l] * c1;
            A->dk2[hq + (j0 + j) * d + l] = s.acc2[j * d + l] * c2;
        }
        memcpy(A->dv + hv + (j0 + j) * dv, s.accv + j * dv, dv * sizeof(float));
    }
}

#undef VF
#undef VI
#undef PC_AI
#undef PC_BR

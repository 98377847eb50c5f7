/* papercraft-native: the differential-attention kernel, instantiated once per instruction set
 * by pc_diffattn.c (GCC/Clang vector extensions, compiled under that set's target attribute).
 *
 * Parameters (macros set by the includer):
 *   PC_SFX   name suffix            PC_ATTR  function attributes (a target)
 *   PC_VW    floats per vector      PC_RV    vectors per query block: BR = PC_VW * PC_RV rows
 *   PC_JT    keys per QK register tile (PC_JT x PC_RV accumulators)
 *   PC_RT    query rows per PV register tile, PC_CV value vectors per PV register tile
 *            (2 * PC_RT * PC_CV accumulators: both maps share the loaded values)
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
}

#undef VF
#undef VI
#undef PC_AI
#undef PC_BR

/* papercraft-native: L-Mul kernels, instantiated once per instruction set by pc_lmul.c.
 *
 * Parameters (macros set by the includer): PC_SFX (name suffix), PC_ATTR (function attributes,
 * e.g. a target), PC_MR x PC_NR (register tile of the micro-kernel) and PC_MICRO (the
 * micro-kernel: acc[PC_MR][PC_NR] += kc packed steps, see pc_lmul.c for the encoding) and
 * PC_LMUL_LOOP (the elementwise loop of this instruction set).
 *
 * Packed layouts (uint32 words):
 *   A group (PC_MR rows of a, kc columns): per step l: code[PC_MR], lo[PC_MR], cc[PC_MR];
 *   B panel (PC_NR columns of b, all n rows): per step l: code[PC_NR], w[PC_NR] (float bits).
 * No include guard: this file is meant to be included several times.
 */
#define PC_CAT_(a, b) a##b
#define PC_CAT(a, b) PC_CAT_(a, b)
#define PC_FN(name) PC_CAT(name, PC_SFX)

/* Packs panels [panel0, panel1) of b; flags the columns that hold NaN/Inf after rounding
 * (they are packed as zeros and recomputed by fix_col). */
PC_ATTR static void PC_FN(pack_b_)(const pc_gemm* g, size_t panel0, size_t panel1) {
    const size_t n = g->n, p = g->p;
    const pc_kparams kp = g->kp;
    for (size_t jp = panel0; jp < panel1; ++jp) {
        uint32_t* PC_RESTRICT dst = g->bpack + jp * n * 2 * PC_NR;
        const size_t j0 = jp * PC_NR;
        const size_t nr = p - j0 < PC_NR ? p - j0 : PC_NR;
        uint32_t flag[PC_NR];
        for (size_t j = 0; j < PC_NR; ++j) flag[j] = 0;
        for (size_t l = 0; l < n; ++l) {
            const float* src = g->b + l * p + j0;
            for (size_t j = 0; j < PC_NR; ++j) {
                const uint32_t x = j < nr ? pc_f2u(src[j]) : 0u;
                uint32_t u = pc_prep_abs(x, kp);
                const uint32_t special = u >= PC_INF;
                flag[j] |= special;
                u = special ? 0u : u;
                dst[j] = u;
                dst[PC_NR + j] = u == 0u ? 0u : (PC_ONE | (x & PC_SIGN));
            }
            dst += 2 * PC_NR;
        }
        for (size_t j = 0; j < nr; ++j) g->colflag[j0 + j] = (unsigned char)flag[j];
    }
}

/* Packs rows [i0, i0 + mc) x columns [l0, l0 + kc) of a into ceil(mc / PC_MR) groups; flags
 * rows that hold NaN/Inf after rounding (packed as zeros, recomputed by fix_row). */
PC_ATTR static inline void PC_FN(pack_a_)(const pc_gemm* g, uint32_t* PC_RESTRICT dst, size_t i0,
                                          size_t mc, size_t l0, size_t kc) {
    const size_t n = g->n;
    const pc_kparams kp = g->kp;
    const uint32_t lo = kp.c + PC_MIN_NORMAL - 1u - PC_SIGN;
    for (size_t r0 = 0; r0 < mc; r0 += PC_MR) {
        for (size_t r = 0; r < PC_MR; ++r) {
            const size_t row = i0 + r0 + r;
            const int valid = r0 + r < mc;
            const float* src = g->a + (valid ? row * n + l0 : 0);
            uint32_t flag = 0;
            uint32_t* PC_RESTRICT d = dst + r;
            for (size_t l = 0; l < kc; ++l) {
                const uint32_t x = valid ? pc_f2u(src[l]) : 0u;
                uint32_t u = pc_prep_abs(x, kp);
                const uint32_t special = u >= PC_INF;
                flag |= special;
                u = special ? 0u : u;
                d[0] = u - PC_SIGN;
                d[PC_MR] = u == 0u ? (uint32_t)INT32_MAX : lo;
                d[2 * PC_MR] = kp.c ^ ((x & PC_SIGN) ? 0u : PC_SIGN);
                d += 3 * PC_MR;
            }
            if (valid && flag) g->rowflag[row] = 1;
        }
        dst += kc * 3 * PC_MR;
    }
}

/* c[0:mr, 0:nr] (+)= one packed A group times one packed B panel slice. */
PC_ATTR static inline void PC_FN(tile_)(size_t kc, const uint32_t* A, const uint32_t* B,
                                        float* c, size_t ldc, size_t mr, size_t nr, int first,
                                        int32_t hi) {
    float acc[PC_MR * PC_NR];
    for (size_t r = 0; r < PC_MR; ++r)
        for (size_t j = 0; j < PC_NR; ++j)
            acc[r * PC_NR + j] = (!first && r < mr && j < nr) ? c[r * ldc + j] : 0.0f;
    PC_MICRO(kc, A, B, acc, hi);
    for (size_t r = 0; r < mr; ++r)
        for (size_t j = 0; j < nr; ++j) c[r * ldc + j] = acc[r * PC_NR + j];
}

/* Rows [i0, i0 + mc) of c, mc <= PC_MC: for each K block, pack that block of a, then run the
 * micro-kernel over every B panel. */
PC_ATTR static void PC_FN(compute_rows_)(const pc_gemm* g, uint32_t* apack, size_t i0,
                                         size_t i1) {
    const size_t n = g->n, p = g->p, mc = i1 - i0;
    const int32_t hi = (int32_t)(g->kp.c + PC_INF - PC_SIGN);
    for (size_t l0 = 0; l0 < n; l0 += PC_KC) {
        const size_t kc = n - l0 < PC_KC ? n - l0 : PC_KC;
        PC_FN(pack_a_)(g, apack, i0, mc, l0, kc);
        for (size_t jp = 0; jp < g->npanels; ++jp) {
            const uint32_t* B = g->bpack + (jp * n + l0) * 2 * PC_NR;
            const size_t j0 = jp * PC_NR;
            const size_t nr = p - j0 < PC_NR ? p - j0 : PC_NR;
            for (size_t r0 = 0; r0 < mc; r0 += PC_MR) {
                const size_t mr = mc - r0 < PC_MR ? mc - r0 : PC_MR;
                PC_FN(tile_)(kc, apack + r0 * kc * 3, B, g->c + (i0 + r0) * p + j0, p, mr, nr,
                             l0 == 0, hi);
            }
        }
    }
}

/* Exact recomputation of c[i, :] in index order (row i of a holds NaN/Inf). */
PC_ATTR static void PC_FN(fix_row_)(const pc_gemm* g, size_t i) {
    const size_t n = g->n, p = g->p;
    const pc_kparams kp = g->kp;
    float* PC_RESTRICT crow = g->c + i * p;
    for (size_t j = 0; j < p; ++j) crow[j] = 0.0f;
    for (size_t l = 0; l < n; ++l) {
        const uint32_t x = pc_f2u(g->a[i * n + l]);
        const float* PC_RESTRICT brow = g->b + l * p;
        for (size_t j = 0; j < p; ++j) crow[j] += pc_u2f(pc_lmul1(x, pc_f2u(brow[j]), kp));
    }
}

static const pc_impl PC_FN(impl_) = {PC_MR,          PC_NR,
                                     PC_LMUL_LOOP,   PC_FN(pack_b_),
                                     PC_FN(compute_rows_), PC_FN(fix_row_)};

#undef PC_FN
#undef PC_CAT
#undef PC_CAT_

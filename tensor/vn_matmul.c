/* vn_matmul.c — C (+)= op(A) · op(B), and the parallel-for hook.
 *
 * The product is cache-blocked:
 *
 *   for each block of NC columns of C                     (jc)
 *     for each block of KC steps of the inner dimension    (pc)
 *       pack op(B)[pc.., jc..] into panels of NR columns   (an L2-sized block)
 *       for each panel of MR rows of C                     (ir)
 *         for each panel of NR columns                     (jr)
 *           micro-kernel: an MR × NR tile of C held in vector registers
 *           takes kc rank-1 updates, then is stored into (or added to) C.
 *
 * The micro-kernel broadcasts one element of A per row and multiplies it
 * into the two vectors of a row of the B panel (NR = 2 vectors). The
 * vectors are GCC/Clang vector extensions whose width follows the target
 * (AVX-512, AVX, SSE2, or 16 bytes generic); other compilers get the same
 * code on scalars.
 *
 * A is read in place: the kernel takes its row and column strides, and the
 * MR × kc panel of A stays in L1 while the column panels go by. Only SSE2,
 * which cannot broadcast from memory, packs A, pre-splatted. B is packed
 * (copied, or transposed with 4 × 4 shuffles when trans_b) unless few row
 * panels would reuse it and it is small enough to stay in cache; then B is
 * read in place too. With a single column panel (n ≤ NR, as in the
 * 6400×16 · 16×16 products of training) one kernel call runs down all the
 * row panels.
 *
 * Edges: panels of fewer than MR rows use kernels of 4, 2 and 1 rows;
 * panels of fewer than NR columns use a one-vector kernel when they fit in
 * one vector, and spill the tile to the stack otherwise. The B edge panel
 * is packed with zero columns, so no load runs past the end of B. A lone
 * row of C (one row, or up to three with narrow vectors) is done by
 * streaming the rows of B into a row of scratch (mm_row).
 *
 * Summation order. Every element of C is computed the same way whatever
 * the tile it falls in or the split over the parallel-for: for each block
 * of KC inner steps (the blocks depend on k only), an accumulator starts at
 * zero and takes the products in increasing p (with fused multiply-adds
 * where the target has them), and the block's sum is then stored into C
 * (the first block, when not accumulating) or added to it. So the results
 * do not depend on the hook, and are deterministic for a given build.
 * Products of at most VN_MM_TINY multiply-adds use the plain loops instead.
 *
 * Scratch memory is a static buffer (there is no allocator in the core),
 * one slot per parallel task: see VN_MM_SLOTS. vn_gemm is therefore not
 * reentrant: two threads must not run it at once (its own tasks, run by the
 * parallel-for hook, each have their own slot). */
#include "vn_kernels.h"

/* GCC in ISO C mode (-std=c99) does not contract a*b+c into fused
 * multiply-adds; the kernels want them where the target has them. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=fast")
#elif defined(__clang__)
#pragma STDC FP_CONTRACT ON
#endif

/* ---- the parallel-for hook ---------------------------------------------- */

static vn_parallel_for_fn parallel_hook;
static void *parallel_user;

void vn_set_parallel_for(vn_parallel_for_fn fn, void *user) {
    parallel_hook = fn;
    parallel_user = user;
}

void vn_parallel_for(vn_parallel_task run, void *task, size_t count) {
    if (count == 0) return;
    if (parallel_hook) parallel_hook(parallel_user, run, task, count);
    else run(task, 0, count);
}

/* ---- target and blocking --------------------------------------------------- */

#if defined(__GNUC__) || defined(__clang__)
#define VN_MM_GNU 1
#define VN_MM_ALIGNED(n) __attribute__((aligned(n)))
#define VN_MM_INLINE static inline __attribute__((always_inline))
#define VN_MM_NOINLINE static __attribute__((noinline))
#else
#define VN_MM_GNU 0
#define VN_MM_ALIGNED(n)
#define VN_MM_INLINE static inline
#define VN_MM_NOINLINE static
#endif

/* VBYTES: vector width in bytes. MR: rows of the register tile; the tile
 * is MR × 2 vectors (MR·2 accumulators, leaving registers for B).
 * KC: inner steps per block. NC: columns per packed B block. */
#if VN_MM_GNU && defined(__AVX512F__)
#define VN_MM_VBYTES 64
#define VN_MM_MR_DEFAULT 8
#elif VN_MM_GNU && defined(__AVX__)
#define VN_MM_VBYTES 32
#define VN_MM_MR_DEFAULT 6
#elif VN_MM_GNU
#define VN_MM_VBYTES 16
#define VN_MM_MR_DEFAULT 6
#else
#define VN_MM_VBYTES 0
#define VN_MM_MR_DEFAULT 6
#endif

/* Elements per vector, as a literal (for the splat below). */
#if VN_MM_VBYTES == 0
#define VN_MM_VL 1
#elif defined(VN_REAL_DOUBLE)
#if VN_MM_VBYTES == 64
#define VN_MM_VL 8
#elif VN_MM_VBYTES == 32
#define VN_MM_VL 4
#else
#define VN_MM_VL 2
#endif
#else
#if VN_MM_VBYTES == 64
#define VN_MM_VL 16
#elif VN_MM_VBYTES == 32
#define VN_MM_VL 8
#else
#define VN_MM_VL 4
#endif
#endif

#ifndef VN_MM_MR
#define VN_MM_MR VN_MM_MR_DEFAULT
#endif
#define VN_MM_NR (2 * VN_MM_VL)

/* The B block (KC × NC) is about 128 KiB: it stays in L2 while the row
 * panels of A go by. */
#ifndef VN_MM_KC
#define VN_MM_KC 256
#endif
#ifndef VN_MM_NC
#ifdef VN_REAL_DOUBLE
#define VN_MM_NC 64
#else
#define VN_MM_NC 128
#endif
#endif

/* SSE2 has no broadcast from memory: a splat costs a shuffle per element
 * of A, which would bound the kernel. There, when a row panel of A serves
 * enough column panels, it is packed pre-splatted (each element repeated VL
 * times) and the kernel loads whole vectors of it. */
#if VN_MM_GNU && VN_MM_VBYTES == 16 && defined(__SSE2__) && !defined(__AVX__)
#define VN_MM_SPLAT_A 1
#else
#define VN_MM_SPLAT_A 0
#endif
#define VN_MM_SPLAT_MIN_PANELS 4

/* Largest B read in place (see mm_rect). */
#ifndef VN_MM_DIRECT_B_BYTES
#define VN_MM_DIRECT_B_BYTES 2097152.0
#endif

/* Scratch slots: at most this many tasks of one product run at once
 * through the parallel-for hook. */
#ifndef VN_MM_SLOTS
#define VN_MM_SLOTS 4
#endif

/* Products of at most this many multiply-adds use the plain loops. */
#ifndef VN_MM_TINY
#define VN_MM_TINY 48
#endif
/* Products are split over the hook into tasks of at least this many
 * multiply-adds (handing work to another thread costs microseconds). */
#ifndef VN_MM_TASK_MIN
#define VN_MM_TASK_MIN 1048576.0
#endif

VN_STATIC_ASSERT(VN_MM_MR > 4 && VN_MM_MR <= 16, mm_rows);
VN_STATIC_ASSERT(VN_MM_KC >= 16 && VN_MM_NC >= VN_MM_NR && VN_MM_NC % VN_MM_NR == 0,
                 mm_blocking);

/* ---- vectors ------------------------------------------------------------------ */

#if VN_MM_VBYTES > 0
typedef vn_real vn_mm_vec __attribute__((vector_size(VN_MM_VBYTES)));
/* Unaligned, aliasing view for loads and stores at any element address. */
typedef vn_real vn_mm_vec_u __attribute__((vector_size(VN_MM_VBYTES), aligned(sizeof(vn_real)),
                                           may_alias));
#define MM_LOAD(p) (*(const vn_mm_vec_u *)(const void *)(p))
#define MM_STORE(p, v) (*(vn_mm_vec_u *)(void *)(p) = (v))
#define MM_LOAD_ALIGNED(p) (*(const vn_mm_vec *)(const void *)(p))
#define MM_X2(x) x, x
#define MM_X4(x) MM_X2(x), MM_X2(x)
#define MM_X8(x) MM_X4(x), MM_X4(x)
#define MM_X16(x) MM_X8(x), MM_X8(x)
#define MM_CAT_(a, b) a##b
#define MM_CAT(a, b) MM_CAT_(a, b)
/* All lanes x (x is evaluated VL times: pass a plain load). */
#define MM_SPLAT(x) ((vn_mm_vec){MM_CAT(MM_X, VN_MM_VL)(x)})
#else
typedef vn_real vn_mm_vec;
#define MM_LOAD(p) (*(p))
#define MM_STORE(p, v) (*(p) = (v))
#define MM_LOAD_ALIGNED(p) (*(p))
#define MM_SPLAT(x) (x)
#endif

/* ---- scratch ------------------------------------------------------------------ */

/* Per slot: the packed B block (KC × NC = 128 KiB for float and double),
 * and with SSE2 a pre-splatted A panel (KC × MR × VL, 24 KiB). Four slots:
 * 512 KiB of static storage, 608 KiB with SSE2. The B block also holds the
 * row of sums of mm_row. */
#define VN_MM_B_ELEMS ((size_t)VN_MM_KC * VN_MM_NC)
#define VN_MM_A_ELEMS (VN_MM_SPLAT_A ? (size_t)VN_MM_KC * VN_MM_MR * VN_MM_VL : (size_t)0)
#define VN_MM_SLOT_ELEMS (VN_MM_B_ELEMS + VN_MM_A_ELEMS)
VN_STATIC_ASSERT(VN_MM_SLOT_ELEMS * sizeof(vn_real) % 64 == 0, mm_slot_alignment);

static vn_real mm_scratch[VN_MM_SLOTS][VN_MM_SLOT_ELEMS] VN_MM_ALIGNED(64);

/* ---- micro-kernels ---------------------------------------------------------- */

/* Where a tile goes. */
typedef struct mm_out {
    vn_real *c;     /* C at the tile's top-left */
    size_t ldc;     /* row stride of C */
    size_t nr;      /* valid columns of the tile (the rows are all valid) */
    bool first;     /* store into C (true) or add to it */
    size_t panels;  /* tiles to do, going down: the next starts MR rows lower */
    size_t astep;   /* elements of A between the rows of one tile and the next */
} mm_out;

/* Writes a spilled tile (rows × NR, row-major) into C. */
static void mm_write_spill(const mm_out *o, vn_real *c, const vn_real *spill, size_t rows) {
    for (size_t i = 0; i < rows; i++) {
        vn_real *cr = c + i * o->ldc;
        const vn_real *t = spill + i * VN_MM_NR;
        if (o->first)
            for (size_t j = 0; j < o->nr; j++) cr[j] = t[j];
        else
            for (size_t j = 0; j < o->nr; j++) cr[j] = cr[j] + t[j];
    }
}

#define MM_R1(X) X(0)
#define MM_R2(X) MM_R1(X) X(1)
#define MM_R3(X) MM_R2(X) X(2)
#define MM_R4(X) MM_R3(X) X(3)
#define MM_R5(X) MM_R4(X) X(4)
#define MM_R6(X) MM_R5(X) X(5)
#define MM_R7(X) MM_R6(X) X(6)
#define MM_R8(X) MM_R7(X) X(7)
#define MM_R9(X) MM_R8(X) X(8)
#define MM_R10(X) MM_R9(X) X(9)
#define MM_R11(X) MM_R10(X) X(10)
#define MM_R12(X) MM_R11(X) X(11)
#define MM_R13(X) MM_R12(X) X(12)
#define MM_R14(X) MM_R13(X) X(13)
#define MM_R15(X) MM_R14(X) X(14)
#define MM_R16(X) MM_R15(X) X(15)
#define MM_ROWS_(n, X) MM_R##n(X)
#define MM_ROWS(n, X) MM_ROWS_(n, X)

/* Row i of A at step p: ap = a + p·csa. Splatted panels hold vectors. */
#define MM_AV(i) (splat ? MM_LOAD_ALIGNED(ap + (size_t)(i) * VN_MM_VL) \
                        : MM_SPLAT(ap[(size_t)(i) * rsa]))
#define MM_DECL(i) vn_mm_vec c##i##_0 = zero, c##i##_1 = zero;
#define MM_STEP(i)                                     \
    if ((i) < rows) {                                  \
        vn_mm_vec ai = MM_AV(i);                       \
        c##i##_0 += b0 * ai;                           \
        if (wide) c##i##_1 += b1 * ai;                 \
    }
#define MM_OUT(i)                                                            \
    if ((i) < rows) {                                                        \
        vn_real *cr = c + (size_t)(i) * o->ldc;                              \
        if (o->first) {                                                      \
            MM_STORE(cr, c##i##_0);                                          \
            if (wide) MM_STORE(cr + VN_MM_VL, c##i##_1);                     \
        } else {                                                             \
            MM_STORE(cr, MM_LOAD(cr) + c##i##_0);                            \
            if (wide) MM_STORE(cr + VN_MM_VL, MM_LOAD(cr + VN_MM_VL) + c##i##_1); \
        }                                                                    \
    }
#define MM_SPILL(i)                                                          \
    if ((i) < rows) {                                                        \
        MM_STORE(spill + (size_t)(i) * VN_MM_NR, c##i##_0);                  \
        if (wide) MM_STORE(spill + (size_t)(i) * VN_MM_NR + VN_MM_VL, c##i##_1); \
    }

/* kc rank-1 updates of a rows × (wide ? 2 : 1) vectors tile. A element
 * (i, p) is at a[i·rsa + p·csa] (or a splatted vector at a + (p·MR + i)·VL
 * when splat); row p of the B panel starts at b + p·rsb. Instantiated with
 * constant rows, wide and splat, so the unused parts compile away. */
VN_MM_INLINE void mm_kernel(size_t kc, const vn_real *a, size_t rsa, size_t csa, bool splat,
                            int rows, bool wide, const vn_real *b, size_t rsb,
                            const mm_out *o) {
    const vn_mm_vec zero = MM_SPLAT((vn_real)0);
    vn_real *c = o->c;
    for (size_t tile = 0; tile < o->panels; tile++) {
        MM_ROWS(VN_MM_MR, MM_DECL)
        const vn_real *ap = a;
        const vn_real *bp = b;
        for (size_t p = 0; p < kc; p++) {
            vn_mm_vec b0 = MM_LOAD(bp);
            vn_mm_vec b1 = zero;
            if (wide) b1 = MM_LOAD(bp + VN_MM_VL);
            MM_ROWS(VN_MM_MR, MM_STEP)
            ap += csa;
            bp += rsb;
        }
        if (o->nr == (wide ? (size_t)VN_MM_NR : (size_t)VN_MM_VL)) {
            MM_ROWS(VN_MM_MR, MM_OUT)
        } else {
            vn_real spill[VN_MM_MR * VN_MM_NR] VN_MM_ALIGNED(64);
            MM_ROWS(VN_MM_MR, MM_SPILL)
            mm_write_spill(o, c, spill, (size_t)rows);
        }
        a += o->astep;
        c += (size_t)VN_MM_MR * o->ldc;
    }
}

/* The instances. How A is read:
 *   ROWS  — consecutive rows adjacent (Aᵀ in place, astride = m);
 *   COLS  — consecutive steps adjacent (A in place, astride = k);
 *   SPLAT — a pre-splatted packed panel (astride unused). */
typedef void (*mm_kernel_fn)(size_t kc, const vn_real *a, size_t astride, const vn_real *b,
                             size_t rsb, const mm_out *o);

#define MM_NAME_(mode, R, W) mm_k_##mode##_##R##_##W
#define MM_NAME(mode, R, W) MM_NAME_(mode, R, W)
#define MM_INSTANCE_(R, W)                                                                  \
    VN_MM_NOINLINE void MM_NAME(rows, R, W)(size_t kc, const vn_real *a, size_t astride,    \
                                            const vn_real *b, size_t rsb, const mm_out *o) { \
        mm_kernel(kc, a, 1, astride, false, R, W, b, rsb, o);                               \
    }                                                                                       \
    VN_MM_NOINLINE void MM_NAME(cols, R, W)(size_t kc, const vn_real *a, size_t astride,    \
                                            const vn_real *b, size_t rsb, const mm_out *o) { \
        mm_kernel(kc, a, astride, 1, false, R, W, b, rsb, o);                               \
    }
#define MM_INSTANCE(R, W) MM_INSTANCE_(R, W)
#define MM_INSTANCE_SPLAT_(R, W)                                                            \
    VN_MM_NOINLINE void MM_NAME(splat, R, W)(size_t kc, const vn_real *a, size_t astride,   \
                                             const vn_real *b, size_t rsb, const mm_out *o) { \
        (void)astride;                                                                      \
        mm_kernel(kc, a, 0, (size_t)VN_MM_MR * VN_MM_VL, true, R, W, b, rsb, o);            \
    }
#define MM_INSTANCE_SPLAT(R, W) MM_INSTANCE_SPLAT_(R, W)

/* Row counts: MR for full panels, then 4, 2 and 1 for the last panel. */
#define MM_ROW_KINDS 4
static const size_t mm_row_counts[MM_ROW_KINDS] = {VN_MM_MR, 4, 2, 1};

MM_INSTANCE(VN_MM_MR, 0)
MM_INSTANCE(VN_MM_MR, 1)
MM_INSTANCE(4, 0)
MM_INSTANCE(4, 1)
MM_INSTANCE(2, 0)
MM_INSTANCE(2, 1)
MM_INSTANCE(1, 0)
MM_INSTANCE(1, 1)
#if VN_MM_SPLAT_A
MM_INSTANCE_SPLAT(VN_MM_MR, 0)
MM_INSTANCE_SPLAT(VN_MM_MR, 1)
MM_INSTANCE_SPLAT(4, 0)
MM_INSTANCE_SPLAT(4, 1)
MM_INSTANCE_SPLAT(2, 0)
MM_INSTANCE_SPLAT(2, 1)
MM_INSTANCE_SPLAT(1, 0)
MM_INSTANCE_SPLAT(1, 1)
#endif

enum { MM_A_ROWS, MM_A_COLS, MM_A_SPLAT, MM_A_MODES };

#define MM_TABLE_MODE(mode)                                                           \
    {{MM_NAME(mode, VN_MM_MR, 0), MM_NAME(mode, 4, 0), MM_NAME(mode, 2, 0),           \
      MM_NAME(mode, 1, 0)},                                                           \
     {MM_NAME(mode, VN_MM_MR, 1), MM_NAME(mode, 4, 1), MM_NAME(mode, 2, 1),           \
      MM_NAME(mode, 1, 1)}}

/* [how A is read][wide][row kind] */
static const mm_kernel_fn mm_kernels[MM_A_MODES][2][MM_ROW_KINDS] = {
    MM_TABLE_MODE(rows),
    MM_TABLE_MODE(cols),
#if VN_MM_SPLAT_A
    MM_TABLE_MODE(splat),
#else
    {{NULL, NULL, NULL, NULL}, {NULL, NULL, NULL, NULL}},
#endif
};

/* ---- packing ---------------------------------------------------------------------- */

typedef struct mm_problem {
    vn_real *c;
    const vn_real *a, *b;
    size_t m, n, k;
    size_t kc_step;     /* inner steps per block: a function of k only */
    bool trans_a, trans_b, accumulate;
    bool split_cols;    /* parallel tasks take column ranges (else row ranges) */
    size_t tasks;
} mm_problem;

static size_t mm_min(size_t a, size_t b) { return a < b ? a : b; }

/* Transposing copy: dst[p·ldd + j] = src[j·lds + p] for j < rows, p < cols.
 * Where the compiler has __builtin_shufflevector (GCC 12+, Clang) it moves
 * 4 × 4 blocks when four elements fit in a native vector, else 2 × 2. */
#if VN_MM_GNU && defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#if VN_MM_VBYTES >= 4 * 4 && (VN_MM_VBYTES >= 4 * 8 || !defined(VN_REAL_DOUBLE))
#define VN_MM_TBLOCK 4
#elif VN_MM_VBYTES >= 2 * 8
#define VN_MM_TBLOCK 2
#endif
#endif
#endif
#ifndef VN_MM_TBLOCK
#define VN_MM_TBLOCK 1
#endif

#if VN_MM_TBLOCK > 1
typedef vn_real mm_vt __attribute__((vector_size(VN_MM_TBLOCK * sizeof(vn_real))));
typedef vn_real mm_vt_u __attribute__((vector_size(VN_MM_TBLOCK * sizeof(vn_real)),
                                       aligned(sizeof(vn_real)), may_alias));
#define MM_LOADT(p) (*(const mm_vt_u *)(const void *)(p))
#define MM_STORET(p, v) (*(mm_vt_u *)(void *)(p) = (v))
#endif

static void mm_transpose_copy(vn_real *dst, size_t ldd, const vn_real *src, size_t lds,
                              size_t rows, size_t cols) {
    size_t j = 0;
#if VN_MM_TBLOCK == 4
    for (; j + 4 <= rows; j += 4) {
        const vn_real *s0 = src + j * lds, *s1 = s0 + lds, *s2 = s1 + lds, *s3 = s2 + lds;
        vn_real *d = dst + j;
        size_t p = 0;
        for (; p + 4 <= cols; p += 4) {
            mm_vt r0 = MM_LOADT(s0 + p), r1 = MM_LOADT(s1 + p);
            mm_vt r2 = MM_LOADT(s2 + p), r3 = MM_LOADT(s3 + p);
            mm_vt t0 = __builtin_shufflevector(r0, r1, 0, 4, 1, 5);
            mm_vt t1 = __builtin_shufflevector(r0, r1, 2, 6, 3, 7);
            mm_vt t2 = __builtin_shufflevector(r2, r3, 0, 4, 1, 5);
            mm_vt t3 = __builtin_shufflevector(r2, r3, 2, 6, 3, 7);
            MM_STORET(d + (p + 0) * ldd, __builtin_shufflevector(t0, t2, 0, 1, 4, 5));
            MM_STORET(d + (p + 1) * ldd, __builtin_shufflevector(t0, t2, 2, 3, 6, 7));
            MM_STORET(d + (p + 2) * ldd, __builtin_shufflevector(t1, t3, 0, 1, 4, 5));
            MM_STORET(d + (p + 3) * ldd, __builtin_shufflevector(t1, t3, 2, 3, 6, 7));
        }
        for (; p < cols; p++) {
            vn_real *dp = d + p * ldd;
            dp[0] = s0[p];
            dp[1] = s1[p];
            dp[2] = s2[p];
            dp[3] = s3[p];
        }
    }
#elif VN_MM_TBLOCK == 2
    for (; j + 2 <= rows; j += 2) {
        const vn_real *s0 = src + j * lds, *s1 = s0 + lds;
        vn_real *d = dst + j;
        size_t p = 0;
        for (; p + 2 <= cols; p += 2) {
            mm_vt r0 = MM_LOADT(s0 + p), r1 = MM_LOADT(s1 + p);
            MM_STORET(d + p * ldd, __builtin_shufflevector(r0, r1, 0, 2));
            MM_STORET(d + (p + 1) * ldd, __builtin_shufflevector(r0, r1, 1, 3));
        }
        for (; p < cols; p++) {
            d[p * ldd] = s0[p];
            d[p * ldd + 1] = s1[p];
        }
    }
#endif
    for (; j < rows; j++) {
        const vn_real *sj = src + j * lds;
        for (size_t p = 0; p < cols; p++) dst[p * ldd + j] = sj[p];
    }
}

/* Packs columns j0 .. j0+nr of op(B), steps pc .. pc+kc, as dst[p·NR + j],
 * with zero columns after nr. */
static void mm_pack_b(vn_real *dst, const mm_problem *P, size_t j0, size_t nr, size_t pc,
                      size_t kc) {
    if (!P->trans_b) {
        const vn_real *src = P->b + pc * P->n + j0;
        if (nr == VN_MM_NR) {
            for (size_t p = 0; p < kc; p++) {
                MM_STORE(dst + p * VN_MM_NR, MM_LOAD(src));
                MM_STORE(dst + p * VN_MM_NR + VN_MM_VL, MM_LOAD(src + VN_MM_VL));
                src += P->n;
            }
            return;
        }
        for (size_t p = 0; p < kc; p++) {
            vn_real *d = dst + p * VN_MM_NR;
            for (size_t j = 0; j < nr; j++) d[j] = src[j];
            src += P->n;
        }
    } else {
        mm_transpose_copy(dst, VN_MM_NR, P->b + j0 * P->k + pc, P->k, nr, kc);
    }
    if (nr < VN_MM_NR)
        for (size_t p = 0; p < kc; p++)
            for (size_t j = nr; j < VN_MM_NR; j++) dst[p * VN_MM_NR + j] = 0;
}

/* Packs a whole block of B (not transposed, nc a multiple of NR) reading
 * each row of B once, left to right: panel q of the block gets
 * dst[q·kc·NR + p·NR + j]. */
static void mm_pack_b_rows(vn_real *dst, const mm_problem *P, size_t j0, size_t nc, size_t pc,
                           size_t kc) {
    const vn_real *src = P->b + pc * P->n + j0;
    for (size_t p = 0; p < kc; p++) {
        vn_real *d = dst + p * VN_MM_NR;
        for (size_t q = 0; q < nc; q += VN_MM_NR) {
            MM_STORE(d, MM_LOAD(src + q));
            MM_STORE(d + VN_MM_VL, MM_LOAD(src + q + VN_MM_VL));
            d += kc * VN_MM_NR;
        }
        src += P->n;
    }
}

#if VN_MM_SPLAT_A
/* Packs rows ir .. ir+mr of op(A), steps pc .. pc+kc, pre-splatted:
 * dst[(p·MR + i)·VL + l] = A(i, p) for every lane l. */
static void mm_pack_a_splat(vn_real *dst, const mm_problem *P, size_t ir, size_t mr, size_t pc,
                            size_t kc) {
    for (size_t p = 0; p < kc; p++) {
        vn_real *d = dst + p * VN_MM_MR * VN_MM_VL;
        for (size_t i = 0; i < mr; i++) {
            vn_real x = P->trans_a ? P->a[(pc + p) * P->m + ir + i] : P->a[(ir + i) * P->k + pc + p];
            MM_STORE(d + i * VN_MM_VL, MM_SPLAT(x));
        }
    }
}
#endif

/* ---- the blocked product over a rectangle of C --------------------------------------- */

/* Row i of C, columns j0 .. j1, when B is not transposed and there are
 * too few rows for the register tile: the rows of B stream through
 * contiguously, and a block's sum is kept in `t` (scratch) instead of in
 * registers. The same summation as the micro-kernel: per block of KC steps,
 * t starts at zero and takes the products in increasing p. */
#ifndef VN_MM_ROW_CHUNK
#define VN_MM_ROW_CHUNK 2048
#endif
VN_STATIC_ASSERT(VN_MM_ROW_CHUNK <= VN_MM_B_ELEMS, mm_row_chunk);

static void mm_row(const mm_problem *P, size_t i, size_t j0, size_t j1, vn_real *t) {
    const vn_real *arow = P->trans_a ? P->a + i : P->a + i * P->k;
    size_t csa = P->trans_a ? P->m : 1;
    vn_real *crow = P->c + i * P->n;
    for (size_t jc = j0; jc < j1; jc += VN_MM_ROW_CHUNK) {
        size_t w = mm_min(VN_MM_ROW_CHUNK, j1 - jc), wv = w / VN_MM_VL * VN_MM_VL;
        for (size_t pc = 0; pc < P->k; pc += P->kc_step) {
            size_t kc = mm_min(P->kc_step, P->k - pc);
            for (size_t j = 0; j < w; j++) t[j] = 0;
            for (size_t p = pc; p < pc + kc; p++) {
                vn_real ap = arow[p * csa];
                const vn_real *brow = P->b + p * P->n + jc;
                vn_mm_vec av = MM_SPLAT(ap);
                for (size_t j = 0; j < wv; j += VN_MM_VL)
                    MM_STORE(t + j, MM_LOAD_ALIGNED(t + j) + MM_LOAD(brow + j) * av);
                for (size_t j = wv; j < w; j++) t[j] += brow[j] * ap;
            }
            if (!P->accumulate && pc == 0)
                for (size_t j = 0; j < w; j++) crow[jc + j] = t[j];
            else
                for (size_t j = 0; j < w; j++) crow[jc + j] = crow[jc + j] + t[j];
        }
    }
}

/* A at row i, step pc, read in place (Aᵀ when trans_a). */
static const vn_real *mm_a_at(const mm_problem *P, int mode, size_t i, size_t pc) {
    return mode == MM_A_ROWS ? P->a + pc * P->m + i : P->a + i * P->k + pc;
}

/* Computes C[i0..i1, j0..j1) using scratch slot `slot`. */
static void mm_rect(const mm_problem *P, size_t i0, size_t i1, size_t j0, size_t j1,
                    size_t slot) {
    const size_t MR = VN_MM_MR, NR = VN_MM_NR;
    vn_real *bbuf = mm_scratch[slot];
    /* One row (or, with narrow vectors, up to three): stream B row-wise. */
    if (!P->trans_b && (i1 - i0 == 1 || (i1 - i0 < 4 && VN_MM_VBYTES < 64))) {
        for (size_t i = i0; i < i1; i++) mm_row(P, i, j0, j1, bbuf);
        return;
    }
    size_t row_panels = (i1 - i0 + MR - 1) / MR;
    /* A B block reused by few row panels is read in place (B not
     * transposed), unless B is too large to stay in cache: then packing
     * streams it row by row, which the prefetchers follow much better than
     * the narrow column panels. */
    bool direct_b = !P->trans_b && row_panels <= 2 &&
                    (double)P->k * (double)P->n * (double)sizeof(vn_real) <= VN_MM_DIRECT_B_BYTES;
    for (size_t jc = j0; jc < j1; jc += VN_MM_NC) {
        size_t nc = mm_min(VN_MM_NC, j1 - jc);
        size_t col_panels = (nc + NR - 1) / NR;
        int mode = P->trans_a ? MM_A_ROWS : MM_A_COLS;
#if VN_MM_SPLAT_A
        vn_real *abuf = bbuf + VN_MM_B_ELEMS;
        if (col_panels >= VN_MM_SPLAT_MIN_PANELS) mode = MM_A_SPLAT;
#endif
        for (size_t pc = 0; pc < P->k; pc += P->kc_step) {
            size_t kc = mm_min(P->kc_step, P->k - pc);
            bool first = !P->accumulate && pc == 0;
            if (!direct_b && !P->trans_b && nc % NR == 0) {
                mm_pack_b_rows(bbuf, P, jc, nc, pc, kc);
            } else if (!direct_b) {
                for (size_t q = 0; q < col_panels; q++)
                    mm_pack_b(bbuf + q * kc * NR, P, jc + q * NR, mm_min(NR, nc - q * NR), pc, kc);
            } else if (nc % NR) {
                /* Only the edge panel, so no load runs past the end of B. */
                size_t q = col_panels - 1;
                mm_pack_b(bbuf, P, jc + q * NR, nc - q * NR, pc, kc);
            }
            for (size_t ir = i0; ir < i1; ir += MR) {
                size_t mr = mm_min(MR, i1 - ir);
                /* Full row panels from here that one kernel call can take. */
                size_t run = (col_panels == 1 && mode != MM_A_SPLAT) ? (i1 - ir) / MR : 1;
#if VN_MM_SPLAT_A
                if (mode == MM_A_SPLAT) mm_pack_a_splat(abuf, P, ir, mr, pc, kc);
#endif
                for (size_t q = 0; q < col_panels; q++) {
                    size_t jr = q * NR;
                    mm_out o;
                    o.nr = mm_min(NR, nc - jr);
                    o.ldc = P->n;
                    o.first = first;
                    const vn_real *bp;
                    size_t rsb;
                    if (!direct_b) {
                        bp = bbuf + q * kc * NR;
                        rsb = NR;
                    } else if (o.nr == NR) {
                        bp = P->b + pc * P->n + jc + jr;
                        rsb = P->n;
                    } else {
                        bp = bbuf;
                        rsb = NR;
                    }
                    size_t wide = o.nr > (size_t)VN_MM_VL;
                    o.panels = 1;
                    o.astep = 0;
                    size_t astride = mode == MM_A_ROWS ? P->m : P->k;
                    if (run > 1) {
                        /* One column panel: the kernel goes down all the
                         * full row panels itself. */
                        o.panels = run;
                        o.astep = mode == MM_A_ROWS ? MR : MR * P->k;
                        o.c = P->c + ir * P->n + jc + jr;
                        mm_kernels[mode][wide][0](kc, mm_a_at(P, mode, ir, pc), astride, bp, rsb,
                                                  &o);
                        continue;
                    }
                    /* The panel's rows: MR at once, or 4, 2, 1 at the edge. */
                    size_t r0 = 0;
                    for (size_t kind = 0; r0 < mr; kind++) {
                        size_t rows = mm_row_counts[kind];
                        for (; r0 + rows <= mr; r0 += rows) {
                            const vn_real *ap;
#if VN_MM_SPLAT_A
                            if (mode == MM_A_SPLAT) ap = abuf + r0 * VN_MM_VL;
                            else
#endif
                                ap = mm_a_at(P, mode, ir + r0, pc);
                            o.c = P->c + (ir + r0) * P->n + jc + jr;
                            mm_kernels[mode][wide][kind](kc, ap, astride, bp, rsb, &o);
                        }
                    }
                }
                if (run > 1) ir += (run - 1) * MR;
            }
        }
    }
}

/* Parallel task t of P->tasks: a range of row panels or of column panels. */
static void mm_task(void *task, size_t begin, size_t end) {
    const mm_problem *P = task;
    for (size_t t = begin; t < end; t++) {
        size_t unit = P->split_cols ? (size_t)VN_MM_NR : (size_t)VN_MM_MR;
        size_t extent = P->split_cols ? P->n : P->m;
        size_t units = (extent + unit - 1) / unit;
        size_t lo = units * t / P->tasks * unit;
        size_t hi = mm_min(units * (t + 1) / P->tasks * unit, extent);
        if (lo >= hi) continue;
        if (P->split_cols) mm_rect(P, 0, P->m, lo, hi, t);
        else mm_rect(P, lo, hi, 0, P->n, t);
    }
}

/* The plain loops, for products too small to be worth blocking. */
static void mm_tiny(vn_real *c, const vn_real *a, const vn_real *b, size_t m, size_t n, size_t k,
                    bool trans_a, bool trans_b, bool accumulate) {
    if (!accumulate)
        for (size_t i = 0; i < m * n; i++) c[i] = 0;
    for (size_t i = 0; i < m; i++) {
        vn_real *crow = c + i * n;
        for (size_t p = 0; p < k; p++) {
            vn_real aval = trans_a ? a[p * m + i] : a[i * k + p];
            if (trans_b) {
                const vn_real *bcol = b + p;
                for (size_t j = 0; j < n; j++) crow[j] += aval * bcol[j * k];
            } else {
                const vn_real *brow = b + p * n;
                for (size_t j = 0; j < n; j++) crow[j] += aval * brow[j];
            }
        }
    }
}

void vn_gemm(vn_real *c, const vn_real *a, const vn_real *b,
             size_t m, size_t n, size_t k, bool trans_a, bool trans_b, bool accumulate) {
    if (m == 0 || n == 0) return;
    double work = (double)m * (double)n * (double)k;
    if (work <= (double)VN_MM_TINY) {
        /* Also k = 0: C = 0, or unchanged when accumulating. */
        mm_tiny(c, a, b, m, n, k, trans_a, trans_b, accumulate);
        return;
    }
    mm_problem P;
    P.c = c;
    P.a = a;
    P.b = b;
    P.m = m;
    P.n = n;
    P.k = k;
    P.trans_a = trans_a;
    P.trans_b = trans_b;
    P.accumulate = accumulate;
    /* Even blocks of at most KC steps: KC + 16 gives two halves, not KC and 16. */
    size_t blocks = (k + VN_MM_KC - 1) / VN_MM_KC;
    P.kc_step = (k + blocks - 1) / blocks;
    P.split_cols = false;
    P.tasks = 1;
    if (parallel_hook && work >= 2 * VN_MM_TASK_MIN) {
        /* Column ranges when there are as many column panels as row
         * panels (each task then packs only its part of B), else rows. */
        size_t col_units = (n + VN_MM_NR - 1) / VN_MM_NR;
        size_t row_units = (m + VN_MM_MR - 1) / VN_MM_MR;
        P.split_cols = col_units >= row_units;
        P.tasks = mm_min(P.split_cols ? col_units : row_units, VN_MM_SLOTS);
        P.tasks = mm_min(P.tasks, (size_t)(work / VN_MM_TASK_MIN));
        if (P.tasks > 1) {
            vn_parallel_for(mm_task, &P, P.tasks);
            return;
        }
    }
    mm_rect(&P, 0, m, 0, n, 0);
}

/* vn_init.c — PyTorch's parameter initialisers: the default nn.Linear init
 * and nn.init.orthogonal_ (Householder QR, written out here). */
#include "vn_nn.h"
#include "vn_math.h"

void vn_nn_init_linear(vn_tensor *weight, vn_tensor *bias, vn_rng *rng) {
    size_t fan_in = weight->ndim >= 2 ? weight->shape[weight->ndim - 1] : 0;
    if (fan_in == 0) return;
    double bound = 1.0 / vn_sqrt_d((double)fan_in);
    vn_rng_fill_uniform(rng, weight->data, weight->numel, -bound, bound);
    if (bias) vn_rng_fill_uniform(rng, bias->data, bias->numel, -bound, bound);
}

/* Applies H = I − beta·v·vᵀ (v nonzero from row k on) to columns j0.. of the
 * row-major m × n matrix a, walking rows so every access is contiguous:
 * s_j = Σ_i v_i·a[i][j] (i ascending), then a[i][j] −= beta·s_j·v_i.
 * s is scratch of n doubles. */
static void reflect_columns(double *a, const double *v, double beta, double *s, size_t m, size_t n,
                            size_t k, size_t j0) {
    for (size_t j = j0; j < n; j++) s[j] = 0;
    for (size_t i = k; i < m; i++) {
        const double *row = a + i * n;
        for (size_t j = j0; j < n; j++) s[j] += v[i] * row[j];
    }
    for (size_t j = j0; j < n; j++) s[j] *= beta;
    for (size_t i = k; i < m; i++) {
        double *row = a + i * n;
        for (size_t j = j0; j < n; j++) row[j] -= s[j] * v[i];
    }
}

/* Householder QR of a (m × n, m ≥ n, row-major, overwritten) in place:
 * afterwards a holds Q's first n columns (m × n) times sign(diag R).
 * v (n reflectors of length m, reflector k at v + k·m), beta, sign and s
 * (n each) are scratch. */
static void householder_q(double *a, double *v, double *beta, double *sign, double *s, size_t m, size_t n) {
    for (size_t k = 0; k < n; k++) {
        /* Reflector H_k = I − beta·v·vᵀ mapping a[k.., k] to alpha·e₁, with
         * alpha of the opposite sign to a[k][k] (no cancellation in v). */
        double *vk = v + k * m;
        double norm2 = 0;
        for (size_t i = k; i < m; i++) norm2 += a[i * n + k] * a[i * n + k];
        double norm = vn_sqrt_d(norm2);
        double alpha = a[k * n + k] >= 0 ? -norm : norm;
        double vnorm2 = 0;
        for (size_t i = k; i < m; i++) {
            double vi = a[i * n + k] - (i == k ? alpha : 0);
            vk[i] = vi;
            vnorm2 += vi * vi;
        }
        beta[k] = vnorm2 > 0 ? 2 / vnorm2 : 0;
        sign[k] = alpha < 0 ? -1 : 1; /* R[k][k] = alpha; a zero entry counts as +1 */
        reflect_columns(a, vk, beta[k], s, m, n, k, k);
    }
    /* Q = H_0 ··· H_{n−1} applied to the first n columns of I, innermost first. */
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) a[i * n + j] = i == j ? 1 : 0;
    for (size_t k = n; k-- > 0;) reflect_columns(a, v + k * m, beta[k], s, m, n, k, 0);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) a[i * n + j] *= sign[j];
}

vn_status vn_nn_init_orthogonal(vn_tensor *t, double gain, vn_rng *rng, vn_arena *scratch) {
    if (!t || !rng || !scratch) return VN_EINVAL;
    if (t->ndim < 2) return VN_ESHAPE;
    if (t->numel == 0) return VN_OK;
    size_t rows = t->shape[0], cols = t->numel / rows;
    bool transposed = rows < cols;
    size_t m = transposed ? cols : rows, n = transposed ? rows : cols;
    size_t bytes_mn, bytes;
    if (!vn_size_mul(t->numel, sizeof(double), &bytes_mn) || !vn_size_mul(bytes_mn, 2, &bytes) ||
        !vn_size_add(bytes, 3 * n * sizeof(double), &bytes))
        return VN_EOVERFLOW;
    vn_arena_mark mark = vn_arena_get_mark(scratch);
    double *a = vn_arena_alloc(scratch, bytes, 0);
    if (!a) return VN_ENOMEM;
    double *v = a + t->numel, *beta = v + t->numel, *sign = beta + n, *s = sign + n;
    /* The draw is rows × cols, row-major; a is its transpose when rows < cols. */
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            double z = vn_rng_normal(rng);
            if (transposed) a[c * n + r] = z;
            else a[r * n + c] = z;
        }
    householder_q(a, v, beta, sign, s, m, n);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            t->data[r * cols + c] = (vn_real)(gain * (transposed ? a[c * n + r] : a[r * n + c]));
    vn_arena_rewind(scratch, mark);
    return VN_OK;
}

/* vn_json.c — strict JSON reader and writer; exact decimal <-> double. */
#include "vn_json.h"

/* Alignment of a type, in C99. */
#define ALIGN_OF(type) offsetof(struct { char c; type member; }, member)

/* ======================================================================== */
/* Big unsigned integers for exact decimal <-> binary conversion.           */
/* ======================================================================== */

/* 32-bit limbs, least significant first; n = limbs in use (0 for zero).
 * The largest numbers below need about 2,700 bits (see decimal_to_double);
 * 128 limbs are 4,096 bits. */
#define BIG_LIMBS 128

typedef struct big {
    int n;
    uint32_t d[BIG_LIMBS];
} big;

static void big_set_u64(big *a, uint64_t v) {
    a->n = 0;
    while (v) {
        a->d[a->n++] = (uint32_t)v;
        v >>= 32;
    }
}

static void big_mul_add_small(big *a, uint32_t m, uint32_t add) {
    uint64_t carry = add;
    for (int i = 0; i < a->n; i++) {
        uint64_t t = (uint64_t)a->d[i] * m + carry;
        a->d[i] = (uint32_t)t;
        carry = t >> 32;
    }
    if (carry) {
        VN_ASSERT(a->n < BIG_LIMBS);
        a->d[a->n++] = (uint32_t)carry;
    }
}

static void big_mul_pow5(big *a, int k) {
    static const uint32_t pow5[14] = {1u, 5u, 25u, 125u, 625u, 3125u, 15625u, 78125u,
                                      390625u, 1953125u, 9765625u, 48828125u,
                                      244140625u, 1220703125u};
    while (k >= 13) {
        big_mul_add_small(a, pow5[13], 0);
        k -= 13;
    }
    if (k > 0) big_mul_add_small(a, pow5[k], 0);
}

static void big_shl(big *a, int bits) {
    if (a->n == 0 || bits <= 0) return;
    int words = bits / 32, rest = bits % 32;
    int n = a->n + words + 1;
    VN_ASSERT(n <= BIG_LIMBS);
    for (int i = n - 1; i >= words; i--) {
        int src = i - words;
        uint32_t hi = src < a->n ? a->d[src] : 0;
        uint32_t lo = src - 1 >= 0 && src - 1 < a->n ? a->d[src - 1] : 0;
        a->d[i] = rest ? (hi << rest) | (lo >> (32 - rest)) : hi;
    }
    for (int i = 0; i < words; i++) a->d[i] = 0;
    a->n = n;
    while (a->n > 0 && a->d[a->n - 1] == 0) a->n--;
}

static void big_mul_pow10(big *a, int k) {
    big_mul_pow5(a, k);
    big_shl(a, k);
}

static int big_cmp(const big *a, const big *b) {
    if (a->n != b->n) return a->n < b->n ? -1 : 1;
    for (int i = a->n - 1; i >= 0; i--)
        if (a->d[i] != b->d[i]) return a->d[i] < b->d[i] ? -1 : 1;
    return 0;
}

/* a -= b, requires a >= b. */
static void big_sub(big *a, const big *b) {
    uint64_t borrow = 0;
    for (int i = 0; i < a->n; i++) {
        uint64_t t = (uint64_t)a->d[i] - (i < b->n ? b->d[i] : 0) - borrow;
        a->d[i] = (uint32_t)t;
        borrow = (t >> 32) & 1;
    }
    while (a->n > 0 && a->d[a->n - 1] == 0) a->n--;
}

static int big_bitlen(const big *a) {
    if (a->n == 0) return 0;
    uint32_t top = a->d[a->n - 1];
    int bits = 0;
    while (top) bits++, top >>= 1;
    return (a->n - 1) * 32 + bits;
}

/* ======================================================================== */
/* Decimal -> double, correctly rounded.                                    */
/* ======================================================================== */

/* At most this many significant digits take part exactly; further digits
 * only matter through whether they are all zero (a halfway point between two
 * doubles has at most 767 significant digits, so this loses nothing). */
#define MAX_SIG_DIGITS 800

typedef union {
    double d;
    uint64_t u;
} double_bits;

static double double_from_bits(uint64_t u) {
    double_bits b;
    b.u = u;
    return b.d;
}

static uint64_t double_to_bits(double d) {
    double_bits b;
    b.d = d;
    return b.u;
}

/* The exact powers of ten a double holds. */
static const double exact_pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

#if defined(FLT_EVAL_METHOD) && (FLT_EVAL_METHOD == 0 || FLT_EVAL_METHOD == 1)
#define FAST_PATH 1
#else
#define FAST_PATH 0
#endif

/* The double nearest to D × 10^exp10, where D is the integer written by the
 * nd ASCII digits at dig (nd ≥ 1, first digit non-zero). Returns false when
 * the result overflows (rounds beyond DBL_MAX). */
static bool decimal_to_double(const char *dig, int nd, long long exp10, double *out) {
    /* Trailing zeros only scale. */
    while (nd > 1 && dig[nd - 1] == '0') nd--, exp10++;
    /* D × 10^exp10 lies in [10^(nd-1+exp10), 10^(nd+exp10)). */
    if (nd + exp10 > 310) return false;
    if (nd + exp10 < -330) { /* below 1e-330, far under half the least subnormal */
        *out = 0.0;
        return true;
    }
    int e10 = (int)exp10; /* now within [-1131, 309] */

#if FAST_PATH
    if (nd <= 19) {
        uint64_t D = 0;
        for (int i = 0; i < nd; i++) D = D * 10 + (uint64_t)(dig[i] - '0');
        if (D <= ((uint64_t)1 << 53)) {
            /* D and 10^|e| are exact doubles, so one IEEE operation rounds
             * the exact result once. */
            if (e10 >= 0 && e10 <= 22) {
                *out = (double)D * exact_pow10[e10];
                return true;
            }
            if (e10 < 0 && e10 >= -22) {
                *out = (double)D / exact_pow10[-e10];
                return true;
            }
            if (e10 > 22 && e10 <= 22 + 15) {
                uint64_t scaled = D;
                int k = e10 - 22;
                bool exact = true;
                for (int i = 0; i < k && exact; i++) {
                    if (scaled > ((uint64_t)1 << 53) / 10) exact = false;
                    else scaled *= 10;
                }
                if (exact) {
                    *out = (double)scaled * 1e22;
                    return true;
                }
            }
        }
    }
#endif

    /* Exact path: value = num / den × 2^b2. */
    big num, den;
    big_set_u64(&num, 0);
    for (int i = 0; i < nd;) {
        uint32_t chunk = 0, scale = 1;
        for (int k = 0; k < 9 && i < nd; k++, i++) {
            chunk = chunk * 10 + (uint32_t)(dig[i] - '0');
            scale *= 10;
        }
        if (num.n == 0) big_set_u64(&num, chunk);
        else big_mul_add_small(&num, scale, chunk);
    }
    big_set_u64(&den, 1);
    long long b2 = e10;
    if (e10 >= 0) big_mul_pow5(&num, e10);
    else big_mul_pow5(&den, -e10);

    /* Scale so that den <= num < 2 den: value = (num/den) × 2^(b2 - s). */
    int s = big_bitlen(&den) - big_bitlen(&num);
    if (s > 0) big_shl(&num, s);
    else big_shl(&den, -s);
    if (big_cmp(&num, &den) < 0) {
        big_shl(&num, 1);
        s++;
    }
    long long e2 = b2 - s; /* the value is in [2^e2, 2^(e2+1)) */

    /* 64 quotient bits: q = floor(num/den × 2^63), sticky = remainder != 0. */
    uint64_t q = 0;
    for (int i = 0; i < 64; i++) {
        q <<= 1;
        if (big_cmp(&num, &den) >= 0) {
            big_sub(&num, &den);
            q |= 1;
        }
        big_shl(&num, 1);
    }
    bool sticky = num.n != 0;

    /* Round q × 2^(e2-63) to 53 bits, or fewer for subnormals. */
    long long keep = 53;
    if (e2 < -1022) keep = 53 - (-1022 - e2);
    if (keep < 0) {
        *out = 0.0;
        return true;
    }
    int drop = 64 - (int)keep; /* 11 .. 64 */
    uint64_t m, half, rest;
    if (drop == 64) {
        m = 0;
        half = q >> 63;
        rest = (q & ~((uint64_t)1 << 63)) | (uint64_t)sticky;
    } else {
        m = q >> drop;
        half = (q >> (drop - 1)) & 1;
        rest = (q & (((uint64_t)1 << (drop - 1)) - 1)) | (uint64_t)sticky;
    }
    if (half && (rest || (m & 1))) m++;
    long long lsb = e2 - keep + 1; /* value = m × 2^lsb */
    if (m == 0) {
        *out = 0.0;
        return true;
    }
    if (m == ((uint64_t)1 << 53)) {
        m >>= 1;
        lsb++;
    }
    /* Normal: m in [2^52, 2^53); subnormal: lsb = -1074. Both encode as
     * ((lsb + 1074) << 52) + m. */
    long long biased = lsb + 1074;
    if (biased + 1 >= 2047) return false;
    *out = double_from_bits(((uint64_t)biased << 52) + m);
    return true;
}

/* ======================================================================== */
/* Number literals.                                                         */
/* ======================================================================== */

typedef struct number_info {
    bool negative;
    bool integer_syntax;
    bool is_integer;
    int64_t integer;
    bool is_uint64;
    uint64_t uint64;
    bool too_large;
    double value;
} number_info;

/* Scans a JSON number at s[pos..n). On success returns true with *end past
 * the literal and info filled. On a syntax error returns false with *err_pos
 * and *why. */
static bool scan_number(const unsigned char *s, size_t n, size_t pos, size_t *end,
                        number_info *info, size_t *err_pos, const char **why) {
    size_t i = pos;
    *info = (number_info){0};
    if (i < n && s[i] == '-') info->negative = true, i++;
    if (i >= n || s[i] < '0' || s[i] > '9') {
        *err_pos = i;
        *why = "expected a digit";
        return false;
    }
    size_t int_start = i;
    if (s[i] == '0') {
        i++;
        if (i < n && s[i] >= '0' && s[i] <= '9') {
            *err_pos = int_start;
            *why = "leading zeros are not allowed";
            return false;
        }
    } else {
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    }
    size_t int_end = i, frac_start = i, frac_end = i;
    bool has_frac = false;
    if (i < n && s[i] == '.') {
        has_frac = true;
        i++;
        frac_start = i;
        if (i >= n || s[i] < '0' || s[i] > '9') {
            *err_pos = i;
            *why = "expected a digit after '.'";
            return false;
        }
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        frac_end = i;
    }
    long long exponent = 0;
    bool has_exp = false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        has_exp = true;
        i++;
        bool eneg = false;
        if (i < n && (s[i] == '+' || s[i] == '-')) eneg = s[i] == '-', i++;
        if (i >= n || s[i] < '0' || s[i] > '9') {
            *err_pos = i;
            *why = "expected a digit in the exponent";
            return false;
        }
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (exponent < 1000000000000000LL) exponent = exponent * 10 + (s[i] - '0');
            i++;
        }
        if (eneg) exponent = -exponent;
    }
    *end = i;
    info->integer_syntax = !has_frac && !has_exp;

    /* Exact integer value. */
    if (info->integer_syntax) {
        uint64_t mag = 0;
        bool overflow = false;
        for (size_t k = int_start; k < int_end; k++) {
            unsigned d = (unsigned)(s[k] - '0');
            if (mag > (UINT64_MAX - d) / 10) {
                overflow = true;
                break;
            }
            mag = mag * 10 + d;
        }
        if (!overflow && !info->negative) {
            info->is_uint64 = true;
            info->uint64 = mag;
        }
        uint64_t limit = info->negative ? (uint64_t)1 << 63 : ((uint64_t)1 << 63) - 1;
        if (!overflow && mag <= limit) {
            info->is_integer = true;
            if (info->negative) info->integer = mag == 0 ? 0 : -(int64_t)(mag - 1) - 1;
            else info->integer = (int64_t)mag;
        }
    }

    /* Significant digits. */
    char dig[MAX_SIG_DIGITS + 1];
    int nd = 0;
    long long dropped = 0;
    bool nonzero_dropped = false;
    long long frac_digits = (long long)(frac_end - frac_start);
    size_t digits_end = has_frac ? frac_end : int_end;
    for (size_t k = int_start; k < digits_end; k++) {
        if (k == int_end) k = frac_start; /* skip the '.' */
        char c = (char)s[k];
        if (nd == 0 && c == '0') continue;
        if (nd < MAX_SIG_DIGITS) dig[nd++] = c;
        else {
            dropped++;
            if (c != '0') nonzero_dropped = true;
        }
    }
    if (nd == 0) {
        info->value = info->negative ? -0.0 : 0.0;
        return true;
    }
    long long exp10 = exponent - frac_digits + dropped;
    if (nonzero_dropped) {
        dig[nd++] = '1';
        exp10--;
    }
    double v;
    if (!decimal_to_double(dig, nd, exp10, &v)) {
        info->too_large = true;
        v = 0;
    }
    info->value = info->negative ? -v : v;
    return true;
}

bool vn_json_parse_double(const char *text, size_t length, double *out) {
    if (!text || !out) return false;
    size_t end, err_pos;
    const char *why;
    number_info info;
    if (!scan_number((const unsigned char *)text, length, 0, &end, &info, &err_pos, &why)) return false;
    if (end != length || info.too_large) return false;
    *out = info.value;
    return true;
}

/* ======================================================================== */
/* Double -> shortest decimal.                                              */
/* ======================================================================== */

/* a = a × b (schoolbook). */
static void big_mul(big *a, const big *b) {
    if (a->n == 0 || b->n == 0) {
        a->n = 0;
        return;
    }
    uint32_t r[BIG_LIMBS];
    int n = a->n + b->n;
    VN_ASSERT(n <= BIG_LIMBS);
    for (int i = 0; i < n; i++) r[i] = 0;
    for (int i = 0; i < a->n; i++) {
        uint64_t carry = 0;
        for (int j = 0; j < b->n; j++) {
            uint64_t t = (uint64_t)a->d[i] * b->d[j] + r[i + j] + carry;
            r[i + j] = (uint32_t)t;
            carry = t >> 32;
        }
        r[i + b->n] = (uint32_t)carry;
    }
    for (int i = 0; i < n; i++) a->d[i] = r[i];
    a->n = n;
    while (a->n > 0 && a->d[a->n - 1] == 0) a->n--;
}

/* a += b. */
static void big_add(big *a, const big *b) {
    int n = a->n > b->n ? a->n : b->n;
    uint64_t carry = 0;
    for (int i = 0; i < n; i++) {
        uint64_t t = (uint64_t)(i < a->n ? a->d[i] : 0) + (i < b->n ? b->d[i] : 0) + carry;
        a->d[i] = (uint32_t)t;
        carry = t >> 32;
    }
    a->n = n;
    if (carry) {
        VN_ASSERT(a->n < BIG_LIMBS);
        a->d[a->n++] = (uint32_t)carry;
    }
}

/* The shortest digits that read back to a double. The exact value and the
 * boundaries of its rounding interval (halfway to each neighbour) are kept as
 * big integers over one denominator:
 *     x = num / den × 10^k,  halfway points at (num ∓ lo_gap) / den × 10^k,
 * with 1 ≤ num/den < 10. A p-digit candidate D × 10^(k'-p+1) reads back to x
 * exactly when it lies strictly inside the interval, or on its boundary when
 * x's mantissa is even (ties go to even). */
size_t vn_json_format_double(double value, char *buf) {
    uint64_t bits = double_to_bits(value);
    bool negative = bits >> 63;
    int bexp = (int)((bits >> 52) & 0x7FF);
    uint64_t frac = bits & (((uint64_t)1 << 52) - 1);
    if (bexp == 0x7FF) return 0;
    size_t len = 0;
    if (negative) buf[len++] = '-';
    if (bexp == 0 && frac == 0) {
        buf[len++] = '0';
        buf[len++] = '.';
        buf[len++] = '0';
        buf[len] = '\0';
        return len;
    }
    uint64_t m = bexp ? frac | ((uint64_t)1 << 52) : frac;
    int e = bexp ? bexp - 1075 : -1074;
    /* Below a power of two the gap to the lower neighbour is half as wide. */
    bool asymmetric = frac == 0 && bexp > 1;
    bool even = (m & 1) == 0;

    /* Everything times 4 so the quarter-ulp of the asymmetric case is an
     * integer: x = 4m·2^e, upper half-gap 2·2^e, lower 2·2^e or 2^e. */
    big num, den, up_gap, lo_gap;
    big_set_u64(&num, 4 * m);
    big_set_u64(&up_gap, 2);
    big_set_u64(&lo_gap, asymmetric ? 1 : 2);
    big_set_u64(&den, 1);
    if (e >= 0) {
        big_shl(&num, e);
        big_shl(&up_gap, e);
        big_shl(&lo_gap, e);
        big_shl(&den, 2);
    } else {
        big_shl(&den, 2 - e);
    }
    /* k = floor(log10(x)), estimated from the binary exponent, fixed below. */
    int mbits = 0;
    for (uint64_t t = m; t; t >>= 1) mbits++;
    int b = e + mbits - 1;
    int k = b >= 0 ? (b * 78913) >> 18 : -(((-b) * 78913 + (1 << 18) - 1) >> 18);
    if (k >= 0) {
        big_mul_pow10(&den, k);
    } else {
        big_mul_pow10(&num, -k);
        big_mul_pow10(&up_gap, -k);
        big_mul_pow10(&lo_gap, -k);
    }
    for (;;) {
        big ten = den;
        big_mul_add_small(&ten, 10, 0);
        if (big_cmp(&num, &ten) >= 0) {
            den = ten;
            k++;
        } else if (big_cmp(&num, &den) < 0) {
            big_mul_add_small(&num, 10, 0);
            big_mul_add_small(&up_gap, 10, 0);
            big_mul_add_small(&lo_gap, 10, 0);
            k--;
        } else {
            break;
        }
    }
    big low = num, high = num;
    big_sub(&low, &lo_gap);
    big_add(&high, &up_gap);

    /* 18 digits of the exact expansion, then whether anything follows. */
    char d[18];
    big rem = num;
    for (int i = 0; i < 18; i++) {
        int digit = 0;
        while (big_cmp(&rem, &den) >= 0) {
            big_sub(&rem, &den);
            digit++;
        }
        d[i] = (char)('0' + digit);
        big_mul_add_small(&rem, 10, 0);
    }
    bool tail_nonzero[19]; /* digits from i on, or the rest, non-zero */
    tail_nonzero[18] = rem.n != 0;
    for (int i = 17; i >= 0; i--) tail_nonzero[i] = tail_nonzero[i + 1] || d[i] != '0';

    /* The fewest correctly rounded digits inside the interval. */
    char out[18];
    int nd = 17, k_out = k;
    for (int p = 1; p <= 17; p++) {
        char r[18];
        for (int i = 0; i < p; i++) r[i] = d[i];
        int kk = k;
        bool up = d[p] > '5' || (d[p] == '5' && (tail_nonzero[p + 1] || ((r[p - 1] - '0') & 1)));
        if (up) {
            int i = p - 1;
            while (i >= 0 && r[i] == '9') r[i--] = '0';
            if (i >= 0) {
                r[i]++;
            } else {
                r[0] = '1';
                for (int j = 1; j < p; j++) r[j] = '0';
                kk++;
            }
        }
        bool inside = p == 17;
        if (!inside) {
            /* candidate / 10^k = D × 10^(kk-k) / 10^(p-1); compare
             * D × 10^(kk-k) × den with low, high × 10^(p-1). */
            uint64_t D = 0;
            for (int i = 0; i < p; i++) D = D * 10 + (uint64_t)(r[i] - '0');
            big c, lo = low, hi = high;
            big_set_u64(&c, D);
            big_mul(&c, &den);
            if (kk > k) big_mul_add_small(&c, 10, 0);
            big_mul_pow10(&lo, p - 1);
            big_mul_pow10(&hi, p - 1);
            int cl = big_cmp(&c, &lo), ch = big_cmp(&c, &hi);
            inside = (cl > 0 || (cl == 0 && even)) && (ch < 0 || (ch == 0 && even));
        }
        if (inside) {
            for (int i = 0; i < p; i++) out[i] = r[i];
            nd = p;
            k_out = kk;
            break;
        }
    }
    while (nd > 1 && out[nd - 1] == '0') nd--;

    /* Layout as Python's repr. */
    if (k_out >= -4 && k_out < 16) {
        if (k_out >= 0) {
            for (int i = 0; i <= k_out; i++) buf[len++] = i < nd ? out[i] : '0';
            buf[len++] = '.';
            if (nd > k_out + 1) {
                for (int i = k_out + 1; i < nd; i++) buf[len++] = out[i];
            } else {
                buf[len++] = '0';
            }
        } else {
            buf[len++] = '0';
            buf[len++] = '.';
            for (int i = -1; i > k_out; i--) buf[len++] = '0';
            for (int i = 0; i < nd; i++) buf[len++] = out[i];
        }
    } else {
        buf[len++] = out[0];
        if (nd > 1) {
            buf[len++] = '.';
            for (int i = 1; i < nd; i++) buf[len++] = out[i];
        }
        buf[len++] = 'e';
        buf[len++] = k_out < 0 ? '-' : '+';
        int ae = k_out < 0 ? -k_out : k_out;
        if (ae >= 100) buf[len++] = (char)('0' + ae / 100);
        buf[len++] = (char)('0' + ae / 10 % 10);
        buf[len++] = (char)('0' + ae % 10);
    }
    buf[len] = '\0';
    return len;
}

/* ======================================================================== */
/* UTF-8.                                                                   */
/* ======================================================================== */

/* Length of the valid UTF-8 sequence at s (n ≥ 1 bytes available), or 0 with
 * *why naming the problem and *bad the offset of the offending byte. */
static size_t utf8_sequence(const unsigned char *s, size_t n, const char **why, size_t *bad) {
    unsigned c = s[0];
    *bad = 0;
    if (c < 0x80) return 1;
    if (c < 0xC0) {
        *why = "invalid UTF-8: unexpected continuation byte";
        return 0;
    }
    if (c < 0xC2) {
        *why = "invalid UTF-8: overlong encoding";
        return 0;
    }
    size_t need;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0xE0) {
        need = 2;
    } else if (c < 0xF0) {
        need = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c < 0xF5) {
        need = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else if (c < 0xF8) {
        *why = "invalid UTF-8: code point above U+10FFFF";
        return 0;
    } else {
        *why = "invalid UTF-8: byte never used in UTF-8";
        return 0;
    }
    for (size_t i = 1; i < need; i++) {
        if (i >= n) {
            *why = "invalid UTF-8: sequence truncated by the end of input";
            *bad = i;
            return 0;
        }
        unsigned b = s[i];
        if (b < 0x80 || b > 0xBF) {
            *why = "invalid UTF-8: truncated sequence";
            *bad = i;
            return 0;
        }
        if (i == 1 && (b < lo || b > hi)) {
            *bad = 1;
            if (c == 0xE0 || c == 0xF0) *why = "invalid UTF-8: overlong encoding";
            else if (c == 0xED) *why = "invalid UTF-8: encoded surrogate (U+D800..U+DFFF)";
            else *why = "invalid UTF-8: code point above U+10FFFF";
            return 0;
        }
    }
    return need;
}

static bool utf8_valid(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        const char *why;
        size_t bad;
        size_t len = utf8_sequence(u + i, n - i, &why, &bad);
        if (!len) return false;
        i += len;
    }
    return true;
}

/* ======================================================================== */
/* Parser.                                                                  */
/* ======================================================================== */

typedef struct parser {
    const unsigned char *s;
    size_t n, pos;
    size_t line, line_start; /* line of pos, and the offset where it starts */
    vn_arena *arena;
    char *err;
    size_t err_size;
} parser;

/* A member while its object is being read. */
typedef struct member_link {
    vn_json_member member;
    struct member_link *next;
} member_link;

/* A value while its array is being read. */
typedef struct value_link {
    vn_json_value *value;
    struct value_link *next;
} value_link;

static vn_status fail_at(parser *p, size_t pos, vn_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static vn_status fail_at(parser *p, size_t pos, vn_status status, const char *fmt, ...) {
    char msg[256];
    va_list args;
    va_start(args, fmt);
    vn_vformat(msg, sizeof msg, fmt, args);
    va_end(args);
    /* pos is on the current line (tokens never span lines). */
    size_t column = pos >= p->line_start ? pos - p->line_start + 1 : 1;
    vn_format(p->err, p->err_size, "line %zu, column %zu (byte %zu): %s", p->line, column, pos, msg);
    return status;
}

/* "'x'", "end of input" or "byte 0xNN" for what stands at pos. */
static const char *describe(const parser *p, size_t pos, char *buf, size_t size) {
    if (pos >= p->n) return "end of input";
    unsigned c = p->s[pos];
    if (c >= 0x21 && c < 0x7F) vn_format(buf, size, "'%c'", (int)c);
    else if (c == ' ') return "a space";
    else if (c == '\n') return "a line feed";
    else if (c == '\t') return "a tab";
    else if (c == '\r') return "a carriage return";
    else vn_format(buf, size, "byte 0x%02x", c);
    return buf;
}

static vn_status fail_expected(parser *p, size_t pos, const char *expected) {
    char buf[16];
    return fail_at(p, pos, VN_EFORMAT, "expected %s, found %s", expected, describe(p, pos, buf, sizeof buf));
}

static void skip_ws(parser *p) {
    while (p->pos < p->n) {
        unsigned char c = p->s[p->pos];
        if (c == '\n') {
            p->pos++;
            p->line++;
            p->line_start = p->pos;
        } else if (c == ' ' || c == '\t' || c == '\r') {
            p->pos++;
        } else {
            break;
        }
    }
}

static vn_json_value *new_value(parser *p, vn_json_type type, size_t pos) {
    vn_json_value *v = vn_arena_alloc(p->arena, sizeof *v, ALIGN_OF(vn_json_value));
    if (!v) return NULL;
    *v = (vn_json_value){0};
    v->type = type;
    v->offset = pos;
    v->line = p->line;
    v->column = pos - p->line_start + 1;
    return v;
}

static vn_status no_memory(parser *p) {
    return fail_at(p, p->pos, VN_ENOMEM, "out of memory in the arena");
}

static int hex_value(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Reads 4 hex digits at s[i..i+4). */
static bool read_hex4(const parser *p, size_t i, unsigned *out) {
    if (i + 4 > p->n) return false;
    unsigned v = 0;
    for (size_t k = 0; k < 4; k++) {
        int h = hex_value(p->s[i + k]);
        if (h < 0) return false;
        v = v * 16 + (unsigned)h;
    }
    *out = v;
    return true;
}

static size_t put_utf8(char *out, unsigned cp) {
    if (cp < 0x80) {
        if (out) out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        if (out) {
            out[0] = (char)(0xC0 | (cp >> 6));
            out[1] = (char)(0x80 | (cp & 0x3F));
        }
        return 2;
    }
    if (cp < 0x10000) {
        if (out) {
            out[0] = (char)(0xE0 | (cp >> 12));
            out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
            out[2] = (char)(0x80 | (cp & 0x3F));
        }
        return 3;
    }
    if (out) {
        out[0] = (char)(0xF0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
    }
    return 4;
}

/* Decodes the string whose opening quote is at p->pos. With out == NULL only
 * validates and counts: *length receives the decoded length and *end the
 * offset after the closing quote. */
static vn_status decode_string(parser *p, char *out, size_t *length, size_t *end) {
    size_t i = p->pos + 1, len = 0;
    for (;;) {
        if (i >= p->n) return fail_at(p, i, VN_EFORMAT, "unterminated string (started at byte %zu)", p->pos);
        unsigned char c = p->s[i];
        if (c == '"') {
            *length = len;
            *end = i + 1;
            return VN_OK;
        }
        if (c < 0x20) {
            return fail_at(p, i, VN_EFORMAT, "control character 0x%02x in a string must be escaped", c);
        }
        if (c == '\\') {
            if (i + 1 >= p->n) return fail_at(p, i + 1, VN_EFORMAT, "unterminated escape sequence in a string");
            unsigned char e = p->s[i + 1];
            char simple = 0;
            switch (e) {
            case '"': simple = '"'; break;
            case '\\': simple = '\\'; break;
            case '/': simple = '/'; break;
            case 'b': simple = '\b'; break;
            case 'f': simple = '\f'; break;
            case 'n': simple = '\n'; break;
            case 'r': simple = '\r'; break;
            case 't': simple = '\t'; break;
            case 'u': break;
            default: {
                char buf[16];
                return fail_at(p, i + 1, VN_EFORMAT,
                               "invalid escape: expected one of \" \\ / b f n r t u after '\\', found %s",
                               describe(p, i + 1, buf, sizeof buf));
            }
            }
            if (simple) {
                if (out) out[len] = simple;
                len++;
                i += 2;
                continue;
            }
            unsigned u;
            if (!read_hex4(p, i + 2, &u))
                return fail_at(p, i, VN_EFORMAT, "invalid \\u escape: expected 4 hexadecimal digits");
            unsigned cp = u;
            if (u >= 0xDC00 && u <= 0xDFFF)
                return fail_at(p, i, VN_EFORMAT, "lone low surrogate \\u%04x without a preceding high surrogate", u);
            if (u >= 0xD800 && u <= 0xDBFF) {
                unsigned lo;
                if (i + 7 < p->n && p->s[i + 6] == '\\' && p->s[i + 7] == 'u' && read_hex4(p, i + 8, &lo) &&
                    lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                } else {
                    return fail_at(p, i, VN_EFORMAT,
                                   "lone high surrogate \\u%04x: expected a \\uDC00..\\uDFFF escape after it", u);
                }
            }
            len += put_utf8(out ? out + len : NULL, cp);
            i += 6;
            continue;
        }
        if (c < 0x80) {
            if (out) out[len] = (char)c;
            len++;
            i++;
            continue;
        }
        const char *why;
        size_t bad;
        size_t seq = utf8_sequence(p->s + i, p->n - i, &why, &bad);
        if (!seq) return fail_at(p, i + bad, VN_EFORMAT, "%s", why);
        if (out) for (size_t k = 0; k < seq; k++) out[len + k] = (char)p->s[i + k];
        len += seq;
        i += seq;
    }
}

/* Reads a string at p->pos into the arena. */
static vn_status parse_string(parser *p, const char **chars, size_t *length) {
    size_t len, end;
    vn_status status = decode_string(p, NULL, &len, &end);
    if (status != VN_OK) return status;
    char *buf = vn_arena_alloc(p->arena, len + 1, 1);
    if (!buf) return no_memory(p);
    status = decode_string(p, buf, &len, &end);
    if (status != VN_OK) return status;
    buf[len] = '\0';
    *chars = buf;
    *length = len;
    p->pos = end;
    return VN_OK;
}

static int compare_keys(const vn_json_member *a, const vn_json_member *b) {
    size_t n = a->key_length < b->key_length ? a->key_length : b->key_length;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a->key[i], y = (unsigned char)b->key[i];
        if (x != y) return x < y ? -1 : 1;
    }
    if (a->key_length != b->key_length) return a->key_length < b->key_length ? -1 : 1;
    return 0;
}

/* Stable merge sort of index[0..n) by key, using tmp[0..n). */
static void sort_members(const vn_json_member *members, size_t *index, size_t *tmp, size_t n) {
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t a = lo, b = mid, k = lo;
            while (a < mid && b < hi) {
                if (compare_keys(&members[index[b]], &members[index[a]]) < 0) tmp[k++] = index[b++];
                else tmp[k++] = index[a++];
            }
            while (a < mid) tmp[k++] = index[a++];
            while (b < hi) tmp[k++] = index[b++];
        }
        for (size_t i = 0; i < n; i++) index[i] = tmp[i];
    }
}

static vn_status parse_value(parser *p, int depth, vn_json_value **out);

static vn_status parse_array(parser *p, int depth, vn_json_value *v) {
    p->pos++; /* '[' */
    value_link *first = NULL, *last = NULL;
    size_t count = 0;
    skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == ']') {
        p->pos++;
    } else {
        for (;;) {
            vn_json_value *item;
            vn_status status = parse_value(p, depth + 1, &item);
            if (status != VN_OK) return status;
            value_link *link = vn_arena_alloc(p->arena, sizeof *link, ALIGN_OF(value_link));
            if (!link) return no_memory(p);
            link->value = item;
            link->next = NULL;
            if (last) last->next = link;
            else first = link;
            last = link;
            count++;
            skip_ws(p);
            if (p->pos < p->n && p->s[p->pos] == ',') {
                p->pos++;
                skip_ws(p);
                if (p->pos < p->n && p->s[p->pos] == ']')
                    return fail_at(p, p->pos, VN_EFORMAT, "trailing comma before ']' is not allowed");
                continue;
            }
            if (p->pos < p->n && p->s[p->pos] == ']') {
                p->pos++;
                break;
            }
            return fail_expected(p, p->pos, "',' or ']' after an array element");
        }
    }
    vn_json_value **items = NULL;
    if (count) {
        size_t bytes;
        if (!vn_size_mul(count, sizeof *items, &bytes)) return no_memory(p);
        items = vn_arena_alloc(p->arena, bytes, ALIGN_OF(vn_json_value *));
        if (!items) return no_memory(p);
        size_t i = 0;
        for (value_link *l = first; l; l = l->next) items[i++] = l->value;
    }
    v->items = items;
    v->length = count;
    return VN_OK;
}

static vn_status parse_object(parser *p, int depth, vn_json_value *v) {
    p->pos++; /* '{' */
    member_link *first = NULL, *last = NULL;
    size_t count = 0;
    skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == '}') {
        p->pos++;
    } else {
        for (;;) {
            if (p->pos >= p->n || p->s[p->pos] != '"') {
                return fail_expected(p, p->pos, "a string key (in double quotes)");
            }
            member_link *link = vn_arena_alloc(p->arena, sizeof *link, ALIGN_OF(member_link));
            if (!link) return no_memory(p);
            link->next = NULL;
            link->member.offset = p->pos;
            link->member.line = p->line;
            link->member.column = p->pos - p->line_start + 1;
            vn_status status = parse_string(p, &link->member.key, &link->member.key_length);
            if (status != VN_OK) return status;
            skip_ws(p);
            if (p->pos >= p->n || p->s[p->pos] != ':') return fail_expected(p, p->pos, "':' after an object key");
            p->pos++;
            vn_json_value *item;
            status = parse_value(p, depth + 1, &item);
            if (status != VN_OK) return status;
            link->member.value = item;
            if (last) last->next = link;
            else first = link;
            last = link;
            count++;
            skip_ws(p);
            if (p->pos < p->n && p->s[p->pos] == ',') {
                p->pos++;
                skip_ws(p);
                if (p->pos < p->n && p->s[p->pos] == '}')
                    return fail_at(p, p->pos, VN_EFORMAT, "trailing comma before '}' is not allowed");
                continue;
            }
            if (p->pos < p->n && p->s[p->pos] == '}') {
                p->pos++;
                break;
            }
            return fail_expected(p, p->pos, "',' or '}' after an object member");
        }
    }
    vn_json_member *members = NULL;
    size_t *sorted = NULL;
    if (count) {
        size_t bytes, ibytes;
        if (!vn_size_mul(count, sizeof *members, &bytes) || !vn_size_mul(count, sizeof(size_t), &ibytes))
            return no_memory(p);
        members = vn_arena_alloc(p->arena, bytes, ALIGN_OF(vn_json_member));
        sorted = vn_arena_alloc(p->arena, ibytes, ALIGN_OF(size_t));
        if (!members || !sorted) return no_memory(p);
        size_t i = 0;
        for (member_link *l = first; l; l = l->next) members[i++] = l->member;
        for (i = 0; i < count; i++) sorted[i] = i;
        if (count > 1) {
            vn_arena_mark mark = vn_arena_get_mark(p->arena);
            size_t *tmp = vn_arena_alloc(p->arena, ibytes, ALIGN_OF(size_t));
            if (!tmp) return no_memory(p);
            sort_members(members, sorted, tmp, count);
            vn_arena_rewind(p->arena, mark);
            /* Equal keys end up adjacent, earlier occurrence first. */
            for (i = 1; i < count; i++) {
                const vn_json_member *a = &members[sorted[i - 1]], *b = &members[sorted[i]];
                if (compare_keys(a, b) == 0) {
                    char msg[256];
                    vn_format(msg, sizeof msg,
                              "line %zu, column %zu (byte %zu): duplicate key \"%.80s\" in an object "
                              "(first at line %zu, column %zu)",
                              b->line, b->column, b->offset, b->key, a->line, a->column);
                    vn_strlcpy(p->err, msg, p->err_size);
                    return VN_EFORMAT;
                }
            }
        }
    }
    v->members = members;
    v->sorted_ = sorted;
    v->length = count;
    return VN_OK;
}

static bool match_literal(const parser *p, const char *word) {
    size_t n = vn_strlen(word);
    if (p->n - p->pos < n) return false;
    for (size_t i = 0; i < n; i++)
        if (p->s[p->pos + i] != (unsigned char)word[i]) return false;
    return true;
}

static vn_status parse_value(parser *p, int depth, vn_json_value **out) {
    skip_ws(p);
    if (p->pos >= p->n) return fail_expected(p, p->pos, "a value");
    unsigned char c = p->s[p->pos];
    vn_json_value *v;
    switch (c) {
    case '{':
    case '[':
        if (depth >= VN_JSON_MAX_DEPTH)
            return fail_at(p, p->pos, VN_EFORMAT, "arrays and objects nested deeper than %d levels",
                           VN_JSON_MAX_DEPTH);
        v = new_value(p, c == '{' ? VN_JSON_OBJECT : VN_JSON_ARRAY, p->pos);
        if (!v) return no_memory(p);
        *out = v;
        return c == '{' ? parse_object(p, depth, v) : parse_array(p, depth, v);
    case '"':
        v = new_value(p, VN_JSON_STRING, p->pos);
        if (!v) return no_memory(p);
        *out = v;
        return parse_string(p, &v->string, &v->length);
    case 't':
    case 'f':
    case 'n': {
        const char *word = c == 't' ? "true" : c == 'f' ? "false" : "null";
        if (!match_literal(p, word)) return fail_expected(p, p->pos, "a value (true, false, null, a number, a string, an array or an object)");
        v = new_value(p, c == 'n' ? VN_JSON_NULL : VN_JSON_BOOL, p->pos);
        if (!v) return no_memory(p);
        v->boolean = c == 't';
        p->pos += vn_strlen(word);
        *out = v;
        return VN_OK;
    }
    default:
        break;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        size_t end, err_pos;
        const char *why;
        number_info info;
        if (!scan_number(p->s, p->n, p->pos, &end, &info, &err_pos, &why)) {
            char buf[16];
            return fail_at(p, err_pos, VN_EFORMAT, "invalid number: %s, found %s", why,
                           describe(p, err_pos, buf, sizeof buf));
        }
        if (info.too_large)
            return fail_at(p, p->pos, VN_EFORMAT, "number too large for a double (beyond 1.7976931348623157e+308)");
        v = new_value(p, VN_JSON_NUMBER, p->pos);
        if (!v) return no_memory(p);
        v->number = info.value;
        v->integer_syntax = info.integer_syntax;
        v->is_integer = info.is_integer;
        v->integer = info.integer;
        v->is_uint64 = info.is_uint64;
        v->uint64 = info.uint64;
        p->pos = end;
        *out = v;
        return VN_OK;
    }
    if (c >= 0x80) {
        const char *why;
        size_t bad;
        if (!utf8_sequence(p->s + p->pos, p->n - p->pos, &why, &bad))
            return fail_at(p, p->pos + bad, VN_EFORMAT, "%s", why);
    }
    return fail_expected(p, p->pos, "a value (true, false, null, a number, a string, an array or an object)");
}

vn_status vn_json_parse(const void *bytes, size_t length, vn_arena *arena,
                        const vn_json_value **out, char *err, size_t err_size) {
    if (err && err_size) err[0] = '\0';
    if ((!bytes && length) || !arena || !out) {
        vn_strlcpy(err, "vn_json_parse: NULL argument", err ? err_size : 0);
        return VN_EINVAL;
    }
    parser p = {bytes ? bytes : (const void *)"", length, 0, 1, 0, arena, err, err ? err_size : 0};
    vn_arena_mark mark = vn_arena_get_mark(arena);
    vn_json_value *root = NULL;
    vn_status status = parse_value(&p, 0, &root);
    if (status == VN_OK) {
        skip_ws(&p);
        if (p.pos < p.n) status = fail_expected(&p, p.pos, "end of input after the top-level value");
    }
    if (status != VN_OK) {
        vn_arena_rewind(arena, mark);
        return status;
    }
    *out = root;
    return VN_OK;
}

/* ======================================================================== */
/* Lookups and typed getters.                                               */
/* ======================================================================== */

const char *vn_json_type_name(vn_json_type type) {
    switch (type) {
    case VN_JSON_NULL: return "null";
    case VN_JSON_BOOL: return "boolean";
    case VN_JSON_NUMBER: return "number";
    case VN_JSON_STRING: return "string";
    case VN_JSON_ARRAY: return "array";
    case VN_JSON_OBJECT: return "object";
    }
    return "unknown";
}

const vn_json_value *vn_json_get_n(const vn_json_value *object, const char *key, size_t key_length) {
    if (!object || object->type != VN_JSON_OBJECT || !key || object->length == 0) return NULL;
    vn_json_member probe;
    probe.key = key;
    probe.key_length = key_length;
    size_t lo = 0, hi = object->length;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const vn_json_member *m = &object->members[object->sorted_[mid]];
        int c = compare_keys(m, &probe);
        if (c == 0) return m->value;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

const vn_json_value *vn_json_get(const vn_json_value *object, const char *key) {
    return key ? vn_json_get_n(object, key, vn_strlen(key)) : NULL;
}

size_t vn_json_length(const vn_json_value *value) {
    if (!value || (value->type != VN_JSON_ARRAY && value->type != VN_JSON_OBJECT)) return 0;
    return value->length;
}

const vn_json_value *vn_json_at(const vn_json_value *array, size_t index) {
    if (!array || array->type != VN_JSON_ARRAY || index >= array->length) return NULL;
    return array->items[index];
}

const vn_json_member *vn_json_member_at(const vn_json_value *object, size_t index) {
    if (!object || object->type != VN_JSON_OBJECT || index >= object->length) return NULL;
    return &object->members[index];
}

static vn_status wrong_type(const vn_json_value *value, const char *expected, const char *what,
                            char *err, size_t err_size) {
    if (!what) what = "value";
    if (!value) {
        vn_format(err, err_size, "missing %s (expected %s)", what, expected);
    } else {
        const char *found = vn_json_type_name(value->type);
        if (value->type == VN_JSON_NUMBER && !value->is_integer && vn_strcmp(expected, "an integer") == 0)
            found = value->integer_syntax ? "an integer outside the int64 range" : "a number with a fraction or exponent";
        vn_format(err, err_size, "line %zu, column %zu: expected %s for %s, found %s", value->line,
                  value->column, expected, what, found);
    }
    return VN_EFORMAT;
}

static const char *type_article(vn_json_type type) {
    switch (type) {
    case VN_JSON_NULL: return "null";
    case VN_JSON_BOOL: return "a boolean";
    case VN_JSON_NUMBER: return "a number";
    case VN_JSON_STRING: return "a string";
    case VN_JSON_ARRAY: return "an array";
    case VN_JSON_OBJECT: return "an object";
    }
    return "a value";
}

vn_status vn_json_expect(const vn_json_value *value, vn_json_type type, const char *what,
                         char *err, size_t err_size) {
    if (value && value->type == type) return VN_OK;
    return wrong_type(value, type_article(type), what, err, err_size);
}

vn_status vn_json_get_bool(const vn_json_value *value, const char *what, bool *out, char *err,
                           size_t err_size) {
    if (!value || value->type != VN_JSON_BOOL) return wrong_type(value, "a boolean", what, err, err_size);
    if (out) *out = value->boolean;
    return VN_OK;
}

vn_status vn_json_get_number(const vn_json_value *value, const char *what, double *out, char *err,
                             size_t err_size) {
    if (!value || value->type != VN_JSON_NUMBER) return wrong_type(value, "a number", what, err, err_size);
    if (out) *out = value->number;
    return VN_OK;
}

vn_status vn_json_get_int64(const vn_json_value *value, const char *what, int64_t *out, char *err,
                            size_t err_size) {
    if (!value || value->type != VN_JSON_NUMBER || !value->is_integer)
        return wrong_type(value, "an integer", what, err, err_size);
    if (out) *out = value->integer;
    return VN_OK;
}

vn_status vn_json_get_string(const vn_json_value *value, const char *what, const char **out,
                             size_t *length, char *err, size_t err_size) {
    if (!value || value->type != VN_JSON_STRING) return wrong_type(value, "a string", what, err, err_size);
    if (!length) /* the caller reads a C string: one holding NUL cannot be it */
        for (size_t i = 0; i < value->length; i++)
            if (value->string[i] == '\0') {
                vn_format(err, err_size, "line %zu, column %zu: %s contains a NUL character (\\u0000)",
                          value->line, value->column, what ? what : "the string");
                return VN_EFORMAT;
            }
    if (out) *out = value->string;
    if (length) *length = value->length;
    return VN_OK;
}

/* ======================================================================== */
/* Writer.                                                                  */
/* ======================================================================== */

void vn_json_writer_init(vn_json_writer *w, vn_write_fn write, void *user, int indent) {
    *w = (vn_json_writer){0};
    w->write = write;
    w->user = user;
    w->indent = indent < 0 ? 0 : indent > 16 ? 16 : indent;
    w->status = write ? VN_OK : VN_EINVAL;
}

static void writer_flush(vn_json_writer *w) {
    if (w->pending && w->status == VN_OK) {
        if (w->write(w->user, w->buf, w->pending) != 0) w->status = VN_EIO;
    }
    w->pending = 0;
}

static void emit(vn_json_writer *w, const char *bytes, size_t n) {
    for (size_t i = 0; i < n && w->status == VN_OK; i++) {
        w->buf[w->pending++] = bytes[i];
        w->total++;
        if (w->pending == sizeof w->buf) writer_flush(w);
    }
}

static void emit_char(vn_json_writer *w, char c) {
    emit(w, &c, 1);
}

static vn_status writer_fail(vn_json_writer *w, vn_status status) {
    if (w->status == VN_OK) w->status = status;
    return w->status;
}

static void newline_indent(vn_json_writer *w, int level) {
    if (!w->indent) return;
    emit_char(w, '\n');
    for (int i = 0; i < level * w->indent; i++) emit_char(w, ' ');
}

/* Separators before a value; false when a value is not allowed here. */
static bool before_value(vn_json_writer *w) {
    if (w->status != VN_OK) return false;
    if (w->done) {
        writer_fail(w, VN_EINVAL);
        return false;
    }
    if (w->depth > 0) {
        if (w->kind[w->depth] == 'o') {
            if (!w->have_key) {
                writer_fail(w, VN_EINVAL);
                return false;
            }
            w->have_key = false;
        } else {
            if (w->count[w->depth] > 0) emit_char(w, ',');
            newline_indent(w, w->depth);
            w->count[w->depth]++;
        }
    }
    return true;
}

static void after_value(vn_json_writer *w) {
    if (w->depth == 0) w->done = true;
}

static void emit_string(vn_json_writer *w, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    emit_char(w, '"');
    size_t run = 0; /* bytes that need no escape, written in one go */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[6];
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default: break;
        }
        if (!esc && c >= 0x20) {
            run++;
            continue;
        }
        emit(w, s + i - run, run);
        run = 0;
        if (esc) {
            emit(w, esc, 2);
        } else {
            u[0] = '\\', u[1] = 'u', u[2] = '0', u[3] = '0', u[4] = hex[c >> 4], u[5] = hex[c & 15];
            emit(w, u, 6);
        }
    }
    emit(w, s + n - run, run);
    emit_char(w, '"');
}

vn_status vn_json_begin_object(vn_json_writer *w) {
    if (!before_value(w)) return w->status;
    if (w->depth >= VN_JSON_MAX_DEPTH) return writer_fail(w, VN_EINVAL);
    emit_char(w, '{');
    w->depth++;
    w->kind[w->depth] = 'o';
    w->count[w->depth] = 0;
    w->have_key = false;
    return w->status;
}

vn_status vn_json_begin_array(vn_json_writer *w) {
    if (!before_value(w)) return w->status;
    if (w->depth >= VN_JSON_MAX_DEPTH) return writer_fail(w, VN_EINVAL);
    emit_char(w, '[');
    w->depth++;
    w->kind[w->depth] = 'a';
    w->count[w->depth] = 0;
    return w->status;
}

static vn_status end_container(vn_json_writer *w, unsigned char kind) {
    if (w->status != VN_OK) return w->status;
    if (w->depth == 0 || w->kind[w->depth] != kind || (kind == 'o' && w->have_key))
        return writer_fail(w, VN_EINVAL);
    size_t count = w->count[w->depth];
    w->depth--;
    if (count > 0) newline_indent(w, w->depth);
    emit_char(w, kind == 'o' ? '}' : ']');
    after_value(w);
    return w->status;
}

vn_status vn_json_end_object(vn_json_writer *w) {
    return end_container(w, 'o');
}

vn_status vn_json_end_array(vn_json_writer *w) {
    return end_container(w, 'a');
}

vn_status vn_json_key_n(vn_json_writer *w, const char *key, size_t length) {
    if (w->status != VN_OK) return w->status;
    if (w->depth == 0 || w->kind[w->depth] != 'o' || w->have_key || (!key && length))
        return writer_fail(w, VN_EINVAL);
    if (!utf8_valid(key, length)) return writer_fail(w, VN_EINVAL);
    if (w->count[w->depth] > 0) emit_char(w, ',');
    newline_indent(w, w->depth);
    emit_string(w, key ? key : "", length);
    if (w->indent) emit(w, ": ", 2);
    else emit_char(w, ':');
    w->count[w->depth]++;
    w->have_key = true;
    return w->status;
}

vn_status vn_json_key(vn_json_writer *w, const char *key) {
    if (!key) return writer_fail(w, VN_EINVAL);
    return vn_json_key_n(w, key, vn_strlen(key));
}

vn_status vn_json_string_n(vn_json_writer *w, const char *s, size_t length) {
    if (w->status != VN_OK) return w->status;
    if ((!s && length) || !utf8_valid(s, length)) return writer_fail(w, VN_EINVAL);
    if (!before_value(w)) return w->status;
    emit_string(w, s ? s : "", length);
    after_value(w);
    return w->status;
}

vn_status vn_json_string(vn_json_writer *w, const char *s) {
    if (!s) return writer_fail(w, VN_EINVAL);
    return vn_json_string_n(w, s, vn_strlen(s));
}

vn_status vn_json_number(vn_json_writer *w, double value) {
    if (w->status != VN_OK) return w->status;
    char buf[VN_JSON_NUMBER_MAX];
    size_t n = vn_json_format_double(value, buf);
    if (n == 0) return writer_fail(w, VN_ENAN);
    if (!before_value(w)) return w->status;
    emit(w, buf, n);
    after_value(w);
    return w->status;
}

static void emit_u64(vn_json_writer *w, uint64_t v) {
    char tmp[24];
    char *p = tmp + sizeof tmp;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    emit(w, p, (size_t)(tmp + sizeof tmp - p));
}

vn_status vn_json_integer(vn_json_writer *w, int64_t value) {
    if (!before_value(w)) return w->status;
    if (value < 0) {
        emit_char(w, '-');
        emit_u64(w, (uint64_t)0 - (uint64_t)value);
    } else {
        emit_u64(w, (uint64_t)value);
    }
    after_value(w);
    return w->status;
}

vn_status vn_json_unsigned(vn_json_writer *w, uint64_t value) {
    if (!before_value(w)) return w->status;
    emit_u64(w, value);
    after_value(w);
    return w->status;
}

vn_status vn_json_bool(vn_json_writer *w, bool value) {
    if (!before_value(w)) return w->status;
    if (value) emit(w, "true", 4);
    else emit(w, "false", 5);
    after_value(w);
    return w->status;
}

vn_status vn_json_null(vn_json_writer *w) {
    if (!before_value(w)) return w->status;
    emit(w, "null", 4);
    after_value(w);
    return w->status;
}

vn_status vn_json_writer_finish(vn_json_writer *w) {
    if (w->status == VN_OK && (!w->done || w->depth != 0)) w->status = VN_EINVAL;
    writer_flush(w);
    return w->status;
}

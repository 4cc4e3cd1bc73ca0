/* vn_base.c — status strings, byte helpers and the freestanding formatter. */
#include "vn_base.h"

static const char *const status_strings[VN_STATUS_COUNT] = {
    [VN_OK] = "ok",
    [VN_ENOMEM] = "out of memory",
    [VN_ESHAPE] = "shape mismatch",
    [VN_EINVAL] = "invalid argument",
    [VN_ERANGE] = "index out of range",
    [VN_EOVERFLOW] = "size overflow",
    [VN_EFORMAT] = "malformed input",
    [VN_ENAN] = "not a finite number",
    [VN_EIO] = "write or read failed",
    [VN_EFULL] = "table full",
};
VN_STATIC_ASSERT(VN_ARRAY_COUNT(status_strings) == VN_STATUS_COUNT, status_strings_complete);

const char *vn_status_string(vn_status status) {
    if ((unsigned)status >= VN_STATUS_COUNT || !status_strings[status]) return "unknown status";
    return status_strings[status];
}

size_t vn_strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

int vn_strcmp(const char *a, const char *b) {
    while (*a && *a == *b) a++, b++;
    return (int)(unsigned char)*a - (int)(unsigned char)*b;
}

int vn_strncmp(const char *a, const char *b, size_t n) {
    for (; n > 0; n--, a++, b++) {
        if (*a != *b || !*a) return (int)(unsigned char)*a - (int)(unsigned char)*b;
    }
    return 0;
}

bool vn_str_equal_n(const char *bytes, size_t length, const char *s) {
    for (size_t i = 0; i < length; i++)
        if (s[i] == '\0' || s[i] != bytes[i]) return false;
    return s[length] == '\0';
}

size_t vn_strlcpy(char *dst, const char *src, size_t size) {
    size_t n = vn_strlen(src);
    if (size > 0) {
        size_t k = n < size - 1 ? n : size - 1;
        for (size_t i = 0; i < k; i++) dst[i] = src[i];
        dst[k] = '\0';
    }
    return n;
}

/* ---- formatter ---------------------------------------------------------- */

/* Output of the formatter: a caller buffer (write == NULL), or a writer fed
 * through the buffer in chunks. */
typedef struct out_buffer {
    char *buf;
    size_t size;
    size_t length;    /* the full length the output would have */
    vn_write_fn write;
    void *user;
    size_t pending;   /* writer mode: bytes in buf not yet written */
    vn_status status; /* writer mode: first failure */
} out_buffer;

static void flush(out_buffer *o) {
    if (o->pending && o->status == VN_OK) o->status = vn_write(o->write, o->user, o->buf, o->pending);
    o->pending = 0;
}

static void put_char(out_buffer *o, char c) {
    if (o->write) {
        o->buf[o->pending++] = c;
        if (o->pending == o->size) flush(o);
    } else if (o->length + 1 < o->size) {
        o->buf[o->length] = c;
    }
    o->length++;
}

static void put_padded(out_buffer *o, const char *s, size_t n, int width, bool left, char pad) {
    size_t w = width > 0 ? (size_t)width : 0;
    if (!left && pad == '0' && n < w && (s[0] == '-' || s[0] == '+')) {
        put_char(o, s[0]);
        s++, n--, w--;
    }
    if (!left) for (size_t i = n; i < w; i++) put_char(o, pad);
    for (size_t i = 0; i < n; i++) put_char(o, s[i]);
    if (left) for (size_t i = n; i < w; i++) put_char(o, ' ');
}

/* Writes an unsigned integer in `base` into the end of tmp; returns its start. */
static char *format_unsigned(char *end, unsigned long long v, unsigned base) {
    char *p = end;
    do {
        unsigned d = (unsigned)(v % base);
        *--p = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    return p;
}

/* Decimal digits of a finite positive double: fills digits[0..ndigits) with
 * the value rounded to `ndigits` significant digits (1..17) and returns the
 * decimal exponent of the first digit. Accurate to the last digit for
 * ndigits ≤ 15; the 16th/17th digit may be off by one (messages only). */
static int decimal_digits(double v, int ndigits, char *digits) {
    int e10 = 0;
    /* Bring v into [1, 10) with powers of ten applied in large steps. */
    static const double big[] = {1e256, 1e128, 1e64, 1e32, 1e16, 1e8, 1e4, 1e2, 1e1};
    static const int bigexp[] = {256, 128, 64, 32, 16, 8, 4, 2, 1};
    for (size_t i = 0; i < VN_ARRAY_COUNT(big); i++) {
        if (v >= big[i]) v /= big[i], e10 += bigexp[i];
    }
    for (size_t i = 0; i < VN_ARRAY_COUNT(big); i++) {
        if (v < 1.0 && v * big[i] < 10.0) v *= big[i], e10 -= bigexp[i];
    }
    if (v < 1.0) v *= 10.0, e10--;
    /* mantissa = round(v * 10^(ndigits-1)) */
    double scale = 1.0;
    for (int i = 1; i < ndigits; i++) scale *= 10.0;
    double m = v * scale + 0.5;
    unsigned long long mant = (unsigned long long)m;
    unsigned long long limit = 1;
    for (int i = 0; i < ndigits; i++) limit *= 10ULL;
    if (mant >= limit) mant /= 10, e10++;
    for (int i = ndigits - 1; i >= 0; i--) {
        digits[i] = (char)('0' + mant % 10);
        mant /= 10;
    }
    return e10;
}

/* Formats a double in %e, %f or %g style with the given precision. */
static size_t format_double(char *out, size_t cap, double v, char style, int precision) {
    size_t n = 0;
#define EMIT(ch) do { if (n < cap) out[n] = (ch); n++; } while (0)
    if (v != v) {
        EMIT('n'); EMIT('a'); EMIT('n');
        return n;
    }
    if (v < 0 || (v == 0 && 1.0 / v < 0)) {
        EMIT('-');
        v = -v;
    }
    if (v > DBL_MAX) {
        EMIT('i'); EMIT('n'); EMIT('f');
        return n;
    }
    if (precision < 0) precision = 6;
    char digits[24];
    int ndigits, e10;
    if (style == 'g') {
        ndigits = precision == 0 ? 1 : (precision > 17 ? 17 : precision);
        if (v == 0) {
            EMIT('0');
            return n;
        }
        e10 = decimal_digits(v, ndigits, digits);
        /* strip trailing zeros */
        while (ndigits > 1 && digits[ndigits - 1] == '0') ndigits--;
        if (e10 < -4 || e10 >= (precision == 0 ? 1 : precision)) {
            style = 'e';
        } else {
            /* fixed notation with the significant digits */
            if (e10 < 0) {
                EMIT('0'); EMIT('.');
                for (int i = -1; i > e10; i--) EMIT('0');
                for (int i = 0; i < ndigits; i++) EMIT(digits[i]);
            } else {
                for (int i = 0; i <= e10; i++) EMIT(i < ndigits ? digits[i] : '0');
                if (ndigits > e10 + 1) {
                    EMIT('.');
                    for (int i = e10 + 1; i < ndigits; i++) EMIT(digits[i]);
                }
            }
            return n;
        }
    } else if (style == 'e') {
        ndigits = precision + 1 > 17 ? 17 : precision + 1;
        if (v == 0) {
            for (int i = 0; i < ndigits; i++) digits[i] = '0';
            e10 = 0;
        } else {
            e10 = decimal_digits(v, ndigits, digits);
        }
    } else { /* 'f' */
        if (precision > 17) precision = 17;
        int e = 0;
        if (v != 0) {
            char tmp[24];
            e = decimal_digits(v, 1, tmp);
        }
        ndigits = e + 1 + precision;
        if (ndigits > 17) ndigits = 17;
        if (ndigits < 1) {
            /* value rounds below the last shown decimal */
            EMIT('0');
            if (precision > 0) {
                EMIT('.');
                for (int i = 0; i < precision; i++) EMIT('0');
            }
            return n;
        }
        e10 = v == 0 ? 0 : decimal_digits(v, ndigits, digits);
        if (v == 0) for (int i = 0; i < ndigits; i++) digits[i] = '0';
        int pos;
        if (e10 < 0) {
            EMIT('0');
        } else {
            for (pos = 0; pos <= e10; pos++) EMIT(pos < ndigits ? digits[pos] : '0');
        }
        if (precision > 0) {
            EMIT('.');
            for (int i = 1; i <= precision; i++) {
                int idx = e10 + i;
                EMIT(idx >= 0 && idx < ndigits ? digits[idx] : '0');
            }
        }
        return n;
    }
    /* 'e' style from digits/e10 */
    EMIT(digits[0]);
    if (ndigits > 1) {
        EMIT('.');
        for (int i = 1; i < ndigits; i++) EMIT(digits[i]);
    }
    EMIT('e');
    EMIT(e10 < 0 ? '-' : '+');
    int ae = e10 < 0 ? -e10 : e10;
    char eb[8];
    char *p = format_unsigned(eb + sizeof eb, (unsigned long long)ae, 10);
    if (eb + sizeof eb - p < 2) EMIT('0');
    while (p < eb + sizeof eb) EMIT(*p++);
    return n;
#undef EMIT
}

static void format_into(out_buffer *out, const char *fmt, va_list args);

size_t vn_vformat(char *buf, size_t size, const char *fmt, va_list args) {
    out_buffer o = {buf, size, 0, NULL, NULL, 0, VN_OK};
    format_into(&o, fmt, args);
    if (size > 0) buf[o.length < size ? o.length : size - 1] = '\0';
    return o.length;
}

static void format_into(out_buffer *out, const char *fmt, va_list args) {
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            put_char(out, *f);
            continue;
        }
        f++;
        bool left = false;
        char pad = ' ';
        for (;; f++) {
            if (*f == '-') left = true;
            else if (*f == '0') pad = '0';
            else break;
        }
        int width = 0;
        if (*f == '*') {
            width = va_arg(args, int);
            f++;
        } else {
            while (*f >= '0' && *f <= '9') width = width * 10 + (*f++ - '0');
        }
        int precision = -1;
        if (*f == '.') {
            f++;
            precision = 0;
            if (*f == '*') {
                precision = va_arg(args, int);
                f++;
            } else {
                while (*f >= '0' && *f <= '9') precision = precision * 10 + (*f++ - '0');
            }
        }
        int lng = 0;
        bool is_size = false;
        while (*f == 'l') lng++, f++;
        if (*f == 'z') is_size = true, f++;
        char tmp[64];
        char *end = tmp + sizeof tmp;
        switch (*f) {
        case 's': {
            const char *s = va_arg(args, const char *);
            if (!s) s = "(null)";
            size_t n = vn_strlen(s);
            if (precision >= 0 && (size_t)precision < n) n = (size_t)precision;
            put_padded(out, s, n, width, left, ' ');
            break;
        }
        case 'c':
            tmp[0] = (char)va_arg(args, int);
            put_padded(out, tmp, 1, width, left, ' ');
            break;
        case 'd':
        case 'i': {
            long long v;
            if (is_size) v = (long long)va_arg(args, ptrdiff_t);
            else if (lng >= 2) v = va_arg(args, long long);
            else if (lng == 1) v = va_arg(args, long);
            else v = va_arg(args, int);
            unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
            char *p = format_unsigned(end, u, 10);
            if (v < 0) *--p = '-';
            put_padded(out, p, (size_t)(end - p), width, left, pad);
            break;
        }
        case 'u':
        case 'x': {
            unsigned long long v;
            if (is_size) v = va_arg(args, size_t);
            else if (lng >= 2) v = va_arg(args, unsigned long long);
            else if (lng == 1) v = va_arg(args, unsigned long);
            else v = va_arg(args, unsigned);
            char *p = format_unsigned(end, v, *f == 'x' ? 16 : 10);
            put_padded(out, p, (size_t)(end - p), width, left, pad);
            break;
        }
        case 'p': {
            uintptr_t v = (uintptr_t)va_arg(args, void *);
            char *p = format_unsigned(end, (unsigned long long)v, 16);
            *--p = 'x';
            *--p = '0';
            put_padded(out, p, (size_t)(end - p), width, left, ' ');
            break;
        }
        case 'g':
        case 'e':
        case 'f': {
            double v = va_arg(args, double);
            size_t n = format_double(tmp, sizeof tmp, v, *f, precision);
            if (n > sizeof tmp) n = sizeof tmp;
            put_padded(out, tmp, n, width, left, pad);
            break;
        }
        case '%':
            put_char(out, '%');
            break;
        case '\0':
            f--; /* a lone '%' at the end */
            break;
        default:
            put_char(out, '%');
            put_char(out, *f);
            break;
        }
    }
}

size_t vn_format(char *buf, size_t size, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    size_t n = vn_vformat(buf, size, fmt, args);
    va_end(args);
    return n;
}

vn_status vn_message(char *buf, size_t size, vn_status status, const char *fmt, ...) {
    if (buf && size > 0) {
        va_list args;
        va_start(args, fmt);
        vn_vformat(buf, size, fmt, args);
        va_end(args);
    }
    return status;
}

vn_status vn_write(vn_write_fn write, void *user, const char *bytes, size_t length) {
    if (!write) return VN_EINVAL;
    if (length == 0) return VN_OK;
    return write(user, bytes, length) == 0 ? VN_OK : VN_EIO;
}

vn_status vn_writef(vn_write_fn write, void *user, const char *fmt, ...) {
    if (!write) return VN_EINVAL;
    char chunk[512];
    out_buffer o = {chunk, sizeof chunk, 0, write, user, 0, VN_OK};
    va_list args;
    va_start(args, fmt);
    format_into(&o, fmt, args);
    va_end(args);
    flush(&o);
    return o.status;
}

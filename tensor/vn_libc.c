/* vn_libc.c — the four functions compilers may call on their own.
 *
 * Even freestanding, GCC and Clang may emit calls to memcpy, memmove, memset
 * and memcmp (for struct copies and zeroing). With -Dfreestanding=true the
 * core defines them here, so its static library has no undefined symbols at
 * all; in a hosted build the C library provides them instead. */
#include "vn_base.h"

#ifdef VN_FREESTANDING

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

void *memcpy(void *restrict dst, const void *restrict src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--) *d++ = *s++;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d == s || n == 0) return dst;
    if ((uintptr_t)d < (uintptr_t)s) {
        while (n--) *d++ = *s++;
    } else {
        d += n, s += n;
        while (n--) *--d = *--s;
    }
    return dst;
}

void *memset(void *dst, int c, size_t n) {
    unsigned char *d = dst;
    while (n--) *d++ = (unsigned char)c;
    return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y) return (int)*x - (int)*y;
    return 0;
}

#else
/* ISO C forbids an empty translation unit. */
typedef int vn_libc_hosted_build;
#endif

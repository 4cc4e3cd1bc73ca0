/* fuzz_common.h — what the libFuzzer harnesses share: a bounded, counting
 * allocator for the core's arenas and a check that every input leaves no
 * memory behind.
 *
 * Each harness defines LLVMFuzzerTestOneInput and runs the real parsing
 * code on the fuzzer's bytes. Memory comes from callback arenas whose
 * blocks are small (so the arena's own block logic is exercised too) and
 * whose total is capped: an input that asks for more gets VN_ENOMEM from
 * the core, as a real caller with a memory limit would, instead of making
 * the fuzzer's malloc limit fire. After each input every arena is released
 * and the live byte count must be back at zero.
 *
 * A failed expectation calls fuzz_fail, which prints the message and
 * aborts, so libFuzzer records the input as a crash. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vn_arena.h"
#include "vn_base.h"
#include "vn_iv_types.h"

/* Cap on the bytes the core may hold at once for one input. */
#ifndef FUZZ_MEMORY_CAP
#define FUZZ_MEMORY_CAP ((size_t)64 << 20)
#endif
/* Arena block size: small, so that parsing crosses many blocks. */
#ifndef FUZZ_BLOCK_SIZE
#define FUZZ_BLOCK_SIZE ((size_t)4096)
#endif

typedef struct fuzz_heap {
    size_t live, cap, allocations;
} fuzz_heap;

static inline void *fuzz_alloc(void *user, void *ptr, size_t old_size, size_t new_size) {
    fuzz_heap *heap = user;
    if (new_size == 0) {
        if (ptr) heap->live -= old_size;
        free(ptr);
        return NULL;
    }
    size_t grow = new_size - (ptr ? old_size : 0);
    if (new_size > heap->cap || heap->live + grow > heap->cap) return NULL;
    void *p = realloc(ptr, new_size);
    if (!p) return NULL;
    heap->live += grow;
    heap->allocations++;
    return p;
}

static inline void fuzz_fail(const char *what, const char *detail) {
    fprintf(stderr, "fuzz: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

#define FUZZ_CHECK(cond, detail)                                                      \
    do {                                                                              \
        if (!(cond)) fuzz_fail("expectation failed: " #cond, (detail));               \
    } while (0)

/* Registers the intervention ops once per process (every harness needs them). */
static inline void fuzz_register_ops(void) {
    static bool registered;
    if (registered) return;
    if (vn_iv_register_ops() != VN_OK) fuzz_fail("cannot register the intervention ops", NULL);
    registered = true;
}

static inline void fuzz_heap_init(fuzz_heap *heap) {
    heap->live = 0;
    heap->cap = FUZZ_MEMORY_CAP;
    heap->allocations = 0;
}

static inline void fuzz_arena(vn_arena *arena, fuzz_heap *heap) {
    vn_arena_init_alloc(arena, fuzz_alloc, heap, FUZZ_BLOCK_SIZE);
}

/* Releases the arena and checks that nothing stays allocated. */
static inline void fuzz_arena_done(vn_arena *arena, fuzz_heap *heap) {
    vn_arena_release(arena);
    if (heap->live != 0) {
        char detail[64];
        snprintf(detail, sizeof detail, "%zu bytes still live", heap->live);
        fuzz_fail("memory left after releasing the arena", detail);
    }
}

/* An error message must be a NUL-terminated, non-empty string. */
static inline void fuzz_check_message(const char *err, size_t size) {
    FUZZ_CHECK(memchr(err, '\0', size) != NULL, "message not terminated");
    FUZZ_CHECK(err[0] != '\0', "empty error message");
}

/* A writer that discards its bytes (counts them). */
static inline int fuzz_null_write(void *user, const char *bytes, size_t length) {
    (void)bytes;
    if (user) *(size_t *)user += length;
    return 0;
}

/* A writer into a growing malloc buffer. */
typedef struct fuzz_buffer {
    unsigned char *data;
    size_t size, capacity;
} fuzz_buffer;

static inline int fuzz_buffer_write(void *user, const char *bytes, size_t length) {
    fuzz_buffer *b = user;
    if (b->size + length > b->capacity) {
        size_t capacity = b->capacity ? b->capacity : 256;
        while (capacity < b->size + length) capacity *= 2;
        unsigned char *data = realloc(b->data, capacity);
        if (!data) return -1;
        b->data = data;
        b->capacity = capacity;
    }
    if (length) memcpy(b->data + b->size, bytes, length);
    b->size += length;
    return 0;
}

static inline void fuzz_buffer_free(fuzz_buffer *b) {
    free(b->data);
    b->data = NULL;
    b->size = b->capacity = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif

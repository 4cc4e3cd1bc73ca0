/* vn_arena.h — bump allocation over caller memory, with mark and rewind.
 *
 * An arena hands out aligned pieces of memory that are never freed one by
 * one: the caller takes a mark, allocates, and rewinds to the mark, which
 * releases everything allocated after it at once. The memory comes either
 *   - from one fixed buffer the caller owns (vn_arena_init_buffer), or
 *   - from an allocator callback in the style of lua_Alloc
 *     (vn_arena_init_alloc), which the arena calls for blocks of memory.
 *
 * In callback mode, blocks are kept after a rewind and reused, so a loop that
 * rewinds to the same mark every iteration reaches a steady state in which it
 * calls the allocator zero times (`alloc_calls` counts the calls).
 *
 * Exhaustion is an ordinary result: vn_arena_alloc returns NULL and the
 * caller reports VN_ENOMEM. Nothing here aborts. */
#ifndef VN_ARENA_H
#define VN_ARENA_H

#include "vn_base.h"

/* The allocator callback, as lua_Alloc: with new_size == 0 it frees `ptr`
 * (of old_size bytes) and returns NULL; otherwise it returns a block of
 * new_size bytes (ptr is always NULL when the arena calls it for a new block),
 * or NULL when memory is exhausted. */
typedef void *(*vn_alloc_fn)(void *user, void *ptr, size_t old_size, size_t new_size);

typedef struct vn_arena_block vn_arena_block;

typedef struct vn_arena {
    /* Fixed-buffer mode: `buffer`/`capacity`; callback mode: the current
     * block's payload. */
    unsigned char *buffer;
    size_t capacity;
    size_t used;
    vn_alloc_fn alloc;      /* NULL in fixed-buffer mode */
    void *alloc_user;
    size_t block_size;      /* minimum payload of a new block (callback mode) */
    vn_arena_block *first;  /* chain of blocks (callback mode) */
    vn_arena_block *current;
    size_t alloc_calls;     /* allocator callback invocations, for benchmarks */
    size_t in_use;          /* bytes handed out, counting padding */
    size_t peak;            /* high-water mark of in_use */
} vn_arena;

/* A point to rewind to. Valid until the arena is rewound past it. */
typedef struct vn_arena_mark {
    vn_arena_block *block;
    size_t used;
    size_t in_use;
} vn_arena_mark;

/* Alignment of every allocation unless asked for more: 64 bytes, one cache
 * line, so kernels may use aligned vector loads. */
#define VN_ARENA_ALIGN 64

/* Fixed-buffer arena over `size` bytes at `buffer` (caller owns the buffer;
 * the arena never frees it). */
void vn_arena_init_buffer(vn_arena *arena, void *buffer, size_t size);

/* Callback arena. `block_size` is the minimum size of each block requested
 * from `alloc` (0 picks 1 MiB); larger requests get a block of their own size. */
void vn_arena_init_alloc(vn_arena *arena, vn_alloc_fn alloc, void *user, size_t block_size);

/* Returns `size` bytes aligned to `align` (a power of two, at least 1; 0 means
 * VN_ARENA_ALIGN), or NULL when memory is exhausted or the size overflows.
 * The memory is not zeroed. */
void *vn_arena_alloc(vn_arena *arena, size_t size, size_t align);

/* As vn_arena_alloc, zero-filled. */
void *vn_arena_calloc(vn_arena *arena, size_t size, size_t align);

vn_arena_mark vn_arena_get_mark(const vn_arena *arena);

/* Releases everything allocated after `mark`. Blocks are kept for reuse. */
void vn_arena_rewind(vn_arena *arena, vn_arena_mark mark);

/* Returns every block to the allocator (callback mode); the arena is then
 * empty and may be used again. In fixed-buffer mode this rewinds to empty. */
void vn_arena_release(vn_arena *arena);

#endif

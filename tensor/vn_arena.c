/* vn_arena.c — bump allocation with mark/rewind over a buffer or callback. */
#include "vn_arena.h"

/* A block from the allocator callback: header, then payload. */
struct vn_arena_block {
    vn_arena_block *next;
    size_t capacity; /* payload bytes */
    size_t total;    /* bytes requested from the allocator, for freeing */
    unsigned char *payload;
};

#define DEFAULT_BLOCK_SIZE ((size_t)1 << 20)

void vn_arena_init_buffer(vn_arena *arena, void *buffer, size_t size) {
    *arena = (vn_arena){0};
    arena->buffer = buffer;
    arena->capacity = buffer ? size : 0;
}

void vn_arena_init_alloc(vn_arena *arena, vn_alloc_fn alloc, void *user, size_t block_size) {
    *arena = (vn_arena){0};
    arena->alloc = alloc;
    arena->alloc_user = user;
    arena->block_size = block_size ? block_size : DEFAULT_BLOCK_SIZE;
}

/* Offset of the first `align`-aligned address at or after buffer + used, or
 * SIZE_MAX on overflow. */
static size_t aligned_offset(const unsigned char *buffer, size_t used, size_t align) {
    uintptr_t address = (uintptr_t)buffer + used;
    uintptr_t pad = (align - (address & (align - 1))) & (align - 1);
    size_t offset;
    if (!vn_size_add(used, (size_t)pad, &offset)) return SIZE_MAX;
    return offset;
}

static void make_current(vn_arena *arena, vn_arena_block *block) {
    arena->current = block;
    arena->buffer = block->payload;
    arena->capacity = block->capacity;
    arena->used = 0;
}

/* Frees `block` and every block after it. */
static void free_chain(vn_arena *arena, vn_arena_block *block) {
    while (block) {
        vn_arena_block *next = block->next;
        arena->alloc(arena->alloc_user, block, block->total, 0);
        arena->alloc_calls++;
        block = next;
    }
}

/* Callback mode: moves to a block with room for size + align bytes, reusing
 * the next kept block when it is large enough. */
static bool next_block(vn_arena *arena, size_t size, size_t align) {
    size_t need;
    if (!vn_size_add(size, align, &need)) return false;
    vn_arena_block *after = arena->current ? arena->current->next : arena->first;
    if (after && after->capacity >= need) {
        make_current(arena, after);
        return true;
    }
    /* The kept chain does not fit: drop it and allocate a fresh block. */
    if (after) {
        if (arena->current) arena->current->next = NULL;
        else arena->first = NULL;
        free_chain(arena, after);
    }
    size_t payload = need > arena->block_size ? need : arena->block_size;
    size_t header = (sizeof(vn_arena_block) + VN_ARENA_ALIGN - 1) & ~(size_t)(VN_ARENA_ALIGN - 1);
    size_t total;
    if (!vn_size_add(payload, header, &total)) return false;
    unsigned char *raw = arena->alloc(arena->alloc_user, NULL, 0, total);
    arena->alloc_calls++;
    if (!raw) return false;
    vn_arena_block *block = (vn_arena_block *)(void *)raw;
    block->next = NULL;
    block->capacity = payload;
    block->total = total;
    block->payload = raw + header;
    if (arena->current) arena->current->next = block;
    else arena->first = block;
    make_current(arena, block);
    return true;
}

void *vn_arena_alloc(vn_arena *arena, size_t size, size_t align) {
    if (align == 0) align = VN_ARENA_ALIGN;
    if (align & (align - 1)) return NULL;
    if (size == 0) size = 1; /* distinct, valid pointers for empty tensors */
    for (int attempt = 0; attempt < 2; attempt++) {
        if (arena->buffer) {
            size_t offset = aligned_offset(arena->buffer, arena->used, align);
            size_t end;
            if (offset != SIZE_MAX && vn_size_add(offset, size, &end) && end <= arena->capacity) {
                arena->in_use += end - arena->used;
                if (arena->in_use > arena->peak) arena->peak = arena->in_use;
                arena->used = end;
                return arena->buffer + offset;
            }
        }
        if (!arena->alloc || attempt == 1) return NULL;
        if (!next_block(arena, size, align)) return NULL;
    }
    return NULL;
}

void *vn_arena_calloc(vn_arena *arena, size_t size, size_t align) {
    unsigned char *p = vn_arena_alloc(arena, size, align);
    if (p) for (size_t i = 0; i < size; i++) p[i] = 0;
    return p;
}

vn_arena_mark vn_arena_get_mark(const vn_arena *arena) {
    vn_arena_mark mark = {arena->current, arena->used, arena->in_use};
    return mark;
}

void vn_arena_rewind(vn_arena *arena, vn_arena_mark mark) {
    if (arena->alloc) {
        if (mark.block) {
            arena->current = mark.block;
            arena->buffer = mark.block->payload;
            arena->capacity = mark.block->capacity;
        } else {
            /* Marked before the first block existed. */
            arena->current = NULL;
            arena->buffer = NULL;
            arena->capacity = 0;
        }
    }
    arena->used = mark.used;
    arena->in_use = mark.in_use;
}

void vn_arena_release(vn_arena *arena) {
    if (arena->alloc) {
        free_chain(arena, arena->first);
        arena->first = arena->current = NULL;
        arena->buffer = NULL;
        arena->capacity = 0;
    }
    arena->used = 0;
    arena->in_use = 0;
}

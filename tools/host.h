/* host.h — the hosted side of cvene: memory, files and text output for the
 * cvene command, the tests and the benchmarks. The core never calls these;
 * it receives what they produce (an allocator callback, bytes, a writer).
 *
 * Every function reports failure by its return value and, where a message
 * helps, writes it into `err` (a caller buffer of VN_HOST_ERR bytes). */
#ifndef VN_HOST_H
#define VN_HOST_H

#include <stdio.h>
#include "vn_base.h"
#include "vn_arena.h"

#define VN_HOST_ERR 512

/* The malloc-backed allocator callback (lua_Alloc style). `user` may be a
 * vn_host_alloc_stats to count calls and bytes, or NULL. */
typedef struct vn_host_alloc_stats {
    size_t calls;          /* every call, including frees */
    size_t live_bytes;
    size_t peak_bytes;
    size_t fail_at;        /* when non-zero, the fail_at-th allocation fails */
    size_t allocations;    /* allocations attempted so far */
} vn_host_alloc_stats;
void *vn_host_alloc(void *user, void *ptr, size_t old_size, size_t new_size);

/* A callback arena backed by vn_host_alloc. Release with vn_arena_release. */
void vn_host_arena(vn_arena *arena, vn_host_alloc_stats *stats);

/* Writer callback for a FILE * (user = the FILE *). */
int vn_host_write_file(void *user, const char *bytes, size_t length);

/* Reads a whole file into malloc'd memory (*data, *size); the caller frees
 * *data. Returns false and fills err on failure. */
bool vn_host_read_file(const char *path, unsigned char **data, size_t *size, char *err);

/* Writes bytes atomically: to "<path>.tmp.<pid>", fsync, rename over path,
 * fsync of the directory. On failure the previous file at path is intact and
 * no temporary file is left. Before writing, removes the "<path>.tmp.<pid>"
 * files whose process no longer exists (kill(pid, 0) gives ESRCH): what
 * saves killed by a signal left behind. Those of live processes stay. */
bool vn_host_write_file_atomic(const char *path, const void *data, size_t size, char *err);

/* Several files saved as one: every file is written to its temporary name and
 * flushed first, then all are renamed in the order given. A failure before
 * the renames leaves every previous file in place and no temporary file. A
 * kill can only split the save between two renames; a rename that replaces
 * a large file frees its pages before returning, so put the largest file
 * last to keep that window at microseconds. At most VN_HOST_MAX_FILES
 * files. */
#define VN_HOST_MAX_FILES 4
typedef struct vn_host_file {
    const char *path;
    const void *data;
    size_t size;
} vn_host_file;
bool vn_host_write_files_atomic(const vn_host_file *files, size_t count, char *err);

/* A growable byte buffer with a vn_write_fn, for building files in memory. */
typedef struct vn_host_buffer {
    unsigned char *data;
    size_t size, capacity;
    bool failed;
} vn_host_buffer;
int vn_host_buffer_write(void *user, const char *bytes, size_t length);
void vn_host_buffer_free(vn_host_buffer *buffer);

/* Creates a directory (and parents) if missing. */
bool vn_host_mkdirs(const char *path, char *err);

/* Seconds from a monotonic clock. */
double vn_host_seconds(void);

#endif

/* host.c — allocation, files, atomic saves and clocks for the hosted layer. */
#define _POSIX_C_SOURCE 200809L
#include "host.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void *vn_host_alloc(void *user, void *ptr, size_t old_size, size_t new_size) {
    vn_host_alloc_stats *stats = user;
    if (stats) stats->calls++;
    if (new_size == 0) {
        if (ptr && stats) stats->live_bytes -= old_size;
        free(ptr);
        return NULL;
    }
    if (stats) {
        stats->allocations++;
        if (stats->fail_at && stats->allocations == stats->fail_at) return NULL;
    }
    void *p = realloc(ptr, new_size);
    if (p && stats) {
        stats->live_bytes += new_size - (ptr ? old_size : 0);
        if (stats->live_bytes > stats->peak_bytes) stats->peak_bytes = stats->live_bytes;
    }
    return p;
}

void vn_host_arena(vn_arena *arena, vn_host_alloc_stats *stats) {
    vn_arena_init_alloc(arena, vn_host_alloc, stats, 0);
}

int vn_host_write_file(void *user, const char *bytes, size_t length) {
    return fwrite(bytes, 1, length, (FILE *)user) == length ? 0 : -1;
}

bool vn_host_read_file(const char *path, unsigned char **data, size_t *size, char *err) {
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, VN_HOST_ERR, "cannot open %.300s: %s", path, strerror(errno));
        return false;
    }
    size_t capacity = 1 << 16, length = 0;
    unsigned char *buf = malloc(capacity);
    while (buf) {
        size_t got = fread(buf + length, 1, capacity - length, f);
        length += got;
        if (length < capacity) break;
        unsigned char *bigger = capacity > SIZE_MAX / 2 ? NULL : realloc(buf, capacity * 2);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        capacity *= 2;
    }
    bool ok = buf && !ferror(f);
    fclose(f);
    if (!ok) {
        free(buf);
        snprintf(err, VN_HOST_ERR, "cannot read %.300s: %s", path, buf ? "read error" : "out of memory");
        return false;
    }
    *data = buf;
    *size = length;
    return true;
}

/* The directory of path into dir ("." when path has no slash); returns the
 * file name part of path, or NULL when dir is too small. */
static const char *split_path(const char *path, char *dir, size_t size) {
    const char *slash = strrchr(path, '/');
    if (!slash) {
        if (size < 2) return NULL;
        strcpy(dir, ".");
        return path;
    }
    size_t n = (size_t)(slash - path);
    if (n == 0) n = 1;
    if (n >= size) return NULL;
    memcpy(dir, path, n);
    dir[n] = '\0';
    return slash + 1;
}

static bool sync_parent_directory(const char *path) {
    char dir[4096];
    if (!split_path(path, dir, sizeof dir)) return false;
    int fd = open(dir, O_RDONLY);
    if (fd < 0) return false;
    fsync(fd);
    close(fd);
    return true;
}

/* The pid of a temporary file name's tail ("<digits>", as the writer
 * makes it), or 0 when the tail is anything else. */
static pid_t temp_pid(const char *digits) {
    long pid = 0;
    if (digits[0] < '1' || digits[0] > '9') return 0;
    for (const char *d = digits; *d; d++) {
        if (*d < '0' || *d > '9' || pid > 99999999) return 0;
        pid = pid * 10 + (*d - '0');
    }
    return (pid_t)pid;
}

/* Removes the temporary files "<name>.tmp.<pid>" beside path that a killed
 * save left behind: those whose process no longer exists (kill(pid, 0)
 * fails with ESRCH). Files of live processes (a save under way elsewhere),
 * of processes this one may not signal (EPERM: alive) and other names stay.
 * Best effort: nothing here makes the save fail. */
static void remove_stale_temps(const char *path) {
    char dir[4096], file[4096 + 256];
    const char *name = split_path(path, dir, sizeof dir);
    if (!name || !*name) return;
    size_t n = strlen(name);
    DIR *d = opendir(dir);
    if (!d) return;
    pid_t self = getpid();
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, name, n) != 0 || strncmp(e->d_name + n, ".tmp.", 5) != 0) continue;
        pid_t pid = temp_pid(e->d_name + n + 5);
        if (pid <= 0 || pid == self) continue;
        if (kill(pid, 0) == 0 || errno != ESRCH) continue;
        if ((size_t)snprintf(file, sizeof file, "%s/%s", dir, e->d_name) < sizeof file) unlink(file);
    }
    closedir(d);
}

/* Writes data to the temporary file "<path>.tmp.<pid>" (named in tmp) and
 * flushes it to disk; on failure removes it and fills err. */
static bool write_temp(const char *path, const void *data, size_t size, char *tmp, size_t tmp_size,
                       char *err) {
    if ((size_t)snprintf(tmp, tmp_size, "%s.tmp.%ld", path, (long)getpid()) >= tmp_size) {
        snprintf(err, VN_HOST_ERR, "path too long: %.300s", path);
        return false;
    }
    remove_stale_temps(path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        snprintf(err, VN_HOST_ERR, "cannot create %.300s: %s", tmp, strerror(errno));
        return false;
    }
    const unsigned char *p = data;
    size_t left = size;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            snprintf(err, VN_HOST_ERR, "cannot write %.300s: %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            return false;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        snprintf(err, VN_HOST_ERR, "cannot flush %.300s: %s", tmp, strerror(errno));
        unlink(tmp);
        return false;
    }
    return true;
}

bool vn_host_write_files_atomic(const vn_host_file *files, size_t count, char *err) {
    char tmp[VN_HOST_MAX_FILES][4096];
    if (count > VN_HOST_MAX_FILES) {
        snprintf(err, VN_HOST_ERR, "%zu files in one save (at most %d)", count, VN_HOST_MAX_FILES);
        return false;
    }
    size_t written = 0, renamed = 0;
    bool ok = true;
    for (; ok && written < count; written++)
        if (!write_temp(files[written].path, files[written].data, files[written].size, tmp[written],
                        sizeof tmp[written], err))
            ok = false;
    if (!ok) written--; /* the failed one removed its own temporary file */
    /* Every file is on disk under its temporary name: only renames remain. */
    for (; ok && renamed < count; renamed++)
        if (rename(tmp[renamed], files[renamed].path) != 0) {
            snprintf(err, VN_HOST_ERR, "cannot rename %.200s to %.200s: %s", tmp[renamed], files[renamed].path,
                     strerror(errno));
            ok = false;
            break;
        }
    for (size_t i = renamed; i < written; i++) unlink(tmp[i]);
    for (size_t i = 0; i < renamed; i++) sync_parent_directory(files[i].path);
    return ok;
}

bool vn_host_write_file_atomic(const char *path, const void *data, size_t size, char *err) {
    vn_host_file file = {path, data, size};
    return vn_host_write_files_atomic(&file, 1, err);
}

int vn_host_buffer_write(void *user, const char *bytes, size_t length) {
    vn_host_buffer *b = user;
    if (b->failed) return -1;
    if (length > SIZE_MAX - b->size) {
        b->failed = true;
        return -1;
    }
    if (b->size + length > b->capacity) {
        size_t capacity = b->capacity ? b->capacity : 4096;
        while (capacity < b->size + length) {
            if (capacity > SIZE_MAX / 2) {
                b->failed = true;
                return -1;
            }
            capacity *= 2;
        }
        unsigned char *data = realloc(b->data, capacity);
        if (!data) {
            b->failed = true;
            return -1;
        }
        b->data = data;
        b->capacity = capacity;
    }
    memcpy(b->data + b->size, bytes, length);
    b->size += length;
    return 0;
}

void vn_host_buffer_free(vn_host_buffer *buffer) {
    free(buffer->data);
    *buffer = (vn_host_buffer){0};
}

bool vn_host_mkdirs(const char *path, char *err) {
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) {
        snprintf(err, VN_HOST_ERR, "bad directory path %.300s", path);
        return false;
    }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
                snprintf(err, VN_HOST_ERR, "cannot create directory %.300s: %s", buf, strerror(errno));
                return false;
            }
            buf[i] = c;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, VN_HOST_ERR, "%.300s is not a directory", path);
        return false;
    }
    return true;
}

double vn_host_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

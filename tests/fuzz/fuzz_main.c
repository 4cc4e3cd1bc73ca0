/* fuzz_main.c — runs a fuzz harness's LLVMFuzzerTestOneInput over files,
 * without libFuzzer: the regression replay of the test suite (every build,
 * any compiler) and a way to reproduce a crash file under a debugger or
 * valgrind.
 *
 *   replay_json [--modes N] PATH...
 *
 * Each PATH is a file or a directory (searched recursively); a PATH
 * written with a leading '?' is skipped when it does not exist. With
 * --modes N every file is also run N times with one prefix byte 0 .. N−1
 * (fuzz_roundtrip reads its format from the first byte). Prints how many
 * inputs ran; a failed expectation aborts. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t runs;

static void run_file(const char *path, int modes) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    size_t capacity = 4096, size = 0;
    uint8_t *data = malloc(capacity + 1);
    size_t got;
    while (data && (got = fread(data + 1 + size, 1, capacity - size, f)) > 0) {
        size += got;
        if (size == capacity) {
            capacity *= 2;
            uint8_t *bigger = realloc(data, capacity + 1);
            if (!bigger) free(data);
            data = bigger;
        }
    }
    fclose(f);
    if (!data) {
        fprintf(stderr, "%s: out of memory\n", path);
        exit(2);
    }
    /* An exact-size copy, so that AddressSanitizer sees any read past the end. */
    uint8_t *exact = malloc(size ? size : 1);
    if (!exact) exit(2);
    memcpy(exact, data + 1, size);
    LLVMFuzzerTestOneInput(exact, size);
    runs++;
    free(exact);
    for (int m = 0; m < modes; m++) {
        data[0] = (uint8_t)m;
        uint8_t *prefixed = malloc(size + 1);
        if (!prefixed) exit(2);
        memcpy(prefixed, data, size + 1);
        LLVMFuzzerTestOneInput(prefixed, size + 1);
        runs++;
        free(prefixed);
    }
    free(data);
}

static void run_path(const char *path, int modes) {
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        exit(2);
    }
    if (!S_ISDIR(st.st_mode)) {
        run_file(path, modes);
        return;
    }
    DIR *dir = opendir(path);
    if (!dir) {
        perror(path);
        exit(2);
    }
    struct dirent *entry;
    char **names = NULL;
    size_t count = 0;
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.') continue;
        char **more = realloc(names, (count + 1) * sizeof *names);
        if (!more) exit(2);
        names = more;
        size_t n = strlen(path) + strlen(entry->d_name) + 2;
        names[count] = malloc(n);
        if (!names[count]) exit(2);
        snprintf(names[count], n, "%s/%s", path, entry->d_name);
        count++;
    }
    closedir(dir);
    for (size_t i = 0; i < count; i++) {
        run_path(names[i], modes);
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv) {
    int modes = 0, paths = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--modes") == 0 && i + 1 < argc) {
            modes = atoi(argv[++i]);
            continue;
        }
        const char *path = argv[i];
        paths++;
        if (path[0] == '?') {
            struct stat st;
            if (stat(++path, &st) != 0) continue;
        }
        run_path(path, modes);
    }
    if (paths == 0) {
        fprintf(stderr, "usage: %s [--modes N] PATH...\n", argv[0]);
        return 2;
    }
    printf("%zu inputs ran\n", runs);
    return 0;
}

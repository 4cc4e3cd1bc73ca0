/* test_atomic_save.c — no data lost when a save is killed, and what a
 * killed save leaves behind removed by the next one.
 *
 * A child process saves a model directory (1 MB of weights) and an
 * intervention directory over and over through the commands' save paths:
 * save_model_dir (`cvene train`, `cvene das --out`) and
 * cli_save_intervention (`cvene align`), which build each file in memory
 * and write it with vn_host_write_file_atomic.
 * Every save is stamped: save i writes every model weight = i and
 * pdrop = i / 10^6 in config.json; the intervention's
 * intervention_link_key = i in config.json and its Boundless boundary = i in
 * interventions.safetensors. The parent kills the child with SIGKILL at a
 * random moment, many times, and after each kill checks that
 *   - every file under its final name is complete: it parses, the
 *     safetensors files have their exact length, and the directory loads
 *     through the same calls `cvene eval` makes;
 *   - each file carries one save's stamp throughout (no mixture of two
 *     saves inside one file), never older than the last save that
 *     completed before the kill began;
 *   - nothing but config.json, model.safetensors / interventions.safetensors
 *     and the writer's temporary files ("<name>.tmp.<pid>") is there (the
 *     temporary files are counted and removed).
 *
 * What is *not* guaranteed, and so only counted: a directory's two files
 * are both written and flushed before either is renamed, config.json first
 * and the tensors last, but two renames are not one; a kill between them
 * (microseconds) leaves config.json of save i with the tensors of an
 * earlier save. The test prints how often that happened, and how many temporary
 * files SIGKILL left behind (the writer removes its temporary file on every
 * error it sees, but cannot after SIGKILL).
 *
 * test_stale_temp_files_removed: the next save of a file removes the
 * temporary files of dead processes beside it, and only those.
 *
 * The directories live under /dev/shm when it exists (else /tmp;
 * CVENE_KILL_DIR overrides). CVENE_KILL_ITERATIONS sets the number of kills
 * (default 100). */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli_common.h"
#include "task_cli.h"
#include "host.h"
#include "test_support.h"
#include "vn_iv_io.h"
#include "vn_iv_model.h"
#include "vn_iv_types.h"
#include "vn_model_dir.h"
#include "vn_ops.h"

/* The big model (the model directory) and the small one the intervention
 * is built on. */
#define BIG_H 256
#define BIG_LAYERS 4
#define SMALL_H 64

static const char *const iv_config_text =
    "{\"representations\": [{\"layer\": 0, \"component\": \"block_output\", \"unit\": \"pos\","
    " \"max_number_of_units\": 1, \"intervention_link_key\": 0}],"
    " \"intervention_types\": \"BoundlessRotatedSpaceIntervention\"}";

/* Where the child is: written by the child, read by the parent after the
 * kill (a shared anonymous mapping survives the child). */
typedef struct progress {
    volatile long next;      /* set by the parent: the child's first save number */
    volatile long started;   /* save number the child is working on */
    volatile long completed; /* last save whose both directories were written (0: none yet) */
    volatile int phase;      /* 0 preparing, 1 model dir, 2 intervention dir */
} progress;

typedef struct saver {
    vn_arena arena;
    vn_context ctx;
    vn_mlp big, small;
    vn_iv_config config;
    vn_iv_model model;
    char model_dir[256], iv_dir[256];
} saver;

static void saver_init(saver *s, const char *root) {
    vn_host_arena(&s->arena, NULL);
    vn_context_init(&s->ctx, &s->arena);
    vn_mlp_config big = vn_mlp_config_default(), small = vn_mlp_config_default();
    big.h_dim = BIG_H;
    big.n_layer = BIG_LAYERS;
    small.h_dim = SMALL_H;
    small.n_layer = 1;
    ck_assert_int_eq(vn_mlp_init(&s->big, &s->ctx, &big, NULL), VN_OK);
    ck_assert_int_eq(vn_mlp_init(&s->small, &s->ctx, &small, NULL), VN_OK);
    char err[512];
    ck_assert_msg(vn_iv_config_parse(iv_config_text, strlen(iv_config_text), &s->arena, &s->config, NULL, NULL, err,
                                     sizeof err) == VN_OK, "%s", err);
    vn_rng rng;
    vn_rng_seed(&rng, 11, 0);
    vn_iv_model_options options = {&rng, false, false};
    ck_assert_msg(vn_iv_model_init(&s->model, &s->ctx, &s->small, &s->config, &options) == VN_OK, "%s",
                  vn_context_message(&s->ctx));
    snprintf(s->model_dir, sizeof s->model_dir, "%s/model", root);
    snprintf(s->iv_dir, sizeof s->iv_dir, "%s/intervention", root);
}

/* Save number i of both directories. */
static bool save(saver *s, long i, progress *p) {
    size_t count;
    const vn_nn_param *params = vn_mlp_params(&s->big, &count);
    for (size_t k = 0; k < count; k++)
        for (size_t j = 0; j < params[k].node->value.numel; j++) params[k].node->value.data[j] = (vn_real)i;
    s->big.config.pdrop = (double)i / 1e6; /* i < 10^6: read back exactly */
    s->model.config.representations[0].link_key = i;
    s->model.units[0].params->boundaries->value.data[0] = (vn_real)i;

    if (p) p->phase = 1;
    if (!save_model_dir("kill-test", s->model_dir, &s->big, &s->ctx)) return false;
    if (p) p->phase = 2;
    if (!cli_save_intervention("kill-test", s->iv_dir, &s->model, &s->ctx)) return false;
    if (p) p->phase = 0;
    return true;
}

static void child_loop(const char *root, progress *p) {
    saver s;
    saver_init(&s, root);
    for (long i = p->next;; i++) {
        p->started = i;
        if (!save(&s, i, p)) _exit(3);
        p->completed = i;
    }
}

/* ---- checks ------------------------------------------------------------------------- */

typedef struct stamps {
    long model_config, model_weights, iv_config, iv_tensors;
    int temp_files;
} stamps;

static unsigned char *read_file(const char *dir, const char *name, size_t *size) {
    char path[512], err[VN_HOST_ERR];
    unsigned char *data;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ck_assert_msg(vn_host_read_file(path, &data, size, err), "%s", err);
    return data;
}

/* Files of dir: the two names, and temporary files of the writer, which
 * are counted and removed (the writer is dead: they are all stale). */
static int check_names(const char *dir, const char *a, const char *b) {
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    int temps = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (!strcmp(e->d_name, a) || !strcmp(e->d_name, b)) continue;
        size_t na = strlen(a), nb = strlen(b);
        bool temp = (!strncmp(e->d_name, a, na) && !strncmp(e->d_name + na, ".tmp.", 5)) ||
                    (!strncmp(e->d_name, b, nb) && !strncmp(e->d_name + nb, ".tmp.", 5));
        ck_assert_msg(temp, "unexpected file %s/%s", dir, e->d_name);
        temps++;
        char path[768];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    return temps;
}

/* Loads both directories as `cvene eval` would and reads their stamps. */
static stamps check_dirs(const char *root) {
    stamps st = {0};
    char model_dir[256], iv_dir[256], err[512];
    snprintf(model_dir, sizeof model_dir, "%s/model", root);
    snprintf(iv_dir, sizeof iv_dir, "%s/intervention", root);
    st.temp_files = check_names(model_dir, "config.json", "model.safetensors") +
                    check_names(iv_dir, "config.json", "interventions.safetensors");
    vn_arena arena;
    vn_host_arena(&arena, NULL);
    vn_context ctx;
    vn_context_init(&ctx, &arena);

    size_t size;
    unsigned char *bytes = read_file(model_dir, "config.json", &size);
    vn_mlp_config mc;
    vn_status status = vn_model_config_parse(bytes, size, &arena, &mc, NULL, NULL, err, sizeof err);
    free(bytes);
    ck_assert_msg(status == VN_OK, "model config.json: %s", err);
    st.model_config = (long)(mc.pdrop * 1e6 + 0.5);
    vn_mlp mlp;
    ck_assert_int_eq(vn_mlp_init(&mlp, &ctx, &mc, NULL), VN_OK);
    bytes = read_file(model_dir, "model.safetensors", &size);
    status = vn_model_load_params(&mlp, bytes, size, &arena, err, sizeof err);
    free(bytes);
    ck_assert_msg(status == VN_OK, "model.safetensors: %s", err);
    size_t count;
    const vn_nn_param *params = vn_mlp_params(&mlp, &count);
    vn_real w = params[0].node->value.data[0];
    for (size_t k = 0; k < count; k++)
        for (size_t j = 0; j < params[k].node->value.numel; j++)
            if (params[k].node->value.data[j] != w) /* not ck_assert: it reports every check to the runner */
                ck_abort_msg("model.safetensors mixes two saves (%s[%zu] = %g, not %g)", params[k].name, j,
                             (double)params[k].node->value.data[j], (double)w);
    st.model_weights = (long)w;

    vn_mlp_config small = vn_mlp_config_default();
    small.h_dim = SMALL_H;
    small.n_layer = 1;
    vn_mlp smlp;
    ck_assert_int_eq(vn_mlp_init(&smlp, &ctx, &small, NULL), VN_OK);
    bytes = read_file(iv_dir, "config.json", &size);
    vn_iv_config config;
    status = vn_iv_config_parse(bytes, size, &arena, &config, NULL, NULL, err, sizeof err);
    free(bytes);
    ck_assert_msg(status == VN_OK, "intervention config.json: %s", err);
    ck_assert(config.count == 1 && config.representations[0].has_link_key);
    st.iv_config = (long)config.representations[0].link_key;
    vn_iv_model model;
    ck_assert_msg(vn_iv_model_init(&model, &ctx, &smlp, &config, NULL) == VN_OK, "%s", vn_context_message(&ctx));
    bytes = read_file(iv_dir, "interventions.safetensors", &size);
    status = vn_iv_load_tensors(&model, &ctx, bytes, size);
    free(bytes);
    ck_assert_msg(status == VN_OK, "interventions.safetensors: %s", vn_context_message(&ctx));
    st.iv_tensors = (long)model.units[0].params->boundaries->value.data[0];
    vn_arena_release(&arena);
    return st;
}

static double now(void) { return vn_host_seconds(); }

START_TEST(test_kill_during_save) {
    ck_assert_int_eq(vn_iv_register_ops(), VN_OK);
    const char *env = getenv("CVENE_KILL_ITERATIONS");
    long iterations = env ? atol(env) : 100;
    if (iterations < 1) iterations = 1;
    /* On a RAM file system when there is one: fsync there costs nothing, so
     * the kills land in writes and renames rather than mostly in fsync
     * (SIGKILL tests process death; what survives it does not depend on
     * the file system). CVENE_KILL_DIR chooses another place. */
    const char *base = getenv("CVENE_KILL_DIR");
    struct stat sb;
    if (!base) base = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    char root[512];
    snprintf(root, sizeof root, "%s/cvene-kill-XXXXXX", base);
    ck_assert_ptr_nonnull(mkdtemp(root));

    progress *p = mmap(NULL, sizeof *p, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(p, MAP_FAILED);
    memset((void *)p, 0, sizeof *p);

    /* Save 0, and the time one save takes (the mean of four more). */
    double period;
    {
        saver s;
        saver_init(&s, root);
        ck_assert(save(&s, 0, NULL));
        double t0 = now();
        for (int k = 0; k < 4; k++) ck_assert(save(&s, 0, NULL));
        period = (now() - t0) / 4;
        vn_arena_release(&s.arena);
    }
    stamps st = check_dirs(root);
    ck_assert(st.model_config == 0 && st.model_weights == 0 && st.iv_config == 0 && st.iv_tensors == 0);

    unsigned seed = (unsigned)time(NULL);
    srand(seed);
    long kills_mid_save = 0, model_pairs_split = 0, iv_pairs_split = 0, saves_done = 0;
    int temp_files = 0;
    stamps last = st;
    p->next = 1;
    for (long it = 0; it < iterations; it++) {
        p->started = p->next - 1;
        p->completed = 0;
        p->phase = 0;
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) child_loop(root, p);
        /* Once the child has begun its first save, up to three saves' time,
         * so that kills land in every phase of a save. */
        while (p->started < p->next) {
            struct timespec tick = {0, 100000};
            nanosleep(&tick, NULL);
            int early = 0;
            ck_assert_msg(waitpid(pid, &early, WNOHANG) == 0, "the child stopped before saving (status %d)", early);
        }
        double delay = period * 3.0 * ((double)rand() / RAND_MAX);
        struct timespec ts = {(time_t)delay, (long)((delay - (double)(time_t)delay) * 1e9)};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int wstatus;
        ck_assert_int_eq(waitpid(pid, &wstatus, 0), pid);
        ck_assert_msg(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL,
                      "the child stopped by itself (status %d): a save failed", wstatus);
        kills_mid_save += p->phase != 0;
        long completed = p->completed, newest = p->started;
        if (completed) saves_done += completed - p->next + 1;
        st = check_dirs(root);
        /* Each file holds one complete save: never older than the one it
         * held before or than the last save completed, never newer than
         * the save under way. */
        long floor = completed ? completed : 0;
        ck_assert_msg(st.model_weights >= last.model_weights && st.model_weights >= floor && st.model_weights <= newest,
                      "model.safetensors has save %ld (before %ld, completed %ld, started %ld)", st.model_weights,
                      last.model_weights, completed, newest);
        ck_assert_msg(st.iv_tensors >= last.iv_tensors && st.iv_tensors >= floor && st.iv_tensors <= newest,
                      "interventions.safetensors has save %ld (before %ld, completed %ld, started %ld)", st.iv_tensors,
                      last.iv_tensors, completed, newest);
        ck_assert_msg(st.iv_config >= last.iv_config && st.iv_config >= floor && st.iv_config <= newest,
                      "intervention config.json has save %ld (before %ld, completed %ld, started %ld)", st.iv_config,
                      last.iv_config, completed, newest);
        /* config.json is renamed before the tensors: it is of their save or,
         * after a kill between the two renames, of a later one. */
        ck_assert_msg(st.model_config >= st.model_weights && st.model_config <= newest,
                      "model config.json of save %ld, weights of save %ld (started %ld)", st.model_config,
                      st.model_weights, newest);
        ck_assert_msg(st.iv_config >= st.iv_tensors && st.iv_config <= newest,
                      "intervention config.json of save %ld, tensors of save %ld (started %ld)", st.iv_config,
                      st.iv_tensors, newest);
        model_pairs_split += st.model_config != st.model_weights;
        iv_pairs_split += st.iv_config != st.iv_tensors;
        temp_files += st.temp_files;
        last = st;
        /* The next child numbers its saves after every save begun so far. */
        p->next = newest + 1;
    }
    printf("kill test: %ld kills (%ld during a save, seed %u), %ld saves completed between kills, one save %.0f ms;\n"
           "  every file complete and loadable after every kill; directories left with config.json of one save and\n"
           "  the tensors of an earlier one: model %ld, intervention %ld; temporary files left by SIGKILL: %d\n",
           iterations, kills_mid_save, seed, saves_done, period * 1e3, model_pairs_split, iv_pairs_split, temp_files);
    fflush(stdout);
    ck_assert_msg(kills_mid_save > 0, "no kill landed during a save");
    munmap((void *)p, sizeof *p);
    remove_tree(root);
}
END_TEST

/* What SIGKILL leaves behind is removed by the next save of the same
 * file: vn_host_write_file_atomic deletes "<name>.tmp.<pid>" siblings whose
 * process is gone, and keeps those of live processes (a save under way),
 * other files' and other names. */
static bool exists(const char *dir, const char *name) {
    char path[768];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &sb) == 0;
}

static void touch(const char *dir, const char *name) {
    char path[768];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("partial", f);
    fclose(f);
}

START_TEST(test_stale_temp_files_removed) {
    char root[] = "/tmp/cvene-stale-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(root));
    /* Two dead processes: children that exited and were reaped (their pids
     * free; nothing else gets them in the moment this test takes). */
    pid_t dead[2];
    for (int k = 0; k < 2; k++) {
        dead[k] = fork();
        ck_assert_int_ge(dead[k], 0);
        if (dead[k] == 0) _exit(0);
        ck_assert_int_eq(waitpid(dead[k], NULL, 0), dead[k]);
    }
    /* A live process (a save in progress elsewhere): a child that waits. */
    pid_t live = fork();
    ck_assert_int_ge(live, 0);
    if (live == 0) {
        pause();
        _exit(0);
    }
    char stale1[64], stale2[64], alive[64], other[64], own[64];
    snprintf(stale1, sizeof stale1, "config.json.tmp.%ld", (long)dead[0]);
    snprintf(stale2, sizeof stale2, "config.json.tmp.%ld", (long)dead[1]);
    snprintf(alive, sizeof alive, "config.json.tmp.%ld", (long)live);
    snprintf(other, sizeof other, "model.safetensors.tmp.%ld", (long)dead[0]);
    snprintf(own, sizeof own, "config.json.tmp.%ld", (long)getpid());
    const char *kept[] = {alive, other, "config.json.tmp.", "config.json.tmp.12x", "config.json.tmp.0",
                          "config.json.tmpfile", "xconfig.json.tmp.1"};
    touch(root, stale1);
    touch(root, stale2);
    for (size_t k = 0; k < sizeof kept / sizeof kept[0]; k++) touch(root, kept[k]);

    char path[600], err[VN_HOST_ERR];
    snprintf(path, sizeof path, "%s/config.json", root);
    ck_assert_msg(vn_host_write_file_atomic(path, "{}\n", 3, err), "%s", err);
    ck_assert_msg(!exists(root, stale1) && !exists(root, stale2), "a stale temporary file was left");
    for (size_t k = 0; k < sizeof kept / sizeof kept[0]; k++)
        ck_assert_msg(exists(root, kept[k]), "%s was removed", kept[k]);
    ck_assert_msg(!exists(root, own), "the save's own temporary file was left");
    unsigned char *data;
    size_t size;
    ck_assert_msg(vn_host_read_file(path, &data, &size, err), "%s", err);
    ck_assert(size == 3 && memcmp(data, "{}\n", 3) == 0);
    free(data);

    kill(live, SIGKILL);
    ck_assert_int_eq(waitpid(live, NULL, 0), live);
    remove_tree(root);
}
END_TEST

static Suite *atomic_suite(void) {
    Suite *s = suite_create("atomic_save");
    TCase *stale = test_case(s, "stale", NULL, NULL, 0);
    tcase_add_test(stale, test_stale_temp_files_removed);
    TCase *tc = test_case(s, "kill", NULL, NULL, 900);
    tcase_add_test(tc, test_kill_during_save);
    return s;
}

int main(void) {
    return test_run(atomic_suite());
}

/* test_oom.c — allocation-failure injection, in the style of SQLite's OOM
 * tests: for each stage of what `cvene eval --grad` and `cvene align` do,
 * run it with the k-th allocation failing, for k = 1, 2, … until the stage
 * completes without reaching the failing allocation. Every failure must
 * surface as VN_ENOMEM (or, for the CLI's save, as its message naming the
 * memory), nothing may crash or leak (the allocator's live byte count is 0
 * once the arena is released; LeakSanitizer checks the rest in the ASan
 * build), and a failed save must leave each file either as it was or
 * completely written, with no temporary file behind.
 *
 * Stages, each run after the earlier ones have completed without failures:
 *   model         config.json → vn_model_config_parse, vn_mlp_init,
 *                 model.safetensors → vn_model_load_params
 *   intervention  config.json → vn_iv_config_parse, vn_iv_model_init,
 *                 interventions.safetensors → vn_iv_load_tensors
 *   data          data.safetensors → vn_iv_data_parse
 *   forward       vn_iv_batch_inputs, vn_iv_forward (base and
 *                 counterfactual logits), vn_backward of the summed
 *                 counterfactual logits, the output file's gradient tensors
 *                 (zeros where a parameter has none) and vn_safetensors_write
 *   save          cli_save_intervention into a directory holding an older
 *                 config.json and interventions.safetensors
 *
 * The arena's blocks are 256 bytes (vn_arena_init_alloc's block_size), so
 * nearly every allocation of the core reaches the allocator and is a point
 * where the failure is injected. The number of points of each stage is
 * printed (and must be at least a few). The cases are the seed tutorial's
 * reference (tests/data/ref/seed_rotated_h32) and two cases with groups,
 * active flags, several types, units and Boundless parameters. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_common.h"
#include "host.h"
#include "test_support.h"
#include "vn_iv_io.h"
#include "vn_iv_model.h"
#include "vn_iv_types.h"
#include "vn_model_dir.h"
#include "vn_ops.h"
#include "vn_safetensors.h"

#define BLOCK_SIZE 256
#define ERR 512

typedef enum stage { S_MODEL, S_INTERVENTION, S_DATA, S_FORWARD, S_SAVE, S_COUNT } stage;
static const char *const stage_names[S_COUNT] = {"model", "intervention", "data", "forward", "save"};

/* The case's files, read once with plain malloc (outside the counted
 * allocator). */
typedef struct files {
    unsigned char *model_config, *model_weights, *iv_config, *iv_tensors, *data;
    size_t model_config_size, model_weights_size, iv_config_size, iv_tensors_size, data_size;
} files;

typedef struct world {
    vn_host_alloc_stats stats;
    /* Each stage allocates in its own arena and context (all counted by
     * stats), so that blocks an earlier stage released to its arena are not
     * reused by a later one and every stage's allocations reach the
     * allocator. What a stage makes stays alive for the later stages. */
    vn_arena arenas[S_COUNT];
    vn_context ctxs[S_COUNT];
    vn_mlp mlp;
    vn_iv_config config;
    vn_iv_model model;
    vn_iv_batch batch;
    vn_iv_batch_nodes nodes;
    vn_iv_inputs in;
    vn_iv_outputs out;
    char err[ERR];
    char save_dir[256];
    char message[1024]; /* what the CLI printed */
} world;

/* dir/name into buf (which must hold it). */
static const char *join(char *buf, size_t size, const char *dir, const char *name) {
    int n = snprintf(buf, size, "%s/%s", dir, name);
    ck_assert_msg(n >= 0 && (size_t)n < size, "path too long: %s/%s", dir, name);
    return buf;
}

static void read_or_die(const char *dir, const char *name, unsigned char **data, size_t *size) {
    char path[512], err[VN_HOST_ERR];
    join(path, sizeof path, dir, name);
    ck_assert_msg(vn_host_read_file(path, data, size, err), "%s", err);
}

static void load_files(const char *dir, files *f) {
    char sub[512];
    join(sub, sizeof sub, dir, "model");
    read_or_die(sub, "config.json", &f->model_config, &f->model_config_size);
    read_or_die(sub, "model.safetensors", &f->model_weights, &f->model_weights_size);
    join(sub, sizeof sub, dir, "intervention");
    read_or_die(sub, "config.json", &f->iv_config, &f->iv_config_size);
    read_or_die(sub, "interventions.safetensors", &f->iv_tensors, &f->iv_tensors_size);
    read_or_die(dir, "data.safetensors", &f->data, &f->data_size);
}

static void free_files(files *f) {
    free(f->model_config);
    free(f->model_weights);
    free(f->iv_config);
    free(f->iv_tensors);
    free(f->data);
}

/* Runs `fn(user)` with stderr sent to a temporary file; its text goes to
 * out. */
static bool capture_stderr(bool (*fn)(void *), void *user, char *out, size_t size) {
    fflush(stderr);
    FILE *tmp = tmpfile();
    ck_assert_ptr_nonnull(tmp);
    int saved = dup(2);
    ck_assert_int_ge(saved, 0);
    dup2(fileno(tmp), 2);
    bool ok = fn(user);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    size_t n = fread(out, 1, size - 1, tmp);
    out[n] = '\0';
    fclose(tmp);
    return ok;
}

static bool save_now(void *user) {
    world *w = user;
    return cli_save_intervention("oom", w->save_dir, &w->model, &w->ctxs[S_SAVE]);
}

/* One stage; VN_OK or the status it failed with. */
static vn_status run_stage(world *w, stage s, const files *f) {
    vn_context *ctx = &w->ctxs[s];
    vn_arena *arena = &w->arenas[s];
    vn_status status;
    switch (s) {
    case S_MODEL: {
        vn_mlp_config mc;
        status = vn_model_config_parse(f->model_config, f->model_config_size, arena, &mc, NULL, NULL, w->err, ERR);
        if (status != VN_OK) return status;
        if ((status = vn_mlp_init(&w->mlp, ctx, &mc, NULL)) != VN_OK) return status;
        return vn_model_load_params(&w->mlp, f->model_weights, f->model_weights_size, arena, w->err, ERR);
    }
    case S_INTERVENTION: {
        status = vn_iv_config_parse(f->iv_config, f->iv_config_size, arena, &w->config, NULL, NULL, w->err, ERR);
        if (status != VN_OK) return status;
        vn_iv_model_options options = {NULL, true, false};
        if ((status = vn_iv_model_init(&w->model, ctx, &w->mlp, &w->config, &options)) != VN_OK) return status;
        return vn_iv_load_tensors(&w->model, ctx, f->iv_tensors, f->iv_tensors_size);
    }
    case S_DATA:
        return vn_iv_data_parse(f->data, f->data_size, &w->model, (size_t)w->mlp.config.h_dim,
                                w->mlp.config.num_classes, arena, &w->batch, w->err, ERR);
    case S_FORWARD: {
        if ((status = vn_iv_batch_inputs(&w->batch, ctx, &w->nodes, &w->in)) != VN_OK) return status;
        w->in.base_logits = true;
        if ((status = vn_iv_forward(&w->model, ctx, &w->in, &w->out)) != VN_OK) return status;
        if ((status = vn_backward(ctx, vn_sum(ctx, w->out.counterfactual_logits))) != VN_OK) return status;
        /* The output file: logits and every gradient (zeros when none). */
        vn_safetensors_item items[64];
        vn_tensor tensors[64];
        char names[64][160];
        size_t n = 0;
        tensors[n] = w->out.base_logits->value;
        items[n] = vn_safetensors_item_real("base_logits", &tensors[n], VN_ST_F32), n++;
        tensors[n] = w->out.counterfactual_logits->value;
        items[n] = vn_safetensors_item_real("counterfactual_logits", &tensors[n], VN_ST_F32), n++;
        size_t count;
        const vn_nn_param *params = vn_mlp_params(&w->mlp, &count);
        vn_node *leaves[64];
        const char *leaf_names[64];
        size_t leaves_n = 0;
        for (size_t k = 0; k < count && leaves_n < 32; k++) {
            leaves[leaves_n] = params[k].node;
            leaf_names[leaves_n++] = params[k].name;
        }
        for (size_t i = 0; i < w->model.config.count && leaves_n < 60; i++) {
            const vn_iv_params *p = w->model.units[i].params;
            if (!p || w->model.units[i].owner != i) continue;
            if (p->weight) leaves[leaves_n] = p->weight, leaf_names[leaves_n++] = "rotate_layer.weight";
            if (p->boundaries) leaves[leaves_n] = p->boundaries, leaf_names[leaves_n++] = "intervention_boundaries";
            if (p->masks) leaves[leaves_n] = p->masks, leaf_names[leaves_n++] = "masks";
        }
        for (size_t k = 0; k < leaves_n; k++) {
            vn_tensor t = leaves[k]->value;
            t.data = leaves[k]->grad.data;
            if (!t.data) {
                t.data = vn_context_scratch(ctx, (t.numel + 1) * sizeof(vn_real));
                if (!t.data) return ctx->status;
                memset(t.data, 0, t.numel * sizeof(vn_real));
            }
            snprintf(names[n], sizeof names[n], "grad.%zu.%s", k, leaf_names[k]);
            tensors[n] = t;
            items[n] = vn_safetensors_item_real(names[n], &tensors[n], VN_ST_F32), n++;
        }
        vn_host_buffer buffer = {0};
        status = vn_safetensors_write(vn_host_buffer_write, &buffer, items, n, NULL, 0, w->err, ERR);
        ck_assert_msg(status == VN_OK, "%s", w->err);
        ck_assert_uint_gt(buffer.size, 0);
        vn_host_buffer_free(&buffer);
        return VN_OK;
    }
    case S_SAVE:
        return capture_stderr(save_now, w, w->message, sizeof w->message) ? VN_OK : VN_ENOMEM;
    default:
        return VN_EINVAL;
    }
}

static void world_init(world *w) {
    memset(w, 0, sizeof *w);
    for (int s = 0; s < S_COUNT; s++) {
        vn_arena_init_alloc(&w->arenas[s], vn_host_alloc, &w->stats, BLOCK_SIZE);
        vn_context_init(&w->ctxs[s], &w->arenas[s]);
    }
}

static void world_done(world *w) {
    for (int s = 0; s < S_COUNT; s++) vn_arena_release(&w->arenas[s]);
    ck_assert_msg(w->stats.live_bytes == 0, "%zu bytes leaked", w->stats.live_bytes);
}

/* ---- the save directory ------------------------------------------------------------ */

static unsigned char *slurp(const char *path, size_t *size) {
    unsigned char *data;
    char err[VN_HOST_ERR];
    if (!vn_host_read_file(path, &data, size, err)) return NULL;
    return data;
}

static void put_file(const char *path, const void *data, size_t size) {
    char err[VN_HOST_ERR];
    ck_assert_msg(vn_host_write_file_atomic(path, data, size, err), "%s", err);
}

/* Every file of dir must be config.json or interventions.safetensors, each
 * equal to its old or its new content. */
static void check_save_dir(const char *dir, const files *old, unsigned char *const *want, const size_t *want_size) {
    static const char *const names[2] = {"config.json", "interventions.safetensors"};
    const unsigned char *olds[2] = {old->iv_config, old->iv_tensors};
    size_t old_sizes[2] = {old->iv_config_size, old->iv_tensors_size};
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        ck_assert_msg(!strcmp(e->d_name, names[0]) || !strcmp(e->d_name, names[1]), "stray file %s in %s", e->d_name,
                      dir);
    }
    closedir(d);
    for (int i = 0; i < 2; i++) {
        char path[512];
        join(path, sizeof path, dir, names[i]);
        size_t size;
        unsigned char *got = slurp(path, &size);
        ck_assert_msg(got != NULL, "%s is missing", path);
        bool is_old = size == old_sizes[i] && memcmp(got, olds[i], size) == 0;
        bool is_new = size == want_size[i] && memcmp(got, want[i], size) == 0;
        ck_assert_msg(is_old || is_new, "%s is neither the old nor the new file (%zu bytes)", path, size);
        free(got);
    }
}

/* Prepares the world for stage s: runs the earlier stages (up to the
 * forward pass) without failures. Before a save, changes every
 * intervention parameter and gives each representation its own
 * intervention_link_key, as training would change the parameters, so that
 * the new files differ from the old ones in the directory. */
static void prepare(world *w, stage s, const files *f) {
    for (stage t = 0; t < s && t <= S_FORWARD; t++) {
        vn_status status = run_stage(w, t, f);
        ck_assert_msg(status == VN_OK, "stage %s without failures: %s / %s", stage_names[t], w->err,
                      vn_context_message(&w->ctxs[t]));
    }
    if (s != S_SAVE) return;
    vn_iv_model *m = &w->model;
    for (size_t i = 0; i < m->config.count; i++) {
        m->config.representations[i].has_link_key = true;
        m->config.representations[i].link_key = 1000 + (int64_t)i;
        vn_iv_params *p = m->units[i].params;
        if (!p || m->units[i].owner != i) continue;
        if (p->has_rotation) p->rotation.original->value.data[1] += (vn_real)0.25;
        if (p->boundaries) p->boundaries->value.data[0] += (vn_real)0.25;
        if (p->masks) p->masks->value.data[0] += (vn_real)0.25;
    }
}

/* Loops k = 1, 2, … over stage s of the case in `dir`; returns the number
 * of allocation points (the k of the first run that completed, minus 1). */
static size_t oom_loop(const char *dir, stage s) {
    files f = {0};
    load_files(dir, &f);
    unsigned char *want[2] = {NULL, NULL};
    size_t want_size[2] = {0, 0};
    char ref_dir[256] = "";
    if (s == S_SAVE) {
        /* The new files, from a save without failures. */
        world w;
        world_init(&w);
        prepare(&w, s, &f);
        make_tmpdir(ref_dir, sizeof ref_dir, "oom");
        snprintf(w.save_dir, sizeof w.save_dir, "%s", ref_dir);
        ck_assert_msg(run_stage(&w, S_SAVE, &f) == VN_OK, "save without failures: %s", w.message);
        world_done(&w);
        char path[512];
        join(path, sizeof path, ref_dir, "config.json");
        want[0] = slurp(path, &want_size[0]);
        join(path, sizeof path, ref_dir, "interventions.safetensors");
        want[1] = slurp(path, &want_size[1]);
        ck_assert(want[0] && want[1]);
        ck_assert_msg(want_size[0] != f.iv_config_size || memcmp(want[0], f.iv_config, want_size[0]) != 0,
                      "the saved config.json equals the old one: the test could not tell them apart");
        ck_assert_msg(want_size[1] != f.iv_tensors_size || memcmp(want[1], f.iv_tensors, want_size[1]) != 0,
                      "the saved tensors equal the old ones: the test could not tell them apart");
        remove_tree(ref_dir);
    }
    char save_dir[256] = "";
    if (s == S_SAVE) make_tmpdir(save_dir, sizeof save_dir, "oom");
    size_t k;
    for (k = 1;; k++) {
        world w;
        world_init(&w);
        prepare(&w, s, &f);
        if (s == S_SAVE) {
            char path[512];
            snprintf(w.save_dir, sizeof w.save_dir, "%s", save_dir);
            join(path, sizeof path, save_dir, "config.json");
            put_file(path, f.iv_config, f.iv_config_size);
            join(path, sizeof path, save_dir, "interventions.safetensors");
            put_file(path, f.iv_tensors, f.iv_tensors_size);
        }
        size_t start = w.stats.allocations;
        w.stats.fail_at = start + k;
        w.err[0] = '\0';
        vn_status status = run_stage(&w, s, &f);
        bool reached = w.stats.allocations >= w.stats.fail_at;
        if (!reached) {
            ck_assert_msg(status == VN_OK, "stage %s failed without an injected failure (k = %zu): %s / %s",
                          stage_names[s], k, w.err, vn_context_message(&w.ctxs[s]));
            if (s == S_SAVE) check_save_dir(save_dir, &f, want, want_size);
            if (s == S_SAVE) {
                /* The completed save must load back. */
                world r;
                world_init(&r);
                prepare(&r, S_INTERVENTION, &f);
                files saved = f;
                saved.iv_config = want[0], saved.iv_config_size = want_size[0];
                saved.iv_tensors = want[1], saved.iv_tensors_size = want_size[1];
                ck_assert_msg(run_stage(&r, S_INTERVENTION, &saved) == VN_OK, "the saved directory does not load: %s",
                              vn_context_message(&r.ctxs[S_INTERVENTION]));
                world_done(&r);
            }
            world_done(&w);
            break;
        }
        ck_assert_msg(status != VN_OK, "stage %s succeeded although allocation %zu failed", stage_names[s], k);
        if (s == S_SAVE) {
            ck_assert_msg(strstr(w.message, "memory") != NULL, "k = %zu: the CLI said \"%s\"", k, w.message);
            check_save_dir(save_dir, &f, want, want_size);
        } else {
            ck_assert_msg(status == VN_ENOMEM, "stage %s, k = %zu: status %s (%s / %s) instead of out of memory",
                          stage_names[s], k, vn_status_string(status), w.err, vn_context_message(&w.ctxs[s]));
            ck_assert_msg(w.ctxs[s].status == VN_OK || w.ctxs[s].status == VN_ENOMEM, "context status %s",
                          vn_status_string(w.ctxs[s].status));
        }
        world_done(&w);
        ck_assert_msg(k < 1000000, "stage %s never completes", stage_names[s]);
    }
    if (s == S_SAVE) remove_tree(save_dir);
    free(want[0]);
    free(want[1]);
    free_files(&f);
    printf("oom: %-40s %-13s %5zu allocation points\n", dir, stage_names[s], k - 1);
    fflush(stdout);
    return k - 1;
}

static const char *const cases[] = {
    "data/ref/seed_rotated_h32",
    "data/cases/groups_none_active",
    "data/cases/align_adam_boundless_h8",
};

static void setup(void) { ck_assert_int_eq(vn_iv_register_ops(), VN_OK); }

START_TEST(test_oom_model) {
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) ck_assert_uint_ge(oom_loop(cases[c], S_MODEL), 3);
}
END_TEST

START_TEST(test_oom_intervention) {
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        ck_assert_uint_ge(oom_loop(cases[c], S_INTERVENTION), 3);
}
END_TEST

START_TEST(test_oom_data) {
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) ck_assert_uint_ge(oom_loop(cases[c], S_DATA), 3);
}
END_TEST

START_TEST(test_oom_forward_backward) {
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        ck_assert_uint_ge(oom_loop(cases[c], S_FORWARD), 3);
}
END_TEST

START_TEST(test_oom_save) {
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) ck_assert_uint_ge(oom_loop(cases[c], S_SAVE), 1);
}
END_TEST

/* The injection itself: fail_at fails exactly the k-th allocation and
 * counts live bytes. */
START_TEST(test_fail_at) {
    vn_host_alloc_stats stats = {0};
    stats.fail_at = 2;
    void *a = vn_host_alloc(&stats, NULL, 0, 100);
    void *b = vn_host_alloc(&stats, NULL, 0, 100);
    void *c = vn_host_alloc(&stats, NULL, 0, 50);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_null(b);
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq(stats.live_bytes, 150);
    vn_host_alloc(&stats, a, 100, 0);
    vn_host_alloc(&stats, c, 50, 0);
    ck_assert_uint_eq(stats.live_bytes, 0);
    ck_assert_uint_eq(stats.allocations, 3);
}
END_TEST

static Suite *oom_suite(void) {
    Suite *s = suite_create("oom");
    TCase *tc = test_case(s, "injection", setup, NULL, 900);
    tcase_add_test(tc, test_fail_at);
    tcase_add_test(tc, test_oom_model);
    tcase_add_test(tc, test_oom_intervention);
    tcase_add_test(tc, test_oom_data);
    tcase_add_test(tc, test_oom_forward_backward);
    tcase_add_test(tc, test_oom_save);
    return s;
}

int main(void) {
    return test_run(oom_suite());
}

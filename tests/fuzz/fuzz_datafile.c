/* fuzz_datafile.c — the data file of `cvene eval` / `cvene align` on
 * arbitrary bytes: its tensors (base, source.{g}, active.{g}, labels) and
 * its "__metadata__" unit_locations / subspaces, through vn_iv_data_parse,
 * and then what `cvene eval --grad` does with an accepted file: the
 * intervened forward pass (per-example unit locations and subspace ids
 * checked and used) and the backward pass, plus a slice and a gathered
 * (shuffled) copy of the batch run again.
 *
 * The models are the reference cases' (fuzz_cases.h). An input is run with
 * one pair whose h_dim matches its base tensor's last dimension (any pair
 * when none does), picked by a hash of the file's header, so seeds taken
 * from the reference data files start out valid for some pair. Model
 * weights are drawn from a fixed seed, rotations start at the identity. */
#include "fuzz_cases.h"
#include "fuzz_common.h"
#include "vn_iv_io.h"
#include "vn_iv_model.h"
#include "vn_iv_types.h"
#include "vn_model_dir.h"
#include "vn_ops.h"
#include "vn_safetensors.h"

/* The base tensor's h (0 when the file has no (B, S, h) base) and a hash
 * of the header bytes, which picks one of the pairs of that h. */
static size_t peek(const uint8_t *data, size_t size, vn_arena *arena, uint64_t *hash) {
    vn_arena_mark mark = vn_arena_get_mark(arena);
    vn_safetensors st;
    size_t h = 0;
    *hash = 0;
    if (vn_safetensors_open(&st, data, size, arena, NULL, 0) == VN_OK) {
        const vn_safetensors_entry *base = vn_safetensors_find(&st, "base");
        if (base && base->ndim == 3) h = base->shape[2];
        *hash = fuzz_hash(data, 8 + st.header_length);
    }
    vn_arena_rewind(arena, mark);
    return h;
}

/* An accepted file names its tensors exactly: no name with a NUL inside
 * ("labels\u0000x" is not labels, but an unknown tensor). */
static void check_names_exact(const uint8_t *data, size_t size, vn_arena *arena) {
    vn_arena_mark mark = vn_arena_get_mark(arena);
    vn_safetensors st;
    if (vn_safetensors_open(&st, data, size, arena, NULL, 0) == VN_OK)
        for (size_t i = 0; i < st.count; i++)
            FUZZ_CHECK(memchr(st.entries[i].name, '\0', st.entries[i].name_length) == NULL,
                       "a data file with a NUL in a tensor name was accepted");
    vn_arena_rewind(arena, mark);
}

static void check_lists(const vn_iv_lists *l, size_t batch) {
    if (!l->offsets) return;
    FUZZ_CHECK(l->offsets[0] == 0, "lists start at 0");
    for (size_t b = 0; b < batch; b++) FUZZ_CHECK(l->offsets[b + 1] >= l->offsets[b], "lists offsets decrease");
}

/* Forward (with base logits) and backward of the summed counterfactual
 * logits, as `cvene eval --grad`. */
static void run_batch(vn_iv_model *model, vn_context *ctx, const vn_iv_batch *batch) {
    vn_context_mark mark = vn_context_mark_get(ctx);
    vn_iv_batch_nodes nodes;
    vn_iv_inputs in;
    vn_iv_outputs out;
    if (vn_iv_batch_inputs(batch, ctx, &nodes, &in) == VN_OK) {
        in.base_logits = true;
        if (vn_iv_forward(model, ctx, &in, &out) == VN_OK) {
            FUZZ_CHECK(out.counterfactual_logits && out.base_logits, "forward without logits");
            FUZZ_CHECK(out.counterfactual_logits->value.numel == out.base_logits->value.numel, "logit shapes");
            vn_backward(ctx, vn_sum(ctx, out.counterfactual_logits));
        }
    }
    if (ctx->status != VN_OK) fuzz_check_message(ctx->message, sizeof ctx->message);
    vn_context_rewind(ctx, mark);
}

static void try_pair(size_t p, const uint8_t *data, size_t size, fuzz_heap *heap) {
    vn_arena arena;
    fuzz_arena(&arena, heap);
    vn_context ctx;
    vn_context_init(&ctx, &arena);
    char err[512];
    fuzz_model fm;
    fuzz_build_pair(p, &ctx, &fm);
    vn_iv_model *model = &fm.model;
    const vn_mlp_config mc = fm.mc;

    vn_iv_batch batch;
    vn_arena_mark mark = vn_arena_get_mark(&arena);
    vn_status status = vn_iv_data_parse(data, size, model, (size_t)mc.h_dim, mc.num_classes, &arena, &batch, err,
                                        sizeof err);
    if (status != VN_OK) {
        fuzz_check_message(err, sizeof err);
        FUZZ_CHECK(arena.in_use == mark.in_use, "a failed data parse kept arena memory");
    } else {
        FUZZ_CHECK(batch.h == (size_t)mc.h_dim && batch.n_groups == model->n_groups, "batch header");
        check_names_exact(data, size, &arena);
        FUZZ_CHECK(batch.n_reps == model->config.count, "batch representations");
        for (size_t b = 0; batch.labels && b < batch.batch; b++)
            FUZZ_CHECK(batch.labels[b] >= 0 && batch.labels[b] < mc.num_classes, "label range");
        for (size_t i = 0; i < batch.n_reps; i++) {
            check_lists(&batch.source_locations[i], batch.batch);
            check_lists(&batch.base_locations[i], batch.batch);
            check_lists(&batch.subspaces[i], batch.batch);
        }
        run_batch(model, &ctx, &batch);
        if (batch.batch >= 2) {
            vn_iv_batch part;
            vn_iv_batch_slice(&batch, 1, batch.batch - 1, &part);
            run_batch(model, &ctx, &part);
            size_t count = batch.batch + 1;
            size_t *index = vn_arena_alloc(&arena, count * sizeof *index, 0);
            if (index) {
                for (size_t a = 0; a < count; a++) index[a] = (batch.batch - 1 - a % batch.batch);
                vn_iv_batch shuffled;
                if (vn_iv_batch_gather(&batch, index, count, &arena, &shuffled) == VN_OK)
                    run_batch(model, &ctx, &shuffled);
            }
        }
        /* Without a model only base and labels count. */
        vn_iv_batch plain;
        status = vn_iv_data_parse(data, size, NULL, (size_t)mc.h_dim, mc.num_classes, &arena, &plain, err, sizeof err);
        if (status == VN_OK)
            FUZZ_CHECK(plain.batch == batch.batch && plain.n_groups == 0 && plain.n_reps == 0, "plain parse");
        else
            FUZZ_CHECK(status == VN_ENOMEM, err); /* valid for a model, so valid without one */
    }
    fuzz_arena_done(&arena, heap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_register_ops();
    fuzz_heap heap;
    fuzz_heap_init(&heap);
    vn_arena scratch;
    fuzz_arena(&scratch, &heap);
    uint64_t hash;
    size_t h = peek(data, size, &scratch, &hash);
    fuzz_arena_done(&scratch, &heap);
    try_pair(fuzz_pick_pair(h, hash), data, size, &heap);
    return 0;
}

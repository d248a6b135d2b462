/*
 * cmd_eval.c - `vkdistill eval`: a checkpoint's test accuracy (top-1, top-5, loss) over every
 * test image, optionally writing every image's logits to a safetensors file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "cli.h"
#include "commands.h"
#include "gpu_data.h"
#include "models.h"
#include "safetensors.h"
#include "vkd_ops.h"

struct eval_run {
    struct vkd_context *ctx;
    struct vkd_graph *g;
    struct vkd_vk *vk;
    struct dataset test;
    struct model m;
    struct gpu_data gd;
    struct eval_head h;
    struct ckpt_meta meta;
    int stream; /* --stream: batches from host memory even when the test set fits */
};

static int write_logits(const char *path, const struct eval_run *r, const float *logits,
                        double top1, double top5, const char *ckpt)
{
    int64_t *labels = malloc(sizeof(int64_t) * r->test.n);
    struct st_writer *w = st_writer_create();
    char err[1024], v[64];
    int rc = -1;
    if (labels && w) {
        for (uint32_t i = 0; i < r->test.n; i++)
            labels[i] = r->test.labels[i];
        int64_t ls[2] = {r->test.n, r->test.classes}, ys[1] = {r->test.n};
        st_writer_add(w, "logits", ST_F32, 2, ls, logits);
        st_writer_add(w, "labels", ST_I64, 1, ys, labels);
        st_writer_meta(w, "arch", r->meta.arch);
        st_writer_meta(w, "checkpoint", ckpt);
        snprintf(v, sizeof(v), "%.4f", top1);
        st_writer_meta(w, "top1", v);
        snprintf(v, sizeof(v), "%.4f", top5);
        st_writer_meta(w, "top5", v);
        rc = st_write(w, path, err, sizeof(err));
        if (rc < 0)
            fprintf(stderr, "vkdistill eval: %s\n", err);
    } else {
        fprintf(stderr, "vkdistill eval: out of host memory\n");
    }
    free(labels);
    st_writer_destroy(w);
    return rc;
}

static int run(struct eval_run *r, const char *ckpt, const char *data, const char *device,
               int batch, uint32_t limit, int validation, const char *logits_path)
{
    char err[1024];
    if (ckpt_read_meta(ckpt, &r->meta, err, sizeof(err)) < 0)
        goto fail_msg;
    if (!data)
        data = ckpt_config_get(&r->meta, "data");
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s", data ? data : DATA_DEFAULT_DIR);
    struct data_request req = {dir, DATA_AUTO, 0, (uint32_t)r->meta.in_hw, limit, r->stream};
    if (data_load(&req, &r->test, err, sizeof(err)) < 0)
        goto fail_msg;
    if ((int)r->test.c != r->meta.in_c || (int)r->test.h != r->meta.in_hw ||
        (int)r->test.classes != r->meta.classes) {
        snprintf(err, sizeof(err),
                 "%.300s: its images are %ux%ux%u with %u classes, the checkpoint's model takes "
                 "%dx%dx%d with %d",
                 r->test.source, r->test.c, r->test.h, r->test.w, r->test.classes, r->meta.in_c,
                 r->meta.in_hw, r->meta.in_hw, r->meta.classes);
        goto fail_msg;
    }
    struct vkd_context_desc cd = {device, validation, host_log_validation, NULL};
    if (vkd_context_create(&cd, &r->ctx, err, sizeof(err)) != VKD_OK)
        goto fail_msg;
    if (batch > (int)r->test.n)
        batch = (int)r->test.n;
    r->g = vkd_graph_create();
    if (!r->g || gpu_data_plan(r->g, vkd_context_device(r->ctx), &r->test, "test", batch,
                               r->stream, &r->gd, err, sizeof(err)) < 0)
        goto fail_msg;
    r->h.batch = batch;
    r->h.params = vkd_graph_input(r->g, "test.params", VKD_U32, batch, 4, 1, 1);
    r->h.labels = vkd_graph_input(r->g, "test.labels", VKD_U32, batch, 1, 1, 1);
    int x = gpu_data_batch(r->g, "test.normalise", &r->gd, r->h.params, batch, 0, r->meta.mean,
                           r->meta.std);
    /* frozen: the weights are state, so no gradient or optimizer memory is planned */
    struct model_opts mo = {.batch = batch, .in_c = r->meta.in_c, .in_hw = r->meta.in_hw,
                            .classes = r->meta.classes, .frozen = 1, .input = x,
                            .has_input = 1};
    if (model_build(r->g, r->meta.arch, &mo, &r->m, err, sizeof(err)) < 0)
        goto fail_msg;
    r->h.logits = r->m.logits;
    r->h.loss = vkd_softmax_ce(r->g, "ce", r->m.logits, r->h.labels, &r->h.top1, &r->h.top5);
    struct vkd_vk_desc vd = {VKD_PROG_FORWARD, 0, 1, &r->h.logits, 1}; /* logits read after */
    if (vkd_graph_finalize(r->g, 0) != VKD_OK || vkd_vk_create(r->ctx, r->g, &vd, &r->vk) ||
        gpu_data_upload(r->vk, r->g, &r->gd) != VKD_OK)
        goto fail_device;
    if (ckpt_load(ckpt, r->vk, r->g, &r->m, NULL, &r->meta, 0, err, sizeof(err)) < 0)
        goto fail_msg;
    double loss, top1, top5;
    float *logits = logits_path ? malloc(sizeof(float) * r->test.n * r->test.classes) : NULL;
    if (logits_path && !logits) {
        fprintf(stderr, "vkdistill eval: out of host memory for the logits\n");
        return 1;
    }
    if (eval_dataset(r->vk, r->g, &r->h, &r->gd, &loss, &top1, &top5, logits) != VKD_OK) {
        free(logits);
        if (gpu_data_error(&r->gd)) {
            snprintf(err, sizeof(err), "%s", gpu_data_error(&r->gd));
            goto fail_msg;
        }
        goto fail_device;
    }
    printf("%s (%s, epoch %d) on %s, %u images: top-1 %.2f%%  top-5 %.2f%%  loss %.4f\n", ckpt,
           r->meta.arch, r->meta.epoch, dir, r->test.n, top1, top5, loss);
    int rc = logits_path ? write_logits(logits_path, r, logits, top1, top5, ckpt) : 0;
    if (logits_path && rc == 0)
        printf("logits of every test image written to %s\n", logits_path);
    free(logits);
    return rc < 0 ? 1 : 0;
fail_device:
    fprintf(stderr, "vkdistill eval: %s\n", r->ctx ? vkd_context_error(r->ctx) : "failed");
    return 1;
fail_msg:
    fprintf(stderr, "vkdistill eval: %s\n", err);
    return 1;
}

int cmd_eval(int argc, char **argv)
{
    const char *ckpt = NULL, *data = NULL, *device = NULL, *logits = NULL;
    int batch = 256, limit = 0, validation = cli_env_validation(), stream = 0;
    const struct cli_flag flags[] = {
        {"--checkpoint", CLI_STRING, &ckpt, "CKPT", "checkpoint (best.safetensors, ...)"},
        {"--data", CLI_STRING, &data, "DIR", "data set directory (default: the training run's)"},
        {"--batch", CLI_INT, &batch, "N", "evaluation batch size (256)", 1, 65536},
        {"--limit-test", CLI_INT, &limit, "N", "only the first N test images", 1, 2000000000},
        {"--logits", CLI_STRING, &logits, "FILE",
         "write every test image's logits (and labels) to this safetensors file"},
        {"--stream", CLI_BOOL, &stream, NULL,
         "stream batches from host memory even when the test set fits on the device"},
        {"--device", CLI_STRING, &device, "INDEX|NAME", "Vulkan device (default: the best)"},
        {"--validation", CLI_BOOL, &validation, NULL, "Khronos validation layer on"},
    };
    const struct cli_command cmd = {
        "eval",
        "Evaluate a checkpoint on a data set's test split: top-1 and top-5 accuracy and the\n"
        "mean cross-entropy over every test image, BatchNorm from running statistics.",
        NULL, flags, (int)(sizeof(flags) / sizeof(flags[0]))};
    int r = cli_parse(&cmd, argc, argv);
    if (r)
        return r > 0 ? 0 : 2;
    if (!ckpt) {
        fprintf(stderr, "vkdistill eval: --checkpoint is required (see vkdistill eval --help)\n");
        return 2;
    }
    struct eval_run run_state = {.stream = stream};
    int rc = run(&run_state, ckpt, data, device, batch, (uint32_t)limit, validation, logits);
    vkd_vk_destroy(run_state.vk);
    model_free(&run_state.m);
    vkd_graph_destroy(run_state.g);
    gpu_data_free(&run_state.gd);
    if (run_state.ctx)
        vkd_context_destroy(run_state.ctx);
    data_free(&run_state.test);
    return rc;
}

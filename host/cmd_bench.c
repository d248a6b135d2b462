/*
 * cmd_bench.c - `vkdistill bench`: the speed of one training step (forward, backward, SGD) of
 * a model, or with --teacher-model/--method of one whole distillation step (frozen teacher
 * forward, student step, the method's losses), on synthetic GPU-resident data, replayed from its
 * one recorded command buffer: the step `distill` records, minus data augmentation and the
 * evaluation phases. Reports the median wall time per step over the timed steps and images/s,
 * and with --passes the GPU time of every kernel (timestamps around each dispatch), summed per
 * kernel. The graph is built by the same method interface as training, so a method's cost here
 * is its cost there.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "method.h"
#include "models.h"
#include "vkd_ops.h"
#include "vkd_rng.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Random labels; for a triplet method in triplet order (anchor, positive of the same class,
 * negative of another), as the trainer's sampler draws them. */
static void synthetic_labels(uint32_t *y, int batch, int classes, int triplets,
                             struct vkd_rng *rng)
{
    for (int i = 0; i < batch; i++)
        y[i] = vkd_rng_below(rng, (uint32_t)classes);
    for (int i = 0; triplets && classes > 1 && i + 2 < batch; i += 3) {
        y[i + 1] = y[i];
        y[i + 2] = (y[i] + 1 + vkd_rng_below(rng, (uint32_t)classes - 1)) % (uint32_t)classes;
    }
}

struct kernel_total {
    const char *stem;
    double ms;
    int count;
};

static void print_passes(struct vkd_vk *vk, double step_ms)
{
    const char **names;
    const double *ms;
    int n = vkd_vk_pass_times(vk, &names, &ms);
    if (n <= 0) {
        printf("(this device has no timestamps on its compute queue)\n");
        return;
    }
    struct kernel_total t[128];
    int nt = 0;
    double sum = 0;
    for (int i = 0; i < n; i++) {
        int j = 0;
        while (j < nt && strcmp(t[j].stem, names[i]) != 0)
            j++;
        if (j == nt && nt < 128)
            t[nt++] = (struct kernel_total){names[i], 0, 0};
        if (j < nt)
            t[j].ms += ms[i], t[j].count++;
        sum += ms[i];
    }
    for (int i = 0; i < nt; i++) /* largest first */
        for (int j = i + 1; j < nt; j++)
            if (t[j].ms > t[i].ms) {
                struct kernel_total x = t[i];
                t[i] = t[j], t[j] = x;
            }
    printf("\n%-24s %6s %10s %6s\n", "kernel (last step)", "count", "GPU ms", "share");
    for (int i = 0; i < nt; i++)
        printf("%-24s %6d %10.3f %5.1f%%\n", t[i].stem, t[i].count, t[i].ms,
               100 * t[i].ms / sum);
    printf("%-24s %6d %10.3f (wall %.3f ms)\n", "total", n, sum, step_ms);
}

int cmd_bench(int argc, char **argv)
{
    const char *model = "resnet20", *device = NULL, *kernels = "auto", *teacher = NULL;
    const char *method_name = NULL, *opts = NULL;
    int batch = 64, steps = 20, warmup = 3, size = 32, channels = 3, classes = 100, passes = 0;
    int validation = cli_env_validation();
    const struct cli_flag flags[] = {
        {"--model", CLI_STRING, &model, "NAME", "architecture (the student with a method) (resnet20)"},
        {"--teacher-model", CLI_STRING, &teacher, "NAME",
         "time a distillation step with this frozen teacher (random weights)"},
        {"--method", CLI_STRING, &method_name, "NAME",
         "distillation method (kd with a teacher, ce without)"},
        {"--opt", CLI_STRING, &opts, "K=V,..", "the method's options, as for distill"},
        {"--batch", CLI_INT, &batch, "N", "batch size (64)", 2, 65536},
        {"--steps", CLI_INT, &steps, "N", "timed steps (20)", 1, 100000},
        {"--warmup", CLI_INT, &warmup, "N", "untimed steps first (3)", 0, 100000},
        {"--input-size", CLI_INT, &size, "N", "square input size (32)", 4, 4096},
        {"--channels", CLI_INT, &channels, "N", "input channels (3)", 1, 64},
        {"--classes", CLI_INT, &classes, "N", "classes (100)", 1, 100000},
        {"--passes", CLI_BOOL, &passes, NULL, "GPU time per kernel (timestamps)"},
        {"--kernels", CLI_STRING, &kernels, "auto|gpu|cpu",
         "kernel variant where an op has two: GPU kernels or CPU-device kernels (auto: by the "
         "device's type)"},
        {"--device", CLI_STRING, &device, "INDEX|NAME", "Vulkan device (default: the best)"},
        {"--validation", CLI_BOOL, &validation, NULL, "Khronos validation layer on"},
    };
    const struct cli_command cmd = {
        "bench",
        "Time the training step of a model (forward, cross-entropy, backward, SGD), or with\n"
        "--teacher-model and --method a whole distillation step (teacher forward, student\n"
        "step, the method's losses), on synthetic data already on the GPU: the median\n"
        "milliseconds per step and images/s.",
        NULL, flags, (int)(sizeof(flags) / sizeof(flags[0]))};
    int r = cli_parse(&cmd, argc, argv);
    if (r)
        return r > 0 ? 0 : 2;

    struct vkd_context_desc cd = {device, validation, host_log_validation, NULL};
    if (strcmp(kernels, "gpu") == 0) {
        cd.variant = VKD_VARIANT_GPU;
    } else if (strcmp(kernels, "cpu") == 0) {
        cd.variant = VKD_VARIANT_CPU;
    } else if (strcmp(kernels, "auto") != 0) {
        fprintf(stderr, "vkdistill bench: --kernels must be auto, gpu or cpu, not '%s'\n",
                kernels);
        return 2;
    }
    if (!method_name)
        method_name = teacher ? "kd" : "ce";
    const struct method *meth = method_find(method_name);
    if (!meth) {
        fprintf(stderr, "vkdistill bench: --method '%s' is not a method (see vkdistill distill "
                        "--help)\n", method_name);
        return 2;
    }
    if (meth->needs_teacher && !teacher) {
        fprintf(stderr, "vkdistill bench: method %s needs --teacher-model\n", meth->name);
        return 2;
    }
    if (teacher && !meth->needs_teacher) {
        fprintf(stderr, "vkdistill bench: method %s uses no teacher; drop --teacher-model\n",
                meth->name);
        return 2;
    }
    char err[512];
    struct kd_build *kb = calloc(1, sizeof(*kb));
    if (!kb || method_resolve(meth, opts, kb->params, err, sizeof(err)) < 0) {
        fprintf(stderr, "vkdistill bench: %s\n", kb ? err : "out of memory");
        free(kb);
        return 2;
    }
    struct vkd_context *ctx;
    if (vkd_context_create(&cd, &ctx, err, sizeof(err)) != VKD_OK) {
        fprintf(stderr, "vkdistill bench: %s\n", err);
        free(kb);
        return 1;
    }
    struct vkd_graph *g = vkd_graph_create();
    struct model m = {0}, tm = {0};
    struct model_opts mo = {.batch = batch, .in_c = channels, .in_hw = size, .classes = classes,
                            .training = 1,
                            .cut_stages = method_cuts_student(meth, kb->params)};
    int rc = 1;
    struct vkd_vk *vk = NULL;
    if (teacher) { /* built first, as distill does, on the student's input */
        struct model_opts to = {.batch = batch, .in_c = channels, .in_hw = size,
                                .classes = classes, .frozen = 1, .prefix = "teacher/"};
        if (model_build(g, teacher, &to, &tm, err, sizeof(err)) < 0)
            goto fail_build;
        mo.input = tm.input, mo.has_input = 1;
    }
    if (model_build(g, model, &mo, &m, err, sizeof(err)) < 0)
        goto fail_build;
    kd_build_models(kb, meth, g, batch, classes,
                    vkd_graph_input(g, "labels", VKD_U32, batch, 1, 1, 1), &m,
                    teacher ? &tm : NULL);
    if (meth->build(kb) < 0) {
        fprintf(stderr, "vkdistill bench: method %s: %s\n", meth->name, kb->err);
        rc = 2;
        goto out_model;
    }
    struct vkd_vk_desc vd = {VKD_PROG_FORWARD | VKD_PROG_BACKWARD | VKD_PROG_UPDATE, passes, 1,
                             NULL, 0}; /* as training runs: activations share memory */
    if (vkd_graph_finalize(g, 1) != VKD_OK || vkd_vk_create(ctx, g, &vd, &vk) != VKD_OK) {
        fprintf(stderr, "vkdistill bench: %s\n", vkd_context_error(ctx));
        goto out_model;
    }
    /* synthetic data: normal inputs, random labels, the models' own initial weights */
    struct vkd_rng rng = {7};
    size_t nx = (size_t)batch * channels * size * size;
    float *x = malloc(nx * sizeof(float));
    uint32_t *y = malloc(sizeof(uint32_t) * (size_t)batch);
    float sp[VKD_SP_COUNT] = {[VKD_SP_LR] = 0.01f, [VKD_SP_MOMENTUM] = 0.9f,
                              [VKD_SP_WEIGHT_DECAY] = 5e-4f};
    for (int t = 0; t < kb->n_terms; t++)
        sp[kb->terms[t].slot] = (float)kb->terms[t].weight;
    for (size_t i = 0; x && i < nx; i++)
        x[i] = (float)vkd_rng_normal(&rng);
    if (y)
        synthetic_labels(y, batch, classes, meth->triplets, &rng);
    int ok = x && y && vkd_vk_write_f32(vk, m.input, x) == VKD_OK &&
             vkd_vk_write_raw(vk, kb->labels, y, 4 * (size_t)batch) == VKD_OK &&
             vkd_vk_write_f32(vk, vkd_graph_step_params(g), sp) == VKD_OK &&
             model_init_weights(g, vk, &m, &rng) == VKD_OK &&
             model_init_weights(g, vk, &kb->extras, &rng) == VKD_OK &&
             (!teacher || model_init_weights(g, vk, &tm, &rng) == VKD_OK);
    if (ok && meth->triplets) {
        int nb = batch / 3;
        uint32_t *ya = malloc(sizeof(uint32_t) * (size_t)nb);
        float *soft = malloc(sizeof(float) * (size_t)nb * (size_t)classes);
        if (ya && soft)
            kd_triplet_fill(y, batch, classes, ya, soft);
        ok = ya && soft && vkd_vk_write_raw(vk, kb->tri_labels, ya, 4 * (size_t)nb) == VKD_OK &&
             vkd_vk_write_f32(vk, kb->tri_soft, soft) == VKD_OK;
        free(ya);
        free(soft);
    }
    free(x);
    free(y);
    double *ms = malloc(sizeof(double) * (size_t)steps);
    for (int i = 0; ok && ms && i < warmup + steps; i++) {
        double t0 = now();
        ok = vkd_vk_run(vk) == VKD_OK;
        if (i >= warmup)
            ms[i - warmup] = 1e3 * (now() - t0);
    }
    if (!ok || !ms) {
        fprintf(stderr, "vkdistill bench: %s\n", ms ? vkd_context_error(ctx) : "out of memory");
        free(ms);
        goto out_model;
    }
    /* the step's loss as the trainer logs it: the weighted sum of the method's terms */
    double lossv = 0;
    for (int t = 0; t < kb->n_terms; t++) {
        double v;
        if (vkd_vk_read(vk, kb->terms[t].tensor, &v) != VKD_OK)
            v = NAN;
        lossv += kb->terms[t].weight * v;
    }
    qsort(ms, (size_t)steps, sizeof(double), cmp_double);
    double med = ms[steps / 2];
    const struct vkd_device_info *d = vkd_context_device(ctx);
    if (teacher)
        printf("%s -> %s, method %s", teacher, model, meth->name);
    else if (strcmp(meth->name, "ce") != 0)
        printf("%s, method %s", model, meth->name);
    else
        printf("%s", model);
    printf(", batch %d, %dx%dx%d, %d classes on %s, %s kernels\n", batch, channels, size, size,
           classes, d->name, vkd_context_variant(ctx) == VKD_VARIANT_CPU ? "CPU-device" : "GPU");
    printf("step: median %.3f ms (min %.3f, max %.3f) over %d steps = %.0f images/s; "
           "%.1f MiB device memory; loss %.4f\n",
           med, ms[0], ms[steps - 1], steps, batch / (med / 1e3),
           (double)vkd_vk_device_bytes(vk) / (1 << 20), lossv);
    if (vkd_vk_step_parts(vk) > 1)
        printf("step order: forward and backward interleaved over %d gradient parts "
               "(docs/ENGINE.md)\n",
               vkd_vk_step_parts(vk));
    if (passes)
        print_passes(vk, ms[steps - 1]);
    free(ms);
    rc = isfinite(lossv) ? 0 : 1;
    goto out_model;
fail_build:
    fprintf(stderr, "vkdistill bench: %s\n", err);
    rc = 2;
out_model:
    vkd_vk_destroy(vk);
    model_free(&kb->extras);
    model_free(&m);
    if (teacher)
        model_free(&tm);
    vkd_graph_destroy(g);
    vkd_context_destroy(ctx);
    free(kb);
    return rc;
}

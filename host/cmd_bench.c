/*
 * cmd_bench.c - `vkdistill bench`: the speed of one training step (forward, backward, SGD) of
 * a model on synthetic GPU-resident data, replayed from its one recorded command buffer. Reports
 * the median wall time per step over the timed steps and images/s, and with --passes the GPU
 * time of every kernel (timestamps around each dispatch), summed per kernel.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
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
    const char *model = "resnet20", *device = NULL, *kernels = "auto";
    int batch = 64, steps = 20, warmup = 3, size = 32, channels = 3, classes = 100, passes = 0;
    int validation = cli_env_validation();
    const struct cli_flag flags[] = {
        {"--model", CLI_STRING, &model, "NAME", "architecture (resnet20)"},
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
        "Time the training step of a model (forward, cross-entropy, backward, SGD) on\n"
        "synthetic data already on the GPU: the median milliseconds per step and images/s.",
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
    char err[512];
    struct vkd_context *ctx;
    if (vkd_context_create(&cd, &ctx, err, sizeof(err)) != VKD_OK) {
        fprintf(stderr, "vkdistill bench: %s\n", err);
        return 1;
    }
    struct vkd_graph *g = vkd_graph_create();
    struct model m;
    struct model_opts mo = {.batch = batch, .in_c = channels, .in_hw = size, .classes = classes,
                            .training = 1};
    int rc = 1;
    struct vkd_vk *vk = NULL;
    if (model_build(g, model, &mo, &m, err, sizeof(err)) < 0) {
        fprintf(stderr, "vkdistill bench: %s\n", err);
        goto out_graph;
    }
    int labels = vkd_graph_input(g, "labels", VKD_U32, batch, 1, 1, 1);
    int loss = vkd_softmax_ce(g, "ce", m.logits, labels, NULL, NULL);
    vkd_graph_loss(g, loss, -1);
    struct vkd_vk_desc vd = {VKD_PROG_FORWARD | VKD_PROG_BACKWARD | VKD_PROG_UPDATE, passes, 1,
                             NULL, 0}; /* as training runs: activations share memory */
    if (vkd_graph_finalize(g, 1) != VKD_OK || vkd_vk_create(ctx, g, &vd, &vk) != VKD_OK) {
        fprintf(stderr, "vkdistill bench: %s\n", vkd_context_error(ctx));
        goto out_model;
    }
    /* synthetic data: normal inputs, random labels, small random weights */
    struct vkd_rng rng = {7};
    size_t nx = (size_t)batch * channels * size * size;
    float *x = malloc(nx * sizeof(float));
    uint32_t *y = malloc(sizeof(uint32_t) * (size_t)batch);
    for (size_t i = 0; x && i < nx; i++)
        x[i] = (float)vkd_rng_normal(&rng);
    for (int i = 0; y && i < batch; i++)
        y[i] = vkd_rng_below(&rng, (uint32_t)classes);
    float sp[VKD_SP_COUNT] = {[VKD_SP_LR] = 0.01f, [VKD_SP_MOMENTUM] = 0.9f,
                              [VKD_SP_WEIGHT_DECAY] = 5e-4f};
    int ok = x && y && vkd_vk_write_f32(vk, m.input, x) == VKD_OK &&
             vkd_vk_write_raw(vk, labels, y, 4 * (size_t)batch) == VKD_OK &&
             vkd_vk_write_f32(vk, vkd_graph_step_params(g), sp) == VKD_OK;
    for (int i = 0; ok && i < m.n_params; i++) {
        const struct vkd_tensor *t = vkd_graph_tensor_at(g, m.params[i].tensor);
        size_t n = vkd_tensor_numel(t);
        float *v = malloc(n * sizeof(float));
        for (size_t j = 0; v && j < n; j++)
            v[j] = (float)(0.05 * vkd_rng_normal(&rng));
        ok = v && vkd_vk_write_f32(vk, m.params[i].tensor, v) == VKD_OK;
        free(v);
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
    double lossv;
    vkd_vk_read(vk, loss, &lossv);
    qsort(ms, (size_t)steps, sizeof(double), cmp_double);
    double med = ms[steps / 2];
    const struct vkd_device_info *d = vkd_context_device(ctx);
    printf("%s, batch %d, %dx%dx%d, %d classes on %s, %s kernels\n", model, batch, channels,
           size, size, classes, d->name,
           vkd_context_variant(ctx) == VKD_VARIANT_CPU ? "CPU-device" : "GPU");
    printf("step: median %.3f ms (min %.3f, max %.3f) over %d steps = %.0f images/s; "
           "%.1f MiB device memory; loss %.4f\n",
           med, ms[0], ms[steps - 1], steps, batch / (med / 1e3),
           (double)vkd_vk_device_bytes(vk) / (1 << 20), lossv);
    if (passes)
        print_passes(vk, ms[steps - 1]);
    free(ms);
    rc = isfinite(lossv) ? 0 : 1;
out_model:
    vkd_vk_destroy(vk);
    model_free(&m);
out_graph:
    vkd_graph_destroy(g);
    vkd_context_destroy(ctx);
    return rc;
}

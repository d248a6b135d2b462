/*
 * test_batchnorm.c - the batchnorm family: `cpu` finite differences of the reference, `gpu`
 * shaders against the reference, over the cases in engine/cases/batchnorm.c. Before those:
 *   - values worked by hand for one small BatchNorm2d(1), as torch.nn.BatchNorm2d computes
 *     them: the biased variance normalises, the unbiased one enters running_var, eval mode uses
 *     the running statistics and leaves them alone (both modes; the reference in `cpu`, the
 *     reference and the shaders in `gpu`);
 *   - `gpu`: determinism, two runs of a CIFAR-sized training step agree bit for bit.
 * The `gpu` checks run with both kernel variants (GPU and CPU-device kernels), and on a device
 * that can run the CPU-device kernels, the CPU variant must dispatch them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vkd_ops.h"

/* BatchNorm2d(1) with weight 2, bias 0.5 on x (n 2, c 1, h 1, w 2) = {1, 2 | 3, 6}, upstream
 * gradient dy = {1, 0, 0, 0}. The channel holds m = 4 values: mean 3, squared deviations
 * 4 + 1 + 0 + 9 = 14, biased variance 3.5, unbiased 14/3; invstd = 1/sqrt(3.5 + 1e-5). */
static const double hand_x[4] = {1, 2, 3, 6};
static const double hand_dy[4] = {1, 0, 0, 0};

struct hand_expect {
    double rm0, rv0;             /* running statistics before the step */
    double y[4], rm, rv;         /* after forward */
    double dx[4], dgamma, dbeta; /* after backward */
};

static const struct hand_expect hand_train = {
    .rm0 = 0.0,
    .rv0 = 1.0,
    /* y = (x - 3) * invstd * 2 + 0.5 */
    .y = {-1.63808688, -0.569043440, 0.5, 3.70713032},
    .rm = 0.3,        /* 0.9 * 0 + 0.1 * 3 */
    .rv = 1.36666667, /* 0.9 * 1 + 0.1 * 14/3: the unbiased variance */
    /* xhat = (x - 3) invstd; dbeta = sum dy = 1, dgamma = sum dy xhat = -2 invstd;
     * dx = 2 invstd (dy - dbeta/4 - xhat dgamma/4) */
    .dx = {0.496342470, -0.419980915, -0.267260860, 0.190899305},
    .dgamma = -1.06904344,
    .dbeta = 1.0,
};

static const struct hand_expect hand_eval = {
    .rm0 = 0.5,
    .rv0 = 0.75,
    /* y = (x - 0.5) / sqrt(0.75 + 1e-5) * 2 + 0.5 */
    .y = {1.65469284, 3.96407852, 6.27346420, 13.2016212},
    .rm = 0.5, /* unchanged */
    .rv = 0.75,
    /* dx = 2 / sqrt(0.75 + 1e-5) dy; dgamma = sum dy (x - 0.5) / sqrt(0.75 + 1e-5) */
    .dx = {2.30938568, 0, 0, 0},
    .dgamma = 0.577346420,
    .dbeta = 1.0,
};

struct hand {
    struct vkd_graph *g;
    int x, gamma, beta, rm, rv, y, dy;
};

static int hand_build(struct hand *h, int training)
{
    h->g = vkd_graph_create();
    if (!h->g)
        return 0;
    struct vkd_graph *g = h->g;
    h->x = vkd_graph_input(g, "x", VKD_F32, 2, 1, 1, 2);
    vkd_graph_set_requires_grad(g, h->x);
    h->gamma = vkd_graph_param(g, "bn.weight", 1, 1, 1, 1);
    h->beta = vkd_graph_param(g, "bn.bias", 1, 1, 1, 1);
    h->rm = vkd_graph_tensor(g, "bn.running_mean", VKD_T_STATE, VKD_F32, 1, 1, 1, 1);
    h->rv = vkd_graph_tensor(g, "bn.running_var", VKD_T_STATE, VKD_F32, 1, 1, 1, 1);
    h->y = vkd_batchnorm2d(g, "bn", h->x, h->gamma, h->beta, h->rm, h->rv, training);
    h->dy = vkd_graph_input(g, "dy", VKD_F32, 2, 1, 1, 2);
    vkd_graph_seed(g, h->y, h->dy);
    return vkd_graph_finalize(g, 0) == VKD_OK;
}

/* What a run produced, in the order of struct hand_expect's results. */
struct hand_got {
    double y[4], rm, rv, dx[4], dgamma, dbeta;
};

static int expect(const char *what, const char *mode, const char *where, double got, double want)
{
    /* fp32 results of O(1) values: a few ulps */
    int ok = fabs(got - want) <= 1e-6 * (1 + fabs(want));
    if (!ok)
        printf("FAIL  hand %s %s %s: got %.9g want %.9g\n", mode, where, what, got, want);
    return ok;
}

static int hand_compare(const char *mode, const char *where, const struct hand_got *got,
                        const struct hand_expect *e)
{
    int ok = 1;
    char nm[16];
    for (int i = 0; i < 4; i++) {
        snprintf(nm, sizeof(nm), "y[%d]", i);
        ok &= expect(nm, mode, where, got->y[i], e->y[i]);
        snprintf(nm, sizeof(nm), "dx[%d]", i);
        ok &= expect(nm, mode, where, got->dx[i], e->dx[i]);
    }
    ok &= expect("running_mean", mode, where, got->rm, e->rm);
    ok &= expect("running_var", mode, where, got->rv, e->rv);
    ok &= expect("dgamma", mode, where, got->dgamma, e->dgamma);
    ok &= expect("dbeta", mode, where, got->dbeta, e->dbeta);
    if (ok)
        printf("ok    hand %s (%s): y, running statistics, dx, dgamma, dbeta\n", mode, where);
    return ok;
}

/* One step of h with the inputs and running statistics of e, on the reference (ctx NULL) or the
 * shaders. 0 on success. */
static int hand_run(struct vkd_context *ctx, const struct hand *h, const struct hand_expect *e,
                    struct hand_got *got)
{
    const struct vkd_graph *g = h->g;
    const double gamma = 2.0, beta = 0.5;
    const struct vkd_test_in in[] = {{h->x, hand_x},   {h->dy, hand_dy}, {h->gamma, &gamma},
                                     {h->beta, &beta}, {h->rm, &e->rm0}, {h->rv, &e->rv0}};
    const struct vkd_test_out out[] = {{h->y, got->y},
                                       {vkd_graph_tensor_at(g, h->x)->grad, got->dx},
                                       {h->rm, &got->rm},
                                       {h->rv, &got->rv},
                                       {vkd_graph_tensor_at(g, h->gamma)->grad, &got->dgamma},
                                       {vkd_graph_tensor_at(g, h->beta)->grad, &got->dbeta}};
    return vkd_test_run_graph(ctx, g, in, 6, out, 6);
}

/* Returns the number of failures. */
static int hand_checks(struct vkd_context *ctx)
{
    int failed = 0;
    for (int training = 1; training >= 0; training--) {
        const char *mode = training ? "train" : "eval";
        const struct hand_expect *e = training ? &hand_train : &hand_eval;
        struct hand h;
        if (!hand_build(&h, training)) {
            printf("FAIL  hand %s: could not build the graph\n", mode);
            vkd_graph_destroy(h.g);
            failed++;
            continue;
        }
        /* the reference, then with ctx the shaders */
        for (int dev = 0; dev < (ctx ? 2 : 1); dev++) {
            struct hand_got got;
            if (hand_run(dev ? ctx : NULL, &h, e, &got))
                failed++;
            else
                failed += !hand_compare(mode, dev ? "shaders" : "reference", &got, e);
        }
        vkd_graph_destroy(h.g);
    }
    return failed;
}

/* ---- determinism --------------------------------------------------------------------------- */

/* A training-mode node of CIFAR-ResNet's first stage (several chunks per channel), run twice:
 * y, the saved statistics and every gradient must agree bit for bit (no float atomics, merges in
 * a fixed order). The running statistics move between the runs but feed none of them. */
static int determinism_check(struct vkd_context *ctx)
{
    const int n = 8, c = 16, hw = 32;
    struct vkd_graph *g = vkd_graph_create();
    if (!g)
        return 1;
    int x = vkd_graph_input(g, "x", VKD_F32, n, c, hw, hw);
    vkd_graph_set_requires_grad(g, x);
    int gamma = vkd_graph_param(g, "bn.weight", c, 1, 1, 1);
    int beta = vkd_graph_param(g, "bn.bias", c, 1, 1, 1);
    int rm = vkd_graph_tensor(g, "bn.running_mean", VKD_T_STATE, VKD_F32, c, 1, 1, 1);
    int rv = vkd_graph_tensor(g, "bn.running_var", VKD_T_STATE, VKD_F32, c, 1, 1, 1);
    int y = vkd_batchnorm2d(g, "bn", x, gamma, beta, rm, rv, 1);
    int dy = vkd_graph_input(g, "dy", VKD_F32, n, c, hw, hw);
    vkd_graph_seed(g, y, dy);
    int failed = -1;
    struct vkd_vk *vk = NULL;
    size_t count = (size_t)n * c * hw * hw;
    float *buf = malloc(count * sizeof(float)), *first[6] = {0};
    if (!buf || vkd_graph_finalize(g, 0) != VKD_OK)
        goto out;
    int watched[6] = {y,
                      vkd_graph_find(g, "bn.mean"),
                      vkd_graph_find(g, "bn.invstd"),
                      vkd_graph_tensor_at(g, x)->grad,
                      vkd_graph_tensor_at(g, gamma)->grad,
                      vkd_graph_tensor_at(g, beta)->grad};
    struct vkd_vk_desc desc = {VKD_PROG_FORWARD | VKD_PROG_BACKWARD, 0};
    if (vkd_vk_create(ctx, g, &desc, &vk) != VKD_OK)
        goto out;
    /* Inputs: a fixed pseudo-random pattern with a per-channel offset (a non-zero mean). */
    uint32_t state = 12345;
    int inputs[2] = {x, dy};
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < count; i++) {
            state = state * 1664525u + 1013904223u;
            buf[i] = (float)(state >> 8) / (float)(1u << 24) * 2.0f - 1.0f +
                     (float)((i / (size_t)(hw * hw)) % (size_t)c) * 0.25f;
        }
        if (vkd_vk_write_f32(vk, inputs[k], buf) != VKD_OK)
            goto out;
    }
    for (int i = 0; i < c; i++)
        buf[i] = 1.0f + 0.01f * (float)i;
    if (vkd_vk_write_f32(vk, gamma, buf) != VKD_OK || vkd_vk_write_f32(vk, beta, buf) != VKD_OK ||
        vkd_vk_write_f32(vk, rv, buf) != VKD_OK)
        goto out;
    int same = 1;
    for (int run = 0; run < 2; run++) {
        if (vkd_vk_run(vk) != VKD_OK)
            goto out;
        for (int k = 0; k < 6; k++) {
            size_t numel = vkd_tensor_numel(vkd_graph_tensor_at(g, watched[k]));
            if (vkd_vk_read_f32(vk, watched[k], buf) != VKD_OK)
                goto out;
            if (run == 0) {
                first[k] = malloc(numel * sizeof(float));
                if (!first[k])
                    goto out;
                memcpy(first[k], buf, numel * sizeof(float));
            } else if (memcmp(first[k], buf, numel * sizeof(float)) != 0) {
                printf("FAIL  determinism: '%s' differs between two runs\n",
                       vkd_graph_tensor_at(g, watched[k])->name);
                same = 0;
            }
        }
    }
    if (same)
        printf("ok    determinism: %dx%dx%dx%d train, y, statistics and gradients bit for bit\n", n,
               c, hw, hw);
    failed = !same;
out:
    if (failed < 0) /* a setup or device failure, not a mismatch */
        printf("FAIL  determinism: could not run (%s)\n", vkd_context_error(ctx));
    for (int k = 0; k < 6; k++)
        free(first[k]);
    free(buf);
    vkd_vk_destroy(vk);
    vkd_graph_destroy(g);
    return failed != 0;
}

/* ---- which kernels run -------------------------------------------------------------------- */

/* A training node's forward and backward and an eval node's must dispatch the CPU-device
 * kernels and no GPU-variant batchnorm kernel (vkd_test_cpu_kernels_ran). */
static int cpu_kernels_check(struct vkd_context *ctx)
{
    static const char *const want[2][4] = {
        {"batchnorm_eval_cpu", "batchnorm_bwd_reduce_cpu", "batchnorm_bwd_data_cpu"},
        {"batchnorm_stats_cpu", "batchnorm_apply_cpu", "batchnorm_bwd_reduce_cpu",
         "batchnorm_bwd_data_cpu"},
    };
    int fails = 0;
    for (int training = 0; training < 2; training++) {
        struct hand h;
        if (!hand_build(&h, training)) {
            printf("FAIL  batchnorm CPU-device kernels: could not build the graph\n");
            fails++;
        } else {
            fails +=
                vkd_test_cpu_kernels_ran(ctx, h.g, "batchnorm", want[training], training ? 4 : 3);
        }
        vkd_graph_destroy(h.g);
    }
    return fails;
}

int main(int argc, char **argv)
{
    int gpu = argc == 2 && strcmp(argv[1], "gpu") == 0;
    int failed = 0;
    if (gpu) {
        for (int cpu = 0; cpu < 2; cpu++) {
            struct vkd_context *ctx =
                vkd_test_context_variant(cpu ? VKD_VARIANT_CPU : VKD_VARIANT_GPU);
            failed += hand_checks(ctx);
            failed += determinism_check(ctx);
            if (cpu)
                failed += cpu_kernels_check(ctx);
            failed += vkd_test_context_done(ctx);
        }
    } else if (argc == 2 && strcmp(argv[1], "cpu") == 0) {
        failed += hand_checks(NULL);
    }
    int rc = vkd_test_family_main(argc, argv, "batchnorm");
    return failed ? 1 : rc;
}

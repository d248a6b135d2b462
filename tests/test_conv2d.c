/*
 * test_conv2d.c - the conv2d family: `cpu` finite differences of the reference, `gpu` shaders
 * against the reference, over the cases in engine/cases/conv2d.c.
 *
 * Finite differences show that the reference's gradients match its forward, and the GPU checks
 * that the shaders match the reference; neither shows that the forward is PyTorch's. So first,
 * convolutions small enough to work out by hand (cross-correlation, not convolution; where the
 * zero padding goes; the output size; which input channels a group reads) on the reference and,
 * in `gpu` mode, on the shaders. In `gpu` mode also: a layer whose weight gradient is split over
 * many workgroups gives the same bits on every run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vkd_ops.h"
#include "vkd_rng.h"
#include "vkd_shared.h"

/* A single conv2d node, its inputs and its upstream gradient dy (a seed). */
struct conv_graph {
    struct vkd_graph *g;
    int x, w, b, y, dy;
};

/* xs, ws: the (n, c, h, w) shapes of x and w; the bias is (k) when `bias`. */
static struct conv_graph conv_graph(const int *xs, const int *ws, int bias, int stride, int pad,
                                    int groups)
{
    struct conv_graph c = {vkd_graph_create(), 0, 0, -1, 0, 0};
    if (!c.g) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    c.x = vkd_graph_input(c.g, "x", VKD_F32, xs[0], xs[1], xs[2], xs[3]);
    vkd_graph_set_requires_grad(c.g, c.x);
    c.w = vkd_graph_param(c.g, "w", ws[0], ws[1], ws[2], ws[3]);
    if (bias)
        c.b = vkd_graph_param(c.g, "b", ws[0], 1, 1, 1);
    c.y = vkd_conv2d(c.g, "y", c.x, c.w, c.b, stride, pad, groups);
    const struct vkd_tensor *ty = vkd_graph_tensor_at(c.g, c.y);
    c.dy = vkd_graph_input(c.g, "dy", VKD_F32, ty->n, ty->c, ty->h, ty->w);
    vkd_graph_seed(c.g, c.y, c.dy);
    if (vkd_graph_finalize(c.g, 0) != VKD_OK) {
        fprintf(stderr, "finalize: %s\n", vkd_graph_error(c.g));
        exit(1);
    }
    return c;
}

static size_t numel(const struct vkd_graph *g, int t)
{
    return vkd_tensor_numel(vkd_graph_tensor_at(g, t));
}

/* ---- hand-computed convolutions ------------------------------------------------------------- */

struct hand {
    const char *what;
    int xs[4], ws[4], bias, stride, pad, groups;
    const double *x, *w, *b, *dy;   /* inputs */
    const double *y, *dx, *dw, *db; /* what torch.nn.functional.conv2d and autograd give */
};

/* x = 1..16 in a 4x4 image; a 3x3 filter with 1 at the top left and 2 at the bottom right, bias
 * 0.5, stride 2, pad 1: P = (4 + 2 - 3) / 2 + 1 = 2, and y[p][q] = 0.5 + x[2p - 1][2q - 1] +
 * 2 x[2p + 1][2q + 1] (zero outside). A convolution (flipped filter) would give 0.5 + 2 * 0 +
 * 6 = 6.5 at (0, 0). With dy = 1: dw[r][s] = sum over p, q of x[2p + r - 1][2q + s - 1];
 * dx = 1 at x[1][1] from the top-left tap of y[1][1], 2 at x[1|3][1|3] from the bottom-right
 * taps. */
static const double h1_x[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const double h1_w[9] = {1, 0, 0, 0, 0, 0, 0, 0, 2};
static const double h1_b[1] = {0.5};
static const double h1_dy[4] = {1, 1, 1, 1};
static const double h1_y[4] = {12.5, 16.5, 28.5, 38.5};
static const double h1_dx[16] = {0, 0, 0, 0, 0, 3, 0, 2, 0, 0, 0, 0, 0, 2, 0, 2};
static const double h1_dw[9] = {6, 12, 14, 12, 24, 28, 20, 40, 44};
static const double h1_db[1] = {4};

/* groups 2, 1x1: output channel 0 reads input channels 0-1, channel 1 reads 2-3.
 * y = (1*1 + 10*2, 100*3 + 1000*4); dx[c] = w * dy of its group; dw = x * dy. */
static const double h2_x[4] = {1, 2, 3, 4};
static const double h2_w[4] = {1, 10, 100, 1000};
static const double h2_dy[2] = {1, -2};
static const double h2_y[2] = {21, 4300};
static const double h2_dx[4] = {1, 10, -200, -2000};
static const double h2_dw[4] = {1, 2, -6, -8};

/* Depthwise (groups == c == k), 1x2 filters, pad 0 on a 1x3 image per channel:
 * y[c][q] = w[c][0] x[c][q] + w[c][1] x[c][q + 1]. */
static const double h3_x[6] = {1, 2, 3, 4, 5, 6};
static const double h3_w[4] = {1, -1, 2, 3};
static const double h3_b[2] = {10, 20};
static const double h3_dy[4] = {1, 2, 3, 4};
static const double h3_y[4] = {10 + 1 - 2, 10 + 2 - 3, 20 + 8 + 15, 20 + 10 + 18};
static const double h3_dx[6] = {1, 2 - 1, -2, 6, 8 + 9, 12};
static const double h3_dw[4] = {1 * 1 + 2 * 2, 2 * 1 + 3 * 2, 4 * 3 + 5 * 4, 5 * 3 + 6 * 4};
static const double h3_db[2] = {3, 7};

/* clang-format off */
static const struct hand hands[] = {
    {"3x3 st2 p1 cross-correlation", {1, 1, 4, 4}, {1, 1, 3, 3}, 1, 2, 1, 1,
     h1_x, h1_w, h1_b, h1_dy, h1_y, h1_dx, h1_dw, h1_db},
    {"1x1 groups 2", {1, 4, 1, 1}, {2, 2, 1, 1}, 0, 1, 0, 2,
     h2_x, h2_w, NULL, h2_dy, h2_y, h2_dx, h2_dw, NULL},
    {"depthwise 1x2", {1, 2, 1, 3}, {2, 1, 1, 2}, 1, 1, 0, 2,
     h3_x, h3_w, h3_b, h3_dy, h3_y, h3_dx, h3_dw, h3_db},
};
/* clang-format on */

/* Runs one hand case on the reference and, with ctx, on the GPU; each tensor is one check. */
static void run_hand(struct vkd_context *ctx, const struct hand *h)
{
    struct conv_graph c = conv_graph(h->xs, h->ws, h->b != NULL, h->stride, h->pad, h->groups);
    const struct vkd_graph *g = c.g;
    double y[64], dx[64], dw[64], db[64];
    const struct vkd_test_in in[] = {{c.x, h->x}, {c.w, h->w}, {c.b, h->b}, {c.dy, h->dy}};
    const struct vkd_test_out out[] = {
        {c.y, y},
        {vkd_graph_tensor_at(g, c.x)->grad, dx},
        {vkd_graph_tensor_at(g, c.w)->grad, dw},
        {c.b >= 0 ? vkd_graph_tensor_at(g, c.b)->grad : -1, db},
    };
    for (int dev = 0; dev < (ctx ? 2 : 1); dev++) {
        if (vkd_test_run_graph(dev ? ctx : NULL, g, in, 4, out, 4))
            continue;
        const char *engine = dev ? "gpu" : "ref";
        const struct {
            const char *name;
            const double *got, *want;
            size_t n;
        } t[4] = {
            {"y", y, h->y, numel(g, c.y)},
            {"x", dx, h->dx, numel(g, c.x)},
            {"w", dw, h->dw, numel(g, c.w)},
            {"b", db, h->db, c.b >= 0 ? numel(g, c.b) : 0},
        };
        for (int i = 0; i < (c.b >= 0 ? 4 : 3); i++) {
            char what[128];
            snprintf(what, sizeof(what), "conv2d %s (%s): %s", h->what, engine, t[i].name);
            vkd_test_expect_all(what, t[i].got, t[i].want, (int)t[i].n, 1e-6, 1e-6);
        }
    }
    vkd_graph_destroy(c.g);
}

/* ---- determinism --------------------------------------------------------------------------- */

/* A CIFAR layer whose weight gradient is split over many workgroups: two runs, same bits. */
static int run_twice(struct vkd_context *ctx)
{
    static const int xs[4] = {8, 16, 32, 32}, ws[4] = {16, 16, 3, 3};
    struct conv_graph c = conv_graph(xs, ws, 1, 1, 1, 1);
    const struct vkd_graph *g = c.g;
    int outs[4] = {c.y, vkd_graph_tensor_at(g, c.x)->grad, vkd_graph_tensor_at(g, c.w)->grad,
                   vkd_graph_tensor_at(g, c.b)->grad};
    size_t total = 0, max_in = numel(g, c.x) > numel(g, c.dy) ? numel(g, c.x) : numel(g, c.dy);
    for (int i = 0; i < 4; i++)
        total += numel(g, outs[i]);
    float *run[2] = {malloc(total * sizeof(float)), malloc(total * sizeof(float))};
    double *in = malloc(max_in * sizeof(double));
    if (!run[0] || !run[1] || !in) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    struct vkd_vk_desc desc = {VKD_PROG_FORWARD | VKD_PROG_BACKWARD, 0};
    struct vkd_vk *vk;
    enum vkd_status s = vkd_vk_create(ctx, g, &desc, &vk);
    struct vkd_rng rng = {42};
    int ins[4] = {c.x, c.w, c.b, c.dy};
    for (int i = 0; s == VKD_OK && i < 4; i++) {
        for (size_t j = 0; j < numel(g, ins[i]); j++)
            in[j] = 2 * vkd_rng_uniform(&rng) - 1;
        s = vkd_vk_write(vk, ins[i], in);
    }
    for (int r = 0; s == VKD_OK && r < 2; r++) {
        s = vkd_vk_run(vk);
        size_t off = 0;
        for (int i = 0; s == VKD_OK && i < 4; i++) {
            s = vkd_vk_read_f32(vk, outs[i], run[r] + off);
            off += numel(g, outs[i]);
        }
    }
    int fail = s != VKD_OK || memcmp(run[0], run[1], total * sizeof(float)) != 0;
    if (s != VKD_OK)
        printf("FAIL  conv2d determinism: %s\n", vkd_context_error(ctx));
    else
        printf("%s conv2d determinism: y, dx, dw, db identical over two runs (%zu floats)\n",
               fail ? "FAIL " : "ok   ", total);
    vkd_vk_destroy(vk);
    free(run[0]);
    free(run[1]);
    free(in);
    vkd_graph_destroy(c.g);
    return fail;
}

/* ---- which kernels run -------------------------------------------------------------------- */

/* The op checks pass with either kernel variant, so they cannot tell whether the CPU-device
 * kernels ran at all (a device without subgroupShuffle keeps the GPU kernels). On a device that
 * has what they need, a stride-1 3x3 layer and a stride-2 one must dispatch them. */
static int run_cpu_kernels(void)
{
    struct vkd_context *ctx = vkd_test_context_variant(VKD_VARIANT_CPU);
    const struct vkd_device_info *d = vkd_context_device(ctx);
    int fails = 0;
    if (!d->timestamps || !d->subgroup_shuffle || d->subgroup_size % VKD_CONV_CPU_CL != 0) {
        printf("skip  conv2d CPU-device kernels: no timestamps or subgroupShuffle over %d lanes\n",
               VKD_CONV_CPU_CL);
        return vkd_test_context_done(ctx);
    }
    static const struct {
        int stride;
        const char *want[4];
    } layers[] = {
        {1, {"conv2d_fwd_cpu_s1", "conv2d_bwd_data_cpu_s1", "conv2d_bwd_weight_cpu_s1",
             "conv2d_bwd_wsum_cpu"}},
        {2, {"conv2d_fwd_cpu", "conv2d_bwd_data_cpu", "conv2d_bwd_weight_cpu",
             "conv2d_bwd_wsum_cpu"}},
    };
    static const int xs[4] = {2, 8, 9, 9}, ws[4] = {16, 8, 3, 3};
    for (size_t l = 0; l < sizeof(layers) / sizeof(layers[0]); l++) {
        struct conv_graph c = conv_graph(xs, ws, 1, layers[l].stride, 1, 1);
        struct vkd_vk_desc desc = {VKD_PROG_FORWARD | VKD_PROG_BACKWARD, 1};
        struct vkd_vk *vk = NULL;
        const char **names = NULL;
        const double *ms;
        int n = 0;
        enum vkd_status s = vkd_vk_create(ctx, c.g, &desc, &vk);
        if (s == VKD_OK)
            s = vkd_vk_run(vk);
        if (s == VKD_OK)
            n = vkd_vk_pass_times(vk, &names, &ms);
        for (int k = 0; k < 4; k++) {
            int found = 0;
            for (int i = 0; i < n; i++)
                found |= strcmp(names[i], layers[l].want[k]) == 0;
            printf("%s conv2d stride %d dispatches %s\n", found ? "ok   " : "FAIL ",
                   layers[l].stride, layers[l].want[k]);
            fails += !found;
        }
        vkd_vk_destroy(vk);
        vkd_graph_destroy(c.g);
    }
    return fails + vkd_test_context_done(ctx);
}

static void hand_checks(struct vkd_context *ctx)
{
    for (size_t i = 0; i < sizeof(hands) / sizeof(hands[0]); i++)
        run_hand(ctx, &hands[i]);
    if (ctx) {
        vkd_test_failed(run_twice(ctx));
        vkd_test_failed(run_cpu_kernels());
    }
}

int main(int argc, char **argv)
{
    return vkd_test_hand_main(argc, argv, "conv2d", hand_checks);
}

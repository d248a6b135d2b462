/*
 * test_augment.c - the augmentation op. `cpu`: the reference against an independent, literal
 * implementation of torchvision's pipeline (np.pad with zeros, slice the crop, reverse columns
 * for the flip, ToTensor, Normalize) on hand-made images, plus the NaN for an index past the
 * data set. `gpu`: the shader against the reference over engine/cases/augment.c, and the NaN.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "vkd_ops.h"

#define C 3
#define H 5
#define W 6
#define PAD 2
#define OH 5
#define OW 6
#define N 4
#define IMAGES 3

static int passed, failed;

static void check(int ok, const char *what)
{
    printf("%-4s %s\n", ok ? "ok" : "FAIL", what);
    ok ? passed++ : failed++;
}

static const float mean[3] = {0.5f, 0.25f, 0.125f}, inv_std[3] = {2.0f, 4.0f, 8.0f};

static uint8_t pixel(int img, int c, int r, int q)
{
    return (uint8_t)(img * 71 + c * 29 + r * 7 + q * 3 + 1);
}

/* The literal pipeline: pad, crop at (dy, dx), flip columns, scale, normalise. */
static double expected(int img, int c, int dy, int dx, int flip, int oy, int ox)
{
    double padded[H + 2 * PAD][W + 2 * PAD];
    memset(padded, 0, sizeof(padded));
    for (int r = 0; r < H; r++)
        for (int q = 0; q < W; q++)
            padded[r + PAD][q + PAD] = pixel(img, c, r, q);
    double crop[OH][OW];
    for (int y = 0; y < OH; y++)
        for (int x = 0; x < OW; x++)
            crop[y][x] = padded[dy + y][dx + x];
    double v = flip ? crop[oy][OW - 1 - ox] : crop[oy][ox];
    return (v / 255.0 - mean[c]) * inv_std[c];
}

struct net {
    struct vkd_graph *g;
    int data, prm, x;
};

static void build(struct net *m)
{
    m->g = vkd_graph_create();
    m->data = vkd_graph_tensor(m->g, "data", VKD_T_STATE, VKD_U32, (IMAGES * C * H * W + 3) / 4,
                               1, 1, 1);
    m->prm = vkd_graph_input(m->g, "params", VKD_U32, N, 4, 1, 1);
    struct vkd_augment_params p = {N, C, H, W, OH, OW, PAD, IMAGES, IMAGES,
                                   {mean[0], mean[1], mean[2]},
                                   {inv_std[0], inv_std[1], inv_std[2]}};
    m->x = vkd_augment(m->g, "x", &m->data, 1, m->prm, &p);
    vkd_graph_finalize(m->g, 0);
}

/* params: sample n takes image n % IMAGES (or an out-of-range index for the last when bad) */
static void inputs(double *data, double *prm, int bad)
{
    uint8_t bytes[(IMAGES * C * H * W + 3) / 4 * 4] = {0};
    for (int i = 0; i < IMAGES; i++)
        for (int c = 0; c < C; c++)
            for (int r = 0; r < H; r++)
                for (int q = 0; q < W; q++)
                    bytes[((i * C + c) * H + r) * W + q] = pixel(i, c, r, q);
    for (size_t w = 0; w < sizeof(bytes) / 4; w++)
        data[w] = (double)((uint32_t)bytes[4 * w] | (uint32_t)bytes[4 * w + 1] << 8 |
                           (uint32_t)bytes[4 * w + 2] << 16 | (uint32_t)bytes[4 * w + 3] << 24);
    static const int dy[N] = {0, 4, 2, 1}, dx[N] = {4, 0, 2, 3}, flip[N] = {0, 1, 1, 0};
    for (int n = 0; n < N; n++) {
        prm[4 * n] = n % IMAGES;
        prm[4 * n + 1] = dy[n], prm[4 * n + 2] = dx[n], prm[4 * n + 3] = flip[n];
    }
    if (bad)
        prm[4 * (N - 1)] = IMAGES;
}

static int matches(const double *x, int bad)
{
    double prm[4 * N], data[64];
    inputs(data, prm, 0);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int y = 0; y < OH; y++)
                for (int q = 0; q < OW; q++) {
                    double got = x[((n * C + c) * OH + y) * OW + q];
                    if (bad && n == N - 1) {
                        if (!isnan(got))
                            return 0;
                        continue;
                    }
                    double want = expected(n % IMAGES, c, (int)prm[4 * n + 1],
                                           (int)prm[4 * n + 2], (int)prm[4 * n + 3], y, q);
                    if (fabs(got - want) > 1e-6 * (1 + fabs(want)))
                        return 0;
                }
    return 1;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "cpu") == 0) {
        for (int bad = 0; bad < 2; bad++) {
            struct net m;
            build(&m);
            struct vkd_ref *ref = vkd_ref_create(m.g);
            inputs(vkd_ref_data(ref, m.data), vkd_ref_data(ref, m.prm), bad);
            vkd_ref_forward(ref);
            check(matches(vkd_ref_data(ref, m.x), bad),
                  bad ? "reference: an index past the data set gives NaN, others unaffected"
                      : "reference = pad + crop + flip + ToTensor + Normalize, literally");
            vkd_ref_destroy(ref);
            vkd_graph_destroy(m.g);
        }
        printf("%d passed, %d failed\n", passed, failed);
        return failed ? 1 : 0;
    }
    if (argc == 2 && strcmp(argv[1], "gpu") == 0) {
        struct vkd_context *ctx = vkd_test_context();
        struct net m;
        build(&m);
        struct vkd_vk *vk;
        struct vkd_vk_desc desc = {VKD_PROG_FORWARD, 0};
        if (vkd_vk_create(ctx, m.g, &desc, &vk) != VKD_OK) {
            printf("FAIL: %s\n", vkd_context_error(ctx));
            return 1;
        }
        double data[64], prm[4 * N], x[N * C * OH * OW];
        inputs(data, prm, 1);
        vkd_vk_write(vk, m.data, data);
        vkd_vk_write(vk, m.prm, prm);
        int ok = vkd_vk_run(vk) == VKD_OK && vkd_vk_read(vk, m.x, x) == VKD_OK;
        check(ok && matches(x, 1), "shader: literal pipeline, and NaN for an index past the data");
        vkd_vk_destroy(vk);
        vkd_graph_destroy(m.g);
        int rc = vkd_test_context_done(ctx);
        failed += rc;
        printf("%d passed, %d failed (hand checks)\n", passed, failed);
        int frc = vkd_test_family_main(argc, argv, "augment");
        return failed || frc ? 1 : 0;
    }
    fprintf(stderr, "usage: %s cpu|gpu\n", argv[0]);
    return 2;
}

/*
 * test_patch.c - the patch <-> row permutation over engine/cases/patch.c (`cpu` finite
 * differences, `gpu` shaders vs reference under both kernel variants), plus on both executors:
 *   - a hand check: x (1, 2, 2, 4) with x[k][i][j] = 100 k + 10 i + j, 2 x 2 patches: two rows
 *       row 0 = [0, 1, 10, 11, 100, 101, 110, 111]    (patch b = 0: channel 0, then channel 1)
 *       row 1 = [2, 3, 12, 13, 102, 103, 112, 113]    (patch b = 1)
 *     and backward with the upstream gradient of the rows = those same values: dx = x;
 *   - round trips, exact to the bit: patch -> rows -> patch = identity and rows -> patch ->
 *     rows = identity, forward (the values) and backward (the seed comes back unchanged), on
 *     a shape with non-square patches (3, 5, 6, 4), 3 x 2 patches;
 *   - the use LKD makes of it: vkd_gram(rows, VKD_GRAM_CHANNEL, 1, 1, 0) on x (2, 3, 4, 6) with
 *     2 x 3 patches is the 8 x 8 matrix of dot products of every pair of patch blocks of the
 *     batch, computed here by direct loops over the blocks of x (1e-6 relative: fp32 sums of
 *     18 terms).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vkd_ops.h"
#include "vkd_rng.h"

static void hand_check(struct vkd_context *ctx)
{
    struct vkd_graph *g = vkd_graph_create();
    int xi = vkd_graph_input(g, "x", VKD_F32, 1, 2, 2, 4);
    vkd_graph_set_requires_grad(g, xi);
    int yi = vkd_patch_to_rows(g, "rows", xi, 2, 2);
    const struct vkd_tensor *ty = vkd_graph_tensor_at(g, yi);
    vkd_test_check("hand: rows shape (1, 2, 1, 8)",
                   ty->n == 1 && ty->c == 2 && ty->h == 1 && ty->w == 8);
    double x[16], y[16], dx[16];
    const double want[16] = {0, 1, 10, 11, 100, 101, 110, 111, 2, 3, 12, 13, 102, 103, 112, 113};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 4; j++)
                x[(k * 2 + i) * 4 + j] = 100 * k + 10 * i + j;
    if (!vkd_test_run_seeded(ctx, g, xi, yi, x, want, y, dx)) {
        vkd_test_check("hand: rows = [0 1 10 11 100 101 110 111], [2 3 12 13 102 103 112 113]",
                       memcmp(y, want, sizeof(want)) == 0);
        vkd_test_check("hand: backward of those rows gives x back", memcmp(dx, x, sizeof(x)) == 0);
    }
    vkd_graph_destroy(g);
}

/* to_map = 0: x (n, c, h, w) -> rows -> map; 1: rows -> map -> rows. Exact identity both ways. */
static void round_trip(struct vkd_context *ctx, int to_map, int n, int c, int h, int w, int ph,
                       int pw)
{
    struct vkd_graph *g = vkd_graph_create();
    int R = n * (h / ph) * (w / pw), d = c * ph * pw, xi, mid, yi;
    if (!to_map) {
        xi = vkd_graph_input(g, "x", VKD_F32, n, c, h, w);
        vkd_graph_set_requires_grad(g, xi);
        mid = vkd_patch_to_rows(g, "rows", xi, ph, pw);
        yi = vkd_rows_to_patch(g, "back", mid, n, c, h, w, ph, pw);
    } else {
        xi = vkd_graph_input(g, "rows", VKD_F32, 1, R, 1, d);
        vkd_graph_set_requires_grad(g, xi);
        mid = vkd_rows_to_patch(g, "map", xi, n, c, h, w, ph, pw);
        yi = vkd_patch_to_rows(g, "back", mid, ph, pw);
    }
    size_t cnt = (size_t)n * c * h * w;
    double *x = malloc(cnt * sizeof(double)), *dy = malloc(cnt * sizeof(double));
    double *y = malloc(cnt * sizeof(double)), *dx = malloc(cnt * sizeof(double));
    struct vkd_rng rng = {(uint64_t)(cnt * 31 + (size_t)to_map)};
    for (size_t i = 0; i < cnt; i++) {
        x[i] = (float)(vkd_rng_uniform(&rng) * 2 - 1);
        dy[i] = (float)(vkd_rng_uniform(&rng) * 2 - 1);
    }
    char what[128];
    if (!vkd_test_run_seeded(ctx, g, xi, yi, x, dy, y, dx)) {
        snprintf(what, sizeof(what), "round trip %s %dx%dx%dx%d p%dx%d: values back bit for bit",
                 to_map ? "rows -> map -> rows" : "map -> rows -> map", n, c, h, w, ph, pw);
        vkd_test_check(what, memcmp(x, y, cnt * sizeof(double)) == 0);
        snprintf(what, sizeof(what), "round trip %s: gradient back bit for bit",
                 to_map ? "rows -> map -> rows" : "map -> rows -> map");
        vkd_test_check(what, memcmp(dy, dx, cnt * sizeof(double)) == 0);
    }
    free(x), free(dy), free(y), free(dx);
    vkd_graph_destroy(g);
}

/* The patch-pair Gram through vkd_gram vs dot products of x's blocks (see the top). */
static void patch_gram(struct vkd_context *ctx)
{
    enum { N = 2, C = 3, H = 4, W = 6, PH = 2, PW = 3, GH = H / PH, GW = W / PW };
    enum { R = N * GH * GW, D = C * PH * PW, NX = N * C * H * W };
    struct vkd_graph *g = vkd_graph_create();
    int xi = vkd_graph_input(g, "x", VKD_F32, N, C, H, W);
    vkd_graph_set_requires_grad(g, xi);
    int rows = vkd_patch_to_rows(g, "rows", xi, PH, PW);
    int yi = vkd_gram(g, "q", rows, VKD_GRAM_CHANNEL, 1, 1, 0);
    double x[NX], dx[NX], q[R * R], dq[R * R] = {0}, worst = 0;
    struct vkd_rng rng = {77};
    for (int i = 0; i < NX; i++)
        x[i] = (float)(vkd_rng_uniform(&rng) * 2 - 1);
    if (vkd_test_run_seeded(ctx, g, xi, yi, x, dq, q, dx)) {
        vkd_graph_destroy(g);
        return;
    }
    for (int r1 = 0; r1 < R; r1++)
        for (int r2 = 0; r2 < R; r2++) {
            /* patch r = (s * GH + a) * GW + b: the block at rows a*PH.., columns b*PW.. */
            int s1 = r1 / (GH * GW), a1 = r1 / GW % GH, b1 = r1 % GW;
            int s2 = r2 / (GH * GW), a2 = r2 / GW % GH, b2 = r2 % GW;
            double dot = 0;
            for (int k = 0; k < C; k++)
                for (int i = 0; i < PH; i++)
                    for (int j = 0; j < PW; j++)
                        dot += x[((s1 * C + k) * H + a1 * PH + i) * W + b1 * PW + j] *
                               x[((s2 * C + k) * H + a2 * PH + i) * W + b2 * PW + j];
            worst = fmax(worst, fabs(q[r1 * R + r2] - dot) / (1 + fabs(dot)));
        }
    vkd_test_check("LKD patch-pair Gram via vkd_gram(rows) = block dot products (rel 1e-6)",
                   worst <= 1e-6);
    vkd_graph_destroy(g);
}

static void hand_checks(struct vkd_context *ctx)
{
    hand_check(ctx);
    round_trip(ctx, 0, 3, 5, 6, 4, 3, 2);
    round_trip(ctx, 1, 3, 5, 6, 4, 3, 2);
    round_trip(ctx, 0, 2, 7, 8, 8, 2, 2);
    patch_gram(ctx);
}

int main(int argc, char **argv)
{
    return vkd_test_hand_main(argc, argv, "patch", hand_checks);
}

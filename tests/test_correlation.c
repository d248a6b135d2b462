/*
 * test_correlation.c - the batched Gram over engine/cases/correlation.c (`cpu` finite
 * differences, `gpu` shaders vs reference under both kernel variants), plus:
 *   - hand checks on both executors, x = (1, 2, 1, 2) = [[1, 2], [3, 4]] as F (C = 2, P = 2):
 *       channel G = F F^T = [[5, 11], [11, 25]], rows normalised [5, 11] / sqrt(146) and
 *       [11, 25] / sqrt(746); spatial G = F^T F = [[10, 14], [14, 20]];
 *       backward, raw channel, dy = [[1, 0], [0, 0]]: S = dy + dy^T = [[2, 0], [0, 0]],
 *       dF = S F = [[2, 4], [0, 0]]; raw spatial, dy = [[0, 1], [0, 0]]: S = [[0, 1], [1, 0]],
 *       dF = F S = [[2, 1], [4, 3]];
 *       the eps branch: F = [[0, 0], [3, 4]] normalised, dy = ones: row 0 of G is 0 (y = 0,
 *       norm 0), row 1 is [0, 1]; D row 0 = dy / eps, row 1 = (dy - (dy.y) y) / 25 = [0.04, 0];
 *       dF row 0 = S01 F_1 = (1/eps + 0.04) [3, 4], dF row 1 = S11 F_1 = 0;
 *   - (gpu) determinism: one executor run twice gives the same bits, and the raw Gram is
 *     exactly symmetric;
 *   - (cpu) the eps branch against finite differences: one channel (or pixel) of size 1e-14,
 *     so its row of G has a norm far below eps = 1e-12, differentiated with steps of 1e-6 |x|
 *     (1e-14 on the tiny entries) that keep the row inside the eps ball (the generic check's
 *     steps of 1e-5 would leave it: nrm is discontinuous at 0, so an exact zero row has no
 *     finite-difference gradient at all).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vkd_ops.h"
#include "vkd_rng.h"

/* y = gram(x) and dx for upstream dy, on the reference (ctx NULL) or the device. x is
 * (1, C, 1, P) with grid 1 x 1, so F = x as a C x P matrix. */
static int run(struct vkd_context *ctx, int C, int P, enum vkd_gram_mode mode, int normalize,
               const double *x, const double *dy, double *y, double *dx)
{
    struct vkd_graph *g = vkd_graph_create();
    int xi = vkd_graph_input(g, "x", VKD_F32, 1, C, 1, P);
    vkd_graph_set_requires_grad(g, xi);
    int yi = vkd_gram(g, "gram", xi, mode, 1, 1, normalize);
    int rc = vkd_test_run_seeded(ctx, g, xi, yi, x, dy, y, dx);
    vkd_graph_destroy(g);
    return rc;
}

static void values(struct vkd_context *ctx)
{
    const double x[4] = {1, 2, 3, 4}, zero[4] = {0};
    double y[4], dx[4];
    const double tol = 1e-6;
    if (run(ctx, 2, 2, VKD_GRAM_CHANNEL, 0, x, zero, y, dx))
        return;
    vkd_test_expect("channel G[0][0] = 1*1 + 2*2", y[0], 5, tol);
    vkd_test_expect("channel G[0][1] = G[1][0] = 1*3 + 2*4", y[1], 11, tol);
    vkd_test_expect("channel G[1][0]", y[2], 11, tol);
    vkd_test_expect("channel G[1][1] = 3*3 + 4*4", y[3], 25, tol);
    if (run(ctx, 2, 2, VKD_GRAM_CHANNEL, 1, x, zero, y, dx))
        return;
    vkd_test_expect("normalised channel y[0][0] = 5 / sqrt(146)", y[0], 5 / sqrt(146), tol);
    vkd_test_expect("normalised channel y[0][1] = 11 / sqrt(146)", y[1], 11 / sqrt(146), tol);
    vkd_test_expect("normalised channel y[1][0] = 11 / sqrt(746)", y[2], 11 / sqrt(746), tol);
    vkd_test_expect("normalised channel y[1][1] = 25 / sqrt(746)", y[3], 25 / sqrt(746), tol);
    if (run(ctx, 2, 2, VKD_GRAM_SPATIAL, 0, x, zero, y, dx))
        return;
    vkd_test_expect("spatial G = F^T F: [0][0] = 1*1 + 3*3", y[0], 10, tol);
    vkd_test_expect("spatial G[0][1] = 1*2 + 3*4", y[1], 14, tol);
    vkd_test_expect("spatial G[1][1] = 2*2 + 4*4", y[3], 20, tol);
    if (run(ctx, 2, 2, VKD_GRAM_SPATIAL, 1, x, zero, y, dx))
        return;
    vkd_test_expect("normalised spatial y[0][1] = 14 / sqrt(296)", y[1], 14 / sqrt(296), tol);
    vkd_test_expect("normalised spatial y[1][0] = 14 / sqrt(596)", y[2], 14 / sqrt(596), tol);

    const double dy_c[4] = {1, 0, 0, 0}, dy_s[4] = {0, 1, 0, 0};
    if (run(ctx, 2, 2, VKD_GRAM_CHANNEL, 0, x, dy_c, y, dx))
        return;
    vkd_test_expect("raw channel dF = (dy + dy^T) F: dF[0][0] = 2*1", dx[0], 2, tol);
    vkd_test_expect("raw channel dF[0][1] = 2*2", dx[1], 4, tol);
    vkd_test_expect("raw channel dF[1][0] = 0", dx[2], 0, tol);
    if (run(ctx, 2, 2, VKD_GRAM_SPATIAL, 0, x, dy_s, y, dx))
        return;
    vkd_test_expect("raw spatial dF = F (dy + dy^T): dF[0][0] = 2", dx[0], 2, tol);
    vkd_test_expect("raw spatial dF[0][1] = 1", dx[1], 1, tol);
    vkd_test_expect("raw spatial dF[1][0] = 4", dx[2], 4, tol);
    vkd_test_expect("raw spatial dF[1][1] = 3", dx[3], 3, tol);

    const double xz[4] = {0, 0, 3, 4}, ones[4] = {1, 1, 1, 1};
    if (run(ctx, 2, 2, VKD_GRAM_CHANNEL, 1, xz, ones, y, dx))
        return;
    double inv_eps = 1.0 / (double)VKD_CORR_EPS;
    vkd_test_expect("eps branch: zero row stays 0 (y[0][0])", y[0], 0, 0);
    vkd_test_expect("eps branch: zero row stays 0 (y[0][1])", y[1], 0, 0);
    vkd_test_expect("eps branch: y[1] = [0, 25] / 25, y[1][1]", y[3], 1, tol);
    vkd_test_expect("eps branch: dF[0][0] = 3 (1/eps + 0.04)", dx[0], 3 * (inv_eps + 0.04), tol);
    vkd_test_expect("eps branch: dF[0][1] = 4 (1/eps + 0.04)", dx[1], 4 * (inv_eps + 0.04), tol);
    vkd_test_expect("eps branch: dF[1][0] = 0", dx[2], 0, tol);
}

/* (gpu) Two runs of one recorded executor give the same bits, and the raw Gram is exactly
 * symmetric (off-diagonal tiles are stored twice from one sum): x (3, 67, 8, 6), grid 2 x 1,
 * channel mode (R = 67: two 64-tiles per side) raw, then spatial mode normalised. */
static void determinism(struct vkd_context *ctx, enum vkd_gram_mode mode, int normalize)
{
    const int N = 3, C = 67, H = 8, W = 6;
    struct vkd_graph *g = vkd_graph_create();
    int xi = vkd_graph_input(g, "x", VKD_F32, N, C, H, W);
    vkd_graph_set_requires_grad(g, xi);
    int yi = vkd_gram(g, "gram", xi, mode, 2, 1, normalize);
    const struct vkd_tensor *ty = vkd_graph_tensor_at(g, yi);
    int si = vkd_graph_input(g, "dy", VKD_F32, ty->n, ty->c, ty->h, ty->w);
    vkd_graph_seed(g, yi, si);
    vkd_graph_finalize(g, 0);
    size_t nx = (size_t)N * C * H * W, ny = vkd_tensor_numel(ty);
    size_t R = (size_t)ty->h, nm = ny / (R * R);
    double *x = malloc(nx * sizeof(double)), *dy = malloc(ny * sizeof(double));
    double *y[2] = {malloc(ny * sizeof(double)), malloc(ny * sizeof(double))};
    double *dx[2] = {malloc(nx * sizeof(double)), malloc(nx * sizeof(double))};
    struct vkd_rng rng = {(uint64_t)(17 + mode)};
    for (size_t i = 0; i < nx; i++)
        x[i] = (float)(-1 + 2 * vkd_rng_uniform(&rng));
    for (size_t i = 0; i < ny; i++)
        dy[i] = (float)(-1 + 2 * vkd_rng_uniform(&rng));
    struct vkd_test_exec e;
    int rc = vkd_test_exec_create(&e, ctx, g, VKD_PROG_FORWARD | VKD_PROG_BACKWARD);
    for (int r = 0; r < 2 && !rc; r++)
        rc = vkd_test_exec_write(&e, xi, x) || vkd_test_exec_write(&e, si, dy) ||
             vkd_test_exec_run(&e) || vkd_test_exec_read(&e, yi, y[r]) ||
             vkd_test_exec_read(&e, vkd_graph_tensor_at(g, xi)->grad, dx[r]);
    vkd_test_exec_destroy(&e);
    if (!rc) {
        char what[96];
        snprintf(what, sizeof(what), "%s %s: two runs, same bits (y, dx)",
                 mode == VKD_GRAM_CHANNEL ? "channel" : "spatial", normalize ? "nrm" : "raw");
        vkd_test_expect(what,
                        memcmp(y[0], y[1], ny * sizeof(double)) == 0 &&
                            memcmp(dx[0], dx[1], nx * sizeof(double)) == 0,
                        1, 0);
        if (!normalize) {
            int sym = 1;
            for (size_t m = 0; m < nm; m++)
                for (size_t a = 0; a < R; a++)
                    for (size_t b = 0; b < R; b++)
                        sym &= y[0][(m * R + a) * R + b] == y[0][(m * R + b) * R + a];
            vkd_test_expect("raw G exactly symmetric (mirrored tiles)", sym, 1, 0);
        }
    }
    free(x), free(dy), free(y[0]), free(y[1]), free(dx[0]), free(dx[1]);
    vkd_graph_destroy(g);
}

/* sum(y * dy) for the graph's current x (reference). */
static double objective(struct vkd_ref *e, int yi, int si, size_t ny)
{
    vkd_ref_forward(e);
    const double *y = vkd_ref_data(e, yi), *s = vkd_ref_data(e, si);
    double l = 0;
    for (size_t i = 0; i < ny; i++)
        l += y[i] * s[i];
    return l;
}

/* The eps branch against finite differences (see the top): x (2, C, H, W), grid gh x gw, with
 * channel 0 (channel mode) or pixel 0 (spatial mode) of sample 0 scaled to 1e-14. */
static void eps_fd(enum vkd_gram_mode mode, int C, int H, int W, int gh, int gw)
{
    struct vkd_graph *g = vkd_graph_create();
    int xi = vkd_graph_input(g, "x", VKD_F32, 2, C, H, W);
    vkd_graph_set_requires_grad(g, xi);
    int yi = vkd_gram(g, "gram", xi, mode, (uint32_t)gh, (uint32_t)gw, 1);
    const struct vkd_tensor *ty = vkd_graph_tensor_at(g, yi);
    int si = vkd_graph_input(g, "dy", VKD_F32, ty->n, ty->c, ty->h, ty->w);
    vkd_graph_seed(g, yi, si);
    vkd_graph_finalize(g, 0);
    size_t nx = (size_t)2 * C * H * W, ny = vkd_tensor_numel(ty);
    struct vkd_ref *e = vkd_ref_create(g);
    double *x = vkd_ref_data(e, xi), *s = vkd_ref_data(e, si);
    struct vkd_rng rng = {(uint64_t)(C * 97 + H * 13 + W + (int)mode)};
    for (size_t i = 0; i < nx; i++) {
        int k = (int)(i / ((size_t)H * W)) % C, q = (int)(i % ((size_t)H * W));
        int tiny = i < (size_t)C * H * W && (mode == VKD_GRAM_CHANNEL ? k == 0 : q == 0);
        double v;
        do
            v = -1 + 2 * vkd_rng_uniform(&rng);
        while (fabs(v) < 0.05);
        x[i] = tiny ? 1e-14 * v : v;
    }
    for (size_t i = 0; i < ny; i++)
        s[i] = -1 + 2 * vkd_rng_uniform(&rng);
    vkd_ref_forward(e);
    const double *norms = vkd_ref_data(e, vkd_graph_find(g, "gram.norms"));
    vkd_test_expect("eps FD: the tiny row's norm is below eps (row 0 of matrix 0)",
                    norms[0] < 1e-12, 1, 0);
    vkd_ref_backward(e);
    double *an = malloc(nx * sizeof(double));
    memcpy(an, vkd_ref_data(e, vkd_graph_tensor_at(g, xi)->grad), nx * sizeof(double));
    double amax = 0, worst = 0;
    for (size_t i = 0; i < nx; i++)
        amax = fmax(amax, fabs(an[i]));
    for (size_t i = 0; i < nx; i++) {
        /* 1e-14 on the tiny entries: the row's norm moves by ~1e-14 and stays inside the eps
         * ball, where G's row is linear and G_00 quadratic in them (central differences are
         * exact); a relative step would leave L's change at its rounding level. */
        double x0 = x[i], h = 1e-6 * fmax(fabs(x0), 1e-8);
        x[i] = x0 + h;
        double lp = objective(e, yi, si, ny);
        x[i] = x0 - h;
        double lm = objective(e, yi, si, ny);
        x[i] = x0;
        double fd = (lp - lm) / (2 * h);
        worst = fmax(worst, fabs(fd - an[i]) / (1e-6 * fabs(an[i]) + 1e-9 * amax));
    }
    char what[96];
    snprintf(what, sizeof(what), "eps FD %s 2x%dx%dx%d g%dx%d: max err / tol <= 1",
             mode == VKD_GRAM_CHANNEL ? "chan" : "spat", C, H, W, gh, gw);
    vkd_test_expect(what, worst <= 1, 1, 0);
    printf("     (largest |gradient| %.3g: the eps row's 1/eps scale; worst err/tol %.3g)\n", amax,
           worst);
    free(an);
    vkd_ref_destroy(e);
    vkd_graph_destroy(g);
}

static void hand_checks(struct vkd_context *ctx)
{
    values(ctx);
    if (ctx) {
        determinism(ctx, VKD_GRAM_CHANNEL, 0);
        determinism(ctx, VKD_GRAM_SPATIAL, 1);
    } else {
        eps_fd(VKD_GRAM_CHANNEL, 3, 2, 2, 1, 1);
        eps_fd(VKD_GRAM_CHANNEL, 5, 4, 2, 2, 1);
        eps_fd(VKD_GRAM_SPATIAL, 4, 2, 3, 1, 1);
        eps_fd(VKD_GRAM_SPATIAL, 3, 4, 4, 2, 2);
    }
}

int main(int argc, char **argv)
{
    return vkd_test_hand_main(argc, argv, "correlation", hand_checks);
}

/*
 * test_pool.c - the pooling family over engine/cases/pool.c (`cpu` finite differences, `gpu`
 * shaders vs reference), plus PyTorch's rules checked by hand on both: a 2x2 window with two
 * equal maxima sends its gradient to the first in row-major order; an odd last row and column
 * are ignored (their gradient is 0); global average pooling of a known plane; adaptive average
 * pooling with PyTorch's bins: 5 -> 2 ([0, 3), [2, 5): the middle element in both), 7 -> 3
 * ([0, 3), [2, 5), [4, 7)) and 2 -> 5 ([0, 1), [0, 1), [0, 2), [1, 2), [1, 2)), values worked
 * out by hand from those bins.
 */
#include "testutil.h"
#include "vkd_ops.h"

/* Runs y = pool(x) with seed dy on the reference (ctx NULL) or the device. max: 0 global
 * average, 1 max pooling, oh >= 2 adaptive average pooling to (oh, 1) (w must be 1). */
static int run(struct vkd_context *ctx, int max, int h, int w, const double *x, const double *dy,
               double *y, double *dx)
{
    struct vkd_graph *g = vkd_graph_create();
    int xi = vkd_graph_input(g, "x", VKD_F32, 1, 1, h, w);
    vkd_graph_set_requires_grad(g, xi);
    int yi = max >= 2  ? vkd_adaptive_avgpool(g, "y", xi, max, 1)
             : max > 0 ? vkd_maxpool2x2(g, "y", xi)
                       : vkd_global_avgpool(g, "y", xi);
    int rc = vkd_test_run_seeded(ctx, g, xi, yi, x, dy, y, dx);
    vkd_graph_destroy(g);
    return rc;
}

static void hand_checks(struct vkd_context *ctx)
{
    const double tol = 1e-6; /* |got - want| <= tol (1 + |want|) */
    /* 3x3: window (0,0) holds 5 at (0,1) and (1,0): the first, (0,1), gets dy; row 2 and
     * column 2 are outside every window. */
    double x[9] = {1, 5, 9, 5, 2, 9, 9, 9, 9}, dy[1] = {7}, y[1], dx[9];
    double want_dx[9] = {0, 7, 0, 0, 0, 0, 0, 0, 0}, want_y[1] = {5};
    if (run(ctx, 1, 3, 3, x, dy, y, dx))
        return;
    vkd_test_expect_all("max pool tie: y = 5, gradient to the first maximum, odd row/col ignored",
                        dx, want_dx, 9, tol, tol);
    vkd_test_expect_all("max pool tie: y", y, want_y, 1, tol, tol);
    double a[6] = {1, 2, 3, 4, 5, 6}, ady[1] = {3}, ay[1], adx[6];
    double want_ay[1] = {3.5}, want_adx[6] = {0.5, 0.5, 0.5, 0.5, 0.5, 0.5};
    if (run(ctx, 0, 2, 3, a, ady, ay, adx))
        return;
    vkd_test_expect_all("global average of 1..6 = 3.5", ay, want_ay, 1, tol, tol);
    vkd_test_expect_all("global average backward: dy / 6 everywhere", adx, want_adx, 6, tol, tol);

    /* Adaptive, as columns (h, 1) -> (oh, 1). 5 -> 2: y = [mean(1, 2, 3), mean(3, 4, 5)];
     * dy = [3, 6]: dx = [1, 1, 1 + 2, 2, 2]. */
    double x5[5] = {1, 2, 3, 4, 5}, dy2[2] = {3, 6}, y2[2], dx5[5];
    double want_y2[2] = {2, 4}, want_dx5[5] = {1, 1, 3, 2, 2};
    if (run(ctx, 2, 5, 1, x5, dy2, y2, dx5))
        return;
    vkd_test_expect_all("adaptive 5 -> 2: bins [0, 3), [2, 5)", y2, want_y2, 2, tol, tol);
    vkd_test_expect_all("adaptive 5 -> 2 backward: the shared row gets both bins' dy / 3", dx5,
                        want_dx5, 5, tol, tol);
    /* 7 -> 3 over 0..6: means of [0, 3), [2, 5), [4, 7) = 1, 3, 5; dy = 1: dx = 1/3 each,
     * 2/3 at rows 2 and 4. */
    double x7[7] = {0, 1, 2, 3, 4, 5, 6}, dy3[3] = {1, 1, 1}, y3[3], dx7[7];
    double t = 1.0 / 3, want_y3[3] = {1, 3, 5}, want_dx7[7] = {t, t, 2 * t, t, 2 * t, t, t};
    if (run(ctx, 3, 7, 1, x7, dy3, y3, dx7))
        return;
    vkd_test_expect_all("adaptive 7 -> 3: bins [0, 3), [2, 5), [4, 7)", y3, want_y3, 3, tol, tol);
    vkd_test_expect_all("adaptive 7 -> 3 backward", dx7, want_dx7, 7, tol, tol);
    /* 2 -> 5 (oh > H): bins [0, 1), [0, 1), [0, 2), [1, 2), [1, 2); x = [10, 20]:
     * y = [10, 10, 15, 20, 20]; dy = [1, 2, 4, 8, 16]: dx = [1 + 2 + 4/2, 4/2 + 8 + 16]. */
    double x2[2] = {10, 20}, dy5[5] = {1, 2, 4, 8, 16}, y5[5], dx2[2];
    double want_y5[5] = {10, 10, 15, 20, 20}, want_dx2[2] = {5, 26};
    if (run(ctx, 5, 2, 1, x2, dy5, y5, dx2))
        return;
    vkd_test_expect_all("adaptive 2 -> 5 (oh > H): rows repeat", y5, want_y5, 5, tol, tol);
    vkd_test_expect_all("adaptive 2 -> 5 backward: each row sums the bins that hold it", dx2,
                        want_dx2, 2, tol, tol);
}

int main(int argc, char **argv)
{
    return vkd_test_hand_main(argc, argv, "pool", hand_checks);
}

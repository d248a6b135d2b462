/*
 * test_softmax.c - the row softmax over engine/cases/softmax.c (`cpu` finite differences, `gpu`
 * shaders vs reference under both kernel variants), plus hand checks on both executors:
 *   x = [0, ln(3) / 2], scale 2: y = softmax([0, ln 3]) = [1/4, 3/4];
 *   backward, dy = [1, 0]: dot = dy . y = 1/4, dx = 2 y (dy - dot) = 2 [1/4 * 3/4, 3/4 * -1/4]
 *   = [3/8, -3/8];
 *   x = [1000, 0] (an exp that overflows without the maximum subtracted): y = [1, 0] exactly
 *   in fp32, dx = 0 for any dy.
 */
#include <math.h>

#include "testutil.h"
#include "vkd_ops.h"

/* y = softmax(scale * x) over one row of 2 and dx for upstream dy, on the reference (ctx NULL)
 * or the device. */
static int run(struct vkd_context *ctx, const double *x, double scale, const double *dy, double *y,
               double *dx)
{
    struct vkd_graph *g = vkd_graph_create();
    int xi = vkd_graph_input(g, "x", VKD_F32, 1, 1, 1, 2);
    vkd_graph_set_requires_grad(g, xi);
    int yi = vkd_row_softmax(g, "softmax", xi, 2, (float)scale);
    int rc = vkd_test_run_seeded(ctx, g, xi, yi, x, dy, y, dx);
    vkd_graph_destroy(g);
    return rc;
}

static void hand_checks(struct vkd_context *ctx)
{
    /* fp32 ln(3)/2: the reference sees the same rounded input, so y is 1/4, 3/4 to ~1e-7 */
    const double x[2] = {0, (float)(log(3.0) / 2)}, dy[2] = {1, 0};
    const double big[2] = {1000, 0}, dy2[2] = {0.5, -2};
    double y[2], dx[2];
    const double tol = 1e-6;
    if (run(ctx, x, 2, dy, y, dx))
        return;
    vkd_test_expect("y = softmax(2 * [0, ln(3)/2]) = [1/4, 3/4]: y[0]", y[0], 0.25, tol);
    vkd_test_expect("y[1] = 3/4", y[1], 0.75, tol);
    vkd_test_expect("dx = 2 y (dy - y . dy), dy = [1, 0]: dx[0] = 3/8", dx[0], 0.375, tol);
    vkd_test_expect("dx[1] = -3/8", dx[1], -0.375, tol);
    if (run(ctx, big, 1, dy2, y, dx))
        return;
    vkd_test_expect("x = [1000, 0]: no overflow, y[0] = 1", y[0], 1, 0);
    vkd_test_expect("y[1] = exp(-1000) = 0", y[1], 0, 0);
    vkd_test_expect("dx[0] = 0", dx[0], 0, 0);
    vkd_test_expect("dx[1] = 0", dx[1], 0, 0);
}

int main(int argc, char **argv)
{
    return vkd_test_hand_main(argc, argv, "softmax", hand_checks);
}

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
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "vkd_ops.h"

static int failures;

static void expect(const char *what, double got, double want, double tol)
{
    int ok = fabs(got - want) <= tol * (1 + fabs(want));
    printf("%-4s hand %-58s got %.9g want %.9g\n", ok ? "ok" : "FAIL", what, got, want);
    failures += !ok;
}

/* y = softmax(scale * x) over one row of 2 and dx for upstream dy, on the reference (ctx NULL)
 * or the device. */
static int run(struct vkd_context *ctx, const double *x, double scale, const double *dy, double *y,
               double *dx)
{
    struct vkd_graph *g = vkd_graph_create();
    int xi = vkd_graph_input(g, "x", VKD_F32, 1, 1, 1, 2);
    vkd_graph_set_requires_grad(g, xi);
    int yi = vkd_row_softmax(g, "softmax", xi, 2, (float)scale);
    int si = vkd_graph_input(g, "dy", VKD_F32, 1, 1, 1, 2);
    vkd_graph_seed(g, yi, si);
    vkd_graph_finalize(g, 0);
    int gx = vkd_graph_tensor_at(g, xi)->grad, rc = 0;
    if (!ctx) {
        struct vkd_ref *e = vkd_ref_create(g);
        memcpy(vkd_ref_data(e, xi), x, 2 * sizeof(double));
        memcpy(vkd_ref_data(e, si), dy, 2 * sizeof(double));
        vkd_ref_forward(e);
        vkd_ref_backward(e);
        memcpy(y, vkd_ref_data(e, yi), 2 * sizeof(double));
        memcpy(dx, vkd_ref_data(e, gx), 2 * sizeof(double));
        vkd_ref_destroy(e);
    } else {
        struct vkd_vk *e;
        struct vkd_vk_desc d = {VKD_PROG_FORWARD | VKD_PROG_BACKWARD, 0};
        rc = vkd_vk_create(ctx, g, &d, &e) != VKD_OK || vkd_vk_write(e, xi, x) != VKD_OK ||
             vkd_vk_write(e, si, dy) != VKD_OK || vkd_vk_run(e) != VKD_OK ||
             vkd_vk_read(e, yi, y) != VKD_OK || vkd_vk_read(e, gx, dx) != VKD_OK;
        if (!rc)
            vkd_vk_destroy(e);
        else
            printf("FAIL: device: %s\n", vkd_context_error(ctx));
    }
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
    if (run(ctx, x, 2, dy, y, dx)) {
        failures++;
        return;
    }
    expect("y = softmax(2 * [0, ln(3)/2]) = [1/4, 3/4]: y[0]", y[0], 0.25, tol);
    expect("y[1] = 3/4", y[1], 0.75, tol);
    expect("dx = 2 y (dy - y . dy), dy = [1, 0]: dx[0] = 3/8", dx[0], 0.375, tol);
    expect("dx[1] = -3/8", dx[1], -0.375, tol);
    if (run(ctx, big, 1, dy2, y, dx)) {
        failures++;
        return;
    }
    expect("x = [1000, 0]: no overflow, y[0] = 1", y[0], 1, 0);
    expect("y[1] = exp(-1000) = 0", y[1], 0, 0);
    expect("dx[0] = 0", dx[0], 0, 0);
    expect("dx[1] = 0", dx[1], 0, 0);
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "cpu") == 0 || strcmp(argv[1], "gpu") == 0)) {
        struct vkd_context *ctx = strcmp(argv[1], "gpu") == 0 ? vkd_test_context() : NULL;
        hand_checks(ctx);
        if (ctx)
            failures += vkd_test_context_done(ctx);
    }
    int rc = vkd_test_family_main(argc, argv, "softmax");
    if (failures)
        printf("FAIL: %d hand check(s)\n", failures);
    return rc ? rc : failures ? 1 : 0;
}

/*
 * test_pool.c - the pooling family over engine/cases/pool.c (`cpu` finite differences, `gpu`
 * shaders vs reference), plus PyTorch's rules checked by hand on both: a 2x2 window with two
 * equal maxima sends its gradient to the first in row-major order; an odd last row and column
 * are ignored (their gradient is 0); global average pooling of a known plane.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "vkd_ops.h"

static int failures;

static void expect(const char *what, const double *got, const double *want, int n)
{
    int ok = 1;
    for (int i = 0; i < n; i++)
        ok &= fabs(got[i] - want[i]) <= 1e-6 * (1 + fabs(want[i]));
    printf("%-4s hand %s\n", ok ? "ok" : "FAIL", what);
    failures += !ok;
}

/* Runs y = pool(x) with seed dy on the reference (ctx NULL) or the device. */
static int run(struct vkd_context *ctx, int max, int h, int w, const double *x, const double *dy,
               double *y, double *dx)
{
    struct vkd_graph *g = vkd_graph_create();
    int xi = vkd_graph_input(g, "x", VKD_F32, 1, 1, h, w);
    vkd_graph_set_requires_grad(g, xi);
    int yi = max ? vkd_maxpool2x2(g, "y", xi) : vkd_global_avgpool(g, "y", xi);
    const struct vkd_tensor *yt = vkd_graph_tensor_at(g, yi);
    int si = vkd_graph_input(g, "dy", VKD_F32, 1, 1, yt->h, yt->w);
    vkd_graph_seed(g, yi, si);
    vkd_graph_finalize(g, 0);
    int rc = 0;
    if (!ctx) {
        struct vkd_ref *e = vkd_ref_create(g);
        memcpy(vkd_ref_data(e, xi), x, sizeof(double) * (size_t)(h * w));
        memcpy(vkd_ref_data(e, si), dy, sizeof(double) * vkd_tensor_numel(yt));
        vkd_ref_forward(e);
        vkd_ref_backward(e);
        memcpy(y, vkd_ref_data(e, yi), sizeof(double) * vkd_tensor_numel(yt));
        memcpy(dx, vkd_ref_data(e, vkd_graph_tensor_at(g, xi)->grad), sizeof(double) * (size_t)(h * w));
        vkd_ref_destroy(e);
    } else {
        struct vkd_vk *e;
        struct vkd_vk_desc d = {VKD_PROG_FORWARD | VKD_PROG_BACKWARD, 0};
        rc = vkd_vk_create(ctx, g, &d, &e) != VKD_OK || vkd_vk_write(e, xi, x) != VKD_OK ||
             vkd_vk_write(e, si, dy) != VKD_OK || vkd_vk_run(e) != VKD_OK ||
             vkd_vk_read(e, yi, y) != VKD_OK ||
             vkd_vk_read(e, vkd_graph_tensor_at(g, xi)->grad, dx) != VKD_OK;
        if (!rc)
            vkd_vk_destroy(e);
    }
    vkd_graph_destroy(g);
    return rc;
}

static void hand_checks(struct vkd_context *ctx)
{
    /* 3x3: window (0,0) holds 5 at (0,1) and (1,0): the first, (0,1), gets dy; row 2 and
     * column 2 are outside every window. */
    double x[9] = {1, 5, 9, 5, 2, 9, 9, 9, 9}, dy[1] = {7}, y[1], dx[9];
    double want_dx[9] = {0, 7, 0, 0, 0, 0, 0, 0, 0}, want_y[1] = {5};
    if (run(ctx, 1, 3, 3, x, dy, y, dx)) {
        printf("FAIL hand max pool: %s\n", ctx ? vkd_context_error(ctx) : "?");
        failures++;
        return;
    }
    expect("max pool tie: y = 5, gradient to the first maximum, odd row/col ignored", dx,
           want_dx, 9);
    expect("max pool tie: y", y, want_y, 1);
    double a[6] = {1, 2, 3, 4, 5, 6}, ady[1] = {3}, ay[1], adx[6];
    double want_ay[1] = {3.5}, want_adx[6] = {0.5, 0.5, 0.5, 0.5, 0.5, 0.5};
    if (run(ctx, 0, 2, 3, a, ady, ay, adx)) {
        failures++;
        return;
    }
    expect("global average of 1..6 = 3.5", ay, want_ay, 1);
    expect("global average backward: dy / 6 everywhere", adx, want_adx, 6);
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "cpu") == 0 || strcmp(argv[1], "gpu") == 0)) {
        struct vkd_context *ctx = strcmp(argv[1], "gpu") == 0 ? vkd_test_context() : NULL;
        hand_checks(ctx);
        if (ctx)
            failures += vkd_test_context_done(ctx);
    }
    int rc = vkd_test_family_main(argc, argv, "pool");
    if (failures)
        printf("FAIL: %d hand check(s)\n", failures);
    return rc ? rc : failures ? 1 : 0;
}

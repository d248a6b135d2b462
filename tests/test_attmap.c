/*
 * test_attmap.c - the attention map over engine/cases/attmap.c (`cpu` finite differences, `gpu`
 * shaders vs reference under both kernel variants), plus hand checks on both executors for one
 * sample of two channels and two positions, x = [[1, 2], [3, 0]] (channel-major):
 *   a = [(1 + 9) / 2, (4 + 0) / 2] = [5, 2];  ||a|| = sqrt(29);  A = [5, 2] / sqrt(29).
 * The loss L = 0.5 * sum w A^2 with w = [1, 0] (sqdiff against 0) gives dA = [A0, 0]; then
 *   dot = dA . A = A0^2;  da = (dA - dot A) / sqrt(29) = A0 [1 - A0^2, -A0 A1] / sqrt(29)
 *      = (5/29) [4/29, -10/29] ... = [20, -50] / 29^2;  dx = da * (2/C) x = da * x
 *      = [[20, -100], [60, 0]] / 29^2;
 * and the eps branch: an all-zero sample gives A = 0 and dx = 0, not NaN.
 */
#include <math.h>

#include "testutil.h"
#include "vkd_ops.h"

/* A (2 values) and dx (4 values) of one 1x2x1x2 sample x; on the reference when ctx is NULL. */
static int run(struct vkd_context *ctx, const double *x, double *a, double *dx)
{
    static const double w[2] = {1, 0}, zero[2] = {0, 0};
    struct vkd_graph *g = vkd_graph_create();
    int xi = vkd_graph_input(g, "x", VKD_F32, 1, 2, 1, 2);
    int wi = vkd_graph_input(g, "w", VKD_F32, 1, 1, 1, 2);
    int zi = vkd_graph_input(g, "zero", VKD_F32, 1, 1, 1, 2);
    vkd_graph_set_requires_grad(g, xi);
    int am = vkd_attention_map(g, "am", xi, 1);
    vkd_graph_loss(g, vkd_sqdiff(g, "l", am, zi, wi, 0.5f), -1);
    vkd_graph_finalize(g, 0);
    const struct vkd_test_in in[] = {{xi, x}, {wi, w}, {zi, zero}};
    const struct vkd_test_out out[] = {{am, a}, {vkd_graph_tensor_at(g, xi)->grad, dx}};
    int rc = vkd_test_run_graph(ctx, g, in, 3, out, 2);
    vkd_graph_destroy(g);
    return rc;
}

static void hand_checks(struct vkd_context *ctx)
{
    const double x[4] = {1, 2, 3, 0}, z[4] = {0, 0, 0, 0};
    const double tol = 1e-6;
    double a[2], dx[4], r = sqrt(29.0);
    if (run(ctx, x, a, dx))
        return;
    vkd_test_expect("A[0] = 5 / sqrt(29)", a[0], 5 / r, tol);
    vkd_test_expect("A[1] = 2 / sqrt(29)", a[1], 2 / r, tol);
    vkd_test_expect("dx[0][0] = 20 / 29^2", dx[0], 20 / 841.0, tol);
    vkd_test_expect("dx[0][1] = -100 / 29^2", dx[1], -100 / 841.0, tol);
    vkd_test_expect("dx[1][0] = 60 / 29^2", dx[2], 60 / 841.0, tol);
    vkd_test_expect("dx[1][1] = 0", dx[3], 0, tol);
    if (run(ctx, z, a, dx))
        return;
    vkd_test_expect("all-zero sample (eps branch): A[0] = 0", a[0], 0, tol);
    vkd_test_expect("all-zero sample (eps branch): dx[0][0] = 0", dx[0], 0, tol);
}

int main(int argc, char **argv)
{
    return vkd_test_hand_main(argc, argv, "attmap", hand_checks);
}

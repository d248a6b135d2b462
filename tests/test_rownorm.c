/*
 * test_rownorm.c - the row L2 normalisation over engine/cases/rownorm.c (`cpu` finite
 * differences, `gpu` shaders vs reference under both kernel variants), plus hand checks on both
 * executors for two rows of two, x = [[3, 4], [0, 0]]:
 *   row 0: r = 5, y = [3/5, 4/5]; with dy = [1, 0]: dot = dy . y = 3/5,
 *          dx = (dy - dot y) / r = ([1, 0] - 3/5 [3/5, 4/5]) / 5 = [16/125, -12/125];
 *   row 1 (all zero, the eps branch): y = [0, 0]; with dy = [2, -1]: dx = dy / 1e-12
 *          = [2e12, -1e12] (F.normalize's autograd, fp32's eps as the shaders use it).
 */
#include <math.h>
#include <stdio.h>

#include "testutil.h"
#include "vkd_ops.h"

/* y and dx (4 values each) of x (4 values, rows of len) for upstream dy; on the reference
 * when ctx is NULL. */
static int run(struct vkd_context *ctx, const double *x, int len, const double *dy, double *y,
               double *dx)
{
    struct vkd_graph *g = vkd_graph_create();
    int xi = vkd_graph_input(g, "x", VKD_F32, 1, 1, 2, 2);
    vkd_graph_set_requires_grad(g, xi);
    int yi = vkd_row_normalize(g, "rn", xi, len);
    int rc = vkd_test_run_seeded(ctx, g, xi, yi, x, dy, y, dx);
    vkd_graph_destroy(g);
    return rc;
}

static void hand_checks(struct vkd_context *ctx)
{
    const double x[4] = {3, 4, 0, 0}, dy[4] = {1, 0, 2, -1};
    const double eps = (float)1e-12; /* VKD_ROWNORM_EPS, an fp32 constant on both sides */
    const double tol = 1e-6;
    double y[4], dx[4];
    if (run(ctx, x, 2, dy, y, dx))
        return;
    vkd_test_expect("y[0] = [3, 4] / 5: y[0][0] = 3/5", y[0], 0.6, tol);
    vkd_test_expect("y[0][1] = 4/5", y[1], 0.8, tol);
    vkd_test_expect("dx[0][0] = 16/125", dx[0], 16 / 125.0, tol);
    vkd_test_expect("dx[0][1] = -12/125", dx[1], -12 / 125.0, tol);
    vkd_test_expect("all-zero row (eps branch): y[1][0] = 0", y[2], 0, tol);
    vkd_test_expect("y[1][1] = 0", y[3], 0, tol);
    vkd_test_expect("dx[1][0] = 2 / eps", dx[2], 2 / eps, tol);
    vkd_test_expect("dx[1][1] = -1 / eps", dx[3], -1 / eps, tol);
    /* rows of one: y = sign(x), and dx = (dy - dy y y) / r is 0 in exact arithmetic, but in
     * fp32 y = x * (1 / r) is +-1 only to a few ulp (sqrt and the reciprocal are not exact on
     * every device: 3 + 2.5 + 0.5 ulp at most), so dy (1 - y^2) / r leaves up to 2 * 6 u |dy| / r.
     * A relative tolerance around an exact 0 cannot express that: it is checked here, with
     * 16 u |dy| / r, instead of among the random cases. */
    if (run(ctx, x, 1, dy, y, dx))
        return;
    const double u = ldexp(1.0, -24);
    vkd_test_expect("rows of one: y[0] = sign(3) = 1", y[0], 1, tol);
    vkd_test_expect("y[1] = sign(4) = 1", y[1], 1, tol);
    int ok =
        fabs(dx[0]) <= 16 * u * fabs(dy[0]) / x[0] && fabs(dx[1]) <= 16 * u * fabs(dy[1]) / x[1];
    char what[96];
    snprintf(what, sizeof(what), "hand rows of one: |dx| <= 16 u |dy| / r (dx = %.3g, %.3g)", dx[0],
             dx[1]);
    vkd_test_check(what, ok);
}

int main(int argc, char **argv)
{
    return vkd_test_hand_main(argc, argv, "rownorm", hand_checks);
}

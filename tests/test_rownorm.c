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
#include <string.h>

#include "testutil.h"
#include "vkd_ops.h"

static int failures;

static void expect(const char *what, double got, double want)
{
    int ok = fabs(got - want) <= 1e-6 * (1 + fabs(want));
    printf("%-4s hand %-52s got %.9g want %.9g\n", ok ? "ok" : "FAIL", what, got, want);
    failures += !ok;
}

/* y and dx (4 values each) of x (4 values, rows of len) for upstream dy; on the reference
 * when ctx is NULL. */
static int run(struct vkd_context *ctx, const double *x, int len, const double *dy, double *y,
               double *dx)
{
    struct vkd_graph *g = vkd_graph_create();
    int xi = vkd_graph_input(g, "x", VKD_F32, 1, 1, 2, 2);
    vkd_graph_set_requires_grad(g, xi);
    int yi = vkd_row_normalize(g, "rn", xi, len);
    int si = vkd_graph_input(g, "dy", VKD_F32, 1, 1, 2, 2);
    vkd_graph_seed(g, yi, si);
    vkd_graph_finalize(g, 0);
    int gx = vkd_graph_tensor_at(g, xi)->grad, rc = 0;
    if (!ctx) {
        struct vkd_ref *e = vkd_ref_create(g);
        memcpy(vkd_ref_data(e, xi), x, 4 * sizeof(double));
        memcpy(vkd_ref_data(e, si), dy, 4 * sizeof(double));
        vkd_ref_forward(e);
        vkd_ref_backward(e);
        memcpy(y, vkd_ref_data(e, yi), 4 * sizeof(double));
        memcpy(dx, vkd_ref_data(e, gx), 4 * sizeof(double));
        vkd_ref_destroy(e);
    } else {
        struct vkd_vk *e = NULL;
        struct vkd_vk_desc d = {VKD_PROG_FORWARD | VKD_PROG_BACKWARD, 0};
        rc = vkd_vk_create(ctx, g, &d, &e) != VKD_OK || vkd_vk_write(e, xi, x) != VKD_OK ||
             vkd_vk_write(e, si, dy) != VKD_OK || vkd_vk_run(e) != VKD_OK ||
             vkd_vk_read(e, yi, y) != VKD_OK || vkd_vk_read(e, gx, dx) != VKD_OK;
        if (rc)
            printf("FAIL: device: %s\n", vkd_context_error(ctx));
        vkd_vk_destroy(e);
    }
    vkd_graph_destroy(g);
    return rc;
}

static void hand_checks(struct vkd_context *ctx)
{
    const double x[4] = {3, 4, 0, 0}, dy[4] = {1, 0, 2, -1};
    const double eps = (float)1e-12; /* VKD_ROWNORM_EPS, an fp32 constant on both sides */
    double y[4], dx[4];
    if (run(ctx, x, 2, dy, y, dx)) {
        failures++;
        return;
    }
    expect("y[0] = [3, 4] / 5: y[0][0] = 3/5", y[0], 0.6);
    expect("y[0][1] = 4/5", y[1], 0.8);
    expect("dx[0][0] = 16/125", dx[0], 16 / 125.0);
    expect("dx[0][1] = -12/125", dx[1], -12 / 125.0);
    expect("all-zero row (eps branch): y[1][0] = 0", y[2], 0);
    expect("y[1][1] = 0", y[3], 0);
    expect("dx[1][0] = 2 / eps", dx[2], 2 / eps);
    expect("dx[1][1] = -1 / eps", dx[3], -1 / eps);
    /* rows of one: y = sign(x), and dx = (dy - dy y y) / r is 0 in exact arithmetic, but in
     * fp32 y = x * (1 / r) is +-1 only to a few ulp (sqrt and the reciprocal are not exact on
     * every device: 3 + 2.5 + 0.5 ulp at most), so dy (1 - y^2) / r leaves up to 2 * 6 u |dy| / r.
     * A relative tolerance around an exact 0 cannot express that: it is checked here, with
     * 16 u |dy| / r, instead of among the random cases. */
    if (run(ctx, x, 1, dy, y, dx)) {
        failures++;
        return;
    }
    const double u = ldexp(1.0, -24);
    expect("rows of one: y[0] = sign(3) = 1", y[0], 1);
    expect("y[1] = sign(4) = 1", y[1], 1);
    int ok = fabs(dx[0]) <= 16 * u * fabs(dy[0]) / x[0] &&
             fabs(dx[1]) <= 16 * u * fabs(dy[1]) / x[1];
    printf("%-4s hand rows of one: |dx| <= 16 u |dy| / r (dx = %.3g, %.3g)\n", ok ? "ok" : "FAIL",
           dx[0], dx[1]);
    failures += !ok;
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "cpu") == 0 || strcmp(argv[1], "gpu") == 0)) {
        struct vkd_context *ctx = strcmp(argv[1], "gpu") == 0 ? vkd_test_context() : NULL;
        hand_checks(ctx);
        if (ctx)
            failures += vkd_test_context_done(ctx);
    }
    int rc = vkd_test_family_main(argc, argv, "rownorm");
    if (failures)
        printf("FAIL: %d hand check(s)\n", failures);
    return rc ? rc : failures ? 1 : 0;
}

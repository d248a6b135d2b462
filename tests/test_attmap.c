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
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "vkd_ops.h"

static int failures;

static void expect(const char *what, double got, double want)
{
    int ok = fabs(got - want) <= 1e-6 * (1 + fabs(want));
    printf("%-4s hand %-44s got %.9g want %.9g\n", ok ? "ok" : "FAIL", what, got, want);
    failures += !ok;
}

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
    int gx = vkd_graph_tensor_at(g, xi)->grad, rc = 0;
    if (!ctx) {
        struct vkd_ref *e = vkd_ref_create(g);
        memcpy(vkd_ref_data(e, xi), x, 4 * sizeof(double));
        memcpy(vkd_ref_data(e, wi), w, sizeof(w));
        memcpy(vkd_ref_data(e, zi), zero, sizeof(zero));
        vkd_ref_forward(e);
        vkd_ref_backward(e);
        memcpy(a, vkd_ref_data(e, am), 2 * sizeof(double));
        memcpy(dx, vkd_ref_data(e, gx), 4 * sizeof(double));
        vkd_ref_destroy(e);
    } else {
        struct vkd_vk *e = NULL;
        struct vkd_vk_desc d = {VKD_PROG_FORWARD | VKD_PROG_BACKWARD, 0};
        rc = vkd_vk_create(ctx, g, &d, &e) != VKD_OK || vkd_vk_write(e, xi, x) != VKD_OK ||
             vkd_vk_write(e, wi, w) != VKD_OK || vkd_vk_write(e, zi, zero) != VKD_OK ||
             vkd_vk_run(e) != VKD_OK || vkd_vk_read(e, am, a) != VKD_OK ||
             vkd_vk_read(e, gx, dx) != VKD_OK;
        if (rc)
            printf("FAIL: device: %s\n", vkd_context_error(ctx));
        vkd_vk_destroy(e);
    }
    vkd_graph_destroy(g);
    return rc;
}

static void hand_checks(struct vkd_context *ctx)
{
    const double x[4] = {1, 2, 3, 0}, z[4] = {0, 0, 0, 0};
    double a[2], dx[4], r = sqrt(29.0);
    if (run(ctx, x, a, dx)) {
        failures++;
        return;
    }
    expect("A[0] = 5 / sqrt(29)", a[0], 5 / r);
    expect("A[1] = 2 / sqrt(29)", a[1], 2 / r);
    expect("dx[0][0] = 20 / 29^2", dx[0], 20 / 841.0);
    expect("dx[0][1] = -100 / 29^2", dx[1], -100 / 841.0);
    expect("dx[1][0] = 60 / 29^2", dx[2], 60 / 841.0);
    expect("dx[1][1] = 0", dx[3], 0);
    if (run(ctx, z, a, dx)) {
        failures++;
        return;
    }
    expect("all-zero sample (eps branch): A[0] = 0", a[0], 0);
    expect("all-zero sample (eps branch): dx[0][0] = 0", dx[0], 0);
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "cpu") == 0 || strcmp(argv[1], "gpu") == 0)) {
        struct vkd_context *ctx = strcmp(argv[1], "gpu") == 0 ? vkd_test_context() : NULL;
        hand_checks(ctx);
        if (ctx)
            failures += vkd_test_context_done(ctx);
    }
    int rc = vkd_test_family_main(argc, argv, "attmap");
    if (failures)
        printf("FAIL: %d hand check(s)\n", failures);
    return rc ? rc : failures ? 1 : 0;
}

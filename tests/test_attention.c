/*
 * test_attention.c - SAKD's self-attention over engine/cases/attention.c (`cpu` finite
 * differences, `gpu` shaders vs reference under both kernel variants), plus on both executors:
 *   - hand checks, x = (1, 1, 1, 2) = [1, 2] (C = 1, so s = 1; P = 2):
 *       Z = X^T X = [[1, 2], [2, 4]],  A row 0 = softmax([1, 2]) = [1, e] / (1 + e),
 *       row 1 = softmax([2, 4]) = [1, e^2] / (1 + e^2);
 *       backward, dA = [[1, 0], [0, 0]]: L = A00 = 1 / (1 + e^(x0 x1 - x0^2)), so
 *       dx0 = -A00 A01 (x1 - 2 x0) = 0 and dx1 = -A00 A01 x0 = -e / (1 + e)^2;
 *       dA = [[0, 0], [1, 0]]: L = A10 = 1 / (1 + e^(x1^2 - x0 x1)), r = A10 A11
 *       = e^2 / (1 + e^2)^2, dx0 = r x1 = 2 r, dx1 = r (x0 - 2 x1) = -3 r;
 *       and C = 4 (s = 1/2): x = (1, 4, 1, 2) with channels [1, 0], [1, 0], [1, 0], [1, 1]:
 *       Z = [[4, 1], [1, 1]], A row 0 = softmax([2, 1/2]), row 1 = softmax([1/2, 1/2]) = 1/2;
 *   - the fused op against its definition composed from two validated ops, on a 2 x 5 x 3 x 4
 *     input: vkd_gram(x, spatial, raw) then vkd_row_softmax(len P, scale fl32(1/sqrt(5))); A
 *     and dx agree to 1e-5 relative to their rms (different fp32 summation orders in the
 *     backward; the forward runs the very same kernels).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vkd_ops.h"
#include "vkd_rng.h"

static int failures;

static void expect(const char *what, double got, double want, double tol)
{
    int ok = fabs(got - want) <= tol * (1 + fabs(want));
    printf("%-4s hand %-60s got %.9g want %.9g\n", ok ? "ok" : "FAIL", what, got, want);
    failures += !ok;
}

/* Runs g forward and backward with x's values and y's upstream gradient dy; reads y and dx. */
static int run(struct vkd_context *ctx, struct vkd_graph *g, int xi, int yi, int si,
               const double *x, const double *dy, double *y, double *dx)
{
    int gx = vkd_graph_tensor_at(g, xi)->grad;
    size_t nx = vkd_tensor_numel(vkd_graph_tensor_at(g, xi));
    size_t ny = vkd_tensor_numel(vkd_graph_tensor_at(g, yi));
    if (!ctx) {
        struct vkd_ref *e = vkd_ref_create(g);
        memcpy(vkd_ref_data(e, xi), x, nx * sizeof(double));
        memcpy(vkd_ref_data(e, si), dy, ny * sizeof(double));
        vkd_ref_forward(e);
        vkd_ref_backward(e);
        memcpy(y, vkd_ref_data(e, yi), ny * sizeof(double));
        memcpy(dx, vkd_ref_data(e, gx), nx * sizeof(double));
        vkd_ref_destroy(e);
        return 0;
    }
    struct vkd_vk *e;
    struct vkd_vk_desc d = {VKD_PROG_FORWARD | VKD_PROG_BACKWARD, 0};
    int rc = vkd_vk_create(ctx, g, &d, &e) != VKD_OK || vkd_vk_write(e, xi, x) != VKD_OK ||
             vkd_vk_write(e, si, dy) != VKD_OK || vkd_vk_run(e) != VKD_OK ||
             vkd_vk_read(e, yi, y) != VKD_OK || vkd_vk_read(e, gx, dx) != VKD_OK;
    if (!rc)
        vkd_vk_destroy(e);
    else
        printf("FAIL: device: %s\n", vkd_context_error(ctx));
    return rc;
}

/* A = self_attention(x) for x (1, C, 1, 2) and dx for upstream da. */
static int attn(struct vkd_context *ctx, int C, const double *x, const double *da, double *a,
                double *dx)
{
    struct vkd_graph *g = vkd_graph_create();
    int xi = vkd_graph_input(g, "x", VKD_F32, 1, C, 1, 2);
    vkd_graph_set_requires_grad(g, xi);
    int yi = vkd_self_attention(g, "attn", xi);
    int si = vkd_graph_input(g, "da", VKD_F32, 1, 1, 2, 2);
    vkd_graph_seed(g, yi, si);
    vkd_graph_finalize(g, 0);
    int rc = run(ctx, g, xi, yi, si, x, da, a, dx);
    vkd_graph_destroy(g);
    return rc;
}

static void hand_checks(struct vkd_context *ctx)
{
    const double x[2] = {1, 2}, da0[4] = {1, 0, 0, 0}, da1[4] = {0, 0, 1, 0};
    const double e = exp(1.0), e2 = exp(2.0), tol = 1e-6;
    double a[4], dx[8];
    if (attn(ctx, 1, x, da0, a, dx)) {
        failures++;
        return;
    }
    expect("A[0][0] = 1 / (1 + e)", a[0], 1 / (1 + e), tol);
    expect("A[0][1] = e / (1 + e)", a[1], e / (1 + e), tol);
    expect("A[1][0] = 1 / (1 + e^2)", a[2], 1 / (1 + e2), tol);
    expect("A[1][1] = e^2 / (1 + e^2)", a[3], e2 / (1 + e2), tol);
    expect("dA = [[1, 0], [0, 0]]: dx0 = 0", dx[0], 0, tol);
    expect("dx1 = -e / (1 + e)^2", dx[1], -e / ((1 + e) * (1 + e)), tol);
    if (attn(ctx, 1, x, da1, a, dx)) {
        failures++;
        return;
    }
    double r = e2 / ((1 + e2) * (1 + e2));
    expect("dA = [[0, 0], [1, 0]]: dx0 = 2 e^2 / (1 + e^2)^2", dx[0], 2 * r, tol);
    expect("dx1 = -3 e^2 / (1 + e^2)^2", dx[1], -3 * r, tol);

    /* C = 4: s = 1/2; X columns (pixels) [1, 1, 1, 1] and [0, 0, 0, 1] */
    const double x4[8] = {1, 0, 1, 0, 1, 0, 1, 1};
    if (attn(ctx, 4, x4, da0, a, dx)) {
        failures++;
        return;
    }
    double e15 = exp(1.5);
    expect("C = 4: A[0][0] = softmax([4, 1] / 2)_0 = e^1.5 / (1 + e^1.5)", a[0], e15 / (1 + e15),
           tol);
    expect("C = 4: A[0][1] = 1 / (1 + e^1.5)", a[1], 1 / (1 + e15), tol);
    expect("C = 4: A[1][0] = softmax([1, 1] / 2)_0 = 1/2", a[2], 0.5, tol);
    expect("C = 4: A[1][1] = 1/2", a[3], 0.5, tol);
}

/* The fused op vs vkd_gram + vkd_row_softmax (see the top). */
static void composed(struct vkd_context *ctx)
{
    enum { N = 2, C = 5, H = 3, W = 4, P = H * W, NX = N * C * H * W, NA = N * P * P };
    double x[NX], da[NA], a1[NA], a2[NA], dx1[NX], dx2[NX];
    struct vkd_rng rng = {2024};
    for (int i = 0; i < NX; i++)
        x[i] = (float)(vkd_rng_uniform(&rng) * 2 - 1);
    for (int i = 0; i < NA; i++)
        da[i] = (float)(vkd_rng_uniform(&rng) * 2 - 1);
    for (int k = 0; k < 2; k++) {
        struct vkd_graph *g = vkd_graph_create();
        int xi = vkd_graph_input(g, "x", VKD_F32, N, C, H, W);
        vkd_graph_set_requires_grad(g, xi);
        int yi = k == 0
                     ? vkd_self_attention(g, "attn", xi)
                     : vkd_row_softmax(g, "attn", vkd_gram(g, "z", xi, VKD_GRAM_SPATIAL, 1, 1, 0),
                                       P, (float)(1 / sqrt(C)));
        int si = vkd_graph_input(g, "da", VKD_F32, N, 1, P, P);
        vkd_graph_seed(g, yi, si);
        vkd_graph_finalize(g, 0);
        if (run(ctx, g, xi, yi, si, x, da, k ? a2 : a1, k ? dx2 : dx1))
            failures++;
        vkd_graph_destroy(g);
    }
    double ra = 0, rx = 0, ea = 0, ex = 0;
    for (int i = 0; i < NA; i++)
        ra += a1[i] * a1[i], ea = fmax(ea, fabs(a1[i] - a2[i]));
    for (int i = 0; i < NX; i++)
        rx += dx1[i] * dx1[i], ex = fmax(ex, fabs(dx1[i] - dx2[i]));
    expect("fused = gram + row softmax: max |A diff| / rms(A)", ea / sqrt(ra / NA), 0, 1e-5);
    expect("fused = gram + row softmax: max |dx diff| / rms(dx)", ex / sqrt(rx / NX), 0, 1e-5);
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "cpu") == 0 || strcmp(argv[1], "gpu") == 0)) {
        struct vkd_context *ctx = strcmp(argv[1], "gpu") == 0 ? vkd_test_context() : NULL;
        hand_checks(ctx);
        composed(ctx);
        if (ctx)
            failures += vkd_test_context_done(ctx);
    }
    int rc = vkd_test_family_main(argc, argv, "attention");
    if (failures)
        printf("FAIL: %d hand check(s)\n", failures);
    return rc ? rc : failures ? 1 : 0;
}

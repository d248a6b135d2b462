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

#include "testutil.h"
#include "vkd_ops.h"
#include "vkd_rng.h"

/* A = self_attention(x) for x (1, C, 1, 2) and dx for upstream da. */
static int attn(struct vkd_context *ctx, int C, const double *x, const double *da, double *a,
                double *dx)
{
    struct vkd_graph *g = vkd_graph_create();
    int xi = vkd_graph_input(g, "x", VKD_F32, 1, C, 1, 2);
    vkd_graph_set_requires_grad(g, xi);
    int yi = vkd_self_attention(g, "attn", xi);
    int rc = vkd_test_run_seeded(ctx, g, xi, yi, x, da, a, dx);
    vkd_graph_destroy(g);
    return rc;
}

static void values(struct vkd_context *ctx)
{
    const double x[2] = {1, 2}, da0[4] = {1, 0, 0, 0}, da1[4] = {0, 0, 1, 0};
    const double e = exp(1.0), e2 = exp(2.0), tol = 1e-6;
    double a[4], dx[8];
    if (attn(ctx, 1, x, da0, a, dx))
        return;
    vkd_test_expect("A[0][0] = 1 / (1 + e)", a[0], 1 / (1 + e), tol);
    vkd_test_expect("A[0][1] = e / (1 + e)", a[1], e / (1 + e), tol);
    vkd_test_expect("A[1][0] = 1 / (1 + e^2)", a[2], 1 / (1 + e2), tol);
    vkd_test_expect("A[1][1] = e^2 / (1 + e^2)", a[3], e2 / (1 + e2), tol);
    vkd_test_expect("dA = [[1, 0], [0, 0]]: dx0 = 0", dx[0], 0, tol);
    vkd_test_expect("dx1 = -e / (1 + e)^2", dx[1], -e / ((1 + e) * (1 + e)), tol);
    if (attn(ctx, 1, x, da1, a, dx))
        return;
    double r = e2 / ((1 + e2) * (1 + e2));
    vkd_test_expect("dA = [[0, 0], [1, 0]]: dx0 = 2 e^2 / (1 + e^2)^2", dx[0], 2 * r, tol);
    vkd_test_expect("dx1 = -3 e^2 / (1 + e^2)^2", dx[1], -3 * r, tol);

    /* C = 4: s = 1/2; X columns (pixels) [1, 1, 1, 1] and [0, 0, 0, 1] */
    const double x4[8] = {1, 0, 1, 0, 1, 0, 1, 1};
    if (attn(ctx, 4, x4, da0, a, dx))
        return;
    double e15 = exp(1.5);
    vkd_test_expect("C = 4: A[0][0] = softmax([4, 1] / 2)_0 = e^1.5 / (1 + e^1.5)", a[0],
                    e15 / (1 + e15), tol);
    vkd_test_expect("C = 4: A[0][1] = 1 / (1 + e^1.5)", a[1], 1 / (1 + e15), tol);
    vkd_test_expect("C = 4: A[1][0] = softmax([1, 1] / 2)_0 = 1/2", a[2], 0.5, tol);
    vkd_test_expect("C = 4: A[1][1] = 1/2", a[3], 0.5, tol);
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
        int rc = vkd_test_run_seeded(ctx, g, xi, yi, x, da, k ? a2 : a1, k ? dx2 : dx1);
        vkd_graph_destroy(g);
        if (rc)
            return;
    }
    double ra = 0, rx = 0, ea = 0, ex = 0;
    for (int i = 0; i < NA; i++)
        ra += a1[i] * a1[i], ea = fmax(ea, fabs(a1[i] - a2[i]));
    for (int i = 0; i < NX; i++)
        rx += dx1[i] * dx1[i], ex = fmax(ex, fabs(dx1[i] - dx2[i]));
    vkd_test_expect("fused = gram + row softmax: max |A diff| / rms(A)", ea / sqrt(ra / NA), 0,
                    1e-5);
    vkd_test_expect("fused = gram + row softmax: max |dx diff| / rms(dx)", ex / sqrt(rx / NX), 0,
                    1e-5);
}

static void hand_checks(struct vkd_context *ctx)
{
    values(ctx);
    composed(ctx);
}

int main(int argc, char **argv)
{
    return vkd_test_hand_main(argc, argv, "attention", hand_checks);
}

/* test_linear.c - the linear family: `cpu` finite differences of the reference, `gpu` shaders
 * against the reference, over the cases in engine/cases/linear.c; and, before them, one
 * hand-computed example that pins down torch.nn.Linear's semantics (w is (out, in), y = x w^T + b,
 * x flattened in NCHW order), which a shader-vs-reference check alone cannot: both sides could
 * share a transposed convention. */
#include <stdio.h>

#include "testutil.h"
#include "vkd_ops.h"

/* x (2, 3, 1, 1) given as a (2, 1, 3, 1) map to exercise the flattening; w (2, 3); b (2). */
static const double X[6] = {1, 2, 3, 4, 5, 6};
static const double W[6] = {1, 0, -1, 2, 1, 0};
static const double B[2] = {0.5, -1};
static const double DY[4] = {1, 2, 3, -1};
/* torch: y = x @ w.T + b; dx = dy @ w; dw = dy.T @ x; db = dy.sum(0) */
static const double Y[4] = {-1.5, 3, -1.5, 12};
static const double DX[6] = {5, 2, -1, 1, -1, -3};
static const double DW[6] = {13, 17, 21, -2, -1, 0};
static const double DB[2] = {4, 1};

/* The hand example on the reference (ctx NULL) or the shaders: y, dx, dw, db within 1e-6. */
static void hand_check(struct vkd_context *ctx)
{
    struct vkd_graph *g = vkd_graph_create();
    int x = vkd_graph_input(g, "x", VKD_F32, 2, 1, 3, 1);
    vkd_graph_set_requires_grad(g, x);
    int w = vkd_graph_param(g, "w", 2, 3, 1, 1);
    int b = vkd_graph_param(g, "b", 2, 1, 1, 1);
    int y = vkd_linear(g, "y", x, w, b);
    int dy = vkd_graph_input(g, "dy", VKD_F32, 2, 2, 1, 1);
    vkd_graph_seed(g, y, dy);
    if (vkd_graph_finalize(g, 0) != VKD_OK) {
        printf("FAIL  linear hand-computed: %s\n", vkd_graph_error(g));
        vkd_test_failed(1);
        vkd_graph_destroy(g);
        return;
    }
    double got[4][6];
    const struct vkd_test_in in[] = {{x, X}, {w, W}, {b, B}, {dy, DY}};
    const struct vkd_test_out out[] = {{y, got[0]},
                                       {vkd_graph_tensor_at(g, x)->grad, got[1]},
                                       {vkd_graph_tensor_at(g, w)->grad, got[2]},
                                       {vkd_graph_tensor_at(g, b)->grad, got[3]}};
    if (!vkd_test_run_graph(ctx, g, in, 4, out, 4)) {
        const double *want[4] = {Y, DX, DW, DB};
        const char *names[4] = {"linear hand-computed y", "linear hand-computed dx",
                                "linear hand-computed dw", "linear hand-computed db"};
        const int sizes[4] = {4, 6, 6, 2};
        for (int i = 0; i < 4; i++)
            vkd_test_expect_all(names[i], got[i], want[i], sizes[i], 0, 1e-6);
    }
    vkd_graph_destroy(g);
}

int main(int argc, char **argv)
{
    return vkd_test_hand_main(argc, argv, "linear", hand_check);
}

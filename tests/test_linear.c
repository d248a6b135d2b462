/* test_linear.c - the linear family: `cpu` finite differences of the reference, `gpu` shaders
 * against the reference, over the cases in engine/cases/linear.c; and, before them, one
 * hand-computed example that pins down torch.nn.Linear's semantics (w is (out, in), y = x w^T + b,
 * x flattened in NCHW order), which a shader-vs-reference check alone cannot: both sides could
 * share a transposed convention. */
#include <math.h>
#include <stdio.h>
#include <string.h>

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

static int expect(const char *what, const double *got, const double *want, int n)
{
    for (int i = 0; i < n; i++)
        if (fabs(got[i] - want[i]) > 1e-6) {
            printf("FAIL  linear hand-computed %s[%d]: got %.9g want %.9g\n", what, i, got[i],
                   want[i]);
            return 1;
        }
    printf("ok    linear hand-computed %s\n", what);
    return 0;
}

/* Returns the number of failures; the GPU half runs when ctx is not NULL. */
static int hand_check(struct vkd_context *ctx)
{
    struct vkd_graph *g = vkd_graph_create();
    if (!g)
        return 1;
    int x = vkd_graph_input(g, "x", VKD_F32, 2, 1, 3, 1);
    vkd_graph_set_requires_grad(g, x);
    int w = vkd_graph_param(g, "w", 2, 3, 1, 1);
    int b = vkd_graph_param(g, "b", 2, 1, 1, 1);
    int y = vkd_linear(g, "y", x, w, b);
    int dy = vkd_graph_input(g, "dy", VKD_F32, 2, 2, 1, 1);
    vkd_graph_seed(g, y, dy);
    int failed = 0;
    if (vkd_graph_finalize(g, 0) != VKD_OK) {
        printf("FAIL  linear hand-computed: %s\n", vkd_graph_error(g));
        vkd_graph_destroy(g);
        return 1;
    }
    int gx = vkd_graph_tensor_at(g, x)->grad, gw = vkd_graph_tensor_at(g, w)->grad;
    int gb = vkd_graph_tensor_at(g, b)->grad;
    const int src[4] = {x, w, b, dy}, dst[4] = {y, gx, gw, gb};
    const double *in[4] = {X, W, B, DY}, *want[4] = {Y, DX, DW, DB};
    const char *names[4] = {"y", "dx", "dw", "db"};
    const int sizes[4] = {4, 6, 6, 2};

    if (!ctx) {
        struct vkd_ref *e = vkd_ref_create(g);
        if (!e) {
            vkd_graph_destroy(g);
            return 1;
        }
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < (int)vkd_tensor_numel(vkd_graph_tensor_at(g, src[i])); j++)
                vkd_ref_data(e, src[i])[j] = in[i][j];
        vkd_ref_forward(e);
        vkd_ref_backward(e);
        for (int i = 0; i < 4; i++)
            failed += expect(names[i], vkd_ref_data(e, dst[i]), want[i], sizes[i]);
        vkd_ref_destroy(e);
    } else {
        struct vkd_vk_desc desc = {VKD_PROG_FORWARD | VKD_PROG_BACKWARD, 0};
        struct vkd_vk *vk = NULL;
        double got[6];
        enum vkd_status s = vkd_vk_create(ctx, g, &desc, &vk);
        for (int i = 0; s == VKD_OK && i < 4; i++)
            s = vkd_vk_write(vk, src[i], in[i]);
        if (s == VKD_OK)
            s = vkd_vk_run(vk);
        for (int i = 0; s == VKD_OK && i < 4; i++) {
            s = vkd_vk_read(vk, dst[i], got);
            if (s == VKD_OK)
                failed += expect(names[i], got, want[i], sizes[i]);
        }
        if (s != VKD_OK) {
            printf("FAIL  linear hand-computed: %s\n", vkd_context_error(ctx));
            failed++;
        }
        vkd_vk_destroy(vk);
    }
    vkd_graph_destroy(g);
    return failed;
}

int main(int argc, char **argv)
{
    int failed = 0;
    if (argc == 2 && strcmp(argv[1], "cpu") == 0) {
        failed += hand_check(NULL);
    } else if (argc == 2 && strcmp(argv[1], "gpu") == 0) {
        struct vkd_context *ctx = vkd_test_context();
        failed += hand_check(ctx);
        failed += vkd_test_context_done(ctx);
    }
    int rc = vkd_test_family_main(argc, argv, "linear");
    return failed ? 1 : rc;
}

/*
 * test_eltwise.c - the eltwise family: `cpu` finite differences of the reference, `gpu` shaders
 * against the reference, over the cases in engine/cases/eltwise.c; plus hand checks on both
 * executors:
 *   - sigmoid at +-30, where fp32's 1 / (1 + e^-30) is 1 and y (1 - y) would be 0: y(-30) and
 *     the gradient at +-30 must keep their relative precision (values from 40-digit decimal
 *     arithmetic); on the reference also a central difference at -30 with a relative tolerance
 *     (the case rows' absolute one says nothing about a 1e-13 gradient);
 *   - stop_grad: L = sum (sg(relu(w)) - b)^2 with w a PARAM and b an INPUT with a gradient.
 *     Nothing after sg requires a gradient; the backward list holds the loss seed and sqdiff
 *     only (relu gets no backward); w's gradient stays 0 and SGD leaves w unchanged; db is
 *     -2 (relu(w) - b).
 */
#include <math.h>
#include <stdio.h>

#include "testutil.h"
#include "vkd_ops.h"

static void sigmoid_checks(struct vkd_context *ctx)
{
    const double y_m30 = 9.357622968839298954e-14, d30 = 9.357622968838423303e-14;
    struct vkd_graph *g = vkd_graph_create();
    int x = vkd_graph_input(g, "x", VKD_F32, 2, 1, 1, 1);
    vkd_graph_set_requires_grad(g, x);
    int y = vkd_sigmoid(g, "y", x);
    double xv[2] = {-30, 30}, dyv[2] = {1, 1}, yv[2], dxv[2];
    if (vkd_test_run_seeded(ctx, g, x, y, xv, dyv, yv, dxv)) {
        vkd_graph_destroy(g);
        return;
    }
    /* Device: the bound of engine/cases/eltwise.c at R = 30, (15 + 4R) u, with its factor 8. */
    double rel = ctx ? 8 * (15 + 4 * 30) * ldexp(1, -24) : 1e-12;
    vkd_test_expect_near("sigmoid(-30) = e^-30 / (1 + e^-30)", yv[0], y_m30, rel, 0);
    vkd_test_expect_near("sigmoid(30) = 1 - 9.4e-14 (1 in fp32)", yv[1], 0.99999999999990642377, 0,
                         ctx ? ldexp(1, -24) : 1e-15);
    vkd_test_expect_near("sigmoid'(-30) = e^-30 / (1 + e^-30)^2", dxv[0], d30, rel, 0);
    vkd_test_expect_near("sigmoid'(30) = sigmoid'(-30), not 0", dxv[1], d30, rel, 0);
    vkd_graph_destroy(g);
    if (ctx)
        return;
    /* A central difference at -30 in double: y is ~1e-13 there with full relative precision,
     * truncation h^2 |f'''| / 6 ~ 2e-8 relative; at +30 y is 1 - 1e-13 and double cannot see
     * the difference, which is why the gradient comes from x's negative side by symmetry. */
    g = vkd_graph_create();
    x = vkd_graph_input(g, "x", VKD_F32, 1, 1, 1, 1);
    y = vkd_sigmoid(g, "y", x);
    vkd_graph_finalize(g, 0);
    struct vkd_ref *e = vkd_ref_create(g);
    double h = 1e-5 * 31, f[2];
    for (int k = 0; k < 2; k++) {
        vkd_ref_data(e, x)[0] = -30 + (k ? -h : h);
        vkd_ref_forward(e);
        f[k] = vkd_ref_data(e, y)[0];
    }
    vkd_test_expect_near("central difference of sigmoid at -30, relative 1e-6",
                         (f[0] - f[1]) / (2 * h), d30, 1e-6, 0);
    vkd_ref_destroy(e);
    vkd_graph_destroy(g);
}

static void stop_grad_checks(struct vkd_context *ctx)
{
    struct vkd_graph *g = vkd_graph_create();
    int w = vkd_graph_param(g, "w", 3, 1, 1, 1);
    int b = vkd_graph_input(g, "b", VKD_F32, 3, 1, 1, 1);
    vkd_graph_set_requires_grad(g, b);
    int r = vkd_relu(g, "r", w);
    int sg = vkd_stop_grad(g, "sg", r);
    int l = vkd_sqdiff(g, "l", sg, b, -1, 1.0f);
    vkd_graph_loss(g, l, -1);
    if (vkd_graph_finalize(g, 1) != VKD_OK) {
        printf("FAIL: stop_grad graph: %s\n", vkd_graph_error(g));
        vkd_test_failed(1);
        vkd_graph_destroy(g);
        return;
    }
    if (!ctx) {
        vkd_test_expect_near("stop_grad: its output requires no gradient",
                             vkd_graph_tensor_at(g, sg)->requires_grad, 0, 0, 0);
        vkd_test_expect_near("stop_grad: its output has no gradient tensor",
                             vkd_graph_tensor_at(g, sg)->grad, -1, 0, 0);
        vkd_test_expect_near("stop_grad: backward = loss seed + sqdiff (no relu, no stop_grad)",
                             vkd_graph_node_count(g, 1), 2, 0, 0);
    }
    double wv[3] = {0.5, -0.25, 2}, bv[3] = {1, 1, -1}, step[VKD_SP_COUNT] = {0};
    step[VKD_SP_LR] = 0.1;
    step[VKD_SP_MOMENTUM] = 0.9;
    double gw[3] = {7, 7, 7}, gb[3], wafter[3], lv;
    /* forward, backward and the SGD update, then w's gradient, b's, w itself and L */
    struct vkd_test_exec e;
    int rc =
        vkd_test_exec_create(&e, ctx, g, VKD_PROG_FORWARD | VKD_PROG_BACKWARD | VKD_PROG_UPDATE) ||
        vkd_test_exec_write(&e, w, wv) || vkd_test_exec_write(&e, b, bv) ||
        vkd_test_exec_write(&e, vkd_graph_step_params(g), step) || vkd_test_exec_run(&e) ||
        vkd_test_exec_read(&e, vkd_graph_tensor_at(g, w)->grad, gw) ||
        vkd_test_exec_read(&e, vkd_graph_tensor_at(g, b)->grad, gb) ||
        vkd_test_exec_read(&e, w, wafter) || vkd_test_exec_read(&e, l, &lv);
    vkd_test_exec_destroy(&e);
    if (!rc) {
        /* relu(w) = [0.5, 0, 2]; d = relu(w) - b = [-0.5, -1, 3]; L = 0.25 + 1 + 9 */
        vkd_test_expect_near("stop_grad: L = sum (relu(w) - b)^2", lv, 10.25, 1e-6, 0);
        vkd_test_expect_near("stop_grad: db[0] = -2 d[0]", gb[0], 1, 1e-6, 0);
        vkd_test_expect_near("stop_grad: db[2] = -2 d[2]", gb[2], -6, 1e-6, 0);
        for (int i = 0; i < 3; i++) {
            vkd_test_expect_near("stop_grad: w's gradient stays 0", gw[i], 0, 0, 0);
            vkd_test_expect_near("stop_grad: SGD leaves w unchanged", wafter[i], wv[i], 0, 0);
        }
    }
    vkd_graph_destroy(g);
}

/* A relu, a copy and two adds (the fan-out case's graph: every gradient accumulates somewhere)
 * must dispatch the CPU-device twins and none of the GPU kernels they replace. */
static int cpu_kernels_check(void)
{
    static const int shape[4] = {2, 3, 5, 11};
    static const char *const want[4] = {"relu_fwd_cpu", "relu_bwd_cpu", "add_fwd_cpu", "copy_cpu"};
    static const char *const gpu_twins[4] = {"relu_fwd", "relu_bwd", "add_fwd", "copy"};
    struct vkd_context *ctx = vkd_test_context_variant(VKD_VARIANT_CPU);
    struct vkd_graph *g = vkd_graph_create();
    int fails = 0;
    if (g) {
        int x = vkd_graph_input(g, "x", VKD_F32, shape[0], shape[1], shape[2], shape[3]);
        vkd_graph_set_requires_grad(g, x);
        int y = vkd_add(g, "y", vkd_add(g, "s", vkd_relu(g, "r", x), vkd_copy(g, "c", x)), x);
        int dy = vkd_graph_input(g, "dy", VKD_F32, shape[0], shape[1], shape[2], shape[3]);
        vkd_graph_seed(g, y, dy);
    }
    if (!g || vkd_graph_finalize(g, 0) != VKD_OK) {
        printf("FAIL  eltwise CPU-device kernels: could not build the graph\n");
        fails++;
    } else {
        /* Each GPU kernel name is the prefix of its twin's: check them one at a time. */
        for (int k = 0; k < 4; k++)
            fails += vkd_test_cpu_kernels_ran(ctx, g, gpu_twins[k], &want[k], 1);
    }
    vkd_graph_destroy(g);
    return fails + vkd_test_context_done(ctx);
}

static void hand_checks(struct vkd_context *ctx)
{
    sigmoid_checks(ctx);
    stop_grad_checks(ctx);
    if (ctx)
        vkd_test_failed(cpu_kernels_check());
}

int main(int argc, char **argv)
{
    return vkd_test_hand_main(argc, argv, "eltwise", hand_checks);
}

/*
 * test_optim.c - the optim family (engine/ops/optim.c): `cpu` finite differences of the
 * reference, `gpu` shaders against the reference over the cases in engine/cases/optim.c, plus
 * hand checks of one sgd step on both executors, torch.optim.SGD's update (dampening 0):
 *   w = [1, 2, 0.5], gradient g = [0.5, -1, 2] (seeded through relu, w > 0), momentum
 *   m0 = [0, 1, -0.5], lr 0.1, momentum 0.9, weight decay 0.01:
 *   d = g + 0.01 w = [0.51, -0.98, 2.005];  m = 0.9 m0 + d = [0.51, -0.08, 1.555];
 *   plain:    w' = w - 0.1 m = [0.949, 2.008, 0.3445];
 *   Nesterov: w' = w - 0.1 (d + 0.9 m) = [0.9031, 2.1052, 0.15955]; m as above.
 * On the device the update must be the sgd kernel and nothing else of its name.
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vkd_ops.h"

/* One step: w and the momentum after it. */
static int step(struct vkd_context *ctx, int nesterov, double *w_after, double *m_after)
{
    struct vkd_graph *g = vkd_graph_create();
    int w = vkd_graph_param(g, "w", 3, 1, 1, 1);
    int y = vkd_relu(g, "r", w);
    int dy = vkd_graph_input(g, "dy", VKD_F32, 3, 1, 1, 1);
    vkd_graph_seed(g, y, dy);
    int rc = vkd_graph_finalize(g, 1) != VKD_OK;
    if (rc) {
        vkd_test_check("sgd graph finalizes", 0);
        vkd_graph_destroy(g);
        return rc;
    }
    /* the momentum is one flat tensor in the parameters' layout: w's slice comes first */
    int mom = vkd_graph_find(g, "momentum.flat");
    size_t n_mom = vkd_tensor_numel(vkd_graph_tensor_at(g, mom));
    double wv[3] = {1, 2, 0.5}, gv[3] = {0.5, -1, 2}, sp[VKD_SP_COUNT] = {0};
    double *mv = calloc(n_mom, sizeof(double)), *mo = calloc(n_mom, sizeof(double));
    mv[1] = 1, mv[2] = -0.5;
    sp[VKD_SP_LR] = 0.1, sp[VKD_SP_MOMENTUM] = 0.9, sp[VKD_SP_WEIGHT_DECAY] = 0.01;
    sp[VKD_SP_NESTEROV] = nesterov;
    struct vkd_test_exec x;
    rc = vkd_test_exec_create(&x, ctx, g, VKD_PROG_FORWARD | VKD_PROG_BACKWARD | VKD_PROG_UPDATE) ||
         vkd_test_exec_write(&x, w, wv) || vkd_test_exec_write(&x, dy, gv) ||
         vkd_test_exec_write(&x, mom, mv) ||
         vkd_test_exec_write(&x, vkd_graph_step_params(g), sp) || vkd_test_exec_run(&x) ||
         vkd_test_exec_read(&x, w, w_after) || vkd_test_exec_read(&x, mom, mo);
    vkd_test_exec_destroy(&x);
    memcpy(m_after, mo, 3 * sizeof(double));
    if (!rc && ctx && !nesterov) {
        static const char *const want[] = {"sgd"};
        vkd_test_failed(vkd_test_kernels_ran(ctx, g, "sgd", want, 1));
    }
    free(mv), free(mo);
    vkd_graph_destroy(g);
    return rc;
}

static void hand_checks(struct vkd_context *ctx)
{
    static const double m_want[3] = {0.51, -0.08, 1.555};
    static const double plain[3] = {0.949, 2.008, 0.3445}, nest[3] = {0.9031, 2.1052, 0.15955};
    double w[3], m[3];
    if (!step(ctx, 0, w, m)) {
        vkd_test_expect_all("sgd: w' = w - lr m, m = mu m0 + g + wd w", w, plain, 3, 1e-6, 0);
        vkd_test_expect_all("sgd: momentum after the step", m, m_want, 3, 1e-6, 0);
    }
    if (!step(ctx, 1, w, m)) {
        vkd_test_expect_all("sgd nesterov: w' = w - lr (d + mu m)", w, nest, 3, 1e-6, 0);
        vkd_test_expect_all("sgd nesterov: momentum as without", m, m_want, 3, 1e-6, 0);
    }
}

int main(int argc, char **argv)
{
    return vkd_test_hand_main(argc, argv, "optim", hand_checks);
}

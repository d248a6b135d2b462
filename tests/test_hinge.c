/*
 * test_hinge.c - the margin-ranking loss over engine/cases/hinge.c (`cpu` finite differences,
 * `gpu` shaders vs reference under both kernel variants), plus hand checks on both executors:
 * a = [1, 2, 0.25], b = [0.5, 0, 1], y = [1, -1, 1], margin 0.5, scale 2:
 *   t = 0.5 - y (a - b) = [0, 2.5, 1.25] (t[0] exactly at the kink: active, as PyTorch's
 *   clamp_min backward);  L = 2 (0 + 2.5 + 1.25) = 7.5;  da = -2 y = [-2, 2, -2];  db = -da;
 *   without y (y = 1): t = [0, -1.5, 1.25], L = 2.5, da = [-2, 0, -2];
 *   registered with a step-parameter slot of 0.37: L unchanged, da = 0.37 [-2, 2, -2].
 */

#include "testutil.h"
#include "vkd_ops.h"

/* L, da, db over 3 elements; slot_weight < 0: the loss has weight 1 (no slot). */
static int run(struct vkd_context *ctx, const double *a, const double *b, const double *y,
               double slot_weight, double *loss, double *da, double *db)
{
    struct vkd_graph *g = vkd_graph_create();
    int ai = vkd_graph_input(g, "a", VKD_F32, 3, 1, 1, 1);
    int bi = vkd_graph_input(g, "b", VKD_F32, 3, 1, 1, 1);
    int yi = y ? vkd_graph_input(g, "y", VKD_F32, 3, 1, 1, 1) : -1;
    vkd_graph_set_requires_grad(g, ai);
    vkd_graph_set_requires_grad(g, bi);
    int l = vkd_margin_ranking(g, "hinge", ai, bi, yi, 0.5f, 2.0f);
    int slot = slot_weight >= 0 ? vkd_graph_alloc_slot(g) : -1;
    vkd_graph_loss(g, l, slot);
    vkd_graph_finalize(g, 0);
    double step[VKD_SP_COUNT] = {0};
    if (slot >= 0)
        step[slot] = slot_weight;
    const struct vkd_test_in in[] = {{ai, a}, {bi, b}, {yi, y}, {vkd_graph_step_params(g), step}};
    const struct vkd_test_out out[] = {
        {l, loss}, {vkd_graph_tensor_at(g, ai)->grad, da}, {vkd_graph_tensor_at(g, bi)->grad, db}};
    int rc = vkd_test_run_graph(ctx, g, in, 4, out, 3);
    vkd_graph_destroy(g);
    return rc;
}

static void values(struct vkd_context *ctx)
{
    const double a[3] = {1, 2, 0.25}, b[3] = {0.5, 0, 1}, y[3] = {1, -1, 1};
    const double tol = 1e-7;
    double l, da[3], db[3];
    if (run(ctx, a, b, y, -1, &l, da, db))
        return;
    vkd_test_expect("L = 2 (0 + 2.5 + 1.25)", l, 7.5, tol);
    vkd_test_expect("da[0] = -2 (t = 0 exactly: active, as PyTorch)", da[0], -2, tol);
    vkd_test_expect("da[1] = -2 * (-1)", da[1], 2, tol);
    vkd_test_expect("da[2] = -2", da[2], -2, tol);
    vkd_test_expect("db[1] = -da[1]", db[1], -2, tol);
    if (run(ctx, a, b, NULL, -1, &l, da, db))
        return;
    vkd_test_expect("no y: L = 2 (0 + 0 + 1.25)", l, 2.5, tol);
    vkd_test_expect("no y: da[1] = 0 (t = -1.5: inactive)", da[1], 0, tol);
    vkd_test_expect("no y: db[2] = 2", db[2], 2, tol);
    if (run(ctx, a, b, y, 0.37, &l, da, db))
        return;
    vkd_test_expect("slot weight 0.37: L itself unchanged", l, 7.5, tol);
    vkd_test_expect("slot weight 0.37: da[1] = 0.37 * 2", da[1], 0.74, tol);
    vkd_test_expect("slot weight 0.37: db[0] = 0.37 * 2", db[0], 0.74, tol);
}

/* The op's passes are its own forward (per-chunk partials), the shared sum pass of
 * engine/ops/pairsum.c (pairsum_sum) and its own backward (the numbers are the cases'
 * business). */
static int hinge_loss(struct vkd_graph *g, int a, int b)
{
    return vkd_margin_ranking(g, "h", a, b, -1, 0.5f, 1.0f);
}

static void hand_checks(struct vkd_context *ctx)
{
    values(ctx);
    if (ctx)
        vkd_test_failed(vkd_test_pairsum_passes(ctx, "hinge", hinge_loss));
}

int main(int argc, char **argv)
{
    return vkd_test_hand_main(argc, argv, "hinge", hand_checks);
}

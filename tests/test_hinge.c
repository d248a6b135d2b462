/*
 * test_hinge.c - the margin-ranking loss over engine/cases/hinge.c (`cpu` finite differences,
 * `gpu` shaders vs reference under both kernel variants), plus hand checks on both executors:
 * a = [1, 2, 0.25], b = [0.5, 0, 1], y = [1, -1, 1], margin 0.5, scale 2:
 *   t = 0.5 - y (a - b) = [0, 2.5, 1.25] (t[0] exactly at the kink: active, as PyTorch's
 *   clamp_min backward);  L = 2 (0 + 2.5 + 1.25) = 7.5;  da = -2 y = [-2, 2, -2];  db = -da;
 *   without y (y = 1): t = [0, -1.5, 1.25], L = 2.5, da = [-2, 0, -2];
 *   registered with a step-parameter slot of 0.37: L unchanged, da = 0.37 [-2, 2, -2].
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "vkd_ops.h"

static int failures;

static void expect(const char *what, double got, double want)
{
    int ok = fabs(got - want) <= 1e-7 * (1 + fabs(want));
    printf("%-4s hand %-58s got %.9g want %.9g\n", ok ? "ok" : "FAIL", what, got, want);
    failures += !ok;
}

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
    int ga = vkd_graph_tensor_at(g, ai)->grad, gb = vkd_graph_tensor_at(g, bi)->grad, rc = 0;
    int sp = vkd_graph_step_params(g);
    double step[VKD_SP_COUNT] = {0};
    if (slot >= 0)
        step[slot] = slot_weight;
    if (!ctx) {
        struct vkd_ref *e = vkd_ref_create(g);
        memcpy(vkd_ref_data(e, ai), a, 3 * sizeof(double));
        memcpy(vkd_ref_data(e, bi), b, 3 * sizeof(double));
        if (y)
            memcpy(vkd_ref_data(e, yi), y, 3 * sizeof(double));
        memcpy(vkd_ref_data(e, sp), step, sizeof(step));
        vkd_ref_forward(e);
        vkd_ref_backward(e);
        *loss = vkd_ref_data(e, l)[0];
        memcpy(da, vkd_ref_data(e, ga), 3 * sizeof(double));
        memcpy(db, vkd_ref_data(e, gb), 3 * sizeof(double));
        vkd_ref_destroy(e);
    } else {
        struct vkd_vk *e = NULL;
        struct vkd_vk_desc d = {VKD_PROG_FORWARD | VKD_PROG_BACKWARD, 0};
        rc = vkd_vk_create(ctx, g, &d, &e) != VKD_OK || vkd_vk_write(e, ai, a) != VKD_OK ||
             vkd_vk_write(e, bi, b) != VKD_OK || (y && vkd_vk_write(e, yi, y) != VKD_OK) ||
             vkd_vk_write(e, sp, step) != VKD_OK || vkd_vk_run(e) != VKD_OK ||
             vkd_vk_read(e, l, loss) != VKD_OK || vkd_vk_read(e, ga, da) != VKD_OK ||
             vkd_vk_read(e, gb, db) != VKD_OK;
        if (rc)
            printf("FAIL: device: %s\n", vkd_context_error(ctx));
        vkd_vk_destroy(e);
    }
    vkd_graph_destroy(g);
    return rc;
}

static void hand_checks(struct vkd_context *ctx)
{
    const double a[3] = {1, 2, 0.25}, b[3] = {0.5, 0, 1}, y[3] = {1, -1, 1};
    double l, da[3], db[3];
    if (run(ctx, a, b, y, -1, &l, da, db)) {
        failures++;
        return;
    }
    expect("L = 2 (0 + 2.5 + 1.25)", l, 7.5);
    expect("da[0] = -2 (t = 0 exactly: active, as PyTorch)", da[0], -2);
    expect("da[1] = -2 * (-1)", da[1], 2);
    expect("da[2] = -2", da[2], -2);
    expect("db[1] = -da[1]", db[1], -2);
    if (run(ctx, a, b, NULL, -1, &l, da, db)) {
        failures++;
        return;
    }
    expect("no y: L = 2 (0 + 0 + 1.25)", l, 2.5);
    expect("no y: da[1] = 0 (t = -1.5: inactive)", da[1], 0);
    expect("no y: db[2] = 2", db[2], 2);
    if (run(ctx, a, b, y, 0.37, &l, da, db)) {
        failures++;
        return;
    }
    expect("slot weight 0.37: L itself unchanged", l, 7.5);
    expect("slot weight 0.37: da[1] = 0.37 * 2", da[1], 0.74);
    expect("slot weight 0.37: db[0] = 0.37 * 2", db[0], 0.74);
}

/* The op's passes are its own forward (per-chunk partials), the shared sum pass of
 * engine/ops/pairsum.c (pairsum_sum) and its own backward: each dispatched, and no other
 * hinge_* or pairsum_* kernel, over 3 chunks (the numbers are the cases' business). */
static void pairsum_dispatch(struct vkd_context *ctx)
{
    struct vkd_graph *g = vkd_graph_create();
    int a = vkd_graph_input(g, "a", VKD_F32, 3, 4096, 1, 1);
    int b = vkd_graph_input(g, "b", VKD_F32, 3, 4096, 1, 1);
    vkd_graph_set_requires_grad(g, a);
    vkd_graph_loss(g, vkd_margin_ranking(g, "h", a, b, -1, 0.5f, 1.0f), -1);
    vkd_graph_finalize(g, 0);
    static const char *const ours[] = {"hinge_fwd", "hinge_bwd"}, *const sum[] = {"pairsum_sum"};
    failures += vkd_test_kernels_ran(ctx, g, "hinge", ours, 2);
    failures += vkd_test_kernels_ran(ctx, g, "pairsum", sum, 1);
    vkd_graph_destroy(g);
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "cpu") == 0 || strcmp(argv[1], "gpu") == 0)) {
        struct vkd_context *ctx = strcmp(argv[1], "gpu") == 0 ? vkd_test_context() : NULL;
        hand_checks(ctx);
        if (ctx) {
            pairsum_dispatch(ctx);
            failures += vkd_test_context_done(ctx);
        }
    }
    int rc = vkd_test_family_main(argc, argv, "hinge");
    if (failures)
        printf("FAIL: %d hand check(s)\n", failures);
    return rc ? rc : failures ? 1 : 0;
}

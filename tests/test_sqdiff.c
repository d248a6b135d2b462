/*
 * test_sqdiff.c - the squared-difference loss over engine/cases/sqdiff.c (`cpu` finite
 * differences, `gpu` shaders vs reference under both kernel variants), plus hand checks on both
 * executors: a = [1, 2, 3], b = [0, 4, 3], w = [2, 0.5, 1], scale 0.25:
 *   L = 0.25 (2*1 + 0.5*4 + 1*0) = 1;  da = 2 * 0.25 * w (a - b) = [1, -0.5, 0];  db = -da;
 *   without w: L = 0.25 (1 + 4 + 0) = 1.25;
 *   registered with a step-parameter slot of 0.37: L unchanged, da = 0.37 [1, -0.5, 0];
 * and (gpu) determinism: one executor run twice gives the same bits.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "vkd_ops.h"

static int failures;

static void expect(const char *what, double got, double want, double tol)
{
    int ok = fabs(got - want) <= tol * (1 + fabs(want));
    printf("%-4s hand %-58s got %.9g want %.9g\n", ok ? "ok" : "FAIL", what, got, want);
    failures += !ok;
}

/* L, da, db over 3 elements; slot_weight < 0: the loss has weight 1 (no slot). */
static int run(struct vkd_context *ctx, const double *a, const double *b, const double *w,
               double scale, double slot_weight, double *loss, double *da, double *db)
{
    struct vkd_graph *g = vkd_graph_create();
    int ai = vkd_graph_input(g, "a", VKD_F32, 3, 1, 1, 1);
    int bi = vkd_graph_input(g, "b", VKD_F32, 3, 1, 1, 1);
    int wi = w ? vkd_graph_input(g, "w", VKD_F32, 3, 1, 1, 1) : -1;
    vkd_graph_set_requires_grad(g, ai);
    vkd_graph_set_requires_grad(g, bi);
    int l = vkd_sqdiff(g, "sq", ai, bi, wi, (float)scale);
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
        if (w)
            memcpy(vkd_ref_data(e, wi), w, 3 * sizeof(double));
        memcpy(vkd_ref_data(e, sp), step, sizeof(step));
        vkd_ref_forward(e);
        vkd_ref_backward(e);
        *loss = vkd_ref_data(e, l)[0];
        memcpy(da, vkd_ref_data(e, ga), 3 * sizeof(double));
        memcpy(db, vkd_ref_data(e, gb), 3 * sizeof(double));
        vkd_ref_destroy(e);
    } else {
        struct vkd_vk *e;
        struct vkd_vk_desc d = {VKD_PROG_FORWARD | VKD_PROG_BACKWARD, 0};
        rc = vkd_vk_create(ctx, g, &d, &e) != VKD_OK || vkd_vk_write(e, ai, a) != VKD_OK ||
             vkd_vk_write(e, bi, b) != VKD_OK || (w && vkd_vk_write(e, wi, w) != VKD_OK) ||
             vkd_vk_write(e, sp, step) != VKD_OK || vkd_vk_run(e) != VKD_OK ||
             vkd_vk_read(e, l, loss) != VKD_OK || vkd_vk_read(e, ga, da) != VKD_OK ||
             vkd_vk_read(e, gb, db) != VKD_OK;
        if (!rc)
            vkd_vk_destroy(e);
        else
            printf("FAIL: device: %s\n", vkd_context_error(ctx));
    }
    vkd_graph_destroy(g);
    return rc;
}

static void hand_checks(struct vkd_context *ctx)
{
    const double a[3] = {1, 2, 3}, b[3] = {0, 4, 3}, w[3] = {2, 0.5, 1};
    double l, da[3], db[3];
    if (run(ctx, a, b, w, 0.25, -1, &l, da, db)) {
        failures++;
        return;
    }
    expect("L = 0.25 (2*1^2 + 0.5*2^2 + 1*0^2)", l, 1, 1e-7);
    expect("da[0] = 2 * 0.25 * 2 * 1", da[0], 1, 1e-7);
    expect("da[1] = 2 * 0.25 * 0.5 * (-2)", da[1], -0.5, 1e-7);
    expect("da[2] = 0", da[2], 0, 0);
    expect("db[1] = -da[1]", db[1], 0.5, 1e-7);
    if (run(ctx, a, b, NULL, 0.25, -1, &l, da, db)) {
        failures++;
        return;
    }
    expect("no weights: L = 0.25 (1 + 4 + 0)", l, 1.25, 1e-7);
    expect("no weights: da[1] = 2 * 0.25 * (-2)", da[1], -1, 1e-7);
    if (run(ctx, a, b, w, 0.25, 0.37, &l, da, db)) {
        failures++;
        return;
    }
    expect("slot weight 0.37: L itself unchanged", l, 1, 1e-7);
    expect("slot weight 0.37: da[0] = 0.37 * 1", da[0], 0.37, 1e-7);
    expect("slot weight 0.37: db[1] = 0.37 * 0.5", db[1], 0.185, 1e-7);
}

/* (gpu) One executor run twice gives the same bits: 3 x 4097 elements (4 chunks), weighted. */
static void determinism(struct vkd_context *ctx)
{
    enum { COUNT = 3 * 4097 };
    static double a[COUNT], b[COUNT], w[COUNT], da[2][COUNT];
    double l[2];
    for (int i = 0; i < COUNT; i++) {
        a[i] = (float)sin(0.37 * i), b[i] = (float)cos(0.11 * i), w[i] = (float)(i % 7) / 7;
    }
    struct vkd_graph *g = vkd_graph_create();
    int ai = vkd_graph_input(g, "a", VKD_F32, COUNT, 1, 1, 1);
    int bi = vkd_graph_input(g, "b", VKD_F32, COUNT, 1, 1, 1);
    int wi = vkd_graph_input(g, "w", VKD_F32, COUNT, 1, 1, 1);
    vkd_graph_set_requires_grad(g, ai);
    int li = vkd_sqdiff(g, "sq", ai, bi, wi, 0.5f);
    vkd_graph_loss(g, li, -1);
    vkd_graph_finalize(g, 0);
    struct vkd_vk *e;
    struct vkd_vk_desc d = {VKD_PROG_FORWARD | VKD_PROG_BACKWARD, 0};
    int rc = vkd_vk_create(ctx, g, &d, &e) != VKD_OK || vkd_vk_write(e, ai, a) != VKD_OK ||
             vkd_vk_write(e, bi, b) != VKD_OK || vkd_vk_write(e, wi, w) != VKD_OK;
    for (int r = 0; r < 2 && !rc; r++)
        rc = vkd_vk_run(e) != VKD_OK || vkd_vk_read(e, li, &l[r]) != VKD_OK ||
             vkd_vk_read(e, vkd_graph_tensor_at(g, ai)->grad, da[r]) != VKD_OK;
    if (rc) {
        printf("FAIL: device: %s\n", vkd_context_error(ctx));
        failures++;
    } else {
        vkd_vk_destroy(e);
        expect("two runs, same bits (L, da)",
               l[0] == l[1] && memcmp(da[0], da[1], sizeof(da[0])) == 0, 1, 0);
    }
    vkd_graph_destroy(g);
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "cpu") == 0 || strcmp(argv[1], "gpu") == 0)) {
        struct vkd_context *ctx = strcmp(argv[1], "gpu") == 0 ? vkd_test_context() : NULL;
        hand_checks(ctx);
        if (ctx) {
            determinism(ctx);
            failures += vkd_test_context_done(ctx);
        }
    }
    int rc = vkd_test_family_main(argc, argv, "sqdiff");
    if (failures)
        printf("FAIL: %d hand check(s)\n", failures);
    return rc ? rc : failures ? 1 : 0;
}

/*
 * test_sqdiff.c - the squared-difference loss over engine/cases/sqdiff.c (`cpu` finite
 * differences, `gpu` shaders vs reference under both kernel variants), plus hand checks on both
 * executors: a = [1, 2, 3], b = [0, 4, 3], w = [2, 0.5, 1], scale 0.25:
 *   L = 0.25 (2*1 + 0.5*4 + 1*0) = 1;  da = 2 * 0.25 * w (a - b) = [1, -0.5, 0];  db = -da;
 *   without w: L = 0.25 (1 + 4 + 0) = 1.25;
 *   registered with a step-parameter slot of 0.37: L unchanged, da = 0.37 [1, -0.5, 0];
 * and (gpu) determinism: one executor run twice gives the same bits.
 * Constant inputs (const_in in the op rows): sqdiff's weight w, the margin-ranking loss's
 * targets y and soft cross-entropy's targets s, each a tensor c that another loss,
 * 0.5 * sum (c - z)^2, also trains. The constant's node is added last, so its backward runs
 * first: were it counted as a writer of dc it would overwrite or add. dc must be exactly the
 * other loss's c - z after each of two runs (not twice it), and the op's own gradient da must be
 * bit for bit the same as when c has no gradient at all; on both executors.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "vkd_ops.h"

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
    double step[VKD_SP_COUNT] = {0};
    if (slot >= 0)
        step[slot] = slot_weight;
    const struct vkd_test_in in[] = {{ai, a}, {bi, b}, {wi, w}, {vkd_graph_step_params(g), step}};
    const struct vkd_test_out out[] = {
        {l, loss}, {vkd_graph_tensor_at(g, ai)->grad, da}, {vkd_graph_tensor_at(g, bi)->grad, db}};
    int rc = vkd_test_run_graph(ctx, g, in, 4, out, 3);
    vkd_graph_destroy(g);
    return rc;
}

static void values(struct vkd_context *ctx)
{
    const double a[3] = {1, 2, 3}, b[3] = {0, 4, 3}, w[3] = {2, 0.5, 1};
    double l, da[3], db[3];
    if (run(ctx, a, b, w, 0.25, -1, &l, da, db))
        return;
    vkd_test_expect("L = 0.25 (2*1^2 + 0.5*2^2 + 1*0^2)", l, 1, 1e-7);
    vkd_test_expect("da[0] = 2 * 0.25 * 2 * 1", da[0], 1, 1e-7);
    vkd_test_expect("da[1] = 2 * 0.25 * 0.5 * (-2)", da[1], -0.5, 1e-7);
    vkd_test_expect("da[2] = 0", da[2], 0, 0);
    vkd_test_expect("db[1] = -da[1]", db[1], 0.5, 1e-7);
    if (run(ctx, a, b, NULL, 0.25, -1, &l, da, db))
        return;
    vkd_test_expect("no weights: L = 0.25 (1 + 4 + 0)", l, 1.25, 1e-7);
    vkd_test_expect("no weights: da[1] = 2 * 0.25 * (-2)", da[1], -1, 1e-7);
    if (run(ctx, a, b, w, 0.25, 0.37, &l, da, db))
        return;
    vkd_test_expect("slot weight 0.37: L itself unchanged", l, 1, 1e-7);
    vkd_test_expect("slot weight 0.37: da[0] = 0.37 * 1", da[0], 0.37, 1e-7);
    vkd_test_expect("slot weight 0.37: db[1] = 0.37 * 0.5", db[1], 0.185, 1e-7);
}

enum const_op { CONST_SQDIFF, CONST_HINGE, CONST_SCE };

/* da and dc of loss(a, b, c) (+ 0.5 sum (c - z)^2 first in forward order when other), after a
 * second identical run; 2 rows of 3 elements. */
static int const_run(struct vkd_context *ctx, enum const_op op, int other, const double *v,
                     double *da, double *dc)
{
    struct vkd_graph *g = vkd_graph_create();
    int in[4];
    for (int i = 0; i < 4; i++) {
        static const char *names[4] = {"a", "b", "c", "z"};
        in[i] = vkd_graph_input(g, names[i], VKD_F32, 2, 3, 1, 1);
    }
    int a = in[0], b = in[1], c = in[2], z = in[3];
    vkd_graph_set_requires_grad(g, a);
    if (other) {
        vkd_graph_set_requires_grad(g, c);
        vkd_graph_loss(g, vkd_sqdiff(g, "other", c, z, -1, 0.5f), -1);
    }
    int l = op == CONST_SQDIFF  ? vkd_sqdiff(g, "l", a, b, c, 0.25f)
            : op == CONST_HINGE ? vkd_margin_ranking(g, "l", a, b, c, 0.5f, 0.25f)
                                : vkd_softmax_soft_ce(g, "l", a, c, 2.0f);
    vkd_graph_loss(g, l, -1);
    if (vkd_graph_finalize(g, 0) != VKD_OK) {
        printf("FAIL: finalize: %s\n", vkd_graph_error(g));
        vkd_test_failed(1);
        vkd_graph_destroy(g);
        return 1;
    }
    /* gc is -1 without the other loss: then dc is not read */
    int ga = vkd_graph_tensor_at(g, a)->grad, gc = vkd_graph_tensor_at(g, c)->grad;
    struct vkd_test_exec x;
    int rc = vkd_test_exec_create(&x, ctx, g, VKD_PROG_FORWARD | VKD_PROG_BACKWARD);
    for (int i = 0; i < 4 && !rc; i++)
        rc = vkd_test_exec_write(&x, in[i], v + 6 * i);
    rc = rc || vkd_test_exec_run(&x) || vkd_test_exec_run(&x) || vkd_test_exec_read(&x, ga, da) ||
         vkd_test_exec_read(&x, gc, dc);
    vkd_test_exec_destroy(&x);
    vkd_graph_destroy(g);
    return rc;
}

static void const_checks(struct vkd_context *ctx)
{
    /* a, b, c, z: dyadic values, so c - z and every gradient are exact in fp32 */
    const double v[24] = {0.5, -1,  2,    0.25, 1.5, -0.75, /* a */
                          1,   0.5, -0.5, 0.25, 2,   1,     /* b */
                          1,   -1,  0.5,  0,    1,   -1,    /* c: w, y (+-1 and 0.5) or s */
                          0.5, 2,   -1,   0.75, 0,   -2};   /* z */
    static const char *names[3] = {"sqdiff's w", "margin_ranking's y", "soft_ce's s"};
    for (int op = 0; op < 3; op++) {
        double da0[6], da1[6], dc[6], dummy[6];
        if (const_run(ctx, (enum const_op)op, 0, v, da0, dummy) ||
            const_run(ctx, (enum const_op)op, 1, v, da1, dc))
            continue;
        int same_da = memcmp(da0, da1, sizeof(da0)) == 0, exact_dc = 1, nonzero = 0;
        for (int i = 0; i < 6; i++) {
            exact_dc &= dc[i] == v[12 + i] - v[18 + i];
            nonzero += da0[i] != 0;
        }
        char what[96];
        snprintf(what, sizeof(what), "%s also trained elsewhere: dc = c - z exactly", names[op]);
        vkd_test_expect(what, exact_dc, 1, 0);
        snprintf(what, sizeof(what), "%s: da bit for bit as with no dc (%d nonzero)", names[op],
                 nonzero);
        vkd_test_expect(what, same_da && nonzero > 0, 1, 0);
    }
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
    struct vkd_test_exec x;
    int rc = vkd_test_exec_create(&x, ctx, g, VKD_PROG_FORWARD | VKD_PROG_BACKWARD) ||
             vkd_test_exec_write(&x, ai, a) || vkd_test_exec_write(&x, bi, b) ||
             vkd_test_exec_write(&x, wi, w);
    for (int r = 0; r < 2 && !rc; r++)
        rc = vkd_test_exec_run(&x) || vkd_test_exec_read(&x, li, &l[r]) ||
             vkd_test_exec_read(&x, vkd_graph_tensor_at(g, ai)->grad, da[r]);
    if (!rc)
        vkd_test_expect("two runs, same bits (L, da)",
                        l[0] == l[1] && memcmp(da[0], da[1], sizeof(da[0])) == 0, 1, 0);
    vkd_test_exec_destroy(&x);
    vkd_graph_destroy(g);
}

/* The op's passes are its own forward (per-chunk partials), the shared sum pass of
 * engine/ops/pairsum.c (pairsum_sum) and its own backward (the numbers are the cases'
 * business). */
static int sqdiff_loss(struct vkd_graph *g, int a, int b)
{
    return vkd_sqdiff(g, "sq", a, b, -1, 1.0f);
}

static void hand_checks(struct vkd_context *ctx)
{
    values(ctx);
    const_checks(ctx);
    if (ctx) {
        determinism(ctx);
        vkd_test_failed(vkd_test_pairsum_passes(ctx, "sqdiff", sqdiff_loss));
    }
}

int main(int argc, char **argv)
{
    return vkd_test_hand_main(argc, argv, "sqdiff", hand_checks);
}

/*
 * test_shape.c - the shape family over engine/cases/shape.c (`cpu` finite differences, `gpu`
 * shaders vs reference under both kernel variants), plus hand checks on both executors:
 * concat of a (1, 1, 1, 2) = [1, 2] and b (1, 2, 1, 2) = [3, 4, 5, 6] is [1, 2, 3, 4, 5, 6];
 * its backward hands dy = [10 .. 15] back as da = [10, 11], db = [12 .. 15]; split of
 * channels [1, 2) of that 3-channel y is [3, 4] and its backward is [0, 0, dy, 0, 0].
 * Batch slice: the thirds of x (3, 1, 1, 2) = [1 .. 6] are [1, 2], [3, 4], [5, 6]; with the
 * first two seeded [10, 20], [30, 40], the third not (no backward), and x also copied with the
 * copy seeded [1 .. 6], dx = [11, 22, 33, 44, 5, 6]; a middle slice [1, 2) alone, seeded
 * [30, 40], gives dx = [0, 0, 30, 40, 0, 0] (its overwriting backward zeros the rest).
 * Grouped slice: interleaved triplets x (6, 1, 1, 1) = [1 .. 6] = a0 p0 n0 a1 p1 n1: the
 * positives (groups 2, sample 1 of each) are [2, 5]; alone, seeded [30, 40], dx = [0, 30, 0, 0,
 * 40, 0].
 */
#include <math.h>

#include "testutil.h"
#include "vkd_ops.h"

static void concat_check(struct vkd_context *ctx)
{
    struct vkd_graph *g = vkd_graph_create();
    int a = vkd_graph_input(g, "a", VKD_F32, 1, 1, 1, 2);
    int b = vkd_graph_input(g, "b", VKD_F32, 1, 2, 1, 2);
    vkd_graph_set_requires_grad(g, a);
    vkd_graph_set_requires_grad(g, b);
    int x[2] = {a, b};
    int y = vkd_concat(g, "y", x, 2);
    int s = vkd_split(g, "s", y, 1, 1);
    int dy = vkd_graph_input(g, "dy", VKD_F32, 1, 3, 1, 2);
    int ds = vkd_graph_input(g, "ds", VKD_F32, 1, 1, 1, 2);
    /* y's gradient is seeded and the split adds its own: seeds first, then the split's
     * backward (acc), then concat's. */
    vkd_graph_seed(g, y, dy);
    vkd_graph_seed(g, s, ds);
    vkd_graph_finalize(g, 0);
    const double av[2] = {1, 2}, bv[4] = {3, 4, 5, 6}, dyv[6] = {10, 11, 12, 13, 14, 15};
    const double dsv[2] = {100, 200};
    double yv[6], sv[2], da[2], db[4];
    const struct vkd_test_in in[] = {{a, av}, {b, bv}, {dy, dyv}, {ds, dsv}};
    const struct vkd_test_out out[] = {{y, yv},
                                       {s, sv},
                                       {vkd_graph_tensor_at(g, a)->grad, da},
                                       {vkd_graph_tensor_at(g, b)->grad, db}};
    int rc = vkd_test_run_graph(ctx, g, in, 4, out, 4);
    vkd_graph_destroy(g);
    if (rc)
        return;
    const double want_y[6] = {1, 2, 3, 4, 5, 6}, want_s[2] = {3, 4};
    const double want_da[2] = {10, 11}, want_db[4] = {112, 213, 14, 15};
    vkd_test_expect_all("concat([1, 2], [3, 4, 5, 6]) = [1 .. 6]", yv, want_y, 6, 0, 0);
    vkd_test_expect_all("split channel [1, 2) of it = [3, 4]", sv, want_s, 2, 0, 0);
    vkd_test_expect_all("concat backward: da = dy[0:2]", da, want_da, 2, 0, 0);
    vkd_test_expect_all("concat backward: db = dy[2:6] + the split's [100, 200] on channel 1", db,
                        want_db, 4, 0, 0);
}

/* The slices of x (3, 1, 1, 2) = [1 .. 6] described at the top; alone: only the middle one. */
static void slice_check(struct vkd_context *ctx, int alone)
{
    struct vkd_graph *g = vkd_graph_create();
    int x = vkd_graph_input(g, "x", VKD_F32, 3, 1, 1, 2);
    vkd_graph_set_requires_grad(g, x);
    int ya = alone ? -1 : vkd_batch_slice(g, "anchor", x, 0, 1);
    int yp = vkd_batch_slice(g, "positive", x, 1, 1);
    int yn = alone ? -1 : vkd_batch_slice(g, "negative", x, 2, 1);
    int cp = alone ? -1 : vkd_copy(g, "copy", x);
    int da = vkd_graph_input(g, "da", VKD_F32, 1, 1, 1, 2);
    int dp = vkd_graph_input(g, "dp", VKD_F32, 1, 1, 1, 2);
    int dc = vkd_graph_input(g, "dc", VKD_F32, 3, 1, 1, 2);
    vkd_graph_seed(g, yp, dp);
    if (!alone) {
        vkd_graph_seed(g, ya, da);
        vkd_graph_seed(g, cp, dc);
    }
    vkd_graph_finalize(g, 0);
    const double xv[6] = {1, 2, 3, 4, 5, 6}, dav[2] = {10, 20}, dpv[2] = {30, 40};
    double yav[2] = {0}, ypv[2], ynv[2] = {0}, dx[6];
    /* dx starts as NaN, as stale memory would: all of it must be written */
    const double nan6[6] = {NAN, NAN, NAN, NAN, NAN, NAN};
    int gx = vkd_graph_tensor_at(g, x)->grad;
    const struct vkd_test_in in[] = {{x, xv}, {da, dav}, {dp, dpv}, {dc, xv}, {gx, nan6}};
    const struct vkd_test_out out[] = {{yp, ypv}, {ya, yav}, {yn, ynv}, {gx, dx}};
    int rc = vkd_test_run_graph(ctx, g, in, 5, out, 4);
    vkd_graph_destroy(g);
    if (rc)
        return;
    const double want_p[2] = {3, 4}, want_alone[6] = {0, 0, 30, 40, 0, 0};
    const double want_a[2] = {1, 2}, want_n[2] = {5, 6}, want_dx[6] = {11, 22, 33, 44, 5, 6};
    vkd_test_expect_all("batch slice [1, 2) of [1 .. 6] (3 samples of 2) = [3, 4]", ypv, want_p, 2,
                        0, 0);
    if (alone) {
        vkd_test_expect_all("middle slice alone: dx = [0, 0, 30, 40, 0, 0]", dx, want_alone, 6, 0,
                            0);
        return;
    }
    vkd_test_expect_all("anchor third = [1, 2]", yav, want_a, 2, 0, 0);
    vkd_test_expect_all("negative third = [5, 6]", ynv, want_n, 2, 0, 0);
    vkd_test_expect_all("thirds + copy: dx = [11, 22, 33, 44, 5, 6]", dx, want_dx, 6, 0, 0);
}

static void triplet_check(struct vkd_context *ctx)
{
    struct vkd_graph *g = vkd_graph_create();
    int x = vkd_graph_input(g, "x", VKD_F32, 6, 1, 1, 1);
    vkd_graph_set_requires_grad(g, x);
    int yp = vkd_batch_slice_groups(g, "positives", x, 2, 1, 1);
    int dp = vkd_graph_input(g, "dp", VKD_F32, 2, 1, 1, 1);
    vkd_graph_seed(g, yp, dp);
    vkd_graph_finalize(g, 0);
    const double xv[6] = {1, 2, 3, 4, 5, 6}, dpv[2] = {30, 40};
    const double nan6[6] = {NAN, NAN, NAN, NAN, NAN, NAN};
    double ypv[2], dx[6];
    int gx = vkd_graph_tensor_at(g, x)->grad;
    /* dx starts as NaN (stale memory) */
    const struct vkd_test_in in[] = {{x, xv}, {dp, dpv}, {gx, nan6}};
    const struct vkd_test_out out[] = {{yp, ypv}, {gx, dx}};
    int rc = vkd_test_run_graph(ctx, g, in, 3, out, 2);
    vkd_graph_destroy(g);
    if (rc)
        return;
    const double want_p[2] = {2, 5}, want_dx[6] = {0, 30, 0, 0, 40, 0};
    vkd_test_expect_all("positives of interleaved triplets [1 .. 6] = [2, 5]", ypv, want_p, 2, 0,
                        0);
    vkd_test_expect_all("... alone: dx = [0, 30, 0, 0, 40, 0]", dx, want_dx, 6, 0, 0);
}

/* Copies: every check is exact (tolerance 0). */
static void hand_checks(struct vkd_context *ctx)
{
    concat_check(ctx);
    slice_check(ctx, 0);
    slice_check(ctx, 1);
    triplet_check(ctx);
}

int main(int argc, char **argv)
{
    return vkd_test_hand_main(argc, argv, "shape", hand_checks);
}

/*
 * shape.c - op-check cases of the shape family (engine/ops/shape.c): concat of 1 to 4 inputs
 * (and the 8 a node holds) with equal and unequal channel counts (1, primes), batch 1, planes
 * of 1 pixel and of prime sizes that are no multiple of the workgroup, CORSD's pair input (two
 * stage-1 maps of 16 channels at 32x32); inputs without a gradient among ones with; inputs that
 * feed another node (backward adds: node.acc); split of the first, a middle, the last and the
 * whole channel range, two splits of one tensor (the later overwrites dx with zeros outside its
 * range, the earlier adds its own), and a split whose input feeds another node; batch slices:
 * the whole batch, one sample, a middle range alone (its overwriting backward must zero the
 * samples it does not cover), the anchor / positive / negative thirds of a triplet batch with
 * and without another consumer of the batch, and two overlapping slices that leave a sample
 * uncovered; grouped slices: a range of every group alone (zeros elsewhere in every group) and
 * with another consumer, and the three members of interleaved triplets (CORSD's batch order).
 *
 * Reduction lengths (vkd_check_k): every pass copies, so the outputs are exact: K = 1; a
 * gradient that adds to another is one fp32 addition: K = 2; where up to three additions meet
 * (overlapping slices plus another consumer, or thirds plus a consumer) K = 4, a bound on the
 * fp32 additions behind one element.
 */
#include <stdio.h>

#include "vkd_cases.h"
#include "vkd_ops.h"

enum { SH_CONST1 = 1, SH_FANOUT = 2 };

/* a: n h w flags k c_0 .. c_{k-1}. SH_CONST1: input 1 has no gradient; SH_FANOUT: input 0
 * also feeds a seeded relu added after the concat. */
static struct vkd_check *concat_case(const int *a)
{
    int n = a[0], h = a[1], w = a[2], flags = a[3], k = a[4];
    char shape[64];
    int len = snprintf(shape, sizeof(shape), "%dx(", n);
    for (int j = 0; j < k && len < 40; j++)
        len += snprintf(shape + len, sizeof(shape) - (size_t)len, "%s%d", j ? "+" : "", a[5 + j]);
    snprintf(shape + len, sizeof(shape) - (size_t)len, ")x%dx%d%s%s", h, w,
             flags & SH_CONST1 ? " x1 const" : "", flags & SH_FANOUT ? " acc" : "");
    struct vkd_check *c = vkd_check_create("concat", shape);
    if (!c)
        return NULL;
    struct vkd_graph *g = vkd_check_graph(c);
    int x[VKD_CONCAT_MAX];
    for (int j = 0; j < k; j++) {
        char name[8];
        snprintf(name, sizeof(name), "x%d", j);
        x[j] = vkd_graph_input(g, name, VKD_F32, n, a[5 + j], h, w);
        if (!(j == 1 && (flags & SH_CONST1)))
            vkd_graph_set_requires_grad(g, x[j]);
    }
    vkd_check_seed(c, vkd_concat(g, "y", x, k));
    if (flags & SH_FANOUT) {
        vkd_check_uniform_gap(c, x[0], -1, 1, 1e-3); /* relu's FD stays off its kink */
        vkd_check_seed(c, vkd_relu(g, "r", x[0]));
        vkd_check_k(c, x[0], 2);
    }
    if (vkd_check_finalize(c) != VKD_OK) {
        vkd_check_destroy(c);
        return NULL;
    }
    return c;
}

enum { SP_TWICE = 1, SP_FANOUT = 2 };

/* a: n c h w c0 cn flags. SP_TWICE: a second split of x, channels [c0 + cn + 1, c) (added
 * after the first, so its backward overwrites and the first's adds); SP_FANOUT: x also feeds
 * a seeded relu added after the split. */
static struct vkd_check *split_case(const int *a)
{
    int c0 = a[4], cn = a[5], flags = a[6];
    char shape[64];
    snprintf(shape, sizeof(shape), "%dx%dx%dx%d [%d,%d)%s%s", a[0], a[1], a[2], a[3], c0, c0 + cn,
             flags & SP_TWICE ? " + 2nd split" : "", flags & SP_FANOUT ? " acc" : "");
    struct vkd_check *c = vkd_check_create("split", shape);
    if (!c)
        return NULL;
    struct vkd_graph *g = vkd_check_graph(c);
    int x = vkd_graph_input(g, "x", VKD_F32, a[0], a[1], a[2], a[3]);
    vkd_graph_set_requires_grad(g, x);
    vkd_check_seed(c, vkd_split(g, "y", x, c0, cn));
    if (flags & SP_TWICE)
        vkd_check_seed(c, vkd_split(g, "y2", x, c0 + cn + 1, a[1] - (c0 + cn + 1)));
    if (flags & SP_FANOUT) {
        vkd_check_uniform_gap(c, x, -1, 1, 1e-3);
        vkd_check_seed(c, vkd_relu(g, "r", x));
    }
    vkd_check_k(c, x, flags ? 2 : 1);
    if (vkd_check_finalize(c) != VKD_OK) {
        vkd_check_destroy(c);
        return NULL;
    }
    return c;
}

enum { SL_THIRDS = 1, SL_OVERLAP = 2, SL_FANOUT = 4, SL_TRIPLETS = 8 };

/* a: n c h w n0 cnt flags groups (0 means 1; vkd_batch_slice_groups). SL_THIRDS: three
 * slices [0, N/3), [N/3, 2N/3), [2N/3, N) (n0 and cnt unused; N a multiple of 3);
 * SL_TRIPLETS: the same members of an interleaved batch a0 p0 n0 a1 ...: three grouped slices
 * (groups N/3, n0 0, 1, 2, one sample each); SL_OVERLAP: a second slice [n0 + cnt - 1, N - 1) that
 * overlaps the first in one sample and leaves the last uncovered ("ovl"); SL_FANOUT: x also
 * feeds a seeded relu added after the slices. */
static struct vkd_check *slice_case(const int *a)
{
    int nb = a[0], n0 = a[4], cnt = a[5], flags = a[6], groups = a[7] ? a[7] : 1;
    char shape[64];
    if (flags & (SL_THIRDS | SL_TRIPLETS))
        snprintf(shape, sizeof(shape), "%dx%dx%dx%d %s%s", nb, a[1], a[2], a[3],
                 flags & SL_THIRDS ? "thirds" : "triplets", flags & SL_FANOUT ? " acc" : "");
    else
        snprintf(shape, sizeof(shape), "%dx%dx%dx%d %d x [%d,%d)%s%s", nb, a[1], a[2], a[3], groups,
                 n0, n0 + cnt, flags & SL_OVERLAP ? " + overlap" : "",
                 flags & SL_FANOUT ? " acc" : "");
    struct vkd_check *c = vkd_check_create("batch_slice", shape);
    if (!c)
        return NULL;
    struct vkd_graph *g = vkd_check_graph(c);
    int x = vkd_graph_input(g, "x", VKD_F32, nb, a[1], a[2], a[3]);
    vkd_graph_set_requires_grad(g, x);
    int adds = 0; /* gradient contributions that meet on one sample, less one */
    static const char *const names[3] = {"anchor", "positive", "negative"};
    if (flags & SL_THIRDS) {
        for (int j = 0; j < 3; j++)
            vkd_check_seed(c, vkd_batch_slice(g, names[j], x, j * nb / 3, nb / 3));
    } else if (flags & SL_TRIPLETS) {
        for (int j = 0; j < 3; j++)
            vkd_check_seed(c, vkd_batch_slice_groups(g, names[j], x, nb / 3, j, 1));
    } else {
        vkd_check_seed(c, vkd_batch_slice_groups(g, "y", x, groups, n0, cnt));
        if (flags & SL_OVERLAP) {
            int o0 = n0 + cnt - 1; /* groups == 1 */
            vkd_check_seed(c, vkd_batch_slice(g, "y2", x, o0, nb - 1 - o0));
            adds++;
        }
    }
    if (flags & SL_FANOUT) {
        vkd_check_uniform_gap(c, x, -1, 1, 1e-3); /* relu's FD stays off its kink */
        vkd_check_seed(c, vkd_relu(g, "r", x));
        adds++;
    }
    vkd_check_k(c, x, adds == 0 ? 1 : adds == 1 ? 2 : 4);
    if (vkd_check_finalize(c) != VKD_OK) {
        vkd_check_destroy(c);
        return NULL;
    }
    return c;
}

static const struct vkd_case cases[] = {
    {"concat 1x(1)x1x1", 0, concat_case, {1, 1, 1, 0, 1, 1}},
    {"concat 1x(1+1)x1x1", 0, concat_case, {1, 1, 1, 0, 2, 1, 1}},
    {"concat 3x(5+5)x7x7", 1, concat_case, {3, 7, 7, 0, 2, 5, 5}},
    {"concat 2x(1+5+3)x13x11 x1 const", 1, concat_case, {2, 13, 11, SH_CONST1, 3, 1, 5, 3}},
    {"concat 1x(2+7+1+3)x17x19 acc", 0, concat_case, {1, 17, 19, SH_FANOUT, 4, 2, 7, 1, 3}},
    {"concat 2x(8 x 1..8)x3x5", 0, concat_case, {2, 3, 5, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8}},
    {"concat 6x(16+16)x32x32 (CORSD pair)", 1, concat_case, {6, 32, 32, 0, 2, 16, 16}},
    {"split 1x1x1x1 [0,1)", 0, split_case, {1, 1, 1, 1, 0, 1, 0}},
    {"split 3x7x5x5 [0,2)", 0, split_case, {3, 7, 5, 5, 0, 2, 0}},
    {"split 2x13x17x19 [4,9)", 1, split_case, {2, 13, 17, 19, 4, 5, 0}},
    {"split 2x6x9x7 [5,6)", 0, split_case, {2, 6, 9, 7, 5, 1, 0}},
    {"split 2x6x9x7 [0,2) + [3,6)", 1, split_case, {2, 6, 9, 7, 0, 2, SP_TWICE}},
    {"split 1x5x31x37 [1,4) acc", 0, split_case, {1, 5, 31, 37, 1, 3, SP_FANOUT}},
    {"split 6x32x32x32 [16,32) (CORSD pair)", 1, split_case, {6, 32, 32, 32, 16, 16, 0}},
    {"slice 1x1x1x1 [0,1)", 0, slice_case, {1, 1, 1, 1, 0, 1, 0}},
    {"slice 5x3x7x7 [0,5)", 0, slice_case, {5, 3, 7, 7, 0, 5, 0}},
    {"slice 7x3x5x5 [2,5)", 1, slice_case, {7, 3, 5, 5, 2, 3, 0}},
    {"slice 11x2x3x1 [10,11)", 0, slice_case, {11, 2, 3, 1, 10, 1, 0}},
    {"slice 9x5x3x3 thirds", 1, slice_case, {9, 5, 3, 3, 0, 0, SL_THIRDS}},
    {"slice 3x1x1x1 thirds acc", 0, slice_case, {3, 1, 1, 1, 0, 0, SL_THIRDS | SL_FANOUT}},
    {"slice 15x7x5x3 thirds acc", 1, slice_case, {15, 7, 5, 3, 0, 0, SL_THIRDS | SL_FANOUT}},
    {"slice 8x3x13x1 [1,4) ovl acc", 0, slice_case, {8, 3, 13, 1, 1, 3, SL_OVERLAP | SL_FANOUT}},
    {"slice 129x16x32x32 thirds (CORSD)", 0, slice_case, {129, 16, 32, 32, 0, 0, SL_THIRDS}},
    {"slice 12x2x3x5 3 x [1,3)", 1, slice_case, {12, 2, 3, 5, 1, 2, 0, 3}},
    {"slice 10x3x1x7 5 x [1,2) acc", 0, slice_case, {10, 3, 1, 7, 1, 1, SL_FANOUT, 5}},
    {"slice 3x2x2x2 triplets", 0, slice_case, {3, 2, 2, 2, 0, 0, SL_TRIPLETS}},
    {"slice 21x5x3x3 triplets acc", 1, slice_case, {21, 5, 3, 3, 0, 0, SL_TRIPLETS | SL_FANOUT}},
    {"slice 129x16x32x32 triplets (CORSD)", 0, slice_case, {129, 16, 32, 32, 0, 0, SL_TRIPLETS}},
};

const struct vkd_case_family vkd_cases_shape = {"shape", cases, sizeof(cases) / sizeof(cases[0])};

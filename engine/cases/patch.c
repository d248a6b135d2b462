/*
 * patch.c - op-check cases of the patch family (engine/ops/patch.c): both directions, batch 1,
 * primes (C = 3, 7; 7 x 7 maps in one patch), 1 x 1 patches (rows = pixels), non-square
 * patches and patch grids, LKD's CIFAR stages (g = 4 grid on 32 x 32, 16 x 16 and 8 x 8 maps:
 * 8 x 8, 4 x 4, 2 x 2 patches), element counts that are no multiple of the workgroup, and an
 * input that feeds another node (backward adds: node.acc).
 *
 * Tolerances: a permutation does no arithmetic, so forward and backward are exact (K = 1 leaves
 * a tolerance of 8 u (|ref| + rms), far above the 0 measured); the accumulating backward adds
 * two gradients, one rounding (K = 2, as every family's acc case).
 */
#include <stdio.h>

#include "vkd_cases.h"
#include "vkd_ops.h"

enum { PT_ROWS = 0, PT_MAP = 1 };

/* a: n c h w ph pw dir fanout */
static struct vkd_check *patch_case(const int *a)
{
    int n = a[0], c = a[1], h = a[2], w = a[3], ph = a[4], pw = a[5], dir = a[6];
    char label[64];
    snprintf(label, sizeof(label), "%dx%dx%dx%d p%dx%d %s%s", n, c, h, w, ph, pw,
             dir == PT_ROWS ? "to rows" : "to map", a[7] ? " acc" : "");
    struct vkd_check *chk = vkd_check_create(dir == PT_ROWS ? "patch_rows" : "rows_patch", label);
    if (!chk)
        return NULL;
    struct vkd_graph *g = vkd_check_graph(chk);
    int R = n * (h / ph) * (w / pw), d = c * ph * pw, x, y;
    if (dir == PT_ROWS) {
        x = vkd_graph_input(g, "x", VKD_F32, n, c, h, w);
        vkd_graph_set_requires_grad(g, x);
        y = vkd_patch_to_rows(g, "rows", x, ph, pw);
    } else {
        x = vkd_graph_input(g, "rows", VKD_F32, 1, R, 1, d);
        vkd_graph_set_requires_grad(g, x);
        y = vkd_rows_to_patch(g, "map", x, n, c, h, w, ph, pw);
    }
    vkd_check_uniform_gap(chk, x, -1, 1, 1e-3); /* a ReLU consumer's FD stays off its kink */
    vkd_check_seed(chk, y);
    if (a[7]) {
        vkd_check_seed(chk, vkd_relu(g, "r", x)); /* after the permutation: its backward adds */
        vkd_check_k(chk, x, 2);
    }
    if (vkd_check_finalize(chk) != VKD_OK) {
        vkd_check_destroy(chk);
        return NULL;
    }
    return chk;
}

static const struct vkd_case cases[] = {
    {"1x1x2x2 p1x1 to rows", 0, patch_case, {1, 1, 2, 2, 1, 1, PT_ROWS, 0}},
    {"1x3x7x7 p7x7 to rows", 0, patch_case, {1, 3, 7, 7, 7, 7, PT_ROWS, 0}},
    {"2x7x6x10 p2x2 to rows", 1, patch_case, {2, 7, 6, 10, 2, 2, PT_ROWS, 0}},
    {"3x5x9x4 p3x2 to rows", 0, patch_case, {3, 5, 9, 4, 3, 2, PT_ROWS, 0}},
    {"2x3x5x7 p1x1 to rows (pixels)", 0, patch_case, {2, 3, 5, 7, 1, 1, PT_ROWS, 0}},
    {"4x16x32x32 p8x8 to rows (LKD s1)", 1, patch_case, {4, 16, 32, 32, 8, 8, PT_ROWS, 0}},
    {"4x32x16x16 p4x4 to rows (LKD s2)", 0, patch_case, {4, 32, 16, 16, 4, 4, PT_ROWS, 0}},
    {"5x64x8x8 p2x2 to rows (LKD s3)", 0, patch_case, {5, 64, 8, 8, 2, 2, PT_ROWS, 0}},
    {"2x3x4x6 p2x3 to rows acc", 1, patch_case, {2, 3, 4, 6, 2, 3, PT_ROWS, 1}},
    {"1x3x7x7 p7x7 to map", 0, patch_case, {1, 3, 7, 7, 7, 7, PT_MAP, 0}},
    {"2x7x6x10 p2x2 to map", 1, patch_case, {2, 7, 6, 10, 2, 2, PT_MAP, 0}},
    {"3x5x9x4 p3x2 to map", 0, patch_case, {3, 5, 9, 4, 3, 2, PT_MAP, 0}},
    {"5x64x8x8 p2x2 to map (LKD s3)", 0, patch_case, {5, 64, 8, 8, 2, 2, PT_MAP, 0}},
    {"2x3x4x6 p2x3 to map acc", 1, patch_case, {2, 3, 4, 6, 2, 3, PT_MAP, 1}},
};

const struct vkd_case_family vkd_cases_patch = {"patch", cases, sizeof(cases) / sizeof(cases[0])};

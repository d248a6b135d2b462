/*
 * patch.c - the patch family: the permutation between a feature map x (N, C, H, W) and the rows
 * of its non-overlapping ph x pw patches, LKD's patch vectors (methods.md section 2: "patch <->
 * row permutation (no overlap, a strided copy)"), so that one Gram over all N (H/ph)(W/pw)
 * patch rows of a batch is one vkd_gram call:
 *   rows[r][e] = x[s][k][a ph + i][b pw + j],   r = (s (H/ph) + a)(W/pw) + b,
 *                                               e = (k ph + i) pw + j
 * (the element order of torch's F.unfold(x, (ph, pw), stride=(ph, pw)).transpose(1, 2); see
 * shaders/patch.h). Two ops, each the other's backward:
 *   patch_to_rows  x -> rows,  dx = rows_to_patch(drows)
 *   rows_to_patch  rows -> x,  drows = patch_to_rows(dx)
 * A permutation moves values without arithmetic: forward and backward are exact.
 *
 * Gradient convention (graph.c): backward writes the input's gradient, overwriting when
 * node.acc[0] == 0 and adding when 1.
 *
 * The node: in[0] the source; out[0] the permuted copy, differentiable. attr: struct
 * vkd_patch_params (shaders/patch.h) with dir = the forward's direction; the backward runs the
 * other. Vulkan: patch_copy, elementwise.
 */
#include "internal.h"
#include "vkd_ops.h"

/* ---- CPU reference (the specification) ----------------------------------------------------- */

/* Offset in the rows of map element i (NCHW order). */
static size_t row_off(const struct vkd_patch_params *p, size_t i)
{
    size_t x = i % p->w, y = i / p->w % p->h, k = i / ((size_t)p->w * p->h) % p->c;
    size_t s = i / ((size_t)p->w * p->h * p->c);
    size_t row = (s * (p->h / p->ph) + y / p->ph) * (p->w / p->pw) + x / p->pw;
    size_t col = (k * p->ph + y % p->ph) * p->pw + x % p->pw;
    return row * ((size_t)p->c * p->ph * p->pw) + col;
}

/* dst (+)= src permuted in direction dir (acc: add). */
static void ref_patch_copy(const struct vkd_patch_params *p, uint32_t dir, int acc,
                           const double *src, double *dst)
{
    for (size_t i = 0; i < p->count; i++) {
        size_t r = row_off(p, i);
        if (dir == VKD_PATCH_TO_ROWS)
            vkd_ref_put(&dst[r], acc, src[i]);
        else
            vkd_ref_put(&dst[i], acc, src[r]);
    }
}

/* ---- node glue ------------------------------------------------------------------------------ */

static void patch_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    const struct vkd_patch_params *p = (const void *)n->attr;
    ref_patch_copy(p, p->dir, 0, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->out[0]));
}

static void patch_ref_bwd(struct vkd_ref *e, const struct vkd_node *n)
{
    const struct vkd_patch_params *p = (const void *)n->attr;
    double *din = vkd_ref_g(e, n->in[0]);
    if (din)
        ref_patch_copy(p, p->dir ^ 1u, n->acc[0], vkd_ref_g(e, n->out[0]), din);
}

static void record(struct vkd_rec *r, struct vkd_patch_params p, struct vkd_view src,
                   struct vkd_view dst)
{
    struct vkd_view v[2] = {src, dst};
    uint32_t gx, gy;
    vkd_rec_groups_1d(r, p.count, vkd_rec_wg(r), &gx, &gy);
    vkd_rec_dispatch(r, VKD_K_PATCH_COPY, v, 2, &p, sizeof(p), gx, gy, 1);
}

static void patch_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    struct vkd_patch_params p = *(const struct vkd_patch_params *)n->attr;
    p.acc = 0;
    record(r, p, vkd_rec_t(r, n->in[0]), vkd_rec_t(r, n->out[0]));
}

static void patch_vk_bwd(struct vkd_rec *r, const struct vkd_node *n)
{
    if (vkd_graph_tensor_at(vkd_rec_graph(r), n->in[0])->grad < 0)
        return;
    struct vkd_patch_params p = *(const struct vkd_patch_params *)n->attr;
    p.dir ^= 1u;
    p.acc = n->acc[0];
    record(r, p, vkd_rec_g(r, n->out[0]), vkd_rec_g(r, n->in[0]));
}

/* One op for both directions: the attr's dir says which one is the forward. */
static const struct vkd_op op_patch = {"patch",       1,        patch_ref,
                                       patch_ref_bwd, patch_vk, patch_vk_bwd};

/* ---- builders -------------------------------------------------------------------------------- */

static struct vkd_patch_params params(int n, int c, int h, int w, int ph, int pw, uint32_t dir)
{
    /* Patches are equal and do not overlap: they must tile the map. */
    VKD_ASSERT(n > 0 && c > 0 && ph > 0 && pw > 0 && h % ph == 0 && w % pw == 0);
    size_t count = (size_t)n * c * h * w;
    VKD_ASSERT(count < ((size_t)1 << 32)); /* 32-bit indices in the shader */
    return (struct vkd_patch_params){(uint32_t)n,     (uint32_t)c,  (uint32_t)h,
                                     (uint32_t)w,     (uint32_t)ph, (uint32_t)pw,
                                     (uint32_t)count, dir,          0};
}

int vkd_patch_to_rows(struct vkd_graph *g, const char *name, int x, int ph, int pw)
{
    const struct vkd_tensor *tx = vkd_graph_tensor_at(g, x);
    VKD_ASSERT(tx->dtype == VKD_F32);
    struct vkd_patch_params p = params(tx->n, tx->c, tx->h, tx->w, ph, pw, VKD_PATCH_TO_ROWS);
    int R = tx->n * (tx->h / ph) * (tx->w / pw), d = tx->c * ph * pw;
    int out[1] = {vkd_graph_act(g, name, 1, R, 1, d)};
    int in[1] = {x};
    vkd_graph_add_node(g, &op_patch, name, in, 1, out, 1, &p, sizeof(p));
    return out[0];
}

int vkd_rows_to_patch(struct vkd_graph *g, const char *name, int rows, int n, int c, int h, int w,
                      int ph, int pw)
{
    const struct vkd_tensor *tr = vkd_graph_tensor_at(g, rows);
    VKD_ASSERT(tr->dtype == VKD_F32);
    struct vkd_patch_params p = params(n, c, h, w, ph, pw, VKD_PATCH_TO_MAP);
    VKD_ASSERT(vkd_tensor_numel(tr) == p.count); /* rows are read as a flat (R, d) view */
    int out[1] = {vkd_graph_act(g, name, n, c, h, w)};
    int in[1] = {rows};
    vkd_graph_add_node(g, &op_patch, name, in, 1, out, 1, &p, sizeof(p));
    return out[0];
}

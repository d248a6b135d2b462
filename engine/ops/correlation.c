/*
 * correlation.c - the correlation family: the batched Gram of feature-map cells with optional
 * row L2-normalisation (methods.md sections 1, 6), the shared pass of ICKD (channel Gram,
 * normalised), LKD (patch rows) and SAKD (spatial Gram).
 *
 * x is (n, c, h, w), cut into grid_h x grid_w cells of ch x cw pixels (p = ch * cw); matrix
 * z = sample * cells + gi * grid_w + gj has F_z[k][q] = x[sample, k, gi*ch + q/cw, gj*cw + q%cw]
 * (a strided view, no copy):
 *   channel mode  G_z = F_z F_z^T   (R = c rows)       spatial mode  G_z = F_z^T F_z   (R = p)
 *   normalize     y = G with every row r replaced by G[r,:] / max(||G[r,:]||, eps)  (F.normalize)
 * Backward (upstream dy = dL/dy):
 *   D[a,:] = (dy[a,:] - (dy[a,:].y[a,:]) y[a,:]) / ||G[a,:]||  if ||G[a,:]|| > eps,
 *            dy[a,:] / eps                                     otherwise   (D = dy unnormalised)
 *   S = D + D^T;  channel dF_z = S F_z,  spatial dF_z = F_z S.
 *
 * Gradient convention (graph.c): backward writes dx, overwriting when node.acc[0] == 0 and
 * adding when 1. Cells cover the map without overlap, so each element of dx is written once.
 *
 * The node: in[0] x; out[0] G (n, cells, R, R), differentiable; with normalize also out[1] the
 * un-clamped row norms (n, cells, R, 1) and out[2] the row dots dy.y (n, cells, R, 1), written
 * by the backward pass (ACT scratch that both executors fill, so the check compares it).
 * attr: struct vkd_gram_params (shaders/correlation.h).
 * Vulkan: correlation_fwd (tiled GEMM over the upper-triangle tiles) + correlation_nrm_fwd (a
 * workgroup per row, in place); backward correlation_nrm_bwd (row dots) + correlation_bwd
 * (tiled GEMM, D and S formed while staging). The self-attention op (attention.c) records the
 * raw Gram and the row dots through vkd_gram_record_raw / vkd_gram_record_rowdots (internal.h).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "vkd_ops.h"

/* ---- CPU reference (the specification) ----------------------------------------------------- */

/* Offset in x of F_z[k][q]. */
static size_t f_off(const struct vkd_gram_params *p, uint32_t z, uint32_t k, uint32_t q)
{
    uint32_t cells = p->grid_h * p->grid_w, sample = z / cells, cell = z % cells;
    uint32_t gi = cell / p->grid_w, gj = cell % p->grid_w;
    return (((size_t)sample * p->c + k) * p->h + gi * p->ch + q / p->cw) * p->w + gj * p->cw +
           q % p->cw;
}

/* A_z(a, j), the matrix whose rows G correlates: F_z[a][j] (channel) or F_z[j][a] (spatial). */
static size_t a_off(const struct vkd_gram_params *p, uint32_t z, uint32_t a, uint32_t j)
{
    return p->mode == VKD_GRAM_CHANNEL ? f_off(p, z, a, j) : f_off(p, z, j, a);
}

/* A_z gathered into a (R x D, row-major): the reference's one pass over the strided cell. */
static void gather(const struct vkd_gram_params *p, const double *x, uint32_t z, double *a)
{
    for (uint32_t r = 0; r < p->rows; r++)
        for (uint32_t j = 0; j < p->depth; j++)
            a[(size_t)r * p->depth + j] = x[a_off(p, z, r, j)];
}

/* G = A A^T (R x R, raw) into g, from A gathered (R x D). */
static void gram_raw(const struct vkd_gram_params *p, const double *a, double *g)
{
    const uint32_t R = p->rows, D = p->depth;
    for (uint32_t i = 0; i < R; i++)
        for (uint32_t k = i; k < R; k++) {
            double s = 0;
            for (uint32_t j = 0; j < D; j++)
                s += a[(size_t)i * D + j] * a[(size_t)k * D + j];
            g[(size_t)i * R + k] = g[(size_t)k * R + i] = s;
        }
}

/* Normalises the rows of g (R x R) in place; norms[a] = the un-clamped norm of row a. */
static void rows_normalize(const struct vkd_gram_params *p, double *g, double *norms)
{
    const uint32_t R = p->rows;
    for (uint32_t a = 0; a < R; a++) {
        double *row = g + (size_t)a * R, s = 0;
        for (uint32_t b = 0; b < R; b++)
            s += row[b] * row[b];
        norms[a] = sqrt(s);
        double r = fmax(norms[a], (double)p->eps);
        for (uint32_t b = 0; b < R; b++)
            row[b] /= r;
    }
}

/* y (batches, R, R) and, with normalize, norms (batches, R). */
static void ref_gram_fwd(const struct vkd_gram_params *p, const double *x, double *y, double *norms)
{
    const size_t RR = (size_t)p->rows * p->rows;
    double *a = malloc((size_t)p->rows * p->depth * sizeof(double));
    VKD_ASSERT(a);
    for (uint32_t z = 0; z < p->batches; z++) {
        gather(p, x, z, a);
        gram_raw(p, a, y + z * RR);
        if (p->normalize)
            rows_normalize(p, y + z * RR, norms + (size_t)z * p->rows);
    }
    free(a);
}

/* dx (+)= the gradient of x for upstream dy; with normalize also dots (batches, R) = dy.y per
 * row. Recomputes G and its norms from x: the reference trusts no saved results. */
static void ref_gram_bwd(const struct vkd_gram_params *p, const double *x, const double *dy,
                         double *dots, double *dx)
{
    const uint32_t R = p->rows, D = p->depth;
    const size_t RR = (size_t)R * R;
    const double eps = p->eps;
    double *y = malloc(RR * sizeof(double)), *d = malloc(RR * sizeof(double));
    double *nrm = malloc(R * sizeof(double)), *a = malloc((size_t)R * D * sizeof(double));
    VKD_ASSERT(y && d && nrm && a);
    /* Every element of dx belongs to exactly one cell: overwrite or add each once. */
    for (uint32_t z = 0; z < p->batches; z++) {
        const double *dyz = dy + z * RR;
        gather(p, x, z, a);
        if (p->normalize) {
            gram_raw(p, a, y);
            rows_normalize(p, y, nrm);
            for (uint32_t i = 0; i < R; i++) {
                double dot = 0;
                for (uint32_t k = 0; k < R; k++)
                    dot += dyz[(size_t)i * R + k] * y[(size_t)i * R + k];
                dots[(size_t)z * R + i] = dot;
                for (uint32_t k = 0; k < R; k++) {
                    size_t o = (size_t)i * R + k;
                    d[o] = nrm[i] > eps ? (dyz[o] - dot * y[o]) / nrm[i] : dyz[o] / eps;
                }
            }
        } else {
            memcpy(d, dyz, RR * sizeof(double));
        }
        /* dA(i, j) = sum_k S(i, k) A(k, j), S = D + D^T; A's element is F's, so dA goes to
         * the same place in dx. */
        for (uint32_t i = 0; i < R; i++)
            for (uint32_t j = 0; j < D; j++) {
                double s = 0;
                for (uint32_t k = 0; k < R; k++)
                    s += (d[(size_t)i * R + k] + d[(size_t)k * R + i]) * a[(size_t)k * D + j];
                vkd_ref_put(&dx[a_off(p, z, i, j)], (int)p->acc, s);
            }
    }
    free(y);
    free(d);
    free(nrm);
    free(a);
}

/* ---- node glue: CPU ------------------------------------------------------------------------- */

static void gram_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    const struct vkd_gram_params *p = (const void *)n->attr;
    ref_gram_fwd(p, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->out[0]),
                 p->normalize ? vkd_ref_t(e, n->out[1]) : NULL);
}

static void gram_ref_bwd(struct vkd_ref *e, const struct vkd_node *n)
{
    double *dx = vkd_ref_g(e, n->in[0]);
    if (!dx)
        return;
    struct vkd_gram_params p = *(const struct vkd_gram_params *)n->attr;
    p.acc = n->acc[0];
    ref_gram_bwd(&p, vkd_ref_t(e, n->in[0]), vkd_ref_g(e, n->out[0]),
                 p.normalize ? vkd_ref_t(e, n->out[2]) : NULL, dx);
}

/* ---- node glue: Vulkan ---------------------------------------------------------------------- */

/* The matrices fold into the grid's (y, z): gz slices of fold <= VKD_CORR_FOLD (correlation.h),
 * balanced so that fewer than gz workgroups of the last slice are idle (correlation.glsl). */
void vkd_gram_batch_grid(struct vkd_rec *r, struct vkd_gram_params *p, uint32_t gx, uint32_t *gy,
                         uint32_t *gz)
{
    const struct vkd_device_info *d = &vkd_rec_context(r)->info;
    /* Vulkan guarantees only 128 invocations per workgroup; every GPU this engine targets
     * offers the 256 of a 16 x 16 tile (as the linear family's GEMM). */
    VKD_ASSERT(d->max_workgroup_invocations >= VKD_CORR_WG * VKD_CORR_WG);
    *gz = vkd_div_up(p->batches, VKD_CORR_FOLD);
    p->fold = vkd_div_up(p->batches, *gz);
    *gy = p->fold;
    VKD_ASSERT(gx <= d->max_workgroup_count[0] && *gy <= d->max_workgroup_count[1] &&
               *gz <= d->max_workgroup_count[2]);
}

/* CPU-device grid along x: clusters of CL lanes take (row block of MB, column chunk of CL * NB)
 * pairs, tiles_n chunks per row block, WG / CL clusters per workgroup. */
static uint32_t cpu_grid_x(struct vkd_gram_params *p, uint32_t rows, uint32_t cols)
{
    p->tiles_n = vkd_div_up(cols, VKD_CORR_CPU_CL * VKD_CORR_CPU_NB);
    uint64_t clusters = (uint64_t)vkd_div_up(rows, VKD_CORR_CPU_MB) * p->tiles_n;
    return (uint32_t)vkd_div_up(clusters, VKD_CORR_CPU_WG / VKD_CORR_CPU_CL);
}

void vkd_gram_record_raw(struct vkd_rec *r, struct vkd_gram_params p, struct vkd_view x,
                         struct vkd_view g)
{
    struct vkd_view v[2] = {x, g};
    uint32_t gx, gy, gz;
    if (vkd_rec_cpu_kernels(r)) {
        gx = cpu_grid_x(&p, p.rows, p.rows);
        vkd_gram_batch_grid(r, &p, gx, &gy, &gz);
        vkd_rec_dispatch(r, VKD_K_CORRELATION_FWD_CPU, v, 2, &p, sizeof(p), gx, gy, gz);
        return;
    }
    uint32_t t = vkd_div_up(p.rows, VKD_CORR_TILE);
    gx = t * (t + 1) / 2;
    p.tiles_n = t;
    vkd_gram_batch_grid(r, &p, gx, &gy, &gz);
    vkd_rec_dispatch(r, VKD_K_CORRELATION_FWD, v, 2, &p, sizeof(p), gx, gy, gz);
}

void vkd_gram_record_rowdots(struct vkd_rec *r, const struct vkd_gram_params *p, struct vkd_view y,
                             struct vkd_view dy, struct vkd_view dots)
{
    struct vkd_view v[3] = {y, dy, dots};
    uint32_t gx, gy;
    vkd_rec_groups_1d(r, (uint64_t)p->batches * p->rows, 1, &gx, &gy); /* a workgroup per row */
    vkd_rec_dispatch(r, VKD_K_CORRELATION_NRM_BWD, v, 3, p, sizeof(*p), gx, gy, 1);
}

static void gram_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    struct vkd_gram_params p = *(const struct vkd_gram_params *)n->attr;
    struct vkd_view y = vkd_rec_t(r, n->out[0]);
    vkd_gram_record_raw(r, p, vkd_rec_t(r, n->in[0]), y);
    if (!p.normalize)
        return;
    struct vkd_view w[2] = {y, vkd_rec_t(r, n->out[1])};
    uint32_t gx, gy;
    vkd_rec_groups_1d(r, (uint64_t)p.batches * p.rows, 1, &gx, &gy); /* a workgroup per row */
    vkd_rec_dispatch(r, VKD_K_CORRELATION_NRM_FWD, w, 2, &p, sizeof(p), gx, gy, 1);
}

static void gram_vk_bwd(struct vkd_rec *r, const struct vkd_node *n)
{
    if (vkd_graph_tensor_at(vkd_rec_graph(r), n->in[0])->grad < 0)
        return;
    struct vkd_gram_params p = *(const struct vkd_gram_params *)n->attr;
    p.acc = n->acc[0];
    struct vkd_view dy = vkd_rec_g(r, n->out[0]), y = dy, norms = dy, dots = dy;
    uint32_t gx, gy, gz;
    if (p.normalize) {
        y = vkd_rec_t(r, n->out[0]);
        norms = vkd_rec_t(r, n->out[1]);
        dots = vkd_rec_t(r, n->out[2]);
        vkd_gram_record_rowdots(r, &p, y, dy, dots);
    }
    int cpu = vkd_rec_cpu_kernels(r);
    if (cpu) {
        gx = cpu_grid_x(&p, p.c, p.ch * p.cw);
    } else {
        p.tiles_n = vkd_div_up(p.ch * p.cw, VKD_CORR_TILE);
        gx = vkd_div_up(p.c, VKD_CORR_TILE) * p.tiles_n;
    }
    vkd_gram_batch_grid(r, &p, gx, &gy, &gz);
    struct vkd_view v[6] = {vkd_rec_t(r, n->in[0]), dy, y, norms, dots, vkd_rec_g(r, n->in[0])};
    vkd_rec_dispatch(r, cpu ? VKD_K_CORRELATION_BWD_CPU : VKD_K_CORRELATION_BWD, v, 6, &p,
                     sizeof(p), gx, gy, gz);
}

static const struct vkd_op op_gram = {"gram", 1, gram_ref, gram_ref_bwd, gram_vk, gram_vk_bwd};

/* ---- builder --------------------------------------------------------------------------------- */

static int named_act(struct vkd_graph *g, const char *name, const char *suffix, int n, int c, int h,
                     int w)
{
    char buf[VKD_NAME_LEN];
    snprintf(buf, sizeof(buf), "%.*s%.9s", VKD_NAME_LEN - 10, name, suffix);
    return vkd_graph_act(g, buf, n, c, h, w);
}

struct vkd_gram_params vkd_gram_params_of(const struct vkd_tensor *tx, enum vkd_gram_mode mode,
                                          uint32_t grid_h, uint32_t grid_w, int normalize)
{
    VKD_ASSERT(tx->dtype == VKD_F32);
    VKD_ASSERT(mode == VKD_GRAM_CHANNEL || mode == VKD_GRAM_SPATIAL);
    VKD_ASSERT(grid_h >= 1 && grid_w >= 1);
    /* Cells are equal and do not overlap: the grid must divide the map. */
    VKD_ASSERT(tx->h % (int)grid_h == 0 && tx->w % (int)grid_w == 0);
    struct vkd_gram_params p = {
        .n = (uint32_t)tx->n,
        .c = (uint32_t)tx->c,
        .h = (uint32_t)tx->h,
        .w = (uint32_t)tx->w,
        .grid_h = grid_h,
        .grid_w = grid_w,
        .ch = (uint32_t)tx->h / grid_h,
        .cw = (uint32_t)tx->w / grid_w,
        .mode = (uint32_t)mode,
        .normalize = normalize != 0,
        .eps = VKD_CORR_EPS,
    };
    uint32_t cells = grid_h * grid_w, pix = p.ch * p.cw;
    p.rows = mode == VKD_GRAM_CHANNEL ? p.c : pix;
    p.depth = mode == VKD_GRAM_CHANNEL ? pix : p.c;
    p.batches = p.n * cells;
    /* The shaders index in 32 bits. */
    VKD_ASSERT(vkd_tensor_numel(tx) < ((size_t)1 << 32));
    VKD_ASSERT((size_t)p.batches * p.rows * p.rows < ((size_t)1 << 32));
    return p;
}

int vkd_gram(struct vkd_graph *g, const char *name, int x, enum vkd_gram_mode mode, uint32_t grid_h,
             uint32_t grid_w, int normalize)
{
    const struct vkd_tensor *tx = vkd_graph_tensor_at(g, x);
    struct vkd_gram_params p = vkd_gram_params_of(tx, mode, grid_h, grid_w, normalize);
    uint32_t cells = grid_h * grid_w;
    int out[3], n_out = 1;
    out[0] = vkd_graph_act(g, name, tx->n, (int)cells, (int)p.rows, (int)p.rows);
    if (p.normalize) {
        out[1] = named_act(g, name, ".norms", tx->n, (int)cells, (int)p.rows, 1);
        out[2] = named_act(g, name, ".dots", tx->n, (int)cells, (int)p.rows, 1);
        n_out = 3;
    }
    int in[1] = {x};
    vkd_graph_add_node(g, &op_gram, name, in, 1, out, n_out, &p, sizeof(p));
    return out[0];
}

/*
 * attention.c - the self-attention family: SAKD's parameter-free feature uniformisation
 * (methods.md section 5), spatial dot-product self-attention with Q = K = X and no weights. Per
 * sample, X is x's C x P matrix (X[k][q] = x[n, k, q / W, q % W], P = H W) and
 *   Z = X^T X,  A[a][b] = exp(s Z[a][b] - m_a) / sum_b' exp(s Z[a][b'] - m_a),
 *   s = fl32(1 / sqrt(C)),  m_a = max_b s Z[a][b]
 * so A (P x P, rows summing to 1) does not depend on C: teacher and student maps compare
 * directly. Backward (upstream dA):
 *   dot_a = sum_b dA[a][b] A[a][b],  D[a][b] = A[a][b] (dA[a][b] - dot_a)   (softmax backward)
 *   dX = s X (D + D^T)                                    (Z = X^T X gives dX = X (dZ + dZ^T))
 *
 * Gradient convention (graph.c): backward writes dx, overwriting when node.acc[0] == 0 and
 * adding when 1. Samples do not overlap, so each element of dx is written once.
 *
 * The node: in[0] x (N, C, H, W); out[0] A (N, 1, P, P), differentiable, which the backward
 * reads (nothing else is kept: Z is overwritten in place); out[1] the row dots (N, 1, P, 1),
 * ACT scratch written by the backward pass (both executors fill it, so the check compares it).
 * attr: struct vkd_attention_params (shaders/attention.h).
 * Vulkan: forward = the correlation family's raw spatial Gram into A (correlation_fwd: only
 * the upper-triangle tiles, half the FLOPs of a plain GEMM, since Z is symmetric) + softmax_fwd
 * in place on A; backward = correlation_nrm_bwd (the row dots dA . A: the same per-row
 * reduction as the normalisation's) + attention_bwd (the correlation GEMM core; D + D^T formed
 * while staging, never stored). Four dispatches, no atomics, no scratch of P x P.
 */
#include <math.h>
#include <stdio.h>

#include "internal.h"
#include "vkd_ops.h"

/* ---- CPU reference (the specification) ----------------------------------------------------- */

/* A_z (P x P) of sample z. */
static void attn_sample(const struct vkd_attention_params *p, const double *x, uint32_t z,
                        double *a)
{
    const uint32_t C = p->p.c, P = p->p.rows;
    const double *xz = x + (size_t)z * C * P, s = p->scale;
    for (uint32_t i = 0; i < P; i++)
        for (uint32_t j = i; j < P; j++) {
            double d = 0;
            for (uint32_t k = 0; k < C; k++)
                d += xz[(size_t)k * P + i] * xz[(size_t)k * P + j];
            a[(size_t)i * P + j] = a[(size_t)j * P + i] = d;
        }
    for (uint32_t i = 0; i < P; i++) {
        double *row = a + (size_t)i * P, m = -INFINITY, sum = 0;
        for (uint32_t j = 0; j < P; j++)
            m = fmax(m, s * row[j]);
        for (uint32_t j = 0; j < P; j++)
            sum += exp(s * row[j] - m);
        for (uint32_t j = 0; j < P; j++)
            row[j] = exp(s * row[j] - m) / sum;
    }
}

static void ref_attention_fwd(const struct vkd_attention_params *p, const double *x, double *a)
{
    const size_t PP = (size_t)p->p.rows * p->p.rows;
    for (uint32_t z = 0; z < p->p.batches; z++)
        attn_sample(p, x, z, a + z * PP);
}

/* dx (+)= the gradient for upstream da; dots (N, P) = the row dots. Recomputes A from x: the
 * reference trusts no saved results. */
static void ref_attention_bwd(const struct vkd_attention_params *p, const double *x,
                              const double *da, double *dots, double *dx)
{
    const uint32_t C = p->p.c, P = p->p.rows;
    const size_t PP = (size_t)P * P;
    double *a = malloc(PP * sizeof(double)), *d = malloc(PP * sizeof(double));
    VKD_ASSERT(a && d);
    for (uint32_t z = 0; z < p->p.batches; z++) {
        const double *xz = x + (size_t)z * C * P, *daz = da + z * PP;
        attn_sample(p, x, z, a);
        for (uint32_t i = 0; i < P; i++) {
            double dot = 0;
            for (uint32_t j = 0; j < P; j++)
                dot += daz[(size_t)i * P + j] * a[(size_t)i * P + j];
            dots[(size_t)z * P + i] = dot;
            for (uint32_t j = 0; j < P; j++)
                d[(size_t)i * P + j] = a[(size_t)i * P + j] * (daz[(size_t)i * P + j] - dot);
        }
        /* dX[k][i] = s sum_j X[k][j] (D[i][j] + D[j][i]) */
        for (uint32_t k = 0; k < C; k++)
            for (uint32_t i = 0; i < P; i++) {
                double acc = 0;
                for (uint32_t j = 0; j < P; j++)
                    acc += xz[(size_t)k * P + j] * (d[(size_t)i * P + j] + d[(size_t)j * P + i]);
                vkd_ref_put(&dx[(size_t)z * C * P + (size_t)k * P + i], (int)p->p.acc,
                            p->scale * acc);
            }
    }
    free(a);
    free(d);
}

/* ---- node glue: CPU ------------------------------------------------------------------------- */

static void attention_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    ref_attention_fwd((const void *)n->attr, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->out[0]));
}

static void attention_ref_bwd(struct vkd_ref *e, const struct vkd_node *n)
{
    double *dx = vkd_ref_g(e, n->in[0]);
    if (!dx)
        return;
    struct vkd_attention_params p = *(const struct vkd_attention_params *)n->attr;
    p.p.acc = n->acc[0];
    ref_attention_bwd(&p, vkd_ref_t(e, n->in[0]), vkd_ref_g(e, n->out[0]), vkd_ref_t(e, n->out[1]),
                      dx);
}

/* ---- node glue: Vulkan ---------------------------------------------------------------------- */

static void attention_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    const struct vkd_attention_params *p = (const void *)n->attr;
    struct vkd_view a = vkd_rec_t(r, n->out[0]);
    vkd_gram_record_raw(r, p->p, vkd_rec_t(r, n->in[0]), a); /* Z = X^T X into A's place */
    struct vkd_softmax_params sp = {
        .rows = p->p.batches * p->p.rows, .len = p->p.rows, .scale = p->scale};
    vkd_softmax_record_fwd(r, &sp, a, a); /* in place: A = rowsoftmax(s Z) */
}

static void attention_vk_bwd(struct vkd_rec *r, const struct vkd_node *n)
{
    if (vkd_graph_tensor_at(vkd_rec_graph(r), n->in[0])->grad < 0)
        return;
    struct vkd_attention_params p = *(const struct vkd_attention_params *)n->attr;
    p.p.acc = n->acc[0];
    struct vkd_view a = vkd_rec_t(r, n->out[0]), da = vkd_rec_g(r, n->out[0]);
    struct vkd_view dots = vkd_rec_t(r, n->out[1]);
    vkd_gram_record_rowdots(r, &p.p, a, da, dots);
    uint32_t gx, gy, gz;
    p.p.tiles_n = vkd_div_up(p.p.rows, VKD_CORR_TILE);
    gx = vkd_div_up(p.p.c, VKD_CORR_TILE) * p.p.tiles_n;
    vkd_gram_batch_grid(r, &p.p, gx, &gy, &gz);
    struct vkd_view v[5] = {vkd_rec_t(r, n->in[0]), da, a, dots, vkd_rec_g(r, n->in[0])};
    vkd_rec_dispatch(r, VKD_K_ATTENTION_BWD, v, 5, &p, sizeof(p), gx, gy, gz);
}

static const struct vkd_op op_attention = {
    "self_attention", 1, attention_ref, attention_ref_bwd, attention_vk, attention_vk_bwd};

/* ---- builder --------------------------------------------------------------------------------- */

int vkd_self_attention(struct vkd_graph *g, const char *name, int x)
{
    const struct vkd_tensor *tx = vkd_graph_tensor_at(g, x);
    struct vkd_attention_params p = {
        .p = vkd_gram_params_of(tx, VKD_GRAM_SPATIAL, 1, 1, 0),
        .scale = (float)(1.0 / sqrt((double)tx->c)),
    };
    const int P = (int)p.p.rows;
    char buf[VKD_NAME_LEN];
    int out[2];
    out[0] = vkd_graph_act(g, name, tx->n, 1, P, P);
    snprintf(buf, sizeof(buf), "%.*s.dots", VKD_NAME_LEN - 6, name);
    out[1] = vkd_graph_act(g, buf, tx->n, 1, P, 1);
    int in[1] = {x};
    vkd_graph_add_node(g, &op_attention, name, in, 1, out, 2, &p, sizeof(p));
    return out[0];
}

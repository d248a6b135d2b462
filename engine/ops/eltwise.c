/*
 * eltwise.c - the elementwise family: fill, copy, relu, add.
 *
 * Gradient convention (graph.c): backward writes the gradient of each input that has one,
 * overwriting when node.acc[i] == 0 and adding when 1. fill has no backward (it only seeds
 * gradients); add's backward is two copies of the output gradient.
 */
#include "internal.h"
#include "vkd_ops.h"

/* ---- CPU reference -------------------------------------------------------------------------- */

static void ref_fill_fwd(const struct vkd_fill_params *p, const double *step, double *out)
{
    for (uint32_t i = 0; i < p->count; i++)
        out[i] = p->slot >= 0 ? step[p->slot] : p->value;
}

static void ref_copy_fwd(const struct vkd_copy_params *p, const double *src, double *dst)
{
    for (uint32_t i = 0; i < p->count; i++)
        vkd_ref_put(&dst[i], (int)p->acc, src[i]);
}

static void ref_relu_fwd(const struct vkd_eltwise_params *p, const double *x, double *y)
{
    for (uint32_t i = 0; i < p->count; i++)
        y[i] = x[i] > 0 ? x[i] : 0;
}

static void ref_relu_bwd(const struct vkd_eltwise_params *p, const double *y, const double *dy,
                         double *dx)
{
    for (uint32_t i = 0; i < p->count; i++)
        vkd_ref_put(&dx[i], (int)p->acc, y[i] > 0 ? dy[i] : 0);
}

static void ref_add_fwd(const struct vkd_eltwise_params *p, const double *a, const double *b,
                        double *y)
{
    for (uint32_t i = 0; i < p->count; i++)
        y[i] = a[i] + b[i];
}

/* ---- node glue: CPU ------------------------------------------------------------------------- */

static uint32_t count_of(const struct vkd_graph *g, int t)
{
    return (uint32_t)vkd_tensor_numel(vkd_graph_tensor_at(g, t));
}

static void fill_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    ref_fill_fwd((const void *)n->attr, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->out[0]));
}

static void copy_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    struct vkd_copy_params p = {count_of(vkd_ref_graph(e), n->in[0]), 0};
    ref_copy_fwd(&p, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->out[0]));
}

static void copy_ref_bwd(struct vkd_ref *e, const struct vkd_node *n)
{
    struct vkd_copy_params p = {count_of(vkd_ref_graph(e), n->in[0]), n->acc[0]};
    ref_copy_fwd(&p, vkd_ref_g(e, n->out[0]), vkd_ref_g(e, n->in[0]));
}

static void relu_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    struct vkd_eltwise_params p = {count_of(vkd_ref_graph(e), n->in[0]), 0};
    ref_relu_fwd(&p, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->out[0]));
}

static void relu_ref_bwd(struct vkd_ref *e, const struct vkd_node *n)
{
    struct vkd_eltwise_params p = {count_of(vkd_ref_graph(e), n->in[0]), n->acc[0]};
    ref_relu_bwd(&p, vkd_ref_t(e, n->out[0]), vkd_ref_g(e, n->out[0]), vkd_ref_g(e, n->in[0]));
}

static void add_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    struct vkd_eltwise_params p = {count_of(vkd_ref_graph(e), n->in[0]), 0};
    ref_add_fwd(&p, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->in[1]), vkd_ref_t(e, n->out[0]));
}

static void add_ref_bwd(struct vkd_ref *e, const struct vkd_node *n)
{
    for (int i = 0; i < 2; i++) {
        double *dx = vkd_ref_g(e, n->in[i]);
        if (!dx)
            continue;
        struct vkd_copy_params p = {count_of(vkd_ref_graph(e), n->in[0]), n->acc[i]};
        ref_copy_fwd(&p, vkd_ref_g(e, n->out[0]), dx);
    }
}

/* ---- node glue: Vulkan ---------------------------------------------------------------------- */

static void dispatch_1d(struct vkd_rec *r, enum vkd_kernel_id k, const struct vkd_view *v,
                        uint32_t n_v, const void *push, uint32_t push_size, uint32_t count)
{
    uint32_t gx, gy;
    vkd_rec_groups_1d(r, count, vkd_rec_wg(r), &gx, &gy);
    vkd_rec_dispatch(r, k, v, n_v, push, push_size, gx, gy, 1);
}

static void fill_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    const struct vkd_fill_params *p = (const void *)n->attr;
    struct vkd_view v[2] = {vkd_rec_t(r, n->in[0]), vkd_rec_t(r, n->out[0])};
    dispatch_1d(r, VKD_K_FILL, v, 2, p, sizeof(*p), p->count);
}

static void copy_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    struct vkd_copy_params p = {count_of(vkd_rec_graph(r), n->in[0]), 0};
    struct vkd_view v[2] = {vkd_rec_t(r, n->in[0]), vkd_rec_t(r, n->out[0])};
    dispatch_1d(r, VKD_K_COPY, v, 2, &p, sizeof(p), p.count);
}

static void copy_vk_bwd(struct vkd_rec *r, const struct vkd_node *n)
{
    struct vkd_copy_params p = {count_of(vkd_rec_graph(r), n->in[0]), n->acc[0]};
    struct vkd_view v[2] = {vkd_rec_g(r, n->out[0]), vkd_rec_g(r, n->in[0])};
    dispatch_1d(r, VKD_K_COPY, v, 2, &p, sizeof(p), p.count);
}

static void relu_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    struct vkd_eltwise_params p = {count_of(vkd_rec_graph(r), n->in[0]), 0};
    struct vkd_view v[2] = {vkd_rec_t(r, n->in[0]), vkd_rec_t(r, n->out[0])};
    dispatch_1d(r, VKD_K_RELU_FWD, v, 2, &p, sizeof(p), p.count);
}

static void relu_vk_bwd(struct vkd_rec *r, const struct vkd_node *n)
{
    struct vkd_eltwise_params p = {count_of(vkd_rec_graph(r), n->in[0]), n->acc[0]};
    struct vkd_view v[3] = {vkd_rec_t(r, n->out[0]), vkd_rec_g(r, n->out[0]),
                            vkd_rec_g(r, n->in[0])};
    dispatch_1d(r, VKD_K_RELU_BWD, v, 3, &p, sizeof(p), p.count);
}

static void add_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    struct vkd_eltwise_params p = {count_of(vkd_rec_graph(r), n->in[0]), 0};
    struct vkd_view v[3] = {vkd_rec_t(r, n->in[0]), vkd_rec_t(r, n->in[1]),
                            vkd_rec_t(r, n->out[0])};
    dispatch_1d(r, VKD_K_ADD_FWD, v, 3, &p, sizeof(p), p.count);
}

static void add_vk_bwd(struct vkd_rec *r, const struct vkd_node *n)
{
    const struct vkd_graph *g = vkd_rec_graph(r);
    for (int i = 0; i < 2; i++) {
        if (vkd_graph_tensor_at(g, n->in[i])->grad < 0)
            continue;
        struct vkd_copy_params p = {count_of(g, n->in[0]), n->acc[i]};
        struct vkd_view v[2] = {vkd_rec_g(r, n->out[0]), vkd_rec_g(r, n->in[i])};
        dispatch_1d(r, VKD_K_COPY, v, 2, &p, sizeof(p), p.count);
    }
}

static void no_bwd_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    (void)e, (void)n;
    VKD_ASSERT(!"fill has no backward");
}

static void no_bwd_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    (void)r, (void)n;
    VKD_ASSERT(!"fill has no backward");
}

const struct vkd_op vkd_op_fill = {"fill", 0, fill_ref, no_bwd_ref, fill_vk, no_bwd_vk};
const struct vkd_op vkd_op_copy = {"copy", 1, copy_ref, copy_ref_bwd, copy_vk, copy_vk_bwd};
static const struct vkd_op op_relu = {"relu", 1, relu_ref, relu_ref_bwd, relu_vk, relu_vk_bwd};
static const struct vkd_op op_add = {"add", 1, add_ref, add_ref_bwd, add_vk, add_vk_bwd};

/* ---- builders --------------------------------------------------------------------------------- */

static int unary(struct vkd_graph *g, const struct vkd_op *op, const char *name, int x)
{
    const struct vkd_tensor *t = vkd_graph_tensor_at(g, x);
    int y = vkd_graph_act(g, name, t->n, t->c, t->h, t->w);
    int in[1] = {x}, out[1] = {y};
    vkd_graph_add_node(g, op, name, in, 1, out, 1, NULL, 0);
    return y;
}

int vkd_relu(struct vkd_graph *g, const char *name, int x)
{
    return unary(g, &op_relu, name, x);
}

int vkd_copy(struct vkd_graph *g, const char *name, int x)
{
    return unary(g, &vkd_op_copy, name, x);
}

int vkd_add(struct vkd_graph *g, const char *name, int a, int b)
{
    const struct vkd_tensor *ta = vkd_graph_tensor_at(g, a), *tb = vkd_graph_tensor_at(g, b);
    VKD_ASSERT(ta->n == tb->n && ta->c == tb->c && ta->h == tb->h && ta->w == tb->w);
    int y = vkd_graph_act(g, name, ta->n, ta->c, ta->h, ta->w);
    int in[2] = {a, b}, out[1] = {y};
    vkd_graph_add_node(g, &op_add, name, in, 2, out, 1, NULL, 0);
    return y;
}

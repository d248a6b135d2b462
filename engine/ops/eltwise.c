/*
 * eltwise.c - the elementwise family: fill, copy, relu, add, sigmoid, the spatial-mask multiply
 * and the stop-gradient boundary.
 *
 * Gradient convention (graph.c): backward writes the gradient of each input that has one,
 * overwriting when node.acc[i] == 0 and adding when 1. fill has no backward (it only seeds
 * gradients); add's backward is two copies of the output gradient.
 *
 *   sigmoid    y = 1 / (1 + exp(-x));  dx = dy e / (1 + e)^2, e = exp(-|x|) (from x, not y:
 *              stable and relatively precise for large |x|, see shaders/sigmoid_bwd.comp)
 *   mask_mul   y[n][c][p] = x[n][c][p] m[n][p], m (N, 1, H, W);  dx = dy m,
 *              dm[n][p] = sum_c dy[n][c][p] x[n][c][p]  (each only when it has a gradient)
 *   threshold  y = x [x >= h], h > 0 (LKD's hard mask M [M >= H]);  dx = dy [x >= h], which is
 *              relu's backward from y (y > 0 exactly when x >= h, because h > 0)
 *   stop_grad  y = x;  no backward at all: its op row has diff_out = 0, so graph.c never marks
 *              y as requiring a gradient, no node after it sends one back through it, and the
 *              nodes before it get a backward only if some other path needs one (sg(x) of
 *              methods.md; an unwritten gradient of x stays zero in both executors).
 *
 * CPU devices (vkd_rec_cpu_kernels) get relu_fwd_cpu, relu_bwd_cpu, add_fwd_cpu and copy_cpu for
 * the hot ones of a residual network: the same results, a vec4 per invocation (shaders/eltwise.h).
 */
#include <math.h>

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

static void ref_threshold_fwd(const struct vkd_threshold_params *p, const double *x, double *y)
{
    for (uint32_t i = 0; i < p->count; i++)
        y[i] = x[i] >= p->h ? x[i] : 0; /* h: the fp32 value the shader compares with */
}

static void ref_add_fwd(const struct vkd_eltwise_params *p, const double *a, const double *b,
                        double *y)
{
    for (uint32_t i = 0; i < p->count; i++)
        y[i] = a[i] + b[i];
}

/* e / (1 + e)^2 with e = exp(-|x|): sigmoid'(x) = s(x) (1 - s(x)) without the cancellation of
 * 1 - s(x) (sigmoid' is even). */
static double sigmoid_slope(double x)
{
    double e = exp(-fabs(x));
    return e / ((1 + e) * (1 + e));
}

static void ref_sigmoid_fwd(const struct vkd_eltwise_params *p, const double *x, double *y)
{
    for (uint32_t i = 0; i < p->count; i++) {
        double e = exp(-fabs(x[i])); /* in (0, 1]: never overflows */
        y[i] = x[i] >= 0 ? 1 / (1 + e) : e / (1 + e);
    }
}

static void ref_sigmoid_bwd(const struct vkd_eltwise_params *p, const double *x, const double *dy,
                            double *dx)
{
    for (uint32_t i = 0; i < p->count; i++)
        vkd_ref_put(&dx[i], (int)p->acc, dy[i] * sigmoid_slope(x[i]));
}

/* y (+)= x * m broadcast over channels; also dx (+)= dy * m. */
static void ref_mask_mul_fwd(const struct vkd_mask_params *p, const double *x, const double *m,
                             double *y)
{
    for (uint32_t i = 0; i < p->count; i++)
        vkd_ref_put(&y[i], (int)p->acc, x[i] * m[(i / (p->c * p->hw)) * p->hw + i % p->hw]);
}

/* dm[n][q] (+)= sum_c dy[n][c][q] x[n][c][q]. */
static void ref_mask_mul_bwd(const struct vkd_mask_params *p, const double *x, const double *dy,
                             double *dm)
{
    uint32_t planes = p->count / (p->c * p->hw);
    for (uint32_t n = 0; n < planes; n++)
        for (uint32_t q = 0; q < p->hw; q++) {
            double s = 0;
            for (uint32_t k = 0; k < p->c; k++) {
                size_t i = ((size_t)n * p->c + k) * p->hw + q;
                s += dy[i] * x[i];
            }
            vkd_ref_put(&dm[(size_t)n * p->hw + q], (int)p->acc, s);
        }
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

static void threshold_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    struct vkd_threshold_params p = *(const struct vkd_threshold_params *)n->attr;
    p.count = count_of(vkd_ref_graph(e), n->in[0]);
    ref_threshold_fwd(&p, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->out[0]));
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

static void sigmoid_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    struct vkd_eltwise_params p = {count_of(vkd_ref_graph(e), n->in[0]), 0};
    ref_sigmoid_fwd(&p, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->out[0]));
}

static void sigmoid_ref_bwd(struct vkd_ref *e, const struct vkd_node *n)
{
    struct vkd_eltwise_params p = {count_of(vkd_ref_graph(e), n->in[0]), n->acc[0]};
    ref_sigmoid_bwd(&p, vkd_ref_t(e, n->in[0]), vkd_ref_g(e, n->out[0]), vkd_ref_g(e, n->in[0]));
}

static struct vkd_mask_params mask_params(const struct vkd_graph *g, const struct vkd_node *n)
{
    const struct vkd_tensor *t = vkd_graph_tensor_at(g, n->in[0]);
    return (struct vkd_mask_params){count_of(g, n->in[0]), (uint32_t)t->c, (uint32_t)(t->h * t->w),
                                    0};
}

static void mask_mul_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    struct vkd_mask_params p = mask_params(vkd_ref_graph(e), n);
    ref_mask_mul_fwd(&p, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->in[1]), vkd_ref_t(e, n->out[0]));
}

static void mask_mul_ref_bwd(struct vkd_ref *e, const struct vkd_node *n)
{
    struct vkd_mask_params p = mask_params(vkd_ref_graph(e), n);
    double *dx = vkd_ref_g(e, n->in[0]), *dm = vkd_ref_g(e, n->in[1]);
    if (dx) {
        p.acc = n->acc[0];
        ref_mask_mul_fwd(&p, vkd_ref_g(e, n->out[0]), vkd_ref_t(e, n->in[1]), dx);
    }
    if (dm) {
        p.acc = n->acc[1];
        ref_mask_mul_bwd(&p, vkd_ref_t(e, n->in[0]), vkd_ref_g(e, n->out[0]), dm);
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

/* copy, relu and add: kernel k over count values, or its CPU-device twin cpu (shaders/eltwise.h:
 * a vec4 per invocation) on a device that takes those. */
static void dispatch_elt(struct vkd_rec *r, enum vkd_kernel_id k, enum vkd_kernel_id cpu,
                         const struct vkd_view *v, uint32_t n_v, const void *push,
                         uint32_t push_size, uint32_t count)
{
    if (!vkd_rec_cpu_kernels(r)) {
        dispatch_1d(r, k, v, n_v, push, push_size, count);
        return;
    }
    for (uint32_t i = 0; i < n_v; i++) /* the vec4 declarations need aligned views */
        VKD_ASSERT(v[i].off % (VKD_ELT_CPU_VEC * 4) == 0);
    dispatch_1d(r, cpu, v, n_v, push, push_size, vkd_div_up(count, VKD_ELT_CPU_VEC));
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
    dispatch_elt(r, VKD_K_COPY, VKD_K_COPY_CPU, v, 2, &p, sizeof(p), p.count);
}

static void copy_vk_bwd(struct vkd_rec *r, const struct vkd_node *n)
{
    struct vkd_copy_params p = {count_of(vkd_rec_graph(r), n->in[0]), n->acc[0]};
    struct vkd_view v[2] = {vkd_rec_g(r, n->out[0]), vkd_rec_g(r, n->in[0])};
    dispatch_elt(r, VKD_K_COPY, VKD_K_COPY_CPU, v, 2, &p, sizeof(p), p.count);
}

static void relu_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    struct vkd_eltwise_params p = {count_of(vkd_rec_graph(r), n->in[0]), 0};
    struct vkd_view v[2] = {vkd_rec_t(r, n->in[0]), vkd_rec_t(r, n->out[0])};
    dispatch_elt(r, VKD_K_RELU_FWD, VKD_K_RELU_FWD_CPU, v, 2, &p, sizeof(p), p.count);
}

static void relu_vk_bwd(struct vkd_rec *r, const struct vkd_node *n)
{
    struct vkd_eltwise_params p = {count_of(vkd_rec_graph(r), n->in[0]), n->acc[0]};
    struct vkd_view v[3] = {vkd_rec_t(r, n->out[0]), vkd_rec_g(r, n->out[0]),
                            vkd_rec_g(r, n->in[0])};
    dispatch_elt(r, VKD_K_RELU_BWD, VKD_K_RELU_BWD_CPU, v, 3, &p, sizeof(p), p.count);
}

static void threshold_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    struct vkd_threshold_params p = *(const struct vkd_threshold_params *)n->attr;
    p.count = count_of(vkd_rec_graph(r), n->in[0]);
    struct vkd_view v[2] = {vkd_rec_t(r, n->in[0]), vkd_rec_t(r, n->out[0])};
    dispatch_1d(r, VKD_K_THRESHOLD_FWD, v, 2, &p, sizeof(p), p.count);
}

static void add_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    struct vkd_eltwise_params p = {count_of(vkd_rec_graph(r), n->in[0]), 0};
    struct vkd_view v[3] = {vkd_rec_t(r, n->in[0]), vkd_rec_t(r, n->in[1]),
                            vkd_rec_t(r, n->out[0])};
    dispatch_elt(r, VKD_K_ADD_FWD, VKD_K_ADD_FWD_CPU, v, 3, &p, sizeof(p), p.count);
}

static void add_vk_bwd(struct vkd_rec *r, const struct vkd_node *n)
{
    const struct vkd_graph *g = vkd_rec_graph(r);
    for (int i = 0; i < 2; i++) {
        if (vkd_graph_tensor_at(g, n->in[i])->grad < 0)
            continue;
        struct vkd_copy_params p = {count_of(g, n->in[0]), n->acc[i]};
        struct vkd_view v[2] = {vkd_rec_g(r, n->out[0]), vkd_rec_g(r, n->in[i])};
        dispatch_elt(r, VKD_K_COPY, VKD_K_COPY_CPU, v, 2, &p, sizeof(p), p.count);
    }
}

static void sigmoid_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    struct vkd_eltwise_params p = {count_of(vkd_rec_graph(r), n->in[0]), 0};
    struct vkd_view v[2] = {vkd_rec_t(r, n->in[0]), vkd_rec_t(r, n->out[0])};
    dispatch_1d(r, VKD_K_SIGMOID_FWD, v, 2, &p, sizeof(p), p.count);
}

static void sigmoid_vk_bwd(struct vkd_rec *r, const struct vkd_node *n)
{
    struct vkd_eltwise_params p = {count_of(vkd_rec_graph(r), n->in[0]), n->acc[0]};
    struct vkd_view v[3] = {vkd_rec_t(r, n->in[0]), vkd_rec_g(r, n->out[0]),
                            vkd_rec_g(r, n->in[0])};
    dispatch_1d(r, VKD_K_SIGMOID_BWD, v, 3, &p, sizeof(p), p.count);
}

static void mask_mul_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    struct vkd_mask_params p = mask_params(vkd_rec_graph(r), n);
    struct vkd_view v[3] = {vkd_rec_t(r, n->in[0]), vkd_rec_t(r, n->in[1]),
                            vkd_rec_t(r, n->out[0])};
    dispatch_1d(r, VKD_K_MASK_MUL_FWD, v, 3, &p, sizeof(p), p.count);
}

static void mask_mul_vk_bwd(struct vkd_rec *r, const struct vkd_node *n)
{
    const struct vkd_graph *g = vkd_rec_graph(r);
    struct vkd_mask_params p = mask_params(g, n);
    if (vkd_graph_tensor_at(g, n->in[0])->grad >= 0) {
        p.acc = n->acc[0];
        struct vkd_view v[3] = {vkd_rec_g(r, n->out[0]), vkd_rec_t(r, n->in[1]),
                                vkd_rec_g(r, n->in[0])};
        dispatch_1d(r, VKD_K_MASK_MUL_FWD, v, 3, &p, sizeof(p), p.count);
    }
    if (vkd_graph_tensor_at(g, n->in[1])->grad >= 0) {
        p.acc = n->acc[1];
        struct vkd_view v[3] = {vkd_rec_t(r, n->in[0]), vkd_rec_g(r, n->out[0]),
                                vkd_rec_g(r, n->in[1])};
        dispatch_1d(r, VKD_K_MASK_MUL_BWD_MASK, v, 3, &p, sizeof(p), p.count / p.c);
    }
}

/* The backward of ops with diff_out = 0: graph.c never schedules it. */
static void no_bwd_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    (void)e, (void)n;
    VKD_ASSERT(!"fill and stop_grad have no backward");
}

static void no_bwd_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    (void)r, (void)n;
    VKD_ASSERT(!"fill and stop_grad have no backward");
}

const struct vkd_op vkd_op_fill = {"fill", 0, fill_ref, no_bwd_ref, fill_vk, no_bwd_vk};
const struct vkd_op vkd_op_copy = {"copy", 1, copy_ref, copy_ref_bwd, copy_vk, copy_vk_bwd};
static const struct vkd_op op_relu = {"relu", 1, relu_ref, relu_ref_bwd, relu_vk, relu_vk_bwd};
/* threshold's backward is relu's: both read y only (see the top). */
static const struct vkd_op op_threshold = {"threshold",  1,          threshold_ref, relu_ref_bwd,
                                           threshold_vk, relu_vk_bwd};
static const struct vkd_op op_add = {"add", 1, add_ref, add_ref_bwd, add_vk, add_vk_bwd};
static const struct vkd_op op_sigmoid = {"sigmoid",       1,          sigmoid_ref,
                                         sigmoid_ref_bwd, sigmoid_vk, sigmoid_vk_bwd};
static const struct vkd_op op_mask_mul = {"mask_mul",       1,           mask_mul_ref,
                                          mask_mul_ref_bwd, mask_mul_vk, mask_mul_vk_bwd};
/* diff_out = 0 is the whole of stop-gradient: see the top of the file. */
static const struct vkd_op op_stop_grad = {"stop_grad", 0,       copy_ref,
                                           no_bwd_ref,  copy_vk, no_bwd_vk};

/* ---- builders -------------------------------------------------------------------------------- */

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

int vkd_threshold(struct vkd_graph *g, const char *name, int x, float h)
{
    VKD_ASSERT(h > 0 && isfinite(h)); /* the backward's y > 0 test needs h > 0 */
    const struct vkd_tensor *t = vkd_graph_tensor_at(g, x);
    VKD_ASSERT(t->dtype == VKD_F32);
    int y = vkd_graph_act(g, name, t->n, t->c, t->h, t->w);
    struct vkd_threshold_params p = {0, h}; /* count: from the tensor when recorded */
    int in[1] = {x}, out[1] = {y};
    vkd_graph_add_node(g, &op_threshold, name, in, 1, out, 1, &p, sizeof(p));
    return y;
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

int vkd_sigmoid(struct vkd_graph *g, const char *name, int x)
{
    return unary(g, &op_sigmoid, name, x);
}

int vkd_stop_grad(struct vkd_graph *g, const char *name, int x)
{
    VKD_ASSERT(vkd_graph_tensor_at(g, x)->dtype == VKD_F32);
    return unary(g, &op_stop_grad, name, x);
}

int vkd_mask_mul(struct vkd_graph *g, const char *name, int x, int m)
{
    const struct vkd_tensor *tx = vkd_graph_tensor_at(g, x), *tm = vkd_graph_tensor_at(g, m);
    VKD_ASSERT(tx->dtype == VKD_F32 && tm->dtype == VKD_F32);
    VKD_ASSERT(tm->n == tx->n && tm->c == 1 && tm->h == tx->h && tm->w == tx->w);
    VKD_ASSERT(x != m); /* (a 1-channel x would read one tensor twice) */
    VKD_ASSERT(vkd_tensor_numel(tx) < ((size_t)1 << 32)); /* 32-bit indices in the shaders */
    int y = vkd_graph_act(g, name, tx->n, tx->c, tx->h, tx->w);
    int in[2] = {x, m}, out[1] = {y};
    vkd_graph_add_node(g, &op_mask_mul, name, in, 2, out, 1, NULL, 0);
    return y;
}

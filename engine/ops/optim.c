/*
 * optim.c - the optimizer family: SGD with momentum, optional Nesterov and L2 weight decay, as
 * torch.optim.SGD (dampening 0), as ONE op over the flat parameter, gradient and momentum
 * tensors the graph plans (graph.c). Its hyper-parameters are read from the step-parameter
 * buffer (VKD_SP_LR ...), so a schedule changes the learning rate without re-recording.
 * The node: in[0] flat params, in[1] flat grads, in[2] flat momentum, in[3] step parameters;
 * no outputs (it updates in[0] and in[2] in place) and no backward.
 */
#include "internal.h"

static void ref_sgd_update(const struct vkd_sgd_params *p, double *w, const double *g, double *m,
                           const double *step)
{
    /* The reference rounds like the shader would only where it matters for agreement: the
     * hyper-parameters are fp32 values in the step buffer on both sides. */
    double lr = step[VKD_SP_LR], mu = step[VKD_SP_MOMENTUM], wd = step[VKD_SP_WEIGHT_DECAY];
    int nesterov = step[VKD_SP_NESTEROV] != 0.0;
    for (uint32_t i = 0; i < p->count; i++) {
        double d = g[i] + wd * w[i];
        m[i] = mu * m[i] + d;
        d = nesterov ? d + mu * m[i] : m[i];
        w[i] -= lr * d;
    }
}

static void sgd_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    ref_sgd_update((const void *)n->attr, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->in[1]),
                   vkd_ref_t(e, n->in[2]), vkd_ref_t(e, n->in[3]));
}

/* The flat tensors can exceed maxStorageBufferRange on large models: one dispatch per slice. */
static void sgd_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    const struct vkd_sgd_params *p = (const void *)n->attr;
    struct vkd_view w = vkd_rec_t(r, n->in[0]), g = vkd_rec_t(r, n->in[1]),
                    m = vkd_rec_t(r, n->in[2]), step = vkd_rec_t(r, n->in[3]);
    uint64_t max_elems = vkd_rec_context(r)->info.max_storage_range / 4;
    max_elems -= max_elems % 64; /* keep slice offsets aligned (graph.c's VKD_PARAM_ALIGN) */
    for (uint64_t first = 0; first < p->count; first += max_elems) {
        uint64_t cnt = p->count - first < max_elems ? p->count - first : max_elems;
        struct vkd_sgd_params sp = {(uint32_t)cnt};
        struct vkd_view v[4] = {vkd_rec_sub(r, w, first, cnt), vkd_rec_sub(r, g, first, cnt),
                                vkd_rec_sub(r, m, first, cnt), step};
        uint32_t gx, gy;
        vkd_rec_groups_1d(r, cnt, vkd_rec_wg(r), &gx, &gy);
        vkd_rec_dispatch(r, VKD_K_SGD, v, 4, &sp, sizeof(sp), gx, gy, 1);
    }
}

static void no_bwd_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    (void)e, (void)n;
    VKD_ASSERT(!"sgd has no backward");
}

static void no_bwd_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    (void)r, (void)n;
    VKD_ASSERT(!"sgd has no backward");
}

const struct vkd_op vkd_op_sgd = {"sgd", 0, sgd_ref, no_bwd_ref, sgd_vk, no_bwd_vk};

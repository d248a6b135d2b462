/*
 * graph.c - the static-shape op graph: tensors, nodes, and the derivation of the backward list
 * and the SGD update from the forward list.
 *
 * Gradient convention (every op file follows it): a backward pass writes the gradient of each of
 * its inputs that has one; node.acc[i] says whether to overwrite (0) or add (1). finalize() sets
 * it: walking the forward list in reverse, the first node to reach a gradient overwrites it and
 * every later one adds. So no gradient buffer is ever zero-filled, and a tensor that feeds
 * several nodes (a residual branch) sums their contributions.
 */
#include <stdarg.h>
#include <string.h>

#include "internal.h"
#include "vkd_ops.h"

/* Parameters, their gradients and momenta are carved out of flat tensors at this alignment
 * (elements): 64 floats = 256 bytes, the largest minStorageBufferOffsetAlignment in practice. */
#define VKD_PARAM_ALIGN 64

struct vkd_seed {
    int t;
    int src;  /* seed INPUT tensor, or -1 for a loss */
    int slot; /* loss weight slot, or -1 for 1.0 */
};

struct vkd_graph {
    struct vkd_tensor *t;
    int n_t, cap_t;
    struct vkd_node *nodes;
    int n_nodes, cap_nodes;
    /* forward, backward, update; then phase 0's forward and backward interleaved (schedule.c) */
    struct vkd_call *list[VKD_LIST_COUNT];
    int n_list[VKD_LIST_COUNT], cap_list[VKD_LIST_COUNT];
    int step_parts; /* parts of the interleaved step (schedule.c); 1: it is the plain order */
    struct vkd_seed *seeds;
    int n_seeds, cap_seeds;
    int step_params;
    int next_slot;
    int phase;
    int finalized;
    char error[256];
};

static int grow(void **p, int *cap, int need, size_t elem)
{
    if (need <= *cap)
        return 1;
    int n = *cap ? *cap * 2 : 16;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, (size_t)n * elem);
    if (!q)
        return 0;
    *p = q;
    *cap = n;
    return 1;
}

#define GROW(arr, cap, need) VKD_ASSERT(grow((void **)&(arr), &(cap), (need), sizeof(*(arr))))

static int fail(struct vkd_graph *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct vkd_graph *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->error, sizeof(g->error), fmt, ap);
    va_end(ap);
    return -1;
}

struct vkd_graph *vkd_graph_create(void)
{
    struct vkd_graph *g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    g->next_slot = VKD_SP_DYNAMIC;
    g->step_params = vkd_graph_tensor(g, "step_params", VKD_T_STEP, VKD_F32, VKD_SP_COUNT, 1, 1, 1);
    return g;
}

void vkd_graph_destroy(struct vkd_graph *g)
{
    if (!g)
        return;
    free(g->t);
    free(g->nodes);
    for (int i = 0; i < VKD_LIST_COUNT; i++)
        free(g->list[i]);
    free(g->seeds);
    free(g);
}

const char *vkd_graph_error(const struct vkd_graph *g)
{
    return g->error;
}

/* ---- tensors ---------------------------------------------------------------------------------- */

int vkd_graph_tensor(struct vkd_graph *g, const char *name, enum vkd_tkind kind,
                     enum vkd_dtype dtype, int n, int c, int h, int w)
{
    VKD_ASSERT(!g->finalized || kind == VKD_T_GRAD || kind == VKD_T_OPT || kind == VKD_T_PARAM);
    VKD_ASSERT(n > 0 && c > 0 && h > 0 && w > 0);
    GROW(g->t, g->cap_t, g->n_t + 1);
    struct vkd_tensor *t = &g->t[g->n_t];
    memset(t, 0, sizeof(*t));
    snprintf(t->name, sizeof(t->name), "%s", name);
    t->n = n, t->c = c, t->h = h, t->w = w;
    t->dtype = dtype;
    t->kind = kind;
    t->requires_grad = kind == VKD_T_PARAM;
    t->grad = -1;
    t->parent = -1;
    return g->n_t++;
}

int vkd_graph_input(struct vkd_graph *g, const char *name, enum vkd_dtype dtype, int n, int c,
                    int h, int w)
{
    return vkd_graph_tensor(g, name, VKD_T_INPUT, dtype, n, c, h, w);
}

int vkd_graph_param(struct vkd_graph *g, const char *name, int n, int c, int h, int w)
{
    return vkd_graph_tensor(g, name, VKD_T_PARAM, VKD_F32, n, c, h, w);
}

int vkd_graph_act(struct vkd_graph *g, const char *name, int n, int c, int h, int w)
{
    return vkd_graph_tensor(g, name, VKD_T_ACT, VKD_F32, n, c, h, w);
}

void vkd_graph_set_requires_grad(struct vkd_graph *g, int t)
{
    VKD_ASSERT(t >= 0 && t < g->n_t && !g->finalized);
    g->t[t].requires_grad = 1;
}

const struct vkd_tensor *vkd_graph_tensor_at(const struct vkd_graph *g, int t)
{
    VKD_ASSERT(t >= 0 && t < g->n_t);
    return &g->t[t];
}

struct vkd_tensor *vkd_graph_tensor_mut(struct vkd_graph *g, int t)
{
    VKD_ASSERT(t >= 0 && t < g->n_t);
    return &g->t[t];
}

int vkd_graph_tensor_count(const struct vkd_graph *g)
{
    return g->n_t;
}

int vkd_graph_find(const struct vkd_graph *g, const char *name)
{
    for (int i = 0; i < g->n_t; i++)
        if (strcmp(g->t[i].name, name) == 0)
            return i;
    return -1;
}

int vkd_graph_step_params(const struct vkd_graph *g)
{
    return g->step_params;
}

int vkd_graph_alloc_slot(struct vkd_graph *g)
{
    return g->next_slot < VKD_SP_COUNT ? g->next_slot++ : -1;
}

size_t vkd_graph_root_numel(const struct vkd_graph *g, int t)
{
    return vkd_tensor_numel(&g->t[t]);
}

/* ---- nodes ------------------------------------------------------------------------------------ */

int vkd_graph_add_node(struct vkd_graph *g, const struct vkd_op *op, const char *name,
                       const int *in, int n_in, const int *out, int n_out, const void *attr,
                       size_t attr_size)
{
    VKD_ASSERT(!g->finalized);
    VKD_ASSERT(n_in <= VKD_NODE_IO && n_out <= VKD_NODE_IO);
    VKD_ASSERT(attr_size <= sizeof(((struct vkd_node *)0)->attr));
    GROW(g->nodes, g->cap_nodes, g->n_nodes + 1);
    struct vkd_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof(*n));
    n->op = op;
    n->phase = g->phase;
    snprintf(n->name, sizeof(n->name), "%s", name ? name : op->name);
    for (int i = 0; i < n_in; i++) {
        VKD_ASSERT(in[i] < g->n_t);
        n->in[i] = in[i];
    }
    for (int i = 0; i < n_out; i++) {
        VKD_ASSERT(out[i] >= 0 && out[i] < g->n_t);
        n->out[i] = out[i];
    }
    n->n_in = n_in;
    n->n_out = n_out;
    if (attr_size)
        memcpy(n->attr, attr, attr_size);
    GROW(g->list[0], g->cap_list[0], g->n_list[0] + 1);
    g->list[0][g->n_list[0]++] = (struct vkd_call){g->n_nodes, 0};
    return g->n_nodes++;
}

void vkd_graph_set_phase(struct vkd_graph *g, int phase)
{
    VKD_ASSERT(phase >= 0 && phase < VKD_MAX_PHASES && !g->finalized);
    g->phase = phase;
}

const struct vkd_node *vkd_graph_node(const struct vkd_graph *g, int i)
{
    VKD_ASSERT(i >= 0 && i < g->n_nodes);
    return &g->nodes[i];
}

int vkd_graph_list(const struct vkd_graph *g, int list, const struct vkd_call **calls)
{
    *calls = g->list[list];
    return g->n_list[list];
}

int vkd_graph_program_lists(const struct vkd_graph *g, unsigned program, int interleave,
                            int phase, int lists[3])
{
    unsigned fb = VKD_PROG_FORWARD | VKD_PROG_BACKWARD;
    int n = 0;
    if (phase != 0) {
        lists[n++] = VKD_LIST_FORWARD;
        return n;
    }
    if (interleave && g->step_parts > 1 && (program & fb) == fb) {
        lists[n++] = VKD_LIST_STEP;
    } else {
        if (program & VKD_PROG_FORWARD)
            lists[n++] = VKD_LIST_FORWARD;
        if (program & VKD_PROG_BACKWARD)
            lists[n++] = VKD_LIST_BACKWARD;
    }
    if (program & VKD_PROG_UPDATE)
        lists[n++] = VKD_LIST_UPDATE;
    return n;
}

int vkd_graph_step_parts(const struct vkd_graph *g)
{
    return g->step_parts;
}

int vkd_graph_node_count(const struct vkd_graph *g, int list)
{
    return g->n_list[list];
}

static void push_call(struct vkd_graph *g, int list, int node, int pass)
{
    GROW(g->list[list], g->cap_list[list], g->n_list[list] + 1);
    g->list[list][g->n_list[list]++] = (struct vkd_call){node, pass};
}

/* Adds a node that runs only inside the backward (or update) list. */
static int aux_node(struct vkd_graph *g, const struct vkd_op *op, const char *name, const int *in,
                    int n_in, const int *out, int n_out, const void *attr, size_t attr_size,
                    int list)
{
    g->finalized = 0; /* vkd_graph_add_node asserts on it; we are inside finalize */
    int saved_phase = g->phase;
    g->phase = 0; /* seeds and the update belong to the training step */
    int node = vkd_graph_add_node(g, op, name, in, n_in, out, n_out, attr, attr_size);
    g->phase = saved_phase;
    g->finalized = 1;
    g->n_list[0]--; /* not a forward node */
    push_call(g, list, node, 0);
    return node;
}

/* ---- seeds ------------------------------------------------------------------------------------- */

void vkd_graph_loss(struct vkd_graph *g, int loss, int weight_slot)
{
    VKD_ASSERT(vkd_tensor_numel(&g->t[loss]) == 1);
    GROW(g->seeds, g->cap_seeds, g->n_seeds + 1);
    g->seeds[g->n_seeds++] = (struct vkd_seed){loss, -1, weight_slot};
}

void vkd_graph_seed(struct vkd_graph *g, int t, int seed_input)
{
    VKD_ASSERT(vkd_tensor_numel(&g->t[t]) == vkd_tensor_numel(&g->t[seed_input]));
    GROW(g->seeds, g->cap_seeds, g->n_seeds + 1);
    g->seeds[g->n_seeds++] = (struct vkd_seed){t, seed_input, -1};
}

int vkd_graph_seed_count(const struct vkd_graph *g)
{
    return g->n_seeds;
}

void vkd_graph_seed_at(const struct vkd_graph *g, int i, int *t, int *src, int *slot)
{
    VKD_ASSERT(i >= 0 && i < g->n_seeds);
    *t = g->seeds[i].t, *src = g->seeds[i].src, *slot = g->seeds[i].slot;
}

/* ---- finalize ---------------------------------------------------------------------------------- */

/* requires_grad of every output from the inputs of the node that makes it. */
static void propagate(struct vkd_graph *g)
{
    for (int i = 0; i < g->n_list[0]; i++) {
        const struct vkd_node *n = &g->nodes[g->list[0][i].node];
        int any = 0;
        if (n->phase != 0)
            continue; /* other phases are forward only: their outputs need no gradients */
        for (int j = 0; j < n->n_in; j++)
            any |= n->in[j] >= 0 && g->t[n->in[j]].requires_grad;
        for (int j = 0; j < n->n_out; j++)
            if (n->op->diff_out & (1u << j))
                g->t[n->out[j]].requires_grad |= any;
    }
}

/* Carves every tensor of kind `kind` (views of nothing yet) out of one flat tensor. Returns the
 * flat tensor's id, or -1 when there is none of that kind. */
static int plan_flat(struct vkd_graph *g, enum vkd_tkind kind, const char *name)
{
    size_t total = 0;
    for (int i = 0; i < g->n_t; i++)
        if (g->t[i].kind == kind && g->t[i].parent < 0) {
            g->t[i].offset = total;
            total += (vkd_tensor_numel(&g->t[i]) + VKD_PARAM_ALIGN - 1) / VKD_PARAM_ALIGN *
                     VKD_PARAM_ALIGN;
        }
    if (total == 0)
        return -1;
    VKD_ASSERT(total < (size_t)1 << 31);
    int n_before = g->n_t;
    int flat = vkd_graph_tensor(g, name, kind, VKD_F32, (int)total, 1, 1, 1);
    for (int i = 0; i < n_before; i++)
        if (g->t[i].kind == kind && g->t[i].parent < 0)
            g->t[i].parent = flat;
    return flat;
}

/* Gradients: parameters' gradients are views of one flat GRAD tensor with the same layout as
 * the flat parameters, so SGD reads both with one index; every other gradient is its own root. */
static void make_grads(struct vkd_graph *g, int flat_param, int *flat_grad)
{
    *flat_grad = -1;
    if (flat_param >= 0) {
        const struct vkd_tensor *fp = &g->t[flat_param];
        *flat_grad = vkd_graph_tensor(g, "grad.flat", VKD_T_GRAD, VKD_F32, fp->n, 1, 1, 1);
    }
    int n_before = g->n_t;
    for (int i = 0; i < n_before; i++) {
        struct vkd_tensor t = g->t[i];
        if (!t.requires_grad || t.kind == VKD_T_GRAD || i == flat_param)
            continue;
        char name[VKD_NAME_LEN];
        snprintf(name, sizeof(name), "grad.%.*s", VKD_NAME_LEN - 6, t.name);
        int gi = vkd_graph_tensor(g, name, VKD_T_GRAD, VKD_F32, t.n, t.c, t.h, t.w);
        if (t.kind == VKD_T_PARAM) {
            g->t[gi].parent = *flat_grad;
            g->t[gi].offset = t.offset;
        }
        g->t[i].grad = gi;
    }
}

static int derive_backward(struct vkd_graph *g)
{
    char *written = calloc((size_t)g->n_t + 1, 1); /* per tensor: its gradient was written */
    VKD_ASSERT(written);
    for (int i = 0; i < g->n_seeds; i++) {
        const struct vkd_seed *s = &g->seeds[i];
        int gt = g->t[s->t].grad;
        if (gt < 0 || written[s->t]) {
            free(written);
            return fail(g, "seed on '%s': it has no gradient or is seeded twice", g->t[s->t].name);
        }
        if (s->src >= 0) {
            int in[1] = {s->src}, out[1] = {gt};
            aux_node(g, &vkd_op_copy, "seed", in, 1, out, 1, NULL, 0, 1);
        } else {
            struct vkd_fill_params fp = {.count = 1, .value = 1.0f, .slot = s->slot};
            int in[1] = {g->step_params}, out[1] = {gt};
            aux_node(g, &vkd_op_fill, "loss seed", in, 1, out, 1, &fp, sizeof(fp), 1);
        }
        written[s->t] = 1;
    }
    int n_fwd = g->n_list[0];
    for (int k = n_fwd - 1; k >= 0; k--) {
        int ni = g->list[0][k].node;
        if (g->nodes[ni].phase != 0)
            continue;
        /* Does any differentiable output carry a gradient that was written? */
        int any_out = 0, any_in = 0;
        const struct vkd_node *n = &g->nodes[ni];
        for (int j = 0; j < n->n_out; j++)
            any_out |= (n->op->diff_out & (1u << j)) && written[n->out[j]];
        for (int j = 0; j < n->n_in; j++)
            any_in |= n->in[j] >= 0 && g->t[n->in[j]].grad >= 0 && !(n->op->const_in & (1u << j));
        if (!any_out || !any_in)
            continue;
        /* Differentiable outputs whose gradient nobody wrote get zeros, so backward reads
         * defined values. (aux_node may move g->nodes: index, never keep a pointer.) */
        for (int j = 0; j < g->nodes[ni].n_out; j++) {
            int o = g->nodes[ni].out[j];
            if (!(g->nodes[ni].op->diff_out & (1u << j)) || written[o] || g->t[o].grad < 0)
                continue;
            struct vkd_fill_params fp = {
                .count = (uint32_t)vkd_tensor_numel(&g->t[o]), .value = 0.0f, .slot = -1};
            int in[1] = {g->step_params}, out[1] = {g->t[o].grad};
            aux_node(g, &vkd_op_fill, "zero grad", in, 1, out, 1, &fp, sizeof(fp), 1);
            written[o] = 1;
        }
        struct vkd_node *nm = &g->nodes[ni]; /* aux_node may have moved the array */
        for (int j = 0; j < nm->n_in; j++) {
            int t = nm->in[j];
            if (t < 0 || g->t[t].grad < 0 || (nm->op->const_in & (1u << j)))
                continue; /* no gradient, or one this op never writes (not a writer) */
            for (int q = 0; q < j; q++)
                if (nm->in[q] == t) {
                    free(written);
                    return fail(g, "node '%s' reads '%s' twice and needs its gradient; copy it "
                                   "first",
                                nm->name, g->t[t].name);
                }
            nm->acc[j] = written[t];
            written[t] = 1;
        }
        push_call(g, 1, ni, 1);
    }
    free(written);
    return 0;
}

enum vkd_status vkd_graph_finalize(struct vkd_graph *g, int sgd)
{
    VKD_ASSERT(!g->finalized);
    g->finalized = 1;
    propagate(g);
    int flat_param = plan_flat(g, VKD_T_PARAM, "param.flat");
    int flat_grad;
    make_grads(g, flat_param, &flat_grad);
    if (derive_backward(g) < 0)
        return VKD_ERR_INVALID;
    g->step_parts = vkd_schedule_step(g, &g->list[VKD_LIST_STEP], &g->n_list[VKD_LIST_STEP]);
    g->cap_list[VKD_LIST_STEP] = g->n_list[VKD_LIST_STEP];
    if (sgd && flat_param >= 0) {
        const struct vkd_tensor *fp = &g->t[flat_param];
        int mom = vkd_graph_tensor(g, "momentum.flat", VKD_T_OPT, VKD_F32, fp->n, 1, 1, 1);
        struct vkd_sgd_params sp = {.count = (uint32_t)g->t[flat_param].n};
        int in[4] = {flat_param, flat_grad, mom, g->step_params};
        aux_node(g, &vkd_op_sgd, "sgd", in, 4, NULL, 0, &sp, sizeof(sp), 2);
    }
    return VKD_OK;
}

/*
 * exec_ref.c - the CPU reference executor: the same graph, every op through its plain-C
 * reference, every tensor stored in double precision. It is the specification the Vulkan
 * executor is checked against, and what the finite-difference tests differentiate.
 */
#include <string.h>

#include "internal.h"

struct vkd_ref {
    const struct vkd_graph *g;
    double **data; /* per tensor; views point into their parent's array */
    double **owned;
};

struct vkd_ref *vkd_ref_create(const struct vkd_graph *g)
{
    struct vkd_ref *e = calloc(1, sizeof(*e));
    int n = vkd_graph_tensor_count(g);
    if (!e)
        return NULL;
    e->g = g;
    e->data = calloc((size_t)n, sizeof(*e->data));
    e->owned = calloc((size_t)n, sizeof(*e->owned));
    if (!e->data || !e->owned)
        goto fail;
    for (int i = 0; i < n; i++) {
        const struct vkd_tensor *t = vkd_graph_tensor_at(g, i);
        if (t->parent >= 0)
            continue;
        e->owned[i] = calloc(vkd_tensor_numel(t), sizeof(double));
        if (!e->owned[i])
            goto fail;
        e->data[i] = e->owned[i];
    }
    for (int i = 0; i < n; i++) {
        const struct vkd_tensor *t = vkd_graph_tensor_at(g, i);
        if (t->parent >= 0)
            e->data[i] = e->data[t->parent] + t->offset;
    }
    return e;
fail:
    vkd_ref_destroy(e);
    return NULL;
}

void vkd_ref_destroy(struct vkd_ref *e)
{
    if (!e)
        return;
    if (e->owned)
        for (int i = 0; i < vkd_graph_tensor_count(e->g); i++)
            free(e->owned[i]);
    free(e->owned);
    free(e->data);
    free(e);
}

const struct vkd_graph *vkd_ref_graph(const struct vkd_ref *e)
{
    return e->g;
}

double *vkd_ref_data(struct vkd_ref *e, int t)
{
    VKD_ASSERT(t >= 0 && t < vkd_graph_tensor_count(e->g));
    return e->data[t];
}

double *vkd_ref_t(struct vkd_ref *e, int t)
{
    return t < 0 ? NULL : vkd_ref_data(e, t);
}

double *vkd_ref_g(struct vkd_ref *e, int t)
{
    if (t < 0)
        return NULL;
    int gi = vkd_graph_tensor_at(e->g, t)->grad;
    return gi < 0 ? NULL : e->data[gi];
}

static void run_list_phase(struct vkd_ref *e, int list, int phase)
{
    const struct vkd_call *calls;
    int n = vkd_graph_list(e->g, list, &calls);
    for (int i = 0; i < n; i++) {
        const struct vkd_node *node = vkd_graph_node(e->g, calls[i].node);
        if (node->phase != phase)
            continue;
        if (calls[i].pass == 0)
            node->op->ref_fwd(e, node);
        else
            node->op->ref_bwd(e, node);
    }
}

static void run_list(struct vkd_ref *e, int list)
{
    run_list_phase(e, list, 0);
}

void vkd_ref_forward_phase(struct vkd_ref *e, int phase)
{
    run_list_phase(e, 0, phase);
}

void vkd_ref_forward(struct vkd_ref *e)
{
    run_list(e, 0);
}

void vkd_ref_backward(struct vkd_ref *e)
{
    run_list(e, 1);
}

void vkd_ref_update(struct vkd_ref *e)
{
    run_list(e, 2);
}

void vkd_ref_step(struct vkd_ref *e)
{
    run_list(e, 0);
    run_list(e, 1);
    run_list(e, 2);
}

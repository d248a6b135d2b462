/*
 * plan.c - where every tensor of a graph lives in the Vulkan executor's buffers (vkd_plan).
 *
 * Host-visible kinds (INPUT, OUTPUT, STEP) go to host-visible buffers; parameters, state,
 * gradients, optimizer state and activations used by more than one phase get memory of their
 * own in device buffers. Activations private to one phase share memory by their lifetimes:
 *   - phases run one at a time and recompute their activations every run, so two phases'
 *     activations never need memory at the same time;
 *   - with reuse on (vkd_vk_desc.reuse), an activation is live only from the first to the last
 *     dispatch that touches it in its phase's recorded order: forward, then backward (a node's
 *     backward may read any of its inputs and outputs), then the update. A frozen teacher's
 *     activations that no loss reads are dead as soon as the next layer has read them; the
 *     evaluation phases keep a few layers' worth; whatever backward needs stays. Tensors the
 *     host reads after a run (vkd_vk_desc.keep) live to the end of their phase.
 *   - with reuse off, every activation lives through its whole phase (op checks and tests read
 *     any activation after a run).
 * Nothing reads an activation before its phase has written it in the same run (op checks
 * pre-fill outputs with NaN, and the resume and streaming tests compare runs bit for bit), so
 * sharing changes no result.
 *
 * Placement is first fit: activations in order of first use, each at the lowest offset of the
 * first buffer where no placed activation overlaps it both in bytes and in time.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct life {
    int t;              /* root tensor */
    long first, last;   /* dispatch indices on the global timeline, inclusive */
    VkDeviceSize bytes;
};

struct placed {
    VkDeviceSize off, end;
    long first, last;
};

struct arena {
    struct placed *p;
    int n, cap;
    VkDeviceSize size, limit;
    int buf;
};

static int root_of(const struct vkd_graph *g, int t)
{
    while (vkd_graph_tensor_at(g, t)->parent >= 0)
        t = vkd_graph_tensor_at(g, t)->parent;
    return t;
}

static VkDeviceSize align_up(VkDeviceSize x, VkDeviceSize a)
{
    return (x + a - 1) / a * a;
}

/* Lifetimes on one timeline: the phases one after the other, each in its recorded order.
 * phase_of[t]: the one phase that touches ACT root t, -1 for several (or none), -2 other kinds. */
static void lifetimes(const struct vkd_graph *g, unsigned program, int reuse, const int *keep,
                      int n_keep, int *phase_of, long *first, long *last)
{
    int n = vkd_graph_tensor_count(g);
    for (int i = 0; i < n; i++) {
        phase_of[i] = vkd_graph_tensor_at(g, i)->kind == VKD_T_ACT ? VKD_MAX_PHASES : -2;
        first[i] = -1, last[i] = -1;
    }
    long time = 0, phase_end[VKD_MAX_PHASES];
    for (int p = 0; p < VKD_MAX_PHASES; p++) {
        for (int list = 0; list < 3; list++) {
            if (p == 0 ? !(program & (1u << list)) : list != 0)
                continue;
            const struct vkd_call *calls;
            int nc = vkd_graph_list(g, list, &calls);
            for (int c = 0; c < nc; c++) {
                const struct vkd_node *node = vkd_graph_node(g, calls[c].node);
                if (node->phase != p)
                    continue;
                for (int k = 0; k < node->n_in + node->n_out; k++) {
                    int t = k < node->n_in ? node->in[k] : node->out[k - node->n_in];
                    if (t < 0)
                        continue;
                    int r = root_of(g, t);
                    if (phase_of[r] == VKD_MAX_PHASES)
                        phase_of[r] = p;
                    else if (phase_of[r] >= 0 && phase_of[r] != p)
                        phase_of[r] = -1;
                    if (first[r] < 0)
                        first[r] = time;
                    last[r] = time;
                }
                time++;
            }
        }
        phase_end[p] = time - 1;
    }
    /* Nodes of phases other than 0 that the program does not record still own their tensors'
     * phase (forward lists hold every node), so phase_of is complete. */
    for (int i = 0; i < n; i++) {
        if (phase_of[i] == VKD_MAX_PHASES)
            phase_of[i] = -1; /* an activation no node touches: keep it */
        if (phase_of[i] >= 0 && (!reuse || first[i] < 0))
            last[i] = phase_end[phase_of[i]];
    }
    for (int k = 0; k < n_keep; k++) {
        int r = root_of(g, keep[k]);
        if (phase_of[r] >= 0)
            last[r] = phase_end[phase_of[r]];
    }
}

static int by_first(const void *a, const void *b)
{
    const struct life *x = a, *y = b;
    return x->first < y->first ? -1 : x->first > y->first ? 1 : x->t - y->t;
}

static int by_off(const void *a, const void *b)
{
    const struct placed *x = *(const struct placed *const *)a, *y = *(const struct placed *const *)b;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* The lowest offset in arena a where [off, off + bytes) meets no placed block alive at the same
 * time, or a->limit when none fits: one sweep over those blocks in address order. */
static VkDeviceSize fit(const struct arena *a, const struct life *l, const struct placed **tmp)
{
    int m = 0;
    for (int i = 0; i < a->n; i++)
        if (!(a->p[i].last < l->first || a->p[i].first > l->last))
            tmp[m++] = &a->p[i];
    qsort(tmp, (size_t)m, sizeof(*tmp), by_off);
    VkDeviceSize off = 0;
    for (int i = 0; i < m && tmp[i]->off < off + l->bytes; i++)
        if (tmp[i]->end > off)
            off = tmp[i]->end;
    return off + l->bytes <= a->limit ? off : a->limit;
}

enum vkd_status vkd_plan(struct vkd_context *ctx, const struct vkd_graph *g,
                         const struct vkd_vk_desc *desc, struct vkd_plan_out *out)
{
    int n = vkd_graph_tensor_count(g), rc = -1;
    int *phase_of = malloc(sizeof(int) * (size_t)(n ? n : 1));
    long *first = malloc(sizeof(long) * (size_t)(n ? n : 1));
    long *last = malloc(sizeof(long) * (size_t)(n ? n : 1));
    struct life *lives = malloc(sizeof(*lives) * (size_t)(n ? n : 1));
    const struct placed **tmp = malloc(sizeof(*tmp) * (size_t)(n ? n : 1));
    struct arena arenas[VKD_PLAN_MAX_BUFFERS];
    int n_arenas = 0, n_lives = 0;
    out->n = 0;
    if (!phase_of || !first || !last || !lives || !tmp)
        goto done;
    lifetimes(g, desc->program, desc->reuse, desc->keep, desc->n_keep, phase_of, first, last);

    /* tensors with memory of their own: host-visible ones, then the rest of the device ones */
    for (int cls = 1; cls >= 0; cls--) {
        int cur = -1;
        VkDeviceSize used = 0, cap = 0;
        for (int i = 0; i < n; i++) {
            const struct vkd_tensor *t = vkd_graph_tensor_at(g, i);
            int hv = t->kind == VKD_T_INPUT || t->kind == VKD_T_OUTPUT || t->kind == VKD_T_STEP;
            if (t->parent >= 0 || hv != cls || (!hv && phase_of[i] >= 0))
                continue;
            VkDeviceSize bytes = align_up(vkd_tensor_numel(t) * 4, VKD_TENSOR_ALIGN);
            if (cur < 0 || used + bytes > cap) {
                if (out->n == VKD_PLAN_MAX_BUFFERS)
                    goto done;
                cur = out->n++;
                out->host_visible[cur] = hv;
                used = 0;
                cap = bytes > VKD_CHUNK_BYTES ? bytes : VKD_CHUNK_BYTES;
            }
            out->buf_of[i] = cur;
            out->byte_off[i] = used;
            used += bytes;
            out->size[cur] = used;
        }
    }

    /* phase-private activations, by lifetime */
    for (int i = 0; i < n; i++)
        if (vkd_graph_tensor_at(g, i)->parent < 0 && phase_of[i] >= 0)
            lives[n_lives++] = (struct life){
                i, first[i], last[i],
                align_up(vkd_tensor_numel(vkd_graph_tensor_at(g, i)) * 4, VKD_TENSOR_ALIGN)};
    qsort(lives, (size_t)n_lives, sizeof(*lives), by_first);
    for (int k = 0; k < n_lives; k++) {
        const struct life *l = &lives[k];
        int a = 0;
        VkDeviceSize off = 0;
        for (; a < n_arenas; a++)
            if ((off = fit(&arenas[a], l, tmp)) < arenas[a].limit)
                break;
        if (a == n_arenas) {
            if (n_arenas == VKD_PLAN_MAX_BUFFERS || out->n == VKD_PLAN_MAX_BUFFERS)
                goto done;
            arenas[a] = (struct arena){NULL, 0, 0, 0,
                                       l->bytes > VKD_CHUNK_BYTES ? l->bytes : VKD_CHUNK_BYTES,
                                       out->n};
            out->host_visible[out->n] = 0;
            out->size[out->n++] = 0;
            n_arenas++;
            off = 0;
        }
        struct arena *ar = &arenas[a];
        if (ar->n == ar->cap) {
            int cap = ar->cap ? 2 * ar->cap : 64;
            struct placed *p = realloc(ar->p, sizeof(*p) * (size_t)cap);
            if (!p)
                goto done;
            ar->p = p, ar->cap = cap;
        }
        ar->p[ar->n++] = (struct placed){off, off + l->bytes, l->first, l->last};
        out->buf_of[l->t] = ar->buf;
        out->byte_off[l->t] = off;
        if (off + l->bytes > out->size[ar->buf])
            out->size[ar->buf] = off + l->bytes;
    }
    rc = 0;
done:
    for (int a = 0; a < n_arenas; a++)
        free(arenas[a].p);
    free(phase_of), free(first), free(last), free(lives), free(tmp);
    if (rc == 0)
        return VKD_OK;
    return vkd_fail(ctx, out->n == VKD_PLAN_MAX_BUFFERS ? VKD_ERR_INVALID : VKD_ERR_OUT_OF_MEMORY,
                    out->n == VKD_PLAN_MAX_BUFFERS ? "the graph needs too many buffers"
                                                   : "out of host memory");
}

/*
 * plan.c - where every tensor of a graph lives in the Vulkan executor's buffers (vkd_plan).
 *
 * Host-visible kinds (INPUT, OUTPUT, STEP) go to host-visible buffers; parameters, state,
 * parameter gradients (views of the flat gradient SGD reads), optimizer state and activations
 * used by more than one phase get memory of their own in device buffers. Activations private to
 * one phase, and with reuse on the gradients of activations, share memory by their lifetimes:
 *   - phases run one at a time and recompute their activations every run, so two phases'
 *     activations never need memory at the same time;
 *   - with reuse on (vkd_vk_desc.reuse), a tensor is live only from the first to the last
 *     call that touches it in its phase's recorded order: forward, then backward (a node's
 *     backward may read any of its inputs and outputs and their gradients), then the update.
 *     Where a training step's gradients fall into independent parts (a student cut into modules
 *     by stop-gradients), the forward and backward are also planned interleaved part by part
 *     (schedule.c: a module's backward before the next module's forward, so its activations die
 *     early), and that order is recorded when its plan is smaller (vkd_plan_out.interleaved). A
 *     frozen teacher's activations that no loss reads are dead as soon as the next layer has
 *     read them; the evaluation phases keep a few layers' worth; whatever backward needs stays.
 *     An activation's gradient lives from its first writer's backward (the consumer that comes
 *     last in forward order: it overwrites, earlier consumers add, graph.c) to its producer's
 *     backward, so only the gradients around the current layer need memory at once. Tensors the
 *     host reads after a run (vkd_vk_desc.keep) live to the end of their phase.
 *   - with reuse off, every activation lives through its whole phase and every gradient has
 *     memory of its own (op checks and tests read any of them after a run).
 * A tensor shares memory only if the first call that touches it in a run overwrites it (a
 * forward writing its output, a backward overwriting a gradient, a seed or zero fill): nothing
 * then reads what another tensor left in that memory. A tensor read first keeps memory of its
 * own and with it its zeros or the last run's values: a gradient no node writes (graph.c:
 * "stays zero"), a tensor the host writes. Tests run reuse on against reuse off bit for bit
 * with shared memory filled with NaN at creation (vkd_vk_desc.poison; tests/test_plan.c).
 *
 * Placement is first fit: tensors in order of first use, each at the lowest offset of the
 * first buffer where no placed tensor overlaps it both in bytes and in time.
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

/* Lifetimes on one timeline: the phases one after the other, each in its recorded order. */
struct timeline {
    const struct vkd_graph *g;
    int *phase_of;      /* per root: its one phase, -1 memory of its own, -2 not shareable */
    long *first, *last; /* per root: first and last call that touches it, -1 for none */
    long time;          /* the current call */
};

/* Records that the current call of phase p touches tensor t (a view stands for its root);
 * overwrite: the call writes all of t without reading it first. A tensor whose first touch in
 * a run is a read (a gradient no node writes, a value the host wrote or the last run left) must
 * keep memory of its own: only that memory still holds what the read expects. */
static void touch(struct timeline *tl, int t, int p, int overwrite)
{
    int r = root_of(tl->g, t);
    if (tl->first[r] < 0) {
        tl->first[r] = tl->time;
        if (!overwrite && tl->phase_of[r] != -2)
            tl->phase_of[r] = -1;
    }
    tl->last[r] = tl->time;
    if (tl->phase_of[r] == VKD_MAX_PHASES)
        tl->phase_of[r] = p;
    else if (tl->phase_of[r] >= 0 && tl->phase_of[r] != p)
        tl->phase_of[r] = -1;
}

/* What one call touches. A forward pass (and the graph's own fill, copy and SGD nodes) reads
 * in[] and overwrites out[]. A backward pass may read any of in[] and out[], reads the
 * gradients of out[], and writes the gradient of every input that is not const_in: overwriting
 * it when acc is 0 (the first writer, graph.c), adding to it otherwise. */
static void touch_call(struct timeline *tl, const struct vkd_node *node, int pass)
{
    for (int k = 0; k < node->n_in + node->n_out; k++) {
        int t = k < node->n_in ? node->in[k] : node->out[k - node->n_in];
        if (t >= 0)
            touch(tl, t, node->phase, pass == 0 && k >= node->n_in);
    }
    if (pass == 0)
        return;
    for (int k = 0; k < node->n_out; k++) {
        int gi = vkd_graph_tensor_at(tl->g, node->out[k])->grad;
        if (gi >= 0)
            touch(tl, gi, node->phase, 0);
    }
    for (int k = 0; k < node->n_in; k++) {
        int gi = node->in[k] < 0 ? -1 : vkd_graph_tensor_at(tl->g, node->in[k])->grad;
        if (gi >= 0 && !(node->op->const_in & (1u << k)))
            touch(tl, gi, node->phase, !node->acc[k]);
    }
}

/* Which roots may share memory by lifetime: activations, and with reuse on the gradients of
 * activations (GRAD roots of which no tensor is a view: the flat parameter gradient, which SGD
 * reads whole, keeps its memory and its zeros where no node writes). With reuse off gradients
 * keep memory of their own, so tests can read any of them after a run. */
static void shareable(const struct vkd_graph *g, int reuse, int *phase_of)
{
    int n = vkd_graph_tensor_count(g);
    for (int i = 0; i < n; i++) {
        const struct vkd_tensor *t = vkd_graph_tensor_at(g, i);
        int act_grad = reuse && t->kind == VKD_T_GRAD;
        phase_of[i] = t->parent < 0 && (t->kind == VKD_T_ACT || act_grad) ? VKD_MAX_PHASES : -2;
    }
    for (int i = 0; i < n; i++) {
        const struct vkd_tensor *t = vkd_graph_tensor_at(g, i);
        if (t->parent >= 0 && vkd_graph_tensor_at(g, t->parent)->kind == VKD_T_GRAD)
            phase_of[t->parent] = -2;
    }
}

/* phase_of[t]: the one phase whose calls touch shareable root t, -1 for several (or none, or
 * a read first), -2 for roots that are not shareable; first/last: the calls that touch it. */
static void lifetimes(const struct vkd_graph *g, unsigned program, int reuse, int interleave,
                      const int *keep, int n_keep, int *phase_of, long *first, long *last)
{
    int n = vkd_graph_tensor_count(g);
    struct timeline tl = {g, phase_of, first, last, 0};
    shareable(g, reuse, phase_of);
    for (int i = 0; i < n; i++)
        first[i] = -1, last[i] = -1;
    long phase_end[VKD_MAX_PHASES];
    for (int p = 0; p < VKD_MAX_PHASES; p++) {
        int lists[3], n_lists = vkd_graph_program_lists(g, program, interleave, p, lists);
        for (int l = 0; l < n_lists; l++) {
            const struct vkd_call *calls;
            int nc = vkd_graph_list(g, lists[l], &calls);
            for (int c = 0; c < nc; c++) {
                const struct vkd_node *node = vkd_graph_node(g, calls[c].node);
                if (node->phase != p)
                    continue;
                touch_call(&tl, node, calls[c].pass);
                tl.time++;
            }
        }
        phase_end[p] = tl.time - 1;
    }
    /* Nodes of phases other than 0 that the program does not record still own their tensors'
     * phase (forward lists hold every node), so phase_of is complete. */
    for (int i = 0; i < n; i++) {
        if (phase_of[i] == VKD_MAX_PHASES)
            phase_of[i] = -1; /* a tensor no call touches: keep it (and its zeros) */
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

/* The plan of every tensor with phase 0 walking the plain lists or the interleaved step. */
static enum vkd_status plan_order(struct vkd_context *ctx, const struct vkd_graph *g,
                                  const struct vkd_vk_desc *desc, int interleave,
                                  struct vkd_plan_out *out)
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
    lifetimes(g, desc->program, desc->reuse, interleave, desc->keep, desc->n_keep, phase_of, first,
              last);

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
                out->shared[cur] = 0;
                used = 0;
                cap = bytes > VKD_CHUNK_BYTES ? bytes : VKD_CHUNK_BYTES;
            }
            out->buf_of[i] = cur;
            out->byte_off[i] = used;
            used += bytes;
            out->size[cur] = used;
        }
    }

    /* phase-private activations and activation gradients, by lifetime */
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
            out->shared[out->n] = 1;
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

static VkDeviceSize total_bytes(const struct vkd_plan_out *p)
{
    VkDeviceSize sum = 0;
    for (int b = 0; b < p->n; b++)
        sum += p->size[b];
    return sum;
}

enum vkd_status vkd_plan(struct vkd_context *ctx, const struct vkd_graph *g,
                         const struct vkd_vk_desc *desc, struct vkd_plan_out *out)
{
    out->interleaved = 0;
    enum vkd_status s = plan_order(ctx, g, desc, 0, out);
    if (s != VKD_OK || !desc->reuse || desc->plain_order || vkd_graph_step_parts(g) < 2)
        return s;
    /* The interleaved step (schedule.c), where it needs less memory than the plain order: the
     * first-fit placement is a heuristic, and a part's forward moved after another's backward
     * can make what it reads live longer. Otherwise the plain plan stands. */
    int n = vkd_graph_tensor_count(g);
    struct vkd_plan_out *alt = calloc(1, sizeof(*alt));
    if (alt) {
        alt->buf_of = malloc(sizeof(int) * (size_t)n);
        alt->byte_off = malloc(sizeof(VkDeviceSize) * (size_t)n);
    }
    if (!alt || !alt->buf_of || !alt->byte_off) {
        s = vkd_fail(ctx, VKD_ERR_OUT_OF_MEMORY, "out of host memory");
    } else if (plan_order(ctx, g, desc, 1, alt) == VKD_OK && total_bytes(alt) < total_bytes(out)) {
        int *buf_of = out->buf_of;
        VkDeviceSize *byte_off = out->byte_off;
        memcpy(buf_of, alt->buf_of, sizeof(int) * (size_t)n);
        memcpy(byte_off, alt->byte_off, sizeof(VkDeviceSize) * (size_t)n);
        *out = *alt;
        out->buf_of = buf_of, out->byte_off = byte_off;
        out->interleaved = 1;
    }
    if (alt)
        free(alt->buf_of), free(alt->byte_off);
    free(alt);
    return s;
}

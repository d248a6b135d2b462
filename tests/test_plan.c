/*
 * test_plan.c - the memory planner (engine/plan.c): with reuse on, activations and the
 * gradients of activations share memory by lifetime, and no result may change by a single bit.
 *
 * Each configuration is one graph run by two Vulkan executors from the same weights, batches
 * and step parameters for VKD_STEPS training steps (and an evaluation phase after each):
 *   - reuse off: every gradient has memory of its own, every activation lives through its phase;
 *   - reuse on, with the memory tensors share filled with NaN at creation (vkd_vk_desc.poison),
 *     so a read before the first write of a run poisons the results instead of reading zero.
 * Every output of every run, and at the end every parameter, running statistic, momentum, the
 * flat parameter gradient and the activation gradients that accumulate (tensors read by two or
 * more nodes: residual branches; kept for the host with vkd_vk_desc.keep) must be equal bit for
 * bit. The reuse-on plan must place some activation gradient in memory another tensor also
 * uses, keep the flat parameter gradient in memory of its own, and hold less device memory.
 * Configurations: resnet8 training with an evaluation phase (the trainer's layout: phase 0 the
 * step, phase 1 a weight-sharing copy in evaluation mode), and the distillation graphs of
 * tests/test_distill_step.c (kd, ickd, lkd, lakd, sakd from a frozen teacher; corsd alone).
 * Each configuration also checks the interleaved training step (engine/schedule.c): that its
 * list is a valid order of the step (from the graph alone), the number of independent gradient
 * parts, that the plan takes the interleaved order exactly when it is
 * smaller, and that it is smaller where the student is cut into modules (lakd): with reuse on,
 * the executor above ran that order, so the bit-for-bit checks cover it.
 * Last, a gradient no node writes (an input's, read only through a stop-gradient) must still
 * read exactly zero with reuse and poison on: it is read first, so it keeps its own zeros.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "method.h"
#include "models.h"
#include "testutil.h"
#include "vkd_ops.h"
#include "vkd_rng.h"

#define VKD_STEPS 3
#define N 4
#define TRIPLETS 4
#define EVAL_N 3 /* <= N: the evaluation reads the batch's first images */
#define HW 8
#define CLASSES 5
#define MAX_KEEP 64

struct run {
    struct vkd_graph *g;
    struct model t, s, e;
    struct kd_build kb;
    int n, triplets;
    int x, labels, ex, elabels;
};

static int passed, failed;

static void check(int ok, const char *line)
{
    printf("%-4s %s\n", ok ? "ok" : "FAIL", line);
    ok ? passed++ : failed++;
}

/* resnet8 and a method's terms as `vkdistill distill` builds them (method NULL: the
 * cross-entropy alone), then an evaluation phase sharing the student's weights. */
static int build(struct run *r, const char *teacher, const char *method, const char *opts)
{
    char err[512];
    const struct method *m = method_find(method ? method : "kd");
    struct kd_build *kb = &r->kb;
    r->triplets = method && m->triplets;
    r->n = r->triplets ? 3 * TRIPLETS : N;
    r->g = vkd_graph_create();
    r->x = vkd_graph_input(r->g, "x", VKD_F32, r->n, 1, HW, HW);
    r->labels = vkd_graph_input(r->g, "labels", VKD_U32, r->n, 1, 1, 1);
    if (!m || method_resolve(m, opts, kb->params, err, sizeof(err)) < 0) {
        printf("FAIL: method %s: %s\n", method, m ? err : "unknown");
        return -1;
    }
    struct model_opts mo = {.batch = r->n, .in_c = 1, .in_hw = HW, .classes = CLASSES,
                            .training = 1, .input = r->x, .has_input = 1,
                            .cut_stages = method ? method_cuts_student(m, kb->params) : 0};
    struct model_opts to = mo;
    to.training = 0, to.frozen = 1, to.prefix = "teacher/", to.cut_stages = 0;
    if ((teacher && model_build(r->g, teacher, &to, &r->t, err, sizeof(err)) < 0) ||
        model_build(r->g, "resnet8", &mo, &r->s, err, sizeof(err)) < 0) {
        printf("FAIL: model: %s\n", err);
        return -1;
    }
    if (!method) {
        int loss = vkd_softmax_ce(r->g, "ce", r->s.logits, r->labels, NULL, NULL);
        vkd_graph_loss(r->g, loss, -1);
    } else {
        kd_build_models(kb, m, r->g, r->n, CLASSES, r->labels, &r->s, teacher ? &r->t : NULL);
        if (m->build(kb) < 0) {
            printf("FAIL: method %s: %s\n", method, kb->err);
            return -1;
        }
    }
    vkd_graph_set_phase(r->g, 1);
    r->ex = vkd_graph_input(r->g, "eval.x", VKD_F32, EVAL_N, 1, HW, HW);
    r->elabels = vkd_graph_input(r->g, "eval.labels", VKD_U32, EVAL_N, 1, 1, 1);
    struct model_opts eo = {.batch = EVAL_N, .in_c = 1, .in_hw = HW, .classes = CLASSES,
                            .input = r->ex, .has_input = 1, .prefix = "eval/", .param_prefix = "",
                            .share = 1};
    if (model_build(r->g, "resnet8", &eo, &r->e, err, sizeof(err)) < 0) {
        printf("FAIL: eval model: %s\n", err);
        return -1;
    }
    int top1;
    vkd_softmax_ce(r->g, "eval/ce", r->e.logits, r->elabels, &top1, NULL);
    vkd_graph_set_phase(r->g, 0);
    if (vkd_graph_finalize(r->g, 1) != VKD_OK) {
        printf("FAIL: finalize: %s\n", vkd_graph_error(r->g));
        return -1;
    }
    return 0;
}

/* Activation gradients that accumulate: gradients (not parameters') of tensors that two or more
 * phase-0 nodes read. */
static int accumulating_grads(const struct vkd_graph *g, int *keep)
{
    int nt = vkd_graph_tensor_count(g), n_keep = 0;
    int *readers = calloc((size_t)nt, sizeof(int));
    const struct vkd_call *calls;
    int nc = vkd_graph_list(g, 0, &calls);
    for (int c = 0; c < nc; c++) {
        const struct vkd_node *node = vkd_graph_node(g, calls[c].node);
        for (int k = 0; k < node->n_in; k++)
            if (node->phase == 0 && node->in[k] >= 0)
                readers[node->in[k]]++;
    }
    for (int t = 0; t < nt && n_keep < MAX_KEEP; t++) {
        const struct vkd_tensor *tt = vkd_graph_tensor_at(g, t);
        if (readers[t] >= 2 && tt->grad >= 0 && tt->kind != VKD_T_PARAM)
            keep[n_keep++] = tt->grad;
    }
    free(readers);
    return n_keep;
}

/* Weights as tests/test_distill_step.c draws them: fp32 values, BN weights near 1, running
 * variances near 1, so evaluation-mode BatchNorm is not the identity. */
static void init(const struct vkd_graph *g, struct vkd_vk *vk[2], struct vkd_rng *rng)
{
    for (int t = 0; t < vkd_graph_tensor_count(g); t++) {
        const struct vkd_tensor *tt = vkd_graph_tensor_at(g, t);
        if (!((tt->kind == VKD_T_PARAM && tt->parent >= 0) || tt->kind == VKD_T_STATE) ||
            tt->dtype != VKD_F32)
            continue;
        size_t n = vkd_tensor_numel(tt);
        float *v = malloc(n * sizeof(float));
        int bn = strstr(tt->name, "bn") != NULL || strstr(tt->name, "downsample.1") != NULL;
        double sd = sqrt(2.0 / (double)(tt->n * tt->h * tt->w));
        for (size_t i = 0; i < n; i++) {
            if (strstr(tt->name, "running_var"))
                v[i] = (float)(1.0 + 0.2 * vkd_rng_uniform(rng));
            else if (strstr(tt->name, "running_mean") || strstr(tt->name, "bias"))
                v[i] = (float)(0.1 * vkd_rng_normal(rng));
            else
                v[i] = (float)(bn ? 1.0 + 0.1 * vkd_rng_normal(rng) : sd * vkd_rng_normal(rng));
        }
        vkd_vk_write_f32(vk[0], t, v);
        vkd_vk_write_f32(vk[1], t, v);
        free(v);
    }
}

/* Tensor t read from both executors, equal bit for bit? (u32 tensors convert exactly.) */
/* Root of tensor t (views stand for their root). */
static int root(const struct vkd_graph *g, int t)
{
    while (vkd_graph_tensor_at(g, t)->parent >= 0)
        t = vkd_graph_tensor_at(g, t)->parent;
    return t;
}

/* The gradient roots backward call c touches (seeds and fills: their output). */
static int grads_touched(const struct vkd_graph *g, const struct vkd_call *c, int *out)
{
    const struct vkd_node *nd = vkd_graph_node(g, c->node);
    int n = 0;
    for (int k = 0; k < nd->n_in + nd->n_out; k++) {
        int t = k < nd->n_in ? nd->in[k] : nd->out[k - nd->n_in];
        int gt = t < 0 ? -1 : c->pass == 0 ? (k >= nd->n_in ? t : -1)
                                           : vkd_graph_tensor_at(g, t)->grad;
        if (gt >= 0)
            out[n++] = gt; /* parameter gradients are views: compared as themselves */
    }
    return n;
}

/* The interleaved step list (engine/schedule.c) is a valid order of the step, checked from the
 * graph alone: it holds every phase-0 forward call and every backward call once; a call comes
 * after the forward call that writes each tensor its node reads or writes (a backward after
 * its own node's forward); and the backward calls touching one gradient keep the backward
 * list's order (so graph.c's overwrite-then-add order). Returns 1 when all holds. */
static int step_order_valid(const struct vkd_graph *g)
{
    const struct vkd_call *f, *b, *st;
    int nf = vkd_graph_list(g, VKD_LIST_FORWARD, &f), nb = vkd_graph_list(g, VKD_LIST_BACKWARD, &b);
    int ns = vkd_graph_list(g, VKD_LIST_STEP, &st), nt = vkd_graph_tensor_count(g), n_nodes = 0;
    for (int i = 0; i < nf; i++)
        n_nodes = f[i].node >= n_nodes ? f[i].node + 1 : n_nodes;
    for (int i = 0; i < nb; i++)
        n_nodes = b[i].node >= n_nodes ? b[i].node + 1 : n_nodes;
    int *pos = malloc(sizeof(int) * (size_t)(2 * n_nodes));
    int *writer = malloc(sizeof(int) * (size_t)nt);
    int ok = 1, n_fwd = 0;
    for (int i = 0; i < 2 * n_nodes; i++)
        pos[i] = -1;
    for (int i = 0; i < nt; i++)
        writer[i] = -1;
    for (int i = 0; i < ns; i++) {
        ok &= pos[2 * st[i].node + st[i].pass] < 0; /* once */
        pos[2 * st[i].node + st[i].pass] = i;
    }
    for (int i = 0; i < nf; i++) {
        const struct vkd_node *nd = vkd_graph_node(g, f[i].node);
        if (nd->phase != 0)
            continue;
        n_fwd++;
        for (int k = 0; k < nd->n_out; k++)
            writer[root(g, nd->out[k])] = f[i].node;
    }
    ok &= ns == n_fwd + nb;
    for (int i = 0; i < ns && ok; i++) {
        const struct vkd_node *nd = vkd_graph_node(g, st[i].node);
        for (int k = 0; k < nd->n_in + nd->n_out; k++) {
            int t = k < nd->n_in ? nd->in[k] : nd->out[k - nd->n_in];
            int w = t < 0 ? -1 : writer[root(g, t)];
            if (w >= 0 && w != st[i].node)
                ok &= pos[2 * w] >= 0 && pos[2 * w] < i;
        }
        if (st[i].pass == 1)
            ok &= pos[2 * st[i].node] >= 0 && pos[2 * st[i].node] < i;
    }
    for (int i = 0; i < nb && ok; i++) {
        int gi[2 * VKD_NODE_IO], ni = grads_touched(g, &b[i], gi);
        for (int j = i + 1; j < nb && ok; j++) {
            int gj[2 * VKD_NODE_IO], nj = grads_touched(g, &b[j], gj), shared = 0;
            for (int x = 0; x < ni; x++)
                for (int y = 0; y < nj; y++)
                    shared |= gi[x] == gj[y];
            if (shared)
                ok &= pos[2 * b[i].node + b[i].pass] < pos[2 * b[j].node + b[j].pass];
        }
    }
    free(pos), free(writer);
    return ok;
}

static int same_bits(struct vkd_vk *vk[2], const struct vkd_graph *g, int t, float *a, float *b)
{
    size_t n = vkd_tensor_numel(vkd_graph_tensor_at(g, t));
    if (vkd_vk_read_f32(vk[0], t, a) != VKD_OK || vkd_vk_read_f32(vk[1], t, b) != VKD_OK)
        return 0;
    return memcmp(a, b, n * sizeof(float)) == 0;
}

/* The reuse-on plan: how many activation gradients share bytes with another root tensor, and
 * whether the flat parameter gradient has a buffer nobody shares. */
static void plan_shape(struct vkd_context *ctx, const struct vkd_graph *g,
                       const struct vkd_vk_desc *d, int *grads_shared, int *flat_own)
{
    int nt = vkd_graph_tensor_count(g);
    struct vkd_plan_out *po = calloc(1, sizeof(*po));
    po->buf_of = calloc((size_t)nt, sizeof(int));
    po->byte_off = calloc((size_t)nt, sizeof(VkDeviceSize));
    *grads_shared = 0, *flat_own = 0;
    if (vkd_plan(ctx, g, d, po) == VKD_OK) {
        for (int i = 0; i < nt; i++) {
            const struct vkd_tensor *ti = vkd_graph_tensor_at(g, i);
            if (ti->kind != VKD_T_GRAD || ti->parent >= 0)
                continue;
            if (!strcmp(ti->name, "grad.flat")) {
                *flat_own = !po->shared[po->buf_of[i]];
                continue;
            }
            VkDeviceSize a0 = po->byte_off[i], a1 = a0 + vkd_tensor_numel(ti) * 4;
            for (int j = 0; j < nt; j++) {
                const struct vkd_tensor *tj = vkd_graph_tensor_at(g, j);
                VkDeviceSize b0 = po->byte_off[j], b1 = b0 + vkd_tensor_numel(tj) * 4;
                if (j != i && tj->parent < 0 && po->buf_of[j] == po->buf_of[i] && a0 < b1 &&
                    b0 < a1) {
                    ++*grads_shared;
                    break;
                }
            }
        }
    }
    free(po->buf_of), free(po->byte_off), free(po);
}

/* Device bytes of the plan for desc; *interleaved: whether it chose the interleaved step. */
static VkDeviceSize plan_bytes(struct vkd_context *ctx, const struct vkd_graph *g,
                               const struct vkd_vk_desc *d, int *interleaved)
{
    int nt = vkd_graph_tensor_count(g);
    struct vkd_plan_out *po = calloc(1, sizeof(*po));
    po->buf_of = calloc((size_t)nt, sizeof(int));
    po->byte_off = calloc((size_t)nt, sizeof(VkDeviceSize));
    VkDeviceSize sum = 0;
    if (vkd_plan(ctx, g, d, po) == VKD_OK)
        for (int b = 0; b < po->n; b++)
            sum += po->size[b];
    if (interleaved)
        *interleaved = po->interleaved;
    free(po->buf_of), free(po->byte_off), free(po);
    return sum;
}

static void step_inputs(struct run *r, struct vkd_vk *vk[2], struct vkd_rng *rng, int step)
{
    float *x = malloc(sizeof(float) * (size_t)r->n * HW * HW);
    uint32_t y[3 * TRIPLETS > N ? 3 * TRIPLETS : N];
    for (int n = 0; n < r->n; n++) {
        y[n] = vkd_rng_below(rng, CLASSES);
        if (r->triplets && n % 3 == 1)
            y[n] = y[n - 1]; /* a triplet a p n: the positive shares the anchor's class */
        else if (r->triplets && n % 3 == 2)
            y[n] = (y[n - 2] + 1 + vkd_rng_below(rng, CLASSES - 1)) % CLASSES;
        for (int i = 0; i < HW * HW; i++)
            x[n * HW * HW + i] =
                (float)(vkd_rng_normal(rng) * 0.5 + (i % CLASSES == (int)y[n] ? 1.0 : 0.0));
    }
    float sp[VKD_SP_COUNT] = {[VKD_SP_LR] = step < 2 ? 0.05f : 0.01f, [VKD_SP_MOMENTUM] = 0.9f,
                              [VKD_SP_WEIGHT_DECAY] = 5e-4f, [VKD_SP_STEP] = (float)step};
    for (int k = 0; k < r->kb.n_terms; k++)
        sp[r->kb.terms[k].slot] = (float)r->kb.terms[k].weight;
    uint32_t ya[TRIPLETS];
    float soft[TRIPLETS * CLASSES];
    if (r->triplets)
        kd_triplet_fill(y, r->n, CLASSES, ya, soft);
    for (int e = 0; e < 2; e++) {
        vkd_vk_write_f32(vk[e], r->x, x);
        vkd_vk_write_raw(vk[e], r->labels, y, 4 * (size_t)r->n);
        vkd_vk_write_f32(vk[e], vkd_graph_step_params(r->g), sp);
        vkd_vk_write_f32(vk[e], r->ex, x); /* the first EVAL_N images again */
        vkd_vk_write_raw(vk[e], r->elabels, y, 4 * EVAL_N);
        if (r->triplets) {
            vkd_vk_write_raw(vk[e], r->kb.tri_labels, ya, 4 * TRIPLETS);
            vkd_vk_write_f32(vk[e], r->kb.tri_soft, soft);
        }
    }
    free(x);
}

static int config(struct vkd_context *ctx, const char *teacher, const char *method,
                  const char *opts, int want_parts, int shrink)
{
    struct run r = {0};
    char line[256];
    printf("-- %s -> resnet8, %s %s\n", teacher ? teacher : "no teacher",
           method ? method : "cross-entropy alone", opts ? opts : "");
    if (build(&r, teacher, method, opts) < 0)
        return -1;
    struct vkd_graph *g = r.g;
    int keep[MAX_KEEP], n_keep = accumulating_grads(g, keep);
    unsigned prog = VKD_PROG_FORWARD | VKD_PROG_BACKWARD | VKD_PROG_UPDATE;
    struct vkd_vk_desc d[2] = {{prog, 0, 0, NULL, 0, 0}, {prog, 0, 1, keep, n_keep, 1}};
    struct vkd_vk *vk[2] = {NULL, NULL};
    if (vkd_vk_create(ctx, g, &d[0], &vk[0]) != VKD_OK ||
        vkd_vk_create(ctx, g, &d[1], &vk[1]) != VKD_OK) {
        printf("FAIL: executor: %s\n", vkd_context_error(ctx));
        return -1;
    }
    int nt = vkd_graph_tensor_count(g);
    size_t cap = 1;
    for (int t = 0; t < nt; t++) {
        size_t n = vkd_tensor_numel(vkd_graph_tensor_at(g, t));
        cap = n > cap ? n : cap;
    }
    float *a = malloc(cap * sizeof(float)), *b = malloc(cap * sizeof(float));
    struct vkd_rng rng = {5};
    init(g, vk, &rng);
    int outputs_same = 1, n_outputs = 0, grads_same = 1;
    for (int step = 0; step < VKD_STEPS; step++) {
        step_inputs(&r, vk, &rng, step);
        for (int e = 0; e < 2; e++)
            if (vkd_vk_run(vk[e]) != VKD_OK) {
                printf("FAIL: step %d: %s\n", step, vkd_context_error(ctx));
                return -1;
            }
        /* kept tensors hold their values until another phase runs */
        for (int k = 0; k < n_keep; k++) {
            int same = same_bits(vk, g, keep[k], a, b);
            if (!same)
                printf("     step %d: %s differs\n", step, vkd_graph_tensor_at(g, keep[k])->name);
            grads_same &= same;
        }
        for (int e = 0; e < 2; e++)
            if (vkd_vk_run_phase(vk[e], 1) != VKD_OK) {
                printf("FAIL: evaluation %d: %s\n", step, vkd_context_error(ctx));
                return -1;
            }
        for (int t = 0; t < nt; t++)
            if (vkd_graph_tensor_at(g, t)->kind == VKD_T_OUTPUT) {
                int same = same_bits(vk, g, t, a, b);
                if (!same)
                    printf("     step %d: %s differs\n", step, vkd_graph_tensor_at(g, t)->name);
                outputs_same &= same;
                n_outputs++;
            }
    }
    snprintf(line, sizeof(line), "%d outputs over %d steps and evaluations equal bit for bit",
             n_outputs, VKD_STEPS);
    check(outputs_same, line);
    int n_state = 0, state_same = 1;
    for (int t = 0; t < nt; t++) {
        const struct vkd_tensor *tt = vkd_graph_tensor_at(g, t);
        if (tt->parent >= 0 || !(tt->kind == VKD_T_PARAM || tt->kind == VKD_T_STATE ||
                                 tt->kind == VKD_T_OPT || !strcmp(tt->name, "grad.flat")))
            continue;
        int same = same_bits(vk, g, t, a, b);
        if (!same)
            printf("     %s differs\n", tt->name);
        state_same &= same;
        n_state++;
    }
    snprintf(line, sizeof(line),
             "%d parameter, statistic, momentum and flat-gradient tensors equal bit for bit",
             n_state);
    check(state_same, line);
    snprintf(line, sizeof(line),
             "%d accumulating activation gradients equal bit for bit after every step", n_keep);
    check(grads_same && n_keep > 0, line);
    int shared, flat_own;
    plan_shape(ctx, g, &d[1], &shared, &flat_own);
    uint64_t off = vkd_vk_device_bytes(vk[0]), on = vkd_vk_device_bytes(vk[1]);
    snprintf(line, sizeof(line),
             "reuse on: %d activation gradients share memory, the flat gradient has%s its own, "
             "%.2f -> %.2f MiB",
             shared, flat_own ? "" : " NOT", off / 1048576.0, on / 1048576.0);
    check(shared > 0 && flat_own && on < off, line);
    /* the interleaved step (engine/schedule.c): the graph has the gradient parts expected; the
     * plan takes the interleaved order exactly when it is smaller than the plain one, and where
     * the student is cut into modules (lakd, shrink), each module's backward runs before the
     * next module's forward and the plan is smaller */
    struct vkd_vk_desc plain = d[1];
    plain.plain_order = 1;
    int parts = vkd_graph_step_parts(g), interleaved = 0;
    VkDeviceSize b_plain = plan_bytes(ctx, g, &plain, NULL);
    VkDeviceSize b_step = plan_bytes(ctx, g, &d[1], &interleaved);
    snprintf(line, sizeof(line),
             "%d gradient part(s), %s order: %.3f MiB (plain order %.3f MiB)", parts,
             interleaved ? "interleaved" : "plain", b_step / 1048576.0, b_plain / 1048576.0);
    check(step_order_valid(g), "the interleaved step list is a valid order of the step");
    check(b_step > 0 && parts == want_parts && b_step <= b_plain &&
              interleaved == (b_step < b_plain) && (!shrink || interleaved),
          line);
    free(a), free(b);
    vkd_vk_destroy(vk[0]), vkd_vk_destroy(vk[1]);
    model_free(&r.t), model_free(&r.s), model_free(&r.e), model_free(&r.kb.extras);
    vkd_graph_destroy(g);
    return 0;
}

/* An input's gradient that no node writes (the input reaches the loss only through a
 * stop-gradient) reads exactly zero with reuse and poison on: no call touches it, so it keeps
 * memory of its own and its zeros; the other input's, written by relu's backward, equals the
 * reference. */
static int unwritten_gradient(struct vkd_context *ctx)
{
    printf("-- a gradient no node writes\n");
    struct vkd_graph *g = vkd_graph_create();
    int u = vkd_graph_input(g, "u", VKD_F32, 2, 3, 4, 4);
    int v = vkd_graph_input(g, "v", VKD_F32, 2, 3, 4, 4);
    vkd_graph_set_requires_grad(g, u);
    vkd_graph_set_requires_grad(g, v);
    int s = vkd_add(g, "add", vkd_stop_grad(g, "sg", u), vkd_relu(g, "relu", v));
    int w = vkd_graph_input(g, "w", VKD_F32, 2, 3, 4, 4);
    int loss = vkd_sqdiff(g, "l2", s, w, -1, 0.5f);
    vkd_graph_loss(g, loss, -1);
    if (vkd_graph_finalize(g, 0) != VKD_OK)
        return -1;
    int keep[2] = {vkd_graph_tensor_at(g, u)->grad, vkd_graph_tensor_at(g, v)->grad};
    struct vkd_vk_desc d = {VKD_PROG_FORWARD | VKD_PROG_BACKWARD, 0, 1, keep, 2, 1};
    struct vkd_vk *vk;
    struct vkd_ref *ref = vkd_ref_create(g);
    if (!ref || vkd_vk_create(ctx, g, &d, &vk) != VKD_OK)
        return -1;
    struct vkd_rng rng = {3};
    for (int t = 0; t < vkd_graph_tensor_count(g); t++)
        if (vkd_graph_tensor_at(g, t)->kind == VKD_T_INPUT) {
            double *x = vkd_ref_data(ref, t);
            for (int i = 0; i < 96; i++)
                x[i] = (float)vkd_rng_normal(&rng);
            vkd_vk_write(vk, t, x);
        }
    double du[96], dv[96];
    int ok = vkd_vk_run(vk) == VKD_OK && vkd_vk_run(vk) == VKD_OK;
    vkd_ref_forward(ref), vkd_ref_backward(ref);
    ok &= vkd_vk_read(vk, keep[0], du) == VKD_OK && vkd_vk_read(vk, keep[1], dv) == VKD_OK;
    const double *ru = vkd_ref_data(ref, keep[0]), *rv = vkd_ref_data(ref, keep[1]);
    int zeros = ok, equal = ok, nonzero = 0;
    for (int i = 0; i < 96; i++) {
        zeros &= du[i] == 0 && ru[i] == 0;
        equal &= fabs(dv[i] - rv[i]) <= 1e-6 * (1 + fabs(rv[i]));
        nonzero += rv[i] != 0;
    }
    check(zeros, "grad.u (never written) reads exactly zero with reuse and poison on");
    check(equal && nonzero > 0, "grad.v (written by relu's backward) equals the reference");
    vkd_vk_destroy(vk);
    vkd_ref_destroy(ref);
    vkd_graph_destroy(g);
    return 0;
}

int main(void)
{
    struct vkd_context *ctx = vkd_test_context();
    /* the last arguments: the step's gradient parts, and whether the interleaved order must
     * shrink the plan (lakd: three modules cut by stop-gradients, with cut=0 one coupled
     * student; sakd: the student and the classification branch trained on the teacher side) */
    if (config(ctx, NULL, NULL, NULL, 1, 0) < 0 || config(ctx, "resnet8", "kd", NULL, 1, 0) < 0 ||
        config(ctx, "resnet8", "ickd", "alpha=1,paper=1,grid_h=2,grid_w=2", 1, 0) < 0 ||
        config(ctx, "resnet8x4", "lakd", NULL, 3, 1) < 0 ||
        config(ctx, "resnet8x4", "lakd", "cut=0", 1, 0) < 0 ||
        config(ctx, "resnet8x4", "sakd", NULL, 2, 0) < 0 ||
        config(ctx, "resnet8x4", "lkd", "k=2", 1, 0) < 0 ||
        config(ctx, NULL, "corsd", NULL, 1, 0) < 0 ||
        unwritten_gradient(ctx) < 0)
        failed++;
    if (vkd_test_context_done(ctx))
        failed++;
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

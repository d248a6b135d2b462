/*
 * pretrain.c - a method's pre-training phase (see pretrain.h and method.h).
 *
 * The phase is a graph of its own, not a phase of the distillation graph: the engine derives
 * backward and SGD from one phase per graph, and the distillation graph holds the pre-trained
 * modules as state (frozen), so the two need different kinds for the same weights. The phase's
 * graph holds the teacher frozen exactly as the distillation graph does (model_opts.frozen:
 * STATE weights, BatchNorm from running statistics) and the modules as PARAM, so its SGD
 * updates those modules and nothing else. The weights move between the two executors by name.
 *
 * Choices, written down:
 *   - The images are the run's augmented training batches (same crop and flip as distillation:
 *     the modules then see the teacher features they will see), drawn from an RNG stream of
 *     their own (seed, phase epoch), so the phase neither shifts nor repeats the distillation
 *     epochs' draws and a run is deterministic.
 *   - SGD with the run's momentum, weight decay and Nesterov flag; the learning rate (the
 *     method's, or the run's --lr) decays by a cosine to 0 over the phase's steps, a complete
 *     short schedule that ends at a settled point; momentum starts from 0.
 *   - The modules start from the distillation executor's values of them, i.e. the initial
 *     weights the trainer drew (the same as a jointly trained module would start from).
 *   - The phase's executor exists only while the phase runs, beside the distillation one (its
 *     own copy of resident training images, the teacher's weights and the modules): the
 *     teacher and the initial weights are already there to copy, and its memory is freed
 *     before distillation starts.
 *   - Nothing is checkpointed during the phase: an interrupted phase restarts with the run. A
 *     resumed run reads the trained modules from its checkpoint and skips the phase.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpu_data.h"
#include "models.h"
#include "pretrain.h"
#include "vkd_ops.h"
#include "vkd_rng.h"

struct phase {
    const struct pretrain_in *in;
    struct vkd_graph *g;
    struct model tm;
    struct kd_build kb;
    struct gpu_data gd;
    struct vkd_vk *vk;
    int prm, lab;
    uint32_t *perm, *hprm, *hlab;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The phase has a teacher and no student. */
static int phase_tap(struct kd_build *b, enum kd_side side, const char *tap)
{
    int t = side == KD_TEACHER ? model_tap(b->teacher, tap) : -1;
    if (t < 0)
        snprintf(b->err, sizeof(b->err), "%s '%s' in the pre-training phase",
                 side == KD_TEACHER ? "the teacher has no feature tap" : "there is no student tap",
                 tap);
    return t;
}

static int build(struct phase *p, char *err, size_t errlen)
{
    const struct pretrain_in *in = p->in;
    const struct train_opts *o = in->o;
    const struct dataset *tr = in->train;
    int batch = o->batch;
    if (!(p->g = vkd_graph_create())) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (gpu_data_plan(p->g, vkd_context_device(in->ctx), tr, "train", batch, o->stream, &p->gd,
                      err, errlen) < 0)
        return -1;
    p->prm = vkd_graph_input(p->g, "train.params", VKD_U32, batch, 4, 1, 1);
    p->lab = vkd_graph_input(p->g, "train.labels", VKD_U32, batch, 1, 1, 1);
    int x = gpu_data_batch(p->g, "train.augment", &p->gd, p->prm, batch, o->pad, in->mean,
                           in->std);
    /* the teacher frozen as in the distillation graph: same names, so its weights copy over */
    struct model_opts to = {.batch = batch, .in_c = (int)tr->c, .in_hw = (int)tr->h,
                            .classes = (int)tr->classes, .training = 0, .frozen = 1,
                            .input = x, .has_input = 1, .prefix = "teacher/"};
    if (model_build(p->g, o->teacher_model, &to, &p->tm, err, errlen) < 0)
        return -1;
    struct kd_build *kb = &p->kb;
    memcpy(kb->params, in->kb->params, sizeof(kb->params));
    kd_build_models(kb, in->method, p->g, batch, (int)tr->classes, p->lab, NULL, &p->tm);
    kb->tap = phase_tap; /* the phase has no student: say so rather than "(none)" */
    kb->stage = KD_PRETRAIN;
    if (in->method->build(kb) < 0) {
        snprintf(err, errlen, "method %s (pre-training): %s", in->method->name, kb->err);
        return -1;
    }
    if (vkd_graph_finalize(p->g, 1) != VKD_OK) {
        snprintf(err, errlen, "internal error building the pre-training graph: %s",
                 vkd_graph_error(p->g));
        return -1;
    }
    return 0;
}

/* Copies the F32 weight or state tensor `name` from graph `from` (executor fv) into the tensor
 * of that name of graph `to` (tv); a name missing on either side or two sizes are a programmer
 * error (both graphs are built from the same model and method code). */
static enum vkd_status copy_named(struct vkd_vk *fv, const struct vkd_graph *from,
                                  struct vkd_vk *tv, const struct vkd_graph *to, const char *name)
{
    int t = vkd_graph_find(from, name), u = vkd_graph_find(to, name);
    if (t < 0 || u < 0 ||
        vkd_tensor_numel(vkd_graph_tensor_at(to, u)) !=
            vkd_tensor_numel(vkd_graph_tensor_at(from, t))) {
        fprintf(stderr, "%s:%d: '%s' does not pair between the two graphs\n", __FILE__,
                __LINE__, name);
        abort();
    }
    size_t n = vkd_tensor_numel(vkd_graph_tensor_at(from, t));
    float *v = malloc(n * sizeof(float));
    if (!v)
        return VKD_ERR_OUT_OF_MEMORY;
    enum vkd_status st = vkd_vk_read_f32(fv, t, v);
    if (st == VKD_OK)
        st = vkd_vk_write_f32(tv, u, v);
    free(v);
    return st;
}

/* Every weight and running statistic of model m (built in graph mg), by name. */
static enum vkd_status copy_model(const struct model *m, const struct vkd_graph *mg,
                                  struct vkd_vk *fv, const struct vkd_graph *from,
                                  struct vkd_vk *tv, const struct vkd_graph *to)
{
    enum vkd_status st = VKD_OK;
    for (int i = 0; i < m->n_params && st == VKD_OK; i++)
        st = copy_named(fv, from, tv, to, vkd_graph_tensor_at(mg, m->params[i].tensor)->name);
    for (int i = 0; i < m->n_bn && st == VKD_OK; i++)
        for (int j = 0; j < 2 && st == VKD_OK; j++) {
            char name[VKD_NAME_LEN];
            snprintf(name, sizeof(name), "%s%s.%s", m->param_prefix, m->bn[i],
                     j ? "running_var" : "running_mean");
            st = copy_named(fv, from, tv, to, name);
        }
    return st;
}

static int fail_device(const struct phase *p, const char *what)
{
    const char *data = gpu_data_error(&p->gd);
    if (data)
        fprintf(stderr, "vkdistill %s: %s\n", p->in->o->command, data);
    else
        fprintf(stderr, "vkdistill %s: %s: %s\n", p->in->o->command, what,
                vkd_context_error(p->in->ctx));
    return 1;
}

/* One epoch of the phase; term[] and top1[] get the epoch means (top1 in percent, -1: none). */
static int epoch_run(struct phase *p, int epoch, int epochs, double lr0, uint64_t steps,
                     double *term, double *top1, double *lr_out)
{
    const struct train_opts *o = p->in->o;
    const struct kd_build *kb = &p->kb;
    int B = o->batch;
    /* a stream of its own: not any distillation epoch's (trainer.c uses (epoch + 1) * C) */
    struct vkd_rng rng = {(o->seed ^ 0x7f4a7c159e3779b9ull) +
                          (uint64_t)(epoch + 1) * 0xbf58476d1ce4e5b9ull};
    train_permutation(p->perm, p->in->train->n, &rng);
    float sp[VKD_SP_COUNT] = {0};
    double lsum = 0, t0 = now();
    uint64_t queued = 0, images = steps * (uint64_t)B;
    for (int t = 0; t < kb->n_terms; t++)
        term[t] = 0, top1[t] = kb->terms[t].top1 >= 0 ? 0 : -1;
    for (uint64_t step = 0; step < steps; step++) {
        gpu_data_prefetch(&p->gd, p->perm, images, &queued);
        for (int i = 0; i < B; i++) {
            uint32_t idx = p->perm[step * (uint64_t)B + (uint64_t)i];
            uint32_t span = 2 * (uint32_t)o->pad + 1;
            p->hprm[4 * i] = idx;
            p->hprm[4 * i + 1] = vkd_rng_below(&rng, span);
            p->hprm[4 * i + 2] = vkd_rng_below(&rng, span);
            p->hprm[4 * i + 3] = o->flip ? vkd_rng_below(&rng, 2) : 0;
            p->hlab[i] = p->in->train->labels[idx];
        }
        uint64_t global = (uint64_t)epoch * steps + step;
        *lr_out = 0.5 * lr0 *
                  (1 + cos(3.14159265358979323846 * (double)global / ((double)steps * epochs)));
        sp[VKD_SP_LR] = (float)*lr_out;
        sp[VKD_SP_MOMENTUM] = (float)o->momentum;
        sp[VKD_SP_WEIGHT_DECAY] = (float)o->weight_decay;
        sp[VKD_SP_NESTEROV] = o->nesterov ? 1.0f : 0.0f;
        sp[VKD_SP_STEP] = (float)global;
        for (int t = 0; t < kb->n_terms; t++)
            sp[kb->terms[t].slot] = (float)kb->terms[t].weight;
        if (gpu_data_feed(p->vk, &p->gd, p->hprm, B) != VKD_OK ||
            vkd_vk_write_raw(p->vk, p->prm, p->hprm, 16 * (size_t)B) != VKD_OK ||
            vkd_vk_write_raw(p->vk, p->lab, p->hlab, 4 * (size_t)B) != VKD_OK ||
            vkd_vk_write_f32(p->vk, vkd_graph_step_params(p->g), sp) != VKD_OK ||
            vkd_vk_run(p->vk) != VKD_OK)
            return fail_device(p, "a pre-training step failed");
        double loss = 0;
        for (int t = 0; t < kb->n_terms; t++) {
            double v, c = 0;
            if (vkd_vk_read(p->vk, kb->terms[t].tensor, &v) != VKD_OK ||
                (kb->terms[t].top1 >= 0 && vkd_vk_read(p->vk, kb->terms[t].top1, &c) != VKD_OK))
                return fail_device(p, "a pre-training step failed");
            loss += (double)sp[kb->terms[t].slot] * v;
            term[t] += v / (double)steps;
            if (top1[t] >= 0)
                top1[t] += 100.0 * c / ((double)steps * B);
        }
        if (!isfinite(loss)) {
            train_log_end_progress(p->in->log);
            fprintf(stderr,
                    "vkdistill %s: the pre-training of method %s diverged in its epoch %d, step "
                    "%llu: the loss is %g (try a lower learning rate)\n",
                    o->command, p->in->method->name, epoch + 1, (unsigned long long)step + 1,
                    loss);
            return 1;
        }
        lsum += loss;
        /* the bar's accuracy: the classifiers' mean top-1 over the epoch's steps so far */
        double acc = 0;
        int n_cls = 0;
        for (int t = 0; t < kb->n_terms; t++)
            if (top1[t] >= 0)
                acc += top1[t] * (double)steps / (double)(step + 1), n_cls++;
        double el = now() - t0;
        train_log_progress(p->in->log, epoch + 1, epochs, (int)step + 1, (int)steps,
                           lsum / (double)(step + 1), n_cls ? acc / n_cls : 0,
                           (double)(step + 1) * B / (el > 0 ? el : 1e-9),
                           el / (double)(step + 1) * (double)(steps - step - 1));
    }
    return 0;
}

int pretrain_run(const struct pretrain_in *in, const struct method_pretrain *ph)
{
    struct phase p = {.in = in};
    char err[1024];
    int rc = 1;
    const struct train_opts *o = in->o;
    /* the phase draws plain batches (a triplet method would need its own sampler here) and
     * reads teacher taps */
    if (in->method->triplets || !o->teacher_model) {
        fprintf(stderr, "%s:%d: a pre-training phase needs a teacher and plain batches\n",
                __FILE__, __LINE__);
        abort();
    }
    uint64_t steps = in->train->n / (uint32_t)o->batch;
    double lr0 = ph->lr > 0 ? ph->lr : o->lr;
    p.perm = malloc(sizeof(uint32_t) * in->train->n);
    p.hprm = malloc(16 * (size_t)o->batch);
    p.hlab = malloc(4 * (size_t)o->batch);
    if (!p.perm || !p.hprm || !p.hlab) {
        fprintf(stderr, "vkdistill %s: out of host memory\n", o->command);
        goto out;
    }
    if (build(&p, err, sizeof(err)) < 0) {
        fprintf(stderr, "vkdistill %s: %s\n", o->command, err);
        goto out;
    }
    struct vkd_vk_desc vd = {VKD_PROG_FORWARD | VKD_PROG_BACKWARD | VKD_PROG_UPDATE, 0, 1, NULL,
                             0};
    if (vkd_vk_create(in->ctx, p.g, &vd, &p.vk) != VKD_OK ||
        gpu_data_upload(p.vk, p.g, &p.gd) != VKD_OK ||
        copy_model(&p.tm, p.g, in->vk, in->g, p.vk, p.g) != VKD_OK ||
        copy_model(&p.kb.extras, p.g, in->vk, in->g, p.vk, p.g) != VKD_OK) {
        rc = fail_device(&p, "cannot set up the pre-training phase");
        goto out;
    }
    train_log_pretrain_header(in->log, in->method->name, &p.kb, ph->epochs, (int)steps,
                              o->batch, lr0, o);
    in->log->bar_label = "pretrain";
    for (int e = 0; e < ph->epochs; e++) {
        double term[METHOD_MAX_TERMS], top1[METHOD_MAX_TERMS], lr = lr0, t0 = now();
        if (epoch_run(&p, e, ph->epochs, lr0, steps, term, top1, &lr))
            goto out;
        double el = now() - t0;
        train_log_pretrain_epoch(in->log, e + 1, ph->epochs, lr, &p.kb, term, top1, el,
                                 (double)(steps * (uint64_t)o->batch) / (el > 0 ? el : 1e-9));
    }
    if (copy_model(&p.kb.extras, p.g, p.vk, p.g, in->vk, in->g) != VKD_OK) {
        rc = fail_device(&p, "cannot keep the pre-trained weights");
        goto out;
    }
    rc = 0;
out:
    in->log->bar_label = NULL;
    vkd_vk_destroy(p.vk);
    model_free(&p.tm);
    model_free(&p.kb.extras);
    vkd_graph_destroy(p.g);
    gpu_data_free(&p.gd);
    free(p.perm);
    free(p.hprm);
    free(p.hlab);
    return rc;
}

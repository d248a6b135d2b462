/*
 * trainer.c - the training loop (see trainer.h).
 *
 * One graph, two phases over the same weights: phase 0 is the training step (augmentation
 * shader -> model in training mode -> cross-entropy -> backward -> SGD), phase 1 the evaluation
 * forward (the test images normalised -> the same model with BatchNorm from running statistics
 * -> cross-entropy and top-1/top-5 counts). Both are recorded once. Per step the host writes
 * 5 words per image (index, crop offsets, flip, label) and the step parameters, submits, and
 * reads three scalars; it never touches pixels.
 *
 * Choices, written down:
 *   - Every epoch is a fresh permutation of the training set, drawn from an RNG seeded by
 *     (seed, epoch), so a resumed run draws exactly what the uninterrupted run drew.
 *   - The last partial training batch of an epoch is dropped (the graph's batch size is fixed;
 *     RepDistiller keeps it): floor(N / batch) steps per epoch.
 *   - Evaluation sees every test image exactly once; the last partial batch is padded with
 *     ignored rows (VKD_CE_IGNORE), which count for nothing.
 *   - Triplet methods (CORSD): --batch counts images, 3 per triplet, so the graph, the memory
 *     and the images/s mean what they mean for every other method (the code's 43 triplets are
 *     --batch 129). An epoch takes every training image once as an anchor (floor(N / (batch / 3))
 *     steps), as the code's data set of anchors; the positive (any image of the anchor's class,
 *     the anchor itself included, as random.choice in the code) and the negative (a random
 *     image of a random other class) come from the epoch's RNG, so resume stays bit-identical.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "gpu_data.h"
#include "method.h"
#include "models.h"
#include "pretrain.h"
#include "train_log.h"
#include "trainer.h"
#include "triplets.h"
#include "vkd_ops.h"
#include "vkd_rng.h"

void train_opts_default(struct train_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->command = "train";
    o->model = "resnet20";
    o->method = "ce";
    o->out = "runs/train";
    o->epochs = 240;
    o->batch = 64;
    o->eval_batch = 256;
    o->eval_every = 1;
    o->lr = 0.05;
    o->momentum = 0.9;
    o->weight_decay = 5e-4;
    o->lr_factor = 0.1;
    o->schedule = LR_MULTISTEP;
    o->pad = 4;
    o->flip = 1;
    o->seed = 1;
    o->progress = -1;
}

double train_lr_at(const struct train_opts *o, uint64_t step, uint64_t steps_per_epoch)
{
    double epoch = (double)step / (double)steps_per_epoch; /* fractional */
    double lr = o->lr;
    if (o->warmup_epochs > 0 && epoch < o->warmup_epochs)
        return o->lr * (double)(step + 1) / ((double)o->warmup_epochs * steps_per_epoch);
    if (o->schedule == LR_COSINE) {
        double t = (epoch - o->warmup_epochs) / (double)(o->epochs - o->warmup_epochs);
        return 0.5 * o->lr * (1 + cos(3.14159265358979323846 * (t < 1 ? t : 1)));
    }
    int whole = (int)(step / steps_per_epoch);
    if (o->n_milestones) {
        for (int i = 0; i < o->n_milestones; i++)
            if (whole >= o->milestones[i])
                lr *= o->lr_factor;
    } else {
        /* 150, 180, 210 of 240 epochs: 62.5%, 75%, 87.5% */
        static const int eighths[3] = {5, 6, 7};
        for (int i = 0; i < 3; i++)
            if (whole >= (o->epochs * eighths[i] + 7) / 8)
                lr *= o->lr_factor;
    }
    return lr;
}

struct session {
    const struct train_opts *o;
    const struct method *method;
    struct vkd_context *ctx;
    struct dataset train, test;
    struct vkd_graph *g;
    struct model m, em, tm, tem; /* student, its evaluation copy, teacher, its evaluation copy */
    struct kd_build kb;          /* the method's loss terms and trainable extras */
    struct gpu_data gtr, gte;
    int prm_tr, lab_tr;
    struct eval_head eval, teval; /* student (phase 1), teacher (phase 2) */
    int batch, eval_batch;
    struct vkd_vk *vk;
    uint32_t *prm, *lab; /* per-run host inputs (max of both batch sizes) */
    /* triplet methods: the class lists, the epoch's image order a0 p0 n0 a1 ...
     * (steps_per_epoch x batch), the step's targets (kd_triplet_fill) */
    struct triplet_sampler tri;
    uint32_t *order, *tri_ya;
    float *tri_soft;
    uint64_t steps_per_epoch;
    float mean[3], std[3];
    struct ckpt_meta meta;
    struct train_log log;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* An evaluation head in `phase`: test images -> a copy of the model sharing the weights named
 * param_prefix* -> cross-entropy and top-1/top-5 counts. */
static int eval_head_build(struct session *s, struct eval_head *h, int phase, const char *arch,
                           const char *prefix, const char *param_prefix, struct model *m,
                           char *err, size_t errlen)
{
    char name[VKD_NAME_LEN];
    vkd_graph_set_phase(s->g, phase);
    h->phase = phase;
    h->batch = s->eval_batch;
    snprintf(name, sizeof(name), "%sparams", prefix);
    h->params = vkd_graph_input(s->g, name, VKD_U32, s->eval_batch, 4, 1, 1);
    snprintf(name, sizeof(name), "%slabels", prefix);
    h->labels = vkd_graph_input(s->g, name, VKD_U32, s->eval_batch, 1, 1, 1);
    snprintf(name, sizeof(name), "%snormalise", prefix);
    int xe = gpu_data_batch(s->g, name, &s->gte, h->params, s->eval_batch, 0, s->mean, s->std);
    struct model_opts eo = {.batch = s->eval_batch, .in_c = (int)s->test.c,
                            .in_hw = (int)s->test.h, .classes = (int)s->test.classes,
                            .input = xe, .has_input = 1, .prefix = prefix,
                            .param_prefix = param_prefix, .share = 1};
    if (model_build(s->g, arch, &eo, m, err, errlen) < 0)
        return -1;
    h->logits = m->logits;
    snprintf(name, sizeof(name), "%sce", prefix);
    h->loss = vkd_softmax_ce(s->g, name, m->logits, h->labels, &h->top1, &h->top5);
    return 0;
}

static int build(struct session *s, char *err, size_t errlen)
{
    const struct dataset *tr = &s->train;
    const struct vkd_device_info *dev = vkd_context_device(s->ctx);
    s->g = vkd_graph_create();
    if (!s->g) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (gpu_data_plan(s->g, dev, tr, "train", s->batch, s->o->stream, &s->gtr, err, errlen) <
            0 ||
        gpu_data_plan(s->g, dev, &s->test, "test", s->eval_batch, s->o->stream, &s->gte, err,
                      errlen) < 0)
        return -1;

    /* phase 0: the training step: teacher forward (frozen, BatchNorm from running statistics)
     * and student step on the same augmented batch, the method's losses, SGD */
    s->prm_tr = vkd_graph_input(s->g, "train.params", VKD_U32, s->batch, 4, 1, 1);
    s->lab_tr = vkd_graph_input(s->g, "train.labels", VKD_U32, s->batch, 1, 1, 1);
    int x = gpu_data_batch(s->g, "train.augment", &s->gtr, s->prm_tr, s->batch, s->o->pad,
                           s->mean, s->std);
    struct kd_build *kb = &s->kb;
    if (method_resolve(s->method, s->o->method_opts, kb->params, err, errlen) < 0)
        return -1;
    struct model_opts mo = {.batch = s->batch, .in_c = (int)tr->c, .in_hw = (int)tr->h,
                            .classes = (int)tr->classes, .training = 1, .input = x,
                            .has_input = 1,
                            .cut_stages = method_cuts_student(s->method, kb->params)};
    if (s->o->teacher_model) {
        struct model_opts to = mo;
        to.training = 0, to.frozen = 1, to.prefix = "teacher/", to.cut_stages = 0;
        if (model_build(s->g, s->o->teacher_model, &to, &s->tm, err, errlen) < 0)
            return -1;
    }
    if (model_build(s->g, s->o->model, &mo, &s->m, err, errlen) < 0)
        return -1;
    kd_build_models(kb, s->method, s->g, s->batch, (int)tr->classes, s->lab_tr, &s->m,
                    s->o->teacher_model ? &s->tm : NULL);
    if (s->method->build(kb) < 0) {
        snprintf(err, errlen, "method %s: %s", s->method->name, kb->err);
        return -1;
    }

    /* phase 1: the student's evaluation; phase 2: the teacher's (measured before training) */
    if (eval_head_build(s, &s->eval, 1, s->o->model, "eval/", "", &s->em, err, errlen) < 0)
        return -1;
    if (s->o->teacher_model && eval_head_build(s, &s->teval, 2, s->o->teacher_model,
                                               "teacher_eval/", "teacher/", &s->tem, err,
                                               errlen) < 0)
        return -1;
    if (vkd_graph_finalize(s->g, 1) != VKD_OK) {
        snprintf(err, errlen, "internal error building the graph: %s", vkd_graph_error(s->g));
        return -1;
    }
    return 0;
}

void train_permutation(uint32_t *perm, uint32_t n, struct vkd_rng *rng)
{
    for (uint32_t i = 0; i < n; i++)
        perm[i] = i;
    for (uint32_t i = n - 1; i > 0; i--) {
        uint32_t j = vkd_rng_below(rng, i + 1), t = perm[i];
        perm[i] = perm[j], perm[j] = t;
    }
}

static int fail_device(struct session *s, const char *what)
{
    /* an image that could not be decoded on demand is the data's fault, not the device's */
    const char *data = gpu_data_error(&s->gtr) ? gpu_data_error(&s->gtr) : gpu_data_error(&s->gte);
    if (data)
        fprintf(stderr, "vkdistill %s: %s\n", s->o->command, data);
    else
        fprintf(stderr, "vkdistill %s: %s: %s\n", s->o->command, what,
                vkd_context_error(s->ctx));
    return 1;
}

/* The run configuration as "key=value" lines (checkpoint metadata, and what --resume reads).
 * "inference" names the network a checkpoint evaluates with: the model alone, its classifier
 * included; a method's extras (distill.*, e.g. CORSD's relation networks) are training-only. */
static void config_text(const struct train_opts *o, char *buf, size_t len)
{
    char ms[96] = "";
    for (int i = 0, n = 0; i < o->n_milestones && n >= 0 && (size_t)n < sizeof(ms); i++)
        n += snprintf(ms + n, sizeof(ms) - (size_t)n, "%s%d", i ? "," : "", o->milestones[i]);
    int n = snprintf(buf, len, "method=%s\nmethod_opts=%s\nteacher_model=%s\nteacher=%s\n",
                     o->method, o->method_opts ? o->method_opts : "",
                     o->teacher_model ? o->teacher_model : "", o->teacher ? o->teacher : "");
    if (n < 0 || (size_t)n >= len)
        return;
    buf += n, len -= (size_t)n;
    snprintf(buf, len,
             "model=%s\ndata=%s\nepochs=%d\nbatch=%d\neval_batch=%d\neval_every=%d\n"
             "limit_train=%u\nlimit_test=%u\nlr=%.17g\nmomentum=%.17g\nweight_decay=%.17g\n"
             "nesterov=%d\nschedule=%s\nmilestones=%s\nlr_factor=%.17g\nwarmup=%d\npad=%d\n"
             "flip=%d\nseed=%llu\ninference=%s",
             o->model, o->data ? o->data : DATA_DEFAULT_DIR, o->epochs, o->batch, o->eval_batch,
             o->eval_every, o->limit_train, o->limit_test, o->lr, o->momentum, o->weight_decay,
             o->nesterov, o->schedule == LR_COSINE ? "cosine" : "multistep", ms, o->lr_factor,
             o->warmup_epochs, o->pad, o->flip, (unsigned long long)o->seed, o->model);
}

/* The options of the run a checkpoint continues (strings point into `keep`). */
static int config_read(const struct ckpt_meta *meta, struct train_opts *o, char keep[6][512])
{
    const char *v;
#define GET(key) ((v = ckpt_config_get(meta, key)) != NULL)
#define KEEP(i, field)                                                                             \
    do {                                                                                           \
        snprintf(keep[i], 512, "%s", v);                                                           \
        o->field = *keep[i] ? keep[i] : NULL;                                                      \
    } while (0)
    if (!GET("model"))
        return -1;
    KEEP(0, model);
    if (GET("data"))
        KEEP(1, data);
    if (GET("method"))
        KEEP(2, method);
    if (GET("method_opts"))
        KEEP(3, method_opts);
    if (GET("teacher_model"))
        KEEP(4, teacher_model);
    if (GET("teacher"))
        KEEP(5, teacher);
#undef KEEP
    if (GET("epochs")) o->epochs = atoi(v);
    if (GET("batch")) o->batch = atoi(v);
    if (GET("eval_batch")) o->eval_batch = atoi(v);
    if (GET("eval_every")) o->eval_every = atoi(v);
    if (GET("limit_train")) o->limit_train = (uint32_t)strtoul(v, NULL, 10);
    if (GET("limit_test")) o->limit_test = (uint32_t)strtoul(v, NULL, 10);
    if (GET("lr")) o->lr = strtod(v, NULL);
    if (GET("momentum")) o->momentum = strtod(v, NULL);
    if (GET("weight_decay")) o->weight_decay = strtod(v, NULL);
    if (GET("nesterov")) o->nesterov = atoi(v);
    if (GET("schedule")) o->schedule = strcmp(v, "cosine") == 0 ? LR_COSINE : LR_MULTISTEP;
    if (GET("lr_factor")) o->lr_factor = strtod(v, NULL);
    if (GET("warmup")) o->warmup_epochs = atoi(v);
    if (GET("pad")) o->pad = atoi(v);
    if (GET("flip")) o->flip = atoi(v);
    if (GET("seed")) o->seed = strtoull(v, NULL, 10);
    o->n_milestones = 0;
    if (GET("milestones"))
        for (const char *p = v; *p && o->n_milestones < 8;) {
            o->milestones[o->n_milestones++] = atoi(p);
            p = strchr(p, ',');
            if (!p)
                break;
            p++;
        }
#undef GET
    return 0;
}

static int load_data(struct session *s, char *err, size_t errlen)
{
    const char *dir = s->o->data ? s->o->data : DATA_DEFAULT_DIR;
    struct data_request tr = {dir, DATA_AUTO, 1, 32, s->o->limit_train, s->o->stream};
    struct data_request te = {dir, DATA_AUTO, 0, 32, s->o->limit_test, s->o->stream};
    if (data_load(&tr, &s->train, err, errlen) < 0 || data_load(&te, &s->test, err, errlen) < 0)
        return -1;
    if (s->train.h != s->train.w || s->test.h != s->train.h || s->test.c != s->train.c ||
        s->test.classes != s->train.classes) {
        snprintf(err, errlen, "%s: the training and test images differ in size, channels or "
                 "classes (or are not square)", dir);
        return -1;
    }
    if (s->train.n < (uint32_t)s->o->batch) {
        snprintf(err, errlen, "%s: %u training images are fewer than one batch of %d", dir,
                 s->train.n, s->o->batch);
        return -1;
    }
    return 0;
}

static void session_free(struct session *s)
{
    vkd_vk_destroy(s->vk);
    model_free(&s->m);
    model_free(&s->em);
    model_free(&s->tm);
    model_free(&s->tem);
    model_free(&s->kb.extras);
    vkd_graph_destroy(s->g);
    gpu_data_free(&s->gtr);
    gpu_data_free(&s->gte);
    if (s->ctx) {
        uint32_t msgs = vkd_context_validation_messages(s->ctx);
        if (msgs)
            fprintf(stderr, "vkdistill: the validation layer reported %u message(s)\n", msgs);
        vkd_context_destroy(s->ctx);
    }
    data_free(&s->train);
    data_free(&s->test);
    free(s->prm);
    free(s->lab);
    triplet_sampler_free(&s->tri);
    free(s->order);
    free(s->tri_ya);
    free(s->tri_soft);
    train_log_close(&s->log);
}

/* Triplet sampling's state: the class lists, the epoch's order, the step's targets; -1 with a
 * sentence when fewer than two classes have images (no negative could be drawn). */
static int triplets_init(struct session *s, char *err, size_t errlen)
{
    s->order = malloc(sizeof(uint32_t) * s->steps_per_epoch * (size_t)s->batch);
    s->tri_ya = malloc(sizeof(uint32_t) * (size_t)s->batch);
    s->tri_soft = malloc(sizeof(float) * (size_t)s->batch * s->train.classes);
    if (!s->order || !s->tri_ya || !s->tri_soft ||
        triplet_sampler_init(&s->tri, s->train.labels, s->train.n, s->train.classes) < 0) {
        snprintf(err, errlen, "out of host memory");
        return -1;
    }
    if (s->tri.filled < 2) {
        snprintf(err, errlen,
                 "method %s draws negatives from other classes, but the training images have "
                 "only %u class(es)",
                 s->method->name, s->tri.filled);
        return -1;
    }
    return 0;
}

/* One epoch of training steps; fills the epoch's training metrics. */
static int train_epoch(struct session *s, int epoch, uint32_t *perm, struct epoch_metrics *em)
{
    const struct train_opts *o = s->o;
    struct vkd_rng rng = {o->seed ^ ((uint64_t)(epoch + 1) * 0xd1b54a32d192ed03ull)};
    train_permutation(perm, s->train.n, &rng);
    if (s->method->triplets) { /* from here on the epoch reads images in triplet order */
        triplet_sampler_draw(&s->tri, perm, s->steps_per_epoch * (uint64_t)(s->batch / 3), &rng,
                             s->order);
        perm = s->order;
    }
    float sp[VKD_SP_COUNT] = {0};
    double lsum = 0, hits = 0, t0 = now();
    int B = s->batch;
    uint64_t queued = 0, total = s->steps_per_epoch * (uint64_t)B;
    for (uint64_t step = 0; step < s->steps_per_epoch; step++) {
        gpu_data_prefetch(&s->gtr, perm, total, &queued);
        for (int i = 0; i < B; i++) {
            uint32_t idx = perm[step * (uint64_t)B + (uint64_t)i];
            uint32_t span = 2 * (uint32_t)o->pad + 1;
            s->prm[4 * i] = idx;
            s->prm[4 * i + 1] = vkd_rng_below(&rng, span);
            s->prm[4 * i + 2] = vkd_rng_below(&rng, span);
            s->prm[4 * i + 3] = o->flip ? vkd_rng_below(&rng, 2) : 0;
            s->lab[i] = s->train.labels[idx];
        }
        uint64_t global = (uint64_t)epoch * s->steps_per_epoch + step;
        em->lr = train_lr_at(o, global, s->steps_per_epoch);
        sp[VKD_SP_LR] = (float)em->lr;
        sp[VKD_SP_MOMENTUM] = (float)o->momentum;
        sp[VKD_SP_WEIGHT_DECAY] = (float)o->weight_decay;
        sp[VKD_SP_NESTEROV] = o->nesterov ? 1.0f : 0.0f;
        sp[VKD_SP_STEP] = (float)global;
        const struct kd_build *kb = &s->kb;
        for (int t = 0; t < kb->n_terms; t++) /* a staged term is off before its start */
            sp[kb->terms[t].slot] =
                epoch < kb->terms[t].start * o->epochs ? 0.0f : (float)kb->terms[t].weight;
        double top1 = 0, loss = 0, term[METHOD_MAX_TERMS];
        if (s->method->triplets) {
            kd_triplet_fill(s->lab, B, (int)s->train.classes, s->tri_ya, s->tri_soft);
            if (vkd_vk_write_raw(s->vk, kb->tri_labels, s->tri_ya, 4 * (size_t)B / 3) !=
                    VKD_OK ||
                vkd_vk_write_f32(s->vk, kb->tri_soft, s->tri_soft) != VKD_OK)
                return fail_device(s, "a training step failed");
        }
        if (gpu_data_feed(s->vk, &s->gtr, s->prm, B) != VKD_OK ||
            vkd_vk_write_raw(s->vk, s->prm_tr, s->prm, 16 * (size_t)B) != VKD_OK ||
            vkd_vk_write_raw(s->vk, s->lab_tr, s->lab, 4 * (size_t)B) != VKD_OK ||
            vkd_vk_write_f32(s->vk, vkd_graph_step_params(s->g), sp) != VKD_OK ||
            vkd_vk_run(s->vk) != VKD_OK ||
            (kb->top1 >= 0 && vkd_vk_read(s->vk, kb->top1, &top1) != VKD_OK))
            return fail_device(s, "a training step failed");
        for (int t = 0; t < kb->n_terms; t++) {
            if (vkd_vk_read(s->vk, kb->terms[t].tensor, &term[t]) != VKD_OK)
                return fail_device(s, "a training step failed");
            loss += (double)sp[kb->terms[t].slot] * term[t];
        }
        if (!isfinite(loss)) {
            train_log_end_progress(&s->log);
            fprintf(stderr,
                    "vkdistill %s: training diverged in epoch %d, step %llu: the loss is %g "
                    "(try a lower --lr); the last checkpoint is epoch %d\n",
                    o->command, epoch + 1, (unsigned long long)step + 1, loss, epoch);
            return 1;
        }
        for (int t = 0; t < kb->n_terms; t++)
            em->term[t] += term[t] / (double)s->steps_per_epoch;
        lsum += loss, hits += top1;
        double el = now() - t0;
        train_log_progress(&s->log, epoch + 1, o->epochs, (int)step + 1,
                           (int)s->steps_per_epoch, lsum / (double)(step + 1),
                           100.0 * hits / ((double)(step + 1) * B),
                           (double)(step + 1) * B / (el > 0 ? el : 1e-9),
                           el / (double)(step + 1) * (double)(s->steps_per_epoch - step - 1));
    }
    em->epoch_s = now() - t0;
    em->train_loss = lsum / (double)s->steps_per_epoch;
    em->train_top1 = 100.0 * hits / ((double)s->steps_per_epoch * B);
    em->images_per_s = (double)s->steps_per_epoch * B / em->epoch_s;
    s->meta.step = (uint64_t)(epoch + 1) * s->steps_per_epoch;
    return 0;
}

/* last: the student, the method's extras and the optimizer (what resume needs); best: the
 * student alone (what a user deploys or loads into PyTorch). */
static int save_checkpoints(struct session *s, int improved)
{
    char path[4096], err[1024];
    snprintf(path, sizeof(path), "%s/last.safetensors", s->o->out);
    if (ckpt_save(path, s->vk, s->g, &s->m, &s->kb.extras, &s->meta, 1, err, sizeof(err)) < 0) {
        fprintf(stderr, "vkdistill %s: %s\n", s->o->command, err);
        return 1;
    }
    snprintf(path, sizeof(path), "%s/best.safetensors", s->o->out);
    if (improved &&
        ckpt_save(path, s->vk, s->g, &s->m, NULL, &s->meta, 0, err, sizeof(err)) < 0) {
        fprintf(stderr, "vkdistill %s: %s\n", s->o->command, err);
        return 1;
    }
    return 0;
}

int train_run(const struct train_opts *oin)
{
    struct train_opts o = *oin;
    struct session s = {0};
    char err[1024], keep[6][512];
    int start = 0, rc = 1;
    s.o = &o;
    if (o.resume) {
        if (ckpt_read_meta(o.resume, &s.meta, err, sizeof(err)) < 0 ||
            config_read(&s.meta, &o, keep) < 0) {
            fprintf(stderr, "vkdistill %s: %s\n", o.command,
                    *err ? err : "the checkpoint has no run configuration");
            return 1;
        }
        start = s.meta.epoch;
    }
    s.method = method_find(o.method);
    if (!s.method) {
        fprintf(stderr, "vkdistill %s: no method '%s' (vkdistill distill --help lists them)\n",
                o.command, o.method);
        return 1;
    }
    if (s.method->needs_teacher && (!o.teacher_model || !o.teacher)) {
        fprintf(stderr, "vkdistill %s: method %s needs a teacher: --teacher-model and --teacher\n",
                o.command, o.method);
        return 1;
    }
    s.batch = o.batch;
    if (load_data(&s, err, sizeof(err)) < 0) {
        fprintf(stderr, "vkdistill %s: %s\n", o.command, err);
        goto out;
    }
    s.eval_batch = o.eval_batch < (int)s.test.n ? o.eval_batch : (int)s.test.n;
    if (s.method->triplets && s.batch % 3) {
        fprintf(stderr,
                "vkdistill %s: method %s trains on triplets of images: --batch %d must be a "
                "multiple of 3 (e.g. %d)\n",
                o.command, o.method, s.batch, s.batch < 3 ? 3 : s.batch / 3 * 3);
        goto out;
    }
    /* a triplet method's epoch takes every image once as an anchor */
    s.steps_per_epoch = s.train.n / (uint32_t)(s.method->triplets ? s.batch / 3 : s.batch);
    if (s.method->triplets && triplets_init(&s, err, sizeof(err)) < 0) {
        fprintf(stderr, "vkdistill %s: %s\n", o.command, err);
        goto out;
    }
    if (gpu_data_normalisation(&s.train, s.mean, s.std, err, sizeof(err)) < 0) {
        fprintf(stderr, "vkdistill %s: %s\n", o.command, err);
        goto out;
    }
    struct vkd_context_desc cd = {o.device, o.validation, train_log_validation, NULL};
    if (vkd_context_create(&cd, &s.ctx, err, sizeof(err)) != VKD_OK) {
        fprintf(stderr, "vkdistill %s: %s\n", o.command, err);
        goto out;
    }
    if (build(&s, err, sizeof(err)) < 0) {
        fprintf(stderr, "vkdistill %s: %s\n", o.command, err);
        goto out;
    }
    /* activations share memory by lifetime; the host reads only outputs, parameters, state and
     * the evaluation heads' logits after a run */
    int host_read[2] = {s.eval.logits, o.teacher_model ? s.teval.logits : s.eval.logits};
    struct vkd_vk_desc vd = {VKD_PROG_FORWARD | VKD_PROG_BACKWARD | VKD_PROG_UPDATE, 0, 1,
                             host_read, 2};
    size_t most = (size_t)(s.batch > s.eval_batch ? s.batch : s.eval_batch);
    s.prm = malloc(16 * most);
    s.lab = malloc(4 * most);
    uint32_t *perm = malloc(sizeof(uint32_t) * s.train.n);
    if (!s.prm || !s.lab || !perm) {
        free(perm);
        fprintf(stderr, "vkdistill %s: out of host memory\n", o.command);
        goto out;
    }
    if (vkd_vk_create(s.ctx, s.g, &vd, &s.vk) != VKD_OK ||
        gpu_data_upload(s.vk, s.g, &s.gtr) != VKD_OK ||
        gpu_data_upload(s.vk, s.g, &s.gte) != VKD_OK) {
        free(perm);
        fail_device(&s, "cannot set up the training step");
        goto out;
    }
    struct vkd_rng init_rng = {o.seed * 0x9e3779b97f4a7c15ull + 12345};
    if (o.resume) {
        if (ckpt_load(o.resume, s.vk, s.g, &s.m, &s.kb.extras, &s.meta, 1, err, sizeof(err)) <
            0) {
            free(perm);
            fprintf(stderr, "vkdistill %s: %s\n", o.command, err);
            goto out;
        }
    } else if (model_init_weights(s.g, s.vk, &s.m, &init_rng) != VKD_OK ||
               model_init_weights(s.g, s.vk, &s.kb.extras, &init_rng) != VKD_OK) {
        free(perm);
        fail_device(&s, "cannot initialise the weights");
        goto out;
    }
    double teacher_top1 = -1;
    if (o.teacher_model) {
        /* A wrong teacher is caught here, before hours are spent: the checkpoint must be of the
         * named architecture with every tensor's shape, and its accuracy is printed. */
        struct ckpt_meta tmeta;
        double tl, t5;
        if (ckpt_load(o.teacher, s.vk, s.g, &s.tm, NULL, &tmeta, 0, err, sizeof(err)) < 0) {
            free(perm);
            fprintf(stderr, "vkdistill %s: teacher: %s\n", o.command, err);
            goto out;
        }
        if (tmeta.classes != (int)s.train.classes || tmeta.in_c != (int)s.train.c ||
            tmeta.in_hw != (int)s.train.h) {
            free(perm);
            fprintf(stderr,
                    "vkdistill %s: teacher %s was trained on %dx%dx%d images with %d classes; "
                    "this data set has %ux%ux%u with %u\n",
                    o.command, o.teacher, tmeta.in_c, tmeta.in_hw, tmeta.in_hw, tmeta.classes,
                    s.train.c, s.train.h, s.train.w, s.train.classes);
            goto out;
        }
        if (eval_dataset(s.vk, s.g, &s.teval, &s.gte, &tl, &teacher_top1, &t5, NULL) !=
            VKD_OK) {
            free(perm);
            fail_device(&s, "evaluating the teacher failed");
            goto out;
        }
    }
    snprintf(s.meta.arch, sizeof(s.meta.arch), "%s", o.model);
    s.meta.classes = (int)s.train.classes, s.meta.in_c = (int)s.train.c;
    s.meta.in_hw = (int)s.train.h;
    memcpy(s.meta.mean, s.mean, sizeof(s.mean));
    memcpy(s.meta.std, s.std, sizeof(s.std));
    /* the method's options resolved, not as given: a run resumed by a later vkdistill keeps
     * its values even where a default has changed since (lkd's joint did) */
    char resolved[512];
    if (method_opts_text(s.method, s.kb.params, resolved, sizeof(resolved)) == 0)
        o.method_opts = resolved;
    config_text(&o, s.meta.config, sizeof(s.meta.config));
    if (train_log_open(&s.log, o.out, start, o.progress, err, sizeof(err)) < 0) {
        free(perm);
        fprintf(stderr, "vkdistill %s: %s\n", o.command, err);
        goto out;
    }
    train_log_header(&s.log, &o, vkd_context_device(s.ctx), &s.train, &s.test, s.m.n_weights,
                     s.m.macs, (int)s.steps_per_epoch, start);
    train_log_method(&s.log, s.method->name, &s.kb, teacher_top1,
                     o.teacher_model ? s.tm.n_weights : 0);
    /* the method's pre-training phase (a resumed run has its result in the checkpoint) */
    struct method_pretrain ph;
    if (start == 0 && s.method->pretrain && s.method->pretrain(&s.kb, &ph) && ph.epochs > 0) {
        struct pretrain_in pin = {&o,     s.method, &s.kb, s.ctx, &s.train, s.mean,
                                  s.std, s.vk,     s.g,   &s.log};
        if (pretrain_run(&pin, &ph) != 0) {
            free(perm);
            goto out;
        }
    }
    rc = 0;
    for (int epoch = start; epoch < o.epochs && rc == 0; epoch++) {
        struct epoch_metrics em = {.epoch = epoch + 1, .n_terms = s.kb.n_terms};
        for (int t = 0; t < s.kb.n_terms; t++)
            snprintf(em.term_name[t], sizeof(em.term_name[t]), "%s", s.kb.terms[t].name);
        rc = train_epoch(&s, epoch, perm, &em);
        if (rc)
            break;
        int improved = 0;
        if ((epoch + 1) % o.eval_every == 0 || epoch + 1 == o.epochs) {
            if (eval_dataset(s.vk, s.g, &s.eval, &s.gte, &em.test_loss, &em.test_top1,
                             &em.test_top5, NULL) != VKD_OK)
                rc = fail_device(&s, "evaluation failed");
            em.evaluated = 1;
            improved = rc == 0 && (s.meta.best_epoch == 0 || em.test_top1 > s.meta.best_top1);
            if (improved)
                s.meta.best_top1 = em.test_top1, s.meta.best_epoch = epoch + 1;
        }
        s.meta.epoch = epoch + 1;
        if (rc == 0)
            rc = save_checkpoints(&s, improved);
        if (rc == 0)
            train_log_epoch(&s.log, &em);
        if (rc == 0 && o.stop_after == epoch + 1 && epoch + 1 < o.epochs) {
            printf("stopped after epoch %d as asked; continue with --resume %s/last.safetensors\n",
                   epoch + 1, o.out);
            free(perm);
            goto out;
        }
    }
    free(perm);
    if (rc == 0)
        train_log_summary(&s.log, s.meta.best_top1, s.meta.best_epoch,
                          vkd_vk_device_bytes(s.vk), vkd_vk_step_parts(s.vk));
out:
    session_free(&s);
    return rc;
}

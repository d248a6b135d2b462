/*
 * cmd_loss.c - `vkdistill loss`: one method's loss on tensors a user supplies, and its
 * gradients, so vkdistill can be checked against one's own PyTorch implementation.
 *
 * Input (a safetensors file): the taps the method reads, named "student.<tap>" and
 * "teacher.<tap>" (e.g. student.logits [N, K], teacher.stage3 [N, C, H, W]), "labels" [N]
 * (int64, int32 or uint8), and optionally the method's trainable extras under their checkpoint
 * names ("distill.embed.0.weight", ...; absent ones get their PyTorch initialisation from
 * --seed; running statistics absent from the file start at mean 0, variance 1). The graph is
 * the distillation step's for the given options: a module a method pre-trains and then freezes
 * (lkd's CAAT with joint=0, the default) is frozen here too, its BatchNorms normalising with
 * the running statistics, it adds no term and gets no gradient; joint=1 gives the joint form
 * (CAAT's CE terms and CAAT's gradients, BatchNorms on batch statistics).
 * Output (a safetensors file): "loss.<term>" for every term (unweighted), "loss" (the
 * weighted total), and "grad.<name>" for every student-side tap and every trainable extra: the
 * gradient of the total. Runs on the chosen Vulkan device, or on the CPU reference with --cpu.
 * For a triplet method (corsd) the rows are a triplet batch a0 p0 n0 a1 p1 n1 ... (3B rows, as
 * the trainer feeds it): the anchors' labels and the soft targets (onehot(y_a) + onehot(y_n)) / 2
 * are taken from "labels" (kd_triplet_fill), as in training.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "method.h"
#include "safetensors.h"
#include "vkd_rng.h"

struct loss_run {
    struct st_file in;
    const char *path;
    int n_taps;
    int tap_tensor[32];
    char tap_name[32][ST_NAME_LEN];
};

/* Creates the INPUT tensor of a tap from the file's tensor of that name. */
static int file_tap(struct kd_build *b, enum kd_side side, const char *tap)
{
    struct loss_run *r = b->tap_user;
    char name[ST_NAME_LEN];
    snprintf(name, sizeof(name), "%s.%s", side == KD_STUDENT ? "student" : "teacher", tap);
    for (int i = 0; i < r->n_taps; i++)
        if (!strcmp(r->tap_name[i], name))
            return r->tap_tensor[i];
    const struct st_tensor *t = st_find(&r->in, name);
    if (!t || t->dtype != ST_F32 || t->ndim < 1 || t->ndim > 4 || r->n_taps == 32) {
        snprintf(b->err, sizeof(b->err), "%s: needs an F32 tensor '%s' of 1 to 4 dimensions",
                 r->path, name);
        return -1;
    }
    int d[4] = {1, 1, 1, 1};
    for (int i = 0; i < t->ndim; i++)
        d[i] = (int)t->shape[i];
    if (d[0] != b->batch) {
        snprintf(b->err, sizeof(b->err), "%s: '%s' has %d rows, the labels %d", r->path, name,
                 d[0], b->batch);
        return -1;
    }
    int id = vkd_graph_input(b->g, name, VKD_F32, d[0], d[1], d[2], d[3]);
    if (side == KD_STUDENT)
        vkd_graph_set_requires_grad(b->g, id);
    snprintf(r->tap_name[r->n_taps], ST_NAME_LEN, "%s", name);
    r->tap_tensor[r->n_taps++] = id;
    return id;
}

/* The labels as u32 from int64 / int32 / uint8; -1 with a sentence on anything else. */
static int read_labels(const struct loss_run *r, uint32_t **out, int *n, uint32_t classes,
                       char *err, size_t errlen)
{
    const struct st_tensor *t = st_find(&r->in, "labels");
    if (!t || t->ndim != 1 || (t->dtype != ST_I64 && t->dtype != ST_I32 && t->dtype != ST_U8)) {
        snprintf(err, errlen, "%s: needs a 1-D integer tensor 'labels' (int64, int32 or uint8)",
                 r->path);
        return -1;
    }
    *n = (int)t->shape[0];
    *out = malloc(sizeof(uint32_t) * (size_t)(*n ? *n : 1));
    if (!*out) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const void *d = st_data(&r->in, t);
    for (int i = 0; i < *n; i++) {
        int64_t v = t->dtype == ST_I64 ? ((const int64_t *)d)[i]
                    : t->dtype == ST_I32 ? ((const int32_t *)d)[i]
                                         : ((const uint8_t *)d)[i];
        if (classes && (v < 0 || (uint64_t)v >= classes)) {
            snprintf(err, errlen, "%s: label %lld of row %d is out of range (0..%u)", r->path,
                     (long long)v, i, classes - 1);
            free(*out);
            return -1;
        }
        (*out)[i] = (uint32_t)v;
    }
    return 0;
}

/* The number of classes: the logits' second dimension when the file has them. */
static uint32_t classes_of(const struct st_file *f)
{
    const struct st_tensor *t = st_find(f, "student.logits");
    return t && t->ndim >= 2 ? (uint32_t)t->shape[1] : 0;
}

int cmd_loss(int argc, char **argv)
{
    const char *method_name = NULL, *in_path = NULL, *out_path = NULL, *device = NULL;
    const char *opts = NULL;
    int cpu = 0, seed = 1, validation = cli_env_validation();
    const struct cli_flag flags[] = {
        {"--method", CLI_STRING, &method_name, "NAME", "the method (see vkdistill distill --help)"},
        {"--inputs", CLI_STRING, &in_path, "FILE", "safetensors file with the method's inputs"},
        {"--out", CLI_STRING, &out_path, "FILE", "safetensors file for the losses and gradients"},
        {"--opt", CLI_STRING, &opts, "K=V,..", "the method's options (defaults otherwise)"},
        {"--cpu", CLI_BOOL, &cpu, NULL, "evaluate on the CPU reference instead of a device"},
        {"--seed", CLI_INT, &seed, "N", "initialisation of extras the file lacks (1)", 0,
         2147483647},
        {"--device", CLI_STRING, &device, "INDEX|NAME", "Vulkan device (default: the best)"},
        {"--validation", CLI_BOOL, &validation, NULL, "Khronos validation layer on"},
    };
    const struct cli_command cmd = {
        "loss",
        "Evaluate one method's loss terms on given tensors and write them with the gradient of\n"
        "the weighted total with respect to every student-side input and trainable extra.\n"
        "Inputs: student.<tap>, teacher.<tap> (F32), labels (int), optional distill.* extras.\n"
        "Outputs: loss.<term>, loss, grad.student.<tap>, grad.distill.<name>.",
        "The taps each method reads are listed by vkdistill distill --help and docs/METHODS.md.",
        flags, (int)(sizeof(flags) / sizeof(flags[0]))};
    int r = cli_parse(&cmd, argc, argv);
    if (r)
        return r > 0 ? 0 : 2;
    if (!method_name || !in_path || !out_path) {
        fprintf(stderr, "vkdistill loss: --method, --inputs and --out are required\n");
        return 2;
    }
    const struct method *m = method_find(method_name);
    if (!m) {
        fprintf(stderr, "vkdistill loss: --method %s is not a method\n", method_name);
        return 2;
    }
    char err[1024];
    struct loss_run run = {.path = in_path};
    uint32_t *labels = NULL;
    int n = 0, rc = 1;
    struct kd_build kb = {0};
    struct vkd_context *ctx = NULL;
    struct vkd_vk *vk = NULL;
    struct vkd_ref *ref = NULL;
    struct st_writer *w = NULL;
    float **bufs = NULL;
    if (st_read(in_path, &run.in, err, sizeof(err)) < 0 ||
        read_labels(&run, &labels, &n, classes_of(&run.in), err, sizeof(err)) < 0)
        goto fail_msg;
    kb.g = vkd_graph_create();
    kb.batch = n;
    kb.classes = (int)classes_of(&run.in);
    kb.labels = vkd_graph_input(kb.g, "labels", VKD_U32, n, 1, 1, 1);
    kb.has_teacher = m->needs_teacher;
    kb.tap = file_tap;
    kb.tap_user = &run;
    kb.top1 = -1;
    kb.extras.prefix = kb.extras.param_prefix = "";
    if (method_resolve(m, opts, kb.params, err, sizeof(err)) < 0)
        goto fail_msg;
    if (m->build(&kb) < 0) {
        snprintf(err, sizeof(err), "%s", kb.err);
        goto fail_msg;
    }
    if (vkd_graph_finalize(kb.g, 0) != VKD_OK) {
        snprintf(err, sizeof(err), "internal error: %s", vkd_graph_error(kb.g));
        goto fail_msg;
    }
    int nt = vkd_graph_tensor_count(kb.g);
    bufs = calloc((size_t)nt, sizeof(float *));
    if (!bufs)
        goto oom;
    if (cpu) {
        if (!(ref = vkd_ref_create(kb.g)))
            goto oom;
    } else {
        struct vkd_context_desc cd = {device, validation, host_log_validation, NULL};
        struct vkd_vk_desc vd = {VKD_PROG_FORWARD | VKD_PROG_BACKWARD, 0};
        if (vkd_context_create(&cd, &ctx, err, sizeof(err)) != VKD_OK)
            goto fail_msg;
        if (vkd_vk_create(ctx, kb.g, &vd, &vk) != VKD_OK)
            goto fail_dev;
    }
    /* inputs: taps, labels, extras (file or init), weights in their step slots */
    struct vkd_rng rng = {(uint64_t)seed * 0x9e3779b97f4a7c15ull + 12345};
    for (int t = 0; t < nt; t++) {
        const struct vkd_tensor *tt = vkd_graph_tensor_at(kb.g, t);
        size_t cnt = vkd_tensor_numel(tt);
        float *v = malloc(sizeof(float) * cnt);
        if (!v)
            goto oom;
        bufs[t] = v;
        const struct st_tensor *src = NULL;
        int have = 0;
        if (t == kb.labels) {
            for (size_t i = 0; i < cnt; i++)
                v[i] = (float)labels[i]; /* exact below 2^24 */
            have = 1;
        } else if (m->triplets && (t == kb.tri_labels || t == kb.tri_soft)) {
            /* the rows are a triplet batch a0 p0 n0 a1 ...: the targets come from its labels */
            uint32_t *ya = malloc(sizeof(uint32_t) * (size_t)(n / 3 + 1));
            float *soft = malloc(sizeof(float) * (size_t)(n / 3 + 1) * (size_t)kb.classes);
            if (!ya || !soft) {
                free(ya);
                free(soft);
                goto oom;
            }
            kd_triplet_fill(labels, n, kb.classes, ya, soft);
            for (size_t i = 0; i < cnt; i++)
                v[i] = t == kb.tri_labels ? (float)ya[i] : soft[i];
            free(ya);
            free(soft);
            have = 1;
        } else if (tt->kind == VKD_T_INPUT || tt->kind == VKD_T_PARAM ||
                   (tt->kind == VKD_T_STATE && tt->dtype == VKD_F32)) {
            /* state: a frozen extra's weights (a pre-trained module) or running statistics */
            src = st_find(&run.in, tt->name);
            if (src) {
                if (src->dtype != ST_F32 || st_numel(src) != cnt) {
                    snprintf(err, sizeof(err), "%s: '%s' must be F32 with %zu elements", in_path,
                             tt->name, cnt);
                    goto fail_msg;
                }
                memcpy(v, st_data(&run.in, src), sizeof(float) * cnt);
                have = 1;
            }
        } else if (tt->kind == VKD_T_STEP) {
            memset(v, 0, sizeof(float) * cnt);
            for (int i = 0; i < kb.n_terms; i++)
                v[kb.terms[i].slot] = (float)kb.terms[i].weight;
            have = 1;
        }
        if (!have) {
            for (int i = 0; i < kb.extras.n_params; i++)
                if (kb.extras.params[i].tensor == t) {
                    const struct model_param *p = &kb.extras.params[i];
                    double sd = 0.01, bound = p->arg > 0 ? 1 / sqrt(p->arg) : 0;
                    for (size_t j = 0; j < cnt; j++)
                        v[j] = p->init == INIT_ONE    ? 1.0f
                               : p->init == INIT_ZERO ? 0.0f
                               : p->init == INIT_NORMAL
                                   ? (float)(p->arg * vkd_rng_normal(&rng))
                                   : p->init == INIT_TORCH_LINEAR
                                         ? (float)(bound * (2 * vkd_rng_uniform(&rng) - 1))
                                         : (float)(sd * vkd_rng_normal(&rng));
                    have = 1;
                }
            /* BN running variance starts at 1 (mean 0); other state starts at 0 */
            if (!have && tt->kind == VKD_T_STATE)
                for (size_t j = 0; j < cnt; j++)
                    v[j] = strstr(tt->name, "running_var") ? 1.0f : 0.0f, have = 1;
        }
        if (!have)
            continue;
        if (ref) {
            double *d = vkd_ref_data(ref, t);
            for (size_t i = 0; i < cnt; i++)
                d[i] = v[i];
        } else if (vkd_vk_write_f32(vk, t, v) != VKD_OK) {
            goto fail_dev;
        }
    }
    if (ref) {
        vkd_ref_forward(ref);
        vkd_ref_backward(ref);
    } else if (vkd_vk_run(vk) != VKD_OK) {
        goto fail_dev;
    }
    /* outputs */
    w = st_writer_create();
    if (!w)
        goto oom;
    static float scalars[METHOD_MAX_TERMS + 1];
    double total = 0;
    int64_t no_shape[1];
    for (int i = 0; i < kb.n_terms; i++) {
        double v;
        if (ref)
            v = vkd_ref_data(ref, kb.terms[i].tensor)[0];
        else if (vkd_vk_read(vk, kb.terms[i].tensor, &v) != VKD_OK)
            goto fail_dev;
        scalars[i] = (float)v;
        total += (double)(float)kb.terms[i].weight * v;
        char key[64];
        snprintf(key, sizeof(key), "loss.%s", kb.terms[i].name);
        st_writer_add(w, key, ST_F32, 0, no_shape, &scalars[i]);
    }
    scalars[kb.n_terms] = (float)total;
    st_writer_add(w, "loss", ST_F32, 0, no_shape, &scalars[kb.n_terms]);
    for (int t = 0; t < nt; t++) {
        const struct vkd_tensor *tt = vkd_graph_tensor_at(kb.g, t);
        int is_tap = tt->kind == VKD_T_INPUT && tt->grad >= 0;
        int is_extra = tt->kind == VKD_T_PARAM && tt->parent >= 0;
        if (!is_tap && !is_extra)
            continue;
        size_t cnt = vkd_tensor_numel(tt);
        float *gbuf = bufs[tt->grad];
        if (!gbuf && !(gbuf = bufs[tt->grad] = malloc(sizeof(float) * cnt)))
            goto oom;
        if (ref) {
            const double *d = vkd_ref_data(ref, tt->grad);
            for (size_t i = 0; i < cnt; i++)
                gbuf[i] = (float)d[i];
        } else if (vkd_vk_read_f32(vk, tt->grad, gbuf) != VKD_OK) {
            goto fail_dev;
        }
        /* the input's own shape when it came from the file, NCHW otherwise */
        const struct st_tensor *src = st_find(&run.in, tt->name);
        int64_t shape[4] = {tt->n, tt->c, tt->h, tt->w};
        int nd = 4;
        if (src) {
            nd = src->ndim;
            memcpy(shape, src->shape, sizeof(int64_t) * (size_t)nd);
        }
        char key[ST_NAME_LEN];
        snprintf(key, sizeof(key), "grad.%.*s", ST_NAME_LEN - 6, tt->name);
        st_writer_add(w, key, ST_F32, nd, shape, gbuf);
    }
    st_writer_meta(w, "method", m->name);
    st_writer_meta(w, "executor", ref ? "cpu reference (double)" : vkd_context_device(ctx)->name);
    if (st_write(w, out_path, err, sizeof(err)) < 0)
        goto fail_msg;
    printf("%s on %d rows (%s):", m->name, n, ref ? "CPU reference" : vkd_context_device(ctx)->name);
    for (int i = 0; i < kb.n_terms; i++)
        printf(" %s %.7g (x%g)", kb.terms[i].name, scalars[i], kb.terms[i].weight);
    printf("; total %.7g -> %s\n", total, out_path);
    rc = 0;
    goto out;
oom:
    snprintf(err, sizeof(err), "out of host memory");
fail_msg:
    fprintf(stderr, "vkdistill loss: %s\n", err);
    goto out;
fail_dev:
    fprintf(stderr, "vkdistill loss: %s\n", vkd_context_error(ctx));
out:
    st_writer_destroy(w);
    if (bufs)
        for (int t = 0; t < vkd_graph_tensor_count(kb.g); t++)
            free(bufs[t]);
    free(bufs);
    vkd_vk_destroy(vk);
    vkd_ref_destroy(ref);
    model_free(&kb.extras);
    vkd_graph_destroy(kb.g);
    if (ctx)
        vkd_context_destroy(ctx);
    free(labels);
    st_free(&run.in);
    return rc;
}

/*
 * test_distill_step.c - whole distillation steps, both ways. For each method configuration a
 * frozen teacher (BatchNorm from running statistics) and a training student, both from the model
 * zoo, read the same batch; the method's loss terms and trainable extras are appended exactly as
 * `vkdistill distill` builds them (host/methods); SGD updates the student and the extras. The
 * Vulkan executor and the CPU reference run VKD_STEPS steps from identical weights and batches:
 * every term of every step, and at the end every student parameter, extra, running statistic and
 * momentum must agree, and the teacher must be untouched.
 *
 * Tolerance: as tests/test_step.c (2e-3 relative to |ref| + rms(ref)), whose reasoning holds
 * here: the chains are longer (two resnet8s, ~60 ops) but the reductions shorter (8x8 inputs),
 * so one step's fp32 error stays near 1e-5, far under the 1e-2 a wrong gradient makes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "method.h"
#include "models.h"
#include "testutil.h"
#include "vkd_ops.h"
#include "vkd_rng.h"

#define VKD_STEPS 10
#define N 4
#define HW 8
#define CLASSES 5
#define TOL 2e-3

struct run {
    struct vkd_graph *g;
    struct model t, s;
    struct kd_build kb;
    int x, labels;
};

static int tap_fn(struct kd_build *b, enum kd_side side, const char *tap)
{
    const struct model *m = side == KD_STUDENT ? b->student : b->teacher;
    int t = model_tap(m, tap);
    if (t < 0)
        snprintf(b->err, sizeof(b->err), "no tap %s", tap);
    return t;
}

static int build(struct run *r, const char *method, const char *opts)
{
    char err[512];
    r->g = vkd_graph_create();
    r->x = vkd_graph_input(r->g, "x", VKD_F32, N, 1, HW, HW);
    r->labels = vkd_graph_input(r->g, "labels", VKD_U32, N, 1, 1, 1);
    struct model_opts mo = {.batch = N, .in_c = 1, .in_hw = HW, .classes = CLASSES,
                            .training = 1, .input = r->x, .has_input = 1};
    struct model_opts to = mo;
    to.training = 0, to.frozen = 1, to.prefix = "teacher/";
    if (model_build(r->g, "resnet8", &to, &r->t, err, sizeof(err)) < 0 ||
        model_build(r->g, "resnet8", &mo, &r->s, err, sizeof(err)) < 0) {
        printf("FAIL: model: %s\n", err);
        return -1;
    }
    const struct method *m = method_find(method);
    struct kd_build *kb = &r->kb;
    kb->g = r->g, kb->batch = N, kb->classes = CLASSES, kb->labels = r->labels;
    kb->has_teacher = 1, kb->tap = tap_fn, kb->student = &r->s, kb->teacher = &r->t;
    kb->top1 = -1;
    kb->extras.prefix = kb->extras.param_prefix = "";
    if (!m || method_resolve(m, opts, kb->params, err, sizeof(err)) < 0 || m->build(kb) < 0) {
        printf("FAIL: method %s: %s\n", method, m ? (*kb->err ? kb->err : err) : "unknown");
        return -1;
    }
    if (vkd_graph_finalize(r->g, 1) != VKD_OK) {
        printf("FAIL: finalize: %s\n", vkd_graph_error(r->g));
        return -1;
    }
    return 0;
}

/* Weights of every float parameter and state, teacher's included: conv/linear weights
 * Kaiming-like, BN weight near 1, biases and running means near 0, running variances near 1
 * (so the teacher's evaluation-mode BN is not the identity). fp32 values. */
static void init(struct run *r, struct vkd_ref *ref, struct vkd_rng *rng)
{
    for (int t = 0; t < vkd_graph_tensor_count(r->g); t++) {
        const struct vkd_tensor *tt = vkd_graph_tensor_at(r->g, t);
        if (!((tt->kind == VKD_T_PARAM && tt->parent >= 0) || tt->kind == VKD_T_STATE) ||
            tt->dtype != VKD_F32)
            continue;
        double *d = vkd_ref_data(ref, t);
        size_t n = vkd_tensor_numel(tt);
        const char *nm = tt->name;
        int bn = strstr(nm, "bn") != NULL || strstr(nm, "downsample.1") != NULL;
        double sd = sqrt(2.0 / (double)(tt->n * tt->h * tt->w));
        for (size_t i = 0; i < n; i++) {
            double v;
            if (strstr(nm, "running_var"))
                v = 1.0 + 0.2 * vkd_rng_uniform(rng);
            else if (strstr(nm, "running_mean") || strstr(nm, "bias"))
                v = 0.1 * vkd_rng_normal(rng);
            else if (bn)
                v = 1.0 + 0.1 * vkd_rng_normal(rng);
            else
                v = sd * vkd_rng_normal(rng);
            d[i] = (float)v;
        }
    }
}

static double rel_err(const double *a, const double *b, size_t n)
{
    double ss = 0, worst = 0;
    for (size_t i = 0; i < n; i++)
        ss += b[i] * b[i];
    double rms = sqrt(ss / (double)n);
    for (size_t i = 0; i < n; i++) {
        double e = fabs(a[i] - b[i]) / (fabs(b[i]) + rms + 1e-30);
        if (!(e <= worst))
            worst = isnan(e) ? INFINITY : e;
    }
    return worst;
}

static int passed, failed;

static void check(int ok, const char *line)
{
    printf("%-4s %s\n", ok ? "ok" : "FAIL", line);
    ok ? passed++ : failed++;
}

static int one(struct vkd_context *ctx, const char *method, const char *opts)
{
    struct run r = {0};
    printf("-- %s %s\n", method, opts ? opts : "");
    if (build(&r, method, opts) < 0)
        return -1;
    struct vkd_graph *g = r.g;
    struct vkd_ref *ref = vkd_ref_create(g);
    struct vkd_vk *vk = NULL;
    struct vkd_vk_desc desc = {VKD_PROG_FORWARD | VKD_PROG_BACKWARD | VKD_PROG_UPDATE, 0};
    if (!ref || vkd_vk_create(ctx, g, &desc, &vk) != VKD_OK) {
        printf("FAIL: executor: %s\n", vkd_context_error(ctx));
        return -1;
    }
    struct vkd_rng rng = {7};
    init(&r, ref, &rng);
    int nt = vkd_graph_tensor_count(g);
    double **before = calloc((size_t)nt, sizeof(double *));
    for (int t = 0; t < nt; t++) {
        const struct vkd_tensor *tt = vkd_graph_tensor_at(g, t);
        if (((tt->kind == VKD_T_PARAM && tt->parent >= 0) || tt->kind == VKD_T_STATE) &&
            tt->dtype == VKD_F32) {
            vkd_vk_write(vk, t, vkd_ref_data(ref, t));
            size_t n = vkd_tensor_numel(tt);
            before[t] = malloc(n * sizeof(double));
            memcpy(before[t], vkd_ref_data(ref, t), n * sizeof(double));
        }
    }
    double *sp = vkd_ref_data(ref, vkd_graph_step_params(g));
    double first = 0, last = 0;
    for (int step = 0; step < VKD_STEPS; step++) {
        double *x = vkd_ref_data(ref, r.x), *y = vkd_ref_data(ref, r.labels);
        for (int n = 0; n < N; n++) {
            y[n] = vkd_rng_below(&rng, CLASSES);
            for (int i = 0; i < HW * HW; i++)
                x[n * HW * HW + i] =
                    (float)(vkd_rng_normal(&rng) * 0.5 + (i % CLASSES == (int)y[n] ? 1.0 : 0.0));
        }
        sp[VKD_SP_LR] = (float)(step < VKD_STEPS / 2 ? 0.05 : 0.01);
        sp[VKD_SP_MOMENTUM] = (float)0.9;
        sp[VKD_SP_WEIGHT_DECAY] = (float)5e-4;
        sp[VKD_SP_STEP] = step;
        for (int k = 0; k < r.kb.n_terms; k++)
            sp[r.kb.terms[k].slot] = (float)r.kb.terms[k].weight;
        vkd_vk_write(vk, r.x, x);
        vkd_vk_write(vk, r.labels, y);
        vkd_vk_write(vk, vkd_graph_step_params(g), sp);
        if (vkd_vk_run(vk) != VKD_OK) {
            printf("FAIL: step %d: %s\n", step, vkd_context_error(ctx));
            return -1;
        }
        vkd_ref_step(ref);
        double total = 0;
        for (int k = 0; k < r.kb.n_terms; k++) {
            double v;
            vkd_vk_read(vk, r.kb.terms[k].tensor, &v);
            double want = vkd_ref_data(ref, r.kb.terms[k].tensor)[0];
            double e = fabs(v - want) / fabs(want);
            char line[160];
            snprintf(line, sizeof(line), "step %d %-4s vk %.7f ref %.7f  rel err %.2e", step,
                     r.kb.terms[k].name, v, want, e);
            check(e <= TOL && isfinite(v), line);
            total += r.kb.terms[k].weight * want;
        }
        if (step == 0)
            first = total;
        last = total;
    }
    double *buf = malloc(sizeof(double) << 20);
    double worst_t = 0;
    for (int t = 0; t < nt; t++) {
        const struct vkd_tensor *tt = vkd_graph_tensor_at(g, t);
        int teacher = strncmp(tt->name, "teacher/", 8) == 0;
        if (!((tt->kind == VKD_T_PARAM && tt->parent >= 0) || tt->kind == VKD_T_STATE ||
              tt->kind == VKD_T_OPT) ||
            tt->dtype != VKD_F32)
            continue;
        size_t n = vkd_tensor_numel(tt);
        vkd_vk_read(vk, t, buf);
        if (teacher) { /* frozen: bit for bit what was written */
            for (size_t i = 0; i < n; i++)
                worst_t = fmax(worst_t, fabs(buf[i] - before[t][i]));
            continue;
        }
        double e = rel_err(buf, vkd_ref_data(ref, t), n);
        char line[160];
        snprintf(line, sizeof(line), "%-36s rel err %.2e", tt->name, e);
        check(e <= TOL, line);
    }
    char line[160];
    snprintf(line, sizeof(line), "teacher unchanged (largest change %g)", worst_t);
    check(worst_t == 0, line);
    snprintf(line, sizeof(line), "weighted loss fell %.4f -> %.4f", first, last);
    check(last < first, line);
    snprintf(line, sizeof(line), "recorded %llu time(s)",
             (unsigned long long)vkd_vk_record_count(vk));
    check(vkd_vk_record_count(vk) == 1, line);
    free(buf);
    for (int t = 0; t < nt; t++)
        free(before[t]);
    free(before);
    vkd_vk_destroy(vk);
    vkd_ref_destroy(ref);
    model_free(&r.t);
    model_free(&r.s);
    model_free(&r.kb.extras);
    vkd_graph_destroy(g);
    return 0;
}

int main(void)
{
    struct vkd_context *ctx = vkd_test_context();
    if (one(ctx, "kd", NULL) < 0 || one(ctx, "ickd", NULL) < 0 ||
        one(ctx, "ickd", "alpha=1,paper=1,grid_h=2,grid_w=2") < 0)
        failed++;
    if (vkd_test_context_done(ctx))
        failed++;
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

/*
 * methods.c - the method registry, hyper-parameter resolution and the helpers methods build
 * with (see method.h).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "method.h"
#include "vkd_ops.h"

extern const struct method method_ce, method_kd, method_ickd, method_lkd, method_lakd,
    method_sakd, method_corsd;

static const struct method *const methods[] = {&method_ce,   &method_kd,   &method_ickd,
                                               &method_lkd,  &method_lakd, &method_sakd,
                                               &method_corsd};

const struct method *method_find(const char *name)
{
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strcmp(methods[i]->name, name) == 0)
            return methods[i];
    return NULL;
}

const char *const *method_names(void)
{
    static const char *names[sizeof(methods) / sizeof(methods[0]) + 1];
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        names[i] = methods[i]->name;
    return names;
}

int method_resolve(const struct method *m, const char *overrides, double *values, char *err,
                   size_t errlen)
{
    for (int i = 0; i < m->n_params; i++)
        values[i] = m->params[i].value;
    for (const char *p = overrides; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char item[128];
        if (len >= sizeof(item))
            len = sizeof(item) - 1;
        memcpy(item, p, len);
        item[len] = '\0';
        char *eq = strchr(item, '=');
        int found = -1;
        if (eq) {
            *eq = '\0';
            for (int i = 0; i < m->n_params; i++)
                if (strcmp(m->params[i].name, item) == 0)
                    found = i;
        }
        if (!eq || found < 0) {
            int n = snprintf(err, errlen, "method %s has no option '%s' (its options:", m->name,
                             item);
            for (int i = 0; i < m->n_params && n > 0 && (size_t)n < errlen; i++)
                n += snprintf(err + n, errlen - (size_t)n, " %s", m->params[i].name);
            if (n > 0 && (size_t)n < errlen)
                snprintf(err + n, errlen - (size_t)n, ")");
            return -1;
        }
        char *e;
        errno = 0;
        double v = strtod(eq + 1, &e);
        if (eq[1] == '\0' || *e || errno || !isfinite(v)) {
            snprintf(err, errlen, "method %s: option %s needs a number, not '%s'", m->name, item,
                     eq + 1);
            return -1;
        }
        values[found] = v;
        p = end ? end + 1 : NULL;
    }
    return 0;
}

int method_opts_text(const struct method *m, const double *values, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < m->n_params; i++) {
        char v[32];
        snprintf(v, sizeof(v), "%.15g", values[i]);
        if (strtod(v, NULL) != values[i]) /* the shortest text that reads back exactly */
            snprintf(v, sizeof(v), "%.17g", values[i]);
        int k = snprintf(buf + n, len - n, "%s%s=%s", i ? "," : "", m->params[i].name, v);
        if (k < 0 || (size_t)k >= len - n)
            return -1;
        n += (size_t)k;
    }
    return 0;
}

double method_param(const struct method *m, const struct kd_build *b, const char *name)
{
    for (int i = 0; i < m->n_params; i++)
        if (strcmp(m->params[i].name, name) == 0)
            return b->params[i];
    fprintf(stderr, "%s:%d: method %s has no parameter %s\n", __FILE__, __LINE__, m->name, name);
    abort(); /* a programmer error in a method file */
}

int method_cuts_student(const struct method *m, const double *values)
{
    for (int i = 0; m->cut_param && i < m->n_params; i++)
        if (strcmp(m->params[i].name, m->cut_param) == 0)
            return values[i] != 0;
    return 0;
}

int kd_model_tap(struct kd_build *b, enum kd_side side, const char *tap)
{
    const struct model *m = side == KD_STUDENT ? b->student : b->teacher;
    int t = m ? model_tap(m, tap) : -1;
    if (t < 0)
        snprintf(b->err, sizeof(b->err), "the %s %s has no feature tap '%s'",
                 side == KD_STUDENT ? "student" : "teacher", m ? m->arch : "(none)", tap);
    return t;
}

void kd_build_models(struct kd_build *b, const struct method *m, struct vkd_graph *g, int batch,
                     int classes, int labels, const struct model *student,
                     const struct model *teacher)
{
    b->g = g;
    b->batch = batch;
    b->classes = classes;
    b->labels = labels;
    b->has_teacher = teacher != NULL;
    b->tap = kd_model_tap;
    b->student = student;
    b->teacher = teacher;
    b->top1 = -1;
    b->extras.prefix = b->extras.param_prefix = "";
    snprintf(b->extras.arch, sizeof(b->extras.arch), "%s", m->name);
}

int kd_tap(struct kd_build *b, enum kd_side side, const char *tap)
{
    return b->tap(b, side, tap);
}

int kd_stage_tap(struct kd_build *b, enum kd_side side, int k)
{
    char name[16];
    if (k > 0) {
        snprintf(name, sizeof(name), "stage%d", k);
        return kd_tap(b, side, name);
    }
    for (k = 5; k >= 1; k--) {
        snprintf(name, sizeof(name), "stage%d", k);
        int t = kd_tap(b, side, name);
        if (t >= 0) {
            b->err[0] = '\0'; /* the deeper names tried first are not an error */
            return t;
        }
    }
    return -1;
}

int kd_ce(struct kd_build *b, double weight)
{
    int logits = kd_tap(b, KD_STUDENT, "logits");
    if (logits < 0)
        return -1;
    int ce = vkd_softmax_ce(b->g, "ce", logits, b->labels, &b->top1, NULL);
    return kd_term(b, "ce", ce, weight) < 0 ? -1 : ce;
}

int kd_term(struct kd_build *b, const char *name, int tensor, double weight)
{
    if (b->n_terms == METHOD_MAX_TERMS) {
        snprintf(b->err, sizeof(b->err), "too many loss terms");
        return -1;
    }
    struct loss_term *t = &b->terms[b->n_terms++];
    snprintf(t->name, sizeof(t->name), "%s", name);
    t->tensor = tensor;
    t->top1 = -1;
    t->weight = weight;
    t->slot = vkd_graph_alloc_slot(b->g);
    vkd_graph_loss(b->g, tensor, t->slot);
    return 0;
}

int kd_extra(struct kd_build *b, const char *key, int ndim, int n, int c, int h, int w,
             enum init_kind init, double arg)
{
    char name[VKD_NAME_LEN];
    snprintf(name, sizeof(name), "distill.%.*s", VKD_NAME_LEN - 9, key);
    /* a frozen extra is state, as a teacher's weight: no gradient, never updated */
    int t = b->freeze ? vkd_graph_tensor(b->g, name, VKD_T_STATE, VKD_F32, n, c, h, w)
                      : vkd_graph_param(b->g, name, n, c, h, w);
    struct model *x = &b->extras;
    struct model_param *p = realloc(x->params, sizeof(*p) * (size_t)(x->n_params + 1));
    if (!p) {
        snprintf(b->err, sizeof(b->err), "out of memory");
        return -1;
    }
    x->params = p;
    p[x->n_params++] = (struct model_param){t, init, arg, ndim};
    x->n_weights += (uint64_t)n * c * h * w;
    if (b->freeze)
        b->frozen_weights += (uint64_t)n * c * h * w;
    return t;
}

int kd_conv1x1(struct kd_build *b, const char *module, int x, int cout)
{
    char key[96];
    int cin = vkd_graph_tensor_at(b->g, x)->c;
    snprintf(key, sizeof(key), "%s.weight", module);
    /* nn.Conv2d's default init: kaiming_uniform(a = sqrt 5) = U(-1/sqrt(fan_in), +) */
    int w = kd_extra(b, key, 4, cout, cin, 1, 1, INIT_TORCH_LINEAR, cin);
    if (w < 0)
        return -1;
    char name[VKD_NAME_LEN];
    snprintf(name, sizeof(name), "distill.%s", module);
    return vkd_conv2d(b->g, name, x, w, -1, 1, 0, 1);
}

int kd_bn(struct kd_build *b, const char *module, int x)
{
    char key[96], name[VKD_NAME_LEN];
    int c = vkd_graph_tensor_at(b->g, x)->c;
    snprintf(key, sizeof(key), "%s.weight", module);
    int gamma = kd_extra(b, key, 1, c, 1, 1, 1, INIT_ONE, 0);
    snprintf(key, sizeof(key), "%s.bias", module);
    int beta = kd_extra(b, key, 1, c, 1, 1, 1, INIT_ZERO, 0);
    if (gamma < 0 || beta < 0)
        return -1;
    int stats[2];
    for (int i = 0; i < 2; i++) {
        snprintf(name, sizeof(name), "distill.%s.%s", module, i ? "running_var" : "running_mean");
        stats[i] = vkd_graph_tensor(b->g, name, VKD_T_STATE, VKD_F32, c, 1, 1, 1);
    }
    struct model *xm = &b->extras;
    if (xm->n_bn < MODEL_MAX_BN)
        snprintf(xm->bn[xm->n_bn++], sizeof(xm->bn[0]), "distill.%s", module);
    snprintf(name, sizeof(name), "distill.%s", module);
    return vkd_batchnorm2d(b->g, name, x, gamma, beta, stats[0], stats[1], !b->freeze);
}

int kd_triplet_inputs(struct kd_build *b)
{
    if (b->batch % 3) {
        snprintf(b->err, sizeof(b->err),
                 "a triplet batch holds anchor, positive and negative images: %d images is not "
                 "a multiple of 3",
                 b->batch);
        return -1;
    }
    b->tri_labels = vkd_graph_input(b->g, "triplet.labels_a", VKD_U32, b->batch / 3, 1, 1, 1);
    b->tri_soft = vkd_graph_input(b->g, "triplet.soft_an", VKD_F32, b->batch / 3, b->classes, 1,
                                  1);
    return 0;
}

void kd_triplet_fill(const uint32_t *labels, int n, int classes, uint32_t *ya, float *soft)
{
    memset(soft, 0, sizeof(float) * (size_t)(n / 3) * (size_t)classes);
    for (int i = 0; i < n / 3; i++) {
        ya[i] = labels[3 * i];
        soft[(size_t)i * classes + labels[3 * i]] += 0.5f;
        soft[(size_t)i * classes + labels[3 * i + 2]] += 0.5f;
    }
}

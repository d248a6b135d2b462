/*
 * check.c - op checks: Vulkan executor vs CPU reference, and reference vs finite differences.
 * The tolerances and why they are what they are: vkd_check.h.
 */
#include <math.h>
#include <string.h>

#include "internal.h"
#include "vkd_check.h"
#include "vkd_rng.h"

enum init_kind { INIT_UNIFORM, INIT_LABELS, INIT_VALUES };

struct init {
    enum init_kind kind;
    double lo, hi, gap;
    uint32_t classes;
    double *values; /* INIT_VALUES: owned copy */
};

struct vkd_check {
    struct vkd_graph *g;
    char op[32], shape[64];
    struct init *init; /* per tensor id, grown on demand */
    double *k;
    int cap;
    double step[VKD_SP_COUNT]; /* step-parameter values (SGD hyper-parameters, loss weights) */
    int sgd;
};

struct vkd_check *vkd_check_create(const char *op, const char *shape)
{
    struct vkd_check *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->g = vkd_graph_create();
    if (!c->g) {
        free(c);
        return NULL;
    }
    snprintf(c->op, sizeof(c->op), "%s", op);
    snprintf(c->shape, sizeof(c->shape), "%s", shape);
    return c;
}

void vkd_check_destroy(struct vkd_check *c)
{
    if (!c)
        return;
    vkd_graph_destroy(c->g);
    for (int i = 0; i < c->cap; i++)
        free(c->init[i].values);
    free(c->init);
    free(c->k);
    free(c);
}

struct vkd_graph *vkd_check_graph(struct vkd_check *c)
{
    return c->g;
}

/* Per-tensor settings live in arrays indexed by tensor id, grown to the graph's size. */
static void reserve(struct vkd_check *c)
{
    int n = vkd_graph_tensor_count(c->g);
    if (n <= c->cap)
        return;
    c->init = realloc(c->init, sizeof(*c->init) * (size_t)n);
    c->k = realloc(c->k, sizeof(*c->k) * (size_t)n);
    VKD_ASSERT(c->init && c->k);
    for (int i = c->cap; i < n; i++) {
        c->init[i] = (struct init){INIT_UNIFORM, -1, 1, 0, 0, NULL};
        c->k[i] = 1;
    }
    c->cap = n;
}

void vkd_check_uniform_gap(struct vkd_check *c, int t, double lo, double hi, double gap)
{
    reserve(c);
    c->init[t] = (struct init){INIT_UNIFORM, lo, hi, gap, 0, NULL};
}

void vkd_check_values(struct vkd_check *c, int t, const double *values)
{
    reserve(c);
    size_t n = vkd_tensor_numel(vkd_graph_tensor_at(c->g, t));
    double *v = malloc(n * sizeof(double));
    VKD_ASSERT(v);
    memcpy(v, values, n * sizeof(double));
    free(c->init[t].values);
    c->init[t] = (struct init){INIT_VALUES, 0, 0, 0, 0, v};
}

void vkd_check_uniform(struct vkd_check *c, int t, double lo, double hi)
{
    vkd_check_uniform_gap(c, t, lo, hi, 0);
}

void vkd_check_labels(struct vkd_check *c, int t, uint32_t classes)
{
    reserve(c);
    c->init[t] = (struct init){INIT_LABELS, 0, 0, 0, classes, NULL};
}

void vkd_check_k(struct vkd_check *c, int t, double k)
{
    reserve(c);
    c->k[t] = k;
}

void vkd_check_seed(struct vkd_check *c, int t)
{
    const struct vkd_tensor *tt = vkd_graph_tensor_at(c->g, t);
    char name[VKD_NAME_LEN];
    snprintf(name, sizeof(name), "seed.%.*s", VKD_NAME_LEN - 6, tt->name);
    int s = vkd_graph_input(c->g, name, VKD_F32, tt->n, tt->c, tt->h, tt->w);
    vkd_graph_seed(c->g, t, s);
}

void vkd_check_step(struct vkd_check *c, int slot, double value)
{
    VKD_ASSERT(slot >= 0 && slot < VKD_SP_COUNT);
    c->step[slot] = value;
}

static enum vkd_status finalize(struct vkd_check *c, int sgd)
{
    enum vkd_status s = vkd_graph_finalize(c->g, sgd);
    c->sgd = sgd;
    reserve(c);
    return s;
}

enum vkd_status vkd_check_finalize(struct vkd_check *c)
{
    return finalize(c, 0);
}

enum vkd_status vkd_check_finalize_sgd(struct vkd_check *c)
{
    return finalize(c, 1);
}

/* Tensors whose contents a check chooses: inputs, parameters (not their flat parent),
 * persistent state and optimizer state (so SGD is checked with a non-zero momentum). */
static int is_source(const struct vkd_tensor *t)
{
    return t->kind == VKD_T_INPUT || t->kind == VKD_T_STATE || t->kind == VKD_T_OPT ||
           (t->kind == VKD_T_PARAM && t->parent >= 0);
}

/* fp32-representable values, so both executors start from exactly the same numbers. */
static void fill_source(const struct init *in, struct vkd_rng *rng, double *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (in->kind == INIT_VALUES) {
            x[i] = in->values[i];
            continue;
        }
        if (in->kind == INIT_LABELS) {
            x[i] = vkd_rng_below(rng, in->classes);
            continue;
        }
        double v;
        do
            v = in->lo + (in->hi - in->lo) * vkd_rng_uniform(rng);
        while (fabs(v) < in->gap);
        x[i] = (float)v;
    }
}

static void set_sources(struct vkd_check *c, struct vkd_ref *ref, uint64_t seed)
{
    struct vkd_rng rng = {seed};
    for (int t = 0; t < vkd_graph_tensor_count(c->g); t++) {
        const struct vkd_tensor *tt = vkd_graph_tensor_at(c->g, t);
        if (is_source(tt))
            fill_source(&c->init[t], &rng, vkd_ref_data(ref, t), vkd_tensor_numel(tt));
        else if (tt->kind == VKD_T_STEP)
            for (int i = 0; i < VKD_SP_COUNT; i++) /* as fp32, which the GPU will see */
                vkd_ref_data(ref, t)[i] = (float)c->step[i];
    }
}

/* Tensors a check compares: what forward ops write (activations, outputs, updated state) and
 * every gradient of a tensor. */
static int compared(const struct vkd_graph *g, int t, int *grad_of)
{
    const struct vkd_tensor *tt = vkd_graph_tensor_at(g, t);
    *grad_of = -1;
    if (tt->kind == VKD_T_ACT || tt->kind == VKD_T_OUTPUT || tt->kind == VKD_T_STATE)
        return 1;
    /* after an update: the parameters themselves and the momentum */
    if ((tt->kind == VKD_T_PARAM && tt->parent >= 0) || tt->kind == VKD_T_OPT)
        return 1;
    for (int u = 0; u < vkd_graph_tensor_count(g); u++)
        if (vkd_graph_tensor_at(g, u)->grad == t) {
            /* a seeded output's gradient is a copy of its seed: nothing to compare */
            for (int i = 0; i < vkd_graph_seed_count(g); i++) {
                int st, src, slot;
                vkd_graph_seed_at(g, i, &st, &src, &slot);
                if (st == u && src >= 0)
                    return 0;
            }
            *grad_of = u;
            return 1;
        }
    return 0;
}

static void compare(struct vkd_check_row *row, const double *got, const double *want, size_t n,
                    double k)
{
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += want[i] * want[i];
    double rms = n ? sqrt(ss / (double)n) : 0;
    double scale = VKD_CHECK_C * ldexp(1.0, -24) * sqrt(k > 1 ? k : 1);
    double worst_ratio = -1;
    row->count = n;
    row->ok = 1;
    for (size_t i = 0; i < n; i++) {
        double err = fabs(got[i] - want[i]);
        double tol = scale * (fabs(want[i]) + rms);
        if (isnan(got[i]) || isnan(want[i]))
            err = INFINITY;
        double rel = err / (fabs(want[i]) > 1e-30 ? fabs(want[i]) : 1e-30);
        if (err > row->max_abs)
            row->max_abs = err;
        if (rel > row->max_rel)
            row->max_rel = rel;
        double ratio = tol > 0 ? err / tol : (err > 0 ? INFINITY : 0);
        if (!(err <= tol))
            row->ok = 0;
        if (ratio > worst_ratio) {
            worst_ratio = ratio;
            row->worst = i, row->got = got[i], row->want = want[i], row->tol = tol;
        }
    }
}

static struct vkd_check_row *next_row(struct vkd_check *c, struct vkd_check_row *rows,
                                      int max_rows, int *n_rows, const char *prefix,
                                      const char *name)
{
    if (*n_rows >= max_rows)
        return NULL;
    struct vkd_check_row *r = &rows[(*n_rows)++];
    memset(r, 0, sizeof(*r));
    snprintf(r->op, sizeof(r->op), "%s", c->op);
    snprintf(r->pass, sizeof(r->pass), "%s%.*s", prefix, 48, name);
    snprintf(r->shape, sizeof(r->shape), "%s", c->shape);
    return r;
}

enum vkd_status vkd_check_gpu(struct vkd_context *ctx, struct vkd_check *c, uint64_t seed,
                              struct vkd_check_row *rows, int max_rows, int *n_rows)
{
    const struct vkd_graph *g = c->g;
    int nt = vkd_graph_tensor_count(g);
    struct vkd_ref *ref = vkd_ref_create(g);
    struct vkd_vk *vk = NULL;
    double *buf = NULL;
    size_t max_n = 0;
    for (int t = 0; t < nt; t++)
        if (vkd_tensor_numel(vkd_graph_tensor_at(g, t)) > max_n)
            max_n = vkd_tensor_numel(vkd_graph_tensor_at(g, t));
    buf = malloc(max_n * sizeof(double));
    if (!ref || !buf) {
        vkd_ref_destroy(ref);
        free(buf);
        return vkd_fail(ctx, VKD_ERR_OUT_OF_MEMORY, "out of host memory");
    }
    struct vkd_vk_desc desc = {VKD_PROG_FORWARD | VKD_PROG_BACKWARD | VKD_PROG_UPDATE, 0};
    enum vkd_status s = vkd_vk_create(ctx, g, &desc, &vk);
    if (s != VKD_OK)
        goto out;

    set_sources(c, ref, seed);
    for (int t = 0; s == VKD_OK && t < nt; t++) {
        const struct vkd_tensor *tt = vkd_graph_tensor_at(g, t);
        int grad_of;
        if (is_source(tt) || tt->kind == VKD_T_STEP) {
            s = vkd_vk_write(vk, t, vkd_ref_data(ref, t));
        } else if (compared(g, t, &grad_of) && tt->kind != VKD_T_STATE) {
            for (size_t i = 0; i < vkd_tensor_numel(tt); i++)
                buf[i] = NAN; /* an element no shader writes stays NaN and fails */
            s = vkd_vk_write(vk, t, buf);
        }
    }
    if (s == VKD_OK)
        s = vkd_vk_run(vk);
    vkd_ref_step(ref);

    for (int t = 0; s == VKD_OK && t < nt; t++) {
        const struct vkd_tensor *tt = vkd_graph_tensor_at(g, t);
        int grad_of;
        if (!compared(g, t, &grad_of) || (tt->kind == VKD_T_GRAD && tt->parent < 0 &&
                                          grad_of < 0))
            continue;
        s = vkd_vk_read(vk, t, buf);
        struct vkd_check_row *row =
            grad_of >= 0
                ? next_row(c, rows, max_rows, n_rows, "bwd d", vkd_graph_tensor_at(g, grad_of)->name)
                : next_row(c, rows, max_rows, n_rows,
                           tt->kind == VKD_T_PARAM || tt->kind == VKD_T_OPT ? "upd " : "fwd ",
                           tt->name);
        if (row)
            compare(row, buf, vkd_ref_data(ref, t), vkd_tensor_numel(tt),
                    c->k[grad_of >= 0 ? grad_of : t]);
    }
out:
    vkd_vk_destroy(vk);
    vkd_ref_destroy(ref);
    free(buf);
    return s;
}

/* ---- finite differences ------------------------------------------------------------------------ */

static double objective(struct vkd_check *c, struct vkd_ref *ref)
{
    vkd_ref_forward(ref);
    double L = 0;
    for (int i = 0; i < vkd_graph_seed_count(c->g); i++) {
        int t, src, slot;
        vkd_graph_seed_at(c->g, i, &t, &src, &slot);
        const double *y = vkd_ref_data(ref, t);
        if (src >= 0) {
            const double *s = vkd_ref_data(ref, src);
            for (size_t j = 0; j < vkd_tensor_numel(vkd_graph_tensor_at(c->g, t)); j++)
                L += y[j] * s[j];
        } else {
            L += (slot >= 0 ? vkd_ref_data(ref, vkd_graph_step_params(c->g))[slot] : 1.0) * y[0];
        }
    }
    return L;
}

void vkd_check_fd(struct vkd_check *c, uint64_t seed, int max_elems, struct vkd_check_row *rows,
                  int max_rows, int *n_rows)
{
    const struct vkd_graph *g = c->g;
    struct vkd_ref *ref = vkd_ref_create(g);
    VKD_ASSERT(ref);
    set_sources(c, ref, seed);
    vkd_ref_forward(ref);
    vkd_ref_backward(ref);
    for (int t = 0; t < vkd_graph_tensor_count(g); t++) {
        const struct vkd_tensor *tt = vkd_graph_tensor_at(g, t);
        if (!is_source(tt) || tt->grad < 0)
            continue;
        size_t n = vkd_tensor_numel(tt);
        double *an = malloc(n * sizeof(double));
        VKD_ASSERT(an);
        memcpy(an, vkd_ref_data(ref, tt->grad), n * sizeof(double));
        struct vkd_check_row *row = next_row(c, rows, max_rows, n_rows, "fd d", tt->name);
        if (!row) {
            free(an);
            break;
        }
        row->ok = 1;
        double worst_ratio = -1;
        size_t stride = n > (size_t)max_elems ? n / (size_t)max_elems : 1;
        double *x = vkd_ref_data(ref, t);
        for (size_t i = 0; i < n; i += stride) {
            double x0 = x[i], h = 1e-5 * (1 + fabs(x0));
            x[i] = x0 + h;
            double lp = objective(c, ref);
            x[i] = x0 - h;
            double lm = objective(c, ref);
            x[i] = x0;
            double fd = (lp - lm) / (2 * h);
            double err = fabs(fd - an[i]), tol = VKD_CHECK_FD_TOL * (1 + fabs(an[i]));
            double rel = err / (fabs(an[i]) > 1e-30 ? fabs(an[i]) : 1e-30);
            row->count++;
            if (err > row->max_abs)
                row->max_abs = err;
            if (rel > row->max_rel)
                row->max_rel = rel;
            if (!(err <= tol))
                row->ok = 0;
            if (err / tol > worst_ratio) {
                worst_ratio = err / tol;
                row->worst = i, row->got = fd, row->want = an[i], row->tol = tol;
            }
        }
        free(an);
    }
    vkd_ref_destroy(ref);
}

/*
 * checkpoint.c - checkpoints (see checkpoint.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "safetensors.h"

/* The state_dict key of a model tensor: its graph name without the model's weight prefix. */
static const char *key_of(const struct vkd_graph *g, const struct model *m, int t)
{
    const char *name = vkd_graph_tensor_at(g, t)->name;
    size_t n = strlen(m->param_prefix);
    return strncmp(name, m->param_prefix, n) == 0 ? name + n : name;
}

/* PyTorch's shape of a model tensor of rank ndim. */
static int torch_shape(const struct vkd_tensor *t, int ndim, int64_t *shape)
{
    int64_t d[4] = {t->n, t->c, t->h, t->w};
    for (int i = 0; i < ndim; i++)
        shape[i] = d[i];
    return ndim;
}

static void shape_text(char *buf, size_t len, const int64_t *shape, int ndim)
{
    int n = snprintf(buf, len, "[");
    for (int i = 0; i < ndim && n > 0 && (size_t)n < len; i++)
        n += snprintf(buf + n, len - (size_t)n, "%s%" PRId64, i ? "," : "", shape[i]);
    if (n > 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, "]");
}

/* Every tensor a checkpoint of m holds: weights (ndim from the model), BN statistics (1-D). */
struct item {
    int tensor;
    int ndim;
    char key[ST_NAME_LEN];
};

/* Appends one model's items to it[k...]; returns the new count, or -1. */
static int model_items(const struct vkd_graph *g, const struct model *m, struct item *it, int k)
{
    for (int i = 0; i < m->n_params; i++) {
        it[k].tensor = m->params[i].tensor;
        it[k].ndim = m->params[i].ndim;
        snprintf(it[k].key, sizeof(it[k].key), "%s", key_of(g, m, m->params[i].tensor));
        k++;
    }
    for (int i = 0; i < m->n_bn; i++)
        for (int j = 0; j < 2; j++) {
            char name[VKD_NAME_LEN];
            snprintf(name, sizeof(name), "%s%s.%s", m->param_prefix, m->bn[i],
                     j ? "running_var" : "running_mean");
            it[k].tensor = vkd_graph_find(g, name);
            it[k].ndim = 1;
            snprintf(it[k].key, sizeof(it[k].key), "%s.%s", m->bn[i],
                     j ? "running_var" : "running_mean");
            if (it[k].tensor < 0)
                return -1;
            k++;
        }
    return k;
}

/* The model's items, then the extras' (a method's modules, keys "distill.*"). */
static int items(const struct vkd_graph *g, const struct model *m, const struct model *extras,
                 struct item **out)
{
    int n = m->n_params + 2 * m->n_bn + (extras ? extras->n_params + 2 * extras->n_bn : 0);
    struct item *it = calloc((size_t)(n ? n : 1), sizeof(*it));
    if (!it)
        return -1;
    int k = model_items(g, m, it, 0);
    if (k >= 0 && extras)
        k = model_items(g, extras, it, k);
    if (k < 0) {
        free(it);
        return -1;
    }
    *out = it;
    return k;
}

static int momentum_tensor(const struct vkd_graph *g)
{
    return vkd_graph_find(g, "momentum.flat");
}

int ckpt_save(const char *path, struct vkd_vk *vk, const struct vkd_graph *g,
              const struct model *m, const struct model *extras, const struct ckpt_meta *meta,
              int with_optimizer, char *err, size_t errlen)
{
    struct item *it = NULL;
    int n = items(g, m, extras, &it);
    struct st_writer *w = st_writer_create();
    float **bufs = calloc((size_t)(n > 0 ? n : 1) * 2, sizeof(float *));
    int n_bn = m->n_bn + (extras ? extras->n_bn : 0);
    int64_t *nbt = calloc((size_t)(n_bn ? n_bn : 1), sizeof(int64_t));
    float *mom = NULL;
    int rc = -1;
    if (n < 0 || !w || !bufs || !nbt) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    int mt = with_optimizer ? momentum_tensor(g) : -1;
    if (mt >= 0) {
        mom = malloc(vkd_tensor_numel(vkd_graph_tensor_at(g, mt)) * sizeof(float));
        if (!mom || vkd_vk_read_f32(vk, mt, mom) != VKD_OK) {
            snprintf(err, errlen, "%s: cannot read the optimizer state from the device", path);
            goto out;
        }
    }
    for (int i = 0; i < n; i++) {
        const struct vkd_tensor *t = vkd_graph_tensor_at(g, it[i].tensor);
        int64_t shape[4];
        int nd = torch_shape(t, it[i].ndim, shape);
        bufs[i] = malloc(vkd_tensor_numel(t) * sizeof(float));
        if (!bufs[i] || vkd_vk_read_f32(vk, it[i].tensor, bufs[i]) != VKD_OK ||
            st_writer_add(w, it[i].key, ST_F32, nd, shape, bufs[i]) < 0) {
            snprintf(err, errlen, "%s: cannot read '%s' from the device", path, it[i].key);
            goto out;
        }
        /* momentum of trainable weights: a slice of the flat tensor at the weight's offset */
        if (mom && t->kind == VKD_T_PARAM) {
            char key[ST_NAME_LEN];
            snprintf(key, sizeof(key), "optimizer.momentum.%.*s", ST_NAME_LEN - 24, it[i].key);
            if (st_writer_add(w, key, ST_F32, nd, shape, mom + t->offset) < 0) {
                snprintf(err, errlen, "%s: out of memory", path);
                goto out;
            }
        }
    }
    for (int i = 0; i < n_bn; i++) {
        char key[ST_NAME_LEN];
        snprintf(key, sizeof(key), "%s.num_batches_tracked",
                 i < m->n_bn ? m->bn[i] : extras->bn[i - m->n_bn]);
        nbt[i] = (int64_t)meta->step;
        if (st_writer_add(w, key, ST_I64, 0, NULL, &nbt[i]) < 0) {
            snprintf(err, errlen, "%s: out of memory", path);
            goto out;
        }
    }
    char v[64];
    st_writer_meta(w, "format", "vkdistill checkpoint 1");
    st_writer_meta(w, "arch", meta->arch);
#define META_INT(k, x)                                                                             \
    snprintf(v, sizeof(v), "%lld", (long long)(x));                                                \
    st_writer_meta(w, k, v)
    META_INT("classes", meta->classes);
    META_INT("in_channels", meta->in_c);
    META_INT("input_size", meta->in_hw);
    META_INT("epoch", meta->epoch);
    META_INT("step", meta->step);
    META_INT("best_epoch", meta->best_epoch);
#undef META_INT
    snprintf(v, sizeof(v), "%.17g", meta->best_top1);
    st_writer_meta(w, "best_top1", v);
    snprintf(v, sizeof(v), "%.9g,%.9g,%.9g", meta->mean[0], meta->mean[1], meta->mean[2]);
    st_writer_meta(w, "normalise_mean", v);
    snprintf(v, sizeof(v), "%.9g,%.9g,%.9g", meta->std[0], meta->std[1], meta->std[2]);
    st_writer_meta(w, "normalise_std", v);
    st_writer_meta(w, "optimizer", mt >= 0 ? "sgd momentum" : "none");
    st_writer_meta(w, "config", meta->config);
    rc = st_write(w, path, err, errlen);
out:
    for (int i = 0; bufs && i < n; i++)
        free(bufs[i]);
    free(bufs);
    free(nbt);
    free(mom);
    free(it);
    st_writer_destroy(w);
    return rc;
}

static int meta_from(const struct st_file *f, const char *path, struct ckpt_meta *meta,
                     char *err, size_t errlen)
{
    memset(meta, 0, sizeof(*meta));
    const char *fmt = st_meta(f, "format"), *arch = st_meta(f, "arch");
    if (!fmt || strncmp(fmt, "vkdistill checkpoint", 20) != 0 || !arch) {
        snprintf(err, errlen, "%s: not a vkdistill checkpoint (no 'format' and 'arch' metadata)",
                 path);
        return -1;
    }
    snprintf(meta->arch, sizeof(meta->arch), "%s", arch);
    const char *s;
    meta->classes = (s = st_meta(f, "classes")) ? atoi(s) : 0;
    meta->in_c = (s = st_meta(f, "in_channels")) ? atoi(s) : 0;
    meta->in_hw = (s = st_meta(f, "input_size")) ? atoi(s) : 0;
    meta->epoch = (s = st_meta(f, "epoch")) ? atoi(s) : 0;
    meta->step = (s = st_meta(f, "step")) ? strtoull(s, NULL, 10) : 0;
    meta->best_epoch = (s = st_meta(f, "best_epoch")) ? atoi(s) : 0;
    meta->best_top1 = (s = st_meta(f, "best_top1")) ? strtod(s, NULL) : 0;
    snprintf(meta->config, sizeof(meta->config), "%s", (s = st_meta(f, "config")) ? s : "");
    const char *mn = st_meta(f, "normalise_mean"), *sd = st_meta(f, "normalise_std");
    if (!mn || !sd ||
        sscanf(mn, "%f,%f,%f", &meta->mean[0], &meta->mean[1], &meta->mean[2]) != 3 ||
        sscanf(sd, "%f,%f,%f", &meta->std[0], &meta->std[1], &meta->std[2]) != 3) {
        snprintf(err, errlen, "%s: the metadata lacks the input normalisation", path);
        return -1;
    }
    if (meta->classes <= 0 || meta->in_c <= 0 || meta->in_hw <= 0) {
        snprintf(err, errlen, "%s: the metadata lacks classes, in_channels or input_size", path);
        return -1;
    }
    return 0;
}

int ckpt_read_meta(const char *path, struct ckpt_meta *meta, char *err, size_t errlen)
{
    struct st_file f;
    if (st_read(path, &f, err, errlen) < 0)
        return -1;
    int rc = meta_from(&f, path, meta, err, errlen);
    st_free(&f);
    return rc;
}

/* The tensor `key` with exactly `shape`, dtype F32; else a sentence. */
static const struct st_tensor *find_exact(const struct st_file *f, const char *path,
                                          const char *key, const int64_t *shape, int ndim,
                                          const char *arch, char *err, size_t errlen)
{
    const struct st_tensor *t = st_find(f, key);
    char want[96], got[96];
    if (!t) {
        snprintf(err, errlen, "%s: has no tensor '%s', which %s needs (a checkpoint of another "
                 "model?)", path, key, arch);
        return NULL;
    }
    shape_text(want, sizeof(want), shape, ndim);
    shape_text(got, sizeof(got), t->shape, t->ndim);
    if (t->ndim != ndim || memcmp(t->shape, shape, sizeof(int64_t) * (size_t)ndim) != 0) {
        snprintf(err, errlen, "%s: tensor '%s' has shape %s, %s needs %s", path, key, got, arch,
                 want);
        return NULL;
    }
    if (t->dtype != ST_F32) {
        snprintf(err, errlen, "%s: tensor '%s' is %s, vkdistill reads F32", path, key,
                 st_dtype_name(t->dtype));
        return NULL;
    }
    return t;
}

int ckpt_load(const char *path, struct vkd_vk *vk, const struct vkd_graph *g,
              const struct model *m, const struct model *extras, struct ckpt_meta *meta,
              int with_optimizer, char *err, size_t errlen)
{
    struct st_file f;
    struct item *it = NULL;
    float *mom = NULL;
    int rc = -1;
    if (st_read(path, &f, err, errlen) < 0)
        return -1;
    if (meta_from(&f, path, meta, err, errlen) < 0)
        goto out;
    if (strcmp(meta->arch, m->arch) != 0) {
        snprintf(err, errlen, "%s: is a checkpoint of %s, not %s", path, meta->arch, m->arch);
        goto out;
    }
    int n = items(g, m, extras, &it);
    if (n < 0) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    int mt = with_optimizer ? momentum_tensor(g) : -1;
    if (mt >= 0 && !(mom = calloc(vkd_tensor_numel(vkd_graph_tensor_at(g, mt)), sizeof(float)))) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    /* Check everything before writing anything: a bad file leaves the model untouched. */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++) {
            const struct vkd_tensor *t = vkd_graph_tensor_at(g, it[i].tensor);
            int64_t shape[4];
            int nd = torch_shape(t, it[i].ndim, shape);
            const struct st_tensor *s =
                find_exact(&f, path, it[i].key, shape, nd, m->arch, err, errlen);
            if (!s)
                goto out;
            const struct st_tensor *ms = NULL;
            if (mom && t->kind == VKD_T_PARAM) {
                char key[ST_NAME_LEN];
                snprintf(key, sizeof(key), "optimizer.momentum.%.*s", ST_NAME_LEN - 24,
                         it[i].key);
                ms = find_exact(&f, path, key, shape, nd, m->arch, err, errlen);
                if (!ms)
                    goto out;
            }
            if (pass == 0)
                continue;
            if (vkd_vk_write_f32(vk, it[i].tensor, st_data(&f, s)) != VKD_OK) {
                snprintf(err, errlen, "%s: cannot write '%s' to the device", path, it[i].key);
                goto out;
            }
            if (ms)
                memcpy(mom + t->offset, st_data(&f, ms), vkd_tensor_numel(t) * sizeof(float));
        }
    if (mom && vkd_vk_write_f32(vk, mt, mom) != VKD_OK) {
        snprintf(err, errlen, "%s: cannot write the optimizer state to the device", path);
        goto out;
    }
    rc = 0;
out:
    free(mom);
    free(it);
    st_free(&f);
    return rc;
}

const char *ckpt_config_get(const struct ckpt_meta *meta, const char *key)
{
    static char value[512];
    size_t kl = strlen(key);
    for (const char *line = meta->config; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > kl && strncmp(line, key, kl) == 0 && line[kl] == '=') {
            size_t vl = len - kl - 1 < sizeof(value) - 1 ? len - kl - 1 : sizeof(value) - 1;
            memcpy(value, line + kl + 1, vl);
            value[vl] = '\0';
            return value;
        }
        line = end ? end + 1 : NULL;
    }
    return NULL;
}

/*
 * models.c - the model zoo (see models.h). Each builder mirrors its RepDistiller definition line
 * by line; the comments name the PyTorch modules so the state_dict keys can be checked by eye.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models.h"
#include "vkd_ops.h"
#include "vkd_rng.h"

/* The builder's state: where it builds and what it has recorded. */
struct mb {
    struct vkd_graph *g;
    struct model *m;
    const struct model_opts *o;
    int h; /* current spatial size, for MACs */
    int fail;
};

/* A weight named param_prefix + key, of PyTorch rank ndim, shaped (n, c, h, w). */
static int add_param(struct mb *b, const char *key, int ndim, int n, int c, int h, int w,
                     enum init_kind init, double arg)
{
    char name[VKD_NAME_LEN];
    snprintf(name, sizeof(name), "%s%s", b->m->param_prefix, key);
    int t;
    if (b->o->share) {
        t = vkd_graph_find(b->g, name);
        if (t < 0) {
            b->fail = 1;
            return 0;
        }
    } else {
        t = b->o->frozen ? vkd_graph_tensor(b->g, name, VKD_T_STATE, VKD_F32, n, c, h, w)
                         : vkd_graph_param(b->g, name, n, c, h, w);
    }
    struct model_param *p =
        realloc(b->m->params, sizeof(*p) * (size_t)(b->m->n_params + 1));
    if (!p) {
        b->fail = 1;
        return t;
    }
    b->m->params = p;
    p[b->m->n_params++] = (struct model_param){t, init, arg, ndim};
    b->m->n_weights += (uint64_t)n * c * h * w;
    return t;
}

static void tap(struct mb *b, const char *name, int t)
{
    if (b->m->n_taps == MODEL_MAX_TAPS) {
        b->fail = 1;
        return;
    }
    struct model_tap *tp = &b->m->taps[b->m->n_taps++];
    snprintf(tp->name, sizeof(tp->name), "%s", name);
    tp->tensor = t;
}

static const char *key(char *buf, size_t len, const char *module, const char *leaf)
{
    snprintf(buf, len, "%s.%s", module, leaf);
    return buf;
}

/* nn.Conv2d(cin, cout, k, stride, pad, groups, bias) named `module`. */
static int conv(struct mb *b, const char *module, int x, int cout, int k, int stride, int pad,
                int groups, int bias)
{
    const struct vkd_tensor *t = vkd_graph_tensor_at(b->g, x);
    int cin = t->c;
    char kb[96], name[VKD_NAME_LEN];
    int w = add_param(b, key(kb, sizeof(kb), module, "weight"), 4, cout, cin / groups, k, k,
                      INIT_KAIMING_FAN_OUT, 0);
    int bt = bias ? add_param(b, key(kb, sizeof(kb), module, "bias"), 1, cout, 1, 1, 1,
                              INIT_ZERO, 0)
                  : -1;
    snprintf(name, sizeof(name), "%s%s", b->m->prefix, module);
    int y = vkd_conv2d(b->g, name, x, w, bt, stride, pad, groups);
    const struct vkd_tensor *yt = vkd_graph_tensor_at(b->g, y);
    b->m->macs += (uint64_t)yt->c * (uint64_t)(cin / groups) * k * k * yt->h * yt->w;
    return y;
}

/* nn.BatchNorm2d(c) named `module`: weight, bias (trainable), running_mean, running_var. */
static int bn(struct mb *b, const char *module, int x)
{
    int c = vkd_graph_tensor_at(b->g, x)->c;
    char kb[96], name[VKD_NAME_LEN];
    int gamma = add_param(b, key(kb, sizeof(kb), module, "weight"), 1, c, 1, 1, 1, INIT_ONE, 0);
    int beta = add_param(b, key(kb, sizeof(kb), module, "bias"), 1, c, 1, 1, 1, INIT_ZERO, 0);
    int stats[2];
    static const char *const leaf[2] = {"running_mean", "running_var"};
    for (int i = 0; i < 2; i++) {
        snprintf(name, sizeof(name), "%s%s.%s", b->m->param_prefix, module, leaf[i]);
        stats[i] = b->o->share ? vkd_graph_find(b->g, name)
                               : vkd_graph_tensor(b->g, name, VKD_T_STATE, VKD_F32, c, 1, 1, 1);
        if (stats[i] < 0) {
            b->fail = 1;
            return x;
        }
    }
    int rm = stats[0], rv = stats[1];
    if (b->m->n_bn < MODEL_MAX_BN)
        snprintf(b->m->bn[b->m->n_bn++], sizeof(b->m->bn[0]), "%s", module);
    else
        b->fail = 1;
    snprintf(name, sizeof(name), "%s%s", b->m->prefix, module);
    return vkd_batchnorm2d(b->g, name, x, gamma, beta, rm, rv, b->o->training);
}

static int relu(struct mb *b, const char *module, int x)
{
    char name[VKD_NAME_LEN];
    snprintf(name, sizeof(name), "%s%s", b->m->prefix, module);
    return vkd_relu(b->g, name, x);
}

/* After stage `stage` (1-based) of a model built with cut_stages: a stop-gradient, so the next
 * stage's backward never reaches this one (LAKD's local modules); the identity otherwise. */
static int cut(struct mb *b, int stage, int x)
{
    if (!b->o->cut_stages)
        return x;
    char name[VKD_NAME_LEN];
    snprintf(name, sizeof(name), "%scut%d", b->m->prefix, stage);
    return vkd_stop_grad(b->g, name, x);
}

static int add(struct mb *b, const char *module, int x, int y)
{
    char name[VKD_NAME_LEN];
    snprintf(name, sizeof(name), "%s%s", b->m->prefix, module);
    return vkd_add(b->g, name, x, y);
}

/* Global average pooling, then nn.Linear(c, classes) named `module`; taps pool and logits. */
static void head(struct mb *b, int x, const char *module, enum init_kind winit, double warg,
                 enum init_kind binit)
{
    char kb[96], name[VKD_NAME_LEN];
    snprintf(name, sizeof(name), "%spool", b->m->prefix);
    int p = vkd_global_avgpool(b->g, name, x);
    tap(b, "pool", p);
    int c = vkd_graph_tensor_at(b->g, x)->c, k = b->o->classes;
    int w = add_param(b, key(kb, sizeof(kb), module, "weight"), 2, k, c, 1, 1, winit,
                      winit == INIT_TORCH_LINEAR ? c : warg);
    int bias = add_param(b, key(kb, sizeof(kb), module, "bias"), 1, k, 1, 1, 1, binit, c);
    snprintf(name, sizeof(name), "%s%s", b->m->prefix, module);
    b->m->logits = vkd_linear(b->g, name, p, w, bias);
    b->m->macs += (uint64_t)c * k;
    tap(b, "logits", b->m->logits);
}

/* ---- CIFAR ResNet (resnet.py) ------------------------------------------------------------------- */

/* BasicBlock: conv3x3-bn-relu-conv3x3-bn, + shortcut (a projection conv1x1 + bn named
 * `shortcut`.0/.1 when stride or width changes: "downsample" in resnet.py, "shortcut" in the
 * CIFAR ResNet-18), relu. *pre gets the sum before the final relu. */
static int basic_block(struct mb *b, const char *mod, int x, int planes, int stride, int *pre,
                       const char *shortcut)
{
    char n[96];
    int cin = vkd_graph_tensor_at(b->g, x)->c;
    int out = conv(b, key(n, sizeof(n), mod, "conv1"), x, planes, 3, stride, 1, 1, 0);
    out = relu(b, key(n, sizeof(n), mod, "relu1"), bn(b, key(n, sizeof(n), mod, "bn1"), out));
    out = conv(b, key(n, sizeof(n), mod, "conv2"), out, planes, 3, 1, 1, 1, 0);
    out = bn(b, key(n, sizeof(n), mod, "bn2"), out);
    int res = x;
    if (stride != 1 || cin != planes) {
        char sc[48];
        snprintf(sc, sizeof(sc), "%s.0", shortcut);
        res = conv(b, key(n, sizeof(n), mod, sc), x, planes, 1, stride, 0, 1, 0);
        snprintf(sc, sizeof(sc), "%s.1", shortcut);
        res = bn(b, key(n, sizeof(n), mod, sc), res);
    }
    *pre = add(b, key(n, sizeof(n), mod, "add"), out, res);
    return relu(b, key(n, sizeof(n), mod, "relu2"), *pre);
}

/* The post-activation ResNets' body after the stem: `stages` stages of `blocks` BasicBlocks of
 * widths width[0..stages-1], stride 2 in the first block of every stage but the first, the
 * stage taps (after and before the last ReLU), a stop-gradient between stages when the model is
 * cut. Returns the last stage's output. */
static int resnet_stages(struct mb *b, int x, int stages, int blocks, const int *width,
                         const char *shortcut)
{
    for (int s = 0; s < stages; s++) {
        int pre = -1;
        for (int i = 0; i < blocks; i++) {
            char mod[32];
            snprintf(mod, sizeof(mod), "layer%d.%d", s + 1, i);
            x = basic_block(b, mod, x, width[s], i == 0 && s > 0 ? 2 : 1, &pre, shortcut);
        }
        char tn[32];
        snprintf(tn, sizeof(tn), "stage%d_pre", s + 1);
        tap(b, tn, pre);
        snprintf(tn, sizeof(tn), "stage%d", s + 1);
        tap(b, tn, x);
        if (s < stages - 1)
            x = cut(b, s + 1, x);
    }
    return x;
}

static int build_resnet(struct mb *b, int depth, const int *filters)
{
    int x = conv(b, "conv1", b->m->input, filters[0], 3, 1, 1, 1, 0);
    x = relu(b, "relu", bn(b, "bn1", x));
    tap(b, "stem", x);
    x = resnet_stages(b, x, 3, (depth - 2) / 6, filters + 1, "downsample");
    head(b, x, "fc", INIT_TORCH_LINEAR, 0, INIT_TORCH_LINEAR);
    return 0;
}

/* ---- CIFAR ResNet-18 (the common CIFAR ResNet18: 3x3 stem, no max-pool) ------------------------ */

/* The backbone CORSD distils (methods.md section 4): stem conv3x3 64 + BN + ReLU at full
 * resolution, BasicBlock stages [2, 2, 2, 2] of widths 64/128/256/512 with stride 2 from stage 2,
 * projection shortcuts "shortcut.0/1", global average pooling, "linear". Four stage taps. */
static int build_resnet18(struct mb *b)
{
    static const int width[4] = {64, 128, 256, 512};
    int x = conv(b, "conv1", b->m->input, 64, 3, 1, 1, 1, 0);
    x = relu(b, "relu", bn(b, "bn1", x));
    tap(b, "stem", x);
    x = resnet_stages(b, x, 4, 2, width, "shortcut");
    head(b, x, "linear", INIT_TORCH_LINEAR, 0, INIT_TORCH_LINEAR);
    return 0;
}

/* ---- Wide ResNet (wrn.py) ---------------------------------------------------------------------- */

/* Pre-activation block. Equal widths: out = x + conv2(relu(bn2(conv1(relu(bn1(x)))))).
 * Otherwise x itself is replaced by relu(bn1(x)) first and the shortcut is a 1x1 conv of it. */
static int wrn_block(struct mb *b, const char *mod, int x, int out_planes, int stride,
                     int *bn1_out)
{
    char n[96];
    int equal = vkd_graph_tensor_at(b->g, x)->c == out_planes;
    *bn1_out = bn(b, key(n, sizeof(n), mod, "bn1"), x);
    int a = relu(b, key(n, sizeof(n), mod, "relu1"), *bn1_out);
    int out = conv(b, key(n, sizeof(n), mod, "conv1"), a, out_planes, 3, stride, 1, 1, 0);
    out = relu(b, key(n, sizeof(n), mod, "relu2"), bn(b, key(n, sizeof(n), mod, "bn2"), out));
    out = conv(b, key(n, sizeof(n), mod, "conv2"), out, out_planes, 3, 1, 1, 1, 0);
    int sc = equal ? x
                   : conv(b, key(n, sizeof(n), mod, "convShortcut"), a, out_planes, 1, stride, 0,
                          1, 0);
    return add(b, key(n, sizeof(n), mod, "add"), sc, out);
}

static int build_wrn(struct mb *b, int depth, int widen)
{
    int ch[4] = {16, 16 * widen, 32 * widen, 64 * widen}, n = (depth - 4) / 6;
    int x = conv(b, "conv1", b->m->input, ch[0], 3, 1, 1, 1, 0);
    tap(b, "stem", x);
    /* stageK_pre is RepDistiller's preact feature: stage K's output through the next BN (the
     * first block's bn1 of stage K+1, or the final bn1 for stage 3) */
    for (int s = 0; s < 3; s++) {
        for (int i = 0; i < n; i++) {
            char mod[48], tn[32];
            int bn1_out;
            snprintf(mod, sizeof(mod), "block%d.layer.%d", s + 1, i);
            x = wrn_block(b, mod, x, ch[s + 1], i == 0 && s > 0 ? 2 : 1, &bn1_out);
            if (i == 0 && s > 0) {
                snprintf(tn, sizeof(tn), "stage%d_pre", s);
                tap(b, tn, bn1_out);
            }
        }
        char tn[32];
        snprintf(tn, sizeof(tn), "stage%d", s + 1);
        tap(b, tn, x);
        if (s < 2)
            x = cut(b, s + 1, x);
    }
    int f = bn(b, "bn1", x);
    tap(b, "stage3_pre", f);
    x = relu(b, "relu", f);
    head(b, x, "fc", INIT_TORCH_LINEAR, 0, INIT_ZERO);
    return 0;
}

/* ---- VGG (vgg.py, batch_norm=True) ------------------------------------------------------------- */

/* A block: [conv3x3(bias) - bn - relu] per entry, the last relu left to the caller (RepDistiller
 * drops it from the Sequential to expose the pre-activation). Module indices step by 3. */
static int vgg_block(struct mb *b, int s, int x, int width, int count, int *pre)
{
    for (int i = 0; i < count; i++) {
        char mod[32];
        snprintf(mod, sizeof(mod), "block%d.%d", s, 3 * i);
        x = conv(b, mod, x, width, 3, 1, 1, 1, 1);
        snprintf(mod, sizeof(mod), "block%d.%d", s, 3 * i + 1);
        x = bn(b, mod, x);
        if (i + 1 < count) {
            snprintf(mod, sizeof(mod), "block%d.%d", s, 3 * i + 2);
            x = relu(b, mod, x);
        }
    }
    *pre = x;
    char mod[32];
    snprintf(mod, sizeof(mod), "relu%d", s);
    return relu(b, mod, x);
}

static int build_vgg(struct mb *b, const int *counts)
{
    static const int width[5] = {64, 128, 256, 512, 512};
    int x = b->m->input, pre;
    for (int s = 0; s < 5; s++) {
        x = vgg_block(b, s, x, width[s], counts[s], &pre);
        char tn[32];
        if (s == 0) {
            tap(b, "stem", x);
        } else {
            snprintf(tn, sizeof(tn), "stage%d_pre", s);
            tap(b, tn, pre);
            snprintf(tn, sizeof(tn), "stage%d", s);
            tap(b, tn, x);
            if (s < 4)
                x = cut(b, s, x);
        }
        /* pool0..pool2 always; pool3 only for 64x64 inputs (RepDistiller's h == 64) */
        if (s < 3 || (s == 3 && b->o->in_hw == 64)) {
            char mod[16];
            snprintf(mod, sizeof(mod), "%spool%d", b->m->prefix, s);
            x = vkd_maxpool2x2(b->g, mod, x);
        }
    }
    head(b, x, "classifier", INIT_NORMAL, 0.01, INIT_ZERO);
    return 0;
}

/* ---- MobileNetV2 (mobilenetv2.py, mobile_half) ------------------------------------------------- */

/* InvertedResidual: pw conv1x1-bn-relu, dw conv3x3-bn-relu, pw-linear conv1x1-bn; + x when
 * stride 1 and widths equal. Modules conv.0 .. conv.7. */
static int inverted_residual(struct mb *b, const char *mod, int x, int oup, int stride, int t)
{
    char n[96];
    int inp = vkd_graph_tensor_at(b->g, x)->c, hid = inp * t;
    int y = conv(b, key(n, sizeof(n), mod, "conv.0"), x, hid, 1, 1, 0, 1, 0);
    y = relu(b, key(n, sizeof(n), mod, "conv.2"), bn(b, key(n, sizeof(n), mod, "conv.1"), y));
    y = conv(b, key(n, sizeof(n), mod, "conv.3"), y, hid, 3, stride, 1, hid, 0);
    y = relu(b, key(n, sizeof(n), mod, "conv.5"), bn(b, key(n, sizeof(n), mod, "conv.4"), y));
    y = conv(b, key(n, sizeof(n), mod, "conv.6"), y, oup, 1, 1, 0, 1, 0);
    y = bn(b, key(n, sizeof(n), mod, "conv.7"), y);
    if (stride == 1 && inp == oup)
        y = add(b, key(n, sizeof(n), mod, "add"), x, y);
    return y;
}

static int build_mobilenetv2(struct mb *b, int T, double width)
{
    /* t, c, n, s: RepDistiller's interverted_residual_setting */
    static const int setting[7][4] = {{1, 16, 1, 1},  {0, 24, 2, 1},  {0, 32, 3, 2},
                                      {0, 64, 4, 2},  {0, 96, 3, 1},  {0, 160, 3, 2},
                                      {0, 320, 1, 1}};
    int inc = (int)(32 * width);
    int x = conv(b, "conv1.0", b->m->input, inc, 3, 2, 1, 1, 0);
    x = relu(b, "conv1.2", bn(b, "conv1.1", x));
    tap(b, "stem", x);
    /* RepDistiller's features: f1 after blocks[1], f2 after [2], f3 after [4], f4 after [6];
     * the blocks end linearly (no ReLU), so stageK_pre is the same tensor as stageK */
    static const int stage_after[7] = {0, 1, 2, 0, 3, 0, 4};
    for (int k = 0; k < 7; k++) {
        int t = setting[k][0] ? setting[k][0] : T, c = (int)(setting[k][1] * width);
        for (int i = 0; i < setting[k][2]; i++) {
            char mod[32];
            snprintf(mod, sizeof(mod), "blocks.%d.%d", k, i);
            x = inverted_residual(b, mod, x, c, i == 0 ? setting[k][3] : 1, t);
        }
        if (stage_after[k]) {
            char tn[32];
            snprintf(tn, sizeof(tn), "stage%d_pre", stage_after[k]);
            tap(b, tn, x);
            snprintf(tn, sizeof(tn), "stage%d", stage_after[k]);
            tap(b, tn, x);
            if (stage_after[k] < 4)
                x = cut(b, stage_after[k], x);
        }
    }
    int last = width > 1.0 ? (int)(1280 * width) : 1280;
    x = conv(b, "conv2.0", x, last, 1, 1, 0, 1, 0);
    x = relu(b, "conv2.2", bn(b, "conv2.1", x));
    head(b, x, "classifier.0", INIT_NORMAL, 0.01, INIT_ZERO);
    return 0;
}

/* ---- the table --------------------------------------------------------------------------------- */

enum family { RESNET, RESNET18, WRN, VGG, MOBILENET };

static const struct arch {
    const char *name;
    enum family family;
    int a, b; /* resnet: depth, wide (0/1); wrn: depth, widen; vgg: row of vgg_counts;
               * mobilenetv2: expansion T */
} archs[] = {
    {"resnet8", RESNET, 8, 0},      {"resnet14", RESNET, 14, 0},  {"resnet20", RESNET, 20, 0},
    {"resnet32", RESNET, 32, 0},    {"resnet44", RESNET, 44, 0},  {"resnet56", RESNET, 56, 0},
    {"resnet110", RESNET, 110, 0},  {"resnet8x4", RESNET, 8, 1},  {"resnet32x4", RESNET, 32, 1},
    {"wrn_16_1", WRN, 16, 1},       {"wrn_16_2", WRN, 16, 2},     {"wrn_40_1", WRN, 40, 1},
    {"wrn_40_2", WRN, 40, 2},       {"vgg8", VGG, 0, 0},          {"vgg11", VGG, 1, 0},
    {"vgg13", VGG, 2, 0},           {"vgg16", VGG, 3, 0},         {"vgg19", VGG, 4, 0},
    {"mobilenetv2", MOBILENET, 6, 0}, {"resnet18", RESNET18, 0, 0},
};

/* Convs per VGG block for configs S (vgg8), A (vgg11), B (vgg13), D (vgg16), E (vgg19). */
static const int vgg_counts[5][5] = {
    {1, 1, 1, 1, 1}, {1, 1, 2, 2, 2}, {2, 2, 2, 2, 2}, {2, 2, 3, 3, 3}, {2, 2, 4, 4, 4}};

const char *const *model_names(void)
{
    static const char *names[sizeof(archs) / sizeof(archs[0]) + 1];
    for (size_t i = 0; i < sizeof(archs) / sizeof(archs[0]); i++)
        names[i] = archs[i].name;
    return names;
}

int model_build(struct vkd_graph *g, const char *arch, const struct model_opts *o,
                struct model *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    const struct arch *a = NULL;
    for (size_t i = 0; i < sizeof(archs) / sizeof(archs[0]); i++)
        if (!strcmp(archs[i].name, arch))
            a = &archs[i];
    if (!a) {
        int n = snprintf(err, errlen, "unknown model '%s' (known:", arch);
        for (size_t i = 0; i < sizeof(archs) / sizeof(archs[0]) && n > 0 && (size_t)n < errlen;
             i++)
            n += snprintf(err + n, errlen - (size_t)n, " %s", archs[i].name);
        if (n > 0 && (size_t)n < errlen)
            snprintf(err + n, errlen - (size_t)n, ")");
        return -1;
    }
    snprintf(m->arch, sizeof(m->arch), "%s", arch);
    m->prefix = o->prefix ? o->prefix : "";
    m->param_prefix = o->param_prefix ? o->param_prefix : m->prefix;
    char name[VKD_NAME_LEN];
    snprintf(name, sizeof(name), "%sinput", m->prefix);
    m->input = o->has_input
                   ? o->input
                   : vkd_graph_input(g, name, VKD_F32, o->batch, o->in_c, o->in_hw, o->in_hw);
    struct mb b = {g, m, o, o->in_hw, 0};
    static const int narrow[4] = {16, 16, 32, 64}, wide[4] = {32, 64, 128, 256};
    switch (a->family) {
    case RESNET: build_resnet(&b, a->a, a->b ? wide : narrow); break;
    case RESNET18: build_resnet18(&b); break;
    case WRN: build_wrn(&b, a->a, a->b); break;
    case VGG: build_vgg(&b, vgg_counts[a->a]); break;
    case MOBILENET: build_mobilenetv2(&b, a->a, 0.5); break;
    }
    if (b.fail) {
        snprintf(err, errlen, "model %s: %s", arch,
                 o->share ? "a weight to share was not found (internal error)"
                          : "out of memory or too many taps/BN layers");
        model_free(m);
        return -1;
    }
    return 0;
}

void model_free(struct model *m)
{
    free(m->params);
    m->params = NULL;
    m->n_params = 0;
}

int model_tap(const struct model *m, const char *name)
{
    for (int i = 0; i < m->n_taps; i++)
        if (!strcmp(m->taps[i].name, name))
            return m->taps[i].tensor;
    return -1;
}

/* Draws every weight of m as its PyTorch definition initialises it, in m's parameter order (so
 * the same seed gives the same network whatever else the graph holds), and sets the running
 * variances to 1 (running means stay 0: the executor zeroes memory). */
enum vkd_status model_init_weights(struct vkd_graph *g, struct vkd_vk *vk, const struct model *m,
                                   struct vkd_rng *rng)
{
    enum vkd_status st = VKD_OK;
    for (int i = 0; i < m->n_params && st == VKD_OK; i++) {
        const struct model_param *p = &m->params[i];
        const struct vkd_tensor *t = vkd_graph_tensor_at(g, p->tensor);
        size_t n = vkd_tensor_numel(t);
        float *v = malloc(n * sizeof(float));
        if (!v)
            return VKD_ERR_OUT_OF_MEMORY;
        double sd = sqrt(2.0 / (double)(t->n * t->h * t->w));
        double bound = p->arg > 0 ? 1.0 / sqrt(p->arg) : 0;
        for (size_t j = 0; j < n; j++) {
            switch (p->init) {
            case INIT_KAIMING_FAN_OUT: v[j] = (float)(sd * vkd_rng_normal(rng)); break;
            case INIT_ONE: v[j] = 1.0f; break;
            case INIT_ZERO: v[j] = 0.0f; break;
            case INIT_TORCH_LINEAR: v[j] = (float)(bound * (2 * vkd_rng_uniform(rng) - 1)); break;
            case INIT_NORMAL: v[j] = (float)(p->arg * vkd_rng_normal(rng)); break;
            }
        }
        st = vkd_vk_write_f32(vk, p->tensor, v);
        free(v);
    }
    for (int i = 0; i < m->n_bn && st == VKD_OK; i++) {
        char name[VKD_NAME_LEN];
        snprintf(name, sizeof(name), "%s%s.running_var", m->param_prefix, m->bn[i]);
        int t = vkd_graph_find(g, name);
        size_t n = vkd_tensor_numel(vkd_graph_tensor_at(g, t));
        float *one = malloc(n * sizeof(float));
        if (!one)
            return VKD_ERR_OUT_OF_MEMORY;
        for (size_t j = 0; j < n; j++)
            one[j] = 1.0f;
        st = vkd_vk_write_f32(vk, t, one);
        free(one);
    }
    return st;
}

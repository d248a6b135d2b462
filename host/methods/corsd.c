/*
 * corsd.c - method "corsd": class-oriented relational self-distillation (Yu et al., ICASSP
 * 2023), methods.md section 4, from the official code (muzhou-yu/CORSD @d98e17c) with the
 * spec's repairs. No teacher network: the deepest stage is the teacher of the shallow ones.
 *
 * The batch is B triplets of images ordered a0 p0 n0 a1 p1 n1 ... (the trainer draws them:
 * struct method.triplets). For every stage k a relation network RN_k reads the channel
 * concatenation of the anchor's and a pair member's stage outputs, [o_k(a); o_k(x)], and gives
 *   - SepConv blocks, each halving the size and doubling the channels, down to the deepest
 *     stage's size (none for the deepest), then GAP: the embedding e (B, E);
 *   - the relation score r = sigmoid(FC(ReLU(BN1d(FC(e))))) in (0, 1), (B, 1);
 *   - the auxiliary logits aux = FC(e) (B, K).
 * RN_k runs twice, on the positive pairs and on the negative pairs: the same weights, each
 * call with its own batch statistics (two forward calls of one nn.Module, as the code).
 * Loss terms (weights from the code, each registered and logged per stage k):
 *   ce      CE(fc logits, labels) on all 3B images                             x 1
 *   tri<k>  mean_b max(r_p - r_n + margin, 0)                                  x a_tri
 *   auxp<k> CE(aux_p^k, y_a)                                                   x (tc - lc)
 *   klp<k>  KL(softmax(aux_p^D / T) || softmax(aux_p^k / T)), k < D, batchmean  x lc    [R]
 *   auxn<k> -mean_b sum_c s_c log softmax(aux_n^k / T)_c, s = (1_ya + 1_yn) / 2 x (tcs - lcs) [R]
 *   kln<k>  KL(softmax(aux_n^D / T) || softmax(aux_n^k / T)), k < D            x lcs   [R]
 *   rel<k>  mean_b (r_n^k - r_n^D)^2 + mean_b (r_p^k - r_p^D)^2, k < D         x fc
 * (D the deepest stage). Nothing is detached: the code detaches nothing, so the deep side of
 * every KL and relation term is trained too. The logit-relation term rn_logits is omitted
 * (methods.md item 8: it cannot run as released).
 * For 3-stage CIFAR ResNets (methods.md row 15, [R]) the same pattern: RN_k on stage k, SepConvs
 * down to stage 3's size, stage 3 the teacher. Inference uses the backbone alone.
 * Extras: distill.rn<k>.sep<j>.{dw1,pw1,dw2,pw2}.weight, .sep<j>.bn{1,2}.*, .fc1.{weight,bias},
 * .bn.*, .fc2.{weight,bias}, .aux.{weight,bias}.
 */
#include <stdio.h>

#include "method.h"
#include "vkd_ops.h"

extern const struct method method_corsd;

static const struct method_param params[] = {
    {"main", 1.0, "weight of the cross-entropy of the backbone on all 3B images"},
    {"lc", 0.16, "weight of the positive-pair aux KL (deepest -> stage k)"},
    {"tc", 0.2, "the positive-pair aux CE weighs tc - lc"},
    {"lcs", 0.04, "weight of the negative-pair aux KL"},
    {"tcs", 0.05, "the negative-pair aux soft CE weighs tcs - lcs"},
    {"fc", 0.01, "weight of the relation-score distillation"},
    {"a_tri", 0.01, "weight of the triplet hinge on the relation scores"},
    {"margin", 1.0, "triplet margin"},
    {"T", 3.0, "temperature of the aux KL and soft CE"},
    {"soft_code", 0.0, "1: soft CE targets softmax(s / T) as the code; 0: s itself [R]"},
    {"hidden", 128.0, "relation head width of the shallow RNs"},
    {"hidden_deep", 256.0, "relation head width of the deepest RN"},
};
static const char *const student_taps[] = {"logits", "stage1", "stage2", "stage3", "stage4", NULL};
static const char *const no_taps[] = {NULL};

#define CORSD_MAX_STAGES 4
#define CORSD_MAX_SEP 6

/* Parameter tensors of one RN: created once, applied to the positive and negative pairs. */
struct bn_p {
    int gamma, beta, mean, var;
};
struct rn {
    int k, n_sep;
    int dw1[CORSD_MAX_SEP], pw1[CORSD_MAX_SEP], dw2[CORSD_MAX_SEP], pw2[CORSD_MAX_SEP];
    struct bn_p bn1[CORSD_MAX_SEP], bn2[CORSD_MAX_SEP], bn;
    int fc1w, fc1b, fc2w, fc2b, auxw, auxb;
};

static int bn_params(struct kd_build *b, const char *module, int c, struct bn_p *p)
{
    char key[96], name[VKD_NAME_LEN];
    snprintf(key, sizeof(key), "%s.weight", module);
    p->gamma = kd_extra(b, key, 1, c, 1, 1, 1, INIT_ONE, 0);
    snprintf(key, sizeof(key), "%s.bias", module);
    p->beta = kd_extra(b, key, 1, c, 1, 1, 1, INIT_ZERO, 0);
    if (p->gamma < 0 || p->beta < 0)
        return -1;
    snprintf(name, sizeof(name), "distill.%s.running_mean", module);
    p->mean = vkd_graph_tensor(b->g, name, VKD_T_STATE, VKD_F32, c, 1, 1, 1);
    snprintf(name, sizeof(name), "distill.%s.running_var", module);
    p->var = vkd_graph_tensor(b->g, name, VKD_T_STATE, VKD_F32, c, 1, 1, 1);
    struct model *xm = &b->extras;
    if (xm->n_bn == MODEL_MAX_BN) {
        snprintf(b->err, sizeof(b->err), "too many BatchNorm layers in the relation networks");
        return -1;
    }
    snprintf(xm->bn[xm->n_bn++], sizeof(xm->bn[0]), "distill.%s", module);
    return 0;
}

/* nn.Conv2d weight (no bias), kaiming-normal fan_out as the code's init loop. */
static int conv_w(struct kd_build *b, const char *module, int cout, int cin_g, int ks)
{
    char key[96];
    snprintf(key, sizeof(key), "%s.weight", module);
    return kd_extra(b, key, 4, cout, cin_g, ks, ks, INIT_KAIMING_FAN_OUT, 0);
}

/* nn.Linear(in, out): default weight init, bias 0 (the code's init loop). */
static int linear_p(struct kd_build *b, const char *module, int in, int out, int *w, int *bias)
{
    char key[96];
    snprintf(key, sizeof(key), "%s.weight", module);
    *w = kd_extra(b, key, 2, out, in, 1, 1, INIT_TORCH_LINEAR, in);
    snprintf(key, sizeof(key), "%s.bias", module);
    *bias = kd_extra(b, key, 1, out, 1, 1, 1, INIT_ZERO, 0);
    return *w < 0 || *bias < 0 ? -1 : 0;
}

/* RN_k's parameters for a pair input of c channels at size h, n_sep SepConvs. */
static int rn_params(struct kd_build *b, struct rn *r, int k, int c, int n_sep, int hidden)
{
    char mod[64];
    r->k = k, r->n_sep = n_sep;
    for (int j = 0; j < n_sep; j++, c *= 2) {
        snprintf(mod, sizeof(mod), "rn%d.sep%d.dw1", k, j);
        r->dw1[j] = conv_w(b, mod, c, 1, 3);
        snprintf(mod, sizeof(mod), "rn%d.sep%d.pw1", k, j);
        r->pw1[j] = conv_w(b, mod, c, c, 1);
        snprintf(mod, sizeof(mod), "rn%d.sep%d.bn1", k, j);
        if (r->dw1[j] < 0 || r->pw1[j] < 0 || bn_params(b, mod, c, &r->bn1[j]) < 0)
            return -1;
        snprintf(mod, sizeof(mod), "rn%d.sep%d.dw2", k, j);
        r->dw2[j] = conv_w(b, mod, c, 1, 3);
        snprintf(mod, sizeof(mod), "rn%d.sep%d.pw2", k, j);
        r->pw2[j] = conv_w(b, mod, 2 * c, c, 1);
        snprintf(mod, sizeof(mod), "rn%d.sep%d.bn2", k, j);
        if (r->dw2[j] < 0 || r->pw2[j] < 0 || bn_params(b, mod, 2 * c, &r->bn2[j]) < 0)
            return -1;
    }
    snprintf(mod, sizeof(mod), "rn%d.fc1", k);
    if (linear_p(b, mod, c, hidden, &r->fc1w, &r->fc1b) < 0)
        return -1;
    snprintf(mod, sizeof(mod), "rn%d.bn", k);
    if (bn_params(b, mod, hidden, &r->bn) < 0)
        return -1;
    snprintf(mod, sizeof(mod), "rn%d.fc2", k);
    if (linear_p(b, mod, hidden, 1, &r->fc2w, &r->fc2b) < 0)
        return -1;
    snprintf(mod, sizeof(mod), "rn%d.aux", k);
    return linear_p(b, mod, c, b->classes, &r->auxw, &r->auxb);
}

static int bn_apply(struct vkd_graph *g, const char *name, int x, const struct bn_p *p)
{
    return vkd_batchnorm2d(g, name, x, p->gamma, p->beta, p->mean, p->var, 1);
}

/* Half h (1 or 2) of separable block j: depthwise 3x3 (stride st), pointwise 1x1, BN, ReLU,
 * named distill.rn<k>.<tag>.sep<j>.{dw,pw,bn,relu}<h>. */
static int sep_half(struct vkd_graph *g, const struct rn *r, const char *tag, int j, int h, int x,
                    int st, int dw, int pw, const struct bn_p *bnp)
{
    char name[VKD_NAME_LEN];
    int c = vkd_graph_tensor_at(g, x)->c;
    snprintf(name, sizeof(name), "distill.rn%d.%s.sep%d.dw%d", r->k, tag, j, h);
    x = vkd_conv2d(g, name, x, dw, -1, st, 1, c);
    snprintf(name, sizeof(name), "distill.rn%d.%s.sep%d.pw%d", r->k, tag, j, h);
    x = vkd_conv2d(g, name, x, pw, -1, 1, 0, 1);
    snprintf(name, sizeof(name), "distill.rn%d.%s.sep%d.bn%d", r->k, tag, j, h);
    x = bn_apply(g, name, x, bnp);
    snprintf(name, sizeof(name), "distill.rn%d.%s.sep%d.relu%d", r->k, tag, j, h);
    return vkd_relu(g, name, x);
}

/* RN_k on pair input x (B, 2 C_k, H, W); tag "p" or "n" names the call's nodes. Gives the
 * relation score (B, 1) and the aux logits (B, K). */
static void rn_apply(struct vkd_graph *g, const struct rn *r, const char *tag, int x, int *score,
                     int *aux)
{
    char name[VKD_NAME_LEN];
    for (int j = 0; j < r->n_sep; j++) { /* the first half halves the map, the second keeps it */
        x = sep_half(g, r, tag, j, 1, x, 2, r->dw1[j], r->pw1[j], &r->bn1[j]);
        x = sep_half(g, r, tag, j, 2, x, 1, r->dw2[j], r->pw2[j], &r->bn2[j]);
    }
    snprintf(name, sizeof(name), "distill.rn%d.%s.gap", r->k, tag);
    int e = vkd_global_avgpool(g, name, x);
    snprintf(name, sizeof(name), "distill.rn%d.%s.fc1", r->k, tag);
    int h = vkd_linear(g, name, e, r->fc1w, r->fc1b);
    snprintf(name, sizeof(name), "distill.rn%d.%s.bn", r->k, tag); /* BatchNorm1d */
    h = bn_apply(g, name, h, &r->bn);
    snprintf(name, sizeof(name), "distill.rn%d.%s.relu", r->k, tag);
    h = vkd_relu(g, name, h);
    snprintf(name, sizeof(name), "distill.rn%d.%s.fc2", r->k, tag);
    h = vkd_linear(g, name, h, r->fc2w, r->fc2b);
    snprintf(name, sizeof(name), "distill.rn%d.%s.score", r->k, tag);
    *score = vkd_sigmoid(g, name, h);
    snprintf(name, sizeof(name), "distill.rn%d.%s.aux", r->k, tag);
    *aux = vkd_linear(g, name, e, r->auxw, r->auxb);
}

/* The anchor's and member m's (1 positive, 2 negative) stage outputs side by side. */
static int pair(struct vkd_graph *g, int k, int f, int anchors, int member)
{
    char name[VKD_NAME_LEN];
    int n = vkd_graph_tensor_at(g, f)->n;
    snprintf(name, sizeof(name), "corsd.stage%d.%s", k, member == 1 ? "pos" : "neg");
    int x[2] = {anchors, vkd_batch_slice_groups(g, name, f, n / 3, member, 1)};
    snprintf(name, sizeof(name), "corsd.stage%d.pair_%s", k, member == 1 ? "p" : "n");
    return vkd_concat(g, name, x, 2);
}

static int term(struct kd_build *b, const char *kind, int k, int t, double w)
{
    char name[32];
    snprintf(name, sizeof(name), "%s%d", kind, k);
    return kd_term(b, name, t, w);
}

struct stage_out {
    int rp, rn, ap, an; /* scores (B, 1) and aux logits (B, K) of the positive / negative pairs */
};

/* The number of SepConvs from size h down to hd: each one's stride-2 3x3 pad-1 conv makes
 * ceil(h / 2) (32 16 8 4 for ResNet-18; 10 5 3 for 10x10 images); -1 when it misses hd. */
static int halvings(int h, int hd)
{
    int n = 0;
    while (h > hd)
        h = (h + 1) / 2, n++;
    return h == hd ? n : -1;
}

static int build(struct kd_build *b)
{
    const struct method *m = &method_corsd;
    struct vkd_graph *g = b->g;
    double lc = method_param(m, b, "lc"), tc = method_param(m, b, "tc");
    double lcs = method_param(m, b, "lcs"), tcs = method_param(m, b, "tcs");
    double t = method_param(m, b, "T"), hid = method_param(m, b, "hidden");
    double hid_d = method_param(m, b, "hidden_deep");
    if (t <= 0 || hid < 1 || hid_d < 1 || hid != (int)hid || hid_d != (int)hid_d) {
        snprintf(b->err, sizeof(b->err),
                 "T must be > 0 and hidden, hidden_deep whole numbers >= 1 (T %g, hidden %g, "
                 "hidden_deep %g)",
                 t, hid, hid_d);
        return -1;
    }
    if (kd_triplet_inputs(b) < 0 || kd_ce(b, method_param(m, b, "main")) < 0)
        return -1;
    int f[CORSD_MAX_STAGES], ns = 0;
    for (int k = 1; k <= CORSD_MAX_STAGES; k++) {
        char tap[16];
        snprintf(tap, sizeof(tap), "stage%d", k);
        if ((f[k - 1] = kd_tap(b, KD_STUDENT, tap)) < 0)
            break;
        ns = k;
    }
    if (ns < 2) {
        snprintf(b->err, sizeof(b->err),
                 "CORSD needs the student's stage taps stage1 and stage2 at least (its deepest "
                 "stage teaches the others)");
        return -1;
    }
    int hd = vkd_graph_tensor_at(g, f[ns - 1])->h, nb = b->batch / 3;
    struct stage_out so[CORSD_MAX_STAGES];
    int targets = b->tri_soft;
    if (method_param(m, b, "soft_code") != 0)
        targets = vkd_row_softmax(g, "corsd.soft_targets", b->tri_soft, b->classes,
                                  (float)(1.0 / t));
    for (int k = 1; k <= ns; k++) {
        const struct vkd_tensor *ft = vkd_graph_tensor_at(g, f[k - 1]);
        int n_sep = halvings(ft->h, hd);
        if (n_sep < 0 || n_sep > CORSD_MAX_SEP || ft->w != ft->h) {
            snprintf(b->err, sizeof(b->err),
                     "stage%d's %dx%d map does not halve down to the deepest stage's %dx%d: "
                     "CORSD's relation networks need square maps that stride-2 convs reach",
                     k, ft->h, ft->w, hd, hd);
            return -1;
        }
        struct rn r;
        if (rn_params(b, &r, k, 2 * ft->c, n_sep, k == ns ? (int)hid_d : (int)hid) < 0)
            return -1;
        char name[VKD_NAME_LEN];
        snprintf(name, sizeof(name), "corsd.stage%d.anchors", k);
        int anchors = vkd_batch_slice_groups(g, name, f[k - 1], nb, 0, 1);
        struct stage_out *o = &so[k - 1];
        /* negatives first, as the code: the order in which the two calls move the running
         * statistics (which inference never reads: it uses the backbone alone) */
        rn_apply(g, &r, "n", pair(g, k, f[k - 1], anchors, 2), &o->rn, &o->an);
        rn_apply(g, &r, "p", pair(g, k, f[k - 1], anchors, 1), &o->rp, &o->ap);
        /* a_tri mean_b max(r_p - r_n + margin, 0): the ranking loss with y = +1 on (r_n, r_p) */
        snprintf(name, sizeof(name), "corsd.tri%d", k);
        int l = vkd_margin_ranking(g, name, o->rn, o->rp, -1,
                                   (float)method_param(m, b, "margin"), (float)(1.0 / nb));
        if (term(b, "tri", k, l, method_param(m, b, "a_tri")) < 0)
            return -1;
        snprintf(name, sizeof(name), "corsd.auxp%d", k);
        l = vkd_softmax_ce(g, name, o->ap, b->tri_labels, NULL, NULL);
        if (term(b, "auxp", k, l, tc - lc) < 0)
            return -1;
        snprintf(name, sizeof(name), "corsd.auxn%d", k);
        l = vkd_softmax_soft_ce(g, name, o->an, targets, (float)t);
        if (term(b, "auxn", k, l, tcs - lcs) < 0)
            return -1;
    }
    /* deepest -> shallow: the aux KLs and the relation scores, nothing detached */
    const struct stage_out *d = &so[ns - 1];
    for (int k = 1; k < ns; k++) {
        const struct stage_out *o = &so[k - 1];
        char name[VKD_NAME_LEN];
        snprintf(name, sizeof(name), "corsd.klp%d", k);
        int l = vkd_softmax_kl(g, name, o->ap, d->ap, (float)t);
        if (term(b, "klp", k, l, lc) < 0)
            return -1;
        snprintf(name, sizeof(name), "corsd.kln%d", k);
        l = vkd_softmax_kl(g, name, o->an, d->an, (float)t);
        if (term(b, "kln", k, l, lcs) < 0)
            return -1;
        /* both means in one squared difference: [r_n; r_p] of stage k against the deepest's */
        int xs[2] = {o->rn, o->rp}, xd[2] = {d->rn, d->rp};
        snprintf(name, sizeof(name), "corsd.rel%d.s", k);
        int cs = vkd_concat(g, name, xs, 2);
        snprintf(name, sizeof(name), "corsd.rel%d.d", k);
        int cd = vkd_concat(g, name, xd, 2);
        snprintf(name, sizeof(name), "corsd.rel%d", k);
        l = vkd_sqdiff(g, name, cs, cd, -1, (float)(1.0 / nb));
        if (term(b, "rel", k, l, method_param(m, b, "fc")) < 0)
            return -1;
    }
    return 0;
}

const struct method method_corsd = {
    "corsd",
    "class-oriented relational self-distillation (Yu et al. 2023; code,\n"
    "  KL and soft CE repaired: docs/METHODS.md): no teacher; triplet batches (--batch counts\n"
    "  images, a multiple of 3), relation networks per stage, the deepest teaches the rest",
    0, params, 12, student_taps, no_taps, build, NULL, 1,
};

/*
 * lkd.c - method "lkd": local correlation consistency (Li et al., ECCV 2020), methods.md
 * section 2. What the paper prints [P]: the three relations (eqs. 4-6) between the k^2 local
 * patch features of every image of the batch, plain sums with unit weights (eq. 7), a mask from
 * the teacher's stage feature multiplying both stage features (eqs. 8-9), and the total
 *   L = (1 - alpha) CE + alpha KD + beta sum_stages L~_LKD                          (eq. 11)
 * The relations together are every entry of the batch's patch-similarity matrix Q (R = N k^2
 * rows), the diagonal twice with zero difference, so one Gram per side and stage is the whole
 * term (lkd_local_term; tests/test_lkd.c checks the identity against literal loops).
 * Reconstructed [R], each an option: phi = cosine (rows L2-normalised), k 4, beta 10 per stage
 * as beta / R^2 (10 x the mean over the R^2 entries), alpha 0.9, T 4 with the T^2 factor
 * (kd_t2), all three stages, the mask generator CAAT = conv3x3-BN-ReLU, conv3x3-BN-ReLU (C/2),
 * conv1x1 + bias, sigmoid, thresholded Mh = M [M >= H], H 0.5, under a stop-gradient, with an
 * auxiliary GAP-FC classifier on M (.) F_t trained by cross-entropy ("caat<k>").
 * Schedule (methods.md's default, joint = 0): CAAT is pre-trained on the frozen teacher for
 * caat_epochs epochs, its auxiliary CE alone (the method's pre-training phase, stage
 * KD_PRETRAIN, driven by host/pretrain.c), then frozen: in the distillation graph its weights
 * are state and its BatchNorms use the running statistics the phase left, so its mask is a
 * fixed function of the teacher feature, and eq. (11) has no CAAT term. joint = 1 trains CAAT
 * with the student instead, its CE added to the total (its terms reach only CAAT's parameters:
 * the teacher feature is a constant and the mask enters L~ under sg).
 * Extras per distilled stage k: distill.caat<k>.conv1.weight, .bn1.*, .conv2.weight, .bn2.*,
 * .conv3.weight, .conv3.bias, .fc.weight, .fc.bias (nn.Conv2d / nn.Linear default inits).
 */
#include <stdio.h>

#include "lkd.h"
#include "method.h"
#include "vkd_ops.h"

extern const struct method method_lkd;

static const struct method_param params[] = {
    {"alpha", 0.9, "weight of the KD term; the cross-entropy gets 1 - alpha"},
    {"T", 4.0, "KD temperature"},
    {"kd_t2", 1.0, "1: KD carries the T^2 factor (RepDistiller); 0: the printed eq. (1)"},
    {"beta", 10.0, "weight of each stage's local term, applied as beta / R^2, R = N k^2"},
    {"k", 4.0, "patch grid: each stage map is cut into k x k patches"},
    {"stages", 7.0, "stages distilled, a bit mask: 1 stage1, 2 stage2, 4 stage3"},
    {"mask", 1.0, "1: CAAT's teacher mask multiplies both features; 0: no mask"},
    {"H", 0.5, "mask threshold: Mh = M [M >= H] (0: M itself)"},
    {"caat_w", 1.0, "weight of each CAAT auxiliary cross-entropy"},
    {"joint", 0.0, "0: CAAT pre-trained on the frozen teacher, then frozen; 1: trained with "
                   "the student"},
    {"caat_epochs", 5.0, "joint=0: epochs of CAAT pre-training (0: frozen at its init)"},
    {"caat_lr", 0.0, "joint=0: peak lr of the pre-training (cosine to 0; 0: the run's --lr)"},
};
static const char *const student_taps[] = {"logits", "stage1", "stage2", "stage3", NULL};
static const char *const teacher_taps[] = {"logits", "stage1", "stage2", "stage3", NULL};

#define LKD_STAGES 3

int lkd_local_term(struct vkd_graph *g, const char *name, int fs, int ft, int mask, int k,
                   float scale, char *err, size_t errlen)
{
    const struct vkd_tensor *s = vkd_graph_tensor_at(g, fs), *t = vkd_graph_tensor_at(g, ft);
    int n = s->n, h = s->h, w = s->w;
    if (t->n != n || t->h != h || t->w != w) {
        snprintf(err, errlen,
                 "%s: the student's %dx%d map (batch %d) and the teacher's %dx%d map (batch %d) "
                 "do not pair: LKD's teacher mask multiplies both, so they need the same size",
                 name, h, w, n, t->h, t->w, t->n);
        return -1;
    }
    if (k < 1 || h % k || w % k) {
        snprintf(err, errlen,
                 "%s: a %dx%d feature map cannot be cut into a %dx%d grid of equal patches; "
                 "choose a k that divides both (--opt k=...)",
                 name, h, w, k, k);
        return -1;
    }
    char buf[VKD_NAME_LEN];
    int q[2], side[2] = {fs, ft};
    for (int i = 0; i < 2; i++) {
        const char *sn = i ? "t" : "s";
        int x = side[i];
        if (mask >= 0) {
            snprintf(buf, sizeof(buf), "%s.masked_%s", name, sn);
            x = vkd_mask_mul(g, buf, x, mask);
        }
        int c = vkd_graph_tensor_at(g, x)->c, d = c * (h / k) * (w / k);
        snprintf(buf, sizeof(buf), "%s.rows_%s", name, sn);
        x = vkd_patch_to_rows(g, buf, x, h / k, w / k);
        snprintf(buf, sizeof(buf), "%s.nrm_%s", name, sn);
        x = vkd_row_normalize(g, buf, x, d);
        /* the rows are (1, R, 1, d): CHANNEL mode's single "sample" is the whole batch */
        snprintf(buf, sizeof(buf), "%s.q_%s", name, sn);
        q[i] = vkd_gram(g, buf, x, VKD_GRAM_CHANNEL, 1, 1, 0);
    }
    snprintf(buf, sizeof(buf), "%s.sq", name);
    return vkd_sqdiff(g, buf, q[0], q[1], -1, scale);
}

/* nn.Conv2d(cin, cout, ks, padding=ks/2, bias) on x, weights as extras "<module>.weight/bias". */
static int conv(struct kd_build *b, const char *module, int x, int cout, int ks, int bias)
{
    char key[96], name[VKD_NAME_LEN];
    int cin = vkd_graph_tensor_at(b->g, x)->c, fan_in = cin * ks * ks;
    snprintf(key, sizeof(key), "%s.weight", module);
    /* kaiming_uniform(a = sqrt 5) = U(-1/sqrt(fan_in), +): nn.Conv2d's weight and bias */
    int w = kd_extra(b, key, 4, cout, cin, ks, ks, INIT_TORCH_LINEAR, fan_in), bb = -1;
    if (bias) {
        snprintf(key, sizeof(key), "%s.bias", module);
        bb = kd_extra(b, key, 1, cout, 1, 1, 1, INIT_TORCH_LINEAR, fan_in);
    }
    if (w < 0 || (bias && bb < 0))
        return -1;
    snprintf(name, sizeof(name), "distill.%s", module);
    return vkd_conv2d(b->g, name, x, w, bb, 1, ks / 2, 1);
}

/* CAAT on the teacher's stage-k feature ft: the mask M (N, 1, H, W) in (0, 1), and its
 * auxiliary classifier's cross-entropy as term "caat<k>" (with the classifier's top-1 count).
 * While b->freeze (a pre-trained CAAT in the distillation graph) the auxiliary classifier's
 * weights are made, so checkpoints hold the whole pre-trained module, but no node reads them
 * and no term is added. Returns M or -1. */
static int caat(struct kd_build *b, int k, int ft, double weight)
{
    char mod[32], sub[64], name[VKD_NAME_LEN];
    int ct = vkd_graph_tensor_at(b->g, ft)->c, half = ct / 2 > 0 ? ct / 2 : 1;
    snprintf(mod, sizeof(mod), "caat%d", k);
    int x = ft;
    for (int i = 1; i <= 2; i++) {
        snprintf(sub, sizeof(sub), "%s.conv%d", mod, i);
        if ((x = conv(b, sub, x, i == 1 ? ct : half, 3, 0)) < 0)
            return -1;
        snprintf(sub, sizeof(sub), "%s.bn%d", mod, i);
        if ((x = kd_bn(b, sub, x)) < 0)
            return -1;
        snprintf(name, sizeof(name), "distill.%s.relu%d", mod, i);
        x = vkd_relu(b->g, name, x);
    }
    snprintf(sub, sizeof(sub), "%s.conv3", mod);
    if ((x = conv(b, sub, x, 1, 1, 1)) < 0)
        return -1;
    snprintf(name, sizeof(name), "distill.%s.sigmoid", mod);
    int m = vkd_sigmoid(b->g, name, x);

    /* the auxiliary classifier sees the unthresholded mask; its CE trains CAAT only */
    snprintf(sub, sizeof(sub), "%s.fc.weight", mod);
    int fw = kd_extra(b, sub, 2, b->classes, ct, 1, 1, INIT_TORCH_LINEAR, ct);
    snprintf(sub, sizeof(sub), "%s.fc.bias", mod);
    int fb = kd_extra(b, sub, 1, b->classes, 1, 1, 1, INIT_TORCH_LINEAR, ct);
    if (fw < 0 || fb < 0)
        return -1;
    if (b->freeze)
        return m;
    snprintf(name, sizeof(name), "distill.%s.attended", mod);
    int a = vkd_mask_mul(b->g, name, ft, m);
    snprintf(name, sizeof(name), "distill.%s.gap", mod);
    a = vkd_global_avgpool(b->g, name, a);
    snprintf(name, sizeof(name), "distill.%s.fc", mod);
    int z = vkd_linear(b->g, name, a, fw, fb), top1;
    snprintf(name, sizeof(name), "distill.%s.ce", mod);
    int ce = vkd_softmax_ce(b->g, name, z, b->labels, &top1, NULL);
    if (kd_term(b, mod, ce, weight) < 0)
        return -1;
    b->terms[b->n_terms - 1].top1 = top1;
    return m;
}

static int stage_term(struct kd_build *b, int k, int grid, double beta, int use_mask, float thr,
                      double caat_w, int frozen)
{
    char tap[16], name[VKD_NAME_LEN];
    snprintf(tap, sizeof(tap), "stage%d", k);
    int fs = kd_tap(b, KD_STUDENT, tap), ft = kd_tap(b, KD_TEACHER, tap), mh = -1;
    if (fs < 0 || ft < 0)
        return -1;
    if (use_mask) {
        b->freeze = frozen; /* a pre-trained CAAT: state, its BatchNorms from running stats */
        int m = caat(b, k, ft, caat_w);
        b->freeze = 0;
        if (m < 0)
            return -1;
        /* the distillation term sees the mask as a constant: sg first, then the threshold */
        snprintf(name, sizeof(name), "lkd.mask_sg%d", k);
        mh = vkd_stop_grad(b->g, name, m);
        if (thr > 0) {
            snprintf(name, sizeof(name), "lkd.mask%d", k);
            mh = vkd_threshold(b->g, name, mh, thr);
        }
    }
    double r = (double)vkd_graph_tensor_at(b->g, fs)->n * grid * grid;
    snprintf(name, sizeof(name), "lkd.local%d", k);
    int l = lkd_local_term(b->g, name, fs, ft, mh, grid, (float)(1.0 / (r * r)), b->err,
                           sizeof(b->err));
    if (l < 0)
        return -1;
    snprintf(tap, sizeof(tap), "lkd%d", k);
    return kd_term(b, tap, l, beta);
}

static int build(struct kd_build *b)
{
    const struct method *m = &method_lkd;
    double alpha = method_param(m, b, "alpha"), t = method_param(m, b, "T");
    double k = method_param(m, b, "k"), stages = method_param(m, b, "stages");
    double h = method_param(m, b, "H");
    int use_mask = method_param(m, b, "mask") != 0;
    if (alpha < 0 || alpha > 1) {
        snprintf(b->err, sizeof(b->err), "alpha must be in [0, 1], not %g", alpha);
        return -1;
    }
    if (t <= 0) {
        snprintf(b->err, sizeof(b->err), "T must be > 0, not %g", t);
        return -1;
    }
    if (k < 1 || k != (int)k || k > 64) {
        snprintf(b->err, sizeof(b->err), "k must be a whole number in [1, 64], not %g", k);
        return -1;
    }
    if (stages < 1 || stages > 7 || stages != (int)stages) {
        snprintf(b->err, sizeof(b->err),
                 "stages is a bit mask of the stages to distil (1, 2, 4 for stage 1, 2, 3; 7 = "
                 "all), not %g",
                 stages);
        return -1;
    }
    if (h < 0 || h >= 1) {
        snprintf(b->err, sizeof(b->err), "H (the mask threshold) must be in [0, 1), not %g", h);
        return -1;
    }
    double joint = method_param(m, b, "joint"), epochs = method_param(m, b, "caat_epochs");
    double caat_lr = method_param(m, b, "caat_lr"), caat_w = method_param(m, b, "caat_w");
    if (joint != 0 && joint != 1) {
        snprintf(b->err, sizeof(b->err),
                 "joint is 0 (pre-train CAAT, then freeze it) or 1 (train it with the student), "
                 "not %g",
                 joint);
        return -1;
    }
    if (epochs < 0 || epochs != (int)epochs || epochs > 10000) {
        snprintf(b->err, sizeof(b->err),
                 "caat_epochs (CAAT's pre-training epochs) must be a whole number >= 0, not %g",
                 epochs);
        return -1;
    }
    if (caat_lr < 0) {
        snprintf(b->err, sizeof(b->err), "caat_lr must be >= 0 (0: the run's --lr), not %g",
                 caat_lr);
        return -1;
    }
    if (b->stage == KD_PRETRAIN) {
        /* the phase: the frozen teacher's stage features -> CAAT -> its auxiliary CE */
        for (int s = 1; s <= LKD_STAGES; s++) {
            if (!(((int)stages >> (s - 1)) & 1))
                continue;
            char tap[16];
            snprintf(tap, sizeof(tap), "stage%d", s);
            int ft = kd_tap(b, KD_TEACHER, tap);
            if (ft < 0 || caat(b, s, ft, caat_w) < 0)
                return -1;
        }
        return 0;
    }
    if (kd_ce(b, 1 - alpha) < 0)
        return -1;
    int zs = kd_tap(b, KD_STUDENT, "logits"), zt = kd_tap(b, KD_TEACHER, "logits");
    if (zs < 0 || zt < 0)
        return -1;
    int kl = vkd_softmax_kd(b->g, "lkd.kd", zs, zt, (float)t);
    /* vkd_softmax_kd carries T^2; kd_t2 = 0 divides it back out (the printed eq. 1) */
    double kd_w = method_param(m, b, "kd_t2") != 0 ? alpha : alpha / (t * t);
    if (kd_term(b, "kd", kl, kd_w) < 0)
        return -1;
    for (int s = 1; s <= LKD_STAGES; s++)
        if (((int)stages >> (s - 1)) & 1)
            if (stage_term(b, s, (int)k, method_param(m, b, "beta"), use_mask, (float)h, caat_w,
                           joint == 0) < 0)
                return -1;
    return 0;
}

/* The pre-training phase: with the mask on and CAAT not trained jointly. */
static int pretrain(const struct kd_build *b, struct method_pretrain *p)
{
    const struct method *m = &method_lkd;
    if (method_param(m, b, "mask") == 0 || method_param(m, b, "joint") != 0)
        return 0;
    p->epochs = (int)method_param(m, b, "caat_epochs");
    p->lr = method_param(m, b, "caat_lr");
    return 1;
}

const struct method method_lkd = {
    "lkd",
    "local correlation consistency (Li et al. 2020; phi, CAAT and values reconstructed:\n"
    "  docs/METHODS.md): batch patch-similarity Grams of teacher-masked stage features",
    1, params, 12, student_taps, teacher_taps, build, NULL, 0, pretrain,
};

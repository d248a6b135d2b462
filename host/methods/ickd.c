/*
 * ickd.c - method "ickd": inter-channel correlation KD (Liu et al., ICCV 2021), as the official
 * CIFAR code computes it (methods.md section 1):
 *   E_s = BN(conv1x1(F_s))            student's last-stage feature embedded to C_t channels
 *   G[n] = nrm_rows(E[n] E[n]^T)       per-sample channel Gram, each row L2-normalised
 *   L_cc = sum_{n,i,j} (G_s - G_t)^2 / (C_t N)
 *   L = gamma CE + alpha T^2 KL(T) + beta L_cc      (gamma 1, beta 2.5; alpha 0 or 1)
 * The teacher's feature is not embedded (the official code builds a teacher embedding that
 * never receives a gradient). Options:
 *   paper=1   the paper's form: raw Grams, L_cc = sum (G_s - G_t)^2 / (C_t^2 N) (the paper
 *             leaves the batch reduction unstated: divided by N, as methods.md item 3 chooses)
 *   grid_h, grid_w   the grid-level variant (ICKD-S): one Gram per cell of an n x m grid, the
 *             loss averaged over the cells (with the paper's form: 1/(n m C^2) as its eq.)
 *   stage     which stage feature (0: the last stage both models have; RepDistiller feat[-2])
 * Extras: distill.embed.conv.weight (C_t, C_s, 1, 1; nn.Conv2d's default init) and the
 * BatchNorm2d distill.embed.bn.* (training mode).
 */
#include <stdio.h>

#include "method.h"
#include "vkd_ops.h"

extern const struct method method_ickd;

static const struct method_param params[] = {
    {"gamma", 1.0, "weight of the cross-entropy"},
    {"alpha", 0.0, "weight of the KL term (0: ICKD-C w/o KL, 1: ICKD-C)"},
    {"beta", 2.5, "weight of the correlation term"},
    {"T", 4.0, "KD temperature"},
    {"paper", 0.0, "1: the paper's raw-Gram 1/C^2 form instead of the code's normalised rows"},
    {"grid_h", 1.0, "grid rows of the grid-level variant (1: whole map)"},
    {"grid_w", 1.0, "grid columns of the grid-level variant"},
    {"stage", 0.0, "stage feature to distil (0: the last stage)"},
};
static const char *const student_taps[] = {"logits", "stage3", NULL};
static const char *const teacher_taps[] = {"logits", "stage3", NULL};

static int build(struct kd_build *b)
{
    const struct method *m = &method_ickd;
    double alpha = method_param(m, b, "alpha"), gh = method_param(m, b, "grid_h"),
           gw = method_param(m, b, "grid_w"), stage = method_param(m, b, "stage");
    int paper = method_param(m, b, "paper") != 0;
    if (gh < 1 || gw < 1 || gh != (int)gh || gw != (int)gw || stage < 0 || stage != (int)stage) {
        snprintf(b->err, sizeof(b->err),
                 "grid_h, grid_w must be whole numbers >= 1 and stage >= 0 (got %g, %g, %g)", gh,
                 gw, stage);
        return -1;
    }
    int fs = kd_stage_tap(b, KD_STUDENT, (int)stage), ft = kd_stage_tap(b, KD_TEACHER, (int)stage);
    if (fs < 0 || ft < 0 || kd_ce(b, method_param(m, b, "gamma")) < 0)
        return -1;
    const struct vkd_tensor *s = vkd_graph_tensor_at(b->g, fs), *t = vkd_graph_tensor_at(b->g, ft);
    if (s->n != t->n || s->h != t->h || s->w != t->w) {
        snprintf(b->err, sizeof(b->err),
                 "the student's feature (%dx%dx%dx%d) and the teacher's (%dx%dx%dx%d) differ in "
                 "batch or spatial size",
                 s->n, s->c, s->h, s->w, t->n, t->c, t->h, t->w);
        return -1;
    }
    if (t->h % (int)gh || t->w % (int)gw) {
        snprintf(b->err, sizeof(b->err), "a %gx%g grid does not divide the %dx%d feature map", gh,
                 gw, t->h, t->w);
        return -1;
    }
    int ct = t->c, n = t->n, cells = (int)gh * (int)gw;
    int e = kd_conv1x1(b, "embed.conv", fs, ct);
    if (e < 0 || (e = kd_bn(b, "embed.bn", e)) < 0)
        return -1;
    int gs = vkd_gram(b->g, "ickd.gram_s", e, VKD_GRAM_CHANNEL, (uint32_t)gh, (uint32_t)gw, !paper);
    int gt = vkd_gram(b->g, "ickd.gram_t", ft, VKD_GRAM_CHANNEL, (uint32_t)gh, (uint32_t)gw, !paper);
    /* code: / (C_t N) per Gram, averaged over cells; paper: / (cells C_t^2 N) */
    double scale = paper ? 1.0 / ((double)cells * ct * ct * n) : 1.0 / ((double)cells * ct * n);
    int cc = vkd_sqdiff(b->g, "ickd.cc", gs, gt, -1, (float)scale);
    if (kd_term(b, "cc", cc, method_param(m, b, "beta")) < 0)
        return -1;
    if (alpha > 0) {
        int zs = kd_tap(b, KD_STUDENT, "logits"), zt = kd_tap(b, KD_TEACHER, "logits");
        if (zs < 0 || zt < 0)
            return -1;
        int kl = vkd_softmax_kd(b->g, "kd", zs, zt, (float)method_param(m, b, "T"));
        return kd_term(b, "kl", kl, alpha);
    }
    return 0;
}

const struct method method_ickd = {
    "ickd",
    "inter-channel correlation (Liu et al. 2021, official CIFAR code): row-normalised\n"
    "  channel Grams of the embedded student's and the teacher's last-stage features",
    1, params, 8, student_taps, teacher_taps, build,
};

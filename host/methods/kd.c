/*
 * kd.c - method "kd": Hinton et al., "Distilling the Knowledge in a Neural Network" (2015), as
 * RepDistiller's DistillKL (methods.md section 0):
 *   L = gamma * CE(z_s, y) + alpha * T^2 / N * sum KL(softmax(z_t / T) || softmax(z_s / T))
 * Defaults are RepDistiller's run_cifar_distill.sh for KD: T = 4, gamma = 0.1, alpha = 0.9.
 */
#include "method.h"
#include "vkd_ops.h"

extern const struct method method_kd;

static const struct method_param params[] = {
    {"gamma", 0.1, "weight of the cross-entropy"},
    {"alpha", 0.9, "weight of the KL term"},
    {"T", 4.0, "temperature"},
};
static const char *const student_taps[] = {"logits", NULL};
static const char *const teacher_taps[] = {"logits", NULL};

static int build(struct kd_build *b)
{
    int zs = kd_tap(b, KD_STUDENT, "logits"), zt = kd_tap(b, KD_TEACHER, "logits");
    if (zs < 0 || zt < 0 || kd_ce(b, method_param(&method_kd, b, "gamma")) < 0)
        return -1;
    int kl = vkd_softmax_kd(b->g, "kd", zs, zt, (float)method_param(&method_kd, b, "T"));
    return kd_term(b, "kl", kl, method_param(&method_kd, b, "alpha"));
}

const struct method method_kd = {
    "kd", "Hinton KD: softened-softmax KL with temperature T (RepDistiller DistillKL)", 1,
    params, 3, student_taps, teacher_taps, build,
};

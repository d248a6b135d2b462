/*
 * ce.c - method "ce": no distillation, cross-entropy only: what `vkdistill train` runs, and the
 * vanilla baseline of every distillation table.
 *   L = gamma * CE(student logits, labels)
 */
#include "method.h"
#include "vkd_ops.h"

extern const struct method method_ce;

static const struct method_param params[] = {
    {"gamma", 1.0, "weight of the cross-entropy"},
};
static const char *const student_taps[] = {"logits", NULL};
static const char *const teacher_taps[] = {NULL};

static int build(struct kd_build *b)
{
    return kd_ce(b, method_param(&method_ce, b, "gamma")) < 0 ? -1 : 0;
}

const struct method method_ce = {
    "ce", "cross-entropy only (no distillation)", 0, params, 1, student_taps, teacher_taps, build,
};

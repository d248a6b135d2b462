/* conv2d.c - op-check cases of the conv2d family (engine/ops/conv2d.c). */
#include "vkd_cases.h"

const struct vkd_case_family vkd_cases_conv2d = {"conv2d", NULL, 0};

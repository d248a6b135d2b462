/* linear.c - op-check cases of the linear family (engine/ops/linear.c). */
#include "vkd_cases.h"

const struct vkd_case_family vkd_cases_linear = {"linear", NULL, 0};

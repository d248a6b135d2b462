/* batchnorm.c - op-check cases of the batchnorm family (engine/ops/batchnorm.c). */
#include "vkd_cases.h"

const struct vkd_case_family vkd_cases_batchnorm = {"batchnorm", NULL, 0};

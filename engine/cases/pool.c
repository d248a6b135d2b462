/* pool.c - op-check cases of the pool family (engine/ops/pool.c). */
#include "vkd_cases.h"

const struct vkd_case_family vkd_cases_pool = {"pool", NULL, 0};

/* loss.c - op-check cases of the loss family (engine/ops/loss.c). */
#include "vkd_cases.h"

const struct vkd_case_family vkd_cases_loss = {"loss", NULL, 0};

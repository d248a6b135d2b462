/*
 * cases.c - the registry of op-check case lists, one per op family (engine/cases/<family>.c).
 */
#include <string.h>

#include "vkd_cases.h"

#define VKD_FAMILY(name) extern const struct vkd_case_family vkd_cases_##name;
#include "families.def"
#undef VKD_FAMILY

static const struct vkd_case_family *const families[] = {
#define VKD_FAMILY(name) &vkd_cases_##name,
#include "families.def"
#undef VKD_FAMILY
};

const struct vkd_case_family *vkd_case_families(int *count)
{
    static struct vkd_case_family all[sizeof(families) / sizeof(families[0])];
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
        all[i] = *families[i];
    *count = (int)(sizeof(families) / sizeof(families[0]));
    return all;
}

const struct vkd_case_family *vkd_case_family(const char *name)
{
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
        if (strcmp(families[i]->name, name) == 0)
            return families[i];
    return NULL;
}

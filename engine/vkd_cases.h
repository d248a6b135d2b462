/*
 * vkd_cases.h - the op-check cases: for every op family, small graphs over fixed shapes that the
 * tests run in full (tests/test_<family>.c) and `vkdistill validate` runs in part (the cases
 * marked validate). One list, so what a user validates on their GPU is what CI tests.
 *
 * Shapes include batch 1, primes and sizes that are no multiple of any tile or workgroup size.
 */
#ifndef VKD_CASES_H
#define VKD_CASES_H

#include "vkd_check.h"

struct vkd_case {
    const char *label; /* the shape, e.g. "n3 c5 h7 w7 k11 r3 s1 p1" */
    int validate;      /* also run by `vkdistill validate` */
    /* Builds and finalizes the check; NULL on failure (out of memory). */
    struct vkd_check *(*build)(const int *a);
    int a[16];         /* the builder's arguments */
};

struct vkd_case_family {
    const char *name; /* the op family: tests/test_<name>.c, engine/ops/<name>.c */
    const struct vkd_case *cases;
    int n_cases;
};

/* Every family, in the order the README and validate list them. */
const struct vkd_case_family *vkd_case_families(int *count);
const struct vkd_case_family *vkd_case_family(const char *name); /* NULL when unknown */

#endif

/*
 * testutil.c - the shared test driver (see testutil.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vkd_ops.h"

static void log_stderr(void *user, const char *msg)
{
    (void)user;
    fprintf(stderr, "%s\n", msg);
}

struct vkd_context *vkd_test_context(void)
{
    return vkd_test_context_variant(VKD_VARIANT_AUTO);
}

struct vkd_context *vkd_test_context_variant(enum vkd_kernel_variant variant)
{
    const char *v = getenv("VKD_VALIDATION");
    struct vkd_context_desc desc = {
        .device = getenv("VKD_TEST_DEVICE"),
        .validation = v && *v && strcmp(v, "0") != 0,
        .log = log_stderr,
        .variant = variant,
    };
    char err[512];
    struct vkd_context *ctx;
    enum vkd_status s = vkd_context_create(&desc, &ctx, err, sizeof(err));
    if (s == VKD_ERR_NO_VULKAN || s == VKD_ERR_NO_DEVICE) {
        printf("skip: %s\n", err);
        exit(VKD_TEST_SKIP);
    }
    if (s != VKD_OK) {
        fprintf(stderr, "error: %s\n", err);
        exit(1);
    }
    const struct vkd_device_info *d = vkd_context_device(ctx);
    printf("device %u: %s (%s), validation %s, %s kernels\n", d->index, d->name, d->driver,
           desc.validation ? "on" : "off",
           vkd_context_variant(ctx) == VKD_VARIANT_CPU ? "CPU-device" : "GPU");
    return ctx;
}

int vkd_test_context_done(struct vkd_context *ctx)
{
    uint32_t n = vkd_context_validation_messages(ctx);
    vkd_context_destroy(ctx);
    if (n) {
        printf("FAIL: the validation layer printed %u message(s)\n", n);
        return 1;
    }
    return 0;
}

void vkd_test_print_row(const struct vkd_check_row *r)
{
    printf("%-5s %-10s %-28s %-34s n=%-7zu max_abs %.3e max_rel %.3e", r->ok ? "ok" : "FAIL",
           r->op, r->pass, r->shape, r->count, r->max_abs, r->max_rel);
    if (!r->ok)
        printf("  worst [%zu]: got %.9g want %.9g |err| %.3e > tol %.3e", r->worst, r->got,
               r->want, r->got - r->want < 0 ? r->want - r->got : r->got - r->want, r->tol);
    printf("\n");
}

int vkd_test_cpu_kernels_ran(struct vkd_context *ctx, struct vkd_graph *g, const char *family,
                             const char *const *want, int n_want)
{
    const struct vkd_device_info *d = vkd_context_device(ctx);
    if (!d->subgroup_shuffle || d->subgroup_size % VKD_CPU_CL != 0) {
        printf("skip  %s CPU-device kernels: no subgroupShuffle over %d lanes\n", family,
               VKD_CPU_CL);
        return 0;
    }
    return vkd_test_kernels_ran(ctx, g, family, want, n_want);
}

int vkd_test_kernels_ran(struct vkd_context *ctx, struct vkd_graph *g, const char *family,
                         const char *const *want, int n_want)
{
    if (!vkd_context_device(ctx)->timestamps) {
        printf("skip  %s kernels: the device has no timestamps to name dispatches by\n", family);
        return 0;
    }
    struct vkd_vk_desc desc = {VKD_PROG_FORWARD | VKD_PROG_BACKWARD, 1};
    struct vkd_vk *vk = NULL;
    const char **names = NULL;
    const double *ms;
    int n = 0, fails = 0;
    enum vkd_status s = vkd_vk_create(ctx, g, &desc, &vk);
    if (s == VKD_OK)
        s = vkd_vk_run(vk);
    if (s == VKD_OK)
        n = vkd_vk_pass_times(vk, &names, &ms);
    else
        printf("FAIL  %s kernels: %s\n", family, vkd_context_error(ctx));
    for (int k = 0; k < n_want; k++) {
        int found = 0;
        for (int i = 0; i < n; i++)
            found |= strcmp(names[i], want[k]) == 0;
        printf("%s %s dispatches %s\n", found ? "ok   " : "FAIL ", family, want[k]);
        fails += !found;
    }
    size_t len = strlen(family);
    for (int i = 0; i < n; i++) {
        int wanted = 0;
        for (int k = 0; k < n_want; k++)
            wanted |= strcmp(names[i], want[k]) == 0;
        if (!wanted && strncmp(names[i], family, len) == 0) {
            printf("FAIL  %s dispatches %s beside the wanted kernels\n", family, names[i]);
            fails++;
        }
    }
    vkd_vk_destroy(vk);
    return fails + (s != VKD_OK);
}

int vkd_test_family_main(int argc, char **argv, const char *family)
{
    if (argc != 2 || (strcmp(argv[1], "cpu") != 0 && strcmp(argv[1], "gpu") != 0)) {
        fprintf(stderr, "usage: %s cpu|gpu\n", argv[0]);
        return 2;
    }
    int gpu = strcmp(argv[1], "gpu") == 0;
    const struct vkd_case_family *f = vkd_case_family(family);
    if (!f || f->n_cases == 0) {
        printf("FAIL: op family '%s' has no cases\n", family);
        return 1;
    }
    int passed = 0, failed = 0;
    /* gpu: both kernel variants in turn; cpu: one pass without a device */
    for (int variant = 0; variant < (gpu ? 2 : 1); variant++) {
        struct vkd_context *ctx =
            gpu ? vkd_test_context_variant(variant ? VKD_VARIANT_CPU : VKD_VARIANT_GPU) : NULL;
        for (int i = 0; i < f->n_cases; i++) {
            struct vkd_check *c = f->cases[i].build(f->cases[i].a);
            if (!c) {
                printf("FAIL: %s case %s could not be built\n", family, f->cases[i].label);
                failed++;
                continue;
            }
            struct vkd_check_row rows[32];
            int n = 0;
            if (gpu) {
                enum vkd_status s = vkd_check_gpu(ctx, c, 1234 + (uint64_t)i, rows, 32, &n);
                if (s != VKD_OK) {
                    printf("FAIL: %s %s: %s\n", family, f->cases[i].label, vkd_context_error(ctx));
                    failed++;
                }
            } else {
                vkd_check_fd(c, 1234 + (uint64_t)i, 48, rows, 32, &n);
            }
            if (n == 0) {
                printf("FAIL: %s %s compared nothing\n", family, f->cases[i].label);
                failed++;
            }
            for (int j = 0; j < n; j++) {
                vkd_test_print_row(&rows[j]);
                rows[j].ok ? passed++ : failed++;
            }
            vkd_check_destroy(c);
        }
        if (ctx && vkd_test_context_done(ctx))
            failed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

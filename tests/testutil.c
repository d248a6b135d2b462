/*
 * testutil.c - the shared test driver (see testutil.h).
 */
#include <math.h>
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
    printf("%-5s %-10s %-28s %-34s n=%-7zu max_abs %.3e max_rel %.3e", r->ok ? "ok" : "FAIL", r->op,
           r->pass, r->shape, r->count, r->max_abs, r->max_rel);
    if (!r->ok)
        printf("  worst [%zu]: got %.9g want %.9g |err| %.3e > tol %.3e", r->worst, r->got, r->want,
               r->got - r->want < 0 ? r->want - r->got : r->got - r->want, r->tol);
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
    /* the whole program the graph has: an update list too when it was finalized with SGD */
    struct vkd_vk_desc desc = {VKD_PROG_FORWARD | VKD_PROG_BACKWARD | VKD_PROG_UPDATE, 1};
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

int vkd_test_pairsum_passes(struct vkd_context *ctx, const char *family,
                            int (*loss)(struct vkd_graph *g, int a, int b))
{
    struct vkd_graph *g = vkd_graph_create();
    int a = vkd_graph_input(g, "a", VKD_F32, 3, 4096, 1, 1);
    int b = vkd_graph_input(g, "b", VKD_F32, 3, 4096, 1, 1);
    vkd_graph_set_requires_grad(g, a);
    vkd_graph_loss(g, loss(g, a, b), -1);
    vkd_graph_finalize(g, 0);
    char fwd[32], bwd[32];
    snprintf(fwd, sizeof(fwd), "%s_fwd", family);
    snprintf(bwd, sizeof(bwd), "%s_bwd", family);
    const char *const ours[] = {fwd, bwd}, *const sum[] = {"pairsum_sum"};
    int fails = vkd_test_kernels_ran(ctx, g, family, ours, 2) +
                vkd_test_kernels_ran(ctx, g, "pairsum", sum, 1);
    vkd_graph_destroy(g);
    return fails;
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

/* ---- hand checks ----------------------------------------------------------------------------- */

/* The failures of this process's hand checks (a test executable is one thread). */
static int hand_failures;

static int report(const char *what, int ok, double got, double want)
{
    printf("%-4s hand %-58s got %.9g want %.9g\n", ok ? "ok" : "FAIL", what, got, want);
    hand_failures += !ok;
    return ok;
}

int vkd_test_expect(const char *what, double got, double want, double tol)
{
    return report(what, fabs(got - want) <= tol * (1 + fabs(want)), got, want);
}

int vkd_test_expect_near(const char *what, double got, double want, double rel, double abs)
{
    int ok = isnan(want) ? isnan(got) : fabs(got - want) <= rel * fabs(want) + abs;
    return report(what, ok, got, want);
}

int vkd_test_expect_all(const char *what, const double *got, const double *want, int n, double rel,
                        double abs)
{
    for (int i = 0; i < n; i++)
        if (!(fabs(got[i] - want[i]) <= rel * fabs(want[i]) + abs)) {
            printf("FAIL hand %s: [%d] got %.9g want %.9g\n", what, i, got[i], want[i]);
            hand_failures++;
            return 0;
        }
    printf("ok   hand %s\n", what);
    return 1;
}

int vkd_test_check(const char *what, int ok)
{
    printf("%-4s %s\n", ok ? "ok" : "FAIL", what);
    hand_failures += !ok;
    return ok;
}

void vkd_test_failed(int n)
{
    hand_failures += n;
}

/* Prints and counts a failed executor call; returns 1 for `return exec_fail(...)`. */
static int exec_fail(const struct vkd_test_exec *x, const char *what)
{
    printf("FAIL: %s: %s\n", what, x->ctx ? vkd_context_error(x->ctx) : "out of memory");
    hand_failures++;
    return 1;
}

/* The bytes of tensor t as host doubles. */
static size_t bytes(const struct vkd_test_exec *x, int t)
{
    return vkd_tensor_numel(vkd_graph_tensor_at(x->g, t)) * sizeof(double);
}

int vkd_test_exec_create(struct vkd_test_exec *x, struct vkd_context *ctx,
                         const struct vkd_graph *g, unsigned program)
{
    *x = (struct vkd_test_exec){ctx, g, program, NULL, NULL};
    if (!ctx) {
        x->ref = vkd_ref_create(g);
        return x->ref ? 0 : exec_fail(x, "reference");
    }
    struct vkd_vk_desc d = {program, 0};
    return vkd_vk_create(ctx, g, &d, &x->vk) == VKD_OK ? 0 : exec_fail(x, "device");
}

int vkd_test_exec_write(struct vkd_test_exec *x, int t, const double *src)
{
    if (t < 0)
        return 0;
    if (x->ref) {
        memcpy(vkd_ref_data(x->ref, t), src, bytes(x, t));
        return 0;
    }
    return vkd_vk_write(x->vk, t, src) == VKD_OK ? 0 : exec_fail(x, "device");
}

int vkd_test_exec_run(struct vkd_test_exec *x)
{
    if (x->ref) {
        if (x->program & VKD_PROG_FORWARD)
            vkd_ref_forward(x->ref);
        if (x->program & VKD_PROG_BACKWARD)
            vkd_ref_backward(x->ref);
        if (x->program & VKD_PROG_UPDATE)
            vkd_ref_update(x->ref);
        return 0;
    }
    return vkd_vk_run(x->vk) == VKD_OK ? 0 : exec_fail(x, "device");
}

int vkd_test_exec_read(struct vkd_test_exec *x, int t, double *dst)
{
    if (t < 0)
        return 0;
    if (x->ref) {
        memcpy(dst, vkd_ref_data(x->ref, t), bytes(x, t));
        return 0;
    }
    return vkd_vk_read(x->vk, t, dst) == VKD_OK ? 0 : exec_fail(x, "device");
}

void vkd_test_exec_destroy(struct vkd_test_exec *x)
{
    vkd_ref_destroy(x->ref);
    vkd_vk_destroy(x->vk);
    x->ref = NULL;
    x->vk = NULL;
}

int vkd_test_run_graph(struct vkd_context *ctx, const struct vkd_graph *g,
                       const struct vkd_test_in *in, int n_in, const struct vkd_test_out *out,
                       int n_out)
{
    struct vkd_test_exec x;
    int rc = vkd_test_exec_create(&x, ctx, g, VKD_PROG_FORWARD | VKD_PROG_BACKWARD);
    for (int i = 0; !rc && i < n_in; i++)
        rc = vkd_test_exec_write(&x, in[i].t, in[i].src);
    rc = rc || vkd_test_exec_run(&x);
    for (int i = 0; !rc && i < n_out; i++)
        rc = vkd_test_exec_read(&x, out[i].t, out[i].dst);
    vkd_test_exec_destroy(&x);
    return rc;
}

int vkd_test_run_seeded(struct vkd_context *ctx, struct vkd_graph *g, int xi, int yi,
                        const double *x, const double *dy, double *y, double *dx)
{
    const struct vkd_tensor *ty = vkd_graph_tensor_at(g, yi);
    int si = vkd_graph_input(g, "dy", VKD_F32, ty->n, ty->c, ty->h, ty->w);
    vkd_graph_seed(g, yi, si);
    if (vkd_graph_finalize(g, 0) != VKD_OK) {
        printf("FAIL: graph: %s\n", vkd_graph_error(g));
        hand_failures++;
        return 1;
    }
    const struct vkd_test_in in[] = {{xi, x}, {si, dy}};
    const struct vkd_test_out out[] = {{yi, y}, {vkd_graph_tensor_at(g, xi)->grad, dx}};
    return vkd_test_run_graph(ctx, g, in, 2, out, 2);
}

int vkd_test_hand_main(int argc, char **argv, const char *family,
                       void (*hand)(struct vkd_context *ctx))
{
    /* a bad argument falls through to vkd_test_family_main, which prints the usage */
    if (argc == 2 && (strcmp(argv[1], "cpu") == 0 || strcmp(argv[1], "gpu") == 0)) {
        struct vkd_context *ctx = strcmp(argv[1], "gpu") == 0 ? vkd_test_context() : NULL;
        hand(ctx);
        if (ctx)
            hand_failures += vkd_test_context_done(ctx);
    }
    int rc = vkd_test_family_main(argc, argv, family);
    if (hand_failures)
        printf("FAIL: %d hand check(s)\n", hand_failures);
    return rc ? rc : hand_failures ? 1 : 0;
}

double vkd_test_rel_err(const double *a, const double *b, size_t n)
{
    double ss = 0, worst = 0;
    for (size_t i = 0; i < n; i++)
        ss += b[i] * b[i];
    double rms = sqrt(ss / (double)n);
    for (size_t i = 0; i < n; i++) {
        double e = fabs(a[i] - b[i]) / (fabs(b[i]) + rms + 1e-30);
        if (!(e <= worst))
            worst = isnan(e) ? INFINITY : e; /* a NaN anywhere is the worst error */
    }
    return worst;
}

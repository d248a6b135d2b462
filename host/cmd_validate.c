/*
 * cmd_validate.c - `vkdistill validate`: runs op passes on a device against the CPU reference,
 * one row per op/pass, PASS or FAIL. The cases are the tests' own (engine/cases/), so a user's
 * GPU is held to exactly what CI holds lavapipe to.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "vkd.h"
#include "vkd_cases.h"

void host_log_validation(void *user, const char *msg)
{
    (void)user;
    fprintf(stderr, "%s\n", msg);
}

static void print_row(const struct vkd_check_row *r)
{
    printf("%-10s %-22.22s %-34.34s %11.3e %11.3e  %s\n", r->op, r->pass, r->shape, r->max_abs,
           r->max_rel, r->ok ? "PASS" : "FAIL");
    if (!r->ok)
        printf("%-10s   worst element %zu: device %.9g, reference %.9g, tolerance %.3e\n", "",
               r->worst, r->got, r->want, r->tol);
}

int cmd_validate(int argc, char **argv)
{
    const char *device = NULL, *family = NULL;
    int all = 0, validation = cli_env_validation();
    const struct cli_flag flags[] = {
        {"--device", CLI_STRING, &device, "INDEX|NAME", "device to validate (default: the best)"},
        {"--family", CLI_STRING, &family, "NAME", "only this op family (e.g. conv2d)"},
        {"--all", CLI_BOOL, &all, NULL, "every test case, not only the representative ones"},
        {"--validation", CLI_BOOL, &validation, NULL,
         "Khronos validation layer on (also VKD_VALIDATION=1)"},
    };
    const struct cli_command cmd = {
        "validate",
        "Run every op pass (forward, backward, update) on a Vulkan device and compare it with\n"
        "the CPU reference on fixed-seed random inputs. One row per op and pass: the largest\n"
        "absolute and relative error and PASS/FAIL against a tolerance derived from fp32\n"
        "precision and the reduction length. Exits 1 if anything fails.",
        NULL, flags, (int)(sizeof(flags) / sizeof(flags[0]))};
    int r = cli_parse(&cmd, argc, argv);
    if (r)
        return r > 0 ? 0 : 2;
    if (family && !vkd_case_family(family)) {
        fprintf(stderr, "vkdistill validate: --family %s is not an op family (see --help)\n",
                family);
        return 2;
    }

    struct vkd_context_desc desc = {device, validation, host_log_validation, NULL};
    struct vkd_context *ctx;
    char err[512];
    if (vkd_context_create(&desc, &ctx, err, sizeof(err)) != VKD_OK) {
        fprintf(stderr, "vkdistill validate: %s\n", err);
        return 1;
    }
    const struct vkd_device_info *d = vkd_context_device(ctx);
    printf("validating device %u: %s (%s)\n\n", d->index, d->name, d->driver);
    printf("%-10s %-22s %-34s %11s %11s  %s\n", "op", "pass", "shape", "max abs", "max rel",
           "result");

    int n_fam, passed = 0, failed = 0, status = 0;
    const struct vkd_case_family *fams = vkd_case_families(&n_fam);
    for (int f = 0; f < n_fam && !status; f++) {
        if (family && strcmp(family, fams[f].name) != 0)
            continue;
        for (int i = 0; i < fams[f].n_cases && !status; i++) {
            const struct vkd_case *cs = &fams[f].cases[i];
            if (!all && !cs->validate)
                continue;
            struct vkd_check *c = cs->build(cs->a);
            if (!c) {
                fprintf(stderr, "vkdistill validate: out of host memory\n");
                status = 1;
                break;
            }
            struct vkd_check_row rows[32];
            int n = 0;
            if (vkd_check_gpu(ctx, c, 1234 + (uint64_t)i, rows, 32, &n) != VKD_OK) {
                fprintf(stderr, "vkdistill validate: %s\n", vkd_context_error(ctx));
                status = 1;
            }
            for (int j = 0; j < n; j++) {
                print_row(&rows[j]);
                rows[j].ok ? passed++ : failed++;
            }
            vkd_check_destroy(c);
        }
    }
    printf("\n%d passed, %d failed on %s\n", passed, failed, d->name);
    uint32_t messages = vkd_context_validation_messages(ctx);
    vkd_context_destroy(ctx);
    if (messages) {
        printf("the validation layer reported %u message(s): this is a bug, please report it\n",
               messages);
        return 1;
    }
    return status || failed ? 1 : 0;
}

/*
 * cmd_models.c - `vkdistill models`: every architecture with its parameter count and
 * multiply-accumulates for an input size and class count; --model adds its feature taps.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "models.h"

int cmd_models(int argc, char **argv)
{
    int classes = 100, size = 32, channels = 3;
    const char *only = NULL;
    const struct cli_flag flags[] = {
        {"--classes", CLI_INT, &classes, "N", "classes (100)", 1, 100000},
        {"--input-size", CLI_INT, &size, "N", "square input size (32)", 4, 4096},
        {"--channels", CLI_INT, &channels, "N", "input channels (3)", 1, 64},
        {"--model", CLI_STRING, &only, "NAME", "only this model, with its feature taps"},
    };
    const struct cli_command cmd = {
        "models",
        "List the model zoo (RepDistiller's CIFAR definitions): parameters and multiply-\n"
        "accumulates per image for an input size and class count; --model NAME also lists its\n"
        "feature taps (the names distillation methods read) and their shapes.",
        NULL, flags, (int)(sizeof(flags) / sizeof(flags[0]))};
    int r = cli_parse(&cmd, argc, argv);
    if (r)
        return r > 0 ? 0 : 2;
    printf("%-12s %12s %10s   (%d classes, %dx%dx%d input)\n", "model", "parameters", "MMAC",
           classes, channels, size, size);
    int found = 0;
    for (const char *const *n = model_names(); *n; n++) {
        if (only && strcmp(only, *n) != 0)
            continue;
        struct vkd_graph *g = vkd_graph_create();
        struct model m;
        struct model_opts o = {.batch = 1, .in_c = channels, .in_hw = size, .classes = classes};
        char err[512];
        if (!g || model_build(g, *n, &o, &m, err, sizeof(err)) < 0) {
            fprintf(stderr, "vkdistill models: %s\n", g ? err : "out of memory");
            vkd_graph_destroy(g);
            return 1;
        }
        printf("%-12s %12llu %10.1f\n", *n, (unsigned long long)m.n_weights, m.macs / 1e6);
        if (only) {
            printf("\nfeature taps (per image):\n");
            for (int i = 0; i < m.n_taps; i++) {
                const struct vkd_tensor *t = vkd_graph_tensor_at(g, m.taps[i].tensor);
                printf("  %-12s %d x %d x %d\n", m.taps[i].name, t->c, t->h, t->w);
            }
        }
        found = 1;
        model_free(&m);
        vkd_graph_destroy(g);
    }
    if (!found) {
        fprintf(stderr, "vkdistill models: --model %s is not a model (run vkdistill models)\n",
                only);
        return 2;
    }
    return 0;
}

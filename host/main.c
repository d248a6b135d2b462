/*
 * main.c - the vkdistill program: dispatches to a command.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"devices", cmd_devices, "list the Vulkan devices"},
    {"validate", cmd_validate, "check every op pass of a device against the CPU reference"},
    {"models", cmd_models, "list the model zoo: parameters, MACs, feature taps"},
    {"train", cmd_train, "train a model on a data set"},
    {"distill", cmd_distill, "train a student from a teacher (knowledge distillation)"},
    {"eval", cmd_eval, "evaluate a checkpoint on a test set"},
    {"loss", cmd_loss, "a method's loss and gradients on given tensors (check against PyTorch)"},
    {"bench", cmd_bench, "time a model's training step on synthetic data"},
};

static void usage(FILE *f)
{
    fprintf(f, "vkdistill - knowledge distillation of CNNs on any Vulkan GPU\n\n"
               "usage: vkdistill COMMAND [flags]   (vkdistill COMMAND --help for its flags)\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nenvironment:\n  VKD_VALIDATION=1  turn the Khronos validation layer on\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 2, argv + 2);
    fprintf(stderr, "vkdistill: unknown command '%s' (run vkdistill --help for the list)\n",
            argv[1]);
    return 2;
}

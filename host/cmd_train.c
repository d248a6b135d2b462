/*
 * cmd_train.c - `vkdistill train`: flags -> train_opts -> train_run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <math.h>

#include "cli.h"
#include "method.h"
#include "commands.h"
#include "trainer.h"

/* "150,180,210" -> increasing epochs within 1..epochs; -1 after a sentence. */
static int parse_milestones(const char *text, struct train_opts *o)
{
    o->n_milestones = 0;
    for (const char *p = text; *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || (*end && *end != ',') || o->n_milestones == 8 || v < 1 ||
            v > o->epochs || (o->n_milestones && v <= o->milestones[o->n_milestones - 1])) {
            fprintf(stderr,
                    "vkdistill train: --milestones %s must be up to 8 increasing epochs in "
                    "1..%d, comma-separated\n",
                    text, o->epochs);
            return -1;
        }
        o->milestones[o->n_milestones++] = (int)v;
        p = *end ? end + 1 : end;
    }
    return 0;
}

/* The flags train and distill share, then distill's own; one parser for both commands. */
static int run(int argc, char **argv, int distill)
{
    struct train_opts o;
    train_opts_default(&o);
    const char *schedule = "multistep", *milestones = NULL, *opts = NULL;
    int no_flip = 0, progress = 0, no_progress = 0, limit_train = 0, limit_test = 0, seed = 1;
    double gamma = NAN, alpha = NAN, beta = NAN, kd_t = NAN;
    if (distill) {
        o.command = "distill";
        o.method = "kd";
        o.out = "runs/distill";
    }
    const struct cli_flag distill_flags[] = {
        {"--teacher-model", CLI_STRING, &o.teacher_model, "NAME", "the teacher's architecture"},
        {"--teacher", CLI_STRING, &o.teacher, "CKPT",
         "the teacher's checkpoint (a vkdistill train run's best.safetensors)"},
        {"--method", CLI_STRING, &o.method, "NAME", "distillation method (kd); see below"},
        {"--opt", CLI_STRING, &opts, "K=V,..", "the method's options (see below)"},
        {"--gamma", CLI_DOUBLE, &gamma, "X", "weight of the cross-entropy (the method's gamma)",
         0, 1e6},
        {"--alpha", CLI_DOUBLE, &alpha, "X", "weight of the KL term (alpha)", 0, 1e6},
        {"--beta", CLI_DOUBLE, &beta, "X", "weight of the method's own term (beta)", 0, 1e9},
        {"--kd-T", CLI_DOUBLE, &kd_t, "X", "KD temperature (T)", 1e-3, 1e3},
    };
    const struct cli_flag common[] = {
        {"--model", CLI_STRING, &o.model, "NAME", "architecture (vkdistill models lists them)"},
        {"--data", CLI_STRING, &o.data, "DIR",
         "data set directory (IDX, CIFAR binary or class folders); default: Fashion-MNIST in "
         DATA_DEFAULT_DIR},
        {"--epochs", CLI_INT, &o.epochs, "N", "epochs (240)", 1, 100000},
        {"--batch", CLI_INT, &o.batch, "N", "training batch size (64)", 2, 65536},
        {"--eval-batch", CLI_INT, &o.eval_batch, "N", "evaluation batch size (256)", 1, 65536},
        {"--eval-every", CLI_INT, &o.eval_every, "N", "evaluate every N epochs and at the end (1)",
         1, 100000},
        {"--limit-train", CLI_INT, &limit_train, "N", "use only the first N training images", 1,
         2000000000},
        {"--limit-test", CLI_INT, &limit_test, "N", "use only the first N test images", 1,
         2000000000},
        {"--lr", CLI_DOUBLE, &o.lr, "X", "learning rate (0.05)", 1e-12, 100},
        {"--momentum", CLI_DOUBLE, &o.momentum, "X", "SGD momentum (0.9)", 0, 0.999999},
        {"--weight-decay", CLI_DOUBLE, &o.weight_decay, "X", "L2 weight decay (5e-4)", 0, 1},
        {"--nesterov", CLI_BOOL, &o.nesterov, NULL, "Nesterov momentum"},
        {"--schedule", CLI_STRING, &schedule, "multistep|cosine", "learning-rate schedule"},
        {"--milestones", CLI_STRING, &milestones, "E1,E2,..",
         "multistep epochs (default: 62.5%, 75%, 87.5% of --epochs)"},
        {"--lr-factor", CLI_DOUBLE, &o.lr_factor, "X", "multistep factor (0.1)", 1e-6, 1},
        {"--warmup", CLI_INT, &o.warmup_epochs, "N", "linear warm-up epochs (0)", 0, 100000},
        {"--pad", CLI_INT, &o.pad, "N", "zero padding before the random crop (4)", 0, 64},
        {"--no-flip", CLI_BOOL, &no_flip, NULL, "no random horizontal flip"},
        {"--stream", CLI_BOOL, &o.stream, NULL,
         "stream batches from host memory through a ring of buffers filled by host threads "
         "(automatic when the data set does not fit in the device's storage buffers)"},
        {"--seed", CLI_INT, &seed, "N", "seed of every random draw (1)", 0, 2147483647},
        {"--device", CLI_STRING, &o.device, "INDEX|NAME", "Vulkan device (default: the best)"},
        {"--out", CLI_STRING, &o.out, "DIR",
         "output directory (runs/train; with --resume: the checkpoint's directory)"},
        {"--resume", CLI_STRING, &o.resume, "CKPT",
         "continue the run of CKPT (its last.safetensors) with its own configuration"},
        {"--stop-after", CLI_INT, &o.stop_after, "EPOCH",
         "stop after this epoch as if interrupted (split a long run; --resume continues it)", 1,
         100000},
        {"--validation", CLI_BOOL, &o.validation, NULL, "Khronos validation layer on"},
        {"--progress", CLI_BOOL, &progress, NULL, "progress bar even when not on a terminal"},
        {"--no-progress", CLI_BOOL, &no_progress, NULL, "no progress bar"},
    };
    enum { N_COMMON = sizeof(common) / sizeof(common[0]) };
    enum { N_DISTILL = sizeof(distill_flags) / sizeof(distill_flags[0]) };
    struct cli_flag flags[N_COMMON + N_DISTILL];
    int n_flags = 0;
    for (int i = 0; distill && i < N_DISTILL; i++)
        flags[n_flags++] = distill_flags[i];
    for (int i = 0; i < N_COMMON; i++)
        flags[n_flags++] = common[i];
    int seen[N_COMMON + N_DISTILL] = {0};
    /* The usage text grows with every method's options: built in a memory stream, not a fixed
     * buffer that would cut the help short one day. */
    char *usage = NULL;
    size_t usage_len = 0;
    FILE *us = open_memstream(&usage, &usage_len);
    if (!us) {
        fprintf(stderr, "vkdistill %s: out of memory\n", distill ? "distill" : "train");
        return 1;
    }
    fputs("A run resumed with --resume continues bit-identically (same device); only\n"
          "--device, --out, --stop-after, --validation and the progress flags may be\n"
          "given with it.", us);
    for (const char *const *m = method_names(); distill && *m; m++) {
        const struct method *md = method_find(*m);
        fprintf(us, "\n\nmethod %s: %s", md->name, md->summary);
        for (int i = 0; i < md->n_params; i++)
            fprintf(us, "\n    %-11s %-6g %s", md->params[i].name, md->params[i].value,
                    md->params[i].help);
    }
    if (fclose(us) != 0 || !usage) {
        fprintf(stderr, "vkdistill %s: out of memory\n", distill ? "distill" : "train");
        free(usage);
        return 1;
    }
    const struct cli_command cmd = {
        distill ? "distill" : "train",
        distill ? "Train a student with knowledge distillation from a frozen teacher: the teacher's\n"
                  "forward pass (BatchNorm from running statistics) and the student's whole step\n"
                  "are recorded into one command buffer. The teacher's accuracy is measured\n"
                  "before training. Every loss term is logged. Recipe flags as vkdistill train."
                : "Train a model on a data set: SGD with the KD literature's recipe, the whole step\n"
                  "recorded once and replayed on the GPU, evaluation every epoch, checkpoints (last\n"
                  "and best, safetensors with PyTorch state_dict names) and metrics.jsonl in --out.",
        usage, flags, n_flags, seen};
    int r = cli_parse(&cmd, argc, argv);
    free(usage);
    if (r)
        return r > 0 ? 0 : 2;
    o.validation |= cli_env_validation();
    o.limit_train = (uint32_t)limit_train, o.limit_test = (uint32_t)limit_test;
    o.seed = (uint64_t)seed;
    o.flip = !no_flip;
    o.progress = progress ? 1 : no_progress ? 0 : -1;
    if (o.resume) {
        static const char *const allowed[] = {"--resume",     "--device",     "--out",
                                              "--validation", "--progress",   "--no-progress",
                                              "--stop-after", "--stream"};
        for (int i = 0; i < n_flags; i++) {
            int ok = !seen[i];
            for (size_t j = 0; j < sizeof(allowed) / sizeof(allowed[0]); j++)
                ok |= strcmp(flags[i].name, allowed[j]) == 0;
            if (!ok) {
                fprintf(stderr,
                        "vkdistill train: %s cannot be given with --resume: the run continues "
                        "with its checkpoint's configuration\n",
                        flags[i].name);
                return 2;
            }
        }
    }
    /* A resumed run writes where it was writing, unless told otherwise. */
    static char resume_dir[4096];
    for (int i = 0; o.resume && i < n_flags; i++)
        if (strcmp(flags[i].name, "--out") == 0 && !seen[i]) {
            snprintf(resume_dir, sizeof(resume_dir), "%s", o.resume);
            char *slash = strrchr(resume_dir, '/');
            if (slash)
                *slash = '\0';
            else
                snprintf(resume_dir, sizeof(resume_dir), ".");
            o.out = resume_dir;
        }
    if (strcmp(schedule, "cosine") == 0) {
        o.schedule = LR_COSINE;
    } else if (strcmp(schedule, "multistep") != 0) {
        fprintf(stderr, "vkdistill train: --schedule must be multistep or cosine, not '%s'\n",
                schedule);
        return 2;
    }
    if (milestones && parse_milestones(milestones, &o) < 0)
        return 2;
    if (o.warmup_epochs >= o.epochs && o.warmup_epochs > 0) {
        fprintf(stderr, "vkdistill train: --warmup %d must be fewer than --epochs %d\n",
                o.warmup_epochs, o.epochs);
        return 2;
    }
    /* --gamma/--alpha/--beta/--kd-T are the methods' options of those names */
    static char method_opts[512];
    int mn = snprintf(method_opts, sizeof(method_opts), "%s", opts ? opts : "");
    const char *names[4] = {"gamma", "alpha", "beta", "T"};
    double vals[4] = {gamma, alpha, beta, kd_t};
    for (int i = 0; i < 4; i++)
        if (!isnan(vals[i]) && mn >= 0 && mn < (int)sizeof(method_opts))
            mn += snprintf(method_opts + mn, sizeof(method_opts) - (size_t)mn, "%s%s=%.17g",
                           mn ? "," : "", names[i], vals[i]);
    o.method_opts = *method_opts ? method_opts : NULL;
    if (distill && !o.resume && (!o.teacher || !o.teacher_model) && o.method &&
        method_find(o.method) && method_find(o.method)->needs_teacher) {
        fprintf(stderr, "vkdistill distill: method %s needs --teacher-model and --teacher\n",
                o.method);
        return 2;
    }
    return train_run(&o);
}

int cmd_train(int argc, char **argv)
{
    return run(argc, argv, 0);
}

int cmd_distill(int argc, char **argv)
{
    return run(argc, argv, 1);
}

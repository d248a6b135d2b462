/*
 * cli.c - flag parsing (see cli.h).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void cli_help(const struct cli_command *cmd)
{
    printf("usage: vkdistill %s [flags]\n\n%s\n\nflags:\n", cmd->name, cmd->summary);
    for (int i = 0; i < cmd->n_flags; i++) {
        const struct cli_flag *f = &cmd->flags[i];
        char left[64];
        snprintf(left, sizeof(left), "%s%s%s", f->name, f->arg ? " " : "", f->arg ? f->arg : "");
        printf("  %-26s %s\n", left, f->help);
    }
    printf("  %-26s %s\n", "--help", "show this help");
    if (cmd->usage)
        printf("\n%s\n", cmd->usage);
}

static const struct cli_flag *find(const struct cli_command *cmd, const char *name)
{
    for (int i = 0; i < cmd->n_flags; i++)
        if (strcmp(cmd->flags[i].name, name) == 0)
            return &cmd->flags[i];
    return NULL;
}

static int bad(const struct cli_command *cmd, const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "vkdistill %s: ", cmd->name);
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, " (see vkdistill %s --help)\n", cmd->name);
    return -1;
}

static int parse_value(const struct cli_command *cmd, const struct cli_flag *f, const char *v)
{
    char *end;
    int ranged = !(f->min == 0 && f->max == 0);
    errno = 0;
    switch (f->type) {
    case CLI_INT: {
        long x = strtol(v, &end, 10);
        if (*v == '\0' || *end != '\0' || errno)
            return bad(cmd, "%s needs a whole number, not '%s'", f->name, v);
        if (ranged && (x < f->min || x > f->max)) {
            char range[64];
            snprintf(range, sizeof(range), "%.0f..%.0f", f->min, f->max);
            return bad(cmd, "%s must be in %s", f->name, range);
        }
        *(int *)f->dst = (int)x;
        return 0;
    }
    case CLI_DOUBLE: {
        double x = strtod(v, &end);
        if (*v == '\0' || *end != '\0' || errno || !isfinite(x))
            return bad(cmd, "%s needs a number, not '%s'", f->name, v);
        if (ranged && (x < f->min || x > f->max)) {
            char range[64];
            snprintf(range, sizeof(range), "%g..%g", f->min, f->max);
            return bad(cmd, "%s must be in %s", f->name, range);
        }
        *(double *)f->dst = x;
        return 0;
    }
    case CLI_STRING:
        if (*v == '\0')
            return bad(cmd, "%s needs a value%s", f->name, "");
        *(const char **)f->dst = v;
        return 0;
    case CLI_BOOL:
        break;
    }
    return -1;
}

int cli_parse(const struct cli_command *cmd, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cli_help(cmd);
            return 1;
        }
        /* --flag=value is accepted as well as --flag value */
        char name[64];
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        if (len >= sizeof(name))
            len = sizeof(name) - 1;
        memcpy(name, a, len);
        name[len] = '\0';
        const struct cli_flag *f = strncmp(a, "--", 2) == 0 ? find(cmd, name) : NULL;
        if (!f) {
            if (strncmp(a, "--", 2) == 0)
                return bad(cmd, "unknown flag '%s'%s", name, "");
            return bad(cmd, "unexpected argument '%s'%s", a, "");
        }
        if (cmd->seen)
            cmd->seen[f - cmd->flags] = 1;
        if (f->type == CLI_BOOL) {
            if (eq)
                return bad(cmd, "%s takes no value%s", f->name, "");
            *(int *)f->dst = 1;
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v)
            return bad(cmd, "%s needs a value (%s)", f->name, f->arg ? f->arg : "");
        if (parse_value(cmd, f, v) < 0)
            return -1;
    }
    return 0;
}

int cli_env_validation(void)
{
    const char *v = getenv("VKD_VALIDATION");
    return v && *v && strcmp(v, "0") != 0;
}

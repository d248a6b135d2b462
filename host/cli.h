/*
 * cli.h - table-driven flag parsing for every vkdistill command. A command lists its flags
 * once; parsing, `--help` and the one-sentence errors for a bad flag or value all come from that
 * table, so they cannot disagree.
 */
#ifndef VKD_CLI_H
#define VKD_CLI_H

#include <stddef.h>

enum cli_type {
    CLI_BOOL,   /* --flag (no value) */
    CLI_INT,    /* --flag N, within [min, max] */
    CLI_DOUBLE, /* --flag X, within [min, max] */
    CLI_STRING, /* --flag TEXT */
};

struct cli_flag {
    const char *name;  /* "--device" */
    enum cli_type type;
    void *dst;         /* int*, int*, double*, const char** */
    const char *arg;   /* value name in --help, e.g. "INDEX|NAME" */
    const char *help;
    double min, max;   /* numeric range (ignored when min == max == 0) */
};

struct cli_command {
    const char *name;    /* "validate" */
    const char *summary; /* one line */
    const char *usage;   /* extra text after the flag list, or NULL */
    const struct cli_flag *flags;
    int n_flags;
    int *seen; /* optional, n_flags entries: set to 1 for each flag given */
};

/* Parses argv (after the command name). Returns 0 on success, 1 when --help was printed (the
 * caller exits 0), -1 after printing one sentence about a bad flag or value to stderr. */
int cli_parse(const struct cli_command *cmd, int argc, char **argv);
void cli_help(const struct cli_command *cmd);

/* Reads VKD_VALIDATION once: the environment's say on the validation layer. */
int cli_env_validation(void);

#endif

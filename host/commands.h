/*
 * commands.h - the vkdistill commands. Each returns the process exit code:
 * 0 success, 1 a failure it has explained in one sentence, 2 a usage error.
 */
#ifndef VKD_COMMANDS_H
#define VKD_COMMANDS_H

int cmd_devices(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_distill(int argc, char **argv);
int cmd_loss(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_models(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* Prints one line to stderr for every validation-layer message (validation mode). */
void host_log_validation(void *user, const char *msg);

#endif

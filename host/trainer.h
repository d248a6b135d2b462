/*
 * trainer.h - the training loop behind `vkdistill train` (and, with a teacher and extra loss
 * terms, `distill`): data resident on the GPU, augmentation in a shader, the whole step recorded
 * once and replayed, evaluation as a second phase of the same graph sharing the weights,
 * per-epoch metrics, atomic checkpoints and bit-identical resume.
 */
#ifndef VKD_TRAINER_H
#define VKD_TRAINER_H

#include <stdint.h>

#include "data.h"
#include "vkd_rng.h"

enum lr_schedule { LR_MULTISTEP, LR_COSINE };

struct train_opts {
    const char *command;   /* "train" or "distill", for messages */
    const char *model;
    const char *method;        /* distillation method (method.h); "ce" = plain training */
    const char *method_opts;   /* "k=v,k=v" hyper-parameter overrides, or NULL */
    const char *teacher_model; /* architecture of the teacher, or NULL */
    const char *teacher;       /* the teacher's checkpoint, or NULL */
    const char *data;      /* directory; NULL: DATA_DEFAULT_DIR */
    const char *device;
    const char *out;       /* output directory */
    const char *resume;    /* checkpoint to continue from, or NULL */
    int epochs, batch, eval_batch, eval_every;
    uint32_t limit_train, limit_test;
    double lr, momentum, weight_decay, lr_factor;
    int nesterov;
    enum lr_schedule schedule;
    int milestones[8], n_milestones; /* epochs; none given: 62.5%, 75%, 87.5% of epochs */
    int warmup_epochs;               /* linear warm-up from 0 over this many epochs */
    int pad, flip;                   /* augmentation: crop padding, horizontal flip */
    int stream;                      /* stream batches from host memory even when the data fit */
    uint64_t seed;
    int validation;                  /* Khronos validation layer */
    int progress;                    /* -1 auto (a terminal), 0 off, 1 on */
    int stop_after;                  /* stop after this epoch as if interrupted (0: never) */
};

/* Fills the KD literature's recipe (RepDistiller): SGD momentum 0.9, weight decay 5e-4,
 * lr 0.05 x0.1 at 62.5/75/87.5% of the epochs, batch 64, pad-4 crop + flip. */
void train_opts_default(struct train_opts *o);

/* Runs a whole training; returns the process exit code (0, or 1 after one printed sentence). */
int train_run(const struct train_opts *o);

/* A permutation of 0..n-1 (Fisher-Yates on rng): every epoch's image order (and the
 * pre-training phase's, pretrain.c). */
void train_permutation(uint32_t *perm, uint32_t n, struct vkd_rng *rng);

/* The learning rate of global step `step` (0-based) of `steps_per_epoch` (exposed for tests). */
double train_lr_at(const struct train_opts *o, uint64_t step, uint64_t steps_per_epoch);

#endif

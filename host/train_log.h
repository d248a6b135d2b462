/*
 * train_log.h - what a training run tells its user: a header (device, data, model, recipe), a
 * progress bar on a terminal (else one line per epoch), metrics.jsonl in the output directory
 * (one JSON object per epoch, appended and flushed as each epoch ends) and a closing summary.
 */
#ifndef VKD_TRAIN_LOG_H
#define VKD_TRAIN_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "data.h"
#include "method.h"
#include "trainer.h"
#include "vkd.h"

struct epoch_metrics {
    int epoch; /* 1-based */
    double lr; /* at the epoch's last step */
    double train_loss, train_top1;
    int evaluated;
    double test_loss, test_top1, test_top5;
    double epoch_s, images_per_s;
    int n_terms; /* the method's loss terms, epoch means (unweighted) */
    char term_name[METHOD_MAX_TERMS][32];
    double term[METHOD_MAX_TERMS];
};

struct train_log {
    FILE *metrics;
    int progress; /* draw a progress bar */
    int drawn;    /* a bar is on the current line */
    const char *bar_label; /* what the bar counts: NULL "epoch", "pretrain" during a phase */
    double t0, last_draw, train_s, images;
    int epochs;
    struct epoch_metrics last;
    char device[256];
    char out[1024];
};

/* Creates the output directory (and parents) and opens metrics.jsonl: truncated for a new run;
 * for a run resumed after epoch `resume_epoch`, lines of later epochs are dropped. progress:
 * -1 = when stderr is a terminal. Returns 0, or -1 with a sentence in err. */
int train_log_open(struct train_log *l, const char *out, int resume_epoch, int progress,
                   char *err, size_t errlen);
void train_log_header(struct train_log *l, const struct train_opts *o,
                      const struct vkd_device_info *d, const struct dataset *train,
                      const struct dataset *test, uint64_t weights, uint64_t macs, int steps,
                      int start_epoch);
struct kd_build;
/* The method, its hyper-parameters and loss terms, and the teacher's measured accuracy
 * (teacher_top1 < 0: no teacher). */
void train_log_method(struct train_log *l, const char *method, const struct kd_build *kb,
                      double teacher_top1, uint64_t teacher_weights);
/* A method's pre-training phase (host/pretrain.c): its plan, then one line per epoch (and one
 * metrics.jsonl object, "phase":"pretrain", "epoch":0 so that a resumed run keeps it, with
 * "pretrain_epoch" counting from 1): each term's epoch mean and, for a term that trains a
 * classifier, its top-1 on the training batches. top1 < 0: none. */
void train_log_pretrain_header(struct train_log *l, const char *method,
                               const struct kd_build *kb, int epochs, int steps, int batch,
                               double lr, const struct train_opts *o);
void train_log_pretrain_epoch(struct train_log *l, int epoch, int epochs, double lr,
                              const struct kd_build *kb, const double *term,
                              const double *top1, double epoch_s, double images_per_s);
void train_log_progress(struct train_log *l, int epoch, int epochs, int step, int steps,
                        double loss, double top1, double images_per_s, double eta_s);
void train_log_end_progress(struct train_log *l);
void train_log_epoch(struct train_log *l, const struct epoch_metrics *m);
/* The end-of-run table on stdout, and the same numbers in OUT/summary.json (written to a temp
 * file and renamed). device_bytes: the device memory the run's executor held (its plan is
 * static, so this is also its peak); step_parts: vkd_vk_step_parts, said beside it when > 1. */
void train_log_summary(struct train_log *l, double best_top1, int best_epoch,
                       uint64_t device_bytes, int step_parts);
void train_log_close(struct train_log *l);

/* Debug-messenger sink: validation-layer messages to stderr. */
void train_log_validation(void *user, const char *msg);

#endif

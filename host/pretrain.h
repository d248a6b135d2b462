/*
 * pretrain.h - a method's pre-training phase (method.h: struct method.pretrain), run by the
 * trainer before distillation: the frozen teacher and the method's pre-trained modules alone,
 * trained against the terms the method builds at stage KD_PRETRAIN.
 */
#ifndef VKD_PRETRAIN_H
#define VKD_PRETRAIN_H

#include "data.h"
#include "method.h"
#include "train_log.h"
#include "trainer.h"
#include "vkd.h"

struct pretrain_in {
    const struct train_opts *o;     /* the run: batch, augmentation, seed, SGD, --lr, stream */
    const struct method *method;
    const struct kd_build *kb;      /* the distillation graph's build (resolved options) */
    struct vkd_context *ctx;
    const struct dataset *train;
    const float *mean, *std;        /* the run's input normalisation */
    struct vkd_vk *vk;              /* the distillation executor and its graph: the teacher's */
    const struct vkd_graph *g;      /* weights and the modules' initial ones are read from it,
                                     * the trained modules written back into it */
    struct train_log *log;
};

/* Runs the phase p: builds its graph (the run's augmented training batches -> the frozen
 * teacher -> the method's modules and terms -> SGD over those modules only), copies the
 * teacher's weights and the modules' initial weights from in->vk by name, trains p->epochs
 * epochs (SGD with the run's momentum, weight decay and Nesterov flag; learning rate p->lr, or
 * the run's --lr, cosine-annealed to 0 over the phase's steps; every epoch a fresh permutation
 * from the run's seed, so the phase is deterministic), logs every epoch, and writes the
 * modules' weights and running statistics back into in->vk under the same names. Its executor
 * is freed before it returns. Returns 0, or 1 after printing one sentence. */
int pretrain_run(const struct pretrain_in *in, const struct method_pretrain *p);

#endif

/*
 * method.h - the distillation-method interface. A method is a small module that
 *   - reads feature taps of the student and (if it has one) the teacher, by the models' tap
 *     names (models.h: "stem", "stageK", "stageK_pre", "pool", "logits");
 *   - may add trainable extras to the student's parameters (embeddings, regressors, heads),
 *     initialised like their PyTorch modules, saved in checkpoints under "distill.<name>";
 *   - appends its loss nodes to the graph and registers each loss term with its weight.
 * Losses are built from engine ops, so their gradients come from ops validated one by one.
 * Adding a method is one file in host/methods/ and one line in methods.c: nothing in the engine
 * or in other methods changes.
 *
 * The same build function serves training (taps are the models' tensors) and `vkdistill loss`
 * (taps are INPUT tensors read from a file), through kd_tap().
 *
 * A method may also declare a pre-training phase (struct method.pretrain): before distillation
 * the trainer builds a second graph, the frozen teacher and the modules the method builds at
 * stage KD_PRETRAIN with their loss terms, and trains those modules alone for some epochs
 * (host/pretrain.c); the distillation graph (stage KD_DISTIL) then holds them frozen: the
 * method builds them with b->freeze set, which makes kd_extra and kd_bn create STATE tensors
 * (no gradient, no momentum or weight decay, never updated; BatchNorm from running statistics),
 * the way a teacher's weights are frozen. Same names in both graphs, so the trained values are
 * copied by name, and checkpoints keep them under distill.* as trainable extras are kept.
 */
#ifndef VKD_METHOD_H
#define VKD_METHOD_H

#include <stddef.h>
#include <stdint.h>

#include "models.h"
#include "vkd.h"

#define METHOD_MAX_PARAMS 16
/* CORSD logs 22 terms: each kind per stage */
#define METHOD_MAX_TERMS 32

enum kd_side { KD_STUDENT, KD_TEACHER };

/* A hyper-parameter: name, default, meaning. Values come from --opt NAME=VALUE (and the common
 * flags --gamma, --alpha, --beta, --kd-T, which are these names). */
struct method_param {
    const char *name;
    double value;
    const char *help;
};

/* A loss term: its scalar tensor (OUTPUT kind, read every step) and weight. */
struct loss_term {
    char name[32];
    int tensor;
    int top1;   /* correct top-1 count (OUTPUT) of the classifier this term trains, or -1:
                 * a pre-training phase logs it per term (kd_term sets -1) */
    double weight;
    int slot; /* step-parameter slot holding the weight (set by the trainer each step) */
    double start; /* the weight is 0 before this fraction of the epochs (staged schedules) */
};

/* What a build function is asked for. */
enum kd_stage {
    KD_DISTIL,   /* the distillation step (and `vkdistill loss`): every term */
    KD_PRETRAIN, /* the method's pre-training phase: the teacher's taps only (no student); the
                  * modules it pre-trains, trainable, and the terms that train them */
};

/* A pre-training phase, as the resolved options ask for it (struct method.pretrain). */
struct method_pretrain {
    int epochs; /* 0: no training; the modules stay frozen at their initial weights */
    double lr;  /* peak learning rate of the phase; 0: the run's --lr */
};

struct kd_build;
typedef int (*kd_tap_fn)(struct kd_build *b, enum kd_side side, const char *tap);

struct kd_build {
    struct vkd_graph *g;
    int batch;
    int classes;
    int labels;               /* (batch) u32 */
    int has_teacher;
    kd_tap_fn tap;            /* tensor of a tap, or -1 (with a sentence in err) */
    void *tap_user;
    const struct model *student, *teacher; /* NULL when taps are files (vkdistill loss) */
    double params[METHOD_MAX_PARAMS];      /* the method's hyper-parameters, resolved */
    struct loss_term terms[METHOD_MAX_TERMS];
    int n_terms;
    enum kd_stage stage;      /* KD_DISTIL unless a pre-training phase is being built */
    int freeze;               /* set by a method around pre-trained modules in KD_DISTIL: the
                               * extras kd_extra and kd_bn make meanwhile are frozen (STATE) */
    struct model extras;      /* extras, trainable and frozen (model_param list, init, ndim);
                               * prefix "distill." */
    uint64_t frozen_weights;  /* how many of extras.n_weights are frozen */
    int top1;                 /* the student's top-1 count on the batch (kd_ce sets it), or -1 */
    /* Triplet methods (struct method.triplets): the batch is batch / 3 triplets ordered
     * a0 p0 n0 a1 p1 n1 ...; kd_triplet_inputs creates these INPUTs, the host fills them every
     * step from the labels with kd_triplet_fill. */
    int tri_labels;           /* (batch / 3) u32: the anchors' labels */
    int tri_soft;             /* (batch / 3, classes) f32: (onehot(y_a) + onehot(y_n)) / 2 */
    char err[512];
};

struct method {
    const char *name;
    const char *summary;
    int needs_teacher;        /* 0: self-distillation or plain CE */
    const struct method_param *params;
    int n_params;
    /* Tap names the method reads (for `vkdistill loss` and the docs), NULL-terminated. */
    const char *const *student_taps, *const *teacher_taps;
    /* Appends the loss nodes; 0, or -1 with a sentence in b->err. */
    int (*build)(struct kd_build *b);
    /* The name of a 0/1 option that, when 1, asks for the student cut into stage modules
     * (model_opts.cut_stages: no gradient crosses a stage boundary), or NULL. */
    const char *cut_param;
    /* 1: the trainer draws triplet batches (anchor, same-class positive, other-class negative,
     * interleaved a0 p0 n0 a1 ...); --batch counts images and must be a multiple of 3. */
    int triplets;
    /* A pre-training phase, or NULL. Returns 1 and fills *p when the resolved options b->params
     * ask for one (the method then builds its pre-trained modules frozen at KD_DISTIL), else 0.
     * The trainer runs the phase on plain (not triplet) batches of the run's images, with the
     * teacher (a method with a phase needs one). */
    int (*pretrain)(const struct kd_build *b, struct method_pretrain *p);
};

const struct method *method_find(const char *name);
const char *const *method_names(void); /* NULL-terminated */
/* Resolves hyper-parameters: defaults, then "k=v,k=v" overrides; -1 with a sentence on an
 * unknown name or a bad value. */
int method_resolve(const struct method *m, const char *overrides, double *values, char *err,
                   size_t errlen);
/* Every option with its resolved value, "name=value,..." (values that read back exactly), as
 * method_resolve reads it; -1 when it does not fit in len. */
int method_opts_text(const struct method *m, const double *values, char *buf, size_t len);
double method_param(const struct method *m, const struct kd_build *b, const char *name);
/* Whether resolved hyper-parameters `values` ask for a student cut into stage modules. */
int method_cuts_student(const struct method *m, const double *values);

/* A build over models (training, pre-training, bench): the graph, batch, class count, labels
 * and the models whose taps kd_model_tap reads (teacher NULL: none); top-1 unset, extras named
 * "distill.<name>" after the method. The hyper-parameters and the stage are the caller's. */
void kd_build_models(struct kd_build *b, const struct method *m, struct vkd_graph *g, int batch,
                     int classes, int labels, const struct model *student,
                     const struct model *teacher);
/* The tap of b->student or b->teacher, or -1 with a sentence naming the model and the tap. */
int kd_model_tap(struct kd_build *b, enum kd_side side, const char *tap);

/* Helpers for methods. */
int kd_tap(struct kd_build *b, enum kd_side side, const char *tap);
/* The tap "stage<k>", or with k = 0 the deepest "stage<K>" the side has (RepDistiller's
 * feat[-2] for the CIFAR ResNets and WRNs; works on models and on `vkdistill loss` files). */
int kd_stage_tap(struct kd_build *b, enum kd_side side, int k);
/* The cross-entropy of the student's logits against the labels as term "ce" with weight w;
 * also gives the trainer its top-1 count. Returns the loss tensor or -1. */
int kd_ce(struct kd_build *b, double weight);
/* Registers a loss term (the tensor must be a scalar); -1 when full. */
int kd_term(struct kd_build *b, const char *name, int tensor, double weight);
/* An extra "distill.<key>" with its PyTorch init and rank: PARAM, or STATE while b->freeze. */
int kd_extra(struct kd_build *b, const char *key, int ndim, int n, int c, int h, int w,
             enum init_kind init, double arg);
/* Extras as modules: 1x1-conv embedding (no bias) and a BatchNorm2d, training-mode (batch
 * statistics, running statistics updated) or, while b->freeze, from its running statistics. */
int kd_conv1x1(struct kd_build *b, const char *module, int x, int cout);
int kd_bn(struct kd_build *b, const char *module, int x);
/* The triplet targets' INPUTs (b->tri_labels, b->tri_soft); -1 with a sentence when the batch
 * is not a multiple of 3. */
int kd_triplet_inputs(struct kd_build *b);
/* Fills them from the labels of n = 3B triplet-ordered images: ya (B), soft (B x classes). */
void kd_triplet_fill(const uint32_t *labels, int n, int classes, uint32_t *ya, float *soft);

#endif

/*
 * models.h - the CIFAR model zoo of the knowledge-distillation literature, built as graphs with
 * the topology, parameter counts and PyTorch state_dict names of RepDistiller's definitions
 * (models/resnet.py, wrn.py, vgg.py, mobilenetv2.py):
 *   resnet8/14/20/32/44/56/110, resnet8x4, resnet32x4   post-activation BasicBlock ResNets
 *   wrn_16_1, wrn_16_2, wrn_40_1, wrn_40_2              pre-activation wide ResNets
 *   vgg8, vgg11, vgg13, vgg16, vgg19                    VGG with BN and conv biases
 *   mobilenetv2                                         RepDistiller's mobile_half (T 6, width 0.5)
 *
 * Feature taps, by name: "stem", "stageK" (output of stage K after its last ReLU, or the raw
 * block output for the pre-activation WRN, as RepDistiller's features), "stageK_pre" (before
 * that ReLU; RepDistiller's preact features), "pool" (the pooled vector), "logits".
 *
 * Pooling is global average pooling, which equals RepDistiller's AvgPool2d(8) on 32x32 inputs
 * and also serves other input sizes (Fashion-MNIST's 28x28).
 */
#ifndef VKD_MODELS_H
#define VKD_MODELS_H

#include <stddef.h>
#include <stdint.h>

#include "vkd.h"

enum init_kind {
    INIT_KAIMING_FAN_OUT, /* normal(0, sqrt(2 / (out * kh * kw))): convs everywhere */
    INIT_ONE,             /* BN weight, running variance */
    INIT_ZERO,            /* BN bias, running mean, biases RepDistiller zeroes */
    INIT_TORCH_LINEAR,    /* PyTorch's nn.Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
    INIT_NORMAL,          /* normal(0, arg): VGG/MobileNetV2 classifier weight (0.01) */
};

struct model_param {
    int tensor;
    enum init_kind init;
    double arg; /* fan_in for INIT_TORCH_LINEAR, std for INIT_NORMAL */
    int ndim;   /* PyTorch's: 4 conv weight, 2 linear weight, 1 bias and BN vectors */
};

#define MODEL_MAX_TAPS 24
#define MODEL_MAX_BN 128

struct model_tap {
    char name[32];
    int tensor;
};

struct model {
    char arch[32];
    const char *prefix;       /* node and activation names: prefix + module name */
    const char *param_prefix; /* weight names: param_prefix + state_dict key */
    int input, logits;
    struct model_param *params; /* every PARAM or frozen (STATE) weight with its init */
    int n_params;
    struct model_tap taps[MODEL_MAX_TAPS];
    int n_taps;
    char bn[MODEL_MAX_BN][64]; /* BN module names, for num_batches_tracked in checkpoints */
    int n_bn;
    uint64_t n_weights;  /* trainable parameter count (PyTorch's sum of numel of parameters()) */
    uint64_t macs;       /* multiply-accumulates per image, forward */
};

struct model_opts {
    int batch;            /* images per graph run */
    int in_c, in_hw;      /* input channels and size (square) */
    int classes;
    int training;         /* BatchNorm from batch statistics (else running statistics) */
    int frozen;           /* weights as STATE: no gradients, not updated (a teacher) */
    const char *prefix;   /* names of the nodes and activations it adds; NULL: "" */
    const char *param_prefix; /* names of its weights and BN statistics; NULL: prefix */
    int share;            /* weights and statistics already exist (another phase's copy of the
                           * same model): find them by name instead of creating them */
    int input;            /* the input tensor (e.g. an augmentation op's output); <= 0 with
                           * has_input 0: an INPUT tensor is created */
    int has_input;
    int cut_stages;       /* a stop-gradient after every stage but the last (LAKD's local
                           * modules: stage k's backward ends at its input) */
};

/* Builds arch into g (input tensor included). Returns 0, or -1 with a sentence in err (unknown
 * name: the sentence lists the known ones). */
int model_build(struct vkd_graph *g, const char *arch, const struct model_opts *o,
                struct model *m, char *err, size_t errlen);
void model_free(struct model *m);
int model_tap(const struct model *m, const char *name); /* tensor id, or -1 */

struct vkd_rng;
/* The PyTorch definitions' initial weights of m (drawn from rng in m's parameter order) and
 * running variances of 1, written to the device. */
enum vkd_status model_init_weights(struct vkd_graph *g, struct vkd_vk *vk, const struct model *m,
                                   struct vkd_rng *rng);

/* Names of every architecture, NULL-terminated. */
const char *const *model_names(void);

#endif

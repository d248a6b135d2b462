/*
 * checkpoint.h - checkpoints as safetensors files with PyTorch state_dict keys.
 *
 * A checkpoint holds the model's state_dict exactly as RepDistiller's model would produce it
 * (weights and biases, BatchNorm running_mean / running_var and the int64 num_batches_tracked),
 * with PyTorch's shapes, so `model.load_state_dict(safetensors.torch.load_file(p))` works. A
 * resumable checkpoint also holds the SGD momentum of every weight under "optimizer.momentum.<key>"
 * (filter those out for load_state_dict: {k: v for k, v in d.items() if not k.startswith(
 * "optimizer.")}). The run (architecture, data, hyper-parameters, epoch, step, best accuracy)
 * is in the file's metadata. Files are written atomically (safetensors.c).
 */
#ifndef VKD_CHECKPOINT_H
#define VKD_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "models.h"
#include "vkd.h"

#define CKPT_TEXT 256

/* The run state kept in a checkpoint's metadata. */
struct ckpt_meta {
    char arch[32];
    int classes, in_c, in_hw;
    int epoch;          /* epochs completed */
    uint64_t step;      /* optimizer steps taken */
    double best_top1;   /* best test top-1 so far (percent) and its epoch */
    int best_epoch;
    float mean[3], std[3]; /* the input normalisation the weights were trained with */
    char config[2048];  /* the run configuration, "key=value" lines (train options) */
};

/* Writes m's weights and statistics, and extras' (a method's trainable modules, keys
 * "distill.*"; NULL for none), and with_optimizer the momentum of both, read from vk. */
int ckpt_save(const char *path, struct vkd_vk *vk, const struct vkd_graph *g,
              const struct model *m, const struct model *extras, const struct ckpt_meta *meta,
              int with_optimizer, char *err, size_t errlen);

/* Reads path into vk: every key m needs must be present with its shape and dtype F32, and the
 * architecture in the metadata must be m's. with_optimizer: the momentum must be there too.
 * Returns 0, or -1 with one sentence naming the file and the problem. */
int ckpt_load(const char *path, struct vkd_vk *vk, const struct vkd_graph *g,
              const struct model *m, const struct model *extras, struct ckpt_meta *meta,
              int with_optimizer, char *err, size_t errlen);

/* Reads only the metadata (to rebuild a run before loading into it). */
int ckpt_read_meta(const char *path, struct ckpt_meta *meta, char *err, size_t errlen);

/* A value from a "key=value" lines config, or NULL (the pointer is into a static buffer). */
const char *ckpt_config_get(const struct ckpt_meta *meta, const char *key);

#endif

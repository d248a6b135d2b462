/*
 * gpu_data.h - data sets resident on the GPU: a data set's uint8 images as up to
 * VKD_AUGMENT_CHUNKS u32 STATE tensors (each within maxStorageBufferRange), the augmentation op
 * that turns them into batches, and evaluation over a whole data set through a forward phase.
 */
#ifndef VKD_GPU_DATA_H
#define VKD_GPU_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "data.h"
#include "vkd.h"
#include "vkd_shared.h"

struct gpu_data {
    const struct dataset *d;
    int ids[VKD_AUGMENT_CHUNKS];
    int n;
    uint32_t per_chunk;
};

/* Plans d's images into g. Returns 0, or -1 with a sentence in err (too large to keep). */
int gpu_data_plan(struct vkd_graph *g, const struct vkd_device_info *dev,
                  const struct dataset *d, const char *name, struct gpu_data *out, char *err,
                  size_t errlen);
enum vkd_status gpu_data_upload(struct vkd_vk *vk, const struct vkd_graph *g,
                                const struct gpu_data *gd);
/* A normalised batch of `batch` images from per-sample parameters `params` (INPUT u32,
 * batch x 4): zero-pad by pad, crop back to the image size, optional flip (shaders/augment.h). */
int gpu_data_batch(struct vkd_graph *g, const char *name, const struct gpu_data *gd, int params,
                   int batch, int pad, const float mean[3], const float std[3]);

/* Normalisation of a data set: RepDistiller's CIFAR-100 values, the CIFAR-10 training set's,
 * else measured on d (per channel; channels past 3 use the third). */
void gpu_data_normalisation(const struct dataset *d, float mean[3], float std[3]);

/* An evaluation head: the tensors of a forward phase that classifies `batch` images. */
struct eval_head {
    int phase;
    int batch;
    int params, labels;     /* INPUT u32 (batch x 4), (batch) */
    int loss, top1, top5;   /* OUTPUT scalars of the cross-entropy */
    int logits;             /* (batch, classes) */
};

/* Runs the head over every image of d exactly once (the last batch padded with ignored rows).
 * loss: mean over images; top1/top5 in percent. logits_out (d->n x classes floats) or NULL.
 * Returns VKD_OK or the device's failure. */
enum vkd_status eval_dataset(struct vkd_vk *vk, const struct vkd_graph *g,
                             const struct eval_head *h, const struct dataset *d, double *loss,
                             double *top1, double *top5, float *logits_out);

#endif

/*
 * gpu_data.h - data sets on the GPU: a data set's uint8 images either resident, as up to
 * VKD_AUGMENT_CHUNKS u32 STATE tensors (each within maxStorageBufferRange), or streamed, one
 * batch at a time through a device tensor of `batch` images that host threads fill ahead of the
 * GPU (data_stream.h); the augmentation op that turns them into batches; and evaluation over a
 * whole data set through a forward phase.
 *
 * Both modes run the same graph on the same pixels: a streamed batch holds image idx[i] at
 * position i, and the per-sample parameters point at i instead of idx[i], so a streamed run is
 * bit-identical to a resident one (tests/train_test.sh checks it).
 */
#ifndef VKD_GPU_DATA_H
#define VKD_GPU_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "data.h"
#include "vkd.h"
#include "vkd_shared.h"

struct data_stream;

struct gpu_data {
    const struct dataset *d;
    int ids[VKD_AUGMENT_CHUNKS];
    int n;
    uint32_t per_chunk;
    int streamed;            /* 1: one chunk of `batch` images, refilled every step */
    int batch;
    struct data_stream *ds;  /* streamed: the host ring (gpu_data_upload starts it) */
    uint32_t *seq;           /* streamed: scratch for in-order batches (batch entries) */
};

/* Plans d's images into g for batches of `batch`: resident when they are in host memory, fit in
 * the device's storage buffers and stream is 0, else streamed. Returns 0, or -1 with a sentence in err. */
int gpu_data_plan(struct vkd_graph *g, const struct vkd_device_info *dev,
                  const struct dataset *d, const char *name, int batch, int stream,
                  struct gpu_data *out, char *err, size_t errlen);
/* Resident: uploads the images. Streamed: starts the host threads. */
enum vkd_status gpu_data_upload(struct vkd_vk *vk, const struct vkd_graph *g,
                                struct gpu_data *gd);
void gpu_data_free(struct gpu_data *gd);
/* Streamed: the sentence of an image that could not be read (naming it), else NULL. */
const char *gpu_data_error(const struct gpu_data *gd);
/* Streamed: queues batches of order[*queued ...] (NULL: images in order) until the ring is full
 * or `total` images are queued; the last batch may be partial. Resident: nothing. */
void gpu_data_prefetch(struct gpu_data *gd, const uint32_t *order, uint64_t total,
                       uint64_t *queued);
/* Before a step on `count` images whose parameters prm (count x 4) name images of d: streamed,
 * uploads the next queued batch to the device and points prm at its positions. */
enum vkd_status gpu_data_feed(struct vkd_vk *vk, struct gpu_data *gd, uint32_t *prm, int count);
/* A normalised batch of `batch` images from per-sample parameters `params` (INPUT u32,
 * batch x 4): zero-pad by pad, crop back to the image size, optional flip (shaders/augment.h). */
int gpu_data_batch(struct vkd_graph *g, const char *name, const struct gpu_data *gd, int params,
                   int batch, int pad, const float mean[3], const float std[3]);

/* Normalisation of a data set: RepDistiller's CIFAR-100 values, the CIFAR-10 training set's,
 * else measured on d (per channel; channels past 3 use the third), on-demand folder sets on
 * their first GPU_DATA_NORM_SAMPLE images (class-interleaved, so every class is in them).
 * Returns 0, or -1 with a sentence in err (an image that cannot be decoded). */
#define GPU_DATA_NORM_SAMPLE 4096
int gpu_data_normalisation(const struct dataset *d, float mean[3], float std[3], char *err,
                           size_t errlen);

/* An evaluation head: the tensors of a forward phase that classifies `batch` images. */
struct eval_head {
    int phase;
    int batch;
    int params, labels;     /* INPUT u32 (batch x 4), (batch) */
    int loss, top1, top5;   /* OUTPUT scalars of the cross-entropy */
    int logits;             /* (batch, classes) */
};

/* Runs the head over every image of d = gd->d exactly once (the last batch padded with ignored
 * rows); gd was planned with the head's batch. loss: mean over images; top1/top5 in percent.
 * logits_out (d->n x classes floats) or NULL. Returns VKD_OK or the device's failure. */
enum vkd_status eval_dataset(struct vkd_vk *vk, const struct vkd_graph *g,
                             const struct eval_head *h, struct gpu_data *gd, double *loss,
                             double *top1, double *top5, float *logits_out);

#endif

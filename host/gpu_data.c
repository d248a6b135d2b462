/*
 * gpu_data.c - data sets resident on the GPU and whole-set evaluation (see gpu_data.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_stream.h"
#include "gpu_data.h"
#include "vkd_ops.h"

/* Host threads that gather a streamed batch, and batches they may run ahead of the GPU. */
#define GPU_DATA_THREADS 2
#define GPU_DATA_SLOTS 4

int gpu_data_plan(struct vkd_graph *g, const struct vkd_device_info *dev,
                  const struct dataset *d, const char *name, int batch, int stream,
                  struct gpu_data *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->d = d;
    out->batch = batch;
    size_t image = (size_t)d->c * d->h * d->w;
    uint64_t per = dev->max_storage_range / image;
    if (per > d->n)
        per = d->n;
    int n = (int)((d->n + per - 1) / per);
    if (stream || n > VKD_AUGMENT_CHUNKS || !d->pixels) {
        if ((uint64_t)batch * image > dev->max_storage_range) {
            snprintf(err, errlen,
                     "a batch of %d %ux%ux%u images (%.0f MiB) exceeds this device's largest "
                     "storage buffer (%.0f MiB); use a smaller --batch",
                     batch, d->c, d->h, d->w, (double)batch * image / (1 << 20),
                     (double)dev->max_storage_range / (1 << 20));
            return -1;
        }
        per = (uint64_t)batch, n = 1;
        out->streamed = 1;
    }
    for (int i = 0; i < n; i++) {
        char tn[32];
        snprintf(tn, sizeof(tn), "data.%s.%d", name, i);
        out->ids[i] = vkd_graph_tensor(g, tn, VKD_T_STATE, VKD_U32,
                                       (int)((per * image + 3) / 4), 1, 1, 1);
    }
    out->n = n;
    out->per_chunk = (uint32_t)per;
    return 0;
}

enum vkd_status gpu_data_upload(struct vkd_vk *vk, const struct vkd_graph *g,
                                struct gpu_data *gd)
{
    const struct dataset *d = gd->d;
    size_t image = (size_t)d->c * d->h * d->w;
    (void)g;
    if (gd->streamed) {
        gd->ds = data_stream_create(d, gd->batch, GPU_DATA_SLOTS, GPU_DATA_THREADS);
        gd->seq = malloc(sizeof(uint32_t) * (size_t)gd->batch);
        return gd->ds && gd->seq ? VKD_OK : VKD_ERR_OUT_OF_MEMORY;
    }
    for (int i = 0; i < gd->n; i++) {
        size_t first = (size_t)i * gd->per_chunk;
        size_t count = d->n - first < gd->per_chunk ? d->n - first : gd->per_chunk;
        enum vkd_status st = vkd_vk_write_raw(vk, gd->ids[i], d->pixels + first * image,
                                              count * image);
        if (st != VKD_OK)
            return st;
    }
    return VKD_OK;
}

void gpu_data_free(struct gpu_data *gd)
{
    data_stream_destroy(gd->ds);
    free(gd->seq);
    gd->ds = NULL, gd->seq = NULL;
}

const char *gpu_data_error(const struct gpu_data *gd)
{
    return gd->ds ? data_stream_error(gd->ds) : NULL;
}

void gpu_data_prefetch(struct gpu_data *gd, const uint32_t *order, uint64_t total,
                       uint64_t *queued)
{
    if (!gd->streamed)
        return;
    while (*queued < total && data_stream_pending(gd->ds) < GPU_DATA_SLOTS) {
        uint64_t left = total - *queued;
        int cnt = left < (uint64_t)gd->batch ? (int)left : gd->batch;
        const uint32_t *idx = order ? order + *queued : gd->seq;
        for (int i = 0; !order && i < cnt; i++)
            gd->seq[i] = (uint32_t)(*queued + (uint64_t)i);
        if (data_stream_push(gd->ds, idx, cnt) < 0)
            break;
        *queued += (uint64_t)cnt;
    }
}

enum vkd_status gpu_data_feed(struct vkd_vk *vk, struct gpu_data *gd, uint32_t *prm, int count)
{
    if (!gd->streamed)
        return VKD_OK;
    const struct dataset *d = gd->d;
    const uint8_t *px = data_stream_pop(gd->ds);
    if (!px || count > gd->batch)
        return VKD_ERR_INVALID; /* a host bug: this step's batch was not prefetched */
    enum vkd_status st =
        vkd_vk_write_raw(vk, gd->ids[0], px, (size_t)gd->batch * d->c * d->h * d->w);
    data_stream_release(gd->ds);
    for (int i = 0; i < count; i++)
        prm[4 * i] = (uint32_t)i;
    return st;
}

int gpu_data_batch(struct vkd_graph *g, const char *name, const struct gpu_data *gd, int params,
                   int batch, int pad, const float mean[3], const float std[3])
{
    const struct dataset *d = gd->d;
    struct vkd_augment_params ap = {
        .n = (uint32_t)batch, .c = d->c, .h = d->h, .w = d->w, .oh = d->h, .ow = d->w,
        .pad = (uint32_t)pad, .per_chunk = gd->per_chunk,
        .images = gd->streamed ? (uint32_t)batch : d->n};
    for (int c = 0; c < 3; c++)
        ap.mean[c] = mean[c], ap.inv_std[c] = 1.0f / std[c];
    return vkd_augment(g, name, gd->ids, gd->n, params, &ap);
}

int gpu_data_normalisation(const struct dataset *d, float mean[3], float std[3], char *err,
                           size_t errlen)
{
    static const float c100[2][3] = {{0.5071f, 0.4867f, 0.4408f}, {0.2675f, 0.2565f, 0.2761f}};
    static const float c10[2][3] = {{0.4914f, 0.4822f, 0.4465f}, {0.2470f, 0.2435f, 0.2616f}};
    if (d->format == DATA_CIFAR100 || d->format == DATA_CIFAR10) {
        const float(*k)[3] = d->format == DATA_CIFAR100 ? c100 : c10;
        memcpy(mean, k[0], 3 * sizeof(float));
        memcpy(std, k[1], 3 * sizeof(float));
        return 0;
    }
    size_t plane = (size_t)d->h * d->w;
    uint32_t n = d->pixels || d->n < GPU_DATA_NORM_SAMPLE ? d->n : GPU_DATA_NORM_SAMPLE;
    uint8_t *img = d->pixels ? NULL : malloc(plane * d->c);
    if (!d->pixels && !img) {
        snprintf(err, errlen, "%s: out of host memory", d->source);
        return -1;
    }
    double sum[3] = {0}, sq[3] = {0};
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *p = d->pixels ? d->pixels + (size_t)i * d->c * plane : img;
        if (img && data_image(d, i, img, err, errlen) < 0) {
            free(img);
            return -1;
        }
        for (uint32_t c = 0; c < d->c && c < 3; c++)
            for (size_t j = 0; j < plane; j++)
                sum[c] += p[c * plane + j], sq[c] += (double)p[c * plane + j] * p[c * plane + j];
    }
    free(img);
    for (uint32_t c = 0; c < d->c && c < 3; c++) {
        double cnt = (double)n * (double)plane, m = sum[c] / cnt / 255.0;
        double var = sq[c] / cnt / (255.0 * 255.0) - m * m;
        mean[c] = (float)m;
        std[c] = (float)(var > 1e-12 ? sqrt(var) : 1.0);
    }
    for (uint32_t c = d->c; c < 3; c++)
        mean[c] = mean[0], std[c] = std[0];
    return 0;
}

enum vkd_status eval_dataset(struct vkd_vk *vk, const struct vkd_graph *g,
                             const struct eval_head *h, struct gpu_data *gd, double *loss,
                             double *top1, double *top5, float *logits_out)
{
    const struct dataset *d = gd->d;
    uint64_t queued = 0;
    uint32_t B = (uint32_t)h->batch;
    uint32_t *prm = malloc(16 * (size_t)B), *lab = malloc(4 * (size_t)B);
    size_t classes = vkd_tensor_numel(vkd_graph_tensor_at(g, h->logits)) / B;
    float *lg = logits_out ? malloc(sizeof(float) * B * classes) : NULL;
    enum vkd_status st = prm && lab && (!logits_out || lg) ? VKD_OK : VKD_ERR_OUT_OF_MEMORY;
    double lsum = 0, h1 = 0, h5 = 0;
    for (uint32_t first = 0; st == VKD_OK && first < d->n; first += B) {
        uint32_t valid = d->n - first < B ? d->n - first : B;
        for (uint32_t i = 0; i < B; i++) {
            uint32_t idx = i < valid ? first + i : 0;
            prm[4 * i] = idx, prm[4 * i + 1] = prm[4 * i + 2] = prm[4 * i + 3] = 0;
            lab[i] = i < valid ? d->labels[idx] : VKD_CE_IGNORE;
        }
        double l, t1, t5;
        gpu_data_prefetch(gd, NULL, d->n, &queued);
        if ((st = gpu_data_feed(vk, gd, prm, (int)valid)) != VKD_OK ||
            (st = vkd_vk_write_raw(vk, h->params, prm, 16 * (size_t)B)) != VKD_OK ||
            (st = vkd_vk_write_raw(vk, h->labels, lab, 4 * (size_t)B)) != VKD_OK ||
            (st = vkd_vk_run_phase(vk, h->phase)) != VKD_OK ||
            (st = vkd_vk_read(vk, h->loss, &l)) != VKD_OK ||
            (st = vkd_vk_read(vk, h->top1, &t1)) != VKD_OK ||
            (st = vkd_vk_read(vk, h->top5, &t5)) != VKD_OK)
            break;
        if (lg) {
            if ((st = vkd_vk_read_f32(vk, h->logits, lg)) != VKD_OK)
                break;
            memcpy(logits_out + (size_t)first * classes, lg, sizeof(float) * valid * classes);
        }
        lsum += l * valid, h1 += t1, h5 += t5;
    }
    *loss = lsum / d->n;
    *top1 = 100.0 * h1 / d->n;
    *top5 = 100.0 * h5 / d->n;
    free(prm);
    free(lab);
    free(lg);
    return st;
}

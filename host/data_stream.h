/*
 * data_stream.h - batches of images gathered by host threads into a ring of host buffers ahead
 * of the GPU, for data sets that do not stay resident on the device (too large for its storage
 * buffers, or --stream).
 *
 * The consumer pushes the image indices of upcoming batches (FIFO, up to `slots` in flight);
 * worker threads copy (or, for on-demand folder sets, decode) each batch's images into its slot
 * while the GPU runs earlier steps; the
 * consumer pops batches in push order, uploads the slot and releases it. What a batch contains
 * depends only on the indices, so a streamed run computes exactly what a resident run does.
 */
#ifndef VKD_DATA_STREAM_H
#define VKD_DATA_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "data.h"

struct data_stream;

/* A stream of batches of `batch` images of d with `slots` ring slots and `threads` workers.
 * Returns NULL when out of memory or threads cannot start. */
struct data_stream *data_stream_create(const struct dataset *d, int batch, int slots,
                                       int threads);
void data_stream_destroy(struct data_stream *s);

/* Queues one batch: count <= batch indices (the rest of the slot is zero). Returns 0, or -1
 * when all slots are in flight (pop first). */
int data_stream_push(struct data_stream *s, const uint32_t *idx, int count);
/* Batches pushed and not yet popped. */
int data_stream_pending(const struct data_stream *s);
/* Waits for the oldest pushed batch and returns its pixels (batch * c*h*w bytes), valid until
 * data_stream_release(). NULL when nothing is pending or an image could not be read
 * (data_stream_error() says which). */
const uint8_t *data_stream_pop(struct data_stream *s);
/* The first failure's sentence (naming the file), or NULL. */
const char *data_stream_error(struct data_stream *s);
void data_stream_release(struct data_stream *s);

#endif

/*
 * data_stream.c - the ring of host batches behind streamed data sets (see data_stream.h).
 *
 * Slots go FREE -> QUEUED (pushed) -> BUSY (a worker gathers) -> READY -> FREE (released). The
 * consumer alone moves head (oldest pushed, not released) and tail (next to push); workers take
 * jobs in push order through `next`, but may finish out of order, so pop waits on its own slot.
 * The slot between pop and release is never reused: push refuses when tail - head == slots.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_stream.h"

enum { SLOT_FREE, SLOT_QUEUED, SLOT_BUSY, SLOT_READY };

struct data_stream {
    const struct dataset *d;
    size_t image;           /* bytes per image */
    int batch, slots;
    uint8_t *ring;          /* slots * batch * image */
    uint32_t *idx;          /* slots * batch */
    int *count, *state;     /* per slot */
    uint64_t head, tail;    /* consumer's: oldest unreleased, next to push */
    uint64_t next;          /* workers': next job to take (under mu) */
    int stop;
    int failed;             /* a gather failed: pops return NULL from then on */
    char err[1024];         /* its reason (under mu) */
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    pthread_t *th;
    int n_th;
};

/* Fills slot k; returns 0, or -1 with the reason in err. */
static int gather(const struct data_stream *s, int k, char *err, size_t errlen)
{
    size_t bytes = (size_t)s->batch * s->image;
    uint8_t *dst = s->ring + (size_t)k * bytes;
    const uint32_t *idx = s->idx + (size_t)k * s->batch;
    int n = s->count[k];
    for (int i = 0; i < n; i++)
        if (data_image(s->d, idx[i], dst + (size_t)i * s->image, err, errlen) < 0)
            return -1;
    memset(dst + (size_t)n * s->image, 0, (size_t)(s->batch - n) * s->image);
    return 0;
}

static void *worker(void *arg)
{
    struct data_stream *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->stop && s->next == s->tail)
            pthread_cond_wait(&s->work, &s->mu);
        if (s->stop)
            break;
        int k = (int)(s->next++ % (uint64_t)s->slots);
        s->state[k] = SLOT_BUSY;
        pthread_mutex_unlock(&s->mu);
        char err[1024];
        int rc = gather(s, k, err, sizeof(err));
        pthread_mutex_lock(&s->mu);
        if (rc < 0 && !s->failed)
            s->failed = 1, snprintf(s->err, sizeof(s->err), "%s", err);
        s->state[k] = SLOT_READY;
        pthread_cond_broadcast(&s->done);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

struct data_stream *data_stream_create(const struct dataset *d, int batch, int slots,
                                       int threads)
{
    struct data_stream *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->d = d;
    s->image = (size_t)d->c * d->h * d->w;
    s->batch = batch, s->slots = slots;
    s->ring = malloc((size_t)slots * batch * s->image);
    s->idx = malloc(sizeof(uint32_t) * (size_t)slots * batch);
    s->count = calloc((size_t)slots, sizeof(int));
    s->state = calloc((size_t)slots, sizeof(int));
    s->th = calloc((size_t)threads, sizeof(pthread_t));
    if (!s->ring || !s->idx || !s->count || !s->state || !s->th)
        goto fail_alloc;
    if (pthread_mutex_init(&s->mu, NULL) != 0)
        goto fail_alloc;
    if (pthread_cond_init(&s->work, NULL) != 0)
        goto fail_mutex;
    if (pthread_cond_init(&s->done, NULL) != 0)
        goto fail_work;
    for (; s->n_th < threads; s->n_th++)
        if (pthread_create(&s->th[s->n_th], NULL, worker, s) != 0)
            break;
    if (s->n_th == threads)
        return s;
    data_stream_destroy(s); /* stops the workers that did start */
    return NULL;
fail_work:
    pthread_cond_destroy(&s->work);
fail_mutex:
    pthread_mutex_destroy(&s->mu);
fail_alloc:
    free(s->ring), free(s->idx), free(s->count), free(s->state), free(s->th);
    free(s);
    return NULL;
}

void data_stream_destroy(struct data_stream *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_broadcast(&s->work);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->n_th; i++)
        pthread_join(s->th[i], NULL);
    pthread_cond_destroy(&s->done);
    pthread_cond_destroy(&s->work);
    pthread_mutex_destroy(&s->mu);
    free(s->ring), free(s->idx), free(s->count), free(s->state), free(s->th);
    free(s);
}

int data_stream_push(struct data_stream *s, const uint32_t *idx, int count)
{
    if (s->tail - s->head >= (uint64_t)s->slots || count < 0 || count > s->batch)
        return -1;
    int k = (int)(s->tail % (uint64_t)s->slots);
    memcpy(s->idx + (size_t)k * s->batch, idx, sizeof(uint32_t) * (size_t)count);
    s->count[k] = count;
    pthread_mutex_lock(&s->mu);
    s->state[k] = SLOT_QUEUED;
    s->tail++;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

int data_stream_pending(const struct data_stream *s)
{
    return (int)(s->tail - s->head);
}

const uint8_t *data_stream_pop(struct data_stream *s)
{
    if (s->head == s->tail)
        return NULL;
    int k = (int)(s->head % (uint64_t)s->slots);
    pthread_mutex_lock(&s->mu);
    while (s->state[k] != SLOT_READY && !s->failed)
        pthread_cond_wait(&s->done, &s->mu);
    int failed = s->failed;
    pthread_mutex_unlock(&s->mu);
    return failed ? NULL : s->ring + (size_t)k * s->batch * s->image;
}

const char *data_stream_error(struct data_stream *s)
{
    pthread_mutex_lock(&s->mu);
    const char *e = s->failed ? s->err : NULL; /* written once, before failed is set */
    pthread_mutex_unlock(&s->mu);
    return e;
}

void data_stream_release(struct data_stream *s)
{
    int k = (int)(s->head % (uint64_t)s->slots);
    pthread_mutex_lock(&s->mu);
    s->state[k] = SLOT_FREE;
    pthread_mutex_unlock(&s->mu);
    s->head++;
}

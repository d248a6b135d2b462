/*
 * data_cifar.c - the CIFAR-10 and CIFAR-100 binary versions.
 *   CIFAR-10:  data_batch_1.bin .. data_batch_5.bin (train), test_batch.bin (test);
 *              records of 1 label byte (0..9) + 3072 pixel bytes (R, G, B planes of 32x32).
 *   CIFAR-100: train.bin, test.bin; records of a coarse label (0..19), a fine label (0..99)
 *              and 3072 pixel bytes. The fine label is the class.
 * The pixel planes are already channel-major, as the engine wants them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"

#define CIFAR_PIXELS 3072

/* Appends the records of one file to out (grown as needed). */
static int read_file(const char *path, int cifar100, struct dataset *out, char *err,
                     size_t errlen)
{
    size_t rec = (cifar100 ? 2 : 1) + CIFAR_PIXELS;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open it (is this the CIFAR-%s binary version?)", path,
                 cifar100 ? "100" : "10");
        return -1;
    }
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    rewind(f);
    if (size <= 0 || size % (long)rec != 0) {
        snprintf(err, errlen,
                 "%s: %ld bytes is not a whole number of %zu-byte CIFAR-%s records (truncated?)",
                 path, size, rec, cifar100 ? "100" : "10");
        fclose(f);
        return -1;
    }
    uint32_t n = (uint32_t)(size / (long)rec);
    uint8_t *px = realloc(out->pixels, (size_t)(out->n + n) * CIFAR_PIXELS);
    if (px)
        out->pixels = px;
    uint32_t *lb = realloc(out->labels, sizeof(uint32_t) * (out->n + n));
    if (lb)
        out->labels = lb;
    unsigned char *buf = malloc(rec);
    if (!px || !lb || !buf) {
        free(buf);
        fclose(f);
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (fread(buf, 1, rec, f) != rec) {
            snprintf(err, errlen, "%s: read error at record %u", path, i);
            goto fail;
        }
        uint32_t label = cifar100 ? buf[1] : buf[0];
        if ((cifar100 && buf[0] >= 20) || label >= out->classes) {
            snprintf(err, errlen, "%s: record %u has label %u, out of range (0..%u)", path, i,
                     label, out->classes - 1);
            goto fail;
        }
        out->labels[out->n + i] = label;
        memcpy(out->pixels + (size_t)(out->n + i) * CIFAR_PIXELS, buf + rec - CIFAR_PIXELS,
               CIFAR_PIXELS);
    }
    free(buf);
    fclose(f);
    out->n += n;
    return 0;
fail:
    free(buf);
    fclose(f);
    return -1;
}

int data_load_cifar(const char *dir, int cifar100, int train, struct dataset *out, char *err,
                    size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->c = 3, out->h = 32, out->w = 32;
    out->classes = cifar100 ? 100 : 10;
    out->format = cifar100 ? DATA_CIFAR100 : DATA_CIFAR10;
    char path[1024];
    int rc = 0;
    if (cifar100) {
        snprintf(path, sizeof(path), "%s/%s", dir, train ? "train.bin" : "test.bin");
        rc = read_file(path, 1, out, err, errlen);
    } else if (train) {
        for (int b = 1; b <= 5 && rc == 0; b++) {
            snprintf(path, sizeof(path), "%s/data_batch_%d.bin", dir, b);
            rc = read_file(path, 0, out, err, errlen);
        }
    } else {
        snprintf(path, sizeof(path), "%s/test_batch.bin", dir);
        rc = read_file(path, 0, out, err, errlen);
    }
    if (rc < 0) {
        data_free(out);
        return -1;
    }
    snprintf(out->source, sizeof(out->source), "%s", dir);
    return 0;
}

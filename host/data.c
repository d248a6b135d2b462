/*
 * data.c - data-set detection and the common entry point (see data.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data.h"

const char *data_format_name(enum data_format f)
{
    switch (f) {
    case DATA_AUTO: return "auto";
    case DATA_IDX: return "idx";
    case DATA_CIFAR10: return "cifar10";
    case DATA_CIFAR100: return "cifar100";
    case DATA_FOLDER: return "folder";
    }
    return "?";
}

void data_free(struct dataset *d)
{
    free(d->pixels);
    free(d->labels);
    for (uint32_t i = 0; d->paths && i < d->n_paths; i++)
        free(d->paths[i]);
    free(d->paths);
    if (d->class_names)
        for (uint32_t i = 0; i < d->classes; i++)
            free(d->class_names[i]);
    free(d->class_names);
    memset(d, 0, sizeof(*d));
}

static int exists(const char *dir, const char *name, int want_dir)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return stat(path, &st) == 0 && (want_dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode));
}

static enum data_format detect(const char *dir)
{
    if (exists(dir, "train-images-idx3-ubyte.gz", 0) || exists(dir, "train-images-idx3-ubyte", 0) ||
        exists(dir, "t10k-images-idx3-ubyte.gz", 0) || exists(dir, "t10k-images-idx3-ubyte", 0))
        return DATA_IDX;
    if (exists(dir, "data_batch_1.bin", 0) || exists(dir, "test_batch.bin", 0))
        return DATA_CIFAR10;
    if (exists(dir, "train.bin", 0) || exists(dir, "test.bin", 0))
        return DATA_CIFAR100;
    if (exists(dir, "train", 1))
        return DATA_FOLDER;
    return DATA_AUTO;
}

/* IDX file names: the .gz version if present, else the plain one. */
static void idx_path(char *out, size_t len, const char *dir, const char *stem)
{
    snprintf(out, len, "%s/%s.gz", dir, stem);
    struct stat st;
    if (stat(out, &st) != 0)
        snprintf(out, len, "%s/%s", dir, stem);
}

int data_load(const struct data_request *req, struct dataset *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    struct stat st;
    if (stat(req->dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: no such directory", req->dir);
        return -1;
    }
    enum data_format f = req->format == DATA_AUTO ? detect(req->dir) : req->format;
    char a[4096], b[4096];
    int rc;
    switch (f) {
    case DATA_IDX:
        idx_path(a, sizeof(a), req->dir, req->train ? "train-images-idx3-ubyte" : "t10k-images-idx3-ubyte");
        idx_path(b, sizeof(b), req->dir, req->train ? "train-labels-idx1-ubyte" : "t10k-labels-idx1-ubyte");
        rc = data_load_idx(a, b, out, err, errlen);
        break;
    case DATA_CIFAR10:
    case DATA_CIFAR100:
        rc = data_load_cifar(req->dir, f == DATA_CIFAR100, req->train, out, err, errlen);
        break;
    case DATA_FOLDER:
        /* the evaluation split of a folder set is val/ (ImageNet, CUB) or else test/ */
        snprintf(a, sizeof(a), "%s/%s", req->dir,
                 req->train ? "train" : (exists(req->dir, "val", 1) ? "val" : "test"));
        rc = data_load_folder(a, req->size ? req->size : 32, req->on_demand, req->limit, out,
                              err, errlen);
        break;
    default:
        snprintf(err, errlen,
                 "%s: no data set found (expected IDX files such as train-images-idx3-ubyte.gz, "
                 "CIFAR binaries data_batch_1.bin or train.bin, or class folders train/<class>/)",
                 req->dir);
        return -1;
    }
    if (rc == 0 && req->limit && req->limit < out->n)
        out->n = req->limit; /* the arrays keep their size; only the first n are used */
    return rc;
}

int data_image(const struct dataset *d, uint32_t i, uint8_t *dst, char *err, size_t errlen)
{
    size_t image = (size_t)d->c * d->h * d->w;
    if (d->pixels) {
        memcpy(dst, d->pixels + (size_t)i * image, image);
        return 0;
    }
    return data_folder_decode(d->paths[i], d->h, dst, err, errlen);
}

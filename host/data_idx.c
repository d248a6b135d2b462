/*
 * data_idx.c - IDX files (MNIST, Fashion-MNIST), plain or gzip-compressed: zlib's gzread reads
 * both transparently. Format: big-endian magic 0x00000803 (uint8, 3 dimensions: n, rows, cols)
 * for images and 0x00000801 (uint8, 1 dimension: n) for labels, then the bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "data.h"

#define IDX_IMAGES 0x00000803u
#define IDX_LABELS 0x00000801u
#define IDX_CLASSES 10 /* MNIST and Fashion-MNIST both have ten classes */

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Reads exactly n bytes; -1 and a sentence if the file ends early or cannot be read. */
static int read_exact(gzFile f, const char *path, void *dst, size_t n, const char *what,
                      char *err, size_t errlen)
{
    size_t done = 0;
    while (done < n) {
        unsigned chunk = n - done > (1u << 30) ? 1u << 30 : (unsigned)(n - done);
        int r = gzread(f, (char *)dst + done, chunk);
        if (r < 0) {
            int code;
            const char *msg = gzerror(f, &code);
            snprintf(err, errlen, "%s: cannot read %s: %s", path, what, msg);
            return -1;
        }
        if (r == 0) {
            snprintf(err, errlen, "%s: truncated: its %s needs %zu bytes, the file has %zu", path,
                     what, n, done);
            return -1;
        }
        done += (size_t)r;
    }
    return 0;
}

/* Opens an IDX file and checks its header; dims gets the dimensions. */
static gzFile open_idx(const char *path, uint32_t magic, int ndim, uint32_t *dims, char *err,
                       size_t errlen)
{
    gzFile f = gzopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open it", path);
        return NULL;
    }
    unsigned char hdr[16];
    if (read_exact(f, path, hdr, 4 + 4 * (size_t)ndim, "header", err, errlen) < 0) {
        gzclose(f);
        return NULL;
    }
    if (be32(hdr) != magic) {
        snprintf(err, errlen, "%s: wrong magic number 0x%08x (an IDX %s file has 0x%08x)", path,
                 be32(hdr), magic == IDX_IMAGES ? "image" : "label", magic);
        gzclose(f);
        return NULL;
    }
    for (int i = 0; i < ndim; i++) {
        dims[i] = be32(hdr + 4 + 4 * i);
        if (dims[i] == 0 || dims[i] > (1u << 28)) {
            snprintf(err, errlen, "%s: dimension %d is %u, not a plausible size", path, i,
                     dims[i]);
            gzclose(f);
            return NULL;
        }
    }
    return f;
}

/* After the payload the file must end: extra bytes mean it is not what the header says. */
static int check_end(gzFile f, const char *path, char *err, size_t errlen)
{
    char extra;
    if (gzread(f, &extra, 1) != 0) {
        snprintf(err, errlen, "%s: the file is longer than its header says", path);
        return -1;
    }
    return 0;
}

int data_load_idx(const char *images, const char *labels, struct dataset *out, char *err,
                  size_t errlen)
{
    memset(out, 0, sizeof(*out));
    uint32_t idims[3], ldims[1];
    gzFile fi = NULL, fl = NULL;
    int rc = -1;
    fi = open_idx(images, IDX_IMAGES, 3, idims, err, errlen);
    if (!fi)
        goto out;
    fl = open_idx(labels, IDX_LABELS, 1, ldims, err, errlen);
    if (!fl)
        goto out;
    if (idims[0] != ldims[0]) {
        snprintf(err, errlen, "%s has %u labels but %s has %u images", labels, ldims[0], images,
                 idims[0]);
        goto out;
    }
    out->n = idims[0], out->c = 1, out->h = idims[1], out->w = idims[2];
    out->classes = IDX_CLASSES;
    out->format = DATA_IDX;
    size_t npix = (size_t)out->n * out->h * out->w;
    out->pixels = malloc(npix);
    out->labels = malloc(sizeof(uint32_t) * out->n);
    uint8_t *raw = malloc(out->n);
    if (!out->pixels || !out->labels || !raw) {
        free(raw);
        snprintf(err, errlen, "%s: out of memory for %zu bytes of images", images, npix);
        goto out;
    }
    if (read_exact(fi, images, out->pixels, npix, "pixel data", err, errlen) < 0 ||
        check_end(fi, images, err, errlen) < 0 ||
        read_exact(fl, labels, raw, out->n, "label data", err, errlen) < 0 ||
        check_end(fl, labels, err, errlen) < 0) {
        free(raw);
        goto out;
    }
    for (uint32_t i = 0; i < out->n; i++) {
        if (raw[i] >= IDX_CLASSES) {
            snprintf(err, errlen, "%s: label %u of image %u is out of range (0..%d)", labels,
                     raw[i], i, IDX_CLASSES - 1);
            free(raw);
            goto out;
        }
        out->labels[i] = raw[i];
    }
    free(raw);
    snprintf(out->source, sizeof(out->source), "%s", images);
    rc = 0;
out:
    if (fi)
        gzclose(fi);
    if (fl)
        gzclose(fl);
    if (rc < 0)
        data_free(out);
    return rc;
}

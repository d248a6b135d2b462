/*
 * data.h - data sets in memory: uint8 images (CHW per image) and u32 labels, loaded from
 * IDX files (MNIST, Fashion-MNIST; plain or gzip), the CIFAR-10/100 binary versions, or image
 * folders (one sub-folder per class; PNG/JPEG/BMP/TGA/GIF through stb_image, resized).
 *
 * Every loader checks what it reads and fails with one sentence naming the file and the problem
 * (truncated file, wrong magic number, label out of range, unreadable or empty image, empty
 * class folder, mismatched counts); on failure nothing is left allocated.
 */
#ifndef VKD_DATA_H
#define VKD_DATA_H

#include <stddef.h>
#include <stdint.h>

enum data_format { DATA_AUTO, DATA_IDX, DATA_CIFAR10, DATA_CIFAR100, DATA_FOLDER };

struct dataset {
    char source[512];  /* the directory or files it came from */
    enum data_format format;
    uint32_t n;        /* images */
    uint32_t c, h, w;  /* per image, uint8, channel-major (CHW) */
    uint32_t classes;
    uint8_t *pixels;   /* n * c * h * w, or NULL: decoded on demand from paths */
    char **paths;      /* on-demand folder sets: every image file (n_paths), else NULL */
    uint32_t n_paths;
    uint32_t *labels;  /* n, each < classes */
    char **class_names; /* classes entries (folders: the sub-folder names), or NULL */
};

/* The Debian package dataset-fashion-mnist installs here; the default when --data is absent. */
#define DATA_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"

struct data_request {
    const char *dir;         /* data directory */
    enum data_format format; /* DATA_AUTO: detected from the files in dir */
    int train;               /* 1: the training split, 0: the test split (folders: val, else test) */
    uint32_t size;           /* folders: images are resized to size x size (0: 32) */
    uint32_t limit;          /* keep only the first `limit` images (0: all) */
    int on_demand;           /* folders: decode images when a batch needs them, even when the
                              * decoded set would fit in DATA_RESIDENT_MAX bytes */
};

/* Folder sets larger than this once decoded are decoded on demand (data_stream.h). */
#define DATA_RESIDENT_MAX (1ull << 30)

/* Returns 0, or -1 with one sentence in err. */
int data_load(const struct data_request *req, struct dataset *out, char *err, size_t errlen);
void data_free(struct dataset *d);
/* Image i (< d->n) as c*h*w uint8 planes into dst: a copy, or decoded from its file. Returns 0,
 * or -1 with one sentence in err naming the file. Thread-safe. */
int data_image(const struct dataset *d, uint32_t i, uint8_t *dst, char *err, size_t errlen);
const char *data_format_name(enum data_format f);

/* Format-specific loaders (data_idx.c, data_cifar.c, data_folder.c); same contract. */
int data_load_idx(const char *images, const char *labels, struct dataset *out, char *err,
                  size_t errlen);
int data_load_cifar(const char *dir, int cifar100, int train, struct dataset *out, char *err,
                    size_t errlen);
int data_load_folder(const char *dir, uint32_t size, int on_demand, uint32_t limit,
                     struct dataset *out, char *err, size_t errlen);
/* One image file decoded to RGB, resized to size x size, as 3 planes into dst. */
int data_folder_decode(const char *path, uint32_t size, uint8_t *dst, char *err, size_t errlen);

#endif

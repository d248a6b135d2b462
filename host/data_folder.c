/*
 * data_folder.c - image folders: DIR/<class>/<image>, classes in sorted name order (as
 * torchvision's ImageFolder), images of each class in sorted name order. Formats: whatever
 * stb_image decodes (PNG, JPEG, BMP, TGA, GIF, PSD, HDR, PNM); files are picked by extension.
 *
 * Each image is decoded to RGB and resized to size x size with stb_image_resize's sRGB-aware
 * filters (Mitchell when shrinking, Catmull-Rom when enlarging); the aspect ratio is not kept,
 * as in fixed-size CIFAR-style pipelines (CINIC-10 is 32x32 already). Decoding runs on host
 * threads: up front into memory, or, for a set larger than DATA_RESIDENT_MAX decoded (or when
 * asked), batch by batch while the GPU trains (the set keeps its paths; data_image()). Images are stored class-interleaved (first image of each class, then the second...),
 * so "the first N images" of a folder set covers every class.
 */
#include <ctype.h>
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb_image.h>
#include <stb_image_resize.h>

#include "data.h"

struct names {
    char **v;
    uint32_t n, cap;
};

static int names_push(struct names *s, const char *name)
{
    if (s->n == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 64;
        char **v = realloc(s->v, sizeof(*v) * cap);
        if (!v)
            return -1;
        s->v = v, s->cap = cap;
    }
    s->v[s->n] = strdup(name);
    return s->v[s->n] ? (int)s->n++ : -1;
}

static void names_free(struct names *s)
{
    for (uint32_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_image(const char *name)
{
    static const char *const ext[] = {".png", ".jpg", ".jpeg", ".bmp", ".tga", ".gif",
                                      ".psd", ".hdr", ".pnm", ".ppm", ".pgm"};
    const char *dot = strrchr(name, '.');
    if (!dot)
        return 0;
    for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
        size_t j = 0;
        while (ext[i][j] && dot[j] && tolower((unsigned char)dot[j]) == ext[i][j])
            j++;
        if (!ext[i][j] && !dot[j])
            return 1;
    }
    return 0;
}

/* Sorted entries of dir: sub-directories (dirs = 1) or image files (dirs = 0). */
static int list_dir(const char *dir, int dirs, struct names *out, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "%s: cannot open the directory", dir);
        return -1;
    }
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        int want = dirs ? S_ISDIR(st.st_mode) : (S_ISREG(st.st_mode) && is_image(e->d_name));
        if (want && names_push(out, e->d_name) < 0) {
            closedir(d);
            snprintf(err, errlen, "%s: out of memory listing it", dir);
            return -1;
        }
    }
    closedir(d);
    qsort(out->v, out->n, sizeof(char *), cmp_str);
    return 0;
}

int data_folder_decode(const char *path, uint32_t size, uint8_t *dst, char *err, size_t errlen)
{
    int w, h, ch;
    uint8_t *img = stbi_load(path, &w, &h, &ch, 3);
    if (!img || w <= 0 || h <= 0) {
        snprintf(err, errlen, "%s: cannot decode the image (%s)", path,
                 img ? "zero size" : stbi_failure_reason());
        stbi_image_free(img);
        return -1;
    }
    uint8_t *rgb = malloc((size_t)size * size * 3);
    int ok = rgb && stbir_resize_uint8_srgb(img, w, h, 0, rgb, (int)size, (int)size, 0, 3,
                                            STBIR_ALPHA_CHANNEL_NONE, 0);
    stbi_image_free(img);
    if (!ok) {
        free(rgb);
        snprintf(err, errlen, "%s: cannot resize the image (out of memory)", path);
        return -1;
    }
    /* interleaved RGB -> channel planes */
    for (uint32_t p = 0; p < size * size; p++)
        for (int c = 0; c < 3; c++)
            dst[(size_t)c * size * size + p] = rgb[3 * p + (uint32_t)c];
    free(rgb);
    return 0;
}

struct job {
    char **paths;    /* per image */
    uint32_t n, size;
    uint8_t *pixels; /* n * 3 * size * size */
    atomic_uint next;
    atomic_int failed;
    char err[1024];
    pthread_mutex_t lock;
};

static int decode_one(struct job *j, uint32_t i)
{
    char err[1024];
    if (data_folder_decode(j->paths[i], j->size, j->pixels + (size_t)i * 3 * j->size * j->size,
                           err, sizeof(err)) == 0)
        return 0;
    pthread_mutex_lock(&j->lock);
    if (!atomic_load(&j->failed))
        snprintf(j->err, sizeof(j->err), "%s", err);
    atomic_store(&j->failed, 1);
    pthread_mutex_unlock(&j->lock);
    return -1;
}

static void *worker(void *arg)
{
    struct job *j = arg;
    for (;;) {
        uint32_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->n || atomic_load(&j->failed))
            return NULL;
        decode_one(j, i);
    }
}

int data_load_folder(const char *dir, uint32_t size, int on_demand, uint32_t limit,
                     struct dataset *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    struct names classes = {0};
    struct names *files = NULL;
    struct job j = {0};
    uint32_t total = 0, most = 0;
    int rc = -1;
    char path[4096];
    if (list_dir(dir, 1, &classes, err, errlen) < 0)
        goto out;
    if (classes.n == 0) {
        snprintf(err, errlen, "%s: no class folders (expected %s/<class>/<images>)", dir, dir);
        goto out;
    }
    files = calloc(classes.n, sizeof(*files));
    if (!files)
        goto oom;
    for (uint32_t c = 0; c < classes.n; c++) {
        snprintf(path, sizeof(path), "%s/%s", dir, classes.v[c]);
        if (list_dir(path, 0, &files[c], err, errlen) < 0)
            goto out;
        if (files[c].n == 0) {
            snprintf(err, errlen, "%s: the class folder has no images (png, jpg, bmp, tga, gif)",
                     path);
            goto out;
        }
        total += files[c].n;
        most = files[c].n > most ? files[c].n : most;
    }
    /* Only the images that will be used (--limit) are decoded up front; a set too large to
     * hold decoded keeps its paths and is decoded a batch at a time (data_stream.h). */
    uint32_t used = limit && limit < total ? limit : total;
    on_demand |= (uint64_t)used * 3 * size * size > DATA_RESIDENT_MAX;
    j.paths = calloc(total, sizeof(char *));
    out->labels = malloc(sizeof(uint32_t) * total);
    if (!on_demand)
        j.pixels = out->pixels = malloc((size_t)used * 3 * size * size);
    if (!j.paths || !out->labels || (!on_demand && !out->pixels))
        goto oom;
    /* class-interleaved order */
    uint32_t k = 0;
    for (uint32_t r = 0; r < most; r++)
        for (uint32_t c = 0; c < classes.n; c++) {
            if (r >= files[c].n)
                continue;
            snprintf(path, sizeof(path), "%s/%s/%s", dir, classes.v[c], files[c].v[r]);
            if (!(j.paths[k] = strdup(path)))
                goto oom;
            out->labels[k++] = c;
        }
    j.n = used, j.size = size;
    if (on_demand) {
        /* check now what can be checked without decoding: every file is readable */
        for (uint32_t i = 0; i < used; i++)
            if (access(j.paths[i], R_OK) != 0) {
                snprintf(err, errlen, "%s: cannot read the image", j.paths[i]);
                goto out;
            }
        out->paths = j.paths, out->n_paths = total; /* handed over */
        j.paths = NULL;
        goto done;
    }
    pthread_mutex_init(&j.lock, NULL);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int nt = ncpu < 1 ? 1 : ncpu > 16 ? 16 : (int)ncpu;
    pthread_t th[16];
    int started = 0;
    for (int t = 0; t < nt; t++)
        if (pthread_create(&th[t], NULL, worker, &j) == 0)
            started++;
    if (started == 0)
        worker(&j);
    for (int t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    pthread_mutex_destroy(&j.lock);
    if (atomic_load(&j.failed)) {
        snprintf(err, errlen, "%s", j.err);
        goto out;
    }
done:
    out->n = used, out->c = 3, out->h = size, out->w = size;
    out->classes = classes.n;
    out->format = DATA_FOLDER;
    out->class_names = classes.v; /* handed over */
    classes.v = NULL, classes.n = 0;
    snprintf(out->source, sizeof(out->source), "%s", dir);
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "%s: out of memory", dir);
out:
    if (j.paths) /* calloc'ed: entries not reached are NULL */
        for (uint32_t i = 0; i < total; i++)
            free(j.paths[i]);
    free(j.paths);
    if (files)
        for (uint32_t c = 0; c < classes.n; c++)
            names_free(&files[c]);
    free(files);
    names_free(&classes);
    if (rc < 0)
        data_free(out);
    return rc;
}

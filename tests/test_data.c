/*
 * test_data.c - the data-set loaders on small generated files (IDX plain and gzip, CIFAR-10,
 * CIFAR-100, image folders) and every malformed-input case: each must fail with one sentence
 * that names the file, and leave nothing allocated. Then the real Fashion-MNIST when installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <stb_image_write.h>

#include "data.h"
#include "data_stream.h"

static int passed, failed;
static char root[256];

static void check(int ok, const char *what, const char *detail)
{
    printf("%-4s %s%s%s\n", ok ? "ok" : "FAIL", what, detail ? ": " : "", detail ? detail : "");
    ok ? passed++ : failed++;
}

static void put_be32(unsigned char *b, uint32_t v)
{
    b[0] = v >> 24, b[1] = v >> 16, b[2] = v >> 8, b[3] = (unsigned char)v;
}

static void write_bytes(const char *path, const void *data, size_t n, int gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        gzwrite(f, data, (unsigned)n);
        gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        fwrite(data, 1, n, f);
        fclose(f);
    }
}

/* An IDX pair of n images (rows x cols) with pixel (i, p) = i * 7 + p and label i % 10. */
static void write_idx(const char *dir, const char *stem, uint32_t n, uint32_t rows,
                      uint32_t cols, int gz, uint32_t magic, int extra_label, int truncate)
{
    char path[512];
    size_t np = (size_t)n * rows * cols;
    unsigned char *img = malloc(16 + np), *lab = malloc(8 + n + 1);
    put_be32(img, magic), put_be32(img + 4, n), put_be32(img + 8, rows), put_be32(img + 12, cols);
    for (size_t i = 0; i < np; i++)
        img[16 + i] = (unsigned char)((i / (rows * cols)) * 7 + i % (rows * cols));
    put_be32(lab, 0x801), put_be32(lab + 4, n);
    for (uint32_t i = 0; i < n; i++)
        lab[8 + i] = (unsigned char)(i % 10);
    if (extra_label >= 0)
        lab[8 + n - 1] = (unsigned char)extra_label;
    snprintf(path, sizeof(path), "%s/%s-images-idx3-ubyte%s", dir, stem, gz ? ".gz" : "");
    write_bytes(path, img, 16 + np - (size_t)truncate, gz);
    snprintf(path, sizeof(path), "%s/%s-labels-idx1-ubyte%s", dir, stem, gz ? ".gz" : "");
    write_bytes(path, lab, 8 + n, gz);
    free(img);
    free(lab);
}

static char *mkdir_in(const char *name)
{
    static char path[8][512];
    static int k;
    char *p = path[k++ % 8];
    snprintf(p, 512, "%s/%s", root, name);
    mkdir(p, 0755);
    return p;
}

/* Loads expecting failure: the message must name `must_name` and contain `must_have`. */
static void expect_fail(const char *what, const struct data_request *req, const char *must_name,
                        const char *must_have)
{
    struct dataset d;
    char err[1024] = "";
    int rc = data_load(req, &d, err, sizeof(err));
    int ok = rc < 0 && strstr(err, must_name) && strstr(err, must_have) && !d.pixels &&
             !d.labels && !strchr(err, '\n');
    check(ok, what, err);
}

static void test_idx(void)
{
    for (int gz = 0; gz < 2; gz++) {
        char *dir = mkdir_in(gz ? "idx_gz" : "idx_plain");
        write_idx(dir, "train", 13, 5, 4, gz, 0x803, -1, 0);
        write_idx(dir, "t10k", 3, 5, 4, gz, 0x803, -1, 0);
        struct dataset d;
        char err[1024];
        struct data_request req = {dir, DATA_AUTO, 1, 0, 0};
        int rc = data_load(&req, &d, err, sizeof(err));
        int ok = rc == 0 && d.n == 13 && d.c == 1 && d.h == 5 && d.w == 4 && d.classes == 10 &&
                 d.format == DATA_IDX && d.pixels[20 * 3 + 2] == 3 * 7 + 2 && d.labels[12] == 2;
        check(ok, gz ? "idx gzip: shapes, pixels, labels" : "idx plain: shapes, pixels, labels",
              rc ? err : NULL);
        if (rc == 0)
            data_free(&d);
        req.train = 0, req.limit = 2;
        rc = data_load(&req, &d, err, sizeof(err));
        check(rc == 0 && d.n == 2, "idx test split with --limit 2", rc ? err : NULL);
        if (rc == 0)
            data_free(&d);
    }
    char *dir = mkdir_in("idx_bad_magic");
    write_idx(dir, "train", 4, 3, 3, 1, 0x804, -1, 0);
    struct data_request req = {dir, DATA_AUTO, 1, 0, 0};
    expect_fail("idx wrong magic number", &req, "train-images-idx3-ubyte.gz", "magic");
    dir = mkdir_in("idx_trunc");
    write_idx(dir, "train", 4, 3, 3, 1, 0x803, -1, 5);
    req.dir = dir;
    expect_fail("idx truncated images", &req, "train-images-idx3-ubyte.gz", "truncated");
    dir = mkdir_in("idx_label");
    write_idx(dir, "train", 4, 3, 3, 0, 0x803, 10, 0);
    req.dir = dir;
    expect_fail("idx label out of range", &req, "train-labels-idx1-ubyte", "out of range");
    dir = mkdir_in("idx_count");
    write_idx(dir, "train", 4, 3, 3, 0, 0x803, -1, 0);
    write_idx(mkdir_in("idx_count_tmp"), "train", 5, 3, 3, 0, 0x803, -1, 0);
    char from[600], to[600];
    snprintf(from, sizeof(from), "%s/idx_count_tmp/train-labels-idx1-ubyte", root);
    snprintf(to, sizeof(to), "%s/train-labels-idx1-ubyte", dir);
    rename(from, to);
    req.dir = dir;
    expect_fail("idx image/label count mismatch", &req, "train-labels-idx1-ubyte", "4 images");
    dir = mkdir_in("idx_long");
    write_idx(dir, "train", 4, 3, 3, 0, 0x803, -1, 0);
    snprintf(to, sizeof(to), "%s/train-images-idx3-ubyte", dir);
    FILE *f = fopen(to, "ab");
    fputc(0, f);
    fclose(f);
    req.dir = dir;
    expect_fail("idx trailing bytes", &req, "train-images-idx3-ubyte", "longer");
    req.dir = mkdir_in("empty");
    expect_fail("no data set in directory", &req, "empty", "no data set found");
    req.dir = "/nonexistent/vkd";
    expect_fail("missing directory", &req, "/nonexistent/vkd", "no such directory");
}

static void write_cifar(const char *path, int n, int cifar100, int bad_label, int truncate)
{
    size_t rec = (cifar100 ? 2 : 1) + 3072;
    unsigned char *b = calloc((size_t)n, rec);
    for (int i = 0; i < n; i++) {
        unsigned char *r = b + (size_t)i * rec;
        if (cifar100)
            r[0] = (unsigned char)(i % 20), r[1] = (unsigned char)(i * 7 % 100);
        else
            r[0] = (unsigned char)(i % 10);
        for (int p = 0; p < 3072; p++)
            r[rec - 3072 + p] = (unsigned char)(p + i);
    }
    if (bad_label)
        b[(cifar100 ? 1 : 0)] = cifar100 ? 100 : 10;
    write_bytes(path, b, (size_t)n * rec - (size_t)truncate, 0);
    free(b);
}

static void test_cifar(void)
{
    char *dir = mkdir_in("cifar10"), path[600];
    for (int i = 1; i <= 5; i++) {
        snprintf(path, sizeof(path), "%s/data_batch_%d.bin", dir, i);
        write_cifar(path, 3, 0, 0, 0);
    }
    snprintf(path, sizeof(path), "%s/test_batch.bin", dir);
    write_cifar(path, 2, 0, 0, 0);
    struct dataset d;
    char err[1024];
    struct data_request req = {dir, DATA_AUTO, 1, 0, 0};
    int rc = data_load(&req, &d, err, sizeof(err));
    int ok = rc == 0 && d.n == 15 && d.c == 3 && d.h == 32 && d.classes == 10 &&
             d.format == DATA_CIFAR10 && d.labels[4] == 1 && d.pixels[4 * 3072 + 1024] == (1024 + 1) % 256;
    check(ok, "cifar10 train: 5 batches, planes, labels", rc ? err : NULL);
    if (rc == 0)
        data_free(&d);
    snprintf(path, sizeof(path), "%s/data_batch_3.bin", dir);
    write_cifar(path, 3, 0, 0, 100);
    expect_fail("cifar10 truncated batch", &req, "data_batch_3.bin", "whole number");
    write_cifar(path, 3, 0, 1, 0);
    expect_fail("cifar10 label out of range", &req, "data_batch_3.bin", "out of range");

    dir = mkdir_in("cifar100");
    snprintf(path, sizeof(path), "%s/train.bin", dir);
    write_cifar(path, 4, 1, 0, 0);
    snprintf(path, sizeof(path), "%s/test.bin", dir);
    write_cifar(path, 2, 1, 0, 0);
    req.dir = dir;
    rc = data_load(&req, &d, err, sizeof(err));
    ok = rc == 0 && d.n == 4 && d.classes == 100 && d.format == DATA_CIFAR100 &&
         d.labels[3] == 21;
    check(ok, "cifar100 train: fine labels", rc ? err : NULL);
    if (rc == 0)
        data_free(&d);
    snprintf(path, sizeof(path), "%s/train.bin", dir);
    write_cifar(path, 4, 1, 1, 0);
    expect_fail("cifar100 fine label out of range", &req, "train.bin", "out of range");
}

static void write_png(const char *path, int w, int h, int shade)
{
    unsigned char *px = malloc((size_t)w * h * 3);
    for (int i = 0; i < w * h * 3; i++)
        px[i] = (unsigned char)shade;
    stbi_write_png(path, w, h, 3, px, w * 3);
    free(px);
}

static void test_folder(void)
{
    char *top = mkdir_in("folder"), path[700];
    snprintf(path, sizeof(path), "%s/train", top);
    mkdir(path, 0755);
    const char *cls[2] = {"ant", "bee"};
    for (int c = 0; c < 2; c++) {
        snprintf(path, sizeof(path), "%s/train/%s", top, cls[c]);
        mkdir(path, 0755);
        for (int i = 0; i < 2 + c; i++) {
            snprintf(path, sizeof(path), "%s/train/%s/img%d.png", top, cls[c], i);
            write_png(path, 40 - 10 * c, 30, 50 + 100 * c);
        }
    }
    struct dataset d;
    char err[1024];
    struct data_request req = {top, DATA_AUTO, 1, 32, 0};
    int rc = data_load(&req, &d, err, sizeof(err));
    /* class-interleaved: ant0 bee0 ant1 bee1 bee2; flat colours survive resizing exactly */
    int ok = rc == 0 && d.n == 5 && d.classes == 2 && d.c == 3 && d.h == 32 && d.w == 32 &&
             d.labels[0] == 0 && d.labels[1] == 1 && d.labels[4] == 1 &&
             !strcmp(d.class_names[1], "bee") && d.pixels[0] == 50 &&
             d.pixels[3 * 32 * 32 + 5] == 150;
    check(ok, "image folder: classes, interleaving, resize to 32x32", rc ? err : NULL);

    /* decoded on demand: no pixels up front, every image the same bytes as decoded up front */
    struct dataset od;
    struct data_request oreq = req;
    oreq.on_demand = 1;
    int orc = data_load(&oreq, &od, err, sizeof(err));
    ok = rc == 0 && orc == 0 && !od.pixels && od.paths && od.n == d.n;
    uint8_t img[3 * 32 * 32];
    for (uint32_t i = 0; ok && i < od.n; i++)
        ok = data_image(&od, i, img, err, sizeof(err)) == 0 &&
             !memcmp(img, d.pixels + (size_t)i * sizeof(img), sizeof(img)) &&
             od.labels[i] == d.labels[i];
    check(ok, "image folder decoded on demand = decoded up front", orc ? err : NULL);
    if (orc == 0)
        data_free(&od);
    if (rc == 0)
        data_free(&d);

    snprintf(path, sizeof(path), "%s/train/bee/broken.png", top);
    write_bytes(path, "not a png at all", 16, 0);
    expect_fail("folder: undecodable image", &req, "broken.png", "cannot decode");
    {
        /* on demand, the broken image is found when a batch needs it, and named */
        orc = data_load(&oreq, &d, err, sizeof(err));
        struct data_stream *s = orc == 0 ? data_stream_create(&d, 6, 2, 2) : NULL;
        uint32_t all[6] = {0, 1, 2, 3, 4, 5};
        ok = s && data_stream_push(s, all, 6) == 0 && data_stream_pop(s) == NULL &&
             data_stream_error(s) && strstr(data_stream_error(s), "broken.png") &&
             strstr(data_stream_error(s), "cannot decode");
        check(ok, "folder on demand: an undecodable image stops the stream, named",
              s && data_stream_error(s) ? data_stream_error(s) : orc ? err : NULL);
        data_stream_destroy(s);
        if (orc == 0)
            data_free(&d);
    }
    write_bytes(path, "", 0, 0);
    expect_fail("folder: zero-byte image", &req, "broken.png", "cannot decode");
    unlink(path);
    snprintf(path, sizeof(path), "%s/train/cat", top);
    mkdir(path, 0755);
    expect_fail("folder: empty class folder", &req, "train/cat", "no images");
}

static void test_fashion_mnist(void)
{
    struct stat st;
    if (stat(DATA_DEFAULT_DIR, &st) != 0) {
        printf("skip real Fashion-MNIST: %s is not installed\n", DATA_DEFAULT_DIR);
        return;
    }
    for (int train = 0; train < 2; train++) {
        struct dataset d;
        char err[1024];
        struct data_request req = {DATA_DEFAULT_DIR, DATA_AUTO, train, 0, 0};
        int rc = data_load(&req, &d, err, sizeof(err));
        uint32_t count[10] = {0};
        for (uint32_t i = 0; rc == 0 && i < d.n; i++)
            count[d.labels[i]]++;
        uint32_t want = train ? 6000 : 1000;
        int ok = rc == 0 && d.n == want * 10 && d.h == 28 && d.w == 28 && d.c == 1;
        for (int k = 0; k < 10; k++)
            ok &= count[k] == want;
        check(ok, train ? "Fashion-MNIST train: 60000 images, 6000 per class"
                        : "Fashion-MNIST test: 10000 images, 1000 per class",
              rc ? err : NULL);
        if (rc == 0)
            data_free(&d);
    }
}

/* The host ring: batches come back in push order with the images of their indices, a partial
 * batch zero-filled, across more batches than slots (so slots are reused) and 3 workers. */
static void test_stream(void)
{
    struct dataset d = {.n = 97, .c = 1, .h = 3, .w = 5, .classes = 1};
    size_t image = 15;
    d.pixels = malloc(d.n * image);
    for (size_t i = 0; i < d.n * image; i++)
        d.pixels[i] = (uint8_t)(i * 7 + i / image);
    struct data_stream *s = data_stream_create(&d, 8, 3, 3);
    uint32_t order[200];
    for (int i = 0; i < 200; i++)
        order[i] = (uint32_t)((i * 31 + 5) % 97);
    int ok = s != NULL, pushed = 0, popped = 0, total = 25; /* the last batch: 200 - 192 = 8 */
    while (ok && popped < total) {
        while (pushed < total &&
               data_stream_push(s, order + pushed * 8, pushed == total - 1 ? 5 : 8) == 0)
            pushed++;
        ok &= data_stream_pending(s) == pushed - popped && pushed - popped <= 3;
        const uint8_t *px = data_stream_pop(s);
        int cnt = popped == total - 1 ? 5 : 8;
        for (int i = 0; ok && i < 8; i++)
            for (size_t j = 0; j < image; j++)
                ok &= px[i * image + j] ==
                      (i < cnt ? d.pixels[order[popped * 8 + i] * image + j] : 0);
        data_stream_release(s);
        popped++;
    }
    ok &= s && data_stream_pop(s) == NULL;
    check(ok, "host ring: order, contents, partial batch, slot reuse", NULL);
    data_stream_destroy(s);
    free(d.pixels);
}

int main(void)
{
    snprintf(root, sizeof(root), "/tmp/vkd_test_data.XXXXXX");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    test_idx();
    test_cifar();
    test_folder();
    test_fashion_mnist();
    test_stream();
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    if (system(cmd) != 0)
        printf("note: could not remove %s\n", root);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

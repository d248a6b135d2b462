/*
 * make_idx.c - writes a small, learnable IDX data set for the training tests:
 *   make_idx DIR N_TRAIN N_TEST SIZE
 * Class k (0..9) of a SIZE x SIZE image is a bright bar on row k * SIZE / 10, on noise; so a
 * network can learn it in a few steps, and the files are the format of (Fashion-)MNIST, gzipped.
 * With SIZE < 10 some classes share a row and cannot be told apart: use SIZE >= 10.
 */
#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

static void be32(unsigned char *b, unsigned v)
{
    b[0] = (unsigned char)(v >> 24), b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8), b[3] = (unsigned char)v;
}

static int write_set(const char *dir, const char *stem, unsigned n, unsigned size,
                     unsigned *seed)
{
    char path[4096];
    unsigned char hdr[16];
    snprintf(path, sizeof(path), "%s/%s-images-idx3-ubyte.gz", dir, stem);
    gzFile fi = gzopen(path, "wb");
    snprintf(path, sizeof(path), "%s/%s-labels-idx1-ubyte.gz", dir, stem);
    gzFile fl = gzopen(path, "wb");
    if (!fi || !fl)
        return -1;
    be32(hdr, 0x803), be32(hdr + 4, n), be32(hdr + 8, size), be32(hdr + 12, size);
    gzwrite(fi, hdr, 16);
    be32(hdr, 0x801), be32(hdr + 4, n);
    gzwrite(fl, hdr, 8);
    unsigned char *img = malloc((size_t)size * size);
    for (unsigned i = 0; i < n; i++) {
        unsigned char label = (unsigned char)(i % 10);
        unsigned row = label * size / 10;
        for (unsigned p = 0; p < size * size; p++) {
            *seed = *seed * 1103515245u + 12345u;
            unsigned noise = (*seed >> 16) % 64;
            img[p] = (unsigned char)(p / size == row ? 190 + noise : noise);
        }
        gzwrite(fi, img, size * size);
        gzwrite(fl, &label, 1);
    }
    free(img);
    gzclose(fi);
    gzclose(fl);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: make_idx DIR N_TRAIN N_TEST SIZE\n");
        return 2;
    }
    unsigned seed = 1;
    if (write_set(argv[1], "train", (unsigned)atoi(argv[2]), (unsigned)atoi(argv[4]), &seed) ||
        write_set(argv[1], "t10k", (unsigned)atoi(argv[3]), (unsigned)atoi(argv[4]), &seed)) {
        fprintf(stderr, "make_idx: cannot write to %s\n", argv[1]);
        return 1;
    }
    return 0;
}

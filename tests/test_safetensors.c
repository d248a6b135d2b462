/*
 * test_safetensors.c - safetensors round trip (tensors, dtypes, metadata, byte layout as the
 * format specifies it) and every malformed-file case: each refused with one sentence naming
 * the file, nothing left allocated.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safetensors.h"

static int passed, failed;
static char dir[64];

static void check(int ok, const char *what, const char *detail)
{
    printf("%-4s %s%s%s\n", ok ? "ok" : "FAIL", what, detail ? ": " : "", detail ? detail : "");
    ok ? passed++ : failed++;
}

static void write_raw(const char *path, const char *json, size_t data_len, long len_override)
{
    FILE *f = fopen(path, "wb");
    uint64_t n = len_override >= 0 ? (uint64_t)len_override : strlen(json);
    for (int i = 0; i < 8; i++)
        fputc((int)(n >> (8 * i)) & 0xff, f);
    fputs(json, f);
    for (size_t i = 0; i < data_len; i++)
        fputc((int)i, f);
    fclose(f);
}

static void expect_bad(const char *what, const char *json, size_t data_len, long len_override,
                       const char *must_have)
{
    char path[128], err[512] = "";
    snprintf(path, sizeof(path), "%s/bad.safetensors", dir);
    write_raw(path, json, data_len, len_override);
    struct st_file f;
    int rc = st_read(path, &f, err, sizeof(err));
    check(rc < 0 && strstr(err, path) && strstr(err, must_have) && !f.tensors && !f.data, what,
          err);
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/vkd_test_st.XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    char path[128], err[512];
    snprintf(path, sizeof(path), "%s/ok.safetensors", dir);

    float w[2 * 3 * 2] = {0};
    for (int i = 0; i < 12; i++)
        w[i] = (float)i * 0.5f - 2.0f;
    uint8_t b[5] = {1, 2, 3, 4, 5};
    int64_t ws[3] = {2, 3, 2}, bs[1] = {5};
    struct st_writer *wr = st_writer_create();
    st_writer_add(wr, "layer1.0.conv1.weight", ST_F32, 3, ws, w);
    st_writer_add(wr, "bn1.num_batches \"tracked\"", ST_U8, 1, bs, b);
    st_writer_add(wr, "scalar", ST_F32, 0, NULL, &w[3]);
    st_writer_meta(wr, "model", "resnet20");
    int rc = st_write(wr, path, err, sizeof(err));
    st_writer_destroy(wr);
    check(rc == 0 && access(path, F_OK) == 0, "write", rc ? err : NULL);

    struct st_file f;
    rc = st_read(path, &f, err, sizeof(err));
    const struct st_tensor *t = rc ? NULL : st_find(&f, "layer1.0.conv1.weight");
    const struct st_tensor *u = rc ? NULL : st_find(&f, "bn1.num_batches \"tracked\"");
    const struct st_tensor *s = rc ? NULL : st_find(&f, "scalar");
    int ok = t && u && s && t->dtype == ST_F32 && t->ndim == 3 && t->shape[1] == 3 &&
             !memcmp(st_data(&f, t), w, sizeof(w)) && u->dtype == ST_U8 &&
             !memcmp(st_data(&f, u), b, 5) && s->ndim == 0 && st_numel(s) == 1 &&
             *(const float *)st_data(&f, s) == w[3] && st_meta(&f, "model") &&
             !strcmp(st_meta(&f, "model"), "resnet20") && !st_meta(&f, "absent");
    check(ok, "read back: names (with escapes), dtypes, shapes, data, metadata", rc ? err : NULL);
    if (!rc)
        st_free(&f);

    /* the on-disk layout: 8-byte length, header padded to 8, data right after */
    FILE *fp = fopen(path, "rb");
    unsigned char len8[8];
    ok = fp && fread(len8, 1, 8, fp) == 8;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | len8[i];
    fseek(fp, 0, SEEK_END);
    ok = ok && hlen % 8 == 0 && (uint64_t)ftell(fp) == 8 + hlen + sizeof(w) + 5 + 4;
    fclose(fp);
    check(ok, "layout: 8-byte aligned header, data block follows", NULL);

    /* no temporary file is left behind by an atomic write */
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "ls %s | grep -q tmp", dir);
    check(system(cmd) != 0, "atomic write leaves no temporary file", NULL);
    snprintf(path, sizeof(path), "%s/nodir/x.safetensors", dir);
    wr = st_writer_create();
    rc = st_write(wr, path, err, sizeof(err));
    st_writer_destroy(wr);
    check(rc < 0 && strstr(err, "nodir"), "write into a missing directory fails clearly", err);

    const char *one = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    expect_bad("truncated data block", one, 4, -1, "truncated");
    expect_bad("header length past the end", one, 8, 4000, "header length");
    expect_bad("empty header", "", 0, -1, "header length");
    expect_bad("bad JSON", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2] \"data_offsets\":[0,8]}}", 8,
               -1, "bad safetensors header");
    expect_bad("unknown dtype", "{\"a\":{\"dtype\":\"F31\",\"shape\":[2],\"data_offsets\":[0,8]}}",
               8, -1, "unknown dtype");
    expect_bad("byte count does not match shape",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 12, -1,
               "shape needs 12");
    expect_bad("overlapping tensors",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
               12, -1, "overlap");
    expect_bad("missing data_offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, -1, "lacks");
    expect_bad("trailing text", "{} x", 0, -1, "text after");
    struct st_file g;
    rc = st_read("/nonexistent/vkd.safetensors", &g, err, sizeof(err));
    check(rc < 0 && strstr(err, "/nonexistent/vkd.safetensors"), "missing file", err);

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("note: could not remove %s\n", dir);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

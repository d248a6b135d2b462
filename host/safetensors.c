/*
 * safetensors.c - reading and writing safetensors files (see safetensors.h). The JSON parser is
 * the small subset the format needs (objects, arrays, strings with escapes, integers), strict
 * about everything it accepts.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safetensors.h"

/* The format's own limit on the header, which also bounds what a bad file can make us read. */
#define ST_MAX_HEADER (100u << 20)

static const struct {
    const char *name;
    size_t size;
} dtypes[] = {
    [ST_F32] = {"F32", 4}, [ST_F64] = {"F64", 8}, [ST_F16] = {"F16", 2}, [ST_BF16] = {"BF16", 2},
    [ST_I64] = {"I64", 8}, [ST_I32] = {"I32", 4}, [ST_U32] = {"U32", 4}, [ST_U8] = {"U8", 1},
    [ST_I8] = {"I8", 1},   [ST_BOOL] = {"BOOL", 1},
};

const char *st_dtype_name(enum st_dtype d)
{
    return dtypes[d].name;
}

size_t st_dtype_size(enum st_dtype d)
{
    return dtypes[d].size;
}

uint64_t st_numel(const struct st_tensor *t)
{
    uint64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= (uint64_t)t->shape[i];
    return n;
}

/* ---- JSON subset -------------------------------------------------------------------------------- */

struct parser {
    const char *start, *s, *end;
    const char *path;
    char *err;
    size_t errlen;
    int failed;
};

static int perr(struct parser *p, const char *what)
{
    if (!p->failed)
        snprintf(p->err, p->errlen, "%s: bad safetensors header: %s at byte %ld", p->path, what,
                 8 + (long)(p->s - p->start));
    p->failed = 1;
    return -1;
}

static void ws(struct parser *p)
{
    while (p->s < p->end && (*p->s == ' ' || *p->s == '\n' || *p->s == '\r' || *p->s == '\t'))
        p->s++;
}

static int expect(struct parser *p, char c)
{
    ws(p);
    if (p->s >= p->end || *p->s != c) {
        char msg[32];
        snprintf(msg, sizeof(msg), "expected '%c'", c);
        return perr(p, msg);
    }
    p->s++;
    return 0;
}

static int peek(struct parser *p, char c)
{
    ws(p);
    return p->s < p->end && *p->s == c;
}

/* A JSON string into out (at most len-1 bytes; longer is an error). \uXXXX below 0x80 only:
 * tensor names are ASCII in every checkpoint we read or write. */
static int string(struct parser *p, char *out, size_t len)
{
    if (expect(p, '"') < 0)
        return -1;
    size_t n = 0;
    while (p->s < p->end && *p->s != '"') {
        char c = *p->s++;
        if ((unsigned char)c < 0x20)
            return perr(p, "control character in a string");
        if (c == '\\') {
            if (p->s >= p->end)
                return perr(p, "unfinished escape");
            char e = *p->s++;
            switch (e) {
            case '"': case '\\': case '/': c = e; break;
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'u': {
                unsigned v = 0;
                for (int i = 0; i < 4; i++) {
                    if (p->s >= p->end)
                        return perr(p, "unfinished \\u escape");
                    char h = *p->s++;
                    v = v * 16 + (unsigned)(h >= '0' && h <= '9' ? h - '0'
                                            : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                            : h >= 'A' && h <= 'F' ? h - 'A' + 10 : 99);
                }
                if (v >= 0x80)
                    return perr(p, "non-ASCII \\u escape");
                c = (char)v;
                break;
            }
            default: return perr(p, "unknown escape");
            }
        }
        if (n + 1 >= len)
            return perr(p, "string too long");
        out[n++] = c;
    }
    if (p->s >= p->end)
        return perr(p, "unterminated string");
    p->s++;
    out[n] = '\0';
    return 0;
}

static int integer(struct parser *p, int64_t *out)
{
    ws(p);
    char *e;
    errno = 0;
    if (p->s >= p->end || !(*p->s >= '0' && *p->s <= '9'))
        return perr(p, "expected a non-negative integer");
    long long v = strtoll(p->s, &e, 10);
    if (errno || e > p->end)
        return perr(p, "integer out of range");
    p->s = e;
    *out = v;
    return 0;
}

static int tensor_entry(struct parser *p, struct st_tensor *t)
{
    int have_dtype = 0, have_shape = 0, have_off = 0;
    if (expect(p, '{') < 0)
        return -1;
    while (!peek(p, '}')) {
        char key[32];
        if (string(p, key, sizeof(key)) < 0 || expect(p, ':') < 0)
            return -1;
        if (!strcmp(key, "dtype")) {
            char d[16];
            if (string(p, d, sizeof(d)) < 0)
                return -1;
            size_t i;
            for (i = 0; i < sizeof(dtypes) / sizeof(dtypes[0]); i++)
                if (!strcmp(d, dtypes[i].name))
                    break;
            if (i == sizeof(dtypes) / sizeof(dtypes[0]))
                return perr(p, "unknown dtype");
            t->dtype = (enum st_dtype)i;
            have_dtype = 1;
        } else if (!strcmp(key, "shape")) {
            if (expect(p, '[') < 0)
                return -1;
            t->ndim = 0;
            while (!peek(p, ']')) {
                if (t->ndim == ST_MAX_DIMS)
                    return perr(p, "too many dimensions");
                if (integer(p, &t->shape[t->ndim++]) < 0)
                    return -1;
                if (!peek(p, ']') && expect(p, ',') < 0)
                    return -1;
            }
            p->s++;
            have_shape = 1;
        } else if (!strcmp(key, "data_offsets")) {
            int64_t b, e;
            if (expect(p, '[') < 0 || integer(p, &b) < 0 || expect(p, ',') < 0 ||
                integer(p, &e) < 0 || expect(p, ']') < 0)
                return -1;
            if (e < b)
                return perr(p, "data_offsets end before begin");
            t->begin = (uint64_t)b, t->end = (uint64_t)e;
            have_off = 1;
        } else {
            return perr(p, "unknown key in a tensor entry");
        }
        if (!peek(p, '}') && expect(p, ',') < 0)
            return -1;
    }
    p->s++;
    if (!have_dtype || !have_shape || !have_off)
        return perr(p, "a tensor entry lacks dtype, shape or data_offsets");
    return 0;
}

static char *dupn(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static int metadata(struct parser *p, struct st_file *f)
{
    if (expect(p, '{') < 0)
        return -1;
    while (!peek(p, '}')) {
        char k[256], v[4096];
        if (string(p, k, sizeof(k)) < 0 || expect(p, ':') < 0 || string(p, v, sizeof(v)) < 0)
            return -1;
        char **nk = realloc(f->meta_keys, sizeof(char *) * (size_t)(f->n_meta + 1));
        if (nk)
            f->meta_keys = nk;
        char **nv = realloc(f->meta_values, sizeof(char *) * (size_t)(f->n_meta + 1));
        if (nv)
            f->meta_values = nv;
        if (!nk || !nv)
            return perr(p, "out of memory");
        f->meta_keys[f->n_meta] = dupn(k);
        f->meta_values[f->n_meta] = dupn(v);
        f->n_meta++;
        if (!f->meta_keys[f->n_meta - 1] || !f->meta_values[f->n_meta - 1])
            return perr(p, "out of memory");
        if (!peek(p, '}') && expect(p, ',') < 0)
            return -1;
    }
    p->s++;
    return 0;
}

static int header(struct parser *p, struct st_file *f)
{
    if (expect(p, '{') < 0)
        return -1;
    while (!peek(p, '}')) {
        char name[ST_NAME_LEN];
        if (string(p, name, sizeof(name)) < 0 || expect(p, ':') < 0)
            return -1;
        if (!strcmp(name, "__metadata__")) {
            if (metadata(p, f) < 0)
                return -1;
        } else {
            struct st_tensor *nt =
                realloc(f->tensors, sizeof(*nt) * (size_t)(f->n_tensors + 1));
            if (!nt)
                return perr(p, "out of memory");
            f->tensors = nt;
            struct st_tensor *t = &f->tensors[f->n_tensors++];
            memset(t, 0, sizeof(*t));
            snprintf(t->name, sizeof(t->name), "%s", name);
            if (tensor_entry(p, t) < 0)
                return -1;
        }
        if (!peek(p, '}') && expect(p, ',') < 0)
            return -1;
    }
    p->s++;
    ws(p);
    if (p->s != p->end)
        return perr(p, "text after the header object");
    return 0;
}

/* ---- reading ------------------------------------------------------------------------------------ */

static int cmp_begin(const void *a, const void *b)
{
    const struct st_tensor *x = *(const struct st_tensor *const *)a;
    const struct st_tensor *y = *(const struct st_tensor *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* Offsets inside the data block, byte counts matching shapes, no overlaps, no duplicate names. */
static int check_layout(const char *path, struct st_file *f, char *err, size_t errlen)
{
    const struct st_tensor **by = malloc(sizeof(*by) * (size_t)(f->n_tensors + 1));
    if (!by) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    for (int i = 0; i < f->n_tensors; i++) {
        const struct st_tensor *t = &f->tensors[i];
        uint64_t bytes = st_numel(t) * st_dtype_size(t->dtype);
        if (t->end - t->begin != bytes) {
            snprintf(err, errlen, "%s: tensor '%s' has %llu bytes but its %s shape needs %llu",
                     path, t->name, (unsigned long long)(t->end - t->begin),
                     st_dtype_name(t->dtype), (unsigned long long)bytes);
            free(by);
            return -1;
        }
        if (t->end > f->data_len) {
            snprintf(err, errlen, "%s: truncated: tensor '%s' ends at byte %llu of a %zu-byte data "
                     "block", path, t->name, (unsigned long long)t->end, f->data_len);
            free(by);
            return -1;
        }
        by[i] = t;
    }
    qsort(by, (size_t)f->n_tensors, sizeof(*by), cmp_begin);
    for (int i = 1; i < f->n_tensors; i++)
        if (by[i]->begin < by[i - 1]->end) {
            snprintf(err, errlen, "%s: tensors '%s' and '%s' overlap", path, by[i - 1]->name,
                     by[i]->name);
            free(by);
            return -1;
        }
    free(by);
    for (int i = 0; i < f->n_tensors; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(f->tensors[i].name, f->tensors[j].name)) {
                snprintf(err, errlen, "%s: tensor '%s' appears twice", path, f->tensors[i].name);
                return -1;
            }
    return 0;
}

int st_read(const char *path, struct st_file *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    FILE *fp = fopen(path, "rb");
    char *hdr = NULL;
    if (!fp) {
        snprintf(err, errlen, "%s: cannot open it: %s", path, strerror(errno));
        return -1;
    }
    long size = -1;
    if (fseek(fp, 0, SEEK_END) == 0)
        size = ftell(fp);
    rewind(fp);
    unsigned char len8[8];
    if (size < 8 || fread(len8, 1, 8, fp) != 8) {
        snprintf(err, errlen, "%s: not a safetensors file (%ld bytes, too short for a header)",
                 path, size);
        goto fail;
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | len8[i];
    if (hlen < 2 || hlen > ST_MAX_HEADER || hlen > (uint64_t)size - 8) {
        snprintf(err, errlen, "%s: not a safetensors file or truncated (header length %llu, file "
                 "%ld bytes)", path, (unsigned long long)hlen, size);
        goto fail;
    }
    hdr = malloc(hlen);
    out->data_len = (size_t)((uint64_t)size - 8 - hlen);
    out->data = malloc(out->data_len ? out->data_len : 1);
    if (!hdr || !out->data) {
        snprintf(err, errlen, "%s: out of memory for %ld bytes", path, size);
        goto fail;
    }
    if (fread(hdr, 1, hlen, fp) != hlen ||
        fread(out->data, 1, out->data_len, fp) != out->data_len) {
        snprintf(err, errlen, "%s: read error", path);
        goto fail;
    }
    struct parser p = {hdr, hdr, hdr + hlen, path, err, errlen, 0};
    if (header(&p, out) < 0 || check_layout(path, out, err, errlen) < 0)
        goto fail;
    free(hdr);
    fclose(fp);
    return 0;
fail:
    free(hdr);
    fclose(fp);
    st_free(out);
    return -1;
}

void st_free(struct st_file *f)
{
    for (int i = 0; i < f->n_meta; i++) {
        free(f->meta_keys[i]);
        free(f->meta_values[i]);
    }
    free(f->meta_keys);
    free(f->meta_values);
    free(f->tensors);
    free(f->data);
    memset(f, 0, sizeof(*f));
}

const struct st_tensor *st_find(const struct st_file *f, const char *name)
{
    for (int i = 0; i < f->n_tensors; i++)
        if (!strcmp(f->tensors[i].name, name))
            return &f->tensors[i];
    return NULL;
}

const char *st_meta(const struct st_file *f, const char *key)
{
    for (int i = 0; i < f->n_meta; i++)
        if (f->meta_keys && !strcmp(f->meta_keys[i], key))
            return f->meta_values[i];
    return NULL;
}

/* ---- writing ------------------------------------------------------------------------------------ */

struct st_writer {
    struct st_tensor *t;
    const void **data;
    int n;
    char **mk, **mv;
    int n_meta;
};

struct st_writer *st_writer_create(void)
{
    return calloc(1, sizeof(struct st_writer));
}

void st_writer_destroy(struct st_writer *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->n_meta; i++) {
        free(w->mk[i]);
        free(w->mv[i]);
    }
    free(w->mk);
    free(w->mv);
    free(w->t);
    free(w->data);
    free(w);
}

int st_writer_add(struct st_writer *w, const char *name, enum st_dtype dtype, int ndim,
                  const int64_t *shape, const void *data)
{
    if (ndim > ST_MAX_DIMS || strlen(name) >= ST_NAME_LEN)
        return -1;
    struct st_tensor *t = realloc(w->t, sizeof(*t) * (size_t)(w->n + 1));
    if (t)
        w->t = t;
    const void **d = realloc(w->data, sizeof(*d) * (size_t)(w->n + 1));
    if (d)
        w->data = d;
    if (!t || !d)
        return -1;
    struct st_tensor *e = &w->t[w->n];
    memset(e, 0, sizeof(*e));
    snprintf(e->name, sizeof(e->name), "%s", name);
    e->dtype = dtype;
    e->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        e->shape[i] = shape[i];
    w->data[w->n++] = data;
    return 0;
}

int st_writer_meta(struct st_writer *w, const char *key, const char *value)
{
    char **k = realloc(w->mk, sizeof(char *) * (size_t)(w->n_meta + 1));
    if (k)
        w->mk = k;
    char **v = realloc(w->mv, sizeof(char *) * (size_t)(w->n_meta + 1));
    if (v)
        w->mv = v;
    if (!k || !v)
        return -1;
    w->mk[w->n_meta] = dupn(key);
    w->mv[w->n_meta] = dupn(value);
    w->n_meta++;
    return w->mk[w->n_meta - 1] && w->mv[w->n_meta - 1] ? 0 : -1;
}

/* Appends s to the header buffer as a JSON string. */
static int put_json_string(char **buf, size_t *len, size_t *cap, const char *s)
{
    for (size_t need = *len + 2 * strlen(s) * 6 + 8; need > *cap;) {
        size_t nc = *cap ? *cap * 2 : 4096;
        while (nc < need)
            nc *= 2;
        char *nb = realloc(*buf, nc);
        if (!nb)
            return -1;
        *buf = nb, *cap = nc;
    }
    (*buf)[(*len)++] = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            (*buf)[(*len)++] = '\\', (*buf)[(*len)++] = (char)c;
        else if (c < 0x20)
            *len += (size_t)sprintf(*buf + *len, "\\u%04x", c);
        else
            (*buf)[(*len)++] = (char)c;
    }
    (*buf)[(*len)++] = '"';
    return 0;
}

static int put_text(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        size_t nc = *cap ? *cap * 2 : 4096;
        while (nc < *len + n + 1)
            nc *= 2;
        char *nb = realloc(*buf, nc);
        if (!nb)
            return -1;
        *buf = nb, *cap = nc;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    return 0;
}

static int write_all(int fd, const void *p, size_t n)
{
    while (n) {
        ssize_t r = write(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p = (const char *)p + r, n -= (size_t)r;
    }
    return 0;
}

int st_write(struct st_writer *w, const char *path, char *err, size_t errlen)
{
    char *h = NULL, num[128];
    size_t len = 0, cap = 0;
    uint64_t off = 0;
    int bad = put_text(&h, &len, &cap, "{");
    if (w->n_meta) {
        bad |= put_text(&h, &len, &cap, "\"__metadata__\":{");
        for (int i = 0; i < w->n_meta; i++) {
            bad |= put_text(&h, &len, &cap, i ? "," : "");
            bad |= put_json_string(&h, &len, &cap, w->mk[i]);
            bad |= put_text(&h, &len, &cap, ":");
            bad |= put_json_string(&h, &len, &cap, w->mv[i]);
        }
        bad |= put_text(&h, &len, &cap, w->n ? "}," : "}");
    }
    for (int i = 0; i < w->n; i++) {
        struct st_tensor *t = &w->t[i];
        t->begin = off;
        t->end = off + st_numel(t) * st_dtype_size(t->dtype);
        off = t->end;
        bad |= put_text(&h, &len, &cap, i ? "," : "");
        bad |= put_json_string(&h, &len, &cap, t->name);
        snprintf(num, sizeof(num), ":{\"dtype\":\"%s\",\"shape\":[", st_dtype_name(t->dtype));
        bad |= put_text(&h, &len, &cap, num);
        for (int d = 0; d < t->ndim; d++) {
            snprintf(num, sizeof(num), "%s%lld", d ? "," : "", (long long)t->shape[d]);
            bad |= put_text(&h, &len, &cap, num);
        }
        snprintf(num, sizeof(num), "],\"data_offsets\":[%llu,%llu]}",
                 (unsigned long long)t->begin, (unsigned long long)t->end);
        bad |= put_text(&h, &len, &cap, num);
    }
    bad |= put_text(&h, &len, &cap, "}");
    while (!bad && len % 8) /* the data block starts 8-byte aligned, as the format recommends */
        bad |= put_text(&h, &len, &cap, " ");
    if (bad) {
        free(h);
        snprintf(err, errlen, "%s: out of memory building the header", path);
        return -1;
    }

    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        free(h);
        snprintf(err, errlen, "%s: cannot create a temporary file beside it: %s", path,
                 strerror(errno));
        return -1;
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)len >> (8 * i));
    int rc = write_all(fd, len8, 8) | write_all(fd, h, len);
    for (int i = 0; i < w->n && !rc; i++)
        rc = write_all(fd, w->data[i], w->t[i].end - w->t[i].begin);
    if (!rc)
        rc = fsync(fd);
    int saved = errno;
    if (close(fd) != 0 && !rc)
        rc = -1, saved = errno;
    free(h);
    if (rc || rename(tmp, path) != 0) {
        if (!rc)
            saved = errno;
        unlink(tmp);
        snprintf(err, errlen, "%s: cannot write it: %s", path, strerror(saved));
        return -1;
    }
    return 0;
}

/*
 * safetensors.h - the safetensors file format (Hugging Face), which PyTorch users load with
 * safetensors.torch.load_file(): an 8-byte little-endian header length, a JSON header mapping
 * each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the
 * data block) plus an optional "__metadata__" object of strings, then the data block.
 *
 * The reader checks everything before trusting it: header length against the file size, JSON
 * syntax, known dtypes, offsets inside the data block, non-overlapping, and byte counts equal
 * to the shape's element count times the dtype size. A bad file gets one sentence naming it.
 * The writer writes a temporary file, fsyncs it and renames it over the target, so a crash
 * never leaves a half-written checkpoint under the real name.
 */
#ifndef VKD_SAFETENSORS_H
#define VKD_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define ST_MAX_DIMS 8
#define ST_NAME_LEN 160

enum st_dtype { ST_F32, ST_F64, ST_F16, ST_BF16, ST_I64, ST_I32, ST_U32, ST_U8, ST_I8, ST_BOOL };

struct st_tensor {
    char name[ST_NAME_LEN];
    enum st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    uint64_t begin, end; /* byte offsets in the data block */
};

struct st_file {
    struct st_tensor *tensors;
    int n_tensors;
    char **meta_keys, **meta_values;
    int n_meta;
    uint8_t *data; /* the data block */
    size_t data_len;
};

const char *st_dtype_name(enum st_dtype d);
size_t st_dtype_size(enum st_dtype d);
uint64_t st_numel(const struct st_tensor *t);

/* Returns 0, or -1 with one sentence in err (nothing left allocated). */
int st_read(const char *path, struct st_file *out, char *err, size_t errlen);
void st_free(struct st_file *f);
const struct st_tensor *st_find(const struct st_file *f, const char *name);
const char *st_meta(const struct st_file *f, const char *key); /* NULL when absent */
static inline const void *st_data(const struct st_file *f, const struct st_tensor *t)
{
    return f->data + t->begin;
}

/* Writing: collect tensors (data is referenced, not copied, until st_write) and metadata. */
struct st_writer;
struct st_writer *st_writer_create(void);
void st_writer_destroy(struct st_writer *w);
int st_writer_add(struct st_writer *w, const char *name, enum st_dtype dtype, int ndim,
                  const int64_t *shape, const void *data);
int st_writer_meta(struct st_writer *w, const char *key, const char *value);
/* Atomically writes path (tmp + fsync + rename). Returns 0, or -1 with a sentence in err. */
int st_write(struct st_writer *w, const char *path, char *err, size_t errlen);

#endif

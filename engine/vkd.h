/*
 * vkd.h - the public C API of the vkdistill engine.
 *
 * Three pieces:
 *   - a context: one Vulkan instance + device + compute queue (vkd_context_*), and a device list;
 *   - a graph: a static-shape list of ops over NCHW fp32 tensors, with a backward pass derived
 *     from the forward list and an optional SGD update (vkd_graph_*; op builders in vkd_ops.h);
 *   - two executors of the same graph: the Vulkan executor, which records the whole step into one
 *     command buffer once and replays it (vkd_vk_*), and the CPU reference executor, which runs
 *     the plain-C reference of every op in double precision (vkd_ref_*).
 *
 * Ownership: every *_create returns an object the caller frees with the matching *_destroy;
 * destroy accepts NULL. Functions returning enum vkd_status leave a one-sentence reason in the
 * context (vkd_context_error) or in the caller's buffer when there is no context yet.
 * The engine never prints and never exits.
 */
#ifndef VKD_H
#define VKD_H

#include <stddef.h>
#include <stdint.h>

enum vkd_status {
    VKD_OK = 0,
    VKD_ERR_NO_VULKAN,     /* no Vulkan loader or no driver at all */
    VKD_ERR_NO_DEVICE,     /* a loader, but no usable device (none with a compute queue) */
    VKD_ERR_BAD_DEVICE,    /* --device names no device */
    VKD_ERR_VULKAN,        /* a Vulkan call failed; the message names the call and VkResult */
    VKD_ERR_OUT_OF_MEMORY, /* host or device memory exhausted */
    VKD_ERR_DEVICE_LOST,   /* the driver lost the device (hang, reset) */
    VKD_ERR_INVALID,       /* invalid request (a tensor too large for the device, ...) */
};
const char *vkd_status_name(enum vkd_status s);

/* ---- devices and context ---------------------------------------------------------------------- */

struct vkd_device_info {
    uint32_t index;
    char name[256];
    const char *type;   /* "discrete", "integrated", "virtual", "cpu", "other" */
    const char *vendor; /* "NVIDIA", "AMD", "Intel", "Mesa", ... or "0x1234" form in vendor_buf */
    char vendor_buf[16];
    uint32_t vendor_id;
    char driver[256]; /* driver name and info, e.g. "llvmpipe Mesa 22.3.6 (LLVM 15.0.6)" */
    uint32_t api_version;
    uint32_t subgroup_size;
    int subgroup_shuffle;         /* compute shaders have subgroupShuffle (GL_KHR_..._shuffle) */
    uint32_t shared_memory;       /* maxComputeSharedMemorySize, bytes */
    uint64_t device_local_bytes;  /* sum of device-local heaps */
    uint64_t max_storage_range;   /* maxStorageBufferRange, bytes */
    uint32_t max_workgroup_invocations;
    uint32_t max_workgroup_count[3];
    uint32_t min_storage_align;   /* minStorageBufferOffsetAlignment */
    int timestamps;               /* compute queue supports timestamps */
    float timestamp_period_ns;
    int has_compute;
};

/* Lists every Vulkan device; *out is malloc'ed (free() it). err gets a sentence on failure. */
enum vkd_status vkd_devices_list(struct vkd_device_info **out, uint32_t *count, char *err,
                                 size_t errlen);

struct vkd_context_desc {
    /* Device choice: NULL/"" = best (discrete > integrated > virtual > cpu), else an index ("1")
     * or a case-insensitive substring of the device name ("llvmpipe"). */
    const char *device;
    /* Khronos validation layer + debug messenger. The caller reads VKD_VALIDATION (or a flag)
     * once and passes it here; the engine reads no environment. */
    int validation;
    /* Every validation message goes here (and is counted). NULL: counted only. */
    void (*log)(void *user, const char *msg);
    void *log_user;
    /* Which kernel variants ops record where they have two: GPU kernels (tiled, shared-memory)
     * or CPU-device kernels (lane-parallel, few barriers, for lavapipe/llvmpipe and other
     * Vulkan-on-CPU drivers). AUTO picks by the device's type. Tests force each in turn. */
    enum vkd_kernel_variant { VKD_VARIANT_AUTO, VKD_VARIANT_GPU, VKD_VARIANT_CPU } variant;
};

struct vkd_context;
enum vkd_status vkd_context_create(const struct vkd_context_desc *desc, struct vkd_context **out,
                                   char *err, size_t errlen);
void vkd_context_destroy(struct vkd_context *ctx);
const struct vkd_device_info *vkd_context_device(const struct vkd_context *ctx);
/* The kernel variant in use (never AUTO). */
enum vkd_kernel_variant vkd_context_variant(const struct vkd_context *ctx);
/* Validation-layer messages (warnings and errors) seen so far; 0 when validation is off. */
uint32_t vkd_context_validation_messages(const struct vkd_context *ctx);
/* The reason for the last failed call on this context. */
const char *vkd_context_error(const struct vkd_context *ctx);

/* ---- graph ------------------------------------------------------------------------------------ */

enum vkd_dtype { VKD_F32, VKD_U32 };

/*
 * What a tensor is decides where it lives and who writes it:
 *   INPUT  written by the host before each run (images, labels, seeds); host-visible
 *   PARAM  trainable; planned contiguously (one flat tensor) so SGD is one op over all of them
 *   STATE  non-trainable persistent buffers (BatchNorm running statistics)
 *   ACT    activations and saved intermediates, written by forward ops
 *   GRAD   gradients, written by backward ops (planned by the graph)
 *   OPT    optimizer state (momentum), planned like PARAM
 *   OUTPUT small results the host reads every step (loss, correct count); host-visible
 *   STEP   the step-parameter buffer (VKD_SP_* slots); host-visible
 */
enum vkd_tkind {
    VKD_T_INPUT,
    VKD_T_PARAM,
    VKD_T_STATE,
    VKD_T_ACT,
    VKD_T_GRAD,
    VKD_T_OPT,
    VKD_T_OUTPUT,
    VKD_T_STEP,
    VKD_T_KIND_COUNT
};

#define VKD_NAME_LEN 96

struct vkd_tensor {
    char name[VKD_NAME_LEN];
    int n, c, h, w; /* NCHW; a matrix is (rows, cols, 1, 1), a scalar (1, 1, 1, 1) */
    enum vkd_dtype dtype;
    enum vkd_tkind kind;
    int requires_grad; /* a gradient flows into this tensor */
    int grad;          /* id of its gradient tensor, or -1 */
    int parent;        /* id of the flat tensor it is a view of, or -1 */
    size_t offset;     /* element offset inside the parent */
};

static inline size_t vkd_tensor_numel(const struct vkd_tensor *t)
{
    return (size_t)t->n * t->c * t->h * t->w;
}

struct vkd_graph;
struct vkd_graph *vkd_graph_create(void); /* NULL when out of memory */
void vkd_graph_destroy(struct vkd_graph *g);

int vkd_graph_tensor(struct vkd_graph *g, const char *name, enum vkd_tkind kind,
                     enum vkd_dtype dtype, int n, int c, int h, int w);
/* Shorthands. An INPUT made with requires_grad gets a gradient (op checks use this). */
int vkd_graph_input(struct vkd_graph *g, const char *name, enum vkd_dtype dtype, int n, int c, int h,
                    int w);
int vkd_graph_param(struct vkd_graph *g, const char *name, int n, int c, int h, int w);
void vkd_graph_set_requires_grad(struct vkd_graph *g, int t);
const struct vkd_tensor *vkd_graph_tensor_at(const struct vkd_graph *g, int t);
int vkd_graph_tensor_count(const struct vkd_graph *g);
int vkd_graph_find(const struct vkd_graph *g, const char *name); /* -1 when absent */
/* The step-parameter tensor (VKD_SP_COUNT floats), created with the graph. */
int vkd_graph_step_params(const struct vkd_graph *g);
/* Hands out a step-parameter slot (loss weights, temperatures); -1 when none is left. */
int vkd_graph_alloc_slot(struct vkd_graph *g);

/*
 * Backward seeds. A loss tensor (a scalar) gets d(total)/d(loss) = step_params[weight_slot]
 * (or 1.0 when weight_slot < 0). A seeded tensor gets its upstream gradient from a given INPUT
 * tensor of the same shape (op checks: L = sum(y * seed)).
 */
void vkd_graph_loss(struct vkd_graph *g, int loss, int weight_slot);
void vkd_graph_seed(struct vkd_graph *g, int t, int seed_input);

/* Derives the backward list and plans gradients. sgd != 0 also appends the SGD update over all
 * PARAM tensors (hyper-parameters from the step-parameter buffer). Call once, after the forward
 * ops; returns VKD_ERR_INVALID (with vkd_graph_error) on an inconsistent graph. */
enum vkd_status vkd_graph_finalize(struct vkd_graph *g, int sgd);
const char *vkd_graph_error(const struct vkd_graph *g);

/*
 * Phases: one graph can hold several programs over the same tensors, e.g. the training step
 * (phase 0) and an evaluation forward pass (phase 1) that reads the same parameters and running
 * statistics. Nodes join the phase current when they are added (0 by default). Backward and the
 * update derive from phase 0 only; other phases are forward only. The Vulkan executor records
 * one command buffer per phase.
 */
#define VKD_MAX_PHASES 4
void vkd_graph_set_phase(struct vkd_graph *g, int phase);

/* Counts of nodes in each list, for logs and tests. */
int vkd_graph_node_count(const struct vkd_graph *g, int list /* 0 fwd, 1 bwd, 2 update */);

/* ---- CPU reference executor ------------------------------------------------------------------- */

struct vkd_ref;
struct vkd_ref *vkd_ref_create(const struct vkd_graph *g); /* every tensor zeroed; NULL on OOM */
void vkd_ref_destroy(struct vkd_ref *e);
double *vkd_ref_data(struct vkd_ref *e, int t); /* numel(t) doubles; labels hold integers */
void vkd_ref_forward(struct vkd_ref *e); /* phase 0 */
void vkd_ref_forward_phase(struct vkd_ref *e, int phase);
void vkd_ref_backward(struct vkd_ref *e);
void vkd_ref_update(struct vkd_ref *e);
void vkd_ref_step(struct vkd_ref *e); /* forward, backward, update */

/* ---- Vulkan executor -------------------------------------------------------------------------- */

enum vkd_program { VKD_PROG_FORWARD = 1, VKD_PROG_BACKWARD = 2, VKD_PROG_UPDATE = 4 };

struct vkd_vk_desc {
    unsigned program; /* VKD_PROG_* bits recorded into the one command buffer */
    int timestamps;   /* record a timestamp pair around every dispatch (per-pass GPU time) */
    /* Activations and their gradients share memory by lifetime inside their phase (see
     * engine/plan.c): after a run only the `keep` tensors (and those several phases use) still
     * hold their values. Off: every activation and gradient can be read after a run (tests, op
     * checks). */
    int reuse;
    const int *keep;
    int n_keep;
    /* Memory that tensors share by lifetime starts as NaN instead of zero, so a read before the
     * first write in a run shows (tests). Results of a correct graph do not change. */
    int poison;
    /* With reuse, a training step (forward and backward) whose gradients fall into independent
     * parts (a student cut into modules by stop-gradients) runs each part's backward as soon as
     * its forward is done, where that needs less memory (engine/schedule.c); results are the
     * same to the bit. 1: always the plain order, every forward call before every backward one
     * (tests compare the two). */
    int plain_order;
};

struct vkd_vk;
/* Plans every tensor into device memory (zeroed), creates the pipelines it needs and records the
 * whole program into one command buffer. */
enum vkd_status vkd_vk_create(struct vkd_context *ctx, const struct vkd_graph *g,
                              const struct vkd_vk_desc *desc, struct vkd_vk **out);
void vkd_vk_destroy(struct vkd_vk *e);
/* Submits the recorded command buffer of phase 0 and waits. The same buffer every time: never
 * re-recorded. */
enum vkd_status vkd_vk_run(struct vkd_vk *e);
/* The same for another phase's (forward-only) command buffer. */
enum vkd_status vkd_vk_run_phase(struct vkd_vk *e, int phase);
/* Host <-> tensor copies, converting to and from the tensor's dtype (f32 or u32). */
enum vkd_status vkd_vk_write(struct vkd_vk *e, int t, const double *src);
enum vkd_status vkd_vk_read(struct vkd_vk *e, int t, double *dst);
enum vkd_status vkd_vk_write_f32(struct vkd_vk *e, int t, const float *src);
enum vkd_status vkd_vk_read_f32(struct vkd_vk *e, int t, float *dst);
/* Raw 32-bit words, no conversion: bytes <= 4 * numel(t); the rest of t is left as it was.
 * For packed data (uint8 images in u32 tensors) and per-step u32 inputs. */
enum vkd_status vkd_vk_write_raw(struct vkd_vk *e, int t, const void *src, size_t bytes);
/* How many times the step was recorded (1 after create, forever) and submitted. */
uint64_t vkd_vk_record_count(const struct vkd_vk *e);
uint64_t vkd_vk_submit_count(const struct vkd_vk *e);
/* Per-dispatch GPU times of the last run (timestamps on): names[i] is the kernel's stem. */
int vkd_vk_pass_times(const struct vkd_vk *e, const char ***names, const double **ms);
/* Bytes of device memory the executor holds. */
uint64_t vkd_vk_device_bytes(const struct vkd_vk *e);
/* The gradient parts whose forward and backward the recorded step interleaves (a student cut
 * into modules: engine/schedule.c); 1 when it runs the plain order. */
int vkd_vk_step_parts(const struct vkd_vk *e);

#endif /* VKD_H */

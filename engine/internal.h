/*
 * internal.h - what the engine's own files share: the context, the kernel table, the recorder
 * (dispatch + barrier helpers), graph nodes and the op table. Not for host/ code.
 */
#ifndef VKD_INTERNAL_H
#define VKD_INTERNAL_H

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <vulkan/vulkan.h>

#include "vkd.h"
#include "vkd_shared.h"

/* Programmer errors: always on, even in release builds, and they name file:line. */
#define VKD_ASSERT(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #cond);          \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define VKD_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Memory planning (plan.c). Every tensor starts at VKD_TENSOR_ALIGN bytes (>= any
 * minStorageBufferOffsetAlignment); tensors are packed into buffers of at least VKD_CHUNK_BYTES
 * (larger when one tensor needs it). */
#define VKD_TENSOR_ALIGN 256
#define VKD_CHUNK_BYTES ((VkDeviceSize)256 << 20)
#define VKD_PLAN_MAX_BUFFERS 256
struct vkd_plan_out {
    int *buf_of;            /* per root tensor: its buffer (callers allocate, one per tensor) */
    VkDeviceSize *byte_off; /* per root tensor: offset in its buffer */
    VkDeviceSize size[VKD_PLAN_MAX_BUFFERS];
    int host_visible[VKD_PLAN_MAX_BUFFERS];
    int shared[VKD_PLAN_MAX_BUFFERS]; /* tensors share it by lifetime (plan.c) */
    int n;                  /* buffers */
    int interleaved;        /* phase 0 runs VKD_LIST_STEP: the executor records that order */
};
struct vkd_vk_desc;
enum vkd_status vkd_plan(struct vkd_context *ctx, const struct vkd_graph *g,
                         const struct vkd_vk_desc *desc, struct vkd_plan_out *out);

const char *vkd_vkresult_name(VkResult r);

/* ---- kernel table ----------------------------------------------------------------------------- */

enum vkd_kernel_id {
#define VKD_KERNEL(id, stem, bindings, push_struct) VKD_K_##id,
#include "kernels.def"
#undef VKD_KERNEL
    VKD_K_COUNT
};

struct vkd_kernel_desc {
    const char *stem;             /* shaders/<stem>.comp */
    const unsigned char *spirv;   /* embedded by cmake/embed_spirv.cmake */
    uint32_t bindings;            /* storage buffers 0..bindings-1 in set 0 */
    uint32_t push_size;           /* bytes of push constants (the shared header's struct) */
};
extern const struct vkd_kernel_desc vkd_kernels[VKD_K_COUNT];

/* Pipeline objects of one kernel, created on first use. */
struct vkd_kernel_rt {
    VkDescriptorSetLayout set_layout;
    VkPipelineLayout layout;
    VkPipeline pipeline;
};

/* ---- context ---------------------------------------------------------------------------------- */

struct vkd_context {
    VkInstance instance;
    VkDebugUtilsMessengerEXT messenger;
    VkPhysicalDevice phys;
    VkDevice dev;
    VkQueue queue;
    uint32_t queue_family;
    VkCommandPool cmd_pool;
    VkPipelineCache pipeline_cache;
    VkPhysicalDeviceMemoryProperties mem_props;
    struct vkd_device_info info;
    uint32_t wg_1d; /* specialization constant 0 of every shader */
    enum vkd_kernel_variant variant; /* GPU or CPU, resolved at creation */
    struct vkd_kernel_rt kernels[VKD_K_COUNT];
    void (*log)(void *user, const char *msg);
    void *log_user;
    uint32_t n_messages;
    char error[512];
};

/* Records the reason for a failure on ctx and returns s. */
enum vkd_status vkd_fail(struct vkd_context *ctx, enum vkd_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Maps a failed VkResult to a status, naming the call: vkd_vk_fail(ctx, "vkCreateBuffer", r). */
enum vkd_status vkd_vk_fail(struct vkd_context *ctx, const char *call, VkResult r);

/* Creates the pipeline of kernel k if it does not exist yet. */
enum vkd_status vkd_kernel_get(struct vkd_context *ctx, enum vkd_kernel_id k,
                               const struct vkd_kernel_rt **out);
void vkd_kernels_destroy(struct vkd_context *ctx);

/* ---- memory ------------------------------------------------------------------------------------ */

/* A tensor's place on the device: what a descriptor binds. */
struct vkd_view {
    VkBuffer buf;
    VkDeviceSize off, size; /* bytes */
};

struct vkd_buffer {
    VkBuffer buf;
    VkDeviceMemory mem;
    VkDeviceSize size;
    void *map; /* non-NULL for host-visible buffers (persistently mapped) */
};

/* host_visible: HOST_VISIBLE|HOST_COHERENT (device-local too when the device offers it). */
enum vkd_status vkd_buffer_create(struct vkd_context *ctx, VkDeviceSize size, int host_visible,
                                  struct vkd_buffer *out);
void vkd_buffer_destroy(struct vkd_context *ctx, struct vkd_buffer *b);
/* Device <-> host copies through a staging buffer and one-shot command buffers. */
enum vkd_status vkd_buffer_upload(struct vkd_context *ctx, struct vkd_view dst, const void *src);
enum vkd_status vkd_buffer_download(struct vkd_context *ctx, struct vkd_view src, void *dst);
/* Fills a view with a 32-bit pattern (vkCmdFillBuffer), e.g. zero or a NaN. */
enum vkd_status vkd_buffer_fill(struct vkd_context *ctx, struct vkd_view v, uint32_t pattern);

/* ---- graph nodes and ops ------------------------------------------------------------------------ */

#define VKD_NODE_IO 8
#define VKD_NODE_ATTR_WORDS 32 /* 128 bytes: room for any push-constant struct */

struct vkd_op;

/*
 * A node: one op applied to tensors. in[] are forward inputs (-1 = an absent optional input such
 * as a bias), out[] forward outputs including intermediates saved for backward. acc[i] is set by
 * vkd_graph_finalize: 0 = backward overwrites the gradient of in[i], 1 = adds to it (the tensor
 * feeds several nodes; backward visits them in reverse order and the first one writes).
 */
struct vkd_node {
    const struct vkd_op *op;
    char name[VKD_NAME_LEN];
    int phase; /* vkd_graph_set_phase; backward exists for phase 0 only */
    int in[VKD_NODE_IO], n_in;
    int out[VKD_NODE_IO], n_out;
    uint8_t acc[VKD_NODE_IO];
    uint32_t attr[VKD_NODE_ATTR_WORDS]; /* op-specific, usually its push-constant struct */
};

struct vkd_ref;
struct vkd_rec;

/*
 * An op: one table row. Forward reads in[] and writes out[]. Backward reads in[], out[] and the
 * gradients of the differentiable outputs (diff_out bit i = out[i]) and writes the gradient of
 * every input that has one, honouring acc[]. Gradient conventions are stated in each op file.
 * diff_out = 0 makes a gradient boundary: the outputs never require a gradient, so graph.c never
 * schedules the backward (fill, augment, stop_grad).
 */
struct vkd_op {
    const char *name;
    unsigned diff_out;
    void (*ref_fwd)(struct vkd_ref *e, const struct vkd_node *n);
    void (*ref_bwd)(struct vkd_ref *e, const struct vkd_node *n);
    void (*vk_fwd)(struct vkd_rec *r, const struct vkd_node *n);
    void (*vk_bwd)(struct vkd_rec *r, const struct vkd_node *n);
    /* Bit i: the op never gives in[i] a gradient (a target, a teacher), even when in[i] has one
     * from elsewhere; graph.c then never makes this node a writer of that gradient. */
    unsigned const_in;
};

/* Ops the graph inserts by itself: gradient seeds (fill, copy) and the optimizer (sgd). */
extern const struct vkd_op vkd_op_fill, vkd_op_copy, vkd_op_sgd;

/* Adds a node; returns its index. attr (attr_size bytes, <= 128) is copied into node.attr. */
int vkd_graph_add_node(struct vkd_graph *g, const struct vkd_op *op, const char *name,
                       const int *in, int n_in, const int *out, int n_out, const void *attr,
                       size_t attr_size);
/* New ACT tensor; requires_grad is inherited by the caller through vkd_graph_propagate(). */
int vkd_graph_act(struct vkd_graph *g, const char *name, int n, int c, int h, int w);
/* requires_grad of out = any differentiable in[] requires grad. Call after adding the node. */
void vkd_graph_propagate(struct vkd_graph *g, int node);
struct vkd_tensor *vkd_graph_tensor_mut(struct vkd_graph *g, int t);

/* A pass in an executor's list: run node's forward (pass 0) or backward (pass 1). */
struct vkd_call {
    int node;
    int pass;
};
const struct vkd_node *vkd_graph_node(const struct vkd_graph *g, int i);
/* The call lists of a finalized graph. VKD_LIST_FORWARD holds every phase's forward calls (an
 * executor runs those of one phase); the others are phase 0's. VKD_LIST_STEP is forward and
 * backward interleaved (schedule.c). */
enum { VKD_LIST_FORWARD, VKD_LIST_BACKWARD, VKD_LIST_UPDATE, VKD_LIST_STEP, VKD_LIST_COUNT };
int vkd_graph_list(const struct vkd_graph *g, int list, const struct vkd_call **calls);
/* The lists `phase` runs for `program` (VKD_PROG_* bits), in order, into lists[]; returns how
 * many. Phases other than 0 run their forward calls only. With interleave, phase 0's forward and
 * backward are the one VKD_LIST_STEP where that order differs from the plain one (the graph's
 * gradients fall into parts, schedule.c); the update always comes last. The executor and the
 * memory planner walk the same lists. */
int vkd_graph_program_lists(const struct vkd_graph *g, unsigned program, int interleave,
                            int phase, int lists[3]);
/* Parts of the interleaved step: 1 when it is the plain order. */
int vkd_graph_step_parts(const struct vkd_graph *g);
/* schedule.c: phase 0's forward and backward calls interleaved part by part into a new array
 * *out of *n_out calls (finalize's last step). Returns the number of parts. */
int vkd_schedule_step(const struct vkd_graph *g, struct vkd_call **out, int *n_out);
/* Backward seeds (vkd_graph_loss / vkd_graph_seed): src >= 0 for a seed input, else a loss
 * whose weight is step[slot] (1.0 when slot < 0). */
int vkd_graph_seed_count(const struct vkd_graph *g);
void vkd_graph_seed_at(const struct vkd_graph *g, int i, int *t, int *src, int *slot);
/* Largest numel of any root tensor of each kind, and the total (planning helpers). */
size_t vkd_graph_root_numel(const struct vkd_graph *g, int t);

/* ---- CPU reference executor: what ops see --------------------------------------------------- */

const struct vkd_graph *vkd_ref_graph(const struct vkd_ref *e);
/* Data of tensor t (NULL for t < 0) and of its gradient (NULL when it has none). */
double *vkd_ref_t(struct vkd_ref *e, int t);
double *vkd_ref_g(struct vkd_ref *e, int t);
/* out = acc ? out + v : v, the one place the accumulate convention is applied on the CPU. */
static inline void vkd_ref_put(double *out, int acc, double v)
{
    *out = acc ? *out + v : v;
}

/* ---- Vulkan recorder: what ops see ------------------------------------------------------------ */

const struct vkd_graph *vkd_rec_graph(const struct vkd_rec *r);
struct vkd_context *vkd_rec_context(const struct vkd_rec *r);
/* The view of tensor t, or of its gradient. Asserts that it exists. */
struct vkd_view vkd_rec_t(struct vkd_rec *r, int t);
struct vkd_view vkd_rec_g(struct vkd_rec *r, int t);
/* A view of n elements of tensor t starting at element first (for ops that split work). */
struct vkd_view vkd_rec_sub(struct vkd_rec *r, struct vkd_view v, size_t first, size_t n);

/*
 * Records one dispatch of kernel k: binds views[0..n_views-1] as storage buffers 0..n-1, pushes
 * push (push_size bytes), dispatches groups, then one conservative compute->compute barrier.
 * Asserts that n_views and push_size match the kernel table and that every view fits the
 * device's maxStorageBufferRange.
 */
void vkd_rec_dispatch(struct vkd_rec *r, enum vkd_kernel_id k, const struct vkd_view *views,
                      uint32_t n_views, const void *push, uint32_t push_size, uint32_t gx,
                      uint32_t gy, uint32_t gz);
/* Workgroups for a 1-D dispatch of count invocations in groups of wg, folded into (x, y) so that
 * no dimension exceeds the device limit; shaders recover the index with vkd_gid(). */
void vkd_rec_groups_1d(const struct vkd_rec *r, uint64_t count, uint32_t wg, uint32_t *gx,
                       uint32_t *gy);
/* The 1-D workgroup size shaders were specialised with. */
uint32_t vkd_rec_wg(const struct vkd_rec *r);
/* 1 when ops should record their CPU-device kernel variant (vkd_context_desc.variant). */
int vkd_rec_cpu_variant(const struct vkd_rec *r);
/* 1 when ops should record CPU-device kernels: the CPU variant was chosen and the device has
 * subgroupShuffle over subgroups of a multiple of VKD_CPU_CL lanes (what those kernels use to
 * combine lanes); otherwise every op keeps its GPU kernels. */
int vkd_rec_cpu_kernels(const struct vkd_rec *r);

/* ---- record helpers one op family lends another -------------------------------------------- */

/* correlation.c: the Gram of feature-map cells (see vkd_gram). params_of checks x and fills the
 * family's push constants; record_raw records the raw (unnormalised) Gram g of x;
 * record_rowdots records dots[r] = dy[r, :] . y[r, :] over the p->batches * p->rows rows of
 * p->rows elements of y and dy (the per-row half of a normalisation or softmax backward);
 * batch_grid folds p->batches matrices into a grid's (y, z) for a shader that includes
 * correlation.glsl, gx workgroups per matrix (it sets p->fold). */
struct vkd_gram_params vkd_gram_params_of(const struct vkd_tensor *x, enum vkd_gram_mode mode,
                                          uint32_t grid_h, uint32_t grid_w, int normalize);
void vkd_gram_record_raw(struct vkd_rec *r, struct vkd_gram_params p, struct vkd_view x,
                         struct vkd_view g);
void vkd_gram_record_rowdots(struct vkd_rec *r, const struct vkd_gram_params *p, struct vkd_view y,
                             struct vkd_view dy, struct vkd_view dots);
void vkd_gram_batch_grid(struct vkd_rec *r, struct vkd_gram_params *p, uint32_t gx, uint32_t *gy,
                         uint32_t *gz);

/* softmax.c: records softmax_fwd over p->rows rows of p->len elements, y = softmax(scale * x);
 * x and y may be the same view (in place). */
void vkd_softmax_record_fwd(struct vkd_rec *r, const struct vkd_softmax_params *p,
                            struct vkd_view x, struct vkd_view y);

/* pairsum.c: the glue of the elementwise pair losses L = scale * sum_i f(a_i, b_i, c_i)
 * (sqdiff.c, hinge.c; see pairsum.c). A family gives f and df/da (times dL; df/db = -df/da) for
 * one element, c = 1 without a c tensor, as the CPU reference, and its forward (per-chunk
 * partials) and backward shaders; its op row's functions call these with it, and its builder
 * calls vkd_pairsum_node with the family's push-constant fields set (scale, margin). */
struct vkd_pairsum_family {
    double (*term)(const struct vkd_pairsum_params *p, double a, double b, double c);
    double (*grad)(const struct vkd_pairsum_params *p, double a, double b, double c, double dl);
    enum vkd_kernel_id fwd, bwd;
};
void vkd_pairsum_ref_fwd(const struct vkd_pairsum_family *f, struct vkd_ref *e,
                         const struct vkd_node *n);
void vkd_pairsum_ref_bwd(const struct vkd_pairsum_family *f, struct vkd_ref *e,
                         const struct vkd_node *n);
void vkd_pairsum_vk_fwd(const struct vkd_pairsum_family *f, struct vkd_rec *r,
                        const struct vkd_node *n);
void vkd_pairsum_vk_bwd(const struct vkd_pairsum_family *f, struct vkd_rec *r,
                        const struct vkd_node *n);
/* Adds the node (op's const_in must be c's bit); returns L. */
int vkd_pairsum_node(struct vkd_graph *g, const struct vkd_op *op, const char *name, int a,
                     int b, int c, struct vkd_pairsum_params p);

static inline uint32_t vkd_div_up(uint64_t a, uint64_t b)
{
    return (uint32_t)((a + b - 1) / b);
}

#endif /* VKD_INTERNAL_H */

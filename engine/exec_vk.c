/*
 * exec_vk.c - the Vulkan executor: plans every tensor of a graph into a few large buffers,
 * records the whole program (forward, backward, update) into ONE command buffer at creation, and
 * replays that buffer on every run. Values that change per step live in the host-visible
 * step-parameter tensor, which shaders read, so nothing is ever re-recorded.
 *
 * Recording happens twice: a dry pass that only counts dispatches and bindings (so descriptor
 * and query pools are sized exactly), then the real pass.
 */
#include <math.h>
#include <string.h>

#include "internal.h"


struct vkd_rec {
    struct vkd_vk *e;
    VkCommandBuffer cb;      /* the phase's command buffer being recorded */
    int timed;               /* write timestamps around dispatches (phase 0 with timestamps) */
    int dry;                 /* counting pass: no Vulkan calls */
    uint32_t n_dispatch;     /* dispatches recorded so far */
    uint32_t n_bindings;     /* storage-buffer descriptors used so far */
    enum vkd_status status;  /* first failure while recording */
};

struct vkd_vk {
    struct vkd_context *ctx;
    const struct vkd_graph *g;
    struct vkd_buffer *bufs;
    int n_bufs;
    int *buf_of;              /* per root tensor: index into bufs */
    VkDeviceSize *byte_off;   /* per root tensor: offset in its buffer */
    VkDescriptorPool pool;
    VkQueryPool queries;
    VkCommandBuffer cb[VKD_MAX_PHASES]; /* one per phase that has nodes; phase 0 always */
    VkFence fence;
    uint32_t n_dispatch;
    const char **pass_names;  /* per dispatch: kernel stem (timestamps on) */
    double *pass_ms;
    uint64_t n_record, n_submit;
    uint64_t device_bytes;
    int timestamps;
    int interleaved; /* phase 0 runs the interleaved step list (the plan chose it, plan.c) */
};

/* ---- planning ----------------------------------------------------------------------------------- */

static int root_of(const struct vkd_graph *g, int t)
{
    while (vkd_graph_tensor_at(g, t)->parent >= 0)
        t = vkd_graph_tensor_at(g, t)->parent;
    return t;
}

/* Places every root tensor (engine/plan.c) and creates the buffers, zeroed. */
static enum vkd_status plan(struct vkd_vk *e, const struct vkd_vk_desc *desc)
{
    struct vkd_plan_out *po = calloc(1, sizeof(*po));
    if (!po)
        return vkd_fail(e->ctx, VKD_ERR_OUT_OF_MEMORY, "out of host memory");
    po->buf_of = e->buf_of, po->byte_off = e->byte_off;
    enum vkd_status ps = vkd_plan(e->ctx, e->g, desc, po);
    if (ps != VKD_OK) {
        free(po);
        return ps;
    }
    e->interleaved = po->interleaved;
    int nb = po->n, hv[VKD_PLAN_MAX_BUFFERS], shared[VKD_PLAN_MAX_BUFFERS];
    VkDeviceSize sizes[VKD_PLAN_MAX_BUFFERS];
    memcpy(hv, po->host_visible, sizeof(hv));
    memcpy(shared, po->shared, sizeof(shared));
    memcpy(sizes, po->size, sizeof(sizes));
    free(po);
    e->bufs = calloc((size_t)nb, sizeof(*e->bufs));
    if (!e->bufs)
        return vkd_fail(e->ctx, VKD_ERR_OUT_OF_MEMORY, "out of host memory");
    for (int b = 0; b < nb; b++) {
        enum vkd_status s = vkd_buffer_create(e->ctx, sizes[b], hv[b], &e->bufs[b]);
        if (s != VKD_OK)
            return s;
        e->n_bufs = b + 1;
        e->device_bytes += sizes[b];
        /* Every tensor starts at zero: gradients that no node writes read as zero (they have
         * memory of their own). Shared memory is overwritten before every read, so poison may
         * fill it with a quiet NaN to prove that. */
        uint32_t pattern = desc->poison && shared[b] ? 0x7fc00000u : 0;
        if (hv[b])
            memset(e->bufs[b].map, 0, sizes[b]);
        else
            s = vkd_buffer_fill(e->ctx, (struct vkd_view){e->bufs[b].buf, 0, sizes[b]}, pattern);
        if (s != VKD_OK)
            return s;
    }
    return VKD_OK;
}

static struct vkd_view view_of(const struct vkd_vk *e, int t)
{
    const struct vkd_tensor *tt = vkd_graph_tensor_at(e->g, t);
    int r = root_of(e->g, t);
    VkDeviceSize off = e->byte_off[r];
    for (int u = t; vkd_graph_tensor_at(e->g, u)->parent >= 0; u = vkd_graph_tensor_at(e->g, u)->parent)
        off += vkd_graph_tensor_at(e->g, u)->offset * 4;
    return (struct vkd_view){e->bufs[e->buf_of[r]].buf, off, vkd_tensor_numel(tt) * 4};
}

/* ---- the recorder, as ops see it ------------------------------------------------------------ */

const struct vkd_graph *vkd_rec_graph(const struct vkd_rec *r)
{
    return r->e->g;
}

struct vkd_context *vkd_rec_context(const struct vkd_rec *r)
{
    return r->e->ctx;
}

uint32_t vkd_rec_wg(const struct vkd_rec *r)
{
    return r->e->ctx->wg_1d;
}

int vkd_rec_cpu_variant(const struct vkd_rec *r)
{
    return r->e->ctx->variant == VKD_VARIANT_CPU;
}

int vkd_rec_cpu_kernels(const struct vkd_rec *r)
{
    const struct vkd_device_info *d = &r->e->ctx->info;
    return vkd_rec_cpu_variant(r) && d->subgroup_shuffle && d->subgroup_size >= VKD_CPU_CL &&
           d->subgroup_size % VKD_CPU_CL == 0;
}

struct vkd_view vkd_rec_t(struct vkd_rec *r, int t)
{
    VKD_ASSERT(t >= 0 && t < vkd_graph_tensor_count(r->e->g));
    return view_of(r->e, t);
}

struct vkd_view vkd_rec_g(struct vkd_rec *r, int t)
{
    int gi = vkd_graph_tensor_at(r->e->g, t)->grad;
    VKD_ASSERT(gi >= 0);
    return view_of(r->e, gi);
}

struct vkd_view vkd_rec_sub(struct vkd_rec *r, struct vkd_view v, size_t first, size_t n)
{
    (void)r;
    VKD_ASSERT((first + n) * 4 <= v.size);
    return (struct vkd_view){v.buf, v.off + first * 4, n * 4};
}

void vkd_rec_groups_1d(const struct vkd_rec *r, uint64_t count, uint32_t wg, uint32_t *gx,
                       uint32_t *gy)
{
    uint64_t groups = (count + wg - 1) / wg;
    uint32_t maxx = r->e->ctx->info.max_workgroup_count[0];
    if (groups == 0)
        groups = 1;
    if (groups <= maxx) {
        *gx = (uint32_t)groups, *gy = 1;
        return;
    }
    /* Fold into y; the shader's vkd_gid() bounds-checks the tail. */
    *gx = maxx;
    *gy = (uint32_t)((groups + maxx - 1) / maxx);
    VKD_ASSERT(*gy <= r->e->ctx->info.max_workgroup_count[1]);
}

/* The one barrier between dispatches: every compute write is visible to every later compute
 * read or write. Conservative by design (a whole step is a chain of dependent passes anyway). */
static void barrier(VkCommandBuffer cb)
{
    VkMemoryBarrier mb = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT,
    };
    vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                         VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
}

void vkd_rec_dispatch(struct vkd_rec *r, enum vkd_kernel_id k, const struct vkd_view *views,
                      uint32_t n_views, const void *push, uint32_t push_size, uint32_t gx,
                      uint32_t gy, uint32_t gz)
{
    struct vkd_vk *e = r->e;
    const struct vkd_kernel_desc *d = &vkd_kernels[k];
    VKD_ASSERT(n_views == d->bindings);
    VKD_ASSERT(push_size == d->push_size);
    VKD_ASSERT(gx >= 1 && gy >= 1 && gz >= 1);
    VKD_ASSERT(gx <= e->ctx->info.max_workgroup_count[0] &&
               gy <= e->ctx->info.max_workgroup_count[1] &&
               gz <= e->ctx->info.max_workgroup_count[2]);
    for (uint32_t i = 0; i < n_views; i++)
        VKD_ASSERT(views[i].buf && views[i].size > 0 &&
                   views[i].size <= e->ctx->info.max_storage_range);
    uint32_t index = r->n_dispatch++;
    r->n_bindings += n_views;
    if (r->dry || r->status != VKD_OK)
        return;

    const struct vkd_kernel_rt *rt;
    enum vkd_status s = vkd_kernel_get(e->ctx, k, &rt);
    if (s != VKD_OK) {
        r->status = s;
        return;
    }
    VkDescriptorSetAllocateInfo ai = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
        .descriptorPool = e->pool,
        .descriptorSetCount = 1,
        .pSetLayouts = &rt->set_layout,
    };
    VkDescriptorSet set;
    VkResult vr = vkAllocateDescriptorSets(e->ctx->dev, &ai, &set);
    if (vr != VK_SUCCESS) {
        r->status = vkd_vk_fail(e->ctx, "vkAllocateDescriptorSets", vr);
        return;
    }
    VkDescriptorBufferInfo bi[16];
    VkWriteDescriptorSet w[16];
    VKD_ASSERT(n_views <= VKD_ARRAY_LEN(bi));
    for (uint32_t i = 0; i < n_views; i++) {
        bi[i] = (VkDescriptorBufferInfo){views[i].buf, views[i].off, views[i].size};
        w[i] = (VkWriteDescriptorSet){
            .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
            .dstSet = set,
            .dstBinding = i,
            .descriptorCount = 1,
            .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            .pBufferInfo = &bi[i],
        };
    }
    vkUpdateDescriptorSets(e->ctx->dev, n_views, w, 0, NULL);

    VkCommandBuffer cb = r->cb;
    if (r->timed) {
        e->pass_names[index] = d->stem;
        vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, e->queries, 2 * index);
    }
    vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, rt->pipeline);
    vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, rt->layout, 0, 1, &set, 0, NULL);
    if (push_size)
        vkCmdPushConstants(cb, rt->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_size, push);
    vkCmdDispatch(cb, gx, gy, gz);
    barrier(cb);
    if (r->timed)
        vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, e->queries, 2 * index + 1);
}

/* ---- recording ----------------------------------------------------------------------------------- */

/* Phase 0 records the lists selected by `program` (in the order the plan chose, plan.c);
 * other phases their forward nodes only. */
static void record_lists(struct vkd_rec *r, unsigned program, int phase)
{
    int lists[3];
    int n_lists = vkd_graph_program_lists(r->e->g, program, r->e->interleaved, phase, lists);
    for (int l = 0; l < n_lists; l++) {
        const struct vkd_call *calls;
        int n = vkd_graph_list(r->e->g, lists[l], &calls);
        for (int i = 0; i < n; i++) {
            const struct vkd_node *node = vkd_graph_node(r->e->g, calls[i].node);
            if (node->phase != phase)
                continue;
            if (calls[i].pass == 0)
                node->op->vk_fwd(r, node);
            else
                node->op->vk_bwd(r, node);
        }
    }
}

static enum vkd_status record_phase(struct vkd_vk *e, unsigned program, int phase,
                                    uint32_t expect_dispatch)
{
    VkCommandBufferAllocateInfo ai = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = e->ctx->cmd_pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 1,
    };
    VkResult vr = vkAllocateCommandBuffers(e->ctx->dev, &ai, &e->cb[phase]);
    if (vr != VK_SUCCESS)
        return vkd_vk_fail(e->ctx, "vkAllocateCommandBuffers", vr);
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    vr = vkBeginCommandBuffer(e->cb[phase], &bi);
    if (vr != VK_SUCCESS)
        return vkd_vk_fail(e->ctx, "vkBeginCommandBuffer", vr);
    /* Host writes (inputs, step parameters) before the submit are visible to the shaders by the
     * submit's own guarantee; results must be made visible to host reads at the end. */
    struct vkd_rec rec = {.e = e, .cb = e->cb[phase], .timed = phase == 0 && e->timestamps};
    if (rec.timed)
        vkCmdResetQueryPool(e->cb[phase], e->queries, 0, 2 * e->n_dispatch);
    record_lists(&rec, program, phase);
    if (rec.status != VKD_OK)
        return rec.status;
    VKD_ASSERT(rec.n_dispatch == expect_dispatch); /* ops must record deterministically */
    VkMemoryBarrier mb = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT,
    };
    vkCmdPipelineBarrier(e->cb[phase], VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                         VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb,
                         0, NULL, 0, NULL);
    vr = vkEndCommandBuffer(e->cb[phase]);
    if (vr != VK_SUCCESS)
        return vkd_vk_fail(e->ctx, "vkEndCommandBuffer", vr);
    return VKD_OK;
}

static enum vkd_status record(struct vkd_vk *e, unsigned program)
{
    /* Dry passes: dispatches per phase, bindings overall, so the pools are sized exactly. */
    uint32_t per_phase[VKD_MAX_PHASES] = {0}, n_sets = 0, n_bindings = 0;
    for (int p = 0; p < VKD_MAX_PHASES; p++) {
        struct vkd_rec dry = {.e = e, .dry = 1};
        record_lists(&dry, program, p);
        per_phase[p] = dry.n_dispatch;
        n_sets += dry.n_dispatch;
        n_bindings += dry.n_bindings;
    }
    e->n_dispatch = per_phase[0];

    VkDescriptorPoolSize ps = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, n_bindings ? n_bindings : 1};
    VkDescriptorPoolCreateInfo pi = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
        .maxSets = n_sets ? n_sets : 1,
        .poolSizeCount = 1,
        .pPoolSizes = &ps,
    };
    VkResult vr = vkCreateDescriptorPool(e->ctx->dev, &pi, NULL, &e->pool);
    if (vr != VK_SUCCESS)
        return vkd_vk_fail(e->ctx, "vkCreateDescriptorPool", vr);
    if (e->timestamps && e->n_dispatch) {
        VkQueryPoolCreateInfo qi = {
            .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
            .queryType = VK_QUERY_TYPE_TIMESTAMP,
            .queryCount = 2 * e->n_dispatch,
        };
        vr = vkCreateQueryPool(e->ctx->dev, &qi, NULL, &e->queries);
        if (vr != VK_SUCCESS)
            return vkd_vk_fail(e->ctx, "vkCreateQueryPool", vr);
        e->pass_names = calloc(e->n_dispatch, sizeof(*e->pass_names));
        e->pass_ms = calloc(e->n_dispatch, sizeof(*e->pass_ms));
        if (!e->pass_names || !e->pass_ms)
            return vkd_fail(e->ctx, VKD_ERR_OUT_OF_MEMORY, "out of host memory");
    } else {
        e->timestamps = 0;
    }
    for (int p = 0; p < VKD_MAX_PHASES; p++) {
        if (p > 0 && per_phase[p] == 0)
            continue;
        enum vkd_status s = record_phase(e, program, p, per_phase[p]);
        if (s != VKD_OK)
            return s;
    }
    VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    vr = vkCreateFence(e->ctx->dev, &fi, NULL, &e->fence);
    if (vr != VK_SUCCESS)
        return vkd_vk_fail(e->ctx, "vkCreateFence", vr);
    e->n_record++;
    return VKD_OK;
}

/* ---- public API ----------------------------------------------------------------------------------- */

enum vkd_status vkd_vk_create(struct vkd_context *ctx, const struct vkd_graph *g,
                              const struct vkd_vk_desc *desc, struct vkd_vk **out)
{
    *out = NULL;
    struct vkd_vk *e = calloc(1, sizeof(*e));
    int n = vkd_graph_tensor_count(g);
    if (!e)
        return vkd_fail(ctx, VKD_ERR_OUT_OF_MEMORY, "out of host memory");
    e->ctx = ctx;
    e->g = g;
    e->timestamps = desc->timestamps && ctx->info.timestamps;
    e->buf_of = calloc((size_t)n, sizeof(*e->buf_of));
    e->byte_off = calloc((size_t)n, sizeof(*e->byte_off));
    enum vkd_status s = VKD_OK;
    if (!e->buf_of || !e->byte_off)
        s = vkd_fail(ctx, VKD_ERR_OUT_OF_MEMORY, "out of host memory");
    if (s == VKD_OK)
        s = plan(e, desc);
    if (s == VKD_OK)
        s = record(e, desc->program);
    if (s != VKD_OK) {
        vkd_vk_destroy(e);
        return s;
    }
    *out = e;
    return VKD_OK;
}

void vkd_vk_destroy(struct vkd_vk *e)
{
    if (!e)
        return;
    VkDevice dev = e->ctx->dev;
    vkQueueWaitIdle(e->ctx->queue);
    if (e->fence)
        vkDestroyFence(dev, e->fence, NULL);
    for (int p = 0; p < VKD_MAX_PHASES; p++)
        if (e->cb[p])
            vkFreeCommandBuffers(dev, e->ctx->cmd_pool, 1, &e->cb[p]);
    if (e->queries)
        vkDestroyQueryPool(dev, e->queries, NULL);
    if (e->pool)
        vkDestroyDescriptorPool(dev, e->pool, NULL);
    for (int b = 0; b < e->n_bufs; b++)
        vkd_buffer_destroy(e->ctx, &e->bufs[b]);
    free(e->bufs);
    free(e->buf_of);
    free(e->byte_off);
    free(e->pass_names);
    free(e->pass_ms);
    free(e);
}

enum vkd_status vkd_vk_run(struct vkd_vk *e)
{
    return vkd_vk_run_phase(e, 0);
}

enum vkd_status vkd_vk_run_phase(struct vkd_vk *e, int phase)
{
    VKD_ASSERT(phase >= 0 && phase < VKD_MAX_PHASES && e->cb[phase]);
    VkSubmitInfo si = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
        .commandBufferCount = 1,
        .pCommandBuffers = &e->cb[phase],
    };
    VkResult r = vkResetFences(e->ctx->dev, 1, &e->fence);
    if (r == VK_SUCCESS)
        r = vkQueueSubmit(e->ctx->queue, 1, &si, e->fence);
    if (r == VK_SUCCESS)
        r = vkWaitForFences(e->ctx->dev, 1, &e->fence, VK_TRUE, UINT64_MAX);
    if (r != VK_SUCCESS)
        return vkd_vk_fail(e->ctx, "submitting the recorded step", r);
    e->n_submit++;
    if (e->timestamps && phase == 0) {
        uint64_t *ts = malloc(sizeof(uint64_t) * 2 * e->n_dispatch);
        if (!ts)
            return vkd_fail(e->ctx, VKD_ERR_OUT_OF_MEMORY, "out of host memory");
        r = vkGetQueryPoolResults(e->ctx->dev, e->queries, 0, 2 * e->n_dispatch,
                                  sizeof(uint64_t) * 2 * e->n_dispatch, ts, sizeof(uint64_t),
                                  VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
        for (uint32_t i = 0; r == VK_SUCCESS && i < e->n_dispatch; i++)
            e->pass_ms[i] =
                (double)(ts[2 * i + 1] - ts[2 * i]) * e->ctx->info.timestamp_period_ns * 1e-6;
        free(ts);
        if (r != VK_SUCCESS)
            return vkd_vk_fail(e->ctx, "vkGetQueryPoolResults", r);
    }
    return VKD_OK;
}

/* Converts between the host's doubles/floats and the tensor's dtype; host-visible tensors are
 * read and written in place, device tensors through a staging copy. */
static enum vkd_status transfer(struct vkd_vk *e, int t, const double *in_d, const float *in_f,
                                double *out_d, float *out_f)
{
    const struct vkd_tensor *tt = vkd_graph_tensor_at(e->g, t);
    size_t n = vkd_tensor_numel(tt);
    struct vkd_view v = view_of(e, t);
    int r = root_of(e->g, t);
    const struct vkd_buffer *b = &e->bufs[e->buf_of[r]];
    uint32_t *words = b->map ? (uint32_t *)((char *)b->map + v.off) : malloc(n * 4);
    if (!words)
        return vkd_fail(e->ctx, VKD_ERR_OUT_OF_MEMORY, "out of host memory");
    enum vkd_status s = VKD_OK;
    int writing = in_d || in_f;
    if (writing) {
        for (size_t i = 0; i < n; i++) {
            double x = in_d ? in_d[i] : in_f[i];
            if (tt->dtype == VKD_U32) {
                words[i] = (uint32_t)llround(x);
            } else {
                float f = (float)x;
                memcpy(&words[i], &f, 4);
            }
        }
        if (!b->map)
            s = vkd_buffer_upload(e->ctx, v, words);
    } else {
        if (!b->map)
            s = vkd_buffer_download(e->ctx, v, words);
        for (size_t i = 0; s == VKD_OK && i < n; i++) {
            float f;
            memcpy(&f, &words[i], 4);
            double x = tt->dtype == VKD_U32 ? (double)words[i] : (double)f;
            if (out_d)
                out_d[i] = x;
            else
                out_f[i] = (float)x;
        }
    }
    if (!b->map)
        free(words);
    return s;
}

enum vkd_status vkd_vk_write_raw(struct vkd_vk *e, int t, const void *src, size_t bytes)
{
    const struct vkd_tensor *tt = vkd_graph_tensor_at(e->g, t);
    VKD_ASSERT(bytes <= vkd_tensor_numel(tt) * 4);
    struct vkd_view v = view_of(e, t);
    const struct vkd_buffer *b = &e->bufs[e->buf_of[root_of(e->g, t)]];
    if (b->map) {
        memcpy((char *)b->map + v.off, src, bytes);
        return VKD_OK;
    }
    /* whole words only: a staging copy moves 4-byte multiples */
    size_t words = (bytes + 3) / 4;
    if (words * 4 == bytes)
        return vkd_buffer_upload(e->ctx, (struct vkd_view){v.buf, v.off, bytes}, src);
    uint32_t *tmp = calloc(words, 4);
    if (!tmp)
        return vkd_fail(e->ctx, VKD_ERR_OUT_OF_MEMORY, "out of host memory");
    memcpy(tmp, src, bytes);
    enum vkd_status s = vkd_buffer_upload(e->ctx, (struct vkd_view){v.buf, v.off, words * 4}, tmp);
    free(tmp);
    return s;
}

enum vkd_status vkd_vk_write(struct vkd_vk *e, int t, const double *src)
{
    return transfer(e, t, src, NULL, NULL, NULL);
}

enum vkd_status vkd_vk_read(struct vkd_vk *e, int t, double *dst)
{
    return transfer(e, t, NULL, NULL, dst, NULL);
}

enum vkd_status vkd_vk_write_f32(struct vkd_vk *e, int t, const float *src)
{
    return transfer(e, t, NULL, src, NULL, NULL);
}

enum vkd_status vkd_vk_read_f32(struct vkd_vk *e, int t, float *dst)
{
    return transfer(e, t, NULL, NULL, NULL, dst);
}

uint64_t vkd_vk_record_count(const struct vkd_vk *e)
{
    return e->n_record;
}

uint64_t vkd_vk_submit_count(const struct vkd_vk *e)
{
    return e->n_submit;
}

int vkd_vk_pass_times(const struct vkd_vk *e, const char ***names, const double **ms)
{
    if (!e->timestamps)
        return 0;
    *names = e->pass_names;
    *ms = e->pass_ms;
    return (int)e->n_dispatch;
}

uint64_t vkd_vk_device_bytes(const struct vkd_vk *e)
{
    return e->device_bytes;
}

int vkd_vk_step_parts(const struct vkd_vk *e)
{
    return e->interleaved ? vkd_graph_step_parts(e->g) : 1;
}

/*
 * memory.c - device buffers and the host <-> device copies the executors use outside the
 * recorded step (initial weights, checkpoints, checks). The hot loop never goes through here:
 * per-step inputs live in host-visible buffers the host writes directly.
 */
#include <string.h>

#include "internal.h"

/* Staging copies move at most this much per round trip. */
#define VKD_STAGING_BYTES ((VkDeviceSize)16 << 20)

static int memory_type(const struct vkd_context *ctx, uint32_t bits, VkMemoryPropertyFlags want)
{
    for (uint32_t i = 0; i < ctx->mem_props.memoryTypeCount; i++)
        if ((bits & (1u << i)) && (ctx->mem_props.memoryTypes[i].propertyFlags & want) == want)
            return (int)i;
    return -1;
}

enum vkd_status vkd_buffer_create(struct vkd_context *ctx, VkDeviceSize size, int host_visible,
                                  struct vkd_buffer *out)
{
    memset(out, 0, sizeof(*out));
    VkBufferCreateInfo bi = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = size,
        .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                 VK_BUFFER_USAGE_TRANSFER_DST_BIT,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    VkResult r = vkCreateBuffer(ctx->dev, &bi, NULL, &out->buf);
    if (r != VK_SUCCESS)
        return vkd_vk_fail(ctx, "vkCreateBuffer", r);
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(ctx->dev, out->buf, &req);

    /* Host-visible buffers prefer device-local memory the host can map (resizable BAR, unified
     * memory); device buffers want device-local and fall back to anything. */
    const VkMemoryPropertyFlags hv =
        VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    int type = host_visible ? memory_type(ctx, req.memoryTypeBits,
                                          hv | VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT)
                            : memory_type(ctx, req.memoryTypeBits,
                                          VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    if (type < 0)
        type = memory_type(ctx, req.memoryTypeBits, host_visible ? hv : 0);
    if (type < 0) {
        vkd_buffer_destroy(ctx, out);
        return vkd_fail(ctx, VKD_ERR_VULKAN, "no memory type for a %s buffer",
                        host_visible ? "host-visible" : "device");
    }
    VkMemoryAllocateInfo ai = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
        .allocationSize = req.size,
        .memoryTypeIndex = (uint32_t)type,
    };
    r = vkAllocateMemory(ctx->dev, &ai, NULL, &out->mem);
    if (r != VK_SUCCESS) {
        vkd_buffer_destroy(ctx, out);
        if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
            return vkd_fail(ctx, VKD_ERR_OUT_OF_MEMORY,
                            "the device is out of memory allocating %.1f MiB; use a smaller "
                            "batch size or model",
                            (double)size / (1 << 20));
        return vkd_vk_fail(ctx, "vkAllocateMemory", r);
    }
    r = vkBindBufferMemory(ctx->dev, out->buf, out->mem, 0);
    if (r == VK_SUCCESS && host_visible)
        r = vkMapMemory(ctx->dev, out->mem, 0, VK_WHOLE_SIZE, 0, &out->map);
    if (r != VK_SUCCESS) {
        vkd_buffer_destroy(ctx, out);
        return vkd_vk_fail(ctx, "vkBindBufferMemory/vkMapMemory", r);
    }
    out->size = size;
    return VKD_OK;
}

void vkd_buffer_destroy(struct vkd_context *ctx, struct vkd_buffer *b)
{
    if (b->buf)
        vkDestroyBuffer(ctx->dev, b->buf, NULL);
    if (b->mem)
        vkFreeMemory(ctx->dev, b->mem, NULL); /* unmaps implicitly */
    memset(b, 0, sizeof(*b));
}

/* One-shot command buffer: begin, let the caller record, submit and wait. */
static enum vkd_status oneshot_begin(struct vkd_context *ctx, VkCommandBuffer *cb)
{
    VkCommandBufferAllocateInfo ai = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = ctx->cmd_pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 1,
    };
    VkResult r = vkAllocateCommandBuffers(ctx->dev, &ai, cb);
    if (r != VK_SUCCESS)
        return vkd_vk_fail(ctx, "vkAllocateCommandBuffers", r);
    VkCommandBufferBeginInfo bi = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
        .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
    };
    r = vkBeginCommandBuffer(*cb, &bi);
    if (r != VK_SUCCESS) {
        vkFreeCommandBuffers(ctx->dev, ctx->cmd_pool, 1, cb);
        return vkd_vk_fail(ctx, "vkBeginCommandBuffer", r);
    }
    return VKD_OK;
}

static enum vkd_status oneshot_end(struct vkd_context *ctx, VkCommandBuffer cb)
{
    VkResult r = vkEndCommandBuffer(cb);
    if (r == VK_SUCCESS) {
        VkSubmitInfo si = {
            .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
            .commandBufferCount = 1,
            .pCommandBuffers = &cb,
        };
        r = vkQueueSubmit(ctx->queue, 1, &si, VK_NULL_HANDLE);
        if (r == VK_SUCCESS)
            r = vkQueueWaitIdle(ctx->queue);
    }
    vkFreeCommandBuffers(ctx->dev, ctx->cmd_pool, 1, &cb);
    return r == VK_SUCCESS ? VKD_OK : vkd_vk_fail(ctx, "one-shot submit", r);
}

/* Transfer writes must be visible to compute shaders and later transfers, and compute writes to
 * transfers: the one barrier every copy and fill here ends or starts with. */
static void barrier_all(VkCommandBuffer cb)
{
    VkMemoryBarrier mb = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                         VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT |
                         VK_ACCESS_HOST_READ_BIT,
    };
    vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT |
                             VK_PIPELINE_STAGE_HOST_BIT,
                         0, 1, &mb, 0, NULL, 0, NULL);
}

static enum vkd_status copy(struct vkd_context *ctx, struct vkd_view v, void *host, int upload)
{
    struct vkd_buffer st;
    VkDeviceSize chunk = v.size < VKD_STAGING_BYTES ? v.size : VKD_STAGING_BYTES;
    enum vkd_status s = vkd_buffer_create(ctx, chunk, 1, &st);
    if (s != VKD_OK)
        return s;
    for (VkDeviceSize done = 0; s == VKD_OK && done < v.size; done += chunk) {
        VkDeviceSize n = v.size - done < chunk ? v.size - done : chunk;
        VkCommandBuffer cb;
        if (upload)
            memcpy(st.map, (char *)host + done, n);
        s = oneshot_begin(ctx, &cb);
        if (s != VKD_OK)
            break;
        barrier_all(cb);
        VkBufferCopy region = {
            .srcOffset = upload ? 0 : v.off + done,
            .dstOffset = upload ? v.off + done : 0,
            .size = n,
        };
        vkCmdCopyBuffer(cb, upload ? st.buf : v.buf, upload ? v.buf : st.buf, 1, &region);
        barrier_all(cb);
        s = oneshot_end(ctx, cb);
        if (s == VKD_OK && !upload)
            memcpy((char *)host + done, st.map, n);
    }
    vkd_buffer_destroy(ctx, &st);
    return s;
}

enum vkd_status vkd_buffer_upload(struct vkd_context *ctx, struct vkd_view dst, const void *src)
{
    return copy(ctx, dst, (void *)src, 1);
}

enum vkd_status vkd_buffer_download(struct vkd_context *ctx, struct vkd_view src, void *dst)
{
    return copy(ctx, src, dst, 0);
}

enum vkd_status vkd_buffer_fill(struct vkd_context *ctx, struct vkd_view v, uint32_t pattern)
{
    VkCommandBuffer cb;
    enum vkd_status s = oneshot_begin(ctx, &cb);
    if (s != VKD_OK)
        return s;
    barrier_all(cb);
    vkCmdFillBuffer(cb, v.buf, v.off, v.size, pattern);
    barrier_all(cb);
    return oneshot_end(ctx, cb);
}

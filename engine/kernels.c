/*
 * kernels.c - the kernel table (from kernels.def and the embedded SPIR-V) and pipeline creation.
 * Pipelines are created on first use: a program that never runs a kernel never compiles it.
 */
#include <string.h>

#include "internal.h"

#define VKD_KERNEL(id, stem, bindings, push_struct)                                                \
    extern const unsigned char vkd_spv_##stem[];                                                   \
    extern const unsigned long vkd_spv_##stem##_size;
#include "kernels.def"
#undef VKD_KERNEL

/* Every push-constant struct must fit the 128 bytes Vulkan guarantees. */
#define VKD_KERNEL(id, stem, bindings, push_struct)                                                \
    _Static_assert(sizeof(push_struct) <= VKD_MAX_PUSH_BYTES, #stem " push constants too big");
#include "kernels.def"
#undef VKD_KERNEL

const struct vkd_kernel_desc vkd_kernels[VKD_K_COUNT] = {
#define VKD_KERNEL(id, stem, bindings, push_struct)                                                \
    [VKD_K_##id] = {#stem, vkd_spv_##stem, bindings, sizeof(push_struct)},
#include "kernels.def"
#undef VKD_KERNEL
};

/* The sizes are not constant expressions in this translation unit, so they are looked up here. */
static unsigned long spirv_size(enum vkd_kernel_id k)
{
    static const unsigned long *const sizes[VKD_K_COUNT] = {
#define VKD_KERNEL(id, stem, bindings, push_struct) [VKD_K_##id] = &vkd_spv_##stem##_size,
#include "kernels.def"
#undef VKD_KERNEL
    };
    return *sizes[k];
}

static void kernel_destroy(struct vkd_context *ctx, struct vkd_kernel_rt *rt)
{
    if (rt->pipeline)
        vkDestroyPipeline(ctx->dev, rt->pipeline, NULL);
    if (rt->layout)
        vkDestroyPipelineLayout(ctx->dev, rt->layout, NULL);
    if (rt->set_layout)
        vkDestroyDescriptorSetLayout(ctx->dev, rt->set_layout, NULL);
    memset(rt, 0, sizeof(*rt));
}

static enum vkd_status kernel_create(struct vkd_context *ctx, enum vkd_kernel_id k,
                                     struct vkd_kernel_rt *rt)
{
    const struct vkd_kernel_desc *d = &vkd_kernels[k];
    VkDescriptorSetLayoutBinding b[16];
    VKD_ASSERT(d->bindings <= VKD_ARRAY_LEN(b));
    for (uint32_t i = 0; i < d->bindings; i++)
        b[i] = (VkDescriptorSetLayoutBinding){
            .binding = i,
            .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            .descriptorCount = 1,
            .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
        };
    VkDescriptorSetLayoutCreateInfo li = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
        .bindingCount = d->bindings,
        .pBindings = b,
    };
    VkResult r = vkCreateDescriptorSetLayout(ctx->dev, &li, NULL, &rt->set_layout);
    if (r != VK_SUCCESS)
        return vkd_vk_fail(ctx, "vkCreateDescriptorSetLayout", r);
    VkPushConstantRange pr = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .size = d->push_size};
    VkPipelineLayoutCreateInfo pli = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
        .setLayoutCount = 1,
        .pSetLayouts = &rt->set_layout,
        .pushConstantRangeCount = d->push_size ? 1 : 0,
        .pPushConstantRanges = &pr,
    };
    r = vkCreatePipelineLayout(ctx->dev, &pli, NULL, &rt->layout);
    if (r != VK_SUCCESS)
        return vkd_vk_fail(ctx, "vkCreatePipelineLayout", r);

    /* SPIR-V must be 4-byte aligned; the embedded bytes need not be. */
    unsigned long size = spirv_size(k);
    uint32_t *code = malloc(size);
    if (!code)
        return vkd_fail(ctx, VKD_ERR_OUT_OF_MEMORY, "out of host memory");
    memcpy(code, d->spirv, size);
    VkShaderModuleCreateInfo mi = {
        .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
        .codeSize = size,
        .pCode = code,
    };
    VkShaderModule module;
    r = vkCreateShaderModule(ctx->dev, &mi, NULL, &module);
    free(code);
    if (r != VK_SUCCESS)
        return vkd_vk_fail(ctx, "vkCreateShaderModule", r);

    /* Specialization constant 0 is the 1-D workgroup size; shaders that do not declare it
     * ignore the entry. */
    VkSpecializationMapEntry me = {.constantID = 0, .offset = 0, .size = sizeof(uint32_t)};
    VkSpecializationInfo si = {
        .mapEntryCount = 1,
        .pMapEntries = &me,
        .dataSize = sizeof(uint32_t),
        .pData = &ctx->wg_1d,
    };
    VkComputePipelineCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage =
            {
                .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                .module = module,
                .pName = "main",
                .pSpecializationInfo = &si,
            },
        .layout = rt->layout,
    };
    r = vkCreateComputePipelines(ctx->dev, ctx->pipeline_cache, 1, &ci, NULL, &rt->pipeline);
    vkDestroyShaderModule(ctx->dev, module, NULL);
    if (r != VK_SUCCESS)
        return vkd_fail(ctx, VKD_ERR_VULKAN, "vkCreateComputePipelines(%s) failed: %s", d->stem,
                        vkd_vkresult_name(r));
    return VKD_OK;
}

enum vkd_status vkd_kernel_get(struct vkd_context *ctx, enum vkd_kernel_id k,
                               const struct vkd_kernel_rt **out)
{
    VKD_ASSERT(k < VKD_K_COUNT);
    struct vkd_kernel_rt *rt = &ctx->kernels[k];
    if (!rt->pipeline) {
        enum vkd_status s = kernel_create(ctx, k, rt);
        if (s != VKD_OK) {
            kernel_destroy(ctx, rt);
            return s;
        }
    }
    *out = rt;
    return VKD_OK;
}

void vkd_kernels_destroy(struct vkd_context *ctx)
{
    for (int k = 0; k < VKD_K_COUNT; k++)
        kernel_destroy(ctx, &ctx->kernels[k]);
}

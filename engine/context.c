/*
 * context.c - the Vulkan instance, device enumeration and choice, the compute queue, the
 * validation layer's debug messenger, and the status/error helpers every engine file uses.
 */
#include <ctype.h>
#include <stdarg.h>
#include <string.h>

#include "internal.h"

#define VKD_VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

const char *vkd_status_name(enum vkd_status s)
{
    switch (s) {
    case VKD_OK: return "ok";
    case VKD_ERR_NO_VULKAN: return "no Vulkan";
    case VKD_ERR_NO_DEVICE: return "no Vulkan device";
    case VKD_ERR_BAD_DEVICE: return "no such device";
    case VKD_ERR_VULKAN: return "Vulkan error";
    case VKD_ERR_OUT_OF_MEMORY: return "out of memory";
    case VKD_ERR_DEVICE_LOST: return "device lost";
    case VKD_ERR_INVALID: return "invalid request";
    }
    return "unknown status";
}

const char *vkd_vkresult_name(VkResult r)
{
    switch (r) {
#define C(x) case x: return #x;
        C(VK_SUCCESS) C(VK_NOT_READY) C(VK_TIMEOUT) C(VK_EVENT_SET) C(VK_EVENT_RESET)
        C(VK_INCOMPLETE) C(VK_ERROR_OUT_OF_HOST_MEMORY) C(VK_ERROR_OUT_OF_DEVICE_MEMORY)
        C(VK_ERROR_INITIALIZATION_FAILED) C(VK_ERROR_DEVICE_LOST) C(VK_ERROR_MEMORY_MAP_FAILED)
        C(VK_ERROR_LAYER_NOT_PRESENT) C(VK_ERROR_EXTENSION_NOT_PRESENT)
        C(VK_ERROR_FEATURE_NOT_PRESENT) C(VK_ERROR_INCOMPATIBLE_DRIVER)
        C(VK_ERROR_TOO_MANY_OBJECTS) C(VK_ERROR_FORMAT_NOT_SUPPORTED) C(VK_ERROR_FRAGMENTED_POOL)
        C(VK_ERROR_UNKNOWN) C(VK_ERROR_OUT_OF_POOL_MEMORY) C(VK_ERROR_FRAGMENTATION)
        C(VK_PIPELINE_COMPILE_REQUIRED)
#undef C
    default: return "VK_ERROR_(unnamed)";
    }
}

enum vkd_status vkd_fail(struct vkd_context *ctx, enum vkd_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->error, sizeof(ctx->error), fmt, ap);
    va_end(ap);
    return s;
}

static enum vkd_status status_of(VkResult r)
{
    switch (r) {
    case VK_ERROR_OUT_OF_HOST_MEMORY:
    case VK_ERROR_OUT_OF_DEVICE_MEMORY:
    case VK_ERROR_OUT_OF_POOL_MEMORY: return VKD_ERR_OUT_OF_MEMORY;
    case VK_ERROR_DEVICE_LOST: return VKD_ERR_DEVICE_LOST;
    case VK_ERROR_INCOMPATIBLE_DRIVER: return VKD_ERR_NO_VULKAN;
    default: return VKD_ERR_VULKAN;
    }
}

enum vkd_status vkd_vk_fail(struct vkd_context *ctx, const char *call, VkResult r)
{
    return vkd_fail(ctx, status_of(r), "%s failed: %s", call, vkd_vkresult_name(r));
}

const char *vkd_context_error(const struct vkd_context *ctx)
{
    return ctx->error;
}

/* ---- debug messenger ------------------------------------------------------------------------- */

static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                 VkDebugUtilsMessageTypeFlagsEXT type,
                                                 const VkDebugUtilsMessengerCallbackDataEXT *data,
                                                 void *user)
{
    struct vkd_context *ctx = user;
    ctx->n_messages++;
    if (ctx->log) {
        char line[2048];
        snprintf(line, sizeof(line), "validation %s: %s",
                 severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? "error" : "warning",
                 data->pMessage ? data->pMessage : "(no text)");
        ctx->log(ctx->log_user, line);
    }
    (void)type;
    return VK_FALSE; /* never abort the call: the count fails the test instead */
}

uint32_t vkd_context_validation_messages(const struct vkd_context *ctx)
{
    return ctx->n_messages;
}

/* ---- instance and device enumeration ----------------------------------------------------------- */

static int has_layer(const char *name)
{
    uint32_t n = 0;
    if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || n == 0)
        return 0;
    VkLayerProperties *props = calloc(n, sizeof(*props));
    int found = 0;
    if (props && vkEnumerateInstanceLayerProperties(&n, props) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++)
            found = strcmp(props[i].layerName, name) == 0;
    free(props);
    return found;
}

static int has_instance_ext(const char *name)
{
    uint32_t n = 0;
    if (vkEnumerateInstanceExtensionProperties(NULL, &n, NULL) != VK_SUCCESS || n == 0)
        return 0;
    VkExtensionProperties *props = calloc(n, sizeof(*props));
    int found = 0;
    if (props && vkEnumerateInstanceExtensionProperties(NULL, &n, props) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++)
            found = strcmp(props[i].extensionName, name) == 0;
    free(props);
    return found;
}

/* The debug messenger is chained into instance creation too, so messages from
 * vkCreateInstance itself are counted. */
static void messenger_info(struct vkd_context *ctx, VkDebugUtilsMessengerCreateInfoEXT *mi)
{
    *mi = (VkDebugUtilsMessengerCreateInfoEXT){
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = on_message,
        .pUserData = ctx,
    };
}

static enum vkd_status instance_create(struct vkd_context *ctx, int validation)
{
    const char *exts[2];
    uint32_t n_ext = 0;
    VkInstanceCreateFlags flags = 0;
    /* MoltenVK and other portability drivers are only listed when asked for. */
    if (has_instance_ext(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
        exts[n_ext++] = VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME;
        flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
    }
    const char *layers[1] = {VKD_VALIDATION_LAYER};
    VkDebugUtilsMessengerCreateInfoEXT mi;
    if (validation) {
        if (!has_layer(VKD_VALIDATION_LAYER))
            return vkd_fail(ctx, VKD_ERR_INVALID,
                            "validation was asked for but the layer %s is not installed "
                            "(Debian: apt-get install vulkan-validationlayers)",
                            VKD_VALIDATION_LAYER);
        exts[n_ext++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
        messenger_info(ctx, &mi);
    }
    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "vkdistill",
        .pEngineName = "vkdistill",
        .apiVersion = VK_API_VERSION_1_2,
    };
    VkInstanceCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pNext = validation ? &mi : NULL,
        .flags = flags,
        .pApplicationInfo = &app,
        .enabledLayerCount = validation ? 1 : 0,
        .ppEnabledLayerNames = layers,
        .enabledExtensionCount = n_ext,
        .ppEnabledExtensionNames = exts,
    };
    VkResult r = vkCreateInstance(&ci, NULL, &ctx->instance);
    if (r == VK_ERROR_INCOMPATIBLE_DRIVER || r == VK_ERROR_INITIALIZATION_FAILED)
        return vkd_fail(ctx, VKD_ERR_NO_VULKAN,
                        "no Vulkan driver could be loaded (%s); install your GPU's Vulkan driver "
                        "or Mesa's lavapipe (Debian: mesa-vulkan-drivers)",
                        vkd_vkresult_name(r));
    if (r != VK_SUCCESS)
        return vkd_vk_fail(ctx, "vkCreateInstance", r);
    if (validation) {
        PFN_vkCreateDebugUtilsMessengerEXT create = (PFN_vkCreateDebugUtilsMessengerEXT)
            vkGetInstanceProcAddr(ctx->instance, "vkCreateDebugUtilsMessengerEXT");
        if (!create)
            return vkd_fail(ctx, VKD_ERR_VULKAN, "vkCreateDebugUtilsMessengerEXT is missing");
        r = create(ctx->instance, &mi, NULL, &ctx->messenger);
        if (r != VK_SUCCESS)
            return vkd_vk_fail(ctx, "vkCreateDebugUtilsMessengerEXT", r);
    }
    return VKD_OK;
}

static const char *vendor_name(uint32_t id)
{
    switch (id) {
    case 0x10de: return "NVIDIA";
    case 0x1002: return "AMD";
    case 0x8086: return "Intel";
    case 0x13b5: return "ARM";
    case 0x5143: return "Qualcomm";
    case 0x106b: return "Apple";
    case 0x10005: return "Mesa";
    default: return NULL;
    }
}

static const char *type_name(VkPhysicalDeviceType t)
{
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
    }
}

/* Preference when no device is named: discrete > integrated > virtual > cpu > other. */
static int type_rank(VkPhysicalDeviceType t)
{
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
    default: return 0;
    }
}

static int compute_family(VkPhysicalDevice pd, uint32_t *family, int *timestamps)
{
    uint32_t n = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, NULL);
    VkQueueFamilyProperties props[32];
    if (n > 32)
        n = 32;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, props);
    /* Prefer a family with compute; the first such is fine on every driver we know. */
    for (uint32_t i = 0; i < n; i++)
        if (props[i].queueFlags & VK_QUEUE_COMPUTE_BIT) {
            *family = i;
            *timestamps = props[i].timestampValidBits > 0;
            return 1;
        }
    return 0;
}

static void describe(VkPhysicalDevice pd, uint32_t index, struct vkd_device_info *d)
{
    VkPhysicalDeviceDriverProperties drv = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
    VkPhysicalDeviceSubgroupProperties sub = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES, .pNext = &drv};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                      .pNext = &sub};
    VkPhysicalDeviceProperties base;
    vkGetPhysicalDeviceProperties(pd, &base);
    int has12 = base.apiVersion >= VK_API_VERSION_1_2;
    if (!has12)
        sub.pNext = NULL; /* driver properties are core in 1.2 only */
    vkGetPhysicalDeviceProperties2(pd, &p2);
    const VkPhysicalDeviceLimits *l = &p2.properties.limits;

    memset(d, 0, sizeof(*d));
    d->index = index;
    snprintf(d->name, sizeof(d->name), "%s", p2.properties.deviceName);
    d->type = type_name(p2.properties.deviceType);
    d->vendor_id = p2.properties.vendorID;
    d->vendor = vendor_name(d->vendor_id);
    if (!d->vendor) {
        snprintf(d->vendor_buf, sizeof(d->vendor_buf), "0x%04x", d->vendor_id);
        d->vendor = d->vendor_buf;
    }
    if (has12)
        snprintf(d->driver, sizeof(d->driver), "%.120s %.120s", drv.driverName, drv.driverInfo);
    else
        snprintf(d->driver, sizeof(d->driver), "0x%x", p2.properties.driverVersion);
    d->api_version = p2.properties.apiVersion;
    d->subgroup_size = sub.subgroupSize;
    d->subgroup_shuffle = (sub.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                          (sub.supportedOperations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT);
    d->shared_memory = l->maxComputeSharedMemorySize;
    d->max_storage_range = l->maxStorageBufferRange;
    d->max_workgroup_invocations = l->maxComputeWorkGroupInvocations;
    for (int i = 0; i < 3; i++)
        d->max_workgroup_count[i] = l->maxComputeWorkGroupCount[i];
    d->min_storage_align = (uint32_t)l->minStorageBufferOffsetAlignment;
    d->timestamp_period_ns = l->timestampPeriod;

    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(pd, &mp);
    for (uint32_t i = 0; i < mp.memoryHeapCount; i++)
        if (mp.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
            d->device_local_bytes += mp.memoryHeaps[i].size;
    uint32_t fam;
    int ts = 0;
    d->has_compute = compute_family(pd, &fam, &ts) && has12;
    d->timestamps = ts && l->timestampComputeAndGraphics;
}

static enum vkd_status physical_devices(struct vkd_context *ctx, VkPhysicalDevice **out,
                                        uint32_t *count)
{
    uint32_t n = 0;
    VkResult r = vkEnumeratePhysicalDevices(ctx->instance, &n, NULL);
    if (r != VK_SUCCESS)
        return vkd_vk_fail(ctx, "vkEnumeratePhysicalDevices", r);
    if (n == 0)
        return vkd_fail(ctx, VKD_ERR_NO_DEVICE,
                        "the Vulkan loader found no device; install your GPU's Vulkan driver or "
                        "Mesa's lavapipe (Debian: mesa-vulkan-drivers)");
    *out = calloc(n, sizeof(**out));
    if (!*out)
        return vkd_fail(ctx, VKD_ERR_OUT_OF_MEMORY, "out of host memory");
    r = vkEnumeratePhysicalDevices(ctx->instance, &n, *out);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) {
        free(*out);
        return vkd_vk_fail(ctx, "vkEnumeratePhysicalDevices", r);
    }
    *count = n;
    return VKD_OK;
}

static void instance_destroy(struct vkd_context *ctx)
{
    if (ctx->messenger) {
        PFN_vkDestroyDebugUtilsMessengerEXT destroy = (PFN_vkDestroyDebugUtilsMessengerEXT)
            vkGetInstanceProcAddr(ctx->instance, "vkDestroyDebugUtilsMessengerEXT");
        if (destroy)
            destroy(ctx->instance, ctx->messenger, NULL);
        ctx->messenger = VK_NULL_HANDLE;
    }
    if (ctx->instance)
        vkDestroyInstance(ctx->instance, NULL);
    ctx->instance = VK_NULL_HANDLE;
}

enum vkd_status vkd_devices_list(struct vkd_device_info **out, uint32_t *count, char *err,
                                 size_t errlen)
{
    struct vkd_context tmp = {0};
    VkPhysicalDevice *pds = NULL;
    uint32_t n = 0;
    enum vkd_status s = instance_create(&tmp, 0);
    if (s == VKD_OK)
        s = physical_devices(&tmp, &pds, &n);
    if (s == VKD_OK) {
        *out = calloc(n, sizeof(**out));
        if (!*out)
            s = vkd_fail(&tmp, VKD_ERR_OUT_OF_MEMORY, "out of host memory");
        for (uint32_t i = 0; s == VKD_OK && i < n; i++)
            describe(pds[i], i, &(*out)[i]);
        *count = n;
    }
    if (s != VKD_OK && err)
        snprintf(err, errlen, "%s", tmp.error);
    free(pds);
    instance_destroy(&tmp);
    return s;
}

/* ---- device choice and creation ------------------------------------------------------------- */

static int name_matches(const char *name, const char *pattern)
{
    size_t nl = strlen(name), pl = strlen(pattern);
    for (size_t i = 0; i + pl <= nl; i++) {
        size_t j = 0;
        while (j < pl && tolower((unsigned char)name[i + j]) == tolower((unsigned char)pattern[j]))
            j++;
        if (j == pl)
            return 1;
    }
    return 0;
}

static enum vkd_status choose_device(struct vkd_context *ctx, const char *want)
{
    VkPhysicalDevice *pds;
    uint32_t n;
    enum vkd_status s = physical_devices(ctx, &pds, &n);
    if (s != VKD_OK)
        return s;
    int best = -1, best_rank = -1;
    int by_index = want && *want && strspn(want, "0123456789") == strlen(want);
    for (uint32_t i = 0; i < n; i++) {
        struct vkd_device_info d;
        describe(pds[i], i, &d);
        VkPhysicalDeviceProperties p;
        vkGetPhysicalDeviceProperties(pds[i], &p);
        if (by_index) {
            if ((uint32_t)atoi(want) != i)
                continue;
        } else if (want && *want && !name_matches(d.name, want)) {
            continue;
        }
        if (!d.has_compute) {
            if (want && *want) {
                free(pds);
                return vkd_fail(ctx, VKD_ERR_BAD_DEVICE,
                                "device %u (%s) has no compute queue or is older than Vulkan 1.2",
                                i, d.name);
            }
            continue;
        }
        if (type_rank(p.deviceType) > best_rank) {
            best = (int)i;
            best_rank = type_rank(p.deviceType);
        }
    }
    if (best < 0) {
        free(pds);
        if (want && *want)
            return vkd_fail(ctx, VKD_ERR_BAD_DEVICE,
                            "--device %s matches no Vulkan device (run `vkdistill devices` for "
                            "the list)",
                            want);
        return vkd_fail(ctx, VKD_ERR_NO_DEVICE, "no Vulkan 1.2 device with a compute queue");
    }
    ctx->phys = pds[best];
    describe(ctx->phys, (uint32_t)best, &ctx->info);
    free(pds);
    return VKD_OK;
}

static enum vkd_status device_create(struct vkd_context *ctx)
{
    int ts;
    compute_family(ctx->phys, &ctx->queue_family, &ts);
    float prio = 1.0f;
    VkDeviceQueueCreateInfo qi = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = ctx->queue_family,
        .queueCount = 1,
        .pQueuePriorities = &prio,
    };
    VkDeviceCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &qi,
    };
    VkResult r = vkCreateDevice(ctx->phys, &ci, NULL, &ctx->dev);
    if (r != VK_SUCCESS)
        return vkd_vk_fail(ctx, "vkCreateDevice", r);
    vkGetDeviceQueue(ctx->dev, ctx->queue_family, 0, &ctx->queue);
    vkGetPhysicalDeviceMemoryProperties(ctx->phys, &ctx->mem_props);

    VkCommandPoolCreateInfo pi = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
        .queueFamilyIndex = ctx->queue_family,
    };
    r = vkCreateCommandPool(ctx->dev, &pi, NULL, &ctx->cmd_pool);
    if (r != VK_SUCCESS)
        return vkd_vk_fail(ctx, "vkCreateCommandPool", r);
    VkPipelineCacheCreateInfo ci2 = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
    r = vkCreatePipelineCache(ctx->dev, &ci2, NULL, &ctx->pipeline_cache);
    if (r != VK_SUCCESS)
        return vkd_vk_fail(ctx, "vkCreatePipelineCache", r);

    if (ctx->variant == VKD_VARIANT_AUTO)
        ctx->variant = strcmp(ctx->info.type, "cpu") == 0 ? VKD_VARIANT_CPU : VKD_VARIANT_GPU;
    /* One 1-D workgroup size for every shader: 256 unless the device allows fewer. */
    ctx->wg_1d = VKD_WG_1D;
    if (ctx->info.max_workgroup_invocations < ctx->wg_1d)
        ctx->wg_1d = ctx->info.max_workgroup_invocations;
    return VKD_OK;
}

enum vkd_status vkd_context_create(const struct vkd_context_desc *desc, struct vkd_context **out,
                                   char *err, size_t errlen)
{
    *out = NULL;
    struct vkd_context *ctx = calloc(1, sizeof(*ctx));
    if (!ctx) {
        snprintf(err, errlen, "out of host memory");
        return VKD_ERR_OUT_OF_MEMORY;
    }
    ctx->log = desc->log;
    ctx->log_user = desc->log_user;
    ctx->variant = desc->variant;
    enum vkd_status s = instance_create(ctx, desc->validation);
    if (s == VKD_OK)
        s = choose_device(ctx, desc->device);
    if (s == VKD_OK)
        s = device_create(ctx);
    if (s != VKD_OK) {
        if (err)
            snprintf(err, errlen, "%s", ctx->error);
        vkd_context_destroy(ctx);
        return s;
    }
    *out = ctx;
    return VKD_OK;
}

void vkd_context_destroy(struct vkd_context *ctx)
{
    if (!ctx)
        return;
    if (ctx->dev) {
        vkDeviceWaitIdle(ctx->dev);
        vkd_kernels_destroy(ctx);
        if (ctx->pipeline_cache)
            vkDestroyPipelineCache(ctx->dev, ctx->pipeline_cache, NULL);
        if (ctx->cmd_pool)
            vkDestroyCommandPool(ctx->dev, ctx->cmd_pool, NULL);
        vkDestroyDevice(ctx->dev, NULL);
    }
    instance_destroy(ctx);
    free(ctx);
}

const struct vkd_device_info *vkd_context_device(const struct vkd_context *ctx)
{
    return &ctx->info;
}

enum vkd_kernel_variant vkd_context_variant(const struct vkd_context *ctx)
{
    return ctx->variant;
}

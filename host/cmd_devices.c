/*
 * cmd_devices.c - `vkdistill devices`: one row per Vulkan device.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "commands.h"
#include "vkd.h"

int cmd_devices(int argc, char **argv)
{
    static const struct cli_command cmd = {
        "devices",
        "List every Vulkan device: index, name, type, vendor, driver, Vulkan version, subgroup\n"
        "size, shared memory per workgroup and device-local memory. Pick one for other commands\n"
        "with --device INDEX or --device NAME (a case-insensitive part of the name).",
        NULL, NULL, 0};
    int r = cli_parse(&cmd, argc, argv);
    if (r)
        return r > 0 ? 0 : 2;

    struct vkd_device_info *d;
    uint32_t n;
    char err[512];
    if (vkd_devices_list(&d, &n, err, sizeof(err)) != VKD_OK) {
        fprintf(stderr, "vkdistill devices: %s\n", err);
        return 1;
    }
    printf("%-3s %-36s %-10s %-7s %-8s %-8s %-10s %-12s %s\n", "#", "name", "type", "vendor",
           "vulkan", "subgroup", "shared KiB", "local GiB", "driver");
    for (uint32_t i = 0; i < n; i++) {
        char api[16];
        snprintf(api, sizeof(api), "%u.%u.%u", d[i].api_version >> 22,
                 (d[i].api_version >> 12) & 0x3ff, d[i].api_version & 0xfff);
        printf("%-3u %-36.36s %-10s %-7s %-8s %-8u %-10u %-12.1f %s%s\n", d[i].index, d[i].name,
               d[i].type, d[i].vendor, api, d[i].subgroup_size, d[i].shared_memory / 1024,
               (double)d[i].device_local_bytes / (1u << 30), d[i].driver,
               d[i].has_compute ? "" : "  (unusable: needs Vulkan 1.2 and a compute queue)");
    }
    free(d);
    return 0;
}

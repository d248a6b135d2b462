// common.glsl - included by every compute shader after its #version line.
//   - the shared C/GLSL header (push-constant structs, step-parameter slots);
//   - specialization constant 0: the 1-D workgroup size, chosen per device at pipeline creation;
//   - small helpers for flattened 1-D dispatches.
#extension GL_GOOGLE_include_directive : require
#include "vkd_shared.h"

layout(constant_id = 0) const uint WG = VKD_WG_1D;

// Flattened invocation index over a (x, y) grid of workgroups: 1-D dispatches larger than
// maxComputeWorkGroupCount[0] fold into y (see vkd_groups_1d on the host).
uint vkd_gid()
{
    return (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WG + gl_LocalInvocationID.x;
}

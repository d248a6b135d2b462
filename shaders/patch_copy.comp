#version 450
// patch_copy: the patch <-> row permutation (shaders/patch.h), one invocation per element i of
// the map x (n, c, h, w) in NCHW order, with ri its place in the rows (R, d):
//   VKD_PATCH_TO_ROWS  dst[ri] = src[i]   (map -> rows: forward of vkd_patch_to_rows, backward
//                                         of vkd_rows_to_patch)
//   VKD_PATCH_TO_MAP   dst[i] = src[ri]   (rows -> map: the other two)
// overwriting or adding (acc). A permutation: each dst element has exactly one source, so no
// two invocations touch one element. The map side is walked contiguously; the row side in runs
// of pw.
// Bindings: 0 src, 1 dst (count elements each). Grid: 1-D over count, folded into (x, y).
// Mirrors ref_patch_copy (engine/ops/patch.c).
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_patch_params p; } pc;
layout(std430, binding = 0) readonly buffer Src { float src[]; };
layout(std430, binding = 1) buffer Dst { float dst[]; };

void main()
{
    uint i = vkd_gid();
    if (i >= pc.p.count)
        return;
    uint x = i % pc.p.w, y = (i / pc.p.w) % pc.p.h;
    uint k = (i / (pc.p.w * pc.p.h)) % pc.p.c, s = i / (pc.p.w * pc.p.h * pc.p.c);
    uint row = (s * (pc.p.h / pc.p.ph) + y / pc.p.ph) * (pc.p.w / pc.p.pw) + x / pc.p.pw;
    uint col = (k * pc.p.ph + y % pc.p.ph) * pc.p.pw + x % pc.p.pw;
    uint ri = row * (pc.p.c * pc.p.ph * pc.p.pw) + col;
    uint from = pc.p.dir == VKD_PATCH_TO_ROWS ? i : ri;
    uint to = pc.p.dir == VKD_PATCH_TO_ROWS ? ri : i;
    dst[to] = pc.p.acc != 0u ? dst[to] + src[from] : src[from];
}

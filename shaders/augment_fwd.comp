#version 450
// augment_fwd: a training (or evaluation) batch from uint8 images resident on the GPU: zero-pad,
// crop at a per-sample offset, optional horizontal flip, ToTensor and Normalize, in one pass
// (formula in shaders/augment.h). The host only draws the per-sample parameters.
// Bindings: 0..3 data chunks (packed uint8, per_chunk images each; unused ones repeat chunk 0),
// 4 per-sample parameters (n x 4 u32: index, dy, dx, flip), 5 out (n, c, oh, ow floats).
// Grid: 1-D over n*c*oh*ow. Mirrors ref_augment_fwd (engine/ops/augment.c).
// An index >= images (a host bug) yields NaN, never an out-of-bounds read.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_augment_params p; } pc;
layout(std430, binding = 0) readonly buffer D0 { uint d0[]; };
layout(std430, binding = 1) readonly buffer D1 { uint d1[]; };
layout(std430, binding = 2) readonly buffer D2 { uint d2[]; };
layout(std430, binding = 3) readonly buffer D3 { uint d3[]; };
layout(std430, binding = 4) readonly buffer Params { uint prm[]; };
layout(std430, binding = 5) writeonly buffer Out { float dst[]; };

uint load_byte(uint chunk, uint byte_index)
{
    uint word = byte_index >> 2;
    uint v = chunk == 0u ? d0[word] : chunk == 1u ? d1[word] : chunk == 2u ? d2[word] : d3[word];
    return (v >> ((byte_index & 3u) * 8u)) & 0xffu;
}

void main()
{
    uint i = vkd_gid();
    uint ow = pc.p.ow, oh = pc.p.oh, c = pc.p.c;
    if (i >= pc.p.n * c * oh * ow)
        return;
    uint x = i % ow, y = (i / ow) % oh, ch = (i / (ow * oh)) % c, n = i / (ow * oh * c);
    uint index = prm[4u * n], dy = prm[4u * n + 1u], dx = prm[4u * n + 2u];
    uint xs = prm[4u * n + 3u] != 0u ? ow - 1u - x : x;
    int r = int(dy + y) - int(pc.p.pad), q = int(dx + xs) - int(pc.p.pad);
    float v = 0.0;
    if (r >= 0 && r < int(pc.p.h) && q >= 0 && q < int(pc.p.w) && index < pc.p.images) {
        uint img = index % pc.p.per_chunk, chunk = index / pc.p.per_chunk;
        uint byte_index = ((img * c + ch) * pc.p.h + uint(r)) * pc.p.w + uint(q);
        v = float(load_byte(chunk, byte_index));
    }
    uint k = min(ch, 2u);
    float outv = (v * (1.0 / 255.0) - pc.p.mean[k]) * pc.p.inv_std[k];
    dst[i] = index < pc.p.images ? outv : uintBitsToFloat(0x7fc00000u);
}

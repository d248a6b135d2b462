// batchnorm_cpu.glsl - what the CPU-device batchnorm kernels share (shaders/batchnorm.h says why):
// the walk of one lane over its share of a chunk, and the fixed-order combination of the
// VKD_BN_CPU_WG lanes of a workgroup. Include after common.glsl, batchnorm.glsl and the shader's
// buffers. The workgroup is one cluster of lanes (local_size_x = VKD_BN_CPU_WG), so every
// subgroup operation below must be reached by all lanes: call them in uniform control flow only.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require

const uint L = VKD_BN_CPU_WG;

// 1 when every plane (hw values) and every chunk starts on a multiple of 4 values, so that the
// kernels can move vec4s through a second, vec4-typed declaration of each tensor's binding:
// lavapipe loads and stores a vec4 per lane for about the cost of one float, so this takes
// about 3x fewer load instructions per value. A uniform condition (push constants only).
bool bn_quads(uint hw, uint chunk)
{
    return (hw & 3u) == 0u && (chunk & 3u) == 0u;
}

// This invocation's lane; it takes values j0 + lane, j0 + lane + L, ... of its chunk.
uint bn_lane()
{
    return gl_SubgroupInvocationID % L;
}

// A lane's position in channel c of an NCHW tensor: value j of the channel is at plane
// n = j / hw, offset s = j % hw, flat index addr = (n C + c) hw + s. Stepping j by L moves
// (n, s) by (dn, ds) = (L / hw, L % hw) plus a carry, so the loop needs no division.
struct bn_walk {
    uint s, addr;   // offset in the plane, flat index
    uint ds, dadr;  // step of s, step of addr without carry
    uint hw, carry; // plane size, what a carry adds to addr beyond dadr
};

bn_walk bn_walk_start(uint j, uint c, uint C, uint hw)
{
    bn_walk w;
    uint n = j / hw, dn = L / hw;
    w.s = j - n * hw;
    w.addr = (n * C + c) * hw + w.s;
    w.ds = L - dn * hw;
    w.dadr = dn * C * hw + w.ds;
    w.hw = hw;
    w.carry = C * hw - hw; // next plane of the channel, back to offset s - hw
    return w;
}

void bn_walk_next(inout bn_walk w)
{
    w.s += w.ds;
    w.addr += w.dadr;
    if (w.s >= w.hw) {
        w.s -= w.hw;
        w.addr += w.carry;
    }
}

// Sum of v over the cluster's lanes, a butterfly over lane distances 1, 2, 4, ...: a fixed
// order, and bit-identical in every lane (fp addition is commutative, so a lane and its partner
// add the same two values).
float bn_lanes_sum(float v)
{
    for (uint d = 1; d < L; d <<= 1)
        v += subgroupShuffleXor(v, d);
    return v;
}

// The four components of one lane's vec4 summaries (each of count n) merged into one summary:
// (x, y) and (z, w), then the two, a fixed order.
void bn_quad_merge(inout float n, vec4 mean4, vec4 m24, out float mean, out float m2)
{
    float na = n, ma = mean4.x, qa = m24.x, nb = n, mb = mean4.z, qb = m24.z;
    bn_chan_merge(na, ma, qa, n, mean4.y, m24.y);
    bn_chan_merge(nb, mb, qb, n, mean4.w, m24.w);
    bn_chan_merge(na, ma, qa, nb, mb, qb);
    n = na, mean = ma, m2 = qa;
}

// The sum of the four components, in the same order.
float bn_quad_sum(vec4 v)
{
    return (v.x + v.y) + (v.z + v.w);
}

// Chan merge of the (count, mean, M2) summaries of the cluster's lanes, the same butterfly. The
// merge is not symmetric in floating point, so both partners merge the lower lane's summary
// with the upper's: every lane ends with the same bits.
void bn_lanes_merge(inout float n, inout float mean, inout float m2)
{
    uint lane = bn_lane();
    for (uint d = 1; d < L; d <<= 1) {
        float nb = subgroupShuffleXor(n, d), mb = subgroupShuffleXor(mean, d);
        float m2b = subgroupShuffleXor(m2, d);
        if ((lane & d) != 0) { // the partner is the lower lane: it goes first
            float tn = n, tm = mean, tq = m2;
            n = nb, mean = mb, m2 = m2b;
            nb = tn, mb = tm, m2b = tq;
        }
        bn_chan_merge(n, mean, m2, nb, mb, m2b);
    }
}

#ifdef BN_PART
// The shader reads its partials buffer through BN_PART(o), defined (and the buffer declared)
// before this file is included.

// Channel c's statistics from its chunk summaries in part (c, chunks, 2) = (mean, M2): lane l
// merges chunks l, l + L, ... in order, then the lanes merge as above. Every workgroup of the
// channel gets the same bits. Returns (mean, M2).
vec2 bn_merge_chunks(uint c, uint chunks, uint chunk, uint m)
{
    float n = 0.0, mean = 0.0, m2 = 0.0;
    for (uint q = bn_lane(); q < chunks; q += L) {
        uint o = 2 * (c * chunks + q);
        bn_chan_merge(n, mean, m2, bn_chunk_count(q, chunk, m), BN_PART(o), BN_PART(o + 1));
    }
    bn_lanes_merge(n, mean, m2);
    return vec2(mean, m2);
}

// Channel c's (sum dy, sum dy * xhat) from its chunk partials, in the same order.
vec2 bn_sum_chunks(uint c, uint chunks)
{
    float a = 0.0, b = 0.0;
    for (uint q = bn_lane(); q < chunks; q += L) {
        uint o = 2 * (c * chunks + q);
        a += BN_PART(o);
        b += BN_PART(o + 1);
    }
    return vec2(bn_lanes_sum(a), bn_lanes_sum(b));
}
#endif

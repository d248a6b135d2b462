// batchnorm.glsl - helpers shared by the batchnorm_*.comp shaders (engine/ops/batchnorm.c).
// Include after common.glsl.

// Element j (in 0..m-1, (n, h, w) order) of channel c of an NCHW tensor with C channels and
// hw = h*w: the flat index. One integer division per element; the kernels are bound by memory.
uint bn_addr(uint j, uint c, uint C, uint hw)
{
    uint n = j / hw;
    return (n * C + c) * hw + (j - n * hw);
}

// Values chunk k of a channel holds: chunks are `chunk` long except the last.
float bn_chunk_count(uint k, uint chunk, uint m)
{
    return float(min(chunk, m - k * chunk));
}

// Chan et al.'s pairwise merge of two (count, mean, M2) summaries into the first. Exact in exact
// arithmetic and stable in floating point: the correction term only involves the difference of
// the two means, never a large sum of squares minus a large square. Counts are exact in fp32
// below 2^24 values per channel; beyond, their relative rounding (2^-24) is far below the
// rounding of the summaries themselves.
void bn_chan_merge(inout float na, inout float ma, inout float m2a, float nb, float mb, float m2b)
{
    float n = na + nb;
    if (nb == 0.0)
        return;
    float d = mb - ma;
    float f = nb / n;
    ma += d * f;
    m2a += m2b + d * d * na * f;
    na = n;
}

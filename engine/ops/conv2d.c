/*
 * conv2d.c - 2-D convolution as torch.nn.functional.conv2d: cross-correlation with zero padding,
 * one stride and one pad for both axes, groups (depthwise included), optional bias.
 *
 * The node: in[0] x (N, C, H, W), in[1] w (K, C/groups, R, S), in[2] b (K, 1, 1, 1) or -1;
 * out[0] y (N, K, P, Q), P = (H + 2 pad - R) / stride + 1 (Q likewise); out[1], present when w
 * or b needs a gradient, is the backward-weight workspace (below). attr: struct
 * vkd_conv2d_params (shaders/conv2d.h) with the shapes and the workspace split.
 *
 * Gradient convention (graph.c): backward writes the gradient of each input that has one,
 * overwriting when node.acc[i] == 0 and adding when 1; dx is skipped when x has no gradient
 * (a network's first layer), dw/db when w/b have none.
 *
 * Kernels. Dense and grouped convolutions are implicit GEMMs (shaders/conv2d_gemm.glsl), one per
 * pass and group:
 *   forward          rows K/groups   x cols N*P*Q          reduction (C/groups)*R*S
 *   backward data    rows C/groups   x cols N*H*W          reduction (K/groups)*R*S
 *                    (with stride st: st*st GEMMs, one per phase of (h, w), each over only the
 *                    taps that reach it: N*H*W/st^2 columns, (K/groups)*R*S/st^2 reduction)
 *   backward weight  rows K/groups   x cols (C/groups)*R*S (+1 bias)   reduction N*P*Q
 * Depthwise convolutions (groups == C == K) would be GEMMs with one row: they get direct kernels.
 * The backward-weight reduction is long (N*P*Q, 131072 for a batch of 128 at 32x32) while its
 * output is small (16x145 for a 16-channel 3x3 layer), so it is split into ranges whose partial
 * sums go to the workspace, a tensor (splits, K, cols); a second pass adds the ranges in a fixed
 * order. No atomics, so every run gives the same bits. The split depends on the shapes only,
 * never on the device. The workspace is GRAD-kind, not ACT: only backward writes it, and it is
 * no result to compare (op checks compare every ACT tensor with the reference, and a node whose
 * backward never runs, such as an evaluation copy, would leave it unwritten). It exists only
 * when w or b requires a gradient when the node is built: a frozen (STATE) teacher has none.
 *
 * CPU devices (vkd_rec_cpu_kernels: lavapipe and other Vulkan-on-CPU drivers) get their own
 * dense/grouped kernels, conv2d_*_cpu (shaders/conv2d.h says why and how): the same three
 * passes and the same workspace, no shared memory or barriers, a 16 x 8 register block per
 * invocation, stride-1 variants (_s1) that share loads among neighbouring taps, and fewer,
 * longer backward-weight ranges (cpu_split). Depthwise layers keep their direct kernels.
 */
#include <string.h>

#include "internal.h"
#include "vkd_ops.h"

/* The backward-weight split aims at this many workgroups (enough to fill a large GPU), with at
 * least VKD_CONV_MIN_CHUNK positions per range and at most VKD_CONV_MAX_PART floats of partial
 * sums (4 MiB; every conv node holds its own workspace). */
#define VKD_CONV_TARGET_GROUPS 512
#define VKD_CONV_MIN_CHUNK 64
#define VKD_CONV_MAX_PART (1u << 20)
/* Smallest maxComputeWorkGroupCount Vulkan guarantees: the split's grid must fit any device. */
#define VKD_CONV_MAX_GRID 65535
/* The CPU-device backward-weight split aims at this many workgroups: several per CPU thread. */
#define VKD_CONV_CPU_GROUPS 64

static int is_depthwise(const struct vkd_conv2d_params *p)
{
    /* Its weight kernel keeps one column per tap in a 256-invocation workgroup. */
    return p->groups == p->c && p->groups == p->k && p->r * p->s < VKD_CONV_WG;
}

static uint32_t round_up(uint64_t a, uint32_t b)
{
    return (uint32_t)((a + b - 1) / b * b);
}

/* ---- CPU reference -------------------------------------------------------------------------- */

/* y (N, K, P, Q) = conv(x (N, C, H, W), w (K, C/G, R, S)) + b (K or NULL). Each tap (c, r, s)
 * is added to a whole output plane in turn: the same sums as one output at a time, but the
 * innermost loop carries no dependency, which makes the finite-difference checks (two forward
 * passes per checked element) several times faster. */
static void ref_conv2d_fwd(const struct vkd_conv2d_params *p, const double *x, const double *w,
                           const double *b, double *y)
{
    uint32_t cg = p->c / p->groups, kg = p->k / p->groups;
    for (uint32_t n = 0; n < p->n; n++)
        for (uint32_t k = 0; k < p->k; k++) {
            double *yp = &y[(n * p->k + k) * p->p * p->q];
            for (uint32_t i = 0; i < p->p * p->q; i++)
                yp[i] = b ? b[k] : 0.0;
            for (uint32_t c = 0; c < cg; c++) {
                uint32_t ci = k / kg * cg + c; /* the group's input channels */
                const double *xp = &x[(n * p->c + ci) * p->h * p->w];
                for (uint32_t r = 0; r < p->r; r++)
                    for (uint32_t s = 0; s < p->s; s++) {
                        double wv = w[((k * cg + c) * p->r + r) * p->s + s];
                        for (uint32_t oh = 0; oh < p->p; oh++) {
                            long h = (long)(oh * p->stride + r) - p->pad;
                            if (h < 0 || h >= p->h)
                                continue; /* zero padding */
                            for (uint32_t ow = 0; ow < p->q; ow++) {
                                long v = (long)(ow * p->stride + s) - p->pad;
                                if (v >= 0 && v < p->w)
                                    yp[oh * p->q + ow] += wv * xp[h * p->w + v];
                            }
                        }
                    }
            }
        }
}

/* dx (N, C, H, W) (+)= the adjoint of the forward in x: every output (oh, ow) that tap (r, s)
 * maps onto (h, w), i.e. oh * stride + r - pad = h, and likewise for w. */
static void ref_conv2d_bwd_data(const struct vkd_conv2d_params *p, const double *w,
                                const double *dy, double *dx, int acc)
{
    uint32_t cg = p->c / p->groups, kg = p->k / p->groups;
    for (uint32_t n = 0; n < p->n; n++)
        for (uint32_t ci = 0; ci < p->c; ci++)
            for (uint32_t h = 0; h < p->h; h++)
                for (uint32_t v = 0; v < p->w; v++) {
                    uint32_t g = ci / cg, c = ci % cg;
                    double sum = 0.0;
                    for (uint32_t k = g * kg; k < (g + 1) * kg; k++)
                        for (uint32_t r = 0; r < p->r; r++)
                            for (uint32_t s = 0; s < p->s; s++) {
                                long hp = (long)(h + p->pad) - r, vp = (long)(v + p->pad) - s;
                                if (hp < 0 || vp < 0 || hp % p->stride || vp % p->stride)
                                    continue;
                                long oh = hp / p->stride, ow = vp / p->stride;
                                if (oh >= p->p || ow >= p->q)
                                    continue;
                                sum += w[((k * cg + c) * p->r + r) * p->s + s] *
                                       dy[((n * p->k + k) * p->p + oh) * p->q + ow];
                            }
                    vkd_ref_put(&dx[((n * p->c + ci) * p->h + h) * p->w + v], acc, sum);
                }
}

/* dw (K, C/G, R, S) (+)= sum over (n, oh, ow) of dy * the input under tap (c, r, s);
 * db (K) (+)= sum over (n, oh, ow) of dy. Either may be NULL. */
static void ref_conv2d_bwd_weight(const struct vkd_conv2d_params *p, const double *x,
                                  const double *dy, double *dw, double *db, int acc_w, int acc_b)
{
    uint32_t cg = p->c / p->groups, kg = p->k / p->groups;
    for (uint32_t k = 0; k < p->k; k++) {
        for (uint32_t c = 0; dw && c < cg; c++)
            for (uint32_t r = 0; r < p->r; r++)
                for (uint32_t s = 0; s < p->s; s++) {
                    uint32_t ci = k / kg * cg + c;
                    double sum = 0.0;
                    for (uint32_t n = 0; n < p->n; n++)
                        for (uint32_t oh = 0; oh < p->p; oh++)
                            for (uint32_t ow = 0; ow < p->q; ow++) {
                                long h = (long)(oh * p->stride + r) - p->pad;
                                long v = (long)(ow * p->stride + s) - p->pad;
                                if (h < 0 || h >= p->h || v < 0 || v >= p->w)
                                    continue;
                                sum += dy[((n * p->k + k) * p->p + oh) * p->q + ow] *
                                       x[((n * p->c + ci) * p->h + h) * p->w + v];
                            }
                    vkd_ref_put(&dw[((k * cg + c) * p->r + r) * p->s + s], acc_w, sum);
                }
        if (db) {
            double sum = 0.0;
            for (uint32_t n = 0; n < p->n; n++)
                for (uint32_t i = 0; i < p->p * p->q; i++)
                    sum += dy[(n * p->k + k) * p->p * p->q + i];
            vkd_ref_put(&db[k], acc_b, sum);
        }
    }
}

/* ---- node glue: CPU ------------------------------------------------------------------------- */

static struct vkd_conv2d_params params_of(const struct vkd_node *n)
{
    struct vkd_conv2d_params p;
    memcpy(&p, n->attr, sizeof(p));
    return p;
}

static void conv_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    struct vkd_conv2d_params p = params_of(n);
    ref_conv2d_fwd(&p, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->in[1]), vkd_ref_t(e, n->in[2]),
                   vkd_ref_t(e, n->out[0]));
}

static void conv_ref_bwd(struct vkd_ref *e, const struct vkd_node *n)
{
    struct vkd_conv2d_params p = params_of(n);
    const double *dy = vkd_ref_g(e, n->out[0]);
    double *dx = vkd_ref_g(e, n->in[0]), *dw = vkd_ref_g(e, n->in[1]), *db = vkd_ref_g(e, n->in[2]);
    if (dx)
        ref_conv2d_bwd_data(&p, vkd_ref_t(e, n->in[1]), dy, dx, n->acc[0]);
    if (dw || db)
        ref_conv2d_bwd_weight(&p, vkd_ref_t(e, n->in[0]), dy, dw, db, n->acc[1], n->acc[2]);
}

/* ---- node glue: Vulkan ---------------------------------------------------------------------- */

/* GEMM tile rows for a GEMM of m rows: the smallest tile that holds them, up to 64. */
static uint32_t tile_rows(uint32_t m)
{
    return m <= 16 ? 16 : m <= 32 ? 32 : VKD_CONV_BM_MAX;
}

/* One implicit GEMM of rows x cols per z: grid (column tiles, row tiles, z). Column tiles beyond
 * the device's grid limit go into further dispatches (pc.tile0). */
static void dispatch_gemm(struct vkd_rec *r, enum vkd_kernel_id k, const struct vkd_view *v,
                          uint32_t n_v, struct vkd_conv2d_params p, uint32_t rows, uint64_t cols,
                          uint32_t z)
{
    p.bm = tile_rows(rows);
    uint32_t tiles = vkd_div_up(cols, VKD_CONV_TILE / p.bm);
    uint32_t maxx = vkd_rec_context(r)->info.max_workgroup_count[0];
    for (uint32_t t0 = 0; t0 < tiles; t0 += maxx) {
        p.tile0 = t0;
        uint32_t gx = tiles - t0 < maxx ? tiles - t0 : maxx;
        vkd_rec_dispatch(r, k, v, n_v, &p, sizeof(p), gx, vkd_div_up(rows, p.bm), z);
    }
}

static void dispatch_1d(struct vkd_rec *r, enum vkd_kernel_id k, const struct vkd_view *v,
                        uint32_t n_v, const struct vkd_conv2d_params *p, uint64_t count)
{
    uint32_t gx, gy;
    vkd_rec_groups_1d(r, count, vkd_rec_wg(r), &gx, &gy);
    vkd_rec_dispatch(r, k, v, n_v, p, sizeof(*p), gx, gy, 1);
}

/* Stride-1 filters at least 2 wide take the _s1 kernels, whose steps share loads among
 * VKD_CONV_CPU_CH taps of a filter row (a 1-wide filter would waste most of their FMAs). */
static int cpu_window(const struct vkd_conv2d_params *p)
{
    return p->stride == 1 && p->s >= 2;
}

/* A CPU-device kernel over `blocks` invocations (workgroups of wg) per row block of MB and z:
 * grid (ceil(blocks / wg), ceil(rows / MB), z), wider grids split by pc.tile0. */
static void dispatch_cpu(struct vkd_rec *r, enum vkd_kernel_id k, const struct vkd_view *v,
                         uint32_t n_v, struct vkd_conv2d_params p, uint64_t blocks, uint32_t wg,
                         uint32_t rows, uint32_t z)
{
    uint32_t groups = vkd_div_up(blocks, wg);
    uint32_t maxx = vkd_rec_context(r)->info.max_workgroup_count[0];
    for (uint32_t t0 = 0; t0 < groups; t0 += maxx) {
        p.tile0 = t0;
        uint32_t gx = groups - t0 < maxx ? groups - t0 : maxx;
        vkd_rec_dispatch(r, k, v, n_v, &p, sizeof(p), gx, vkd_div_up(rows, VKD_CONV_CPU_MB), z);
    }
}

static void conv_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    struct vkd_conv2d_params p = params_of(n);
    struct vkd_view w = vkd_rec_t(r, n->in[1]);
    /* Without a bias the shader reads no b; any valid buffer fills the binding. */
    struct vkd_view v[4] = {vkd_rec_t(r, n->in[0]), w, n->in[2] >= 0 ? vkd_rec_t(r, n->in[2]) : w,
                            vkd_rec_t(r, n->out[0])};
    if (is_depthwise(&p))
        dispatch_1d(r, VKD_K_CONV2D_DW_FWD, v, 4, &p, (uint64_t)p.n * p.k * p.p * p.q);
    else if (vkd_rec_cpu_kernels(r)) /* an invocation per NB outputs of a row */
        dispatch_cpu(r, cpu_window(&p) ? VKD_K_CONV2D_FWD_CPU_S1 : VKD_K_CONV2D_FWD_CPU, v, 4, p,
                     (uint64_t)p.n * p.p * vkd_div_up(p.q, VKD_CONV_CPU_NB), VKD_CONV_CPU_WG,
                     p.k / p.groups, p.groups);
    else
        dispatch_gemm(r, VKD_K_CONV2D_FWD, v, 4, p, p.k / p.groups, (uint64_t)p.n * p.p * p.q,
                      p.groups);
}

static void conv_vk_bwd_data(struct vkd_rec *r, const struct vkd_node *n,
                             struct vkd_conv2d_params p)
{
    p.acc = n->acc[0];
    struct vkd_view v[3] = {vkd_rec_t(r, n->in[1]), vkd_rec_g(r, n->out[0]),
                            vkd_rec_g(r, n->in[0])};
    if (is_depthwise(&p))
        dispatch_1d(r, VKD_K_CONV2D_DW_BWD_DATA, v, 3, &p, (uint64_t)p.n * p.c * p.h * p.w);
    else if (vkd_rec_cpu_kernels(
                 r)) /* an invocation per NB columns of a phase row, largest phase */
        dispatch_cpu(r, cpu_window(&p) ? VKD_K_CONV2D_BWD_DATA_CPU_S1 : VKD_K_CONV2D_BWD_DATA_CPU,
                     v, 3, p,
                     (uint64_t)p.n * vkd_div_up(p.h, p.stride) *
                         vkd_div_up(vkd_div_up(p.w, p.stride), VKD_CONV_CPU_NB),
                     VKD_CONV_CPU_WG, p.c / p.groups, p.groups * p.stride * p.stride);
    else /* one GEMM per group and stride phase; a phase has at most ceil(h / st) rows */
        dispatch_gemm(r, VKD_K_CONV2D_BWD_DATA, v, 3, p, p.c / p.groups,
                      (uint64_t)p.n * vkd_div_up(p.h, p.stride) * vkd_div_up(p.w, p.stride),
                      p.groups * p.stride * p.stride);
}

/* The CPU-device backward-weight kernels want fewer, longer ranges than the GPU split the
 * workspace was sized for (a CPU has a few threads, not thousands): about VKD_CONV_CPU_GROUPS
 * workgroups in all, x_groups per row block and group; the stride-1 kernel wants whole output
 * rows. Ranges never get shorter than the GPU's, so there are never more splits than the
 * workspace holds; like the GPU split, this depends on the shapes only. */
static void cpu_split(struct vkd_conv2d_params *p, uint32_t x_groups)
{
    uint64_t npq = (uint64_t)p->n * p->p * p->q;
    uint64_t wgs = (uint64_t)x_groups * vkd_div_up(p->k / p->groups, VKD_CONV_CPU_MB) * p->groups;
    uint32_t chunk = vkd_div_up(npq, vkd_div_up(VKD_CONV_CPU_GROUPS, wgs));
    if (chunk < p->chunk)
        chunk = p->chunk;
    if (cpu_window(p)) /* whole output rows */
        chunk = round_up(chunk, p->q);
    uint32_t splits = vkd_div_up(npq, chunk);
    VKD_ASSERT(splits <= p->splits); /* the workspace holds p->splits */
    p->chunk = chunk;
    p->splits = splits;
}

/* Partial sums per split into the workspace, then their fixed-order sum into dw and db. */
static void conv_vk_bwd_weight(struct vkd_rec *r, const struct vkd_node *n,
                               struct vkd_conv2d_params p, int want_w, int want_b)
{
    const struct vkd_graph *g = vkd_rec_graph(r);
    VKD_ASSERT(n->n_out == 2); /* the builder saw w or b without requires_grad */
    uint32_t crs = p.c / p.groups * p.r * p.s, cols = crs + (want_b ? 1 : 0);
    p.bias = want_b ? 1 : 0;
    VKD_ASSERT(vkd_tensor_numel(vkd_graph_tensor_at(g, n->out[1])) ==
               (size_t)p.splits * p.k * cols);
    struct vkd_view part = vkd_rec_t(r, n->out[1]);
    struct vkd_view v[3] = {vkd_rec_t(r, n->in[0]), vkd_rec_g(r, n->out[0]), part};
    int cpu = !is_depthwise(&p) && vkd_rec_cpu_kernels(r);
    if (is_depthwise(&p)) {
        vkd_rec_dispatch(r, VKD_K_CONV2D_DW_BWD_WEIGHT, v, 3, &p, sizeof(p), p.splits, p.k, 1);
    } else if (cpu && cpu_window(&p)) { /* an invocation per 3 x 3 taps */
        uint64_t blocks = (uint64_t)p.c / p.groups * vkd_div_up(p.r, 3) * vkd_div_up(p.s, 3);
        cpu_split(&p, vkd_div_up(blocks, VKD_CONV_CPU_WG_W));
        dispatch_cpu(r, VKD_K_CONV2D_BWD_WEIGHT_CPU_S1, v, 3, p, blocks, VKD_CONV_CPU_WG_W,
                     p.k / p.groups, p.groups * p.splits);
    } else if (cpu) { /* an invocation per NB columns */
        uint64_t blocks = vkd_div_up(cols, VKD_CONV_CPU_NB);
        cpu_split(&p, vkd_div_up(blocks, VKD_CONV_CPU_WG_W));
        dispatch_cpu(r, VKD_K_CONV2D_BWD_WEIGHT_CPU, v, 3, p, blocks, VKD_CONV_CPU_WG_W,
                     p.k / p.groups, p.groups * p.splits);
    } else {
        dispatch_gemm(r, VKD_K_CONV2D_BWD_WEIGHT, v, 3, p, p.k / p.groups, cols,
                      p.groups * p.splits);
    }

    p.want_w = want_w ? 1 : 0;
    p.acc = n->acc[1];
    p.acc_b = n->acc[2];
    /* Absent gradients are never written; the workspace fills their bindings. */
    struct vkd_view s[3] = {part, want_w ? vkd_rec_g(r, n->in[1]) : part,
                            want_b ? vkd_rec_g(r, n->in[2]) : part};
    uint32_t gx, gy;
    if (cpu) {
        vkd_rec_groups_1d(r, (uint64_t)p.k * cols, VKD_CONV_CPU_WG, &gx, &gy);
        vkd_rec_dispatch(r, VKD_K_CONV2D_BWD_WSUM_CPU, s, 3, &p, sizeof(p), gx, gy, 1);
    } else {
        vkd_rec_groups_1d(r, (uint64_t)p.k * cols, VKD_CONV_WSUM_OUTS, &gx, &gy);
        vkd_rec_dispatch(r, VKD_K_CONV2D_BWD_WSUM, s, 3, &p, sizeof(p), gx, gy, 1);
    }
}

static void conv_vk_bwd(struct vkd_rec *r, const struct vkd_node *n)
{
    const struct vkd_graph *g = vkd_rec_graph(r);
    struct vkd_conv2d_params p = params_of(n);
    int want_w = vkd_graph_tensor_at(g, n->in[1])->grad >= 0;
    int want_b = n->in[2] >= 0 && vkd_graph_tensor_at(g, n->in[2])->grad >= 0;
    if (vkd_graph_tensor_at(g, n->in[0])->grad >= 0)
        conv_vk_bwd_data(r, n, p);
    if (want_w || want_b)
        conv_vk_bwd_weight(r, n, p, want_w, want_b);
}

static const struct vkd_op op_conv2d = {"conv2d", 1, conv_ref, conv_ref_bwd, conv_vk, conv_vk_bwd};

/* ---- builder -------------------------------------------------------------------------------- */

/* Splits the backward-weight reduction over n*p*q into p->splits ranges of p->chunk positions
 * (a multiple of the GEMM step, or of q for the depthwise kernel, which walks whole rows). */
static void choose_split(struct vkd_conv2d_params *p, uint32_t cols)
{
    uint64_t npq = (uint64_t)p->n * p->p * p->q;
    uint32_t groups, unit;
    if (is_depthwise(p)) {
        groups = p->k; /* one workgroup per channel and split */
        unit = p->q;
    } else {
        uint32_t kg = p->k / p->groups, bm = tile_rows(kg);
        groups = p->groups * vkd_div_up(kg, bm) * vkd_div_up(cols, VKD_CONV_TILE / bm);
        unit = VKD_CONV_BK;
    }
    uint64_t splits = vkd_div_up(VKD_CONV_TARGET_GROUPS, groups);
    uint64_t most = npq / VKD_CONV_MIN_CHUNK;
    if (splits > most)
        splits = most;
    most = VKD_CONV_MAX_PART / ((uint64_t)p->k * cols);
    if (splits > most)
        splits = most;
    most = VKD_CONV_MAX_GRID / (is_depthwise(p) ? 1 : p->groups);
    if (splits > most)
        splits = most;
    if (splits < 1)
        splits = 1;
    p->chunk = round_up(vkd_div_up(npq, splits), unit);
    p->splits = vkd_div_up(npq, p->chunk);
}

int vkd_conv2d(struct vkd_graph *g, const char *name, int x, int w, int b, int stride, int pad,
               int groups)
{
    const struct vkd_tensor *tx = vkd_graph_tensor_at(g, x), *tw = vkd_graph_tensor_at(g, w);
    VKD_ASSERT(stride >= 1 && pad >= 0 && groups >= 1);
    VKD_ASSERT(tx->c % groups == 0 && tw->n % groups == 0);
    VKD_ASSERT(tw->c == tx->c / groups);
    VKD_ASSERT(tx->h + 2 * pad >= tw->h && tx->w + 2 * pad >= tw->w);
    struct vkd_conv2d_params p = {
        .n = (uint32_t)tx->n,
        .c = (uint32_t)tx->c,
        .h = (uint32_t)tx->h,
        .w = (uint32_t)tx->w,
        .k = (uint32_t)tw->n,
        .r = (uint32_t)tw->h,
        .s = (uint32_t)tw->w,
        .p = (uint32_t)((tx->h + 2 * pad - tw->h) / stride + 1),
        .q = (uint32_t)((tx->w + 2 * pad - tw->w) / stride + 1),
        .stride = (uint32_t)stride,
        .pad = (uint32_t)pad,
        .groups = (uint32_t)groups,
        .bias = b >= 0,
    };
    int want_b = 0;
    if (b >= 0) {
        const struct vkd_tensor *tb = vkd_graph_tensor_at(g, b);
        VKD_ASSERT(tb->n == tw->n && tb->c == 1 && tb->h == 1 && tb->w == 1);
        want_b = tb->requires_grad;
    }
    /* Every index the shaders form fits 32 bits. */
    VKD_ASSERT(vkd_tensor_numel(tx) < (size_t)1 << 31 && vkd_tensor_numel(tw) < (size_t)1 << 31);
    VKD_ASSERT((uint64_t)p.n * p.k * p.p * p.q < (uint64_t)1 << 31);

    /* tx and tw point into the graph's tensor array, which creating tensors may move */
    int want_w = tw->requires_grad;
    int y = vkd_graph_act(g, name, (int)p.n, (int)p.k, (int)p.p, (int)p.q);
    int in[3] = {x, w, b}, out[2] = {y, -1}, n_out = 1;
    if (want_w || want_b) {
        uint32_t cols = p.c / p.groups * p.r * p.s + (want_b ? 1 : 0);
        choose_split(&p, cols);
        char ws[VKD_NAME_LEN];
        snprintf(ws, sizeof(ws), "%.*s.wpart", VKD_NAME_LEN - 7, name);
        out[1] =
            vkd_graph_tensor(g, ws, VKD_T_GRAD, VKD_F32, (int)p.splits, (int)p.k, (int)cols, 1);
        n_out = 2;
    }
    vkd_graph_add_node(g, &op_conv2d, name, in, 3, out, n_out, &p, sizeof(p));
    return y;
}

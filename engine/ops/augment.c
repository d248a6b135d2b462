/*
 * augment.c - the augmentation family: one forward op that turns uint8 images resident on the
 * GPU into a normalised float batch, with the KD literature's training augmentation (zero
 * padding + random crop, random horizontal flip) driven by per-sample parameters the host draws
 * from a seeded RNG. The host never touches pixels in the training loop. Evaluation uses the
 * same op with pad 0, offsets 0 and no flip. The formula is in shaders/augment.h.
 *
 * The node: in[0..3] data chunks (STATE u32 tensors of packed bytes; unused slots repeat
 * chunk 0), in[4] per-sample parameters (INPUT u32, n x 4); out[0] the batch (n, c, oh, ow).
 * Nothing here has a gradient.
 */
#include <math.h>

#include "internal.h"
#include "vkd_ops.h"

static unsigned byte_at(const double *chunk, size_t byte_index)
{
    uint32_t word = (uint32_t)chunk[byte_index >> 2];
    return (word >> ((byte_index & 3) * 8)) & 0xffu;
}

static void ref_augment_fwd(const struct vkd_augment_params *p, const double *const data[4],
                            const double *prm, double *y)
{
    for (uint32_t n = 0; n < p->n; n++) {
        uint32_t index = (uint32_t)prm[4 * n], dy = (uint32_t)prm[4 * n + 1];
        uint32_t dx = (uint32_t)prm[4 * n + 2], flip = (uint32_t)prm[4 * n + 3];
        for (uint32_t c = 0; c < p->c; c++)
            for (uint32_t oy = 0; oy < p->oh; oy++)
                for (uint32_t ox = 0; ox < p->ow; ox++) {
                    uint32_t xs = flip ? p->ow - 1 - ox : ox;
                    long r = (long)(dy + oy) - p->pad, q = (long)(dx + xs) - p->pad;
                    double v = 0;
                    if (r >= 0 && r < (long)p->h && q >= 0 && q < (long)p->w &&
                        index < p->images) {
                        uint32_t chunk = index / p->per_chunk, img = index % p->per_chunk;
                        size_t b = (((size_t)img * p->c + c) * p->h + (size_t)r) * p->w + (size_t)q;
                        v = byte_at(data[chunk], b);
                    }
                    uint32_t k = c < 2 ? c : 2;
                    double out = (v / 255.0 - p->mean[k]) * p->inv_std[k];
                    y[((size_t)(n * p->c + c) * p->oh + oy) * p->ow + ox] =
                        index < p->images ? out : NAN;
                }
    }
}

static void augment_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    const double *data[VKD_AUGMENT_CHUNKS];
    for (int i = 0; i < VKD_AUGMENT_CHUNKS; i++)
        data[i] = vkd_ref_t(e, n->in[i]);
    ref_augment_fwd((const void *)n->attr, data, vkd_ref_t(e, n->in[4]), vkd_ref_t(e, n->out[0]));
}

static void augment_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    const struct vkd_augment_params *p = (const void *)n->attr;
    struct vkd_view v[6];
    for (int i = 0; i < 5; i++)
        v[i] = vkd_rec_t(r, n->in[i]);
    v[5] = vkd_rec_t(r, n->out[0]);
    uint32_t gx, gy;
    vkd_rec_groups_1d(r, (uint64_t)p->n * p->c * p->oh * p->ow, vkd_rec_wg(r), &gx, &gy);
    vkd_rec_dispatch(r, VKD_K_AUGMENT_FWD, v, 6, p, sizeof(*p), gx, gy, 1);
}

static void no_bwd_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    (void)e, (void)n;
    VKD_ASSERT(!"augment has no backward");
}

static void no_bwd_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    (void)r, (void)n;
    VKD_ASSERT(!"augment has no backward");
}

static const struct vkd_op op_augment = {"augment", 0, augment_ref, no_bwd_ref, augment_vk,
                                         no_bwd_vk};

int vkd_augment(struct vkd_graph *g, const char *name, const int *data, int n_data, int params,
                const struct vkd_augment_params *p)
{
    VKD_ASSERT(n_data >= 1 && n_data <= VKD_AUGMENT_CHUNKS);
    VKD_ASSERT(p->c >= 1 && p->per_chunk >= 1 && p->images <= (uint64_t)p->per_chunk * n_data);
    VKD_ASSERT(p->oh <= p->h + 2 * p->pad && p->ow <= p->w + 2 * p->pad);
    size_t image_bytes = (size_t)p->c * p->h * p->w;
    for (int i = 0; i < n_data; i++) {
        const struct vkd_tensor *t = vkd_graph_tensor_at(g, data[i]);
        uint64_t imgs = p->images - (uint64_t)i * p->per_chunk;
        if (imgs > p->per_chunk)
            imgs = p->per_chunk;
        VKD_ASSERT(t->dtype == VKD_U32 && vkd_tensor_numel(t) * 4 >= imgs * image_bytes);
    }
    const struct vkd_tensor *pt = vkd_graph_tensor_at(g, params);
    VKD_ASSERT(pt->dtype == VKD_U32 && vkd_tensor_numel(pt) == (size_t)p->n * 4);
    int y = vkd_graph_act(g, name, (int)p->n, (int)p->c, (int)p->oh, (int)p->ow);
    int in[5] = {data[0], data[0], data[0], data[0], params}, out[1] = {y};
    for (int i = 1; i < n_data; i++)
        in[i] = data[i];
    vkd_graph_add_node(g, &op_augment, name, in, 5, out, 1, p, sizeof(*p));
    return y;
}

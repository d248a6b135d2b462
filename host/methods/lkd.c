/*
 * lkd.c - method "lkd": local correlation consistency (Li et al., ECCV 2020), methods.md
 * section 2. This part: the local-correlation term of one stage pair (lkd.h).
 */
#include <stdio.h>

#include "lkd.h"
#include "method.h"
#include "vkd_ops.h"

int lkd_local_term(struct vkd_graph *g, const char *name, int fs, int ft, int mask, int k,
                   float scale, char *err, size_t errlen)
{
    const struct vkd_tensor *s = vkd_graph_tensor_at(g, fs), *t = vkd_graph_tensor_at(g, ft);
    int n = s->n, h = s->h, w = s->w;
    if (t->n != n || t->h != h || t->w != w) {
        snprintf(err, errlen,
                 "%s: the student's %dx%d map (batch %d) and the teacher's %dx%d map (batch %d) "
                 "do not pair: LKD's teacher mask multiplies both, so they need the same size",
                 name, h, w, n, t->h, t->w, t->n);
        return -1;
    }
    if (k < 1 || h % k || w % k) {
        snprintf(err, errlen,
                 "%s: a %dx%d feature map cannot be cut into a %dx%d grid of equal patches; "
                 "choose a k that divides both (--opt k=...)",
                 name, h, w, k, k);
        return -1;
    }
    char buf[VKD_NAME_LEN];
    int q[2], side[2] = {fs, ft};
    for (int i = 0; i < 2; i++) {
        const char *sn = i ? "t" : "s";
        int x = side[i];
        if (mask >= 0) {
            snprintf(buf, sizeof(buf), "%s.masked_%s", name, sn);
            x = vkd_mask_mul(g, buf, x, mask);
        }
        int c = vkd_graph_tensor_at(g, x)->c, d = c * (h / k) * (w / k);
        snprintf(buf, sizeof(buf), "%s.rows_%s", name, sn);
        x = vkd_patch_to_rows(g, buf, x, h / k, w / k);
        snprintf(buf, sizeof(buf), "%s.nrm_%s", name, sn);
        x = vkd_row_normalize(g, buf, x, d);
        /* the rows are (1, R, 1, d): CHANNEL mode's single "sample" is the whole batch */
        snprintf(buf, sizeof(buf), "%s.q_%s", name, sn);
        q[i] = vkd_gram(g, buf, x, VKD_GRAM_CHANNEL, 1, 1, 0);
    }
    snprintf(buf, sizeof(buf), "%s.sq", name);
    return vkd_sqdiff(g, buf, q[0], q[1], -1, scale);
}

/*
 * vkd_ops.h - op builders: each appends one node to a graph and returns its output tensor.
 * Inputs are tensor ids; parameters are created by the caller (vkd_graph_param) so models choose
 * their names (PyTorch state_dict keys). A builder asserts on shape mismatches (programmer
 * errors); data-dependent problems are reported at run time by the host.
 *
 * Layout is NCHW fp32; filters are KCRS (out channels, in channels / groups, rows, cols).
 */
#ifndef VKD_OPS_H
#define VKD_OPS_H

#include "vkd.h"
#include "vkd_shared.h"

/* eltwise.c */
int vkd_relu(struct vkd_graph *g, const char *name, int x);
int vkd_add(struct vkd_graph *g, const char *name, int a, int b); /* same shapes */
/* A copy of x as a new activation (the graph's way to read one tensor twice). */
int vkd_copy(struct vkd_graph *g, const char *name, int x);
/* y = 1 / (1 + exp(-x)), same shape; stable for any |x| (tiny values keep their precision). */
int vkd_sigmoid(struct vkd_graph *g, const char *name, int x);
/* Spatial mask broadcast over channels: y (N, C, H, W) = x (N, C, H, W) * m (N, 1, H, W).
 * Gradients: dx = dy m, dm = sum over c of dy x, each only when that input has a gradient
 * (a mask under vkd_stop_grad, or an INPUT, gets none). */
int vkd_mask_mul(struct vkd_graph *g, const char *name, int x, int m);
/* Hard threshold y = x [x >= h], same shape, h > 0 (asserted): LKD's thresholded mask
 * M [M >= H]. Gradient dx = dy [x >= h]. */
int vkd_threshold(struct vkd_graph *g, const char *name, int x, float h);
/* Stop-gradient sg(x): y = a copy of x (same shape), and no gradient ever flows back through
 * it: y does not require a gradient, so nothing upstream gets a backward from this path. */
int vkd_stop_grad(struct vkd_graph *g, const char *name, int x);

/* conv2d.c: y = conv(x, w) (+ b); w is (K, C/groups, R, S); b is (K) or -1. */
int vkd_conv2d(struct vkd_graph *g, const char *name, int x, int w, int b, int stride, int pad,
               int groups);

/* batchnorm.c: BatchNorm2d over (N, H, W) per channel, eps 1e-5, momentum 0.1 (PyTorch).
 * training: batch statistics, running statistics updated (unbiased variance); otherwise the
 * running statistics normalise. gamma, beta: (C) params or STATE; mean, var: (C) STATE. */
int vkd_batchnorm2d(struct vkd_graph *g, const char *name, int x, int gamma, int beta,
                    int running_mean, int running_var, int training);

/* pool.c: global average pooling (N, C, H, W) -> (N, C, 1, 1); 2x2 max pooling, stride 2
 * (floor, as nn.MaxPool2d(2, 2)). */
int vkd_global_avgpool(struct vkd_graph *g, const char *name, int x);
int vkd_maxpool2x2(struct vkd_graph *g, const char *name, int x);
/* Adaptive average pooling (N, C, H, W) -> (N, C, oh, ow), exactly F.adaptive_avg_pool2d:
 * output row i averages rows [floor(i H / oh), ceil((i + 1) H / oh)), columns likewise. Any
 * oh, ow >= 1, including oh not dividing H (overlapping bins) and oh > H (repeated rows). */
int vkd_adaptive_avgpool(struct vkd_graph *g, const char *name, int x, int oh, int ow);

/* linear.c: y (N, OUT) = x (N, IN: any shape with N rows) w^T (OUT, IN) + b (OUT) or -1. */
int vkd_linear(struct vkd_graph *g, const char *name, int x, int w, int b);

/* loss.c: mean softmax cross-entropy of logits (N, K: any tensor with N rows) against labels
 * (N, u32), as F.cross_entropy. Returns the loss (a scalar OUTPUT); *top1 / *top5, if not NULL,
 * get scalar OUTPUTs counting the rows whose label ranks first / in the first five (ties: the
 * first index wins, as torch.topk). A label >= K makes the loss NaN. */
int vkd_softmax_ce(struct vkd_graph *g, const char *name, int logits, int labels, int *top1,
                   int *top5);

/* kd.c: Hinton's distillation term, T^2 / N * sum KL(softmax(zt / T) || softmax(zs / T)) over
 * rows of student logits zs and teacher logits zt (same shape, N rows). Returns the scalar loss
 * (OUTPUT); the gradient goes to zs only: zt is a constant (the teacher). */
int vkd_softmax_kd(struct vkd_graph *g, const char *name, int zs, int zt, float t);
/* The plain two-sided KL: 1/N * sum KL(softmax(zt / T) || softmax(zs / T)) over rows (batchmean,
 * no T^2; CORSD's repaired aux distillation). Returns the scalar loss (OUTPUT); gradients to zs
 * and to zt, each when it has one (the teacher side is not detached):
 * dzs = (q - p) / (N T), dzt = p (.) ((log p - log q) - KL_row) / (N T). zs != zt. */
int vkd_softmax_kl(struct vkd_graph *g, const char *name, int zs, int zt, float t);
/* Soft-target cross-entropy: -1/N * sum_n sum_k s[n][k] log softmax(z[n] / T)[k], z and s of
 * the same shape (N rows of K). s is a constant (rows need not sum to 1; it gets no gradient
 * from this term, only from its other consumers); the gradient goes to z:
 * (S_n softmax(z / T) - s) / (N T), S_n = sum_k s[n][k].
 * CORSD's code form (targets softmax(s / T)) is vkd_row_softmax(s, K, 1 / T) first. Returns the
 * scalar loss (OUTPUT). */
int vkd_softmax_soft_ce(struct vkd_graph *g, const char *name, int z, int s, float t);

/* correlation.c: the batched Gram of feature-map cells (ICKD, LKD, SAKD). x (N, C, H, W) is cut
 * into grid_h x grid_w equal cells of ch x cw = (H / grid_h) x (W / grid_w) pixels (asserted to
 * divide; 1 x 1 = the whole map); F is a cell's C x P matrix (P = ch * cw, pixels row-major in
 * the cell), a strided view of x. Per sample and cell (cell = gi * grid_w + gj):
 *   VKD_GRAM_CHANNEL  G = F F^T (C x C)        VKD_GRAM_SPATIAL  G = F^T F (P x P)
 * normalize != 0: every row of G divided by max(its L2 norm, 1e-12) (F.normalize(G, dim=-1)).
 * Returns G, an ACT (N, grid_h * grid_w, R, R), R = C or P: element [n][cell][a][b]; gradient
 * to x. With normalize the node also keeps "<name>.norms" and "<name>.dots" (N, cells, R, 1). */
int vkd_gram(struct vkd_graph *g, const char *name, int x, enum vkd_gram_mode mode,
             uint32_t grid_h, uint32_t grid_w, int normalize);

/* sqdiff.c: scale * sum_i w_i (a_i - b_i)^2 over all elements of a and b (same element count),
 * w_i = 1 when w < 0. Returns the scalar (OUTPUT); register it as a loss with
 * vkd_graph_loss(g, L, slot) to weight it from a step-parameter slot. Gradients to a and to b
 * (when each has one: a teacher's b has none); w is a constant and gets none from this term
 * (only from its other consumers, if any). */
int vkd_sqdiff(struct vkd_graph *g, const char *name, int a, int b, int w, float scale);

/* hinge.c: the margin-ranking loss, F.margin_ranking_loss(a, b, y, margin, reduction="sum")
 * times scale: L = scale * sum_i max(0, margin - y_i (a_i - b_i)) over all elements of a and b
 * (same element count), y_i = 1 when y < 0, else a constant F32 tensor of the same count
 * (targets, usually +-1; no gradient from this term). Returns the scalar (OUTPUT); register it with
 * vkd_graph_loss. Gradients to a and b when each has one: dL/da_i = -scale y_i [t_i >= 0]
 * (t_i >= 0 at the kink, as PyTorch), dL/db_i = -dL/da_i. CORSD's triplet term
 * a_tri * mean_b max(r_p - r_n + margin, 0) = vkd_margin_ranking(g, name, r_n, r_p, -1, margin,
 * a_tri / B). */
int vkd_margin_ranking(struct vkd_graph *g, const char *name, int a, int b, int y, float margin,
                       float scale);

/* shape.c: channel concat and split (same N, H, W). vkd_concat: y (N, C_0 + ... + C_{k-1}, H, W)
 * = [x[0]; ...; x[k-1]] along C for 1 <= k <= VKD_CONCAT_MAX (8) tensors; each input that has a
 * gradient gets its channel range of dy (one tensor twice needs vkd_copy first when it wants a
 * gradient). vkd_split: y (N, c, H, W) = channels [c0, c0 + c) of x, a copy; dx is dy on that
 * range and 0 elsewhere. */
int vkd_concat(struct vkd_graph *g, const char *name, const int *x, int k);
int vkd_split(struct vkd_graph *g, const char *name, int x, int c0, int c);
/* Batch slice: y (n, C, H, W) = samples [n0, n0 + n) of x (N, C, H, W), a copy; dx is dy on
 * those samples and 0 elsewhere, so slices of one tensor (a triplet batch's thirds) sum to its
 * whole gradient. */
int vkd_batch_slice(struct vkd_graph *g, const char *name, int x, int n0, int n);
/* The same in each group: x's N samples read as `groups` consecutive groups of N / groups
 * (groups must divide N), y (groups * n, C, H, W) = samples [n0, n0 + n) of every group, in
 * order. groups = B, n = 1, n0 = 0 / 1 / 2: the anchors / positives / negatives of a triplet
 * batch ordered a0 p0 n0 a1 p1 n1 ... (CORSD's sampler). dx as for vkd_batch_slice. */
int vkd_batch_slice_groups(struct vkd_graph *g, const char *name, int x, int groups, int n0,
                           int n);

/* attmap.c: the sign-free spatial attention map of x (N, C, H, W), the channel mean of squares
 * a[n][j] = (1/C) sum_c x[n][c][j]^2, divided by its L2 norm over the sample's H*W positions
 * when normalize (eps 1e-12, as F.normalize): attention transfer (p = 2), LAKD's NDAM. Returns
 * an ACT (N, 1, H, W); gradient to x. Keeps "<name>.norm" (N, 1, 1, 1). */
int vkd_attention_map(struct vkd_graph *g, const char *name, int x, int normalize);
/* softmax.c: the row softmax of attention maps (not of logits: see vkd_softmax_ce and
 * vkd_softmax_kd for those). x (any shape, f32) is read as rows of len consecutive elements
 * (len must divide numel(x); len = w is the last dimension) and
 *   y[r, :] = softmax(scale * x[r, :])      (numerically stable: the row maximum is subtracted)
 * Returns y, an ACT of x's shape; gradient to x: dx = scale * y (.) (dy - rowsum(dy (.) y)). */
int vkd_row_softmax(struct vkd_graph *g, const char *name, int x, int len, float scale);

/* rownorm.c: the row L2 normalisation, F.normalize(x, dim=-1): x (any f32 shape) is read as
 * rows of len consecutive elements (len must divide numel(x)) and
 *   y[r, :] = x[r, :] / max(||x[r, :]||_2, 1e-12)
 * LKD's cosine similarity of patch vectors: vkd_patch_to_rows, this with len = d, then
 * vkd_gram(CHANNEL). Returns y, an ACT of x's shape; gradient to x: dx = (dy - (dy . y) y) / r,
 * r = ||x[r, :]|| (dy / 1e-12 when r <= 1e-12). Keeps "<name>.norm" (1, 1, 1, rows). */
int vkd_row_normalize(struct vkd_graph *g, const char *name, int x, int len);

/* attention.c: SAKD's parameter-free spatial self-attention. Per sample of x (N, C, H, W), with
 * X its C x P matrix (P = H * W, pixels row-major):
 *   A = rowsoftmax(X^T X / sqrt(C))                 (P x P; the 1/sqrt(C) is rounded to fp32)
 * Returns A, an ACT (N, 1, P, P): element [n][0][a][b] = attention of pixel a to pixel b (rows
 * sum to 1, independent of C: teacher and student maps of the same H x W compare directly).
 * Gradient to x. The node also keeps "<name>.dots" (N, 1, P, 1), backward scratch. */
int vkd_self_attention(struct vkd_graph *g, const char *name, int x);

/* patch.c: LKD's patch vectors. x (N, C, H, W) is cut into non-overlapping ph x pw patches
 * (ph | H, pw | W; a k x k patch is ph = pw = k, and LKD's g x g grid is ph = H / g, pw = W / g)
 * and each patch becomes one row of d = C * ph * pw elements:
 *   rows[r][e] = x[s][k][a * ph + i][b * pw + j],  r = (s * (H/ph) + a) * (W/pw) + b,
 *                                                  e = (k * ph + i) * pw + j
 * (sample-major, then patches row-major; inside a row channel-major, then the patch's pixels
 * row-major: torch's F.unfold(x, (ph, pw), stride=(ph, pw)).transpose(1, 2).reshape(R, d)).
 * Returns rows, an ACT (1, R, 1, d), R = N (H/ph)(W/pw): shaped so that
 * vkd_gram(g, name, rows, VKD_GRAM_CHANNEL, 1, 1, 0) is the R x R Gram of every patch pair of
 * the batch, and a row is the last dimension (vkd_row_softmax with len = d). Gradient to x
 * (exact: a permutation). */
int vkd_patch_to_rows(struct vkd_graph *g, const char *name, int x, int ph, int pw);
/* The inverse: rows (any f32 tensor of N*C*H*W elements, read as the flat (R, d) above) back
 * to an ACT (N, C, H, W). Gradient to rows. */
int vkd_rows_to_patch(struct vkd_graph *g, const char *name, int rows, int n, int c, int h, int w,
                      int ph, int pw);

/* augment.c: a float batch (p->n, p->c, p->oh, p->ow) from uint8 images packed in the u32
 * STATE tensors data[0..n_data-1] (p->per_chunk images each) and per-sample parameters
 * (INPUT u32, n x 4: index, dy, dx, flip); see shaders/augment.h. No gradient. */
int vkd_augment(struct vkd_graph *g, const char *name, const int *data, int n_data, int params,
                const struct vkd_augment_params *p);

#endif /* VKD_OPS_H */

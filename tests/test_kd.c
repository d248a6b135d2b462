/*
 * test_kd.c - the knowledge-distillation term over engine/cases/kd.c (`cpu` finite
 * differences, `gpu` shaders vs reference under both kernel variants), plus hand checks on
 * both executors:
 *   - z_s = [0, 0], z_t = [log 3, 0], T = 1: p = [3/4, 1/4], q = [1/2, 1/2],
 *     KL = 3/4 log(3/2) + 1/4 log(1/2) = 0.130812...; dz_s = (q - p) / N;
 *     the same inputs through PyTorch: F.kl_div(F.log_softmax(zs / T, 1),
 *     F.softmax(zt / T, 1), reduction="batchmean") * T * T = 0.13081213832 in fp32 (torch
 *     1.13, CPU), the exact value being 0.13081203594;
 *   - T^2 scaling: logits doubled with T = 2 give the same p and q, so 4x the T = 1 loss;
 *   - identical logits: loss 0 and gradient 0, exactly.
 *   - a teacher whose logits are also trained by a CE (SAKD's branch), KD added after the CE:
 *     KD comes first in backward but never writes dz_t (const_in), so the CE is its first
 *     writer and overwrites: two identical steps give the same dz_t, the CE's
 *     (softmax(z_t) - onehot) / N, not twice it;
 * and of its two relatives:
 *   - softmax_kl, same inputs: the same KL (no T^2), dz_s = (q - p) / N, and
 *     dz_t = p (log(p / q) - KL) / N = [3/4 (log(3/2) - KL), 1/4 (log(1/2) - KL)] / N
 *     = +-0.2059902... / N (a row of dz_t sums to 0: softmax ignores a shift of z_t); doubled
 *     logits at T = 2: the same loss, half the gradients; identical logits: all exactly 0;
 *   - softmax_sce: z = [0, 0], s = [1, 0], T = 1: L = log 2, dz = [-1/2, 1/2]; s = [2, 0]
 *     (a row summing to 2): L = 2 log 2, dz = S q - s = [-1, 1]; z = [2 log 3, 0], T = 2
 *     (q = [3/4, 1/4]), s = [1/2, 1/2]: L = -(log(3/4) + log(1/4)) / 2 = 0.8369882...,
 *     dz = (q - s) / T = [1/8, -1/8]; CORSD's target (onehot(0) + onehot(2)) / 2 over three
 *     equal logits: L = log 3, dz = [1/3 - 1/2, 1/3, 1/3 - 1/2];
 *   - both against PyTorch (torch 1.13, float64, autograd) on zs = [[1, -2, 0.5], [3, 0.25, -1]],
 *     zt = [[0.5, 1, -1.5], [-2, 2, 1]], s = [[0.5, 0, 0.5], [0.2, 0.7, 0.4]] (the second row
 *     sums to 1.3), T = 3: F.kl_div(F.log_softmax(zs / T, 1), F.log_softmax(zt / T, 1),
 *     reduction="batchmean", log_target=True) and F.cross_entropy(zs / T, s) (probability
 *     targets: the same unnormalised sum), with the gradients autograd gives for zs and zt.
 */
#include <math.h>

#include "testutil.h"
#include "vkd_ops.h"

enum op { OP_KD, OP_KL, OP_SCE };

/* loss, dz_s (and for OP_KL dz_t) of the op on zs, zt (OP_SCE: logits, targets) over n rows of
 * k, on the reference or the device */
static int run_op(struct vkd_context *ctx, enum op op, int n, int k, const double *zs,
                  const double *zt, double t, double *loss, double *dzs, double *dzt)
{
    struct vkd_graph *g = vkd_graph_create();
    int s = vkd_graph_input(g, "zs", VKD_F32, n, k, 1, 1);
    int tt = vkd_graph_input(g, "zt", VKD_F32, n, k, 1, 1);
    vkd_graph_set_requires_grad(g, s);
    if (op == OP_KL)
        vkd_graph_set_requires_grad(g, tt);
    int l = op == OP_KD   ? vkd_softmax_kd(g, "kd", s, tt, (float)t)
            : op == OP_KL ? vkd_softmax_kl(g, "kl", s, tt, (float)t)
                          : vkd_softmax_soft_ce(g, "sce", s, tt, (float)t);
    vkd_graph_loss(g, l, -1);
    vkd_graph_finalize(g, 0);
    /* dz_t only for OP_KL: the other two hold z_t (or the targets) constant */
    int gt = op == OP_KL ? vkd_graph_tensor_at(g, tt)->grad : -1;
    const struct vkd_test_in in[] = {{s, zs}, {tt, zt}};
    const struct vkd_test_out out[] = {
        {l, loss}, {vkd_graph_tensor_at(g, s)->grad, dzs}, {gt, dzt}};
    int rc = vkd_test_run_graph(ctx, g, in, 2, out, 3);
    vkd_graph_destroy(g);
    return rc;
}

static int run(struct vkd_context *ctx, int n, int k, const double *zs, const double *zt, double t,
               double *loss, double *dzs)
{
    return run_op(ctx, OP_KD, n, k, zs, zt, t, loss, dzs, NULL);
}

/* dz_t after one and after two identical steps of CE(z_t) + KD(z_s, z_t), KD added last. */
static int teacher_run(struct vkd_context *ctx, const double *zs, const double *zt,
                       const double *labels, double *dzt1, double *dzt2)
{
    struct vkd_graph *g = vkd_graph_create();
    int s = vkd_graph_input(g, "zs", VKD_F32, 2, 3, 1, 1);
    int tt = vkd_graph_input(g, "zt", VKD_F32, 2, 3, 1, 1);
    int lab = vkd_graph_input(g, "labels", VKD_U32, 2, 1, 1, 1);
    vkd_graph_set_requires_grad(g, s);
    vkd_graph_set_requires_grad(g, tt);
    vkd_graph_loss(g, vkd_softmax_ce(g, "ce", tt, lab, NULL, NULL), -1);
    vkd_graph_loss(g, vkd_softmax_kd(g, "kd", s, tt, 4.0f), -1);
    vkd_graph_finalize(g, 0);
    int gt = vkd_graph_tensor_at(g, tt)->grad;
    struct vkd_test_exec e;
    int rc = vkd_test_exec_create(&e, ctx, g, VKD_PROG_FORWARD | VKD_PROG_BACKWARD) ||
             vkd_test_exec_write(&e, s, zs) || vkd_test_exec_write(&e, tt, zt) ||
             vkd_test_exec_write(&e, lab, labels) || vkd_test_exec_run(&e) ||
             vkd_test_exec_read(&e, gt, dzt1) || vkd_test_exec_run(&e) ||
             vkd_test_exec_read(&e, gt, dzt2);
    vkd_test_exec_destroy(&e);
    vkd_graph_destroy(g);
    return rc;
}

static void teacher_check(struct vkd_context *ctx)
{
    const double zs[6] = {1, 2, 3, 4, 5, 6}, zt[6] = {0, log(2.0), 0, 0, 0, log(2.0)};
    const double labels[2] = {0, 2};
    double d1[6], d2[6];
    if (teacher_run(ctx, zs, zt, labels, d1, d2))
        return;
    /* softmax([0, log 2, 0]) = [1/4, 1/2, 1/4]; label 0: (1/4 - 1) / 2 */
    vkd_test_expect("teacher also under CE: dz_t[0] = CE's (1/4 - 1) / N", d1[0], -0.375, 1e-6);
    vkd_test_expect("... and the same after a second step (not accumulated)", d2[0], -0.375, 1e-6);
    vkd_test_expect("... dz_t[5] = (1/2 - 1) / N after a second step", d2[5], -0.25, 1e-6);
}

static void kl_checks(struct vkd_context *ctx)
{
    double zs[4] = {0, 0, 0, 0}, zt[4] = {log(3.0), 0, log(3.0), 0}, loss, ds[4], dt[4];
    if (run_op(ctx, OP_KL, 2, 2, zs, zt, 1, &loss, ds, dt))
        return;
    double kl = 0.75 * log(1.5) + 0.25 * log(0.5);
    vkd_test_expect("kl: KL([3/4,1/4] || [1/2,1/2]) at T=1, batchmean", loss, kl, 1e-6);
    vkd_test_expect("kl: dz_s[0] = (q0 - p0) / N", ds[0], -0.125, 1e-6);
    vkd_test_expect("kl: dz_s[3] = (q1 - p1) / N", ds[3], 0.125, 1e-6);
    vkd_test_expect("kl: dz_t[0] = 3/4 (log(3/2) - KL) / N", dt[0], 0.75 * (log(1.5) - kl) / 2,
                    1e-6);
    vkd_test_expect("kl: dz_t[1] = 1/4 (log(1/2) - KL) / N", dt[1], 0.25 * (log(0.5) - kl) / 2,
                    1e-6);
    vkd_test_expect("kl: a row of dz_t sums to 0", dt[2] + dt[3], 0, 1e-7);
    double zs2[4] = {0}, zt2[4] = {2 * log(3.0), 0, 2 * log(3.0), 0}, loss2, ds2[4], dt2[4];
    if (run_op(ctx, OP_KL, 2, 2, zs2, zt2, 2, &loss2, ds2, dt2))
        return;
    vkd_test_expect("kl: doubled logits at T=2, the same loss (no T^2)", loss2, kl, 1e-6);
    vkd_test_expect("kl: ... and half dz_s", ds2[0], -0.0625, 1e-6);
    vkd_test_expect("kl: ... and half dz_t", dt2[0], 0.75 * (log(1.5) - kl) / 4, 1e-6);
    double same[6] = {1, -2, 3, 0.5, 0.25, -7}, l0, d0[6], d1[6];
    if (run_op(ctx, OP_KL, 2, 3, same, same, 4, &l0, d0, d1))
        return;
    double dmax = 0;
    for (int i = 0; i < 6; i++)
        dmax = fmax(dmax, fmax(fabs(d0[i]), fabs(d1[i])));
    vkd_test_expect("kl: identical logits: loss exactly 0", l0, 0, 0);
    vkd_test_expect("kl: identical logits: both gradients exactly 0", dmax, 0, 0);
}

static void sce_checks(struct vkd_context *ctx)
{
    double z[2] = {0, 0}, s1[2] = {1, 0}, s2[2] = {2, 0}, loss, dz[2];
    if (run_op(ctx, OP_SCE, 1, 2, z, s1, 1, &loss, dz, NULL))
        return;
    vkd_test_expect("sce: z=[0,0], s=[1,0], T=1: L = log 2", loss, log(2.0), 1e-6);
    vkd_test_expect("sce: dz[0] = q0 - s0 = -1/2", dz[0], -0.5, 1e-6);
    if (run_op(ctx, OP_SCE, 1, 2, z, s2, 1, &loss, dz, NULL))
        return;
    vkd_test_expect("sce: s=[2,0] (sums to 2): L = 2 log 2", loss, 2 * log(2.0), 1e-6);
    vkd_test_expect("sce: dz = S q - s = [-1, 1]: dz[0]", dz[0], -1, 1e-6);
    vkd_test_expect("sce: dz[1]", dz[1], 1, 1e-6);
    double z3[2] = {2 * log(3.0), 0}, s3[2] = {0.5, 0.5};
    if (run_op(ctx, OP_SCE, 1, 2, z3, s3, 2, &loss, dz, NULL))
        return;
    vkd_test_expect("sce: q=[3/4,1/4] at T=2, s=[1/2,1/2]: L", loss, -(log(0.75) + log(0.25)) / 2,
                    1e-6);
    vkd_test_expect("sce: dz[0] = (q0 - s0) / T = 1/8", dz[0], 0.125, 1e-6);
    double z4[3] = {0.5, 0.5, 0.5}, s4[3] = {0.5, 0, 0.5}, dz4[3];
    if (run_op(ctx, OP_SCE, 1, 3, z4, s4, 3, &loss, dz4, NULL))
        return;
    vkd_test_expect("sce: CORSD target (onehot(0) + onehot(2)) / 2, equal logits: L = log 3", loss,
                    log(3.0), 1e-6);
    vkd_test_expect("sce: dz[0] = (1/3 - 1/2) / T", dz4[0], (1.0 / 3 - 0.5) / 3, 1e-6);
    vkd_test_expect("sce: dz[1] = (1/3) / T", dz4[1], 1.0 / 9, 1e-6);
}

static void torch_checks(struct vkd_context *ctx)
{
    const double zs[6] = {1, -2, 0.5, 3, 0.25, -1}, zt[6] = {0.5, 1, -1.5, -2, 2, 1};
    const double s[6] = {0.5, 0, 0.5, 0.2, 0.7, 0.4};
    /* the values PyTorch printed (see the top) */
    const double kl = 0.3464347713573454, sce = 1.357428331244163;
    const double dzs[6] = {0.01341822806207004, -0.04537590078189644,  0.031957672719826406,
                           0.0780066944494736,  -0.044107260936882574, -0.033899433512591046};
    const double dzt[6] = {-0.02574066228356758, 0.05483327621939121, -0.029092613935823606,
                           -0.04394403554767858, 0.02267257680357859, 0.021271458744099945};
    const double dz[6] = {-0.008067080826267864, 0.027688906911367914, -0.019621826085100047,
                          0.09691830299713976,   -0.06458559490207623, -0.03233270809506354};
    double loss, g0[6], g1[6], e0 = 0, e1 = 0;
    if (run_op(ctx, OP_KL, 2, 3, zs, zt, 3, &loss, g0, g1))
        return;
    vkd_test_expect("kl vs PyTorch's F.kl_div(log_target, batchmean)", loss, kl, 1e-6);
    for (int i = 0; i < 6; i++)
        e0 = fmax(e0, fabs(g0[i] - dzs[i])), e1 = fmax(e1, fabs(g1[i] - dzt[i]));
    vkd_test_expect("kl: max |dz_s - PyTorch's autograd|", e0, 0, 1e-7);
    vkd_test_expect("kl: max |dz_t - PyTorch's autograd|", e1, 0, 1e-7);
    if (run_op(ctx, OP_SCE, 2, 3, zs, s, 3, &loss, g0, NULL))
        return;
    e0 = 0;
    for (int i = 0; i < 6; i++)
        e0 = fmax(e0, fabs(g0[i] - dz[i]));
    vkd_test_expect("sce vs PyTorch's F.cross_entropy(z / T, s)", loss, sce, 1e-6);
    vkd_test_expect("sce: max |dz - PyTorch's autograd|", e0, 0, 1e-7);
}

static void hand_checks(struct vkd_context *ctx)
{
    torch_checks(ctx);
    teacher_check(ctx);
    kl_checks(ctx);
    sce_checks(ctx);

    double zs[4] = {0, 0, 0, 0}, zt[4] = {log(3.0), 0, log(3.0), 0}, loss, dz[4];
    if (run(ctx, 2, 2, zs, zt, 1, &loss, dz))
        return;
    double kl = 0.75 * log(1.5) + 0.25 * log(0.5);
    vkd_test_expect("KL([3/4,1/4] || [1/2,1/2]) at T=1, batchmean", loss, kl, 1e-6);
    vkd_test_expect("PyTorch's fp32 value for the same inputs", loss, 0.13081213832, 1e-6);
    vkd_test_expect("dz_s[0] = (q0 - p0) / N = (1/2 - 3/4) / 2", dz[0], -0.125, 1e-6);
    vkd_test_expect("dz_s[1] = (q1 - p1) / N = (1/2 - 1/4) / 2", dz[1], 0.125, 1e-6);
    double zs2[4] = {0}, zt2[4] = {2 * log(3.0), 0, 2 * log(3.0), 0}, loss2, dz2[4];
    if (run(ctx, 2, 2, zs2, zt2, 2, &loss2, dz2))
        return;
    vkd_test_expect("T^2 scaling: doubled logits at T=2 give 4x the T=1 loss", loss2, 4 * kl, 1e-6);
    double same[6] = {1, -2, 3, 0.5, 0.25, -7}, l0, d0[6];
    if (run(ctx, 2, 3, same, same, 4, &l0, d0))
        return;
    double dmax = 0;
    for (int i = 0; i < 6; i++)
        dmax = fmax(dmax, fabs(d0[i]));
    vkd_test_expect("identical logits: loss exactly 0", l0, 0, 0);
    vkd_test_expect("identical logits: gradient exactly 0", dmax, 0, 0);
}

int main(int argc, char **argv)
{
    return vkd_test_hand_main(argc, argv, "kd", hand_checks);
}

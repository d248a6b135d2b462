/*
 * test_step.c - the whole training step, both ways. A small residual network (conv-BN-ReLU
 * stem, 2x2 max pooling, an identity block and a stride-2 block with a projection shortcut,
 * global average pooling, linear, softmax cross-entropy, SGD with momentum and weight decay) is
 * trained for VKD_STEPS steps from identical weights and batches by the Vulkan executor and by
 * the CPU reference. Every step's loss and top-1 count, and at the end every parameter, running
 * statistic and momentum, must agree. The learning rate changes halfway through the
 * step-parameter buffer, and the recorded command buffer must have been recorded exactly once.
 *
 * Tolerance: |vk - ref| <= TOL * (|ref| + rms(ref)) per tensor. The Vulkan side rounds every
 * intermediate to fp32 (unit roundoff u = 6e-8); one step's forward and backward chain about 25
 * ops whose reductions have up to ~1000 terms, so one step's relative error is about
 * 25 * sqrt(1000) * u = 5e-5 at worst, and SGD carries it forward: 20 steps at lr 0.1 with
 * momentum 0.9 may amplify it several-fold. TOL = 2e-3 leaves that an order of magnitude,
 * while a wrong gradient anywhere (a missing term, a wrong index) moves weights by 1e-2 or more.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vkd_ops.h"
#include "vkd_rng.h"

#define VKD_STEPS 20
#define N 6
#define CIN 3
#define HW 12
#define CLASSES 10
#define TOL 2e-3

struct net {
    struct vkd_graph *g;
    int x, labels, loss, top1;
};

static int conv_bn(struct vkd_graph *g, const char *name, int x, int cin, int cout, int k,
                   int stride, int relu)
{
    char b[96];
    snprintf(b, sizeof(b), "%s.conv.weight", name);
    int w = vkd_graph_param(g, b, cout, cin, k, k);
    snprintf(b, sizeof(b), "%s.conv", name);
    int y = vkd_conv2d(g, b, x, w, -1, stride, k / 2, 1);
    snprintf(b, sizeof(b), "%s.bn.weight", name);
    int gamma = vkd_graph_param(g, b, cout, 1, 1, 1);
    snprintf(b, sizeof(b), "%s.bn.bias", name);
    int beta = vkd_graph_param(g, b, cout, 1, 1, 1);
    snprintf(b, sizeof(b), "%s.bn.running_mean", name);
    int rm = vkd_graph_tensor(g, b, VKD_T_STATE, VKD_F32, cout, 1, 1, 1);
    snprintf(b, sizeof(b), "%s.bn.running_var", name);
    int rv = vkd_graph_tensor(g, b, VKD_T_STATE, VKD_F32, cout, 1, 1, 1);
    snprintf(b, sizeof(b), "%s.bn", name);
    y = vkd_batchnorm2d(g, b, y, gamma, beta, rm, rv, 1);
    if (relu) {
        snprintf(b, sizeof(b), "%s.relu", name);
        y = vkd_relu(g, b, y);
    }
    return y;
}

static int build(struct net *m)
{
    struct vkd_graph *g = m->g = vkd_graph_create();
    m->x = vkd_graph_input(g, "x", VKD_F32, N, CIN, HW, HW);
    m->labels = vkd_graph_input(g, "labels", VKD_U32, N, 1, 1, 1);
    int h = conv_bn(g, "stem", m->x, CIN, 8, 3, 1, 1);            /* 8x12x12 */
    h = vkd_maxpool2x2(g, "pool", h);                             /* 8x6x6 */
    int a = conv_bn(g, "b1.1", h, 8, 8, 3, 1, 1);
    a = conv_bn(g, "b1.2", a, 8, 8, 3, 1, 0);
    h = vkd_relu(g, "b1.out", vkd_add(g, "b1.add", a, h));        /* identity shortcut */
    a = conv_bn(g, "b2.1", h, 8, 16, 3, 2, 1);                    /* 16x3x3 */
    a = conv_bn(g, "b2.2", a, 16, 16, 3, 1, 0);
    int s = conv_bn(g, "b2.short", h, 8, 16, 1, 2, 0);            /* projection shortcut */
    h = vkd_relu(g, "b2.out", vkd_add(g, "b2.add", a, s));
    h = vkd_global_avgpool(g, "gap", h);
    int fw = vkd_graph_param(g, "fc.weight", CLASSES, 16, 1, 1);
    int fb = vkd_graph_param(g, "fc.bias", CLASSES, 1, 1, 1);
    int logits = vkd_linear(g, "fc", h, fw, fb);
    m->loss = vkd_softmax_ce(g, "ce", logits, m->labels, &m->top1, NULL);
    vkd_graph_loss(g, m->loss, -1);
    if (vkd_graph_finalize(g, 1) != VKD_OK) {
        printf("FAIL: finalize: %s\n", vkd_graph_error(g));
        return -1;
    }
    return 0;
}

/* Kaiming-normal-like weights, BN weight 1 bias 0, running var 1: all fp32 values. */
static void init_weights(struct net *m, struct vkd_ref *ref, struct vkd_rng *rng)
{
    for (int t = 0; t < vkd_graph_tensor_count(m->g); t++) {
        const struct vkd_tensor *tt = vkd_graph_tensor_at(m->g, t);
        double *d = vkd_ref_data(ref, t);
        size_t n = vkd_tensor_numel(tt);
        if (tt->kind == VKD_T_PARAM && tt->parent >= 0) {
            int is_bn = strstr(tt->name, ".bn.") != NULL;
            double sd = sqrt(2.0 / (double)(tt->n * tt->h * tt->w));
            for (size_t i = 0; i < n; i++)
                d[i] = is_bn ? (strstr(tt->name, "weight") ? 1.0 : 0.0)
                             : (float)(sd * vkd_rng_normal(rng));
        } else if (tt->kind == VKD_T_STATE) {
            for (size_t i = 0; i < n; i++)
                d[i] = strstr(tt->name, "running_var") ? 1.0 : 0.0;
        }
    }
}


int main(void)
{
    struct vkd_context *ctx = vkd_test_context();
    struct net m;
    if (build(&m) < 0)
        return 1;
    struct vkd_graph *g = m.g;
    struct vkd_ref *ref = vkd_ref_create(g);
    struct vkd_vk *vk = NULL;
    struct vkd_vk_desc desc = {VKD_PROG_FORWARD | VKD_PROG_BACKWARD | VKD_PROG_UPDATE, 0};
    if (!ref || vkd_vk_create(ctx, g, &desc, &vk) != VKD_OK) {
        printf("FAIL: executor: %s\n", vkd_context_error(ctx));
        return 1;
    }
    struct vkd_rng rng = {42};
    init_weights(&m, ref, &rng);
    for (int t = 0; t < vkd_graph_tensor_count(g); t++) {
        const struct vkd_tensor *tt = vkd_graph_tensor_at(g, t);
        if ((tt->kind == VKD_T_PARAM && tt->parent >= 0) || tt->kind == VKD_T_STATE)
            vkd_vk_write(vk, t, vkd_ref_data(ref, t));
    }

    int passed = 0, failed = 0;
    double first_loss = 0, last_loss = 0;
    double *sp = vkd_ref_data(ref, vkd_graph_step_params(g));
    for (int step = 0; step < VKD_STEPS; step++) {
        /* a new batch each step; labels tied to the input so the loss can fall */
        double *x = vkd_ref_data(ref, m.x), *y = vkd_ref_data(ref, m.labels);
        for (int n = 0; n < N; n++) {
            y[n] = vkd_rng_below(&rng, CLASSES);
            for (int i = 0; i < CIN * HW * HW; i++)
                x[n * CIN * HW * HW + i] =
                    (float)(vkd_rng_normal(&rng) * 0.5 + (i % CLASSES == (int)y[n] ? 1.0 : 0.0));
        }
        sp[VKD_SP_LR] = (float)(step < VKD_STEPS / 2 ? 0.1 : 0.02);
        sp[VKD_SP_MOMENTUM] = (float)0.9;
        sp[VKD_SP_WEIGHT_DECAY] = (float)5e-4;
        sp[VKD_SP_STEP] = step;
        vkd_vk_write(vk, m.x, x);
        vkd_vk_write(vk, m.labels, y);
        vkd_vk_write(vk, vkd_graph_step_params(g), sp);
        if (vkd_vk_run(vk) != VKD_OK) {
            printf("FAIL: step %d: %s\n", step, vkd_context_error(ctx));
            return 1;
        }
        vkd_ref_step(ref);
        double loss_vk, top1_vk;
        vkd_vk_read(vk, m.loss, &loss_vk);
        vkd_vk_read(vk, m.top1, &top1_vk);
        double loss_ref = vkd_ref_data(ref, m.loss)[0], top1_ref = vkd_ref_data(ref, m.top1)[0];
        double e = fabs(loss_vk - loss_ref) / fabs(loss_ref);
        int ok = e <= TOL && isfinite(loss_vk);
        /* top-1 counts may differ only if a logit near-tie flipped; report, never ignore */
        ok &= top1_vk == top1_ref;
        printf("%-4s step %2d  loss vk %.7f ref %.7f  rel err %.2e  top1 %g/%g\n",
               ok ? "ok" : "FAIL", step, loss_vk, loss_ref, e, top1_vk, top1_ref);
        ok ? passed++ : failed++;
        if (step == 0)
            first_loss = loss_ref;
        last_loss = loss_ref;
    }

    double *buf = malloc(sizeof(double) << 20);
    for (int t = 0; t < vkd_graph_tensor_count(g); t++) {
        const struct vkd_tensor *tt = vkd_graph_tensor_at(g, t);
        if (!((tt->kind == VKD_T_PARAM && tt->parent >= 0) || tt->kind == VKD_T_STATE ||
              tt->kind == VKD_T_OPT))
            continue;
        vkd_vk_read(vk, t, buf);
        double e = vkd_test_rel_err(buf, vkd_ref_data(ref, t), vkd_tensor_numel(tt));
        int ok = e <= TOL;
        printf("%-4s %-24s rel err %.2e\n", ok ? "ok" : "FAIL", tt->name, e);
        ok ? passed++ : failed++;
    }
    free(buf);

    int ok = vkd_vk_record_count(vk) == 1 && vkd_vk_submit_count(vk) == VKD_STEPS;
    printf("%-4s recorded %llu time(s), submitted %llu times\n", ok ? "ok" : "FAIL",
           (unsigned long long)vkd_vk_record_count(vk),
           (unsigned long long)vkd_vk_submit_count(vk));
    ok ? passed++ : failed++;
    /* The data are learnable: 20 steps must lower the loss, or the test trains nothing. */
    ok = last_loss < first_loss;
    printf("%-4s loss fell from %.4f to %.4f\n", ok ? "ok" : "FAIL", first_loss, last_loss);
    ok ? passed++ : failed++;

    vkd_vk_destroy(vk);
    vkd_ref_destroy(ref);
    vkd_graph_destroy(g);
    if (vkd_test_context_done(ctx))
        failed++;
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

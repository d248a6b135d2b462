/*
 * test_models.c - the model zoo against RepDistiller's PyTorch definitions: the trainable
 * parameter count of every model with 100 classes (numbers printed by the definitions
 * themselves, sum(p.numel() for p in model.parameters())), counted two ways (the builder's
 * tally and the graph's PARAM tensors); state_dict key names; feature-tap shapes.
 */
#include <stdio.h>
#include <string.h>

#include "models.h"

static int passed, failed;

static void check(int ok, const char *what)
{
    printf("%-4s %s\n", ok ? "ok" : "FAIL", what);
    ok ? passed++ : failed++;
}

/* From RepDistiller @eedab9d (models/resnet.py, wrn.py, vgg.py, mobilenetv2.py), num_classes=100, vgg* = vgg*_bn, mobilenetv2 =
 * mobile_half; resnet18: the common CIFAR ResNet18 (3x3 stem, BasicBlock [2,2,2,2]) in PyTorch
 * 1.13, sum of parameter numels with 100 classes. */
static const struct {
    const char *name;
    unsigned long params;
} expected[] = {
    {"resnet8", 83892},       {"resnet14", 181108},     {"resnet20", 278324},
    {"resnet32", 472756},     {"resnet44", 667188},     {"resnet56", 861620},
    {"resnet110", 1736564},   {"resnet8x4", 1233540},   {"resnet32x4", 7433860},
    {"wrn_16_1", 180916},     {"wrn_16_2", 703284},     {"wrn_40_1", 569780},
    {"wrn_40_2", 2255156},    {"vgg8", 3965028},        {"vgg11", 9277284},
    {"vgg13", 9462180},       {"vgg16", 14774436},      {"vgg19", 20086692},
    {"mobilenetv2", 812836},  {"resnet18", 11220132},
};

static int build(const char *arch, struct vkd_graph **g, struct model *m, int classes, int hw)
{
    struct model_opts o = {.batch = 2, .in_c = 3, .in_hw = hw, .classes = classes, .training = 1};
    char err[512];
    *g = vkd_graph_create();
    if (model_build(*g, arch, &o, m, err, sizeof(err)) < 0) {
        printf("FAIL %s: %s\n", arch, err);
        vkd_graph_destroy(*g);
        return -1;
    }
    return 0;
}

static int has_key(struct vkd_graph *g, const char *key)
{
    return vkd_graph_find(g, key) >= 0;
}

static int tap_shape(struct vkd_graph *g, const struct model *m, const char *tap, int c, int hw)
{
    int t = model_tap(m, tap);
    if (t < 0)
        return 0;
    const struct vkd_tensor *tt = vkd_graph_tensor_at(g, t);
    return tt->n == 2 && tt->c == c && tt->h == hw && tt->w == hw;
}

int main(void)
{
    char what[256];
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        struct vkd_graph *g;
        struct model m;
        if (build(expected[i].name, &g, &m, 100, 32) < 0) {
            failed++;
            continue;
        }
        unsigned long graph_count = 0;
        for (int t = 0; t < vkd_graph_tensor_count(g); t++)
            if (vkd_graph_tensor_at(g, t)->kind == VKD_T_PARAM)
                graph_count += vkd_tensor_numel(vkd_graph_tensor_at(g, t));
        snprintf(what, sizeof(what), "%-12s %lu parameters (PyTorch: %lu), %.1f MMAC/image",
                 expected[i].name, graph_count, expected[i].params, (double)m.macs / 1e6);
        check(graph_count == expected[i].params && m.n_weights == expected[i].params, what);
        model_free(&m);
        vkd_graph_destroy(g);
    }

    struct vkd_graph *g;
    struct model m;
    if (build("resnet8x4", &g, &m, 100, 32) == 0) {
        check(has_key(g, "conv1.weight") && has_key(g, "bn1.running_var") &&
                  has_key(g, "layer1.0.downsample.0.weight") &&
                  has_key(g, "layer3.0.downsample.1.bias") && has_key(g, "fc.bias"),
              "resnet8x4 state_dict keys");
        check(tap_shape(g, &m, "stem", 32, 32) && tap_shape(g, &m, "stage1", 64, 32) &&
                  tap_shape(g, &m, "stage3", 256, 8) && tap_shape(g, &m, "stage3_pre", 256, 8) &&
                  tap_shape(g, &m, "pool", 256, 1) && tap_shape(g, &m, "logits", 100, 1),
              "resnet8x4 taps: stem 32x32x32, stage3 256x8x8, pool 256, logits 100");
        model_free(&m);
        vkd_graph_destroy(g);
    }
    if (build("wrn_40_2", &g, &m, 100, 32) == 0) {
        check(has_key(g, "block1.layer.0.convShortcut.weight") &&
                  !has_key(g, "block1.layer.1.convShortcut.weight") &&
                  has_key(g, "block3.layer.5.bn2.running_mean") && has_key(g, "bn1.weight"),
              "wrn_40_2 state_dict keys");
        check(tap_shape(g, &m, "stage1_pre", 32, 32) && tap_shape(g, &m, "stage3", 128, 8),
              "wrn_40_2 taps");
        model_free(&m);
        vkd_graph_destroy(g);
    }
    if (build("vgg13", &g, &m, 10, 32) == 0) {
        check(has_key(g, "block4.3.weight") && has_key(g, "block4.4.running_var") &&
                  has_key(g, "classifier.weight") && tap_shape(g, &m, "stage4", 512, 4),
              "vgg13 keys and taps (no pool3 at 32x32)");
        model_free(&m);
        vkd_graph_destroy(g);
    }
    if (build("mobilenetv2", &g, &m, 100, 32) == 0) {
        check(has_key(g, "blocks.6.0.conv.7.running_var") && has_key(g, "conv2.0.weight") &&
                  has_key(g, "classifier.0.bias") && tap_shape(g, &m, "stage4", 160, 2),
              "mobilenetv2 keys and taps");
        model_free(&m);
        vkd_graph_destroy(g);
    }
    if (build("resnet20", &g, &m, 10, 28) == 0) {
        check(tap_shape(g, &m, "stage3", 64, 7) && tap_shape(g, &m, "logits", 10, 1),
              "resnet20 on 28x28 (Fashion-MNIST): stage3 64x7x7, 10 logits");
        model_free(&m);
        vkd_graph_destroy(g);
    }
    char err[512];
    struct model_opts o = {.batch = 1, .in_c = 3, .in_hw = 32, .classes = 10};
    g = vkd_graph_create();
    check(model_build(g, "resnet21", &o, &m, err, sizeof(err)) < 0 &&
              strstr(err, "unknown model 'resnet21'") && strstr(err, "resnet20"),
          "unknown model named, known ones listed");
    vkd_graph_destroy(g);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

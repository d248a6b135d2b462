#version 450
// sgd: one SGD step over all parameters, as torch.optim.SGD (dampening 0):
//   d = g + wd * w;  m = momentum * m + d;  d = nesterov ? d + momentum * m : m;  w -= lr * d
// The momentum buffer starts at zero, so the first step's m = d, exactly as torch's clone.
// Hyper-parameters come from the step-parameter buffer so the recorded step replays unchanged.
// Bindings: 0 w (count), 1 g (count), 2 m (count), 3 step parameters (VKD_SP_COUNT).
// Grid: 1-D over count. Mirrors ref_sgd_update (engine/ops/optim.c).
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_sgd_params p; } pc;
layout(std430, binding = 0) buffer W { float w[]; };
layout(std430, binding = 1) readonly buffer G { float g[]; };
layout(std430, binding = 2) buffer M { float m[]; };
layout(std430, binding = 3) readonly buffer Step { float step[]; };

void main()
{
    uint i = vkd_gid();
    if (i >= pc.p.count)
        return;
    float lr = step[VKD_SP_LR], mu = step[VKD_SP_MOMENTUM], wd = step[VKD_SP_WEIGHT_DECAY];
    float d = g[i] + wd * w[i];
    float mi = mu * m[i] + d;
    m[i] = mi;
    d = step[VKD_SP_NESTEROV] != 0.0 ? d + mu * mi : mi;
    w[i] = w[i] - lr * d;
}

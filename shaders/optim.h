/* optim.h - push constants of the optimizer family (engine/ops/optim.c). */
#ifndef VKD_OPTIM_H
#define VKD_OPTIM_H

/* sgd: one pass over the flat parameter, gradient and momentum tensors (count elements each);
 * lr, momentum, weight decay, Nesterov and the step number come from the step-parameter buffer. */
struct vkd_sgd_params {
    vkd_u32 count;
};

#endif

/* loss.h - push constants of the loss family (engine/ops/loss.c). */
#ifndef VKD_LOSS_H
#define VKD_LOSS_H

#endif

/* conv2d.h - push constants of the conv2d family (engine/ops/conv2d.c). */
#ifndef VKD_CONV2D_H
#define VKD_CONV2D_H

#endif

/* batchnorm.h - push constants of the batchnorm family (engine/ops/batchnorm.c). */
#ifndef VKD_BATCHNORM_H
#define VKD_BATCHNORM_H

#endif

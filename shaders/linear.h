/* linear.h - push constants of the linear family (engine/ops/linear.c). */
#ifndef VKD_LINEAR_H
#define VKD_LINEAR_H

#endif

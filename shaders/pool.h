/* pool.h - push constants of the pool family (engine/ops/pool.c). */
#ifndef VKD_POOL_H
#define VKD_POOL_H

#endif

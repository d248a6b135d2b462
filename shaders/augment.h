/* augment.h - push constants of the augmentation family (engine/ops/augment.c). */
#ifndef VKD_AUGMENT_H
#define VKD_AUGMENT_H

/* Data sets up to this many storage-buffer chunks stay on the GPU (4 x maxStorageBufferRange:
 * 512 MiB on lavapipe, more elsewhere). */
#define VKD_AUGMENT_CHUNKS 4

/*
 * augment_fwd: for sample n with parameters (index, dy, dx, flip) and output pixel (c, y, x):
 *   xs  = flip ? ow - 1 - x : x
 *   (r, q) = (dy + y - pad, dx + xs - pad)       position in the unpadded source image
 *   v   = inside ? image[index][c][r][q] : 0      zero padding, as torchvision RandomCrop
 *   out = (v / 255 - mean[c]) * inv_std[c]        ToTensor + Normalize
 * Images are uint8, c*h*w bytes each, packed 4 to a 32-bit word, per_chunk images per chunk.
 */
struct vkd_augment_params {
    vkd_u32 n, c, h, w;   /* batch, source image channels and size */
    vkd_u32 oh, ow;       /* output size */
    vkd_u32 pad;          /* zero padding before the crop */
    vkd_u32 per_chunk;    /* images per data chunk */
    vkd_u32 images;       /* images in the data set (indices are checked against it) */
    vkd_f32 mean[3];      /* per channel (channels beyond 3 use entry 2) */
    vkd_f32 inv_std[3];
};

#endif

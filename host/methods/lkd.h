/*
 * lkd.h - LKD's local-correlation term (methods.md section 2), shared by the method (lkd.c) and
 * its relation test (tests/test_lkd.c), so the test checks the very graph the method builds.
 */
#ifndef VKD_LKD_H
#define VKD_LKD_H

#include <stddef.h>

#include "vkd.h"

/* Appends, for one stage pair, the one-Gram form of the paper's eqs. (4)-(6):
 *   Fh = mask (.) F (when mask >= 0: an (N, 1, H, W) tensor without a gradient, broadcast
 *   over channels), cut into a k x k grid of (H/k) x (W/k) patches; every patch, flattened
 *   channel-major, is one of R = N k^2 rows of d = C (H/k)(W/k); Vh = the rows
 *   L2-normalised (cosine phi); Q = Vh Vh^T (R x R) per side; returns
 *     scale * sum over all R^2 entries of (Q_s - Q_t)^2,
 * a scalar OUTPUT (gradient to fs only: ft and the mask are constants of this term). fs and ft
 * may differ in channels but not in N, H, W. -1 with a sentence in err when H or W is not a
 * multiple of k or the shapes do not pair. name prefixes the nodes ("<name>.rows_s", ...). */
int lkd_local_term(struct vkd_graph *g, const char *name, int fs, int ft, int mask, int k,
                   float scale, char *err, size_t errlen);

#endif

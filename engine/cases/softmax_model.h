/*
 * softmax_model.h - the first-order rounding-error model of one fp32 row softmax and its
 * backward, shared by the op-check cases of the softmax and attention families
 * (engine/cases/softmax.c, engine/cases/attention.c). Errors are in units of u = 2^-24, computed
 * in double from the very inputs a check uses; the derivation is at the top of softmax.c.
 */
#ifndef VKD_SOFTMAX_MODEL_H
#define VKD_SOFTMAX_MODEL_H

#include <stddef.h>

/* The forward of one row of len elements. In: t (the exact scaled inputs s x) and alpha (the
 * absolute error of the fp32 t the shader sees, roundings of s x included). Out: y, iota (the
 * independent part of y's error) and *rho (the relative error of the row's sum, shared by the
 * whole row): |err y_j| <= iota_j + y_j rho. */
void vkd_case_softmax_fwd(size_t len, const double *t, const double *alpha, double *y, double *iota,
                          double *rho);

/* The backward of the same row for upstream dy: D_j = y_j (dy_j - dot), dot = dy . y. Out: d
 * (D), ind (its independent error), kap and lam (signed coefficients of the row's shared
 * errors: the sum's rho and the dot product's remaining error *eta), *dot and *edot (dot's
 * whole error bound): err D_j = ind_j (any sign) + kap_j rho + lam_j eta. */
void vkd_case_softmax_bwd(size_t len, const double *y, const double *iota, double rho,
                          const double *dy, double *d, double *ind, double *kap, double *lam,
                          double *dot, double *eta, double *edot);

/* max over i of (e_i / (|v_i| + rms(v)))^2, at least 1: the check's K for a tensor v whose
 * elements have error bounds e (in u). */
double vkd_case_k_of(const double *v, const double *e, size_t n);

#endif

/* kan-spline.h — B-spline bases with local support, knots, least-squares fits.
 *
 * Knots follow pykan: G+1 interior knots, extended by k evenly spaced knots on each side using
 * the mean interior spacing, G+2k+1 in all; G+k basis functions. Only k+1 bases are non-zero at
 * a point, so evaluation returns the index of the first one and those k+1 values.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Extends G+1 interior knots (in T[k … k+G]) by k on each side, in place. T has G+2k+1 slots. */
void     kan_knots_extend     (double       *t,
                               int           G,
                               int           k);
/* Uniform interior knots on [lo, hi], extended. */
void     kan_knots_uniform    (double       *t,
                               int           G,
                               int           k,
                               double        lo,
                               double        hi);

/* Evaluates the k+1 possibly non-zero bases of order k at X into B[0..k] and, if DB is not
 * NULL, their derivatives into DB[0..k]. Returns the index m0 of the first (B_{m0} … B_{m0+k}),
 * or -1 if X lies outside [t_0, t_last) (then every basis is 0). Needs k ≤ KAN_SPLINE_MAX_K. */
#define KAN_SPLINE_MAX_K 10
int      kan_spline_basis     (const double *t,
                               int           G,
                               int           k,
                               double        x,
                               double       *b,
                               double       *db);

/* Σ_m coef[m]·B_m(x) with stride STRIDE between coefficients. */
double   kan_spline_eval      (const double *t,
                               int           G,
                               int           k,
                               const double *coef,
                               double        x);

/* Least-squares coefficients (G+k of them, for each of N_RHS right-hand sides) of splines on
 * knots T through the points (X[s], Y[s·n_rhs + r]) for s < n. Underdetermined systems get the
 * minimum-norm solution. COEF is n_rhs × (G+k). */
gboolean kan_spline_fit       (const double *t,
                               int           G,
                               int           k,
                               const double *x,
                               const double *y,
                               size_t        n,
                               int           n_rhs,
                               double       *coef,
                               GError      **error);

G_END_DECLS

/* kan-exprfit.h — fitting the free constants of a formula to data, with standard errors.
 *
 * A formula found by discover carries two kinds of numbers: those that were snapped on purpose
 * to a simple value (2, 1/2, pi, 3*pi/4) or that are exponents such as ^2 and ^0.5, which are
 * exact; and the rest, which were fitted and are uncertain. kan_expr_fit refits the latter by
 * Levenberg–Marquardt and reports a standard error for each from the final Jacobian.
 */
#pragma once

#include <glib.h>
#include "kan-expr.h"

G_BEGIN_DECLS

/* A number v is exact (not free) when it lies within this relative tolerance of a simple
 * value s — p/q or p·π/q with q ≤ KAN_SNAP_DEFAULT_MAX_DEN, as kan_snap_value finds them, or
 * e — that is: |v − s| ≤ tol·max(1, |s|). Tight on purpose: a fitted constant lands on a
 * simple value only if it was snapped there. */
#define KAN_EXPR_FIT_EXACT_TOL  1e-12
/* The Jacobian (columns scaled to unit length) counts as singular when its smallest singular
 * value is at most this times its largest: the constants are then not determined separately
 * and their errors are NaN. */
#define KAN_EXPR_FIT_RCOND      1e-8
/* Stopping tolerances of the Levenberg–Marquardt driver: relative step and scaled gradient. */
#define KAN_EXPR_FIT_XTOL       1e-12
#define KAN_EXPR_FIT_GTOL       1e-12
/* Residual used for rows where the formula is not finite during the fit, to steer away. */
#define KAN_EXPR_FIT_PENALTY    1e10

/* The free constants of E: its NUM nodes in print order (the order kan_expr_to_string writes
 * them), except
 *   - 0, and numbers that are exact in the sense of KAN_EXPR_FIT_EXACT_TOL (2, 1/2, pi,
 *     3*pi/4, e); a nonzero number near 0 stays free;
 *   - the exponent of a POW (a NUM, or the NUM under a NEG) that is an integer or a half.
 * Returns the count; *OUT (if not NULL) receives an array of pointers into E, to free with
 * g_free, or NULL when there are none. */
int         kan_expr_free_constants         (KanExpr            *e,
                                             KanExpr          ***out);

typedef struct
{
  int     n;        /* free constants, as kan_expr_free_constants counts them */
  double *value;    /* their fitted values (also written into E) */
  double *stderr_;  /* standard errors sqrt(s²·diag((JᵀJ)⁻¹)), s² = RSS/(rows − n): NaN for
                     * all when rows ≤ n, when the formula or its derivatives are not finite
                     * on some row, or when the other columns of J are singular (see
                     * KAN_EXPR_FIT_RCOND); +inf for a constant whose column of J is zero
                     * (the data do not depend on it). */
  int    *node;     /* where each sits in E: its index in print order (0 the root, then the
                     * first operand's subtree, then the second's), so that printing finds it
                     * even if a fitted value lands on a simple one */
  double  rmse;     /* RMSE of E over the rows after the fit (NaN if not finite somewhere) */
  int     iterations;  /* Levenberg–Marquardt iterations taken */
} KanExprFit;

/* Refits the free constants of E in place by Levenberg–Marquardt (GSL's trust-region
 * gsl_multifit_nlinear with the analytic Jacobian), starting from E's values, on the N rows of
 * X (row-major, N_IN doubles per row) against Y, in at most MAX_ITER iterations (0: only the
 * errors at E's values). If the fit does not lower the RMSE (or leaves it non-finite where it
 * was finite), E keeps its values and the errors are those at the starting point. With fewer
 * rows than free constants there is no fit; the errors are NaN.
 *
 * Returns NULL with a KAN_ERROR only for invalid input: KAN_ERROR_SHAPE when E uses a variable
 * at or beyond N_IN, KAN_ERROR_DATA when there are no rows or X or Y holds a non-finite
 * value, KAN_ERROR_INVALID when MAX_ITER < 0. No free constants is a valid result (n = 0).
 * Free the result with kan_expr_fit_free. */
KanExprFit *kan_expr_fit                    (KanExpr            *e,
                                             const double       *x,
                                             int                 n_in,
                                             const double       *y,
                                             size_t              n,
                                             int                 max_iter,
                                             GError            **error);
void        kan_expr_fit_free               (KanExprFit         *fit);

/* E as kan_expr_to_string prints it (VAR_NAMES as there, NULL-terminated), each free constant
 * written with its error from FIT as "(value ± error)", the value rounded to the error's
 * second significant digit: "(2.99792 ± 0.00031)*x". Very large or small numbers share an
 * exponent, "(6.6740 ± 0.0012)e-11"; errors that are not finite print as nan or inf after the
 * value in full, a zero error as "± 0". The constants are those at FIT->node, with E's values
 * (after kan_expr_fit, the fitted ones), so E must keep the shape it had in the fit. Only
 * KAN_EXPR_STYLE_TEXT is supported. Free with g_free. */
char       *kan_expr_to_string_with_errors  (const KanExpr      *e,
                                             const KanExprFit   *fit,
                                             const char *const  *var_names,
                                             KanExprStyle        style);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KanExprFit, kan_expr_fit_free)

G_END_DECLS

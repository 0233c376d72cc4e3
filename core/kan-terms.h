/* kan-terms.h — sparse regression on a library of terms.
 *
 * A law that is a short sum of products of simple functions of one input each, after a simple
 * transform of y (1/y, y², 1/y², log|y|, and sin y where |y| ≤ π/2: asin laws such as Snell's
 * θ₁ = asin(n·sin θ₂)) and possibly as a quotient of two such sums, is found
 * by least squares alone: no network. Laws of cosines (1/y² = d² + r² − 2·d·r·cos α), rational
 * laws (d·(1 − α²)/(1 + α·cos u)) and Gaussians (log y = a + b·θ²/σ²) are of this kind.
 *
 * The terms are every function of KAN_TERMS_FUNCS applied to one input (x, x², x³, 1/x, 1/x²,
 * √x, 1/√x, log x, eˣ, e⁻ˣ, sin x, cos x, where defined on every row), the products of two of
 * them on different inputs, and for up to KAN_TERMS_MAX_TRIPLE_INPUTS inputs the products of
 * three (x, x², 1/x, 1/x², √x, sin x, cos x), and for up to KAN_TERMS_MAX_QUAD_INPUTS the
 * products of four (the same but √x; numerator terms only). A quotient T(y) = P/(1 + Q) is fitted linearly as
 * T(y) = P − T(y)·Q. Terms are chosen by forward selection with a beam (the columns that lower
 * the residual most, each orthogonalised against those chosen), fewest terms first.
 */
#pragma once

#include <glib.h>
#include <gio/gio.h>
#include "kan-expr.h"

G_BEGIN_DECLS

#define KAN_TERMS_MAX_INPUTS         6
#define KAN_TERMS_MAX_TRIPLE_INPUTS  5
#define KAN_TERMS_MAX_QUAD_INPUTS    5
#define KAN_TERMS_MAX_TERMS          5
/* y, 1/y, y², 1/y², log|y|, sin y */
#define KAN_TERMS_N_TRANSFORMS       6

typedef struct
{
  KanExpr *expr;       /* y as a formula of the inputs (kan_expr_free) */
  double   rel_rmse;   /* RMSE in y on the train rows over std(y) */
  int      n_terms;    /* terms besides the constant, numerator and denominator */
  char    *what;       /* e.g. "1/y^2 = 3 terms", for the stage line (g_free) */
} KanTermsFit;

void         kan_terms_fit_clear  (KanTermsFit        *f);

/* fit[t][k − 1]: the fit of k terms after transform t with the lowest RMSE (expr NULL when
 * none). */
typedef struct
{
  KanTermsFit fit[KAN_TERMS_N_TRANSFORMS][KAN_TERMS_MAX_TERMS];
} KanTermsFront;

/* Fits Y (N train rows of X, N_IN inputs) with the fewest terms whose RMSE in y is at most
 * TOL·std(y). X_TEST (N_TEST rows, may be 0) only decides where a function is defined. TRUE
 * with *OUT filled when one is found; FALSE when none is within TOL, when N_IN is 0 or above
 * KAN_TERMS_MAX_INPUTS, or when CANCELLABLE is cancelled. */
gboolean     kan_terms_fit        (const double       *x,
                                   int                 n_in,
                                   const double       *y,
                                   size_t              n,
                                   const double       *x_test,
                                   size_t              n_test,
                                   double              tol,
                                   GCancellable       *cancellable,
                                   KanTermsFit        *out);

/* Every transform and size at once: FRONT receives, for each transform and each k = 1 …
 * KAN_TERMS_MAX_TERMS, the fit of k terms with the lowest RMSE in y that the search met.
 * Returns the fewest terms within TOL (such a fit ends the search), or 0. For noisy data, where
 * no fit is within a small tolerance, the front is what a noise-aware choice picks from. Free
 * with kan_terms_front_clear. */
int          kan_terms_front      (const double       *x,
                                   int                 n_in,
                                   const double       *y,
                                   size_t              n,
                                   const double       *x_test,
                                   size_t              n_test,
                                   double              tol,
                                   GCancellable       *cancellable,
                                   KanTermsFront      *front);
void         kan_terms_front_clear (KanTermsFront     *front);

G_END_DECLS

/* kan-symfit.h — fitting library functions to one edge: y ≈ c·f(a·x+b)+d, and ranking them.
 *
 * This is pykan's fit_params / suggest_symbolic (reference sections 5.3 and 5.5), made fast
 * enough to run the whole library on an edge of 1000 samples in a few milliseconds:
 *
 *  - the (a,b) search runs on a subsample (evenly spaced in rank, extremes included) and uses
 *    each function's invariances to search fewer dimensions: f = x needs no search; for the
 *    scale-free functions (powers, 1/x^n, roots, log, abs, sgn) a·x+b = a·(x−p) and |a| only
 *    rescales c, so only the root p is searched (a = ±1); exp(a·x+b) = e^b·exp(a·x), so only a is
 *    searched (b = 0); for sin and cos the phase b is solved exactly by regressing y on
 *    sin(a·x) and cos(a·x), so only a is searched; every other function is searched in two
 *    dimensions over the window [u_lo, u_hi] that a·x+b sweeps over the data, restricted to a > 0
 *    where f(−u) is an affine image of f(u) (then a < 0 adds nothing);
 *  - every search step scores candidates by the squared Pearson correlation of f(a·x+b) with y
 *    and zooms as pykan does (iterations, neighbouring cells; at a boundary only that coordinate
 *    shrinks to the edge cell);
 *  - c and d come from ordinary linear regression on all samples, then a Levenberg–Marquardt
 *    polish of the free parameters on all samples is kept only if it raises R².
 *
 * Functions are evaluated with their plain variants (kan_sym_eval with y_th = 0); a candidate
 * giving any non-finite value is invalid (pykan turns the NaN correlation into 0).
 *
 * The reported r2 is the coefficient of determination 1 − SSres/SStot of the returned
 * (a,b,c,d) on all samples (≤ 1, may be negative, −∞ when y is exactly constant and the fit is
 * not). A fit that found no valid (a,b) is the constant c = 0, d = mean(y).
 */
#pragma once

#include <glib.h>
#include <stddef.h>

G_BEGIN_DECLS

/* In the ranking, R² above 1 − KAN_SYMFIT_R2_RESOLUTION counts as 1 − KAN_SYMFIT_R2_RESOLUTION:
 * differences that small are rounding, and exact equivalents (sin/cos, tanh/sigmoid, …) must
 * tie so that library order decides. */
#define KAN_SYMFIT_R2_RESOLUTION 1e-12

/* A fit with R² ≥ 1 − KAN_SYMFIT_EXACT_R2 is exact: exact fits rank above inexact ones (then
 * pykan's loss ranks within each group), so a function fitted exactly to its own samples is
 * never beaten by a simpler approximation. */
#define KAN_SYMFIT_EXACT_R2 1e-9

typedef struct
{
  int    sym_id;      /* library id (kan-symbolic.h) */
  double a, b, c, d;  /* y ≈ c·f(a·x+b)+d */
  double r2;          /* coefficient of determination on all samples */
  int    complexity;  /* the library's complexity of f */
  double score;       /* pykan's loss: weight_simple·complexity + (1−weight_simple)·log2(1+1e-5−r2) */
  /* The fit imitates a simpler function rather than being one: sin or cos over a sliver of
   * a period (a line, or x² at a peak), exp over a sliver of its argument (a line), tanh or
   * another bounded function over a sliver of its range, scaled up by a huge c (an
   * exponential tail, a line). kan_symfit_suggest ranks such fits after all others,
   * whatever their R² and the order of the library. */
  gboolean degenerate;
} KanSymFit;

typedef struct
{
  double a_range[2];     /* search range of a; default (−10, 10) */
  double b_range[2];     /* search range of b (two-dimensional searches); default (−10, 10) */
  int    grid_number;    /* points per coordinate of one-dimensional searches; two-dimensional
                          * searches use grid_number/3+1 per coordinate in the first sweep and
                          * 9 in the zoom sweeps. Default 101, ≥ 5 */
  int    iterations;     /* zoom iterations of every search; default 3, ≥ 1 */
  double weight_simple;  /* weight of complexity in the ranking loss; default 0.8, in [0, 1] */
  double zero_threshold; /* the edge is negligible, and "0" fits it with r2 = 1, when the
                          * standard deviation of y is ≤ this. Absolute; default 1e-3, which
                          * suits edges of a network whose node values are O(1) — a caller that
                          * knows the scale of the node the edge feeds should pass 1e-3 × that */
  double zero_guard_r2;  /* "0" of a non-negligible edge never ranks above a function with r2
                          * above this; default 0.9 */
  int    subsample;      /* samples the grid sweeps use (and a first Levenberg–Marquardt pass);
                          * default 64, ≥ 8 (all samples if there are fewer) */
} KanSymFitParams;

/* Fills P with the defaults above. */
void        kan_symfit_params_init (KanSymFitParams       *p);

/* Fits y ≈ c·f(a·x+b)+d for the library function SYM_ID over N samples (N ≥ 4, all finite).
 * P may be NULL for the defaults. For "0" the fit is the constant mean(y) and r2 is 1 if the
 * edge is negligible (see zero_threshold), else that constant's R² (0 unless y is constant). */
gboolean    kan_symfit_fit         (int                    sym_id,
                                    const double          *x,
                                    const double          *y,
                                    size_t                 n,
                                    const KanSymFitParams *p,
                                    KanSymFit             *out,
                                    GError               **error);

/* Fits each of the N_LIB functions LIB_IDS (NULL: the whole library, in library order) and
 * returns them ranked, best first (free with g_free); *N_OUT receives their number.
 *
 * Ranking: ascending score (pykan's loss, with R² capped as KAN_SYMFIT_R2_RESOLUTION says), ties
 * in library order. The one exception is "0":
 * on a negligible edge its r2 is 1, so with complexity 0 it ranks first; on any other edge its
 * r2 is 0 and it takes the place its score gives it among the others, moved down if needed so
 * that it stays below every function with r2 > zero_guard_r2. */
KanSymFit  *kan_symfit_suggest     (const double          *x,
                                    const double          *y,
                                    size_t                 n,
                                    const int             *lib_ids,
                                    int                    n_lib,
                                    const KanSymFitParams *p,
                                    int                   *n_out,
                                    GError               **error);

/* c·f(a·x+b)+d with the plain variant of f. */
double      kan_symfit_eval        (const KanSymFit       *f,
                                    double                 x);

G_END_DECLS

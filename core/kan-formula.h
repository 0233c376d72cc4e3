/* kan-formula.h — the closed-form formula of a locked network: compose, simplify, snap.
 *
 * Unlike pykan's symbolic_formula, the composition respects both edge masks (pruned edges
 * contribute nothing), multiplication nodes of any arity, and the node and subnode affines;
 * and it refuses, naming the edges, while any edge is still a spline.
 */
#pragma once

#include <glib.h>
#include "kan-expr.h"
#include "kan-model.h"

G_BEGIN_DECLS

/* Default tolerance of snapping: a constant v snaps to a simple value s when
 * |v − s| ≤ tol·max(1, |s|). */
#define KAN_SNAP_DEFAULT_TOL      1e-6
/* Default largest denominator q of the fractions p/q and p·π/q that constants snap to. */
#define KAN_SNAP_DEFAULT_MAX_DEN  12

/* One expression per output of M over the variables 0 … n_in−1, as a NULL-terminated array
 * of kan_model_n_out(M) trees (free with kan_formula_free). The trees are exact: they compute
 * what kan_model_eval computes (plain functions, y_th = 0), in the same order of operations;
 * run kan_expr_simplify on them for a readable form.
 *
 * Every edge whose numeric mask is on (a spline, or spline and function summed) makes this
 * fail with KAN_ERROR_INVALID, "N edges are still splines: (l,i,j), …"; the full list goes to
 * *NUMERIC_EDGES_OUT (if not NULL) as a NULL-terminated array of "(l,i,j)" strings, which is
 * set to NULL on success. */
KanExpr   **kan_formula_compose      (const KanModel      *m,
                                      char              ***numeric_edges_out,
                                      GError             **error);
/* Frees a NULL-terminated array of trees; NULL is fine. */
void        kan_formula_free         (KanExpr            **formulas);

/* The function of one locked edge, c·f(a·x+b)+d with ABCD = a, b, c, d and f the library
 * function SYM_ID, over the variable x: simplified and in KAN_EXPR_STYLE_TEXT, as "2*sin(3*x -
 * 1) + 0.5". With DIGITS > 0 each of a, b, c, d is first rounded to that many significant
 * digits (labels and tooltips); with 0 they are printed exactly. The one printer of an edge
 * for the CLI, the canvas and the inspector. Free with g_free. */
char       *kan_formula_edge_to_string (int                sym_id,
                                        const double       abcd[4],
                                        int                digits);

/* The one name of an edge mode in what users read and in JSON: "pruned", "spline", "locked"
 * (c·f(a·x+b)+d, KAN_EDGE_SYMBOLIC) and "spline+locked" (both summed). Static; do not free. */
const char *kan_edge_mode_name         (KanEdgeMode        mode);

/* Simplifies E (takes it) and returns the result. Every rule keeps the value wherever the
 * input is finite, up to rounding:
 *   constant folding (kept unfolded where the result would not be finite); x+0, x*1, x/1,
 *   x^1, x^0 → 1, 1^x → 1, --x → x; numeric factors gathered into one coefficient in front
 *   (c·x·d → (cd)·x, x/c → (1/c)·x); a coefficient distributed over a sum, so affine chains
 *   a·(b·x+c)+d collapse to (ab)·x+(ac+d); like terms merged (c1·t + c2·t → (c1+c2)·t for
 *   structurally equal t) and constants of a sum collected at its end; equal factors of a
 *   product merged into integer powers (x·x → x^2), and integer powers of products split
 *   ((a·x)^2 → a^2·x^2, (x^2)^3 → x^6).
 * One rule changes values where the input is not finite, on purpose: a zero coefficient drops
 * its term (0·t → 0 even where t is infinite or undefined), because zero coefficients are what
 * pruned and zeroed edges leave behind and the user wants those terms gone. */
KanExpr    *kan_expr_simplify        (KanExpr             *e);

/* The sum normal form that kan_expr_simplify writes, read back: E is taken as Σ coef·term +
 * constant through +, −, unary minus and a finite numeric factor in front (c·t is the term t
 * with coefficient c). FUNC gets each term (a subtree of E, borrowed) with W times its
 * coefficient, in the order of E; W times each constant is added to *CONSTANT in that order.
 * The simplifier builds its sums with it, and kan-canon.c reads them with it. */
typedef void (*KanSumTermFunc) (const KanExpr *term,
                                double         coef,
                                gpointer       data);

void        kan_expr_sum_walk        (const KanExpr       *e,
                                      double               w,
                                      KanSumTermFunc       func,
                                      gpointer             data,
                                      double              *constant);

/* If V lies within TOL (see KAN_SNAP_DEFAULT_TOL) of an integer, a fraction p/q or a multiple
 * p·π/q (q ≤ MAX_DEN, |p| ≤ 100), stores the simplest such value in *SNAPPED and returns TRUE.
 * Integers are preferred, then smaller q, and at equal q the rational before the π multiple.
 * A kind of value is tried only while the tolerance window is under a quarter of its spacing
 * (1, 1/q, π/q), so that it singles out one value: at TOL = 1e-2 a constant above 25 no longer
 * snaps to an integer. NaN and infinities never snap. */
gboolean    kan_snap_value           (double               v,
                                      double               tol,
                                      int                  max_den,
                                      double              *snapped);

/* Simplifies E (takes it), snaps every constant that kan_snap_value accepts, simplifies again
 * and returns the result, with snapped constants in printable form: π multiples as pi, 2*pi,
 * pi/2, 3*pi/4, and fractions whose decimals do not end as 1/3, 2/7 (halves, fifths and the
 * like stay decimals). Simplifying the result again folds those forms back into numbers. */
KanExpr    *kan_expr_snap            (KanExpr             *e,
                                      double               tol,
                                      int                  max_den);

/* As kan_expr_snap, but checked against data: the constants of the simplified E are tried one
 * at a time in tree order, and a snap is kept only if the RMSE of E against Y over the N rows
 * of X (row r at x + r·N_IN, target y[r·Y_STRIDE]) stays within MAX_RMSE_INCREASE of the RMSE
 * before any snapping. Rows where E is not finite make the RMSE NaN, and a snap that leads to
 * a NaN RMSE is not kept. */
KanExpr    *kan_expr_snap_checked    (KanExpr             *e,
                                      const double        *x,
                                      int                  n_in,
                                      const double        *y,
                                      size_t               y_stride,
                                      size_t               n,
                                      double               max_rmse_increase,
                                      double               tol,
                                      int                  max_den);

/* The RMSE of E against Y on the rows of X, laid out as for kan_expr_snap_checked. */
double      kan_expr_rmse            (const KanExpr       *e,
                                      const double        *x,
                                      int                  n_in,
                                      const double        *y,
                                      size_t               y_stride,
                                      size_t               n);

G_END_DECLS

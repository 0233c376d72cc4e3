/* kan-decompose.h — splitting a discovery problem into smaller ones before the width ladder.
 *
 * Two stages that kan_discover runs around its ladder of widths (see kan-decompose.c for the
 * order, the tolerances and why):
 *
 *  - monomials straight on the data: y = C·Π xᵢ^pᵢ with small rational pᵢ, fitted by linear
 *    least squares on log|y| against log|xᵢ| and checked with the signs;
 *  - decomposition with a trained network as the oracle: a spline KAN is fitted to the data,
 *    and finite differences of it say whether a variable is a power-law factor of the whole,
 *    whether two variables enter only through xᵢ·xⱼ^r or xᵢ + r·xⱼ, and whether the function
 *    is a product or a sum of functions of disjoint groups of variables. Each finding turns
 *    the problem into smaller ones, which kan_discover solves (recursively), and the results
 *    are composed back into the original variables, their constants refitted on the data.
 *
 * The detectors work on any function given as a KanOracle, so they can be tested on exact
 * functions as well as on trained networks.
 */
#pragma once

#include <glib.h>
#include <gio/gio.h>
#include "kan-data.h"
#include "kan-discover.h"
#include "kan-expr.h"
#include "kan-model.h"

G_BEGIN_DECLS

/* Exponents of monomials (and the ratios of merges) are fractions p/q with q ≤ this … */
#define KAN_DECOMPOSE_MAX_DEN    3
/* … and |p/q| ≤ this. */
#define KAN_DECOMPOSE_MAX_POWER  6.0

/* ------------------------------------------------------------------------------------------ */
/* Monomials                                                                                   */

/* Fits y ≈ C·Π sᵢ(xᵢ)·|xᵢ|^pᵢ over the N rows of X (row-major, N_IN columns) whose inputs and
 * label are all non-zero: the exponents by least squares on log|y| against log|xᵢ|, each then
 * rounded to the nearest fraction with denominator ≤ KAN_DECOMPOSE_MAX_DEN (it must lie within
 * SNAP_TOL of it), and C by least squares of y on the signed monomial, where sᵢ(x) = sign(x)
 * for odd integer exponents and 1 otherwise. A non-integer exponent needs its variable
 * positive on every row. Fills POWER (N_IN) and *COEF and returns the RMSE of the fit over all
 * N rows, or NaN when there is no such monomial (too few usable rows, an exponent that does
 * not round, a fractional power of a negative input). Whether the RMSE is small enough is
 * the caller's to decide. */
double       kan_monomial_fit          (const double        *x,
                                        int                  n_in,
                                        const double        *y,
                                        size_t               n,
                                        double               snap_tol,
                                        double              *power,
                                        double              *coef);

/* C·Π xᵢ^pᵢ as a tree (exponent 1 gives the variable, 0 leaves it out). */
KanExpr     *kan_monomial_expr         (const double        *power,
                                        int                  n_in,
                                        double               coef);

/* ------------------------------------------------------------------------------------------ */
/* Detectors on an oracle                                                                      */

/* A function of N_IN inputs, evaluated on N rows at once (row-major X, N × N_IN) into OUT,
 * defined on the box [LO, HI] (N_IN each; every point the detectors ask for lies in it). */
typedef void (*KanOracleFunc) (gconstpointer  data,
                               const double  *x,
                               size_t         n,
                               double        *out);
typedef struct
{
  int            n_in;
  KanOracleFunc  eval;
  gconstpointer  data;
  const double  *lo;
  const double  *hi;
} KanOracle;

/* How two variables can merge into one. */
typedef enum
{
  KAN_MERGE_LINEAR,    /* f depends on xᵢ, xⱼ only through xᵢ + r·xⱼ  (r = 1: sum, −1: difference) */
  KAN_MERGE_MONOMIAL,  /* … only through xᵢ·xⱼ^r                 (r = 1: product, −1: ratio) */
} KanMerge;

/* Every detector looks at the N points PTS (N × n_in, inside the box) and returns a
 * dimensionless score, 0 when the property holds exactly and of order 1 when it clearly does
 * not (NaN when the points cannot tell, e.g. the function is zero there).
 *
 * Power factor: f = xᵢ^p·g(other inputs). Score: the relative residual of xᵢ·∂f/∂xᵢ = p·f
 * fitted over the points; *POWER receives p (not rounded). */
double       kan_detect_power          (const KanOracle     *f,
                                        const double        *pts,
                                        size_t               n,
                                        int                  i,
                                        double              *power);

/* Weighted homogeneity in xᵢ, xⱼ: f(λ·xᵢ, λ^β·xⱼ, …) = λ^k·f, i.e. f = xᵢ^k·g(xⱼ/xᵢ^β, …)
 * (β = 1, k = 1: f = xᵢ·g(xⱼ/xᵢ), as m0·c·g(v/c)). Score: the relative residual of the best
 * linear relation among xᵢ·∂f/∂xᵢ, xⱼ·∂f/∂xⱼ and f over the points; *BETA and *K receive β
 * and k (not rounded; NaN when the relation does not involve xᵢ). Power factors (β = 0) and
 * monomial merges (k = 0) are the special cases. */
double       kan_detect_homogeneous    (const KanOracle     *f,
                                        const double        *pts,
                                        size_t               n,
                                        int                  i,
                                        int                  j,
                                        double              *beta,
                                        double              *k);

/* Merge of xᵢ and xⱼ. Score: the relative residual of the best linear relation between the
 * two columns ∂f/∂xᵢ, ∂f/∂xⱼ (LINEAR) or xᵢ·∂f/∂xᵢ, xⱼ·∂f/∂xⱼ (MONOMIAL) over the points;
 * *RATIO receives r (not rounded). */
double       kan_detect_merge          (const KanOracle     *f,
                                        const double        *pts,
                                        size_t               n,
                                        int                  i,
                                        int                  j,
                                        KanMerge             kind,
                                        double              *ratio);

/* Separability across xᵢ and xⱼ, from the four corners f(±hᵢ, ±hⱼ) around each point (finite
 * steps, so that the test is exact for any step): additive f(++) − f(+−) − f(−+) + f(−−) = 0,
 * relative to std(f); multiplicative f(++)·f(−−) − f(+−)·f(−+) = 0, relative to rms(f)²,
 * which needs no sign of f. */
double       kan_detect_separable      (const KanOracle     *f,
                                        const double        *pts,
                                        size_t               n,
                                        int                  i,
                                        int                  j,
                                        gboolean             multiplicative);

/* A product (MULTIPLICATIVE) or sum after substituting u = xᵢ·xⱼ^r for xᵢ: f = g(u)·h(xⱼ, …)
 * or g(u) + h(xⱼ, …), i.e. Dᵢ(Dⱼ L − r·Dᵢ L) = 0 with Dₖ = xₖ·∂/∂xₖ and L = log|f| (or f),
 * from second differences around each point (as sin²(N·δ/2)/sin²(δ/2), a function of N·δ
 * times one of δ). Score: the relative residual of the best relation Dᵢ Dⱼ L = r·Dᵢ Dᵢ L over
 * the points; *RATIO receives r (not rounded; r = 0 is plain separability, and a merge of
 * xᵢ with xⱼ passes too). Points where |f| is below 1e-3·max|f| are left out of the product
 * test. */
double       kan_detect_subst_product  (const KanOracle     *f,
                                        const double        *pts,
                                        size_t               n,
                                        int                  i,
                                        int                  j,
                                        gboolean             multiplicative,
                                        double              *ratio);

/* A function of one monomial, tested on data rather than on an oracle: of the monomials
 * w = ∏ xᵢ^pᵢ with pᵢ among 0, ±½, ±1, ±2 (the first nonzero one 1; fractional ones only where
 * POSITIVE[i]; none on an input that is 0 on some row), the one along which the N rows of X
 * (N × N_IN) and Y look most like a curve y = s·g(w) plus noise, s the row's SCALE (NULL:
 * 1; rows with s = 0 are left out). Score: the noise of y about such a curve, estimated from
 * each row's distance, in y/s, to the line through its two neighbours in w (Gasser, Sroka and
 * Jennen-Steinmetz's estimator, which a smooth g does not bias), each divided by its own
 * standard deviation in units of y's noise. A curve leaves only the noise; a function that
 * also varies across w leaves that variation. Ties within 2 % go to the simpler monomial.
 * *POWER (N_IN) receives the exponents; returns the score (NaN when no monomial could be
 * scored, N_IN > KAN_INDEX_MAX_INPUTS, or CANCELLABLE (may be NULL) was cancelled). */
#define KAN_INDEX_MAX_INPUTS 6
double       kan_detect_single_index   (const double        *x,
                                        int                  n_in,
                                        const double        *y,
                                        const double        *scale,
                                        size_t               n,
                                        const gboolean      *positive,
                                        GCancellable        *cancellable,
                                        double              *power);

/* The oracle of a network (DATA is the KanModel). */
void         kan_oracle_model_eval     (gconstpointer        model,
                                        const double        *x,
                                        size_t               n,
                                        double              *out);

/* ------------------------------------------------------------------------------------------ */
/* The stages kan_discover runs                                                                */

/* A formula found by decomposition, over the inputs of the data it was asked about. */
typedef struct
{
  KanExpr  *expr;
  char     *width;   /* "monomial" or "decompose" */
  char     *lock;    /* what was done, e.g. "power x1^2 · [x2,x3]" */
  KanModel *model;   /* a locked network computing it (monomials whose exponents are library
                      * powers), else the spline network used as the oracle */
} KanDecomposeFormula;

void         kan_decompose_formula_free (KanDecomposeFormula *f);

/* The monomial stage on RAW (inputs and labels in their own units, one output). Appends a
 * formula to FORMULAS when a monomial fits, and a stage to STAGES (KanDiscoverStage*) either
 * way. Returns FALSE only on error (cancellation). */
gboolean     kan_decompose_monomial    (const KanDataset          *raw,
                                        const KanDiscoverOptions  *o,
                                        GPtrArray                 *stages,
                                        GPtrArray                 *formulas,
                                        GError                   **error);

/* The terms stage: kan_terms_front on RAW's train rows. A formula within TERMS_TOL·std(y) is
 * added to HELD (or to FORMULAS when HELD is NULL), candidates under noise to FORMULAS, each
 * with the first width of the ladder fitted to the data as its network. */
gboolean     kan_decompose_terms       (const KanDataset          *raw,
                                        const KanDiscoverOptions  *o,
                                        GPtrArray                 *stages,
                                        GPtrArray                 *formulas,
                                        GPtrArray                 *held,
                                        GError                   **error);

/* The binomial stage on RAW with one input: the best y = C·x^q·(1 + s·x^r)^p + D over small
 * exponents (q ∈ {0, ±1, 2}, r ∈ {1, 2}, p a small fraction), its constants refitted. Appends
 * the formula and a stage like kan_decompose_monomial. */
gboolean     kan_decompose_binomial    (const KanDataset          *raw,
                                        const KanDiscoverOptions  *o,
                                        GPtrArray                 *stages,
                                        GPtrArray                 *formulas,
                                        GError                   **error);

/* The power·function stage on RAW with one input: the best y = x^q·(c·φ(a·x + b) + d) over small
 * powers q (fractions only for positive x) and the library functions φ, its constants refitted.
 * Appends the formula and a stage like kan_decompose_monomial. */
gboolean     kan_decompose_power_function (const KanDataset       *raw,
                                           const KanDiscoverOptions *o,
                                           GPtrArray              *stages,
                                           GPtrArray              *formulas,
                                           GError                **error);

/* The oracle stage on RAW: fits the surrogate network, runs the detectors and, for the first
 * finding that splits the problem, solves the parts with kan_discover (O->decompose − 1
 * levels for splits that need the oracle's values) within SECONDS seconds (0: no limit), and
 * appends the composed formulas to FORMULAS and every decision to STAGES. Returns FALSE only
 * on error (cancellation, and the errors kan_discover does not absorb). */
gboolean     kan_decompose_oracle      (const KanDataset          *raw,
                                        const KanDiscoverOptions  *o,
                                        double                     seconds,
                                        GPtrArray                 *stages,
                                        GPtrArray                 *formulas,
                                        GError                   **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KanDecomposeFormula, kan_decompose_formula_free)

/* E with variable k replaced by a copy of MAP[k]; a new tree. */
KanExpr    *kan_decompose_subst        (const KanExpr      *e,
                                        KanExpr *const     *map);

/* A problem on D's rows with new inputs: column k is COLS[k] evaluated on D's inputs (named
 * NAMES, may be NULL), the labels are D's divided by SCALE (may be NULL) evaluated there. Rows
 * where anything is not finite are dropped. */
KanDataset *kan_decompose_reduced_data (const KanDataset   *d,
                                        KanExpr *const     *cols,
                                        int                 n_cols,
                                        const KanExpr      *scale,
                                        const char *const  *names);

G_END_DECLS

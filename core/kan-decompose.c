/* kan-decompose.c — splitting a discovery problem into smaller ones (see kan-decompose.h).
 *
 * Where kan_discover calls it. With one input, the binomial stage runs first (a grid of
 * shifted powers C·x^q·(1 + s·x^r)^p + D, least squares: a fraction of a second), with the
 * power·function stage (x^q times a wave or a decay, fitted by the edge fitter). The monomial
 * stage runs right after the ladder's first width (N,1): it costs a least-squares fit, and
 * most laws of physics that are not sums are monomials. The oracle stage runs after the monomial
 * stage for four inputs or more, where the ladder gets slow, and for two or three after the
 * widths with one hidden node or one product node, which are cheap there and often enough. It
 * is skipped when the user gives the widths, and runs only while the time limit allows.
 *
 * The oracle stage, in this order (the first finding whose composed formula is exact, or within
 * the noise — as good as the surrogate on the test rows, with residuals that are only noise —
 * ends it; one that is neither leaves the next test its turn):
 *  1. Fit the surrogate: width N,H,1 (H = SURROGATE_HIDDEN) at a coarse grid (G = 2) by LM.
 *     Finer grids overfit 1000 rows in several dimensions and give worse derivatives.
 *  2. Power factors: xᵢ·∂f/∂xᵢ = p·f over the points (score ≤ POWER_TOL, or up to
 *     POWER_TOL_MAX for a surrogate of noisy labels, p within POWER_SNAP
 *     of a fraction p/q, q ≤ 3; p = 0 only within POWER_TOL). Every such variable is divided out of the labels — real data,
 *     not the oracle's — and the rest is solved by kan_discover; p = 0 drops a variable that
 *     does not matter.
 *  2b. One monomial: the rows themselves, sorted along u = ∏ xᵢ^pᵢ (pᵢ among 0, ±½, ±1, ±2),
 *     trace one curve plus noise (kan_detect_single_index) no noisier than the surrogate's
 *     error: the problem becomes one of u alone. This is the test that still works when noise
 *     makes the surrogate's derivatives too rough for step 3.
 *  3. Merges: xᵢ and xⱼ enter only through xᵢ·xⱼ^r (monomial) or xᵢ + r·xⱼ (linear), with r
 *     within MERGE_SNAP of a small fraction (score ≤ MERGE_TOL, and within MERGE_REL of the
 *     best pair's score). The kind whose best pair scores lower goes first. The variable with
 *     most partners and all its partners become one column, computed from the real data;
 *     kan_discover solves the rest (and merges again: a distance in three dimensions is three
 *     merges, one per level).
 *  4. Separability: a product f = g(A)·h(B) (first) or a sum g(A) + h(B), from the
 *     finite-step corner tests (score ≤ SEP_TOL across groups, widened with noise up to
 *     SEP_TOL_MAX). Each group's data come from
 *     the oracle with the other variables held at the point where |f| is largest; each part
 *     is solved by kan_discover with the exact tolerance widened to the oracle's error, with
 *     one level of decomposition less; the parts are multiplied (or added), every constant is
 *     refitted by Levenberg–Marquardt on the real train rows, and the result is snapped.
 *    Every composition is made from each part's best formula, then with each of a part's
 *    alternatives (its front) in turn, each refitted on the real rows (compose_emit).
 *  4b. Linearity in one input, f = xᵢ·a(rest) + b(rest) (try_linear): a from the oracle's
 *     slope along xᵢ, b on the real rows; costs a level.
 *  5. For two inputs: a product after a substitution, f = g(xᵢ·xⱼ^r)·h(xⱼ) (the N-slit kernel
 *     sin²(N·δ/2)/sin²(δ/2)), from second differences of log|f| (kan_detect_subst_product,
 *     score ≤ SUBST_TOL); g from the oracle at one xⱼ, h on the real rows divided by g (and,
 *     while nothing is settled, divided by each of up to SUBST_ALTERNATIVES simpler formulas of
 *     g's front: the best g on oracle data may be an imitation that leaves no simple h).
 * Steps 2 and 3 make the problem smaller on the real data, so they do not use up levels;
 * step 4 does (KanDiscoverOptions.decompose). Each decision is a stage: "surrogate",
 * "detect" (scores of what was found), "subproblem" (what a part came back as) and "compose".
 */
#include "kan-decompose.h"
#include "kan-terms.h"
#include "kan-error.h"
#include "kan-formula.h"
#include "kan-lock.h"
#include "kan-noise.h"
#include "kan-symbolic.h"
#include "kan-symfit.h"
#include "kan-train.h"

#include <math.h>
#include <string.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_multifit.h>
#include <gsl/gsl_multifit_nlinear.h>

/* An exponent of a monomial fitted to the data snaps to a fraction when within this of it;
 * exponents and ratios read off the surrogate's derivatives, within the looser bounds. */
#define RATIO_SNAP          0.05
#define POWER_SNAP          0.1
#define MERGE_SNAP          0.15
/* Detector thresholds: scores at or below these count as the property holding. A surrogate
 * of 1000 rows in five or six dimensions is good to about 1e-2 of std(y), and its derivatives
 * are worse: true merges score up to about 0.15 there, the corner tests (which use finite
 * steps) about 5e-3. The thresholds leave room for that; what gets through is checked for
 * exactness on the real data. */
#define POWER_TOL           5e-2
#define POWER_TOL_FACTOR    3.0
#define POWER_TOL_MAX       0.1
/* With noise, power factors scoring up to POWER_TOL_LOOSE (POWER_TOL_ROUGH when the surrogate
 * is rough) are checked on the real rows (at
 * most POWER_VERIFY_MAX of them): kept when a surrogate of the reduced problem is within
 * VERIFY_SHARE of the full surrogate's test RMSE. */
#define POWER_TOL_LOOSE     0.35
#define POWER_TOL_ROUGH     0.75
#define POWER_VERIFY_MAX    5
#define VERIFY_SHARE        1.1
#define MERGE_TOL           0.2
/* A pair merges only when its score is within this factor of the best pair's (floored at
 * MERGE_REL_FLOOR): true merges score alike, and where one pair merges exactly (x1 − x2 in a
 * distance) the others that pass MERGE_TOL are look-alikes of a rough surrogate. */
#define MERGE_REL           10.0
#define MERGE_REL_FLOOR     2e-3
#define SEP_TOL             1e-2
/* With noise, the separability tolerance grows to the surrogate's relative error times
 * SEP_TOL_FACTOR, up to SEP_TOL_MAX (a wrong split only costs time: its composition is
 * judged on the real rows). */
#define SEP_TOL_FACTOR      1.0
#define SEP_TOL_MAX         5e-2
/* The log|y| surrogate is fitted when the rows above the noise floor are at least this share. */
#define LOG_SURROGATE_SHARE 0.8
/* Rows of a reduced problem y/scale with |scale| below this share of its median are left out. */
#define REDUCED_SCALE_FLOOR 0.5
/* The terms stage (kan-terms.h) counts a fit as found within this share of std(y). */
#define TERMS_TOL           1e-7
/* Without an exact fit, a size whose RMSE is at most TERMS_CANDIDATE_MAX·std(y) and below
 * TERMS_IMPROVE times every smaller size's is a candidate. */
#define TERMS_CANDIDATE_MAX 0.2
#define TERMS_IMPROVE       0.8
#define TERMS_CANDIDATES    4
/* … of at most this many terms: under noise, longer sums fit imitations of laws outside the
 * library as well as anything. */
#define TERMS_CANDIDATE_TERMS 3
/* The surrogate network. */
#define SURROGATE_HIDDEN    8
#define SURROGATE_GRID      2
#define SURROGATE_STEPS     100
#define SURROGATE_SEED      1
/* A surrogate whose test RMSE is above this share of std(y) (an oscillating or peaked law that
 * G=2 cannot follow) is refined to each of SURROGATE_FINER in turn, kept while it improves. */
#define SURROGATE_REFINE_ABOVE 0.1
static const int SURROGATE_FINER[] = { 5, 10 };
/* Points the detectors look at (train rows, evenly spread). */
#define N_POINTS            200
/* Central differences step, as a share of each input's range; corner tests' step. */
#define GRAD_STEP           1e-3
#define SEP_STEP            0.25
/* The substituted-product test: its finite-difference step (share of the range), its
 * tolerance, and how small |f| may be (share of max|f|) at a point whose log it takes. */
#define SUBST_STEP          1e-2
#define SUBST_TOL           0.1
#define SUBST_ZERO          1e-3
/* Formulas of g's front tried for h when g's best leaves no exact h (see try_subst). */
#define SUBST_ALTERNATIVES      3
#define SUBST_ALTERNATIVE_SHARE 10.0
/* A part solved on oracle data counts as exact within this many times the oracle's RMSE. */
#define ORACLE_TOL_FACTOR   3.0
/* Shares of the remaining time a reduced problem (steps 2, 3) and all parts of a split
 * (step 4) may use. */
#define REDUCE_TIME_SHARE   0.4
#define SPLIT_TIME_SHARE    0.7
/* Formulas of a part's front (its best first) that the split composes with the other parts. */
#define SPLIT_ALTERNATIVES  6
/* A formula whose test RMSE is at most this times the surrogate's, with residuals a small
 * network cannot explain (kan_discover_residuals_structured), is within the noise: no smooth
 * model of these data does better, and the oracle stage ends there as it does when exact. */
#define NOISE_SHARE         1.01
/* A composed formula with at most this many free constants is settled (kan_noise_snap)
 * before it is polished. */
#define COMPOSED_SETTLE_CONSTANTS 12
/* LM refit of the constants of a composed formula. */
#define REFIT_ITERATIONS    200
/* The same convergence rule as the ladder's LM. */

/* ------------------------------------------------------------------------------------------ */
/* Small fractions                                                                             */

/* The fraction p/q (q ≤ KAN_DECOMPOSE_MAX_DEN, |p/q| ≤ KAN_DECOMPOSE_MAX_POWER) nearest to V,
 * smallest q first, if within TOL. */
static gboolean
snap_ratio (double v, double tol, double *out)
{
  if (!isfinite (v) || fabs (v) > KAN_DECOMPOSE_MAX_POWER + tol)
    return FALSE;
  for (int q = 1; q <= KAN_DECOMPOSE_MAX_DEN; q++)
    {
      double s = round (v * q) / q;
      if (fabs (v - s) <= tol)
        {
          *out = s == 0.0 ? 0.0 : s;
          return TRUE;
        }
    }
  return FALSE;
}

static gboolean
is_integer (double p)
{
  return p == floor (p);
}

/* ------------------------------------------------------------------------------------------ */
/* Monomials                                                                                   */

/* sign(x)^p·|x|^p for integer p, |x|^p otherwise (the caller checked x > 0 then). */
static double
signed_pow (double x, double p)
{
  double v = pow (fabs (x), p);

  if (is_integer (p) && fmod (fabs (p), 2.0) == 1.0 && x < 0)
    v = -v;
  return v;
}

double
kan_monomial_fit (const double *x, int n_in, const double *y, size_t n, double snap_tol,
                  double *power, double *coef)
{
  g_autoptr (GArray) rows = g_array_new (FALSE, FALSE, sizeof (size_t));
  gsl_matrix *A;
  gsl_vector *b, *c, *wt;
  gsl_matrix *cov;
  gsl_multifit_linear_workspace *w;
  double chisq, smm = 0.0, sym = 0.0, ss = 0.0;
  size_t used = 0;
  int status;

  g_return_val_if_fail (n_in >= 1 && x != NULL && y != NULL && power && coef, NAN);
  for (size_t r = 0; r < n; r++)
    {
      gboolean ok = y[r] != 0.0 && isfinite (y[r]);
      for (int i = 0; i < n_in && ok; i++)
        ok = x[r * n_in + i] != 0.0 && isfinite (x[r * n_in + i]);
      if (ok)
        g_array_append_val (rows, r);
    }
  if (rows->len < (guint) n_in + 2)
    return NAN;

  A = gsl_matrix_alloc (rows->len, n_in + 1);
  b = gsl_vector_alloc (rows->len);
  wt = gsl_vector_alloc (rows->len);
  c = gsl_vector_alloc (n_in + 1);
  cov = gsl_matrix_alloc (n_in + 1, n_in + 1);
  w = gsl_multifit_linear_alloc (rows->len, n_in + 1);
  for (guint q = 0; q < rows->len; q++)
    {
      size_t r = g_array_index (rows, size_t, q);
      gsl_matrix_set (A, q, 0, 1.0);
      for (int i = 0; i < n_in; i++)
        gsl_matrix_set (A, q, i + 1, log (fabs (x[r * n_in + i])));
      gsl_vector_set (b, q, log (fabs (y[r])));
      /* Weights y²: a change δ in log|y| is a change of about |y|·δ in y, so this is least
       * squares in y itself to first order; rows whose |y| is down at the noise (where log|y|
       * is mostly noise) count for little. Without noise every weighting gives the same fit. */
      gsl_vector_set (wt, q, y[r] * y[r]);
    }
  status = gsl_multifit_wlinear (A, wt, b, c, cov, &chisq, w);
  for (int i = 0; i < n_in; i++)
    power[i] = gsl_vector_get (c, i + 1);
  gsl_multifit_linear_free (w);
  gsl_matrix_free (cov);
  gsl_vector_free (c);
  gsl_vector_free (b);
  gsl_vector_free (wt);
  gsl_matrix_free (A);
  if (status != GSL_SUCCESS)
    return NAN;

  for (int i = 0; i < n_in; i++)
    {
      if (!snap_ratio (power[i], snap_tol, &power[i]))
        return NAN;
      if (!is_integer (power[i]))
        for (size_t r = 0; r < n; r++)
          if (x[r * n_in + i] <= 0.0)
            return NAN;
    }

  /* C by least squares of y on the signed monomial, over the rows where it is finite. */
  for (size_t r = 0; r < n; r++)
    {
      double m = 1.0;
      for (int i = 0; i < n_in; i++)
        m *= signed_pow (x[r * n_in + i], power[i]);
      if (!isfinite (m))
        return NAN;
      smm += m * m;
      sym += y[r] * m;
    }
  if (!(smm > 0.0))
    return NAN;
  *coef = sym / smm;
  for (size_t r = 0; r < n; r++)
    {
      double m = *coef;
      for (int i = 0; i < n_in; i++)
        m *= signed_pow (x[r * n_in + i], power[i]);
      ss += (y[r] - m) * (y[r] - m);
    }
  used = n;
  return sqrt (ss / MAX (used, 1));
}

KanExpr *
kan_monomial_expr (const double *power, int n_in, double coef)
{
  KanExpr *e = kan_expr_num (coef);

  for (int i = 0; i < n_in; i++)
    {
      KanExpr *f;
      if (power[i] == 0.0)
        continue;
      f = power[i] == 1.0 ? kan_expr_var (i)
                          : kan_expr_binary (KAN_EXPR_POW, kan_expr_var (i),
                                             kan_expr_num (power[i]));
      e = kan_expr_binary (KAN_EXPR_MUL, e, f);
    }
  return e;
}

/* ------------------------------------------------------------------------------------------ */
/* Detectors                                                                                   */

void
kan_oracle_model_eval (gconstpointer model, const double *x, size_t n, double *out)
{
  kan_model_eval (model, x, n, out);
}

/* Step H for variable I at point P (N_IN wide): the point moved inside [lo + h, hi − h]. */
static double
inner (const KanOracle *f, int i, double v, double h)
{
  double lo = f->lo[i] + h, hi = f->hi[i] - h;

  return lo > hi ? 0.5 * (f->lo[i] + f->hi[i]) : CLAMP (v, lo, hi);
}

/* Values and the derivatives along I and J at the points (moved inside the box by the
 * step): F, DI, DJ (N each; DJ may be NULL). CENTRES receives the moved points. */
static void
values_and_grads (const KanOracle *f, const double *pts, size_t n, int i, int j,
                  double *centres, double *fv, double *di, double *dj)
{
  int I = f->n_in, k = dj ? 5 : 3;
  double hi = GRAD_STEP * (f->hi[i] - f->lo[i]);
  double hj = j >= 0 ? GRAD_STEP * (f->hi[j] - f->lo[j]) : 0.0;
  g_autofree double *x = g_new (double, (size_t) k * n * I);
  g_autofree double *y = g_new (double, (size_t) k * n);

  for (size_t p = 0; p < n; p++)
    {
      double *c = centres + p * I;
      memcpy (c, pts + p * I, I * sizeof (double));
      c[i] = inner (f, i, c[i], hi);
      if (dj)
        c[j] = inner (f, j, c[j], hj);
      for (int q = 0; q < k; q++)
        memcpy (x + ((size_t) q * n + p) * I, c, I * sizeof (double));
      x[((size_t) 1 * n + p) * I + i] += hi;
      x[((size_t) 2 * n + p) * I + i] -= hi;
      if (dj)
        {
          x[((size_t) 3 * n + p) * I + j] += hj;
          x[((size_t) 4 * n + p) * I + j] -= hj;
        }
    }
  f->eval (f->data, x, (size_t) k * n, y);
  for (size_t p = 0; p < n; p++)
    {
      fv[p] = y[p];
      di[p] = (y[n + p] - y[2 * n + p]) / (2.0 * hi);
      if (dj)
        dj[p] = (y[3 * n + p] - y[4 * n + p]) / (2.0 * hj);
    }
}

double
kan_detect_power (const KanOracle *f, const double *pts, size_t n, int i, double *power)
{
  g_autofree double *c = g_new (double, n * f->n_in);
  g_autofree double *fv = g_new (double, n), *di = g_new (double, n);
  double stf = 0.0, sff = 0.0, res = 0.0, p;

  g_return_val_if_fail (f != NULL && i >= 0 && i < f->n_in && n > 0, NAN);
  values_and_grads (f, pts, n, i, -1, c, fv, di, NULL);
  for (size_t q = 0; q < n; q++)
    {
      double t = c[q * f->n_in + i] * di[q];
      stf += t * fv[q];
      sff += fv[q] * fv[q];
    }
  if (!(sff > 0.0) || !isfinite (sff))
    return NAN;
  p = stf / sff;
  for (size_t q = 0; q < n; q++)
    {
      double t = c[q * f->n_in + i] * di[q] - p * fv[q];
      res += t * t;
    }
  *power = p;
  return sqrt (res / sff);
}

/* Adds a row (A, B) to the Gram sums G = (Σa², Σab, Σb²). */
static inline void
gram_add (double *g, double a, double b)
{
  g[0] += a * a;
  g[1] += a * b;
  g[2] += b * b;
}

/* The best linear relation b ≈ r·a between two columns, from their Gram sums SAA, SAB, SBB:
 * *RATIO receives r (HUGE_VAL when a ≈ 0 alone), the result is the relative residual
 * sqrt(λmin/λmax) of the 2×2 Gram matrix (NaN when a column is zero or not finite). */
static double
gram_ratio (double saa, double sab, double sbb, double *ratio)
{
  double tr, det, disc, lmin, lmax, u, v;

  if (!(saa > 0.0) || !(sbb > 0.0) || !isfinite (saa + sbb))
    return NAN;
  /* Eigenvalues of the 2×2 Gram matrix; the eigenvector (u, v) of the smaller one is the
   * relation u·a + v·b ≈ 0, i.e. a·r = b with r = −u/v. */
  tr = saa + sbb;
  det = saa * sbb - sab * sab;
  disc = sqrt (MAX (tr * tr / 4.0 - det, 0.0));
  lmax = tr / 2.0 + disc;
  lmin = MAX (tr / 2.0 - disc, 0.0);
  if (fabs (sab) > 0.0)
    {
      u = sab;
      v = lmin - saa;
    }
  else
    {
      u = saa <= sbb ? 1.0 : 0.0;
      v = saa <= sbb ? 0.0 : 1.0;
    }
  /* f = g(xᵢ + r·xⱼ) gives ∂f/∂xⱼ = r·∂f/∂xᵢ, and f = g(xᵢ·xⱼ^r) gives xⱼ·∂f/∂xⱼ =
   * r·xᵢ·∂f/∂xᵢ: in both b = r·a, so r = −u/v. */
  *ratio = v != 0.0 ? -u / v : HUGE_VAL;
  return sqrt (lmin / lmax);
}

double
kan_detect_merge (const KanOracle *f, const double *pts, size_t n, int i, int j, KanMerge kind,
                  double *ratio)
{
  g_autofree double *c = g_new (double, n * f->n_in);
  g_autofree double *fv = g_new (double, n), *di = g_new (double, n), *dj = g_new (double, n);
  double g[3] = { 0.0, 0.0, 0.0 };

  g_return_val_if_fail (f != NULL && i >= 0 && j >= 0 && i != j && i < f->n_in
                        && j < f->n_in && n > 0, NAN);
  values_and_grads (f, pts, n, i, j, c, fv, di, dj);
  for (size_t q = 0; q < n; q++)
    {
      double a = di[q], b = dj[q];
      if (kind == KAN_MERGE_MONOMIAL)
        {
          a *= c[q * f->n_in + i];
          b *= c[q * f->n_in + j];
        }
      gram_add (g, a, b);
    }
  return gram_ratio (g[0], g[1], g[2], ratio);
}

double
kan_detect_subst_product (const KanOracle *f, const double *pts, size_t n, int i, int j,
                          gboolean multiplicative, double *ratio)
{
  int I;
  double hi, hj, g[3] = { 0.0, 0.0, 0.0 }, fmax = 0.0;
  g_autofree double *x = NULL, *y = NULL;
  /* The stencil: centre, ±hᵢ, and the four corners (±hᵢ, ±hⱼ). */
  static const int si[7] = { 0, 1, -1, 1, -1, 1, -1 }, sj[7] = { 0, 0, 0, 1, 1, -1, -1 };

  g_return_val_if_fail (f != NULL && i >= 0 && j >= 0 && i != j && i < f->n_in
                        && j < f->n_in && n > 0 && ratio != NULL, NAN);
  I = f->n_in;
  hi = SUBST_STEP * (f->hi[i] - f->lo[i]);
  hj = SUBST_STEP * (f->hi[j] - f->lo[j]);
  x = g_new (double, 7 * n * I);
  y = g_new (double, 7 * n);
  *ratio = NAN;
  for (size_t p = 0; p < n; p++)
    for (int q = 0; q < 7; q++)
      {
        double *c = x + ((size_t) q * n + p) * I;
        memcpy (c, pts + p * I, I * sizeof (double));
        c[i] = inner (f, i, c[i], hi) + si[q] * hi;
        c[j] = inner (f, j, c[j], hj) + sj[q] * hj;
      }
  f->eval (f->data, x, 7 * n, y);
  for (size_t q = 0; q < 7 * n; q++)
    fmax = MAX (fmax, fabs (y[q]));
  if (!(fmax > 0.0) || !isfinite (fmax))
    return NAN;
  for (size_t p = 0; p < n; p++)
    {
      double L[7], xi = x[p * I + i], xj = x[p * I + j], li, lii, lij, a, b;
      gboolean ok = TRUE;
      for (int q = 0; q < 7; q++)
        {
          double v = y[(size_t) q * n + p];
          /* log|f| needs f away from its zeros: such points are left out. */
          if (multiplicative && !(fabs (v) > SUBST_ZERO * fmax))
            ok = FALSE;
          L[q] = multiplicative ? log (fabs (v)) : v;
        }
      if (!ok)
        continue;
      li = (L[1] - L[2]) / (2.0 * hi);
      lii = (L[1] - 2.0 * L[0] + L[2]) / (hi * hi);
      lij = (L[3] - L[4] - L[5] + L[6]) / (4.0 * hi * hj);
      /* a = Dᵢ(Dᵢ L), b = Dᵢ(Dⱼ L) with Dₖ = xₖ·∂/∂xₖ. */
      a = xi * li + xi * xi * lii;
      b = xi * xj * lij;
      gram_add (g, a, b);
    }
  return gram_ratio (g[0], g[1], g[2], ratio);
}

double
kan_detect_homogeneous (const KanOracle *f, const double *pts, size_t n, int i, int j,
                        double *beta, double *k)
{
  g_autofree double *c = g_new (double, n * f->n_in);
  g_autofree double *fv = g_new (double, n), *di = g_new (double, n), *dj = g_new (double, n);
  double g[9] = { 0 }, lmin, lmax, ua, ub, uf;
  gsl_matrix_view gm = gsl_matrix_view_array (g, 3, 3);
  gsl_vector *eval = gsl_vector_alloc (3);
  gsl_matrix *evec = gsl_matrix_alloc (3, 3);
  gsl_eigen_symmv_workspace *w = gsl_eigen_symmv_alloc (3);

  g_return_val_if_fail (f != NULL && i >= 0 && j >= 0 && i != j && i < f->n_in
                        && j < f->n_in && n > 0 && beta != NULL && k != NULL, NAN);
  *beta = *k = NAN;
  values_and_grads (f, pts, n, i, j, c, fv, di, dj);
  for (size_t q = 0; q < n; q++)
    {
      double v[3] = { c[q * f->n_in + i] * di[q], c[q * f->n_in + j] * dj[q], fv[q] };
      for (int r = 0; r < 3; r++)
        for (int s = 0; s < 3; s++)
          g[r * 3 + s] += v[r] * v[s];
    }
  if (!isfinite (g[0] + g[4] + g[8]) || !(g[0] > 0.0) || !(g[4] > 0.0) || !(g[8] > 0.0))
    {
      gsl_eigen_symmv_free (w);
      gsl_vector_free (eval);
      gsl_matrix_free (evec);
      return NAN;
    }
  gsl_eigen_symmv (&gm.matrix, eval, evec, w);
  gsl_eigen_symmv_sort (eval, evec, GSL_EIGEN_SORT_VAL_ASC);
  lmin = MAX (gsl_vector_get (eval, 0), 0.0);
  lmax = gsl_vector_get (eval, 2);
  ua = gsl_matrix_get (evec, 0, 0);
  ub = gsl_matrix_get (evec, 1, 0);
  uf = gsl_matrix_get (evec, 2, 0);
  gsl_eigen_symmv_free (w);
  gsl_vector_free (eval);
  gsl_matrix_free (evec);
  /* ua·a + ub·b + uf·f = 0 with a = xᵢ∂ᵢf, b = xⱼ∂ⱼf: a + β·b = k·f. */
  if (fabs (ua) > 1e-3 * (fabs (ub) + fabs (uf)))
    {
      *beta = ub / ua;
      *k = -uf / ua;
    }
  return lmax > 0.0 ? sqrt (lmin / lmax) : NAN;
}

double
kan_detect_separable (const KanOracle *f, const double *pts, size_t n, int i, int j,
                      gboolean multiplicative)
{
  int I = f->n_in;
  double hi = SEP_STEP * (f->hi[i] - f->lo[i]), hj = SEP_STEP * (f->hi[j] - f->lo[j]);
  g_autofree double *x = g_new (double, 4 * n * I);
  g_autofree double *y = g_new (double, 4 * n);
  double s = 0.0, m1 = 0.0, m2 = 0.0, norm;

  g_return_val_if_fail (f != NULL && i >= 0 && j >= 0 && i != j && i < I && j < I && n > 0,
                        NAN);
  for (size_t p = 0; p < n; p++)
    for (int q = 0; q < 4; q++)
      {
        double *c = x + ((size_t) q * n + p) * I;
        memcpy (c, pts + p * I, I * sizeof (double));
        c[i] = inner (f, i, c[i], hi) + (q & 1 ? -hi : hi);
        c[j] = inner (f, j, c[j], hj) + (q & 2 ? -hj : hj);
      }
  f->eval (f->data, x, 4 * n, y);
  /* Corners: 0 = (+,+), 1 = (−,+), 2 = (+,−), 3 = (−,−). */
  for (size_t p = 0; p < n; p++)
    {
      double pp = y[p], mp = y[n + p], pm = y[2 * n + p], mm = y[3 * n + p];
      double t = multiplicative ? pp * mm - pm * mp : pp - pm - mp + mm;
      s += t * t;
      for (int q = 0; q < 4; q++)
        {
          m1 += y[q * n + p];
          m2 += y[q * n + p] * y[q * n + p];
        }
    }
  m1 /= 4.0 * n;
  m2 /= 4.0 * n;
  norm = multiplicative ? m2 : MAX (m2 - m1 * m1, 0.0);
  if (!(norm > 0.0) || !isfinite (s))
    return NAN;
  /* rms(t) relative to rms(f)² or to std(f); the four-term stencil has up to 4× the scale. */
  return sqrt (s / n) / (multiplicative ? 2.0 * norm : 4.0 * sqrt (norm));
}

/* kan_detect_single_index: the exponents tried, rows scored for every monomial, and monomials
 * scored again on every row. */
static const double index_powers[] = { 0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5 };
#define INDEX_SCREEN_ROWS   300
#define INDEX_FINALISTS     16
#define INDEX_TIE           1.02

typedef struct
{
  double w, z, v;  /* the monomial, y/s, and 1/s² (the variance of z over that of y) */
} IndexRow;

static int
index_row_cmp (const void *a, const void *b)
{
  double x = ((const IndexRow *) a)->w, y = ((const IndexRow *) b)->w;

  return (x > y) - (x < y);
}

/* The noise of y about s·g(w) over the N rows of LX (log|x|), NEG (x < 0), Y and S (row
 * scales, NULL: 1), subsampled by STRIDE; R is scratch for N rows. Each row's distance to
 * the line through its neighbours, in z = y/s, is divided by its standard deviation in units
 * of the noise of y, so that rows where s is small (z noisy) count as much as the others,
 * not more. */
static double
index_score (const double *power, int n_in, const double *lx, const gboolean *neg,
             const double *y, const double *sc, size_t n, size_t stride, IndexRow *r)
{
  size_t m = 0;
  double lmax = -HUGE_VAL, sum = 0.0;
  size_t used = 0;

  for (size_t q = 0; q < n; q += stride)
    {
      double l = 0.0, s = sc ? sc[q] : 1.0;
      if (!(fabs (s) > 0.0) || !isfinite (s))
        continue;
      for (int i = 0; i < n_in; i++)
        l += power[i] * lx[q * n_in + i];
      r[m].w = l;
      r[m].z = y[q] / s;
      r[m].v = 1.0 / (s * s);
      lmax = MAX (lmax, l);
      m++;
    }
  for (size_t k = 0, q = 0; k < m; q += stride)
    {
      gboolean minus = FALSE;
      double s = sc ? sc[q] : 1.0;
      if (!(fabs (s) > 0.0) || !isfinite (s))
        continue;
      for (int i = 0; i < n_in; i++)
        if (neg[q * n_in + i] && fmod (fabs (power[i]), 2.0) == 1.0)
          minus = !minus;
      /* Scaled to at most 1 in size: the order and the neighbours' shares do not change. */
      r[k].w = (minus ? -1.0 : 1.0) * exp (r[k].w - lmax);
      k++;
    }
  qsort (r, m, sizeof (IndexRow), index_row_cmp);
  for (size_t k = 1; k + 1 < m; k++)
    {
      double span = r[k + 1].w - r[k - 1].w, a, b, e;
      if (!(span > 0.0))
        continue;
      a = (r[k + 1].w - r[k].w) / span;
      b = 1.0 - a;
      e = a * r[k - 1].z + b * r[k + 1].z - r[k].z;
      sum += e * e / (a * a * r[k - 1].v + b * b * r[k + 1].v + r[k].v);
      used++;
    }
  return used >= 8 ? sqrt (sum / used) : NAN;
}

/* Simpler first: fewer inputs, then integer exponents, then smaller ones. */
static double
index_cost (const double *power, int n_in)
{
  double c = 0.0;

  for (int i = 0; i < n_in; i++)
    if (power[i] != 0.0)
      c += 100.0 + (is_integer (power[i]) ? 0.0 : 10.0) + fabs (power[i]);
  return c;
}

typedef struct
{
  double score, cost;
  double power[KAN_INDEX_MAX_INPUTS];
} IndexTry;

static int
index_try_cmp (const void *a, const void *b)
{
  double x = ((const IndexTry *) a)->score, y = ((const IndexTry *) b)->score;

  return (x > y) - (x < y);
}

double
kan_detect_single_index (const double *x, int n_in, const double *y, const double *scale,
                         size_t n, const gboolean *positive, GCancellable *cancellable,
                         double *power)
{
  int K = G_N_ELEMENTS (index_powers);
  g_autofree double *lx = NULL;
  g_autofree gboolean *neg = NULL, *zero = NULL;
  g_autofree IndexRow *r = NULL;
  g_autoptr (GArray) tries = NULL;
  size_t stride = MAX (n / INDEX_SCREEN_ROWS, 1);
  double best = NAN, best_cost = HUGE_VAL;
  int digit[KAN_INDEX_MAX_INPUTS];
  guint tried = 0;

  memset (power, 0, n_in * sizeof (double));
  if (n_in < 1 || n_in > KAN_INDEX_MAX_INPUTS || n < 16)
    return NAN;
  lx = g_new (double, n * n_in);
  neg = g_new (gboolean, n * n_in);
  zero = g_new0 (gboolean, n_in);
  for (size_t q = 0; q < n * n_in; q++)
    {
      lx[q] = log (fabs (x[q]));
      neg[q] = x[q] < 0.0;
      if (!isfinite (lx[q]))
        zero[q % n_in] = TRUE;
    }
  r = g_new (IndexRow, n);
  tries = g_array_new (FALSE, FALSE, sizeof (IndexTry));

  /* Every exponent vector, as digits into index_powers; the first nonzero exponent is 1. */
  for (int root = 0; root < n_in; root++)
    {
      if (zero[root])
        continue;
      for (int i = 0; i < n_in; i++)
        digit[i] = 0;
      for (;;)
        {
          IndexTry t = { 0 };
          gboolean ok = TRUE;
          t.power[root] = 1.0;
          for (int i = root + 1; i < n_in; i++)
            {
              double p = index_powers[digit[i]];
              t.power[i] = p;
              if (p != 0.0 && (zero[i] || (!is_integer (p) && !positive[i])))
                ok = FALSE;
            }
          if (ok && (++tried & 255) == 0 && g_cancellable_is_cancelled (cancellable))
            return NAN;
          if (ok)
            {
              t.score = index_score (t.power, n_in, lx, neg, y, scale, n, stride, r);
              t.cost = index_cost (t.power, n_in);
              if (isfinite (t.score))
                g_array_append_val (tries, t);
            }
          /* The next vector. */
          int i = n_in - 1;
          while (i > root && ++digit[i] == K)
            digit[i--] = 0;
          if (i <= root)
            break;
        }
    }
  if (tries->len == 0)
    return NAN;
  /* The finalists, scored again on every row. */
  qsort (tries->data, tries->len, sizeof (IndexTry), index_try_cmp);
  g_array_set_size (tries, MIN (tries->len, INDEX_FINALISTS));
  for (guint k = 0; k < tries->len; k++)
    {
      IndexTry *t = &g_array_index (tries, IndexTry, k);
      t->score = stride > 1 ? index_score (t->power, n_in, lx, neg, y, scale, n, 1, r)
                            : t->score;
    }
  qsort (tries->data, tries->len, sizeof (IndexTry), index_try_cmp);
  for (guint k = 0; k < tries->len; k++)
    {
      const IndexTry *t = &g_array_index (tries, IndexTry, k);
      if (!isfinite (t->score))
        continue;
      if (isnan (best))
        best = t->score;
      if (t->score <= INDEX_TIE * best && t->cost < best_cost)
        {
          best_cost = t->cost;
          memcpy (power, t->power, n_in * sizeof (double));
        }
    }
  return best;
}

/* ------------------------------------------------------------------------------------------ */
/* Results and stages                                                                          */

void
kan_decompose_formula_free (KanDecomposeFormula *f)
{
  if (f == NULL)
    return;
  kan_expr_free (f->expr);
  g_free (f->width);
  g_free (f->lock);
  kan_model_free (f->model);
  g_free (f);
}

/* A surrogate of log|y| on inputs of which the positive ones enter as logarithms: products
 * of powers, the bulk of the laws of physics, become sums there, which a small network fits
 * far better than the products themselves. Its oracle is sign·exp(network). */
typedef struct
{
  KanModel *model;
  int       n_in;
  gboolean *log_x;   /* N_IN: input i enters as log xᵢ */
  double    sign;    /* the sign every label has */
  double    lo, hi;  /* the network's output is clamped to these (log|y| of the labels ± 1):
                      * exp of an extrapolating spline is no oracle */
} LogSurrogate;

static void
log_surrogate_free (LogSurrogate *s)
{
  if (s == NULL)
    return;
  kan_model_free (s->model);
  g_free (s->log_x);
  g_free (s);
}

/* The inputs of S for N rows of X. */
static double *
log_surrogate_inputs (const LogSurrogate *s, const double *x, size_t n)
{
  double *t = g_new (double, MAX (n * s->n_in, 1));

  for (size_t q = 0; q < n * s->n_in; q++)
    t[q] = s->log_x[q % s->n_in] ? log (x[q]) : x[q];
  return t;
}

static void
log_surrogate_eval (gconstpointer data, const double *x, size_t n, double *out)
{
  const LogSurrogate *s = data;
  g_autofree double *t = log_surrogate_inputs (s, x, n);

  kan_model_eval (s->model, t, n, out);
  for (size_t q = 0; q < n; q++)
    out[q] = s->sign * exp (CLAMP (out[q], s->lo, s->hi));
}

typedef struct
{
  const KanDataset         *d;        /* raw: inputs and labels in their own units */
  const KanDiscoverOptions *o;
  GPtrArray                *stages;
  GPtrArray                *formulas;
  GTimer                   *timer;
  double                    seconds;  /* budget, 0: none */
  double                    y_std;
  KanModel                 *surrogate;
  double                    surrogate_rmse;
  LogSurrogate             *log_oracle;  /* the oracle when it beat SURROGATE (else NULL) */
  gboolean                  exact;
  gboolean                  within_noise;  /* a formula fits as well as the surrogate */
} Ctx;

/* Whether the oracle stage is over: a formula is exact, or within the noise. */
static gboolean
settled (const Ctx *c)
{
  return c->exact || c->within_noise;
}

static double
std_of (const double *y, size_t n)
{
  double mu = 0.0, ss = 0.0;

  for (size_t q = 0; q < n; q++)
    mu += y[q];
  mu /= MAX (n, 1);
  for (size_t q = 0; q < n; q++)
    ss += (y[q] - mu) * (y[q] - mu);
  return n > 1 ? sqrt (ss / (n - 1)) : 0.0;
}

static void
add_stage (Ctx *c, const char *stage, const char *width, const char *detail, double train,
           double test, double t0)
{
  KanDiscoverStage *st = g_new0 (KanDiscoverStage, 1);

  st->stage = g_strdup (stage);
  st->width = g_strdup (width);
  st->detail = g_strdup (detail);
  st->train_rmse = train;
  st->test_rmse = test;
  st->seconds = g_timer_elapsed (c->timer, NULL) - t0;
  g_ptr_array_add (c->stages, st);
}

static double
expr_rmse (const KanExpr *e, const KanDataset *d, gboolean test)
{
  return test ? (d->n_test ? kan_expr_rmse (e, d->test_x, d->n_in, d->test_y, 1, d->n_test)
                           : NAN)
              : kan_expr_rmse (e, d->train_x, d->n_in, d->train_y, 1, d->n_train);
}

static gboolean
time_left (const Ctx *c, double *left)
{
  *left = c->seconds > 0 ? c->seconds - g_timer_elapsed (c->timer, NULL) : 0.0;
  return c->seconds <= 0 || *left > 0.0;
}

static gboolean
check_cancel (const Ctx *c, GError **error)
{
  if (g_cancellable_is_cancelled (c->o->cancellable))
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_CANCELLED, "discover was stopped");
      return TRUE;
    }
  return FALSE;
}

/* Keeps E (taken) as a formula of the stage. */
static void
emit (Ctx *c, KanExpr *e, const char *width, const char *lock, KanModel *model)
{
  KanDecomposeFormula *f = g_new0 (KanDecomposeFormula, 1);
  /* Judged as kan_discover judges: on the test rows if there are any. */
  double r = expr_rmse (e, c->d, c->d->n_test > 0);

  f->expr = e;
  f->width = g_strdup (width);
  f->lock = g_strdup (lock);
  f->model = model;
  if (isfinite (r) && r <= c->o->exact_tol * MAX (c->y_std, G_MINDOUBLE))
    c->exact = TRUE;
  /* The residual test needs its 8 test rows; a cancelled one proves nothing. */
  else if (c->surrogate != NULL && !c->within_noise && c->d->n_test >= 8
           && r <= NOISE_SHARE * c->surrogate_rmse
           && !kan_discover_residuals_structured (e, c->d->n_in, c->d->train_x, c->d->train_y,
                                                  c->d->n_train, c->d->test_x, c->d->test_y,
                                                  c->d->n_test, c->o->cancellable)
           && !g_cancellable_is_cancelled (c->o->cancellable))
    c->within_noise = TRUE;
  g_ptr_array_add (c->formulas, f);
}

static gboolean train_lm (KanModel *m, const KanDataset *d, int steps, gboolean update_grid,
                          GCancellable *cancellable, GError **error);

static gboolean train_lm (KanModel *m, const KanDataset *d, int steps, gboolean update_grid,
                          GCancellable *cancellable, GError **error);

/* ------------------------------------------------------------------------------------------ */
/* The monomial stage                                                                          */

/* The library function computing x^p, or −1. */
static int
power_sym (double p)
{
  static const struct { double p; const char *name; } powers[] = {
    { 1, "x" }, { 2, "x^2" }, { 3, "x^3" }, { 4, "x^4" }, { 5, "x^5" },
    { -1, "1/x" }, { -2, "1/x^2" }, { -3, "1/x^3" }, { -4, "1/x^4" }, { -5, "1/x^5" },
    { 0.5, "sqrt" }, { 1.5, "x^1.5" }, { -0.5, "1/sqrt(x)" },
  };

  for (guint q = 0; q < G_N_ELEMENTS (powers); q++)
    if (powers[q].p == p)
      return kan_sym_lookup (powers[q].name);
  return -1;
}

/* A locked network computing C·Π xᵢ^pᵢ: one multiplication node of arity N_IN fed by one
 * power edge per input (a constant 1 for exponent 0), then C·x. NULL when an exponent is not
 * a library power or the network does not reproduce the monomial on D's rows. */
static KanModel *
monomial_model (const double *power, int n_in, double coef, const KanDataset *d)
{
  g_autofree char *width = g_strdup_printf ("%d,[0,1],1", n_in);
  g_autofree char *arity = g_strdup_printf ("%d", n_in);
  g_autoptr (KanShape) sh = NULL;
  g_autoptr (KanExpr) e = NULL;
  g_autofree double *out = NULL;
  KanModelConfig cfg;
  KanModel *m;
  size_t n = MIN (d->n_train, 64);

  if (n_in == 1)
    {
      g_free (width);
      width = g_strdup ("1,1");
    }
  sh = kan_shape_parse (width, n_in == 1 ? NULL : arity, NULL);
  if (sh == NULL)
    return NULL;
  kan_model_config_init (&cfg);
  cfg.shape = sh;
  m = kan_model_new (&cfg, NULL);
  if (m == NULL)
    return NULL;
  if (n_in == 1)
    {
      double abcd[4] = { 1.0, 0.0, coef, 0.0 };
      if (power_sym (power[0]) < 0)
        {
          kan_model_free (m);
          return NULL;
        }
      kan_model_set_edge (m, 0, 0, 0, KAN_EDGE_SYMBOLIC, power_sym (power[0]), abcd);
    }
  for (int i = 0; i < n_in && n_in > 1; i++)
    for (int j = 0; j < n_in; j++)
      {
        int id = power[i] == 0.0 ? kan_sym_lookup ("x") : power_sym (power[i]);
        double one[4] = { 0.0, 1.0, 1.0, 0.0 }, unit[4] = { 1.0, 0.0, 1.0, 0.0 };
        if (i != j)
          kan_model_set_edge (m, 0, i, j, KAN_EDGE_OFF, 0, NULL);
        else if (id < 0)
          {
            kan_model_free (m);
            return NULL;
          }
        else
          kan_model_set_edge (m, 0, i, j, KAN_EDGE_SYMBOLIC, id,
                              power[i] == 0.0 ? one : unit);
      }
  if (n_in > 1)
    {
      double abcd[4] = { 1.0, 0.0, coef, 0.0 };
      kan_model_set_edge (m, 1, 0, 0, KAN_EDGE_SYMBOLIC, kan_sym_lookup ("x"), abcd);
    }
  e = kan_monomial_expr (power, n_in, coef);
  out = g_new (double, MAX (n, 1));
  kan_model_eval (m, d->train_x, n, out);
  for (size_t r = 0; r < n; r++)
    {
      double want = kan_expr_eval (e, d->train_x + r * n_in);
      if (!(fabs (out[r] - want) <= 1e-9 * MAX (1.0, fabs (want))))
        {
          kan_model_free (m);
          return NULL;
        }
    }
  return m;
}

/* The ladder's first width N,1 fitted to RAW by LM: the network behind a formula that has no
 * locked one. FALSE only on error (cancellation). */
static gboolean
first_width_fitted (const KanDataset *raw, const KanDiscoverOptions *o, KanModel **out,
                    GError **error)
{
  g_autofree char *w = g_strdup_printf ("%d,1", raw->n_in);
  g_autoptr (KanShape) sh = kan_shape_parse (w, NULL, NULL);
  KanModelConfig cfg;

  kan_model_config_init (&cfg);
  cfg.shape = sh;
  *out = kan_model_new (&cfg, NULL);
  if (*out && !train_lm (*out, raw, SURROGATE_STEPS, TRUE, o->cancellable, error))
    {
      kan_model_free (*out);
      *out = NULL;
      return FALSE;
    }
  return TRUE;
}

/* Sets up C for a stage on the data RAW (the monomial and binomial stages); FALSE, with nothing
 * to free, when the search was cancelled. */
static gboolean
data_stage_begin (Ctx *c, const KanDataset *raw, const KanDiscoverOptions *o, GPtrArray *stages,
                  GPtrArray *formulas, GError **error)
{
  c->d = raw;
  c->o = o;
  c->stages = stages;
  c->formulas = formulas;
  c->timer = g_timer_new ();
  c->y_std = std_of (raw->train_y, raw->n_train);
  if (check_cancel (c, error))
    {
      g_timer_destroy (c->timer);
      return FALSE;
    }
  return TRUE;
}

/* The formula E (owned) of the stage NAME: its stage line with DETAIL, then the formula with
 * network M, or when M is NULL the first width fitted to the data. FALSE only on error. */
static gboolean
stage_formula (Ctx *c, const char *name, KanExpr *e, const char *detail, KanModel *m,
               GError **error)
{
  if (m == NULL && !first_width_fitted (c->d, c->o, &m, error))
    {
      kan_expr_free (e);
      return FALSE;
    }
  add_stage (c, name, name, detail, expr_rmse (e, c->d, FALSE), expr_rmse (e, c->d, TRUE), 0.0);
  emit (c, e, name, name, m);
  return TRUE;
}

gboolean
kan_decompose_monomial (const KanDataset *raw, const KanDiscoverOptions *o, GPtrArray *stages,
                        GPtrArray *formulas, GError **error)
{
  Ctx c = { 0 };
  g_autofree double *power = g_new0 (double, MAX (raw->n_in, 1));
  g_autofree char *detail = NULL;
  double coef = 0.0, rmse;

  if (!data_stage_begin (&c, raw, o, stages, formulas, error))
    return FALSE;
  rmse = kan_monomial_fit (raw->train_x, raw->n_in, raw->train_y, raw->n_train, RATIO_SNAP,
                           power, &coef);
  if (isfinite (rmse))
    {
      KanExpr *e = kan_expr_simplify (kan_monomial_expr (power, raw->n_in, coef));
      KanModel *m;
      g_autofree char *text = NULL;

      e = kan_discover_polish (e, raw, o->exact_tol);
      text = kan_expr_to_string (e, (const char *const *) raw->in_names, KAN_EXPR_STYLE_TEXT);
      detail = g_strdup_printf ("%s", text);
      /* A formula that is not exact is still a candidate (simple, maybe within the noise).
       * Its network, for -o and the GUI: the locked monomial, or when an exponent is not a
       * library power, the first width of the ladder fitted to the data. */
      m = monomial_model (power, raw->n_in, coef, raw);
      if (!stage_formula (&c, "monomial", e, detail, m, error))
        {
          g_timer_destroy (c.timer);
          return FALSE;
        }
    }
  else
    add_stage (&c, "monomial", "monomial", "no monomial fits", NAN, NAN, 0.0);
  g_timer_destroy (c.timer);
  return TRUE;
}

gboolean
kan_decompose_terms (const KanDataset *raw, const KanDiscoverOptions *o, GPtrArray *stages,
                     GPtrArray *formulas, GPtrArray *held, GError **error)
{
  Ctx c = { 0 };
  g_autofree KanTermsFront *front = g_new0 (KanTermsFront, 1);
  g_autoptr (KanModel) net = NULL;
  double t0;
  int exact, emitted = 0;
  gboolean ok = TRUE;

  if (!data_stage_begin (&c, raw, o, stages, formulas, error))
    return FALSE;
  t0 = g_timer_elapsed (c.timer, NULL);
  exact = kan_terms_front (raw->train_x, raw->n_in, raw->train_y, raw->n_train, raw->test_x,
                           raw->n_test, TERMS_TOL, o->cancellable, front);
  /* Exact: the fits of that many terms within the tolerance. Otherwise (noisy labels, or a
   * law outside the library), for each transform, each size up to TERMS_CANDIDATE_TERMS whose
   * best fit explains all but
   * TERMS_CANDIDATE_MAX of std(y) and improves on the smaller sizes by TERMS_IMPROVE gives a
   * candidate, and the TERMS_CANDIDATES most accurate of those (each costs a polish) join the
   * front, which judges them against the noise with everything else. */
  {
    KanTermsFit *pick[KAN_TERMS_N_TRANSFORMS * KAN_TERMS_MAX_TERMS];
    int n_pick = 0;

    for (int tr = 0; tr < KAN_TERMS_N_TRANSFORMS; tr++)
      {
        double last = HUGE_VAL;
        for (int k = exact ? exact : 1; k <= (exact ? exact : TERMS_CANDIDATE_TERMS); k++)
          {
            KanTermsFit *best = &front->fit[tr][k - 1];
            if (best->expr == NULL
                || (exact ? !(best->rel_rmse <= TERMS_TOL)
                          : !(best->rel_rmse <= TERMS_CANDIDATE_MAX
                              && best->rel_rmse < TERMS_IMPROVE * last)))
              continue;
            last = best->rel_rmse;
            pick[n_pick++] = best;
          }
      }
    /* Most accurate first. */
    for (int a = 1; a < n_pick; a++)
      for (int b = a; b > 0 && pick[b]->rel_rmse < pick[b - 1]->rel_rmse; b--)
        {
          KanTermsFit *tmp = pick[b];
          pick[b] = pick[b - 1];
          pick[b - 1] = tmp;
        }
    for (int q = 0; q < MIN (n_pick, exact ? 1 : TERMS_CANDIDATES) && ok; q++)
      {
        KanTermsFit *f = pick[q];
        KanExpr *e = kan_discover_polish (kan_expr_simplify (g_steal_pointer (&f->expr)), raw,
                                          o->exact_tol);
        g_autofree char *text = kan_expr_to_string (e, (const char *const *) raw->in_names,
                                                    KAN_EXPR_STYLE_TEXT);
        g_autofree char *detail = g_strdup_printf ("%s%s: %s", f->what,
                                                   exact ? "" : " (a candidate)", text);

        /* One network, fitted once, stands behind every formula of the stage. */
        if (net == NULL && !first_width_fitted (raw, o, &net, error))
          {
            kan_expr_free (e);
            ok = FALSE;
            break;
          }
        if (exact && held)
          {
            /* Its stage line now, the formula when the caller's turn comes. */
            GPtrArray *mine = c.formulas;
            c.formulas = held;
            ok = stage_formula (&c, "terms", e, detail, kan_model_copy (net), error);
            c.formulas = mine;
          }
        else
          ok = stage_formula (&c, "terms", e, detail, kan_model_copy (net), error);
        emitted++;
      }
  }
  kan_terms_front_clear (front);
  if (ok && emitted == 0)
    add_stage (&c, "terms", "terms", "no short sum of terms fits", NAN, NAN, t0);
  g_timer_destroy (c.timer);
  return ok && !check_cancel (&c, error);
}

/* ------------------------------------------------------------------------------------------ */
/* Composing                                                                                   */

KanExpr *
kan_decompose_subst (const KanExpr *e, KanExpr *const *map)
{
  KanExpr *r;

  if (e == NULL)
    return NULL;
  if (e->kind == KAN_EXPR_VAR)
    return kan_expr_copy (map[e->var]);
  r = kan_expr_copy (e);
  kan_expr_free (r->a);
  kan_expr_free (r->b);
  r->a = kan_decompose_subst (e->a, map);
  r->b = kan_decompose_subst (e->b, map);
  return r;
}

/* The constants an LM refit may move: every number except exponents. */
static void
collect_constants (KanExpr *e, GPtrArray *out)
{
  if (e == NULL)
    return;
  if (e->kind == KAN_EXPR_NUM)
    {
      g_ptr_array_add (out, e);
      return;
    }
  collect_constants (e->a, out);
  if (e->kind != KAN_EXPR_POW || e->b->kind != KAN_EXPR_NUM)
    collect_constants (e->b, out);
}

typedef struct
{
  KanExpr          *e;
  GPtrArray        *nums;
  const KanDataset *d;
  double           *buf;
} Refit;

static int
refit_f (const gsl_vector *p, void *data, gsl_vector *f)
{
  Refit *r = data;
  const KanDataset *d = r->d;

  for (guint k = 0; k < r->nums->len; k++)
    ((KanExpr *) r->nums->pdata[k])->value = gsl_vector_get (p, k);
  kan_expr_eval_rows (r->e, d->train_x, d->n_train, d->n_in, r->buf);
  for (size_t q = 0; q < d->n_train; q++)
    {
      double v = r->buf[q] - d->train_y[q];
      /* Steer away from where the formula is not defined. */
      gsl_vector_set (f, q, isfinite (v) ? v : 1e10);
    }
  return GSL_SUCCESS;
}

/* Refits the constants of E (in place) on D's train rows by Levenberg–Marquardt; keeps the
 * new values only if they lower the train RMSE. */
static void
refit_constants (KanExpr *e, const KanDataset *d)
{
  g_autoptr (GPtrArray) nums = g_ptr_array_new ();
  g_autofree double *start = NULL, *buf = NULL;
  gsl_multifit_nlinear_fdf fdf = { 0 };
  gsl_multifit_nlinear_parameters fp = gsl_multifit_nlinear_default_parameters ();
  gsl_multifit_nlinear_workspace *w;
  gsl_vector *p0;
  Refit r;
  double before, after;
  int info;
  size_t np;

  collect_constants (e, nums);
  np = nums->len;
  if (np == 0 || d->n_train <= np)
    return;
  start = g_new (double, np);
  for (size_t k = 0; k < np; k++)
    start[k] = ((KanExpr *) nums->pdata[k])->value;
  before = kan_expr_rmse (e, d->train_x, d->n_in, d->train_y, 1, d->n_train);
  buf = g_new (double, d->n_train);
  r = (Refit) { e, nums, d, buf };
  fdf.f = refit_f;
  fdf.n = d->n_train;
  fdf.p = np;
  fdf.params = &r;
  w = gsl_multifit_nlinear_alloc (gsl_multifit_nlinear_trust, &fp, d->n_train, np);
  p0 = gsl_vector_alloc (np);
  for (size_t k = 0; k < np; k++)
    gsl_vector_set (p0, k, start[k]);
  if (gsl_multifit_nlinear_init (p0, &fdf, w) == GSL_SUCCESS)
    gsl_multifit_nlinear_driver (REFIT_ITERATIONS, 1e-14, 1e-14, 1e-15, NULL, NULL, &info, w);
  {
    gsl_vector *x = gsl_multifit_nlinear_position (w);
    for (size_t k = 0; k < np; k++)
      ((KanExpr *) nums->pdata[k])->value = gsl_vector_get (x, k);
  }
  after = kan_expr_rmse (e, d->train_x, d->n_in, d->train_y, 1, d->n_train);
  if (!(after <= before) && isfinite (before))
    for (size_t k = 0; k < np; k++)
      ((KanExpr *) nums->pdata[k])->value = start[k];
  gsl_vector_free (p0);
  gsl_multifit_nlinear_free (w);
}

/* ------------------------------------------------------------------------------------------ */
/* The binomial stage (one input)                                                              */

/* y = C·x^q·(1 + s·x^r)^p + D over the grid of exponents below, s searched on a log grid and
 * C, D by linear least squares: shifted and scaled powers such as 1/sqrt(1 − u), (1 + x)^2,
 * x/sqrt(1 − x²) (a relativistic factor after its homogeneity split), which a ladder of one
 * input only reaches through two or three locked edges, if at all. */
static const double binom_q[] = { 0, 1, -1, 2 };
static const double offset_powers[] = { 1, 2, -1, -2, 0.5 };
/* … only where "exact" means something: a part judged on a noisy oracle has tolerances of
 * several percent, within which a line imitates most curves. */
#define OFFSET_EXACT_MAX 1e-2
static const double binom_r[] = { 1, 2 };
static const double binom_p[] = { -0.5, 0.5, -1, -2, 2, -1.5, 1.5, 1.0 / 3, -1.0 / 3, 3, -3 };
#define BINOM_S_STEPS   41     /* log-spaced |s| from 1e-2 to 1e2 over max|x|^r, each sign */
#define BINOM_ROWS      256    /* rows the grid search uses (all rows for the refit) */
#define BINOM_MIN_SPAN  1e-2   /* below this, the base hardly varies: degenerate (see below) */
#define BINOM_GOLDEN    0.6180339887498949
#define BINOM_GOLDEN_STEPS 40

/* The least-squares C, D of y ≈ C·φ + D and its RMSE; HUGE_VAL when φ is not finite or flat. */
static double
binom_ls (const double *phi, const double *y, size_t n, double *c, double *d)
{
  double sp = 0, sy = 0, spp = 0, spy = 0, det, ss = 0;

  for (size_t r = 0; r < n; r++)
    {
      if (!isfinite (phi[r]))
        return HUGE_VAL;
      sp += phi[r];
      sy += y[r];
      spp += phi[r] * phi[r];
      spy += phi[r] * y[r];
    }
  det = n * spp - sp * sp;
  if (!(det > 1e-12 * n * spp))
    return HUGE_VAL;
  *c = (n * spy - sp * sy) / det;
  *d = (sy - *c * sp) / n;
  for (size_t r = 0; r < n; r++)
    {
      double e = *c * phi[r] + *d - y[r];
      ss += e * e;
    }
  return sqrt (ss / n);
}

static double
binom_phi (double x, double q, double r, double p, double s)
{
  double base = 1.0 + s * (r == 2 ? x * x : x);
  double xq = q == 0 ? 1.0 : q == 1 ? x : q == -1 ? 1.0 / x : x * x;

  if (base <= 0.0 && p != floor (p))
    return NAN;
  return xq * pow (base, p);
}

/* Grid point K of s: sign by parity, |s| log-spaced over 1/XMAX. */
static double
binom_s (int k, double xmax)
{
  return (k % 2 ? -1.0 : 1.0) * pow (10.0, -2.0 + 4.0 * (k / 2) / (BINOM_S_STEPS - 1)) / xmax;
}

/* The RMSE of the best C, D for (q, r, p, s) on N rows (PHI: scratch). */
static double
binom_at (const double *x, const double *y, size_t n, double q, double r, double p, double s,
          double *phi, double *c, double *d)
{
  for (size_t row = 0; row < n; row++)
    phi[row] = binom_phi (x[row], q, r, p, s);
  return binom_ls (phi, y, n, c, d);
}

static KanExpr *
binom_expr (double q, double r, double p, double s, double c, double d)
{
  KanExpr *xr = r == 1 ? kan_expr_var (0)
                       : kan_expr_binary (KAN_EXPR_POW, kan_expr_var (0), kan_expr_num (r));
  KanExpr *base = kan_expr_binary (KAN_EXPR_ADD, kan_expr_num (1.0),
                                   kan_expr_binary (KAN_EXPR_MUL, kan_expr_num (s), xr));
  KanExpr *e = kan_expr_binary (KAN_EXPR_MUL, kan_expr_num (c),
                                kan_expr_binary (KAN_EXPR_POW, base, kan_expr_num (p)));

  if (q != 0)
    e = kan_expr_binary (KAN_EXPR_MUL, e,
                         q == 1 ? kan_expr_var (0)
                                : kan_expr_binary (KAN_EXPR_POW, kan_expr_var (0),
                                                   kan_expr_num (q)));
  return kan_expr_binary (KAN_EXPR_ADD, e, kan_expr_num (d));
}

/* How much the base a + s·x^r of E (as binom_expr built it, constants refitted) varies over
 * D's train rows, relative to a: |s|·max|x^r| / |a|. */
static double
binom_span (const KanExpr *e, double q, double r, const KanDataset *d)
{
  const KanExpr *mul = e->a, *pw = q != 0 ? mul->a->b : mul->b, *base = pw->a;
  double a = base->a->value, sv = base->b->a->value, xmax = 0.0;

  for (size_t row = 0; row < d->n_train; row++)
    xmax = MAX (xmax, pow (fabs (d->train_x[row]), r));
  return fabs (sv) * xmax / MAX (fabs (a), G_MINDOUBLE);
}

gboolean
kan_decompose_binomial (const KanDataset *raw, const KanDiscoverOptions *o, GPtrArray *stages,
                        GPtrArray *formulas, GError **error)
{
  Ctx c = { 0 };
  size_t n = MIN (raw->n_train, BINOM_ROWS);
  g_autofree double *phi = g_new (double, MAX (n, 1));
  double best = HUGE_VAL, bq = 0, br = 0, bp = 0, bs = 0, bc = 0, bd = 0;
  const double *x = raw->train_x, *y = raw->train_y;

  g_return_val_if_fail (raw->n_in == 1, FALSE);
  if (!data_stage_begin (&c, raw, o, stages, formulas, error))
    return FALSE;
  /* C·x^q + D alone, when exact (within the exact tolerance, which for a part judged on
   * oracle data is the oracle's error): a part that is linear in its input (I_0 in I_0·g(…))
   * must not wait behind a flexible imitation that the later stages meet first. The first
   * of OFFSET_POWERS that is exact is a formula of the stage. */
  for (guint iq = 0; iq < G_N_ELEMENTS (offset_powers); iq++)
    {
      double cc, dd, e;
      for (size_t k = 0; k < n; k++)
        phi[k] = pow (x[k], offset_powers[iq]);
      e = binom_ls (phi, y, n, &cc, &dd);
      if (o->exact_tol <= OFFSET_EXACT_MAX && e <= o->exact_tol * MAX (c.y_std, G_MINDOUBLE))
        {
          KanExpr *f = kan_expr_binary (KAN_EXPR_ADD, kan_expr_binary (KAN_EXPR_MUL,
                                        kan_expr_num (cc), offset_powers[iq] == 1.0
                                        ? kan_expr_var (0)
                                        : kan_expr_binary (KAN_EXPR_POW, kan_expr_var (0),
                                                           kan_expr_num (offset_powers[iq]))),
                                        kan_expr_num (dd));
          g_autofree char *text = NULL;
          gboolean ok;
          refit_constants (f, raw);
          f = kan_discover_polish (kan_expr_simplify (f), raw, o->exact_tol);
          text = kan_expr_to_string (f, (const char *const *) raw->in_names,
                                     KAN_EXPR_STYLE_TEXT);
          ok = stage_formula (&c, "binomial", f, text, NULL, error);
          g_timer_destroy (c.timer);
          return ok;
        }
    }
  for (guint iq = 0; iq < G_N_ELEMENTS (binom_q); iq++)
    for (guint ir = 0; ir < G_N_ELEMENTS (binom_r); ir++)
      {
        double q = binom_q[iq], r = binom_r[ir], xmax = 0.0;
        for (size_t k = 0; k < n; k++)
          xmax = MAX (xmax, pow (fabs (x[k]), r));
        if (!(xmax > 0.0))
          continue;
        for (guint ip = 0; ip < G_N_ELEMENTS (binom_p); ip++)
          {
            double p = binom_p[ip], e_best = HUGE_VAL, cc, dd;
            int k_best = -1;
            for (int k = 0; k < 2 * BINOM_S_STEPS; k++)
              {
                double e = binom_at (x, y, n, q, r, p, binom_s (k, xmax), phi, &cc, &dd);
                if (e < e_best)
                  e_best = e, k_best = k;
              }
            if (k_best < 0)
              continue;
            /* Golden-section search in log|s| between the grid neighbours of the best. */
            {
              double sign = k_best % 2 ? -1.0 : 1.0, lo, hi, a, b, fa, fb;
              int j = k_best / 2;
              lo = log (fabs (binom_s (2 * MAX (j - 1, 0), xmax)));
              hi = log (fabs (binom_s (2 * MIN (j + 1, BINOM_S_STEPS - 1), xmax)));
              a = hi - BINOM_GOLDEN * (hi - lo);
              b = lo + BINOM_GOLDEN * (hi - lo);
              fa = binom_at (x, y, n, q, r, p, sign * exp (a), phi, &cc, &dd);
              fb = binom_at (x, y, n, q, r, p, sign * exp (b), phi, &cc, &dd);
              for (int it = 0; it < BINOM_GOLDEN_STEPS; it++)
                if (fa < fb)
                  {
                    hi = b, b = a, fb = fa;
                    a = hi - BINOM_GOLDEN * (hi - lo);
                    fa = binom_at (x, y, n, q, r, p, sign * exp (a), phi, &cc, &dd);
                  }
                else
                  {
                    lo = a, a = b, fa = fb;
                    b = lo + BINOM_GOLDEN * (hi - lo);
                    fb = binom_at (x, y, n, q, r, p, sign * exp (b), phi, &cc, &dd);
                  }
              {
                double sv = sign * exp (fa < fb ? a : b);
                double e = binom_at (x, y, n, q, r, p, sv, phi, &cc, &dd);
                if (e < best)
                  {
                    best = e;
                    bq = q, br = r, bp = p, bs = sv, bc = cc, bd = dd;
                  }
                e = binom_at (x, y, n, q, r, p, binom_s (k_best, xmax), phi, &cc, &dd);
                if (e < best)
                  {
                    best = e;
                    bq = q, br = r, bp = p, bs = binom_s (k_best, xmax), bc = cc, bd = dd;
                  }
              }
            }
          }
      }
  if (isfinite (best))
    {
      KanExpr *e = binom_expr (bq, br, bp, bs, bc, bd);
      g_autofree char *text = NULL;

      refit_constants (e, raw);
      if (binom_span (e, bq, br, raw) < BINOM_MIN_SPAN)
        {
          /* (1 + s·x^r)^p nearly constant on the rows: a monomial in disguise, fitted to the
           * noise; the monomial stage and the ladder have the simpler form. */
          add_stage (&c, "binomial", "binomial", "no binomial fits (degenerate)", NAN, NAN, 0.0);
          kan_expr_free (e);
          g_timer_destroy (c.timer);
          return TRUE;
        }
      e = kan_discover_polish (kan_expr_simplify (e), raw, o->exact_tol);
      text = kan_expr_to_string (e, (const char *const *) raw->in_names, KAN_EXPR_STYLE_TEXT);
      /* Its network, for -o and the GUI: the ladder's first width fitted to the data. */
      if (!stage_formula (&c, "binomial", e, text, NULL, error))
        {
          g_timer_destroy (c.timer);
          return FALSE;
        }
    }
  else
    add_stage (&c, "binomial", "binomial", "no binomial fits", NAN, NAN, 0.0);
  g_timer_destroy (c.timer);
  return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* The power·function stage (one input)                                                        */

/* y = x^q·(c·φ(a·x + b) + d) for a wave or a decay φ (PF_FUNCTIONS, where the library has
 * them): sin(x)/x, (1 − cos x)/x², x·exp(−x), x·log(x) — a power times a
 * transcendental function, which the ladder of one input reaches only through a product node,
 * if at all; and the reciprocals y = x^q/(c·φ(a·x + b) + d) (q = 0 too), as 1/sin²(x/2) =
 * 2/(1 − cos x). Bounded or rational φ (tanh, 1/x, powers) are left out: times a power they fit
 * almost any smooth curve to the tolerance of oracle data. Each φ is fitted to y/x^q by the edge fitter (pykan's
 * fit_params, kan-symfit.h) on the rows where |x^q| is not small (kan_decompose_reduced_data);
 * q = 0 (φ alone, every function of the library) is tried too: the ladder's one edge locks
 * one function of several that fit, and with noise the one it picks may be a flexible
 * imitation (1/x for exp): each of those within PF_PLAIN_SHARE of the best is a formula of
 * the stage, and the front picks the simplest within the noise. Of the powers times a
 * function, the PF_KEEP best by R² have their constants refitted on the real rows and the most
 * accurate is a formula of the stage. */
static gboolean all_positive (const KanDataset *d, int i);
static void refit_constants (KanExpr *e, const KanDataset *d);
static int cmp_double (const void *a, const void *b);

static const double pf_q[] = { -1, -2, 1, 2, -3, 3, -0.5, 0.5 };
static const char *const pf_functions[] = { "sin", "cos", "exp", "log", "gaussian" };
#define PF_KEEP 3
#define PF_PLAIN_SHARE 3.0

typedef struct
{
  double   q;
  gboolean inv;   /* y = x^q / (c·φ(a·x + b) + d) */
  double   r2;
  KanSymFit fit;
} PfTry;

/* The fitted targets of the train rows: y/x^q, or x^q/y (INV), on the rows where the divisor
 * is at least half its median magnitude (as kan_decompose_reduced_data, so that the noise is
 * not blown up near its zeros); INV needs labels of one sign. FALSE when fewer than 8 rows
 * are left. */
static gboolean
pf_targets (const KanDataset *raw, double q, gboolean inv, double **x, double **z, size_t *n)
{
  size_t m = raw->n_train, k = 0;
  g_autofree double *mag = g_new (double, MAX (m, 1));
  double lo = HUGE_VAL, hi = -HUGE_VAL, floor_;

  for (size_t r = 0; r < m; r++)
    {
      double v = inv ? raw->train_y[r] : signed_pow (raw->train_x[r], q);
      mag[r] = isfinite (v) ? fabs (v) : 0.0;
      lo = MIN (lo, raw->train_y[r]);
      hi = MAX (hi, raw->train_y[r]);
    }
  if (m < 8 || (inv && !(lo * hi > 0.0)))
    return FALSE;
  qsort (mag, m, sizeof (double), cmp_double);
  floor_ = REDUCED_SCALE_FLOOR * mag[m / 2];
  *x = g_new (double, m);
  *z = g_new (double, m);
  for (size_t r = 0; r < m; r++)
    {
      double xq = signed_pow (raw->train_x[r], q), y = raw->train_y[r];
      double v = inv ? xq / y : y / xq;
      if (!(fabs (inv ? y : xq) >= floor_) || !isfinite (v) || !(floor_ > 0.0))
        continue;
      (*x)[k] = raw->train_x[r];
      (*z)[k++] = v;
    }
  *n = k;
  return k >= 8;
}

static int
pf_cmp (const void *a, const void *b)
{
  const PfTry *x = a, *y = b;

  /* Higher R² first; within the rounding of an exact fit, the simpler function. */
  if (fabs (x->r2 - y->r2) > KAN_SYMFIT_EXACT_R2)
    return x->r2 < y->r2 ? 1 : -1;
  return (x->fit.complexity > y->fit.complexity) - (x->fit.complexity < y->fit.complexity);
}

static KanExpr *
pf_expr (const PfTry *t)
{
  KanExpr *arg = kan_expr_binary (KAN_EXPR_ADD,
                                  kan_expr_binary (KAN_EXPR_MUL, kan_expr_num (t->fit.a),
                                                   kan_expr_var (0)),
                                  kan_expr_num (t->fit.b));
  KanExpr *g = kan_expr_binary (KAN_EXPR_ADD,
                                kan_expr_binary (KAN_EXPR_MUL, kan_expr_num (t->fit.c),
                                                 kan_sym_expr (t->fit.sym_id, arg)),
                                kan_expr_num (t->fit.d));

  return kan_expr_binary (t->inv ? KAN_EXPR_DIV : KAN_EXPR_MUL,
                          kan_expr_binary (KAN_EXPR_POW, kan_expr_var (0), kan_expr_num (t->q)),
                          g);
}

/* Emits E (taken; constants already refitted) as a formula of the power·function stage,
 * polished, with a copy of the stage's network *M (fitted on first use). */
static gboolean
pf_emit (Ctx *c, KanExpr *e, KanModel **m, GError **error)
{
  g_autofree char *text = NULL;

  if (*m == NULL && !first_width_fitted (c->d, c->o, m, error))
    {
      kan_expr_free (e);
      return FALSE;
    }
  e = kan_discover_polish (e, c->d, c->o->exact_tol);
  text = kan_expr_to_string (e, (const char *const *) c->d->in_names, KAN_EXPR_STYLE_TEXT);
  return stage_formula (c, "power·function", e, text, kan_model_copy (*m), error);
}

typedef struct
{
  KanExpr  *e;
  KanModel *m;
  double    rmse;
} PfPlain;

/* A function alone, c·φ(a·x + b) + d: the one-edge network locked to FIT, trained as the
 * ladder trains its locked networks, and its formula; FALSE when cancelled. */
static gboolean
pf_plain (Ctx *c, const KanSymFit *fit, PfPlain *out, GError **error)
{
  g_autoptr (KanShape) sh = kan_shape_parse ("1,1", NULL, NULL);
  g_autoptr (GError) local = NULL;
  double abcd[4] = { fit->a, fit->b, fit->c, fit->d };
  KanModelConfig cfg;

  out->e = NULL;
  out->rmse = NAN;
  kan_model_config_init (&cfg);
  cfg.shape = sh;
  out->m = kan_model_new (&cfg, NULL);
  if (out->m == NULL)
    return TRUE;
  kan_model_set_edge (out->m, 0, 0, 0, KAN_EDGE_SYMBOLIC, fit->sym_id, abcd);
  if (!train_lm (out->m, c->d, c->o->symbolic_steps, FALSE, c->o->cancellable, error))
    return FALSE;
  out->e = kan_discover_formula (out->m, c->d, TRUE, c->o->exact_tol, NULL, &local);
  if (out->e != NULL)
    out->rmse = expr_rmse (out->e, c->d, FALSE);
  return TRUE;
}

gboolean
kan_decompose_power_function (const KanDataset *raw, const KanDiscoverOptions *o,
                              GPtrArray *stages, GPtrArray *formulas, GError **error)
{
  Ctx c = { 0 };
  g_autoptr (GArray) tries = g_array_new (FALSE, FALSE, sizeof (PfTry));
  g_autoptr (GArray) plain = g_array_new (FALSE, FALSE, sizeof (PfPlain));
  g_autofree int *own_lib = NULL;
  g_autoptr (KanModel) m = NULL;
  const int *lib = o->lib;
  int n_lib = o->n_lib, n_emitted = 0;
  double plain_min = HUGE_VAL;
  gboolean ok = TRUE;
  KanSymFitParams sp;

  g_return_val_if_fail (raw->n_in == 1, FALSE);
  if (!data_stage_begin (&c, raw, o, stages, formulas, error))
    return FALSE;
  if (lib == NULL)
    lib = own_lib = kan_sym_parse_lib (KAN_DISCOVER_DEFAULT_LIB, &n_lib, NULL);
  kan_symfit_params_init (&sp);
  for (int inv = 0; inv < 2; inv++)
    for (guint iq = 0; iq <= G_N_ELEMENTS (pf_q); iq++)
      {
        double q = iq < G_N_ELEMENTS (pf_q) ? pf_q[iq] : 0.0;
        g_autofree double *zx = NULL, *zy = NULL;
        size_t nz;

        if (!is_integer (q) && !all_positive (raw, 0))
          continue;
        if (!pf_targets (raw, q, inv, &zx, &zy, &nz))
          continue;
        for (int k = 0; k < n_lib; k++)
          {
            PfTry t = { q, inv, -HUGE_VAL, { 0 } };
            gboolean wave = FALSE, alone = q == 0.0 && !inv;
            for (guint w = 0; w < G_N_ELEMENTS (pf_functions); w++)
              wave |= lib[k] == kan_sym_lookup (pf_functions[w]);
            if (!wave && !alone)
              continue;
            if (!kan_symfit_fit (lib[k], zx, zy, nz, &sp, &t.fit, NULL) || t.fit.degenerate
                || !isfinite (t.fit.r2))
              continue;
            t.r2 = t.fit.r2;
            if (alone)
              {
                /* Every function alone, as a locked one-edge network. */
                PfPlain p;
                if (!pf_plain (&c, &t.fit, &p, error))
                  {
                    kan_expr_free (p.e);
                    kan_model_free (p.m);
                    ok = FALSE;
                    goto out;
                  }
                if (isfinite (p.rmse))
                  {
                    plain_min = MIN (plain_min, p.rmse);
                    g_array_append_val (plain, p);
                  }
                else
                  {
                    kan_expr_free (p.e);
                    kan_model_free (p.m);
                  }
              }
            else
              g_array_append_val (tries, t);
          }
        if (check_cancel (&c, error))
          {
            ok = FALSE;
            goto out;
          }
      }
  /* The most accurate of the PF_KEEP best powers times a function (refitted). */
  g_array_sort (tries, pf_cmp);
  {
    KanExpr *best = NULL;
    double best_rmse = HUGE_VAL;
    for (guint k = 0; k < MIN (tries->len, PF_KEEP); k++)
      {
        KanExpr *e = kan_expr_simplify (pf_expr (&g_array_index (tries, PfTry, k)));
        double r;
        refit_constants (e, raw);
        r = expr_rmse (e, raw, FALSE);
        if (isfinite (r) && r < best_rmse)
          {
            kan_expr_free (best);
            best = e;
            best_rmse = r;
          }
        else
          kan_expr_free (e);
      }
    if (best != NULL)
      {
        n_emitted++;
        if (!(ok = pf_emit (&c, best, &m, error)))
          goto out;
      }
  }
  /* Then the functions alone, in the library's order, those within PF_PLAIN_SHARE of the
   * most accurate, all of them, even past an exact one: which is simplest once its constants
   * settle is for the front to say, and a part of a split solved on a surrogate's values to a
   * tolerance hands its front to the composition, where the real rows decide (the I_0 part of
   * the N-slit law is c·I_0, which a power times a function imitates within the surrogate's
   * error). */
  for (guint k = 0; k < plain->len; k++)
    {
      PfPlain *p = &g_array_index (plain, PfPlain, k);
      g_autofree char *text = NULL;
      if (!(p->rmse <= PF_PLAIN_SHARE * plain_min))
        continue;
      n_emitted++;
      text = kan_expr_to_string (p->e, (const char *const *) raw->in_names,
                                 KAN_EXPR_STYLE_TEXT);
      if (!(ok = stage_formula (&c, "power·function", g_steal_pointer (&p->e), text,
                                g_steal_pointer (&p->m), error)))
        goto out;
    }
  if (n_emitted == 0)
    add_stage (&c, "power·function", "power·function", "no power·function fits", NAN, NAN,
               0.0);
out:
  for (guint k = 0; k < plain->len; k++)
    {
      kan_expr_free (g_array_index (plain, PfPlain, k).e);
      kan_model_free (g_array_index (plain, PfPlain, k).m);
    }
  g_timer_destroy (c.timer);
  return ok;
}

/* ------------------------------------------------------------------------------------------ */
/* The oracle stage                                                                            */

/* Trains M in place on D (LM with the ladder's stall rule). */
/* An LM fit that stops when the loss stalls, as discover's own (kan_discover_train). */
static gboolean
train_lm (KanModel *m, const KanDataset *d, int steps, gboolean update_grid,
          GCancellable *cancellable, GError **error)
{
  return kan_discover_train (m, d, KAN_OPT_LM, steps, 0.0, update_grid, cancellable, error);
}

/* Whether every row of D has xᵢ > 0. */
static gboolean
all_positive (const KanDataset *d, int i)
{
  for (size_t q = 0; q < d->n_train + d->n_test; q++)
    if (!((q < d->n_train ? d->train_x[q * d->n_in + i]
                          : d->test_x[(q - d->n_train) * d->n_in + i]) > 0.0))
      return FALSE;
  return TRUE;
}

/* RMSE of the oracle S against labels Y on N rows of X. */
static double
log_surrogate_rmse (const LogSurrogate *s, const double *x, const double *y, size_t n)
{
  g_autofree double *f = g_new (double, MAX (n, 1));
  double sum = 0.0;

  log_surrogate_eval (s, x, n, f);
  for (size_t q = 0; q < n; q++)
    sum += (f[q] - y[q]) * (f[q] - y[q]);
  return n ? sqrt (sum / n) : NAN;
}

/* When the labels have one sign (up to noise): the surrogate of log|y| (LogSurrogate), which
 * becomes the oracle if its error in y on all rows beats the plain surrogate's. */
static gboolean
fit_log_surrogate (Ctx *c, KanModelConfig *cfg, GError **error)
{
  const KanDataset *d = c->d;
  g_autoptr (KanDataset) tr = NULL;
  LogSurrogate *s;
  g_autofree double *tx = NULL, *ty = NULL;
  g_autofree char *detail = NULL;
  double t0 = g_timer_elapsed (c->timer, NULL), sign, floor_ = 0.0;
  double train, test, rmse;
  size_t n_pos = 0, n_kept = 0;
  int n_log = 0;

  /* The sign of most labels. With noise, labels near zero take the other sign now and then:
   * the largest of those sizes the noise, and labels below it are raised to it (when the rows
   * above it are at least LOG_SURROGATE_SHARE of all): the log of a label within the noise
   * is noise, and dropping those rows would leave the network's grid short of their inputs. */
  for (size_t q = 0; q < d->n_train; q++)
    {
      if (!isfinite (d->train_y[q]))
        return TRUE;
      n_pos += d->train_y[q] > 0.0;
    }
  sign = 2 * n_pos >= d->n_train ? 1.0 : -1.0;
  for (size_t q = 0; q < d->n_train; q++)
    if (!(d->train_y[q] * sign > 0.0))
      floor_ = MAX (floor_, fabs (d->train_y[q]));
  for (size_t q = 0; q < d->n_train; q++)
    n_kept += d->train_y[q] * sign > floor_;
  if (n_kept < LOG_SURROGATE_SHARE * d->n_train || n_kept < 8)
    return TRUE;
  s = g_new0 (LogSurrogate, 1);
  s->n_in = d->n_in;
  s->sign = sign;
  s->log_x = g_new (gboolean, d->n_in);
  for (int i = 0; i < d->n_in; i++)
    {
      s->log_x[i] = all_positive (d, i);
      n_log += s->log_x[i];
    }
  tx = log_surrogate_inputs (s, d->train_x, d->n_train);
  ty = g_new (double, d->n_train);
  for (size_t q = 0; q < d->n_train; q++)
    ty[q] = log (MAX (d->train_y[q] * sign, floor_));
  s->lo = HUGE_VAL;
  s->hi = -HUGE_VAL;
  for (size_t q = 0; q < d->n_train; q++)
    {
      s->lo = MIN (s->lo, ty[q] - 1.0);
      s->hi = MAX (s->hi, ty[q] + 1.0);
    }
  tr = kan_dataset_new_arrays (d->n_in, 1, d->n_train, 0, tx, ty, NULL, NULL, NULL, NULL);
  s->model = kan_model_new (cfg, error);
  if (s->model == NULL || !train_lm (s->model, tr, SURROGATE_STEPS, TRUE, c->o->cancellable,
                                     error))
    {
      log_surrogate_free (s);
      return FALSE;
    }
  train = log_surrogate_rmse (s, d->train_x, d->train_y, d->n_train);
  test = d->n_test ? log_surrogate_rmse (s, d->test_x, d->test_y, d->n_test) : NAN;
  rmse = isfinite (test) ? test : train;
  detail = g_strdup_printf ("log|y| on %d of %d inputs as logarithms, G=%d, relative RMSE %.2g%s",
                            n_log, d->n_in, SURROGATE_GRID, rmse / MAX (c->y_std, G_MINDOUBLE),
                            rmse < c->surrogate_rmse ? " (the oracle)" : "");
  add_stage (c, "surrogate", "log", detail, train, test, t0);
  if (rmse < c->surrogate_rmse)
    {
      c->surrogate_rmse = rmse;
      c->log_oracle = s;
    }
  else
    log_surrogate_free (s);
  return TRUE;
}

static gboolean
fit_surrogate (Ctx *c, GError **error)
{
  const KanDataset *d = c->d;
  g_autofree char *width = g_strdup_printf ("%d,%d,1", d->n_in, SURROGATE_HIDDEN);
  g_autoptr (KanShape) sh = kan_shape_parse (width, NULL, error);
  g_autoptr (KanDataset) tr = NULL;
  g_autoptr (KanModel) m = NULL;
  g_autofree char *detail = NULL;
  KanModelConfig cfg;
  double t0 = g_timer_elapsed (c->timer, NULL), train, test;

  if (sh == NULL)
    return FALSE;
  tr = kan_dataset_new_arrays (d->n_in, 1, d->n_train, 0, d->train_x, d->train_y, NULL, NULL,
                               NULL, NULL);
  kan_model_config_init (&cfg);
  cfg.shape = sh;
  cfg.grid = SURROGATE_GRID;
  cfg.seed = SURROGATE_SEED;
  m = kan_model_new (&cfg, error);
  if (m == NULL || !train_lm (m, tr, SURROGATE_STEPS, TRUE, c->o->cancellable, error))
    return FALSE;
  train = sqrt (kan_model_loss (m, KAN_LOSS_MSE, d->train_x, d->train_y, d->n_train));
  test = d->n_test ? sqrt (kan_model_loss (m, KAN_LOSS_MSE, d->test_x, d->test_y, d->n_test))
                   : NAN;
  c->surrogate_rmse = isfinite (test) ? test : train;
  detail = g_strdup_printf ("G=%d, relative RMSE %.2g", SURROGATE_GRID,
                            c->surrogate_rmse / MAX (c->y_std, G_MINDOUBLE));
  add_stage (c, "surrogate", width, detail, train, test, t0);
  for (guint k = 0; k < G_N_ELEMENTS (SURROGATE_FINER)
                    && c->surrogate_rmse > SURROGATE_REFINE_ABOVE * c->y_std; k++)
    {
      g_autoptr (KanModel) f = NULL;
      double ftrain, ftest, frmse;
      g_autofree char *fd = NULL;

      g_autoptr (GError) local = NULL;

      t0 = g_timer_elapsed (c->timer, NULL);
      f = kan_model_refine (m, SURROGATE_FINER[k], d->train_x, d->n_train, &local);
      if (f == NULL || !train_lm (f, tr, SURROGATE_STEPS, TRUE, c->o->cancellable, &local))
        {
          /* Cancelled: the caller's stop. Otherwise (too few rows for LM on the finer grid's
           * parameters) the coarser surrogate stays. */
          if (g_cancellable_is_cancelled (c->o->cancellable))
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return FALSE;
            }
          break;
        }
      ftrain = sqrt (kan_model_loss (f, KAN_LOSS_MSE, d->train_x, d->train_y, d->n_train));
      ftest = d->n_test ? sqrt (kan_model_loss (f, KAN_LOSS_MSE, d->test_x, d->test_y, d->n_test))
                        : NAN;
      frmse = isfinite (ftest) ? ftest : ftrain;
      fd = g_strdup_printf ("G=%d (refined: G=%d's relative RMSE is above %.2g), relative RMSE "
                            "%.2g%s", SURROGATE_FINER[k], kan_model_grid (m),
                            SURROGATE_REFINE_ABOVE, frmse / MAX (c->y_std, G_MINDOUBLE),
                            frmse < c->surrogate_rmse ? "" : ", not kept");
      add_stage (c, "surrogate", width, fd, ftrain, ftest, t0);
      if (!(frmse < c->surrogate_rmse))
        break;
      c->surrogate_rmse = frmse;
      kan_model_free (m);
      m = g_steal_pointer (&f);
    }
  c->surrogate = g_steal_pointer (&m);
  return fit_log_surrogate (c, &cfg, error);
}

/* Options for a part: the default ladder, DEPTH levels of decomposition, the time left times
 * SHARE, and the exact tolerance given. */
static void
sub_options (const Ctx *c, KanDiscoverOptions *so, int depth, double share, double exact_tol)
{
  double left;

  *so = *c->o;
  so->widths = NULL;
  so->progress = NULL;   /* the caller hears of the whole search only */
  so->decompose = MAX (depth, 0);
  so->oracle_first = TRUE;
  so->exact_tol = exact_tol;
  so->time_limit = time_left (c, &left) && c->seconds > 0 ? MAX (left * share, 1e-3) : 0.0;
}

/* Solves the part SUB; on success *OUT holds the result (NULL when time ran out). Errors
 * other than cancellation are absorbed: a part that fails is no formula. */
static gboolean
solve_part (Ctx *c, const KanDataset *sub, const KanDiscoverOptions *so,
            KanDiscoverResult **out, GError **error)
{
  g_autoptr (GError) local = NULL;

  *out = NULL;
  if (!kan_discover (sub, so, out, &local))
    {
      /* The part's own time limit is not the caller's stop. */
      if (g_error_matches (local, KAN_ERROR, KAN_ERROR_CANCELLED)
          && g_cancellable_is_cancelled (c->o->cancellable))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      *out = NULL;
    }
  return TRUE;
}

static char *
names_of (const KanDataset *d, const int *vars, int n)
{
  GString *s = g_string_new (NULL);

  for (int k = 0; k < n; k++)
    g_string_append_printf (s, "%s%s", k ? "," : "", d->in_names[vars[k]]);
  return g_string_free (s, FALSE);
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

KanDataset *
kan_decompose_reduced_data (const KanDataset *d, KanExpr *const *cols, int n_cols,
                            const KanExpr *scale, const char *const *names)
{
  size_t n[2] = { d->n_train, d->n_test }, kept[2] = { 0, 0 };
  const double *xs[2] = { d->train_x, d->test_x }, *ys[2] = { d->train_y, d->test_y };
  double *nx[2], *ny[2], floor_ = 0.0;
  KanDataset *r;

  /* Dividing by the scale multiplies the noise by 1/|scale|: rows whose |scale| is below
   * REDUCED_SCALE_FLOOR times the median are left out, so that a few rows near a zero of the
   * scale do not drown the rest (without noise they only cost rows). */
  if (scale && d->n_train > 0)
    {
      g_autofree double *a = g_new (double, d->n_train);
      for (size_t q = 0; q < d->n_train; q++)
        {
          a[q] = fabs (kan_expr_eval (scale, d->train_x + q * d->n_in));
          if (!isfinite (a[q]))
            a[q] = 0.0;
        }
      qsort (a, d->n_train, sizeof (double), cmp_double);
      floor_ = REDUCED_SCALE_FLOOR * a[d->n_train / 2];
    }

  for (int part = 0; part < 2; part++)
    {
      nx[part] = g_new (double, MAX (n[part] * n_cols, 1));
      ny[part] = g_new (double, MAX (n[part], 1));
      for (size_t q = 0; q < n[part]; q++)
        {
          const double *x = xs[part] + q * d->n_in;
          double y = ys[part][q];
          gboolean ok = TRUE;
          if (scale)
            {
              double v = kan_expr_eval (scale, x);
              y = fabs (v) >= floor_ ? y / v : NAN;
            }
          ok = isfinite (y);
          for (int k = 0; k < n_cols && ok; k++)
            {
              double v = kan_expr_eval (cols[k], x);
              nx[part][kept[part] * n_cols + k] = v;
              ok = isfinite (v);
            }
          if (!ok)
            continue;
          ny[part][kept[part]] = y;
          kept[part]++;
        }
    }
  r = kan_dataset_new_arrays (n_cols, 1, kept[0], kept[1], nx[0], ny[0], nx[1], ny[1], names,
                              NULL);
  for (int part = 0; part < 2; part++)
    {
      g_free (nx[part]);
      g_free (ny[part]);
    }
  return r;
}

/* Solves the reduced problem (inputs COLS, labels y / SCALE) and emits SCALE·g(COLS) for each
 * formula g on its front. */
static KanExpr *settle_composed (Ctx *c, KanExpr *e);

static gboolean
solve_reduced_cols (Ctx *c, KanExpr *const *cols, int n_cols, const KanExpr *scale,
                    const char *what, GError **error)
{
  g_autoptr (KanDataset) sub = kan_decompose_reduced_data (c->d, cols, n_cols, scale, NULL);
  g_autoptr (KanDiscoverResult) r = NULL;
  KanDiscoverOptions so;
  g_autofree char *detail = NULL;
  double t0 = g_timer_elapsed (c->timer, NULL), left;

  if (sub->n_train < 4 || !time_left (c, &left))
    return TRUE;
  sub_options (c, &so, c->o->decompose, REDUCE_TIME_SHARE, c->o->exact_tol);
  if (!solve_part (c, sub, &so, &r, error))
    return FALSE;
  if (r == NULL)
    {
      add_stage (c, "subproblem", "decompose", what, NAN, NAN, t0);
      return TRUE;
    }
  detail = g_strdup_printf ("%s: %s (%s, %d formulas)", what, r->best->text,
                            r->exact ? "exact" : "approximate", r->n_candidates);
  add_stage (c, "subproblem", "decompose", detail, r->best->train_rmse, r->best->test_rmse, t0);
  for (guint q = 0; q < r->pareto->len; q++)
    {
      const KanDiscoverCandidate *p = r->pareto->pdata[q];
      KanExpr *e = kan_decompose_subst (p->expr, cols);
      if (scale)
        e = kan_expr_binary (KAN_EXPR_MUL, kan_expr_copy (scale), e);
      /* Every constant refitted on the real rows: a scale from oracle data (try_subst) is
       * only as good as the oracle. */
      e = kan_expr_simplify (e);
      refit_constants (e, c->d);
      e = settle_composed (c, e);
      e = kan_discover_polish (e, c->d, c->o->exact_tol);
      emit (c, e, "decompose", what, kan_model_copy (c->surrogate));
    }
  return TRUE;
}

/* solve_reduced_cols, then frees the N_COLS expressions of COLS (the callers build them for
 * this call only). */
static gboolean
solve_reduced (Ctx *c, KanExpr **cols, int n_cols, const KanExpr *scale, const char *what,
               GError **error)
{
  gboolean ok = solve_reduced_cols (c, cols, n_cols, scale, what, error);

  for (int k = 0; k < n_cols; k++)
    kan_expr_free (cols[k]);
  return ok;
}

/* Step 2: power factors. */
typedef struct
{
  int    i;
  double p, s;
} PowerTry;

static int
power_try_cmp (gconstpointer a, gconstpointer b)
{
  double x = ((const PowerTry *) a)->s, y = ((const PowerTry *) b)->s;

  return (x > y) - (x < y);
}

/* The test RMSE in y of scale·g(others), g a surrogate (as fit_surrogate's) of y/scale over
 * the inputs not FOUND, scale = ∏ xᵢ^POWER[i] over those FOUND; NaN if it cannot be fitted
 * (or the search was stopped, which the caller checks). */
static double
reduced_surrogate_rmse (Ctx *c, const double *power, const gboolean *found)
{
  g_autoptr (GError) local = NULL;
  const KanDataset *d = c->d;
  int I = d->n_in, n_cols = 0;
  g_autofree KanExpr **cols = g_new0 (KanExpr *, I);
  g_autoptr (KanExpr) scale = kan_expr_simplify (kan_monomial_expr (power, I, 1.0));
  g_autoptr (KanDataset) sub = NULL, tr = NULL;
  g_autoptr (KanShape) sh = NULL;
  g_autoptr (KanModel) m = NULL;
  g_autofree char *width = NULL;
  g_autofree double *xr = NULL, *g = NULL;
  KanModelConfig cfg;
  double sum = 0.0;
  size_t used = 0;

  for (int i = 0; i < I; i++)
    if (!found[i])
      cols[n_cols++] = kan_expr_var (i);
  sub = kan_decompose_reduced_data (d, cols, n_cols, scale, NULL);
  width = g_strdup_printf ("%d,%d,1", n_cols, SURROGATE_HIDDEN);
  sh = kan_shape_parse (width, NULL, NULL);
  if (sub->n_train < 8 || d->n_test == 0 || sh == NULL)
    goto fail;
  tr = kan_dataset_new_arrays (n_cols, 1, sub->n_train, 0, sub->train_x, sub->train_y, NULL,
                               NULL, NULL, NULL);
  kan_model_config_init (&cfg);
  cfg.shape = sh;
  cfg.grid = SURROGATE_GRID;
  cfg.seed = SURROGATE_SEED;
  m = kan_model_new (&cfg, NULL);
  if (m == NULL || !train_lm (m, tr, SURROGATE_STEPS, TRUE, c->o->cancellable, &local))
    goto fail;
  xr = g_new (double, d->n_test * n_cols);
  g = g_new (double, d->n_test);
  for (size_t q = 0; q < d->n_test; q++)
    for (int k = 0; k < n_cols; k++)
      xr[q * n_cols + k] = kan_expr_eval (cols[k], d->test_x + q * I);
  kan_model_eval (m, xr, d->n_test, g);
  for (size_t q = 0; q < d->n_test; q++)
    {
      double e = kan_expr_eval (scale, d->test_x + q * I) * g[q] - d->test_y[q];
      if (isfinite (e))
        {
          sum += e * e;
          used++;
        }
    }
  for (int k = 0; k < n_cols; k++)
    kan_expr_free (cols[k]);
  return used ? sqrt (sum / used) : NAN;

fail:
  for (int k = 0; k < n_cols; k++)
    kan_expr_free (cols[k]);
  return NAN;
}

static gboolean
try_power_factors (Ctx *c, const KanOracle *f, const double *pts, size_t n, GError **error)
{
  int I = c->d->n_in, n_rest = 0;
  g_autofree double *power = g_new0 (double, I);
  g_autofree gboolean *found = g_new0 (gboolean, I);
  g_autoptr (GString) what = g_string_new (NULL);
  g_autofree KanExpr **cols = g_new0 (KanExpr *, I);
  g_autoptr (KanExpr) scale = NULL;
  int n_found = 0;
  double t0 = g_timer_elapsed (c->timer, NULL);
  /* A surrogate of noisy labels has noisier derivatives: the tolerance grows with its
   * relative error, up to POWER_TOL_MAX (what passes is checked on the real data). */
  double tol = CLAMP (POWER_TOL_FACTOR * c->surrogate_rmse / MAX (c->y_std, G_MINDOUBLE),
                      POWER_TOL, POWER_TOL_MAX);
  /* Only with noise or a rough surrogate (a widened tolerance) are the unsure ones checked;
   * a surrogate that misses the law by more than SURROGATE_REFINE_ABOVE (a product of four
   * inputs) has derivatives rougher still. */
  double loose = tol > POWER_TOL ? (c->surrogate_rmse > SURROGATE_REFINE_ABOVE * c->y_std
                                    ? POWER_TOL_ROUGH : POWER_TOL_LOOSE)
                                 : tol;
  g_autoptr (GArray) unsure = g_array_new (FALSE, FALSE, sizeof (PowerTry));

  for (int i = 0; i < I; i++)
    {
      double p, s = kan_detect_power (f, pts, n, i, &p);
      if (!(s <= loose) || !snap_ratio (p, POWER_SNAP, &p))
        continue;
      /* Dropping a variable (p = 0) is the most drastic reduction: a weak but real
       * dependence (exp(−x·y·z/w) on xᵢ) scores about as a noisy surrogate's derivative does,
       * so the tolerance is not widened for it. */
      if (p == 0.0 && !(s <= POWER_TOL))
        continue;
      /* The data must allow dividing by xᵢ^p. */
      for (size_t q = 0; q < c->d->n_train + c->d->n_test; q++)
        {
          double x = q < c->d->n_train ? c->d->train_x[q * I + i]
                                       : c->d->test_x[(q - c->d->n_train) * I + i];
          if ((!is_integer (p) && x <= 0.0) || (p < 0 && x == 0.0))
            p = NAN;
        }
      if (isnan (p))
        continue;
      if (!(s <= tol))
        {
          PowerTry t = { i, p, s };
          g_array_append_val (unsure, t);
          continue;
        }
      found[i] = TRUE;
      power[i] = p;
      n_found++;
      g_string_append_printf (what, "%s%s^%g (score %.1e)", what->len ? ", " : "power ",
                              c->d->in_names[i], p, s);
    }
  /* With noise, factors that score between the tolerance and POWER_TOL_LOOSE are checked on
   * the real rows, best score first: one stays when a surrogate of the reduced problem
   * (y/scale over the other inputs) predicts y about as well as the surrogate of all inputs
   * (within VERIFY_SHARE on the test rows). A wrong factor leaves a dependence on its input
   * that no function of the others can fit. */
  g_array_sort (unsure, power_try_cmp);
  for (guint k = 0; k < MIN (unsure->len, POWER_VERIFY_MAX) && n_found + 1 < I; k++)
    {
      const PowerTry *t = &g_array_index (unsure, PowerTry, k);
      double r;
      power[t->i] = t->p;
      found[t->i] = TRUE;
      r = reduced_surrogate_rmse (c, power, found);
      if (isnan (r) && check_cancel (c, error))
        return FALSE;
      if (r <= VERIFY_SHARE * c->surrogate_rmse)
        {
          n_found++;
          g_string_append_printf (what, "%s%s^%g (score %.1e, checked on the rows: %.2g "
                                  "against %.2g)", what->len ? ", " : "power ",
                                  c->d->in_names[t->i], t->p, t->s, r, c->surrogate_rmse);
          continue;
        }
      power[t->i] = 0.0;
      found[t->i] = FALSE;
    }
  if (n_found == 0 || n_found == I)
    return TRUE;
  add_stage (c, "detect", "decompose", what->str, NAN, NAN, t0);
  scale = kan_expr_simplify (kan_monomial_expr (power, I, 1.0));
  for (int i = 0; i < I; i++)
    if (!found[i])
      cols[n_rest++] = kan_expr_var (i);
  {
    g_autofree int *rest = g_new (int, I);
    g_autofree char *names = NULL;
    for (int i = 0, k = 0; i < I; i++)
      if (!found[i])
        rest[k++] = i;
    g_autofree char *st = kan_expr_to_string (scale, (const char *const *) c->d->in_names,
                                              KAN_EXPR_STYLE_TEXT);
    names = names_of (c->d, rest, n_rest);
    g_string_printf (what, "y / (%s) over %s", st, names);
  }
  return solve_reduced (c, cols, n_rest, scale, what->str, error);
}

/* Step 2b: a function of one monomial, g(∏ xᵢ^pᵢ), or one input's power times such a
 * function, xₖ^a·g(∏ᵢ≠ₖ xᵢ^pᵢ), tested on the real rows (train and test) rather than on the
 * oracle's derivatives: with noisy labels, and more so after dividing by a power factor, the
 * surrogate's derivatives are too rough for the pairwise merge tests and the power test,
 * while the rows themselves, sorted along the right monomial, trace one curve plus noise.
 * Accepted when the noise about that curve is within INDEX_TOL of the surrogate's error (no
 * worse than the best smooth model of all inputs) and below INDEX_SHARE of std(y). The power
 * times a function is tried when the function alone is not accepted, for up to
 * INDEX_FACTOR_MAX_INPUTS inputs (it scores every monomial once per input and power). */
#define INDEX_TOL               1.25
#define INDEX_SHARE             0.3
#define INDEX_FACTOR_MAX_INPUTS 5
static const double index_factors[] = { 1.0, -1.0, 2.0, -2.0, 0.5, -0.5 };

static gboolean
try_single_index (Ctx *c, GError **error)
{
  const KanDataset *d = c->d;
  int I = d->n_in, n_nz = 0, fk = -1;
  size_t n = d->n_train + d->n_test;
  g_autofree double *x = NULL, *y = NULL, *power = NULL, *xr = NULL, *sc = NULL, *pr = NULL;
  g_autofree gboolean *positive = NULL, *pos_r = NULL;
  g_autofree KanExpr **cols = NULL;
  g_autoptr (KanExpr) scale = NULL;
  g_autofree char *ut = NULL, *what = NULL, *st = NULL;
  double t0 = g_timer_elapsed (c->timer, NULL), score, fa = 0.0;
  double limit = MIN (INDEX_TOL * c->surrogate_rmse, INDEX_SHARE * c->y_std);

  if (I < 2 || I > KAN_INDEX_MAX_INPUTS || !(c->surrogate_rmse > 0.0))
    return TRUE;
  x = g_new (double, n * I);
  y = g_new (double, n);
  memcpy (x, d->train_x, d->n_train * I * sizeof (double));
  memcpy (y, d->train_y, d->n_train * sizeof (double));
  if (d->n_test)
    {
      memcpy (x + d->n_train * I, d->test_x, d->n_test * I * sizeof (double));
      memcpy (y + d->n_train, d->test_y, d->n_test * sizeof (double));
    }
  positive = g_new (gboolean, I);
  power = g_new0 (double, I);
  for (int i = 0; i < I; i++)
    positive[i] = all_positive (d, i);
  score = kan_detect_single_index (x, I, y, NULL, n, positive, c->o->cancellable, power);

  /* xₖ^a·g(monomial of the others). */
  if (!(score <= limit) && I <= INDEX_FACTOR_MAX_INPUTS)
    {
      xr = g_new (double, n * (I - 1));
      sc = g_new (double, n);
      pr = g_new (double, I - 1);
      pos_r = g_new (gboolean, I - 1);
      for (int k = 0; k < I; k++)
        for (guint ia = 0; ia < G_N_ELEMENTS (index_factors); ia++)
          {
            double a = index_factors[ia], s;
            if (!is_integer (a) && !positive[k])
              continue;
            for (size_t q = 0; q < n; q++)
              {
                for (int i = 0, j = 0; i < I; i++)
                  if (i != k)
                    xr[q * (I - 1) + j++] = x[q * I + i];
                sc[q] = signed_pow (x[q * I + k], a);
              }
            for (int i = 0, j = 0; i < I; i++)
              if (i != k)
                pos_r[j++] = positive[i];
            s = kan_detect_single_index (xr, I - 1, y, sc, n, pos_r, c->o->cancellable, pr);
            if (s < score || isnan (score))
              {
                score = s;
                fk = k;
                fa = a;
                for (int i = 0, j = 0; i < I; i++)
                  power[i] = i == k ? 0.0 : pr[j++];
              }
          }
    }
  if (!(score <= limit))
    return TRUE;
  for (int i = 0; i < I; i++)
    n_nz += power[i] != 0.0;
  cols = g_new0 (KanExpr *, 1);
  cols[0] = kan_expr_simplify (kan_monomial_expr (power, I, 1.0));
  ut = kan_expr_to_string (cols[0], (const char *const *) d->in_names, KAN_EXPR_STYLE_TEXT);
  if (fk >= 0)
    {
      g_autofree double *f = g_new0 (double, I);
      f[fk] = fa;
      scale = kan_expr_simplify (kan_monomial_expr (f, I, 1.0));
      st = kan_expr_to_string (scale, (const char *const *) d->in_names, KAN_EXPR_STYLE_TEXT);
    }
  what = g_strdup_printf ("one monomial u = %s%s%s (noise about a curve in u %.2g, "
                          "surrogate %.2g)", ut, st ? ", times " : "", st ? st : "", score,
                          c->surrogate_rmse);
  add_stage (c, "detect", "decompose", what, NAN, NAN, t0);
  g_free (what);
  what = g_strdup_printf ("%s%s%s1 input u = %s (%d of %d inputs)", st ? "y / " : "",
                          st ? st : "", st ? " over " : "", ut, n_nz, I);
  return solve_reduced (c, cols, 1, scale, what, error);
}

/* Step 3b: weighted homogeneity. The pair with the best score whose β and k snap to small
 * fractions, neither zero (those are power factors and merges), with xᵢ > 0 on every row:
 * y/xᵢ^k is solved over the other variables with xⱼ replaced by xⱼ/xᵢ^β. Of the two ways
 * to read a pair, the one whose xᵢ stays farther from zero (the larger lo/hi), so that the
 * new column stays bounded. */
static gboolean
try_homogeneous (Ctx *c, const KanOracle *f, const double *pts, size_t n, GError **error)
{
  int I = c->d->n_in, bi = -1, bj = -1, n_cols = 0;
  double best = HUGE_VAL, bbeta = 0.0, bk = 0.0, t0 = g_timer_elapsed (c->timer, NULL);
  g_autofree KanExpr **cols = NULL;
  g_autoptr (KanExpr) scale = NULL;
  g_autoptr (GString) what = g_string_new (NULL);

  for (int i = 0; i < I; i++)
    for (int j = i + 1; j < I; j++)
      {
        double beta, k, s = kan_detect_homogeneous (f, pts, n, i, j, &beta, &k);
        double ri, rj;
        int a = i, b = j;

        if (!(s <= MERGE_TOL) || !(s < best) || !isfinite (beta) || beta == 0.0)
          continue;
        /* The orientation: xᵢ the one farther from zero. */
        ri = f->lo[i] / f->hi[i];
        rj = f->lo[j] / f->hi[j];
        if (rj > ri || !all_positive (c->d, i))
          {
            a = j;
            b = i;
            k /= beta;
            beta = 1.0 / beta;
          }
        if (!all_positive (c->d, a) || !snap_ratio (beta, MERGE_SNAP, &beta)
            || !snap_ratio (k, MERGE_SNAP, &k) || beta == 0.0 || k == 0.0)
          continue;
        best = s;
        bi = a;
        bj = b;
        bbeta = beta;
        bk = k;
      }
  if (bi < 0)
    return TRUE;
  g_string_printf (what, "homogeneous %s^%g*g(%s/%s^%g) (score %.1e)", c->d->in_names[bi], bk,
                   c->d->in_names[bj], c->d->in_names[bi], bbeta, best);
  add_stage (c, "detect", "decompose", what->str, NAN, NAN, t0);
  {
    double p[2] = { 0.0, 0.0 };
    g_autofree double *power = g_new0 (double, I);
    power[bi] = bk;
    scale = kan_expr_simplify (kan_monomial_expr (power, I, 1.0));
    cols = g_new0 (KanExpr *, I);
    for (int i = 0; i < I; i++)
      {
        if (i == bi)
          continue;
        if (i != bj)
          {
            cols[n_cols++] = kan_expr_var (i);
            continue;
          }
        memset (power, 0, I * sizeof (double));
        power[bj] = 1.0;
        power[bi] = -bbeta;
        cols[n_cols++] = kan_expr_simplify (kan_monomial_expr (power, I, 1.0));
      }
    (void) p;
  }
  g_string_printf (what, "y / %s^%g over %d input%s with %s/%s^%g", c->d->in_names[bi], bk,
                   n_cols, n_cols == 1 ? "" : "s", c->d->in_names[bj], c->d->in_names[bi],
                   bbeta);
  return solve_reduced (c, cols, n_cols, scale, what->str, error);
}

/* Step 3: merges. */
static gboolean
try_merges (Ctx *c, const KanOracle *f, const double *pts, size_t n, GError **error)
{
  int I = c->d->n_in;
  g_autofree double *ratios = g_new (double, 2 * I * I);
  g_autofree double *scores = g_new (double, 2 * I * I);
  double low[2] = { HUGE_VAL, HUGE_VAL }, t_scores = g_timer_elapsed (c->timer, NULL);
  int order[2];

  /* Both kinds are scored first; the kind whose best pair scores lower is tried first
   * (monomial on a tie): a distance's x1 − x2 is not kept waiting behind a look-alike
   * product. */
  for (int kind = KAN_MERGE_LINEAR; kind <= KAN_MERGE_MONOMIAL; kind++)
    for (int i = 0; i < I; i++)
      for (int j = i + 1; j < I; j++)
        {
          double *score = scores + kind * I * I, *ratio = ratios + kind * I * I;
          double r = NAN, s = kan_detect_merge (f, pts, n, i, j, kind, &r);
          score[i * I + j] = score[j * I + i] = s;
          ratio[i * I + j] = r;
          ratio[j * I + i] = 1.0 / r;
          if (s < low[kind])
            low[kind] = s;
        }
  order[0] = low[KAN_MERGE_LINEAR] < low[KAN_MERGE_MONOMIAL] ? KAN_MERGE_LINEAR
                                                               : KAN_MERGE_MONOMIAL;
  order[1] = KAN_MERGE_LINEAR + KAN_MERGE_MONOMIAL - order[0];
  for (int o = 0; o < 2 && !settled (c); o++)
    {
      int kind = order[o];
      double *ratio = ratios + kind * I * I, *score = scores + kind * I * I;
      g_autofree gboolean *ok = g_new0 (gboolean, I * I);
      int best = -1, best_n = 0;
      double t0 = o == 0 ? t_scores : g_timer_elapsed (c->timer, NULL);

      /* A usable merge of xⱼ into xᵢ: the relation holds, r is a small fraction, and a
       * fractional power has a positive base. */
      for (int i = 0; i < I; i++)
        for (int j = 0; j < I; j++)
          {
            double r = ratio[i * I + j];
            if (i == j || !(score[i * I + j] <= MERGE_TOL) || !snap_ratio (r, MERGE_SNAP, &r)
                || r == 0.0)
              continue;
            ratio[i * I + j] = r;
            ok[i * I + j] = kind != KAN_MERGE_MONOMIAL || is_integer (r)
                            || all_positive (c->d, j);
          }
      {
        double least = HUGE_VAL;
        for (int q = 0; q < I * I; q++)
          if (ok[q])
            least = MIN (least, score[q]);
        for (int q = 0; q < I * I; q++)
          if (ok[q] && !(score[q] <= MERGE_REL * MAX (least, MERGE_REL_FLOOR)))
            ok[q] = FALSE;
      }
      /* The root: the variable with most partners (ties: the first). */
      for (int i = 0; i < I; i++)
        {
          int k = 0;
          for (int j = 0; j < I; j++)
            k += ok[i * I + j];
          if (k > best_n)
            {
              best_n = k;
              best = i;
            }
        }
      /* Every variable may merge into one: then f is a function of one monomial (or linear
       * form), as exp(−x1/x2). */
      if (best < 0)
        continue;
      {
        g_autofree KanExpr **cols = g_new0 (KanExpr *, I);
        g_autoptr (GString) what = g_string_new (NULL);
        KanExpr *u = kan_expr_var (best);
        int n_cols = 0;
        for (int j = 0; j < I; j++)
          {
            double r = ratio[best * I + j];
            if (!ok[best * I + j])
              continue;
            if (kind == KAN_MERGE_MONOMIAL)
              u = kan_expr_binary (KAN_EXPR_MUL, u,
                                   r == 1.0 ? kan_expr_var (j)
                                            : kan_expr_binary (KAN_EXPR_POW, kan_expr_var (j),
                                                               kan_expr_num (r)));
            else
              u = kan_expr_binary (KAN_EXPR_ADD, u,
                                   kan_expr_binary (KAN_EXPR_MUL, kan_expr_num (r),
                                                    kan_expr_var (j)));
            g_string_append_printf (what, "%s%s with %s, r = %g (score %.1e)",
                                    what->len ? ", " : (kind == KAN_MERGE_MONOMIAL
                                                        ? "merge (monomial) "
                                                        : "merge (linear) "),
                                    c->d->in_names[best], c->d->in_names[j], r,
                                    score[best * I + j]);
          }
        u = kan_expr_simplify (u);
        for (int j = 0; j < I; j++)
          if (j == best)
            cols[n_cols++] = u;
          else if (!ok[best * I + j])
            cols[n_cols++] = kan_expr_var (j);
        add_stage (c, "detect", "decompose", what->str, NAN, NAN, t0);
        {
          g_autofree char *ut = kan_expr_to_string (u, (const char *const *) c->d->in_names,
                                                    KAN_EXPR_STYLE_TEXT);
          g_string_printf (what, "%d input%s with u = %s", n_cols, n_cols == 1 ? "" : "s", ut);
        }
        if (!solve_reduced (c, cols, n_cols, NULL, what->str, error))
          return FALSE;
      }
    }
  return TRUE;
}

/* Groups of variables: connected components of the pairs whose score is above TOL (or
 * unknown). GROUP receives each variable's group; returns the number of groups. */
static int
components (const double *score, int I, double tol, int *group)
{
  int n_groups = 0;

  for (int i = 0; i < I; i++)
    group[i] = -1;
  for (int i = 0; i < I; i++)
    {
      GQueue q = G_QUEUE_INIT;
      if (group[i] >= 0)
        continue;
      group[i] = n_groups;
      g_queue_push_tail (&q, GINT_TO_POINTER (i));
      while (!g_queue_is_empty (&q))
        {
          int a = GPOINTER_TO_INT (g_queue_pop_head (&q));
          for (int b = 0; b < I; b++)
            if (group[b] < 0 && b != a && !(score[a * I + b] <= tol))
              {
                group[b] = n_groups;
                g_queue_push_tail (&q, GINT_TO_POINTER (b));
              }
        }
      n_groups++;
    }
  return n_groups;
}

/* Step 4: a product or a sum of parts. */
/* Oracle data for a part: on D's train and test rows, the inputs VARS (NV of them) keep the
 * row's values and the others are held at X0, the labels are the oracle there, and the part's
 * inputs are those values times IN_SCALE. *TOL receives the exact tolerance of a part judged
 * on these labels: the oracle's error relative to their spread, ORACLE_TOL_FACTOR times. */
static KanDataset *
oracle_part_data (const Ctx *c, const KanOracle *f, const double *x0, const int *vars, int nv,
                  double in_scale, double *tol)
{
  int I = c->d->n_in;
  size_t nr[2] = { c->d->n_train, c->d->n_test };
  const double *xs[2] = { c->d->train_x, c->d->test_x };
  double *sx[2], *sy[2];
  KanDataset *sub;

  for (int part = 0; part < 2; part++)
    {
      g_autofree double *full = g_new (double, MAX (nr[part] * I, 1));
      sx[part] = g_new (double, MAX (nr[part] * nv, 1));
      sy[part] = g_new (double, MAX (nr[part], 1));
      for (size_t q = 0; q < nr[part]; q++)
        {
          memcpy (full + q * I, x0, I * sizeof (double));
          for (int v = 0; v < nv; v++)
            {
              full[q * I + vars[v]] = xs[part][q * I + vars[v]];
              sx[part][q * nv + v] = xs[part][q * I + vars[v]] * in_scale;
            }
        }
      if (nr[part])
        f->eval (f->data, full, nr[part], sy[part]);
    }
  sub = kan_dataset_new_arrays (nv, 1, nr[0], nr[1], sx[0], sy[0], sx[1], sy[1], NULL, NULL);
  for (int part = 0; part < 2; part++)
    {
      g_free (sx[part]);
      g_free (sy[part]);
    }
  *tol = MAX (c->o->exact_tol, ORACLE_TOL_FACTOR * c->surrogate_rmse
                                 / MAX (std_of (sub->train_y, sub->n_train), G_MINDOUBLE));
  return sub;
}

/* E (taken; constants refitted on the real rows) with the constants the noise cannot tell
 * from simple values fixed at them, before polishing: in the composed form a part's small
 * offset (1.14·m + 0.002) still stands alone and snaps to 0, where the canonical form would
 * fold it into other constants ((23222·m − 1)/46466). */
static KanExpr *
settle_composed (Ctx *c, KanExpr *e)
{
  KanExprFit *fit = NULL;
  g_autoptr (KanExpr) copy = kan_expr_copy (e);
  g_autofree KanExpr **consts = NULL;

  int k = kan_expr_free_constants (copy, &consts);

  if (c->d->n_train <= (size_t) k + 1 || k > COMPOSED_SETTLE_CONSTANTS)
    return e;
  e = kan_noise_snap (e, &(KanCanonRows) { c->d->train_x, c->d->n_in, c->d->train_y,
                                           c->d->n_train, c->y_std }, &fit);
  kan_expr_fit_free (fit);
  return e;
}

/* Emits COMPOSED (taken), the product or sum of N_GROUPS parts of a split that overlap by
 * f(x0) = F0 N_GROUPS − 1 times, with every constant refitted on the real rows. */
static void
compose_emit (Ctx *c, KanExpr *composed, gboolean mult, double f0, int n_groups,
              const char *what)
{
  double tc = g_timer_elapsed (c->timer, NULL);
  KanExpr *e;
  g_autofree char *text = NULL;

  if (mult)
    composed = kan_expr_binary (KAN_EXPR_MUL, kan_expr_num (1.0 / pow (f0, n_groups - 1)),
                                composed);
  else
    composed = kan_expr_binary (KAN_EXPR_SUB, composed, kan_expr_num ((n_groups - 1) * f0));
  e = kan_expr_simplify (composed);
  refit_constants (e, c->d);
  e = settle_composed (c, e);
  e = kan_discover_polish (e, c->d, c->o->exact_tol);
  refit_constants (e, c->d);
  e = kan_discover_polish (e, c->d, c->o->exact_tol);
  text = kan_expr_to_string (e, (const char *const *) c->d->in_names, KAN_EXPR_STYLE_TEXT);
  add_stage (c, "compose", "decompose", text, expr_rmse (e, c->d, FALSE),
             expr_rmse (e, c->d, TRUE), tc);
  emit (c, e, "decompose", what, kan_model_copy (c->surrogate));
}

static gboolean
try_split (Ctx *c, const KanOracle *f, const double *pts, size_t n, GError **error)
{
  int I = c->d->n_in;
  g_autofree double *score = g_new (double, I * I);
  g_autofree int *group = g_new (int, I);
  g_autofree double *fv = g_new (double, n);
  g_autofree double *x0 = g_new (double, I);
  size_t at = 0;
  double sep_tol = CLAMP (SEP_TOL_FACTOR * c->surrogate_rmse / MAX (c->y_std, G_MINDOUBLE),
                          SEP_TOL, SEP_TOL_MAX);

  if (c->o->decompose < 1)
    return TRUE;
  f->eval (f->data, pts, n, fv);
  for (size_t q = 1; q < n; q++)
    if (fabs (fv[q]) > fabs (fv[at]))
      at = q;
  memcpy (x0, pts + at * I, I * sizeof (double));

  for (int mult = 1; mult >= 0 && !settled (c); mult--)
    {
      double t0 = g_timer_elapsed (c->timer, NULL), f0, left;
      int n_groups;
      g_autoptr (GString) what = g_string_new (NULL);
      g_autofree KanExpr **map = g_new0 (KanExpr *, I);
      gboolean all = TRUE;
      g_autoptr (GPtrArray) parts = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);

      for (int i = 0; i < I; i++)
        for (int j = 0; j < I; j++)
          score[i * I + j] = i < j ? kan_detect_separable (f, pts, n, i, j, mult)
                             : j < i ? score[j * I + i] : 0.0;
      n_groups = components (score, I, sep_tol, group);
      if (n_groups < 2)
        continue;
      f->eval (f->data, x0, 1, &f0);
      if (mult && !(fabs (f0) > 0.0))
        continue;
      g_string_append (what, mult ? "product of " : "sum of ");
      for (int g = 0; g < n_groups; g++)
        {
          double worst = 0.0;
          g_string_append (what, g ? ", (" : "(");
          for (int i = 0, k = 0; i < I; i++)
            if (group[i] == g)
              {
                g_string_append_printf (what, "%s%s", k++ ? "," : "", c->d->in_names[i]);
                for (int j = 0; j < I; j++)
                  if (group[j] != g)
                    worst = MAX (worst, score[i * I + j]);
              }
          g_string_append_printf (what, ")");
          if (g == n_groups - 1)
            g_string_append_printf (what, " (largest score across %.1e)", worst);
        }
      add_stage (c, "detect", "decompose", what->str, NAN, NAN, t0);

      for (int g = 0; g < n_groups && all; g++)
        {
          g_autofree int *vars = g_new (int, I);
          g_autoptr (KanDataset) sub = NULL;
          g_autoptr (KanDiscoverResult) r = NULL;
          g_autofree char *names = NULL, *detail = NULL;
          KanDiscoverOptions so;
          int nv = 0;
          double tol, tg = g_timer_elapsed (c->timer, NULL);

          for (int i = 0; i < I; i++)
            if (group[i] == g)
              vars[nv++] = i;
          sub = oracle_part_data (c, f, x0, vars, nv, 1.0, &tol);
          if (!time_left (c, &left))
            {
              all = FALSE;
              break;
            }
          sub_options (c, &so, c->o->decompose - 1, SPLIT_TIME_SHARE / (n_groups - g), tol);
          if (!solve_part (c, sub, &so, &r, error))
            return FALSE;
          names = names_of (c->d, vars, nv);
          if (r == NULL)
            {
              all = FALSE;
              detail = g_strdup_printf ("part over %s: no formula", names);
              add_stage (c, "subproblem", "decompose", detail, NAN, NAN, tg);
              break;
            }
          detail = g_strdup_printf ("part over %s (oracle data, tolerance %.1e): %s (%s)",
                                    names, tol, r->best->text,
                                    r->exact ? "within the oracle's error" : "approximate");
          add_stage (c, "subproblem", "decompose", detail, r->best->train_rmse,
                     r->best->test_rmse, tg);
          {
            /* The part's front, best first, each over the original variables. */
            g_autofree KanExpr **vmap = g_new0 (KanExpr *, nv);
            GPtrArray *alt = g_ptr_array_new_with_free_func ((GDestroyNotify) kan_expr_free);
            for (int v = 0; v < nv; v++)
              vmap[v] = kan_expr_var (vars[v]);
            g_ptr_array_add (alt, kan_decompose_subst (r->best->expr, vmap));
            for (guint q = 0; q < r->pareto->len && alt->len < SPLIT_ALTERNATIVES; q++)
              if (r->pareto->pdata[q] != r->best)
                g_ptr_array_add (alt, kan_decompose_subst (
                                        ((KanDiscoverCandidate *) r->pareto->pdata[q])->expr,
                                        vmap));
            /* A part of one input that is linear in it (I_0 in I_0·g(…)) may be imitated
             * within the oracle's error by a flexible form (c·sin(a·x + b) + d, on an oracle
             * along log x): a·x + b is one more alternative (refitted on the real rows). */
            if (nv == 1)
              g_ptr_array_add (alt, kan_expr_binary (KAN_EXPR_ADD,
                                                     kan_expr_binary (KAN_EXPR_MUL,
                                                                      kan_expr_num (1.0),
                                                                      kan_expr_var (vars[0])),
                                                     kan_expr_num (0.0)));
            for (int v = 0; v < nv; v++)
              kan_expr_free (vmap[v]);
            g_ptr_array_add (parts, alt);
          }
        }
      if (!all || parts->len == 0)
        continue;
      /* The parts' best formulas composed, then each alternative of one part with the others'
       * best: a part judged on oracle data may have its true form second to an approximation
       * within the oracle's error; refitted on the real rows, the true form wins. */
      for (guint g = 0; g < parts->len; g++)
        for (guint k = g == 0 ? 0 : 1; k < ((GPtrArray *) parts->pdata[g])->len; k++)
          {
            KanExpr *composed = NULL;
            for (guint h = 0; h < parts->len; h++)
              {
                GPtrArray *alt = parts->pdata[h];
                KanExpr *part = kan_expr_copy (alt->pdata[h == g ? k : 0]);
                composed = composed == NULL ? part
                           : kan_expr_binary (mult ? KAN_EXPR_MUL : KAN_EXPR_ADD, composed, part);
              }
            compose_emit (c, composed, mult, f0, n_groups, what->str);
            if (check_cancel (c, error))
              return FALSE;
          }
      /* Nothing settled: a part of several inputs judged on oracle data within the oracle's
       * (noisy) error may be an imitation that the real rows tell apart. For a product of two
       * parts, that part is solved again on the real rows, y divided by the other part's
       * alternative that fits best in the product (a one-input part's best on the oracle may
       * be a line within a noisy oracle's wide tolerance), with the noise-aware search of the rows (N-slit's kernel sin²(N·δ/2)/
       * sin²(δ/2) under noise, after (1 − cos α)/α²). */
      if (mult && n_groups == 2 && !settled (c))
        for (int g = 0; g < 2 && !settled (c); g++)
          {
            g_autofree KanExpr **cols = g_new0 (KanExpr *, I);
            g_autofree int *vars = g_new (int, I);
            g_autofree char *names = NULL, *detail = NULL;
            GPtrArray *oalt = parts->pdata[1 - g], *salt = parts->pdata[g];
            const KanExpr *other = oalt->pdata[0];
            double other_rmse = HUGE_VAL;
            int nv = 0;
            for (int i = 0; i < I; i++)
              nv += group[i] == g;
            if (nv < 2)
              continue;
            /* The divisor: the other part's alternative whose product with this part's best
             * fits the real rows best, constants refitted. */
            for (guint k = 0; k < oalt->len; k++)
              {
                g_autoptr (KanExpr) e = kan_expr_binary (KAN_EXPR_MUL,
                                                         kan_expr_copy (oalt->pdata[k]),
                                                         kan_expr_copy (salt->pdata[0]));
                double r;
                refit_constants (e, c->d);
                r = expr_rmse (e, c->d, FALSE);
                if (r < other_rmse)
                  {
                    other_rmse = r;
                    other = oalt->pdata[k];
                  }
              }
            nv = 0;
            for (int i = 0; i < I; i++)
              if (group[i] == g)
                {
                  vars[nv] = i;
                  cols[nv++] = kan_expr_var (i);
                }
            names = names_of (c->d, vars, nv);
            detail = g_strdup_printf ("part over %s again, on the rows divided by the other "
                                      "part", names);
            if (!solve_reduced (c, cols, nv, other, detail, error))
              return FALSE;
          }
    }
  return TRUE;
}

/* Step 4b: linear in one input, f = xᵢ·a(rest) + b(rest) ((x − u·t)/sqrt(1 − u²/c²) in x and in
 * t, q·V_e + √(…) in V_e, x1·cos u + α·x1·cos² u in α): the second difference of the oracle
 * along xᵢ, at 10 %, 50 % and 90 % of its range, against the first difference over the rows
 * (score ≤ the separability tolerance). a is the oracle's slope along xᵢ at each row's other
 * inputs, solved as a part on those values; b is solved on the real rows, labels y − xᵢ·a;
 * xᵢ·a + b has every constant refitted on the real rows. Costs a level, like a split. */
#define LINEAR_ALTERNATIVES 2
static double
linear_score (const KanOracle *f, const double *pts, size_t n, int i, double *low,
              double *slope_step)
{
  int I = f->n_in;
  double at[3], s1 = 0.0, s2 = 0.0;
  g_autofree double *x = g_new (double, 3 * n * I);
  g_autofree double *v = g_new (double, 3 * n);

  at[0] = f->lo[i] + 0.1 * (f->hi[i] - f->lo[i]);
  at[1] = 0.5 * (f->lo[i] + f->hi[i]);
  at[2] = f->hi[i] - 0.1 * (f->hi[i] - f->lo[i]);
  *low = at[0];
  *slope_step = at[2] - at[0];
  if (!(*slope_step > 0.0))
    return HUGE_VAL;
  for (size_t q = 0; q < n; q++)
    for (int k = 0; k < 3; k++)
      {
        memcpy (x + (3 * q + k) * I, pts + q * I, I * sizeof (double));
        x[(3 * q + k) * I + i] = at[k];
      }
  f->eval (f->data, x, 3 * n, v);
  for (size_t q = 0; q < n; q++)
    {
      double d1 = v[3 * q + 2] - v[3 * q], d2 = v[3 * q + 2] - 2.0 * v[3 * q + 1] + v[3 * q];
      s1 += d1 * d1;
      s2 += d2 * d2;
    }
  return s1 > 0.0 && isfinite (s2) ? sqrt (s2 / s1) : HUGE_VAL;
}

/* The oracle's slope along xᵢ (from LOW to LOW + STEP) at each train and test row's other
 * inputs, as a data set over those inputs (VARS, NV of them). */
static KanDataset *
oracle_slope_data (const Ctx *c, const KanOracle *f, int bi, double low, double step,
                   const int *vars, int nv)
{
  int I = c->d->n_in;
  size_t nr[2] = { c->d->n_train, c->d->n_test };
  const double *xs[2] = { c->d->train_x, c->d->test_x };
  double *sx[2], *sy[2];
  KanDataset *sub;

  for (int part = 0; part < 2; part++)
    {
      g_autofree double *full = g_new (double, MAX (2 * nr[part] * I, 1));
      g_autofree double *v = g_new (double, MAX (2 * nr[part], 1));
      sx[part] = g_new (double, MAX (nr[part] * nv, 1));
      sy[part] = g_new (double, MAX (nr[part], 1));
      for (size_t q = 0; q < nr[part]; q++)
        {
          memcpy (full + 2 * q * I, xs[part] + q * I, I * sizeof (double));
          memcpy (full + (2 * q + 1) * I, xs[part] + q * I, I * sizeof (double));
          full[2 * q * I + bi] = low;
          full[(2 * q + 1) * I + bi] = low + step;
          for (int k = 0; k < nv; k++)
            sx[part][q * nv + k] = xs[part][q * I + vars[k]];
        }
      if (nr[part])
        f->eval (f->data, full, 2 * nr[part], v);
      for (size_t q = 0; q < nr[part]; q++)
        sy[part][q] = (v[2 * q + 1] - v[2 * q]) / step;
    }
  sub = kan_dataset_new_arrays (nv, 1, nr[0], nr[1], sx[0], sy[0], sx[1], sy[1], NULL, NULL);
  for (int part = 0; part < 2; part++)
    {
      g_free (sx[part]);
      g_free (sy[part]);
    }
  return sub;
}

static gboolean
try_linear (Ctx *c, const KanOracle *f, const double *pts, size_t n, GError **error)
{
  int I = c->d->n_in, bi = -1, nv = 0;
  double best = HUGE_VAL, low = 0.0, step = 0.0, t0 = g_timer_elapsed (c->timer, NULL), left;
  double tol, sd;
  double sep_tol = CLAMP (SEP_TOL_FACTOR * c->surrogate_rmse / MAX (c->y_std, G_MINDOUBLE),
                          SEP_TOL, SEP_TOL_MAX);
  g_autofree int *vars = g_new (int, I);
  g_autoptr (GPtrArray) vmap = g_ptr_array_new_with_free_func ((GDestroyNotify) kan_expr_free);
  g_autoptr (KanDataset) sub = NULL;
  g_autoptr (KanDiscoverResult) ra = NULL;
  g_autoptr (GString) what = g_string_new (NULL);
  g_autofree char *names = NULL;
  KanDiscoverOptions so;

  if (I < 2 || c->o->decompose < 1)
    return TRUE;
  for (int i = 0; i < I; i++)
    {
      double lw, st, sc = linear_score (f, pts, n, i, &lw, &st);
      if (sc <= sep_tol && sc < best)
        {
          best = sc;
          bi = i;
          low = lw;
          step = st;
        }
    }
  if (bi < 0)
    return TRUE;
  for (int i = 0; i < I; i++)
    if (i != bi)
      {
        g_ptr_array_add (vmap, kan_expr_var (i));
        vars[nv++] = i;
      }
  names = names_of (c->d, vars, nv);
  g_string_printf (what, "linear in %s: y = %s*a(%s) + b(%s) (score %.1e)", c->d->in_names[bi],
                   c->d->in_names[bi], names, names, best);
  add_stage (c, "detect", "decompose", what->str, NAN, NAN, t0);

  /* a: the oracle's slope along xᵢ at each row's other inputs. */
  t0 = g_timer_elapsed (c->timer, NULL);
  sub = oracle_slope_data (c, f, bi, low, step, vars, nv);
  sd = std_of (sub->train_y, sub->n_train);
  /* The slope's error: two oracle values' errors over the step. */
  tol = sd > 0.0 ? MAX (c->o->exact_tol, ORACLE_TOL_FACTOR * G_SQRT2 * c->surrogate_rmse
                                              / step / sd)
                 : c->o->exact_tol;
  if (!time_left (c, &left))
    return TRUE;
  sub_options (c, &so, c->o->decompose - 1, SPLIT_TIME_SHARE / 2, tol);
  if (!solve_part (c, sub, &so, &ra, error))
    return FALSE;
  if (ra == NULL)
    return TRUE;
  {
    g_autofree char *detail = g_strdup_printf ("a(%s) (oracle slope along %s, tolerance %.1e): "
                                               "%s (%s)", names, c->d->in_names[bi], tol,
                                               ra->best->text, ra->exact
                                               ? "within the oracle's error" : "approximate");
    add_stage (c, "subproblem", "decompose", detail, ra->best->train_rmse,
               ra->best->test_rmse, t0);
  }
  /* b on the real rows, for a's best formula and then up to LINEAR_ALTERNATIVES others of its
   * front, while nothing is settled. */
  for (guint q = 0, tried = 0; q < ra->pareto->len + 1 && tried <= LINEAR_ALTERNATIVES
                               && !settled (c); q++)
    {
      KanExpr **cols = (KanExpr **) vmap->pdata;
      const KanExpr *ae = q == 0 ? ra->best->expr
                                 : ((KanDiscoverCandidate *) ra->pareto->pdata[q - 1])->expr;
      g_autoptr (KanExpr) a = NULL, term = NULL;
      g_autoptr (KanDataset) bd = NULL;
      g_autoptr (KanDiscoverResult) rb = NULL;
      g_autofree char *detail = NULL;
      double tb = g_timer_elapsed (c->timer, NULL);

      if (q > 0 && kan_expr_equal (ae, ra->best->expr))
        continue;
      tried++;
      a = kan_decompose_subst (ae, cols);
      term = kan_expr_binary (KAN_EXPR_MUL, kan_expr_var (bi), kan_expr_copy (a));
      /* Labels y − xᵢ·a over the same rows (reduced_data keeps every row without a scale
       * where the columns are finite). */
      bd = kan_decompose_reduced_data (c->d, cols, nv, NULL, NULL);
      if (bd->n_train != c->d->n_train || bd->n_test != c->d->n_test || !time_left (c, &left))
        break;
      for (size_t r = 0; r < bd->n_train; r++)
        bd->train_y[r] = c->d->train_y[r] - kan_expr_eval (term, c->d->train_x + r * I);
      for (size_t r = 0; r < bd->n_test; r++)
        bd->test_y[r] = c->d->test_y[r] - kan_expr_eval (term, c->d->test_x + r * I);
      sub_options (c, &so, c->o->decompose - 1, SPLIT_TIME_SHARE / 2, c->o->exact_tol);
      if (!solve_part (c, bd, &so, &rb, error))
        return FALSE;
      if (rb == NULL)
        continue;
      detail = g_strdup_printf ("b(%s) = y - %s*a on the rows: %s (%s)", names,
                                c->d->in_names[bi], rb->best->text,
                                rb->exact ? "exact" : "approximate");
      add_stage (c, "subproblem", "decompose", detail, rb->best->train_rmse,
                 rb->best->test_rmse, tb);
      for (guint k = 0; k < rb->pareto->len; k++)
        {
          const KanDiscoverCandidate *p = rb->pareto->pdata[k];
          KanExpr *e = kan_expr_binary (KAN_EXPR_ADD, kan_expr_copy (term),
                                        kan_decompose_subst (p->expr, cols));
          e = kan_expr_simplify (e);
          refit_constants (e, c->d);
          e = settle_composed (c, e);
          e = kan_discover_polish (e, c->d, c->o->exact_tol);
          emit (c, e, "decompose", what->str, kan_model_copy (c->surrogate));
        }
    }
  return TRUE;
}

/* Step 5, for two inputs: a product after a substitution, f = g(xᵢ·xⱼ^r)·h(xⱼ), with r a small
 * fraction. g comes from the oracle along xᵢ with xⱼ held at v0, the training value with the
 * largest |xⱼ|^r (the widest stretch of u); it costs a level, like a split. Then h is solved
 * on the real rows, labels divided by g(xᵢ·xⱼ^r) (solve_reduced_cols), and g·h is emitted. */
static gboolean
try_subst (Ctx *c, const KanOracle *f, const double *pts, size_t n, GError **error)
{
  int I = c->d->n_in, bi = -1, bj = -1;
  double best = HUGE_VAL, br = 0.0, v0 = NAN, t0 = g_timer_elapsed (c->timer, NULL), left, tol;
  g_autoptr (KanDataset) sub = NULL;
  g_autoptr (KanDiscoverResult) r = NULL;
  g_autoptr (GString) what = g_string_new (NULL);
  g_autoptr (KanExpr) u = NULL, g = NULL;
  g_autofree char *ut = NULL, *detail = NULL;
  KanDiscoverOptions so;
  KanExpr *col;

  if (I != 2 || c->o->decompose < 1)
    return TRUE;
  for (int i = 0; i < I; i++)
    for (int j = 0; j < I; j++)
      {
        double rr, sc;
        if (i == j)
          continue;
        sc = kan_detect_subst_product (f, pts, n, i, j, TRUE, &rr);
        if (!(sc <= SUBST_TOL) || !(sc < best) || !snap_ratio (rr, MERGE_SNAP, &rr)
            || rr == 0.0 || (!is_integer (rr) && !all_positive (c->d, j)))
          continue;
        best = sc;
        br = rr;
        bi = i;
        bj = j;
      }
  if (bi < 0)
    return TRUE;
  for (size_t q = 0; q < c->d->n_train; q++)
    {
      double v = c->d->train_x[q * I + bj];
      if (isfinite (pow (fabs (v), br)) && v != 0.0
          && (isnan (v0) || pow (fabs (v), br) > pow (fabs (v0), br)))
        v0 = v;
    }
  if (isnan (v0))
    return TRUE;
  u = kan_expr_simplify (kan_expr_binary (KAN_EXPR_MUL, kan_expr_var (bi),
                                          kan_expr_binary (KAN_EXPR_POW, kan_expr_var (bj),
                                                           kan_expr_num (br))));
  ut = kan_expr_to_string (u, (const char *const *) c->d->in_names, KAN_EXPR_STYLE_TEXT);
  g_string_printf (what, "product after a substitution: g(%s)·h(%s) (score %.1e)", ut,
                   c->d->in_names[bj], best);
  add_stage (c, "detect", "decompose", what->str, NAN, NAN, t0);

  /* g's data: the oracle along xᵢ at xⱼ = v0, over the rows' xᵢ. */
  t0 = g_timer_elapsed (c->timer, NULL);
  {
    double x0[2];
    x0[bj] = v0;
    x0[bi] = 0.0;   /* replaced by each row's xᵢ */
    sub = oracle_part_data (c, f, x0, &bi, 1, signed_pow (v0, br), &tol);
  }
  if (!time_left (c, &left))
    return TRUE;
  sub_options (c, &so, c->o->decompose - 1, SPLIT_TIME_SHARE / 2, tol);
  if (!solve_part (c, sub, &so, &r, error))
    return FALSE;
  if (r == NULL)
    {
      detail = g_strdup_printf ("g(%s): no formula", ut);
      add_stage (c, "subproblem", "decompose", detail, NAN, NAN, t0);
      return TRUE;
    }
  detail = g_strdup_printf ("g(%s) (oracle data at %s = %.4g, tolerance %.1e): %s (%s)", ut,
                            c->d->in_names[bj], v0, tol, r->best->text,
                            r->exact ? "within the oracle's error" : "approximate");
  add_stage (c, "subproblem", "decompose", detail, r->best->train_rmse, r->best->test_rmse, t0);
  g = kan_decompose_subst (r->best->expr, &u);
  g_string_printf (what, "h(%s) = y / g(%s)", c->d->in_names[bj], ut);
  col = kan_expr_var (bj);
  if (!solve_reduced (c, &col, 1, g, what->str, error))
    return FALSE;
  /* g judged on oracle data may be an imitation within the oracle's error, and y/g then no
   * simple h: the simpler formulas of g's front in turn (SUBST_ALTERNATIVES of them, each
   * within SUBST_ALTERNATIVE_SHARE of the best's error), while nothing is settled. */
  for (guint q = 0, tried = 0; q < r->pareto->len && tried < SUBST_ALTERNATIVES && !settled (c);
       q++)
    {
      const KanDiscoverCandidate *p = r->pareto->pdata[q];
      g_autoptr (KanExpr) ga = NULL;
      if (p->expr == NULL || kan_expr_equal (p->expr, r->best->expr)
          || !(p->test_rmse <= SUBST_ALTERNATIVE_SHARE * r->best->test_rmse))
        continue;
      tried++;
      ga = kan_decompose_subst (p->expr, &u);
      g_string_printf (what, "h(%s) = y / g(%s), g = %s", c->d->in_names[bj], ut, p->text);
      col = kan_expr_var (bj);
      if (!solve_reduced (c, &col, 1, ga, what->str, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
kan_decompose_oracle (const KanDataset *raw, const KanDiscoverOptions *o, double seconds,
                      GPtrArray *stages, GPtrArray *formulas, GError **error)
{
  Ctx c = { 0 };
  g_autofree double *pts = NULL, *lo = NULL, *hi = NULL;
  KanOracle f;
  size_t n;
  int I = raw->n_in;
  gboolean ok = FALSE;

  c.d = raw;
  c.o = o;
  c.stages = stages;
  c.formulas = formulas;
  c.timer = g_timer_new ();
  c.seconds = seconds;
  c.y_std = std_of (raw->train_y, raw->n_train);
  if (I < 2 || raw->n_train < 8)
    {
      ok = TRUE;
      goto done;
    }
  if (check_cancel (&c, error) || !fit_surrogate (&c, error))
    goto done;

  n = MIN (raw->n_train, N_POINTS);
  pts = g_new (double, n * I);
  for (size_t q = 0; q < n; q++)
    memcpy (pts + q * I, raw->train_x + (q * raw->n_train / n) * I, I * sizeof (double));
  lo = g_new (double, I);
  hi = g_new (double, I);
  for (int i = 0; i < I; i++)
    {
      lo[i] = HUGE_VAL;
      hi[i] = -HUGE_VAL;
      for (size_t q = 0; q < raw->n_train; q++)
        {
          lo[i] = MIN (lo[i], raw->train_x[q * I + i]);
          hi[i] = MAX (hi[i], raw->train_x[q * I + i]);
        }
    }
  f = c.log_oracle ? (KanOracle) { I, log_surrogate_eval, c.log_oracle, lo, hi }
                   : (KanOracle) { I, kan_oracle_model_eval, c.surrogate, lo, hi };

  if (!try_power_factors (&c, &f, pts, n, error))
    goto done;
  if (!settled (&c) && !try_single_index (&c, error))
    goto done;
  if (!settled (&c) && !try_merges (&c, &f, pts, n, error))
    goto done;
  if (!settled (&c) && !try_homogeneous (&c, &f, pts, n, error))
    goto done;
  if (!settled (&c) && !try_split (&c, &f, pts, n, error))
    goto done;
  if (!settled (&c) && !try_linear (&c, &f, pts, n, error))
    goto done;
  if (!settled (&c) && !try_subst (&c, &f, pts, n, error))
    goto done;
  ok = TRUE;

done:
  kan_model_free (c.surrogate);
  log_surrogate_free (c.log_oracle);
  g_timer_destroy (c.timer);
  return ok;
}

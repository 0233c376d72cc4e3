/* kan-spline.c — B-spline bases with local support and least-squares spline fits.
 *
 * The Cox–de Boor recursion is evaluated as a triangle over the one knot span that holds x, so
 * only the k+1 non-zero bases are computed (never all G+k of them). Knots outside the stored
 * vector are continued with the mean spacing; they only enter bases that are not part of the
 * spline, which are dropped, so the stored bases equal pykan's recursion on the full vector.
 *
 * GSL's default error handler aborts; every program that links libkan turns it off in main
 * (gsl_set_error_handler_off), and this file checks return codes instead.
 */
#include "kan-spline.h"
#include "kan-error.h"

#include <math.h>
#include <string.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>
#include <gsl/gsl_errno.h>

/* Singular values below this fraction of the largest are treated as zero by the
 * minimum-norm fallback of kan_spline_fit. */
#define KAN_SPLINE_SVD_RCOND 1e-12

void
kan_knots_extend (double *t,
                  int     G,
                  int     k)
{
  double h = (t[k + G] - t[k]) / G;

  for (int e = 1; e <= k; e++)
    {
      t[k - e] = t[k] - e * h;
      t[k + G + e] = t[k + G] + e * h;
    }
}

void
kan_knots_uniform (double *t,
                   int     G,
                   int     k,
                   double  lo,
                   double  hi)
{
  for (int q = 0; q <= G; q++)
    t[k + q] = lo + (hi - lo) * q / G;
  /* The end points are exact, whatever the rounding of the division. */
  t[k] = lo;
  t[k + G] = hi;
  kan_knots_extend (t, G, k);
}

/* Knot j of the vector t[0..last], continued with spacing h beyond both ends. */
static inline double
knot_at (const double *t,
         int           last,
         double        h,
         int           j)
{
  if (j < 0)
    return t[0] + j * h;
  if (j > last)
    return t[last] + (j - last) * h;
  return t[j];
}

static inline double
safe_div (double num,
          double den)
{
  return den != 0.0 ? num / den : 0.0;
}

int
kan_spline_basis (const double *t,
                  int           G,
                  int           k,
                  double        x,
                  double       *b,
                  double       *db)
{
  int last = G + 2 * k;
  int n_basis = G + k;
  double h = (t[last] - t[0]) / last;
  double left[KAN_SPLINE_MAX_K + 1], right[KAN_SPLINE_MAX_K + 1];
  double N[KAN_SPLINE_MAX_K + 2], dN[KAN_SPLINE_MAX_K + 2];
  int lo, hi, s, m0, clip;

  g_assert (k >= 0 && k <= KAN_SPLINE_MAX_K);

  /* Half-open support [t_0, t_last): NaN fails both comparisons. */
  if (!(x >= t[0] && x < t[last]))
    {
      memset (b, 0, sizeof (double) * (k + 1));
      if (db)
        memset (db, 0, sizeof (double) * (k + 1));
      return -1;
    }

  /* Span s with t_s <= x < t_{s+1}. */
  lo = 0;
  hi = last;
  while (hi - lo > 1)
    {
      int mid = (lo + hi) / 2;
      if (x >= t[mid])
        lo = mid;
      else
        hi = mid;
    }
  s = lo;

  for (int j = 1; j <= k; j++)
    {
      left[j] = x - knot_at (t, last, h, s + 1 - j);
      right[j] = knot_at (t, last, h, s + j) - x;
    }

  N[0] = 1.0;
  for (int j = 1; j <= k; j++)
    {
      double saved = 0.0;

      if (j == k && db)
        {
          /* N[r] = B_{s-k+1+r, k-1}; the derivative of B_{m,k}, m = s-k+r, is
           * k·(B_{m,k-1}/(t_{m+k}-t_m) − B_{m+1,k-1}/(t_{m+k+1}-t_{m+1})). */
          for (int r = 0; r <= k; r++)
            {
              int m = s - k + r;
              double d = 0.0;
              if (r >= 1)
                d += safe_div (N[r - 1], knot_at (t, last, h, m + k) - knot_at (t, last, h, m));
              if (r <= k - 1)
                d -= safe_div (N[r], knot_at (t, last, h, m + k + 1)
                                     - knot_at (t, last, h, m + 1));
              dN[r] = k * d;
            }
        }

      for (int r = 0; r < j; r++)
        {
          double temp = safe_div (N[r], right[r + 1] + left[j - r]);
          N[r] = saved + right[r + 1] * temp;
          saved = left[j - r] * temp;
        }
      N[j] = saved;
    }
  if (k == 0 && db)
    dN[0] = 0.0;

  /* N[r] = B_{s-k+r, k}. Keep the window inside the real bases 0 … G+k-1. */
  m0 = s - k;
  clip = m0 < 0 ? 0 : (m0 > n_basis - (k + 1) ? n_basis - (k + 1) : m0);
  for (int r = 0; r <= k; r++)
    {
      int src = clip + r - m0;   /* index into N of basis clip+r */
      gboolean ok = src >= 0 && src <= k;
      b[r] = ok ? N[src] : 0.0;
      if (db)
        db[r] = ok ? dN[src] : 0.0;
    }
  return clip;
}

void
kan_spline_tables (const double *t,
                   int           G,
                   int           k,
                   double       *ext,
                   double       *inv)
{
  int last = G + 2 * k, len = G + 4 * k + 1;
  double h = (t[last] - t[0]) / last;

  for (int q = 0; q < len; q++)
    ext[q] = knot_at (t, last, h, q - k);
  for (int j = 1; j <= k; j++)
    for (int q = 0; q < len; q++)
      inv[(size_t) (j - 1) * len + q] = q + j < len ? safe_div (1.0, ext[q + j] - ext[q]) : 0.0;
}

double
kan_spline_eval (const double *t,
                 int           G,
                 int           k,
                 const double *coef,
                 double        x)
{
  double b[KAN_SPLINE_MAX_K + 1];
  double y = 0.0;
  int m0 = kan_spline_basis (t, G, k, x, b, NULL);

  if (m0 < 0)
    return 0.0;
  for (int r = 0; r <= k; r++)
    y += coef[m0 + r] * b[r];
  return y;
}

/* Minimum-norm least squares through an SVD with small singular values dropped.
 * A is n × p (row-major, any n, p); Y is n × n_rhs; COEF receives n_rhs × p. */
static gboolean
fit_minnorm_svd (const double *A,
                 size_t        n,
                 size_t        p,
                 const double *y,
                 int           n_rhs,
                 double       *coef)
{
  /* gsl_linalg_SV_decomp needs rows >= columns: decompose A or Aᵀ, whichever is tall. */
  gboolean tall = n >= p;
  size_t M = tall ? n : p, N = tall ? p : n;
  gsl_matrix *U = gsl_matrix_alloc (M, N);
  gsl_matrix *V = gsl_matrix_alloc (N, N);
  gsl_vector *S = gsl_vector_alloc (N);
  gsl_vector *work = gsl_vector_alloc (N);
  double *tmp = g_new0 (double, N);
  gboolean ok;

  for (size_t r = 0; r < n; r++)
    for (size_t c = 0; c < p; c++)
      {
        if (tall)
          gsl_matrix_set (U, r, c, A[r * p + c]);
        else
          gsl_matrix_set (U, c, r, A[r * p + c]);
      }
  ok = gsl_linalg_SV_decomp (U, V, S, work) == GSL_SUCCESS;
  if (ok)
    {
      double smax = gsl_vector_get (S, 0);
      for (int rhs = 0; rhs < n_rhs; rhs++)
        {
          double *out = coef + (size_t) rhs * p;
          /* tall: A = U S Vᵀ, x = V S⁻¹ Uᵀ y.  wide: Aᵀ = U S Vᵀ, x = U S⁻¹ Vᵀ y. */
          for (size_t q = 0; q < N; q++)
            {
              double sq = gsl_vector_get (S, q), acc = 0.0;
              if (!(sq > KAN_SPLINE_SVD_RCOND * smax))
                {
                  tmp[q] = 0.0;
                  continue;
                }
              for (size_t r = 0; r < n; r++)
                acc += (tall ? gsl_matrix_get (U, r, q) : gsl_matrix_get (V, r, q))
                       * y[r * n_rhs + rhs];
              tmp[q] = acc / sq;
            }
          for (size_t c = 0; c < p; c++)
            {
              double acc = 0.0;
              for (size_t q = 0; q < N; q++)
                acc += (tall ? gsl_matrix_get (V, c, q) : gsl_matrix_get (U, c, q)) * tmp[q];
              out[c] = acc;
            }
        }
    }
  g_free (tmp);
  gsl_vector_free (work);
  gsl_vector_free (S);
  gsl_matrix_free (V);
  gsl_matrix_free (U);
  return ok;
}

gboolean
kan_spline_fit (const double *t,
                int           G,
                int           k,
                const double *x,
                const double *y,
                size_t        n,
                int           n_rhs,
                double       *coef,
                GError      **error)
{
  size_t p = (size_t) G + k;
  gsl_matrix *ata;
  gsl_vector *rhs, *sol;
  double *aty;
  double b[KAN_SPLINE_MAX_K + 1];
  gboolean chol_ok = FALSE;

  if (n == 0)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_DATA, "no samples to fit a spline to");
      return FALSE;
    }

  /* Normal equations, banded by local support: AᵀA has bandwidth k. */
  ata = gsl_matrix_calloc (p, p);
  aty = g_new0 (double, p * n_rhs);
  for (size_t s = 0; s < n; s++)
    {
      int m0 = kan_spline_basis (t, G, k, x[s], b, NULL);
      if (m0 < 0)
        continue;
      for (int r = 0; r <= k; r++)
        {
          for (int c = 0; c <= k; c++)
            *gsl_matrix_ptr (ata, m0 + r, m0 + c) += b[r] * b[c];
          for (int q = 0; q < n_rhs; q++)
            aty[(size_t) (m0 + r) * n_rhs + q] += b[r] * y[s * n_rhs + q];
        }
    }

  if (n >= p)
    chol_ok = gsl_linalg_cholesky_decomp1 (ata) == GSL_SUCCESS;
  if (chol_ok)
    {
      /* A Cholesky factor that barely succeeds hides a rank-deficient system (a basis with
       * almost no samples); those go to the SVD below. */
      double dmin = INFINITY, dmax = 0.0;
      for (size_t r = 0; r < p; r++)
        {
          double d = gsl_matrix_get (ata, r, r);
          dmin = MIN (dmin, d);
          dmax = MAX (dmax, d);
        }
      if (!(dmin > sqrt (KAN_SPLINE_SVD_RCOND) * dmax))
        chol_ok = FALSE;
    }
  if (chol_ok)
    {
      rhs = gsl_vector_alloc (p);
      sol = gsl_vector_alloc (p);
      for (int q = 0; q < n_rhs; q++)
        {
          for (size_t r = 0; r < p; r++)
            gsl_vector_set (rhs, r, aty[r * n_rhs + q]);
          gsl_linalg_cholesky_solve (ata, rhs, sol);
          for (size_t r = 0; r < p; r++)
            coef[(size_t) q * p + r] = gsl_vector_get (sol, r);
        }
      gsl_vector_free (sol);
      gsl_vector_free (rhs);
    }
  gsl_matrix_free (ata);
  g_free (aty);

  if (!chol_ok)
    {
      double *A = g_new0 (double, n * p);
      gboolean ok;
      for (size_t s = 0; s < n; s++)
        {
          int m0 = kan_spline_basis (t, G, k, x[s], b, NULL);
          if (m0 >= 0)
            for (int r = 0; r <= k; r++)
              A[s * p + m0 + r] = b[r];
        }
      ok = fit_minnorm_svd (A, n, p, y, n_rhs, coef);
      g_free (A);
      if (!ok)
        {
          g_set_error (error, KAN_ERROR, KAN_ERROR_DATA,
                       "least-squares spline fit failed (singular value decomposition did not "
                       "converge)");
          return FALSE;
        }
    }

  for (size_t r = 0; r < p * n_rhs; r++)
    if (!isfinite (coef[r]))
      {
        g_set_error (error, KAN_ERROR, KAN_ERROR_NONFINITE,
                     "least-squares spline fit produced non-finite coefficients");
        return FALSE;
      }
  return TRUE;
}

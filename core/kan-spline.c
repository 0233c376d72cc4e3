/* kan-spline.c — B-spline bases with local support and least-squares spline fits.
 *
 * The Cox–de Boor recursion is evaluated as a triangle over the one knot span that holds x, so
 * only the k+1 non-zero bases are computed (never all G+k of them). Knots outside the stored
 * vector are continued with the mean spacing; they only enter bases that are not part of the
 * spline, which are dropped, so the stored bases equal pykan's recursion on the full vector.
 *
 * Least-squares fits never form anything of size G²: a sample touches k+1 neighbouring bases,
 * so the normal matrix AᵀA, its Cholesky factor, the QR factor R of A and (for samples sorted
 * by their first basis) A·Aᵀ are all banded. Memory grows with rows + G·k and time with
 * rows·k² + G·k², so a fit on G = 100000 intervals costs what its samples cost. In order:
 * the Cholesky solution of AᵀA c = Aᵀy (well-conditioned systems, nearly always); the QR of
 * A (full rank but too ill-conditioned for the normal equations); the dual A·Aᵀ z = y, c = Aᵀz
 * (underdetermined with independent rows: pykan's initialisation); and iterated ridge
 * regression for what remains (rank-deficient systems: the minimum-norm solution, with
 * directions whose singular value is far below the ridge damped rather than blown up).
 */
#include "kan-spline.h"
#include "kan-spline-private.h"
#include "kan-inline-private.h"
#include "kan-error.h"

#include <math.h>
#include <string.h>

/* The plain Cholesky solution of the normal equations is used when the smallest diagonal entry
 * of the factor is above this fraction of the largest (a condition number of AᵀA below about
 * 1e12); other systems are rank-deficient, or nearly, and get the minimum-norm solution. */
#define KAN_SPLINE_CHOL_RCOND 1e-6

/* The minimum-norm path: the ridge λ relative to the largest diagonal entry of AᵀA, the
 * relative size of a correction at which the iteration has converged, and its most
 * iterations. λ trades speed (components with σ² ≫ λ converge in a step or two) against
 * rounding (a correction carries about 1e-16/KAN_SPLINE_RIDGE of relative error). */
#define KAN_SPLINE_RIDGE          1e-4

/* A system the normal equations cannot take is solved by QR of the design matrix when the
 * smallest diagonal entry of R is above this fraction of the largest (the cut-off the SVD it
 * replaces used for singular values); right-hand sides are rotated along, at most
 * KAN_SPLINE_QR_RHS_MAX of them at once (more go to the minimum-norm path). */
#define KAN_SPLINE_QR_RCOND       1e-12

/* Underdetermined systems whose dual normal matrix A·Aᵀ has at most this bandwidth (in sorted
 * samples) and passes the Cholesky test are solved exactly through it (see fit_dual). */
#define KAN_SPLINE_DUAL_MAX_BAND  (2 * KAN_SPLINE_MAX_K + 4)
#define KAN_SPLINE_QR_RHS_MAX     64
#define KAN_SPLINE_RIDGE_TOL      1e-14
#define KAN_SPLINE_RIDGE_MAX_ITER 200

void
kan_knots_extend (double *t,
                  int     G,
                  int     k)
{
  double h;

  g_return_if_fail (t != NULL);
  g_return_if_fail (G >= 1 && k >= 0);
  h = (t[k + G] - t[k]) / G;

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
  g_return_if_fail (t != NULL);
  g_return_if_fail (G >= 1 && k >= 0);
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


/* The span lo with t_lo <= x < t_{lo+1} among knots T[0..LAST] (binary search; x inside). */
static int
span_search (const double *t, int last, double x)
{
  int lo = 0, hi = last;

  while (hi - lo > 1)
    {
      int mid = (lo + hi) / 2;
      if (x >= t[mid])
        lo = mid;
      else
        hi = mid;
    }
  return lo;
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
  double h;
  double left[KAN_SPLINE_MAX_K + 1], right[KAN_SPLINE_MAX_K + 1];
  double N[KAN_SPLINE_MAX_K + 2], dN[KAN_SPLINE_MAX_K + 2];
  int s, m0, clip;

  g_return_val_if_fail (t != NULL && b != NULL, -1);
  g_return_val_if_fail (G >= 1 && k >= 0 && k <= KAN_SPLINE_MAX_K, -1);
  h = (t[last] - t[0]) / last;

  /* Half-open support [t_0, t_last): NaN fails both comparisons. */
  if (!(x >= t[0] && x < t[last]))
    {
      memset (b, 0, sizeof (double) * (k + 1));
      if (db)
        memset (db, 0, sizeof (double) * (k + 1));
      return -1;
    }

  /* Span s with t_s <= x < t_{s+1}. */
  s = span_search (t, last, x);

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

/* Samples per block of kan_spline_basis_many: two vectors of four doubles (AVX2; two SSE2
 * vectors each otherwise), whose divisions overlap. */
#define MANY_VECS 2
#define MANY_LANES (4 * MANY_VECS)
typedef double V4d __attribute__ ((vector_size (4 * sizeof (double))));
typedef gint64 V4i __attribute__ ((vector_size (4 * sizeof (gint64))));

/* kan_spline_basis without derivatives for the samples XS[0..n) (n ≤ MANY_LANES; the other
 * lanes are padding) with K a constant where the caller makes it one: the span search and
 * knot differences per sample, then the recursion for all lanes at once. Each lane does the
 * operations of kan_spline_basis in its order (safe_div divides by the same denominator or
 * gives 0), so the bases have the same bits. */
KAN_HOT_INLINE void
basis_lanes (const double *restrict t,
             int                    G,
             int                    k,
             double                 h,
             gboolean               monotone,
             int          *restrict hint,
             const double *restrict xs,
             size_t                 n,
             int          *restrict m0s,
             double       *restrict b)
{
  const int last = G + 2 * k, n_basis = G + k;
  const V4d zero = { 0.0, 0.0, 0.0, 0.0 }, one = { 1.0, 1.0, 1.0, 1.0 };
  V4d left[KAN_SPLINE_MAX_K + 1][MANY_VECS], right[KAN_SPLINE_MAX_K + 1][MANY_VECS];
  V4d N[KAN_SPLINE_MAX_K + 2][MANY_VECS];
  int span[MANY_LANES];
  gboolean inside[MANY_LANES];

  for (size_t l = 0; l < MANY_LANES; l++)
    {
      double x = l < n ? xs[l] : t[k];
      int lo = 0;

      /* Half-open support [t_0, t_last): NaN fails both comparisons. Outside, the lane
       * computes the bases of the first knot and drops them. */
      inside[l] = x >= t[0] && x < t[last];
      if (!inside[l])
        x = t[0];
      /* Non-decreasing knots have one span with t_s <= x < t_{s+1}, so the previous point's
       * span, or the next one, is the binary search's answer when it holds x (sorted points:
       * nearly always). */
      if (monotone && x >= t[*hint] && x < t[*hint + 1])
        lo = *hint;
      else if (monotone && *hint + 2 <= last && x >= t[*hint + 1] && x < t[*hint + 2])
        lo = *hint + 1;
      else
        lo = span_search (t, last, x);
      *hint = lo;
      span[l] = lo;
      if (lo >= k - 1 && lo + k <= last)
        for (int j = 1; j <= k; j++)
          {
            left[j][l / 4][l % 4] = x - t[lo + 1 - j];
            right[j][l / 4][l % 4] = t[lo + j] - x;
          }
      else
        for (int j = 1; j <= k; j++)
          {
            left[j][l / 4][l % 4] = x - knot_at (t, last, h, lo + 1 - j);
            right[j][l / 4][l % 4] = knot_at (t, last, h, lo + j) - x;
          }
    }

  for (int v = 0; v < MANY_VECS; v++)
    N[0][v] = one;
#pragma GCC unroll 4
  for (int j = 1; j <= k; j++)
    {
      V4d saved[MANY_VECS];

      for (int v = 0; v < MANY_VECS; v++)
        saved[v] = zero;
#pragma GCC unroll 4
      for (int r = 0; r < j; r++)
#pragma GCC unroll 2
        for (int v = 0; v < MANY_VECS; v++)
          {
            /* safe_div with a division every lane can do: a zero denominator divides by 1
             * and its quotient is replaced by 0. */
            V4d den = right[r + 1][v] + left[j - r][v];
            V4i nz = den != zero;
            V4d q = N[r][v] / (V4d) (((V4i) den & nz) | ((V4i) one & ~nz));
            V4d temp = (V4d) ((V4i) q & nz);
            N[r][v] = saved[v] + right[r + 1][v] * temp;
            saved[v] = left[j - r][v] * temp;
          }
      for (int v = 0; v < MANY_VECS; v++)
        N[j][v] = saved[v];
    }

  for (size_t l = 0; l < n; l++)
    {
      int m0 = span[l] - k;
      int clip = m0 < 0 ? 0 : (m0 > n_basis - (k + 1) ? n_basis - (k + 1) : m0);
      double *bl = b + l * (k + 1);

      if (!inside[l])
        {
          memset (bl, 0, sizeof (double) * (k + 1));
          m0s[l] = -1;
          continue;
        }
      for (int r = 0; r <= k; r++)
        {
          int src = clip + r - m0;
          bl[r] = src >= 0 && src <= k ? N[src][l / 4][l % 4] : 0.0;
        }
      m0s[l] = clip;
    }
}

KAN_SIMD_CLONES void
kan_spline_basis_many (const double *t,
                       int           G,
                       int           k,
                       const double *xs,
                       size_t        n,
                       int          *m0s,
                       double       *b)
{
  int last = G + 2 * k, hint = 0;
  gboolean monotone = TRUE;
  double h;

  g_return_if_fail (t != NULL);
  g_return_if_fail (G >= 1 && k >= 0 && k <= KAN_SPLINE_MAX_K);
  g_return_if_fail ((xs != NULL && m0s != NULL && b != NULL) || n == 0);
  h = (t[last] - t[0]) / last;
  for (int q = 0; q < last; q++)
    monotone = monotone && t[q] <= t[q + 1];
  for (size_t s = 0; s < n; s += MANY_LANES)
    {
      size_t c = MIN ((size_t) MANY_LANES, n - s);
      if (k == 3)
        basis_lanes (t, G, 3, h, monotone, &hint, xs + s, c, m0s + s, b + s * 4);
      else
        basis_lanes (t, G, k, h, monotone, &hint, xs + s, c, m0s + s, b + s * (k + 1));
    }
}

void
kan_spline_tables (const double *t,
                   int           G,
                   int           k,
                   double       *ext,
                   double       *inv)
{
  int last = G + 2 * k, len = G + 4 * k + 1;
  double h;

  g_return_if_fail (t != NULL && ext != NULL && (inv != NULL || k == 0));
  g_return_if_fail (G >= 1 && k >= 0 && k <= KAN_SPLINE_MAX_K);
  h = (t[last] - t[0]) / last;
  for (int q = 0; q < len; q++)
    ext[q] = knot_at (t, last, h, q - k);
  for (int j = 1; j <= k; j++)
    for (int q = 0; q < len; q++)
      inv[(size_t) (j - 1) * len + q] = q + j < len ? safe_div (1.0, ext[q + j] - ext[q]) : 0.0;
}

/* Largest deviation of an interior knot from the uniform grid, as a fraction of the mean
 * spacing, for which kan_spline_basis_block3 guesses the span by arithmetic: the guess is then
 * off by at most one span, and one comparison with each neighbouring knot corrects it. */
#define BLOCK3_UNIFORM_TOL 0.1

/* TRUE if the interior knots t_3 … t_{G+3} are within BLOCK3_UNIFORM_TOL spacings of a
 * uniform grid (which makes them strictly increasing). */
static gboolean
knots_near_uniform (const double *t, int G)
{
  double lo = t[3], h = (t[G + 3] - lo) / G;

  if (!(h > 0.0))
    return FALSE;
  for (int q = 1; q < G; q++)
    if (!(fabs (t[3 + q] - (lo + q * h)) <= BLOCK3_UNIFORM_TOL * h))
      return FALSE;
  return TRUE;
}

/* The span s (t_s <= x < t_{s+1}) of a point X inside the grid (t_3 <= x < t_{G+3}): by
 * arithmetic on near-uniform knots (UNIFORM, IH = G/(t_{G+3} − t_3); a guess and one
 * correction) or else by a branch-free binary search. Both give the largest such s, so the
 * bases have the same bits either way. */
G_ALWAYS_INLINE static inline long
span3 (const double *restrict t, int G, double x, gboolean uniform, double ih)
{
  if (uniform)
    {
      long q = (long) ((x - t[3]) * ih), sp = 3 + MIN (q, (long) G - 1);
      sp -= x < t[sp];
      sp += x >= t[sp + 1];
      return sp;
    }
  else
    {
      const double *base = t;
      int cnt = G + 6;   /* search t_0 … t_{last-1} */
      while (cnt > 1)
        {
          int half = cnt >> 1;
          base = x >= base[half] ? base + half : base;
          cnt -= half;
        }
      return base - t;
    }
}

/* The points inside the grid (where all four bases exist) by span3 and the recursion, every
 * other point as kan_spline_basis_tab3 does it. */
KAN_HOT_INLINE void
basis_block3_points (const double *restrict t,
                     const double *restrict ext,
                     const double *restrict inv,
                     int                    G,
                     const double *restrict xs,
                     size_t                 n,
                     int          *restrict m0,
                     double       *restrict b,
                     double       *restrict db,
                     gboolean               uniform,
                     gboolean               with_d)
{
  const int len = G + 13;
  const double lo = t[3], hi = t[G + 3], ih = G / (hi - lo);

  for (size_t s = 0; s < n; s++)
    {
      double x = xs[s], D[4];
      long sp;

      if (!(x >= lo && x < hi))
        {
          m0[s] = MAX (0, kan_spline_basis_tab3 (t, ext, inv, G, x, b + s * 4,
                                                 with_d ? db + s * 4 : NULL));
          continue;
        }
      sp = span3 (t, G, x, uniform, ih);
      kan_spline_cubic_at_span (ext, inv, len, sp, x, b + s * 4, with_d ? db + s * 4 : D);
      m0[s] = (int) sp - 3;
    }
}

KAN_SIMD_CLONES void
kan_spline_basis_block3 (const double *t,
                         const double *ext,
                         const double *inv,
                         int           G,
                         const double *xs,
                         size_t        n,
                         int          *m0,
                         double       *b,
                         double       *db)
{
  gboolean uniform;

  g_return_if_fail (t != NULL && ext != NULL && inv != NULL);
  g_return_if_fail ((xs != NULL && m0 != NULL && b != NULL) || n == 0);
  uniform = knots_near_uniform (t, G);
  if (uniform && db)
    basis_block3_points (t, ext, inv, G, xs, n, m0, b, db, TRUE, TRUE);
  else if (uniform)
    basis_block3_points (t, ext, inv, G, xs, n, m0, b, db, TRUE, FALSE);
  else if (db)
    basis_block3_points (t, ext, inv, G, xs, n, m0, b, db, FALSE, TRUE);
  else
    basis_block3_points (t, ext, inv, G, xs, n, m0, b, db, FALSE, FALSE);
}

/* kan_spline_first3 with the knots' uniformity a constant. */
KAN_HOT_INLINE void
first3_points (const double *restrict t, const double *restrict ext, const double *restrict inv,
               int G, const double *restrict xs, size_t n, int *restrict m0, gboolean uniform)
{
  const double lo = t[3], hi = t[G + 3], ih = G / (hi - lo);

  for (size_t s = 0; s < n; s++)
    {
      double x = xs[s], B[4];
      if (x >= lo && x < hi)
        m0[s] = (int) span3 (t, G, x, uniform, ih) - 3;
      else
        m0[s] = MAX (0, kan_spline_basis_tab3 (t, ext, inv, G, x, B, NULL));
    }
}

void
kan_spline_first3 (const double *t,
                   const double *ext,
                   const double *inv,
                   int           G,
                   const double *xs,
                   size_t        n,
                   int          *m0)
{
  g_return_if_fail (t != NULL && ext != NULL && inv != NULL);
  g_return_if_fail ((xs != NULL && m0 != NULL) || n == 0);
  if (knots_near_uniform (t, G))
    first3_points (t, ext, inv, G, xs, n, m0, TRUE);
  else
    first3_points (t, ext, inv, G, xs, n, m0, FALSE);
}

KAN_SIMD_CLONES void
kan_spline_cubic_run (const double *ext,
                      const double *inv,
                      int           G,
                      int           q,
                      const double *xs,
                      size_t        n,
                      double       *b,
                      double       *db,
                      size_t        stride)
{
  KanCubicSpan c;

  g_return_if_fail (ext != NULL && inv != NULL && q >= 0 && q < G);
  g_return_if_fail ((xs != NULL && b != NULL) || n == 0);
  kan_spline_cubic_span (ext, inv, G + 13, q + 3, &c);
  if (db)
    kan_spline_cubic_points (&c, xs, n, b, b + stride, b + 2 * stride, b + 3 * stride, db,
                             db + stride, db + 2 * stride, db + 3 * stride, TRUE);
  else
    kan_spline_cubic_points (&c, xs, n, b, b + stride, b + 2 * stride, b + 3 * stride, NULL,
                             NULL, NULL, NULL, FALSE);
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
  int m0;

  g_return_val_if_fail (coef != NULL, NAN);
  m0 = kan_spline_basis (t, G, k, x, b, NULL);
  if (m0 < 0)
    return 0.0;
  for (int r = 0; r <= k; r++)
    y += coef[m0 + r] * b[r];
  return y;
}

/* ------------------------------------------------------------------------------------------ */
/* Banded least squares                                                                        */

/* The normal matrix AᵀA of a spline fit has bandwidth k (a sample touches k+1 neighbouring
 * bases), and so do its Cholesky factor and the ridge matrix AᵀA + λI. Both are kept as
 * p × (k+1) arrays: BAND[i·(k+1) + d] holds entry (i, i−d) of the lower triangle. */

/* In-place Cholesky factor L (same layout) of the band matrix AB; FALSE if a pivot is not
 * positive. Cost p·k²/2, no fill-in outside the band. */
static gboolean
band_cholesky (double *ab, size_t p, int k)
{
  const int K1 = k + 1;

  for (size_t i = 0; i < p; i++)
    {
      size_t j0 = i >= (size_t) k ? i - k : 0;
      for (size_t j = j0; j <= i; j++)
        {
          double s = ab[i * K1 + (i - j)];
          for (size_t q = j0; q < j; q++)
            s -= ab[i * K1 + (i - q)] * ab[j * K1 + (j - q)];
          if (j < i)
            ab[i * K1 + (i - j)] = s / ab[j * K1];
          else
            {
              if (!(s > 0.0))
                return FALSE;
              ab[i * K1] = sqrt (s);
            }
        }
    }
  return TRUE;
}

/* Solves L·Lᵀ·x = b in place (B becomes X) with the factor of band_cholesky. */
static void
band_solve (const double *l, size_t p, int k, double *b)
{
  const int K1 = k + 1;

  for (size_t i = 0; i < p; i++)
    {
      size_t j0 = i >= (size_t) k ? i - k : 0;
      double s = b[i];
      for (size_t j = j0; j < i; j++)
        s -= l[i * K1 + (i - j)] * b[j];
      b[i] = s / l[i * K1];
    }
  for (size_t i = p; i-- > 0;)
    {
      size_t j1 = MIN (p - 1, i + k);
      double s = b[i];
      for (size_t j = i + 1; j <= j1; j++)
        s -= l[j * K1 + (j - i)] * b[j];
      b[i] = s / l[i * K1];
    }
}

/* OUT = AB·X for the symmetric band matrix AB. */
static void
band_symv (const double *ab, size_t p, int k, const double *x, double *out)
{
  const int K1 = k + 1;

  for (size_t i = 0; i < p; i++)
    out[i] = ab[i * K1] * x[i];
  for (size_t i = 0; i < p; i++)
    for (int d = 1; d <= k && (size_t) d <= i; d++)
      {
        double a = ab[i * K1 + d];
        out[i] += a * x[i - d];
        out[i - d] += a * x[i];
      }
}

gsize
kan_spline_fit_bytes (int G, int k, size_t n, int n_rhs)
{
  double p = (double) G + k, K1 = k + 1;
  double bytes;

  g_return_val_if_fail (G >= 1 && k >= 0 && n_rhs >= 0, 0);
  /* The normal matrix and its factor or R (2·p·K1), AᵀY, QᵀY and the solution (3·p·n_rhs),
   * two work vectors, the index maps and the counting sort (6·p), the sample order of the QR
   * (an index and a first basis per sample), and the dual path's bases, band and vector. */
  bytes = (2 * p * K1 + 3 * p * n_rhs + 6 * p) * sizeof (double)
          + (double) n * (sizeof (size_t) + sizeof (int))
          + MIN ((double) n, p) * (K1 + KAN_SPLINE_DUAL_MAX_BAND + 2) * sizeof (double);
  return bytes >= (double) G_MAXSIZE ? G_MAXSIZE : (gsize) bytes;
}

/* ORDER[0..N) the samples sorted by their first basis M0S[s] (a stable counting sort on
 * m0 + 1 over P + 1 keys: samples outside the knots, m0 = −1, come first, as key 0). */
static void
order_by_first_basis (const int *m0s,
                      size_t     n,
                      size_t     p,
                      size_t    *order)
{
  size_t *start = g_new0 (size_t, p + 2);

  for (size_t s = 0; s < n; s++)
    start[m0s[s] + 1]++;
  for (size_t q = p + 1; q > 0; q--)
    start[q] = start[q - 1];
  start[0] = 0;
  for (size_t q = 1; q <= p + 1; q++)
    start[q] += start[q - 1];
  for (size_t s = 0; s < n; s++)
    order[start[m0s[s] + 1]++] = s;
  g_free (start);
}

/* Least squares by Givens QR of the (compressed) design matrix itself, one sample row at a
 * time into the band R (R[i·(k+1) + d] = R(i, i+d)) and Z = Qᵀy (m × n_rhs): accurate to
 * ε·κ(A) where the normal equations lose ε·κ(A)². The rows go in by their first basis (a
 * counting sort), which keeps every rotation inside the band. CIDX maps a basis to its
 * compressed column (or −1). Returns FALSE if R's diagonal shows a (numerically)
 * rank-deficient A, which needs the minimum-norm path; else COEF (n_rhs × m) holds the
 * solution. */
static gboolean
fit_qr (const double *t, int G, int k, const double *x, const double *y, size_t n, int n_rhs,
        const gssize *cidx, size_t m, double *r, double *z, double *coef)
{
  const int K1 = k + 1;
  const size_t p = (size_t) G + k;
  double b[KAN_SPLINE_MAX_K + 1], h[KAN_SPLINE_MAX_K + 1], rmin = INFINITY, rmax = 0.0;
  double yv[KAN_SPLINE_QR_RHS_MAX];
  size_t *order;
  int *m0s;

  if (n_rhs > KAN_SPLINE_QR_RHS_MAX)
    return FALSE;
  m0s = g_new (int, n);
  order = g_new (size_t, n);
  for (size_t s = 0; s < n; s++)
    m0s[s] = kan_spline_basis (t, G, k, x[s], b, NULL);
  order_by_first_basis (m0s, n, p, order);
  g_free (m0s);

  memset (r, 0, sizeof (double) * m * K1);
  memset (z, 0, sizeof (double) * m * n_rhs);
  for (size_t o = 0; o < n; o++)
    {
      size_t s = order[o];
      int m0 = kan_spline_basis (t, G, k, x[s], b, NULL), w = 0;
      gssize c0 = -1;
      if (m0 < 0)
        continue;
      /* The row in compressed columns from c0 (its first non-zero): h[col − c0]. Columns are
       * increasing in the basis index, so col − c0 ≤ k; a basis that is zero here (at a knot,
       * or between coincident knots) may sit between two that are not. */
      for (int q = 0; q <= k; q++)
        h[q] = 0.0;
      for (int q = 0; q <= k; q++)
        if (b[q] != 0.0 && cidx[m0 + q] >= 0)
          {
            gssize col = cidx[m0 + q];
            if (c0 < 0)
              c0 = col;
            h[col - c0] = b[q];
            w = (int) (col - c0) + 1;
          }
      for (int q = 0; q < n_rhs; q++)
        yv[q] = y[s * n_rhs + q];
      for (int j = 0; j < w && c0 >= 0; j++)
        {
          size_t i = (size_t) c0 + j;
          double piv = h[j], rii, cs, sn, hyp;
          if (piv == 0.0)
            continue;
          rii = r[i * K1];
          hyp = hypot (rii, piv);
          cs = rii / hyp;
          sn = piv / hyp;
          r[i * K1] = hyp;
          for (int d = 1; j + d < K1 && i + d < m; d++)
            {
              double a = r[i * K1 + d], e = h[j + d];
              r[i * K1 + d] = cs * a + sn * e;
              h[j + d] = -sn * a + cs * e;
            }
          for (int q = 0; q < n_rhs; q++)
            {
              double a = z[i * n_rhs + q], e = yv[q];
              z[i * n_rhs + q] = cs * a + sn * e;
              yv[q] = -sn * a + cs * e;
            }
        }
    }
  g_free (order);
  for (size_t i = 0; i < m; i++)
    {
      rmin = MIN (rmin, fabs (r[i * K1]));
      rmax = MAX (rmax, fabs (r[i * K1]));
    }
  if (!(rmin > KAN_SPLINE_QR_RCOND * rmax))
    return FALSE;
  for (int q = 0; q < n_rhs; q++)
    {
      double *c = coef + (size_t) q * m;
      for (size_t i = m; i-- > 0;)
        {
          double acc = z[i * n_rhs + q];
          for (int d = 1; d <= k && i + d < m; d++)
            acc -= r[i * K1 + d] * c[i + d];
          c[i] = acc / r[i * K1];
        }
    }
  return TRUE;
}

/* The minimum-norm solution of an underdetermined A c = y with independent rows (pykan's
 * initialisation: G+1 knot values, G+k bases), from the dual normal equations: c = Aᵀz with
 * A·Aᵀ z = y. With the samples sorted by their first basis, A·Aᵀ is banded too (rows whose
 * bases overlap are close); its bandwidth BW is at most KAN_SPLINE_DUAL_MAX_BAND here. Returns
 * FALSE, leaving the work to the ridge path, for a wider band, dependent rows or a condition
 * beyond the Cholesky acceptance test. COEF is n_rhs × p (every basis). */
static gboolean
fit_dual (const double *t, int G, int k, const double *x, const double *y, size_t n, int n_rhs,
          double *coef)
{
  const int K1 = k + 1;
  const size_t p = (size_t) G + k;
  size_t *order, bw = 0;
  int *m0s;
  double *bas, *band = NULL, *z = NULL, lmin = INFINITY, lmax = 0.0;
  gboolean ok = FALSE;

  m0s = g_new (int, n);
  order = g_new (size_t, n);
  bas = g_new (double, n * K1);
  for (size_t s = 0; s < n; s++)
    m0s[s] = kan_spline_basis (t, G, k, x[s], bas + s * K1, NULL);
  order_by_first_basis (m0s, n, p, order);
  /* A sample outside the knots is a zero row: dependent. */
  if (n == 0 || m0s[order[0]] < 0)
    goto out;
  for (size_t a = 0, b = 0; a < n; a++)
    {
      while (b + 1 < n && m0s[order[b + 1]] <= m0s[order[a]] + k)
        b++;
      bw = MAX (bw, b - a);
    }
  if (bw > KAN_SPLINE_DUAL_MAX_BAND)
    goto out;

  /* BAND[a·(bw+1) + d] = (A·Aᵀ)(a, a−d) in sorted order. */
  band = g_new0 (double, n * (bw + 1));
  for (size_t a = 0; a < n; a++)
    for (size_t d = 0; d <= bw && d <= a; d++)
      {
        size_t sa = order[a], sb = order[a - d];
        int off = m0s[sa] - m0s[sb];
        double acc = 0.0;
        for (int r = 0; r <= k; r++)
          if (r + off >= 0 && r + off <= k)
            acc += bas[sa * K1 + r] * bas[sb * K1 + r + off];
        band[a * (bw + 1) + d] = acc;
      }
  if (!band_cholesky (band, n, (int) bw))
    goto out;
  for (size_t a = 0; a < n; a++)
    {
      lmin = MIN (lmin, band[a * (bw + 1)]);
      lmax = MAX (lmax, band[a * (bw + 1)]);
    }
  if (!(lmin > KAN_SPLINE_CHOL_RCOND * lmax))
    goto out;
  z = g_new (double, n);
  memset (coef, 0, sizeof (double) * p * n_rhs);
  for (int q = 0; q < n_rhs; q++)
    {
      double *c = coef + (size_t) q * p;
      for (size_t a = 0; a < n; a++)
        z[a] = y[order[a] * n_rhs + q];
      band_solve (band, n, (int) bw, z);
      for (size_t a = 0; a < n; a++)
        for (int r = 0; r <= k; r++)
          c[m0s[order[a]] + r] += bas[order[a] * K1 + r] * z[a];
    }
  ok = TRUE;

out:
  g_free (m0s);
  g_free (order);
  g_free (bas);
  g_free (band);
  g_free (z);
  return ok;
}

/* Minimum-norm solutions of the (compressed) band system ATA c = ATY by iterated Tikhonov
 * regularisation: c ← c + (AᵀA + λI)⁻¹ (Aᵀy − AᵀA c) from c = 0. The ridge factor maps the
 * row space of A to itself, so every iterate stays in it and the limit is the minimum-norm
 * least-squares solution; a component with singular value σ converges by the factor
 * λ/(σ² + λ) per iteration, so those with σ² ≫ λ are exact after a step or two and those well
 * below λ stay damped (where a truncated SVD would give them huge coefficients). FAC is
 * workspace for the factor; COEF is n_rhs × m. */
static gboolean
fit_ridge (const double *ata, const double *aty, size_t m, int k, int n_rhs, double dmax,
           double *fac, double *coef, double *res, double *sol)
{
  const int K1 = k + 1;

  memcpy (fac, ata, sizeof (double) * m * K1);
  for (size_t i = 0; i < m; i++)
    fac[i * K1] += KAN_SPLINE_RIDGE * dmax;
  if (!band_cholesky (fac, m, k))
    return FALSE;
  for (int q = 0; q < n_rhs; q++)
    {
      double *c = coef + (size_t) q * m, last = HUGE_VAL;
      memset (c, 0, sizeof (double) * m);
      for (int it = 0; it < KAN_SPLINE_RIDGE_MAX_ITER; it++)
        {
          double dn = 0.0, cn = 0.0;
          band_symv (ata, m, k, c, res);
          for (size_t r = 0; r < m; r++)
            sol[r] = aty[r * n_rhs + q] - res[r];
          band_solve (fac, m, k, sol);
          for (size_t r = 0; r < m; r++)
            {
              c[r] += sol[r];
              dn = MAX (dn, fabs (sol[r]));
              cn = MAX (cn, fabs (c[r]));
            }
          /* Converged, or down to rounding (the corrections stop shrinking). */
          if (!(dn > KAN_SPLINE_RIDGE_TOL * cn) || !(dn < last))
            break;
          last = dn;
        }
    }
  return TRUE;
}

/* Samples whose bases kan_spline_fit computes at once. */
#define FIT_BLOCK 64

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
  const int K1 = k + 1;
  size_t p = (size_t) G + k, m = 0;
  double *ata, *fac, *aty, *sol, *res, *cc;
  size_t *col;
  gssize *cidx;
  double bas[FIT_BLOCK * (KAN_SPLINE_MAX_K + 1)], dmax = 0.0;
  int m0s[FIT_BLOCK];
  gboolean ok = TRUE, chol_ok = FALSE, dual = FALSE;

  g_return_val_if_fail (t != NULL && coef != NULL, FALSE);
  g_return_val_if_fail (n == 0 || (x != NULL && y != NULL), FALSE);
  g_return_val_if_fail (G >= 1 && k >= 0 && k <= KAN_SPLINE_MAX_K && n_rhs >= 1, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (n == 0)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_DATA, "no samples to fit a spline to");
      return FALSE;
    }

  /* Normal equations AᵀA c = Aᵀy, banded by local support. */
  ata = g_new0 (double, p * K1);
  aty = g_new0 (double, p * n_rhs);
  for (size_t s0 = 0; s0 < n; s0 += FIT_BLOCK)
    {
      size_t nb = MIN ((size_t) FIT_BLOCK, n - s0);
      kan_spline_basis_many (t, G, k, x + s0, nb, m0s, bas);
      for (size_t s = s0; s < s0 + nb; s++)
        {
          int m0 = m0s[s - s0];
          const double *b = bas + (s - s0) * K1;
          if (m0 < 0)
            continue;
          for (int r = 0; r <= k; r++)
            {
              size_t i = (size_t) m0 + r;
              for (int c = 0; c <= r; c++)
                ata[i * K1 + (r - c)] += b[r] * b[c];
              for (int q = 0; q < n_rhs; q++)
                aty[i * n_rhs + q] += b[r] * y[s * n_rhs + q];
            }
        }
    }

  /* A basis no sample touches has a zero row and column: its minimum-norm coefficient is 0,
   * and the others solve the system without it. Dropping those keeps the band (two kept
   * bases k apart or less stay k apart or less) and often leaves a regular system. */
  col = g_new (size_t, p);
  cidx = g_new (gssize, p);
  for (size_t i = 0; i < p; i++)
    if (!(ata[i * K1] > 0.0))
      cidx[i] = -1;
    else
      {
        cidx[i] = (gssize) m;
        col[m] = i;
        dmax = MAX (dmax, ata[i * K1]);
        if (m != i)
          {
            /* Row m of the compressed band: entries (i, col[m−d]) that lie in the band. */
            for (int d = 0; d <= k; d++)
              ata[m * K1 + d] = (size_t) d <= m && i - col[m - d] <= (size_t) k
                                ? ata[i * K1 + (i - col[m - d])] : 0.0;
            for (int q = 0; q < n_rhs; q++)
              aty[m * n_rhs + q] = aty[i * n_rhs + q];
          }
        m++;
      }

  fac = g_new (double, MAX (m, 1) * K1);
  sol = g_new (double, MAX (m, 1));
  res = g_new (double, MAX (m, 1));
  cc = g_new0 (double, MAX (m, 1) * n_rhs);
  if (m > 0 && n >= m)
    {
      memcpy (fac, ata, sizeof (double) * m * K1);
      chol_ok = band_cholesky (fac, m, k);
    }
  if (chol_ok)
    {
      /* A Cholesky factor that barely succeeds hides a rank-deficient system (a basis with
       * almost no samples); those go to the minimum-norm path. */
      double lmin = INFINITY, lmax = 0.0;
      for (size_t r = 0; r < m; r++)
        {
          lmin = MIN (lmin, fac[r * K1]);
          lmax = MAX (lmax, fac[r * K1]);
        }
      if (!(lmin > KAN_SPLINE_CHOL_RCOND * lmax))
        chol_ok = FALSE;
    }
  if (chol_ok)
    for (int q = 0; q < n_rhs; q++)
      {
        for (size_t r = 0; r < m; r++)
          sol[r] = aty[r * n_rhs + q];
        band_solve (fac, m, k, sol);
        memcpy (cc + (size_t) q * m, sol, sizeof (double) * m);
      }
  else if (m > 0 && n < m && fit_dual (t, G, k, x, y, n, n_rhs, coef))
    dual = TRUE;
  else if (m > 0)
    {
      /* Ill-conditioned (condition of AᵀA beyond about 1e12): the QR of A itself still
       * solves a full-rank system exactly; a rank-deficient one gets the minimum norm. */
      double *z = n >= m ? g_new (double, m * n_rhs) : NULL;
      if (z == NULL || !fit_qr (t, G, k, x, y, n, n_rhs, cidx, m, fac, z, cc))
        ok = fit_ridge (ata, aty, m, k, n_rhs, dmax, fac, cc, res, sol);
      g_free (z);
    }

  /* Scatter back; untouched bases get 0 (also when no sample lies inside the knots). */
  if (!dual)
    memset (coef, 0, sizeof (double) * p * n_rhs);
  for (int q = 0; q < n_rhs && ok && !dual; q++)
    for (size_t r = 0; r < m; r++)
      coef[(size_t) q * p + col[r]] = cc[(size_t) q * m + r];
  g_free (ata);
  g_free (aty);
  g_free (col);
  g_free (cidx);
  g_free (fac);
  g_free (sol);
  g_free (res);
  g_free (cc);
  if (!ok)
    {
      g_set_error (error, KAN_ERROR, KAN_ERROR_NONFINITE,
                   "least-squares spline fit failed (non-finite samples or values)");
      return FALSE;
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

/* test-spline.c — B-spline bases, knots and least-squares fits (kan-spline.h).
 *
 * The local-support bases are compared with a plain Cox–de Boor recursion over the whole knot
 * vector (pykan's B_batch), written here independently.
 */
#include <check.h>
#include <math.h>
#include <string.h>
#include <stdlib.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>

#include "kan-spline.h"
#include "kan-spline-private.h"
#include "kan-error.h"
#include "test-helpers.h"

/* ck_assert marks a point (a write to a pipe) on every success; inner loops use this instead. */
#define CHECK(cond, ...) \
  do { if (!(cond)) ck_abort_msg (__VA_ARGS__); } while (0)

static const int test_G[] = { 1, 3, 5, 17, 200 };
static const int test_k[] = { 1, 2, 3, 5 };

/* ------------------------------------------------------------------------------------------ */
/* Reference                                                                                   */

/* All G+k bases of order k at x on the full knot vector t[0 … G+2k], half-open intervals,
 * 0/0 terms taken as 0 (pykan replaces NaN by 0). */
static void
ref_bases (const double *t, int G, int k, double x, double *out)
{
  int nk = G + 2 * k + 1;
  double *B = g_new0 (double, nk);

  for (int m = 0; m + 1 < nk; m++)
    B[m] = (t[m] <= x && x < t[m + 1]) ? 1.0 : 0.0;
  for (int p = 1; p <= k; p++)
    for (int m = 0; m + p + 1 < nk; m++)
      {
        double d1 = t[m + p] - t[m], d2 = t[m + p + 1] - t[m + 1];
        double a = d1 != 0.0 ? (x - t[m]) / d1 * B[m] : 0.0;
        double b = d2 != 0.0 ? (t[m + p + 1] - x) / d2 * B[m + 1] : 0.0;
        B[m] = a + b;
      }
  memcpy (out, B, sizeof (double) * (G + k));
  g_free (B);
}

/* All G+k bases from the library (scattered from the k+1 it returns). */
static int
lib_bases (const double *t, int G, int k, double x, double *out, double *dout)
{
  double b[KAN_SPLINE_MAX_K + 1], db[KAN_SPLINE_MAX_K + 1];
  int m0 = kan_spline_basis (t, G, k, x, b, db);

  memset (out, 0, sizeof (double) * (G + k));
  if (dout)
    memset (dout, 0, sizeof (double) * (G + k));
  if (m0 >= 0)
    {
      CHECK (m0 + k <= G + k - 1, "window %d+%d past the last basis %d", m0, k, G + k - 1);
      for (int r = 0; r <= k; r++)
        {
          out[m0 + r] = b[r];
          if (dout)
            dout[m0 + r] = db[r];
        }
    }
  return m0;
}

static double *
knots_uniform (int G, int k, double lo, double hi)
{
  double *t = g_new (double, G + 2 * k + 1);
  kan_knots_uniform (t, G, k, lo, hi);
  return t;
}

/* Random non-uniform interior knots on [lo, hi] (spacings between 0.2 and 1.8 of the mean),
 * extended the pykan way. */
static double *
knots_random (gsl_rng *r, int G, int k, double lo, double hi)
{
  double *t = g_new (double, G + 2 * k + 1), sum = 0.0;
  double *w = g_new (double, G);

  for (int q = 0; q < G; q++)
    sum += (w[q] = 0.2 + 1.6 * gsl_rng_uniform (r));
  t[k] = lo;
  for (int q = 0; q < G; q++)
    t[k + q + 1] = t[k + q] + (hi - lo) * w[q] / sum;
  t[k + G] = hi;
  kan_knots_extend (t, G, k);
  g_free (w);
  return t;
}

/* Test points: uniform over [t_0, t_last), every knot, and points just beside knots. */
static double *
test_points (gsl_rng *r, const double *t, int G, int k, int n_rand, int *n_out)
{
  int last = G + 2 * k, n = 0;
  double *x = g_new (double, n_rand + 3 * (last + 1));

  for (int s = 0; s < n_rand; s++)
    x[n++] = t[0] + (t[last] - t[0]) * gsl_rng_uniform (r);
  for (int q = 0; q < last; q++)
    {
      x[n++] = t[q];
      x[n++] = nextafter (t[q + 1], -INFINITY);
      x[n++] = t[q] + 0.5 * (t[q + 1] - t[q]);
    }
  *n_out = n;
  return x;
}

/* ------------------------------------------------------------------------------------------ */
/* Knots                                                                                       */

START_TEST (test_knots_extend_pykan)
{
  double t[5 + 6 + 1];

  kan_knots_uniform (t, 5, 3, -1.0, 1.0);
  for (int q = 0; q < 12; q++)
    ck_assert_double_eq_tol (t[q], -2.2 + 0.4 * q, 1e-14);
  ck_assert_double_eq (t[3], -1.0);
  ck_assert_double_eq (t[8], 1.0);

  /* Non-uniform interior: the outer knots use the mean interior spacing. */
  {
    double u[3 + 4 + 1] = { 0, 0, 0.13, 0.21, 0.9, 1.7, 0, 0 };
    double h = (1.7 - 0.13) / 3;
    kan_knots_extend (u, 3, 2);
    ck_assert_double_eq_tol (u[1], 0.13 - h, 1e-15);
    ck_assert_double_eq_tol (u[0], 0.13 - 2 * h, 1e-15);
    ck_assert_double_eq_tol (u[6], 1.7 + h, 1e-15);
    ck_assert_double_eq_tol (u[7], 1.7 + 2 * h, 1e-15);
    ck_assert_double_eq (u[2], 0.13);
    ck_assert_double_eq (u[3], 0.21);
    ck_assert_double_eq (u[4], 0.9);
    ck_assert_double_eq (u[5], 1.7);
  }

  /* Odd ranges keep their end points exactly. */
  kan_knots_uniform (t, 5, 3, -0.3127, 2.0913);
  ck_assert_double_eq (t[3], -0.3127);
  ck_assert_double_eq (t[8], 2.0913);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Bases                                                                                       */

START_TEST (test_partition_of_unity)
{
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  gsl_rng_set (r, 2385);

  for (unsigned gi = 0; gi < G_N_ELEMENTS (test_G); gi++)
    for (unsigned ki = 0; ki < G_N_ELEMENTS (test_k); ki++)
      for (int nonuni = 0; nonuni < 2; nonuni++)
        {
          int G = test_G[gi], k = test_k[ki], n;
          double *t = nonuni ? knots_random (r, G, k, -1.3127, 0.8713)
                             : knots_uniform (G, k, -1.0, 1.0);
          double *x = test_points (r, t, G, k, 2000, &n);
          double *B = g_new (double, G + k);

          for (int s = 0; s < n; s++)
            {
              int m0 = lib_bases (t, G, k, x[s], B, NULL);
              double sum = 0.0;
              CHECK (m0 >= 0, "G=%d k=%d x=%.17g inside but m0 = %d", G, k, x[s], m0);
              for (int m = 0; m < G + k; m++)
                {
                  CHECK (B[m] >= 0.0, "G=%d k=%d x=%.17g: B_%d = %g < 0",
                                 G, k, x[s], m, B[m]);
                  sum += B[m];
                }
              if (x[s] >= t[k] && x[s] <= t[G + k])
                CHECK (fabs (sum - 1.0) < 1e-13,
                               "G=%d k=%d x=%.17g: sum of bases %.17g", G, k, x[s], sum);
              else
                CHECK (sum < 1.0 + 1e-13,
                               "G=%d k=%d x=%.17g (extension): sum %.17g", G, k, x[s], sum);
            }
          /* The closed interior: the last interior knot itself still sums to 1. */
          {
            double sum = 0.0;
            lib_bases (t, G, k, t[G + k], B, NULL);
            for (int m = 0; m < G + k; m++)
              sum += B[m];
            ck_assert_double_eq_tol (sum, 1.0, 1e-13);
          }
          g_free (B);
          g_free (x);
          g_free (t);
        }
  gsl_rng_free (r);
}
END_TEST

static void
check_against_reference (const double *t, int G, int k, gsl_rng *r)
{
  int n;
  double *x = test_points (r, t, G, k, 1500, &n);
  double *B = g_new (double, G + k), *R = g_new (double, G + k);

  for (int s = 0; s < n; s++)
    {
      int m0 = lib_bases (t, G, k, x[s], B, NULL);
      ref_bases (t, G, k, x[s], R);
      CHECK (m0 >= 0, "G=%d k=%d x=%.17g inside but m0 = %d", G, k, x[s], m0);
      for (int m = 0; m < G + k; m++)
        CHECK (fabs (B[m] - R[m]) < 1e-13,
                       "G=%d k=%d x=%.17g: B_%d = %.17g, reference %.17g", G, k, x[s], m,
                       B[m], R[m]);
      /* The k+1 window holds every non-zero reference basis. */
      for (int m = 0; m < G + k; m++)
        if (m < m0 || m > m0 + k)
          CHECK (R[m] == 0.0, "G=%d k=%d x=%.17g: reference B_%d = %g outside the window",
                 G, k, x[s], m, R[m]);
    }
  g_free (B);
  g_free (R);
  g_free (x);
}

START_TEST (test_bases_vs_cox_de_boor)
{
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  gsl_rng_set (r, 7312);

  for (unsigned gi = 0; gi < G_N_ELEMENTS (test_G); gi++)
    for (unsigned ki = 0; ki < G_N_ELEMENTS (test_k); ki++)
      {
        int G = test_G[gi], k = test_k[ki];
        double *t = knots_uniform (G, k, -1.0, 1.0);
        check_against_reference (t, G, k, r);
        g_free (t);
        /* Non-uniform interior, extended with the mean spacing. */
        t = knots_random (r, G, k, -0.4127, 2.3811);
        check_against_reference (t, G, k, r);
        g_free (t);
        /* Fully irregular vector, extension knots included. */
        t = g_new (double, G + 2 * k + 1);
        t[0] = -1.7 * gsl_rng_uniform (r);
        for (int q = 1; q < G + 2 * k + 1; q++)
          t[q] = t[q - 1] + 0.05 + gsl_rng_uniform (r);
        check_against_reference (t, G, k, r);
        g_free (t);
      }
  gsl_rng_free (r);
}
END_TEST

START_TEST (test_basis_derivative)
{
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  gsl_rng_set (r, 1313);

  for (unsigned gi = 0; gi < G_N_ELEMENTS (test_G); gi++)
    for (unsigned ki = 0; ki < G_N_ELEMENTS (test_k); ki++)
      for (int nonuni = 0; nonuni < 2; nonuni++)
        {
          int G = test_G[gi], k = test_k[ki], last = G + 2 * k;
          double *t = nonuni ? knots_random (r, G, k, -0.7, 1.9) : knots_uniform (G, k, -1, 1);
          double *B = g_new (double, G + k), *D = g_new (double, G + k);
          double *Bp = g_new (double, G + k), *Bm = g_new (double, G + k);
          double h = 1e-6, max_err = 0.0;

          for (int s = 0; s < 400; s++)
            {
              double x = t[0] + (t[last] - t[0]) * gsl_rng_uniform (r), dist = INFINITY, scale;
              double sumd = 0.0;
              for (int q = 0; q <= last; q++)
                dist = MIN (dist, fabs (x - t[q]));
              if (dist < 1e3 * h)
                continue;   /* a kink of B' (or B, k = 1) lies within the stencil */
              lib_bases (t, G, k, x, B, D);
              lib_bases (t, G, k, x + h, Bp, NULL);
              lib_bases (t, G, k, x - h, Bm, NULL);
              scale = 1.0;
              for (int m = 0; m < G + k; m++)
                scale = MAX (scale, fabs (D[m]));
              for (int m = 0; m < G + k; m++)
                {
                  double fd = (Bp[m] - Bm[m]) / (2 * h);
                  double err = fabs (fd - D[m]) / scale;
                  max_err = MAX (max_err, err);
                  CHECK (err < 1e-6, "G=%d k=%d x=%.17g: dB_%d = %.12g, FD %.12g",
                                 G, k, x, m, D[m], fd);
                  sumd += D[m];
                }
              if (x >= t[k] && x < t[G + k])
                CHECK (fabs (sumd) < 1e-9 * scale, "G=%d k=%d: Σ B' = %g", G, k, sumd);
            }
          g_free (B); g_free (D); g_free (Bp); g_free (Bm);
          g_free (t);
        }
  gsl_rng_free (r);
}
END_TEST

START_TEST (test_outside_and_nan)
{
  double t[5 + 6 + 1];
  double b[4], db[4];
  const double outside[] = { -2.2000000000000006, -3.0, 2.2, 2.2000000000000002, 17.0,
                             NAN, INFINITY, -INFINITY };
  const double coef[8] = { 0.3, -1.2, 2.3, 0.7, -0.4, 1.1, 0.9, -2.0 };

  kan_knots_uniform (t, 5, 3, -1.0, 1.0);
  for (unsigned s = 0; s < G_N_ELEMENTS (outside); s++)
    {
      for (int r = 0; r < 4; r++)
        b[r] = db[r] = 1234.5;
      ck_assert_int_eq (kan_spline_basis (t, 5, 3, outside[s], b, db), -1);
      for (int r = 0; r < 4; r++)
        {
          ck_assert_double_eq (b[r], 0.0);
          ck_assert_double_eq (db[r], 0.0);
        }
      ck_assert_double_eq (kan_spline_eval (t, 5, 3, coef, outside[s]), 0.0);
    }
  /* db may be NULL. */
  ck_assert_int_eq (kan_spline_basis (t, 5, 3, NAN, b, NULL), -1);
  /* The first knot is inside (half-open), the last is not. */
  ck_assert_int_eq (kan_spline_basis (t, 5, 3, t[0], b, NULL), 0);
  ck_assert_int_eq (kan_spline_basis (t, 5, 3, t[11], b, NULL), -1);
  ck_assert_int_ge (kan_spline_basis (t, 5, 3, nextafter (t[11], 0.0), b, NULL), 0);
}
END_TEST

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* kan_spline_basis_many gives every point the first basis and the bases of kan_spline_basis,
 * bit for bit: any k, uniform, random, coincident and unsorted knots, points sorted or not,
 * outside the knots, on knots, NaN, infinities and −0.0, and counts that leave a partial
 * block. */
START_TEST (test_basis_many_bits)
{
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  const double special[] = { NAN, INFINITY, -INFINITY, -0.0, 0.0, 5.0, -5.0 };

  gsl_rng_set (r, 2024);
  for (int k = 0; k <= KAN_SPLINE_MAX_K; k++)
    for (int kind = 0; kind < 4; kind++)
      for (int sorted = 0; sorted < 2; sorted++)
        {
          int G = kind == 0 ? 5 : 3 + (int) gsl_rng_uniform_int (r, 40), n_pts;
          int last = G + 2 * k, K1 = k + 1;
          double *t, *x;
          int *m0s;
          double *b, want[KAN_SPLINE_MAX_K + 1];
          size_t n;

          if (kind == 0)
            {
              t = g_new (double, last + 1);
              kan_knots_uniform (t, G, k, -1.0, 1.0);
            }
          else
            t = knots_random (r, G, k, -1.0, 1.0);
          if (kind == 2)
            /* Coincident interior knots. */
            for (int q = k + 1; q < k + G; q += 3)
              t[q + 1] = t[q];
          if (kind == 3 && G > 4)
            {
              /* Knots out of order: the binary search's span, whatever it is. */
              double v = t[k + 1];
              t[k + 1] = t[k + 3];
              t[k + 3] = v;
            }
          x = test_points (r, t, G, k, 997, &n_pts);
          x = g_renew (double, x, n_pts + 40 + G_N_ELEMENTS (special));
          for (int q = 0; q < 40; q++)
            x[n_pts++] = t[0] + (t[last] - t[0]) * (3.0 * gsl_rng_uniform (r) - 1.0);
          for (unsigned q = 0; q < G_N_ELEMENTS (special); q++)
            x[n_pts++] = special[q];
          n = (size_t) n_pts;
          if (sorted)
            /* NaN sorts somewhere; the points need not be in order, only mostly. */
            qsort (x, n, sizeof (double), cmp_double);
          m0s = g_new (int, n);
          b = g_new (double, n * K1);
          for (size_t c = 0; c <= 5; c++)
            {
              /* Counts that are not a multiple of the block, and all of them. */
              size_t nn = c < 5 ? c : n;
              kan_spline_basis_many (t, G, k, x, nn, m0s, b);
              for (size_t s = 0; s < nn; s++)
                {
                  int m0 = kan_spline_basis (t, G, k, x[s], want, NULL);
                  CHECK (m0s[s] == m0, "k=%d kind %d: first basis %d, not %d at %.17g", k, kind,
                         m0s[s], m0, x[s]);
                  CHECK (memcmp (b + s * K1, want, sizeof (double) * K1) == 0,
                         "k=%d kind %d sorted %d: bases differ at %.17g", k, kind, sorted, x[s]);
                }
            }
          g_free (m0s);
          g_free (b);
          g_free (x);
          g_free (t);
        }
  gsl_rng_free (r);
}
END_TEST

START_TEST (test_eval_matches_bases)
{
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  int G = 17, k = 3;
  double *t = knots_random (r, G, k, -1.0, 1.0);
  double coef[20], B[20];

  gsl_rng_set (r, 99);
  for (int m = 0; m < G + k; m++)
    coef[m] = gsl_rng_uniform (r) * 2 - 1;
  for (int s = 0; s < 500; s++)
    {
      double x = -1.6 + 3.2 * gsl_rng_uniform (r), y = 0.0;
      ref_bases (t, G, k, x, B);
      if (x >= t[G + 2 * k] || x < t[0])
        memset (B, 0, sizeof B);
      for (int m = 0; m < G + k; m++)
        y += coef[m] * B[m];
      CHECK (fabs (kan_spline_eval (t, G, k, coef, x) - y) < 1e-13, "eval at %.17g", x);
    }
  g_free (t);
  gsl_rng_free (r);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Fits                                                                                        */

static double
cubic (double x)
{
  return 0.7312 - 1.3127 * x + 0.2381 * x * x + 2.0913 * x * x * x;
}

START_TEST (test_fit_reproduces_cubic)
{
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  gsl_rng_set (r, 4242);

  for (int nonuni = 0; nonuni < 2; nonuni++)
    for (int G = 1; G <= 12; G += 11)
      {
        int k = 3, n = 57;
        double *t = nonuni ? knots_random (r, G, k, -1.21, 0.93) : knots_uniform (G, k, -1.21, 0.93);
        double *x = g_new (double, n), *y = g_new (double, n), *c = g_new (double, G + k);
        double max_err = 0.0;
        GError *error = NULL;

        for (int s = 0; s < n; s++)
          {
            x[s] = t[k] + (t[k + G] - t[k]) * gsl_rng_uniform (r);
            y[s] = cubic (x[s]);
          }
        ck_assert (kan_spline_fit (t, G, k, x, y, n, 1, c, &error));
        ck_assert_ptr_null (error);
        for (int s = 0; s <= 2000; s++)
          {
            double xv = t[k] + (t[k + G] - t[k]) * s / 2000.0;
            max_err = MAX (max_err, fabs (kan_spline_eval (t, G, k, c, xv) - cubic (xv)));
          }
        CHECK (max_err < 1e-10, "G=%d nonuniform=%d: cubic reproduced to %g",
                       G, nonuni, max_err);
        g_free (x); g_free (y); g_free (c); g_free (t);
      }
  gsl_rng_free (r);
}
END_TEST

START_TEST (test_fit_recovers_coefficients)
{
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  gsl_rng_set (r, 8081);

  for (unsigned gi = 0; gi < G_N_ELEMENTS (test_G); gi++)
    for (unsigned ki = 0; ki < G_N_ELEMENTS (test_k); ki++)
      {
        int G = test_G[gi], k = test_k[ki], P = G + k, n_rhs = 3, last = G + 2 * k;
        size_t n = 40 * (size_t) P;
        double *t = knots_random (r, G, k, -1.0, 1.0);
        double *c0 = g_new (double, n_rhs * P), *c = g_new (double, n_rhs * P);
        double *x = g_new (double, n), *y = g_new (double, n * n_rhs);
        GError *error = NULL;

        for (int q = 0; q < n_rhs * P; q++)
          c0[q] = gsl_rng_uniform (r) * 4 - 2;
        /* Samples over the whole support, extension included, plus a few outside it (they
         * must be ignored: every basis is 0 there). */
        for (size_t s = 0; s < n; s++)
          {
            x[s] = s % 37 == 5 ? t[last] + 0.5 : t[0] + (t[last] - t[0]) * gsl_rng_uniform (r);
            for (int q = 0; q < n_rhs; q++)
              y[s * n_rhs + q] = kan_spline_eval (t, G, k, c0 + q * P, x[s]);
            if (s % 37 == 5)
              for (int q = 0; q < n_rhs; q++)
                y[s * n_rhs + q] = 0.0;
          }
        ck_assert (kan_spline_fit (t, G, k, x, y, n, n_rhs, c, &error));
        ck_assert_ptr_null (error);
        for (int q = 0; q < n_rhs * P; q++)
          CHECK (fabs (c[q] - c0[q]) < 1e-9, "G=%d k=%d: coef %d = %.15g, want %.15g",
                         G, k, q, c[q], c0[q]);
        g_free (t); g_free (c0); g_free (c); g_free (x); g_free (y);
      }
  gsl_rng_free (r);
}
END_TEST

/* Minimum-norm reference: c = Aᵀ (A Aᵀ)⁻¹ y for a full-row-rank wide A (n × p). */
static void
ref_minnorm (const double *A, int n, int p, const double *y, double *c)
{
  gsl_matrix *M = gsl_matrix_alloc (n, n);
  gsl_vector *z = gsl_vector_alloc (n);
  gsl_vector_const_view yv = gsl_vector_const_view_array (y, n);
  gsl_permutation *perm = gsl_permutation_alloc (n);
  int sign;

  for (int a = 0; a < n; a++)
    for (int b = 0; b < n; b++)
      {
        double s = 0.0;
        for (int m = 0; m < p; m++)
          s += A[a * p + m] * A[b * p + m];
        gsl_matrix_set (M, a, b, s);
      }
  ck_assert_int_eq (gsl_linalg_LU_decomp (M, perm, &sign), GSL_SUCCESS);
  ck_assert_int_eq (gsl_linalg_LU_solve (M, perm, &yv.vector, z), GSL_SUCCESS);
  for (int m = 0; m < p; m++)
    {
      double s = 0.0;
      for (int a = 0; a < n; a++)
        s += A[a * p + m] * gsl_vector_get (z, a);
      c[m] = s;
    }
  gsl_permutation_free (perm);
  gsl_vector_free (z);
  gsl_matrix_free (M);
}

START_TEST (test_fit_underdetermined_minnorm)
{
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  gsl_rng_set (r, 5150);

  for (unsigned gi = 0; gi < G_N_ELEMENTS (test_G); gi++)
    for (unsigned ki = 0; ki < G_N_ELEMENTS (test_k); ki++)
      {
        int G = test_G[gi], k = test_k[ki], P = G + k, n = G + 1, n_rhs = 2;
        double *t = gsl_rng_uniform (r) < 0.5 ? knots_uniform (G, k, -1, 1)
                                              : knots_random (r, G, k, -1, 1);
        double *A = g_new0 (double, (size_t) n * P), *y = g_new (double, n * n_rhs);
        double *c = g_new (double, n_rhs * P), *cref = g_new (double, P);
        double *yr = g_new (double, n), b[KAN_SPLINE_MAX_K + 1];
        GError *error = NULL;

        /* As pykan's initialisation: values at the G+1 interior knots. */
        for (int s = 0; s < n; s++)
          {
            int m0 = kan_spline_basis (t, G, k, t[k + s], b, NULL);
            for (int q = 0; q <= k; q++)
              A[s * P + m0 + q] = b[q];
            for (int q = 0; q < n_rhs; q++)
              y[s * n_rhs + q] = (gsl_rng_uniform (r) - 0.5) * 0.3 / G;
          }
        ck_assert (kan_spline_fit (t, G, k, t + k, y, n, n_rhs, c, &error));
        ck_assert_ptr_null (error);
        for (int q = 0; q < n_rhs; q++)
          {
            double cn = 0.0;
            for (int s = 0; s < n; s++)
              {
                double v = kan_spline_eval (t, G, k, c + q * P, t[k + s]);
                CHECK (fabs (v - y[s * n_rhs + q]) < 1e-12,
                               "G=%d k=%d: no interpolation at knot %d (%g vs %g)",
                               G, k, s, v, y[s * n_rhs + q]);
                yr[s] = y[s * n_rhs + q];
              }
            ref_minnorm (A, n, P, yr, cref);
            for (int m = 0; m < P; m++)
              cn = MAX (cn, fabs (cref[m]));
            for (int m = 0; m < P; m++)
              CHECK (fabs (c[q * P + m] - cref[m]) < 1e-9 * MAX (cn, 1e-3),
                             "G=%d k=%d: coef %d = %.15g, minimum norm %.15g", G, k, m,
                             c[q * P + m], cref[m]);
          }
        g_free (t); g_free (A); g_free (y); g_free (c); g_free (cref); g_free (yr);
      }
  gsl_rng_free (r);
}
END_TEST

/* Many samples, but all inside a few spans: rank-deficient normal equations. The fit must
 * still reproduce the data (the data come from a spline) with a finite, minimum-norm answer. */
START_TEST (test_fit_rank_deficient)
{
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  int G = 10, k = 3, P = G + k, n = 300;
  double *t = knots_uniform (G, k, -1, 1);
  double c0[13], c[13], *x = g_new (double, n), *y = g_new (double, n);
  double max_res = 0.0, b[4];
  GError *error = NULL;

  gsl_rng_set (r, 606);
  for (int m = 0; m < P; m++)
    c0[m] = gsl_rng_uniform (r) * 2 - 1;
  for (int s = 0; s < n; s++)
    {
      x[s] = -0.95 + 0.5 * gsl_rng_uniform (r);
      y[s] = kan_spline_eval (t, G, k, c0, x[s]);
    }
  ck_assert (kan_spline_fit (t, G, k, x, y, n, 1, c, &error));
  for (int s = 0; s < n; s++)
    max_res = MAX (max_res, fabs (kan_spline_eval (t, G, k, c, x[s]) - y[s]));
  CHECK (max_res < 1e-9, "rank-deficient fit residual %g", max_res);
  /* Bases untouched by any sample get 0 (minimum norm). */
  for (int m = 0; m < P; m++)
    {
      gboolean touched = FALSE;
      for (int s = 0; s < n && !touched; s++)
        {
          int m0 = kan_spline_basis (t, G, k, x[s], b, NULL);
          touched = m >= m0 && m <= m0 + k && b[m - m0] > 0;
        }
      if (!touched)
        ck_assert_double_eq_tol (c[m], 0.0, 1e-12);
    }

  /* No samples at all is an error; samples all outside the knots give zeros. */
  ck_assert (!kan_spline_fit (t, G, k, x, y, 0, 1, c, &error));
  ck_assert (g_error_matches (error, KAN_ERROR, KAN_ERROR_DATA));
  g_clear_error (&error);
  for (int s = 0; s < n; s++)
    x[s] = 5.0 + s;
  ck_assert (kan_spline_fit (t, G, k, x, y, n, 1, c, &error));
  for (int m = 0; m < P; m++)
    ck_assert_double_eq (c[m], 0.0);
  g_free (x); g_free (y); g_free (t);
  gsl_rng_free (r);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* The banded fit against the dense one it replaced                                           */

/* The dense fit Kanvas used before the banded one: the full (G+k)² normal matrix by Cholesky
 * (with the same acceptance test), else the minimum-norm solution by an SVD of the whole n × p
 * design matrix, singular values below 1e-12 of the largest dropped. */
static void
dense_fit (const double *t, int G, int k, const double *x, const double *y, int n, int n_rhs,
           double *coef)
{
  int p = G + k;
  gsl_matrix *ata = gsl_matrix_calloc (p, p);
  double *aty = g_new0 (double, (size_t) MAX (p, 1) * (size_t) MAX (n_rhs, 1));
  double b[KAN_SPLINE_MAX_K + 1];
  gboolean chol_ok = FALSE;

  for (int s = 0; s < n; s++)
    {
      int m0 = kan_spline_basis (t, G, k, x[s], b, NULL);
      if (m0 < 0)
        continue;
      for (int r = 0; r <= k; r++)
        {
          for (int c = 0; c <= k; c++)
            *gsl_matrix_ptr (ata, m0 + r, m0 + c) += b[r] * b[c];
          for (int q = 0; q < n_rhs; q++)
            aty[(m0 + r) * n_rhs + q] += b[r] * y[s * n_rhs + q];
        }
    }
  if (n >= p)
    chol_ok = gsl_linalg_cholesky_decomp1 (ata) == GSL_SUCCESS;
  if (chol_ok)
    {
      double dmin = INFINITY, dmax = 0.0;
      for (int r = 0; r < p; r++)
        {
          dmin = MIN (dmin, gsl_matrix_get (ata, r, r));
          dmax = MAX (dmax, gsl_matrix_get (ata, r, r));
        }
      chol_ok = dmin > 1e-6 * dmax;
    }
  if (chol_ok)
    {
      gsl_vector *rhs = gsl_vector_alloc (p), *sol = gsl_vector_alloc (p);
      for (int q = 0; q < n_rhs; q++)
        {
          for (int r = 0; r < p; r++)
            gsl_vector_set (rhs, r, aty[r * n_rhs + q]);
          gsl_linalg_cholesky_solve (ata, rhs, sol);
          for (int r = 0; r < p; r++)
            coef[q * p + r] = gsl_vector_get (sol, r);
        }
      gsl_vector_free (rhs);
      gsl_vector_free (sol);
    }
  else
    {
      /* Decompose A or Aᵀ, whichever is tall. */
      gboolean tall = n >= p;
      int M = tall ? n : p, N = tall ? p : n;
      gsl_matrix *U = gsl_matrix_calloc (M, N), *V = gsl_matrix_alloc (N, N);
      gsl_vector *S = gsl_vector_alloc (N), *work = gsl_vector_alloc (N);
      double *tmp = g_new0 (double, (size_t) MAX (N, 1));
      for (int s = 0; s < n; s++)
        {
          int m0 = kan_spline_basis (t, G, k, x[s], b, NULL);
          if (m0 >= 0)
            for (int r = 0; r <= k; r++)
              gsl_matrix_set (U, tall ? s : m0 + r, tall ? m0 + r : s, b[r]);
        }
      ck_assert_int_eq (gsl_linalg_SV_decomp (U, V, S, work), GSL_SUCCESS);
      for (int q = 0; q < n_rhs; q++)
        {
          for (int j = 0; j < N; j++)
            {
              double sj = gsl_vector_get (S, j), acc = 0.0;
              tmp[j] = 0.0;
              if (!(sj > 1e-12 * gsl_vector_get (S, 0)))
                continue;
              for (int s = 0; s < n; s++)
                acc += (tall ? gsl_matrix_get (U, s, j) : gsl_matrix_get (V, s, j))
                       * y[s * n_rhs + q];
              tmp[j] = acc / sj;
            }
          for (int c = 0; c < p; c++)
            {
              double acc = 0.0;
              for (int j = 0; j < N; j++)
                acc += (tall ? gsl_matrix_get (V, c, j) : gsl_matrix_get (U, c, j)) * tmp[j];
              coef[q * p + c] = acc;
            }
        }
      g_free (tmp);
      gsl_vector_free (work);
      gsl_vector_free (S);
      gsl_matrix_free (V);
      gsl_matrix_free (U);
    }
  g_free (aty);
  gsl_matrix_free (ata);
}

/* On small grids the banded fit gives the dense fit's coefficients to 1e-10 (relative to the
 * largest) wherever the problem determines them that well: full-rank samples, pykan's
 * initialisation (G+1 points, minimum norm), data covering part of the grid (untouched bases),
 * repeated sample points (exactly rank-deficient) and grids finer than the data with samples
 * well apart. */
START_TEST (test_fit_banded_equals_dense)
{
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  const char *const names[] = { "full rank", "initialisation", "partial cover", "repeated points",
                                "sparse samples" };
  gsl_rng_set (r, 2718);

  for (int mode = 0; mode < 5; mode++)
    for (unsigned gi = 0; gi < G_N_ELEMENTS (test_G); gi++)
      for (unsigned ki = 0; ki < G_N_ELEMENTS (test_k); ki++)
        {
          int G = test_G[gi], k = test_k[ki], P = G + k, n, n_rhs = 2;
          double *t = mode == 0 && gi % 2 ? knots_random (r, G, k, -1, 1)
                                          : knots_uniform (G, k, -1, 1);
          double *x, *y, *c = g_new (double, n_rhs * P), *cref = g_new (double, n_rhs * P);
          double cn = 0.0;
          GError *error = NULL;

          /* Partial cover with k = 5 and repeated points on G = 1 determine the coefficients
           * only to 1e-5 or worse (condition numbers above 1e10): not comparable. */
          if ((mode == 2 && k == 5) || (mode == 3 && G < 3) || (mode == 4 && G < 17))
            {
              g_free (t); g_free (c); g_free (cref);
              continue;
            }
          n = mode == 0 ? MAX (3 * P + 7, 400) : mode == 1 ? G + 1 : mode == 2 ? 200 : mode == 3 ? 60
              : G / (2 * (k + 1));
          x = g_new (double, n);
          y = g_new (double, n * n_rhs);
          for (int s = 0; s < n; s++)
            {
              switch (mode)
                {
                case 0:
                  /* Every span gets several samples. */
                  x[s] = t[k + s % G] + gsl_rng_uniform (r) * (t[k + s % G + 1] - t[k + s % G]);
                  break;
                case 1: x[s] = t[k + s]; break;
                case 2: x[s] = -0.95 + 0.5 * gsl_rng_uniform (r); break;
                case 3: x[s] = -0.9 + 0.37 * (s % 5); break;
                default:
                  /* One sample in every 2(k+1) spans, away from the knots. */
                  x[s] = t[k + 2 * (k + 1) * s] + (0.3 + 0.4 * gsl_rng_uniform (r))
                         * (t[k + 2 * (k + 1) * s + 1] - t[k + 2 * (k + 1) * s]);
                  break;
                }
              for (int q = 0; q < n_rhs; q++)
                y[s * n_rhs + q] = sin (2.3 * x[s] + q) + 0.1 * gsl_rng_uniform (r);
            }
          ck_assert (kan_spline_fit (t, G, k, x, y, n, n_rhs, c, &error));
          dense_fit (t, G, k, x, y, n, n_rhs, cref);
          for (int m = 0; m < n_rhs * P; m++)
            cn = MAX (cn, fabs (cref[m]));
          for (int m = 0; m < n_rhs * P; m++)
            CHECK (fabs (c[m] - cref[m]) <= 1e-10 * cn,
                   "%s, G=%d k=%d: coef %d = %.15g, dense %.15g", names[mode], G, k, m, c[m],
                   cref[m]);
          g_free (t); g_free (x); g_free (y); g_free (c); g_free (cref);
        }
  gsl_rng_free (r);
}
END_TEST

/* Ill-conditioned systems. A degree-5 piece seen on a quarter of its range is full rank but
 * beyond what the normal equations take: the QR of the design matrix gives the dense answer
 * (coefficients in the thousands) to the precision the conditioning allows. Five distinct
 * points under six degree-5 bases are rank-deficient and nearly so in one more direction:
 * the minimum-norm path damps that direction (the dense SVD answered with much larger
 * coefficients) at a residual of the same order. */
START_TEST (test_fit_ill_conditioned)
{
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  int G = 1, k = 5, P = G + k, n = 200;
  double *t = knots_uniform (G, k, -1, 1), *x = g_new (double, n), *y = g_new (double, n);
  double c[6], cref[6], rss = 0.0, rss_ref = 0.0, cmax = 0.0, cmax_ref = 0.0, dmax = 0.0;
  GError *error = NULL;

  gsl_rng_set (r, 31337);
  for (int s = 0; s < n; s++)
    {
      x[s] = -0.95 + 0.5 * gsl_rng_uniform (r);
      y[s] = sin (3 * x[s]) + 0.1 * gsl_rng_uniform (r);
    }
  ck_assert (kan_spline_fit (t, G, k, x, y, n, 1, c, &error));
  dense_fit (t, G, k, x, y, n, 1, cref);
  for (int m = 0; m < P; m++)
    {
      cmax_ref = MAX (cmax_ref, fabs (cref[m]));
      dmax = MAX (dmax, fabs (c[m] - cref[m]));
    }
  CHECK (cmax_ref > 1e3 && dmax < 1e-6 * cmax_ref, "full rank: largest coefficient %g, "
         "difference %g", cmax_ref, dmax);

  cmax_ref = 0.0;
  for (int s = 0; s < n; s++)
    x[s] = -0.9 + 0.4 * (s % 5);
  ck_assert (kan_spline_fit (t, G, k, x, y, n, 1, c, &error));
  dense_fit (t, G, k, x, y, n, 1, cref);
  for (int s = 0; s < n; s++)
    {
      rss += pow (kan_spline_eval (t, G, k, c, x[s]) - y[s], 2);
      rss_ref += pow (kan_spline_eval (t, G, k, cref, x[s]) - y[s], 2);
    }
  for (int m = 0; m < P; m++)
    {
      cmax = MAX (cmax, fabs (c[m]));
      cmax_ref = MAX (cmax_ref, fabs (cref[m]));
    }
  CHECK (cmax < cmax_ref && rss < 2 * rss_ref, "rank-deficient: largest coefficient %g "
         "(dense %g), residual %g (dense %g)", cmax, cmax_ref, rss, rss_ref);
  g_free (t); g_free (x); g_free (y);
  gsl_rng_free (r);
}
END_TEST

/* The documented largest grid: G = 100000 from 1000 samples (a refinement far past the data)
 * and from G+1 knot values (a new model) is a fit of some megabytes and well under a second,
 * reproducing the samples. */
/* Samples outside the knots (zero rows) mixed with samples inside, on every solver path: the
 * QR of an overdetermined fit, the dual solve of an underdetermined one. They once indexed the
 * counting sort at −1 (found by the structure-aware session fuzzer). The fit must equal the fit
 * of the inside samples alone. */
START_TEST (test_fit_samples_outside_knots)
{
  for (int n_in = 2; n_in <= 40; n_in += 38)
    {
      int G = 5, k = 3, n_out = 3, n = n_in + n_out;
      double *t = knots_uniform (G, k, -1.0, 1.0);
      double *x = g_new (double, n), *y = g_new (double, n);
      double *c = g_new (double, G + k), *c_in = g_new (double, G + k);
      GError *error = NULL;

      for (int s = 0; s < n; s++)
        {
          /* The outside ones first, where a sort by first basis puts them. */
          x[s] = s < n_out ? 5.0 + s : -0.95 + 1.9 * (s - n_out) / MAX (n_in - 1, 1);
          y[s] = sin (3.0 * x[s]);
        }
      ck_assert (kan_spline_fit (t, G, k, x, y, n, 1, c, &error));
      ck_assert_ptr_null (error);
      ck_assert (kan_spline_fit (t, G, k, x + n_out, y + n_out, n_in, 1, c_in, &error));
      for (int q = 0; q < G + k; q++)
        CHECK (fabs (c[q] - c_in[q]) <= 1e-9 * (1.0 + fabs (c_in[q])),
               "n_in=%d: coefficient %d is %g with the outside samples, %g without", n_in, q,
               c[q], c_in[q]);
      g_free (x); g_free (y); g_free (c); g_free (c_in); g_free (t);
    }
}
END_TEST

START_TEST (test_fit_largest_grid)
{
  gsl_rng *r = gsl_rng_alloc (gsl_rng_mt19937);
  const int G = 100000, k = 3, P = G + k, n = 1000;
  double *t = knots_uniform (G, k, -1, 1), *x = g_new (double, G + 1), *y = g_new (double, G + 1);
  double *c = g_new (double, P), max_res = 0.0;
  GError *error = NULL;
  gint64 t0;

  /* The dense normal matrix alone was 80 GB. */
  ck_assert_uint_lt (kan_spline_fit_bytes (G, k, n, 5), 32u << 20);
  gsl_rng_set (r, 99);
  for (int s = 0; s < n; s++)
    {
      x[s] = -1 + 2 * gsl_rng_uniform (r);
      y[s] = sin (4 * x[s]);
    }
  t0 = g_get_monotonic_time ();
  ck_assert (kan_spline_fit (t, G, k, x, y, n, 1, c, &error));
  for (int s = 0; s < n; s++)
    max_res = MAX (max_res, fabs (kan_spline_eval (t, G, k, c, x[s]) - y[s]));
  CHECK (max_res < 1e-3, "G=%d from %d samples: residual %g", G, n, max_res);

  for (int s = 0; s <= G; s++)
    y[s] = sin (4 * t[k + s]);
  ck_assert (kan_spline_fit (t, G, k, t + k, y, G + 1, 1, c, &error));
  for (int s = 0; s <= G; s += 97)
    max_res = MAX (max_res, fabs (kan_spline_eval (t, G, k, c, t[k + s]) - y[s]));
  CHECK (max_res < 1e-9, "G=%d at the knots: residual %g", G, max_res);
  /* A generous bound: both fits take milliseconds. */
  CHECK (g_get_monotonic_time () - t0 < 20 * G_USEC_PER_SEC, "took %.1f s",
         (g_get_monotonic_time () - t0) / 1e6);
  g_free (t); g_free (x); g_free (y); g_free (c);
  gsl_rng_free (r);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */

static Suite *
spline_suite (void)
{
  Suite *s = suite_create ("spline");
  TCase *tc = tcase_create ("knots");
  tcase_add_test (tc, test_knots_extend_pykan);
  suite_add_tcase (s, tc);

  tc = tcase_create ("bases");
  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_partition_of_unity);
  tcase_add_test (tc, test_bases_vs_cox_de_boor);
  tcase_add_test (tc, test_basis_derivative);
  tcase_add_test (tc, test_outside_and_nan);
  tcase_add_test (tc, test_eval_matches_bases);
  tcase_add_test (tc, test_basis_many_bits);
  suite_add_tcase (s, tc);

  tc = tcase_create ("fit");
  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_fit_reproduces_cubic);
  tcase_add_test (tc, test_fit_recovers_coefficients);
  tcase_add_test (tc, test_fit_underdetermined_minnorm);
  tcase_add_test (tc, test_fit_rank_deficient);
  tcase_add_test (tc, test_fit_banded_equals_dense);
  tcase_add_test (tc, test_fit_ill_conditioned);
  tcase_add_test (tc, test_fit_largest_grid);
  tcase_add_test (tc, test_fit_samples_outside_knots);
  suite_add_tcase (s, tc);
  return s;
}

int
main (int    argc,
      char **argv)
{
  gsl_set_error_handler_off ();
  return kt_run (spline_suite (), argc, argv);
}

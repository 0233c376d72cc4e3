/* test-exprfit.c — fitting the free constants of a formula, and their standard errors.
 *
 * The errors are checked against references computed independently: the closed-form standard
 * errors of ordinary least squares, a bootstrap of the same fit, and a covariance built here
 * from a finite-difference Jacobian (which also checks the analytic derivative of every
 * function the parser knows).
 */
#include <check.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>

#include "kan-error.h"
#include "kan-expr.h"
#include "kan-exprfit.h"
#include "kan-formula.h"

/* ck_assert marks a point on every success; inner loops use this instead. */
#define CHECK(cond, ...) \
  do { if (!(cond)) ck_abort_msg (__VA_ARGS__); } while (0)

#define N_ROWS      200
#define N_BOOTSTRAP 300
#define MAX_ITER    200

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                     */

static KanExpr *
parse (const char *text)
{
  GError *error = NULL;
  KanExpr *e = kan_expr_parse (text, NULL, NULL, &error);

  ck_assert_msg (e != NULL, "parse %s: %s", text, error ? error->message : "?");
  return e;
}

static double
gaussian (GRand *r)
{
  double u1 = 1.0 - g_rand_double (r), u2 = g_rand_double (r);

  return sqrt (-2.0 * log (u1)) * cos (2.0 * M_PI * u2);
}

static KanExprFit *
fit_ok (KanExpr      *e,
        const double *x,
        const double *y,
        size_t        n,
        int           max_iter)
{
  GError *error = NULL;
  KanExprFit *fit = kan_expr_fit (e, x, 1, y, n, max_iter, &error);

  ck_assert_msg (fit != NULL, "fit: %s", error ? error->message : "?");
  return fit;
}

/* The standard deviation of each free constant over bootstrap resamples of the rows, each
 * refitted from E's values. */
static void
bootstrap (const KanExpr *e,
           const double  *x,
           const double  *y,
           size_t         n,
           guint32        seed,
           double        *sd)
{
  g_autoptr (GRand) r = g_rand_new_with_seed (seed);
  g_autofree double *bx = g_new (double, n), *by = g_new (double, n);
  g_autofree double *sum = NULL, *sum2 = NULL;
  int np;

  {
    g_autoptr (KanExpr) c = kan_expr_copy (e);
    np = kan_expr_free_constants (c, NULL);
  }
  sum = g_new0 (double, np);
  sum2 = g_new0 (double, np);
  for (int b = 0; b < N_BOOTSTRAP; b++)
    {
      g_autoptr (KanExpr) c = kan_expr_copy (e);
      g_autoptr (KanExprFit) fit = NULL;

      for (size_t i = 0; i < n; i++)
        {
          size_t j = g_rand_int_range (r, 0, (gint32) n);
          bx[i] = x[j];
          by[i] = y[j];
        }
      fit = fit_ok (c, bx, by, n, MAX_ITER);
      CHECK (fit->n == np, "bootstrap: %d constants, not %d", fit->n, np);
      for (int k = 0; k < np; k++)
        {
          sum[k] += fit->value[k];
          sum2[k] += fit->value[k] * fit->value[k];
        }
    }
  for (int k = 0; k < np; k++)
    {
      double mean = sum[k] / N_BOOTSTRAP;
      sd[k] = sqrt ((sum2[k] - N_BOOTSTRAP * mean * mean) / (N_BOOTSTRAP - 1));
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Free constants                                                                              */

static void
check_free (const char   *text,
            int           n_expected,
            const double *expected)
{
  g_autoptr (KanExpr) e = parse (text);
  g_autofree KanExpr **nums = NULL;
  int n = kan_expr_free_constants (e, &nums);

  ck_assert_msg (n == n_expected, "%s: %d free constants, expected %d", text, n, n_expected);
  for (int k = 0; k < n; k++)
    {
      ck_assert_int_eq (nums[k]->kind, KAN_EXPR_NUM);
      ck_assert_msg (nums[k]->value == expected[k], "%s: constant %d is %g, expected %g",
                     text, k, nums[k]->value, expected[k]);
    }
  if (n == 0)
    ck_assert_ptr_null (nums);
}

START_TEST (test_free_constants)
{
  /* 2 and the exponent 2 are exact; 3.1416 is not pi, so it was fitted. */
  check_free ("2*x^2 + 0.731*sin(3.1416*x)", 2, (double[]) { 0.731, 3.1416 });
  /* Simple values: integers, p/q, p·pi/q, e, 0. */
  check_free ("pi*x + 3*pi/4 + x/3 + e*x + 0*x + 0.25", 0, NULL);
  /* 0.333333 is not 1/3; 0.15 is 3/20, beyond the denominators that snapping uses. */
  check_free ("0.333333*x + 0.15*x", 2, (double[]) { 0.333333, 0.15 });
  /* Exponents: integers and halves are exact, also under a sign; others are free. */
  check_free ("x^1.5 + x^-0.5 + x^2.37 + x^(-1.73)", 2, (double[]) { 2.37, 1.73 });
  /* Tiny constants do not count as 0. */
  check_free ("1.0546e-34*x", 1, (double[]) { 1.0546e-34 });
  /* Print order, operands left to right. */
  check_free ("0.15*q^2/(pi*d*0.0887)", 2, (double[]) { 0.15, 0.0887 });

  {
    /* Within the tolerance of pi it is exact; a little further it is free. */
    g_autoptr (KanExpr) near = kan_expr_binary (KAN_EXPR_MUL, kan_expr_num (M_PI * (1 + 1e-14)),
                                                kan_expr_var (0));
    g_autoptr (KanExpr) off = kan_expr_binary (KAN_EXPR_MUL, kan_expr_num (M_PI * (1 + 1e-9)),
                                               kan_expr_var (0));
    ck_assert_int_eq (kan_expr_free_constants (near, NULL), 0);
    ck_assert_int_eq (kan_expr_free_constants (off, NULL), 1);
  }
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Linear: against ordinary least squares and a bootstrap                                      */

START_TEST (test_linear)
{
  const double a_true = 2.385, b_true = -1.27, sigma = 0.37;
  g_autoptr (GRand) r = g_rand_new_with_seed (20240611);
  g_autoptr (KanExpr) e = parse ("1.13*x + 0.37");
  g_autoptr (KanExprFit) fit = NULL;
  double x[N_ROWS], y[N_ROWS], sd[2];
  double mx = 0, my = 0, sxx = 0, sxy = 0, a, b, rss = 0, s2, se_a, se_b;
  g_autofree char *text = NULL;

  for (int i = 0; i < N_ROWS; i++)
    {
      x[i] = g_rand_double_range (r, 0.0, 10.0);
      y[i] = a_true * x[i] + b_true + sigma * gaussian (r);
      mx += x[i] / N_ROWS;
      my += y[i] / N_ROWS;
    }
  for (int i = 0; i < N_ROWS; i++)
    {
      sxx += (x[i] - mx) * (x[i] - mx);
      sxy += (x[i] - mx) * (y[i] - my);
    }
  a = sxy / sxx;
  b = my - a * mx;
  for (int i = 0; i < N_ROWS; i++)
    rss += (y[i] - a * x[i] - b) * (y[i] - a * x[i] - b);
  s2 = rss / (N_ROWS - 2);
  se_a = sqrt (s2 / sxx);
  se_b = sqrt (s2 * (1.0 / N_ROWS + mx * mx / sxx));

  fit = fit_ok (e, x, y, N_ROWS, MAX_ITER);
  ck_assert_int_eq (fit->n, 2);
  ck_assert_msg (fabs (fit->value[0] - a) <= 1e-9 * fabs (a), "a = %.17g, OLS %.17g",
                 fit->value[0], a);
  ck_assert_msg (fabs (fit->value[1] - b) <= 1e-9 * fabs (b), "b = %.17g, OLS %.17g",
                 fit->value[1], b);
  ck_assert_msg (fabs (fit->value[0] - a_true) < 4 * fit->stderr_[0], "a = %g ± %g",
                 fit->value[0], fit->stderr_[0]);
  ck_assert_msg (fabs (fit->value[1] - b_true) < 4 * fit->stderr_[1], "b = %g ± %g",
                 fit->value[1], fit->stderr_[1]);
  ck_assert_msg (fabs (fit->stderr_[0] / se_a - 1) < 1e-6, "se(a) %.10g, OLS %.10g",
                 fit->stderr_[0], se_a);
  ck_assert_msg (fabs (fit->stderr_[1] / se_b - 1) < 1e-6, "se(b) %.10g, OLS %.10g",
                 fit->stderr_[1], se_b);
  ck_assert_msg (fabs (fit->rmse - sqrt (rss / N_ROWS)) < 1e-9, "rmse %g", fit->rmse);
  /* The fitted values were written into the formula. */
  text = kan_expr_to_string (e, NULL, KAN_EXPR_STYLE_TEXT);
  ck_assert_msg (kan_expr_eval (e, (double[]) { 1.0 }) == fit->value[0] + fit->value[1],
                 "formula after the fit: %s", text);

  bootstrap (e, x, y, N_ROWS, 77, sd);
  for (int k = 0; k < 2; k++)
    ck_assert_msg (fabs (fit->stderr_[k] / sd[k] - 1) < 0.20, "constant %d: se %g, bootstrap %g",
                   k, fit->stderr_[k], sd[k]);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Nonlinear: against a bootstrap                                                              */

START_TEST (test_exponential)
{
  const double c_true = 2.83, tau_true = 2.31, sigma = 0.05;
  g_autoptr (GRand) r = g_rand_new_with_seed (9001);
  g_autoptr (KanExpr) e = parse ("2.61*exp(-x/2.47)");
  g_autoptr (KanExprFit) fit = NULL;
  double x[N_ROWS], y[N_ROWS], sd[2];

  for (int i = 0; i < N_ROWS; i++)
    {
      x[i] = g_rand_double_range (r, 0.0, 8.0);
      y[i] = c_true * exp (-x[i] / tau_true) + sigma * gaussian (r);
    }
  fit = fit_ok (e, x, y, N_ROWS, MAX_ITER);
  ck_assert_int_eq (fit->n, 2);
  ck_assert_msg (fabs (fit->value[0] - c_true) < 4 * fit->stderr_[0], "c = %g ± %g",
                 fit->value[0], fit->stderr_[0]);
  ck_assert_msg (fabs (fit->value[1] - tau_true) < 4 * fit->stderr_[1], "tau = %g ± %g",
                 fit->value[1], fit->stderr_[1]);
  ck_assert_msg (fit->rmse < 1.2 * sigma, "rmse %g", fit->rmse);

  bootstrap (e, x, y, N_ROWS, 78, sd);
  for (int k = 0; k < 2; k++)
    ck_assert_msg (fabs (fit->stderr_[k] / sd[k] - 1) < 0.25, "constant %d: se %g, bootstrap %g",
                   k, fit->stderr_[k], sd[k]);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* The analytic Jacobian of every function, against finite differences                          */

/* Standard errors at E's values from a central-difference Jacobian: sqrt(s²·diag((JᵀJ)⁻¹)). */
static void
reference_errors (const char   *label,
                  KanExpr      *e,
                  const double *x,
                  const double *y,
                  size_t        n,
                  double       *se)
{
  g_autofree KanExpr **nums = NULL;
  int np = kan_expr_free_constants (e, &nums);
  g_autofree double *jac = g_new (double, n * np), *fp = g_new (double, n),
                    *fm = g_new (double, n);
  gsl_matrix *jtj = gsl_matrix_calloc (np, np);
  double rss = 0;

  for (int k = 0; k < np; k++)
    {
      double v = nums[k]->value, h = 1e-6 * MAX (1.0, fabs (v));

      nums[k]->value = v + h;
      kan_expr_eval_rows (e, x, n, 1, fp);
      nums[k]->value = v - h;
      kan_expr_eval_rows (e, x, n, 1, fm);
      nums[k]->value = v;
      for (size_t r = 0; r < n; r++)
        jac[r * np + k] = (fp[r] - fm[r]) / (2 * h);
    }
  for (size_t r = 0; r < n; r++)
    {
      double d = kan_expr_eval (e, x + r) - y[r];
      rss += d * d;
      for (int i = 0; i < np; i++)
        for (int j = 0; j < np; j++)
          *gsl_matrix_ptr (jtj, i, j) += jac[r * np + i] * jac[r * np + j];
    }
  CHECK (gsl_linalg_cholesky_decomp1 (jtj) == GSL_SUCCESS, "%s: JᵀJ is singular", label);
  ck_assert_int_eq (gsl_linalg_cholesky_invert (jtj), GSL_SUCCESS);
  for (int k = 0; k < np; k++)
    se[k] = sqrt (rss / (n - np) * gsl_matrix_get (jtj, k, k));
  gsl_matrix_free (jtj);
}

START_TEST (test_jacobian_functions)
{
  g_autoptr (GRand) r = g_rand_new_with_seed (4242);
  double x[N_ROWS], y[N_ROWS];

  for (int i = 0; i < N_ROWS; i++)
    x[i] = g_rand_double_range (r, 0.1, 0.9);

  for (int f = 0; f < KAN_FUNC_N_FUNCS; f++)
    {
      const char *name = kan_func_name (f);
      /* asin, acos and atanh need arguments inside (-1, 1), acosh above 1. Under exp an
       * offset would act as the factor in front, under sqrt a slope would (a·sqrt(bx + c) is
       * sqrt(a²bx + a²c)), and abs must cross 0 not to be linear. */
      g_autofree char *text =
        f == KAN_FUNC_EXP ? g_strdup ("0.731*exp(1.413*x) + 0.127*x")
        : f == KAN_FUNC_ABS ? g_strdup ("0.731*abs(x + -0.513) + 0.127*x")
        : f == KAN_FUNC_SQRT ? g_strdup ("0.731*sqrt(x + 1.219) + 0.127*x")
        : f == KAN_FUNC_ASIN || f == KAN_FUNC_ACOS || f == KAN_FUNC_ATANH
        ? g_strdup_printf ("0.731*%s(1.413*x + -0.719) + 0.127*x", name)
        : g_strdup_printf ("0.731*%s(1.413*x + 1.219) + 0.127*x", name);
      g_autoptr (KanExpr) e = parse (text);
      g_autoptr (KanExprFit) fit = NULL;
      int np = f == KAN_FUNC_EXP || f == KAN_FUNC_ABS || f == KAN_FUNC_SQRT ? 3 : 4;
      double se[4];

      if (f == KAN_FUNC_SIGN)
        continue;  /* flat: see test_zero_column */
      for (int i = 0; i < N_ROWS; i++)
        y[i] = kan_expr_eval (e, x + i) + 0.01 * gaussian (r);
      fit = fit_ok (e, x, y, N_ROWS, 0);
      CHECK (fit->n == np, "%s: %d free constants", text, fit->n);
      reference_errors (text, e, x, y, N_ROWS, se);
      for (int k = 0; k < np; k++)
        CHECK (fabs (fit->stderr_[k] / se[k] - 1) < 1e-5, "%s: constant %d: se %.10g, FD %.10g",
               text, k, fit->stderr_[k], se[k]);
    }

  /* Quotients and powers with a free exponent and base. */
  {
    g_autoptr (KanExpr) e = parse ("0.731*(x + 0.219)^1.37/(1.13 + x) - x^0.413");
    g_autoptr (KanExprFit) fit = NULL;
    double se[5];

    for (int i = 0; i < N_ROWS; i++)
      y[i] = kan_expr_eval (e, x + i) + 0.01 * gaussian (r);
    fit = fit_ok (e, x, y, N_ROWS, 0);
    ck_assert_int_eq (fit->n, 5);
    reference_errors ("quotient", e, x, y, N_ROWS, se);
    for (int k = 0; k < 5; k++)
      ck_assert_msg (fabs (fit->stderr_[k] / se[k] - 1) < 1e-5, "constant %d: se %.10g, FD %.10g",
                     k, fit->stderr_[k], se[k]);
  }
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Degenerate cases                                                                            */

/* A constant alone is the mean, with the standard error of the mean; no variables at all. */
START_TEST (test_mean)
{
  g_autoptr (GRand) r = g_rand_new_with_seed (555);
  g_autoptr (KanExpr) e = parse ("0.731");
  g_autoptr (KanExprFit) fit = NULL;
  double y[N_ROWS], mean = 0, ss = 0;
  GError *error = NULL;

  for (int i = 0; i < N_ROWS; i++)
    {
      y[i] = 4.13 + 0.29 * gaussian (r);
      mean += y[i] / N_ROWS;
    }
  for (int i = 0; i < N_ROWS; i++)
    ss += (y[i] - mean) * (y[i] - mean);
  fit = kan_expr_fit (e, NULL, 0, y, N_ROWS, MAX_ITER, &error);
  ck_assert_msg (fit != NULL, "fit: %s", error ? error->message : "?");
  ck_assert_int_eq (fit->n, 1);
  ck_assert_msg (fabs (fit->value[0] - mean) < 1e-9 * mean, "%.17g, mean %.17g", fit->value[0],
                 mean);
  ck_assert_msg (fabs (fit->stderr_[0] / sqrt (ss / (N_ROWS - 1) / N_ROWS) - 1) < 1e-9,
                 "se %g", fit->stderr_[0]);
}
END_TEST

START_TEST (test_no_free_constants)
{
  g_autoptr (KanExpr) e = parse ("2*x^2 + pi");
  g_autoptr (KanExpr) before = kan_expr_copy (e);
  g_autoptr (KanExprFit) fit = NULL;
  double x[3] = { 0.5, 1.5, 2.5 }, y[3] = { 3.7, 7.9, 16.2 };
  g_autofree char *text = NULL;

  fit = fit_ok (e, x, y, 3, MAX_ITER);
  ck_assert_int_eq (fit->n, 0);
  ck_assert (kan_expr_equal (e, before));
  ck_assert_msg (fabs (fit->rmse - kan_expr_rmse (e, x, 1, y, 1, 3)) < 1e-12, "rmse %g",
                 fit->rmse);
  text = kan_expr_to_string_with_errors (e, fit, NULL, KAN_EXPR_STYLE_TEXT);
  ck_assert_str_eq (text, "2*x1^2 + pi");
}
END_TEST

START_TEST (test_too_few_rows)
{
  double x[2] = { 0.5, 1.5 }, y[2] = { 1.1, 2.9 };

  for (size_t n = 1; n <= 2; n++)
    {
      g_autoptr (KanExpr) e = parse ("0.731*x + 0.219");
      g_autoptr (KanExprFit) fit = fit_ok (e, x, y, n, MAX_ITER);
      g_autofree char *text = NULL;

      ck_assert_int_eq (fit->n, 2);
      ck_assert (isnan (fit->stderr_[0]) && isnan (fit->stderr_[1]));
      ck_assert (isfinite (fit->rmse));
      text = kan_expr_to_string_with_errors (e, fit, NULL, KAN_EXPR_STYLE_TEXT);
      ck_assert_msg (strstr (text, "± nan") != NULL, "%s", text);
    }
  {
    /* Two rows, two constants: the line goes through both points. */
    g_autoptr (KanExpr) e = parse ("0.731*x + 0.219");
    g_autoptr (KanExprFit) fit = fit_ok (e, x, y, 2, MAX_ITER);

    ck_assert_msg (fabs (fit->value[0] - 1.8) < 1e-9 && fabs (fit->value[1] - 0.2) < 1e-9,
                   "%g, %g", fit->value[0], fit->value[1]);
  }
}
END_TEST

START_TEST (test_zero_column)
{
  g_autoptr (GRand) r = g_rand_new_with_seed (31337);
  double x[N_ROWS], y[N_ROWS], sxx = 0, rss = 0, a;

  for (int i = 0; i < N_ROWS; i++)
    {
      x[i] = g_rand_double_range (r, -2.0, 3.0);
      y[i] = 1.61 * x[i] + 0.2 * gaussian (r);
      sxx += x[i] * x[i];
    }

  /* 0.42 has no effect on the values: its error is infinite, and 1.37's is that of a line
   * through the origin (with one degree of freedom spent on the idle constant). */
  {
    g_autoptr (KanExpr) e = parse ("1.37*x + 0.42*(x - x)");
    g_autoptr (KanExprFit) fit = fit_ok (e, x, y, N_ROWS, MAX_ITER);

    ck_assert_int_eq (fit->n, 2);
    ck_assert (fit->value[1] == 0.42);
    a = fit->value[0];
    for (int i = 0; i < N_ROWS; i++)
      rss += (y[i] - a * x[i]) * (y[i] - a * x[i]);
    ck_assert (isinf (fit->stderr_[1]));
    ck_assert_msg (fabs (fit->stderr_[0] / sqrt (rss / (N_ROWS - 2) / sxx) - 1) < 1e-6,
                   "se %g", fit->stderr_[0]);
  }
  /* A constant multiplying an exact zero, and one inside a flat function. */
  {
    g_autoptr (KanExpr) e = parse ("1.37*x + 0.42*(0*x) + sign(0.53)");
    g_autoptr (KanExprFit) fit = fit_ok (e, x, y, N_ROWS, MAX_ITER);

    ck_assert_int_eq (fit->n, 3);
    ck_assert (isfinite (fit->stderr_[0]));
    ck_assert (isinf (fit->stderr_[1]) && isinf (fit->stderr_[2]));
  }
  /* Two constants that only act through their product are not separately determined. */
  {
    g_autoptr (KanExpr) e = parse ("0.731*0.419*x");
    g_autoptr (KanExprFit) fit = fit_ok (e, x, y, N_ROWS, MAX_ITER);

    ck_assert_int_eq (fit->n, 2);
    ck_assert (isnan (fit->stderr_[0]) && isnan (fit->stderr_[1]));
    ck_assert_msg (fabs (fit->value[0] * fit->value[1] - 1.61) < 0.05, "%g·%g",
                   fit->value[0], fit->value[1]);
  }
  /* Nothing depends on the only constant: no step is tried, and its error is infinite. */
  {
    g_autoptr (KanExpr) e = parse ("0.42*(x - x)");
    g_autoptr (KanExprFit) fit = fit_ok (e, x, y, N_ROWS, MAX_ITER);

    ck_assert_int_eq (fit->n, 1);
    ck_assert (fit->value[0] == 0.42);
    ck_assert (isinf (fit->stderr_[0]));
  }
  /* Not finite on some rows at the end point: errors NaN, no crash. */
  {
    g_autoptr (KanExpr) e = parse ("1.37*x + 0.42*sqrt(x)");
    g_autoptr (KanExprFit) fit = fit_ok (e, x, y, N_ROWS, MAX_ITER);

    ck_assert (isnan (fit->rmse));
    ck_assert (isnan (fit->stderr_[0]) && isnan (fit->stderr_[1]));
    ck_assert (fit->value[0] == 1.37 && fit->value[1] == 0.42);
  }
}
END_TEST

START_TEST (test_invalid_input)
{
  g_autoptr (KanExpr) e = parse ("0.731*x1 + 0.219*x2");
  double x[4] = { 1, 2, 3, 4 }, y[2] = { 1, 2 }, bad[2] = { 1, NAN };
  GError *error = NULL;

  ck_assert_ptr_null (kan_expr_fit (e, x, 1, y, 2, MAX_ITER, &error));
  ck_assert (g_error_matches (error, KAN_ERROR, KAN_ERROR_SHAPE));
  g_clear_error (&error);
  ck_assert_ptr_null (kan_expr_fit (e, x, 2, y, 0, MAX_ITER, &error));
  ck_assert (g_error_matches (error, KAN_ERROR, KAN_ERROR_DATA));
  g_clear_error (&error);
  ck_assert_ptr_null (kan_expr_fit (e, x, 2, bad, 2, MAX_ITER, &error));
  ck_assert (g_error_matches (error, KAN_ERROR, KAN_ERROR_DATA));
  g_clear_error (&error);
  x[3] = INFINITY;
  ck_assert_ptr_null (kan_expr_fit (e, x, 2, y, 2, MAX_ITER, &error));
  ck_assert (g_error_matches (error, KAN_ERROR, KAN_ERROR_DATA));
  g_clear_error (&error);
  x[3] = 4;
  ck_assert_ptr_null (kan_expr_fit (e, x, 2, y, 2, -1, &error));
  ck_assert (g_error_matches (error, KAN_ERROR, KAN_ERROR_INVALID));
  g_clear_error (&error);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Printing                                                                                    */

/* The index of TARGET in E in print order (the root first, then a's subtree, then b's). */
static int
node_index (const KanExpr *e,
            const KanExpr *target,
            int           *counter)
{
  int i, found;

  if (e == NULL)
    return -1;
  i = (*counter)++;
  if (e == target)
    return i;
  found = node_index (e->a, target, counter);
  return found >= 0 ? found : node_index (e->b, target, counter);
}

/* Prints E with the given errors for its free constants, as a fit would give them. */
static void
check_print_expr (KanExpr           *e,
                  const char *const *names,
                  const double      *errors,
                  const char        *expected)
{
  g_autofree KanExpr **nums = NULL;
  g_autofree int *node = NULL;
  KanExprFit fit = { 0 };
  g_autofree char *printed = NULL;

  fit.n = kan_expr_free_constants (e, &nums);
  node = g_new (int, MAX (fit.n, 1));
  for (int k = 0; k < fit.n; k++)
    {
      int counter = 0;
      node[k] = node_index (e, nums[k], &counter);
    }
  fit.stderr_ = (double *) errors;
  fit.node = node;
  printed = kan_expr_to_string_with_errors (e, &fit, names, KAN_EXPR_STYLE_TEXT);
  ck_assert_str_eq (printed, expected);
}

static void
check_print (const char        *text,
             const char *const *names,
             const double      *errors,
             const char        *expected)
{
  g_autoptr (KanExpr) e = kan_expr_parse (text, names, NULL, NULL);

  ck_assert_msg (e != NULL, "parse %s", text);
  check_print_expr (e, names, errors, expected);
}

START_TEST (test_print)
{
  const char *const x[] = { "x", NULL };
  const char *const m[] = { "m", "r", NULL };

  check_print ("2.99792458*x + 0.5132*x^2 - pi", x, (double[]) { 0.000312, 0.0478 },
               "(2.99792 ± 0.00031)*x + (0.513 ± 0.048)*x^2 - pi");
  check_print ("x - 0.731", x, (double[]) { 0.0996 }, "x - (0.73 ± 0.10)");
  check_print ("-0.0042*x", x, (double[]) { 0.0371 }, "-(0.004 ± 0.037)*x");
  {
    /* A negative constant keeps its sign inside the parentheses. */
    g_autoptr (KanExpr) e = kan_expr_binary (KAN_EXPR_MUL, kan_expr_num (-0.0042),
                                             kan_expr_var (0));
    check_print_expr (e, x, (double[]) { 0.0371 }, "(-0.004 ± 0.037)*x");
  }
  check_print ("6.674e-11*m/r^2", m, (double[]) { 1.2e-14 }, "(6.6740 ± 0.0012)e-11*m/r^2");
  check_print ("12345.6*x", x, (double[]) { 370 }, "(12350 ± 370)*x");
  check_print ("x^1.37", x, (double[]) { 0.0249 }, "x^(1.370 ± 0.025)");
  check_print ("0.42*x + 0.131", x, (double[]) { INFINITY, NAN },
               "(0.42 ± inf)*x + (0.131 ± nan)");
  check_print ("1.5*x + 0.731", x, (double[]) { 0.0 }, "1.5*x + (0.731 ± 0)");

  /* A whole fit: y = a·x through three points, a = 14.5/14, s² = RSS/2, se = sqrt(s²/14). */
  {
    g_autoptr (KanExpr) e = parse ("0.913*x");
    double xs[3] = { 1, 2, 3 }, ys[3] = { 1.1, 1.9, 3.2 };
    g_autoptr (KanExprFit) fit = fit_ok (e, xs, ys, 3, MAX_ITER);
    g_autofree char *text = kan_expr_to_string_with_errors (e, fit, x, KAN_EXPR_STYLE_TEXT);

    ck_assert_str_eq (text, "(1.036 ± 0.039)*x");
  }
}
END_TEST

static Suite *
exprfit_suite (void)
{
  Suite *s = suite_create ("exprfit");
  TCase *tc = tcase_create ("core");

  tcase_set_timeout (tc, 300);
  tcase_add_test (tc, test_free_constants);
  tcase_add_test (tc, test_linear);
  tcase_add_test (tc, test_exponential);
  tcase_add_test (tc, test_jacobian_functions);
  tcase_add_test (tc, test_mean);
  tcase_add_test (tc, test_no_free_constants);
  tcase_add_test (tc, test_too_few_rows);
  tcase_add_test (tc, test_zero_column);
  tcase_add_test (tc, test_invalid_input);
  tcase_add_test (tc, test_print);
  suite_add_tcase (s, tc);
  return s;
}

/* Stricter than turning GSL's handler off: the fit must not run GSL into an error at all, since
 * a caller that left the default handler on would abort. */
static void
fail_on_gsl_error (const char *reason,
                   const char *file,
                   int         line,
                   int         gsl_errno)
{
  ck_abort_msg ("GSL error %d at %s:%d: %s", gsl_errno, file, line, reason);
}

int
main (void)
{
  SRunner *sr = srunner_create (exprfit_suite ());
  int failed;

  gsl_set_error_handler (fail_on_gsl_error);
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? 0 : 1;
}
